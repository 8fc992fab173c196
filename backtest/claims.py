"""Claims: what a source says a stock did, set beside what the prices say it did.

A catalog event may carry *claims* (:class:`backtest.catalog.schema.Claim`): moves a source
asserts, such as "Meta fell as much as about 13%" (ticker ``META``, measure ``intraday_low``,
value -0.13, date 2025-10-30). This module measures the same move from daily prices and says
whether the two agree. It computes; it does not render (the report does).

Three steps, each a function:

1. :func:`claim_table` lists every claim of a catalog, one row each, with the session it is
   about;
2. :func:`claim_price_needs` says which tickers and dates to load for them;
3. :func:`measure_claims` measures each claim on a :class:`~backtest.prices.panel.PricePanel`
   and gives a verdict.

The session a claim is about
----------------------------
The claim's own ``date`` when it gives one, **as given**: a date that is not a session of the
ticker's exchange is not moved to a session, it is reported (verdict ``not measured``, with the
reason in ``note``). Without a date, the event's day 0 for the claim's ticker
(:meth:`backtest.catalog.Event.day0`, the rule of :mod:`backtest.sessions` on that ticker's
exchange; the ticker need not be one of the event's tickers, e.g. an index).

Measures
--------
With ``d`` the claim's session and ``p`` the session of the same exchange before it:

=========================  =======================================================
``close_to_close``         ``close[d] / close[p] - 1``
``open_to_close``          ``close[d] / open[d] - 1``
``intraday_low``           ``low[d] / close[p] - 1`` (how far it fell at the worst)
``intraday_high``          ``high[d] / close[p] - 1``
``market_value_change``    not measured: a change in market value needs the number of
                           shares, which prices alone do not give. The note reports the
                           session's close-to-close return for context.
=========================  =======================================================

``p`` is the previous *session of the exchange calendar*, not the previous row with a close: if
the close of ``p`` is missing the claim is ``not measured``. Reaching back to an earlier close
would silently turn a one-session move into a move over several sessions, and the sources'
figures are one-session figures.

**Adjusted prices.** The prices are split- and dividend-adjusted by their source (see
``panel.provenance``). Adjustment multiplies all prices before an ex-date by one factor, so
one-session ratios are unaffected, except on an ex-dividend day itself: there the adjusted
return includes the dividend, so it exceeds the quoted price move by about that one payment's
yield (a tiny difference, typically a few tenths of a percent or less).

Verdicts
--------
With ``m`` the measured and ``c`` the claimed move, the tolerance is
``max(ABS_TOLERANCE, REL_TOLERANCE * |c|)`` = ``max(0.01, 0.25 * |c|)``: one percentage point,
or a quarter of the claim for claims above four percent (sources round: "about 13%"):

* ``agrees``: same direction and ``|m - c| <= tolerance``;
* ``roughly``: same direction, outside the tolerance;
* ``disagrees``: opposite directions (a measured move of exactly zero has no direction and so
  shares none with a claim);
* ``direction agrees`` / ``direction disagrees``: the claim gives only a direction;
* ``not measured``: the prices cannot answer; ``note`` says why (no prices for the ticker, the
  date is not a session of its exchange, a price missing on the day or the previous session,
  a measure prices cannot give).

A claimed value of exactly 0 ("unchanged") has no direction: it ``agrees`` within the
tolerance and ``disagrees`` outside it. No claim is ever dropped, and none raises.

Examples
--------
>>> from backtest import load_catalog
>>> from backtest.prices import load_prices
>>> table = claim_table(load_catalog())  # doctest: +SKIP
>>> tickers, start, end = claim_price_needs(table)  # doctest: +SKIP
>>> panel = load_prices(tickers, start, end, prices_dir="../shared/prices")  # doctest: +SKIP
>>> measure_claims(table, panel)[["ticker", "claimed", "measured", "verdict"]]  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, NamedTuple, get_args

import numpy as np
import pandas as pd

from backtest.catalog.catalog import Catalog
from backtest.errors import CalendarRangeError
from backtest.markets import get_calendar, market_of
from backtest.prices.panel import PricePanel

#: A measured move within this many (fractional) points of the claim agrees with it ...
ABS_TOLERANCE = 0.01
#: ... or within this share of the claim's size, whichever is larger.
REL_TOLERANCE = 0.25
#: Rounding slack on the tolerance comparison, so that a boundary case is not decided by the
#: last bit of a float.
_EPS = 1e-12

#: Sessions loaded before the earliest claim (one is needed: the previous close).
LOOKBACK_SESSIONS = 5

Verdict = Literal[
    "agrees", "roughly", "disagrees", "direction agrees", "direction disagrees", "not measured"
]
VERDICTS: tuple[str, ...] = get_args(Verdict)

#: The columns of :func:`claim_table`, in order.
CLAIM_COLUMNS: tuple[str, ...] = (
    "event_id",
    "title",
    "category",
    "claim_no",
    "ticker",
    "market",
    "measure",
    "claimed",
    "direction",
    "date",
    "date_from",
    "source",
    "says",
)
#: The columns :func:`measure_claims` adds.
MEASURED_COLUMNS: tuple[str, ...] = ("measured", "reference", "difference", "verdict", "note")


class _Spec(NamedTuple):
    """A price measure: ``end_field[d] / base_field[base day] - 1``."""

    base_field: str
    base_on_previous: bool  # the base price is from the previous session (else from d)
    end_field: str


#: The measures prices can give.
PRICE_MEASURES: dict[str, _Spec] = {
    "close_to_close": _Spec("close", True, "close"),
    "open_to_close": _Spec("open", False, "close"),
    "intraday_low": _Spec("close", True, "low"),
    "intraday_high": _Spec("close", True, "high"),
}

_NOT_FROM_PRICES = {
    "market_value_change": (
        "a change in market value cannot be measured from prices alone (it needs the number "
        "of shares)"
    ),
}


# ----------------------------------------------------------------------------- the table


def claim_table(catalog: Catalog) -> pd.DataFrame:
    """Every claim of every event of ``catalog``, one row each, with the session it is about.

    Parameters
    ----------
    catalog:
        A loaded catalog (:func:`backtest.load_catalog`).

    Returns
    -------
    pandas.DataFrame
        One row per claim, in catalog order, with the columns :data:`CLAIM_COLUMNS`:

        ``event_id, title, category``
            The event the claim belongs to.
        ``claim_no``
            0-based position of the claim within its event.
        ``ticker, market``
            The ticker the claim is about and its exchange (e.g. ``XNYS``).
        ``measure``
            One of :data:`backtest.catalog.schema.MEASURES`.
        ``claimed``
            The asserted value (float; NaN for a direction-only claim).
        ``direction``
            ``up`` or ``down``: the claim's direction, else the sign of its value (``None``
            only for a claimed value of exactly 0).
        ``date``
            The session the claim is about (tz-naive midnight): the claim's ``date`` as given,
            even if it is not a session (:func:`measure_claims` says so), else the event's
            day 0 on the claim ticker's exchange. ``NaT`` if day 0 falls outside the
            exchange calendar (the catalog loader rejects such events, so only for
            hand-built catalogs).
        ``date_from``
            ``claim`` (the claim gives the date) or ``day 0`` (the event's day 0).
        ``source, says``
            The document making the claim and what it says.

    Examples
    --------
    >>> from backtest import load_catalog
    >>> claim_table(load_catalog()).loc[0, ["ticker", "measure", "claimed"]]  # doctest: +SKIP
    """
    rows: list[dict[str, object]] = []
    for event in catalog.events:
        for no, claim in enumerate(event.claims):
            market = market_of(claim.ticker).code
            if claim.date is not None:
                date: pd.Timestamp = pd.Timestamp(claim.date)
                date_from = "claim"
            else:
                date_from = "day 0"
                try:
                    date = event.day0(claim.ticker)
                except CalendarRangeError:
                    date = pd.NaT
            rows.append(
                {
                    "event_id": event.id,
                    "title": event.title,
                    "category": event.category,
                    "claim_no": no,
                    "ticker": claim.ticker,
                    "market": market,
                    "measure": claim.measure,
                    "claimed": np.nan if claim.value is None else float(claim.value),
                    "direction": claim.implied_direction,
                    "date": date,
                    "date_from": date_from,
                    "source": claim.source,
                    "says": claim.says,
                }
            )
    frame = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    return frame.astype({"claim_no": "int64", "claimed": "float64", "date": "datetime64[ns]"})


def claim_price_needs(
    table: pd.DataFrame,
) -> tuple[tuple[str, ...], dt.date | None, dt.date | None]:
    """The tickers and the date range to load so that every claim of ``table`` can be measured.

    Parameters
    ----------
    table:
        A :func:`claim_table` (needs ``ticker``, ``market`` and ``date``).

    Returns
    -------
    tickers, start, end
        The claims' tickers (each once, in order of appearance); the session
        :data:`LOOKBACK_SESSIONS` sessions before the earliest claim date on its exchange; the
        latest claim date. ``start`` and ``end`` are ``None`` when no claim has a date (then
        there is nothing to load). Pass them to :func:`backtest.prices.load_prices`.
    """
    _require(table, ("ticker", "market", "date"))
    tickers = tuple(dict.fromkeys(str(t) for t in table["ticker"]))
    starts: list[pd.Timestamp] = []
    ends: list[pd.Timestamp] = []
    for market, date in zip(table["market"], table["date"], strict=True):
        if pd.isna(date):
            continue
        day = pd.Timestamp(date)
        sessions = get_calendar(str(market)).sessions
        pos = min(int(sessions.searchsorted(day, "left")), len(sessions))
        before = pd.Timestamp(sessions[max(pos - LOOKBACK_SESSIONS, 0)]) if pos else day
        starts.append(min(before, day))
        ends.append(day)
    if not starts:
        return tickers, None, None
    return tickers, min(starts).date(), max(ends).date()


# ----------------------------------------------------------------------------- verdicts


def verdicts(
    measured: np.ndarray | pd.Series,
    claimed: np.ndarray | pd.Series,
    direction: np.ndarray | pd.Series,
) -> np.ndarray:
    """The verdict of each claim from its measured move (the rule of the module docstring).

    Parameters
    ----------
    measured:
        Measured moves (fractions); NaN where not measured.
    claimed:
        Claimed moves (fractions); NaN for direction-only claims.
    direction:
        ``"up"``, ``"down"`` or ``None`` per claim (used when ``claimed`` is NaN).

    Returns
    -------
    numpy.ndarray
        One of :data:`VERDICTS` per claim (object array).

    Examples
    --------
    >>> verdicts(np.array([-0.135, 0.02, -0.05, np.nan]), np.array([-0.13, -0.02, np.nan, 0.1]),
    ...          np.array(["down", "down", "up", "up"], dtype=object)).tolist()
    ['agrees', 'disagrees', 'direction disagrees', 'not measured']
    """
    m = np.asarray(measured, dtype="float64")
    c = np.asarray(claimed, dtype="float64")
    d = np.asarray(direction, dtype=object)
    m_sign = np.sign(m)
    c_sign = np.sign(c)
    d_sign = np.where(d == "up", 1.0, np.where(d == "down", -1.0, 0.0))
    has_value = ~np.isnan(c)
    with np.errstate(invalid="ignore"):
        within = np.abs(m - c) <= np.maximum(ABS_TOLERANCE, REL_TOLERANCE * np.abs(c)) + _EPS
    same = m_sign == c_sign
    conditions = [
        np.isnan(m),
        has_value & (c == 0) & within,
        has_value & (c == 0),
        has_value & same & within,
        has_value & same,
        has_value,
        (d_sign != 0) & (m_sign == d_sign),
        d_sign != 0,
    ]
    choices = [
        "not measured",
        "agrees",
        "disagrees",
        "agrees",
        "roughly",
        "disagrees",
        "direction agrees",
        "direction disagrees",
    ]
    return np.select(conditions, choices, default="not measured").astype(object)


# ----------------------------------------------------------------------------- measuring


class _Attempt(NamedTuple):
    """One claim's measurement, or why there is none."""

    measured: float
    reference: str | None
    note: str


def measure_claims(table: pd.DataFrame, panel: PricePanel) -> pd.DataFrame:
    """Measure every claim of ``table`` on ``panel`` and judge it.

    Parameters
    ----------
    table:
        A :func:`claim_table` (needs ``ticker, market, measure, claimed, direction, date``).
    panel:
        Prices covering the claims (see :func:`claim_price_needs`). Tickers it lacks, or
        sessions outside it, leave the claims concerned ``not measured``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` (same rows, same order, ``table`` is not modified) with
        :data:`MEASURED_COLUMNS` added:

        ``measured``
            The move measured from the prices (float; NaN when not measured).
        ``reference``
            What it was measured against, e.g. ``"close 2025-10-29 -> low 2025-10-30"``
            (``None`` when no measurement could be defined).
        ``difference``
            ``measured - claimed`` (NaN without a claimed value or a measurement).
        ``verdict``
            One of :data:`VERDICTS` (rule in the module docstring).
        ``note``
            Why a claim is ``not measured``, or how a measured one compares.
    """
    _require(table, ("ticker", "market", "measure", "claimed", "direction", "date"))
    attempts = [
        _measure_one(str(t), str(mk), str(ms), dt_, panel)
        for t, mk, ms, dt_ in zip(
            table["ticker"], table["market"], table["measure"], table["date"], strict=True
        )
    ]
    out = table.copy()
    measured = np.array([a.measured for a in attempts], dtype="float64")
    claimed = out["claimed"].to_numpy(dtype="float64")
    out["measured"] = measured
    out["reference"] = pd.Series([a.reference for a in attempts], index=out.index, dtype=object)
    out["difference"] = measured - claimed
    verdict = verdicts(measured, claimed, out["direction"].to_numpy(dtype=object))
    out["verdict"] = verdict
    out["note"] = [
        a.note or _compare_note(v, m, c, d)
        for a, v, m, c, d in zip(
            attempts, verdict, measured, claimed, out["direction"], strict=True
        )
    ]
    return out


def _measure_one(
    ticker: str, market: str, measure: str, date: object, panel: PricePanel
) -> _Attempt:
    """Measure one claim; a NaN measurement with the reason in ``note`` when it cannot be."""
    if pd.isna(date):
        return _Attempt(np.nan, None, "no session date: day 0 is outside the exchange calendar")
    day = pd.Timestamp(date)
    if measure in _NOT_FROM_PRICES:
        context = _measure_one(ticker, market, "close_to_close", day, panel)
        if np.isnan(context.measured):
            extra = (
                f"the close-to-close return of {day.date()} is not available either "
                f"({context.note})"
            )
        else:
            extra = (
                f"for context, the close-to-close return of that session was "
                f"{context.measured:+.2%} ({context.reference})"
            )
        return _Attempt(np.nan, None, f"{_NOT_FROM_PRICES[measure]}; {extra}")
    spec = PRICE_MEASURES.get(measure)
    if spec is None:
        return _Attempt(np.nan, None, f"unknown measure {measure!r}: cannot be measured")
    if ticker not in panel.close.columns:
        failure = panel.failed.get(ticker)
        why = failure.describe() if failure is not None else "not in the price panel"
        return _Attempt(np.nan, None, f"no prices for {ticker}: {why}")

    sessions = get_calendar(market).sessions
    pos = int(sessions.searchsorted(day, "left"))
    if pos >= len(sessions) or sessions[pos] != day:
        return _Attempt(np.nan, None, _not_a_session(day, market, sessions, pos))
    if spec.base_on_previous and pos == 0:
        return _Attempt(np.nan, None, f"{day.date()} is the first session of the {market} calendar")
    base_day = pd.Timestamp(sessions[pos - 1]) if spec.base_on_previous else day
    reference = f"{spec.base_field} {base_day.date()} -> {spec.end_field} {day.date()}"

    end = _price(panel, spec.end_field, day, ticker)
    if np.isnan(end):
        return _Attempt(np.nan, reference, _missing(panel, ticker, spec.end_field, day, "the day"))
    base = _price(panel, spec.base_field, base_day, ticker)
    if np.isnan(base):
        where = "the previous session" if spec.base_on_previous else "the day"
        note = _missing(panel, ticker, spec.base_field, base_day, where)
        if spec.base_on_previous:
            note += " (an earlier close would span more than one session, so none is used)"
        return _Attempt(np.nan, reference, note)
    return _Attempt(end / base - 1.0, reference, "")


def _price(panel: PricePanel, field: str, day: pd.Timestamp, ticker: str) -> float:
    """``panel.<field>[day, ticker]``, NaN if the panel has no such row."""
    frame = panel.field(field)
    if day not in frame.index:
        return np.nan
    return float(frame.at[day, ticker])


def _missing(panel: PricePanel, ticker: str, field: str, day: pd.Timestamp, where: str) -> str:
    """Why ``field`` of ``ticker`` on ``day`` is not there."""
    head = f"no {field} for {ticker} on {where}, {day.date()}"
    dates = panel.dates
    if day not in dates:
        span = f"{dates[0].date()} to {dates[-1].date()}" if len(dates) else "no sessions"
        return f"{head}: outside the prices loaded ({span})"
    return f"{head}: missing or unusable in the price data (see the panel's quality report)"


def _not_a_session(day: pd.Timestamp, market: str, sessions: pd.DatetimeIndex, pos: int) -> str:
    """Why ``day`` is not a session of ``market``, and which session follows it."""
    if day < sessions[0] or pos >= len(sessions):
        return (
            f"{day.date()} is outside the {market} calendar "
            f"({sessions[0].date()} to {sessions[-1].date()})"
        )
    kind = day.strftime("a %A") if day.weekday() >= 5 else "a holiday"
    return (
        f"{day.date()} is not a session of {market} ({kind}); the claim's date is kept as "
        f"given, not moved to the next session ({sessions[pos].date()})"
    )


def _compare_note(verdict: str, measured: float, claimed: float, direction: object) -> str:
    """How a measured claim compares with the claim, in words."""
    if verdict in ("direction agrees", "direction disagrees"):
        return f"the claim gives only a direction ({direction}); measured {measured:+.2%}"
    tolerance = max(ABS_TOLERANCE, REL_TOLERANCE * abs(claimed))
    gap = abs(measured - claimed)
    if verdict == "disagrees" and claimed != 0:
        return f"opposite directions: claimed {claimed:+.2%}, measured {measured:+.2%}"
    side = "within" if gap <= tolerance + _EPS else "outside"
    return (
        f"off by {gap * 100:.2f} percentage points, {side} the tolerance of "
        f"{tolerance * 100:.2f} percentage points"
    )


def _require(table: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Raise a ValueError naming the columns ``table`` lacks."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"the claim table lacks the column(s) {', '.join(missing)}: build it with "
            "backtest.claims.claim_table(catalog)"
        )
