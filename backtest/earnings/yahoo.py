"""Earnings calendars from Yahoo Finance through yfinance, cached on disk.

With :mod:`backtest.prices`, the only module of evbt that imports yfinance (lazily, on the first
fetch). It follows the price layer's conventions:

* **Cache.** One JSON file per ticker, ``<cache>/<TICKER>.json`` (``_GSPC.json`` for
  ``^GSPC``) in ``earnings/`` of the price cache folder (:func:`earnings_cache_dir`), written
  atomically (:mod:`backtest.atomic`), holding the calendar's rows with its provenance
  (yfinance's version and the call made) and the fetch time. A calendar younger than
  a day is served from the cache; an older one is fetched again. An unreadable cache file is
  fetched again (and said so); a cache that cannot be written is said so and the fetched
  calendar still used.
* **Offline first.** Before fetching, one bounded connection probe asks whether Yahoo can be
  reached at all (the price layer's :func:`~backtest.prices.yahoo.yahoo_reachable`); when it
  cannot, every ticker fails at once as offline (a stale cached calendar is used instead, and
  said so), within seconds.
* **Retries.** A rate-limited or dropped request is asked again, up to ``max_attempts`` calls
  in all, after ``backoff * 2**k`` seconds (``sleep`` is injectable: tests never sleep).
* **Per-ticker failures** with a reason and what to do; yfinance's own log messages are
  collected for the duration of each call (in the calling thread) instead of printed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from backtest.atomic import write_text
from backtest.earnings.calendar import SOURCE_NAME, EarningsRow, rows_from_frame
from backtest.errors import CatalogProblem
from backtest.prices.base import file_stem
from backtest.prices.yahoo import RETRYABLE, classify, yahoo_reachable

#: The marker of an evbt earnings cache file.
FORMAT = "evbt-earnings-cache/1"
#: A cached calendar older than this is fetched again.
MAX_AGE = dt.timedelta(days=1)
#: Rows asked of Yahoo per ticker (yfinance's cap): about 25 years of quarters.
LIMIT = 100
COLUMNS = ("EPS Estimate", "Reported EPS", "Surprise(%)")

HINTS = {
    "unknown_ticker": (
        "check the ticker as Yahoo spells it (e.g. 'BRK-B'); funds and indices have no earnings"
    ),
    "empty": "Yahoo lists no earnings dates for it (funds and indices have none)",
    "rate_limited": (
        "Yahoo is limiting requests from this machine: wait a few minutes and run again"
    ),
    "offline": "check the network connection, or import saved calendars with --from",
    "error": "run again; if it persists, Yahoo's page may have changed: report it",
}

Progress = Callable[[int, int], None]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def earnings_cache_dir(price_cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the calendars are kept: ``earnings/`` inside the price cache folder.

    ``price_cache_dir`` is the price cache folder as :class:`~backtest.prices.PriceCache`
    takes it (``None``: its default, ``platformdirs.user_cache_dir("evbt")/prices``), so that
    every command that names the same price cache (``--cache-dir``, ``$EVBT_CACHE_DIR``, a
    run's ``[prices] cache_dir``, or none) shares one earnings cache.
    """
    from backtest.prices.store import PriceCache

    return PriceCache(Path(price_cache_dir) if price_cache_dir else None).directory / "earnings"


@dataclass(frozen=True)
class CachedCalendar:
    """One ticker's earnings calendar as fetched, with its provenance.

    ``rows`` are ``(stamp, eps_estimate, eps_reported, surprise_pct)`` with the stamp as ISO
    text with its UTC offset and ``None`` for a missing figure; ``problems`` the fetched rows
    left out (no time stamp, a figure not a number), kept so that a cached calendar still says
    them.
    """

    ticker: str
    fetched_at: dt.datetime
    source: str
    rows: tuple[tuple[str, float | None, float | None, float | None], ...]
    #: rows of the fetched frame left out, as ``(position, what is wrong)`` (1-based)
    problems: tuple[tuple[int, str], ...] = ()

    @classmethod
    def from_frame(
        cls, ticker: str, frame: pd.DataFrame, fetched_at: dt.datetime, source: str
    ) -> CachedCalendar:
        """From a ``get_earnings_dates()`` frame (checked by :func:`rows_from_frame`)."""
        problems: list[CatalogProblem] = []
        rows = rows_from_frame(frame, ticker, source, problems)
        return cls(
            ticker,
            fetched_at,
            source,
            tuple(
                (r.stamp.isoformat(), r.eps_estimate, r.eps_reported, r.surprise_pct) for r in rows
            ),
            tuple((p.line, p.message) for p in problems),
        )

    def age(self, now: dt.datetime) -> dt.timedelta:
        return now - self.fetched_at

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "ticker": self.ticker,
                "source": self.source,
                "fetched_at": self.fetched_at.isoformat(),
                "columns": ["Earnings Date", *COLUMNS],
                "rows": [list(r) for r in self.rows],
                "problems": [list(p) for p in self.problems],
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> CachedCalendar:
        """Raises ValueError (with the reason) when ``text`` is not an evbt cache file."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not an evbt earnings cache file (no format {FORMAT!r})")
        try:
            fetched = dt.datetime.fromisoformat(data["fetched_at"])
            rows = []
            for stamp, *figures in data["rows"]:
                pd.Timestamp(stamp)  # raises on a bad stamp
                rows.append((str(stamp), *(_figure(f) for f in figures)))
            if fetched.tzinfo is None or any(len(r) != 4 for r in rows):
                raise ValueError("bad fetch time or row")
            problems = tuple((int(line), str(what)) for line, what in data.get("problems", []))
            return cls(
                str(data["ticker"]),
                fetched,
                str(data["source"]),
                tuple(rows),  # type: ignore[arg-type]
                problems,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed ({exc})") from None

    @property
    def display(self) -> str:
        """How rows and problems name the calendar: ``TICKER (Yahoo, fetched DAY)``."""
        return f"{self.ticker} (Yahoo, fetched {self.fetched_at.date().isoformat()})"

    def earnings_rows(self) -> list[EarningsRow]:
        """The rows, each numbered by its position in the fetched calendar."""
        day = self.fetched_at.date().isoformat()
        source = f"{SOURCE_NAME} ({self.source}), fetched {day}"
        left_out = {line for line, _ in self.problems}
        lines = (n for n in itertools.count(1) if n not in left_out)
        return [
            EarningsRow(
                ticker=self.ticker,
                stamp=pd.Timestamp(stamp),
                has_time=True,
                eps_estimate=est,
                eps_reported=rep,
                surprise_pct=sur,
                file=self.display,
                line=line,
                source=source,
            )
            for line, (stamp, est, rep, sur) in zip(lines, self.rows, strict=False)
        ]

    def row_problems(self) -> list[CatalogProblem]:
        """The fetched rows left out, as problems (``TICKER (Yahoo, fetched DAY):ROW``)."""
        return [CatalogProblem(self.display, line, "", "", what) for line, what in self.problems]


def _figure(v: object) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"bad figure {v!r}")
    return float(v)


class EarningsCache:
    """The folder of cached earnings calendars (see the module docstring); default
    :func:`earnings_cache_dir` of the default price cache."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else earnings_cache_dir()

    def __repr__(self) -> str:
        return f"EarningsCache({str(self.directory)!r})"

    def path(self, ticker: str) -> Path:
        return self.directory / f"{file_stem(ticker)}.json"

    def read(self, ticker: str) -> tuple[CachedCalendar | None, str | None]:
        """The cached calendar, or ``(None, None)`` when there is none, or ``(None, why)``
        when the file cannot be used."""
        path = self.path(ticker)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, None
        except (OSError, UnicodeDecodeError) as exc:
            return None, f"the cached calendar {path} cannot be read ({exc})"
        try:
            cal = CachedCalendar.from_json(text)
        except ValueError as exc:
            return None, f"the cached calendar {path} is unusable: {exc}"
        if cal.ticker != ticker:
            return None, f"the cached calendar {path} is {cal.ticker}'s, not {ticker}'s"
        return cal, None

    def write(self, cal: CachedCalendar) -> str | None:
        """Store ``cal``; ``None``, or why it could not be stored (the fetch still counts)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_text(self.path(cal.ticker), cal.to_json() + "\n")
        except OSError as exc:
            return f"could not store it in the cache {self.directory} ({exc.strerror or exc})"
        return None


@dataclass
class FetchOutcome:
    """Calendars by ticker, the tickers that failed (with the reason), and notes."""

    calendars: dict[str, CachedCalendar] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Failure(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class EarningsSource:
    """Earnings calendars from Yahoo (``Ticker.get_earnings_dates(limit=100)``), cached.

    Parameters
    ----------
    cache:
        Where calendars are kept; default :class:`EarningsCache` in the default price cache.
    ticker_factory:
        ``ticker_factory(symbol)`` returns an object with ``get_earnings_dates(limit=...)``;
        default ``yfinance.Ticker``. Tests pass a fake.
    reachable:
        The offline probe; default the price layer's :func:`yahoo_reachable`.
    probe_timeout:
        Seconds the probe may take before Yahoo counts as unreachable.
    sleep, clock:
        The pause between attempts and the current UTC time (injectable).
    max_attempts, backoff:
        Calls per ticker in all, and the seconds before the second (doubled after).
    max_age:
        A cached calendar older than this is fetched again.
    threads:
        Tickers fetched at once.
    """

    def __init__(
        self,
        *,
        cache: EarningsCache | None = None,
        ticker_factory: Callable[[str], Any] | None = None,
        reachable: Callable[[], bool] | None = None,
        probe_timeout: float = 3.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], dt.datetime] = utc_now,
        max_attempts: int = 3,
        backoff: float = 2.0,
        max_age: dt.timedelta = MAX_AGE,
        threads: int = 4,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.cache = cache or EarningsCache()
        self._factory = ticker_factory
        self.reachable = reachable or yahoo_reachable
        self.probe_timeout = probe_timeout
        self.sleep = sleep
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_age = max_age
        self.threads = max(1, threads)

    def __repr__(self) -> str:
        return f"EarningsSource(cache={self.cache!r}, max_attempts={self.max_attempts})"

    def _ticker_factory(self) -> Callable[[str], Any]:
        if self._factory is None:
            import yfinance as yf

            self._factory = yf.Ticker
        return self._factory

    def _source_text(self) -> str:
        try:
            version = metadata.version("yfinance")
        except metadata.PackageNotFoundError:  # pragma: no cover - yfinance is a dependency
            version = "?"
        return f"yfinance {version} Ticker.get_earnings_dates(limit={LIMIT})"

    def fetch(self, tickers: Sequence[str], *, progress: Progress | None = None) -> FetchOutcome:
        """The calendar of every ticker: from the cache when fresh, else fetched (and stored)."""
        out = FetchOutcome()
        now = self.clock()
        stale: dict[str, CachedCalendar] = {}
        todo: list[str] = []
        for t in dict.fromkeys(tickers):
            cal, why = self.cache.read(t)
            if why is not None:
                out.notes.append(f"{t}: {why}; fetched again")
            if cal is not None and cal.age(now) <= self.max_age:
                out.calendars[t] = cal
            else:
                if cal is not None:
                    stale[t] = cal
                todo.append(t)
        total = len(todo)
        if not todo:
            return out
        if not _bounded(self.reachable, self.probe_timeout):
            for t in todo:
                self._fail_or_stale(t, "offline", "Yahoo Finance cannot be reached", stale, out)
            return out
        done = 0
        lock = threading.Lock()
        source = self._source_text()

        def one(t: str) -> None:
            nonlocal done
            try:
                cal = self._fetch_one(t, source)
            except _Failure as f:
                with lock:
                    self._fail_or_stale(t, f.kind, f.reason, stale, out)
            else:
                problem = self.cache.write(cal)
                with lock:
                    out.calendars[t] = cal
                    if problem:
                        out.notes.append(f"{t}: {problem}")
            with lock:
                done += 1
                if progress is not None:
                    progress(done, total)

        if self.threads == 1 or len(todo) == 1:
            for t in todo:
                one(t)
        else:
            with ThreadPoolExecutor(max_workers=self.threads) as pool:
                list(pool.map(one, todo))
        out.calendars = {t: out.calendars[t] for t in dict.fromkeys(tickers) if t in out.calendars}
        return out

    def _fail_or_stale(
        self,
        ticker: str,
        kind: str,
        reason: str,
        stale: dict[str, CachedCalendar],
        out: FetchOutcome,
    ) -> None:
        old = stale.get(ticker)
        if old is not None and kind in RETRYABLE:
            out.calendars[ticker] = old
            out.notes.append(
                f"{ticker}: {reason}; using the cached calendar fetched "
                f"{old.fetched_at:%Y-%m-%d %H:%M} UTC"
            )
            return
        out.failed[ticker] = f"{reason} ({HINTS.get(kind, HINTS['error'])})"

    def _fetch_one(self, ticker: str, source: str) -> CachedCalendar:
        """One ticker's calendar, asked again after a pause while the failure is retryable."""
        factory = self._ticker_factory()
        for attempt in range(self.max_attempts):
            try:
                with _yfinance_messages() as messages:
                    frame = factory(ticker).get_earnings_dates(limit=LIMIT)
            except Exception as exc:  # yfinance raises many kinds; each is classified
                text = f"{type(exc).__name__}: {exc}"
                kind = classify(text)
                reason = (
                    "Yahoo Finance cannot be reached (the connection failed)"
                    if kind == "offline"
                    else f"Yahoo refused the request ({_one_line(text)})"
                    if kind == "rate_limited"
                    else f"the request failed ({_one_line(text)})"
                )
            else:
                if frame is None or (isinstance(frame, pd.DataFrame) and frame.empty):
                    said = "; ".join(messages) or "no earnings dates found"
                    kind = classify(said)
                    kind = "unknown_ticker" if kind in ("unknown_ticker", "error") else kind
                    if kind not in RETRYABLE:
                        raise _Failure(kind, f"Yahoo has no earnings calendar ({_one_line(said)})")
                    reason = f"Yahoo returned nothing ({_one_line(said)})"
                else:
                    try:
                        return CachedCalendar.from_frame(ticker, frame, self.clock(), source)
                    except ValueError as exc:
                        raise _Failure(
                            "error", f"yfinance returned a calendar of another shape: {exc}"
                        ) from None
            if kind not in RETRYABLE or attempt + 1 >= self.max_attempts:
                suffix = f" after {attempt + 1} attempts" if attempt else ""
                raise _Failure(kind, reason + suffix)
            self.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover


def _bounded(probe: Callable[[], bool], timeout: float) -> bool:
    """``probe()``, or False when it has not answered within ``timeout`` seconds or raised
    (it runs in a daemon thread, so a name lookup that hangs cannot hold the caller)."""
    answer: list[bool] = []

    def run() -> None:
        try:
            answer.append(bool(probe()))
        except Exception:  # a probe that fails says nothing is reachable
            answer.append(False)

    worker = threading.Thread(target=run, name="evbt-earnings-probe", daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(answer and answer[0])


class _Collect(logging.Handler):
    def __init__(self, thread: int) -> None:
        super().__init__(logging.WARNING)
        self.thread = thread
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


@contextmanager
def _yfinance_messages() -> Iterator[list[str]]:
    """yfinance's warnings and errors logged by this thread during the block."""
    logger = logging.getLogger("yfinance")
    handler = _Collect(threading.get_ident())
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
