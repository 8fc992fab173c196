"""The report's newer elements on small hand-built results: the earnings reaction history
(the columns of CONTRACTS.md, as study2's ``earnings_history``/``earnings_profile`` carry
them), market-wide events (the index's moves, each stock's raw move, the model of each row),
the honest strategy statistics (from ``trade_stats``, the matched benchmark, the longest time
under water), long lists capped with their counts, and the counts agreeing across the page.

Expectations are written out by hand from the frames built here, never from the code under
test.
"""

from __future__ import annotations

import copy
import dataclasses
import html as htmllib
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from backtest.job import RunResult
from backtest.reports import charts as C
from backtest.reports import html as H
from backtest.study.earnings import HISTORY_COLUMNS, PROFILE_COLUMNS


def _history() -> pd.DataFrame:
    """Three BBB quarters (out of date order on purpose) and one of another ticker."""
    rows = [
        ("BBB", "bbb-2023-08-10-earnings", "2023Q2", "2023-08-10", "after_close", 1.10, 1.00,
         -9.09, -0.06, -0.071, 0.012, np.nan),
        ("BBB", "bbb-2023-02-09-earnings", "2022Q4", "2023-02-09", "before_open", 0.90, 1.05,
         16.67, 0.031, 0.044, -0.02, np.nan),
        ("BBB", "bbb-2023-05-11-earnings", "2023Q1", "2023-05-11", "unknown", 1.00, 1.02,
         2.0, 0.004, 0.01, 0.0, np.nan),
        ("AAA", "aaa-2023-08-01-earnings", "2023Q2", "2023-08-01", "after_close", 2.0, 2.5,
         25.0, 0.05, 0.06, 0.01, np.nan),
    ]  # fmt: skip
    df = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    df["date"] = pd.to_datetime(df["date"])
    return df


def _profile() -> pd.DataFrame:
    return pd.DataFrame(
        [("BBB", 3, 0.0317, 2 / 3, -0.01, 0.012, 2, 1), ("AAA", 1, 0.05, 1.0, 0.01, np.nan, 1, 0)],
        columns=PROFILE_COLUMNS,
    )


def _with(result: RunResult, **study_fields: Any) -> RunResult:
    """A copy of ``result`` whose study carries ``study_fields`` (study2 adds them as fields;
    the report reads them by name)."""
    study = copy.copy(result.study)
    for name, value in study_fields.items():
        object.__setattr__(study, name, value)
    return dataclasses.replace(result, study=study)


def _text(page: str) -> str:
    """The page's visible text, tags removed and entities decoded, whitespace collapsed."""
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", body)))


# ------------------------------------------------------------------ earnings reaction history


def test_the_ticker_page_shows_the_earnings_reaction_history(toy_result: RunResult) -> None:
    result = _with(toy_result, earnings_history=_history(), earnings_profile=_profile())
    pages = H.render_pages(result)
    text = _text(pages["tickers/BBB.html"])
    assert "Earnings reaction history" in text
    # quarter by quarter in date order, the contract's columns formatted by hand
    rows = re.findall(r"(20\d\dQ\d) (20\d\d-\d\d-\d\d) (after close|before open|unknown)", text)
    assert rows == [
        ("2022Q4", "2023-02-09", "before open"),
        ("2023Q1", "2023-05-11", "unknown"),
        ("2023Q2", "2023-08-10", "after close"),
    ]
    assert "2022Q4 2023-02-09 before open 0.90 1.05 +16.67% +3.10% +4.40% -2.00%" in text
    assert "2023Q2 2023-08-10 after close 1.10 1.00 -9.09% -6.00% -7.10% +1.20%" in text
    assert "Abnormal volume" not in text  # no volume: no column of dashes
    # the summary: mean |AR(0)|, share up, drift after positive / negative surprises
    assert "3 results measured" in text
    assert "3.17% on the day on average" in text
    assert "up on 2 of 3." in text  # few: said as counts
    assert (
        "it drifted -1.00% on average after the 2 quarters that beat estimates and +1.20% "
        "after the 1 that missed them." in text
    )
    # the other ticker's quarter is not on BBB's page
    assert "2023-08-01" not in text


def test_abnormal_volume_is_shown_in_percent_and_explained(toy_result: RunResult) -> None:
    """``abnormal_volume`` is day-0 volume / the estimation window's mean - 1: 9.16 is ten
    times the usual volume, +916%, not "9.16" with no unit."""
    history = _history()
    history["abnormal_volume"] = [-0.25, 9.16, 0.004, 1.0]  # date order: 2023Q2, 2022Q4, Q1
    text = _text(H.render_pages(_with(toy_result, earnings_history=history))["tickers/BBB.html"])
    assert "Abnormal volume" in text
    assert "2022Q4 2023-02-09 before open 0.90 1.05 +16.67% +3.10% +4.40% -2.00% +916%" in text
    assert "2023Q1 2023-05-11 unknown 1.00 1.02 +2.00% +0.40% +1.00% 0.00% 0%" in text
    assert "2023Q2 2023-08-10 after close 1.10 1.00 -9.09% -6.00% -7.10% +1.20% -25%" in text
    assert (
        "Abnormal volume: the day-0 volume against the mean volume of the estimation window "
        "(+100%: twice the usual)." in text
    )


def _sentence(n_pos: int, n_neg: int, beats: int, misses: int, n: int = 5) -> str:
    row = dict(zip(PROFILE_COLUMNS, ("X", n, 0.04, 0.6, 0.021, -0.013, n_pos, n_neg), strict=True))
    return H.earnings_profile_sentence(row, beats, misses)


def test_the_profile_sentence_says_what_is_missing_in_words() -> None:
    head = "5 results measured: the stock moved 4.00% on the day on average (either way), up on 60%"
    after = "of them. Over the following sessions [+2,+20]"
    # no quarter missed: the beats' drift, and the missing side said in words
    assert _sentence(5, 0, 5, 0) == (
        f"{head} {after} it drifted +2.10% on average after the 5 quarters that beat "
        "estimates; no quarter missed them."
    )
    assert _sentence(0, 4, 0, 4) == (
        f"{head} {after} it drifted -1.30% on average after the 4 quarters that missed "
        "estimates; no quarter beat them."
    )
    # misses that have no drift yet (too recent) are not "no quarter missed"
    assert _sentence(1, 0, 1, 1).endswith(
        "after the 1 quarter that beat estimates; no drift could be measured after the 1 "
        "that missed them."
    )
    # no surprise at all (no estimates), and surprises without any drift
    assert _sentence(0, 0, 0, 0).endswith(
        "No quarter beat or missed estimates, so there is no drift to compare."
    )
    assert _sentence(0, 0, 2, 1).endswith(
        "No drift [+2,+20] could be measured after the 2 quarters that beat estimates or the "
        "1 quarter that missed estimates."
    )
    # the catalog gives no estimates at all (the shipped one): not "no quarter beat"
    row = dict(zip(PROFILE_COLUMNS, ("X", 3, 0.082, 0.0, None, None, 0, 0), strict=True))
    assert H.earnings_profile_sentence(row, 0, 0, surprises=0, ups=(0, 3)) == (
        "3 results measured: the stock moved 8.20% on the day on average (either way), up on "
        "0 of 3. No quarter has an EPS estimate, so the drift is not split by surprise."
    )
    one = dict(zip(PROFILE_COLUMNS, ("X", 1, 0.019, 0.0, None, None, 0, 0), strict=True))
    assert H.earnings_profile_sentence(one, 0, 0, surprises=0, ups=(0, 1)).startswith(
        "1 result measured: the stock moved 1.90% on the day, down. No quarter"
    )
    for case in [(5, 0, 5, 0), (0, 4, 0, 4), (0, 0, 0, 0)]:
        text = _sentence(*case)
        assert "—" not in text
        assert "(no positive" not in text


def test_the_earnings_chart_is_ar0_by_quarter_with_the_surprise() -> None:
    fig = C.earnings_history(_history()[lambda d: d["ticker"] == "BBB"], "BBB")
    bars, surprise = fig["data"]
    assert bars["type"] == "bar"
    assert bars["x"] == ["2022Q4", "2023Q1", "2023Q2"]  # date order
    assert bars["y"] == pytest.approx([0.031, 0.004, -0.06])
    assert surprise["yaxis"] == "y2"
    assert surprise["y"] == pytest.approx([0.1667, 0.02, -0.0909])  # percent -> fraction
    assert fig["layout"]["yaxis"]["title"]["text"] == "AR(0), %"
    assert fig["layout"]["yaxis2"]["title"]["text"] == "earnings surprise, %"
    # two announcements in one quarter stay two bars
    first = _history().iloc[:1]
    two = pd.concat([first, first.assign(date=pd.Timestamp("2023-09-01"))])
    assert C.earnings_history(two, "BBB")["data"][0]["x"] == ["2023Q2", "2023Q2 (2)"]


def test_no_earnings_history_no_section(toy_result: RunResult) -> None:
    empty = _with(
        toy_result,
        earnings_history=pd.DataFrame(columns=HISTORY_COLUMNS),
        earnings_profile=pd.DataFrame(columns=PROFILE_COLUMNS),
    )
    # the toy study's earnings events give BBB a history; with the tables empty it has none
    assert "Earnings reaction history" in H.render_pages(toy_result)["tickers/BBB.html"]
    assert "Earnings reaction history" not in H.render_pages(empty)["tickers/BBB.html"]


# ------------------------------------------------------------------ market-wide events


def test_market_events_show_the_index_moves_and_each_raw_move(toy_result: RunResult) -> None:
    study = toy_result.study
    ev = study.events.copy()
    pick = ev["event_id"] == "bbb-layoff"
    ev["scope"] = np.where(pick, "market", ev["scope"])
    ev["model"] = np.where(pick, "constant_mean", ev["model"])
    ev["model_reason"] = np.where(pick, "market-wide event: measured without the market", "")
    ev.loc[pick, "alpha"] = 0.001
    moves = pd.DataFrame(
        {
            "event_id": "bbb-layoff", "market": "XNYS", "benchmark": "SPY",
            "day0": pd.Timestamp("2023-10-04"),
            "window": ["[0,0]", "[-1,+1]", "[0,+5]", "[-5,+20]"],
            "start": [0, -1, 0, -5], "end": [0, 1, 5, 20], "n_days": [1, 3, 6, 26],
            "return": [-0.011, -0.0073, 0.02, 0.031],
        }
    )  # fmt: skip
    result = _with(toy_result, events=ev, market_events=moves)
    from backtest.reports import tables as T

    car = T.event_table(result.study).set_index("event_id").loc["bbb-layoff", "car[-1,+1]"]
    text = _text(H.render_pages(result)["index.html"])
    assert "What the index did" in text
    assert "bbb-layoff XNYS SPY 2023-10-04 -1.10% -0.73% +2.00% +3.10%" in text
    # raw move over [-1,+1] of a constant-mean row: its CAR plus 3 sessions x alpha
    raw = f"{(car + 3 * 0.001) * 100:+.2f}%"
    assert f"{raw} SPY -0.73%" in text
    assert "constant mean" in text
    assert "Every row's model: market-wide event: measured without the market." in text


# ------------------------------------------------------------------ strategy statistics


def _stats_result(toy_result: RunResult) -> RunResult:
    """The toy backtest with trade statistics and matched-benchmark figures planted."""
    (bt,) = toy_result.backtests
    m = bt.metrics.copy()
    strat = (m["kind"] == "strategy") & (m["portfolio"] == "pooled XNYS")
    m.loc[strat, "matched_total_return"] = [0.0123, 0.0456]
    m.loc[strat, "matched_sharpe"] = [0.5, 0.6]
    m.loc[strat, "profit_factor"] = ["no losing trades", 2.5]
    m["profit_factor"] = m["profit_factor"].astype(object)
    m.loc[strat, "max_drawdown_duration"] = [120, 0]
    m.loc[strat, "max_drawdown_duration_start"] = [pd.Timestamp("2023-06-07"), pd.NaT]
    m.loc[strat, "max_drawdown_duration_end"] = [pd.Timestamp("2023-10-05"), pd.NaT]
    m.loc[strat, "max_drawdown_duration_depth"] = [-0.004, 0.0]
    ts = pd.DataFrame(
        {
            "combo": [0, 1], "portfolio": "pooled XNYS", "market": "XNYS", "n_trades": [2, 2],
            "mean_trade_return": [0.021, 0.034], "median_trade_return": [0.021, 0.034],
            "trade_t": [1.5, 2.5], "trade_lo": [-0.01, 0.004], "trade_hi": [0.05, 0.06],
            "mean_excess_return": [0.011, 0.02], "excess_t": [0.9, 1.2],
            "excess_lo": [-0.02, -0.003], "excess_hi": [0.04, 0.05],
            "return_while_invested": [1.25, 0.8], "bench_while_invested": [0.1, 0.12],
            "warning": "too few trades to judge", "exposure": [0.004, 0.02],
        }
    )  # fmt: skip
    return dataclasses.replace(
        toy_result, backtests=[dataclasses.replace(bt, metrics=m, trade_stats=ts)]
    )


def test_the_main_page_shows_honest_strategy_numbers(toy_result: RunResult) -> None:
    result = _stats_result(toy_result)
    text = _text(H.render_pages(result)["index.html"])
    for header in (
        "95% interval, mean trade (bootstrap)",
        "Mean trade beyond the benchmark (same sessions)",
        "Return while invested (annual)",
        "Benchmark at the strategy's exposure",
        "Benchmark Sharpe at the same exposure",
    ):
        assert header in text
    assert "Mean trade +2.10% to +3.40%" in text  # the range over the two combinations
    assert "95% interval, mean trade (bootstrap) 1 of 2 above zero" in text
    assert "95% interval, beyond the benchmark 0 of 2 above zero" in text
    # 2 trades a combination: too few to annualise (the test below plants enough)
    assert "Return while invested (annual) — ‡ " in text
    assert "Benchmark at the strategy's exposure +1.23% to +4.56%" in text
    assert "2.50 to no losing trades" in text
    assert "∞" not in text
    assert "inf" not in text.replace("infinit", "")
    assert "too few trades to judge" in text


def _annual_cells(page: str) -> dict[str, tuple[str, str]]:
    """The first strategy cell of each annual row on ``page``: (its text, its title)."""
    out = {}
    for name in ("Return while invested (annual)", "Benchmark over the same sessions (annual)"):
        row = re.search(rf"<tr><td>{re.escape(name)}</td>(.*?)</tr>", page, re.S)
        assert row is not None, name
        cell = re.search(r'<td class="num"(?: title="([^"]*)")?>(.*?)</td>', row.group(1))
        assert cell is not None
        out[name] = (cell.group(2), htmllib.unescape(cell.group(1) or ""))
    return out


def test_an_annual_figure_of_a_few_trades_or_sessions_is_not_shown(
    toy_result: RunResult, tmp_path: Path
) -> None:
    """Annualising four one-day trades read +572% a year, the page's biggest number under a
    "too few trades" flag. A combination with fewer than 10 trades, or fewer than 63
    sessions in positions (exposure x sessions), shows no annual figure while invested: "—"
    with the reason as its title and a footnote; the main page's range runs over the
    combinations annualised; the tables keep the computed values."""
    from backtest.reports import write_report

    few = _stats_result(toy_result)  # 2 trades a combination
    pages = H.render_pages(few)
    name = few.backtests[0].strategy.name
    why = "too few trades to annualise (2, fewer than 10)"
    index = _annual_cells(pages["index.html"])
    for text, title in index.values():
        assert (text, title) == ("—<sup>‡</sup>", f"2 of 2 combinations not annualised: {why}")
    assert f"<sup>‡</sup>{H.ANNUAL_NOTE}" in pages["index.html"]
    strategy = pages[f"strategies/{name}.html"]
    assert set(_annual_cells(strategy).values()) == {("—<sup>‡</sup>", why)}
    assert f'<p class="note"><sup>‡</sup>{H.ANNUAL_NOTE}</p>' in strategy.replace("&#39;", "'")
    out = tmp_path / "report"
    write_report(few, out)
    csv = pd.read_csv(out / "tables" / "trade_stats.csv")
    assert csv["return_while_invested"].tolist() == [1.25, 0.8]  # the tables keep them
    assert csv["bench_while_invested"].tolist() == [0.1, 0.12]
    assert "1.25" in (out / "tables" / "trade_stats.json").read_text(encoding="utf-8")

    (bt,) = few.backtests
    m = bt.metrics.copy()
    strat = (m["kind"] == "strategy") & (m["portfolio"] == "pooled XNYS")
    m.loc[strat, "n_trades"] = 40
    m.loc[strat, "sessions"] = sessions = 500
    # combination 0 in positions on 0.1 x sessions (< 63), combination 1 on 0.3 x sessions
    assert 0.1 * sessions < H.MIN_INVESTED_SESSIONS <= 0.3 * sessions
    m.loc[strat, "exposure"] = [0.1, 0.3]
    mixed = dataclasses.replace(few, backtests=[dataclasses.replace(bt, metrics=m)])
    pages = H.render_pages(mixed)
    short = f"too few sessions in positions to annualise ({0.1 * sessions:.0f}, fewer than 63)"
    assert _annual_cells(pages["index.html"]) == {
        "Return while invested (annual)": (
            "+80.00%<sup>‡</sup>",
            f"1 of 2 combinations not annualised: {short}",
        ),
        "Benchmark over the same sessions (annual)": (
            "+12.00%<sup>‡</sup>",
            f"1 of 2 combinations not annualised: {short}",
        ),
    }
    cells = re.search(
        r"<tr><td>Return while invested \(annual\)</td>(.*?)</tr>",
        pages[f"strategies/{name}.html"], re.S,
    )  # fmt: skip
    assert cells is not None
    assert cells.group(1).startswith(
        f'<td class="num" title="{short}">—<sup>‡</sup></td><td class="num">+80.00%</td>'
    )

    m.loc[strat, "exposure"] = 0.3
    enough = dataclasses.replace(few, backtests=[dataclasses.replace(bt, metrics=m)])
    page = H.render_pages(enough)["index.html"]
    assert _annual_cells(page)["Return while invested (annual)"] == ("+80.00% to +125.00%", "")
    assert "‡" not in page


def test_the_strategy_page_gives_each_combination_its_statistics(toy_result: RunResult) -> None:
    result = _stats_result(toy_result)
    (bt,) = result.backtests
    text = _text(H.render_pages(result)[f"strategies/{bt.strategy.name}.html"])
    # one column per combination, then buy-and-hold
    assert "95% interval, mean trade (bootstrap) -1.00% to +5.00% +0.40% to +6.00%" in text
    assert "95% interval, beyond the benchmark -2.00% to +4.00% -0.30% to +5.00%" in text
    assert "t (mean trade) 1.50 2.50" in text
    assert "Longest under water 120 d (2023-06-07 to 2023-10-05, at most -0.40%) none" in text
    assert "Profit factor no losing trades 2.50" in text


def test_the_forest_of_strategies_uses_the_excess_interval(toy_result: RunResult) -> None:
    rows = H.strategy_rows(_stats_result(toy_result).backtests)
    assert rows["excess"].all()
    assert rows["value"].tolist() == [0.011, 0.02]
    assert rows["lo"].tolist() == [-0.02, -0.003]
    assert rows["hi"].tolist() == [0.04, 0.05]


# ------------------------------------------------------------------ long lists and counts


def test_long_lists_show_the_first_rows_and_count_the_rest_by_reason() -> None:
    rows = [
        {"strategy": "s", "reason": f"condition not met: AR(+0) = {x:+.2%}"}
        for x in np.linspace(-0.05, 0.05, 30)
    ] + [{"strategy": "s", "reason": "no open price"}] * 3
    got = H.listing(rows, "strategy", "reason", limit=25)
    assert got.n == 33
    assert len(got.rows) == 25
    assert got.more == 8
    assert got.reasons == [("s: condition not met: AR(N) = N", 30), ("s: no open price", 3)]
    short = H.listing(rows[:3], "reason")
    assert (short.n, len(short.rows), short.more, short.reasons) == (3, 3, 0, [])


def test_counts_agree_across_the_page(toy_result: RunResult) -> None:
    """The header, the tiles and the section titles give the same counts, study rows dropped
    and trades skipped each on their own."""
    study = toy_result.study
    dropped = len(study.dropped)
    skipped = sum(len(r.skipped_table()) for r in toy_result.backtests)
    text = _text(H.render_pages(toy_result)["index.html"])
    assert f"{len(study.events)} reactions measured" in text
    assert f"Study rows dropped ({dropped})" in text
    assert f"Events a strategy selected but did not trade ({skipped})" in text
    assert f"{dropped} study rows dropped" in text
    assert f"{skipped} events a strategy selected but did not trade" in text


def test_an_unbounded_headline_interval_reads_not_bounded(toy_result: RunResult) -> None:
    study = toy_result.study
    g = study.groups.copy()
    sel = (g["group_by"] == "category") & (g["group"] == "layoff") & (g["measure"] == "CAAR")
    g.loc[sel, "lo"] = -math.inf
    g.loc[sel, "hi"] = math.inf
    result = _with(toy_result, groups=g)
    text = _text(H.render_pages(result)["index.html"])
    assert "not bounded †" in text
    assert "— to —" not in text
    assert "rejects no shift of the mean" in text
    from backtest.reports.markdown import render_markdown

    md = render_markdown(result, [])
    assert "| not bounded † |" in md
    assert "— to —" not in md
    assert "rejects no shift of the mean" in md


def test_a_ticker_portfolio_keeps_its_own_per_trade_figures(toy_result: RunResult) -> None:
    """Trade statistics exist for the pooled portfolios only: a ticker's own portfolio still
    shows its mean, median and t of the trade returns from its metrics."""
    result = _stats_result(toy_result)
    (bt,) = result.backtests
    m = H.metrics_with_trade_stats(bt)
    own = m[(m["kind"] == "strategy") & (m["portfolio"] == "AAA")]
    base = bt.metrics[(bt.metrics["kind"] == "strategy") & (bt.metrics["portfolio"] == "AAA")]
    for mine, theirs in (
        ("mean_trade_return", "avg_trade_return"),
        ("median_trade_return", "median_trade_return"),
        ("trade_t", "trade_t"),
    ):
        np.testing.assert_array_equal(own[mine].to_numpy(float), base[theirs].to_numpy(float))
    pooled = m[(m["kind"] == "strategy") & (m["portfolio"] == "pooled XNYS")]
    assert pooled["mean_trade_return"].tolist() == [0.021, 0.034]  # the trade statistics'
    text = _text(H.render_pages(result)["tickers/AAA.html"])
    assert "Mean trade" in text


def test_a_run_whose_study_failed_still_renders_its_ticker_pages(toy_result: RunResult) -> None:
    """The study can fail (e.g. too many rows dropped) while the strategies run: the ticker
    pages then show the strategies only, never a template error."""
    failed = dataclasses.replace(toy_result, study=None)
    pages = H.render_pages(failed)
    page = pages["tickers/BBB.html"]
    assert "<h1>BBB</h1>" in page
    assert "Every event" not in page
    assert "Earnings reaction history" not in page


def test_every_pooled_portfolio_has_its_own_overview_row() -> None:
    """A strategy that traded in New York and Hong Kong has one overview row per pooled
    portfolio, each with its own trades; the main one (most trades) first."""
    from types import SimpleNamespace

    from backtest.reports import tables as T

    metrics = pd.DataFrame(
        [
            # portfolio, market, kind, subject, n_trades, total_return, sharpe
            ("pooled XNYS", "XNYS", "strategy", "s", 7, 0.05, 0.9),
            ("pooled XHKG", "XHKG", "strategy", "s", 2, -0.01, -0.2),
            ("pooled XNYS", "XNYS", "buy_and_hold", "SPY", 0, 0.20, 1.1),
            ("pooled XHKG", "XHKG", "buy_and_hold", "^HSI", 0, 0.03, 0.2),
        ],
        columns=["portfolio", "market", "kind", "subject", "n_trades", "total_return", "sharpe"],
    ).assign(start="2024-01-02", end="2024-12-31")

    class Fake(SimpleNamespace):
        def to_frame(self) -> pd.DataFrame:
            return metrics

        def grid_portfolio(self) -> str:
            return "pooled XNYS"

        def pooled_portfolios(self) -> list[str]:
            return ["pooled XHKG", "pooled XNYS"]

    r = Fake(
        metrics=metrics,
        strategy=SimpleNamespace(name="s"),
        combos=pd.DataFrame({"combo": [0]}),
        benchmarks={"XNYS": "SPY", "XHKG": "^HSI"},
    )
    ov = T.strategy_overview([r])
    assert ov[["portfolio", "trades", "main"]].values.tolist() == [
        ["pooled XNYS", 7, True],
        ["pooled XHKG", 2, False],
    ]
    assert ov.set_index("portfolio").loc["pooled XHKG", "benchmark"] == "^HSI"
    assert ov.set_index("portfolio").loc["pooled XHKG", "benchmark_return"] == 0.03
    assert T.strategy_takeaway(ov).startswith("None of the 1 strategies")


def test_the_runs_notes_are_on_the_page_and_in_the_summary(toy_result: RunResult) -> None:
    """What the run says of itself (e.g. whether earnings calendars were fetched as
    confounders) is on the main page and in summary.md, escaped."""
    from backtest.reports.markdown import render_markdown

    note = "Earnings calendars of 3 tickers fetched as confounders <b>(cached)</b>"
    result = dataclasses.replace(toy_result, notes=(note,))
    page = H.render_pages(result)["index.html"]
    assert htmllib.escape(note, quote=False) in page
    assert "<b>(cached)</b>" not in page
    md = render_markdown(result)
    assert "**About this run:**" in md
    assert "- Earnings calendars of 3 tickers fetched as confounders" in md


def test_the_surprise_axis_picks_its_own_round_ticks() -> None:
    """plotly syncs an overlaying axis's ticks with the left axis's grid by default (the S&P
    page showed 4.8%, 9.6%, 14.4%); the surprise axis asks for its own ticks, and both axes
    put 0% at the same height (AR(0) from -6.0% to +3.1%, surprises from -9.09% to +16.67%:
    AR(0) needs the most room below zero per unit above, 6.0 / 3.1)."""
    fig = C.earnings_history(_history()[lambda d: d["ticker"] == "BBB"], "BBB")
    lay = fig["layout"]
    assert lay["yaxis2"]["tickmode"] == "auto"
    (lo, hi), (lo2, hi2) = lay["yaxis"]["range"], lay["yaxis2"]["range"]
    assert lo <= -0.06
    assert hi >= 0.031
    assert lo2 <= -0.0909
    assert hi2 >= 0.1667
    assert -lo / (hi - lo) == pytest.approx(-lo2 / (hi2 - lo2))  # 0% at one height
    assert -lo / (hi - lo) == pytest.approx(0.06 / (0.06 + 0.031))
    assert C.zero_aligned([-0.1, -0.2], [0.1, 0.3]) is None  # all below beside all above


# ------------------------------------------------------------------------------ formatting


@pytest.mark.parametrize(
    ("value", "digits", "signed", "shown"),
    [
        (-0.000001, 2, True, "0.00%"),  # -0.0001% rounds to zero: no sign
        (0.000049, 2, True, "0.00%"),
        (-0.0, 2, True, "0.00%"),
        (-0.00006, 2, True, "-0.01%"),  # rounds away from zero: the sign stays
        (0.00006, 2, True, "+0.01%"),
        (-0.0004, 1, True, "0.0%"),
        (-0.0006, 1, True, "-0.1%"),
        (-0.000001, 2, False, "0.00%"),
        (-0.0123, 2, False, "-1.23%"),
        (-0.004, 0, False, "0%"),
    ],
)
def test_a_percentage_that_rounds_to_zero_has_no_sign(
    value: float, digits: int, signed: bool, shown: str
) -> None:
    from backtest.reports import fmt

    assert fmt.pct(value, digits, signed=signed) == shown


def test_no_cell_of_the_pages_reads_minus_zero(toy_result: RunResult) -> None:
    """Every percent and number format of the pages goes through the same rule: a drawdown
    of -0.0001% and a t of -0.001 read 0.00% and 0.00 (intervals too)."""
    from backtest.reports import fmt

    assert fmt.num(-0.001) == "0.00"
    assert fmt.interval(-0.00001, 0.0123) == "0.00% to +1.23%"
    for page, text in H.render_pages(toy_result).items():
        visible = _text(text)
        assert not re.search(r"-0\.0+%", visible), page
        assert not re.search(r"(?<![\w.])-0\.0+(?![\d%])", visible), page
