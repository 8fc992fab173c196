"""Which model measures a row, and why: market-wide events measured without the market,
the raw model, an event's own model, and what the market did (issue 10, point 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.study import StudySpec, run_study
from tests.study.synth import make_market


def _market_wide() -> tuple[pd.DataFrame, pd.DataFrame]:
    syn = make_market(n_days=700, n_stocks=6, n_events=8, seed=41, min_gap=60)
    idx = syn.close.index
    summit = pd.DataFrame(
        {
            "event_id": "summit",
            "ticker": ["S0000", "S0001", "S0002", "SPY"],
            "day0": idx[500],
            "scope": "market",
        }
    )
    events = pd.concat([syn.events.assign(scope="company"), summit], ignore_index=True)
    return events, syn.close


def test_market_wide_events_are_measured_without_the_market() -> None:
    events, close = _market_wide()
    res = run_study(events, close, StudySpec(max_loss=1.0, exclude_confounded=False))
    ev = res.events.set_index(["event_id", "ticker"])
    summit = ev.loc["summit"]
    assert set(summit["model"]) == {"constant_mean"}
    assert set(summit["model_reason"]) == {
        "market-wide event (scope market): measured without the market (market_event_model)"
    }
    company = ev.drop(index="summit", level=0)
    assert set(company["model"]) == {"market"}
    # constant mean: AR = R - mean R over the estimation window (what the market did stays in)
    r = close.pct_change()
    i = close.index.get_loc(close.index[500])
    est = r["S0001"].iloc[i - 250 : i - 10]
    assert summit.loc["S0001", "alpha"] == pytest.approx(est.mean(), rel=1e-10)
    assert res.ar.loc[("summit", "S0001"), 0] == pytest.approx(r["S0001"].iloc[i] - est.mean())


@pytest.mark.parametrize("scope", ["markt", "Market", "compny"])
def test_a_scope_that_is_not_company_or_market_is_dropped_with_its_reason(scope: str) -> None:
    """A misspelt scope was measured as a company event (the market model) without a word."""
    events, close = _market_wide()
    events.loc[events["event_id"] == "summit", "scope"] = scope
    events.loc[0, "scope"] = ""  # empty: no scope given, a company event as before
    res = run_study(events, close, StudySpec(max_loss=1.0, exclude_confounded=False))
    assert "summit" not in set(res.events["event_id"])
    summit = res.dropped[res.dropped["event_id"] == "summit"]
    assert sorted(summit["ticker"]) == ["S0000", "S0001", "S0002", "SPY"]
    assert set(summit["stage"]) == {"scope"}
    assert set(summit["reason"]) == {
        f"scope {scope!r} (event table column scope) is not one of company, market"
    }
    assert events.loc[0, "event_id"] in set(res.events["event_id"])


def test_the_scopes_are_the_catalog_s() -> None:
    from typing import get_args

    from backtest.catalog.schema import Scope
    from backtest.study.align import SCOPES

    assert get_args(Scope) == SCOPES


def test_the_summary_says_how_many_rows_each_model_measured() -> None:
    """The header said "model market" while the summit's rows were measured with the constant
    mean model, without a word."""
    events, close = _market_wide()
    res = run_study(events, close, StudySpec(max_loss=1.0, exclude_confounded=False))
    n_market = int((res.events["model"].astype(str) == "market").sum())
    head = str(res.summary()).splitlines()[2]
    assert head.startswith(
        f"model market ({n_market} with the market model, 4 with the constant mean model), "
    )
    alone = run_study(
        events[events["scope"] == "company"], close, StudySpec(exclude_confounded=False)
    )
    assert str(alone.summary()).splitlines()[2].startswith("model market, simple returns")


def test_the_raw_model_takes_the_return_itself() -> None:
    """raw: AR = R; nothing is estimated, and the estimation window gives the variance of the
    return for the tests (s2 = its sample variance, n - 1 degrees of freedom; Var(CAR) =
    L s2)."""
    events, close = _market_wide()
    spec = StudySpec(max_loss=1.0, market_event_model="raw", exclude_confounded=False)
    res = run_study(events, close, spec)
    ev = res.events.set_index(["event_id", "ticker"]).loc["summit"]
    assert set(ev["model"]) == {"raw"}
    r = close.pct_change()
    i = close.index.get_loc(close.index[500])
    for t in ("S0000", "SPY"):
        est = r[t].iloc[i - 250 : i - 10]
        assert ev.loc[t, "alpha"] == 0.0
        assert np.isnan(ev.loc[t, "beta"])
        assert ev.loc[t, "sigma"] ** 2 == pytest.approx(est.var(ddof=1), rel=1e-10)
        assert ev.loc[t, "dof"] == 239
        path = res.ar.loc[("summit", t)]
        np.testing.assert_allclose(path.to_numpy(), r[t].iloc[i - 20 : i + 21].to_numpy(),
                                   rtol=0, atol=0)  # fmt: skip
        w = res.windows.set_index(["event_id", "ticker", "window"]).loc[("summit", t, "[-1,+1]")]
        assert w["car_se"] ** 2 == pytest.approx(3 * est.var(ddof=1), rel=1e-10)
        growth = close[t].iloc[i + 1] / close[t].iloc[i - 2] - 1
        assert w["bhar"] == pytest.approx(growth, rel=1e-10)


def test_an_event_s_own_model_comes_first() -> None:
    events, close = _market_wide()
    events["model"] = ""
    events.loc[0, "model"] = "market_adjusted"
    events.loc[1, "model"] = "capm"
    events.loc[events["event_id"] == "summit", "model"] = "raw"
    res = run_study(events, close, StudySpec(max_loss=1.0))
    ev = res.events.set_index("event_id")
    assert ev.loc[events.loc[0, "event_id"], "model"] == "market_adjusted"
    assert ev.loc[events.loc[0, "event_id"], "model_reason"] == (
        "the event's own model (event table column model)"
    )
    assert set(ev.loc["summit", "model"]) == {"raw"}
    d = res.dropped.set_index("event_id").loc[events.loc[1, "event_id"]]
    assert d["stage"] == "model"
    assert d["reason"] == (
        "model 'capm' (event table column model) is not one of market, market_adjusted, "
        "constant_mean, raw, factor"
    )


def test_market_events_give_the_benchmark_s_own_return_over_each_window() -> None:
    events, close = _market_wide()
    res = run_study(events, close, StudySpec(max_loss=1.0))
    m = res.market_events.set_index("window")
    assert set(m["event_id"]) == {"summit"}
    assert set(m["benchmark"]) == {"SPY"}
    i = close.index.get_loc(close.index[500])
    spy = close["SPY"]
    for label, (a, b) in zip(m.index, StudySpec().windows, strict=True):
        assert m.loc[label, "return"] == pytest.approx(spy.iloc[i + b] / spy.iloc[i + a - 1] - 1)
        assert m.loc[label, "n_days"] == b - a + 1
        assert (m.loc[label, "start"], m.loc[label, "end"]) == (a, b)
    assert res.to_dict()["market_events"][0]["day0"] == close.index[500].date().isoformat()


@pytest.mark.slow
def test_the_busan_summit_on_real_prices(shared_prices_dir: Path) -> None:
    """The shipped catalog's market-wide event: every ticker measured without the market,
    and the index moves of that day as the price files give them."""
    from backtest import load_catalog
    from backtest.prices import load_prices
    from backtest.study.inputs import normalize_event_table, price_needs

    catalog = load_catalog()
    table, dropped = normalize_event_table(catalog.filter(ids=["busan-trump-xi-summit"]).to_frame())
    spec = StudySpec()
    tickers, start, end = price_needs(table, reach=spec.reach, benchmarks=spec.benchmarks)
    panel = load_prices(tickers, start, end, prices_dir=shared_prices_dir)
    res = run_study(table, panel, spec, dropped=dropped, context=catalog)
    assert set(res.events["model"]) == {"constant_mean"}
    day0 = res.market_events[res.market_events["window"] == "[0,0]"].set_index("benchmark")
    spy = pd.read_csv(shared_prices_dir / "SPY.csv", index_col=0, parse_dates=True)["close"]
    hsi = pd.read_csv(shared_prices_dir / "_HSI.csv", index_col=0, parse_dates=True)["close"]
    for name, series in (("SPY", spy), ("^HSI", hsi)):
        i = series.index.get_loc(pd.Timestamp("2025-10-30"))
        assert day0.loc[name, "return"] == pytest.approx(series.iloc[i] / series.iloc[i - 1] - 1)
    assert -0.02 < day0.loc["SPY", "return"] < 0  # SPY fell ~1.1% (PROVENANCE.md)


@pytest.mark.parametrize("noise", [1e-4, 1e-6, 1e-8, 1e-10])
def test_a_stock_that_tracks_its_benchmark_gets_the_residual_variance_of_its_residuals(
    noise: float,
) -> None:
    # y = 0.0001 + 1.5 x + noise: 1 - R^2 from 4e-5 down to 4e-17, where Syy - Sxy^2/Sxx
    # cancels (a relative error of 1e-7 at noise 1e-6, and at 1e-10 the row was dropped for
    # "zero residual variance"). The reference: the centred two-pass OLS in long double on the
    # returns the engine reads from the prices.
    from tests.study.synth import prices_from_returns, sessions

    n, day0 = 300, 280
    idx = sessions(n)
    rng = np.random.default_rng(0)
    x = rng.normal(0.0003, 0.01, n)
    y = 0.0001 + 1.5 * x + rng.normal(0.0, noise, n)
    r = pd.DataFrame({"STK": y, "SPY": x}, index=idx)
    r.iloc[0] = np.nan
    close = prices_from_returns(r)
    spec = StudySpec(estimation=(-250, -11), min_estimation=120, windows=((0, 0),),
                     path=(0, 0), group_by=("all",))  # fmt: skip
    ev = pd.DataFrame({"event_id": ["e"], "ticker": ["STK"], "day0": [idx[day0]]})
    res = run_study(ev, close, spec)
    assert len(res.dropped) == 0
    rets = (close / close.shift(1) - 1.0).to_numpy()
    est = slice(day0 - 250, day0 - 11 + 1)
    xl, yl = rets[est, 1].astype(np.longdouble), rets[est, 0].astype(np.longdouble)
    dx, dy = xl - xl.mean(), yl - yl.mean()
    b = (dx * dy).sum() / (dx * dx).sum()
    s2 = float(((dy - b * dx) ** 2).sum() / (len(xl) - 2))
    # abs=0: pytest.approx's default absolute tolerance (1e-12) would pass any variance here
    tol = 1e-10 if noise > 1e-9 else 1e-8  # residuals of 1e-10 on returns of 1e-2: rounding
    assert res.events["sigma"].iloc[0] ** 2 == pytest.approx(s2, rel=tol, abs=0)
    assert res.events["beta"].iloc[0] == pytest.approx(float(b), rel=1e-12, abs=0)
