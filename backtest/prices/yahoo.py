"""Prices from Yahoo Finance through yfinance: the only module of evbt that imports yfinance.

Adjustment policy
-----------------
Every call asks ``yf.download(..., auto_adjust=True, actions=True, repair=False)``: open, high,
low and close are split- **and** dividend-adjusted (each multiplied by Yahoo's adjusted close /
close of the day), volume is as Yahoo reports it. The policy is recorded with every series
(:data:`~backtest.prices.base.ADJUSTMENT_YAHOO`). Adjusted prices depend on the day they were
fetched (a later dividend rescales all earlier prices); the cache checks for that before it
extends a series (see :mod:`backtest.prices.cached`). ``actions=True`` adds yfinance's
``Dividends`` and ``Stock Splits`` columns: a ``Stock Splits`` value that is not a plain split
(a spin-off Yahoo books as a split) becomes a :class:`~backtest.prices.base.ReturnFlag` of the
series, as for the CSVs users save (see :func:`~backtest.prices.quality.is_plain_split`).

How yfinance 1.x reports failures, and how evbt reads them
-----------------------------------------------------------
Established by reading yfinance 1.7's ``multi.py``, ``scrapers/history.py``, ``base.py`` and
``data.py`` and by running the real ``yf.download`` against an emulated Yahoo (a fake HTTP
session; ``EmulatedYahoo`` in ``tests/prices/prices_fakes.py``):

* ``yf.download`` does not raise for a ticker that fails. It catches every per-ticker exception
  (rate limit included), puts an all-NaN frame in its place (columns ``Open, High, Low, Close,
  Adj Close, Volume``) and logs the reason on the ``yfinance`` logger at ERROR, grouped as
  ``"['T1', 'T2']: <reason>"``. Since 1.x the reasons are no longer left in
  ``yfinance.shared._ERRORS`` (each call keeps them in a private context), so evbt reads them
  from the log records emitted during the call, whatever level the user set on the ``yfinance``
  logger (see :func:`_yfinance_messages`: a silenced logger would make every failure look like
  an empty range).
* Unknown ticker: ``possibly delisted; no timezone found`` (or Yahoo's own ``No data found,
  symbol may be delisted``). Known ticker but no rows in the range: ``possibly delisted; no
  price data found (1d START -> END)`` or ``Data doesn't exist for startDate ...``.
* Rate limit: ``YFRateLimitError('Too Many Requests. ...')`` in the grouped reason.
* No network: the transport error when yfinance lets it through (``DNSError(...)``,
  ``Failed to get ticker 'T' reason: Failed to perform, curl: (6) Could not resolve host``,
  ``Cookie/crumb fetch failed (DNSError)``), **but** once the ticker's timezone is in
  yfinance's own cache the same outage reads ``possibly delisted; no price data found``,
  exactly like an empty range. So evbt asks first whether Yahoo's host can be reached at all
  (one TCP connection, bounded by ``probe_timeout`` seconds, DNS included; injectable as
  ``reachable=``; its answer is remembered for a minute): when it cannot, every ticker fails
  at once as ``offline`` with one clean reason and nothing is downloaded, so a machine without
  a network is told so in seconds, not after every retry. When every ticker of a call fails
  and nothing says why, the probe is asked again.
* Offline reasons are reworded (``Yahoo Finance cannot be reached: the host name could not be
  resolved``); yfinance's raw text (curl's) is kept in :attr:`FetchFailure.detail`.

Retries: rate-limited and offline tickers are asked again, up to ``max_attempts`` calls in all,
after ``backoff * 2**k`` seconds (``sleep`` is injectable so that tests never sleep).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from importlib import metadata
from typing import Any

import pandas as pd

from backtest.prices.base import (
    ADJUSTMENT_YAHOO,
    DEFAULT_START,
    FIELDS,
    OFFLINE_HINT,
    FailureKind,
    FetchFailure,
    FetchResult,
    PriceSeries,
    ProgressCallback,
    ReturnFlag,
    SeriesInfo,
    between,
    calendar_of,
    closed_through,
    standard_frame,
    utc_now,
)
from backtest.prices.quality import split_flags

#: The ``download`` callable's signature: ``yf.download`` or a stand-in with the same keywords.
Download = Callable[..., Any]

_PROBE_TTL = 60.0  # seconds a probe's answer is remembered

#: Failure kinds worth asking again after a pause.
RETRYABLE: frozenset[str] = frozenset({"rate_limited", "offline"})

HINTS: Mapping[str, str] = {
    "unknown_ticker": (
        "check the ticker as Yahoo spells it (e.g. 'BRK-B', '0700.HK', '^GSPC'); "
        "a delisted ticker has no data on Yahoo"
    ),
    "empty": "Yahoo has no rows for this range: check the dates (listed later? delisted?)",
    "rate_limited": (
        "Yahoo is limiting requests from this machine: wait a few minutes and run again "
        "(prices already fetched stay in the cache)"
    ),
    "offline": OFFLINE_HINT,
    "error": "run again; if it persists, run with EVBT_DEBUG=1 and report it",
}

# Reasons as yfinance words them (see the module docstring). Order matters: first match wins.
_KIND_PATTERNS: tuple[tuple[FailureKind, re.Pattern[str]], ...] = (
    ("rate_limited", re.compile(r"RateLimit|Too Many Requests|Rate limited|HTTP 429", re.I)),
    (
        "offline",
        re.compile(
            r"DNSError|ConnectionError|ConnectTimeout|ReadTimeout|Timeout|SSLError|ProxyError|"
            r"Could not resolve|Failed to perform|Connection refused|Network is unreachable|"
            r"timed out|curl: \(\d+\)",
            re.I,
        ),
    ),
    (
        "unknown_ticker",
        re.compile(r"no timezone found|symbol may be delisted|Quote not found|TzMissing", re.I),
    ),
    ("empty", re.compile(r"no price data found|Data doesn't exist|PricesMissing", re.I)),
)
_GROUPED = re.compile(r"^\[(?P<tickers>[^\]]*)\]: (?P<msg>.*)\Z", re.S)
_DOLLAR = re.compile(r"^\$(?P<ticker>[^\s:]+): (?P<msg>.*)\Z", re.S)
_TZ_FAIL = re.compile(r"^Failed to get ticker '(?P<ticker>[^']+)' reason: (?P<msg>.*)\Z", re.S)


def classify(message: str) -> FailureKind:
    """The failure kind a yfinance error message stands for (``"error"`` if none matches)."""
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(message):
            return kind
    return "error"


def parse_log(messages: Sequence[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Split yfinance log messages into per-ticker reasons and general ones.

    Returns
    -------
    per_ticker, general:
        Ticker -> the messages naming it; messages naming no ticker (such as
        ``Cookie/crumb fetch failed (DNSError)``).
    """
    per_ticker: dict[str, list[str]] = {}
    general: list[str] = []
    for raw in messages:
        msg = raw.strip()
        if not msg or re.fullmatch(r"\d+ Failed downloads?:", msg):
            continue
        if m := _GROUPED.match(msg):
            names = re.findall(r"'([^']*)'", m["tickers"])
            for t in names:
                per_ticker.setdefault(t, []).append(m["msg"].replace(f"${t}: ", ""))
        elif m := _TZ_FAIL.match(msg) or _DOLLAR.match(msg):
            per_ticker.setdefault(m["ticker"], []).append(m["msg"])
        else:
            general.append(msg)
    return per_ticker, general


def _worst(messages: Sequence[str]) -> tuple[FailureKind, str]:
    """The most telling kind among a ticker's messages, with the message that says it."""
    rank = {k: i for i, (k, _) in enumerate(_KIND_PATTERNS)}
    best: tuple[FailureKind, str] | None = None
    for msg in messages:
        kind = classify(msg)
        if best is None or rank.get(kind, len(rank)) < rank.get(best[0], len(rank)):
            best = (kind, msg)
    return best if best is not None else ("empty", "Yahoo returned no rows")


#: The host the offline probe connects to (yfinance's data host).
YAHOO_HOST = "query2.finance.yahoo.com"

#: The reason of every ticker when the probe finds Yahoo unreachable.
UNREACHABLE = f"Yahoo Finance cannot be reached (no connection to {YAHOO_HOST})"

_OFFLINE_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"resolve|DNS|getaddrinfo|Name or service", re.I),
        "the host name could not be resolved",
    ),
    (re.compile(r"timed out|Timeout", re.I), "the connection timed out"),
    (re.compile(r"refused", re.I), "the connection was refused"),
    (re.compile(r"unreachable", re.I), "the network is unreachable"),
    (re.compile(r"SSL|certificate", re.I), "the secure connection failed"),
    (re.compile(r"Proxy", re.I), "the proxy failed"),
)


def offline_reason(message: str) -> str:
    """A clean reason for an offline failure from yfinance's raw text (no curl jargon).

    >>> offline_reason("Failed to perform, curl: (6) Could not resolve host: query2")
    'Yahoo Finance cannot be reached: the host name could not be resolved'
    """
    for pattern, words in _OFFLINE_WORDS:
        if pattern.search(message):
            return f"Yahoo Finance cannot be reached: {words}"
    return "Yahoo Finance cannot be reached: the connection failed"


def yahoo_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to Yahoo's data host can be opened (the offline probe).

    Only the connection is bounded by ``timeout``; :class:`YahooSource` also bounds the name
    lookup by running the probe in a thread it waits for at most ``probe_timeout`` seconds.
    """
    try:
        with socket.create_connection((YAHOO_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def bounded_probe(probe: Callable[[], bool], timeout: float) -> bool:
    """``probe()``, or ``False`` when it has not answered within ``timeout`` seconds or raised.

    The probe runs in a daemon thread, so a name lookup that hangs (no resolver reachable)
    cannot hold the caller longer than ``timeout``.
    """
    answer: list[bool] = []

    def run() -> None:
        try:
            answer.append(bool(probe()))
        except Exception:  # a probe that fails says nothing is reachable
            answer.append(False)

    worker = threading.Thread(target=run, name="evbt-yahoo-probe", daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(answer and answer[0])


class YahooSource:
    """A :class:`~backtest.prices.base.PriceSource` downloading daily bars with yfinance.

    Parameters
    ----------
    download:
        The function called in place of ``yfinance.download`` (same keywords); default: the
        real one, imported lazily. Tests pass a fake.
    session_factory:
        Makes the HTTP session handed to ``yf.download(session=...)`` for each call; default:
        none (yfinance makes its own).
    reachable:
        The offline probe (see the module docstring); default :func:`yahoo_reachable`.
    probe_timeout:
        Seconds the probe may take before Yahoo is taken as unreachable.
    sleep:
        The pause between attempts (default ``time.sleep``).
    max_attempts:
        Calls per batch in all, first one included (>= 1).
    backoff:
        Seconds before the second attempt; doubled for each further one.
    threads:
        Download threads yfinance may use for a batch.
    timeout:
        Seconds yfinance waits for each HTTP answer.
    batch_size:
        Tickers per ``yf.download`` call.
    clock:
        Current UTC time (decides which sessions have closed; bars of sessions that have not
        closed yet are left out).
    """

    def __init__(
        self,
        *,
        download: Download | None = None,
        session_factory: Callable[[], Any] | None = None,
        reachable: Callable[[], bool] | None = None,
        probe_timeout: float = 3.0,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 3,
        backoff: float = 2.0,
        threads: int = 4,
        timeout: float = 10.0,
        batch_size: int = 50,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._download = download
        self.session_factory = session_factory
        self.reachable = reachable or yahoo_reachable
        self.probe_timeout = probe_timeout
        self._probed: tuple[float, bool] | None = None  # (monotonic time, answer)
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.threads = threads
        self.timeout = timeout
        self.batch_size = batch_size
        self.clock = clock
        try:
            version = metadata.version("yfinance")
        except metadata.PackageNotFoundError:  # pragma: no cover - yfinance is a dependency
            version = "?"
        self.name = f"yahoo (yfinance {version})"

    def __repr__(self) -> str:
        return f"YahooSource(max_attempts={self.max_attempts}, threads={self.threads})"

    # ------------------------------------------------------------------ public

    def fetch(
        self,
        tickers: Sequence[str],
        start: dt.date | None,
        end: dt.date | None,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> FetchResult:
        """Daily bars of ``tickers`` from ``start`` to ``end`` (inclusive), in batches.

        ``start=None`` means 1990-01-01; ``end=None`` means today (unclosed sessions excluded).
        """
        first = start or DEFAULT_START
        last = end or self.clock().date()
        series: dict[str, PriceSeries] = {}
        failed: dict[str, FetchFailure] = {}
        todo = list(dict.fromkeys(tickers))
        if todo and not self.online():
            failed = {
                t: FetchFailure(t, first, last, "offline", UNREACHABLE, OFFLINE_HINT, attempts=0)
                for t in todo
            }
            if on_progress is not None:
                on_progress(len(todo))
            return FetchResult(failed=failed, downloaded=dict.fromkeys(todo, ()))
        for i in range(0, len(todo), self.batch_size):
            batch = todo[i : i + self.batch_size]
            got, bad = self._fetch_with_retries(batch, first, last)
            series.update(got)
            failed.update(bad)
            if on_progress is not None:
                on_progress(len(batch))
        downloaded = dict.fromkeys(todo, ((first, last),))
        return FetchResult(series=series, failed=failed, downloaded=downloaded)

    def online(self, *, fresh: bool = False) -> bool:
        """Whether Yahoo's host can be reached: the probe, answered within ``probe_timeout``.

        An answer is remembered for a minute (``fresh`` asks again), so a request split into
        many calls probes once.
        """
        now = time.monotonic()
        if not fresh and self._probed is not None and now - self._probed[0] < _PROBE_TTL:
            return self._probed[1]
        answer = bounded_probe(self.reachable, self.probe_timeout)
        self._probed = (time.monotonic(), answer)
        return answer

    # ------------------------------------------------------------------ internals

    def _fetch_with_retries(
        self, tickers: list[str], start: dt.date, end: dt.date
    ) -> tuple[dict[str, PriceSeries], dict[str, FetchFailure]]:
        series: dict[str, PriceSeries] = {}
        failed: dict[str, FetchFailure] = {}
        todo = tickers
        for attempt in range(1, self.max_attempts + 1):
            got, bad = self._fetch_once(todo, start, end)
            series.update(got)
            for t in got:
                failed.pop(t, None)
            for t, f in bad.items():
                failed[t] = replace(f, attempts=attempt)
            todo = [t for t, f in bad.items() if f.kind in RETRYABLE]
            if not todo or attempt == self.max_attempts:
                break
            self.sleep(self.backoff * 2 ** (attempt - 1))
        for t, f in failed.items():
            if f.kind in RETRYABLE and f.attempts > 1:
                failed[t] = replace(f, reason=f"{f.reason} (after {f.attempts} attempts)")
        return series, failed

    def _fetch_once(
        self, tickers: list[str], start: dt.date, end: dt.date
    ) -> tuple[dict[str, PriceSeries], dict[str, FetchFailure]]:
        fetched_at = self.clock()

        def fail(t: str, kind: FailureKind, reason: str) -> FetchFailure:
            raw = _one_line(reason)
            if kind == "offline":
                return FetchFailure(
                    t, start, end, kind, offline_reason(raw), HINTS[kind], detail=raw
                )
            return FetchFailure(t, start, end, kind, raw, HINTS.get(kind, ""))

        download = self._download or _real_download()
        with _yfinance_messages(tickers) as messages, warnings.catch_warnings():
            # yfinance's own deprecation noise (pandas 3) is not the user's business
            warnings.filterwarnings("ignore", module=r"yfinance(\..*)?$")
            try:
                frame = download(
                    tickers=list(tickers),
                    start=start.isoformat(),
                    end=(end + dt.timedelta(days=1)).isoformat(),  # yfinance's end is exclusive
                    interval="1d",
                    auto_adjust=True,
                    back_adjust=False,
                    actions=True,
                    repair=False,
                    keepna=False,
                    rounding=False,
                    prepost=False,
                    ignore_tz=True,
                    group_by="column",
                    multi_level_index=True,
                    progress=False,
                    threads=self.threads,
                    timeout=self.timeout,
                    session=self.session_factory() if self.session_factory else None,
                )
            except Exception as exc:  # the whole call failed: every ticker fails the same way
                reason = f"{type(exc).__name__}: {exc}"
                kind = classify(reason)
                return {}, {t: fail(t, kind, reason) for t in tickers}
        try:
            frames = split_download_frame(frame, tickers)
        except ValueError as exc:
            return {}, {
                t: fail(t, "error", f"unexpected answer from yfinance: {exc}") for t in tickers
            }

        splits = download_splits(frame, tickers)
        per_ticker, general = parse_log(messages)
        series: dict[str, PriceSeries] = {}
        failed: dict[str, FetchFailure] = {}
        for t in tickers:
            rows = self._closed_rows(t, frames.get(t), start, end)
            if rows is not None and len(rows):
                info = SeriesInfo(
                    ticker=t,
                    source=self.name,
                    fetched_at=fetched_at,
                    adjustment=ADJUSTMENT_YAHOO,
                    first=rows.index.min().date(),
                    last=rows.index.max().date(),
                    rows=len(rows),
                )
                lo, hi = rows.index.min().date(), rows.index.max().date()
                flags = tuple(f for f in splits.get(t, ()) if lo <= f.date <= hi)
                series[t] = PriceSeries(t, rows, info, flags=flags)
                continue
            kind, reason = _worst(per_ticker.get(t, []))
            failed[t] = fail(t, kind, reason)
        if not series and failed and not any(f.kind in RETRYABLE for f in failed.values()):
            # Everything failed and nothing says it was the network: ask (see module docstring).
            evidence = [m for m in general if classify(m) == "offline"]
            if evidence or not self.online(fresh=True):
                why = evidence[0] if evidence else UNREACHABLE
                failed = {t: fail(t, "offline", why) for t in failed}
        return series, failed

    def _closed_rows(
        self, ticker: str, frame: pd.DataFrame | None, start: dt.date, end: dt.date
    ) -> pd.DataFrame | None:
        """The ticker's rows inside [start, end], without bars of sessions still open."""
        if frame is None:
            return None
        calendar = calendar_of(ticker)
        last = end if calendar is None else min(end, closed_through(calendar, self.clock()))
        return between(frame, start, last)


def split_download_frame(frame: object, tickers: Sequence[str]) -> dict[str, pd.DataFrame]:
    """One standard price frame per ticker from a ``yf.download`` answer.

    The answer must have the yfinance 1.x shape: a DataFrame with two column levels named
    ``Price`` and ``Ticker``. Rows where every price is NaN (yfinance fills a failed ticker, or
    a ticker without a bar on another ticker's session, with NaN) are dropped; a ticker with no
    row left is absent from the result.

    Raises
    ------
    ValueError
        The answer does not have that shape.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"expected a DataFrame, got {type(frame).__name__}")
    cols = frame.columns
    if (
        not isinstance(cols, pd.MultiIndex)
        or "Ticker" not in cols.names
        or "Price" not in cols.names
    ):
        raise ValueError(
            f"expected columns with levels ('Price', 'Ticker'), got {list(cols.names)}"
        )
    present = set(cols.get_level_values("Ticker"))
    out: dict[str, pd.DataFrame] = {}
    for t in tickers:
        if t not in present:
            continue
        sub = frame.xs(t, axis=1, level="Ticker")
        sub = sub.rename(columns={c: str(c).lower() for c in sub.columns})
        std = standard_frame(sub)
        std = std[std[["open", "high", "low", "close"]].notna().any(axis=1)]
        if len(std):
            out[t] = std[list(FIELDS)]
    return out


def download_splits(
    frame: pd.DataFrame, tickers: Sequence[str]
) -> dict[str, tuple[ReturnFlag, ...]]:
    """The :class:`~backtest.prices.base.ReturnFlag` of each ticker from the ``Stock Splits``
    columns of a ``yf.download(..., actions=True)`` answer (none where the column is absent)."""
    if "Stock Splits" not in frame.columns.get_level_values("Price"):
        return {}
    block = frame["Stock Splits"]
    day = pd.DatetimeIndex(block.index).to_numpy(dtype="datetime64[D]")
    out: dict[str, tuple[ReturnFlag, ...]] = {}
    for t in tickers:
        if t in block.columns:
            ratios = pd.to_numeric(block[t], errors="coerce").to_numpy(dtype="float64")
            found = split_flags(day, ratios)
            if found:
                out[t] = found
    return out


class _CallMessages(logging.Handler):
    """Keeps the yfinance records of one ``download`` call (see :func:`_yfinance_messages`)."""

    def __init__(self, tickers: Sequence[str]) -> None:
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.tickers = tuple(tickers)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.thread == self.thread or any(
            f"'{t}'" in message or f"${t}:" in message for t in self.tickers
        ):
            self.messages.append(message)


class _Gate(logging.Filter):
    """Sits on the yfinance logger while evbt has lowered its level to WARNING (the user had
    set it higher, or disabled the logger): hands every record to the collecting handlers, then
    lets it through to the others only if the user's own setting would have let it through."""

    def __init__(self, logger: logging.Logger, threshold: int, disabled: bool) -> None:
        super().__init__()
        self.logger = logger
        self.threshold = threshold
        self.disabled = disabled

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.disabled and record.levelno >= self.threshold:
            return True  # the user would have seen it: the handlers (ours included) get it
        # the filters after this one have not run yet: run them as the logger would have
        after = self.logger.filters[self.logger.filters.index(self) + 1 :]
        for f in after:
            check: Callable[[logging.LogRecord], object] = f.filter if hasattr(f, "filter") else f
            if not check(record):
                return False
        for handler in list(_CAPTURE.handlers):
            if record.levelno >= handler.level:
                handler.handle(record)
        return False


class _Capture:
    """The state shared by every :func:`_yfinance_messages` block (all threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.handlers: list[_CallMessages] = []
        self.saved: tuple[int, bool] | None = None  # the logger's level and disabled flag
        self.gate: _Gate | None = None


_CAPTURE = _Capture()


@contextmanager
def _yfinance_messages(tickers: Sequence[str]) -> Iterator[list[str]]:
    """Collect the messages yfinance logs at WARNING and above for this call only.

    The handler sits on the yfinance logger only while the block runs (it is removed however
    the block ends) and keeps only this call's records: those of the calling thread (yfinance
    logs every per-ticker failure of a ``download`` there, at its end) and those of its worker
    threads that name one of this call's tickers. Another thread's concurrent call therefore
    never sees this call's messages, nor this call its. While the handler is there, Python's
    last-resort handler does not print yfinance's messages on standard error: evbt reports
    them in its own words.

    The records are read whatever the user set the logger to: a yfinance logger silenced
    (``setLevel(logging.CRITICAL)``, ``disabled = True``) would make every failure look like
    an empty range. While at least one block runs, the logger's level is lowered to WARNING
    and a filter (:class:`_Gate`) hands the records to the blocks' handlers and keeps from
    every other handler those the user's setting would have dropped; the last block to end
    restores the level and the flag. (A global ``logging.disable`` is left alone.)
    """
    handler = _CallMessages(tickers)
    logger = logging.getLogger("yfinance")
    with _CAPTURE.lock:
        if not _CAPTURE.handlers:
            _CAPTURE.saved = (logger.level, logger.disabled)
            threshold = logger.getEffectiveLevel()
            if logger.disabled or threshold > logging.WARNING:
                _CAPTURE.gate = _Gate(logger, threshold, logger.disabled)
                logger.addFilter(_CAPTURE.gate)
                logger.disabled = False
                logger.setLevel(logging.WARNING)
        _CAPTURE.handlers.append(handler)
        logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        with _CAPTURE.lock:
            logger.removeHandler(handler)
            _CAPTURE.handlers.remove(handler)
            if not _CAPTURE.handlers:
                if _CAPTURE.gate is not None and _CAPTURE.saved is not None:
                    logger.removeFilter(_CAPTURE.gate)
                    logger.setLevel(_CAPTURE.saved[0])
                    logger.disabled = _CAPTURE.saved[1]
                _CAPTURE.gate = None
                _CAPTURE.saved = None


def _real_download() -> Download:
    import yfinance as yf

    download: Download = yf.download
    return download


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
