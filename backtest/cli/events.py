"""``evbt events``: list, validate and import events."""

from __future__ import annotations

import datetime as dt
import io
import shlex
import shutil
from pathlib import Path
from typing import Any

import click

from backtest.cli._options import (
    cache_dir_option,
    catalog_option,
    check_categories,
    event_end_option,
    event_start_option,
    load_catalog_or_warn,
)
from backtest.cli._outdir import check_not_input, inside
from backtest.cli._output import (
    check_out,
    emit,
    format_option,
    out_option,
    render_table,
    to_json,
)

#: Columns of the ``events list`` table, and the order in which they go when the terminal is
#: too narrow for all of them (id, date, category and title always stay).
_LIST_COLUMNS = ("id", "date", "timing", "day 0", "category", "scope", "tickers", "title")
_DROP_ORDER = ("scope", "timing", "day 0", "tickers")
_MIN_TITLE = 24


@click.group()
def events() -> None:
    """The events catalog: list events and their day-0 sessions, validate catalog files,
    import events from other sources."""


def short_tickers(tickers: tuple[str, ...] | list[str], shown: int = 2) -> str:
    """A ticker list that fits a table cell: ``META, MSFT +11`` for thirteen tickers.

    >>> short_tickers(("META",)), short_tickers(("META", "MSFT", "AMZN"))
    ('META', 'META, MSFT, AMZN')
    >>> short_tickers(tuple(f"T{i}" for i in range(13)))
    'T0, T1 +11'
    """
    if len(tickers) <= shown + 1:
        return ", ".join(tickers)
    return f"{', '.join(tickers[:shown])} +{len(tickers) - shown}"


def _fit(rows: list[dict[str, str]], width: int) -> list[str]:
    """The columns of ``rows`` that fit ``width`` characters, dropping the least needed first."""
    columns = list(_LIST_COLUMNS)

    def need(cols: list[str]) -> int:
        widths = [
            _MIN_TITLE if c == "title" else max([len(c), *(len(r[c]) for r in rows)]) for c in cols
        ]
        return sum(w + 3 for w in widths) + 1  # padding and a rule per column, one border

    for name in _DROP_ORDER:
        if need(columns) <= width:
            break
        columns.remove(name)
    return columns


@events.command("list")
@catalog_option
@click.option("--category", "categories", multiple=True, help="Only this category (repeatable).")
@click.option("--ticker", "tickers", multiple=True, help="Only events listing this ticker.")
@click.option("--id", "ids", multiple=True, help="Only this event id (repeatable).")
@event_start_option
@event_end_option
@format_option
@out_option
def list_events(
    catalog_paths: tuple[Path, ...],
    categories: tuple[str, ...],
    tickers: tuple[str, ...],
    ids: tuple[str, ...],
    start: dt.datetime | None,
    end: dt.datetime | None,
    fmt: str,
    out: Path | None,
) -> None:
    """List events with their day-0 session on each ticker's exchange.

    The table fits the terminal: at 100 columns it shows id, date, category and title (and
    what else fits); a long ticker list is shortened (`META, MSFT +11`). JSON and CSV give
    everything. Entries with problems are left out and counted on stderr (see
    `evbt events validate`).
    """
    from backtest.cli._env import catalog_paths as resolve_catalog_paths

    check_not_input(out, resolve_catalog_paths(catalog_paths))
    catalog = load_catalog_or_warn(catalog_paths)
    check_categories(catalog, categories)  # a misspelt category is not an empty list
    catalog = catalog.filter(
        categories=categories or None,
        tickers=tickers or None,
        ids=ids or None,
        start=start.date() if start else None,
        end=end.date() if end else None,
    )
    if fmt == "json":
        emit(to_json(catalog.to_records()), out)
        return
    frame = catalog.to_frame()
    if fmt == "csv":
        buf = io.StringIO()
        frame.assign(day0=frame["day0"].dt.date, date=frame["date"].dt.date).to_csv(
            buf, index=False
        )
        emit(buf.getvalue(), out)
        return
    sessions: dict[str, list[Any]] = {}
    for event_id, day0 in zip(frame["event_id"], frame["day0"], strict=True):
        sessions.setdefault(event_id, []).append(day0)
    rows = []
    for e in catalog:
        days = sorted({d.date() for d in sessions.get(e.id, [])})
        day0 = str(days[0]) if len(days) == 1 else f"{days[0]} +{len(days) - 1} more"
        rows.append(
            {
                "id": e.id,
                "date": e.date.isoformat(),
                "timing": e.timing_label,
                "day 0": day0,
                "category": e.category,
                "scope": e.scope,
                "tickers": short_tickers(e.tickers),
                "title": e.title,
            }
        )
    import pandas as pd

    width = 160 if out is not None else shutil.get_terminal_size((160, 24)).columns
    columns = _fit(rows, width)
    table = pd.DataFrame(rows, columns=list(_LIST_COLUMNS))[columns]
    title = catalog.summary(see=validate_command(catalog, catalog_paths))
    emit(render_table(table, title=title, width=width), out)


def validate_command(catalog: Any, paths: tuple[Path, ...] = ()) -> str:
    """The command that shows ``catalog``'s problems: ``evbt events validate`` on the files
    that have them (on the catalog ``paths`` given, when more than three files have some)."""
    files = list(dict.fromkeys(str(p.file) for p in catalog.problems))
    if len(files) > 3:
        files = [str(p) for p in paths]
    return "`" + " ".join(["evbt events validate", *(shlex.quote(f) for f in files)]) + "`"


@events.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--documents-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="EVBT_DOCUMENTS_DIR",
    help="Also check that every cited source document exists in this folder "
    "(e.g. ../shared/seeds). Env: EVBT_DOCUMENTS_DIR.",
)
def validate(paths: tuple[Path, ...], documents_dir: Path | None) -> None:
    """Check catalog files, YAML or CSV (default: events/), and report every problem at once.

    Each problem is printed as `file:line: entry <id>: field <name>: message`. Exit code 0 when
    the catalog is clean, 1 otherwise.
    """
    from backtest.catalog import load_catalog
    from backtest.cli._env import catalog_paths
    from backtest.errors import CatalogNotFoundError

    try:
        catalog = load_catalog(catalog_paths(paths), documents_dir=documents_dir)
    except CatalogNotFoundError as exc:
        click.echo(f"evbt: error: {exc}", err=True)
        raise SystemExit(1) from None
    for p in catalog.problems:
        click.echo(str(p))
    n_files = len(catalog.files)
    if catalog.problems:
        click.echo(
            f"{len(catalog.problems)} problem(s) in {n_files} file(s); "
            f"{len(catalog)} valid event(s)",
            err=True,
        )
        raise SystemExit(1)
    click.echo(f"ok: {len(catalog)} events in {n_files} file(s), no problems")


@events.group("import")
def import_group() -> None:
    """Import events from other sources as a catalog file (CSV or YAML)."""


_DATE = click.DateTime(formats=["%Y-%m-%d"])


@import_group.command("earnings")
@click.argument("tickers", nargs=-1)
@click.option(
    "--from",
    "from_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Read calendars saved from yfinance's get_earnings_dates() (a CSV file, or a folder "
    "of them named after their tickers) instead of fetching them from Yahoo (repeatable).",
)
@click.option("--since", type=_DATE, default=None, help="Only announcements on or after DATE.")
@click.option("--until", type=_DATE, default=None, help="Only announcements on or before DATE.")
@click.option(
    "--include-scheduled",
    is_flag=True,
    help="Also list announcements still to come (rows with no reported EPS).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    callback=check_out,
    help="Write the catalog to FILE: .csv or .yaml/.yml by its extension. Default: CSV on "
    "standard output.",
)
@cache_dir_option
@click.option("--quiet", "-q", is_flag=True, help="No status lines on standard error.")
def import_earnings_command(
    tickers: tuple[str, ...],
    from_paths: tuple[Path, ...],
    since: dt.datetime | None,
    until: dt.datetime | None,
    include_scheduled: bool,
    out: Path | None,
    cache_dir: Path | None,
    quiet: bool,
) -> None:
    """Earnings announcements as `earnings` events, one per reported quarter.

    From Yahoo's earnings calendar (yfinance's get_earnings_dates, cached for a day in the
    price cache folder's earnings/, as evbt run keeps them), or with --from from calendars
    saved from it. Each event has the id <ticker>-<date>-earnings, the local date and a timing
    from the stamp (after_close at or after the close, before_open before the open, unknown
    otherwise), and the attributes eps_estimate, eps_reported and surprise_pct. A malformed
    row is reported as file:line and the other rows are imported; the exit code is then 1.
    """
    from backtest.earnings import import_earnings

    if not tickers and not from_paths:
        raise click.UsageError("name the tickers to fetch, or read saved calendars with --from")
    if since and until and since > until:
        raise click.BadParameter(
            f"--since {since.date()} is after --until {until.date()}", param_hint="'--since'"
        )
    suffix = out.suffix.lower() if out is not None else ".csv"
    if suffix not in (".csv", ".yaml", ".yml"):
        raise click.BadParameter(
            f"{out}: the catalog is written as .csv or .yaml/.yml, by the file's extension",
            param_hint="'--out'",
        )
    if out is not None and any(inside(out, p) for p in from_paths):
        raise click.BadParameter(
            f"{out} is a calendar being read, or in a folder of them: write the catalog "
            "somewhere else",
            param_hint="'--out'",
        )
    source = None
    if not from_paths:
        from backtest.cli._env import cache_dir as resolve_cache_dir
        from backtest.earnings.yahoo import EarningsCache, EarningsSource, earnings_cache_dir

        folder = earnings_cache_dir(resolve_cache_dir(cache_dir))
        source = EarningsSource(cache=EarningsCache(folder))

    def progress(done: int, total: int) -> None:
        if not quiet and total > 1:
            end = "\n" if done == total else ""
            click.echo(f"\rfetching earnings calendars {done}/{total}", err=True, nl=False)
            click.echo(end, err=True, nl=False)

    try:
        result = import_earnings(
            [t.strip() for t in tickers],
            from_paths=list(from_paths) or None,
            since=since.date() if since else None,
            until=until.date() if until else None,
            include_scheduled=include_scheduled,
            source=source,
            progress=progress,
        )
    except (FileNotFoundError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    text = result.to_yaml() if suffix in (".yaml", ".yml") else result.to_csv()
    emit(text, out, quiet=quiet)
    for p in result.problems:
        click.echo(f"evbt: {p}", err=True)
    for t, reason in result.failed.items():
        click.echo(f"evbt: {t}: {reason}", err=True)
    if not quiet:
        for note in result.notes:
            click.echo(f"evbt: note: {note}", err=True)
        click.echo(_summary(result, from_paths), err=True)
    if result.problems or result.failed:
        raise SystemExit(1)


def _summary(result: Any, from_paths: tuple[Path, ...]) -> str:
    where = ", ".join(str(p) for p in from_paths) if from_paths else "Yahoo Finance"
    left = []
    if result.scheduled:
        left.append(f"{result.scheduled:,} scheduled (use --include-scheduled)")
    if result.outside_dates:
        left.append(f"{result.outside_dates:,} outside --since/--until")
    if result.problems:
        left.append(f"{len(result.problems):,} malformed")
    line = (
        f"imported {len(result.events):,} earnings events of {len(result.tickers):,} "
        f"ticker(s) from {where}"
    )
    if left:
        line += "; rows left out: " + ", ".join(left)
    if result.merged:
        rows = sum(len(m.dropped) for m in result.merged)
        which = ", ".join(m.event_id for m in result.merged[:5])
        more = f" and {len(result.merged) - 5} more" if len(result.merged) > 5 else ""
        line += (
            f"; {rows} duplicate row(s) merged into {len(result.merged)} announcement(s) "
            f"({which}{more}; the first row of each kept)"
        )
    if result.failed:
        line += f"; {len(result.failed)} ticker(s) failed"
    return line
