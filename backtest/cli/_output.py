"""Writing tables as text, JSON or CSV, to stdout or a file."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Literal

import click
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
    if out is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    tmp.replace(out)
    click.echo(f"wrote {out}", err=True)


def to_json(obj: Any) -> str:
    """JSON with dates as ISO strings and NaN (or infinity) as null."""
    return json.dumps(
        _finite(obj), indent=2, ensure_ascii=False, default=_json_default, allow_nan=False
    )


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (json never sees NaN)."""
    import math

    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _json_default(o: Any) -> Any:
    import datetime as dt

    import numpy as np

    if isinstance(o, pd.Timestamp | dt.date):
        return o.isoformat()[:10] if _is_midnight(o) else o.isoformat()
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _is_midnight(o: Any) -> bool:
    import datetime as dt

    if isinstance(o, pd.Timestamp):
        return o == o.normalize() and o.tz is None
    return not isinstance(o, dt.datetime)


def render_table(df: pd.DataFrame, title: str | None = None, width: int | None = None) -> str:
    """A DataFrame as a plain-text table (rich, no colour codes)."""
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
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
