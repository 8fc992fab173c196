"""The price panel: aligned, checked daily prices of many tickers for the engine.

:func:`load_prices` is the one entry point the rest of evbt calls. It picks the source, fetches,
checks every series against its exchange calendar (:mod:`backtest.prices.quality`), masks
unusable rows and aligns everything on the union of the tickers' sessions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.errors import InvalidDateError
from backtest.markets import check_ticker, get_calendar, market_of
from backtest.prices.base import (
    FIELDS,
    FetchFailure,
    FetchResult,
    PriceSource,
    ProgressCallback,
    SeriesInfo,
    file_stem,
    session_days,
    standard_arrays,
    summarize_failures,
    to_date,
)
from backtest.prices.cached import CachedSource
from backtest.prices.csvdir import CsvDirSource
from backtest.prices.quality import QualityReport, check_arrays
from backtest.prices.store import PriceCache
from backtest.prices.yahoo import YahooSource

#: Environment variable naming a prices directory (offline mode). The library never reads it:
#: the command line does (``--prices-dir``), and passes the folder to :func:`open_source`.
PRICES_DIR_ENV = "EVBT_PRICES_DIR"

#: ``progress(done, total)``: told how many tickers of the request are done.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PricePanel:
    """Daily prices of several tickers on one date index.

    The index is tz-naive session dates: the union of the sessions of the tickers' exchange
    calendars from the first to the last row loaded (clipped to the range asked for), so a
    session a ticker has no row for shows as NaN, never silently absent. Columns are the tickers
    that loaded, in the order asked; values are float64. Rows the quality checks found unusable
    are NaN and listed in :attr:`quality`.

    Attributes
    ----------
    close, open, high, low, volume:
        Dates x tickers. Prices are as adjusted by the source (see :attr:`provenance`).
    failed:
        Tickers that could not be loaded, with the reason.
    partial:
        Tickers loaded with part of the range missing (e.g. the cache served what it had while
        the network was down), with the reason.
    provenance:
        Ticker -> where its rows came from, when, and how they are adjusted.
    quality:
        The quality report of every series loaded.
    return_flags:
        Sessions whose return may not be a total return, one row each: ``ticker, date,
        reason`` (e.g. a spin-off booked as a split, read from a ``Stock Splits`` column);
        empty when there is none or the source cannot tell. A study flags the events whose
        window contains one.
    start, end:
        The range asked for (``None`` where open-ended).
    """

    close: pd.DataFrame
    open: pd.DataFrame
    high: pd.DataFrame
    low: pd.DataFrame
    volume: pd.DataFrame
    failed: Mapping[str, FetchFailure] = field(default_factory=dict)
    partial: Mapping[str, FetchFailure] = field(default_factory=dict)
    provenance: Mapping[str, SeriesInfo] = field(default_factory=dict)
    quality: QualityReport = field(default_factory=QualityReport)
    start: dt.date | None = None
    end: dt.date | None = None
    return_flags: pd.DataFrame = field(default_factory=lambda: return_flags_frame([]))

    @property
    def tickers(self) -> tuple[str, ...]:
        """The tickers loaded (the columns)."""
        return tuple(str(c) for c in self.close.columns)

    @property
    def dates(self) -> pd.DatetimeIndex:
        """The session dates (the index)."""
        return pd.DatetimeIndex(self.close.index)

    def field(self, name: str) -> pd.DataFrame:
        """One of ``open, high, low, close, volume`` by name."""
        if name not in FIELDS:
            raise ValueError(f"unknown field {name!r}; choose one of {', '.join(FIELDS)}")
        frame: pd.DataFrame = getattr(self, name)
        return frame

    def to_frame(self) -> pd.DataFrame:
        """The tidy long table: one row per date and ticker with ``date, ticker`` and the fields.

        Dates where a ticker has no value at all are left out.
        """
        parts = {f: self.field(f).stack(future_stack=True) for f in FIELDS}
        long = pd.DataFrame(parts)
        long.index = long.index.set_names(["date", "ticker"])
        long = long[long.notna().any(axis=1)]
        return long.reset_index()

    def summary(self) -> str:
        """A text summary: range, one line per ticker, failures, quality findings."""
        lines = [
            f"Price panel: {len(self.tickers)} ticker(s), {len(self.dates)} session(s)"
            + (
                f" from {self.dates[0].date()} to {self.dates[-1].date()}"
                if len(self.dates)
                else ""
            )
        ]
        for t in self.tickers:
            info = self.provenance.get(t)
            n = int(self.close[t].notna().sum())
            src = f"{info.source}, {info.adjustment}" if info else "?"
            lines.append(f"  {t}: {n} close(s); {src}")
        for t, f in self.partial.items():
            lines.append(f"  partial {t}: {f.reason}")
        for t, f in self.failed.items():
            lines.append(f"  failed {t}: {f.describe()}")
        lines.append(self.quality.summary())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.summary())}</pre>"

    @property
    def offline(self) -> bool:
        """True when nothing loaded because the source could not be reached (no network)."""
        return (
            not self.tickers
            and bool(self.failed)
            and all(f.kind == "offline" for f in self.failed.values())
        )

    def failure_summary(self) -> str:
        """The failed tickers in one message, grouped by reason, each hint once (empty when
        nothing failed); see :func:`~backtest.prices.base.summarize_failures`."""
        return summarize_failures(self.failed)

    def raise_for_failures(self) -> None:
        """Raise the error of the first failed ticker, if any (for callers that need them all)."""
        for f in self.failed.values():
            raise f.to_error()


def open_source(
    *, prices_dir: str | Path | None = None, cache_dir: str | Path | None = None
) -> PriceSource:
    """The price source of a run: the one factory the edge (the command line) calls.

    Parameters
    ----------
    prices_dir:
        Read one CSV file per ticker from this folder (offline; see
        :class:`~backtest.prices.csvdir.CsvDirSource`).
    cache_dir:
        Without ``prices_dir``: Yahoo behind the Parquet cache in this folder (default: the user
        cache directory, :meth:`PriceCache.default_directory`).

    No environment variable is read here: the command line maps ``$EVBT_PRICES_DIR`` and
    ``$EVBT_CACHE_DIR`` to these arguments.

    Raises
    ------
    PricesDirError
        ``prices_dir`` does not exist or is not a folder.

    Examples
    --------
    >>> open_source(prices_dir="../shared/prices")  # doctest: +SKIP
    CsvDirSource('/work/shared/prices')
    """
    if prices_dir is not None and str(prices_dir) != "":
        return CsvDirSource(prices_dir)
    return CachedSource(YahooSource(), PriceCache(cache_dir or None))


def resolve_source(
    *,
    source: PriceSource | None = None,
    prices_dir: str | Path | None = None,
    cache: PriceCache | None = None,
) -> PriceSource:
    """The source :func:`load_prices` uses: ``source``, else ``prices_dir``, else Yahoo behind
    ``cache`` (default :class:`~backtest.prices.store.PriceCache`). Kept for the older keywords
    of :func:`load_prices`; new code builds its source with :func:`open_source`."""
    if source is not None:
        return source
    if prices_dir:
        return CsvDirSource(prices_dir)
    return CachedSource(YahooSource(), cache or PriceCache())


def load_prices(
    tickers: Sequence[str],
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    *,
    source: PriceSource | None = None,
    progress: bool | Progress | None = None,
    prices_dir: str | Path | None = None,
    cache: PriceCache | None = None,
) -> PricePanel:
    """Load, check and align daily prices.

    Parameters
    ----------
    tickers:
        Yahoo tickers (``META``, ``0700.HK``, ``^GSPC``).
    start, end:
        Inclusive dates (``YYYY-MM-DD`` text or dates); ``None`` for as far as the source goes.
    source:
        The price source (build it with :func:`open_source`).
    progress:
        ``True``: a progress bar on standard error; a callable: called as
        ``progress(done, total)`` with the number of tickers done; ``None``: silent.
    prices_dir, cache:
        Deprecated (kept until every caller passes ``source``): without ``source``, read the
        CSV files of ``prices_dir``, else Yahoo behind ``cache``.

    Returns
    -------
    PricePanel
        Tickers that could not be loaded are in ``failed`` with the reason, never dropped
        silently.

    Raises
    ------
    InvalidTickerError, UnknownMarketError
        A ticker is misspelt or its exchange cannot be inferred.
    InvalidDateError
        ``start`` or ``end`` is not a date, or ``start`` is after ``end``.
    PricesDirError
        The prices directory does not exist.

    Examples
    --------
    >>> source = open_source(prices_dir="../shared/prices")  # doctest: +SKIP
    >>> panel = load_prices(["META", "SPY"], "2024-01-01", "2024-12-31",
    ...                     source=source)  # doctest: +SKIP
    >>> panel.close.pct_change()  # doctest: +SKIP
    """
    names, first, last = check_request(tickers, start, end)
    src = resolve_source(source=source, prices_dir=prices_dir, cache=cache)
    if callable(progress):
        with _counter(len(names), progress) as advance:
            result = src.fetch(names, first, last, on_progress=advance)
    else:
        with progress_bar(len(names), enabled=bool(progress)) as advance:
            result = src.fetch(names, first, last, on_progress=advance)
    return build_panel(names, result, first, last)


@contextmanager
def _counter(total: int, report: Progress) -> Iterator[ProgressCallback]:
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done = min(total, done + n)
        report(done, total)

    yield advance


def check_request(
    tickers: Sequence[str],
    start: dt.date | str | None,
    end: dt.date | str | None,
    *,
    labels: tuple[str, str] = ("start", "end"),
) -> tuple[list[str], dt.date | None, dt.date | None]:
    """Validate a price request at the boundary, before anything is fetched.

    Returns the tickers without repeats (in the order given) and the parsed dates. ``labels``
    names the two dates in messages (``("--start", "--end")`` on the command line).

    Raises
    ------
    InvalidTickerError, UnknownMarketError
        A ticker is misspelt or its exchange cannot be inferred.
    InvalidDateError
        ``start`` or ``end`` is not a date, or ``start`` is after ``end``.
    """
    names = list(dict.fromkeys(check_ticker(t) for t in tickers))
    for t in names:
        file_stem(t)  # a ticker too long or odd to name a file: refused here, not as OSError
        market_of(t)  # fail early, before any download, on tickers without a calendar
    first, last = to_date(start, labels[0]), to_date(end, labels[1])
    if first is not None and last is not None and first > last:
        raise InvalidDateError(
            labels[0],
            first.isoformat(),
            f"is after {labels[1]} {last}: give a {labels[0]} on or before the {labels[1]}",
        )
    return names, first, last


def build_panel(
    tickers: Sequence[str], result: FetchResult, start: dt.date | None, end: dt.date | None
) -> PricePanel:
    """Check, mask and align a :class:`~backtest.prices.base.FetchResult` into a panel."""
    failed = dict(result.failed)
    clean: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # ticker -> (days, values)
    reports: list[QualityReport] = []
    provenance: dict[str, SeriesInfo] = {}
    markets: dict[str, str] = {}
    flags: list[tuple[str, dt.date, str]] = []
    lo = None if start is None else np.datetime64(start, "D")
    hi = None if end is None else np.datetime64(end, "D")
    close = FIELDS.index("close")
    for t in tickers:
        got = result.series.get(t)
        if got is None:
            if t not in failed:  # a source that broke its contract: never drop silently
                failed[t] = FetchFailure(t, start, end, "error", "the source returned nothing")
            continue
        code = market_of(t).code
        day, values = standard_arrays(got.frame)
        calendar = get_calendar(code)
        day, values, report = check_arrays(t, day, values, calendar, got.flags, got.history)
        reports.append(report)
        inside = np.ones(len(day), dtype=bool)
        if lo is not None:
            inside &= day >= lo
        if hi is not None:
            inside &= day <= hi
        day, values = day[inside], values[inside]
        if not len(day) and any(i.check == "placeholder_history" for i in report.issues):
            reason = "the range holds only placeholder history before the listing (see the "
            reason += "quality report)"
            hint = "ask for a range after the listing"
            failed[t] = FetchFailure(t, start, end, "unusable", reason, hint)
            continue
        if not (~np.isnan(values[:, close])).any():
            dates = sorted({d.isoformat() for i in report.errors for d in i.dates})
            shown = ", ".join(dates[:5]) + (", ..." if len(dates) > 5 else "")
            reason = f"unusable prices{f' on {shown}' if shown else ''}: no usable close in the "
            reason += "range (see the quality report)"
            failed[t] = FetchFailure(t, start, end, "unusable", reason, "fix or replace the data")
            continue
        clean[t] = (day, values)
        provenance[t] = got.info
        markets[t] = code
        flags.extend(
            (t, f.date, f.reason)
            for f in got.flags
            if (start is None or f.date >= start) and (end is None or f.date <= end)
        )

    index = _session_index(clean, markets)
    columns = [t for t in tickers if t in clean]
    # every clean series is sorted with one row per session of its market: place its rows by
    # binary search into one (tickers x sessions) block per field, so that each ticker's column
    # of the frames is contiguous (rows outside the index, e.g. masked rows after the last
    # close, are left out as a reindex would)
    block = np.full((len(FIELDS), len(columns), len(index)), np.nan)
    stamps = index.to_numpy(dtype="datetime64[D]")
    for j, t in enumerate(columns):
        day, values = clean[t]
        rows = np.minimum(np.searchsorted(stamps, day), max(len(stamps) - 1, 0))
        hit = stamps[rows] == day if len(stamps) else np.zeros(len(day), dtype=bool)
        block[:, j, rows[hit]] = values[hit].T
    labels = pd.Index(columns, name="ticker")
    fields = {
        f: pd.DataFrame(block[k].T, index=index, columns=labels, copy=False)
        for k, f in enumerate(FIELDS)
    }
    return PricePanel(
        close=fields["close"],
        open=fields["open"],
        high=fields["high"],
        low=fields["low"],
        volume=fields["volume"],
        failed={t: failed[t] for t in tickers if t in failed},
        partial={t: f for t, f in result.partial.items() if t in clean},
        provenance=provenance,
        quality=QualityReport.combine(reports),
        start=start,
        end=end,
        return_flags=return_flags_frame(flags),
    )


RETURN_FLAG_COLUMNS = ["ticker", "date", "reason"]


def return_flags_frame(rows: Sequence[tuple[str, dt.date, str]]) -> pd.DataFrame:
    """The :attr:`PricePanel.return_flags` table of ``(ticker, date, reason)`` rows."""
    frame = pd.DataFrame(list(rows), columns=RETURN_FLAG_COLUMNS)
    frame["ticker"] = frame["ticker"].astype(object)
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    frame["reason"] = frame["reason"].astype(object)
    return frame


def _session_index(
    series: Mapping[str, tuple[np.ndarray, np.ndarray]], markets: Mapping[str, str]
) -> pd.DatetimeIndex:
    """Union of the sessions of the tickers' calendars from the first to the last close."""
    close = FIELDS.index("close")
    bounds = []
    for day, values in series.values():
        has = np.flatnonzero(~np.isnan(values[:, close]))
        if len(has):
            bounds.append((day[has[0]], day[has[-1]]))
    if not bounds:
        return pd.DatetimeIndex([], dtype="datetime64[ns]", name="date")
    lo = min(a for a, _ in bounds)
    hi = max(b for _, b in bounds)
    parts = []
    for code in dict.fromkeys(markets.values()):
        sessions = session_days(get_calendar(code))
        parts.append(sessions[(sessions >= lo) & (sessions <= hi)])
    union = np.unique(np.concatenate(parts)) if parts else np.array([], dtype="datetime64[D]")
    return pd.DatetimeIndex(union.astype("datetime64[ns]"), name="date")


@contextmanager
def progress_bar(total: int, *, enabled: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on standard error, advanced by the callback it yields."""
    if not enabled or total == 0:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("prices"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("prices", total=total)
        yield lambda n: bar.advance(task, n)
