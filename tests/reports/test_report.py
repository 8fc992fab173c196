"""The report renders results: tables, HTML (escaped, self-contained), Markdown, files.

Everything runs on the synthetic world of world.py, whose planted reactions the pages must
show; the numbers are checked against the result objects and against what was planted.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from backtest.job import RunResult
from backtest.reports import fmt, write_report
from backtest.reports import tables as T
from backtest.reports.html import render_html
from backtest.reports.markdown import render_markdown
from tests.reports.world import DAY0, EVIL_TITLE, PLANTED

FILES = {
    "index.html", "summary.md", "config.toml", "provenance.json", "run.json", "tables.xlsx",
    "assets/plotly.min.js", "assets/series.js", "tickers/AAA.html", "tickers/BBB.html",
    "strategies/toy_buy_on_layoffs.html",
    *(f"tables/{n}.{ext}" for n in (
        "events", "windows", "ar_paths", "tickers", "categories", "group_tests", "caar_paths",
        "strategy_metrics", "strategy_overview", "trade_stats", "trades", "claims", "dropped",
        "prices",
        "quality") for ext in ("csv", "json")),
    # the toy study holds earnings events, so its reaction history is written too
    *(f"tables/{n}.{ext}" for n in ("earnings_history", "earnings_profile")
      for ext in ("csv", "json")),
}  # fmt: skip


@pytest.fixture(scope="module")
def report(toy_result: RunResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "toy"
    write_report(toy_result, out)
    return out


@pytest.fixture(scope="module")
def page(report: Path) -> str:
    return (report / "index.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ tables


def test_event_table_carries_the_planted_reactions(toy_result: RunResult) -> None:
    ev = T.event_table(toy_result.study).set_index(["event_id", "ticker"])
    for key, jump in PLANTED.items():
        assert ev.loc[key, "day0"] == DAY0[key[0]]
        # the residual on day 0 is the jump; the fitted alpha and beta differ a little
        assert ev.loc[key, "ar0"] == pytest.approx(jump, abs=0.004)
        assert ev.loc[key, "car[0,0]"] == ev.loc[key, "ar0"]
        assert abs(ev.loc[key, "t[0,0]"]) > 3
    w = toy_result.study.windows.set_index(["event_id", "ticker", "window"])
    for (eid, tic), row in ev.iterrows():
        assert row["car[-1,+1]"] == w.loc[(eid, tic, "[-1,+1]"), "car"]
        assert row["p[-1,+1]"] == w.loc[(eid, tic, "[-1,+1]"), "p"]


def test_the_category_table_shows_the_study_headline_as_it_is(toy_result: RunResult) -> None:
    """One row, one named test: the report takes the study's own headline fields (name,
    statistic, p, interval, counts, notes) and computes none of its own."""
    cats = T.category_table(toy_result.study).set_index("category")
    groups = toy_result.study.group_table("category").set_index(["group", "window"])
    for cat in cats.index:
        g = groups.loc[(cat, "[-1,+1]")]
        c = cats.loc[cat]
        assert c["test"] == g["headline"]
        assert c["stat"] == g["headline_stat"]
        assert c["p"] == g["headline_p"]
        assert (c["lo"], c["hi"]) == (g["lo"], g["hi"])
        assert (c["n"], c["n_rows"], c["merged"]) == (g["n"], g["n_rows"], g["merged"])
        assert c["caar"] == g["value"]
    # earnings has one event: the study names its own t-test, with the event's p
    w = toy_result.study.windows.set_index(["event_id", "window"])
    assert cats.loc["earnings", "p"] == w.loc[("bbb-results", "[-1,+1]"), "p"]
    assert cats.loc["earnings", "test"] == "single-event t"


def test_group_rows_take_unbounded_intervals_and_notes_from_the_study() -> None:
    """A hand-built group table (an inverted Kolari-Pynnonen test that rejects no value):
    the interval stays infinite in the table and reads "not bounded" on the page."""
    groups = pd.DataFrame(
        {
            "group_by": "category", "group": ["a", "b"], "measure": "CAAR", "window": "[-1,+1]",
            "n_rows": [3, 2], "n": [2, 2], "merged": [1, 0], "value": [0.01, -0.02],
            "headline": ["Kolari-Pynnönen adjusted BMP t", "BMP t"],
            "headline_stat": [0.3, -2.5], "headline_p": [0.8, 0.04],
            "lo": [-math.inf, -0.035], "hi": [math.inf, -0.005],
            "notes": ["1 row merged into an overlapping observation", ""],
        }
    )  # fmt: skip

    class Study:
        def group_table(self, group_by: str, measure: str) -> pd.DataFrame:
            g = groups
            return g[(g["group_by"] == group_by) & (g["measure"] == measure)]

    rows = T.group_rows(Study(), "category", (-1, 1)).set_index("group")
    assert rows.loc["a", "test"] == "Kolari-Pynnönen adjusted BMP t"
    assert math.isinf(rows.loc["a", "lo"])
    assert math.isinf(rows.loc["a", "hi"])
    assert rows.loc["a", "notes"] == "1 row merged into an overlapping observation"
    assert (rows.loc["b", "stat"], rows.loc["b", "p"]) == (-2.5, 0.04)
    assert fmt.interval(rows.loc["a", "lo"], rows.loc["a", "hi"]) == "not bounded"
    assert fmt.interval(rows.loc["b", "lo"], rows.loc["b", "hi"]) == "-3.50% to -0.50%"
    assert fmt.interval(0.002, math.inf) == "above +0.20%"
    assert fmt.interval(math.nan, math.nan) == "—"
    assert fmt.unbounded(-math.inf, math.inf)
    assert not fmt.unbounded(0.1, 0.2)
    assert not fmt.unbounded(math.nan, math.nan)


def test_categorical_text_columns_are_written_and_neutralised() -> None:
    """A categorical column (one category, or text that starts a formula) crashed the CSV
    writer: a categorical's map stays categorical, which has no ``any``."""
    from backtest.reports import write as W

    df = pd.DataFrame(
        {"window": pd.Categorical(["[0, 0]", "[0, 0]"]), "note": pd.Categorical(["=1+1", "a"])}
    )
    assert W.csv_ready(df).to_csv(index=False) == 'window,note\n"[0, 0]",\'=1+1\n"[0, 0]",a\n'


def test_unbounded_interval_ends_read_inf_in_the_json_and_csv_tables_not_null() -> None:
    """An unbounded end (an inverted test that rejects no value) is "inf"/"-inf" in the
    tables' JSON and inf/-inf in their CSV; a missing one (no test) stays null / empty."""
    from backtest.reports import write as W

    df = pd.DataFrame(
        {"group": ["a", "b", "c"], "lo": [-math.inf, 0.002, math.nan],
         "hi": [math.inf, math.inf, math.nan]}
    )  # fmt: skip
    assert W.records_json(W.table_records(df)) == (
        "[\n"
        '{"group": "a", "lo": "-inf", "hi": "inf"},\n'
        '{"group": "b", "lo": 0.002, "hi": "inf"},\n'
        '{"group": "c", "lo": null, "hi": null}\n'
        "]\n"
    )
    assert W.csv_ready(df).to_csv(index=False) == "group,lo,hi\na,-inf,inf\nb,0.002,inf\nc,,\n"
    # read back: the same numbers
    back = pd.DataFrame(json.loads(W.records_json(W.table_records(df))))
    assert pd.to_numeric(back["lo"]).tolist()[:2] == [-math.inf, 0.002]
    assert pd.to_numeric(back["hi"]).tolist()[:2] == [math.inf, math.inf]


def test_strategy_overview_shows_the_range_not_the_best(toy_result: RunResult) -> None:
    (bt,) = toy_result.backtests
    ov = T.strategy_overview(toy_result.backtests).iloc[0]
    strat = bt.metrics[
        (bt.metrics["kind"] == "strategy") & (bt.metrics["portfolio"] == "pooled XNYS")
    ]
    assert ov["combinations"] == 2
    assert ov["return_min"] == strat["total_return"].min()
    assert ov["return_max"] == strat["total_return"].max()
    assert ov["sharpe_max"] == strat["sharpe"].max()
    assert ov["benchmark"] == "SPY"


def test_a_strategy_that_traded_nothing_has_its_parameters_in_the_metrics(
    toy_result: RunResult,
) -> None:
    """strategy_metrics of a strategy without a trade lacked the parameter columns (and had
    no row): it has the header of a traded one and a row per combination, with its
    parameter values, ``n_trades`` 0 and no metric; beside a traded strategy too."""
    from backtest.portfolio import BacktestResult

    (bt,) = toy_result.backtests
    idle = BacktestResult.empty(
        bt.strategy.model_copy(update={"name": "idle"}), bt.combos, bt.skipped, bt.benchmarks
    )
    traded = T.strategy_metrics([bt])
    alone = T.strategy_metrics([idle])
    assert list(alone.columns) == list(traded.columns)
    assert alone["label"].tolist() == bt.combos["label"].tolist() == ["hold=1", "hold=5"]
    assert alone["exit.hold"].tolist() == [1, 5]
    assert (alone["kind"] == "strategy").all()
    assert (alone["n_trades"] == 0).all()
    assert alone[["total_return", "sharpe", "portfolio"]].isna().all().all()
    both = T.strategy_metrics([bt, idle])
    assert list(both.columns) == list(traded.columns)
    assert both["strategy"].value_counts().to_dict() == {bt.strategy.name: len(traded), "idle": 2}
    assert bt.to_frame().equals(traded.drop(columns="strategy")[bt.to_frame().columns])


def test_takeaways() -> None:
    ov = pd.DataFrame(
        {
            "sharpe_min": [0.2, 1.5, -0.1],
            "sharpe_max": [1.4, 2.0, 0.3],
            "benchmark_sharpe": [1.0, 1.0, 1.0],
        }
    )
    assert T.strategy_takeaway(ov).startswith(
        "2 of 3 strategies beat buy-and-hold of the benchmark on Sharpe in at least one "
        "combination, 1 in every combination."
    )
    assert T.strategy_takeaway(ov.assign(sharpe_max=0.5, sharpe_min=0.1)).startswith(
        "None of the 3 strategies beat buy-and-hold"
    )
    assert T.strategy_takeaway(pd.DataFrame()) == ""


def test_category_takeaway_names_the_significant_categories(toy_result: RunResult) -> None:
    study = toy_result.study
    groups = study.group_table("category").set_index(["group", "window"])
    caar = groups["value"]
    own_p = study.windows.set_index(["event_id", "window"])["p"]
    # earnings is one event with a planted -6% reaction: significant on its own t-test; the
    # two layoffs (KP test) and the one product launch (its own t-test) are not
    earnings_p = own_p[("bbb-results", "[-1,+1]")]
    layoff_p = groups.loc[("layoff", "[-1,+1]"), "kp_p"]
    assert earnings_p < 0.05
    assert layoff_p >= 0.05
    assert own_p[("aaa-launch", "[-1,+1]")] >= 0.05
    earnings = caar[("earnings", "[-1,+1]")]
    assert T.category_takeaway(study) == (
        "At the 5% level, the CAAR[-1,+1] differs from zero for: "
        f"earnings {earnings * 100:+.2f}% (p {earnings_p:.3f}, n=1)."
    )
    # at 1% none does: the two largest average moves are named instead
    assert earnings_p > 0.01
    layoff = caar[("layoff", "[-1,+1]")]
    assert abs(earnings) > abs(layoff) > abs(caar[("product_launch", "[-1,+1]")])
    assert T.category_takeaway(study, level=0.01).startswith(
        "No category's CAAR[-1,+1] differs from zero at the 1% level; the largest average "
        f"moves are earnings ({earnings * 100:+.2f}%, p {earnings_p:.2f}, n=1) and layoff "
        f"({layoff * 100:+.2f}%, p {layoff_p:.2f}, n=2): "
    )


# ------------------------------------------------------------------------------ files


def test_every_file_is_written(report: Path) -> None:
    written = {str(p.relative_to(report)) for p in report.rglob("*") if p.is_file()}
    assert written == FILES
    assert not list(report.parent.glob(".toy*")), "no temporary folder left behind"


def test_csv_and_json_tables_hold_the_result_numbers(report: Path, toy_result: RunResult) -> None:
    events = T.event_table(toy_result.study)
    csv = pd.read_csv(report / "tables" / "events.csv")
    assert list(csv["event_id"]) == list(events["event_id"])
    pd.testing.assert_series_equal(csv["car[-1,+1]"], events["car[-1,+1]"], check_names=False)
    assert list(csv["day0"]) == [d.date().isoformat() for d in events["day0"]]
    records = json.loads((report / "tables" / "events.json").read_text(encoding="utf-8"))
    assert [r["car[0,0]"] for r in records] == pytest.approx(list(events["car[0,0]"]))
    assert records[0]["day0"] == "2023-06-06"
    trades = json.loads((report / "tables" / "trades.json").read_text(encoding="utf-8"))
    assert len(trades) == len(toy_result.backtests[0].trades)
    for name in FILES:
        if name.endswith(".json"):
            text = (report / name).read_text(encoding="utf-8")
            assert "NaN" not in text, name
            assert "Infinity" not in text, name
            json.loads(text)


def test_run_record_and_provenance(report: Path, toy_result: RunResult, toy_root: Path) -> None:
    run = json.loads((report / "run.json").read_text(encoding="utf-8"))
    assert run["name"] == "toy"
    assert run["counts"]["events"] == 4
    assert run["counts"]["measured"] == 4
    assert run["config"]["prices"]["dir"] == str((toy_root / "prices").resolve())
    assert set(run["timings"]) >= {"prices", "event study", "strategies (backtests)"}
    prov = json.loads((report / "provenance.json").read_text(encoding="utf-8"))
    tickers = {p["ticker"]: p for p in prov["prices"]}
    assert set(tickers) == {"AAA", "BBB", "SPY"}
    assert tickers["AAA"]["source"] == f"csv:{(toy_root / 'prices' / 'AAA.csv').resolve()}"
    assert prov["catalog_files"] == [str((toy_root / "events" / "toy.yaml").resolve())]
    config = (report / "config.toml").read_text(encoding="utf-8")
    assert 'name = "toy"' in config
    assert "min_estimation = 100" in config


# ------------------------------------------------------------------------------ HTML


def strings(obj: object) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in strings(v)]
    return []


def pages(report: Path) -> dict[str, str]:
    return {
        str(p.relative_to(report)): p.read_text(encoding="utf-8") for p in report.rglob("*.html")
    }


def test_catalog_text_is_escaped(report: Path) -> None:
    every = pages(report)
    aaa = every["tickers/AAA.html"]  # the evil title is an event of AAA
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; &#34;friends&#34;" in aaa
    texts = []
    for name, page in every.items():
        assert EVIL_TITLE not in page, name
        assert "<script>alert(" not in page, name
        blocks = re.findall(
            r'<script type="application/json" id="([^"]+)">(.*?)</script>', page, re.S
        )
        for _, body in blocks:
            assert "<" not in body
            assert ">" not in body
            texts += strings(json.loads(body))
        # the only scripts are ours: chart data (and a ticker page's arrays), the one plotly.js
        # of the folder, the arrays the ticker pages share (assets/series.js), the drawing
        shared = int('src="../assets/series.js"' in page)
        assert page.count("<script") == (len(blocks) + 2 + shared if blocks else 0), name
    # plotly renders its own pseudo-HTML in labels: the figures carry the title escaped for it
    assert any("&lt;script&gt;alert(" in s for s in texts)
    assert not any("<script" in s for s in texts)


def test_pages_load_nothing_from_outside(report: Path) -> None:
    for name, page in pages(report).items():
        markup = re.sub(r"<script\b[^>]*>.*?</script>", "<script></script>", page, flags=re.S)
        srcs = re.findall(r'<script[^>]+src="([^"]+)"', page)
        root = "../" if "/" in name else ""
        assert srcs in (
            [],
            [f"{root}assets/plotly.min.js"],
            [f"{root}assets/plotly.min.js", f"{root}assets/series.js"],
        ), (name, srcs)
        if len(srcs) == 2:
            assert name.startswith("tickers/"), name  # only the ticker pages share arrays
        for pattern in (r"<link\b", r"@import", r"url\(", r'(src|href)="[a-z]+:'):
            assert not re.search(pattern, markup), (name, pattern)
        # every link to another file of the report points at a file that is there
        for href in re.findall(r'href="([^"#]+)"', markup):
            assert (report / name).parent.joinpath(href).resolve().exists(), (name, href)


def test_page_shows_the_numbers(page: str, report: Path, toy_result: RunResult) -> None:
    w = toy_result.study.windows.set_index(["event_id", "window"])
    car = w.loc[("bbb-results", "[-1,+1]"), "car"]
    assert f"{car * 100:+.2f}%" in pages(report)["tickers/BBB.html"]
    assert f"{car * 100:+.1f}%" in page  # the strongest reaction, on the first screen
    assert "Run <strong>toy</strong>" in page
    for section in (
        "answers",
        "categories",
        "tickers",
        "strategies",
        "claims",
        "left-out",
        "method",
    ):
        assert f'<section id="{section}"' in page
    for link in ("tickers/AAA.html", "tickers/BBB.html", "strategies/toy_buy_on_layoffs.html"):
        assert f'href="{link}"' in page
    claim = toy_result.claims.iloc[0]
    assert f"{claim['measured'] * 100:+.2f}%" in page
    assert f'<span class="badge {claim["verdict"]}">{claim["verdict"]}</span>' in page
    charts = re.findall(r'<div class="chart" id="([^"]+)"', page)
    data = re.findall(r'<script type="application/json" id="([^"]+)-data">', page)
    assert len(charts) >= 3
    assert sorted(charts) == sorted(data)


def test_counts_agree_everywhere(report: Path, page: str, toy_result: RunResult) -> None:
    study = toy_result.study
    (bt,) = toy_result.backtests
    skipped = len(bt.skipped_table())
    run = json.loads((report / "run.json").read_text(encoding="utf-8"))
    assert run["format"] == "evbt-report/1"
    assert run["counts"]["dropped"] == len(study.dropped)
    assert run["counts"]["skipped_trades"] == skipped
    assert f"Study rows dropped ({len(study.dropped)})" in page
    assert f"Events a strategy selected but did not trade ({skipped})" in page
    md = (report / "summary.md").read_text(encoding="utf-8")
    assert f"{len(study.dropped)} study rows dropped" in md
    assert f"{skipped} events selected by a strategy but not traded;" in md


def test_prices_show_the_datas_date_not_a_files_time(page: str, toy_result: RunResult) -> None:
    for p in toy_result.prices.itertuples():
        assert f"data to {p.last} (file)" in page
    assert "Obtained" not in page


def test_render_html_needs_no_study(toy_result: RunResult) -> None:
    from dataclasses import replace

    broken = replace(toy_result, study=None, study_error="too many events dropped")
    page = render_html(broken)
    assert "<h2>The event study could not run</h2><p>too many events dropped</p>" in page
    assert "event study: too many events dropped" in page  # in the failures banner


# ------------------------------------------------------------------------------ Markdown


def test_markdown_summary(report: Path, toy_result: RunResult) -> None:
    md = (report / "summary.md").read_text(encoding="utf-8")
    assert md == render_markdown(toy_result, sorted(FILES))
    assert md.startswith("# evbt report: toy\n")
    layoff = toy_result.study.group_table("category").set_index(["group", "window"])
    caar = layoff.loc[("layoff", "[-1,+1]"), "value"]
    assert f"| layoff | 2 | {caar * 100:+.2f}%" in md
    assert "| toy_buy_on_layoffs | pooled XNYS | 2 |" in md
    # catalog text cannot inject HTML into a Markdown renderer either: every < is escaped
    assert re.findall(r"(?<!\\)<", md) == []


def test_strategy_cells_say_what_a_number_cannot() -> None:
    from backtest.reports.html import stat_cell

    assert stat_cell({"profit_factor": math.inf}, "profit_factor", "profit_factor") == (
        "no losing trades"
    )
    assert stat_cell({"profit_factor": 1.234}, "profit_factor", "profit_factor") == "1.23"
    dd = {"max_drawdown": -0.0009, "max_drawdown_peak": pd.Timestamp("2022-03-01")}
    assert stat_cell({**dd, "max_drawdown_recovery": pd.Timestamp("2025-01-02")},
                     "max_drawdown", "drawdown") == "-0.09% (2022-03-01 to 2025-01-02)"  # fmt: skip
    assert stat_cell({**dd, "max_drawdown_recovery": pd.NaT}, "max_drawdown", "drawdown") == (
        "-0.09% (from 2022-03-01, not recovered)"
    )
    assert stat_cell({"max_drawdown": 0.0}, "max_drawdown", "drawdown") == "none"
    assert stat_cell({"exposure": 0.071}, "exposure", "share") == "7.10%"
    assert stat_cell({"profit_factor": "no losing trades"}, "profit_factor", "profit_factor") == (
        "no losing trades"  # the metrics' own word, never a dash or infinity
    )
    row = {"trade_lo": -0.012, "trade_hi": 0.034}
    assert stat_cell(row, "trade_ci", "interval") == "-1.20% to +3.40%"
    assert stat_cell({"excess_lo": 0.001, "excess_hi": 0.02}, "excess_ci", "interval") == (
        "+0.10% to +2.00%"
    )
    assert stat_cell({}, "trade_ci", "interval") == "—"
    spell = {
        "max_drawdown_duration": 1049,
        "max_drawdown_duration_start": pd.Timestamp("2023-03-14"),
        "max_drawdown_duration_end": pd.Timestamp("2026-01-26"),
        "max_drawdown_duration_depth": -0.0009,
    }
    assert stat_cell(spell, "max_drawdown_duration", "duration") == (
        "1,049 d (2023-03-14 to 2026-01-26, at most -0.09%)"
    )
    assert stat_cell({"max_drawdown_duration": 0}, "max_drawdown_duration", "duration") == "none"


def test_the_events_table_carries_the_events_attributes(report: Path) -> None:
    """An event's attributes (here the toy catalog's surprise_pct of bbb-results) are columns
    of the report's events table, empty for events without them."""
    ev = pd.read_csv(report / "tables" / "events.csv").set_index("event_id")
    assert ev.loc["bbb-results", "surprise_pct"] == -9.09
    assert pd.isna(ev.loc["aaa-layoff", "surprise_pct"])


def test_the_summary_counts_the_rows_of_each_model(report: Path) -> None:
    """The Markdown summary says how many rows each model measured (market-wide events are
    measured without the market), counted here from the events table."""
    md = (report / "summary.md").read_text(encoding="utf-8")
    models = pd.read_csv(report / "tables" / "events.csv")["model"].value_counts()
    for model, n in models.items():
        assert f"{n} with the {model.replace('_', ' ')} model" in md


def test_memo_builds_once_per_write_and_hands_out_copies() -> None:
    calls: list[int] = []

    @T.memo
    def table(obj: object, k: int = 1) -> pd.DataFrame:
        calls.append(k)
        return pd.DataFrame({"x": [k]})

    a, b = object(), object()
    assert table(a)["x"].tolist() == [1]
    assert table(a)["x"].tolist() == [1]
    assert len(calls) == 2  # outside a write: every call builds
    with T.reuse():
        first = table(a)
        first.loc[0, "x"] = 99  # a caller's change stays its own
        assert table(a)["x"].tolist() == [1]
        table(a, 2)
        table(b)
        table([a, b])
        table([a, b])
    assert calls == [1, 1, 1, 2, 1, 1]


def test_records_json_holds_the_records_one_a_line(toy_result: RunResult) -> None:
    from backtest.reports import write as W

    with T.reuse():
        tables = T.all_tables(toy_result)
    for name, df in tables.items():
        records = W.table_records(df)
        text = W.records_json(records)
        assert json.loads(text) == json.loads(W._dump(records)), name
        lines = text.splitlines()
        if records:
            assert (lines[0], lines[-1]) == ("[", "]"), name
            assert len(lines) == len(records) + 2, name
            assert [json.loads(line.rstrip(",")) for line in lines[1:-1]] == records, name
    odd = [
        [],
        [{}],
        [{"a": 1, "b": 'é " <x>\\', "c": None, "d": True, "e": -1.5e-12}],
        [{"a": 1}, {"b": 2}],  # not one set of keys
        [{"a": [1, 2], "b": {"c": 3}}],  # not flat
    ]
    for records in odd:
        assert json.loads(W.records_json(records)) == records


def test_a_tickers_rows_are_the_rows_a_mask_selects(toy_result: RunResult) -> None:
    """``T.ticker_rows`` (split once per write) gives the rows ``frame[frame.ticker == t]``
    gives, in their order, for a column and for an index level, inside a reuse block and out."""
    study = toy_result.study
    for inside in (False, True):
        with T.reuse() if inside else contextlib.nullcontext():
            for t in ["AAA", "BBB", "SPY", "nobody"]:
                ev = T.event_table(study)
                want = ev[ev["ticker"].astype(str) == t]
                pd.testing.assert_frame_equal(T.study_rows(T.event_table, study, t), want)
                ar = study.ar
                pd.testing.assert_frame_equal(
                    T.ticker_rows(ar, t), ar[ar.index.get_level_values("ticker") == t]
                )


def test_table_records_are_what_jsonable_makes_of_each_row(toy_result: RunResult) -> None:
    """Built column by column, the records equal ``jsonable`` of ``to_dict("records")``
    value for value and type for type: on every toy table, and on a frame of awkward columns
    (NaN and infinities, NaT, instants with and without an offset, nullable integers, flags
    with a gap, lists, mixed objects)."""
    from backtest.jsonio import jsonable
    from backtest.reports import write as W

    def typed(v: Any) -> Any:
        if isinstance(v, dict):
            return [(k, typed(x)) for k, x in v.items()]
        if isinstance(v, list):
            return [typed(x) for x in v]
        return (type(v).__name__, v)

    with T.reuse():
        tables = dict(T.all_tables(toy_result))
    tables["odd"] = pd.DataFrame(
        {
            "x": [0.5, np.nan, np.inf, -np.inf],
            "day": pd.to_datetime(["2024-01-02", None, "2024-01-03", "2024-01-04"]),
            "when": pd.to_datetime(
                ["2024-01-02 09:30", None, "2024-01-03 00:00", "2024-01-04 00:00"]
            ),
            "utc": pd.to_datetime(["2024-01-02 09:30", None, None, None]).tz_localize("UTC"),
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "k": np.array([1, 2, 3, 4], dtype=np.int32),
            "flag": [True, None, False, True],
            "ok": [True, False, False, True],
            "tags": [["a"], [], None, ("b", 1)],
            "mixed": ["s", 1, 2.5, pd.Timestamp("2024-01-05")],
        }
    )
    for name, df in tables.items():
        want = [jsonable(r) for r in df.to_dict("records")]
        assert typed(W.table_records(df)) == typed(want), name
