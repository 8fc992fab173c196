"""Writing tables as text, JSON or CSV, to stdout or a file."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

if TYPE_CHECKING:
    import pandas as pd

Format = Literal["table", "json", "csv"]
FORMATS: tuple[Format, ...] = ("table", "json", "csv")

#: the output file extensions that name a format; any other (.txt, .md, none) is a table
FORMAT_OF_SUFFIX: dict[str, Format] = {".json": "json", ".csv": "csv"}


def output_format(fmt: str | None, out: Path | None) -> Format:
    """The format to write: ``--format`` when given, else the one ``--out``'s extension names
    (:data:`FORMAT_OF_SUFFIX`), else ``table``. A ``--format`` that contradicts a ``.json`` or
    ``.csv`` file's extension is a usage error (it would write a file whose name lies about
    its content); with another extension any format may be written."""
    suffix = out.suffix if out is not None else ""
    named = FORMAT_OF_SUFFIX.get(suffix.lower())
    if fmt is None:
        return named or "table"
    if named is not None and fmt != named:
        raise click.UsageError(
            f"--format {fmt} contradicts --out {out}: a {suffix} file holds {named}; "
            f"leave --format out, or give --format {named}, or name the file for {fmt}"
        )
    for known in FORMATS:
        if fmt == known:
            return known
    raise click.UsageError(f"--format {fmt}: not one of {', '.join(FORMATS)}")


def format_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--format`` option of a command that also has ``--out`` (:data:`out_option`,
    declared below it): ``command`` receives ``fmt`` resolved by :func:`output_format`."""

    @functools.wraps(command)
    def resolved(*args: Any, **kwargs: Any) -> Any:
        kwargs["fmt"] = output_format(kwargs.get("fmt"), kwargs.get("out"))
        return command(*args, **kwargs)

    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=None,
        help="Output format. Default: the one --out's extension names (.json, .csv; any "
        "other: table), else table. A --format that contradicts a .json or .csv --out is "
        "refused.",
    )(resolved)


def check_out(ctx: click.Context | None, param: click.Parameter | None, out: Path | None) -> Any:
    """``out`` when a file can be written there, else :class:`~backtest.errors.OutputPathError`
    naming it and why (a click callback: checked before anything is computed). Its folder,
    or the nearest one of its parents that exists when :func:`emit` has folders to create,
    must be a folder that takes files."""
    if out is None:
        return out
    import os
    import tempfile

    from backtest.cli._outdir import existing_ancestor, os_reason
    from backtest.errors import OutputPathError

    folder = Path(os.path.abspath(out)).parent
    parent = existing_ancestor(folder)
    if not parent.is_dir():
        raise OutputPathError(str(out), f"cannot be written: {parent} is not a folder")
    if parent != folder:
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputPathError(
                str(out), f"cannot be written: {parent} is read-only (or not yours)"
            )
        return out
    try:  # the one sure test: a file made and removed where the output goes
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{out.name}.probe-"):
            pass
    except OSError as exc:
        raise OutputPathError(str(out), f"cannot be written: {os_reason(exc)}") from None
    return out


out_option = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    callback=check_out,
    help="Write to this file instead of standard output.",
)


def emit(text: str, out: Path | None, *, quiet: bool = False) -> None:
    """Write ``text`` to ``out`` (atomically), saying so on standard error unless ``quiet``,
    or to standard output. A failure to write is an
    :class:`~backtest.errors.OutputPathError` naming ``out`` and the reason."""
    from backtest.atomic import write_text

    if out is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_text(out, text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        from backtest.cli._outdir import os_reason
        from backtest.errors import OutputPathError

        raise OutputPathError(str(out), f"cannot be written: {os_reason(exc)}") from None
    if not quiet:
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
