"""Data-quality checks of daily price series against their exchange calendar.

Every series evbt uses goes through :func:`check_series`, which reports problems as
:class:`QualityIssue` objects and returns a *clean* copy of the series: sorted, one row per
session, rows with unusable values masked to NaN (never dropped silently: every masked or
dropped row is named in an issue).

The checks (:data:`CHECKS`, in the order they are reported)
------------------------------------------------------------
=========================== ======== =============================================================
check                       severity meaning
=========================== ======== =============================================================
``unsorted_dates``          warning  a date comes before the row above it (the series is sorted)
``duplicate_date``          warning  the same date twice with identical values (one is kept)
``conflicting_duplicate``   error    the same date twice with different values (masked)
``non_session``             warning  a row on a date that is not a session of the exchange
                                     (weekend, holiday, or outside the calendar): left out
``placeholder_history``     warning  leading rows before the listing that are not trading: mostly
                                     flat bars (open = high = low = close), some with zero volume,
                                     then a series that trades (Yahoo fills the history of some
                                     new listings so, e.g. SW before 2024-07-08): left out
``missing_session``         warning  a session of the exchange between the series' first and
                                     last row that has no row (NaN in the panel)
``non_finite_price``        error    open, high, low or close is NaN or infinite (masked; the
                                     message names which, e.g. ``close missing or infinite``)
``non_positive_price``      error    open, high, low or close is zero or negative (masked; the
                                     message names which, e.g. ``close zero or negative``)
``high_below_low``          error    high < low (masked)
``outside_range``           error    open or close outside [low, high] (masked)
``bad_volume``              warning  volume negative or not a number
``stale_bar``               warning  open = high = low = close with zero volume: a placeholder
                                     bar (Yahoo writes these for Hong Kong half-day sessions)
``zero_volume``             warning  zero volume on a bar that is not flat (skipped for series
                                     that report no volume at all, such as some indices)
``repeated_bar``            warning  the same open, high, low, close and volume as the previous
                                     session: a copied-forward row
``split_like_jump``         warning  a close-to-close ratio within 5% of 2, 3, 4, 5, 10 or 20 (or
                                     their inverses), or beyond x2.5 either way: an unadjusted
                                     split or a unit change rather than a market move
``not_total_return``        warning  a session whose return may not be a total return, as the
                                     source flags it (a :class:`~backtest.prices.base.ReturnFlag`,
                                     e.g. a spin-off booked as a split): one issue per session,
                                     with the source's reason
=========================== ======== =============================================================

Why x2.5: in the twenty real series in ``../shared/prices`` (2020-2026, US and Hong Kong large
caps and indices) the largest one-day moves are x1.36 and /1.36. A large listed stock that moves
more than x2.5 (or loses 60%) in a session is rare enough that a look is always warranted, and
every split ratio of 3 or more lies beyond it; 2-for-1 and 1-for-2 are caught by the 5% band
(a split plus an ordinary market move). A warning, not an error: a small cap can really do it.

Placeholder history: a prefix of the series ending with a flat bar is placeholder history when
at least half of its rows are flat, one of them has zero volume, and at most a tenth of the rows
after it are flat (the longest such prefix is left out). In the 505 files of
``../shared/sp500/prices`` this finds SW (to 2024-07-05) and AMCR (to 2019-06-10) and nothing
else; the single placeholder days inside a trading series (BKR, CCI, CHD, DOC, IBKR) stay, as
``stale_bar`` warnings. It is a property of the whole history, not of a range of it: a source
that holds more rows than it serves (a CSV file, the cache) decides it on all of them
(:func:`source_history`), so that a range starting on a flat, zero-volume half day (0700.HK,
2024-12-24) keeps its real sessions, and a range inside the placeholder history keeps none.

Return flags: a ``Stock Splits`` value that is not a plain split (:func:`is_plain_split`) marks
its session with a :class:`~backtest.prices.base.ReturnFlag` (:func:`split_flags`): Yahoo books
spin-offs as fractional splits (MMM 2024-04-01: 1.196), so the adjusted return of that day is
not a total return. The checks list each flag of a series as a ``not_total_return`` warning
(the panel's :attr:`~backtest.prices.panel.PricePanel.return_flags` holds the same sessions).

Adjustment seams (a few hundredths of a percent where an adjusted series was extended without
re-adjusting, see ``../shared/prices/PROVENANCE.md``) are indistinguishable from ordinary returns
and are not detected; the cache prevents them in the data it builds (see
:mod:`backtest.prices.cache`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from backtest.prices.base import (
    FIELDS,
    ReturnFlag,
    SourceHistory,
    empty_frame,
    sessions_between,
    standard_arrays,
)

if TYPE_CHECKING:
    import exchange_calendars as xcals

Severity = Literal["warning", "error"]

#: Split factors whose ratio (or inverse) flags a one-day close move.
SPLIT_FACTORS: tuple[float, ...] = (2.0, 3.0, 4.0, 5.0, 10.0, 20.0)
#: How near (relative, in log terms) a close ratio must be to a split factor to be flagged.
SPLIT_TOLERANCE = 0.05
#: Any one-day close ratio beyond this factor (either way) is flagged.
JUMP_LIMIT = 2.5
#: Relative slack for open/close outside [low, high] (float rounding of adjusted prices).
RANGE_TOLERANCE = 1e-9
#: Largest whole number on either side of a plain split ratio (p:q with p, q <= this).
SPLIT_TERMS = 100
#: Largest denominator of a plain split ratio p/q or its inverse (3/2, 5/4, 1/8 ...).
SPLIT_DENOMINATOR = 10
#: Relative tolerance when matching a ratio to p/q (a ratio written with four decimals matches).
PLAIN_SPLIT_TOLERANCE = 1e-4
#: Placeholder history: share of flat bars in the prefix (at least) and after it (at most).
PLACEHOLDER_FLAT_SHARE = 0.5
PLACEHOLDER_AFTER_SHARE = 0.1


@dataclass(frozen=True)
class Check:
    """One quality check: its name, severity and what it means."""

    name: str
    severity: Severity
    meaning: str


#: Every check, in report order.
CHECKS: tuple[Check, ...] = (
    Check("unsorted_dates", "warning", "date before the previous row's (series sorted)"),
    Check("duplicate_date", "warning", "date repeated with identical values (one kept)"),
    Check("conflicting_duplicate", "error", "date repeated with different values (masked)"),
    Check("non_session", "warning", "row on a date that is not an exchange session (left out)"),
    Check(
        "placeholder_history", "warning", "leading placeholder rows before the listing (left out)"
    ),
    Check("missing_session", "warning", "exchange session with no row (NaN in the panel)"),
    Check("non_finite_price", "error", "open/high/low/close NaN or infinite (masked)"),
    Check("non_positive_price", "error", "open/high/low/close zero or negative (masked)"),
    Check("high_below_low", "error", "high below low (masked)"),
    Check("outside_range", "error", "open or close outside [low, high] (masked)"),
    Check("bad_volume", "warning", "volume negative or not a number"),
    Check("stale_bar", "warning", "open = high = low = close with zero volume (placeholder bar)"),
    Check("zero_volume", "warning", "zero volume on a bar that is not flat"),
    Check("repeated_bar", "warning", "same OHLCV as the previous session (copied forward)"),
    Check("split_like_jump", "warning", "one-day close ratio that looks like an unadjusted split"),
    Check("not_total_return", "warning", "return may not be a total return (e.g. a spin-off)"),
)
_CHECK = {c.name: c for c in CHECKS}
_ORDER = {c.name: i for i, c in enumerate(CHECKS)}


@dataclass(frozen=True)
class QualityIssue:
    """One problem found in one ticker's series.

    Attributes
    ----------
    ticker:
        The ticker.
    check:
        The check's name (see :data:`CHECKS`).
    severity:
        ``"warning"`` (the data is usable; look at it) or ``"error"`` (the rows named are
        unusable and were masked).
    dates:
        The dates concerned, ascending.
    message:
        What was found, in words.
    """

    ticker: str
    check: str
    severity: Severity
    dates: tuple[dt.date, ...]
    message: str

    def __str__(self) -> str:
        return f"{self.ticker}: {self.severity}: {self.check}: {self.message}"


@dataclass(frozen=True)
class QualityReport:
    """The quality findings for a set of tickers.

    Attributes
    ----------
    issues:
        Every issue found, by ticker then check order.
    tickers:
        The tickers checked (a ticker with no issue is clean).
    """

    issues: tuple[QualityIssue, ...] = ()
    tickers: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[QualityIssue, ...]:
        """Issues that made rows unusable (they were masked)."""
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[QualityIssue, ...]:
        """Issues worth a look that leave the data usable."""
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def ok(self) -> bool:
        """True when no issue is an error."""
        return not self.errors

    def for_ticker(self, ticker: str) -> QualityReport:
        """The report restricted to one ticker."""
        return QualityReport(
            tuple(i for i in self.issues if i.ticker == ticker),
            (ticker,) if ticker in self.tickers else (),
        )

    def findings(self) -> set[tuple[str, str, tuple[dt.date, ...]]]:
        """The issues as a set of ``(ticker, check, dates)``, handy for comparisons."""
        return {(i.ticker, i.check, i.dates) for i in self.issues}

    def to_frame(self, *, per_date: bool = False) -> pd.DataFrame:
        """The issues as a table.

        Parameters
        ----------
        per_date:
            False: one row per issue with ``ticker, check, severity, n, first, last, message``.
            True: the tidy long form, one row per issue and date, with
            ``ticker, check, severity, date, message``.
        """
        if per_date:
            rows: list[dict[str, object]] = [
                {
                    "ticker": i.ticker,
                    "check": i.check,
                    "severity": i.severity,
                    "date": pd.Timestamp(d),
                    "message": i.message,
                }
                for i in self.issues
                for d in (i.dates or (None,))
            ]
            columns = ["ticker", "check", "severity", "date", "message"]
            frame = pd.DataFrame(rows, columns=columns)
            frame["date"] = pd.to_datetime(frame["date"])
            return frame
        rows = [
            {
                "ticker": i.ticker,
                "check": i.check,
                "severity": i.severity,
                "n": len(i.dates),
                "first": i.dates[0].isoformat() if i.dates else "",
                "last": i.dates[-1].isoformat() if i.dates else "",
                "message": i.message,
            }
            for i in self.issues
        ]
        columns = ["ticker", "check", "severity", "n", "first", "last", "message"]
        return pd.DataFrame(rows, columns=columns)

    def summary(self) -> str:
        """A text summary: counts per ticker, then one line per issue."""
        n_err, n_warn = len(self.errors), len(self.warnings)
        lines = [
            f"Price quality: {len(self.tickers)} ticker(s) checked, "
            f"{n_err} error(s), {n_warn} warning(s)"
        ]
        by_ticker: dict[str, list[QualityIssue]] = {}
        for issue in self.issues:
            by_ticker.setdefault(issue.ticker, []).append(issue)
        for ticker in self.tickers:
            found = by_ticker.get(ticker, [])
            if not found:
                lines.append(f"  {ticker}: clean")
                continue
            lines.append(f"  {ticker}:")
            lines.extend(f"    {i.severity:<7} {i.check}: {i.message}" for i in found)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.summary())}</pre>"

    @staticmethod
    def combine(reports: Iterable[QualityReport]) -> QualityReport:
        """One report from several (tickers keep their first-seen order)."""
        issues: list[QualityIssue] = []
        tickers: dict[str, None] = {}
        for r in reports:
            issues.extend(r.issues)
            tickers.update(dict.fromkeys(r.tickers))
        return QualityReport(tuple(issues), tuple(tickers))


@dataclass(frozen=True)
class CheckedSeries:
    """The result of :func:`check_series`: the clean frame and the issues found."""

    frame: pd.DataFrame
    report: QualityReport


# ----------------------------------------------------------------------------- kernels
# Pure functions on NumPy arrays (dates as datetime64[D], values as float64).


def row_flags(
    o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-row boolean flags of the row-wise checks, for arrays of equal length."""
    prices = np.vstack([o, h, lo, c])
    finite = np.isfinite(prices)
    non_finite = ~finite.all(axis=0)
    non_positive = (finite & (prices <= 0)).any(axis=0)
    usable = ~non_finite & ~non_positive
    high_below_low = usable & (h < lo)
    upper = h * (1 + RANGE_TOLERANCE)
    lower = lo * (1 - RANGE_TOLERANCE)
    outside = usable & ~high_below_low & ((o > upper) | (o < lower) | (c > upper) | (c < lower))
    bad_volume = ~np.isfinite(v) | (v < 0)
    flat = usable & (o == h) & (h == lo) & (lo == c)
    stale = flat & (v == 0)
    has_volume = bool((np.nan_to_num(v, nan=0.0) > 0).any())
    zero_volume = (v == 0) & ~stale & usable if has_volume else np.zeros(len(v), dtype=bool)
    return {
        "non_finite_price": non_finite,
        "non_positive_price": non_positive,
        "high_below_low": high_below_low,
        "outside_range": outside,
        "bad_volume": bad_volume,
        "stale_bar": stale,
        "zero_volume": zero_volume,
    }


def repeated_rows(values: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Rows (of a 2-D array, one row per session) equal in every column to the row above."""
    same = np.zeros(len(values), dtype=bool)
    if len(values) > 1:
        same[1:] = (values[1:] == values[:-1]).all(axis=1) & usable[1:] & usable[:-1]
    return same


def split_like_jumps(close: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-day close ratios that look like an unadjusted split.

    NaN closes are skipped: a ratio is taken against the previous finite close.

    Returns
    -------
    rows, prev_rows, ratios:
        Positions of the flagged rows, of the closes they were compared with, and the ratios.
    """
    valid = np.flatnonzero(np.isfinite(close) & (close > 0))
    if len(valid) < 2:
        empty = np.array([], dtype=np.intp)
        return empty, empty, np.array([], dtype="float64")
    ratio = close[valid[1:]] / close[valid[:-1]]
    log_r = np.abs(np.log(ratio))
    factors = np.log(np.asarray(SPLIT_FACTORS))
    # only moves beyond the smallest factor's band can be near one: the rest are ordinary
    candidates = np.flatnonzero(log_r >= factors.min() - SPLIT_TOLERANCE)
    far = log_r[candidates]
    near = (np.abs(far[:, None] - factors[None, :]) < SPLIT_TOLERANCE).any(axis=1)
    flagged = candidates[near | (far >= np.log(JUMP_LIMIT))]
    return valid[1:][flagged], valid[:-1][flagged], ratio[flagged]


def placeholder_rows(
    o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray
) -> int:
    """How many leading rows are placeholder history before a listing (0: none).

    The longest prefix ending with a flat bar (open = high = low = close) in which at least
    :data:`PLACEHOLDER_FLAT_SHARE` of the rows are flat and one flat bar has zero volume,
    followed by rows of which at most :data:`PLACEHOLDER_AFTER_SHARE` are flat.
    """
    n = len(c)
    if n < 2:
        return 0
    flat = (o == h) & (h == lo) & (lo == c)
    if not flat[0]:
        return 0
    stale = flat & (v == 0)
    flat_cum = np.cumsum(flat)
    rows = np.arange(1, n + 1)
    after = n - rows
    with np.errstate(invalid="ignore", divide="ignore"):
        share_after = (flat_cum[-1] - flat_cum) / after
    ok = (
        flat
        & (flat_cum >= PLACEHOLDER_FLAT_SHARE * rows)
        & (np.cumsum(stale) > 0)
        & (after > 0)
        & (share_after <= PLACEHOLDER_AFTER_SHARE)
    )
    hits = np.flatnonzero(ok)
    return int(hits[-1]) + 1 if len(hits) else 0


def is_plain_split(ratio: float) -> bool:
    """Whether a ``Stock Splits`` ratio is a plain split: p/q or q/p with small whole numbers.

    p and q are at most :data:`SPLIT_TERMS`, the denominator at most :data:`SPLIT_DENOMINATOR`,
    matched within :data:`PLAIN_SPLIT_TOLERANCE` (relative). A spin-off that Yahoo books as a
    split has a ratio such as 1.196 (MMM 2024-04-01) or 1.0 + a few hundredths: not plain.

    >>> [is_plain_split(r) for r in (2.0, 1.5, 0.125, 1.25, 50.0, 4 / 3, 1.3333)]
    [True, True, True, True, True, True, True]
    >>> [is_plain_split(r) for r in (1.196, 1.01, 3.502, 1.3348, 0.4725, 0.0, -2.0)]
    [False, False, False, False, False, False, False]
    """
    if not np.isfinite(ratio) or ratio <= 0:
        return False
    for r in (ratio, 1.0 / ratio):
        if r > SPLIT_TERMS:
            continue
        for q in range(1, SPLIT_DENOMINATOR + 1):
            p = round(r * q)
            if 1 <= p <= SPLIT_TERMS and abs(r * q - p) <= PLAIN_SPLIT_TOLERANCE * r * q:
                return True
    return False


def split_flags(day: np.ndarray, ratios: np.ndarray) -> tuple[ReturnFlag, ...]:
    """A :class:`~backtest.prices.base.ReturnFlag` for every session whose ``Stock Splits``
    value is not a plain split (0 and NaN mean no split)."""
    event = np.flatnonzero(np.isfinite(ratios) & (ratios != 0))
    flags = []
    for i in event:
        ratio = float(ratios[i])
        if is_plain_split(ratio):
            continue
        when = _iso(day[i])
        flags.append(
            ReturnFlag(
                dt.date.fromisoformat(when),
                f"Stock Splits {ratio:g} on {when} is not a plain split (a spin-off or another "
                "distribution booked as a split?): the return of that session may not be a "
                "total return",
            )
        )
    return tuple(flags)


# ----------------------------------------------------------------------------- wrapper


def check_series(
    ticker: str,
    frame: pd.DataFrame,
    calendar: xcals.ExchangeCalendar | None,
    flags: Sequence[ReturnFlag] = (),
    history: SourceHistory | None = None,
) -> CheckedSeries:
    """Check one ticker's series and return it clean.

    Parameters
    ----------
    ticker:
        The ticker (for the messages).
    frame:
        Rows as the source gave them (any order, possibly duplicated), with the columns
        ``open, high, low, close, volume``.
    calendar:
        The ticker's exchange calendar; ``None`` skips the two calendar checks (and keeps every
        row).
    flags:
        The sessions the source flags as maybe not a total return
        (:attr:`~backtest.prices.base.PriceSeries.flags`): each is a ``not_total_return``
        warning.
    history:
        What the source knows of the whole history
        (:attr:`~backtest.prices.base.PriceSeries.history`): the placeholder history before
        the listing is then the rows up to its ``placeholder_until``, as decided on everything
        the source holds; ``None`` decides it on ``frame``'s rows.

    Returns
    -------
    CheckedSeries
        ``frame``: sorted, one row per date, rows with errors masked to NaN, non-session rows
        left out; ``report``: the issues.
    """
    day, values = standard_arrays(frame)
    day, values, report = check_arrays(ticker, day, values, calendar, flags, history)
    index = pd.DatetimeIndex(day.astype("datetime64[ns]"), name="date")
    clean = pd.DataFrame(values, index=index, columns=list(FIELDS)) if len(day) else empty_frame()
    return CheckedSeries(clean, report)


def source_history(ticker: str, frame: pd.DataFrame) -> SourceHistory | None:
    """What a source holding ``frame`` (a ticker's whole history, rows as it has them) knows
    beyond a range of it: its first date and where its placeholder history before the listing
    ends (:class:`~backtest.prices.base.SourceHistory`; ``None`` for no rows).

    Decided by the very checks :func:`check_series` runs on the rows (order, duplicates, the
    ticker's exchange calendar, then :func:`placeholder_rows`), so that a range's report
    leaves out the rows the whole history's would. Only a history holding a flat bar with zero
    volume can have placeholder rows: any other is answered without running the checks.
    """
    from backtest.errors import UnknownMarketError
    from backtest.markets import get_calendar, market_of

    if frame.empty:
        return None
    day, values = standard_arrays(frame)
    o, h, lo, c, v = (values[:, i] for i in range(len(FIELDS)))
    until: dt.date | None = None
    if ((o == h) & (h == lo) & (lo == c) & (v == 0)).any():
        try:
            calendar = get_calendar(market_of(ticker).code)
        except UnknownMarketError:
            calendar = None  # checked as check_series would be without one
        _, _, report = check_arrays(ticker, day, values, calendar)
        for issue in report.issues:
            if issue.check == "placeholder_history":
                until = max(issue.dates)
    return SourceHistory(first=day.min().astype(dt.date), placeholder_until=until)


def check_arrays(
    ticker: str,
    day: np.ndarray,
    values: np.ndarray,
    calendar: xcals.ExchangeCalendar | None,
    return_flags: Sequence[ReturnFlag] = (),
    history: SourceHistory | None = None,
) -> tuple[np.ndarray, np.ndarray, QualityReport]:
    """:func:`check_series` on arrays: ``day`` (``datetime64[D]``) and ``values`` (rows x
    :data:`~backtest.prices.base.FIELDS`, float64, changed in place); returns the clean days,
    the clean values and the report (``return_flags`` and ``history``: the ``flags`` and
    ``history`` of :func:`check_series`)."""
    found: list[QualityIssue] = []

    def add(check: str, dates: Sequence[dt.date] | np.ndarray, message: str) -> None:
        days = _as_dates(dates)
        found.append(QualityIssue(ticker, check, _CHECK[check].severity, days, message))

    # --- order and duplicates (on the raw rows)
    if len(day) > 1:
        back = np.flatnonzero(day[1:] < day[:-1]) + 1
        if len(back):
            late = np.unique(day[back])
            add("unsorted_dates", late, f"{_count(late, 'date')} before the row above")
            order = np.argsort(day, kind="stable")
            day, values = day[order], values[order]
    dup = np.zeros(len(day), dtype=bool)
    if len(day) > 1:
        dup[1:] = day[1:] == day[:-1]
    premasked = np.zeros(len(day), dtype=bool)
    if dup.any():
        first_of = np.flatnonzero(~dup)
        group = np.cumsum(~dup) - 1
        reference = values[first_of[group]]
        same = ((values == reference) | (np.isnan(values) & np.isnan(reference))).all(axis=1)
        conflict_days = np.unique(day[dup & ~same])
        identical_days = np.setdiff1d(np.unique(day[dup]), conflict_days)
        if len(identical_days):
            add("duplicate_date", identical_days, f"{_count(identical_days, 'date')} repeated")
        if len(conflict_days):
            add(
                "conflicting_duplicate",
                conflict_days,
                f"{_count(conflict_days, 'date')} repeated with different values: masked",
            )
        day, values = day[~dup], values[~dup]
        premasked = np.isin(day, conflict_days)  # already reported: no other check repeats them
        values[premasked] = np.nan

    # --- calendar, then the placeholder history before a listing
    if calendar is not None and len(day):
        sessions = sessions_between(calendar, day[0], day[-1])
        off = ~_members(day, sessions)
        if off.any():
            add(
                "non_session",
                day[off],
                f"{_count(day[off], 'row')} on dates that are not "
                f"{calendar.name} sessions: left out",
            )
            day, values, premasked = day[~off], values[~off], premasked[~off]
    whole = after = ""
    if history is None:
        lead = placeholder_rows(*(values[:, i] for i in range(len(FIELDS))))
    elif history.placeholder_until is None:  # decided on the source's whole history
        lead = 0
    else:
        until = history.placeholder_until
        after = until.isoformat()
        lead = int(np.searchsorted(day, np.datetime64(until, "D"), side="right"))
        if lead and (_iso(day[0]), _iso(day[lead - 1])) != (str(history.first), str(until)):
            whole = f", the source's from {history.first.isoformat()} to {until.isoformat()}"
    if lead:
        starts = (
            f"before trading starts on {_iso(day[lead])}"
            if lead < len(day)
            else f"the whole range (trading starts after {after})"
        )
        add(
            "placeholder_history",
            day[:lead],
            f"{lead} row{'s' if lead != 1 else ''} from {_iso(day[0])} to "
            f"{_iso(day[lead - 1])}, {starts}: mostly flat bars, some with zero volume "
            f"(placeholder history before the listing{whole}): left out",
        )
        day, values, premasked = day[lead:], values[lead:], premasked[lead:]
    if calendar is not None and len(day):
        sessions = sessions_between(calendar, day[0], day[-1])
        missing = sessions[~_members(sessions, day)]
        if len(missing):
            add(
                "missing_session",
                missing,
                f"{_count(missing, calendar.name + ' session')} with no row",
            )

    # --- rows
    o, h, lo, c, v = (values[:, i] for i in range(len(FIELDS)))
    flags = {k: f & ~premasked for k, f in row_flags(o, h, lo, c, v).items()}
    prices = values[:, :4]  # which prices are bad, for the messages: "close zero or negative"
    bad_prices = {"non_finite_price": ~np.isfinite(prices), "non_positive_price": prices <= 0}
    messages = {
        "non_finite_price": "missing or infinite: masked",
        "non_positive_price": "zero or negative: masked",
        "high_below_low": "high below low: masked",
        "outside_range": "open or close outside [low, high]: masked",
        "bad_volume": "volume negative or missing",
        "stale_bar": "open = high = low = close and zero volume (placeholder bar)",
        "zero_volume": "zero volume",
    }
    for check in ("non_finite_price", "non_positive_price", "high_below_low", "outside_range"):
        if flags[check].any():
            message = messages[check]
            if check in bad_prices:
                message = f"{_fields(bad_prices[check][flags[check]])} {message}"
            add(check, day[flags[check]], f"{_count(day[flags[check]], 'row')}: {message}")
    masked = (
        premasked
        | flags["non_finite_price"]
        | flags["non_positive_price"]
        | flags["high_below_low"]
        | flags["outside_range"]
    )
    values[masked] = np.nan
    for check in ("bad_volume", "stale_bar", "zero_volume"):
        if flags[check].any():
            add(check, day[flags[check]], f"{_count(day[flags[check]], 'row')}: {messages[check]}")
    repeated = repeated_rows(values, ~masked)
    if repeated.any():
        add(
            "repeated_bar",
            day[repeated],
            f"{_count(day[repeated], 'row')} identical to the previous session",
        )
    rows, prev, ratios = split_like_jumps(values[:, FIELDS.index("close")])
    for r, p, ratio in zip(rows, prev, ratios, strict=True):
        add(
            "split_like_jump",
            day[[r]],
            f"close x{ratio:.3f} from {_iso(day[p])} to {_iso(day[r])}: "
            f"{_split_words(float(ratio))}",
        )

    for flag in sorted(return_flags, key=lambda f: f.date):
        add("not_total_return", [flag.date], flag.reason)

    found.sort(key=lambda i: _ORDER[i.check])
    return day, values, QualityReport(tuple(found), (ticker,))


def _members(items: np.ndarray, sorted_pool: np.ndarray) -> np.ndarray:
    """``np.isin(items, sorted_pool)`` for a sorted ``sorted_pool``, by binary search."""
    if not len(sorted_pool):
        return np.zeros(len(items), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_pool, items), len(sorted_pool) - 1)
    found: np.ndarray = sorted_pool[pos] == items
    return found


def _as_dates(dates: Sequence[dt.date] | np.ndarray) -> tuple[dt.date, ...]:
    arr = np.asarray(dates, dtype="datetime64[D]")
    return tuple(arr.astype(object))


def _iso(day: np.datetime64) -> str:
    return str(np.datetime_as_string(day, unit="D"))


def _fields(bad: np.ndarray) -> str:
    """The prices bad in any of the rows (rows x open, high, low, close): ``open/close``."""
    return "/".join(FIELDS[j] for j in np.flatnonzero(bad.any(axis=0)))


def _count(items: Sequence[object] | np.ndarray, noun: str) -> str:
    n = len(items)
    shown = ""
    if isinstance(items, np.ndarray) and items.dtype.kind == "M":
        head = ", ".join(_iso(d) for d in items[:5])
        shown = f" ({head}{', ...' if n > 5 else ''})"
    return f"{n} {noun}{'s' if n != 1 else ''}{shown}"


def _split_words(ratio: float) -> str:
    factor = ratio if ratio >= 1 else 1 / ratio
    nearest = min(SPLIT_FACTORS, key=lambda k: abs(np.log(factor) - np.log(k)))
    if abs(np.log(factor) - np.log(nearest)) < SPLIT_TOLERANCE:
        k = f"{nearest:g}"
        what = f"{k}-for-1 split" if ratio < 1 else f"1-for-{k} reverse split"
        return f"looks like an unadjusted {what}"
    return (
        f"a move beyond x{JUMP_LIMIT:g} either way: check for an unadjusted split or a unit change"
    )
