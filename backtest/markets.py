"""Markets: which exchange a ticker trades on, its calendar and its default benchmark.

Tickers are spelled the way Yahoo Finance spells them. The market is inferred from the suffix
(``0700.HK`` trades in Hong Kong, ``META`` without a suffix in New York) or, for index tickers
(``^GSPC``, ``^HSI``), from a table of known indices. Trading sessions always come from the
``exchange_calendars`` package (``XNYS``, ``XHKG``, ...): no weekday arithmetic and no
hand-written holiday lists anywhere in evbt.

Examples
--------
>>> market_of("0700.HK").code
'XHKG'
>>> market_of("META").default_benchmark
'SPY'
>>> market_of("^HSI").code
'XHKG'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from backtest.errors import InvalidTickerError, UnknownMarketError

if TYPE_CHECKING:
    import exchange_calendars as xcals

#: First day every calendar evbt builds covers. exchange_calendars defaults to twenty years
#: back from today, which would make old events fail depending on the day the code runs.
CALENDAR_START = "1990-01-01"


@dataclass(frozen=True)
class Market:
    """An exchange evbt can align events and prices to.

    Attributes
    ----------
    code:
        The exchange_calendars name (ISO 10383 MIC), e.g. ``"XNYS"``.
    name:
        Human-readable name.
    suffixes:
        Yahoo ticker suffixes that trade there (``""`` means no suffix).
    default_benchmark:
        The ticker abnormal returns are measured against by default.
    timezone:
        The exchange's IANA timezone.
    """

    code: str
    name: str
    suffixes: tuple[str, ...]
    default_benchmark: str
    timezone: str


MARKETS: dict[str, Market] = {
    m.code: m
    for m in (
        Market("XNYS", "New York (NYSE, Nasdaq)", ("",), "SPY", "America/New_York"),
        Market("XHKG", "Hong Kong", (".HK",), "^HSI", "Asia/Hong_Kong"),
        Market("XTKS", "Tokyo", (".T",), "^N225", "Asia/Tokyo"),
        Market("XLON", "London", (".L",), "^FTSE", "Europe/London"),
        Market("XSHG", "Shanghai and Shenzhen", (".SS", ".SZ"), "000001.SS", "Asia/Shanghai"),
        Market("XETR", "Frankfurt (Xetra)", (".DE",), "^GDAXI", "Europe/Berlin"),
        Market("XTSE", "Toronto", (".TO",), "^GSPTSE", "America/Toronto"),
    )
}

#: Index tickers (Yahoo's ``^`` prefix) and the exchange whose sessions they follow.
INDEX_MARKETS: dict[str, str] = {
    **dict.fromkeys(
        ("^GSPC", "^IXIC", "^DJI", "^NDX", "^RUT", "^VIX", "^SOX", "^NYA", "^SP500TR", "^W5000"),
        "XNYS",
    ),
    "^HSI": "XHKG",
    "^HSCE": "XHKG",
    "^HSTECH": "XHKG",
    "^N225": "XTKS",
    "^FTSE": "XLON",
    "^GDAXI": "XETR",
    "^GSPTSE": "XTSE",
}

_SUFFIX_MARKET = {s: m.code for m in MARKETS.values() for s in m.suffixes}

#: The longest ticker evbt accepts. Yahoo's symbols are short (``BRK-B``, ``0700.HK``,
#: ``^SP500TR``, ``000001.SS``); the limit keeps a ticker usable as a file name everywhere.
MAX_TICKER_LENGTH = 20
_TICKER_RE = re.compile(r"^\^?[A-Z0-9][A-Z0-9&\-]*(\.[A-Z]{1,3})?$")


def check_ticker(ticker: object) -> str:
    """Return ``ticker`` if it is spelled like a Yahoo ticker, else raise InvalidTickerError.

    Yahoo tickers are upper case letters and digits, optionally with ``-`` or ``&``
    (``BRK-B``), a ``^`` prefix for indices and a ``.XX`` exchange suffix (``0700.HK``), at
    most :data:`MAX_TICKER_LENGTH` characters in all.

    >>> check_ticker("BRK-B")
    'BRK-B'
    >>> check_ticker("X" * 252)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    backtest.errors.InvalidTickerError: ticker 'XXXXXXXXXXXXXXXXXXXX...': is 252 characters ...
    """
    if not isinstance(ticker, str):
        raise InvalidTickerError(str(ticker), "a ticker must be a text such as 'META' or '0700.HK'")
    if ticker != ticker.strip():
        raise InvalidTickerError(ticker, "remove the surrounding spaces")
    if not ticker:
        raise InvalidTickerError(ticker, "a ticker cannot be empty")
    if len(ticker) > MAX_TICKER_LENGTH:
        raise InvalidTickerError(
            f"{ticker[:MAX_TICKER_LENGTH]}...",
            f"is {len(ticker)} characters long; Yahoo tickers have at most "
            f"{MAX_TICKER_LENGTH} (e.g. 'META', 'BRK-B', '0700.HK', '^GSPC')",
        )
    if ticker != ticker.upper() and _TICKER_RE.match(ticker.upper()):
        raise InvalidTickerError(
            ticker, f"tickers are upper case as Yahoo spells them: write {ticker.upper()!r}"
        )
    if not _TICKER_RE.match(ticker):
        raise InvalidTickerError(
            ticker,
            "not a Yahoo ticker (expected upper case letters and digits, optionally '-', "
            "a leading '^' for an index and an exchange suffix such as '.HK', e.g. 'META', "
            "'0700.HK', '^GSPC')",
        )
    return ticker


def market_of(ticker: str) -> Market:
    """The market a ticker trades on, inferred from its Yahoo spelling.

    Raises
    ------
    InvalidTickerError
        The ticker is not spelled like a Yahoo ticker.
    UnknownMarketError
        The suffix or index is not one evbt knows.
    """
    known = _MARKET_OF.get(ticker) if isinstance(ticker, str) else None
    if known is not None:
        return known
    check_ticker(ticker)
    market = _infer_market(ticker)
    if len(_MARKET_OF) < 100_000:  # a bound, not a working set: tickers are few
        _MARKET_OF[ticker] = market
    return market


_MARKET_OF: dict[str, Market] = {}  # valid tickers seen, and their market (markets never change)


def _infer_market(ticker: str) -> Market:
    if ticker.startswith("^"):
        code = INDEX_MARKETS.get(ticker)
        if code is None:
            known = ", ".join(sorted(INDEX_MARKETS))
            raise UnknownMarketError(
                ticker, f"unknown index, so its market cannot be inferred (known indices: {known})"
            )
        return MARKETS[code]
    suffix = ticker[ticker.rfind(".") :] if "." in ticker else ""
    code = _SUFFIX_MARKET.get(suffix)
    if code is None:
        known = ", ".join(f"{s or '(no suffix)'} -> {c}" for s, c in sorted(_SUFFIX_MARKET.items()))
        raise UnknownMarketError(ticker, f"unknown exchange suffix {suffix!r} (supported: {known})")
    return MARKETS[code]


@cache
def get_calendar(code: str) -> xcals.ExchangeCalendar:
    """The exchange calendar for a market code, covering 1990 (or the first day
    exchange_calendars can evaluate it, e.g. 1997 for Tokyo) to a year from today.

    Calendars are immutable once built, so one instance per code is shared (built lazily).
    Building one takes 0.2-0.3 s (exchange_calendars evaluates its holiday rules over 37
    years); with :func:`keep_calendars_in` set, a calendar built today is read back from disk.
    """
    if code not in MARKETS:
        raise UnknownMarketError(code, f"unknown market code (known: {', '.join(MARKETS)})")
    kept = _kept_calendar(code)
    if kept is not None:
        return kept
    cal = _build_calendar(code)
    _keep_calendar(code, cal)
    return cal


def _build_calendar(code: str) -> xcals.ExchangeCalendar:
    import exchange_calendars as xcals

    try:
        return xcals.get_calendar(code, start=CALENDAR_START)
    except ValueError:  # some calendars can be evaluated only from a later day (Tokyo: 1997)
        bound = xcals.get_calendar(code).bound_min()
        if bound is None:  # pragma: no cover - the error was about something else
            raise
        return xcals.get_calendar(code, start=bound)


_calendar_dir: Path | None = None  # where built calendars are kept between processes


def keep_calendars_in(folder: Path | None) -> None:
    """Keep the calendars this process builds in ``folder`` and read them back in later
    processes of the same day (the command line sets the user's cache folder; ``None``:
    build them in every process, the default for Python callers).

    A kept calendar is the pickled ``ExchangeCalendar`` that exchange_calendars built, named
    by market code, exchange_calendars and pandas versions, first day and the day it was
    built (its last session is a year from that day, so a calendar is rebuilt daily). A file
    that cannot be read or is not that market's calendar is rebuilt and replaced; writes are
    atomic. The folder is the user's own cache, trusted like numba's cache of compiled code.
    """
    global _calendar_dir
    _calendar_dir = None if folder is None else Path(folder)
    get_calendar.cache_clear()


def _calendar_file(code: str) -> Path | None:
    if _calendar_dir is None:
        return None
    import datetime as dt

    import exchange_calendars as xcals
    import pandas as pd

    versions = f"{getattr(xcals, '__version__', '0')}-{pd.__version__}"
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return _calendar_dir / f"{code}-{versions}-{CALENDAR_START}-{today}.pickle"


def _kept_calendar(code: str) -> xcals.ExchangeCalendar | None:
    path = _calendar_file(code)
    if path is None or not path.is_file():
        return None
    import pickle

    import exchange_calendars as xcals

    try:
        cal = pickle.loads(path.read_bytes())
    except Exception:  # a damaged file: rebuilt and replaced
        return None
    ok = isinstance(cal, xcals.ExchangeCalendar) and cal.name == code
    return cal if ok else None


def _keep_calendar(code: str, cal: xcals.ExchangeCalendar) -> None:
    path = _calendar_file(code)
    if path is None:
        return
    import pickle

    from backtest.atomic import write_bytes

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, pickle.dumps(cal, protocol=pickle.HIGHEST_PROTOCOL), fsync=False)
        for old in path.parent.glob(f"{code}-*.pickle"):  # earlier days' and versions'
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:  # a read-only or full cache: the calendar is built again next time
        return
