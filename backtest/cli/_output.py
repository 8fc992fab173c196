"""Writing tables as text, JSON or CSV, to stdout or a file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

if TYPE_CHECKING:
    import pandas as pd

Format = Literal["table", "json", "csv"]
FORMATS = ("table", "json", "csv")

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)
out_option = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)


def emit(text: str, out: Path | None) -> None:
    """Write ``text`` to ``out`` (atomically) or standard output."""
    from backtest.atomic import write_text

    if out is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, text if text.endswith("\n") else text + "\n")
    click.echo(f"wrote {out}", err=True)


def to_json(obj: Any) -> str:
    """JSON with dates as ISO strings, NaN as null and infinities as "inf"/"-inf"
    (:mod:`backtest.jsonio`)."""
    from backtest.jsonio import dumps

    return dumps(obj)


def render_table(df: pd.DataFrame, title: str | None = None, width: int | None = None) -> str:
    """A DataFrame as a plain-text table (rich, no colour codes)."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold", title_justify="left")
    last = df.columns[-1] if len(df.columns) else None
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col])
        # only the last column (titles, descriptions) wraps; ids, dates and numbers stay whole
        table.add_column(
            str(col),
            justify="right" if numeric else "left",
            no_wrap=col != last,
            overflow="fold" if col == last else "ellipsis",
        )
    for row in df.itertuples(index=False):
        table.add_row(*("" if _isna(v) else str(v) for v in row))
    console = Console(width=width or 160, record=True, file=io.StringIO(), color_system=None)
    console.print(table)
    return console.export_text()


def _isna(v: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
