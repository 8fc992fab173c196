"""Options shared by several commands (one definition each, the same help everywhere)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def warn_catalog_problems(n: int) -> None:
    """Say on standard error that ``n`` catalog entries were left out, and where to look."""
    if n:
        click.echo(
            f"evbt: warning: {n} catalog problem(s); the entries concerned are left out "
            "(see `evbt events validate`).",
            err=True,
        )


def load_catalog_or_warn(paths: Sequence[Path]) -> Any:
    """The catalog of ``paths`` (default: ./events), warning about entries left out."""
    from backtest.catalog import load_catalog

    catalog = load_catalog(paths or None)
    warn_catalog_problems(len(catalog.problems))
    return catalog
