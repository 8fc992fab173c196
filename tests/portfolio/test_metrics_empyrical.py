"""empyrical-reloaded as an independent oracle for the metrics we share with it.

empyrical takes per-period returns and an ``annualization`` (periods per year); we take a value
path and its dates and estimate the periods per year from them, so each comparison passes
``annualization = sessions_per_year(dates)``. Deliberate differences, each checked here:

* Alpha: ours is the OLS intercept annualised arithmetically (``a * ppy``), empyrical compounds
  it (``(1 + a) ** ppy - 1``); the intercepts agree.
* A Sharpe or Sortino ratio whose dispersion is within rounding noise of zero is NaN here;
  empyrical divides by it (e.g. -12.5 for three returns of -3.7e-28).
* Profit factor, win rate and the trade statistics have no empyrical counterpart (it has no
  trades); a profit factor without losses is "no losing trades" where empyrical-style code
  gives ``inf``.
* CAGR: empyrical's ``annual_return`` counts years as ``len(returns) / annualization``; ours uses
  the calendar span. With ``annualization = (T - 1) / years`` (our periods per year) the two are
  the same number, which is what is checked.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backtest.portfolio.metrics import (
    alpha_beta,
    annual_volatility,
    cagr,
    calmar,
    max_drawdown,
    sessions_per_year,
    sharpe,
    simple_returns,
    sortino,
    years_spanned,
)

empyrical = pytest.importorskip("empyrical", reason="empyrical-reloaded is a test-only oracle")

returns_arrays = hnp.arrays(
    np.float64,
    st.integers(3, 120),
    elements=st.floats(-0.2, 0.2, allow_nan=False, allow_subnormal=False),
)


def path(r: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A value path starting at 100 with returns ``r``, on irregular business days."""
    rng = np.random.default_rng(seed)
    gaps = rng.integers(1, 4, r.size)
    dates = np.datetime64("2020-01-01") + np.concatenate([[0], np.cumsum(gaps)])
    value = 100.0 * np.concatenate([[1.0], np.cumprod(1.0 + r)])
    return value, dates.astype("datetime64[ns]")


@settings(max_examples=80, deadline=None)
@given(r=returns_arrays, seed=st.integers(0, 100), rf=st.sampled_from([0.0, 1e-4]))
# returns of ~1e-9: near-zero spreads and drawdowns (found by hypothesis)
@example(r=np.array([-1.38313854e-09, 0.125, 0.125]), seed=0, rf=0.0)
@example(r=np.array([1.38313854e-09, 0.0, 0.0]), seed=0, rf=1e-4)
@example(r=np.array([-1.38313854e-09] * 3), seed=0, rf=0.0)
def test_ratios_equal_empyricals(r: np.ndarray, seed: int, rf: float) -> None:
    value, dates = path(r, seed)
    ppy = sessions_per_year(dates)
    got_r = simple_returns(value)
    np.testing.assert_allclose(got_r, r, rtol=1e-12, atol=1e-15)
    # empyrical gets the very returns ours get: a return of 1e-9 read back from a value path
    # near 100 is off by ~1e-7 of itself, which a ratio of near-zero spreads can magnify
    r = got_r
    if np.std(r) > 1e-10:
        assert sharpe(got_r, ppy, rf) == pytest.approx(
            empyrical.sharpe_ratio(r, risk_free=rf, annualization=ppy), rel=1e-9
        )
    assert annual_volatility(got_r, ppy) == pytest.approx(
        empyrical.annual_volatility(r, annualization=ppy), rel=1e-9
    )
    downside = float(np.sqrt(np.mean(np.minimum(r - rf, 0.0) ** 2)))
    if downside > 1e-12:
        assert sortino(got_r, ppy, rf) == pytest.approx(
            empyrical.sortino_ratio(r, required_return=rf, annualization=ppy), rel=1e-9
        )
    else:  # a downside within rounding of zero: empyrical divides by it, we say NaN
        assert math.isnan(sortino(got_r, ppy, rf))
    assert max_drawdown(value, dates).depth == pytest.approx(
        empyrical.max_drawdown(r), rel=1e-9, abs=1e-15
    )
    growth = cagr(value, years_spanned(dates))
    assert growth == pytest.approx(empyrical.annual_return(r, annualization=ppy), rel=1e-9)
    theirs = empyrical.calmar_ratio(r, annualization=ppy)
    depth = max_drawdown(value, dates).depth
    ours = calmar(growth, depth)
    if abs(depth) < 1e-6:  # ours reads the drawdown off the value path (rounding ~1e-14 of
        # 100), empyrical off the returns: for a drawdown this small the two differ by more
        # than 1e-9 of it
        pass
    elif math.isnan(theirs):
        assert math.isnan(ours) or not math.isfinite(growth)
    else:
        assert ours == pytest.approx(theirs, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    data=hnp.arrays(
        np.float64,
        st.tuples(st.integers(5, 80), st.just(2)),
        elements=st.floats(-0.1, 0.1, allow_nan=False, allow_subnormal=False),
    ),
    seed=st.integers(0, 100),
)
def test_beta_equals_empyricals_and_alpha_differs_only_by_compounding(
    data: np.ndarray, seed: int
) -> None:
    r, rb = data[:, 0], data[:, 1]
    if np.std(rb) < 1e-6:
        return
    _, dates = path(r, seed)
    ppy = sessions_per_year(dates)
    ours = alpha_beta(r, rb, ppy)
    alpha, beta = empyrical.alpha_beta(r, rb, annualization=ppy)
    # beta is of order one: 1e-9 absolute is far below any difference that matters, and above
    # the rounding noise of a stock return that is constant to the last bits
    assert ours.beta == pytest.approx(beta, rel=1e-9, abs=1e-9)
    # the same intercept: empyrical compounds it over a year, we annualise it linearly
    assert (1.0 + ours.intercept) ** ppy - 1.0 == pytest.approx(alpha, rel=1e-9, abs=1e-12)
    assert ours.alpha == pytest.approx(ours.intercept * ppy, rel=1e-15)
