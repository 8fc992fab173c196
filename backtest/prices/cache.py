"""The local price cache: one Parquet file per ticker, provenance in the file, atomic writes.

Layout and format
-----------------
``<cache dir>/<ticker>.parquet`` (``^`` written ``_``), with the columns ``date`` (date32) and
``open, high, low, close, volume`` (float64), sorted by date, one row per date. The provenance
lives in the Parquet schema metadata under the key ``evbt.prices`` (JSON), so that data and
provenance are always replaced together:

``version``, ``ticker``, ``source`` (e.g. ``yahoo (yfinance 1.7.0)``), ``adjustment``,
``fetched_at`` (UTC, the latest fetch merged in), ``covered`` (the inclusive date ranges the
file is complete for) and ``fetches`` (the last fetches: range asked and when).

The cache directory is, in order: the ``directory`` argument (``--cache-dir``), the
``EVBT_CACHE_DIR`` environment variable, ``platformdirs.user_cache_dir("evbt")/prices``.

Guarantees
----------
* **Atomic writes**: a file is written to a temporary file in the same directory, flushed and
  fsync'ed, then moved over the old one with ``os.replace`` (atomic on POSIX and Windows), and
  the directory is fsync'ed. A process killed mid-write leaves the previous file intact; the
  stale temporary file is removed by the next write of that ticker.
* **Two processes at once**: every write happens under a per-ticker lock file (``filelock``),
  and re-reads the current file under the lock before merging, so concurrent writers neither
  corrupt a file nor lose each other's rows. Readers need no lock (they see the old file or the
  new one, never a mix).
* **Corrupt or truncated files** are detected on read (Parquet footer, schema, metadata, order),
  moved aside to ``<name>.corrupt-<UTC timestamp>``, reported with
  :class:`~backtest.errors.CacheCorruptWarning`, and fetched again.
* **Nothing is downloaded twice**: :class:`CachedSource` asks the upstream source only for the
  parts of a request that no cached range covers. A range is *covered* once it has been fetched,
  even where it has no rows (weekends, holidays, days before a listing), so it is never asked
  again; only sessions that have closed (plus a settling margin) are ever marked as covered.
* **No adjustment seams**: adjusted prices are relative to the day they were fetched (a new
  dividend rescales the past). Each incremental fetch therefore includes one already-cached
  session next to the gap; if its close no longer matches, the whole series is fetched again
  instead of gluing two adjustment bases together.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from backtest.atomic import atomic_writer, remove_stale_temporaries
from backtest.errors import CacheCorruptWarning, PriceCacheError
from backtest.prices.base import (
    FIELDS,
    FetchFailure,
    FetchResult,
    PriceSeries,
    PriceSource,
    ProgressCallback,
    SeriesInfo,
    between,
    calendar_of,
    closed_through,
    empty_frame,
    file_stem,
    sessions_between,
    standard_frame,
    ticker_of_stem,
    utc_now,
)
from backtest.prices.yahoo import DEFAULT_START

if TYPE_CHECKING:
    import exchange_calendars as xcals

FORMAT_VERSION = 1
_META_KEY = b"evbt.prices"
_HISTORY = 20  # fetch records kept per file
DateRange = tuple[dt.date, dt.date]
_DAY = dt.timedelta(days=1)


class _Unreadable(Exception):
    """A cache file exists but cannot be used (internal)."""


@dataclass(frozen=True)
class CachedSeries:
    """One cached ticker: its rows and provenance.

    Attributes
    ----------
    ticker, source, adjustment, fetched_at:
        As in :class:`~backtest.prices.base.SeriesInfo`.
    frame:
        Rows sorted by date, one per date (columns :data:`~backtest.prices.base.FIELDS`).
    covered:
        Inclusive date ranges the file is complete for, sorted and disjoint.
    fetches:
        The most recent fetches merged in: ``{"start", "end", "at"}`` (ISO text).
    path:
        The file.
    """

    ticker: str
    frame: pd.DataFrame
    source: str
    adjustment: str
    fetched_at: dt.datetime
    covered: tuple[DateRange, ...]
    fetches: tuple[Mapping[str, str], ...] = ()
    path: Path = field(default=Path())

    def info(self, frame: pd.DataFrame | None = None) -> SeriesInfo:
        """Provenance of ``frame`` (default: every cached row)."""
        rows = self.frame if frame is None else frame
        return SeriesInfo(
            ticker=self.ticker,
            source=self.source,
            fetched_at=self.fetched_at,
            adjustment=self.adjustment,
            first=rows.index.min().date() if len(rows) else None,
            last=rows.index.max().date() if len(rows) else None,
            rows=len(rows),
            covered=self.covered,
        )


class PriceCache:
    """The Parquet price store (see the module docstring).

    Parameters
    ----------
    directory:
        Where the files live; default ``$EVBT_CACHE_DIR`` or the user cache directory.
    lock_timeout:
        Seconds to wait for another process's write of the same ticker.
    """

    def __init__(self, directory: str | Path | None = None, *, lock_timeout: float = 120.0) -> None:
        self.directory = Path(directory).expanduser() if directory else self.default_directory()
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"PriceCache({str(self.directory)!r})"

    @staticmethod
    def default_directory() -> Path:
        """``$EVBT_CACHE_DIR``, else ``platformdirs.user_cache_dir("evbt")/prices``."""
        env = os.environ.get("EVBT_CACHE_DIR")
        if env:
            return Path(env).expanduser()
        import platformdirs

        return Path(platformdirs.user_cache_dir("evbt")) / "prices"

    def path_for(self, ticker: str) -> Path:
        """The file of ``ticker``."""
        return self.directory / f"{file_stem(ticker)}.parquet"

    def tickers(self) -> tuple[str, ...]:
        """The tickers with a file in the cache."""
        if not self.directory.is_dir():
            return ()
        return tuple(ticker_of_stem(p.stem) for p in sorted(self.directory.glob("*.parquet")))

    # ------------------------------------------------------------------ reading

    def read(self, ticker: str) -> CachedSeries | None:
        """The cached series of ``ticker``, or ``None`` when there is none.

        A file that cannot be read is moved aside and reported with
        :class:`~backtest.errors.CacheCorruptWarning`; ``None`` is returned so that the caller
        fetches it again.
        """
        path = self.path_for(ticker)
        try:
            return _read_file(path, ticker)
        except FileNotFoundError:
            return None
        except _Unreadable:
            pass
        with self._lock(ticker):  # a writer may have replaced it meanwhile: look again
            try:
                return _read_file(path, ticker)
            except FileNotFoundError:
                return None
            except _Unreadable as exc:
                stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
                moved = path.with_name(f"{path.name}.corrupt-{stamp}")
                os.replace(path, moved)
                warnings.warn(CacheCorruptWarning(ticker, path, str(exc), moved), stacklevel=2)
                return None

    # ------------------------------------------------------------------ writing

    def store(
        self,
        ticker: str,
        frame: pd.DataFrame,
        *,
        covered: Sequence[DateRange],
        source: str,
        adjustment: str,
        fetched_at: dt.datetime,
        replace_all: bool = False,
    ) -> CachedSeries:
        """Merge ``frame`` and ``covered`` into the cached file of ``ticker`` (atomically).

        Under the ticker's lock the current file is read again; new rows replace cached rows of
        the same date, and ``covered`` is added to the cached coverage. With ``replace_all`` the
        file's rows and coverage are replaced instead (a re-fetch after an adjustment change).
        """
        new = _normalise(frame)
        with self._lock(ticker):
            path = self.path_for(ticker)
            remove_stale_temporaries(path)
            try:
                current = None if replace_all else _read_file(path, ticker)
            except (FileNotFoundError, _Unreadable):
                current = None
            fetches = list(current.fetches) if current else []
            fetches.extend(
                {"start": a.isoformat(), "end": b.isoformat(), "at": fetched_at.isoformat()}
                for a, b in covered
            )
            if current is not None:
                rows = pd.concat([current.frame, new])
                rows = rows[~rows.index.duplicated(keep="last")].sort_index()
                cover = merge_ranges([*current.covered, *covered])
                fetched = max(current.fetched_at, fetched_at)
            else:
                rows, cover, fetched = new, merge_ranges(covered), fetched_at
            result = CachedSeries(
                ticker=ticker,
                frame=rows,
                source=source,
                adjustment=adjustment,
                fetched_at=fetched,
                covered=cover,
                fetches=tuple(fetches[-_HISTORY:]),
                path=path,
            )
            _write_file(path, result)
            return result

    @contextmanager
    def _lock(self, ticker: str) -> Iterator[None]:
        import filelock

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PriceCacheError(
                self.directory,
                f"cannot create the cache directory ({exc.strerror or exc})",
                "choose another with --cache-dir or EVBT_CACHE_DIR",
            ) from exc
        lock = filelock.FileLock(str(self.directory / f".{file_stem(ticker)}.lock"))
        try:
            lock.acquire(timeout=self.lock_timeout)
        except filelock.Timeout as exc:
            raise PriceCacheError(
                self.directory,
                f"another process has held the lock of {ticker} for {self.lock_timeout:g} s",
                "wait for it to finish, or remove the .lock file if no evbt is running",
            ) from exc
        try:
            yield
        finally:
            lock.release()


# ----------------------------------------------------------------------------- ranges


def merge_ranges(ranges: Sequence[DateRange]) -> tuple[DateRange, ...]:
    """Sort inclusive date ranges and merge the ones that overlap or touch.

    >>> d = dt.date
    >>> merge_ranges([(d(2024, 1, 5), d(2024, 1, 9)), (d(2024, 1, 1), d(2024, 1, 4))])
    ((datetime.date(2024, 1, 1), datetime.date(2024, 1, 9)),)
    """
    out: list[DateRange] = []
    for a, b in sorted(r for r in ranges if r[0] <= r[1]):
        if out and a <= out[-1][1] + _DAY:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


def missing_ranges(wanted: DateRange, covered: Sequence[DateRange]) -> list[DateRange]:
    """The parts of ``wanted`` that no range of ``covered`` includes (all inclusive).

    >>> d = dt.date
    >>> gaps = missing_ranges((d(2024, 1, 1), d(2024, 1, 31)), [(d(2024, 1, 10), d(2024, 1, 20))])
    >>> [(a.isoformat(), b.isoformat()) for a, b in gaps]
    [('2024-01-01', '2024-01-09'), ('2024-01-21', '2024-01-31')]
    """
    lo, hi = wanted
    gaps: list[DateRange] = []
    cursor = lo
    for a, b in merge_ranges(covered):
        if b < cursor:
            continue
        if a > hi:
            break
        if a > cursor:
            gaps.append((cursor, a - _DAY))
        cursor = b + _DAY
    if cursor <= hi:
        gaps.append((cursor, hi))
    return gaps


# ----------------------------------------------------------------------------- the cached source


@dataclass
class _Gap:
    """A part of a request the cache does not cover."""

    cover: DateRange  # marked as covered once fetched
    ask: DateRange | None  # asked upstream: trimmed to sessions, plus the anchor (None: no session)
    anchor: dt.date | None  # an already-cached session fetched again to check the basis
    got: PriceSeries | FetchFailure | None = None


@dataclass
class _Plan:
    ticker: str
    first: dt.date
    last: dt.date
    cached: CachedSeries | None
    gaps: list[_Gap]

    @property
    def asks(self) -> list[_Gap]:
        return [g for g in self.gaps if g.ask is not None]


class CachedSource:
    """A price source served from a :class:`PriceCache`, asking ``upstream`` for what is missing.

    Parameters
    ----------
    upstream:
        The remote source (normally :class:`~backtest.prices.yahoo.YahooSource`).
    cache:
        The store.
    clock:
        Current UTC time.
    settle:
        How long after a session's close its bar is taken as final (Yahoo revises the last
        bar for a while after the close: final volume, late prints).
    rebase_tolerance:
        Relative difference of the anchor close beyond which the adjustment basis is taken to
        have changed (see the module docstring).
    """

    def __init__(
        self,
        upstream: PriceSource,
        cache: PriceCache,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        settle: dt.timedelta = dt.timedelta(hours=2),
        rebase_tolerance: float = 1e-6,
    ) -> None:
        self.upstream = upstream
        self.cache = cache
        self.clock = clock
        self.settle = settle
        self.rebase_tolerance = rebase_tolerance
        self.name = f"{upstream.name} via cache {cache.directory}"

    def __repr__(self) -> str:
        return f"CachedSource({self.upstream!r}, {self.cache!r})"

    def fetch(
        self,
        tickers: Sequence[str],
        start: dt.date | None,
        end: dt.date | None,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> FetchResult:
        """Rows of ``tickers`` from ``start`` to ``end``, from the cache where it has them.

        ``start=None`` means 1990-01-01, ``end=None`` the last session that has closed.
        """
        now = self.clock()
        plans = [self._plan(t, start or DEFAULT_START, end, now) for t in dict.fromkeys(tickers)]
        hits = sum(1 for p in plans if not p.asks)
        if hits and on_progress is not None:
            on_progress(hits)

        # one upstream call per distinct range, with every ticker that needs it
        groups: dict[DateRange, list[tuple[str, _Gap]]] = {}
        for p in plans:
            for g in p.asks:
                assert g.ask is not None
                groups.setdefault(g.ask, []).append((p.ticker, g))
        for (a, b), members in groups.items():
            res = self.upstream.fetch([t for t, _ in members], a, b, on_progress=on_progress)
            for t, g in members:
                g.got = res.series.get(t) or res.failed.get(t)

        refetched = self._refetch([p for p in plans if self._basis_changed(p)], on_progress)

        series: dict[str, PriceSeries] = {}
        failed: dict[str, FetchFailure] = {}
        partial: dict[str, FetchFailure] = {}
        downloaded: dict[str, tuple[DateRange, ...]] = {}
        for p in plans:
            asked = [g.ask for g in p.asks if g.ask is not None]
            if p.ticker in refetched:
                asked.append(refetched[p.ticker][0])
            downloaded[p.ticker] = tuple(asked)
            stored, problem = self._store(p, refetched.get(p.ticker))
            rows = between(stored.frame, p.first, p.last) if stored else empty_frame()
            if stored is not None and len(rows):
                series[p.ticker] = PriceSeries(p.ticker, rows, stored.info(rows))
                if problem is not None:
                    partial[p.ticker] = problem
            else:
                failed[p.ticker] = problem or FetchFailure(
                    p.ticker,
                    p.first,
                    p.last,
                    "empty",
                    _empty_reason(p, stored),
                    "ask for another range",
                )
        return FetchResult(series=series, failed=failed, partial=partial, downloaded=downloaded)

    # ------------------------------------------------------------------ steps

    def _plan(self, ticker: str, first: dt.date, end: dt.date | None, now: dt.datetime) -> _Plan:
        calendar = calendar_of(ticker)
        settled = now - self.settle
        last = closed_through(calendar, settled) if calendar is not None else settled.date() - _DAY
        if end is not None:
            last = min(last, end)
        cached = self.cache.read(ticker)
        gaps: list[_Gap] = []
        if first <= last:
            for cover in missing_ranges((first, last), cached.covered if cached else ()):
                sessions = _sessions_in(calendar, cover)
                if sessions is None:  # nothing trades there: covered without asking
                    gaps.append(_Gap(cover, None, None))
                    continue
                a, b = sessions
                anchor = _anchor(cached, a, b)
                ask = (a, b) if anchor is None else (anchor, b) if anchor < a else (a, anchor)
                gaps.append(_Gap(cover, ask, anchor))
        return _Plan(ticker, first, last, cached, gaps)

    def _basis_changed(self, p: _Plan) -> bool:
        """Whether an anchor session came back with another close (a new adjustment basis)."""
        if p.cached is None:
            return False
        for g in p.asks:
            if g.anchor is None or not isinstance(g.got, PriceSeries):
                continue
            stamp = pd.Timestamp(g.anchor)
            old = p.cached.frame["close"].get(stamp)
            new = g.got.frame.loc[g.got.frame.index == stamp, "close"]
            if old is None or not len(new):
                return True  # the basis cannot be verified: fetch it all again
            if abs(float(new.iloc[-1]) / float(old) - 1) > self.rebase_tolerance:
                return True
        return False

    def _refetch(
        self, plans: Sequence[_Plan], on_progress: ProgressCallback | None
    ) -> dict[str, tuple[DateRange, PriceSeries | FetchFailure]]:
        """Fetch the whole range of the tickers whose adjustment basis changed."""
        out: dict[str, tuple[DateRange, PriceSeries | FetchFailure]] = {}
        groups: dict[DateRange, list[str]] = {}
        for p in plans:
            covered = p.cached.covered if p.cached else ()
            lo = min([p.first, *(a for a, _ in covered)])
            hi = max([p.last, *(b for _, b in covered)])
            groups.setdefault((lo, hi), []).append(p.ticker)
        for rng, names in groups.items():
            res = self.upstream.fetch(names, rng[0], rng[1], on_progress=on_progress)
            for t in names:
                got = res.series.get(t) or res.failed.get(t)
                if got is not None:
                    out[t] = (rng, got)
        return out

    def _store(
        self, p: _Plan, refetched: tuple[DateRange, PriceSeries | FetchFailure] | None
    ) -> tuple[CachedSeries | None, FetchFailure | None]:
        """Write what ``p`` fetched; return the cached series and a failure to report, if any."""
        if refetched is not None:
            rng, got = refetched
            if isinstance(got, FetchFailure):
                return p.cached, _for_request(
                    got,
                    p,
                    "the adjustment changed since the prices were cached and fetching them "
                    f"again failed ({got.reason}); only the cached prices are served",
                )
            stored = self.cache.store(
                p.ticker,
                between(got.frame, *rng),
                covered=[rng],
                source=got.info.source,
                adjustment=got.info.adjustment,
                fetched_at=got.info.fetched_at or self.clock(),
                replace_all=True,
            )
            return stored, None
        has_rows = (p.cached is not None and len(p.cached.frame) > 0) or any(
            isinstance(g.got, PriceSeries) for g in p.gaps
        )
        frames: list[pd.DataFrame] = []
        covered: list[DateRange] = []
        problem: FetchFailure | None = None
        info: SeriesInfo | None = None
        for g in p.gaps:
            if g.ask is None:
                covered.append(g.cover)
            elif isinstance(g.got, PriceSeries):
                frames.append(between(g.got.frame, *g.ask))
                covered.append(g.cover)
                info = g.got.info
            elif isinstance(g.got, FetchFailure) and g.got.kind == "empty" and has_rows:
                covered.append(g.cover)  # the ticker exists; the source has no rows there
            elif problem is None:
                problem = _for_request(
                    g.got or FetchFailure(p.ticker, *g.ask, "error", "the source skipped it"), p
                )
        if not frames and (problem is not None or not has_rows or not covered):
            return p.cached, problem  # nothing new worth a file
        stored = self.cache.store(
            p.ticker,
            pd.concat(frames) if frames else empty_frame(),
            covered=covered,
            source=info.source if info else (p.cached.source if p.cached else self.upstream.name),
            adjustment=info.adjustment if info else (p.cached.adjustment if p.cached else ""),
            fetched_at=info.fetched_at if info and info.fetched_at else self.clock(),
        )
        return stored, problem


def _for_request(f: FetchFailure, p: _Plan, reason: str | None = None) -> FetchFailure:
    """A gap's failure reported for the whole range the caller asked for."""
    return FetchFailure(p.ticker, p.first, p.last, f.kind, reason or f.reason, f.hint, f.attempts)


def _empty_reason(p: _Plan, stored: CachedSeries | None) -> str:
    if p.first > p.last:
        return f"no session from {p.first} to the end asked for has closed yet"
    if stored is not None and len(stored.frame):
        return (
            f"no rows from {p.first} to {p.last} (the source has rows from "
            f"{stored.frame.index.min().date()} to {stored.frame.index.max().date()})"
        )
    return f"no rows from {p.first} to {p.last}"


def _anchor(cached: CachedSeries | None, a: dt.date, b: dt.date) -> dt.date | None:
    """The cached row next to the gap [a, b]: the last before it, else the first after it."""
    if cached is None or not len(cached.frame):
        return None
    day = cached.frame.index
    before = day[day < pd.Timestamp(a)]
    after = day[day > pd.Timestamp(b)]
    nearest: pd.Timestamp | None = (
        before.max() if len(before) else after.min() if len(after) else None
    )
    return None if nearest is None else nearest.date()


def _sessions_in(calendar: xcals.ExchangeCalendar | None, rng: DateRange) -> DateRange | None:
    """First and last session inside ``rng`` (``None`` if none); ``rng`` itself without calendar."""
    if calendar is None:
        return rng
    inside = sessions_between(calendar, *rng)
    if not len(inside):
        if rng[0] < calendar.first_session.date() or rng[1] > calendar.last_session.date():
            return rng  # outside what the calendar knows: ask
        return None
    return (inside[0].astype(object), inside[-1].astype(object))


# ----------------------------------------------------------------------------- file I/O


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    std = standard_frame(frame)
    std = std[~std.index.duplicated(keep="last")]
    return std.sort_index()


def _write_file(path: Path, series: CachedSeries) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = series.frame
    meta = {
        "version": FORMAT_VERSION,
        "ticker": series.ticker,
        "source": series.source,
        "adjustment": series.adjustment,
        "fetched_at": series.fetched_at.isoformat(),
        "covered": [[a.isoformat(), b.isoformat()] for a, b in series.covered],
        "fetches": list(series.fetches),
    }
    arrays: dict[str, Any] = {
        "date": pa.array(frame.index.to_numpy(dtype="datetime64[D]"), type=pa.date32())
    }
    for f in FIELDS:
        arrays[f] = pa.array(frame[f].to_numpy(dtype="float64"), type=pa.float64())
    table = pa.table(arrays).replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
    with atomic_writer(path) as fh:
        pq.write_table(table, fh)


def _read_file(path: Path, ticker: str) -> CachedSeries:
    """Read and validate one cache file; FileNotFoundError or _Unreadable on failure."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.exists():
        raise FileNotFoundError(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _Unreadable(f"not a readable Parquet file: {exc}") from exc
    raw = (table.schema.metadata or {}).get(_META_KEY)
    if raw is None:
        raise _Unreadable("no evbt provenance in the file's metadata")
    try:
        meta = json.loads(raw)
        if meta["version"] != FORMAT_VERSION:
            raise _Unreadable(f"format version {meta['version']} (expected {FORMAT_VERSION})")
        if meta["ticker"] != ticker:
            raise _Unreadable(f"the file holds {meta['ticker']!r}, not {ticker!r}")
        covered = tuple(
            (dt.date.fromisoformat(a), dt.date.fromisoformat(b)) for a, b in meta["covered"]
        )
        fetched_at = dt.datetime.fromisoformat(meta["fetched_at"])
        source, adjustment = str(meta["source"]), str(meta["adjustment"])
        fetches = tuple(dict(f) for f in meta.get("fetches", []))
    except (KeyError, TypeError, ValueError) as exc:
        raise _Unreadable(f"bad provenance metadata: {exc!r}") from exc
    if table.column_names != ["date", *FIELDS]:
        raise _Unreadable(f"unexpected columns {table.column_names}")
    day = table.column("date").to_numpy().astype("datetime64[ns]")
    if len(day) > 1 and not (day[1:] > day[:-1]).all():
        raise _Unreadable("dates are not strictly increasing")
    data = {f: table.column(f).to_numpy().astype("float64") for f in FIELDS}
    frame = pd.DataFrame(data, index=pd.DatetimeIndex(day, name="date"))
    return CachedSeries(
        ticker=ticker,
        frame=frame,
        source=source,
        adjustment=adjustment,
        fetched_at=fetched_at,
        covered=covered,
        fetches=fetches,
        path=path,
    )
