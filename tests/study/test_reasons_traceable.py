"""Every number traced to its inputs: a window without a value says why (which day's return is
missing, whose, and why), the summary shows it, a price the quality checks masked is named in
the reason of the rows it drops, and the summary never reads "None"."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.prices import load_prices
from backtest.study import StudyDataLossError, StudySpec, run_study
from tests.clirun import run_main
from tests.study.synth import make_market


def _ending_early() -> tuple[pd.DataFrame, pd.DatetimeIndex, pd.DataFrame]:
    """S0000's prices end 11 sessions before the others'; SPY has no price on one session
    inside S0001's window; S0002's windows are whole."""
    syn = make_market(n_days=600, n_stocks=3, n_events=3, seed=41)
    close, days = syn.close.copy(), syn.close.index
    close.iloc[-10:, close.columns.get_loc("S0000")] = np.nan
    close.iloc[403, close.columns.get_loc("SPY")] = np.nan
    ev = pd.DataFrame(
        {
            "event_id": ["ends", "spy-hole", "whole"],
            "ticker": ["S0000", "S0001", "S0002"],
            "day0": [days[-12], days[400], days[450]],
        }
    )
    return close, days, ev


def test_a_window_without_a_value_says_which_return_is_missing_and_why() -> None:
    close, days, ev = _ending_early()
    spec = StudySpec(windows=((0, 1), (0, 5)), path=(0, 5), group_by=("all",), max_loss=1.0)
    res = run_study(ev, close, spec)
    w = res.windows.set_index(["event_id", "window"])
    assert w.loc[("ends", "[0,+1]"), "missing"] == ""
    assert w.loc[("ends", "[0,+5]"), "missing"] == (
        f"no S0000 return on day +2 ({days[-10].date()}): past the end of S0000's prices "
        f"(last {days[-11].date()}) (4 of the window's 6 days lack a return)"
    )
    # SPY has no price on session 403: the returns of 403 and 404 are missing
    assert w.loc[("spy-hole", "[0,+5]"), "missing"] == (
        f"no benchmark SPY return on day +3 ({days[403].date()}): SPY has no price on "
        f"{days[403].date()}, a session inside its prices (2 of the window's 6 days lack a "
        "return)"
    )
    assert (w.loc[w["complete"], "missing"] == "").all()
    # in the JSON too, None where the window has a value
    by_id = {e["event_id"]: e["windows"] for e in res.to_dict()["events"]}
    assert by_id["ends"]["[0,+5]"]["missing"] == w.loc[("ends", "[0,+5]"), "missing"]
    assert by_id["ends"]["[0,+1]"]["missing"] is None
    # the summary shows the cells' notes and why each window has no value
    text = str(res.summary())
    assert "- [0,+5]: 2 measured rows without a value" in text
    assert "Windows without a value (2;" in text
    assert "- 2 x [0,+5]: 2 kinds of reason, the most common (1 x): no S0000 return" in text


def test_a_window_with_no_complete_row_reads_n_a_in_the_repr_and_is_explained() -> None:
    close, days, ev = _ending_early()
    spec = StudySpec(windows=((0, 5),), path=(0, 5), group_by=("all", "ticker"), max_loss=1.0)
    res = run_study(ev.iloc[[0]], close, spec)
    assert repr(res).endswith("; CAAR[0,+5] n/a (no complete window)>")
    assert "(p )" not in repr(res)
    text = str(res.summary())
    assert "- S0000: 1 measured row without a value" in text  # the by-ticker table's row
    assert (
        f"- 1 x [0,+5]: no S0000 return on day +2 ({days[-10].date()}): past the end of "
        f"S0000's prices (last {days[-11].date()}) (4 of the window's 6 days lack a return)"
    ) in text


def test_the_summary_gives_the_price_range_when_no_row_has_prices() -> None:
    syn = make_market(n_days=300, n_stocks=2, n_events=2, seed=42)
    ev = pd.DataFrame({"event_id": ["n"], "ticker": ["NFLX"], "day0": [syn.close.index[200]]})
    res = run_study(ev, syn.close, StudySpec(max_loss=1.0))
    first, last = syn.close.index[0].date(), syn.close.index[-1].date()
    assert res.data["price_first"] == first.isoformat()
    assert f"prices {first} to {last}; 0 (event, ticker) rows measured, 1 dropped" in str(res)
    assert "None" not in str(res)
    empty = run_study(ev, syn.close.iloc[:0], StudySpec(max_loss=1.0))
    assert "\nno prices; 0 (event, ticker) rows measured, 1 dropped" in str(empty)


def test_dropped_reasons_are_counted_by_kind_with_their_numbers_as_ranges() -> None:
    from backtest.study.results import reason_kinds

    reasons = [f"only {n} valid estimation-window returns, 120 required" for n in (52, 119, 52)]
    assert reason_kinds([*reasons, "no prices for 0700.HK", "no prices for 9988.HK"]) == [
        (3, "only 52-119 valid estimation-window returns, 120 required"),
        (1, "no prices for 0700.HK"),
        (1, "no prices for 9988.HK"),
    ]
    assert reason_kinds(["day -5 on 2024-01-02", "day +3 on 2024-03-01"]) == [
        (2, "day -5 to +3 on 2024-01-02 to 2024-03-01")
    ]
    syn = make_market(n_days=400, n_stocks=3, n_events=3, seed=43)
    days = syn.close.index
    ev = pd.DataFrame(
        {"event_id": ["a", "b", "c"], "ticker": ["S0000", "S0001", "S0002"],
         "day0": [days[100], days[110], days[120]]}
    )  # fmt: skip
    res = run_study(ev, syn.close, StudySpec(max_loss=1.0))
    assert res.dropped["reason"].nunique() == 3  # 89, 99 and 109 returns
    assert "- 3 x estimation: only 89-109 valid estimation-window returns, 120 required" in str(res)
    assert "different reasons" not in str(res)
    with pytest.raises(StudyDataLossError) as info:  # and so does the error of max_loss
        run_study(ev, syn.close, StudySpec(max_loss=0.5))
    assert "\n  3 x estimation: only 89-109 valid estimation-window returns, 120 required\n" in (
        str(info.value)
    )


def _write(path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(path, index=False)


def test_a_price_masked_by_the_quality_checks_is_named_in_the_drop_reason(
    tmp_path: Path,
) -> None:
    syn = make_market(n_days=400, n_stocks=2, n_events=2, seed=44)
    days = syn.close.index

    def bars(t: str) -> pd.DataFrame:
        c = syn.close[t].to_numpy()
        return pd.DataFrame(
            {"Date": days.strftime("%Y-%m-%d"), "Open": c, "High": c * 1.01, "Low": c * 0.99,
             "Close": c, "Volume": 1000}
        )  # fmt: skip

    s0 = bars("S0000")
    dup = s0.iloc[[300]].assign(Close=s0["Close"].iloc[300] * 1.005)  # the same date, again
    _write(tmp_path / "S0000.csv", pd.concat([s0, dup]).sort_values("Date", kind="stable"))
    s1 = bars("S0001")
    s1.loc[350, ["Open", "High", "Low", "Close"]] = -5.0
    _write(tmp_path / "S0001.csv", s1)
    _write(tmp_path / "SPY.csv", bars("SPY").drop(index=250))  # a session without its row
    panel = load_prices(["S0000", "S0001", "SPY"], prices_dir=tmp_path)
    assert not panel.quality.ok
    ev = pd.DataFrame(
        {"event_id": ["dup", "neg", "in-window", "no-row"],
         "ticker": ["S0000", "S0001", "S0000", "S0001"],
         "day0": [days[300], days[351], days[299], days[249]]}
    )  # fmt: skip
    res = run_study(ev, panel, StudySpec(windows=((0, 1),), max_loss=1.0))
    # inside a window: the window says so
    assert res.windows.set_index("event_id").loc["in-window", "missing"] == (
        f"no S0000 return on day +1 ({days[300].date()}): the S0000 price of "
        f"{days[300].date()} is in the data but the quality checks masked it "
        "(conflicting_duplicate: date repeated with different values)"
    )
    assert res.windows.set_index("event_id").loc["no-row", "missing"] == (
        f"no benchmark SPY return on day +1 ({days[250].date()}): SPY has no row for the "
        f"session {days[250].date()} (missing_session in the quality report)"
    )
    d = res.dropped.set_index("event_id")["reason"]
    generic = "no return on day 0 (no price on day 0 or on the session before)"
    assert d["dup"] == (
        f"{generic}: the S0000 price of day 0, {days[300].date()}, is in the data but the "
        "quality checks masked it (conflicting_duplicate: date repeated with different values)"
    )
    assert d["neg"] == (
        f"{generic}: the S0001 price of the session before, {days[350].date()}, is in the "
        "data but the quality checks masked it (non_positive_price: open/high/low/close zero "
        "or negative)"
    )


def test_evbt_study_json_writes_provenance_as_json_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    syn = make_market(n_days=300, n_stocks=1, n_events=1, seed=45)
    days = syn.close.index
    for t in ("S0000", "SPY"):
        c = syn.close[t].to_numpy()
        _write(
            tmp_path / f"{t}.csv",
            pd.DataFrame(
                {"Date": days.strftime("%Y-%m-%d"), "Open": c, "High": c, "Low": c,
                 "Close": c, "Volume": 1000}
            ),
        )  # fmt: skip
    ev = tmp_path / "ev.csv"
    ev.write_text(f"event_id,ticker,date,timing\na,S0000,{days[200].date()},before_open\n")
    code, out, err = run_main(
        ["study", "--events-csv", str(ev), "--prices-dir", str(tmp_path), "--format", "json"],
        capsys,
    )
    assert code == 0, err
    prov = json.loads(out)["prices"]["provenance"]["S0000"]
    assert isinstance(prov["rows"], int)  # a number, not "221"
    assert prov["rows"] > 200
    assert days[0] <= pd.Timestamp(dt.date.fromisoformat(prov["last"])) <= days[-1]
    assert prov["covered"] == []  # a list of [first, last] pairs (none for a CSV folder), not "()"
    assert isinstance(prov["fetched_at"], str)


def test_the_summary_header_lines_stay_two_lines_in_rendered_markdown() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    syn = make_market(n_days=400, n_stocks=3, n_events=3, seed=46)
    res = run_study(syn.events, syn.close, StudySpec(max_loss=1.0))
    head = res.summary().blocks[0]
    first, second = head.items()  # type: ignore[union-attr]
    html = markdown_it.MarkdownIt("commonmark").render(res.summary().as_markdown())
    paragraph = html.split("<p>", 1)[1].split("</p>", 1)[0]
    assert paragraph.split("<br />\n") == [first, second]
