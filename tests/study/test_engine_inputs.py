"""Bad and awkward input: every dropped row has a stage and a reason; errors say what to do."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.study import (
    EventsFileError,
    FactorFileError,
    SpecError,
    StudyDataLossError,
    StudySpec,
    inputs,
    read_events_csv,
    read_factors,
    run_study,
)
from backtest.study.inputs import priced_sessions, session_returns, ticker_returns
from tests.study.synth import make_market


def test_every_drop_has_a_stage_and_reason() -> None:
    syn = make_market(n_days=600, n_stocks=6, n_events=12, seed=1)
    close = syn.close.assign(CONST=10.0)  # a price that never moves: every return is 0
    ev = syn.events.copy()
    extra = pd.DataFrame(
        {
            "event_id": ["no-prices", "too-early", "short-history", "day0-hole", "bad-ticker",
                         "flat", "singular"],
            "ticker": ["ZZZZ", "S0000", "S0001", "S0002", "lower", "CONST", "S0003"],
            "day0": [ev.day0[0], close.index[0] - pd.Timedelta(days=30), close.index[100],
                     close.index[400], ev.day0[0], close.index[400], close.index[450]],
            "benchmark": ["", "", "", "", "", "", "CONST"],
        }
    )  # fmt: skip
    close.iloc[400, close.columns.get_loc("S0002")] = np.nan  # no price on day 0
    res = run_study(pd.concat([ev, extra], ignore_index=True), close, StudySpec(max_loss=1.0))
    d = res.dropped.set_index("event_id")
    assert d.loc["no-prices", "stage"] == "prices"
    assert d.loc["no-prices", "reason"] == "no prices for ZZZZ in the price data"
    assert d.loc["too-early", "stage"] == "calendar"
    assert "is outside the XNYS price data" in d.loc["too-early", "reason"]
    assert d.loc["short-history", "stage"] == "estimation"
    assert d.loc["short-history", "reason"] == (
        "only 89 valid estimation-window returns, 120 required"  # sessions 1..89 exist
    )
    assert d.loc["day0-hole", "stage"] == "event window"
    assert d.loc["day0-hole", "reason"].startswith("no return on day 0")
    assert d.loc["flat", "stage"] == "estimation"
    assert d.loc["flat", "reason"].startswith("zero residual variance in the estimation window")
    assert d.loc["singular", "stage"] == "estimation"
    assert d.loc["singular", "reason"] == (
        "the benchmark's (or a factor's) returns do not vary over the estimation window"
    )
    assert d.loc["bad-ticker", "stage"] == "input"
    assert "upper case" in d.loc["bad-ticker", "reason"]
    assert len(res.events) == len(ev)  # the good ones are all measured
    assert res.data["n_input"] == len(ev) + len(extra)


def _ff3(index: pd.DatetimeIndex, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {c: rng.normal(0, 0.005, len(index)) for c in ("Mkt-RF", "SMB", "HML")}
    return pd.DataFrame({**cols, "RF": 0.0001}, index=index)


def test_no_return_on_day_0_says_which_series_is_missing() -> None:
    # day 0 without a factor row (a US holiday for a foreign stock; after the factor file
    # ends), without the benchmark's price, without the risk-free rate: each named, with the
    # date, instead of "no return on day 0 (no price on day 0 ...)" though the stock has it
    syn = make_market(n_days=600, n_stocks=5, n_events=5, seed=3)
    close, days = syn.close.copy(), syn.close.index
    factors = _ff3(days[:580]).drop(days[400])
    factors.loc[days[500], "RF"] = np.nan
    close.iloc[450, close.columns.get_loc("SPY")] = np.nan
    ev = pd.DataFrame(
        {
            "event_id": ["no-factor-row", "after-factors", "no-benchmark", "no-rf", "no-stock"],
            "ticker": ["S0000", "S0001", "S0002", "S0003", "S0004"],
            "day0": [days[400], days[590], days[450], days[500], days[300]],
            "model": ["factor", "factor", "market", "factor", "factor"],
        }
    )
    close.iloc[300, close.columns.get_loc("S0004")] = np.nan
    res = run_study(ev, close, StudySpec(max_loss=1.0), factors=factors)
    d = res.dropped.set_index("event_id")
    assert set(d.index) == set(ev.event_id)
    assert (d["stage"] == "event window").all()
    end = days[579].date()
    assert d.loc["no-factor-row", "reason"] == (
        f"no factor returns on day 0 {days[400].date()} (the factor file has no row for it; "
        f"it covers {days[0].date()} to {end})"
    )
    assert d.loc["after-factors", "reason"] == (
        f"no factor returns on day 0 {days[590].date()} (the factor file has no row for it; "
        f"it ends {end})"
    )
    assert d.loc["no-benchmark", "reason"] == (
        f"no benchmark SPY return on day 0 {days[450].date()} (no SPY price on day 0 or on "
        "the session before)"
    )
    assert d.loc["no-rf", "reason"] == (
        f"no risk-free rate (RF) on day 0 {days[500].date()} in the factor file"
    )
    assert d.loc["no-stock", "reason"] == (
        "no return on day 0 (no price on day 0 or on the session before)"
    )


def test_a_factor_fit_with_no_more_returns_than_parameters_is_said_so() -> None:
    # 5 sessions, a missing price: 3 returns for the 4 parameters of a 3-factor model, which
    # needs 5 (a residual degree of freedom); not "returns do not vary"
    syn = make_market(n_days=400, n_stocks=2, n_events=2, seed=4)
    close, days = syn.close.copy(), syn.close.index
    close.iloc[300 - 6, close.columns.get_loc("S0000")] = np.nan  # returns -6 and -5 missing
    ev = pd.DataFrame({"event_id": ["few"], "ticker": ["S0000"], "day0": [days[300]]})
    spec = StudySpec(model="factor", estimation=(-6, -2), min_estimation=3, windows=((0, 0),),
                     path=(0, 0), max_loss=1.0)  # fmt: skip
    res = run_study(ev, close, spec, factors=_ff3(days))
    d = res.dropped.set_index("event_id")
    assert d.loc["few", "stage"] == "estimation"
    assert d.loc["few", "reason"] == (
        "3 valid estimation-window returns for the factor model's 4 parameters (an intercept "
        "and Mkt-RF, SMB, HML): it needs at least 5"
    )
    # a window shorter than that is refused up front
    with pytest.raises(SpecError, match=r"the estimation window \(-5, -2\) has 4 sessions: too "
                       r"few for the factor model's 4 parameters"):  # fmt: skip
        run_study(ev, close, spec.replace(estimation=(-5, -2)), factors=_ff3(days))


def test_rows_without_a_value_in_a_window_are_noted_in_the_group_table() -> None:
    # factors that end inside one event's window, a price missing in another's: both CARs
    # are NaN (complete False) and left out of the CAAR, which the group row's notes say
    syn = make_market(n_days=600, n_stocks=3, n_events=3, seed=5)
    close, days = syn.close.copy(), syn.close.index
    ev = pd.DataFrame(
        {
            "event_id": ["factors-end", "price-gap", "whole"],
            "ticker": ["S0000", "S0001", "S0002"],
            "day0": [days[580], days[400], days[450]],
        }
    )
    close.iloc[403, close.columns.get_loc("S0001")] = np.nan  # returns +3 and +4 missing
    spec = StudySpec(model="factor", windows=((0, 1), (0, 5)), path=(0, 5), group_by=("all",),
                     max_loss=1.0)  # fmt: skip
    res = run_study(ev, close, spec, factors=_ff3(days[:583]))  # the last factor day is +2
    assert res.dropped.empty
    w = res.windows.set_index(["event_id", "window"])["complete"]
    assert w.tolist() == [True, False, True, False, True, True]
    g = res.groups.set_index(["measure", "window", "day"])
    two = "2 measured rows without a value: a return (the stock's, its benchmark's or a "
    two += "factor's) is missing in the window (complete is False in the windows table)"
    for measure in ("CAAR", "ABHAR"):
        assert g.loc[(measure, "[0,+1]", pd.NA), "notes"] == ""
        assert g.loc[(measure, "[0,+5]", pd.NA), "n_rows"] == 1
        assert g.loc[(measure, "[0,+5]", pd.NA), "notes"].startswith(two)
    day = "without a value: a return (the stock's, its benchmark's or a factor's) is missing "
    day += "on the day"
    aar = res.groups[res.groups["measure"] == "AAR"]
    assert aar["n_rows"].tolist() == [3, 3, 3, 1, 1, 2]  # +3, +4: both; +5: factors only
    assert [n.split(" | ")[0] for n in aar["notes"]] == [
        "", "", "", f"2 measured rows {day}", f"2 measured rows {day}",
        f"1 measured row {day}",
    ]  # fmt: skip


def test_a_day_0_inside_the_prices_that_is_no_session_is_named_as_such() -> None:
    # a Saturday and Christmas observed (Friday 2010-12-24) inside the prices, and a date
    # after them: each dropped with a reason that says which it is
    syn = make_market(n_days=600, n_stocks=3, n_events=3, seed=7)
    first, last = syn.close.index[0], syn.close.index[-1]
    assert first < pd.Timestamp("2010-12-24") < last
    extra = pd.DataFrame(
        {
            "event_id": ["saturday", "holiday", "after"],
            "ticker": ["S0000", "S0001", "S0002"],
            "day0": pd.to_datetime(["2011-05-28", "2010-12-24", "2030-01-02"]),
        }
    )
    res = run_study(pd.concat([syn.events, extra], ignore_index=True), syn.close,
                    StudySpec(max_loss=1.0))  # fmt: skip
    d = res.dropped.set_index("event_id")
    assert set(d.index) == {"saturday", "holiday", "after"}
    assert (d["stage"] == "calendar").all()
    assert d.loc["saturday", "reason"].startswith(
        "day 0 2011-05-28 is not a session of XNYS (a Saturday): give an event table the "
        "session itself (here the next is 2011-05-31)"
    )
    assert d.loc["holiday", "reason"].startswith(
        "day 0 2010-12-24 is not a session of XNYS (a holiday)"
    )
    assert "(here the next is 2010-12-27)" in d.loc["holiday", "reason"]
    assert d.loc["after", "reason"] == (
        f"day 0 2030-01-02 is outside the XNYS price data ({first.date()} to {last.date()})"
    )


def test_failed_price_loads_give_their_reason() -> None:
    class Panel:
        def __init__(self, close: pd.DataFrame) -> None:
            self.close = close
            self.failed = {"ZZZZ": "unknown ticker on Yahoo (delisted?)"}

    syn = make_market(n_days=400, n_stocks=3, n_events=3, seed=1)
    ev = pd.concat(
        [
            syn.events,
            pd.DataFrame({"event_id": ["x"], "ticker": ["ZZZZ"], "day0": [syn.events.day0[0]]}),
        ],
        ignore_index=True,
    )
    res = run_study(ev, Panel(syn.close), StudySpec(max_loss=1.0))
    assert res.dropped["reason"].tolist() == [
        "no prices for ZZZZ: unknown ticker on Yahoo (delisted?)"
    ]


def test_a_failed_load_names_the_ticker_once() -> None:
    """The prices' failure (which names the ticker itself when printed) is reported by its
    reason and hint: "no prices for JUNK: <reason> (<hint>)", the ticker said once and no
    internal kind code (``unknown:``) in a message for people."""
    from backtest.prices.base import FetchFailure

    class Panel:
        def __init__(self, close: pd.DataFrame) -> None:
            self.close = close
            self.failed = {
                "JUNK": FetchFailure(
                    "JUNK", None, None, "unknown", "no such ticker", hint="check the spelling"
                )
            }

    syn = make_market(n_days=400, n_stocks=3, n_events=3, seed=1)
    junk = pd.DataFrame({"event_id": ["x"], "ticker": ["JUNK"], "day0": [syn.events.day0[0]]})
    res = run_study(pd.concat([syn.events, junk]), Panel(syn.close), StudySpec(max_loss=1.0))
    (reason,) = res.dropped["reason"]
    assert reason == "no prices for JUNK: no such ticker (check the spelling)"
    assert reason.count("JUNK") == 1


def test_unknown_groups_windows_and_days_name_the_known_ones() -> None:
    from backtest.errors import UnknownGroupError

    syn = make_market(n_days=500, n_stocks=3, n_events=6, seed=1, n_groups=2)
    res = run_study(syn.events, syn.close, StudySpec(group_by=("all", "grp")))
    with pytest.raises(UnknownGroupError) as info:
        res.tests("grp", "g000x", window=(0, 0))
    assert str(info.value) == (
        "no group grp='g000x' in the result; did you mean 'g000'? (known groups of grp: g000, g001)"
    )
    assert isinstance(info.value, LookupError)
    assert info.value.group == "g000x"
    with pytest.raises(UnknownGroupError, match=r"no grouping 'sector' in the result \(known: "
                       r"all, grp\)"):  # fmt: skip
        res.tests("sector", "tech", window=(0, 0))
    with pytest.raises(UnknownGroupError, match=r"no window \[0,\+2\] for all='all'.*known "
                       r"windows: \[0,0\], \[-1,\+1\], \[0,\+5\], \[-5,\+20\]"):  # fmt: skip
        res.tests(window=(0, 2))
    with pytest.raises(UnknownGroupError, match="no day 30 for all='all'"):
        res.tests(day=30)


def test_max_loss_stops_the_run_with_the_reasons() -> None:
    syn = make_market(n_days=400, n_stocks=3, n_events=3, seed=1)
    ev = syn.events.assign(ticker="NOPE")
    with pytest.raises(StudyDataLossError) as info:
        run_study(ev, syn.close)
    msg = str(info.value)
    assert msg.startswith("3 of 3 (event, ticker) rows (100%) were dropped, more than max_loss=35%")
    assert "3 x prices: no prices for NOPE in the price data" in msg
    assert "raise max_loss (--max-loss)" in msg


def test_benchmark_rules() -> None:
    syn = make_market(n_days=500, n_stocks=3, n_events=3, seed=1)
    close = syn.close.assign(QQQ=syn.close["SPY"] * 1.01)
    ev = syn.events.copy()
    ev["benchmark"] = ["QQQ", "", "0700.HK"]
    extra = pd.DataFrame({"event_id": ["spy"], "ticker": ["SPY"], "day0": [ev.day0[0]]})
    res = run_study(pd.concat([ev, extra], ignore_index=True), close, StudySpec(max_loss=1.0))
    e = res.events.set_index("event_id")
    assert e.loc["ev00000", "benchmark"] == "QQQ"  # per-event override
    assert e.loc["ev00001", "benchmark"] == "SPY"  # market default
    assert e.loc["spy", "model"] == "constant_mean"  # not measured against itself
    assert e.loc["spy", "model_reason"].startswith("benchmark ticker: constant-mean model")
    assert e.loc["ev00001", "model_reason"] == "the study's model (model)"
    d = res.dropped.set_index("event_id")
    assert d.loc["ev00002", "stage"] == "benchmark"
    assert d.loc["ev00002", "reason"].startswith("benchmark 0700.HK does not trade on XNYS")
    # a run-level benchmark per market
    res2 = run_study(syn.events, close, StudySpec(benchmarks={"XNYS": "QQQ"}))
    assert set(res2.events["benchmark"]) == {"QQQ"}


def test_tests_that_cannot_be_computed_say_why() -> None:
    syn = make_market(n_days=500, n_stocks=3, n_events=3, seed=1)
    res = run_study(syn.events.iloc[:1], syn.close, StudySpec(group_by=("all",)))
    tests = {t.name: t for t in res.tests(window=(-1, 1))}
    t = tests["cross-sectional t"]
    assert not t.computed
    assert t.reason == "needs at least 2 observations; n = 1"
    assert str(t) == "cross-sectional t: not computed (needs at least 2 observations; n = 1)"
    assert tests["Patell Z"].computed  # one event is enough for Patell
    assert tests["sign test"].computed
    row = res.group_table("all", "CAAR").iloc[0]
    assert "bmp: not computed (needs at least 2 observations; n = 1)" in row["notes"].split(" | ")
    # the reason is data on the row (the typed tests read it, never the notes text)
    assert row["bmp_reason"] == "needs at least 2 observations; n = 1"
    assert row["patell_reason"] is None
    altered = res.groups.assign(notes="")
    again = {t.name: t for t in replace(res, groups=altered).tests(window=(-1, 1))}
    assert again["cross-sectional t"].reason == "needs at least 2 observations; n = 1"


def test_spec_errors() -> None:
    with pytest.raises(SpecError, match="must end before the first event window starts"):
        StudySpec(estimation=(-250, -3), windows=((-5, 5),))
    with pytest.raises(SpecError, match=r"windows\[0\] \(3, 1\) starts after it ends"):
        StudySpec(windows=((3, 1),))
    with pytest.raises(SpecError, match="model must be one of"):
        StudySpec(model="capm")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="min_estimation=300 is more than the 240 days"):
        StudySpec(min_estimation=300)
    syn = make_market(n_days=400, n_stocks=3, n_events=3, seed=1)
    with pytest.raises(SpecError, match="group_by 'sector' is not a column"):
        run_study(syn.events, syn.close, StudySpec(group_by=("all", "sector")))
    with pytest.raises(SpecError, match="needs daily factors"):
        run_study(syn.events, syn.close, StudySpec(model="factor"))
    with pytest.raises(SpecError, match="unknown study setting"):
        StudySpec.from_dict({"modle": "market"})
    spec = StudySpec.from_dict(
        {"windows": [[0, 1]], "estimation": [-100, -2], "min_estimation": 60}
    )
    assert spec.windows == ((0, 1),)
    assert spec.estimation == (-100, -2)


def test_read_events_csv(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        textwrap.dedent("""\
            event_id,ticker,date,timing,category
            a,META,2024-04-24,after_close,earnings
            b,META,2024-04-27,,earnings
            c,0700.HK,2024-12-03,during,model_launch
            d,META,2024-02-30,during,earnings
            e,META,2024-03-01,soon,earnings
            f,meta,2024-03-01,during,earnings
        """),
        encoding="utf-8",
    )
    table, dropped = read_events_csv(path)
    t = table.set_index("event_id")
    assert t.loc["a", "day0"] == pd.Timestamp("2024-04-25")  # after the close
    assert t.loc["b", "day0"] == pd.Timestamp("2024-04-29")  # a Saturday, timing unknown
    assert t.loc["b", "timing"] == "unknown"
    assert t.loc["c", "market"] == "XHKG"
    assert t.loc["c", "category"] == "model_launch"
    reasons = {d.event_id: d.reason for d in dropped}
    assert reasons == {
        "d": "events.csv line 5: column date: '2024-02-30' is not a date YYYY-MM-DD",
        "e": "events.csv line 6: column timing: 'soon' is not one of before_open, during, "
        "after_close, unknown",
        "f": "events.csv line 7: column ticker: ticker 'meta': tickers are upper case as Yahoo "
        "spells them: write 'META'",
    }
    (tmp_path / "bad.csv").write_text("id,symbol\n1,X\n", encoding="utf-8")
    with pytest.raises(EventsFileError, match="missing column\\(s\\) event_id, ticker, date"):
        read_events_csv(tmp_path / "bad.csv")
    with pytest.raises(EventsFileError, match="no such events file"):
        read_events_csv(tmp_path / "none.csv")


KEN_FRENCH = """\
This file was created by CMPT_ME_BEME_RETS_DAILY using the 202401 CRSP database.
The Tbill return is the simple daily rate that, over the number of trading days
in the month, compounds to 1-month TBill rate from Ibbotson and Associates Inc.

,Mkt-RF,SMB,HML,RF
20240102,  -0.71,   0.39,   1.12,  0.021
20240103,  -1.06,  -0.22,   0.13,  0.021
20240104,  -0.40,   0.56,   0.02,  0.021

Copyright 2024 Kenneth R. French
"""

# Ken French's momentum header has trailing spaces after the name
MOMENTUM = (
    "This file was created by CMPT_ME_PRIOR_RETS_DAILY.\n\n"
    ",Mom" + " " * 3 + "\n"
    "20240102,   1.20\n"
    "20240103,  -0.30\n"
)


def test_read_factors_ken_french_format(tmp_path: Path) -> None:
    (tmp_path / "ff3.csv").write_text(KEN_FRENCH, encoding="utf-8")
    (tmp_path / "mom.csv").write_text(MOMENTUM, encoding="utf-8")
    f = read_factors(tmp_path / "ff3.csv")
    assert list(f.columns) == ["Mkt-RF", "SMB", "HML", "RF"]
    assert f.loc["2024-01-03", "Mkt-RF"] == pytest.approx(-0.0106)
    assert f.loc["2024-01-02", "RF"] == pytest.approx(0.00021)
    assert len(f) == 3
    carhart = read_factors([tmp_path / "ff3.csv", tmp_path / "mom.csv"])
    assert list(carhart.columns) == ["Mkt-RF", "SMB", "HML", "RF", "Mom"]
    assert len(carhart) == 2  # joined on the common dates
    (tmp_path / "junk.csv").write_text("hello\nworld\n", encoding="utf-8")
    with pytest.raises(FactorFileError, match="no daily rows found"):
        read_factors(tmp_path / "junk.csv")


@pytest.mark.parametrize("blank", [3, 20])
@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("block", [3, 256])
@pytest.mark.parametrize("kind", ["simple", "log"])
def test_ticker_returns_are_session_returns_by_ticker(
    kind: str, block: int, split: bool, blank: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's padded ticker-major returns equal session_returns, transposed (the prices
    read a block of columns at a time), also from a frame whose columns are in several
    arrays (columns set one by one), and with more rows without a price at its ends than are
    read there for the first and last prices."""
    monkeypatch.setattr(inputs, "_COLUMN_BLOCK", block)
    syn = make_market(n_days=300, n_stocks=6, n_events=1, seed=9)
    close = syn.close.copy()
    if split:
        for c in close.columns[1::2]:
            close[c] = close[c].to_numpy().copy()
    rng = np.random.default_rng(9)
    for _ in range(40):  # holes, and prices no return can be computed from
        close.iloc[rng.integers(0, len(close)), rng.integers(0, close.shape[1])] = np.nan
    columns = [str(c) for c in close.columns[::-1][:4]]  # not in the frame's order
    at = close.columns.get_loc
    close.iloc[5, at(columns[0])], close.iloc[9, at(columns[1])] = 0.0, -1.0
    close.iloc[12, at(columns[2])] = np.inf
    close.iloc[:blank] = np.nan  # the sessions start at the first price of any column
    close.iloc[-blank + 2 :] = np.nan  # and end at the last
    close = close.drop(close.index[[50, 51, 120]])  # sessions without a row
    sessions, expected = session_returns(close[columns], "XNYS", kind)
    got_sessions, rt = ticker_returns(close, columns, "XNYS", kind, (7, 2))
    pd.testing.assert_index_equal(got_sessions, sessions)
    assert rt.shape == (len(columns), 7 + len(sessions) + 2)
    assert np.isnan(rt[:, :7]).all()
    assert np.isnan(rt[:, -2:]).all()
    np.testing.assert_array_equal(rt[:, 7:-2], expected.T)  # NaN where NaN, else equal
    # the sessions found first (as the aligner does, to compute R on a thread) change nothing
    first = priced_sessions(close, columns, "XNYS")
    pd.testing.assert_index_equal(first, sessions)
    again_sessions, again = ticker_returns(close, columns, "XNYS", kind, (7, 2), first)
    assert again_sessions is first
    np.testing.assert_array_equal(again, rt)


def test_ticker_returns_without_any_price_are_all_pad() -> None:
    """Columns without a single price: no session, and a matrix of NaN pads only."""
    syn = make_market(n_days=300, n_stocks=3, n_events=1, seed=2)
    close = syn.close.copy()
    close.iloc[:, :2] = np.nan
    columns = [str(c) for c in close.columns[:2]]
    assert len(priced_sessions(close, columns, "XNYS")) == 0
    sessions, rt = ticker_returns(close, columns, "XNYS", "simple", (4, 3))
    assert len(sessions) == 0
    assert rt.shape == (2, 7)
    assert np.isnan(rt).all()
