"""``evbt events``: list and validate the events catalog."""

from __future__ import annotations

import io
from pathlib import Path

import click

from backtest.cli._options import catalog_option, load_catalog_or_warn
from backtest.cli._output import emit, format_option, out_option, render_table, to_json


@click.group()
def events() -> None:
    """The events catalog: list events and their day-0 sessions, validate catalog files."""


@events.command("list")
@catalog_option
@click.option("--category", "categories", multiple=True, help="Only this category (repeatable).")
@click.option("--ticker", "tickers", multiple=True, help="Only events listing this ticker.")
@click.option("--id", "ids", multiple=True, help="Only this event id (repeatable).")
@format_option
@out_option
def list_events(
    catalog_paths: tuple[Path, ...],
    categories: tuple[str, ...],
    tickers: tuple[str, ...],
    ids: tuple[str, ...],
    fmt: str,
    out: Path | None,
) -> None:
    """List events with their day-0 session on each ticker's exchange.

    Entries with problems are left out and counted on stderr (see `evbt events validate`).
    """
    catalog = load_catalog_or_warn(catalog_paths)
    catalog = catalog.filter(
        categories=categories or None, tickers=tickers or None, ids=ids or None
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
    rows = []
    for e in catalog:
        sessions = e.sessions()
        distinct = set(sessions.values())
        if len(distinct) == 1:
            day0 = str(distinct.pop().date())
        else:  # tickers on different exchanges (or calendars) with different sessions
            day0 = ", ".join(f"{t} {s.date()}" for t, s in sessions.items())
        rows.append(
            {
                "id": e.id,
                "date": e.date.isoformat(),
                "timing": e.timing_label,
                "day 0": day0,
                "category": e.category,
                "scope": e.scope,
                "tickers": " ".join(e.tickers),
                "title": e.title,
            }
        )
    import pandas as pd

    table = render_table(pd.DataFrame(rows), title=catalog.summary())
    emit(table, out)


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
    """Check catalog files (default: events/) and report every problem at once.

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
