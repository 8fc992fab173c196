"""Performance metrics of a backtest, computed from arrays.

The kernels are pure functions of NumPy arrays (no pandas, no vectorbt): a portfolio's value per
session, its session dates, the returns and profits of its closed trades, whether a position was
open at each close, and optionally a benchmark on the same dates. :data:`METRICS` declares every
metric once -- its key, title, display format, one-sentence description and the function that
computes it -- and :func:`compute_metrics` evaluates that list, so a report shows exactly the
metrics declared, in the declared order. :func:`format_metric` renders one value and
:func:`metrics_frame` puts several portfolios side by side (the only place pandas is used).

Conventions
-----------
* Per-session simple returns ``r_t = value_t / value_{t-1} - 1``.
* Sessions per year are estimated from the data, ``ppy = (T - 1) / years`` with
  ``years = (dates[-1] - dates[0]) / 365.25 days``, so that daily, weekly or irregular session
  series annualise consistently.
* An annual risk-free rate ``rf`` becomes ``rf_d = (1 + rf) ** (1 / ppy) - 1`` per session.
* Ratios follow the conventions of empyrical (Quantopian): sample standard deviation
  (``ddof=1``) for volatility and Sharpe, a downside deviation that averages over *all*
  sessions for Sortino, CAGR over the calendar span for Calmar.
* A metric that cannot be computed (no trades, no benchmark, a zero denominator) is NaN, or
  ``None`` for a date; it never raises. Invalid input raises :class:`MetricsInputError`.

References
----------
Sharpe, W. F. (1966). Mutual fund performance. *Journal of Business* 39(1), 119-138.
Sharpe, W. F. (1994). The Sharpe ratio. *Journal of Portfolio Management* 21(1), 49-58.
Sortino, F. A., van der Meer, R. (1991). Downside risk. *Journal of Portfolio Management*
17(4), 27-31.
Young, T. W. (1991). Calmar ratio: a smoother tool. *Futures* 20(1), 40.
Jensen, M. C. (1968). The performance of mutual funds in the period 1945-1964. *Journal of
Finance* 23(2), 389-416.
Magdon-Ismail, M., Atiya, A. F. (2004). Maximum drawdown. *Risk* 17(10), 99-102.
Quantopian (2016-2020). empyrical: common financial risk and performance metrics,
``empyrical/stats.py`` (https://github.com/quantopian/empyrical).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from backtest.errors import EvbtError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DateArray = npt.NDArray[np.datetime64]
MetricValue = float | int | str | np.datetime64 | None
Format = Literal["pct", "ratio", "int", "days", "date", "text"]

__all__ = [
    "METRICS",
    "AlphaBeta",
    "Drawdown",
    "Format",
    "Metric",
    "MetricInputs",
    "MetricValue",
    "MetricsInputError",
    "alpha_beta",
    "annual_volatility",
    "cagr",
    "calmar",
    "compute_metrics",
    "format_metric",
    "max_drawdown",
    "metrics_frame",
    "per_period_rate",
    "profit_factor",
    "sessions_per_year",
    "sharpe",
    "simple_returns",
    "sortino",
    "t_statistic",
    "time_in_market",
    "total_return",
    "trade_statistics",
    "win_rate",
    "years_spanned",
]

#: Days in a year, for turning a calendar span into years (the Julian year).
DAYS_PER_YEAR = 365.25
#: Sessions per year assumed when the dates span no time at all.
FALLBACK_PERIODS_PER_YEAR = 252.0
#: Fewer closed trades than this earn the warning :data:`FEW_TRADES`.
MIN_TRADES = 10
#: The warning of a portfolio with fewer than :data:`MIN_TRADES` closed trades.
FEW_TRADES = "too few trades to judge"
#: Bootstrap resamples of the mean trade return, and the seed of their generator.
BOOTSTRAP_RESAMPLES = 2_000
BOOTSTRAP_SEED = 0
#: A dispersion at most this many machine epsilons times the data's scale (at least 1) is
#: rounding noise: returns computed from a path with a constant growth rate are equal only up
#: to about one epsilon, and a ratio over such noise would be meaningless and huge.
_NOISE_EPS = 64.0 * float(np.finfo(np.float64).eps)
_ONE_DAY = np.timedelta64(1, "D")


class MetricsInputError(EvbtError, ValueError):
    """An input of :func:`compute_metrics` cannot be used.

    Attributes
    ----------
    parameter:
        The parameter at fault (``value``, ``dates``, ``trade_returns``, ...).
    reason:
        What is wrong with it, in words.
    hint:
        What to do about it.
    """

    def __init__(self, parameter: str, reason: str, hint: str = "") -> None:
        self.parameter = parameter
        self.reason = reason
        self.hint = hint
        tail = f" ({hint})" if hint else ""
        super().__init__(f"{parameter}: {reason}{tail}")


# ----------------------------------------------------------------------------- time


def years_spanned(dates: DateArray) -> float:
    """Calendar span of the dates in years: ``(dates[-1] - dates[0]) / 365.25 days``.

    Parameters
    ----------
    dates : (T,) datetime64 array, sorted.

    Returns
    -------
    float
        The span in Julian years; 0.0 for fewer than two dates.
    """
    d = np.asarray(dates, dtype="datetime64[ns]")
    if d.size < 2:
        return 0.0
    return float((d[-1] - d[0]) / _ONE_DAY) / DAYS_PER_YEAR


def sessions_per_year(dates: DateArray) -> float:
    """Sessions per year estimated from the data: ``(T - 1) / years``.

    Parameters
    ----------
    dates : (T,) datetime64 array, sorted.

    Returns
    -------
    float
        ``(T - 1) / years`` with ``years`` from :func:`years_spanned`; 252 when the dates span no
        time (fewer than two dates, or all equal).

    Notes
    -----
    Counting the returns actually observed per calendar year, rather than assuming 252, keeps
    annualisation right for weekly series, for markets with other holiday calendars and for
    series with gaps. For a short series the estimate is noisy, and so is every annualised
    figure.
    """
    years = years_spanned(dates)
    if years <= 0.0:
        return FALLBACK_PERIODS_PER_YEAR
    return (np.asarray(dates).size - 1) / years


def per_period_rate(annual_rate: float, periods_per_year: float) -> float:
    """Compound an annual rate down to one period: ``(1 + annual_rate) ** (1 / ppy) - 1``.

    Parameters
    ----------
    annual_rate : float
        Annual rate, e.g. 0.04 for 4 %; greater than -1.
    periods_per_year : float
        Periods (sessions) per year, positive.

    Returns
    -------
    float
        The per-period rate that compounds to ``annual_rate`` over ``periods_per_year`` periods.
    """
    return float((1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0)


# ----------------------------------------------------------------------------- returns


def simple_returns(value: FloatArray) -> FloatArray:
    """Per-session simple returns ``r_t = value_t / value_{t-1} - 1``.

    Parameters
    ----------
    value : (T,) float64 array
        Portfolio value per session, ``value[0] > 0``.

    Returns
    -------
    (T - 1,) float64 array
        The returns; NaN after a session whose value is not positive (a return on a wiped-out
        or negative account is undefined).
    """
    v = np.asarray(value, dtype=np.float64)
    prev = v[:-1]
    out = np.full(prev.shape, np.nan)
    np.divide(v[1:], prev, out=out, where=prev > 0)
    return out - 1.0


def total_return(value: FloatArray) -> float:
    """Total return ``value[-1] / value[0] - 1``.

    Parameters
    ----------
    value : (T,) float64 array
        Portfolio value per session, ``value[0] > 0``.

    Returns
    -------
    float
    """
    v = np.asarray(value, dtype=np.float64)
    return float(v[-1] / v[0] - 1.0)


def cagr(value: FloatArray, years: float) -> float:
    """Compound annual growth rate ``(value[-1] / value[0]) ** (1 / years) - 1``.

    Parameters
    ----------
    value : (T,) float64 array
        Portfolio value per session, ``value[0] > 0``.
    years : float
        Calendar span of the series in years (:func:`years_spanned`).

    Returns
    -------
    float
        NaN when ``years <= 0`` or ``value[-1] <= 0`` (no real growth rate); ``inf`` when the
        rate overflows (a large gain over a very short span).

    Notes
    -----
    Growth is annualised over the calendar span, as in empyrical's ``annual_return`` but with
    the span measured from the dates instead of assumed from a count of sessions.
    """
    v = np.asarray(value, dtype=np.float64)
    if years <= 0.0 or not v[-1] > 0.0:
        return math.nan
    with np.errstate(over="ignore"):
        return float(np.float64(v[-1] / v[0]) ** (1.0 / years) - 1.0)


def _is_noise(dispersion: float, x: FloatArray) -> bool:
    """Whether a standard deviation (or downside deviation) of ``x`` is zero up to rounding.

    NaN counts as noise, so that callers return NaN for it.
    """
    scale = max(1.0, float(np.max(np.abs(x)))) if x.size else 1.0
    return not dispersion > _NOISE_EPS * scale


def _annualised_ratio(x: FloatArray, dispersion: float, periods_per_year: float) -> float:
    """``mean(x) / dispersion * sqrt(ppy)``; NaN when the dispersion is rounding noise."""
    if _is_noise(dispersion, x):
        return math.nan
    return float(np.mean(x) / dispersion * math.sqrt(periods_per_year))


def annual_volatility(returns: FloatArray, periods_per_year: float) -> float:
    """Annualised volatility ``std(r, ddof=1) * sqrt(ppy)``.

    Parameters
    ----------
    returns : (N,) float64 array
        Per-session returns.
    periods_per_year : float
        Sessions per year (:func:`sessions_per_year`).

    Returns
    -------
    float
        NaN with fewer than two returns.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return math.nan
    return float(np.std(r, ddof=1) * math.sqrt(periods_per_year))


def sharpe(returns: FloatArray, periods_per_year: float, rf_per_period: float = 0.0) -> float:
    """Annualised Sharpe ratio ``mean(r - rf_d) / std(r - rf_d, ddof=1) * sqrt(ppy)``.

    Parameters
    ----------
    returns : (N,) float64 array
        Per-session returns ``r``.
    periods_per_year : float
        Sessions per year ``ppy`` (:func:`sessions_per_year`).
    rf_per_period : float, default 0.0
        Risk-free rate per session ``rf_d`` (:func:`per_period_rate` of the annual rate).

    Returns
    -------
    float
        NaN with fewer than two returns, or when the excess returns do not vary (a standard
        deviation within rounding noise of zero).

    Notes
    -----
    The ex-post Sharpe ratio of Sharpe (1994): the mean excess return per unit of its standard
    deviation, both per session, annualised by ``sqrt(ppy)`` (exact for i.i.d. returns). It
    depends on ``r`` and ``rf_d`` only through ``r - rf_d``, so shifting both by the same
    amount leaves it unchanged (an invariance empyrical tests too).

    References
    ----------
    Sharpe, W. F. (1966). Mutual fund performance. *Journal of Business* 39(1), 119-138.
    Sharpe, W. F. (1994). The Sharpe ratio. *Journal of Portfolio Management* 21(1), 49-58.
    """
    x = np.asarray(returns, dtype=np.float64) - rf_per_period
    if x.size < 2:
        return math.nan
    return _annualised_ratio(x, float(np.std(x, ddof=1)), periods_per_year)


def sortino(returns: FloatArray, periods_per_year: float, rf_per_period: float = 0.0) -> float:
    """Annualised Sortino ratio ``mean(r - rf_d) / downside_dev * sqrt(ppy)``.

    Parameters
    ----------
    returns : (N,) float64 array
        Per-session returns ``r``.
    periods_per_year : float
        Sessions per year ``ppy``.
    rf_per_period : float, default 0.0
        Risk-free rate per session ``rf_d``, which is also the target (minimum acceptable)
        return.

    Returns
    -------
    float
        NaN without returns, or when no excess return is negative (zero downside deviation).

    Notes
    -----
    ``downside_dev = sqrt(mean(min(r - rf_d, 0) ** 2))``, the target semi-deviation of
    Sortino and van der Meer (1991), averaged over *all* sessions (sessions above the target
    count as zero), as empyrical's ``downside_risk`` does.

    References
    ----------
    Sortino, F. A., van der Meer, R. (1991). Downside risk. *Journal of Portfolio Management*
    17(4), 27-31.
    """
    x = np.asarray(returns, dtype=np.float64) - rf_per_period
    if x.size < 1:
        return math.nan
    downside = float(np.sqrt(np.mean(np.minimum(x, 0.0) ** 2)))
    return _annualised_ratio(x, downside, periods_per_year)


# ----------------------------------------------------------------------------- drawdown


@dataclass(frozen=True)
class Drawdown:
    """The maximum drawdown of a value path and its longest spell under water.

    Attributes
    ----------
    depth:
        Maximum drawdown ``min(value / running_max(value) - 1)``, <= 0 (in [-1, 0] for
        non-negative values); 0.0 when the path never falls below a previous high.
    peak, trough, recovery:
        Session indices of the deepest drawdown: the high it fell from, its low, and the first
        session after the low with a value >= the high (``None`` if not recovered). All three
        are ``None`` when ``depth == 0``.
    peak_date, trough_date, recovery_date:
        The dates of those sessions, or ``None``.
    longest_sessions, longest_days:
        Length of the longest spell under water, in sessions and in calendar days, from the
        high it started at to its recovery, or to the last session if it has not recovered.
        This is the longest spell, which need not be the deepest one. 0 when never under water.
    longest_start, longest_end:
        Session indices of that spell's high and of its recovery (or of the last session), or
        ``None`` when never under water.
    longest_depth:
        The deepest drawdown within that spell (<= 0), so that a long spell is read with how
        deep it went; 0.0 when never under water.
    """

    depth: float
    peak: int | None
    trough: int | None
    recovery: int | None
    peak_date: np.datetime64 | None
    trough_date: np.datetime64 | None
    recovery_date: np.datetime64 | None
    longest_sessions: int
    longest_days: int
    longest_start: int | None
    longest_end: int | None
    longest_depth: float = 0.0


def max_drawdown(value: FloatArray, dates: DateArray) -> Drawdown:
    """Maximum drawdown, its dates, and the longest time under water.

    Parameters
    ----------
    value : (T,) float64 array
        Portfolio value per session, finite, ``value[0] > 0``.
    dates : (T,) datetime64 array
        Session dates, sorted and unique.

    Returns
    -------
    Drawdown

    Notes
    -----
    With ``M_t = max(value_0..value_t)`` the running high, the drawdown at ``t`` is
    ``value_t / M_t - 1`` and the maximum drawdown its minimum (Magdon-Ismail and Atiya 2004;
    empyrical's ``max_drawdown``). Its peak is the last session before the trough at which the
    value stood at its running high; its recovery is the first session after the trough whose
    value is at least the peak value. Ties go to the earliest session.

    A spell under water is a maximal run of sessions with ``value_t < M_t``; it starts at the
    high just before the run and ends at the first session back at or above that high (its
    recovery), or at the last session. Its length in calendar days counts whole dates
    (``datetime64[D]`` differences). Everything is vectorised: running maxima, run edges from
    ``np.diff`` of the under-water mask, and the spell containing the trough by binary search.
    """
    v = np.asarray(value, dtype=np.float64)
    d = np.asarray(dates, dtype="datetime64[ns]")
    n = v.size
    high = np.maximum.accumulate(v)
    path = v / high - 1.0
    trough = int(np.argmin(path))
    depth = float(path[trough])

    underwater = v < high
    edges = np.diff(underwater.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)  # first session under water, of each spell
    stops = np.flatnonzero(edges == -1)  # first session back at the high, n if never
    if starts.size == 0:
        return Drawdown(0.0, None, None, None, None, None, None, 0, 0, None, None)

    spell_peak = starts - 1  # value[0] is its own high, so every spell starts at t >= 1
    spell_end = np.minimum(stops, n - 1)
    day = d.astype("datetime64[D]").astype(np.int64)
    spell_days = day[spell_end] - day[spell_peak]
    longest = int(np.argmax(spell_days))

    k = int(np.searchsorted(starts, trough, side="right")) - 1  # the spell holding the trough
    peak = int(spell_peak[k])
    recovery = int(stops[k]) if stops[k] < n else None
    return Drawdown(
        depth=depth,
        peak=peak,
        trough=trough,
        recovery=recovery,
        peak_date=d[peak],
        trough_date=d[trough],
        recovery_date=None if recovery is None else d[recovery],
        longest_sessions=int(spell_end[longest] - spell_peak[longest]),
        longest_days=int(spell_days[longest]),
        longest_start=int(spell_peak[longest]),
        longest_end=int(spell_end[longest]),
        longest_depth=float(np.min(path[spell_peak[longest] : spell_end[longest] + 1])),
    )


def calmar(cagr: float, max_drawdown: float) -> float:
    """Calmar ratio ``cagr / abs(max_drawdown)``.

    Parameters
    ----------
    cagr : float
        Compound annual growth rate over the whole series (:func:`cagr`).
    max_drawdown : float
        Maximum drawdown over the same series (``Drawdown.depth``), <= 0.

    Returns
    -------
    float
        NaN when the maximum drawdown is 0 (or either input is NaN).

    Notes
    -----
    Young (1991) used the last 36 months; like empyrical's ``calmar_ratio`` we use the whole
    backtest for both the growth rate and the drawdown.

    References
    ----------
    Young, T. W. (1991). Calmar ratio: a smoother tool. *Futures* 20(1), 40.
    """
    if not abs(max_drawdown) > 0.0 or math.isnan(cagr):
        return math.nan
    return cagr / abs(max_drawdown)


# ----------------------------------------------------------------------------- trades


def win_rate(trade_returns: FloatArray) -> float:
    """Share of closed trades with a positive return.

    Parameters
    ----------
    trade_returns : (k,) float64 array
        Returns of closed trades, net of fees.

    Returns
    -------
    float
        In [0, 1]; NaN without trades. A trade returning exactly 0 is not a win.
    """
    r = np.asarray(trade_returns, dtype=np.float64)
    if r.size == 0:
        return math.nan
    return float(np.mean(r > 0.0))


def profit_factor(trade_pnl: FloatArray) -> float | str:
    """Gross profit over gross loss: ``sum(pnl[pnl > 0]) / abs(sum(pnl[pnl < 0]))``.

    Parameters
    ----------
    trade_pnl : (k,) float64 array
        Profit and loss of closed trades, net of fees.

    Returns
    -------
    float or str
        The ratio; ``"no losing trades"`` when there are gains and no losses, or losses within
        rounding noise of zero next to the gains (empyrical gives ``inf``, which no reader can
        use); NaN without trades or when every trade broke even.
    """
    p = np.asarray(trade_pnl, dtype=np.float64)
    gains = float(p[p > 0.0].sum())
    losses = -float(p[p < 0.0].sum())
    if losses > _NOISE_EPS * gains:
        return gains / losses
    return "no losing trades" if gains > 0.0 else (gains / losses if losses > 0 else math.nan)


def time_in_market(exposure: BoolArray) -> float:
    """Share of sessions after the first with a position open at the close.

    Parameters
    ----------
    exposure : (T,) bool array
        True where any position is open at the session's close.

    Returns
    -------
    float
        ``mean(exposure[1:])``, in [0, 1]; the first session is left out because it earns no
        return (it only sets the initial value). NaN for fewer than two sessions.
    """
    e = np.asarray(exposure, dtype=np.bool_)
    if e.size < 2:
        return math.nan
    return float(np.mean(e[1:]))


def _mean_or_nan(x: FloatArray | None) -> float:
    return math.nan if x is None or x.size == 0 else float(np.mean(x))


def _median_or_nan(x: FloatArray | None) -> float:
    return math.nan if x is None or x.size == 0 else float(np.median(x))


def t_statistic(x: FloatArray) -> float:
    """One-sample t-statistic of the mean: ``mean(x) / (std(x, ddof=1) / sqrt(n))``.

    Parameters
    ----------
    x : (n,) float64 array
        E.g. the returns of closed trades.

    Returns
    -------
    float
        NaN with fewer than two values or when they do not vary (within rounding).

    Notes
    -----
    Under H0: mean = 0 with independent, normally distributed values it has Student's t
    distribution with ``n - 1`` degrees of freedom. Trades of one strategy are rarely
    independent (overlapping holds, common market moves), so read it as a scale, not a test.
    """
    r = np.asarray(x, dtype=np.float64)
    if r.size < 2:
        return math.nan
    sd = float(np.std(r, ddof=1))
    if _is_noise(sd, r):
        return math.nan
    return float(np.mean(r) / (sd / math.sqrt(r.size)))


def bootstrap_mean_interval(
    x: FloatArray,
    *,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (Efron and Tibshirani 1993, ch. 13).

    Parameters
    ----------
    x : (n,) float64 array
    level : float, default 0.95
    resamples, seed : int
        ``resamples`` samples of ``n`` values drawn with replacement by
        ``numpy.random.default_rng(seed)``; the interval is the ``(1 - level) / 2`` and
        ``(1 + level) / 2`` quantiles of their means (NumPy's default, linear interpolation).

    Returns
    -------
    (float, float)
        NaN, NaN with fewer than two values.
    """
    r = np.asarray(x, dtype=np.float64)
    if r.size < 2:
        return math.nan, math.nan
    means = _resampled_means(r[None, :], r.size, resamples, seed)[0]
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _resampled_means(x: FloatArray, n: int, resamples: int, seed: int) -> FloatArray:
    """(m, resamples) means of the rows of ``x`` (m, n) over the same bootstrap samples:
    ``resamples`` draws of ``n`` positions with replacement from ``default_rng(seed)``, made
    in blocks of at most ~4M positions."""
    rng = np.random.default_rng(seed)
    out = np.empty((x.shape[0], resamples))
    block = max(1, min(resamples, 4_000_000 // max(n, 1)))
    for a in range(0, resamples, block):
        b = min(resamples, a + block)
        idx = rng.integers(0, n, size=(b - a, n), dtype=np.int64)
        for i in range(x.shape[0]):
            out[i, a:b] = x[i][idx].mean(axis=1)
    return out


def trade_statistics(
    trade_returns: npt.ArrayLike,
    *,
    bench_returns: npt.ArrayLike,
    directions: npt.ArrayLike,
    sizes: npt.ArrayLike,
    sessions: npt.ArrayLike,
    periods_per_year: float,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, float | int | str]:
    """Trade-level statistics of one strategy and combination.

    Parameters
    ----------
    trade_returns : (k,) array-like
        Return of each closed trade on its capital (P&L / size), net of costs.
    bench_returns : (k,) array-like
        The benchmark's return over the same sessions as each trade (entry to exit, at the
        same kind of price), before costs.
    directions : (k,) array-like
        +1 (long) or -1 (short) per trade.
    sizes : (k,) array-like
        Capital of each trade (the value bought or sold short at entry).
    sessions : (k,) array-like
        Sessions each trade was held (exit session minus entry session).
    periods_per_year : float
        Sessions per year, to annualise the returns while invested.
    resamples, seed : int
        Of the bootstrap (see :func:`bootstrap_mean_interval`); both means are resampled with
        the same draws (a trade and its benchmark stay together).

    Returns
    -------
    dict
        ``n_trades``; ``mean_trade_return``, ``median_trade_return``, ``trade_t`` (see
        :func:`t_statistic`), ``trade_lo`` / ``trade_hi`` (bootstrap 95% interval of the mean);
        the same for the excess return ``r - direction * r_bench`` (the trade beyond the same
        position in the benchmark): ``mean_excess_return``, ``excess_t``, ``excess_lo``,
        ``excess_hi``; ``return_while_invested`` = ``sum(size * r) / sum(size * sessions) *
        ppy`` (profit per unit of capital in positions per session, annualised
        arithmetically) and ``bench_while_invested``, the same for holding the benchmark long
        over the same sessions with the same capital (costs left out); ``warning``:
        :data:`FEW_TRADES` below :data:`MIN_TRADES` trades, else "".

    Examples
    --------
    >>> s = trade_statistics([0.02, -0.01, 0.03], bench_returns=[0.01, 0.0, 0.01],
    ...                      directions=[1, 1, 1], sizes=[10_000.0] * 3, sessions=[5, 5, 10],
    ...                      periods_per_year=252.0)
    >>> round(s["mean_trade_return"], 4), round(s["mean_excess_return"], 4), s["warning"]
    (0.0133, 0.0067, 'too few trades to judge')
    >>> round(s["return_while_invested"], 4)  # 400 / (10,000 x 20) x 252
    0.504
    """
    r = np.asarray(trade_returns, dtype=np.float64)
    b = np.asarray(bench_returns, dtype=np.float64)
    d = np.asarray(directions, dtype=np.float64)
    size = np.asarray(sizes, dtype=np.float64)
    held = np.asarray(sessions, dtype=np.float64)
    n = int(r.size)
    excess = r - d * b
    lo = hi = elo = ehi = math.nan
    if n >= 2:  # both means over the same samples: a trade stays with its benchmark
        means = _resampled_means(np.vstack([r, excess]), n, resamples, seed)
        q = [0.025, 0.975]
        lo, hi = (float(v) for v in np.quantile(means[0], q))
        elo, ehi = (float(v) for v in np.quantile(means[1], q))
    capital = float(np.sum(size * held))
    per_year = periods_per_year / capital if capital > 0 else math.nan
    return {
        "n_trades": n,
        "mean_trade_return": _mean_or_nan(r),
        "median_trade_return": _median_or_nan(r),
        "trade_t": t_statistic(r),
        "trade_lo": lo,
        "trade_hi": hi,
        "mean_excess_return": _mean_or_nan(excess),
        "excess_t": t_statistic(excess),
        "excess_lo": elo,
        "excess_hi": ehi,
        "return_while_invested": float(np.sum(size * r)) * per_year,
        "bench_while_invested": float(np.sum(size * b)) * per_year,
        "warning": FEW_TRADES if n < MIN_TRADES else "",
    }


# ----------------------------------------------------------------------------- benchmark


@dataclass(frozen=True)
class AlphaBeta:
    """Jensen's alpha and the beta of a portfolio against a benchmark.

    Attributes
    ----------
    alpha:
        Annualised alpha, ``intercept * periods_per_year`` (arithmetic, not compounded).
    beta:
        Slope of the portfolio's excess returns on the benchmark's.
    intercept:
        Per-session OLS intercept.
    """

    alpha: float
    beta: float
    intercept: float


def alpha_beta(
    returns: FloatArray,
    bench_returns: FloatArray,
    periods_per_year: float,
    rf_per_period: float = 0.0,
) -> AlphaBeta:
    """Jensen's alpha and beta by OLS of portfolio on benchmark excess returns.

    Parameters
    ----------
    returns : (N,) float64 array
        Per-session portfolio returns ``r``.
    bench_returns : (N,) float64 array
        Per-session benchmark returns ``r_b`` on the same sessions.
    periods_per_year : float
        Sessions per year ``ppy``.
    rf_per_period : float, default 0.0
        Risk-free rate per session ``rf_d``.

    Returns
    -------
    AlphaBeta
        All NaN with fewer than two returns or when the benchmark returns do not vary.

    Notes
    -----
    Fits ``r - rf_d = a + b (r_b - rf_d) + e`` by OLS (Jensen 1968; with ``rf_d = 0`` this is
    the plain regression of ``r`` on ``r_b``). ``b = cov(x, y) / var(x)`` with the same
    ``ddof`` in both, so it does not matter which; ``a = mean(y) - b mean(x)``.

    The alpha is annualised *arithmetically*, ``alpha = a * ppy``: the intercept is a mean
    per-session return, and annualising means linearly is the convention of the Sharpe ratio
    beside it (``mean * ppy / (std * sqrt(ppy))``) and of Jensen's alpha in the literature;
    it is additive across sources of return and symmetric in sign. empyrical instead compounds,
    ``(1 + a) ** ppy - 1``, which is not the return of any strategy (the regression does not
    compound) and exaggerates large alphas; the two agree to first order for small ``a``.

    References
    ----------
    Jensen, M. C. (1968). The performance of mutual funds in the period 1945-1964. *Journal of
    Finance* 23(2), 389-416.
    """
    y = np.asarray(returns, dtype=np.float64) - rf_per_period
    x = np.asarray(bench_returns, dtype=np.float64) - rf_per_period
    nan = AlphaBeta(math.nan, math.nan, math.nan)
    if x.size < 2:
        return nan
    xc = x - np.mean(x)
    var = float(np.mean(xc**2))
    if _is_noise(math.sqrt(var), x):
        return nan
    beta = float(np.mean(xc * (y - np.mean(y)))) / var
    intercept = float(np.mean(y)) - beta * float(np.mean(x))
    return AlphaBeta(alpha=intercept * periods_per_year, beta=beta, intercept=intercept)


# ----------------------------------------------------------------------------- inputs


def _float_vector(parameter: str, data: npt.ArrayLike, n: int | None) -> FloatArray:
    """A 1-D float64 copy of ``data``, of length ``n`` when given."""
    try:
        arr = np.array(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetricsInputError(parameter, f"is not numeric ({exc})") from None
    if arr.ndim != 1:
        raise MetricsInputError(
            parameter, f"has shape {arr.shape}; expected one value per session, 1-D"
        )
    if n is not None and arr.size != n:
        raise MetricsInputError(
            parameter, f"has {arr.size} entries but value has {n}; give one per session"
        )
    return arr


def _when(date: np.datetime64) -> str:
    """A date as ISO text, with a time of day only when it has one."""
    return str(np.datetime_as_string(date, unit="auto"))


def _bad_positions(parameter: str, bad: BoolArray, labels: DateArray | None, what: str) -> None:
    """Raise naming the first few positions (with their dates) where ``bad`` holds."""
    if not bad.any():
        return
    where = np.flatnonzero(bad)
    shown = [_when(labels[i]) if labels is not None else f"#{i}" for i in where[:5]]
    more = ", ..." if where.size > 5 else ""
    raise MetricsInputError(
        parameter,
        f"{what} at {where.size} position{'s' if where.size != 1 else ''} "
        f"({', '.join(shown)}{more})",
        "fill or drop those sessions before computing metrics",
    )


def _dates(data: npt.ArrayLike, n: int) -> DateArray:
    arr = np.asarray(data)
    if not np.issubdtype(arr.dtype, np.datetime64):
        raise MetricsInputError(
            "dates",
            f"has dtype {arr.dtype}; expected tz-naive datetime64 session dates",
            "pass a numpy datetime64 array or a DatetimeIndex; for a tz-aware index use "
            "index.tz_localize(None)",
        )
    if arr.ndim != 1 or arr.size != n:
        raise MetricsInputError(
            "dates", f"has shape {arr.shape} but value has {n} sessions; give one date per session"
        )
    d = arr.astype("datetime64[ns]")
    _bad_positions("dates", np.isnat(d), None, "NaT")
    not_increasing = np.flatnonzero(d[1:] <= d[:-1])
    if not_increasing.size:
        i = int(not_increasing[0])
        raise MetricsInputError(
            "dates",
            f"are not strictly increasing: #{i} {_when(d[i])} is followed by #{i + 1} "
            f"{_when(d[i + 1])}",
            "sort the sessions and remove duplicates",
        )
    return d


def _positive_start(parameter: str, v: FloatArray, d: DateArray) -> FloatArray:
    _bad_positions(parameter, ~np.isfinite(v), d, "NaN or infinite values")
    if not v[0] > 0.0:
        raise MetricsInputError(
            parameter,
            f"starts at {float(v[0])!r}; the first value (the initial capital) must be > 0",
        )
    return v


def _optional_trades(parameter: str, data: npt.ArrayLike | None) -> FloatArray | None:
    if data is None:
        return None
    arr = _float_vector(parameter, data, None)
    _bad_positions(parameter, ~np.isfinite(arr), None, "NaN or infinite values")
    return arr


@dataclass(frozen=True)
class MetricInputs:
    """Validated inputs and the intermediate results every metric reads.

    Built once by :meth:`from_arrays` (the only place inputs are checked); each
    :attr:`Metric.compute` is a function of it. Arrays are private copies.

    Attributes
    ----------
    value, dates:
        (T,) portfolio value and ``datetime64[ns]`` session dates.
    returns:
        (T - 1,) per-session simple returns.
    years, periods_per_year:
        Calendar span in years and estimated sessions per year.
    risk_free, rf_per_period:
        Annual risk-free rate and its per-session equivalent.
    drawdown:
        The :class:`Drawdown` of ``value``.
    trade_returns, trade_pnl, exposure:
        As given (validated), or ``None``.
    bench_value, bench_returns:
        The benchmark and its returns, or ``None``.
    alpha_beta:
        Against the benchmark; NaN fields without one.
    """

    value: FloatArray
    dates: DateArray
    returns: FloatArray
    years: float
    periods_per_year: float
    risk_free: float
    rf_per_period: float
    drawdown: Drawdown
    trade_returns: FloatArray | None
    trade_pnl: FloatArray | None
    exposure: BoolArray | None
    bench_value: FloatArray | None
    bench_returns: FloatArray | None
    alpha_beta: AlphaBeta

    @classmethod
    def from_arrays(
        cls,
        value: npt.ArrayLike,
        dates: npt.ArrayLike,
        *,
        trade_returns: npt.ArrayLike | None = None,
        trade_pnl: npt.ArrayLike | None = None,
        exposure: npt.ArrayLike | None = None,
        bench_value: npt.ArrayLike | None = None,
        risk_free: float = 0.0,
    ) -> MetricInputs:
        """Validate the inputs of :func:`compute_metrics` and derive the shared series.

        Raises
        ------
        MetricsInputError
            Naming the parameter, what is wrong and what to do.
        """
        v = _float_vector("value", value, None)
        if v.size < 2:
            raise MetricsInputError(
                "value",
                f"has {v.size} session{'s' if v.size != 1 else ''}; metrics need at least 2 "
                "(the initial value and one more)",
            )
        d = _dates(dates, v.size)
        _positive_start("value", v, d)

        tr = _optional_trades("trade_returns", trade_returns)
        tp = _optional_trades("trade_pnl", trade_pnl)
        if tr is not None and tp is not None and tr.size != tp.size:
            raise MetricsInputError(
                "trade_pnl",
                f"has {tp.size} trades but trade_returns has {tr.size}; give both per trade",
            )

        e: BoolArray | None = None
        if exposure is not None:
            e = np.array(exposure)
            if e.dtype != np.bool_:
                raise MetricsInputError(
                    "exposure",
                    f"has dtype {e.dtype}; expected bool (True where a position is open)",
                )
            if e.ndim != 1 or e.size != v.size:
                raise MetricsInputError(
                    "exposure", f"has shape {e.shape} but value has {v.size} sessions"
                )

        b = rb = None
        if bench_value is not None:
            b = _positive_start("bench_value", _float_vector("bench_value", bench_value, v.size), d)
            rb = simple_returns(b)

        rf = float(risk_free)
        if not (math.isfinite(rf) and rf > -1.0):
            raise MetricsInputError(
                "risk_free", f"is {risk_free!r}; expected a finite annual rate above -1, e.g. 0.04"
            )

        years = years_spanned(d)
        ppy = sessions_per_year(d)
        rf_d = per_period_rate(rf, ppy)
        r = simple_returns(v)
        ab = alpha_beta(r, rb, ppy, rf_d) if rb is not None else AlphaBeta(*[math.nan] * 3)
        return cls(
            value=v,
            dates=d,
            returns=r,
            years=years,
            periods_per_year=ppy,
            risk_free=rf,
            rf_per_period=rf_d,
            drawdown=max_drawdown(v, d),
            trade_returns=tr,
            trade_pnl=tp,
            exposure=e,
            bench_value=b,
            bench_returns=rb,
            alpha_beta=ab,
        )

    @property
    def n_trades(self) -> int | None:
        """Closed trades, or ``None`` when no trade data was given."""
        for trades in (self.trade_returns, self.trade_pnl):
            if trades is not None:
                return int(trades.size)
        return None


# ----------------------------------------------------------------------------- declared list


@dataclass(frozen=True)
class Metric:
    """One entry of the declared list :data:`METRICS`.

    Attributes
    ----------
    name:
        Key in :func:`compute_metrics`' output, e.g. ``"sharpe"``.
    title:
        Display title, e.g. ``"Sharpe ratio"``.
    fmt:
        How reports format it: ``"pct"``, ``"ratio"``, ``"int"``, ``"days"``, ``"date"`` or
        ``"text"``
        (see :func:`format_metric`).
    description:
        One sentence for reports' tooltips.
    compute:
        The function computing it from the validated :class:`MetricInputs`.
    """

    name: str
    title: str
    fmt: Format
    description: str
    compute: Callable[[MetricInputs], MetricValue] = field(repr=False, compare=False)


def _date_at(m: MetricInputs, i: int | None) -> np.datetime64 | None:
    return None if i is None else m.dates[i]


def _bench_total_return(m: MetricInputs) -> float:
    return math.nan if m.bench_value is None else total_return(m.bench_value)


def _excess_return(m: MetricInputs) -> float:
    return total_return(m.value) - _bench_total_return(m)


#: Every metric, in report order.
METRICS: tuple[Metric, ...] = (
    Metric("start", "Start", "date", "First session of the backtest.", lambda m: m.dates[0]),
    Metric("end", "End", "date", "Last session of the backtest.", lambda m: m.dates[-1]),
    Metric(
        "sessions",
        "Sessions",
        "int",
        "Number of sessions, including the first.",
        lambda m: int(m.value.size),
    ),
    Metric(
        "periods_per_year",
        "Sessions per year",
        "ratio",
        "Sessions per calendar year estimated from the dates; annualises the ratios.",
        lambda m: m.periods_per_year,
    ),
    Metric(
        "total_return",
        "Total return",
        "pct",
        "Final value over initial value, minus one.",
        lambda m: total_return(m.value),
    ),
    Metric(
        "cagr",
        "CAGR",
        "pct",
        "Compound annual growth rate over the calendar span.",
        lambda m: cagr(m.value, m.years),
    ),
    Metric(
        "annual_volatility",
        "Annual volatility",
        "pct",
        "Standard deviation of session returns, annualised by the square root of time.",
        lambda m: annual_volatility(m.returns, m.periods_per_year),
    ),
    Metric(
        "sharpe",
        "Sharpe ratio",
        "ratio",
        "Mean excess return over its standard deviation, annualised (Sharpe 1994).",
        lambda m: sharpe(m.returns, m.periods_per_year, m.rf_per_period),
    ),
    Metric(
        "sortino",
        "Sortino ratio",
        "ratio",
        "Mean excess return over the downside deviation, annualised (Sortino 1991).",
        lambda m: sortino(m.returns, m.periods_per_year, m.rf_per_period),
    ),
    Metric(
        "calmar",
        "Calmar ratio",
        "ratio",
        "CAGR over the absolute maximum drawdown (Young 1991).",
        lambda m: calmar(cagr(m.value, m.years), m.drawdown.depth),
    ),
    Metric(
        "max_drawdown",
        "Max drawdown",
        "pct",
        "Largest fall from a running high to a later low.",
        lambda m: m.drawdown.depth,
    ),
    Metric(
        "max_drawdown_peak",
        "Max drawdown peak",
        "date",
        "Session of the high the maximum drawdown fell from.",
        lambda m: m.drawdown.peak_date,
    ),
    Metric(
        "max_drawdown_trough",
        "Max drawdown trough",
        "date",
        "Session of the low of the maximum drawdown.",
        lambda m: m.drawdown.trough_date,
    ),
    Metric(
        "max_drawdown_recovery",
        "Max drawdown recovery",
        "date",
        "First session after the trough back at the peak value; empty if not recovered.",
        lambda m: m.drawdown.recovery_date,
    ),
    Metric(
        "max_drawdown_duration",
        "Longest drawdown",
        "days",
        "Longest time under water in calendar days, high to recovery or to the end "
        "(not necessarily the deepest drawdown).",
        lambda m: m.drawdown.longest_days,
    ),
    Metric(
        "max_drawdown_duration_sessions",
        "Longest drawdown (sessions)",
        "int",
        "The longest time under water counted in sessions.",
        lambda m: m.drawdown.longest_sessions,
    ),
    Metric(
        "max_drawdown_duration_start",
        "Longest drawdown from",
        "date",
        "Session of the high the longest time under water started from; empty if never under.",
        lambda m: _date_at(m, m.drawdown.longest_start),
    ),
    Metric(
        "max_drawdown_duration_end",
        "Longest drawdown to",
        "date",
        "Session it recovered (or the last session, if not recovered); empty if never under.",
        lambda m: _date_at(m, m.drawdown.longest_end),
    ),
    Metric(
        "max_drawdown_duration_depth",
        "Longest drawdown depth",
        "pct",
        "The deepest fall within the longest time under water.",
        lambda m: m.drawdown.longest_depth,
    ),
    Metric("n_trades", "Trades", "int", "Number of closed trades.", lambda m: m.n_trades),
    Metric(
        "win_rate",
        "Win rate",
        "pct",
        "Share of closed trades with a positive return.",
        lambda m: math.nan if m.trade_returns is None else win_rate(m.trade_returns),
    ),
    Metric(
        "avg_trade_return",
        "Average trade return",
        "pct",
        "Mean return of closed trades, net of fees.",
        lambda m: _mean_or_nan(m.trade_returns),
    ),
    Metric(
        "median_trade_return",
        "Median trade return",
        "pct",
        "Median return of closed trades, net of fees.",
        lambda m: _median_or_nan(m.trade_returns),
    ),
    Metric(
        "trade_t",
        "Trade t",
        "ratio",
        "t-statistic of the mean trade return (mean over its standard error).",
        lambda m: math.nan if m.trade_returns is None else t_statistic(m.trade_returns),
    ),
    Metric(
        "profit_factor",
        "Profit factor",
        "ratio",
        "Gross profit of winning trades over gross loss of losing trades "
        "('no losing trades' when there is none).",
        lambda m: math.nan if m.trade_pnl is None else profit_factor(m.trade_pnl),
    ),
    Metric(
        "exposure",
        "Exposure",
        "pct",
        "Share of sessions (after the first) with a position open at the close.",
        lambda m: math.nan if m.exposure is None else time_in_market(m.exposure),
    ),
    Metric(
        "alpha",
        "Alpha (annual)",
        "pct",
        "Jensen's alpha against the benchmark: OLS intercept times sessions per year.",
        lambda m: m.alpha_beta.alpha,
    ),
    Metric(
        "beta",
        "Beta",
        "ratio",
        "OLS slope of excess returns on the benchmark's excess returns.",
        lambda m: m.alpha_beta.beta,
    ),
    Metric(
        "bench_total_return",
        "Benchmark total return",
        "pct",
        "Total return of the benchmark over the same sessions.",
        _bench_total_return,
    ),
    Metric(
        "excess_return",
        "Excess return",
        "pct",
        "Total return minus the benchmark's total return.",
        _excess_return,
    ),
    Metric(
        "warning",
        "Warning",
        "text",
        f"'{FEW_TRADES}' with fewer than {MIN_TRADES} closed trades.",
        lambda m: "" if m.n_trades is None else (FEW_TRADES if m.n_trades < MIN_TRADES else ""),
    ),
)

_BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}


def compute_metrics(
    value: npt.ArrayLike,
    dates: npt.ArrayLike,
    *,
    trade_returns: npt.ArrayLike | None = None,
    trade_pnl: npt.ArrayLike | None = None,
    exposure: npt.ArrayLike | None = None,
    bench_value: npt.ArrayLike | None = None,
    risk_free: float = 0.0,
) -> dict[str, MetricValue]:
    """Every metric of :data:`METRICS` for one portfolio (or a buy-and-hold series).

    Parameters
    ----------
    value : (T,) array-like of float
        Portfolio value per session (cash plus positions), T >= 2; ``value[0]`` is the initial
        capital and must be positive. NaN or infinite values are rejected.
    dates : (T,) array-like of datetime64
        Session dates, tz-naive, strictly increasing (a ``DatetimeIndex`` will do).
    trade_returns : (k,) array-like of float, optional
        Returns of closed trades, net of fees; k may be 0.
    trade_pnl : (k,) array-like of float, optional
        Profit and loss of the same trades.
    exposure : (T,) array-like of bool, optional
        True where any position is open at the session's close.
    bench_value : (T,) array-like of float, optional
        Benchmark price or value on the same sessions.
    risk_free : float, default 0.0
        Annual risk-free rate, converted to ``(1 + rf) ** (1 / ppy) - 1`` per session.

    Returns
    -------
    dict
        ``{metric.name: value}`` for every metric of :data:`METRICS`, in that order: floats
        (NaN where not computable), ints, ``numpy.datetime64`` dates, and ``None`` for a date
        that does not exist (no drawdown, not recovered) or ``n_trades`` without trade data.

    Raises
    ------
    MetricsInputError
        (a ``ValueError``) naming the parameter, the problem and the fix: NaN in ``value``,
        length mismatches, fewer than two sessions, unsorted dates, non-bool exposure, ...

    See Also
    --------
    METRICS : definitions, titles and formats; each kernel documents its formula.
    metrics_frame : several portfolios side by side.

    Examples
    --------
    >>> import numpy as np
    >>> dates = np.array(["2024-01-02", "2024-04-01", "2024-07-01", "2024-12-31"],
    ...                  dtype="datetime64[ns]")
    >>> m = compute_metrics([100.0, 110.0, 99.0, 120.0], dates)
    >>> round(m["max_drawdown"], 4), str(m["max_drawdown_recovery"])[:10]
    (-0.1, '2024-12-31')
    """
    inputs = MetricInputs.from_arrays(
        value,
        dates,
        trade_returns=trade_returns,
        trade_pnl=trade_pnl,
        exposure=exposure,
        bench_value=bench_value,
        risk_free=risk_free,
    )
    return {m.name: m.compute(inputs) for m in METRICS}


# ----------------------------------------------------------------------------- presentation

_FORMATS: frozenset[str] = frozenset(get_args(Format))


def format_metric(metric: Metric, value: Any) -> str:
    """Render one metric value as text for a report.

    Parameters
    ----------
    metric : Metric
        Its entry in :data:`METRICS`; ``metric.fmt`` chooses the format.
    value : float, int, datetime64, Timestamp or None
        The value, as :func:`compute_metrics` or :func:`metrics_frame` hold it.

    Returns
    -------
    str
        ``"pct"``: ``"12.34%"``; ``"ratio"``: ``"1.23"``; ``"int"``: ``"17"``; ``"days"``:
        ``"45 d"``; ``"date"``: ``"2024-01-05"``; text as it is (a metric that is a word,
        such as ``"no losing trades"``, shows as that word). Missing values (None, NaN, NaT,
        NA) give ``"—"``; infinite ones ``"∞"`` or ``"-∞"``.

    Examples
    --------
    >>> sharpe_metric = next(m for m in METRICS if m.name == "sharpe")
    >>> format_metric(sharpe_metric, 1.2345), format_metric(sharpe_metric, float("nan"))
    ('1.23', '—')
    """
    if metric.fmt not in _FORMATS:
        raise ValueError(f"metric {metric.name!r}: unknown format {metric.fmt!r}")
    if isinstance(value, str):  # a word instead of a number (e.g. "no losing trades")
        return value
    if value is None or bool(pd.isna(value)):
        return "—"
    if metric.fmt == "date":
        return str(np.datetime64(value, "D"))
    x = float(value)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if metric.fmt == "pct":
        return f"{x * 100.0:.2f}%"
    if metric.fmt == "ratio":
        return f"{x:.2f}"
    if metric.fmt == "int":
        return f"{round(x):d}"
    return f"{round(x):d} d"


def metrics_frame(rows: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Several portfolios' metrics side by side, one row each.

    Parameters
    ----------
    rows : mapping of label to metrics
        ``{label: compute_metrics(...)}``, e.g. ``{"strategy": ..., "buy and hold": ...}``.
        A metric a row lacks is missing (NaN / NaT / NA) in that row.

    Returns
    -------
    pandas.DataFrame
        Index ``label`` (the rows' keys, in order), one column per metric of :data:`METRICS`
        in that order: ``datetime64[ns]`` for dates, nullable ``Int64`` for counts and days,
        float64 otherwise.

    Raises
    ------
    ValueError
        A row has a key that is not a metric name.
    """
    for label, row in rows.items():
        unknown = sorted(set(row) - _BY_NAME.keys())
        if unknown:
            raise ValueError(
                f"metrics_frame: row {label!r} has keys that are not metrics: {unknown}; "
                "rows must come from compute_metrics"
            )
    columns: dict[str, Any] = {}
    for m in METRICS:
        cells: list[Any] = [row.get(m.name) for row in rows.values()]
        missing = [c is None or bool(pd.isna(c)) for c in cells]
        if m.fmt == "date":
            columns[m.name] = pd.array(
                [None if gone else c for c, gone in zip(cells, missing, strict=True)],
                dtype="datetime64[ns]",
            )
        elif m.fmt == "text" or any(isinstance(c, str) for c in cells):
            columns[m.name] = np.array(
                [None if (gone and not isinstance(c, str)) else c
                 for c, gone in zip(cells, missing, strict=True)],
                dtype=object,
            )  # fmt: skip
        elif m.fmt in ("int", "days"):
            columns[m.name] = pd.array(
                [None if gone else int(c) for c, gone in zip(cells, missing, strict=True)],
                dtype="Int64",
            )
        else:
            columns[m.name] = np.array(
                [math.nan if gone else float(c) for c, gone in zip(cells, missing, strict=True)],
                dtype=np.float64,
            )
    return pd.DataFrame(columns, index=pd.Index(list(rows), name="label"))
