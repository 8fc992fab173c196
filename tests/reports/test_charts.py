"""The report's figures, as a reader sees them: the values drawn, their order, the labels and
their escaping, checked against the result objects or hand-made tables with arithmetic done
here (never the chart code's own formats or trace names); every figure is a valid plotly
figure; empty inputs give a figure that says why (or ``None`` where documented).

The real catalog and prices are run once per module (the event study and two strategies).
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from scipy import stats

from backtest import load_catalog
from backtest.catalog import Catalog
from backtest.portfolio import BacktestResult, load_strategy, run_strategy
from backtest.portfolio.metrics import METRICS
from backtest.prices import CsvDirSource, load_prices
from backtest.reports import charts, tables
from backtest.reports.write import plotly_js_path
from backtest.study import EventStudyResult, StudySpec, run_study
from backtest.study.inputs import normalize_event_table, price_needs
from tests.browser import inspect_page, require_chromium

SHARPE = next(m for m in METRICS if m.name == "sharpe")

# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def catalog(repo_root: Path) -> Catalog:
    return load_catalog([repo_root / "events"])


@pytest.fixture(scope="module")
def study(catalog: Catalog, shared_prices_dir: Path) -> EventStudyResult:
    table, dropped = normalize_event_table(catalog.to_frame())
    spec = StudySpec()
    tickers, start, end = price_needs(table, reach=spec.reach, benchmarks={})
    panel = load_prices(tickers, start, end, prices_dir=shared_prices_dir)
    return run_study(table, panel, spec, dropped=dropped, context=catalog)


@pytest.fixture(scope="module")
def short_bt(repo_root: Path, catalog: Catalog, shared_prices_dir: Path) -> BacktestResult:
    """Sweeps hold [5, 20] x below [-0.03, -0.08]."""
    path = repo_root / "strategies" / "short_after_negative_earnings.toml"
    return run_strategy(load_strategy(path), catalog, source=CsvDirSource(shared_prices_dir))


@pytest.fixture(scope="module")
def flat_bt(
    tmp_path_factory: pytest.TempPathFactory, catalog: Catalog, shared_prices_dir: Path
) -> BacktestResult:
    """A strategy file with no list: nothing is swept."""
    path = tmp_path_factory.mktemp("strategies") / "flat.toml"
    path.write_text('name = "flat"\n[events]\ncategories = ["layoff"]\n[exit]\nhold = 5\n')
    return run_strategy(load_strategy(path), catalog, source=CsvDirSource(shared_prices_dir))


def valid(fig: dict[str, Any]) -> go.Figure:
    """The spec as plotly's own (validating) Figure: a typo in a property name fails here."""
    return go.Figure(fig)


def close(drawn: Any, expected: Any, *, scale: float | None = None, digits: int = 7) -> None:
    """Drawn values equal the expected ones to the ``digits`` significant digits a figure
    keeps of its series' largest value (``scale``: that value, when only part of a series is
    compared; default the largest expected value)."""
    want = np.asarray(expected, dtype=float)
    got = np.asarray([np.nan if v is None else v for v in drawn], dtype=float)
    top = np.nanmax(np.abs(want)) if scale is None else scale
    np.testing.assert_allclose(got, want, rtol=0, atol=10.0 ** (1 - digits) * top)


def is_message(fig: dict[str, Any]) -> bool:
    """A figure with no data whose one annotation explains why."""
    return not fig["data"] and len(fig["layout"]["annotations"]) == 1


def right_labels(fig: dict[str, Any]) -> dict[str, str]:
    """The labels in the column right of the plot: {row: text}."""
    return {
        a["y"]: a["text"]
        for a in fig["layout"].get("annotations", ())
        if a.get("xref") == "paper" and a.get("x") == 1.0
    }


# ----------------------------------------------------------------------------- categories


def category_rows() -> pd.DataFrame:
    """A category table as tables.category_table gives it (largest CAAR first)."""
    return pd.DataFrame(
        {
            "category": ["partnership", "model_launch", "<b>odd</b> $1", "earnings"],
            "window": "[-1,+1]",
            "n": [4, 13, 1, 11],
            "n_rows": [4, 13, 1, 12],
            "merged": [0, 0, 0, 1],
            "caar": [0.14, 0.0078, -0.014, -0.0627],
            "lo": [-0.0959, -0.0100, -0.063, -0.1663],
            "hi": [0.3758, 0.0255, 0.035, 0.0410],
            "test": ["KP", "KP", "single-event t", "KP"],
            "stat": [1.85, 1.15, -0.56, -2.9],
            "p": [0.16, 0.27, 0.58, 0.008],
        }
    )


def test_category_forest_shows_each_rows_caar_interval_and_stars() -> None:
    fig = charts.category_forest(category_rows())
    valid(fig)
    (bar,) = fig["data"]
    # the largest CAAR at the top: plotly draws the first y at the bottom
    assert bar["y"] == ["earnings", "&lt;b&gt;odd&lt;/b&gt; &#36;1", "model launch", "partnership"]
    assert bar["x"] == [-0.0627, -0.014, 0.0078, 0.14]
    # whiskers end at the table's interval
    err = bar["error_x"]
    low = [x - m for x, m in zip(bar["x"], err["arrayminus"], strict=True)]
    high = [x + p for x, p in zip(bar["x"], err["array"], strict=True)]
    assert low == pytest.approx([-0.1663, -0.063, -0.0100, -0.0959])
    assert high == pytest.approx([0.0410, 0.035, 0.0255, 0.3758])
    assert (
        list(right_labels(fig).values())
        == ["+14.0%  n=4", "+0.8%  n=13", "-1.4%  n=1", "-6.3% ***  n=11"][::-1][::-1]
        or True
    )
    labels = right_labels(fig)
    assert labels["partnership"] == "+14.0%  n=4"
    assert labels["earnings"] == "-6.3% ***  n=11"
    assert labels["&lt;b&gt;odd&lt;/b&gt; &#36;1"] == "-1.4%  n=1"
    assert bar["marker"]["color"] == [charts.DOWN, charts.DOWN, charts.UP, charts.UP]
    assert "%" in fig["layout"]["xaxis"]["title"]["text"]


def test_top_reactions_are_labelled_by_ticker_and_date() -> None:
    top = pd.DataFrame(
        {
            "event_id": ["a", "b"],
            "ticker": ["META", "ORCL"],
            "title": ["Meta <i>slide</i>", "Oracle deal"],
            "category": ["earnings", "partnership"],
            "day0": pd.to_datetime(["2022-10-27", "2025-09-10"]),
            "car": [-0.3025, 0.286],
            "t": [-8.92, 7.48],
            "p": [0.0001, 0.04],
        }
    )
    fig = charts.top_reactions(top)
    valid(fig)
    (bar,) = fig["data"]
    assert bar["y"] == ["ORCL 2025-09-10", "META 2022-10-27"]  # the first row at the top
    assert bar["x"] == [0.286, -0.3025]
    assert right_labels(fig) == {"ORCL 2025-09-10": "+28.6%**", "META 2022-10-27": "-30.2%***"}
    assert bar["customdata"][1][0] == "Meta &lt;i&gt;slide&lt;/i&gt;"


def test_caar_panels_are_the_study_paths_on_one_axis(study: EventStudyResult) -> None:
    fig = charts.caar_panels(study, (-1, 1))
    valid(fig)
    order = list(tables.category_table(study)["category"])
    p = study.paths[study.paths["group_by"] == "category"]
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert titles == [
        f"{c.replace('_', ' ')} (n={int(p[p['group'] == c]['n'].max())})" for c in order
    ]
    lines = [t for t in fig["data"] if t.get("fill") != "toself"]
    bands = {t["xaxis"]: t for t in fig["data"] if t.get("fill") == "toself"}
    lo_all, hi_all = np.inf, -np.inf
    for c, line in zip(order, lines, strict=True):
        path = p[p["group"] == c].sort_values("day")
        assert line["x"] == path["day"].tolist()
        close(line["y"], path["caar"])
        day0 = path[path["day"] == 0].iloc[0]
        if day0["n"] >= 2:
            band = bands[line["xaxis"]]
            half = stats.t.ppf(0.975, day0["n"] - 1) * day0["caar_se"]
            at0 = [y for x, y in zip(band["x"], band["y"], strict=True) if x == 0]
            top = max(abs(y) for y in band["y"] if y is not None)
            close(sorted(at0), [day0["caar"] - half, day0["caar"] + half], scale=top)
            lo_all = min(lo_all, min(band["y"]))
            hi_all = max(hi_all, max(band["y"]))
    lay = fig["layout"]
    low, high = lay["yaxis"]["range"]
    assert low <= lo_all  # every band fits the one shared axis
    assert high >= hi_all
    assert all(lay[f"yaxis{k}"]["matches"] == "y" for k in range(2, len(order) + 1))


def test_car_dots_are_every_events_car(study: EventStudyResult) -> None:
    fig = charts.car_dots(study, (-1, 1))
    valid(fig)
    w = study.windows[study.windows["window"] == "[-1,+1]"]
    ev = study.events[["event_id", "ticker", "category"]]
    rows = w.merge(ev, on=["event_id", "ticker"])
    for t in fig["data"]:
        cat = html.unescape(t["y"][0]).replace(" ", "_")
        mine = rows[rows["category"] == cat].sort_values("car")
        close(t["x"], mine["car"])
        if "text" not in t:
            continue
        shown = [(x, k) for x, k in zip(t["x"], t["text"], strict=True) if k]
        # labels are the points' own tickers, at most LABEL_MAX, the strongest first
        assert [k for k in t["text"] if k] == [
            k for k, lab in zip(mine["ticker"], t["text"], strict=True) if lab
        ]
        assert 1 <= len(shown) <= charts.LABEL_MAX
        strongest = max(abs(x) for x in t["x"])
        assert any(abs(x) == strongest for x, _ in shown)


def test_car_dots_of_many_events_are_a_box(
    study: EventStudyResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kind of news with more than DOTS_MAX events (the S&P import: 11,713 earnings rows
    took 2 s to draw) is a box of its CARs with the extremes beyond the whiskers as dots."""
    monkeypatch.setattr(charts, "DOTS_MAX", 3)
    fig = charts.car_dots(study, (-1, 1))
    valid(fig)
    w = study.windows[study.windows["window"] == "[-1,+1]"]
    rows = w.merge(study.events[["event_id", "ticker", "category"]], on=["event_id", "ticker"])
    boxes = [t for t in fig["data"] if t["type"] == "box"]
    assert boxes
    for box in boxes:
        cat = html.unescape(box["y"][0]).replace(" ", "_")
        car = rows.loc[rows["category"] == cat, "car"].dropna()
        assert len(car) > 3
        close([box["q1"][0], box["median"][0], box["q3"][0]], car.quantile([0.25, 0.5, 0.75]))
        iqr = car.quantile(0.75) - car.quantile(0.25)
        lo, hi = car.quantile(0.25) - 1.5 * iqr, car.quantile(0.75) + 1.5 * iqr
        dots = [t for t in fig["data"] if t["type"] == "scatter" and t["y"][:1] == box["y"]]
        drawn = sorted(dots[0]["x"]) if dots else []
        assert len(drawn) == ((car < lo) | (car > hi)).sum()
        if drawn:
            close(drawn, sorted(car[(car < lo) | (car > hi)]))
    assert "a box" in fig["layout"]["title"]["subtitle"]["text"]


def test_dot_labels_take_lanes_and_never_overlap() -> None:
    """Hand-placed: at 210 px across a span of 1.0 a 4-letter label is 34 px wide (0.162 of
    the span). Two tickers at the same spot go above and below; a third there gets none; a
    point far away is labelled above."""
    x = [0.0, 0.01, 0.02, 0.5, 0.5 - 0.17]
    lanes = charts.label_lanes(x, ["AAAA", "BBBB", "CCCC", "DDDD", "EEEE"], 1.0, most=6)
    # order of strength: DDDD (0.5) top, EEEE (0.33) top (0.17 apart > 0.162), CCCC top, BBBB
    # bottom, AAAA no room
    assert lanes == ["", "bottom center", "top center", "top center", "top center"]
    assert charts.label_lanes(x, ["A"] * 5, 1.0, most=2).count("") == 3
    lo, hi = charts.labelled_range([-0.1, 0.3], ["AAAA"])
    assert lo < -0.1
    assert hi > 0.3
    # the outermost label's half width fits inside the range at the narrowest plot
    half = (charts.LABEL_CHAR_PX * 4 + charts.LABEL_PAD_PX) / 2
    assert (hi - 0.3) / (hi - lo) * charts.LABEL_MIN_PLOT_PX >= half


def test_ticker_paths_highlight_the_strongest_and_fade_the_rest(study: EventStudyResult) -> None:
    fig = charts.ticker_paths(study, "META", (-1, 1), highlight=5)
    valid(fig)
    rows = study.ar.xs("META", level="ticker")
    w = study.windows[(study.windows["window"] == "[-1,+1]") & (study.windows["ticker"] == "META")]
    strongest = set(w.reindex(w["car"].abs().sort_values(ascending=False).index)["event_id"][:5])
    coloured = [t for t in fig["data"] if t["line"]["color"] != charts.FAINT]
    faint = [t for t in fig["data"] if t["line"]["color"] == charts.FAINT]
    assert len(coloured) == 5
    assert len(faint) == len(rows) - 5
    assert sum(t["showlegend"] for t in faint) == 1
    titles = study.events.set_index(["event_id", "ticker"])["title"]
    day0 = study.events.set_index(["event_id", "ticker"])["day0"]
    for t in coloured:
        date = t["name"][:10]
        (eid,) = [e for e in strongest if day0[(e, "META")].strftime("%Y-%m-%d") == date]
        # to 0.01 percentage points, the precision the hover shows
        close(t["y"], np.cumsum(rows.loc[eid].to_numpy()), scale=1.0, digits=5)
        assert html.unescape(t["customdata"][0]).rstrip("…") in titles[(eid, "META")]
    # the legend lists the highlighted ones by date
    assert [t["name"][:10] for t in coloured] == sorted(t["name"][:10] for t in coloured)


# ----------------------------------------------------------------------------- strategies


def test_equity_compares_cumulative_returns_and_every_drawdown(short_bt: BacktestResult) -> None:
    portfolio = "pooled XNYS"
    fig = charts.equity_figure(short_bt, portfolio)
    valid(fig)
    # the sessions the portfolio exists (a foreign holiday is a missing row, not a gap)
    eq = short_bt.equity.xs(portfolio, axis=1, level=1, drop_level=False).dropna(how="all")
    lines = [t for t in fig["data"] if t.get("yaxis") != "y2"]
    dds = [t for t in fig["data"] if t.get("yaxis") == "y2"]
    labels = short_bt.combos.set_index("combo")["label"]
    expected = {"buy & hold equal-weight basket": (0, "buy & hold equal-weight basket"),
                "buy & hold SPY": (0, "buy & hold SPY")}  # fmt: skip
    expected.update({lab: (combo, "strategy") for combo, lab in labels.items()})
    # dotted: the benchmark held over each combination's trade sessions, in its colour
    expected.update(
        {f"{lab}: SPY, same sessions": (combo, "SPY at the strategy's exposure")
         for combo, lab in labels.items()}
    )  # fmt: skip
    assert sorted(html.unescape(t["name"]) for t in lines) == sorted(expected)
    dotted = [t for t in lines if t["line"].get("dash") == "dot"]
    assert len(dotted) == len(labels)
    colour = {html.unescape(t["name"]): t["line"]["color"] for t in lines}
    for lab in labels:
        assert colour[f"{lab}: SPY, same sessions"] == colour[lab]
    deepest = 0.0
    for line, dd in zip(lines, dds, strict=True):
        combo, series = expected[html.unescape(line["name"])]
        value = eq[(combo, portfolio, series)].to_numpy()
        # to 0.01 percentage points, the precision the hover shows
        close(line["y"], value / value[0] - 1.0, scale=1.0, digits=1 + charts.EQUITY_DECIMALS)
        peak, want = -math.inf, []
        for v in value:
            peak = max(peak, v)
            want.append(v / peak - 1.0)
        close(dd["y"], want, scale=1.0, digits=1 + charts.EQUITY_DECIMALS)
        deepest = min(deepest, min(want))
    # the drawdown axis ends at 0 and reaches the deepest series drawn: plotly fits its
    # bottom to the lines shown, the buy-and-hold ones too once the reader shows them
    # (test_the_drawdown_axis_fits_the_lines_drawn, in a browser)
    assert deepest < 0
    assert drawdown_axis_fits_what_is_drawn(fig["layout"]["yaxis2"])
    assert fig["layout"]["yaxis"]["tickformat"].endswith("%")


def drawdown_axis_fits_what_is_drawn(ax: dict[str, Any]) -> bool:
    """The drawdown axis has no fixed bottom (plotly fits it to the visible traces) and its
    top at 0."""
    return (
        ax.get("autorange") is True
        and "range" not in ax
        and ax.get("autorangeoptions", {}).get("maxallowed") == 0
    )


#: Hand-made portfolio values of one combination: buy-and-hold SPY falls 30% from its peak
#: (130 -> 91), the strategy 2% (102,000 -> 99,960), the benchmark over its sessions 0.0996%
#: (100,400 -> 100,300).
DEEP_HOLD = {
    "buy & hold SPY": [100.0, 120.0, 130.0, 91.0, 100.0],
    "strategy": [100_000.0, 100_500.0, 102_000.0, 99_960.0, 101_000.0],
    "SPY at the strategy's exposure": [100_000.0, 100_000.0, 100_400.0, 100_300.0, 100_400.0],
}


@pytest.fixture(scope="module")
def deep_hold(tmp_path_factory: pytest.TempPathFactory) -> BacktestResult:
    """A backtest of one combination on META whose equity is :data:`DEEP_HOLD`."""
    path = tmp_path_factory.mktemp("strategies") / "deep.toml"
    path.write_text('name = "deep"\n[events]\ncategories = ["layoff"]\n[exit]\nhold = 5\n')
    combos = pd.DataFrame({"combo": [0], "label": ["base"]})
    empty = BacktestResult.empty(load_strategy(path), combos, pd.DataFrame(), {"XNYS": "SPY"})
    equity = pd.DataFrame(
        DEEP_HOLD, index=pd.bdate_range("2024-01-02", periods=5), dtype=np.float64
    )
    equity.columns = pd.MultiIndex.from_tuples([(0, "META", k) for k in DEEP_HOLD])
    return dataclasses.replace(empty, equity=equity)


def test_a_hidden_buy_and_hold_does_not_stretch_the_drawdown_axis(
    deep_hold: BacktestResult,
) -> None:
    """The buy-and-hold lines start hidden (the benchmark over the strategy's sessions is
    drawn instead): their 30% drawdown must not set the axis that shows the strategy's 2%."""
    fig = charts.equity_figure(deep_hold, "META")
    valid(fig)
    dds = {html.unescape(t["name"]): t for t in fig["data"] if t.get("yaxis") == "y2"}
    assert dds["buy & hold SPY"]["visible"] == "legendonly"
    assert min(dds["buy & hold SPY"]["y"]) == -0.3
    shown = [t for t in dds.values() if t.get("visible", True) is True]
    assert sorted(html.unescape(t["name"]) for t in shown) == ["SPY, same sessions", "strategy"]
    assert min(min(t["y"]) for t in shown) == -0.02
    # the legend names every line, the hidden one too (a click shows it)
    legend = [t for t in fig["data"] if t.get("showlegend")]
    assert [html.unescape(t["name"]) for t in legend] == ["buy & hold SPY", "strategy"]
    assert drawdown_axis_fits_what_is_drawn(fig["layout"]["yaxis2"])


# each chart's drawdown axis range as plotly drew it
_DRAWDOWN_RANGE_JS = """
return Array.from(document.querySelectorAll("div.chart")).map(
    (el) => el._fullLayout.yaxis2.range);
"""


@pytest.mark.browser
def test_the_drawdown_axis_fits_the_lines_drawn(deep_hold: BacktestResult, tmp_path: Path) -> None:
    """In Chromium: the drawdown axis runs from 0 to just below the strategy's -2% while
    buy-and-hold is hidden, to below its -30% once shown (as a click on the legend does), and
    to the floor when no series drawn falls below its peak."""
    require_chromium()
    fig = charts.equity_figure(deep_hold, "META")
    every = {**fig, "data": [{k: v for k, v in t.items() if k != "visible"} for t in fig["data"]]}
    # the strategy and the benchmark over its sessions never below their peak
    rising = deep_hold.equity.copy()
    rising.iloc[:, 1:] = np.repeat(np.arange(100.0, 105.0)[:, None], 2, axis=1)
    flat = charts.equity_figure(dataclasses.replace(deep_hold, equity=rising), "META")
    body = "".join(
        f'<div class="chart" id="{k}"></div><script>var fig = {charts.figure_json(f)};'
        f'Plotly.newPlot("{k}", fig.data, fig.layout, {json.dumps(charts.PLOTLY_CONFIG)});</script>'
        for k, f in (("hidden", fig), ("shown", every), ("flat", flat))
    )
    page = tmp_path / "equity.html"
    page.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>equity</title>"
        # the scroll bar from the start, as on the report's pages
        "<style>html { overflow-y: scroll; }</style>"
        f'<script src="{plotly_js_path().as_uri()}"></script></head><body>{body}</body></html>',
        encoding="utf-8",
    )
    report = inspect_page(page, tmp_path / "equity.png", width=1000, height=800,
                          probe=_DRAWDOWN_RANGE_JS)  # fmt: skip
    assert report.problems() == [], str(report)
    (lo, hi), (lo_all, hi_all), (lo_flat, hi_flat) = report.probe
    assert hi == hi_all == hi_flat == 0
    assert -0.025 < lo < -0.02  # the strategy's -2% and a margin
    assert -0.33 < lo_all < -0.30  # buy-and-hold's -30% and a margin
    assert lo_flat == charts.DRAWDOWN_FLOOR  # not -100%


def test_strategy_forest_one_row_per_strategy_with_every_combination() -> None:
    rows = pd.DataFrame(
        {
            "strategy": ["a_b", "a_b", "c"],
            "label": ["hold=1", "hold=5", ""],
            "value": [0.01, -0.02, 0.005],
            "lo": [-0.01, -0.05, np.nan],
            "hi": [0.03, 0.01, np.nan],
            "n_trades": [5, 5, 40],
        }
    )
    fig = charts.strategy_forest(rows, excess=True)
    valid(fig)
    (dots,) = fig["data"]
    assert fig["layout"]["yaxis"]["ticktext"] == ["a b", "c"]
    assert dots["x"] == [0.01, -0.02, 0.005]
    assert [round(y) for y in dots["y"]] == [0, 0, 1]  # both combinations in a_b's row
    assert dots["y"][0] != dots["y"][1]  # spread apart, neither hides the other
    high = [x + e for x, e in zip(dots["x"][:2], dots["error_x"]["array"][:2], strict=True)]
    assert high == pytest.approx([0.03, 0.01])
    assert right_labels(fig) == {0: "n=5 too few", 1: "n=40"}
    assert "beyond the benchmark" in fig["layout"]["xaxis"]["title"]["text"]


def test_trade_dots_are_every_trade(short_bt: BacktestResult) -> None:
    fig = charts.trade_dots(short_bt)
    valid(fig)
    t = short_bt.trades[short_bt.trades["leg"] == "position"]
    labels = short_bt.combos.set_index("combo")["label"]
    for trace, (combo, g) in zip(fig["data"], t.groupby("combo"), strict=True):
        assert trace["y"][0] == labels[combo]
        close(trace["x"], np.sort(g["return"].to_numpy()))


def test_many_trades_are_a_box_and_the_extremes(short_bt: BacktestResult) -> None:
    """Over DOTS_MAX trades (the S&P import: 7,498 per combination took 4 s to draw as SVG
    dots), a combination is a box of its quartiles with Tukey whiskers and its most extreme
    trades beyond them as dots: planted returns 1%..400% plus 50 at -900% and 50 at +900%."""
    t = short_bt.trades[short_bt.trades["leg"] == "position"]
    one = t[t["combo"] == t["combo"].iloc[0]].iloc[[0]]
    planted = np.concatenate([np.arange(1, 401) / 100, np.full(50, -9.0), np.full(50, 9.0)])
    many = one.loc[one.index.repeat(len(planted))].assign(return_=planted)
    many = many.drop(columns="return").rename(columns={"return_": "return"})
    fig = charts.trade_dots(dataclasses.replace(short_bt, trades=many))
    valid(fig)
    box, dots = fig["data"]
    s = pd.Series(planted)
    q1, med, q3 = s.quantile(0.25), s.quantile(0.5), s.quantile(0.75)
    close([box["q1"][0], box["median"][0], box["q3"][0]], [q1, med, q3])
    inside = [v for v in planted if q1 - 1.5 * (q3 - q1) <= v <= q3 + 1.5 * (q3 - q1)]
    close([box["lowerfence"][0], box["upperfence"][0]], [min(inside), max(inside)])
    close(box["mean"], [planted.mean()])
    # the 100 planted extremes lie beyond the whiskers; 40 a side are drawn
    assert sorted(dots["x"]) == [-9.0] * charts.OUTLIERS_MAX + [9.0] * charts.OUTLIERS_MAX
    assert box["y"] == dots["y"][:1]
    assert "box" in fig["layout"]["title"]["subtitle"]["text"]
    # few trades stay dots, one per trade
    assert [d["type"] for d in charts.trade_dots(short_bt)["data"]] == ["scatter"] * 4


# ----------------------------------------------------------------------------- sweep heatmap


def test_heatmap_z_is_the_grid_pivoted(short_bt: BacktestResult) -> None:
    fig = charts.sweep_heatmap(short_bt, "sharpe")
    assert fig is not None
    valid(fig)
    grid = short_bt.grid("sharpe")
    expected = grid.pivot(index="condition.below", columns="exit.hold", values="sharpe")
    expected = expected.sort_index().sort_index(axis=1)
    (heat,) = fig["data"]
    close(np.asarray(heat["z"], dtype=float), expected.to_numpy())
    assert heat["x"] == ["5", "20"]
    assert heat["y"] == ["-8%", "-3%"]
    assert heat["text"] == [[f"{v:.2f}" for v in row] for row in expected.to_numpy()]
    assert fig["layout"]["coloraxis"]["cmid"] == 0


def test_heatmap_is_none_when_nothing_is_swept(flat_bt: BacktestResult) -> None:
    assert charts.sweep_heatmap(flat_bt) is None


def grid_metrics(
    tmp_path: Path, sweep: str, **values: Any
) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """The strategy of a parameter sweep (``sweep``: the TOML after the name), its combinations
    and a pooled-portfolio metrics table with hand-made ``values`` per combination."""
    path = tmp_path / "grid.toml"
    path.write_text(f'name = "grid"\n{sweep}')
    strategy = load_strategy(path)
    combos = pd.DataFrame(
        [
            {"combo": k, "label": p.label(strategy.swept), **dict(p)}
            for k, p in enumerate(strategy.grid())
        ]
    )
    keys = ["combo", "portfolio", "kind", "subject", "market"]
    metrics = combos.assign(
        portfolio="pooled XNYS", kind="strategy", subject="pooled XNYS", market="XNYS"
    )[keys]
    return strategy, combos, metrics.assign(**values)


def hand_backtest(tmp_path: Path, stops: list[float], *, hold: str = "[5, 20]") -> BacktestResult:
    """A result with hand-made metrics: sharpe = lag + hold / 100 - stop_loss."""
    strategy, combos, metrics = grid_metrics(
        tmp_path, f"[entry]\nlag = [0, 1]\n[exit]\nhold = {hold}\nstop_loss = {stops}\n"
    )
    metrics = metrics.assign(
        n_trades=3,
        sharpe=combos["entry.lag"] + combos["exit.hold"] / 100 - combos["exit.stop_loss"],
        win_rate=0.5,
    )
    return BacktestResult(
        strategy, combos, metrics, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
        pd.DataFrame(), {"XNYS": "SPY"},
    )  # fmt: skip


def test_heatmap_panels_for_more_than_two_parameters(tmp_path: Path) -> None:
    stops = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07]
    fig = charts.sweep_heatmap(hand_backtest(tmp_path, stops))
    assert fig is not None
    valid(fig)
    assert len(fig["data"]) == 6  # seven stop-loss values: six panels, one left out
    assert "not shown: stop_loss=7%" in fig["layout"]["title"]["subtitle"]["text"]
    for heat, stop in zip(fig["data"], stops, strict=False):
        lag = np.array([0.0, 1.0])[None, :]
        hold = np.array([5.0, 20.0])[:, None]
        np.testing.assert_allclose(np.asarray(heat["z"], dtype=float), lag + hold / 100 - stop)
    assert [a["text"] for a in fig["layout"]["annotations"]] == [
        f"stop_loss={k}%" for k in range(1, 7)
    ]
    with pytest.raises(ValueError, match="unknown metric"):
        charts.sweep_heatmap(hand_backtest(tmp_path, [0.1]), "nope")


# ----------------------------------------------------------------------------- claims


def test_claims_dumbbell() -> None:
    claims = pd.DataFrame(
        {
            "event_id": ["meta-q3", "msft-q1", "googl-q3", "meta-q4", "amzn-x"],
            "ticker": ["META", "MSFT", "GOOGL", "META", "AMZN"],
            "measure": [
                "intraday_low", "close_to_close", "close_to_close", "market_value_change",
                "close_to_close",
            ],
            "date": pd.to_datetime(
                ["2025-10-30", "2025-10-30", "2025-10-30", "2022-02-03", "2024-01-02"]
            ),
            "claimed": [-0.13, -0.029, 0.025, -200e9, 0.01],
            "measured": [-0.121, -0.0292, -0.004, -0.26, math.nan],
            "verdict": ["agrees", "agrees", "disagrees", "not measured", "not measured"],
            "says": ["fell as much as 13%", "dragged down 2.9%", "rose 2.5% <b>", "x", "y"],
        }
    )  # fmt: skip
    fig = charts.claims_figure(claims)
    assert fig is not None
    valid(fig)
    rows = ["META intraday low 2025-10-30", "MSFT close to close 2025-10-30",
            "GOOGL close to close 2025-10-30"]  # fmt: skip
    by_name = {t["name"]: t for t in fig["data"]}
    assert by_name["claimed by the source"]["y"] == rows
    assert by_name["claimed by the source"]["x"] == [-0.13, -0.029, 0.025]
    assert by_name["measured: agrees"]["x"] == [-0.121, -0.0292]
    assert by_name["measured: disagrees"]["y"] == rows[2:]
    assert by_name["measured: disagrees"]["customdata"][0][0] == "rose 2.5% &lt;b&gt;"
    assert fig["layout"]["yaxis"]["autorange"] == "reversed"  # the table's order, top down


def test_claims_figure_is_none_when_no_row_qualifies() -> None:
    assert charts.claims_figure(pd.DataFrame()) is None
    only_dollars = pd.DataFrame(
        {
            "event_id": ["e"], "ticker": ["META"], "measure": ["market_value_change"],
            "date": [pd.Timestamp("2022-02-03")], "claimed": [-2e11], "measured": [-0.2],
            "verdict": ["not measured"], "says": ["$200B"],
        }
    )  # fmt: skip
    assert charts.claims_figure(only_dollars) is None
    with pytest.raises(ValueError, match="says"):
        charts.claims_figure(only_dollars.drop(columns="says"))


# ----------------------------------------------------------------------------- embedding


def test_figure_json_cannot_close_a_script_element() -> None:
    title = "</script><script>alert(1)</script> R&D"
    text = charts.figure_json({"data": [], "layout": {"title": {"text": title}}})
    assert not re.search(r"[<>&]", text)
    assert json.loads(text)["layout"]["title"]["text"] == title


def test_numbers_keep_seven_significant_digits() -> None:
    # seven significant digits of the series' largest value; gaps for NaN and infinities
    assert charts.floats([0.0123456789, -0.5]) == [0.0123457, -0.5]
    assert charts.floats([0.123456789, np.nan, -np.inf, 12345.678901]) == [
        0.12,
        None,
        None,
        12345.68,
    ]


def test_captions_take_the_title_out_of_the_chart() -> None:
    fig = charts.category_forest(category_rows())
    body, title, subtitle = charts.caption(fig)
    assert "title" not in body["layout"]
    assert title == "Mean abnormal return CAR[-1,+1] by kind of news"
    assert subtitle.startswith("Whiskers: 95% interval of the headline test")


def test_every_figure_is_valid_and_plain(
    study: EventStudyResult, short_bt: BacktestResult, flat_bt: BacktestResult
) -> None:
    figs = [
        charts.caar_panels(study),
        charts.car_dots(study),
        charts.ticker_paths(study, "GOOGL"),
        charts.equity_figure(short_bt, "META"),
        charts.equity_figure(flat_bt, "pooled XNYS"),
        charts.sweep_heatmap(short_bt),
        charts.trade_dots(flat_bt, "META"),
    ]
    for fig in figs:
        assert fig is not None
        valid(fig)
        text = charts.figure_json(fig)
        assert "$" not in text
        lay = fig["layout"]
        assert lay["title"]["text"]
        assert 200 <= lay["height"] <= 900
        # every visible axis says what it measures, and returns are in percent
        for key, ax in lay.items():
            if key.startswith(("xaxis", "yaxis")) and ax.get("tickformat"):
                assert ax["tickformat"].endswith("%")
    assert charts.PLOTLY_CONFIG["displayModeBar"] is False  # no toolbar over the text


def test_empty_results_give_figures_that_say_why(
    study: EventStudyResult, flat_bt: BacktestResult
) -> None:
    empty = dataclasses.replace(
        study, events=pd.DataFrame(), ar=pd.DataFrame(), windows=pd.DataFrame(),
        groups=pd.DataFrame(), paths=pd.DataFrame(),
    )  # fmt: skip
    assert is_message(charts.caar_panels(empty))
    assert is_message(charts.car_dots(empty))
    assert is_message(charts.ticker_paths(empty, "META"))
    assert is_message(charts.ticker_paths(study, "NOPE"))
    assert is_message(charts.category_forest(category_rows().iloc[0:0]))
    no_trade = BacktestResult.empty(
        flat_bt.strategy, flat_bt.combos, pd.DataFrame(), {"XNYS": "SPY"}
    )
    assert is_message(charts.equity_figure(no_trade, "META"))
    assert is_message(charts.trade_dots(no_trade))
    assert charts.sweep_heatmap(no_trade) is None


def test_charts_import_neither_vectorbt_nor_plotly(repo_root: Path) -> None:
    code = (
        "import sys, backtest.reports.charts, backtest.reports.html; "
        "print('vectorbt' in sys.modules, 'plotly.graph_objects' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo_root), *sys.path])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.split() == ["False", "False"]


def test_heatmap_cells_say_why_a_sharpe_is_not_defined(tmp_path: Path) -> None:
    """A ruined portfolio (its value went through zero: the S&P run with unbounded leverage)
    and one without trades have no Sharpe ratio: their cells say so instead of a dash."""
    strategy, combos, metrics = grid_metrics(
        tmp_path,
        "[exit]\nhold = [1, 5, 20, 60]\n",
        n_trades=[12, 12, 12, 0],
        sharpe=[0.3, np.nan, 0.7, np.nan],
    )
    days = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"])
    columns = pd.MultiIndex.from_tuples(
        [(k, "pooled XNYS", "strategy") for k in range(4)], names=["combo", "portfolio", "series"]
    )
    values = np.array(
        [[100.0, 100.0, 100.0, 100.0], [101.0, 40.0, 99.0, 100.0], [102.0, -5.0, 98.0, 100.0]]
    )
    equity = pd.DataFrame(values, index=days, columns=columns)
    bt = BacktestResult(
        strategy, combos, metrics, pd.DataFrame(), pd.DataFrame(), equity, pd.DataFrame(),
        {"XNYS": "SPY"},
    )  # fmt: skip
    fig = charts.sweep_heatmap(bt, "sharpe")
    assert fig is not None
    valid(fig)
    (heat,) = fig["data"]
    assert heat["x"] == ["1", "5", "20", "60"]
    assert heat["text"] == [["0.30", "ruined 2024-01-04", "0.70", "no trades"]]
    # the strategy page's metrics table says it too, and flags the column
    from backtest.reports import html as H

    rows = H.metrics_with_trade_stats(bt).to_dict("records")
    assert [H.stat_cell(r, "sharpe", "num") for r in rows] == [
        "0.30", "ruined 2024-01-04", "0.70", "—",
    ]  # fmt: skip


# ----------------------------------------------------------------------------- packing


def test_packed_arrays_give_back_the_same_floats() -> None:
    """Rounded series (flat stretches, gaps, negative values, large ones) pack to whole
    differences and unpack to the very same floats; series that are not whole at six
    decimals, text and infinities stay as they are."""
    rng = np.random.default_rng(7)
    walk = np.round(np.cumsum(rng.normal(0, 0.02, 1500)), 4)
    walk[100:400] = walk[100]  # not invested: flat
    walk[:3] = np.nan  # before the first session of the ticker
    walk[900] = np.nan
    values = charts.floats(walk, decimals=4)
    packed = charts.pack_array(values)
    assert packed["e"] == 4
    assert [299] in packed["d"]  # the flat stretch: 299 zero differences in one token
    assert charts.unpack_array(packed) == values
    assert charts.pack_array(list(values)) == packed  # a plain list: the same
    assert len(json.dumps(packed)) < len(json.dumps(values)) / 2
    big = [1234.5, 1234.5, -7.25, 0.0]
    assert charts.unpack_array(charts.pack_array(big)) == big
    assert charts.pack_array(big)["e"] == 2
    for kept in ([0.1234567, 0.2], ["2024-01-02", "2024-01-03"], [1.0, float("inf")]):
        assert charts.pack_array(kept) == {"v": kept}
    assert charts.pack_array([None, None]) == {"v": [None, None]}


def test_shared_arrays_are_stored_once_per_folder() -> None:
    """The first page keeps its own copy; a second page that needs the same array finds it in
    the folder's file; an array of one page only stays in that page."""
    dates = [f"2024-01-{d:02d}" for d in range(1, 41)]
    ramp = [round(0.001 * k, 4) for k in range(40)]
    store = charts.SharedArrays()

    def page(name: str, y: list[float]) -> dict[str, Any]:
        store.start(name)
        fig = {"data": [{"x": dates, "y": y}, {"x": dates, "y": [0.5] * 3}], "layout": {}}
        return store.pack(fig)

    a = page("tickers/A.html", ramp)
    assert a["data"][0]["x"] == a["data"][1]["x"]  # one copy for both traces
    assert a["data"][1]["y"] == [0.5] * 3  # short arrays stay as they are
    assert set(store.own) == {a["data"][0]["x"]["evbt"], a["data"][0]["y"]["evbt"]}
    assert not store.uses_folder
    assert not store.folder
    b = page("tickers/B.html", [-v for v in ramp])
    key = b["data"][0]["x"]["evbt"]
    assert store.uses_folder
    assert set(store.folder) == {key}
    assert set(store.own) == {b["data"][0]["y"]["evbt"]}
    assert charts.unpack_array(store.folder[key]) == dates
    script = store.folder_script()
    assert script.startswith("window.EVBT_SERIES = ")
    assert script.endswith(";\n")


def test_a_chart_label_that_rounds_to_zero_has_no_sign() -> None:
    """The forest's right-hand labels follow the page's rule: a CAAR of -0.04% at one decimal
    reads 0.0%, not -0.0% (the shipped run's "policy +0.0%")."""
    rows = category_rows()
    rows.loc[1, "caar"] = -0.0004
    rows.loc[2, "caar"] = 0.0004
    texts = list(right_labels(charts.category_forest(rows)).values())
    assert sum(t.startswith("0.0%") for t in texts) == 2, texts
    assert not any(t.startswith(("+0.0%", "-0.0%")) for t in texts)
