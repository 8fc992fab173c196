"""The price-source interface and the small typed objects every part of the price layer shares.

A *price source* turns ``(tickers, start, end)`` into a :class:`FetchResult`: the series it got,
and a :class:`FetchFailure` with a reason for every ticker it could not get. A source never
returns an empty frame posing as data and never raises for one bad ticker in a batch; it raises
only for problems that concern the whole call and that a user must fix (a prices directory that
does not exist, for instance).

Conventions every source follows
--------------------------------
* ``start`` and ``end`` are **inclusive** calendar dates (``datetime.date``).
* A series frame is indexed by a tz-naive ``DatetimeIndex`` named ``date`` holding session dates
  (midnight), with the float64 columns :data:`FIELDS` (``open, high, low, close, volume``).
* Rows come *as the source gave them*: a source does not sort, de-duplicate or repair, so that
  the quality checks (:mod:`backtest.prices.quality`) can report what was really there.
* Every series carries a :class:`SeriesInfo`: where it came from, when, and how it was adjusted.

Writing your own source
-----------------------
Any object with a ``name`` attribute and a ``fetch`` method of the signature of
:meth:`PriceSource.fetch` is a source (a :class:`typing.Protocol`; no base class needed)::

    class MyVendor:
        name = "myvendor"

        def fetch(self, tickers, start, end, *, on_progress=None):
            ...
            return FetchResult(series={...}, failed={...})

    panel = load_prices(["META"], "2024-01-01", "2024-12-31", source=MyVendor())
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, get_args, runtime_checkable

import numpy as np
import pandas as pd

from backtest.errors import (
    EmptyPriceDataError,
    InvalidDateError,
    InvalidTickerError,
    PriceDataError,
    PriceSourceOfflineError,
    RateLimitedError,
    UnknownTickerError,
)
from backtest.markets import CALENDAR_START

if TYPE_CHECKING:
    import exchange_calendars as xcals

#: Start used when none is given: the first day evbt's exchange calendars cover.
DEFAULT_START = dt.date.fromisoformat(CALENDAR_START)

#: The columns of every price frame, in this order.
FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
#: The price columns (everything but volume).
PRICE_FIELDS: tuple[str, ...] = ("open", "high", "low", "close")

#: Adjustment policy of the Yahoo source, recorded with every series it fetches.
ADJUSTMENT_YAHOO = (
    "split- and dividend-adjusted (yfinance auto_adjust=True: open, high, low and close are "
    "scaled by Yahoo's adjusted close / close of the day; volume as reported)"
)
#: Default adjustment recorded for evbt-shaped CSV files, unless the user declares another.
ADJUSTMENT_CSV_DEFAULT = "as provided by the file (assumed split- and dividend-adjusted)"
#: Adjustment of a CSV saved from ``yf.Ticker(t).history()`` (``auto_adjust=True``).
ADJUSTMENT_HISTORY = (
    "split- and dividend-adjusted by Yahoo (a saved Ticker.history(), auto_adjust=True: open, "
    "high, low and close as in the file; volume as in the file)"
)
#: Adjustment of a CSV with ``Adj Close`` (``auto_adjust=False``).
ADJUSTMENT_ADJ_CLOSE = (
    "returns from Adj Close (split- and dividend-adjusted; a saved auto_adjust=False frame): "
    "close = Adj Close, and open, high and low scaled by Adj Close / Close of the same day; "
    "volume as in the file"
)

#: What to do when the price source cannot be reached (said once, however many tickers failed).
OFFLINE_HINT = (
    "check the network connection, or work offline from CSV files with --prices-dir DIR "
    "(one file per ticker)"
)

#: How a fetch can fail. ``unknown_ticker``: the source does not know the ticker;
#: ``empty``: it knows it but has no rows in the range; ``rate_limited``: it refused because of
#: too many requests; ``offline``: it could not be reached; ``unusable``: the rows it gave cannot
#: be used (see the quality report); ``error``: anything else (a malformed file, a bug upstream).
FailureKind = Literal["unknown_ticker", "empty", "rate_limited", "offline", "unusable", "error"]
FAILURE_KINDS: tuple[str, ...] = get_args(FailureKind)

#: Called by a source with the number of tickers it has just finished (for progress bars).
ProgressCallback = Callable[[int], None]

_ERROR_CLASS: dict[str, type[PriceDataError]] = {
    "unknown_ticker": UnknownTickerError,
    "empty": EmptyPriceDataError,
    "rate_limited": RateLimitedError,
    "offline": PriceSourceOfflineError,
}


@dataclass(frozen=True)
class FetchFailure:
    """Why a ticker (or part of its range) could not be fetched.

    Attributes
    ----------
    ticker:
        The ticker.
    start, end:
        The inclusive range that could not be had.
    kind:
        One of :data:`FAILURE_KINDS`.
    reason:
        What the source said, in words.
    hint:
        What the user can try.
    attempts:
        How many times the source was asked (0: never, it could not be reached).
    detail:
        The source's own words when ``reason`` rewords them (e.g. a transport error's raw
        text), for debugging; empty otherwise.
    note:
        What happened on the way, as :attr:`SeriesInfo.note` (the ticker's cached file was
        unreadable and moved aside); empty when nothing. ``reason`` says it too.
    """

    ticker: str
    start: dt.date | None
    end: dt.date | None
    kind: FailureKind
    reason: str
    hint: str = ""
    attempts: int = 1
    detail: str = ""
    note: str = ""

    def to_error(self) -> PriceDataError:
        """The exception that describes this failure (for callers who want to raise)."""
        cls = _ERROR_CLASS.get(self.kind, PriceDataError)
        return cls(self.ticker, self.start, self.end, self.reason, self.hint)

    def __str__(self) -> str:
        return str(self.to_error())

    def describe(self) -> str:
        """``kind: reason (hint)``, for tables and summaries."""
        return f"{self.kind}: {self.reason}" + (f" ({self.hint})" if self.hint else "")


@dataclass(frozen=True)
class SeriesInfo:
    """Provenance of one price series.

    Attributes
    ----------
    ticker:
        The ticker.
    source:
        Where the rows came from, e.g. ``"yahoo (yfinance 1.7.0)"`` or ``"csv:/data/META.csv"``.
    fetched_at:
        When the rows were obtained (UTC): the download time, or a CSV file's modification time.
    adjustment:
        How prices were adjusted for splits and dividends.
    first, last:
        First and last row dates of the series as returned (``None`` when it has no rows).
    rows:
        Number of rows returned.
    covered:
        Ranges (inclusive) the data is known to be complete for, as recorded by the cache;
        empty for sources that do not track coverage.
    note:
        What happened on the way that a reader of the rows should know (e.g. the cached file
        was unreadable and moved aside, and the rows were fetched again); empty when nothing.
    """

    ticker: str
    source: str
    fetched_at: dt.datetime | None
    adjustment: str
    first: dt.date | None
    last: dt.date | None
    rows: int
    covered: tuple[tuple[dt.date, dt.date], ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly dict (dates and times as ISO text)."""
        return {
            "ticker": self.ticker,
            "source": self.source,
            "fetched_at": None if self.fetched_at is None else self.fetched_at.isoformat(),
            "adjustment": self.adjustment,
            "first": None if self.first is None else self.first.isoformat(),
            "last": None if self.last is None else self.last.isoformat(),
            "rows": self.rows,
            "covered": [[a.isoformat(), b.isoformat()] for a, b in self.covered],
            **({"note": self.note} if self.note else {}),
        }


@dataclass(frozen=True)
class ReturnFlag:
    """A session whose return may not be a total return (e.g. a spin-off booked as a split).

    Attributes
    ----------
    date:
        The session (its return runs from the previous session's close to this one's).
    reason:
        Why, in words, with the figure behind it.
    """

    date: dt.date
    reason: str


@dataclass(frozen=True)
class SourceHistory:
    """What a source knows of a ticker's whole history beyond the rows it served.

    The placeholder history before a listing (see :mod:`backtest.prices.quality`) is a property
    of the whole history: decided on a range's rows alone, a range that starts on a flat,
    zero-volume half day (0700.HK on 2024-12-24) would take the real sessions after it for
    placeholders. A source that holds more than it serves (a CSV file, the cache) decides it on
    everything it holds (:func:`backtest.prices.quality.placeholder_until`) and says so here.

    Attributes
    ----------
    first:
        The first date the source holds for the ticker.
    placeholder_until:
        The last date of its placeholder history before the listing; ``None``: there is none.
    """

    first: dt.date
    placeholder_until: dt.date | None


@dataclass(frozen=True)
class PriceSeries:
    """One ticker's rows and their provenance (see the module docstring for the frame).

    ``flags``: sessions whose return may not be a total return, as the source can tell
    (:class:`ReturnFlag`; empty when it cannot tell or there is none). ``history``: what the
    source knows of the whole history beyond these rows (:class:`SourceHistory`); ``None``
    when these rows are all it knows, and the checks then decide on them.
    """

    ticker: str
    frame: pd.DataFrame
    info: SeriesInfo
    flags: tuple[ReturnFlag, ...] = ()
    history: SourceHistory | None = None


@dataclass(frozen=True)
class FetchResult:
    """What a source returns for a batch.

    Attributes
    ----------
    series:
        Ticker -> the series it got.
    failed:
        Ticker -> why it got nothing for it. Every ticker asked for is in exactly one of
        ``series`` and ``failed``.
    partial:
        Ticker -> why part of its range is missing although ``series`` has rows for it
        (for example the cache served what it had while the network was down).
    downloaded:
        Ticker -> the inclusive ranges asked of a remote source in this call (empty tuple: served
        locally, from the cache or a file).
    uncached:
        Ticker -> why what was downloaded for it could not be stored in the cache (a full
        disk, a read-only folder); its rows were served all the same.
    """

    series: Mapping[str, PriceSeries] = field(default_factory=dict)
    failed: Mapping[str, FetchFailure] = field(default_factory=dict)
    partial: Mapping[str, FetchFailure] = field(default_factory=dict)
    downloaded: Mapping[str, tuple[tuple[dt.date, dt.date], ...]] = field(default_factory=dict)
    uncached: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class PriceSource(Protocol):
    """What evbt asks of a price source."""

    #: Short name shown in provenance and reports.
    name: str

    def fetch(
        self,
        tickers: Sequence[str],
        start: dt.date | None,
        end: dt.date | None,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> FetchResult:
        """Daily OHLCV for ``tickers`` from ``start`` to ``end`` (both inclusive).

        ``None`` means as far back (``start``) or as recent (``end``) as the source goes.

        Must return every ticker either in ``series`` or in ``failed``; must not raise for
        the failure of individual tickers.
        """
        ...


def summarize_failures(failures: Mapping[str, FetchFailure], *, shown: int = 8) -> str:
    """One message for many failed tickers: tickers grouped by reason, each hint said once.

    Meant to be shown as it is (by the job, the command line): a machine without a network
    gets one line naming the tickers and the offline advice once, however many tickers failed.

    >>> from backtest.prices.base import FetchFailure
    >>> down = "Yahoo Finance cannot be reached"
    >>> f = {t: FetchFailure(t, None, None, "offline", down, "check the network", 0)
    ...      for t in ("META", "AAPL", "SPY")}
    >>> summarize_failures(f)
    'META, AAPL, SPY: Yahoo Finance cannot be reached. To fix: check the network.'
    >>> summarize_failures(f, shown=2)
    'META, AAPL and 1 more: Yahoo Finance cannot be reached. To fix: check the network.'
    """
    groups: dict[str, list[str]] = {}
    hints: dict[str, None] = {}
    for ticker, failure in failures.items():
        groups.setdefault(failure.reason, []).append(ticker)
        if failure.hint:
            hints[failure.hint] = None
    parts = []
    for reason, names in groups.items():
        head = ", ".join(names[:shown])
        if len(names) > shown:
            head += f" and {len(names) - shown} more"
        parts.append(f"{head}: {reason}")
    text = "; ".join(parts)
    if hints:
        text += ". To fix: " + "; ".join(hints)
    return text + "." if text and not text.endswith(".") else text


# ----------------------------------------------------------------------------- helpers


#: The longest ticker a file may be named after (Yahoo's are far shorter).
MAX_TICKER_LENGTH = 32
_STEM = re.compile(r"\^?[A-Z0-9][A-Z0-9&\-]*(?:\.[A-Z]{1,3})?")


def file_stem(ticker: str) -> str:
    """The file name stem of a ticker: Yahoo's ``^`` index prefix is spelled ``_``.

    Every file name of the price layer is made here, so a ticker that is not spelled like a
    Yahoo ticker can never name a file outside its folder.

    >>> file_stem("^GSPC"), file_stem("0700.HK")
    ('_GSPC', '0700.HK')
    >>> file_stem("../../etc/passwd")
    Traceback (most recent call last):
    ...
    backtest.errors.InvalidTickerError: ticker '../../etc/passwd': not a Yahoo ticker ...

    Raises
    ------
    InvalidTickerError
        ``ticker`` is not spelled like a Yahoo ticker, or is longer than
        :data:`MAX_TICKER_LENGTH`.
    """
    from backtest.markets import check_ticker

    check_ticker(ticker)
    if len(ticker) > MAX_TICKER_LENGTH or not _STEM.fullmatch(ticker):
        shown = ticker if len(ticker) <= 40 else ticker[:37] + "..."
        raise InvalidTickerError(
            shown,
            f"not a Yahoo ticker (at most {MAX_TICKER_LENGTH} upper case letters, digits, '-' "
            "or '&', a leading '^' for an index and an exchange suffix such as '.HK')",
        )
    return "_" + ticker[1:] if ticker.startswith("^") else ticker


def ticker_of_stem(stem: str) -> str:
    """The ticker a file name stem stands for (inverse of :func:`file_stem`).

    >>> ticker_of_stem("_GSPC")
    '^GSPC'
    """
    return "^" + stem[1:] if stem.startswith("_") else stem


def to_date(value: dt.date | str | pd.Timestamp | None, name: str) -> dt.date | None:
    """Parse a user-supplied date (``YYYY-MM-DD`` text, date or Timestamp); ``None`` stays ``None``.

    Raises
    ------
    InvalidDateError
        The value is not a date, with the parameter name and what was given.
    """
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        day: dt.date = value.date()
        return day
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidDateError(name, value)


def empty_frame() -> pd.DataFrame:
    """A price frame with no rows (the right columns, dtypes and index)."""
    index = pd.DatetimeIndex([], dtype="datetime64[ns]", name="date")
    return pd.DataFrame({f: np.array([], dtype="float64") for f in FIELDS}, index=index)


def standard_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """A frame's session dates (``datetime64[D]``) and its :data:`FIELDS` as one float64 array
    (rows x fields), in the frame's row order; missing columns are NaN, others ignored."""
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    day = index.to_numpy(dtype="datetime64[D]")  # the date of a stamp (truncates the time)
    if (
        len(frame.columns) == len(FIELDS)
        and tuple(frame.columns) == FIELDS
        and all(dtype == np.float64 for dtype in frame.dtypes)
    ):
        return day, frame.to_numpy(dtype="float64", copy=True)
    values = np.full((len(frame), len(FIELDS)), np.nan)
    for j, f in enumerate(FIELDS):
        if f in frame.columns:
            values[:, j] = pd.to_numeric(frame[f], errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
    return day, values


def standard_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the columns :data:`FIELDS` as float64 and a tz-naive ``date`` index.

    Row order and duplicates are kept as they are (see the module docstring). Missing columns
    are added as NaN; extra columns are dropped.
    """
    day, values = standard_arrays(frame)
    index = pd.DatetimeIndex(day.astype("datetime64[ns]"), name="date")
    return pd.DataFrame(values, index=index, columns=list(FIELDS))


def closed_through(calendar: xcals.ExchangeCalendar, now: dt.datetime) -> dt.date:
    """The last date up to which every session of ``calendar`` has closed at instant ``now``.

    That is the day before the first session that has not closed yet: on a Saturday it is the
    Sunday (Friday's session has closed and the next one is on Monday); on a weekday during
    trading hours it is the day before. A bar for a session that has not closed is not a
    daily bar yet, so evbt never stores it nor marks it as covered.
    """
    stamp = pd.Timestamp(now)
    stamp = stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
    closes = calendar.closes.to_numpy(dtype="datetime64[ns]")  # UTC instants
    pos = int(np.searchsorted(closes, stamp.tz_convert(None).to_datetime64(), side="right"))
    if pos >= len(closes):  # beyond the calendar: every session it knows has closed
        today: dt.date = stamp.date()
        return today
    first_open: pd.Timestamp = calendar.sessions[pos]
    before: dt.date = (first_open - pd.Timedelta(days=1)).date()
    return before


def between(frame: pd.DataFrame, start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
    """The rows of ``frame`` dated from ``start`` to ``end`` (inclusive; ``None``: open-ended)."""
    day = frame.index
    keep = np.ones(len(frame), dtype=bool)
    if start is not None:
        keep &= day >= pd.Timestamp(start)
    if end is not None:
        keep &= day <= pd.Timestamp(end)
    return frame[keep]


def calendar_of(ticker: str) -> xcals.ExchangeCalendar | None:
    """The exchange calendar of ``ticker``, or ``None`` when its market cannot be inferred."""
    from backtest.markets import get_calendar, market_of

    try:
        return get_calendar(market_of(ticker).code)
    except ValueError:  # InvalidTickerError, UnknownMarketError
        return None


@functools.lru_cache(maxsize=32)
def session_days(calendar: xcals.ExchangeCalendar) -> np.ndarray:
    """Every session of ``calendar`` as ``datetime64[D]`` (computed once per calendar)."""
    days: np.ndarray = calendar.sessions.to_numpy(dtype="datetime64[D]")
    days.flags.writeable = False
    return days


def sessions_between(
    calendar: xcals.ExchangeCalendar, first: dt.date | np.datetime64, last: dt.date | np.datetime64
) -> np.ndarray:
    """Sessions of ``calendar`` from ``first`` to ``last`` (inclusive) as ``datetime64[D]``."""
    sessions = session_days(calendar)
    bounds = np.array([first, last], dtype="datetime64[D]")
    lo = int(np.searchsorted(sessions, bounds[0], side="left"))
    hi = int(np.searchsorted(sessions, bounds[1], side="right"))
    inside: np.ndarray = sessions[lo:hi]
    return inside


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC (the default clock)."""
    return dt.datetime.now(dt.UTC)
