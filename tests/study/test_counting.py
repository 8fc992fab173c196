"""Honest counting: every event measured the same way whatever else is studied or known, and
one piece of news counted once (issue 10, points 1 to 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from backtest.study import StudySpec, run_study
from backtest.study.inputs import normalize_event_table, price_needs
from tests.study.helpers import loaded
from tests.study.oracle import oracle
from tests.study.synth import make_market

# ----------------------------------------------------------------------------- 1. every return


def test_an_estimation_window_has_every_return_for_the_earliest_and_a_later_event() -> None:
    """On complete prices a window [a, b] has b - a + 1 returns: 240 for [-250, -11], for the
    earliest event of the study (whose first estimation return needs the close of the session
    before its window) as for a later one."""
    syn = make_market(n_days=900, n_stocks=4, n_events=2, seed=31, min_gap=200)
    idx = syn.close.index
    events = pd.DataFrame(
        {"event_id": ["early", "late"], "ticker": ["S0000", "S0001"], "day0": [idx[300], idx[700]]}
    )
    spec = StudySpec(group_by=("all",))
    res = run_study(events, loaded(syn.close, events, spec), spec)
    n_est = res.events.set_index("event_id")["n_est"]
    assert n_est["early"] == -11 - (-250) + 1
    assert n_est["late"] == 240
    assert res.events.set_index("event_id").loc["early", "est_first"] == idx[300 - 250]


def test_one_event_alone_equals_the_same_event_inside_a_larger_study_to_the_last_bit() -> None:
    syn = make_market(n_days=1000, n_stocks=6, n_events=18, seed=32, min_gap=40)
    events = syn.events
    target = events.sort_values("day0").iloc[[-3]]  # a late event: the larger study loads more
    spec = StudySpec(group_by=("all",))
    alone = run_study(target, loaded(syn.close, target, spec), spec, context=events)
    inside = run_study(events, loaded(syn.close, events, spec), spec, context=events)
    key = ["event_id", "ticker"]
    cols = ["alpha", "beta", "sigma", "n_est", "dof", "est_first", "est_last", "n_confounders"]
    a = alone.events.set_index(key)[cols]
    b = inside.events.set_index(key).loc[a.index, cols]
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(alone.ar, inside.ar.loc[alone.ar.index], check_exact=True)
    wa = alone.windows.set_index([*key, "window"]).drop(columns="complete")
    wb = inside.windows.set_index([*key, "window"]).loc[wa.index].drop(columns="complete")
    np.testing.assert_array_equal(wa.to_numpy(), wb.to_numpy())


# ----------------------------------------------------------------------------- 2. one piece of news


def _news_case(*, named: str = "later") -> tuple[pd.DataFrame, pd.DataFrame, StudySpec]:
    """Amazon-like: two entries of one piece of news on one ticker, one session apart (a
    press report, then the announcement naming it in ``same_news_as``), in a group of their
    own, among other events."""
    syn = make_market(n_days=700, n_stocks=8, n_events=12, seed=33, min_gap=60)
    idx = syn.close.index
    d = syn.close.index.get_loc(pd.Timestamp(syn.events["day0"].iloc[0]))
    events = syn.events.assign(tags="other", same_news_as="")
    report = {"event_id": "amzn-report", "ticker": "S0007", "day0": idx[d], "grp": "g000",
              "tags": "amazon", "same_news_as": ""}  # fmt: skip
    announcement = {**report, "event_id": "amzn-announcement", "day0": idx[d + 1]}
    if named == "later":
        announcement["same_news_as"] = "amzn-report"
    else:  # the earlier entry names the later one as the news
        report["same_news_as"] = "amzn-announcement"
    events = pd.concat([events, pd.DataFrame([report, announcement])], ignore_index=True)
    events = events[~((events["ticker"] == "S0007") & (events["tags"] == "other"))]
    spec = StudySpec(group_by=("all", "tags"), max_loss=1.0)
    return events.reset_index(drop=True), syn.close, spec


def test_two_entries_of_one_news_are_one_observation_in_their_group() -> None:
    """The group of the two entries has one observation over every window their measured
    days share, so no cross-sectional t (no t = 272 from two copies of one reaction): the
    headline is the primary's own t, with the interval that t implies."""
    events, close, spec = _news_case()
    res = run_study(events, close, spec)
    g = res.group_table("tags", "CAAR").query("group == 'amazon'").set_index("window")
    w = res.windows.set_index(["event_id", "window"])
    for label, (a, b) in zip(g.index, spec.windows, strict=True):
        row = g.loc[label]
        overlap = b - a >= 1  # day-0 sessions one apart: the windows share days
        assert row["n_rows"] == 2
        assert row["n"] == (1 if overlap else 2)
        assert row["merged"] == (1 if overlap else 0)
        if overlap:
            assert np.isnan(row[["t", "bmp", "kp"]].astype(float)).all()
            assert "1 row merged" in row["notes"]
            own = w.loc[("amzn-report", label)]
            dof = res.events.set_index("event_id").loc["amzn-report", "dof"]
            assert row["value"] == own["car"]
            assert row["headline"] == "single-event t"
            assert row["headline_stat"] == pytest.approx(own["t"], rel=1e-12)
            assert row["headline_p"] == pytest.approx(2 * stats.t.sf(abs(own["t"]), dof))
            half = stats.t.ppf(0.975, dof) * own["car_se"]
            assert row["lo"] == pytest.approx(own["car"] - half, rel=1e-9)
            assert row["hi"] == pytest.approx(own["car"] + half, rel=1e-9)
        else:
            both = w.loc[[("amzn-report", label), ("amzn-announcement", label)], "car"]
            assert row["value"] == pytest.approx(both.mean(), rel=1e-12)
            assert row["t"] == pytest.approx(stats.ttest_1samp(both, 0.0).statistic)
    # a day's AAR: the two are on different sessions, both count
    aar = res.group_table("tags", "AAR").query("group == 'amazon'").set_index("day")
    assert aar.loc[0, "n"] == 2
    assert aar.loc[0, "merged"] == 0
    # the per-event table still shows both rows, the announcement merged into the report
    ev = res.events.set_index("event_id")
    assert ev.loc["amzn-report", "primary_obs"]
    assert not ev.loc["amzn-announcement", "primary_obs"]
    assert list(ev.loc["amzn-report", "overlaps"]) == ["amzn-announcement"]
    assert list(ev.loc["amzn-announcement", "overlaps"]) == ["amzn-report"]
    assert ev.loc["amzn-report", "n_overlaps"] == 1
    assert ev.drop(index=["amzn-report", "amzn-announcement"])["primary_obs"].all()


def test_a_primary_lists_the_rows_merged_into_it_and_they_list_it() -> None:
    """Three entries of one ticker on consecutive sessions, none naming another: the earliest
    is the observation; over the widest window the other two are merged into it."""
    syn = make_market(n_days=700, n_stocks=4, n_events=1, seed=36)
    idx = syn.close.index
    events = pd.DataFrame(
        {"event_id": ["a", "b", "c"], "ticker": "S0001", "day0": [idx[500], idx[501], idx[502]]}
    )
    res = run_study(events, syn.close, StudySpec(group_by=("all",)))
    ev = res.events.set_index("event_id")
    assert list(ev["primary_obs"]) == [True, False, False]
    assert list(ev.loc["a", "overlaps"]) == ["b", "c"]
    assert list(ev.loc["b", "overlaps"]) == ["a"]
    assert list(ev.loc["c", "overlaps"]) == ["a"]
    assert list(ev["n_overlaps"]) == [2, 2, 2]
    caar = res.group_table("all", "CAAR").set_index("window")
    assert list(caar["n"]) == [3, 1, 1, 1]  # [0,0]: three sessions; the others overlap


def test_the_named_entry_is_the_primary_even_when_it_is_the_later() -> None:
    events, close, spec = _news_case(named="earlier")
    res = run_study(events, close, spec)
    ev = res.events.set_index("event_id")
    assert ev.loc["amzn-announcement", "primary_obs"]
    assert not ev.loc["amzn-report", "primary_obs"]
    row = res.group_table("tags", "CAAR").query("group == 'amazon'").set_index("window")
    row = row.loc["[0,+5]"]
    own = res.windows.set_index(["event_id", "window"]).loc[("amzn-announcement", "[0,+5]")]
    assert row["value"] == own["car"]


def test_an_unmeasured_primary_leaves_its_news_to_the_other_entry() -> None:
    """The primary is chosen among the rows measured: when the named entry cannot be
    measured, the other entry is the observation."""
    events, close, spec = _news_case()
    events = events.assign(model="")
    events.loc[events["event_id"] == "amzn-report", "model"] = "factor"  # no factors given
    res = run_study(events, close, spec)
    assert res.dropped.set_index("event_id").loc["amzn-report", "stage"] == "model"
    ev = res.events.set_index("event_id")
    assert ev.loc["amzn-announcement", "primary_obs"]
    row = res.group_table("tags", "CAAR").query("group == 'amazon'").set_index("window")
    assert row.loc["[0,+5]", "n"] == 1
    assert row.loc["[0,+5]", "n_rows"] == 1


def test_rows_of_one_ticker_and_session_in_different_groups_count_in_each_group() -> None:
    """Within any group: the same session of one ticker in two categories is an observation
    of each category, and one observation of the 'all' group."""
    syn = make_market(n_days=700, n_stocks=6, n_events=10, seed=34, min_gap=60)
    e = syn.events.assign(category="a")
    twin = e.iloc[[0]].assign(event_id="twin", category="b")
    events = pd.concat([e, twin], ignore_index=True)
    spec = StudySpec(group_by=("all", "category"), max_loss=1.0)
    res = run_study(events, syn.close, spec)
    cat = res.group_table("category", "AAR").set_index(["group", "day"])
    assert cat.loc[("a", 0), "n"] == 10
    assert cat.loc[("b", 0), "n"] == 1
    allg = res.group_table("all", "AAR").set_index("day")
    assert allg.loc[0, "n_rows"] == 11
    assert allg.loc[0, "n"] == 10
    # the twin's AR is its original's (same ticker, same session, same model): counting
    # both would give a copy a weight of its own
    original = (e.loc[0, "event_id"], e.loc[0, "ticker"])
    assert res.ar.loc[("twin", e.loc[0, "ticker"])].equals(res.ar.loc[original])


# ----------------------------------------------------------------------------- 3. context


def test_context_rows_that_are_not_studied_count_as_confounders() -> None:
    """Confounder-only events (event_id, ticker, market, day0, category), one of them before
    the loaded prices with a window reaching into them: they flag and shorten estimation
    windows exactly as the oracle (which knows every event) says."""
    syn = make_market(n_days=900, n_stocks=4, n_events=4, seed=35, min_gap=200)
    idx = syn.close.index
    studied = pd.DataFrame(
        {"event_id": ["s1", "s2"], "ticker": ["S0000", "S0001"], "day0": [idx[400], idx[600]]}
    )
    context = pd.DataFrame(
        {
            "event_id": ["c-before", "c-inside", "c-window", "c-other"],
            "ticker": ["S0000", "S0000", "S0001", "S0002"],
            "market": "XNYS",
            # 400 - 250 - 1 = 149 is the first session loaded: c-before's window [-5, +20]
            # around session 140 reaches sessions 135-160, 11 of them in s1's estimation
            "day0": [idx[140], idx[300], idx[601], idx[400]],
            "category": "earnings",
        }
    )
    spec = StudySpec(group_by=("all",))
    prices = loaded(syn.close, studied, spec)
    assert prices.index[0] == idx[149]
    res = run_study(studied, prices, spec, context=context)
    ev = res.events.set_index("event_id")
    orc = {o.event_id: o for o in oracle(syn.close, studied, context=context)}
    assert ev.loc["s1", "n_est"] == orc["s1"].nobs == 240 - 11 - 26
    assert ev.loc["s2", "n_est"] == orc["s2"].nobs == 240
    assert ev.loc["s2", "confounded"]
    assert not ev.loc["s1", "confounded"]
    assert res.confounded_by("s2", "S0001") == ["c-window"]
    assert ev.loc["s1", "alpha"] == pytest.approx(orc["s1"].alpha, rel=1e-9)


def _study_as_loaded(sub, catalog, prices_dir: Path):  # type: ignore[no-untyped-def]
    from backtest.prices import load_prices

    spec = StudySpec()
    table, dropped = normalize_event_table(sub.to_frame())
    tickers, start, end = price_needs(table, reach=spec.reach, benchmarks=spec.benchmarks)
    panel = load_prices(tickers, start, end, prices_dir=prices_dir)
    return run_study(table, panel, spec, dropped=dropped, context=catalog)


@pytest.mark.slow
def test_meta_q3_2025_is_measured_the_same_whatever_is_studied(shared_prices_dir: Path) -> None:
    """meta-2025q3-results (shipped catalog, real prices) gives identical numbers studied
    alone, within the earnings category and in the whole catalog, each with the prices its
    own study loads and the whole catalog as context."""
    from backtest import load_catalog

    catalog = load_catalog()
    runs = [
        _study_as_loaded(catalog.filter(ids=["meta-2025q3-results"]), catalog, shared_prices_dir),
        _study_as_loaded(catalog.filter(categories=["earnings"]), catalog, shared_prices_dir),
        _study_as_loaded(catalog, catalog, shared_prices_dir),
    ]
    key = ("meta-2025q3-results", "META")
    cols = ["alpha", "beta", "sigma", "n_est", "dof", "est_first", "n_confounders", "model"]
    rows = [r.events.set_index(["event_id", "ticker"]).loc[[key], cols] for r in runs]
    for other in rows[1:]:
        pd.testing.assert_frame_equal(rows[0], other, check_exact=True)
    for r in runs[1:]:
        pd.testing.assert_frame_equal(runs[0].ar.loc[[key]], r.ar.loc[[key]], check_exact=True)
        w0 = runs[0].windows.set_index(["event_id", "ticker", "window"]).sort_index().loc[key]
        w = r.windows.set_index(["event_id", "ticker", "window"]).sort_index().loc[key]
        pd.testing.assert_frame_equal(w0, w, check_exact=True)
    assert rows[0].loc[key, "n_est"] == 194  # its estimation window overlaps earlier events
    assert runs[0].confounded_by(*key) == ["busan-trump-xi-summit"]


@pytest.mark.parametrize("n_stats", [1, 5, 8, 9, 16, 17, 40, 62])
def test_observation_patterns_are_numbered_by_their_bits(n_stats: int) -> None:
    """Each measured row's pattern (which statistics it is an observation of) is the
    integer with bit s set for statistic s, whatever the number of statistics; rows of no
    statistic get -1 and the table lists each pattern once."""
    from backtest.study.measure import _pattern_bits, _patterns

    rng = np.random.default_rng(n_stats)
    rows = (rng.random((500, n_stats)) < 0.7).astype(np.uint8)
    rows[:3] = 0  # observations of nothing
    rows[3:6] = 1
    want = [sum(int(v) << s for s, v in enumerate(r)) for r in rows]
    assert _pattern_bits(rows).tolist() == want
    kept = np.zeros((1000, n_stats), dtype=np.uint8)
    idx = np.arange(0, 1000, 2)  # the measured rows
    kept[idx] = rows
    pats = _patterns(kept, idx)
    for r in idx:
        p = pats.pattern[r]
        if not kept[r].any():
            assert p == -1
        else:
            assert pats.patterns[p].tolist() == kept[r].astype(bool).tolist()
    assert len({tuple(t) for t in pats.patterns.tolist()}) == len(pats.patterns)
    assert (pats.pattern[1::2] == -1).all()  # rows not measured
