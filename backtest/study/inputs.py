"""Inputs of the event study: the event table, return matrices and factor files.

The **event table** is the one canonical input (one row per event and ticker)::

    event_id  ticker  market  day0        [benchmark] [timing] [category] [scope] ...

It comes from a :class:`~backtest.catalog.Catalog` (``catalog.to_frame()``) or from an ad-hoc
CSV file with columns ``event_id,ticker,date[,timing][,benchmark][,...]``; day 0 is then
computed with the rule of :mod:`backtest.sessions` (timing defaults to ``unknown``: the date's
own session). Extra columns are kept and can be grouped by.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.errors import CalendarRangeError, EvbtError, InvalidTickerError, UnknownMarketError
from backtest.markets import get_calendar, market_of
from backtest.sessions import TIMINGS, day0_sessions


class EventsFileError(EvbtError, ValueError):
    """An ad-hoc events file cannot be read at all (missing columns, not a CSV)."""


@dataclass(frozen=True)
class Dropped:
    """An (event, ticker) row left out of a study, the stage where and why."""

    event_id: str
    ticker: str
    stage: str
    reason: str


DROPPED_COLUMNS = ["event_id", "ticker", "stage", "reason"]


def dropped_frame(rows: Iterable[Dropped]) -> pd.DataFrame:
    return pd.DataFrame([r.__dict__ for r in rows], columns=DROPPED_COLUMNS)


def read_events_csv(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, list[Dropped]]:
    """Read an ad-hoc events file into an event table; bad rows are returned as dropped.

    Required columns: ``event_id``, ``ticker``, ``date`` (YYYY-MM-DD, local to the exchange).
    Optional: ``timing`` (before_open, during, after_close, unknown; default unknown),
    ``benchmark``, and any other column (kept for ``group_by``).
    """
    p = Path(path)
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise EventsFileError(f"{p}: no such events file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise EventsFileError(f"{p}: not a readable CSV file ({exc})") from None
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in ("event_id", "ticker", "date") if c not in raw.columns]
    if missing:
        raise EventsFileError(
            f"{p}: missing column(s) {', '.join(missing)}; an events file needs "
            "event_id,ticker,date and may add timing,benchmark and columns of your own"
        )
    dropped: list[Dropped] = []
    if "timing" not in raw.columns:
        raw["timing"] = "unknown"
    raw["timing"] = raw["timing"].replace("", "unknown")
    keep = np.ones(len(raw), dtype=bool)
    dates = pd.to_datetime(raw["date"], format="%Y-%m-%d", errors="coerce")
    for i in np.flatnonzero(dates.isna().to_numpy()):
        keep[i] = False
        dropped.append(
            _bad_row(p, int(i), raw, "date", f"{raw['date'].iat[i]!r} is not a date YYYY-MM-DD")
        )
    bad_timing = ~raw["timing"].isin(TIMINGS).to_numpy()
    for i in np.flatnonzero(bad_timing & keep):
        keep[i] = False
        dropped.append(
            _bad_row(
                p,
                int(i),
                raw,
                "timing",
                f"{raw['timing'].iat[i]!r} is not one of {', '.join(TIMINGS)}",
            )
        )
    empty_id = (raw["event_id"].str.strip() == "").to_numpy()
    for i in np.flatnonzero(empty_id & keep):
        keep[i] = False
        dropped.append(_bad_row(p, int(i), raw, "event_id", "is empty"))
    table = raw[keep].assign(date=dates[keep])
    table, more = _add_markets(table, stage="input")
    dropped.extend(more)
    pieces = []
    for market, block in table.groupby("market", sort=False):
        try:
            day0 = day0_sessions(str(market), block["date"], block["timing"].to_numpy())
        except CalendarRangeError as exc:
            raise EventsFileError(f"{p}: {exc}") from None
        pieces.append(block.assign(day0=day0))
    out = pd.concat(pieces) if pieces else table.assign(day0=pd.Series(dtype="datetime64[ns]"))
    return out.sort_index().reset_index(drop=True), dropped


def _bad_row(path: Path, i: int, raw: pd.DataFrame, column: str, what: str) -> Dropped:
    return Dropped(
        str(raw["event_id"].iat[i]),
        str(raw["ticker"].iat[i]),
        "input",
        f"{path.name} line {i + 2}: column {column}: {what}",
    )


def _add_markets(table: pd.DataFrame, *, stage: str) -> tuple[pd.DataFrame, list[Dropped]]:
    """Add the ``market`` column; rows whose ticker has no known market are dropped."""
    codes: dict[str, str | None] = {}
    reasons: dict[str, str] = {}
    tick_code, tickers = pd.factorize(table["ticker"], use_na_sentinel=False)
    for t in tickers:  # once per distinct ticker
        try:
            codes[t] = market_of(t).code
        except (InvalidTickerError, UnknownMarketError) as exc:
            codes[t] = None
            reasons[t] = str(exc)
    # mapped once per distinct ticker, then spread to the rows
    by_ticker = pd.Series(tickers, dtype=table["ticker"].dtype).map(codes)
    market = pd.Series(by_ticker.array.take(tick_code), index=table.index)
    bad = market.isna().to_numpy()
    if not bad.any():  # the usual case: no row to drop, no copy of the table
        return table.assign(market=market), []
    dropped = [
        Dropped(str(e), str(t), stage, reasons[t])
        for e, t in table.loc[bad, ["event_id", "ticker"]].itertuples(index=False, name=None)
    ]
    return table[~bad].assign(market=market[~bad]), dropped


def normalize_event_table(events: pd.DataFrame) -> tuple[pd.DataFrame, list[Dropped]]:
    """Check an event table (from a catalog or the user) and add missing derived columns."""
    table, dropped, _, _ = normalize_event_table_codes(events)
    return table, dropped


def normalize_event_table_codes(
    events: pd.DataFrame,
) -> tuple[pd.DataFrame, list[Dropped], np.ndarray, pd.Index]:
    """:func:`normalize_event_table`, and the integer codes of the table's event ids into their
    distinct values (in order of first appearance, as ``pd.factorize`` gives them)."""
    missing = [c for c in ("event_id", "ticker", "day0") if c not in events.columns]
    if missing:
        raise EventsFileError(
            f"the event table lacks column(s) {', '.join(missing)}: it needs event_id, ticker "
            "and day0 (or use read_events_csv for a file with dates)"
        )
    table = events.copy()
    dropped: list[Dropped] = []
    if "market" not in table.columns:
        table, dropped = _add_markets(table, stage="input")
    table["day0"] = pd.to_datetime(table["day0"]).dt.normalize()
    ev, ev_ids = pd.factorize(table["event_id"])
    if len(ev_ids) == len(table):  # every event id once: no duplicate (event_id, ticker) row
        return table.reset_index(drop=True), dropped, ev, ev_ids
    tk, tks = pd.factorize(table["ticker"])
    dup = pd.Series(ev.astype(np.int64) * max(len(tks), 1) + tk).duplicated(keep="first")
    if not dup.any():
        return table.reset_index(drop=True), dropped, ev, ev_ids
    dup.index = table.index
    for eid, t in table.loc[dup, ["event_id", "ticker"]].itertuples(index=False, name=None):
        dropped.append(Dropped(str(eid), str(t), "input", "duplicate (event_id, ticker) row"))
    # a duplicate row is never the first of its event id: the codes of the rest are unchanged
    return table[~dup].reset_index(drop=True), dropped, ev[~dup.to_numpy()], ev_ids


# ----------------------------------------------------------------------------- returns


def session_returns(
    close: pd.DataFrame, market: str, kind: str
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Daily returns of ``close``'s columns on the sessions of ``market``.

    The sessions span the first to the last date with a price in any column. A return on a
    session needs a price on it and on the previous session; otherwise it is NaN (a missing
    session never turns into a silent multi-day return). Returns ``(sessions, R)`` with R of
    shape (n_sessions, n_columns).
    """
    valid = close.notna().any(axis=1)
    if not valid.any():
        return pd.DatetimeIndex([]), np.empty((0, close.shape[1]))
    first, last = close.index[valid.to_numpy()][[0, -1]]
    cal = get_calendar(market)
    sessions = cal.sessions_in_range(max(first, cal.first_session), min(last, cal.last_session))
    prices = close.reindex(sessions).to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.full_like(prices, np.nan)
        ratio[1:] = prices[1:] / prices[:-1]
        ratio[~np.isfinite(ratio) | (ratio <= 0)] = np.nan
    r = np.log(ratio) if kind == "log" else ratio - 1.0
    return pd.DatetimeIndex(sessions), r


def ticker_returns(
    close: pd.DataFrame, columns: list[str], market: str, kind: str, pad: tuple[int, int]
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """:func:`session_returns` of ``close[columns]``, ticker-major and padded with NaN.

    Returns ``(sessions, RT)`` with ``RT[c, pad[0] + t]`` the return of ``columns[c]`` on
    ``sessions[t]`` (the same numbers as ``session_returns(close[columns], ...)[1][t, c]``),
    and ``pad[0]`` and ``pad[1]`` columns of NaN before the first and after the last session.
    The ratios are written straight into ``RT``, a block of columns at a time: no copy of all
    the prices is made.
    """
    cols = close.columns.get_indexer(columns)
    valid = close.notna().to_numpy()[:, cols].any(axis=1)
    if not valid.any():
        return pd.DatetimeIndex([]), np.full((len(columns), sum(pad)), np.nan)
    first, last = close.index[valid][[0, -1]]
    cal = get_calendar(market)
    sessions = pd.DatetimeIndex(
        cal.sessions_in_range(max(first, cal.first_session), min(last, cal.last_session))
    )
    rows = close.index.get_indexer(sessions)  # -1: no row for the session
    n = len(sessions)
    out = np.full((len(columns), pad[0] + n + pad[1]), np.nan)
    for a in range(0, len(cols), _COLUMN_BLOCK):
        prices = close.iloc[:, cols[a : a + _COLUMN_BLOCK]].to_numpy(dtype=np.float64)[rows]
        prices[rows < 0] = np.nan
        ratio = out[a : a + _COLUMN_BLOCK, pad[0] + 1 : pad[0] + n]
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(prices[1:], prices[:-1], out=ratio.T)
            # not finite or not positive: NaN (NaN fails both tests)
            ratio[~((ratio > 0) & (ratio < np.inf))] = np.nan
            if kind == "log":
                np.log(ratio, out=ratio)
            else:
                ratio -= 1.0
    return sessions, out


_COLUMN_BLOCK = 256  # columns of prices copied at a time by ticker_returns


# ----------------------------------------------------------------------------- factors

_DATE_ROW = re.compile(r"^\s*(\d{8})\s*,")


class FactorFileError(EvbtError, ValueError):
    """A factor file cannot be read."""


def read_factors(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    """Read daily factors in Ken French's CSV format (FF3, FF5, momentum), joined on date.

    The format: free text, then a header line such as ``,Mkt-RF,SMB,HML,RF``, then rows
    ``YYYYMMDD, v1, v2, ...`` in percent, possibly followed by other sections (ignored). Files
    are joined on date (e.g. FF3 + momentum = Carhart). Returns decimal returns indexed by date;
    the risk-free rate is the column ``RF`` when present.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    frames = []
    for path in paths:
        p = Path(path)
        try:
            lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise FactorFileError(f"{p}: cannot read factor file ({exc.strerror})") from None
        first = next((i for i, line in enumerate(lines) if _DATE_ROW.match(line)), None)
        if first is None or first == 0:
            raise FactorFileError(
                f"{p}: no daily rows found; expected Ken French's format (a header line such as "
                "',Mkt-RF,SMB,HML,RF' followed by rows 'YYYYMMDD, ...' in percent)"
            )
        header = [h.strip() for h in lines[first - 1].split(",")]
        rows = []
        for line in lines[first:]:
            if not _DATE_ROW.match(line):
                break
            rows.append(line)
        frame = pd.read_csv(io.StringIO("\n".join(rows)), header=None, names=["date", *header[1:]])
        frame["date"] = pd.to_datetime(frame["date"].astype(str), format="%Y%m%d")
        frame = frame.set_index("date").apply(pd.to_numeric, errors="coerce") / 100.0
        if frame.isna().any().any():
            bad = frame.index[frame.isna().any(axis=1)][0].date()
            raise FactorFileError(f"{p}: non-numeric value on {bad}")
        frames.append(frame)
    out = frames[0]
    for f in frames[1:]:
        dup = [c for c in f.columns if c in out.columns and c != "RF"]
        if dup:
            raise FactorFileError(f"factor column(s) {dup} appear in more than one file")
        out = out.join(f.drop(columns=[c for c in f.columns if c in out.columns]), how="inner")
    return out.sort_index()


# ----------------------------------------------------------------------------- price needs


def price_needs(
    table: pd.DataFrame, *, reach: tuple[int, int], benchmarks: dict[str, str]
) -> tuple[list[str], pd.Timestamp | None, pd.Timestamp | None]:
    """Tickers (events' and benchmarks') and the date range a study of ``table`` reads.

    The range runs from the session before the first day of the earliest reach (``reach[0]``
    sessions from the earliest day 0: the return of that day needs the close of the session
    before it) to the session ``reach[1]`` after the latest day 0, on each market's own
    calendar. So a window [a, b] on complete prices has b - a + 1 returns for every event,
    whatever else is studied.
    """
    from backtest.markets import MARKETS

    tickers: list[str] = list(dict.fromkeys(table["ticker"]))
    starts, ends = [], []
    for market, block in table.groupby("market"):
        bench = benchmarks.get(str(market)) or MARKETS[str(market)].default_benchmark
        tickers.append(bench)
        if "benchmark" in block.columns:
            tickers += [b for b in block["benchmark"].dropna() if b]
        sessions = get_calendar(str(market)).sessions
        lo = sessions.searchsorted(block["day0"].min()) + reach[0] - 1
        hi = sessions.searchsorted(block["day0"].max()) + reach[1]
        starts.append(sessions[max(lo, 0)])
        ends.append(sessions[min(hi, len(sessions) - 1)])
    return (
        list(dict.fromkeys(tickers)),
        min(starts) if starts else None,
        max(ends) if ends else None,
    )
