"""The engine against references that do not come from it: a hand-computed case and a
per-event loop oracle (tests/study/oracle.py), on fixed and on random (hypothesis) inputs.

The engine is given the prices a caller loads for the study (``price_needs``'s range); the
oracle is given the whole price history, so an edge the loading misses shows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backtest.study import StudySpec, run_study
from tests.study.helpers import loaded
from tests.study.oracle import group_tests, oracle
from tests.study.synth import make_market, prices_from_returns, sessions

MODELS = ["market", "market_adjusted", "constant_mean", "raw", "factor"]


def test_hand_case_through_the_engine() -> None:
    """MacKinlay's prediction-error variance on a case small enough to do by hand.

    Estimation X = [[1,5],[1,5],[1,7]], y = [6,8,10]; event X* = [[1,3],[1,5]], y* = [12,16].
    By hand: X'X = [[3,17],[17,99]], det 8, (X'X)^-1 = [[99,-17],[-17,3]]/8, b = (-0.5, 1.5),
    residuals (-1, 1, 0), s2 = 2/(3-2) = 2, AR = (12-4, 16-7) = (8, 9), CAR = 17,
    Var(CAR) = s2 (2 + s'(X'X)^-1 s) with s = (2, 8): 2 (2 + 44/8) = 15.
    (Keeping only the diagonal of X*(X'X)^-1X*' gives 2 (2 + 3 + 0.5) = 11, the error of a
    published tool.)
    """
    idx = sessions(6)
    # returns as fractions: a 'return' of 5 means the price is multiplied by 6
    r = pd.DataFrame({"STK": [np.nan, 6, 8, 10, 12, 16], "SPY": [np.nan, 5, 5, 7, 3, 5]}, index=idx)
    close = prices_from_returns(r, start=1.0)
    events = pd.DataFrame({"event_id": ["e"], "ticker": ["STK"], "day0": [idx[4]]})
    spec = StudySpec(
        estimation=(-3, -1), min_estimation=3, windows=((0, 1),), path=(0, 1), max_loss=0.0,
        group_by=("all",),
    )  # fmt: skip
    res = run_study(events, close, spec)
    ev = res.events.iloc[0]
    assert ev["alpha"] == pytest.approx(-0.5)
    assert ev["beta"] == pytest.approx(1.5)
    assert ev["sigma"] ** 2 == pytest.approx(2.0)
    assert list(res.ar.iloc[0]) == pytest.approx([8.0, 9.0])
    w = res.windows.iloc[0]
    assert w["car"] == pytest.approx(17.0)
    assert w["car_se"] ** 2 == pytest.approx(15.0)
    assert w["t"] == pytest.approx(17.0 / math.sqrt(15.0))


def _compare(res, orc, spec: StudySpec) -> None:  # type: ignore[no-untyped-def]
    kept = {(e.event_id, e.ticker): e for e in orc if e.dropped is None}
    dropped = {(e.event_id, e.ticker): e.dropped for e in orc if e.dropped is not None}
    got_dropped = {(r.event_id, r.ticker): r.stage for r in res.dropped.itertuples(index=False)}
    assert got_dropped == dropped
    assert len(res.events) == len(kept)
    ev = res.events.set_index(["event_id", "ticker"])
    for key, o in kept.items():
        row = ev.loc[key]
        assert row["model"] == o.model
        assert row["n_est"] == o.nobs
        assert row["alpha"] == pytest.approx(o.alpha, rel=1e-9, abs=1e-12)
        if not math.isnan(o.beta):
            assert row["beta"] == pytest.approx(o.beta, rel=1e-9, abs=1e-12)
        assert row["sigma"] ** 2 == pytest.approx(o.s2, rel=1e-9, abs=0)
        path = res.ar.loc[key]
        for d, v in o.ar.items():
            assert path[d] == pytest.approx(v, rel=1e-9, abs=1e-12, nan_ok=True)
    win = res.windows.set_index(["event_id", "ticker", "start", "end"])
    for key, o in kept.items():
        for w, car in o.car.items():
            r = win.loc[(*key, *w)]
            assert r["car"] == pytest.approx(car, rel=1e-9, abs=1e-12, nan_ok=True)
            assert r["car_se"] ** 2 == pytest.approx(o.car_var[w], rel=1e-9, abs=0, nan_ok=True)
            assert r["bhar"] == pytest.approx(o.bhar[w], rel=1e-9, abs=1e-12, nan_ok=True)
    # group statistics of the 'all' group against the textbook definitions
    day0 = {r.event_id + r.ticker: r.day0 for r in res.events.itertuples(index=False)}
    if len(kept) >= 3:
        g = res.groups[res.groups["group_by"] == "all"]
        for w in spec.windows:
            if any(math.isnan(o.car[w]) for o in kept.values()):
                continue
            ref = group_tests(list(kept.values()), day0, w)
            row = g[(g["measure"] == "CAAR") & (g["window"] == _label(w))].iloc[0]
            _check_tests(row, ref)
        for d in (0, *[d for d in (-1, 1) if spec.path[0] <= d <= spec.path[1]]):
            ref = group_tests(list(kept.values()), day0, d)
            row = g[(g["measure"] == "AAR") & (g["day"] == d)].iloc[0]
            _check_tests(row, ref)
        rb = res.clusters.query("group_by == 'all'")["rbar"].iloc[0]
        assert rb == pytest.approx(group_tests(list(kept.values()), day0, 0)["rbar"], abs=1e-10)
        # the CAAR path and its band: mean and standard error of the cumulative ARs
        paths = res.paths[res.paths["group_by"] == "all"].set_index("day")
        obs = [o for o in kept.values() if o in _observed(kept, 0)]
        cum = np.array([np.cumsum([o.ar[d] for d in sorted(o.ar)]) for o in obs])
        days = sorted(next(iter(kept.values())).ar)
        for k, d in enumerate(days):
            col = cum[:, k][~np.isnan(cum[:, k])]
            assert paths.loc[d, "n"] == len(col)
            if len(col) >= 2:
                assert paths.loc[d, "caar"] == pytest.approx(col.mean(), rel=1e-9, abs=1e-12)
                se = col.std(ddof=1) / np.sqrt(len(col))
                assert paths.loc[d, "caar_se"] == pytest.approx(se, rel=1e-9, abs=1e-12)


def _observed(kept, key):  # type: ignore[no-untyped-def]
    from tests.study.oracle import observations

    return observations(list(kept.values()), key)


def _label(w: tuple[int, int]) -> str:
    from backtest.study import window_label

    return window_label(w)


def _check_tests(row: pd.Series, ref: dict[str, float]) -> None:
    assert row["n"] == ref["n"]
    assert row["n_rows"] == ref["n_rows"]
    assert row["merged"] == ref["n_rows"] - ref["n"]
    assert row["value"] == pytest.approx(ref["value"], rel=1e-9, abs=1e-12)
    for k in ("t", "t_p", "patell", "bmp", "bmp_p", "kp", "kp_p", "sign", "sign_p", "gsign",
              "rank", "wilcoxon", "wilcoxon_p", "headline_stat", "headline_p", "lo",
              "hi"):  # fmt: skip
        assert row[k] == pytest.approx(ref[k], rel=1e-7, abs=1e-10, nan_ok=True), k


def _factors(returns: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """Three factors and a risk-free rate on the synthetic sessions (the market's excess
    return among them), as read_factors gives them."""
    rng = np.random.default_rng(seed)
    idx = returns.index
    return pd.DataFrame(
        {
            "Mkt-RF": returns["SPY"].fillna(0.0) - 0.0001,
            "SMB": rng.normal(0, 0.005, len(idx)),
            "HML": rng.normal(0, 0.005, len(idx)),
            "RF": 0.0001 + rng.normal(0, 0.00001, len(idx)),
        },
        index=idx,
    )


@pytest.mark.parametrize("model", MODELS)
def test_engine_equals_loop_oracle(model: str) -> None:
    syn = make_market(n_days=700, n_stocks=8, n_events=30, seed=3, jump=0.01, min_gap=30)
    close = syn.close.copy()
    # holes: a missing day in an estimation window and one inside an event window
    ev0 = syn.events.iloc[0]
    loc = close.index.get_loc(ev0["day0"])
    close.iloc[loc - 100, close.columns.get_loc(ev0["ticker"])] = np.nan
    ev1 = syn.events.iloc[1]
    loc1 = close.index.get_loc(ev1["day0"])
    close.iloc[loc1 + 3, close.columns.get_loc(ev1["ticker"])] = np.nan
    factors = _factors(syn.returns) if model == "factor" else None
    if factors is not None:
        factors = factors.drop(factors.index[loc1 - 40])  # a session without factors
    spec = StudySpec(model=model, group_by=("all",), max_loss=1.0)  # type: ignore[arg-type]
    res = run_study(syn.events, loaded(close, syn.events, spec), spec, factors=factors)
    orc = oracle(close, syn.events, model=model, factors=factors)
    _compare(res, orc, spec)
    if model == "factor":
        assert {"b_Mkt-RF", "b_SMB", "b_HML"} <= set(res.events.columns)
        assert res.events["beta"].isna().all()


def test_engine_equals_oracle_with_tied_cars() -> None:
    # a second listing with the very same prices, its events on the same days: every CAR of
    # the twin's rows equals its original's, so the signed ranks are tied
    # (at most 13 values: where SciPy's own default for tied values is not the normal test)
    syn = make_market(n_days=700, n_stocks=4, n_events=9, seed=3, min_gap=30)
    close = syn.close.assign(TWIN=syn.close["S0000"])
    own = syn.events[syn.events["ticker"] == "S0000"]
    assert len(own) >= 2
    twins = own.assign(event_id=own["event_id"] + "-twin", ticker="TWIN")
    events = pd.concat([syn.events, twins], ignore_index=True)
    spec = StudySpec(group_by=("all",), max_loss=1.0)
    res = run_study(events, loaded(close, events, spec), spec)
    cars = res.windows.query("start == 0 and end == 0").set_index("event_id")["car"]
    for e in own["event_id"]:
        assert cars[e + "-twin"] == cars[e]
    assert len(res.events) <= 13
    _compare(res, oracle(close, events), spec)


def test_engine_equals_oracle_with_confounded_events_and_clusters() -> None:
    syn = make_market(n_days=600, n_stocks=6, n_events=24, seed=5, min_gap=5)
    events = syn.events.copy()
    # two events of the same ticker on the same day 0 (one observation), others close
    # together (a cluster of different tickers on one session)
    events.loc[1, ["ticker", "day0"]] = events.loc[0, ["ticker", "day0"]].to_numpy()
    events.loc[2, "day0"] = events.loc[0, "day0"]
    spec = StudySpec(group_by=("all",), max_loss=1.0, min_estimation=60)
    res = run_study(events, loaded(syn.close, events, spec), spec)
    orc = oracle(syn.close, events, min_estimation=60)
    _compare(res, orc, spec)
    flagged = res.events.set_index("event_id")
    assert flagged.loc["ev00000", "confounded"]
    assert "ev00001" in res.confounded_by("ev00000", flagged.loc["ev00000", "ticker"])
    assert flagged.loc["ev00002", "cluster_size"] >= 3


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    model=st.sampled_from(MODELS),
    est_len=st.integers(30, 120),
    gap=st.integers(1, 10),
    windows=st.lists(
        st.tuples(st.integers(-6, 3), st.integers(0, 8)).filter(lambda w: w[0] <= w[1]),
        min_size=1,
        max_size=3,
        unique=True,
    ),
    holes=st.integers(0, 20),
    log=st.booleans(),
    exclude=st.booleans(),
    min_gap=st.sampled_from([0, 3, 20]),
    repeats=st.integers(0, 3),
)
@example(  # every row dropped: a grouping with no group (it once broke the signed ranks)
    seed=3373, model="factor", est_len=30, gap=1, windows=[(0, 0)], holes=7, log=False,
    exclude=False, min_gap=3, repeats=1,
)  # fmt: skip
def test_engine_equals_oracle_random(
    seed: int, model: str, est_len: int, gap: int, windows: list[tuple[int, int]],
    holes: int, log: bool, exclude: bool, min_gap: int, repeats: int,
) -> None:  # fmt: skip
    """Random specs, holes in the prices, events of one ticker close together (rows merged
    into one observation), some naming the event they repeat (``same_news_as``), and
    market-wide events measured without the market."""
    syn = make_market(n_days=420, n_stocks=5, n_events=12, seed=seed, min_gap=min_gap)
    close = syn.close.copy()
    rng = np.random.default_rng(seed)
    for _ in range(holes):  # missing prices anywhere, the benchmark included
        close.iloc[rng.integers(1, len(close)), rng.integers(0, close.shape[1])] = np.nan
    events = syn.events.assign(same_news_as="", scope="company")
    for r in range(repeats):  # a later row of the same ticker that repeats an earlier one
        src = events.iloc[r]
        later = close.index[close.index.get_loc(src["day0"]) + int(rng.integers(0, 3))]
        named = src["event_id"] if r % 2 == 0 else ""
        events.loc[len(events)] = {**src.to_dict(), "event_id": f"rep{r}", "day0": later,
                                   "same_news_as": named}  # fmt: skip
    events.loc[events.index[-1], "scope"] = "market"
    first = min(w[0] for w in windows)
    est = (first - gap - est_len + 1, first - gap)
    log = log and model != "factor"
    spec = StudySpec(
        model=model,  # type: ignore[arg-type]
        returns="log" if log else "simple",
        estimation=est,
        min_estimation=max(3, est_len // 2),
        windows=tuple(windows),
        path=(-3, 3),
        exclude_confounded=exclude,
        group_by=("all",),
        max_loss=1.0,
        chunk_size=int(rng.integers(1, 8)),  # results must not depend on the chunking
        market_event_model="raw" if seed % 2 else "constant_mean",
    )
    factors = _factors(syn.returns, seed) if model == "factor" else None
    res = run_study(events, loaded(close, events, spec), spec, factors=factors)
    orc = oracle(
        close, events, model=model, estimation=est, windows=tuple(windows), path=(-3, 3),
        min_estimation=spec.min_estimation, exclude_confounded=exclude, log=log,
        factors=factors, market_event_model=spec.market_event_model,
    )  # fmt: skip
    _compare(res, orc, spec)
