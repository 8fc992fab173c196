"""``evbt prices``: fetch prices into the cache, show a ticker's series, check quality.

``show`` and ``check`` never use the network: they read the CSV directory (``--prices-dir`` or
``$EVBT_PRICES_DIR``) or, without one, the cache.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from backtest.cli._options import cache_dir_option, prices_dir_option
from backtest.cli._output import emit, format_option, out_option, render_table, to_json

if TYPE_CHECKING:
    from backtest.prices.base import FetchFailure, FetchResult, PriceSeries

start_option = click.option("--start", default=None, help="First date, YYYY-MM-DD (inclusive).")
end_option = click.option("--end", default=None, help="Last date, YYYY-MM-DD (inclusive).")


@click.group()
def prices() -> None:
    """Daily prices: fetch them into the cache, show a ticker's series, check their quality."""


@prices.command("fetch")
@click.argument("tickers", nargs=-1, required=True)
@start_option
@end_option
@cache_dir_option
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar.")
def fetch_cmd(
    tickers: tuple[str, ...],
    start: str | None,
    end: str | None,
    cache_dir: Path | None,
    progress: bool,
) -> None:
    """Download daily prices from Yahoo into the cache (only what the cache is missing).

    Exits 1 when any ticker could not be fetched; the reasons are listed.
    """
    from backtest.cli._env import cache_dir as resolve_cache_dir
    from backtest.prices import CachedSource, PriceCache, YahooSource
    from backtest.prices.panel import check_request, progress_bar

    names, first, last = check_request(tickers, start, end, labels=("--start", "--end"))
    cache = PriceCache(resolve_cache_dir(cache_dir))
    source = CachedSource(YahooSource(), cache)
    with progress_bar(len(names), enabled=progress and sys.stderr.isatty()) as advance:
        result = source.fetch(names, first, last, on_progress=advance)

    import pandas as pd

    rows = []
    for t in names:
        asked = result.downloaded.get(t, ())
        got = result.series.get(t)
        problem = result.failed.get(t) or result.partial.get(t)
        status = "failed" if t in result.failed else "partial" if t in result.partial else "ok"
        rows.append(
            {
                "ticker": t,
                "status": status,
                "rows": got.info.rows if got else 0,
                "first": str(got.info.first) if got else "",
                "last": str(got.info.last) if got else "",
                "fetched": ", ".join(f"{a}..{b}" for a, b in asked)
                or ("from cache" if got else "not asked"),
                "detail": problem.describe() if problem else "",
            }
        )
    click.echo(render_table(pd.DataFrame(rows), title=f"Prices in {cache.directory}"), nl=False)
    click.echo(_fetch_counts(names, result))
    if result.failed:
        sys.exit(1)


def _fetch_counts(names: list[str], result: FetchResult) -> str:
    """``fetch``'s last line: how many tickers are ready, and from where; how many failed, why.

    A ticker is served from the cache when nothing was asked of Yahoo for it, fetched when
    Yahoo was asked and answered, in part only when the cache served what it had while the
    rest could not be fetched, and failed when it got no rows (offline: nothing was served).
    """
    ready = [t for t in names if t in result.series]
    partial = sum(1 for t in ready if t in result.partial)
    fetched = sum(1 for t in ready if t not in result.partial and result.downloaded.get(t))
    counts = [
        f"{len(ready) - partial - fetched} served from the cache",
        f"{fetched} fetched from Yahoo",
    ]
    if partial:
        counts.append(f"{partial} in part only (the rest could not be fetched)")
    line = f"{len(ready)} of {len(names)} ticker(s) ready: {', '.join(counts)}"
    failed = [result.failed[t].kind for t in names if t in result.failed]
    if failed:
        kinds = {k: failed.count(k) for k in dict.fromkeys(failed)}
        line += f"; {len(failed)} failed ({', '.join(f'{n} {k}' for k, n in kinds.items())})"
    return line


@prices.command("show")
@click.argument("ticker")
@prices_dir_option
@cache_dir_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
def show_cmd(ticker: str, prices_dir: Path | None, cache_dir: Path | None, fmt: str) -> None:
    """Range, rows, source, adjustment and quality of one ticker's prices (never downloads)."""
    from backtest.markets import check_ticker, get_calendar, market_of
    from backtest.prices.base import FetchFailure
    from backtest.prices.quality import check_series

    check_ticker(ticker)
    try:
        market = market_of(ticker)
    except ValueError as exc:  # BRK.B: no exchange is known for '.B'
        raise _unplaceable(ticker, exc, prices_dir).to_error() from None
    got = _read_local(ticker, prices_dir, cache_dir)
    if isinstance(got, FetchFailure):
        raise got.to_error()
    calendar = get_calendar(market.code)
    report = check_series(ticker, got.frame, calendar, got.flags, got.history).report
    info = got.info
    frame = got.frame.sort_index()
    last_close = frame["close"].dropna()
    if fmt == "json":
        payload = {
            **info.to_dict(),
            "market": market.code,
            "last_close": float(last_close.iloc[-1]) if len(last_close) else None,
            "quality": report.to_frame().to_dict(orient="records"),
        }
        click.echo(to_json(payload))
        return
    fields = [
        ("ticker", ticker),
        ("market", f"{market.code} ({market.name})"),
        ("range", f"{info.first} to {info.last}"),
        ("rows", str(info.rows)),
        ("source", info.source),
        ("adjustment", info.adjustment),
        (
            "file modified" if prices_dir is not None else "fetched at",
            info.fetched_at.isoformat(timespec="seconds") if info.fetched_at else "?",
        ),
    ]
    if info.covered:
        fields.append(("covered", ", ".join(f"{a} to {b}" for a, b in info.covered)))
    if len(last_close):
        fields.append(("last close", f"{last_close.iloc[-1]:.4f} on {last_close.index[-1].date()}"))
    width = max(len(k) for k, _ in fields)
    lines = [f"{k:<{width}}  {v}" for k, v in fields]
    n_err, n_warn = len(report.errors), len(report.warnings)
    verdict = "clean" if not report.issues else f"{n_err} error(s), {n_warn} warning(s)"
    lines.append(f"{'quality':<{width}}  {verdict}")
    lines.extend(f"  {i.severity:<7} {i.check}: {i.message}" for i in report.issues)
    click.echo("\n".join(lines))


@prices.command("check")
@click.argument("tickers", nargs=-1)
@prices_dir_option
@cache_dir_option
@format_option
@out_option
def check_cmd(
    tickers: tuple[str, ...],
    prices_dir: Path | None,
    cache_dir: Path | None,
    fmt: str,
    out: Path | None,
) -> None:
    """Quality report of prices against their exchange calendars (never downloads).

    Checks TICKERS, or every ticker in the prices directory (or the cache). Exits 1 when a
    series has errors (unusable rows) or cannot be read; warnings alone exit 0. A prices
    directory checked whole also lists its .csv files that are not read as any ticker's, with
    why (`ko.csv`: tickers are upper case; `JPM_empty.csv`: not a ticker); they alone exit 0.
    """
    import pandas as pd

    from backtest.cli._env import cache_dir as default_cache_dir
    from backtest.cli._outdir import check_not_input
    from backtest.markets import check_ticker, get_calendar, market_of
    from backtest.prices.base import FetchFailure
    from backtest.prices.quality import QualityReport, check_series

    check_not_input(out, [prices_dir or default_cache_dir(cache_dir)])  # what is read
    names = [check_ticker(t) for t in tickers] or list(_local_tickers(prices_dir, cache_dir))
    reports: list[QualityReport] = []
    failures: dict[str, FetchFailure] = {}
    for t in names:
        try:
            market = market_of(t)
        except ValueError as exc:  # BRK.B.csv: no exchange is known for '.B'
            failures[t] = _unplaceable(t, exc, prices_dir)
            continue
        got = _read_local(t, prices_dir, cache_dir)
        if isinstance(got, FetchFailure):
            failures[t] = got
            continue
        calendar = get_calendar(market.code)
        reports.append(check_series(t, got.frame, calendar, got.flags, got.history).report)
    report = QualityReport.combine(reports)
    not_read = _not_read(prices_dir) if not tickers else {}

    if fmt == "json":
        payload = {
            "tickers": list(report.tickers),
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "issues": [
                {
                    "ticker": i.ticker,
                    "check": i.check,
                    "severity": i.severity,
                    "dates": list(i.dates),
                    "message": i.message,
                }
                for i in report.issues
            ],
            "failed": {t: f.describe() for t, f in failures.items()},
            "not_read": not_read,
        }
        emit(to_json(payload), out)
    elif fmt == "csv":
        buf = io.StringIO()
        long = report.to_frame(per_date=True)
        long["date"] = long["date"].dt.date
        long.to_csv(buf, index=False)
        emit(buf.getvalue(), out)
        for name, why in not_read.items():  # not issues of a series: said beside the table
            click.echo(f"evbt: warning: {name} is not read as a ticker: {why}", err=True)
    else:
        parts = [report.summary()]
        if report.issues:
            table = report.to_frame().drop(columns=["message"])
            parts.append(render_table(table, title="Issues (first and last date of each)"))
        if failures:
            rows = pd.DataFrame(
                [{"ticker": t, "problem": f.describe()} for t, f in failures.items()]
            )
            parts.append(render_table(rows, title="Could not be read"))
        if not_read:
            rows = pd.DataFrame([{"file": n, "why": w} for n, w in not_read.items()])
            title = f"Not read as tickers ({len(not_read)} file(s) in {prices_dir})"
            parts.append(render_table(rows, title=title))
        emit("\n".join(p.rstrip("\n") for p in parts) + "\n", out)
    if report.errors or failures:
        sys.exit(1)


def _unplaceable(ticker: str, exc: ValueError, prices_dir: Path | None) -> FetchFailure:
    """The problem of a ticker whose exchange cannot be inferred (``BRK.B.csv``): named with
    its file and the spelling evbt expects, so that the other files are still checked."""
    from backtest.markets import market_of
    from backtest.prices import CsvDirSource
    from backtest.prices.base import FetchFailure

    why = getattr(exc, "reason", str(exc))
    path = CsvDirSource(prices_dir).path_for(ticker) if prices_dir is not None else None
    named = path is not None and os.path.lexists(path)
    where = f"{path.name} in {path.parent}: its ticker" if path and named else "ticker"
    dashed = ticker.replace(".", "-")
    hint = (
        "rename the file after the ticker as Yahoo spells it (e.g. META, 0700.HK, ^GSPC)"
        if named
        else "write the ticker as Yahoo spells it (e.g. META, 0700.HK, ^GSPC)"
    )
    if ticker.count(".") == 1:
        try:
            market_of(dashed)
        except ValueError:
            pass
        else:
            hint = f"Yahoo spells a share class with '-': {dashed}" + (
                f" (rename the file {dashed}.csv)" if named else ""
            )
    reason = f"{where} {ticker!r} cannot be placed on an exchange: {why}"
    return FetchFailure(ticker, None, None, "error", reason, hint)


def _read_local(
    ticker: str, prices_dir: Path | None, cache_dir: Path | None
) -> PriceSeries | FetchFailure:
    """A ticker's whole series from the CSV directory or, without one, the cache."""
    from backtest.cli._env import cache_dir as resolve_cache_dir
    from backtest.prices import CsvDirSource, PriceCache
    from backtest.prices.base import FetchFailure, PriceSeries

    if prices_dir is not None:
        return CsvDirSource(prices_dir).read(ticker)
    cache = PriceCache(resolve_cache_dir(cache_dir))
    fetch = f"run `evbt prices fetch {ticker}` to fetch them again"
    cached, corrupt = cache.read_or_move_aside(ticker, next_step=fetch)
    if corrupt is not None:  # said here, as the ticker's failure: nothing was fetched
        return FetchFailure(ticker, None, None, "unusable", corrupt.what(), fetch)
    if cached is None:
        moved = cache.moved_aside(ticker)
        earlier = f" (its file was unreadable and moved aside to {moved[-1]})" if moved else ""
        return FetchFailure(
            ticker,
            None,
            None,
            "unknown_ticker",
            f"not in the price cache {cache.directory}{earlier}",
            f"run `evbt prices fetch {ticker}` first, or read CSV files with --prices-dir DIR",
        )
    return PriceSeries(ticker, cached.frame, cached.info())


def _not_read(prices_dir: Path | None) -> dict[str, str]:
    """The .csv files of the prices directory read as no ticker's, with why (none for the
    cache: its files are evbt's own)."""
    from backtest.prices import CsvDirSource

    if prices_dir is None:
        return {}
    return dict(CsvDirSource(prices_dir).not_tickers())


def _local_tickers(prices_dir: Path | None, cache_dir: Path | None) -> tuple[str, ...]:
    from backtest.cli._env import cache_dir as resolve_cache_dir
    from backtest.prices import CsvDirSource, PriceCache

    if prices_dir is not None:
        return CsvDirSource(prices_dir).tickers()
    return PriceCache(resolve_cache_dir(cache_dir)).tickers()
