"""Tests of :mod:`backtest.portfolio.metrics`.

Every expected value is either worked out by hand in the test (the arithmetic is written next to
it, with exact fractions where possible, and day counts checked against ``datetime.date``), or
comes from a slow loop oracle written independently of the vectorised kernel, or is a
metamorphic relation (scaling, shifting, stretching time) that the definitions imply.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import warnings
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backtest.portfolio.metrics import (
    METRICS,
    Metric,
    MetricsInputError,
    alpha_beta,
    cagr,
    compute_metrics,
    format_metric,
    max_drawdown,
    metrics_frame,
    per_period_rate,
    profit_factor,
    sessions_per_year,
    sharpe,
    simple_returns,
    sortino,
    total_return,
    win_rate,
    years_spanned,
)

BY_NAME = {m.name: m for m in METRICS}


def days(*iso: str) -> np.ndarray:
    return np.array(iso, dtype="datetime64[ns]")


def same(a: Any, b: Any) -> bool:
    """Equality that treats NaN as equal to NaN and compares dates exactly."""
    if a is None or b is None:
        return a is b
    if isinstance(a, np.datetime64) or isinstance(b, np.datetime64):
        return bool(np.datetime64(a, "ns") == np.datetime64(b, "ns"))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return bool(a == b)


def assert_same_metrics(got: dict[str, Any], want: dict[str, Any], rel: float = 0.0) -> None:
    assert list(got) == list(want)
    for key in got:
        a, b = got[key], want[key]
        if rel and isinstance(a, float) and isinstance(b, float) and math.isfinite(b):
            assert a == pytest.approx(b, rel=rel, abs=1e-12), key
        else:
            assert same(a, b), (key, a, b)


# ----------------------------------------------------------------------------- the hand case
#
# value [100, 110, 99, 120] on 2024-01-02, 2024-04-01, 2024-07-01, 2024-12-31.
# returns: 110/100 - 1 = 1/10; 99/110 - 1 = -1/10; 120/99 - 1 = 21/99 = 7/33.
# span: 2024-01-02 -> 2024-12-31 = 364 days (checked against datetime.date below), so
# years = 364 / 365.25 and ppy = 3 / years.

HAND_VALUE = [100.0, 110.0, 99.0, 120.0]
HAND_DATES = days("2024-01-02", "2024-04-01", "2024-07-01", "2024-12-31")
HAND_RETURNS = [Fraction(1, 10), Fraction(-1, 10), Fraction(7, 33)]
HAND_YEARS = 364 / 365.25
HAND_PPY = 3 / HAND_YEARS
# mean = (1/10 - 1/10 + 7/33) / 3 = 7/99
HAND_MEAN = Fraction(7, 99)
# deviations from the mean, over 990: 99-70 = 29, -99-70 = -169, 210-70 = 140;
# sum of squares = (29^2 + 169^2 + 140^2) / 990^2 = (841 + 28561 + 19600) / 980100 = 49002 / 980100;
# sample variance = 24501 / 980100, so std = sqrt(24501) / 990.
HAND_STD = math.sqrt(24501) / 990


def test_hand_case_day_counts_from_the_calendar() -> None:
    assert (dt.date(2024, 12, 31) - dt.date(2024, 1, 2)).days == 364
    assert (dt.date(2024, 12, 31) - dt.date(2024, 4, 1)).days == 274
    assert years_spanned(HAND_DATES) == pytest.approx(HAND_YEARS, rel=1e-15)
    assert sessions_per_year(HAND_DATES) == pytest.approx(HAND_PPY, rel=1e-15)


def test_hand_case_fractions_are_consistent() -> None:
    # the returns and the moments above, recomputed exactly from the values
    values = [Fraction(int(v)) for v in HAND_VALUE]
    assert [b / a - 1 for a, b in itertools.pairwise(values)] == HAND_RETURNS
    assert sum(HAND_RETURNS) / 3 == HAND_MEAN
    assert sum((r - HAND_MEAN) ** 2 for r in HAND_RETURNS) / 2 == Fraction(24501, 980100)


def test_hand_case() -> None:
    m = compute_metrics(HAND_VALUE, HAND_DATES)
    np.testing.assert_allclose(
        simple_returns(np.array(HAND_VALUE)), [float(r) for r in HAND_RETURNS], rtol=1e-14
    )
    assert m["start"] == HAND_DATES[0]
    assert m["end"] == HAND_DATES[-1]
    assert m["sessions"] == 4
    assert m["periods_per_year"] == pytest.approx(HAND_PPY, rel=1e-14)
    assert m["total_return"] == pytest.approx(0.2, rel=1e-14)  # 120/100 - 1
    # CAGR over the exact day count: 1.2 ** (365.25 / 364) - 1
    assert m["cagr"] == pytest.approx(1.2 ** (365.25 / 364) - 1, rel=1e-12)
    assert m["annual_volatility"] == pytest.approx(HAND_STD * math.sqrt(HAND_PPY), rel=1e-12)
    # Sharpe = (7/99) / (sqrt(24501)/990) * sqrt(ppy) = 70 / sqrt(24501) * sqrt(ppy)
    assert m["sharpe"] == pytest.approx(70 / math.sqrt(24501) * math.sqrt(HAND_PPY), rel=1e-12)
    # downside: min(r, 0) = [0, -1/10, 0]; mean of squares = (1/100) / 3 = 1/300
    # Sortino = (7/99) / sqrt(1/300) * sqrt(ppy)
    assert m["sortino"] == pytest.approx(7 / 99 * math.sqrt(300) * math.sqrt(HAND_PPY), rel=1e-12)
    # drawdown: running high [100, 110, 110, 120]; 99/110 - 1 = -1/10 from 04-01 to 07-01,
    # recovered on 12-31 (120 >= 110)
    assert m["max_drawdown"] == pytest.approx(-0.1, rel=1e-14)
    assert m["max_drawdown_peak"] == np.datetime64("2024-04-01", "ns")
    assert m["max_drawdown_trough"] == np.datetime64("2024-07-01", "ns")
    assert m["max_drawdown_recovery"] == np.datetime64("2024-12-31", "ns")
    # the only spell under water: 04-01 (high) to 12-31 (recovery): 2 sessions, 274 days
    assert m["max_drawdown_duration"] == 274
    assert m["max_drawdown_duration_sessions"] == 2
    assert m["calmar"] == pytest.approx((1.2 ** (365.25 / 364) - 1) / 0.1, rel=1e-12)
    # no trade data, exposure or benchmark: not applicable
    assert m["n_trades"] is None
    for key in ("win_rate", "avg_trade_return", "median_trade_return", "profit_factor"):
        assert math.isnan(m[key]), key
    for key in ("exposure", "alpha", "beta", "bench_total_return", "excess_return"):
        assert math.isnan(m[key]), key


def test_hand_case_with_risk_free() -> None:
    rf = 0.05
    rf_d = 1.05 ** (1 / HAND_PPY) - 1  # about 1.63 % per session at ~3 sessions a year
    assert per_period_rate(rf, HAND_PPY) == pytest.approx(rf_d, rel=1e-14)
    m = compute_metrics(HAND_VALUE, HAND_DATES, risk_free=rf)
    # the standard deviation does not move with a constant shift
    assert m["sharpe"] == pytest.approx((7 / 99 - rf_d) / HAND_STD * math.sqrt(HAND_PPY), rel=1e-12)
    # r - rf_d = [1/10 - rf_d > 0, -1/10 - rf_d < 0, 7/33 - rf_d > 0]
    downside = math.sqrt((0.1 + rf_d) ** 2 / 3)
    assert m["sortino"] == pytest.approx(
        (7 / 99 - rf_d) / downside * math.sqrt(HAND_PPY), rel=1e-12
    )
    # metrics that are not about excess returns do not move
    base = compute_metrics(HAND_VALUE, HAND_DATES)
    for key in ("total_return", "cagr", "annual_volatility", "max_drawdown", "calmar"):
        assert m[key] == base[key], key


@pytest.mark.parametrize("kind", ["list", "ndarray", "pandas"])
def test_same_result_for_lists_arrays_and_pandas_and_inputs_untouched(kind: str) -> None:
    want = compute_metrics(
        np.array(HAND_VALUE),
        HAND_DATES,
        trade_returns=np.array([0.1, -0.05]),
        trade_pnl=np.array([10.0, -5.0]),
        exposure=np.array([False, True, True, False]),
        bench_value=np.array([50.0, 51.0, 49.0, 55.0]),
    )
    index = pd.DatetimeIndex(HAND_DATES).as_unit("us")  # pandas 3 defaults to microseconds
    value: Any
    if kind == "list":
        value, dates, bench = list(HAND_VALUE), list(HAND_DATES), [50.0, 51.0, 49.0, 55.0]
        trades, pnl, exposure = [0.1, -0.05], [10.0, -5.0], [False, True, True, False]
    elif kind == "ndarray":
        value, dates = np.array(HAND_VALUE), HAND_DATES.copy()
        bench = np.array([50.0, 51.0, 49.0, 55.0])
        trades, pnl = np.array([0.1, -0.05]), np.array([10.0, -5.0])
        exposure = np.array([False, True, True, False])
    else:
        value, dates = pd.Series(HAND_VALUE, index=index), index
        bench = pd.Series([50.0, 51.0, 49.0, 55.0], index=index)
        trades, pnl = pd.Series([0.1, -0.05]), pd.Series([10.0, -5.0])
        exposure = pd.Series([False, True, True, False], index=index)
    before = [np.array(x, copy=True) for x in (value, dates, bench, trades, pnl, exposure)]
    got = compute_metrics(
        value, dates, trade_returns=trades, trade_pnl=pnl, exposure=exposure, bench_value=bench
    )
    assert_same_metrics(got, want)
    after = [np.asarray(x) for x in (value, dates, bench, trades, pnl, exposure)]
    for b, a in zip(before, after, strict=True):
        np.testing.assert_array_equal(b, a)


# ----------------------------------------------------------------------------- drawdown


def test_longest_spell_is_not_the_deepest() -> None:
    # business days from Monday 2024-01-01; weekends make calendar days differ from sessions
    dates = np.array(pd.bdate_range("2024-01-01", periods=10), dtype="datetime64[ns]")
    # deepest: 100 -> 90 (-10 %) on Jan 1-2, back at 100 on Jan 3 (2 sessions, 2 days);
    # then 100 again on Jan 4 (a new high by equality), 95 (-5 %) from Jan 5, recovered by
    # 100.5 on Jan 12: 6 sessions, Jan 4 -> Jan 12 = 8 calendar days
    value = np.array([100, 90, 100, 100, 95, 96, 97, 98, 99, 100.5])
    dd = max_drawdown(value, dates)
    assert dd.depth == pytest.approx(-0.1, rel=1e-14)
    assert (dd.peak, dd.trough, dd.recovery) == (0, 1, 2)
    assert dd.peak_date == np.datetime64("2024-01-01")
    assert dd.recovery_date == np.datetime64("2024-01-03")
    assert (dd.longest_start, dd.longest_end) == (3, 9)
    assert dd.longest_sessions == 6
    assert dd.longest_days == (dt.date(2024, 1, 12) - dt.date(2024, 1, 4)).days == 8


def test_longest_spell_is_measured_in_calendar_days_not_sessions() -> None:
    # spell A: 3 sessions over 10 calendar days; spell B: 5 sessions over 5 days -> A is longer
    dates = days(
        "2024-01-01",
        "2024-01-02",
        "2024-01-06",
        "2024-01-11",  # A: high Jan 1, back Jan 11
        "2024-01-12",
        "2024-01-13",
        "2024-01-14",
        "2024-01-15",
        "2024-01-16",
    )
    value = np.array([100, 99, 99, 101, 100, 100, 100, 100, 102])  # B: high Jan 11 -> Jan 16
    dd = max_drawdown(value, dates)
    assert (dd.longest_start, dd.longest_end) == (0, 3)
    assert (dd.longest_sessions, dd.longest_days) == (3, 10)


def test_unrecovered_drawdown_runs_to_the_last_date() -> None:
    dates = days("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-10")
    m = compute_metrics([100.0, 120.0, 110.0, 105.0], dates)
    assert m["max_drawdown"] == pytest.approx(105 / 120 - 1, rel=1e-14)  # -12.5 %
    assert m["max_drawdown_peak"] == np.datetime64("2024-01-02")
    assert m["max_drawdown_trough"] == np.datetime64("2024-01-10")
    assert m["max_drawdown_recovery"] is None
    assert m["max_drawdown_duration"] == 8  # Jan 2 -> Jan 10
    assert m["max_drawdown_duration_sessions"] == 2


def test_recovery_at_exactly_the_peak_value_and_first_of_equal_troughs() -> None:
    dates = days("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05")
    dd = max_drawdown(np.array([100.0, 90.0, 100.0, 90.0, 95.0]), dates)
    assert dd.depth == pytest.approx(-0.1, rel=1e-14)
    assert (dd.peak, dd.trough, dd.recovery) == (0, 1, 2)  # 100 == 100 is a recovery
    # two spells of 2 days each (the second not recovered): a tie goes to the earlier one
    assert (dd.longest_start, dd.longest_end, dd.longest_days) == (0, 2, 2)


def test_no_drawdown() -> None:
    dates = days("2024-01-01", "2024-01-02", "2024-01-03")
    m = compute_metrics([100.0, 100.0, 101.0], dates)
    assert m["max_drawdown"] == 0.0
    assert m["max_drawdown_peak"] is None
    assert m["max_drawdown_trough"] is None
    assert m["max_drawdown_recovery"] is None
    assert m["max_drawdown_duration"] == 0
    assert m["max_drawdown_duration_sessions"] == 0
    assert math.isnan(m["calmar"])


def drawdown_oracle(value: np.ndarray, dates: np.ndarray) -> tuple[Any, ...]:
    """The drawdown by walking the path session by session (independent of the kernel)."""
    day = [dt.date.fromisoformat(str(d)[:10]) for d in dates]
    n = len(value)
    high_at = 0
    depth, peak, trough = 0.0, None, None
    spells: list[tuple[int, int]] = []  # (high, recovery or last session)
    under = False
    for t in range(1, n):
        if value[t] >= value[high_at]:
            if under:
                spells.append((high_at, t))
                under = False
            high_at = t
            continue
        under = True
        dd_t = value[t] / value[high_at] - 1.0
        if dd_t < depth:
            depth, peak, trough = dd_t, high_at, t
    if under:
        spells.append((high_at, n - 1))
    recovery = None
    if peak is not None and trough is not None:
        for t in range(trough + 1, n):
            if value[t] >= value[peak]:
                recovery = t
                break
    longest = (0, 0, None, None)
    for start, end in spells:
        length = (day[end] - day[start]).days
        if longest[2] is None or length > longest[1]:
            longest = (end - start, length, start, end)
    return depth, peak, trough, recovery, *longest


# ----------------------------------------------------------------------------- hypothesis


@st.composite
def value_paths(draw: st.DrawFn, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A positive value path and its dates: either a random walk or a walk on a few levels
    (which makes exact ties with the running high, the recovery-by-equality case)."""
    n = draw(st.integers(2, 60)) if size is None else size
    if draw(st.booleans()):
        steps = draw(hnp.arrays(np.float64, n - 1, elements=st.floats(-0.5, 0.5)))
        start = draw(st.floats(1.0, 1e6))
        value = start * np.exp(np.concatenate([[0.0], np.cumsum(steps)]))
    else:
        value = np.array(
            draw(st.lists(st.sampled_from([90.0, 95.0, 100.0, 105.0]), min_size=n, max_size=n))
        )
    gaps = draw(hnp.arrays(np.int64, n - 1, elements=st.integers(1, 10)))
    dates = np.datetime64("2000-01-03", "ns") + np.concatenate([[0], np.cumsum(gaps)]).astype(
        "timedelta64[D]"
    )
    return value, dates


@settings(deadline=None, max_examples=200)
@given(
    path=value_paths(),
    trades=hnp.arrays(np.float64, st.integers(0, 20), elements=st.floats(-1.0, 5.0)),
    data=st.data(),
)
def test_fuzz_bounds_and_drawdown_oracle(
    path: tuple[np.ndarray, np.ndarray], trades: np.ndarray, data: st.DataObject
) -> None:
    value, dates = path
    exposure = data.draw(hnp.arrays(np.bool_, value.size))
    bench = data.draw(value_paths(size=value.size), label="bench")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from any kernel
        m = compute_metrics(
            value,
            dates,
            trade_returns=trades,
            trade_pnl=trades * 100.0,
            exposure=exposure,
            bench_value=bench,
        )
    assert list(m) == [x.name for x in METRICS]
    assert -1.0 <= m["max_drawdown"] <= 0.0
    span = int((dates[-1] - dates[0]) // np.timedelta64(1, "D"))
    assert 0 <= m["max_drawdown_duration"] <= span
    assert 0 <= m["max_drawdown_duration_sessions"] <= value.size - 1
    assert 0.0 <= m["exposure"] <= 1.0
    assert m["n_trades"] == trades.size
    if trades.size:
        assert 0.0 <= m["win_rate"] <= 1.0
        # np.mean may round an ulp beyond the extremes (equal trades)
        slack = 1e-12 * max(1.0, float(np.max(np.abs(trades))))
        assert min(trades) - slack <= m["avg_trade_return"] <= max(trades) + slack
    else:
        assert math.isnan(m["win_rate"])
    pf = m["profit_factor"]
    if (trades > 0).any() and not (trades < 0).any():
        assert pf == "no losing trades"
    else:  # a number (never inf), or the words when the losses are rounding noise
        assert pf == "no losing trades" or math.isnan(pf) or 0.0 <= pf < math.inf
    assert not any(isinstance(v, float) and math.isinf(v) for k, v in m.items() if k != "cagr")
    if not math.isnan(m["annual_volatility"]):
        assert m["annual_volatility"] >= 0.0

    dd = max_drawdown(value, dates)
    want = drawdown_oracle(value, dates)
    got = (
        dd.depth,
        dd.peak,
        dd.trough,
        dd.recovery,
        dd.longest_sessions,
        dd.longest_days,
        dd.longest_start,
        dd.longest_end,
    )
    assert got[0] == pytest.approx(want[0], rel=1e-12, abs=1e-15)
    assert got[1:] == want[1:]


@settings(deadline=None)
@given(path=value_paths(), power=st.integers(-20, 20))
def test_fuzz_scaling_by_a_power_of_two_changes_nothing(
    path: tuple[np.ndarray, np.ndarray], power: int
) -> None:
    # multiplying by 2**k is exact, so every return-based metric must be identical to the bit
    value, dates = path
    base = compute_metrics(value, dates, bench_value=value[::-1].copy())
    scaled = compute_metrics(value * 2.0**power, dates, bench_value=value[::-1] * 2.0**-power)
    assert_same_metrics(scaled, base)


@settings(deadline=None)
@given(
    returns=hnp.arrays(np.float64, st.integers(3, 50), elements=st.floats(-0.1, 0.1)),
    rf=st.floats(-0.001, 0.001),
    shift=st.floats(-0.01, 0.01),
    ppy=st.floats(1.0, 365.0),
)
def test_fuzz_sharpe_and_sortino_unchanged_when_returns_and_rf_shift_together(
    returns: np.ndarray, rf: float, shift: float, ppy: float
) -> None:
    assume(np.std(returns - rf) > 1e-6)
    assume(np.min(returns - rf) < -1e-6)
    assert sharpe(returns + shift, ppy, rf + shift) == pytest.approx(
        sharpe(returns, ppy, rf), rel=1e-6
    )
    assert sortino(returns + shift, ppy, rf + shift) == pytest.approx(
        sortino(returns, ppy, rf), rel=1e-6
    )


def test_scaling_by_any_constant_leaves_return_metrics_unchanged() -> None:
    rng = np.random.default_rng(7)
    dates = np.array(pd.bdate_range("2020-01-01", periods=300), dtype="datetime64[ns]")
    value = 1e5 * np.cumprod(1 + rng.normal(0.0004, 0.012, 300))
    bench = 300 * np.cumprod(1 + rng.normal(0.0003, 0.01, 300))
    base = compute_metrics(value, dates, bench_value=bench, risk_free=0.03)
    for c in (1 / 3, 7.3, 1e-4):
        scaled = compute_metrics(value * c, dates, bench_value=bench / c, risk_free=0.03)
        assert_same_metrics(scaled, base, rel=1e-9)


def test_stretching_time_rescales_only_the_annualised_metrics() -> None:
    # the same values with every gap between dates k times longer: ppy / k, so volatility and
    # Sharpe / sqrt(k), CAGR over k times the years, calendar durations * k; sessions unchanged
    k = 3
    start = HAND_DATES[0]
    stretched = start + (HAND_DATES - start) * k
    a = compute_metrics(HAND_VALUE, HAND_DATES)
    b = compute_metrics(HAND_VALUE, stretched)
    assert b["periods_per_year"] == pytest.approx(a["periods_per_year"] / k, rel=1e-14)
    for key in ("annual_volatility", "sharpe", "sortino"):
        assert b[key] == pytest.approx(a[key] / math.sqrt(k), rel=1e-12), key
    assert b["cagr"] == pytest.approx(1.2 ** (1 / (k * HAND_YEARS)) - 1, rel=1e-12)
    assert b["max_drawdown_duration"] == k * a["max_drawdown_duration"]
    for key in ("total_return", "max_drawdown", "max_drawdown_duration_sessions", "sessions"):
        assert b[key] == a[key], key


# ----------------------------------------------------------------------------- special paths


def test_constant_growth_has_no_sharpe_rather_than_a_huge_one() -> None:
    # 1 % every session: the returns differ only by rounding, so the standard deviation is
    # noise and the Sharpe ratio undefined; nothing is below the target, so no Sortino either
    dates = np.array(pd.bdate_range("2024-01-01", periods=50), dtype="datetime64[ns]")
    m = compute_metrics(100 * 1.01 ** np.arange(50), dates)
    assert math.isnan(m["sharpe"])
    assert math.isnan(m["sortino"])
    assert m["annual_volatility"] < 1e-12
    assert m["max_drawdown"] == 0.0


def test_two_sessions() -> None:
    m = compute_metrics([100.0, 90.0], days("2024-01-01", "2024-01-02"))
    assert math.isnan(m["sharpe"])  # one return: no sample standard deviation
    assert math.isnan(m["annual_volatility"])
    # one return of -10 %: downside deviation 0.1, mean -0.1, ppy = 1 / (1 / 365.25)
    assert m["sortino"] == pytest.approx(-math.sqrt(365.25), rel=1e-12)
    assert m["max_drawdown_recovery"] is None


def test_wiped_out_account_gives_nan_not_warnings() -> None:
    dates = days("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = compute_metrics([100.0, 50.0, 0.0, 0.0], dates)
    assert m["total_return"] == -1.0
    assert m["max_drawdown"] == -1.0
    assert math.isnan(m["cagr"])  # (0/100) ** (1/years): no growth rate for a zero end value
    assert math.isnan(m["sharpe"])  # the return after a zero value is undefined
    assert math.isnan(m["annual_volatility"])


def test_cagr_kernel_edges() -> None:
    assert math.isnan(cagr(np.array([100.0, 120.0]), 0.0))
    assert math.isnan(cagr(np.array([100.0, -5.0]), 1.0))
    assert cagr(np.array([100.0, 121.0]), 2.0) == pytest.approx(0.1, rel=1e-14)  # 1.21 ** 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cagr(np.array([1.0, 1e10]), 1e-4) == math.inf


def test_sessions_per_year_on_business_days_and_fallback() -> None:
    dates = np.array(pd.bdate_range("2021-01-01", "2022-12-31"), dtype="datetime64[ns]")
    # 2021 starts on a Friday: 52 weeks + 1 day (a Friday) = 261 weekdays; 2022 starts on a
    # Saturday: 52 weeks + 1 day (a Saturday) = 260 weekdays; 521 sessions, 520 returns over
    # 2021-01-01 .. 2022-12-30 = 728 days
    assert dates.size == 261 + 260
    assert (dt.date(2022, 12, 30) - dt.date(2021, 1, 1)).days == 728
    assert sessions_per_year(dates) == pytest.approx(520 / (728 / 365.25), rel=1e-14)
    assert sessions_per_year(days("2024-01-01")) == 252.0


# ----------------------------------------------------------------------------- trades, exposure


def test_trades_win_rate_averages_and_profit_factor() -> None:
    rets = [0.05, -0.02, 0.0, 0.10]
    pnl = [50.0, -20.0, 0.0, 100.0]
    m = compute_metrics(HAND_VALUE, HAND_DATES, trade_returns=rets, trade_pnl=pnl)
    assert m["n_trades"] == 4
    assert m["win_rate"] == 0.5  # 2 of 4 above zero; a break-even trade is not a win
    assert m["avg_trade_return"] == pytest.approx(0.13 / 4, rel=1e-14)
    assert m["median_trade_return"] == pytest.approx((0.0 + 0.05) / 2, rel=1e-14)
    assert m["profit_factor"] == pytest.approx((50 + 100) / 20, rel=1e-14)  # 7.5


def test_profit_factor_without_losses_and_all_flat() -> None:
    assert profit_factor(np.array([10.0, 0.0, 5.0])) == "no losing trades"  # never inf
    assert math.isnan(profit_factor(np.array([0.0, 0.0])))
    assert math.isnan(profit_factor(np.array([])))
    assert profit_factor(np.array([-3.0])) == 0.0
    assert win_rate(np.array([-0.1, -0.2])) == 0.0


def test_no_trades_gives_nan_not_exceptions() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice"
        m = compute_metrics(HAND_VALUE, HAND_DATES, trade_returns=[], trade_pnl=[])
    assert m["n_trades"] == 0
    for key in ("win_rate", "avg_trade_return", "median_trade_return", "profit_factor"):
        assert math.isnan(m[key]), key


def test_trade_metrics_do_not_depend_on_trade_order() -> None:
    rng = np.random.default_rng(3)
    rets = rng.normal(0.01, 0.05, 25)
    pnl = rets * 1000
    order = rng.permutation(25)
    a = compute_metrics(HAND_VALUE, HAND_DATES, trade_returns=rets, trade_pnl=pnl)
    b = compute_metrics(HAND_VALUE, HAND_DATES, trade_returns=rets[order], trade_pnl=pnl[order])
    for key in ("n_trades", "win_rate", "avg_trade_return", "median_trade_return"):
        assert b[key] == pytest.approx(a[key], rel=1e-14), key
    assert b["profit_factor"] == pytest.approx(a["profit_factor"], rel=1e-12)


def test_only_one_of_the_trade_arrays() -> None:
    m = compute_metrics(HAND_VALUE, HAND_DATES, trade_pnl=[5.0, -1.0, 2.0])
    assert m["n_trades"] == 3
    assert m["profit_factor"] == pytest.approx(7.0)
    assert math.isnan(m["win_rate"])


def test_exposure_leaves_out_the_first_session() -> None:
    m = compute_metrics(HAND_VALUE, HAND_DATES, exposure=[False, True, True, False])
    assert m["exposure"] == pytest.approx(2 / 3, rel=1e-15)  # mean of [T, T, F]
    m = compute_metrics(HAND_VALUE, HAND_DATES, exposure=[True, False, False, False])
    assert m["exposure"] == 0.0


# ----------------------------------------------------------------------------- benchmark


def planted(a: float, b: float, rf_d: float = 0.0) -> tuple[np.ndarray, ...]:
    """Portfolio with excess returns exactly ``a + b * benchmark excess returns``."""
    rng = np.random.default_rng(11)
    dates = np.array(pd.bdate_range("2020-01-01", periods=500), dtype="datetime64[ns]")
    rb = rng.normal(0.0004, 0.01, 499)
    r = rf_d + a + b * (rb - rf_d)
    bench = 250.0 * np.concatenate([[1.0], np.cumprod(1 + rb)])
    value = 1e6 * np.concatenate([[1.0], np.cumprod(1 + r)])
    return value, bench, dates


def test_alpha_beta_recover_a_planted_line_and_alpha_is_arithmetic() -> None:
    a, b = 2e-4, 1.3
    value, bench, dates = planted(a, b)
    m = compute_metrics(value, dates, bench_value=bench)
    ppy = m["periods_per_year"]
    assert m["beta"] == pytest.approx(b, rel=1e-9)
    assert m["alpha"] == pytest.approx(a * ppy, rel=1e-7)  # intercept * ppy
    # and not empyrical's compounded (1 + a) ** ppy - 1 (about 5.4 % against 5.2 % here)
    assert abs(m["alpha"] - ((1 + a) ** ppy - 1)) > 1e-3
    assert m["bench_total_return"] == pytest.approx(bench[-1] / bench[0] - 1, rel=1e-14)
    assert m["excess_return"] == pytest.approx(
        value[-1] / value[0] - bench[-1] / bench[0], rel=1e-12
    )


def test_alpha_beta_use_excess_returns_over_the_risk_free_rate() -> None:
    a, b, rf = 1e-4, 0.6, 0.04
    dates = planted(0, 0)[2]
    rf_d = per_period_rate(rf, sessions_per_year(dates))
    value, bench, _ = planted(a, b, rf_d)
    m = compute_metrics(value, dates, bench_value=bench, risk_free=rf)
    assert m["beta"] == pytest.approx(b, rel=1e-9)
    assert m["alpha"] == pytest.approx(a * m["periods_per_year"], rel=1e-6)
    ab = alpha_beta(simple_returns(value), simple_returns(bench), 1.0, rf_d)
    assert ab.intercept == pytest.approx(a, rel=1e-6)


def test_benchmark_identical_to_the_portfolio() -> None:
    value, _, dates = planted(0, 0.8)
    m = compute_metrics(value, dates, bench_value=value)
    assert m["beta"] == pytest.approx(1.0, rel=1e-12)
    assert m["alpha"] == pytest.approx(0.0, abs=1e-12)
    assert m["excess_return"] == 0.0


def test_no_benchmark_or_a_flat_one_gives_nan() -> None:
    m = compute_metrics(HAND_VALUE, HAND_DATES)
    assert math.isnan(m["alpha"])
    assert math.isnan(m["beta"])
    m = compute_metrics(HAND_VALUE, HAND_DATES, bench_value=[10.0, 10.0, 10.0, 10.0])
    assert math.isnan(m["alpha"])
    assert math.isnan(m["beta"])
    assert m["bench_total_return"] == 0.0
    assert m["excess_return"] == pytest.approx(0.2, rel=1e-14)


def test_total_return_kernel() -> None:
    assert total_return(np.array([80.0, 100.0])) == pytest.approx(0.25, rel=1e-15)


# ----------------------------------------------------------------------------- bad input

GOOD: dict[str, Any] = {"value": HAND_VALUE, "dates": HAND_DATES}


@pytest.mark.parametrize(
    ("change", "parameter", "message"),
    [
        (
            {"value": [100.0, math.nan, 99.0, 120.0]},
            "value",
            r"value: NaN or infinite values at 1 position \(2024-04-01\) \(fill or drop",
        ),
        ({"value": [100.0, 110.0, math.inf, 120.0]}, "value", r"at 1 position \(2024-07-01\)"),
        (
            {"value": [100.0], "dates": HAND_DATES[:1]},
            "value",
            r"value: has 1 session; metrics need at least 2",
        ),
        ({"value": [], "dates": HAND_DATES[:0]}, "value", r"has 0 sessions"),
        ({"value": [[100.0, 110.0]] * 2}, "value", r"has shape \(2, 2\); expected .* 1-D"),
        ({"value": ["a", "b", "c", "d"]}, "value", r"value: is not numeric"),
        ({"value": [0.0, 110.0, 99.0, 120.0]}, "value", r"starts at 0\.0; the first value"),
        ({"dates": HAND_DATES[:3]}, "dates", r"dates: has shape \(3,\) but value has 4 sessions"),
        (
            {"dates": HAND_DATES[[0, 2, 1, 3]]},
            "dates",
            r"not strictly increasing: #1 2024-07-01 is followed by #2 2024-04-01",
        ),
        ({"dates": HAND_DATES[[0, 1, 1, 3]]}, "dates", r"not strictly increasing: #1"),
        ({"dates": ["2024-01-02", "2024-04-01", "2024-07-01", "2024-12-31"]}, "dates", r"<U10"),
        (
            {"dates": pd.date_range("2024-01-01", periods=4, tz="UTC")},
            "dates",
            r"tz_localize\(None\)",
        ),
        (
            {"dates": np.array(["2024-01-01", "NaT", "2024-01-03", "2024-01-04"], "M8[ns]")},
            "dates",
            r"dates: NaT at 1 position \(#1\)",
        ),
        ({"exposure": [1, 0, 1, 0]}, "exposure", r"has dtype int64; expected bool"),
        ({"exposure": [True, False]}, "exposure", r"has shape \(2,\) but value has 4"),
        ({"bench_value": [1.0, 2.0, 3.0]}, "bench_value", r"has 3 entries but value has 4"),
        (
            {"bench_value": [1.0, 2.0, math.nan, 3.0]},
            "bench_value",
            r"bench_value: NaN or infinite values at 1 position \(2024-07-01\)",
        ),
        (
            {"trade_returns": [0.1, 0.2], "trade_pnl": [1.0]},
            "trade_pnl",
            r"has 1 trades but trade_returns has 2",
        ),
        ({"trade_returns": [0.1, math.nan]}, "trade_returns", r"NaN or infinite values .*#1"),
        ({"risk_free": math.nan}, "risk_free", r"expected a finite annual rate above -1"),
        ({"risk_free": -1.0}, "risk_free", r"is -1\.0"),
    ],
)
def test_bad_input_is_a_value_error_that_says_what_and_where(
    change: dict[str, Any], parameter: str, message: str
) -> None:
    kwargs = {**GOOD, **change}
    value, dates = kwargs.pop("value"), kwargs.pop("dates")
    with pytest.raises(ValueError, match=message) as info:
        compute_metrics(value, dates, **kwargs)
    assert isinstance(info.value, MetricsInputError)
    assert info.value.parameter == parameter


# ----------------------------------------------------------------------------- declared list


def test_declared_list_is_well_formed() -> None:
    names = [m.name for m in METRICS]
    assert len(names) == len(set(names))
    for m in METRICS:
        assert m.fmt in {"pct", "ratio", "int", "days", "date", "text"}, m.name
        assert m.title, m.name
        assert m.description.endswith("."), m.name


@pytest.mark.parametrize("full", [False, True])
def test_compute_metrics_returns_exactly_the_declared_metrics_with_their_types(full: bool) -> None:
    extra: dict[str, Any] = {}
    if full:
        extra = {
            "trade_returns": [0.1],
            "trade_pnl": [10.0],
            "exposure": [False, True, True, True],
            "bench_value": [1.0, 1.1, 1.0, 1.2],
        }
    m = compute_metrics(HAND_VALUE, HAND_DATES, **extra)
    assert list(m) == [x.name for x in METRICS]
    for x in METRICS:
        v = m[x.name]
        if x.fmt == "date":
            assert v is None or isinstance(v, np.datetime64), x.name
        elif x.fmt in ("int", "days"):
            assert v is None or type(v) is int, x.name
        elif x.fmt == "text":
            assert type(v) is str, x.name
        elif x.name == "profit_factor" and full:  # one winning trade, no loss
            assert v == "no losing trades"
        else:
            assert type(v) is float, x.name


# ----------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("total_return", 0.1234, "12.34%"),
        ("max_drawdown", -0.1, "-10.00%"),
        ("sharpe", 1.2345, "1.23"),
        ("profit_factor", math.inf, "∞"),
        ("sharpe", -math.inf, "-∞"),
        ("n_trades", 17, "17"),
        ("max_drawdown_duration", 45, "45 d"),
        ("max_drawdown_peak", np.datetime64("2024-01-05T00:00:00.000000000"), "2024-01-05"),
        ("max_drawdown_peak", pd.Timestamp("2024-01-05"), "2024-01-05"),
        ("sharpe", math.nan, "—"),
        ("total_return", math.nan, "—"),
        ("n_trades", None, "—"),
        ("n_trades", pd.NA, "—"),
        ("max_drawdown_duration", math.nan, "—"),
        ("max_drawdown_recovery", None, "—"),
        ("max_drawdown_recovery", np.datetime64("NaT"), "—"),
        ("max_drawdown_recovery", pd.NaT, "—"),
    ],
)
def test_format_metric(name: str, value: Any, text: str) -> None:
    assert format_metric(BY_NAME[name], value) == text


def test_format_metric_rejects_an_unknown_format() -> None:
    bogus = Metric("x", "X", "bogus", "Nothing.", lambda m: 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"unknown format 'bogus'"):
        format_metric(bogus, 1.0)


def test_every_metric_of_the_hand_case_formats() -> None:
    m = compute_metrics(HAND_VALUE, HAND_DATES)
    text = {x.name: format_metric(x, m[x.name]) for x in METRICS}
    assert text["max_drawdown"] == "-10.00%"
    assert text["max_drawdown_peak"] == "2024-04-01"
    assert text["max_drawdown_duration"] == "274 d"
    assert text["total_return"] == "20.00%"
    assert text["n_trades"] == "—"


# ----------------------------------------------------------------------------- frame


def test_metrics_frame() -> None:
    strategy = compute_metrics(
        HAND_VALUE, HAND_DATES, trade_returns=[0.1, -0.05], trade_pnl=[10.0, -5.0]
    )
    hold = compute_metrics([100.0, 101.0, 102.0, 103.0], HAND_DATES)
    frame = metrics_frame({"strategy": strategy, "buy and hold": hold})
    assert list(frame.columns) == [m.name for m in METRICS]
    assert list(frame.index) == ["strategy", "buy and hold"]
    assert frame.index.name == "label"
    assert frame["max_drawdown_peak"].dtype == "datetime64[ns]"
    assert frame["n_trades"].dtype == "Int64"
    assert frame["max_drawdown_duration"].dtype == "Int64"
    assert frame["sharpe"].dtype == np.float64
    assert frame.loc["strategy", "n_trades"] == 2
    assert frame.loc["strategy", "sharpe"] == strategy["sharpe"]
    assert frame.loc["strategy", "max_drawdown_peak"] == pd.Timestamp("2024-04-01")
    assert frame.loc["buy and hold", "n_trades"] is pd.NA
    assert frame.loc["buy and hold", "max_drawdown_peak"] is pd.NaT
    # cells format like the dict's values
    assert format_metric(BY_NAME["n_trades"], frame.loc["buy and hold", "n_trades"]) == "—"
    assert format_metric(
        BY_NAME["max_drawdown_peak"], frame.loc["strategy", "max_drawdown_peak"]
    ) == ("2024-04-01")


def test_metrics_frame_missing_and_unknown_keys() -> None:
    frame = metrics_frame({"partial": {"sharpe": 1.5}})
    assert frame.loc["partial", "sharpe"] == 1.5
    assert math.isnan(frame.loc["partial", "cagr"])
    with pytest.raises(ValueError, match=r"row 'x' has keys that are not metrics: \['shrape'\]"):
        metrics_frame({"x": {"shrape": 1.0}})
