"""The Parquet price store: one file per ticker, provenance in the file, atomic writes, locks.

Layout and format
-----------------
``<cache dir>/<ticker>.parquet`` (``^`` written ``_``), with the columns ``date`` (date32) and
``open, high, low, close, volume`` (float64), sorted by date, one row per date. The provenance
lives in the Parquet schema metadata under the key ``evbt.prices`` (JSON), so that data and
provenance are always replaced together:

``version``, ``ticker``, ``source`` (e.g. ``yahoo (yfinance 1.7.0)``), ``adjustment``,
``fetched_at`` (UTC, the latest fetch merged in), ``covered`` (the inclusive date ranges the
file is complete for), ``fetches`` (the last fetches: range asked and when) and ``flags`` (the
sessions whose return may not be a total return, ``[date, reason]``; absent in older files).

The cache directory is the ``directory`` argument, else
``platformdirs.user_cache_dir("evbt")/prices``. The library reads no environment variable: the
command line maps ``--cache-dir`` and ``$EVBT_CACHE_DIR`` to ``directory``.

Guarantees
----------
* **Atomic writes**: a file is written to a temporary file in the same directory, flushed and
  fsync'ed, then moved over the old one with ``os.replace`` (atomic on POSIX and Windows), and
  the directory is fsync'ed (:mod:`backtest.atomic`). A process killed mid-write leaves the
  previous file intact; the stale temporary file is removed by the next write of that ticker.
* **Two processes at once**: every write happens under a per-ticker lock file (``filelock``),
  and re-reads the current file under the lock before merging, so concurrent writers neither
  corrupt a file nor lose each other's rows. Readers need no lock (they see the old file or the
  new one, never a mix).
* **Corrupt or truncated files** are detected on read (Parquet footer, schema, metadata, order),
  moved aside to ``<name>.corrupt-<UTC timestamp>``, reported with
  :class:`~backtest.errors.CacheCorruptWarning`, and fetched again.

The cached source that plans what to download around this store is
:class:`~backtest.prices.cached.CachedSource`.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from backtest.atomic import atomic_writer, remove_stale_temporaries
from backtest.errors import CacheCorruptWarning, PriceCacheError
from backtest.prices.base import (
    FIELDS,
    ReturnFlag,
    SeriesInfo,
    file_stem,
    standard_frame,
    ticker_of_stem,
)

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
    flags:
        Sessions whose return may not be a total return, as the source said when the rows
        were fetched (files written before evbt recorded them have none).
    """

    ticker: str
    frame: pd.DataFrame
    source: str
    adjustment: str
    fetched_at: dt.datetime
    covered: tuple[DateRange, ...]
    fetches: tuple[Mapping[str, str], ...] = ()
    path: Path = field(default=Path())
    flags: tuple[ReturnFlag, ...] = ()

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
        Where the files live; default :meth:`default_directory` (the user cache directory).
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
        """``platformdirs.user_cache_dir("evbt")/prices`` (no environment variable is read)."""
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

    def moved_aside(self, ticker: str) -> tuple[Path, ...]:
        """The files of ``ticker`` moved aside as unreadable (``<name>.corrupt-<UTC time>``),
        oldest first."""
        path = self.path_for(ticker)
        if not self.directory.is_dir():
            return ()
        return tuple(sorted(self.directory.glob(f"{glob.escape(path.name)}.corrupt-*")))

    # ------------------------------------------------------------------ reading

    def read(self, ticker: str) -> CachedSeries | None:
        """The cached series of ``ticker``, or ``None`` when there is none.

        A file that cannot be read is moved aside and reported with
        :class:`~backtest.errors.CacheCorruptWarning`; ``None`` is returned so that the caller
        fetches it again.

        Raises
        ------
        PriceCacheError
            The file is unreadable and cannot be moved aside (a read-only cache folder).
        InvalidTickerError
            ``ticker`` is not spelled like a Yahoo ticker.
        """
        cached, corrupt = self.read_or_move_aside(ticker)
        if corrupt is not None:
            warnings.warn(corrupt, stacklevel=2)
        return cached

    def read_or_move_aside(
        self, ticker: str, *, next_step: str = "its prices will be fetched again"
    ) -> tuple[CachedSeries | None, CacheCorruptWarning | None]:
        """:meth:`read` without warning: the cached series (or ``None``) and, when the file
        was unreadable and moved aside, the :class:`~backtest.errors.CacheCorruptWarning`
        (``next_step`` in its message) for the caller to issue and to record with the
        ticker's prices. Raises as :meth:`read` does."""
        path = self.path_for(ticker)
        try:
            return _read_file(path, ticker), None
        except FileNotFoundError:
            return None, None
        except _Unreadable as exc:
            why = str(exc)
        try:
            with self._lock(ticker):  # a writer may have replaced it meanwhile: look again
                try:
                    return _read_file(path, ticker), None
                except FileNotFoundError:
                    return None, None
                except _Unreadable as exc:
                    why = str(exc)
                stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
                moved = path.with_name(f"{path.name}.corrupt-{stamp}")
                try:
                    os.replace(path, moved)
                except OSError as exc:
                    raise PriceCacheError(self.directory, _os_reason(exc)) from exc
        except PriceCacheError as exc:
            raise PriceCacheError(
                self.directory,
                f"{path.name} is unreadable ({why}) and cannot be moved aside: {exc.reason}",
                "delete the file or make the folder writable, or choose another cache folder "
                "with --cache-dir",
            ) from exc
        return None, CacheCorruptWarning(ticker, path, why, moved, next_step)

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
        flags: Sequence[ReturnFlag] = (),
        replace_all: bool = False,
    ) -> CachedSeries:
        """Merge ``frame`` and ``covered`` into the cached file of ``ticker`` (atomically).

        Under the ticker's lock the current file is read again; new rows replace cached rows of
        the same date, and ``covered`` is added to the cached coverage. With ``replace_all`` the
        file's rows and coverage are replaced instead (a re-fetch after an adjustment change).

        Raises
        ------
        PriceCacheError
            The file cannot be written (disk full, read-only folder, lock not obtained); the
            previous file, if any, is left as it was.
        """
        with self._lock(ticker):
            path = self.path_for(ticker)
            remove_stale_temporaries(path)
            try:
                current = None if replace_all else _read_file(path, ticker)
            except (FileNotFoundError, _Unreadable):
                current = None
            result = merge_series(
                current,
                ticker,
                frame,
                covered=covered,
                source=source,
                adjustment=adjustment,
                fetched_at=fetched_at,
                flags=flags,
                path=path,
            )
            try:
                _write_file(path, result)
            except OSError as exc:
                raise PriceCacheError(
                    self.directory,
                    f"cannot write {path.name}: {_os_reason(exc)}",
                    "free some space or make the folder writable, or choose another cache "
                    "folder with --cache-dir",
                ) from exc
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
                "choose another cache folder with --cache-dir",
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
        except OSError as exc:  # a read-only folder, a full disk
            raise PriceCacheError(
                self.directory,
                f"cannot create the lock file of {ticker}: {_os_reason(exc)}",
                "make the folder writable, or choose another cache folder with --cache-dir",
            ) from exc
        try:
            yield
        finally:
            lock.release()


def merge_series(
    current: CachedSeries | None,
    ticker: str,
    frame: pd.DataFrame,
    *,
    covered: Sequence[DateRange],
    source: str,
    adjustment: str,
    fetched_at: dt.datetime,
    flags: Sequence[ReturnFlag] = (),
    path: Path = Path(),
) -> CachedSeries:
    """``current`` with ``frame``'s rows and flags (they win on their dates) and ``covered``
    merged in: what :meth:`PriceCache.store` writes, and what is served when it cannot write."""
    new = _normalise(frame)
    fresh = set(new.index.date)
    kept = [f for f in (current.flags if current else ()) if f.date not in fresh]
    merged = tuple(sorted({f.date: f for f in [*kept, *flags]}.values(), key=lambda f: f.date))
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
    return CachedSeries(
        ticker=ticker,
        frame=rows,
        source=source,
        adjustment=adjustment,
        fetched_at=fetched,
        covered=cover,
        fetches=tuple(fetches[-_HISTORY:]),
        path=path,
        flags=merged,
    )


def _os_reason(exc: OSError) -> str:
    """An OS error in words, e.g. ``No space left on device``."""
    return exc.strerror or str(exc) or type(exc).__name__


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
        "flags": [[f.date.isoformat(), f.reason] for f in series.flags],
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
        why = re.sub(r"^Could not open Parquet input source '[^']*': ", "", str(exc))
        raise _Unreadable(f"not a readable Parquet file: {why}") from exc
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
        flags = tuple(
            ReturnFlag(dt.date.fromisoformat(d), str(why)) for d, why in meta.get("flags", [])
        )
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
        flags=flags,
    )
