"""Options shared by several commands (one definition each, the same help everywhere)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

catalog_option = click.option(
    "--catalog",
    "catalog_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Catalog file or folder, YAML or CSV (repeatable). Default: $EVBT_CATALOG, else "
    "./events, else the catalog shipped with evbt.",
)
confounders_option = click.option(
    "--confounders",
    "confounder_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Events that are not studied but count as confounders: catalog files or folders, or "
    "earnings CSVs saved from yfinance's get_earnings_dates (repeatable).",
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
#: The event date filters of ``evbt study`` and ``evbt events list``.
event_start_option = click.option(
    "--start", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD", help="First event date."
)
event_end_option = click.option(
    "--end", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD", help="Last event date."
)
quiet_option = click.option(
    "--quiet", "-q", is_flag=True, help="No progress bars or status lines on standard error."
)


class FiniteFloat(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A float that is finite: ``nan`` and ``inf`` are refused like any other bad number."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float) and math.isfinite(value):
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


FINITE_FLOAT = FiniteFloat()


def warn_catalog_problems(problems: Any) -> None:
    """Say on standard error how many catalog entries ``problems`` (the run's problem table,
    or a catalog's ``.problems``) left out and with how many problems, and where to look."""
    import pandas as pd

    from backtest.reports.tables import catalog_entries, catalog_whole
    from backtest.text import counted

    table = problems if isinstance(problems, pd.DataFrame) else pd.DataFrame(list(problems))
    if not len(table):
        return
    whole = catalog_whole(table)
    of_files = f", {whole} of them about a whole file or declaration" if whole else ""
    click.echo(
        f"evbt: warning: {counted(catalog_entries(table), 'catalog entry', 'catalog entries')} "
        f"({counted(len(table), 'problem')}{of_files}) left out (see `evbt events validate`).",
        err=True,
    )


def warn_confounder_problems(problems: Sequence[Any], *, more: str = "", shown: int = 10) -> None:
    """Say on standard error each confounder row left out with its problem (the first
    ``shown``, then how many more; ``more``: where all are listed)."""
    for p in problems[:shown]:
        click.echo(f"evbt: warning: confounders: {p} (row left out)", err=True)
    if len(problems) > shown:
        where = f" ({more})" if more else ""
        click.echo(
            f"evbt: warning: confounders: ... and {len(problems) - shown} more rows left out"
            + where,
            err=True,
        )


def load_catalog_or_warn(paths: Sequence[Path]) -> Any:
    """The catalog of ``paths`` (default: see :func:`backtest.cli._env.catalog_paths`),
    warning about entries left out."""
    from backtest.catalog import load_catalog
    from backtest.cli._env import catalog_paths

    catalog = load_catalog(catalog_paths(paths))
    warn_catalog_problems(catalog.problems)
    return catalog


def check_categories(catalog: Any, categories: Sequence[str], option: str = "--category") -> None:
    """A usage error naming the closest category when one of ``categories`` is not known to
    the catalog (its events' categories and the standard ones), as ``evbt events validate``
    words it."""
    from backtest.catalog import KNOWN_CATEGORIES
    from backtest.text import did_you_mean

    known = sorted({*KNOWN_CATEGORIES, *(e.category for e in catalog)})
    for c in categories:
        if c not in known:
            hint = did_you_mean(c, known)
            raise click.BadParameter(
                f"{c!r} is not a known category (known: {', '.join(known)}){hint}",
                param_hint=f"'{option}'",
            )
