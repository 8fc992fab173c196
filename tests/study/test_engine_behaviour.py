"""What the engine must do on data with known truth: recover planted effects, reject at the
nominal rate under the null, correct for cross-correlation, respect invariances."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from backtest.study import EventStudyResult, StudySpec, run_study, window_label
from backtest.study.inputs import Later
from tests.study.synth import make_market, prices_from_returns

TESTS = ["t", "patell", "bmp", "kp", "sign", "gsign", "rank", "wilcoxon"]


def _factors_for(syn_returns: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    idx = syn_returns.index
    return pd.DataFrame(
        {
            "Mkt-RF": syn_returns["SPY"].fillna(0.0) - 0.0001,
            "SMB": rng.normal(0, 0.004, len(idx)),
            "HML": rng.normal(0, 0.004, len(idx)),
            "RF": 0.0001,
        },
        index=idx,
    )


@pytest.mark.parametrize("model", ["market", "market_adjusted", "constant_mean", "factor"])
def test_planted_effect_is_recovered_by_every_model(model: str) -> None:
    # +5% on day 0 and +1% on day +1 for every event; noise 2% a day
    syn = make_market(n_days=1000, n_stocks=60, n_events=240, seed=11, jump=0.0,
                      min_gap=60)  # fmt: skip
    r = syn.returns.copy()
    for e in syn.events.itertuples():
        i = r.index.get_loc(e.day0)
        r.iloc[i, r.columns.get_loc(e.ticker)] += 0.05
        r.iloc[i + 1, r.columns.get_loc(e.ticker)] += 0.01
    close = prices_from_returns(r)
    factors = _factors_for(r) if model == "factor" else None
    res = run_study(syn.events, close, StudySpec(model=model), factors=factors)  # type: ignore[arg-type]
    assert len(res.dropped) == 0
    g = res.groups[(res.groups["group_by"] == "all")]
    aar = g[g["measure"] == "AAR"].set_index("day")
    caar = g[g["measure"] == "CAAR"].set_index("window")
    tol = 0.006 if model != "constant_mean" else 0.01  # constant mean leaves the market in
    assert aar.loc[0, "value"] == pytest.approx(0.05, abs=tol)
    assert aar.loc[1, "value"] == pytest.approx(0.01, abs=tol)
    assert aar.loc[-3, "value"] == pytest.approx(0.0, abs=tol)
    assert caar.loc["[-1,+1]", "value"] == pytest.approx(0.06, abs=2 * tol)
    assert caar.loc["[0,+5]", "value"] == pytest.approx(0.06, abs=3 * tol)
    for test in TESTS:
        assert aar.loc[0, f"{test}_p"] < 1e-4, test
        assert caar.loc["[-1,+1]", f"{test}_p"] < 1e-4, test
    if model in ("market", "factor"):
        ev = res.events.set_index("ticker")
        # the estimated betas are those of the generating process
        b = ev.groupby(level=0)["beta" if model == "market" else "b_Mkt-RF"].mean()
        # sampling error of one beta here is about 0.13 (sigma 2%, market 1%, 240 days)
        assert np.corrcoef(b, syn.beta[b.index])[0, 1] > 0.9
        assert (b - syn.beta[b.index]).abs().mean() < 0.1
    # BHAR over [0,0] is the day-0 AR in simple returns
    w0 = res.windows[res.windows["window"] == "[0,0]"]
    assert np.allclose(w0["bhar"], w0["car"], atol=1e-12) or model == "factor"


def _rates(res, groups: str, columns: list[tuple[str, object]]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    g = res.groups[res.groups["group_by"] == groups]
    out = {}
    for measure, key in columns:
        sub = g[(g["measure"] == measure)]
        sub = sub[sub["day"] == key] if measure == "AAR" else sub[sub["window"] == key]
        for test in TESTS:
            out[f"{measure} {key} {test}"] = float((sub[f"{test}_p"] < 0.05).mean())
    return out


@pytest.mark.slow
def test_tests_reject_at_the_nominal_rate_under_the_null() -> None:
    """No planted effect: 20,000 events in 1,000 groups of 20. Each test's rejection rate at
    5% must be 5% +- 2% (the standard error of a rate over 1,000 groups is 0.7%)."""
    syn = make_market(n_days=1200, n_stocks=2000, n_events=20_000, seed=7, n_groups=1000,
                      min_gap=40)  # fmt: skip
    res = run_study(syn.events, syn.close, StudySpec(group_by=("grp",), max_loss=0.05))
    rates = _rates(res, "grp", [("AAR", 0), ("CAAR", "[-1,+1]"), ("CAAR", "[0,+5]")])
    bad = {k: v for k, v in rates.items() if not 0.03 <= v <= 0.07}
    assert not bad, bad
    # single-event t-tests of CAR[0,0]: exact t distribution, 20,000 tests
    w0 = res.windows[res.windows["window"] == "[0,0]"]
    assert (w0["p"] < 0.05).mean() == pytest.approx(0.05, abs=0.01)


@pytest.mark.slow
def test_kolari_pynnonen_corrects_for_cross_correlation() -> None:
    """Same-day clusters whose residuals share a common shock (correlation ~0.2): BMP
    over-rejects badly, the Kolari-Pynnönen adjustment brings the rate back near 5%."""
    syn = make_market(n_days=700, n_stocks=6000, n_events=6000, seed=21, n_groups=300,
                      same_day_groups=True, common_shock=0.01)  # fmt: skip
    res = run_study(syn.events, syn.close, StudySpec(group_by=("grp",), exclude_confounded=False))
    rates = _rates(res, "grp", [("AAR", 0), ("CAAR", "[-1,+1]")])
    assert rates["AAR 0 bmp"] > 0.25
    assert rates["AAR 0 t"] > 0.25
    assert rates["AAR 0 kp"] == pytest.approx(0.05, abs=0.03)
    assert rates["CAAR [-1,+1] kp"] == pytest.approx(0.05, abs=0.03)
    rbar = res.clusters.query("group_by == 'grp'")["rbar"]
    assert rbar.mean() == pytest.approx(0.2, abs=0.05)


# ----------------------------------------------------------------------------- invariances


@pytest.mark.parametrize("model", ["market_adjusted", "market"])
def test_adding_a_constant_to_stock_and_market_leaves_ar_unchanged(model: str) -> None:
    syn = make_market(n_days=600, n_stocks=10, n_events=30, seed=4)
    shifted = syn.returns + 0.003
    a = run_study(syn.events, syn.close, StudySpec(model=model))  # type: ignore[arg-type]
    b = run_study(syn.events, prices_from_returns(shifted), StudySpec(model=model))  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.ar, b.ar, rtol=0, atol=1e-10)
    assert np.allclose(a.windows["car"], b.windows["car"], atol=1e-10)


def test_price_scale_does_not_matter() -> None:
    syn = make_market(n_days=600, n_stocks=10, n_events=30, seed=4)
    scaled = syn.close * 37.5  # e.g. a different split-adjustment basis
    a = run_study(syn.events, syn.close)
    b = run_study(syn.events, scaled)
    pd.testing.assert_frame_equal(a.ar, b.ar, rtol=1e-9, atol=1e-12)


def test_car_is_additive_over_adjacent_windows() -> None:
    syn = make_market(n_days=600, n_stocks=10, n_events=30, seed=6, jump=0.02)
    spec = StudySpec(windows=((-5, 20), (-5, 3), (4, 20)))
    w = run_study(syn.events, syn.close, spec).windows.pivot_table(
        index=["event_id", "ticker"], columns="window", values="car"
    )
    assert np.allclose(w["[-5,+20]"], w["[-5,+3]"] + w["[+4,+20]"], atol=1e-12)


def test_event_order_and_chunking_do_not_change_anything() -> None:
    syn = make_market(n_days=700, n_stocks=12, n_events=60, seed=8, jump=0.01, n_groups=3)
    spec = StudySpec(group_by=("all", "grp", "ticker"))
    a = run_study(syn.events, syn.close, spec)
    shuffled = syn.events.sample(frac=1.0, random_state=1).reset_index(drop=True)
    b = run_study(shuffled, syn.close, spec.replace(chunk_size=7))
    key = ["group_by", "group", "measure", "day", "window"]
    ga = a.groups.sort_values(key).reset_index(drop=True)
    gb = b.groups.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(ga, gb, rtol=1e-10, atol=1e-13)
    pd.testing.assert_frame_equal(a.ar.sort_index(), b.ar.sort_index())


def test_inputs_are_not_mutated() -> None:
    syn = make_market(n_days=500, n_stocks=5, n_events=10, seed=2)
    events, close = syn.events.copy(), syn.close.copy()
    run_study(syn.events, syn.close)
    pd.testing.assert_frame_equal(events, syn.events)
    pd.testing.assert_frame_equal(close, syn.close)


def test_log_returns_sum_to_the_log_price_change() -> None:
    syn = make_market(n_days=500, n_stocks=5, n_events=10, seed=2)
    res = run_study(syn.events, syn.close, StudySpec(returns="log", model="market_adjusted"))
    w = res.windows[res.windows["window"] == "[-1,+1]"].set_index("event_id")
    for e in syn.events.itertuples():
        i = syn.close.index.get_loc(e.day0)
        s = np.log(syn.close[e.ticker].iloc[i + 1] / syn.close[e.ticker].iloc[i - 2])
        m = np.log(syn.close["SPY"].iloc[i + 1] / syn.close["SPY"].iloc[i - 2])
        assert w.loc[e.event_id, "car"] == pytest.approx(s - m, abs=1e-12)
    assert window_label((-1, 1)) == "[-1,+1]"


def test_a_subset_in_its_catalog_context_is_measured_as_in_the_whole_catalog() -> None:
    """With ``context``, confounding and the exclusion of other events' windows from the
    estimation windows consider every catalog event, not only the events studied."""
    syn = make_market(n_days=700, n_stocks=6, n_events=60, seed=12, min_gap=5)
    spec = StudySpec(group_by=("all",), max_loss=1.0)
    whole = run_study(syn.events, syn.close, spec)
    subset = syn.events.iloc[::3].reset_index(drop=True)
    part = run_study(subset, syn.close, spec, context=syn.events)
    alone = run_study(subset, syn.close, spec)
    ids = set(subset["event_id"])

    def conf(res: EventStudyResult) -> list[tuple[str, str, str]]:
        c = res.confounders.astype(str)
        return sorted(t for t in c.itertuples(index=False, name=None) if t[0] in ids)

    assert conf(part) == conf(whole)
    assert len(conf(part)) > len(conf(alone)) > 0  # the context adds confounders
    key = ["event_id", "ticker"]
    cols = ["alpha", "beta", "sigma", "n_est", "confounded", "n_confounders"]
    w = whole.events[whole.events["event_id"].isin(ids)].set_index(key)[cols]
    p = part.events.set_index(key)[cols].reindex(w.index)
    pd.testing.assert_frame_equal(p, w)


def test_the_number_of_threads_changes_nothing() -> None:
    """Chunks are measured and tested on several threads, their sums added up in chunk order:
    the numbers do not depend on the threads, to the last bit."""
    syn = make_market(n_days=700, n_stocks=20, n_events=80, seed=13, jump=0.01, n_groups=3)
    spec = StudySpec(group_by=("all", "grp"), chunk_size=7)
    one = run_study(syn.events, syn.close, spec, workers=1)
    three = run_study(syn.events, syn.close, spec, workers=3)
    for name in ("events", "windows", "groups", "paths", "clusters", "confounders", "ar"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(three, name), check_exact=True)


def test_rows_whose_fit_fails_leave_the_observations_of_the_others() -> None:
    """With threads, the observations are found during the fits for every row to fit; when
    fits fail they are found again for the rows measured: the same tables as on one thread,
    to the last bit, and the failed rows dropped with their reason."""
    syn = make_market(n_days=700, n_stocks=10, n_events=70, seed=21, n_groups=2, min_gap=5)
    close = syn.close.copy()
    ev = syn.events
    # one ticker's prices missing before its events: its estimation windows are too short
    tick = ev["ticker"].iloc[0]
    last_day0 = ev.loc[ev["ticker"] == tick, "day0"].max()
    close.loc[close.index < last_day0 - pd.Timedelta(days=30), tick] = np.nan
    spec = StudySpec(group_by=("all", "grp"), chunk_size=5)
    one = run_study(ev, close, spec, workers=1)
    two = run_study(ev, close, spec, workers=2)
    for name in ("events", "windows", "groups", "paths", "clusters", "confounders", "dropped"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name), check_exact=True)
    few = two.dropped[two.dropped["stage"] == "estimation"]
    assert str(tick) in set(few["ticker"].astype(str))  # and events near the data's start
    assert few["reason"].str.contains("valid estimation-window returns").all()
    assert not set(few["event_id"].astype(str)) & set(two.events["event_id"].astype(str))
    assert len(two.events) + len(few) == len(ev)


@pytest.mark.parametrize("threads", [False, True])
def test_later_gives_the_result_or_raises_on_the_callers_thread(threads: bool) -> None:
    """Work the aligner runs on a thread of its own gives its value when asked, and its
    exception is raised then, on the caller's thread (never lost on the worker's)."""
    seen: list[str] = []

    def work(x: int) -> int:
        seen.append(threading.current_thread().name)
        return 2 * x

    def fail() -> None:
        raise ValueError("bad input")

    later = Later(work, 21, threads=threads)
    assert later.get() == 42
    assert later.get() == 42  # once computed, given again
    assert (seen[0] == "evbt-later") == threads
    broken = Later(fail, threads=threads)
    with pytest.raises(ValueError, match="bad input"):
        broken.get()


def test_rows_without_a_value_of_a_grouping_column_form_their_own_group() -> None:
    """A group_by column with missing values (e.g. a sector not known for some tickers):
    those rows are the group "<column> missing", measured and tested like any other group,
    not a crash."""
    syn = make_market(n_days=700, n_stocks=12, n_events=60, seed=5, n_groups=3)
    ev = syn.events.copy()
    ev["sector"] = np.where(np.arange(len(ev)) % 4 == 0, None, "tech")
    res = run_study(ev, syn.close, StudySpec(group_by=("all", "sector")))
    groups = res.groups[(res.groups["group_by"] == "sector") & (res.groups["measure"] == "CAAR")]
    assert set(groups["group"]) == {"tech", "sector missing"}
    n_missing = groups.loc[groups["group"] == "sector missing", "n"].iloc[0]
    assert n_missing == ev["sector"].isna().sum()


def test_the_ar_path_changes_no_statistic() -> None:
    """The rank test ranks the estimation window and the event windows, never the rest of the
    AR path (for the charts): a longer or shorter path changes no event's CAR, t, p, BHAR
    and no group statistic of the windows or of the days both paths show."""
    syn = make_market(n_days=800, n_stocks=12, n_events=60, seed=14, jump=0.01, n_groups=3)
    spec = StudySpec(group_by=("all", "grp"), windows=((0, 0), (-1, 1), (0, 4)))
    short = run_study(syn.events, syn.close, spec.replace(path=(0, 4)))
    long = run_study(syn.events, syn.close, spec.replace(path=(-20, 20)))
    pd.testing.assert_frame_equal(short.windows, long.windows, check_exact=True)
    key = ["group_by", "group", "measure", "window"]
    for measure in ("CAAR", "ABHAR"):
        a = short.groups[short.groups["measure"] == measure].set_index(key)
        b = long.groups[long.groups["measure"] == measure].set_index(key)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    a = short.groups[short.groups["measure"] == "AAR"].set_index(["group_by", "group", "day"])
    b = long.groups[long.groups["measure"] == "AAR"].set_index(["group_by", "group", "day"])
    pd.testing.assert_frame_equal(a, b.loc[a.index], check_exact=True)
    # a day of the long path in no window and not in the estimation window: no rank test
    day = long.group_table("all", "AAR").set_index("day").loc[-8]
    assert np.isnan(day["rank"])
    assert day["rank_reason"].startswith("the day is in no event window")


def test_each_test_states_its_hypotheses() -> None:
    syn = make_market(n_days=600, n_stocks=8, n_events=20, seed=15)
    res = run_study(syn.events, syn.close, StudySpec(group_by=("all",)))
    tests = {t.name: t for t in res.tests(window=(0, 5))}
    sign = tests["sign test"]
    assert sign.null == (
        "H0: median cumulative abnormal return over the window = 0 (share of positive values 1/2)"
    )
    assert "mean" not in sign.null
    assert tests["cross-sectional t"].null == (
        "H0: mean cumulative abnormal return over the window = 0"
    )
    assert tests["Wilcoxon signed-rank"].null.startswith("H0: the distribution of the")
    day = {t.name: t for t in res.tests(day=0)}
    assert day["sign test"].null.startswith("H0: median abnormal return on the day = 0")
    for t in [*tests.values(), *day.values()]:
        assert t.null.startswith("H0: ")
        assert t.alternative.startswith("H1: ")


def test_a_column_of_the_events_own_named_like_a_result_column_is_replaced() -> None:
    """The events table is the event table with the fit's columns joined to it; a column of
    the user's own with one of their names (here ``beta`` and ``confounded``) is replaced by
    the fit's, in its place, and the other columns are kept."""
    syn = make_market(n_days=700, n_stocks=5, n_events=10, seed=41)
    spec = StudySpec(exclude_confounded=False)
    plain = run_study(syn.events, syn.close, spec)
    own = syn.events.assign(beta="mine", confounded=-1, note="kept")
    res = run_study(own, syn.close, spec)
    cols = list(res.events.columns)
    assert cols.index("beta") < cols.index("note") < cols.index("alpha")  # in their places
    assert res.events["note"].eq("kept").all()
    pd.testing.assert_series_equal(res.events["beta"], plain.events["beta"])
    pd.testing.assert_series_equal(res.events["confounded"], plain.events["confounded"])
