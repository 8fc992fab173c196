"""Inputs of the event study: the event table, return matrices and factor files.

The **event table** is the one canonical input (one row per event and ticker)::

    event_id  ticker  market  day0        [benchmark] [timing] [category] [scope] ...

It comes from a :class:`~backtest.catalog.Catalog` (``catalog.to_frame()``) or from an ad-hoc
CSV file with columns ``event_id,ticker,date[,timing][,benchmark][,...]``; day 0 is then
computed with the rule of :mod:`backtest.sessions` (timing defaults to ``unknown``: the date's
own session). Extra columns are kept and can be grouped by.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import re
import stat
import threading
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import numpy as np
import pandas as pd

from backtest.errors import CalendarRangeError, EvbtError, InvalidTickerError, UnknownMarketError
from backtest.lines import Lines
from backtest.markets import get_calendar, market_of
from backtest.sessions import (
    TIME_OF_DAY,
    TIMINGS,
    day0_sessions,
    day0_sessions_at,
    event_instant,
)

T = TypeVar("T")


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
    Optional: ``timing`` (before_open, during, after_close, unknown; default unknown), or
    ``time`` and ``timezone`` (an exact local time HH:MM and its IANA timezone, as in a
    catalog: day 0 is then the first session that closes after that instant, and ``timing``
    reads ``exact``), ``benchmark``, and any other column (kept for ``group_by``).

    A row that cannot be used (more values than the header has columns, a quote never closed,
    a byte that is not UTF-8, a bad date, timing, id or ticker, a date outside its exchange's
    calendar) is left out and returned as :class:`Dropped`, its reason naming the file, line
    (and column); the other rows are read. A row with fewer values has its last cells empty.

    Raises
    ------
    EventsFileError
        The file cannot be read at all: missing, not a regular file (a FIFO is never opened),
        empty, only a header, a header that is not UTF-8, a column missing or named twice.
    """
    p = Path(path)
    _regular_file(p, "an events file", EventsFileError)
    header = _header_cells(p, EventsFileError)
    if not header:
        raise EventsFileError(
            f"{p}: is empty; an events file needs the header event_id,ticker,date "
            "and one row per event"
        )
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise EventsFileError(f"{p}:1: column(s) {', '.join(twice)} appear twice in the header")
    raw, line, dropped = _read_rows(p)
    missing = [c for c in ("event_id", "ticker", "date") if c not in raw.columns]
    if missing:
        from backtest.catalog._read import separator_hint

        hint = separator_hint(header, ("event_id", "ticker", "date", "timing", "benchmark"))
        if hint is not None:
            raise EventsFileError(f"{p}:1: {hint}")
        raise EventsFileError(
            f"{p}: missing column(s) {', '.join(missing)}; an events file needs "
            "event_id,ticker,date and may add timing,benchmark and columns of your own"
        )
    blank = (raw == "").to_numpy().all(axis=1)
    if blank.any():
        raw, line = raw[~blank].reset_index(drop=True), line[~blank]
    if not len(raw) and not dropped:
        raise EventsFileError(
            f"{p}: no events: the file has a header and no rows (one row per event: "
            "event_id,ticker,date[,timing,...])"
        )
    if "timing" not in raw.columns:
        raw["timing"] = ""
    timing_given = (raw["timing"].str.strip() != "").to_numpy()
    raw["timing"] = raw["timing"].replace("", "unknown")
    keep = np.ones(len(raw), dtype=bool)

    def drop(rows: np.ndarray, column: str, what: str | list[str]) -> None:
        for k, i in enumerate(rows):
            keep[i] = False
            reason = what if isinstance(what, str) else what[k]
            dropped.append(_bad_row(p, int(line[i]), raw, int(i), column, reason))

    dates = pd.to_datetime(raw["date"], format="%Y-%m-%d", errors="coerce")
    bad = np.flatnonzero(dates.isna().to_numpy())
    drop(bad, "date", [f"{raw['date'].iat[i]!r} is not a date YYYY-MM-DD" for i in bad])
    instants = _instants(raw, dates, timing_given, keep, drop)  # NaT: no exact time
    timed = ~np.isnat(instants)
    bad = np.flatnonzero(~raw["timing"].isin(TIMINGS).to_numpy() & keep & ~timed)
    drop(
        bad,
        "timing",
        [f"{raw['timing'].iat[i]!r} is not one of {', '.join(TIMINGS)}" for i in bad],
    )
    bad = np.flatnonzero((raw["event_id"].str.strip() == "").to_numpy() & keep)
    drop(bad, "event_id", "is empty")
    # tickers: once per distinct ticker, then spread to the rows
    codes, tickers = pd.factorize(raw["ticker"])
    market_of_code: list[str | None] = []
    problem: dict[int, str] = {}
    for k, t in enumerate(tickers):
        try:
            market_of_code.append(market_of(str(t)).code)
        except (InvalidTickerError, UnknownMarketError) as exc:
            market_of_code.append(None)
            problem[k] = str(exc)
    if problem:
        bad = np.flatnonzero(np.isin(codes, list(problem)) & keep)
        drop(bad, "ticker", [problem[int(codes[i])] for i in bad])
    market = np.array(market_of_code, dtype=object)[codes]
    if "benchmark" in raw.columns:  # a bad benchmark cell leaves out that row only
        bcodes, benches = pd.factorize(raw["benchmark"])
        bproblem: dict[int, str] = {}
        for k, b in enumerate(benches):
            if str(b).strip() == "" or pd.isna(b):
                continue
            try:
                market_of(str(b))
            except (InvalidTickerError, UnknownMarketError) as exc:
                bproblem[k] = str(exc)
        if bproblem:
            bad = np.flatnonzero(np.isin(bcodes, list(bproblem)) & keep)
            drop(bad, "benchmark", [bproblem[int(bcodes[i])] for i in bad])
    # dates outside the exchange's calendar (1899, 2300): that row only
    timing = raw["timing"].to_numpy()
    day = dates.to_numpy(dtype="datetime64[D]", na_value=np.datetime64("NaT"))
    for code in dict.fromkeys(m for m in market_of_code if m is not None):
        sessions = get_calendar(code).sessions
        first, last = sessions[0].to_datetime64(), sessions[-1].to_datetime64()
        lo, hi = np.datetime64(first, "D"), np.datetime64(last, "D")
        rows = keep & (market == code) & ~timed  # a timed row's day 0 is checked below
        outside = rows & ((day < lo) | (day > hi) | ((day == hi) & (timing == "after_close")))
        bad = np.flatnonzero(outside)
        drop(
            bad,
            "date",
            [str(CalendarRangeError(code, day[i], lo, hi)) for i in bad],
        )
    # an exact time: the first session of the ticker's exchange that closes after it
    for code in dict.fromkeys(m for m in market[keep & timed] if m is not None):
        rows = np.flatnonzero(keep & timed & (market == code))
        found = day0_sessions_at(str(code), instants[rows])
        bad = rows[np.isnat(found.to_numpy())]
        sessions = get_calendar(str(code)).sessions
        lo, hi = sessions[0].date(), sessions[-1].date()
        drop(bad, "time", [str(CalendarRangeError(str(code), day[i], lo, hi)) for i in bad])
    raw.loc[timed, "timing"] = "exact"
    table = raw[keep].assign(date=dates[keep], market=market[keep])
    at = instants[keep]
    pieces = []
    for code, block in table.groupby("market", sort=False):
        exact = ~np.isnat(at[table["market"].to_numpy() == code])
        day0 = pd.Series(pd.NaT, index=block.index, dtype="datetime64[ns]")
        try:
            if (~exact).any():
                plain = block[~exact]
                day0[~exact] = day0_sessions(str(code), plain["date"], plain["timing"].to_numpy())
        except CalendarRangeError as exc:  # pragma: no cover - the rows outside were dropped
            raise EventsFileError(f"{p}: {exc}") from None
        if exact.any():
            day0[exact] = day0_sessions_at(str(code), at[table["market"].to_numpy() == code][exact])
        pieces.append(block.assign(day0=day0))
    out = pd.concat(pieces) if pieces else table.assign(day0=pd.Series(dtype="datetime64[ns]"))
    dropped.sort(key=lambda d: _line_of(d.reason))
    return out.sort_index().reset_index(drop=True), dropped


def _instants(
    raw: pd.DataFrame,
    dates: pd.Series,
    timing_given: np.ndarray,
    keep: np.ndarray,
    drop: Callable[[np.ndarray, str, str | list[str]], None],
) -> np.ndarray:
    """The UTC instant (naive ``datetime64[ns]``) of each row that gives ``time`` and
    ``timezone``, NaT for the others; a row with only one of them, with a ``timing`` too, or
    with a time or timezone that cannot be read is dropped (``drop``), as a catalog refuses
    it. The instant is :func:`backtest.sessions.event_instant`'s: a local time a
    daylight-saving change skipped is moved forward by the gap, a repeated one is its first
    occurrence."""
    out = np.full(len(raw), np.datetime64("NaT"), dtype="datetime64[ns]")
    if "time" not in raw.columns and "timezone" not in raw.columns:
        return out
    time = raw["time"].str.strip() if "time" in raw.columns else pd.Series("", index=raw.index)
    zone = (
        raw["timezone"].str.strip() if "timezone" in raw.columns else pd.Series("", index=raw.index)
    )
    has_t, has_z = (time != "").to_numpy(), (zone != "").to_numpy()
    drop(np.flatnonzero(keep & has_t & ~has_z), "timezone",
         "is empty: a time needs its IANA timezone, e.g. America/New_York")  # fmt: skip
    drop(np.flatnonzero(keep & has_z & ~has_t), "time",
         "is empty: a timezone needs the local time HH:MM (24-hour)")  # fmt: skip
    both = keep & has_t & has_z
    bad = np.flatnonzero(both & timing_given)
    drop(bad, "timing", "give either timing, or time and timezone, not both")
    # the catalog's rule of a time of day (HH:MM or HH:MM:SS, 24-hour)
    clock = time.str.fullmatch(TIME_OF_DAY.pattern).to_numpy(dtype=bool)
    parts = time.str.extract(f"^{TIME_OF_DAY.pattern}$").fillna("0").astype(int)
    bad = np.flatnonzero(keep & both & ~clock)
    drop(bad, "time", [f"{time.iat[i]!r} is not a time of day HH:MM (24-hour)" for i in bad])
    for z in dict.fromkeys(zone[keep & both]):
        rows = np.flatnonzero(keep & both & (zone == z).to_numpy())
        try:
            tz = zoneinfo.ZoneInfo(z)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America"
            drop(rows, "timezone", f"{z!r} is not a known IANA timezone, e.g. America/New_York")
            continue
        local = dates.iloc[rows] + pd.to_timedelta(
            parts[0].iloc[rows] * 3600 + parts[1].iloc[rows] * 60 + parts[2].iloc[rows], unit="s"
        )
        aware = pd.DatetimeIndex(local).tz_localize(
            tz, ambiguous=np.ones(len(rows), dtype=bool), nonexistent="NaT"
        )
        utc = aware.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]")
        for k in np.flatnonzero(np.isnat(utc)):  # skipped by a daylight-saving change
            h, m, sec = (int(parts[c].iat[rows[k]]) for c in range(3))
            instant = event_instant(dates.iat[rows[k]].date(), dt.time(h, m, sec), z)
            utc[k] = instant.tz_localize(None).to_datetime64()
        out[rows] = utc
    return out


def _bad_row(path: Path, line: int, raw: pd.DataFrame, i: int, column: str, what: str) -> Dropped:
    return Dropped(
        str(raw["event_id"].iat[i]),
        str(raw["ticker"].iat[i]),
        "input",
        f"{path.name} line {line}: column {column}: {what}",
    )


def _line_of(reason: str) -> int:
    m = re.search(r" line (\d+): ", reason)
    return int(m.group(1)) if m else 0


def _regular_file(path: Path, what: str, error: type[Exception]) -> None:
    """Refuse, before opening it, a path that is not a regular file (a FIFO would hang).

    ``what`` names the file with its article (``"an events file"``).
    """
    noun = what.split(" ", 1)[1]
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: no such {noun}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {noun} ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{path}: is a folder, not {what}")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: is not a regular file (a FIFO or a device?), not {what}")


def _header_cells(path: Path, error: type[Exception]) -> list[str]:
    """The stripped cells of a CSV file's first line (empty list: an empty file)."""
    try:
        with open(path, "rb") as fh:  # the first line only: a later row's bytes are its own
            first = fh.readline().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not first.strip():
        return []
    return [c.strip() for c in next(csv.reader([first]))]


#: Where a text's lines end: after a newline, or after a carriage return not followed by one.
_LINE_ENDS = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")
_ONE_LINE_COLUMNS = ("event_id", "ticker", "date", "timing", "benchmark")
_UNDECODED = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, kept by surrogateescape


def _records(
    lines: list[str], width: int, one_line: dict[int, str]
) -> Iterable[tuple[int, list[str], str]]:
    """The CSV records of ``lines`` after the header: ``(line, cells, "")``, or ``(line,
    cells of that line alone, why the record cannot be read)``.

    A quoted cell may run over lines (a note), but not into a row too long or into a column of
    ``one_line`` (index -> name: the id, ticker, date...), and a quote must be closed: such a
    record is a stray quote, and reading resumes at the line after its first, so that one bad
    quote costs its own row, not the rows after it.
    """
    pos = 1
    while pos < len(lines):
        feed = Lines(lines, pos)
        reader = csv.reader(feed, skipinitialspace=True)
        while True:
            start = feed.i
            try:
                cells = next(reader, None)
            except csv.Error as exc:
                problem = f"not a readable CSV row ({exc}): check its quotes"
            else:
                if cells is None:
                    return
                end = feed.i
                problem = ""
                if end == len(lines) and _unclosed(lines[start:end]):
                    problem = (
                        "a quote opened on this line is never closed: check its quotes "
                        "(a quoted cell must end with a quote)"
                    )
                elif end - start > 1:  # a quoted cell ran over lines
                    if len(cells) > width:
                        problem = (
                            f"a quoted cell runs from this line to line {end}, and the row "
                            f"then has {len(cells)} values, but the header has {width} "
                            "columns: check its quotes"
                        )
                    else:
                        into = [
                            name
                            for k, name in one_line.items()
                            if k < len(cells) and ("\n" in cells[k] or "\r" in cells[k])
                        ]
                        if into:
                            problem = (
                                f"a quoted cell runs from this line to line {end}, through "
                                f"column {into[0]}, which holds one line: check its quotes"
                            )
                if not problem:
                    yield start + 1, cells, ""
                    continue
            first = [c.strip().strip('"') for c in lines[start].rstrip("\r\n").split(",")]
            yield start + 1, first, problem
            pos = start + 1
            break


def _unclosed(lines: list[str]) -> bool:
    """Whether the last record of a text ends inside a quoted cell."""
    try:
        for _ in csv.reader(lines, skipinitialspace=True, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _read_rows(path: Path) -> tuple[pd.DataFrame, np.ndarray, list[Dropped]]:
    """The rows of an events file as text cells (a short row padded with empty cells), the
    line of each, and the rows that cannot be read: too many values, a quote never closed, a
    byte that is not UTF-8 (each names the file and line)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EventsFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    text = data.decode("utf-8-sig", errors="surrogateescape")
    undecoded = _UNDECODED.search(text) is not None  # (then each row is looked at)
    lines = _LINE_ENDS.split(text)
    if lines and not lines[-1]:
        lines.pop()
    header_cells = next(csv.reader(lines[:1], skipinitialspace=True), [])
    header = [c.strip() or f"Unnamed: {i}" for i, c in enumerate(header_cells)]
    width = len(header)
    rows: list[list[str]] = []
    where: list[int] = []
    dropped: list[Dropped] = []

    def cell(cells: list[str], name: str) -> str:
        i = header.index(name) if name in header else -1
        return _UNDECODED.sub("\ufffd", cells[i]) if 0 <= i < len(cells) else ""

    one_line = {i: h for i, h in enumerate(header) if h in _ONE_LINE_COLUMNS}
    for line, cells, problem in _records(lines, width, one_line):
        if not problem and len(cells) > width:
            problem = (
                f"{len(cells)} values, but the header has {width} columns: check for an extra "
                "comma (quote a cell that holds a comma)"
            )
        if not problem and undecoded:
            bad = next(((k, c) for k, c in enumerate(cells) if _UNDECODED.search(c)), None)
            if bad is not None:
                k, text = bad
                byte = ord(_UNDECODED.findall(text)[0]) - 0xDC00
                problem = (
                    f"column {header[k] if k < width else k + 1}: not UTF-8 text (byte "
                    f"0x{byte:02x}); save the file as UTF-8"
                )
        if problem:
            dropped.append(
                Dropped(
                    cell(cells, "event_id"),
                    cell(cells, "ticker"),
                    "input",
                    f"{path.name} line {line}: {problem}",
                )
            )
            continue
        rows.append(cells + [""] * (width - len(cells)))
        where.append(line)
    raw = pd.DataFrame(rows, columns=header, dtype=object).astype(str) if rows else None
    if raw is None:
        raw = pd.DataFrame({h: pd.Series(dtype=str) for h in header})
    return raw, np.array(where, dtype=np.int64), dropped


def _add_markets(table: pd.DataFrame, *, stage: str) -> tuple[pd.DataFrame, list[Dropped]]:
    """Add the ``market`` column; rows whose ticker has no known market are dropped."""
    codes: dict[str, str | None] = {}
    reasons: dict[str, str] = {}
    tick_code, tickers = pd.factorize(table["ticker"], use_na_sentinel=False)
    for t in tickers.tolist():  # once per distinct ticker (Python strings in one go)
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
    # the event ids' factorization (Arrow's hashing: no GIL held) runs on a thread meanwhile
    ids = table["event_id"]
    event_codes = alongside(lambda: pd.factorize(ids), len(table))
    if "market" not in table.columns:
        table, dropped = _add_markets(table, stage="input")
        if len(table) != len(ids):  # rows dropped: the codes of the rest, in their order
            kept = table["event_id"]
            event_codes = alongside(lambda: pd.factorize(kept), 0)
    if not _normalized_dates(table["day0"]):
        table["day0"] = pd.to_datetime(table["day0"]).dt.normalize()
    ev, ev_ids = event_codes()
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


def _normalized_dates(day0: pd.Series) -> bool:
    """Is ``day0`` already what ``pd.to_datetime(day0).dt.normalize()`` makes of it? (Dates
    without a time zone, each at midnight or NaT: the usual table, from a catalog or a price
    index.) One pass over the integers, no new column."""
    if not isinstance(day0.dtype, np.dtype) or day0.dtype.kind != "M":
        return False
    unit, _ = np.datetime_data(day0.dtype)
    per_day = int(np.timedelta64(1, "D").astype(f"m8[{unit}]").astype(np.int64))  # one day
    ticks = day0.to_numpy().view(np.int64)
    # NaT (the smallest int64) is no multiple of a day, but normalizing leaves it as it is
    return bool(((ticks % per_day == 0) | (ticks == np.iinfo(np.int64).min)).all())


#: From this many rows, :func:`alongside` runs its work on a thread (below, a thread costs
#: more than it saves).
ALONGSIDE_ROWS = 500_000


class Later(Generic[T]):
    """``fn(*args)`` computed on a thread of its own while the caller goes on (with
    ``threads`` false: at once, on the caller's thread). :meth:`get` waits for it and gives
    its result, or raises its exception.

    Aligning is mostly Python and pandas on one core; work that nothing needs until later
    runs meanwhile on the other: the event ids' and the tickers' factorization and the
    per-row arrays (:func:`alongside`), the return matrix while the rows find their sessions,
    the confounder sweeps until the test battery reads them, and (in
    :func:`~backtest.study.measure.measure`) the observations during the fits.
    """

    def __init__(self, fn: Callable[..., T], *args: Any, threads: bool) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if threads:
            self._thread = threading.Thread(
                target=self._run, args=(fn, args), name="evbt-later", daemon=True
            )
            self._thread.start()
        else:
            self._run(fn, args)

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # raised again by get(), on the caller's thread
            self._error = exc

    def get(self) -> T:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error
        return cast(T, self._value)


def alongside(work: Callable[[], T], rows: int) -> Callable[[], T]:
    """``work()`` as a :class:`Later`, on a thread when it is large (``rows`` >=
    :data:`ALONGSIDE_ROWS`); the function returned waits for its result (and raises its
    error).

    For work that releases the GIL (Arrow's compute functions, NumPy's fills and hashing of
    long arrays): it then runs on another core while the caller's Python goes on.
    """
    return Later(work, threads=rows >= ALONGSIDE_ROWS).get


def without_known_news(confounders: pd.DataFrame, known: object) -> pd.DataFrame:
    """The confounder events that are not one of the ``known`` events (a Catalog or an event
    table): a confounder row with the same ticker and the same day 0 as a known event is that
    event (the same announcement, e.g. an earnings calendar's row for a catalog's earnings
    event) and is left out, so that it neither flags the event as confounded nor keeps its
    window out of other estimation windows a second time.

    ``confounders`` and ``known`` need ``ticker`` and ``day0`` (a Catalog gives them).
    """
    frame = known.to_frame() if hasattr(known, "to_frame") and hasattr(known, "events") else known
    if not isinstance(frame, pd.DataFrame) or not len(confounders) or not len(frame):
        return confounders
    need = {"ticker", "day0"}
    if not need <= set(frame.columns) or not need <= set(confounders.columns):
        return confounders
    key = pd.MultiIndex.from_arrays(
        [frame["ticker"].astype(str), pd.to_datetime(frame["day0"]).dt.normalize()]
    )
    mine = pd.MultiIndex.from_arrays(
        [confounders["ticker"].astype(str), pd.to_datetime(confounders["day0"]).dt.normalize()]
    )
    same = mine.isin(key)
    return confounders[~same] if same.any() else confounders


#: The context column that marks confounder rows (``--confounders``, earnings calendars:
#: events known but not of the catalog or events table): they are kept out of estimation
#: windows over ``StudySpec.confounder_window`` around their day 0, not over the window span.
CONFOUNDER = "confounder"


def context_with_confounders(known: object, confounders: pd.DataFrame | None) -> Any:
    """Every event a run knows, for ``run_study(context=...)``: the ``known`` events (a
    Catalog or an event table: the whole catalog loaded, or the events file) and the
    ``confounders`` that are not one of them (:func:`without_known_news`), marked in the
    column :data:`CONFOUNDER`. Without confounders, ``known`` itself.

    >>> known = pd.DataFrame({"event_id": ["a"], "ticker": ["X"], "day0": ["2024-01-02"]})
    >>> cal = pd.DataFrame({"event_id": ["x-1", "x-2"], "ticker": ["X", "X"],
    ...                     "day0": ["2024-01-02", "2024-03-01"]})
    >>> context_with_confounders(known, cal)[["event_id", "confounder"]].values.tolist()
    [['a', False], ['x-2', True]]
    """
    if confounders is None:
        return known
    frame = known.to_frame() if hasattr(known, "to_frame") and hasattr(known, "events") else known
    others = without_known_news(confounders, frame)
    if not isinstance(frame, pd.DataFrame):  # pragma: no cover - a Catalog gives a frame
        raise TypeError("known must be a Catalog or an event table")
    return pd.concat(
        [frame.assign(**{CONFOUNDER: False}), others.assign(**{CONFOUNDER: True})],
        ignore_index=True,
    )


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


def priced_sessions(close: pd.DataFrame, columns: list[str], market: str) -> pd.DatetimeIndex:
    """The sessions of ``market`` from the first to the last date on which one of
    ``close[columns]`` has a price (empty when none has one): the sessions of
    :func:`ticker_returns`."""
    cols = close.columns.get_indexer(columns)
    ends = _priced_ends(close, cols)
    if ends is None:
        valid = np.zeros(len(close.index), dtype=bool)
        for a in range(0, len(cols), _COLUMN_BLOCK):
            valid |= ~np.isnan(_prices_of(close, cols[a : a + _COLUMN_BLOCK])).all(axis=0)
        if not valid.any():
            return pd.DatetimeIndex([])
        ends = tuple(np.flatnonzero(valid)[[0, -1]].tolist())
    first, last = close.index[list(ends)]
    cal = get_calendar(market)
    return pd.DatetimeIndex(
        cal.sessions_in_range(max(first, cal.first_session), min(last, cal.last_session))
    )


def _prices_of(close: pd.DataFrame, chunk: np.ndarray) -> np.ndarray:
    """The prices of the columns ``chunk`` (positions) of ``close``, ticker-major (tickers x
    dates): a copy of those columns only, whatever blocks the frame holds them in."""
    return close.take(chunk, axis=1).to_numpy(dtype=np.float64).T


def ticker_returns(
    close: pd.DataFrame,
    columns: list[str],
    market: str,
    kind: str,
    pad: tuple[int, int],
    sessions: pd.DatetimeIndex | None = None,
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """:func:`session_returns` of ``close[columns]``, ticker-major and padded with NaN.

    Returns ``(sessions, RT)`` with ``RT[c, pad[0] + t]`` the return of ``columns[c]`` on
    ``sessions[t]`` (the same numbers as ``session_returns(close[columns], ...)[1][t, c]``),
    and ``pad[0]`` and ``pad[1]`` columns of NaN before the first and after the last session.
    ``sessions``, when given, are :func:`priced_sessions` of the same columns (computed
    once by a caller that needs them first).

    The prices are read ticker-major, a block of tickers at a time (never the whole frame
    interleaved into one array, which a frame of several blocks needs), and the ratios
    written straight into ``RT`` along its rows; only the pads are filled with NaN
    beforehand.
    """
    if sessions is None:
        sessions = priced_sessions(close, columns, market)
    cols = close.columns.get_indexer(columns)
    rows = close.index.get_indexer(sessions)  # -1: no row for the session
    n = len(sessions)
    out = np.empty((len(columns), pad[0] + n + pad[1]))
    out[:, : pad[0] + 1] = np.nan  # the pad, and the first session (no previous price)
    out[:, pad[0] + n :] = np.nan
    missing = np.flatnonzero(rows < 0)
    # the usual case: the sessions are consecutive rows of the frame (a slice, no gather)
    consecutive = n > 0 and len(missing) == 0 and rows[-1] - rows[0] == n - 1
    for a in range(0, len(cols) if n else 0, _COLUMN_BLOCK):
        block = _prices_of(close, cols[a : a + _COLUMN_BLOCK])
        if consecutive:
            prices = block[:, rows[0] : rows[0] + n]
        else:
            prices = np.take(block, rows, axis=1)
            prices[:, missing] = np.nan
        ratio = out[a : a + _COLUMN_BLOCK, pad[0] + 1 : pad[0] + n]
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(prices[:, 1:], prices[:, :-1], out=ratio)
            # not finite or not positive: NaN (NaN fails both tests)
            ratio[~((ratio > 0) & (ratio < np.inf))] = np.nan
            if kind == "log":
                np.log(ratio, out=ratio)
            else:
                ratio -= 1.0
    return sessions, out


_COLUMN_BLOCK = 64  # tickers' prices read at a time by ticker_returns


def _priced_ends(close: pd.DataFrame, cols: np.ndarray) -> tuple[int, int] | None:
    """The first and the last row of ``close`` with a price in one of the columns ``cols``,
    when the frame's first and last ``_END_ROWS`` rows hold them (the usual case: only those
    rows are read); None otherwise (every row is to be read)."""
    head, tail = close.iloc[:_END_ROWS], close.iloc[-_END_ROWS:]
    in_head = ~np.isnan(head.take(cols, axis=1).to_numpy(dtype=np.float64)).all(axis=1)
    in_tail = ~np.isnan(tail.take(cols, axis=1).to_numpy(dtype=np.float64)).all(axis=1)
    if not (in_head.any() and in_tail.any()):
        return None
    return int(np.argmax(in_head)), len(close) - len(tail) + int(np.flatnonzero(in_tail)[-1])


_END_ROWS = 8  # rows read at each end of the frame for the first and last prices


# ----------------------------------------------------------------------------- factors

_DATE_ROW = re.compile(r"^\s*(\d{8})\s*,")
#: Ken French's codes for a missing value (monthly and annual files use them).
_FRENCH_MISSING = frozenset({-99.99, -999.0})
_SHOWN_PROBLEMS = 10


class FactorFileError(EvbtError, ValueError):
    """A factor file cannot be read."""


class FactorScaleError(EvbtError, ValueError):
    """Factor returns that are not daily decimal returns (percent, or 100 times too small)."""


#: The size of daily decimal factor returns, by the median and the largest absolute value of
#: each column. In French's files (1926-2026) no day reaches 0.19 (Mom 0.185 on 1939-09-05,
#: Mkt-RF -0.174 on 1987-10-19); the risk-free rate is at most 0.0006 a day (1981). In percent
#: all is 100 times larger. A factor is refused as percent when its median reaches
#: ``PERCENT_MEDIAN`` and a day reaches ``PERCENT_LARGEST`` (no decimal factor ever did,
#: whatever the sessions looked at), or when its median alone reaches the
#: :data:`PERCENT_MEDIAN_BY_DAYS` of its number of values; ``RF`` when its median reaches
#: ``RF_PERCENT_MEDIAN`` (65 % a year in decimal).
PERCENT_MEDIAN = 0.05
PERCENT_LARGEST = 0.5
RF_PERCENT_MEDIAN = 0.002
#: ``(days, median)``: from ``days`` values on, a factor (not ``RF``) whose median absolute
#: value reaches ``median`` is in percent, whatever its largest value. Calibrated on every
#: stretch of 1 to 250 sessions (and of 300 to 5,000, checked) of French's three daily files
#: (FF3 and Mom 1926-2026, FF5 1963-2026; every factor but RF, in decimal; crash days
#: included), by ``benchmarks/factor_scale_calibration.py``. Each step is at least 1.25 times
#: the largest median of real decimal returns over any stretch as long or longer:
#:
#: ========  ===============================================  =========
#: sessions  largest decimal median, n sessions or more        threshold
#: ========  ===============================================  =========
#: 1-4       0.185 (one day: Mom 1939-09-05); 0.114 (2, 1929)  none
#: 5-9       0.112 (Mkt-RF, 5 sessions to 1929-10-30)          0.14
#: 10-24     0.0593 (13 sessions to 1929-11-15)                0.075
#: 25-59     0.0423 (26 sessions to 2020-04-06)                0.055
#: 60-99     0.0378 (60 sessions to 2008-12-08)                0.048
#: 100-249   0.0245 (100 sessions to 2009-01-29)               0.031
#: 250-      0.0175 (300 sessions to 1932-09-15)               0.022
#: ========  ===============================================  =========
#:
#: The largest decimal value is 0.185 over stretches of any length (one day). In percent, the
#: calmest stretches have the smallest medians (the largest factor median of a frame): 0.085
#: over FF3's calmest 10 sessions, 0.115 over FF5's, 0.12 and 0.14 over 20: every stretch of
#: FF3 or FF5 in percent is refused from 10 sessions on; momentum alone (one column: 0.04 over
#: its calmest 20 sessions, below 1929's decimal 0.056, so the numbers do not allow it) from
#: 43. Before this rule a calm month in percent (largest under 0.5) passed.
PERCENT_MEDIAN_BY_DAYS: tuple[tuple[int, float], ...] = (
    (5, 0.14),
    (10, 0.075),
    (25, 0.055),
    (60, 0.048),
    (100, 0.031),
    (250, 0.022),
)


def percent_median(days: int) -> float:
    """The median absolute value from which a factor of ``days`` values is in percent
    (:data:`PERCENT_MEDIAN_BY_DAYS`; infinite below 5 days: a few decimal crash days are as
    large as calm percent ones).

    >>> percent_median(4), percent_median(20), percent_median(1000)
    (inf, 0.075, 0.022)
    """
    out = math.inf
    for least, median in PERCENT_MEDIAN_BY_DAYS:
        if days >= least:
            out = median
    return out


#: Factors are 100 times too small when, over at least ``SMALL_MIN_DAYS`` days, the largest
#: of their medians is below ``SMALL_MEDIAN`` and no day reaches ``SMALL_LARGEST`` (real
#: factors: a median of at least 0.0004 and a day of at least 0.002 over any 20 sessions;
#: a day or a week can be that quiet).
SMALL_MEDIAN = 0.0002
SMALL_LARGEST = 0.002
SMALL_MIN_DAYS = 20


#: The key of ``DataFrame.attrs`` where :func:`read_factors` keeps each column's file, so that
#: a study's check of the rows it uses (:func:`check_factor_rows`) names the file.
FACTOR_FILES = "evbt_factor_files"


def check_factor_scale(factors: pd.DataFrame, source: str, *, in_percent: bool = False) -> None:
    """Refuse factor returns whose size is not that of daily decimal returns.

    A factor column is in percent when its median absolute value reaches :data:`PERCENT_MEDIAN`
    (0.05) and its largest reaches :data:`PERCENT_LARGEST` (0.5: no daily decimal factor return
    ever did: the largest are Mom's 0.185 on 1939-09-05 and Mkt-RF's -0.174 on 1987-10-19), or
    when its median alone reaches what no decimal factor's median ever did over as many days
    (:func:`percent_median`: 0.14 from 5 days, 0.075 from 10, 0.055 from 25, 0.048 from 60,
    0.031 from 100, 0.022 from 250; calibrated on every stretch of 1 to 250 sessions of French's
    daily files since 1926, crash days included, see :data:`PERCENT_MEDIAN_BY_DAYS`: French's
    three and five factors in percent are refused over any 10 sessions, momentum alone over
    any 43); the risk-free rate ``RF`` when its median reaches :data:`RF_PERCENT_MEDIAN` (0.002,
    65 % a year). The factors are 100 times too small (decimals read as percent, or divided by 100
    twice) when, over at least :data:`SMALL_MIN_DAYS` days, their largest median is below
    :data:`SMALL_MEDIAN` (0.0002) and no value reaches :data:`SMALL_LARGEST` (0.002). Real daily
    decimal factors are far from both, crash days included.
    ``source`` names the frame or file in the message; ``in_percent``: ``factors`` were read
    from a file in Ken French's percent format and divided by 100 (the message says so).

    Raises
    ------
    FactorScaleError
        Naming the source, each column refused with its median and largest absolute value,
        the number of days looked at and the fix.
    """
    # by position (two columns may share a name); only number columns (a note or a flag
    # column is not a return, and is not this check's to judge)
    kinds = [pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
             for t in factors.dtypes]  # fmt: skip
    numeric = factors.loc[:, kinds]
    columns = list(numeric.columns)
    size = pd.DataFrame(np.abs(numeric.to_numpy(dtype=np.float64)))
    median, largest = size.median().to_numpy(), size.max().to_numpy()  # NaN skipped
    counted = size.notna().sum().to_numpy()
    days = f"over {len(factors)} day{'s' if len(factors) != 1 else ''}"

    def seen(at: list[int]) -> str:
        return "; ".join(
            f"{columns[i]}: median {median[i]:.3g}, largest {largest[i]:.3g}" for i in at
        )

    big = [
        i
        for i, c in enumerate(columns)
        if (c == "RF" and median[i] >= RF_PERCENT_MEDIAN)
        or (c != "RF" and median[i] >= PERCENT_MEDIAN and largest[i] >= PERCENT_LARGEST)
        or (c != "RF" and median[i] >= percent_median(int(counted[i])))
    ]
    if big and in_percent:
        raise FactorScaleError(
            f"{source}: the values divided by 100 (Ken French's format is in percent) are still "
            f"too large for daily returns (absolute values {days}: {seen(big)}); write the file "
            "in percent (1.23 for 1.23 %)"
        )
    if big:
        raise FactorScaleError(
            f"{source}: the factor returns look like percent, not daily decimal returns "
            f"(absolute values {days}: {seen(big)}; daily decimal factors have a median about "
            "0.005 and never reach 0.5, a daily risk-free rate is below 0.001); divide them by "
            "100, or read Ken French's CSV file with read_factors (--factors FILE), which "
            "converts its percent"
        )
    names = [i for i, c in enumerate(columns) if c != "RF" and np.isfinite(median[i])]
    if (
        not names
        or len(factors) < SMALL_MIN_DAYS
        or median[names].max() >= SMALL_MEDIAN
        or np.nanmax(largest[names]) >= SMALL_LARGEST
    ):
        return
    if in_percent:
        raise FactorScaleError(
            f"{source}: the values look like decimal returns, but Ken French's format is in "
            f"percent (1.23 for 1.23 %) and is divided by 100 (absolute values once divided, "
            f"{days}: {seen(names)}); write the file in percent (the values times 100)"
        )
    raise FactorScaleError(
        f"{source}: the factor returns are 100 times too small for daily decimal returns "
        f"(absolute values {days}: {seen(names)}; daily decimal factors have a median about "
        "0.005); were they divided by 100 twice? read_factors already gives decimals"
    )


def read_factors(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    files: FactorFiles | None = None,
) -> pd.DataFrame:
    """Read daily factors in Ken French's CSV format (FF3, FF5, momentum), joined on date.

    The format: free text, then a header line such as ``,Mkt-RF,SMB,HML,RF``, then rows
    ``YYYYMMDD, v1, v2, ...`` in percent up to the first blank line (other sections after it are
    ignored). Files are joined on date (e.g. FF3 + momentum = Carhart). Returns decimal returns
    indexed by date; the risk-free rate is the column ``RF`` when present. Each column's file
    is kept in ``attrs[FACTOR_FILES]``: a study's messages about the factors name it.
    ``files``: the :class:`FactorFiles` of a run, which reads each file once (its check before
    the prices load, then its study).

    Raises
    ------
    FactorFileError
        A file is missing or not a regular file (a FIFO is never opened), has no daily rows, or
        has malformed rows: every one of them is named as ``file:line`` (an invalid date, a
        number of values other than the header's, a date twice, a column twice, a value that is
        not a finite number or is French's missing-value code, a line that is not a row).
    FactorScaleError
        A file's values are not daily returns in percent (see :func:`check_factor_scale`):
        e.g. decimals, which the division by 100 would make 100 times too small.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    frames: list[tuple[Path, pd.DataFrame]] = []
    for path in paths:
        p = Path(path)
        frames.append((p, files.read(p) if files is not None else _checked_factor_file(p)))
    out = frames[0][1]
    for i, (p, f) in enumerate(frames[1:], start=1):
        for q, earlier in frames[:i]:
            dup = [c for c in f.columns if c in earlier.columns and c != "RF"]
            if dup:
                raise FactorFileError(
                    f"factor column(s) {', '.join(dup)} appear in both {q} and {p}: give each "
                    "factor once"
                )
        out = out.join(f.drop(columns=[c for c in f.columns if c in out.columns]), how="inner")
    out = out.sort_index()
    sources: dict[str, str] = {}
    for p, f in frames:  # a column's file: the first that has it (RF: the first file's)
        for c in f.columns:
            sources.setdefault(str(c), str(p))
    out.attrs[FACTOR_FILES] = sources
    return out


def check_factor_rows(factors: pd.DataFrame, rows: str) -> None:
    """:func:`check_factor_scale` of the factor rows a study uses (``rows`` says which), each
    file's columns named by their file when ``factors`` came from :func:`read_factors` (a file
    whose units change partway through passes as a whole, not on these rows), the frame's
    other columns as ``the factor frame (factors=)``.

    Raises
    ------
    FactorScaleError
        As :func:`check_factor_scale`, naming the file (or the frame) and the rows.
    """
    files = factors.attrs.get(FACTOR_FILES)
    if not isinstance(files, dict):
        files = {}
    columns = [str(c) for c in factors.columns]
    by_file: dict[str, list[int]] = {}
    for i, c in enumerate(columns):  # by position (two columns may share a name)
        by_file.setdefault(files.get(c, ""), []).append(i)
    for source, at in by_file.items():
        if source:
            check_factor_scale(factors.iloc[:, at], f"{source} ({rows})", in_percent=True)
    if "" in by_file:
        at = by_file[""]
        part = factors if len(at) == len(columns) else factors.iloc[:, at]
        check_factor_scale(part, "the factor frame (factors=)")


class FactorFiles:
    """The factor files of one run, each parsed and checked once (:func:`read_factors`'s
    ``files``): a file is kept under its resolved path, size and modification time, so one
    edited since is read again. Not a global cache: a run makes its own, and it goes with it.
    """

    def __init__(self) -> None:
        self._frames: dict[tuple[str, int, int], pd.DataFrame] = {}
        #: the number of files parsed (not found kept)
        self.parsed = 0

    def read(self, path: str | os.PathLike[str]) -> pd.DataFrame:
        """The frame of ``path`` (decimal, checked as :func:`read_factors` checks a file)."""
        p = Path(path)
        try:
            st = p.resolve().stat()
        except (OSError, RuntimeError):  # missing, a loop of links: the reader says so
            return _checked_factor_file(p)
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
        if key not in self._frames:
            self._frames[key] = _checked_factor_file(p)
            self.parsed += 1
        return self._frames[key]


def _checked_factor_file(p: Path) -> pd.DataFrame:
    frame = _read_factor_file(p)
    check_factor_scale(frame, str(p), in_percent=True)
    return frame


def _read_factor_file(p: Path) -> pd.DataFrame:
    _regular_file(p, "a factor file", FactorFileError)
    try:
        text = p.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise FactorFileError(f"{p}: cannot read the factor file ({exc.strerror})") from None
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if _DATE_ROW.match(line)), None)
    if first is None or first == 0:
        raise FactorFileError(
            f"{p}: no daily rows found; expected Ken French's format (a header line such as "
            "',Mkt-RF,SMB,HML,RF' followed by rows 'YYYYMMDD, ...' in percent)"
        )
    problems: list[str] = []
    names = [h.strip() for h in lines[first - 1].split(",")][1:]
    twice = sorted({n for n in names if names.count(n) > 1 and n})
    if twice:
        problems.append(f"{p}:{first}: column(s) {', '.join(twice)} appear twice in the header")
    if not names or any(not n for n in names):
        problems.append(
            f"{p}:{first}: the header {lines[first - 1].strip()!r} leaves a column unnamed"
        )
    days: list[np.datetime64] = []
    values: list[list[float]] = []
    seen: dict[np.datetime64, int] = {}
    for i in range(first, len(lines)):
        line, n = lines[i], i + 1
        if not line.strip():
            break  # the end of the daily section
        problem = _factor_row(line, names, seen, n)
        if isinstance(problem, str):
            problems.append(f"{p}:{n}: {problem}")
            continue
        day, row = problem
        seen[day] = n
        days.append(day)
        values.append(row)
    if problems:
        shown = problems[:_SHOWN_PROBLEMS]
        more = len(problems) - len(shown)
        if len(problems) == 1:
            raise FactorFileError(problems[0])
        raise FactorFileError(
            "\n".join(
                [f"{len(problems)} malformed rows in the factor file {p}:"]
                + [f"  {s}" for s in shown]
                + ([f"  ... and {more} more"] if more else [])
            )
        )
    index = pd.DatetimeIndex(np.array(days, dtype="datetime64[ns]"), name="date")
    return pd.DataFrame(np.array(values, dtype=np.float64) / 100.0, index=index, columns=names)


def _factor_row(
    line: str, names: list[str], seen: dict[np.datetime64, int], n: int
) -> str | tuple[np.datetime64, list[float]]:
    """One daily row parsed, or what is wrong with it."""
    if "\x00" in line:
        return "holds NUL bytes (a damaged file?)"
    cells = [c.strip() for c in line.split(",")]
    if not re.fullmatch(r"\d{8}", cells[0]):
        return f"{line.strip()[:40]!r} is not a row 'YYYYMMDD, value, ...'"
    if len(cells) - 1 != len(names):
        return f"{len(cells) - 1} values, but the header names {len(names)} columns"
    try:
        day = np.datetime64(dt.date(int(cells[0][:4]), int(cells[0][4:6]), int(cells[0][6:])), "D")
    except ValueError:
        return f"date {cells[0]} is not a valid date (YYYYMMDD)"
    if day in seen:
        return f"date {cells[0]} repeats line {seen[day]}"
    row: list[float] = []
    for name, cell in zip(names, cells[1:], strict=True):
        try:
            x = float(cell)
        except ValueError:
            return f"column {name}: {cell!r} is not a number"
        if not math.isfinite(x):
            return f"column {name}: {cell!r} is not a finite number"
        if x in _FRENCH_MISSING:
            return f"column {name}: {cell} is Ken French's code for a missing value"
        row.append(x)
    return day, row


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
