"""Options shared by several commands (one definition each, the same help everywhere)."""

from __future__ import annotations

from pathlib import Path

import click

catalog_option = click.option(
    "--catalog",
    "catalog_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Catalog file or folder (repeatable). Default: ./events, or $EVBT_CATALOG.",
)
prices_dir_option = click.option(
    "--prices-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="EVBT_PRICES_DIR",
    default=None,
    help="Read prices from the CSV files in DIR (one per ticker; offline) instead of the "
    "cache and Yahoo. Default: $EVBT_PRICES_DIR.",
)
cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="EVBT_CACHE_DIR",
    default=None,
    help="Price cache directory. Default: $EVBT_CACHE_DIR, else the user cache directory.",
)
