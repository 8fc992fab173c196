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
``missing_session``         warning  a session of the exchange between the series' first and
                                     last row that has no row (NaN in the panel)
``non_finite_price``        error    open, high, low or close is NaN or infinite (masked)
``non_positive_price``      error    open, high, low or close is zero or negative (masked)
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
=========================== ======== =============================================================

Why x2.5: in the twenty real series in ``../shared/prices`` (2020-2026, US and Hong Kong large
caps and indices) the largest one-day moves are x1.36 and /1.36. A large listed stock that moves
more than x2.5 (or loses 60%) in a session is rare enough that a look is always warranted, and
every split ratio of 3 or more lies beyond it; 2-for-1 and 1-for-2 are caught by the 5% band
(a split plus an ordinary market move). A warning, not an error: a small cap can really do it.

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

from backtest.prices.base import FIELDS, empty_frame, sessions_between, standard_frame

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
    near = (
        np.abs(log_r[:, None] - np.log(np.asarray(SPLIT_FACTORS))[None, :]) < SPLIT_TOLERANCE
    ).any(axis=1)
    flagged = near | (log_r >= np.log(JUMP_LIMIT))
    return valid[1:][flagged], valid[:-1][flagged], ratio[flagged]


# ----------------------------------------------------------------------------- wrapper


def check_series(
    ticker: str,
    frame: pd.DataFrame,
    calendar: xcals.ExchangeCalendar | None,
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

    Returns
    -------
    CheckedSeries
        ``frame``: sorted, one row per date, rows with errors masked to NaN, non-session rows
        left out; ``report``: the issues.
    """
    raw = standard_frame(frame)
    found: list[QualityIssue] = []

    def add(check: str, dates: Sequence[dt.date] | np.ndarray, message: str) -> None:
        days = _as_dates(dates)
        found.append(QualityIssue(ticker, check, _CHECK[check].severity, days, message))

    # --- order and duplicates (on the raw rows)
    day = raw.index.to_numpy(dtype="datetime64[D]")
    if len(day) > 1:
        back = np.flatnonzero(day[1:] < day[:-1]) + 1
        if len(back):
            late = np.unique(day[back])
            add("unsorted_dates", late, f"{_count(late, 'date')} before the row above")
    order = np.argsort(day, kind="stable")
    ordered = raw.iloc[order]
    day = day[order]
    values = ordered.to_numpy(dtype="float64")
    dup = np.zeros(len(day), dtype=bool)
    conflict_days = np.array([], dtype="datetime64[D]")
    if len(day) > 1:
        dup[1:] = day[1:] == day[:-1]
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
    keep = ~dup
    day, values = day[keep], values[keep].copy()
    premasked = np.isin(day, conflict_days)  # already reported: no other check repeats them
    values[premasked] = np.nan

    # --- calendar
    if calendar is not None and len(day):
        sessions = sessions_between(calendar, day[0], day[-1])
        off = ~np.isin(day, sessions)
        if off.any():
            add(
                "non_session",
                day[off],
                f"{_count(np.flatnonzero(off), 'row')} on dates that are not "
                f"{calendar.name} sessions: left out",
            )
            day, values, premasked = day[~off], values[~off], premasked[~off]
        if len(day):
            missing = np.setdiff1d(sessions_between(calendar, day[0], day[-1]), day)
            if len(missing):
                add(
                    "missing_session",
                    missing,
                    f"{_count(missing, calendar.name + ' session')} with no row",
                )

    # --- rows
    o, h, lo, c, v = (values[:, i] for i in range(len(FIELDS)))
    flags = {k: f & ~premasked for k, f in row_flags(o, h, lo, c, v).items()}
    messages = {
        "non_finite_price": "a price is missing or infinite: masked",
        "non_positive_price": "a price is zero or negative: masked",
        "high_below_low": "high below low: masked",
        "outside_range": "open or close outside [low, high]: masked",
        "bad_volume": "volume negative or missing",
        "stale_bar": "open = high = low = close and zero volume (placeholder bar)",
        "zero_volume": "zero volume",
    }
    for check in ("non_finite_price", "non_positive_price", "high_below_low", "outside_range"):
        if flags[check].any():
            add(check, day[flags[check]], f"{_count(day[flags[check]], 'row')}: {messages[check]}")
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

    found.sort(key=lambda i: _ORDER[i.check])
    index = pd.DatetimeIndex(day.astype("datetime64[ns]"), name="date")
    clean = pd.DataFrame(values, index=index, columns=list(FIELDS)) if len(day) else empty_frame()
    return CheckedSeries(clean, QualityReport(tuple(found), (ticker,)))


def _as_dates(dates: Sequence[dt.date] | np.ndarray) -> tuple[dt.date, ...]:
    arr = np.asarray(dates, dtype="datetime64[D]")
    return tuple(arr.astype(object))


def _iso(day: np.datetime64) -> str:
    return str(np.datetime_as_string(day, unit="D"))


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
        what = f"a {k}-for-1 split" if ratio < 1 else f"a 1-for-{k} reverse split"
        return f"looks like an unadjusted {what}"
    return (
        f"a move beyond x{JUMP_LIMIT:g} either way: check for an unadjusted split or a unit change"
    )
