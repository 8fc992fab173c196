"""Earnings announcements as an event source: Yahoo's earnings calendar as catalog events.

* :func:`import_earnings` reads calendars saved from yfinance's ``get_earnings_dates()`` (files
  or folders of them) or fetches them (:class:`~backtest.earnings.yahoo.EarningsSource`,
  cached) and turns each reported announcement into an ``earnings`` event with the attributes
  ``eps_estimate``, ``eps_reported`` and ``surprise_pct`` (the rules are in
  :mod:`backtest.earnings.events`). ``evbt events import earnings`` is its command line.
* :func:`earnings_confounders` fetches the calendars of some tickers as an event table of
  confounders (``evbt run`` uses it when online).

Examples
--------
>>> result = import_earnings(["META"], from_paths=["../shared/sp500/earnings"])  # doctest: +SKIP
>>> next(e for e in result.events if e.date.isoformat() == "2025-10-29").timing  # doctest: +SKIP
'after_close'
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from backtest.catalog._read import PathsLike, path_list
from backtest.earnings.calendar import (
    CalendarRead,
    EarningsRow,
    read_calendar_files,
    read_calendar_text,
    rows_from_frame,
)
from backtest.earnings.events import (
    CSV_COLUMNS,
    EarningsEvent,
    EarningsImport,
    Merged,
    build_events,
    ticker_slug,
)
from backtest.errors import InvalidTickerError, UnknownMarketError
from backtest.markets import market_of

if TYPE_CHECKING:
    import pandas as pd

    from backtest.earnings.yahoo import EarningsSource

__all__ = [
    "CSV_COLUMNS",
    "CalendarRead",
    "EarningsEvent",
    "EarningsImport",
    "EarningsRow",
    "Merged",
    "build_events",
    "earnings_confounders",
    "import_earnings",
    "read_calendar_files",
    "read_calendar_text",
    "rows_from_frame",
    "ticker_slug",
]


def import_earnings(
    tickers: str | Sequence[str] = (),
    *,
    from_paths: PathsLike | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    include_scheduled: bool = False,
    source: EarningsSource | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EarningsImport:
    """Earnings events of ``tickers`` from saved calendars (``from_paths``) or from Yahoo.

    Parameters
    ----------
    tickers:
        Yahoo tickers (one as a ``str``, or a list). With ``from_paths``, only these are
        imported (all when empty); online, the tickers to fetch (at least one).
    from_paths:
        A file or folder, or a list of them, of calendars saved from
        ``get_earnings_dates()``; ``None`` to fetch.
    since, until:
        Inclusive bounds on the announcement's local date.
    include_scheduled:
        Also import rows that report no EPS yet (announcements still to come).
    source:
        The online source (default: :class:`~backtest.earnings.yahoo.EarningsSource` with the
        calendars in ``earnings/`` of the default price cache).
    progress:
        ``progress(done, total)`` while fetching.

    Returns
    -------
    EarningsImport
        The events and an account of every row or ticker left out. A malformed row is a
        problem naming its file and line; the other rows are still imported.

    Raises
    ------
    FileNotFoundError
        A path of ``from_paths`` does not exist, or a folder holds no ``.csv`` file.
    ValueError
        Online, with no ticker.
    """
    wanted = list(dict.fromkeys([tickers] if isinstance(tickers, str) else tickers))
    failed: dict[str, str] = {}
    for t in wanted:
        try:
            market_of(t)
        except (InvalidTickerError, UnknownMarketError) as exc:
            failed[t] = exc.reason
    valid = [t for t in wanted if t not in failed]
    notes: list[str] = []
    if from_paths is not None:
        paths = path_list(from_paths, "from_paths")
        read = read_calendar_files(paths, tickers=valid if wanted else None)
        for t in valid:
            if not any(r.ticker == t for r in read.rows):
                failed.setdefault(t, f"no calendar rows for {t} in {', '.join(map(str, paths))}")
    else:
        if not wanted:
            raise ValueError(
                "name the tickers whose earnings calendars to fetch, or read saved calendars "
                "with --from DIR|FILE"
            )
        from backtest.earnings.yahoo import EarningsSource

        outcome = (source or EarningsSource()).fetch(valid, progress=progress)
        read = CalendarRead(
            rows=[r for cal in outcome.calendars.values() for r in cal.earnings_rows()],
            problems=[p for cal in outcome.calendars.values() for p in cal.row_problems()],
        )
        failed.update(outcome.failed)
        notes.extend(outcome.notes)
    result = build_events(read.rows, since=since, until=until, include_scheduled=include_scheduled)
    result.problems = [*read.problems, *result.problems]
    result.failed = failed
    if read.not_earnings:
        notes.append(
            f"{read.not_earnings} calendar rows of other event types (calls, meetings) left out"
        )
    result.notes = notes + result.notes
    return result


def earnings_confounders(
    tickers: str | Sequence[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    source: EarningsSource | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The reported earnings announcements of ``tickers`` from Yahoo, as confounder events.

    ``cache_dir`` is the price cache folder (default the user's); the calendars are kept in
    its ``earnings/`` (:func:`~backtest.earnings.yahoo.earnings_cache_dir`). Returns the
    event table (``event_id, ticker, market, day0, category, date, timing, file``) and the
    tickers whose calendar could not be had, with the reason.
    """
    if source is None:
        from backtest.earnings.yahoo import EarningsCache, EarningsSource, earnings_cache_dir

        source = EarningsSource(cache=EarningsCache(earnings_cache_dir(cache_dir)))
    result = import_earnings(tickers, source=source)
    return result.table(), dict(result.failed)
