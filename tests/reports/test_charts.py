"""The report's figures: every number a figure shows is checked against the result objects (or
hand-made inputs) with arithmetic done here, independently of the chart code; empty and
degenerate inputs give a figure that says why (or ``None`` where documented), never an error.

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
from backtest.portfolio.metrics import METRICS, format_metric
from backtest.prices import CsvDirSource, load_prices
from backtest.reports import charts, tables
from backtest.study import EventStudyResult, StudySpec, run_study
from backtest.study.inputs import normalize_event_table, price_needs
from backtest.study.results import stars

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


def trace(fig: go.Figure, name: str) -> Any:
    found = [t for t in fig.data if t.name == name]
    assert len(found) == 1, [t.name for t in fig.data]
    return found[0]


def is_message(fig: go.Figure) -> bool:
    """A figure with no data whose annotation explains why."""
    return len(fig.data) == 0 and len(fig.layout.annotations) == 1


# ----------------------------------------------------------------------------- headline p


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"kp_p": 0.04, "bmp_p": 0.2, "t_p": 0.5}, (0.04, "Kolari-Pynnönen adjusted BMP t")),
        ({"kp_p": math.nan, "bmp_p": 0.2, "t_p": 0.5}, (0.2, "BMP t")),
        ({"kp_p": math.nan, "bmp_p": math.inf, "t_p": 0.5}, (0.5, "cross-sectional t")),
        ({"t_p": 0.07}, (0.07, "cross-sectional t")),
        (pd.Series({"kp_p": None, "bmp_p": 0.01, "t_p": 0.3}), (0.01, "BMP t")),
    ],
)
def test_headline_p_prefers_kp_then_bmp_then_t(row: Any, expected: tuple[float, str]) -> None:
    assert tables.headline_p(row) == expected


def test_headline_p_is_nan_when_no_test_was_computed() -> None:
    p, name = tables.headline_p({"kp_p": math.nan, "bmp_p": math.nan, "t_p": math.nan})
    assert math.isnan(p)
    assert name == ""


# ----------------------------------------------------------------------------- category bars


def test_category_bars_show_the_category_caar_with_t_intervals(study: EventStudyResult) -> None:
    fig = charts.category_bars(study, (-1, 1))
    assert fig.layout.title.text == "Mean cumulative abnormal return CAR[-1,+1] by category"
    table = study.group_table("category", "CAAR")
    table = table[table["window"] == "[-1,+1]"].sort_values("value")
    bar = fig.data[0]
    assert bar.type == "bar"
    assert bar.orientation == "h"
    # sorted by CAAR, the largest at the top; labels read "model launch", not "model_launch"
    assert list(bar.y) == [g.replace("_", " ") for g in table["group"]]
    np.testing.assert_allclose(bar.x, table["value"], rtol=0, atol=0)
    # the 95% interval from the cross-sectional SE = CAAR / t, t quantile with n - 1 dof
    for row, half, text, colour in zip(
        table.itertuples(), bar.error_x.array, bar.text, bar.marker.color, strict=True
    ):
        if row.n >= 2 and np.isfinite(row.t) and row.t != 0:
            se = row.value / row.t
            assert half == pytest.approx(stats.t.ppf(0.975, row.n - 1) * abs(se), rel=1e-12)
        else:
            assert half is None or np.isnan(half)
        p = row.kp_p if np.isfinite(row.kp_p) else row.bmp_p if np.isfinite(row.bmp_p) else row.t_p
        if row.n == 1:  # one event: its own t-test
            (eid,) = study.events.loc[study.events["category"] == row.group, "event_id"]
            w = study.windows
            p = w.loc[(w["event_id"] == eid) & (w["window"] == "[-1,+1]"), "p"].item()
        mark = stars(p)
        pct = f"{row.value * 100:+.2f}%"
        assert text == (f"{pct} {mark}  (n={row.n})" if mark else f"{pct}  (n={row.n})")
        assert colour == (charts.UP if row.value > 0 else charts.DOWN)
    # the product_launch category has one event: no interval
    one = table["group"].tolist().index("product_launch")
    assert np.isnan(bar.error_x.array[one])
    # the labels are drawn beside the bars
    assert [a.text for a in fig.layout.annotations] == list(bar.text)


def test_category_bars_hand_made_groups(study: EventStudyResult) -> None:
    groups = pd.DataFrame(
        {
            "group_by": "category",
            "group": ["a", "b", "c", "d"],
            "measure": "CAAR",
            "day": pd.NA,
            "window": "[-1,+1]",
            "n": [11, 1, 5, 4],
            "value": [0.02, -0.01, 0.004, -0.05],
            "t": [2.0, math.nan, 0.0, -4.0],
            "t_p": [0.07, math.nan, 1.0, 0.027],
            "bmp_p": [0.2, math.nan, 0.9, 0.003],
            "kp_p": [0.04, math.nan, math.nan, math.nan],
        }
    )
    fig = charts.category_bars(dataclasses.replace(study, groups=groups))
    bar = fig.data[0]
    assert list(bar.y) == ["d", "b", "c", "a"]
    assert list(bar.text) == [
        "-5.00% ***  (n=4)",  # BMP p 0.003 (no KP)
        "-1.00%  (n=1)",  # no test
        "+0.40%  (n=5)",  # t = 0: no SE; BMP p 0.9
        "+2.00% **  (n=11)",  # KP p 0.04
    ]
    half = np.asarray(bar.error_x.array, dtype=float)
    assert half[0] == pytest.approx(3.182446305284263 * 0.0125)  # t(3) quantile x 0.05 / 4
    assert np.isnan(half[1])
    assert np.isnan(half[2])
    assert half[3] == pytest.approx(2.2281388519649385 * 0.01)  # t(10) quantile x 0.02 / 2


def test_category_bars_without_the_window_say_so(study: EventStudyResult) -> None:
    fig = charts.category_bars(study, (3, 4))
    assert is_message(fig)
    assert "[+3,+4]" in fig.layout.annotations[0].text


# ----------------------------------------------------------------------------- CAAR figure


def test_caar_band_at_day0_and_event_points(study: EventStudyResult) -> None:
    fig = charts.caar_figure(study, "category", "earnings", (-1, 1))
    p = study.paths
    path = p[(p["group_by"] == "category") & (p["group"] == "earnings")].sort_values("day")
    day0 = path[path["day"] == 0].iloc[0]
    half = stats.t.ppf(0.975, day0["n"] - 1) * day0["caar_se"]
    band = trace(fig, "95% interval")
    assert band.fill == "toself"
    at0 = np.asarray(band.y)[np.asarray(band.x) == 0]
    assert sorted(at0) == pytest.approx([day0["caar"] - half, day0["caar"] + half], rel=1e-12)
    caar = trace(fig, "CAAR")
    np.testing.assert_array_equal(caar.x, path["day"])
    np.testing.assert_allclose(caar.y, path["caar"], rtol=0, atol=0)
    # right panel: one point per earnings event, CAR[-1,+1] from the windows table
    ev = study.events[study.events["category"] == "earnings"][["event_id", "ticker"]]
    w = study.windows[study.windows["window"] == "[-1,+1]"].astype({"event_id": str, "ticker": str})
    cars = w.merge(ev.astype(str), on=["event_id", "ticker"])["car"]
    up, down = trace(fig, "event CAR > 0"), trace(fig, "event CAR ≤ 0")
    shown = np.concatenate([np.asarray(up.y), np.asarray(down.y)])
    np.testing.assert_allclose(np.sort(shown), np.sort(cars.to_numpy()), rtol=0, atol=0)
    assert (np.asarray(up.y) > 0).all()
    assert (np.asarray(down.y) <= 0).all()
    assert {c[0] for c in down.customdata} <= set(ev["event_id"])
    assert fig.layout.title.text == (
        "earnings: CAAR over [-20,+20] and CAR[-1,+1] per event (n = 11)"
    )
    # dashed day-0 line on the left panel
    assert any(s.x0 == 0 and s.x1 == 0 and s.line.dash == "dash" for s in fig.layout.shapes)


def test_caar_figure_for_all_events_and_for_one_event(study: EventStudyResult) -> None:
    fig = charts.caar_figure(study, "all", "all", (0, 5))
    n_rows = int((study.windows["window"] == "[0,+5]").sum())
    points = sum(len(t.y) for t in fig.data if t.name and t.name.startswith("event CAR"))
    assert points == n_rows
    assert fig.layout.title.text.endswith(f"(n = {n_rows})")
    one = charts.caar_figure(study, "category", "product_launch")
    assert not [t for t in one.data if t.name == "95% interval"]  # n = 1: no band
    assert "(n = 1)" in one.layout.title.text


def test_caar_figure_for_an_unknown_group_says_so(study: EventStudyResult) -> None:
    assert is_message(charts.caar_figure(study, "category", "no-such-category"))
    assert is_message(charts.caar_figure(study, "no_such_field", "x"))


# ----------------------------------------------------------------------------- AR paths


def test_ar_paths_end_at_the_sum_of_each_events_abnormal_returns(
    study: EventStudyResult,
) -> None:
    fig = charts.ar_paths(study, "META")
    rows = study.ar.xs("META", level="ticker")
    assert len(fig.data) == len(rows) >= 15
    for t in fig.data:
        event_id = t.meta[1]
        ar = rows.loc[event_id]
        assert t.y[-1] == pytest.approx(ar.sum(), rel=1e-12, abs=1e-15)
        np.testing.assert_allclose(t.y, np.cumsum(ar.to_numpy()), rtol=1e-12, atol=1e-15)
        assert len(html.unescape(t.name)) <= 40  # names are HTML-escaped for plotly
    titles = study.events.set_index(["event_id", "ticker"])["title"]
    for t in fig.data:
        assert html.unescape(t.meta[0]) == titles[(t.meta[1], "META")]
    # chronological, legend below the plot for many events
    day0 = [t.meta[2] for t in fig.data]
    assert day0 == sorted(day0)
    assert fig.layout.legend.orientation == "h"
    assert fig.layout.legend.y < 0


def test_ar_paths_for_a_ticker_without_events_says_so(study: EventStudyResult) -> None:
    assert is_message(charts.ar_paths(study, "NOPE"))


# ----------------------------------------------------------------------------- equity


def test_equity_drawdown_equals_a_hand_loop(short_bt: BacktestResult) -> None:
    portfolio = "pooled XNYS"
    fig = charts.equity_figure(short_bt, portfolio)
    assert fig.layout.title.text == (
        "short_after_negative_earnings — pooled XNYS: value and drawdown"
    )
    labels = short_bt.combos.set_index("combo")["label"]
    for combo, label in labels.items():
        value = short_bt.equity[(combo, portfolio, "strategy")].dropna().to_numpy()
        peak, expected = -math.inf, []
        for v in value:
            peak = max(peak, v)
            expected.append(v / peak - 1.0)
        line, dd = trace(fig, label), trace(fig, f"drawdown {label}")
        np.testing.assert_allclose(line.y, value, rtol=0, atol=0)
        np.testing.assert_allclose(dd.y, expected, rtol=1e-15, atol=1e-15)
        assert dd.fill == "tozeroy"
        assert dd.yaxis == "y2"
    holds = [t for t in fig.data if t.name.startswith("buy &amp; hold")]
    assert [t.name for t in holds] == [
        "buy &amp; hold equal-weight basket",
        "buy &amp; hold SPY",
    ]
    spy = short_bt.equity[(0, portfolio, "buy & hold SPY")].dropna()
    np.testing.assert_allclose(holds[1].y, spy.to_numpy(), rtol=0, atol=0)
    assert fig.layout.yaxis.title.text == "value (USD)"


def test_equity_of_an_unswept_strategy_is_labelled_strategy(flat_bt: BacktestResult) -> None:
    fig = charts.equity_figure(flat_bt, "META")
    assert [t.name for t in fig.data if t.yaxis == "y"][-1] == "strategy"
    assert is_message(charts.equity_figure(flat_bt, "NO PORTFOLIO"))


# ----------------------------------------------------------------------------- sweep heatmap


def test_heatmap_z_is_the_grid_pivoted(short_bt: BacktestResult) -> None:
    fig = charts.sweep_heatmap(short_bt, "sharpe")
    assert fig is not None
    grid = short_bt.grid("sharpe")
    expected = grid.pivot(index="condition.below", columns="exit.hold", values="sharpe")
    expected = expected.sort_index().sort_index(axis=1)
    (heat,) = fig.data
    np.testing.assert_allclose(np.asarray(heat.z, dtype=float), expected.to_numpy(), rtol=0)
    assert list(heat.x) == ["5", "20"]
    assert list(heat.y) == ["-8%", "-3%"]
    assert [list(r) for r in heat.text] == [
        [format_metric(SHARPE, v) for v in row] for row in expected.to_numpy()
    ]
    assert fig.layout.xaxis.title.text == "hold (sessions)"
    assert fig.layout.yaxis.title.text == "below (AR threshold)"
    assert fig.layout.coloraxis.cmid == 0
    assert fig.layout.title.text == (
        "short_after_negative_earnings: Sharpe ratio over the grid (pooled XNYS)"
    )


def test_heatmap_is_none_when_nothing_is_swept(flat_bt: BacktestResult) -> None:
    assert charts.sweep_heatmap(flat_bt) is None


def hand_backtest(tmp_path: Path, stops: list[float], *, hold: str = "[5, 20]") -> BacktestResult:
    """A result with hand-made metrics: sharpe = lag + hold / 100 - stop_loss."""
    path = tmp_path / "grid.toml"
    path.write_text(
        f'name = "grid"\n[entry]\nlag = [0, 1]\n[exit]\nhold = {hold}\nstop_loss = {stops}\n'
    )
    strategy = load_strategy(path)
    combos = pd.DataFrame(
        [
            {"combo": k, "label": p.label(strategy.swept), **dict(p)}
            for k, p in enumerate(strategy.grid())
        ]
    )
    metrics = combos.assign(
        portfolio="pooled XNYS",
        kind="strategy",
        subject="pooled XNYS",
        market="XNYS",
        n_trades=3,
        sharpe=combos["entry.lag"] + combos["exit.hold"] / 100 - combos["exit.stop_loss"],
        win_rate=0.5,
    )[["combo", "portfolio", "kind", "subject", "market", "n_trades", "sharpe", "win_rate"]]
    return BacktestResult(
        strategy, combos, metrics, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
        pd.DataFrame(), {"XNYS": "SPY"},
    )  # fmt: skip


def test_heatmap_panels_for_more_than_two_parameters(tmp_path: Path) -> None:
    stops = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07]
    fig = charts.sweep_heatmap(hand_backtest(tmp_path, stops))
    assert fig is not None
    assert len(fig.data) == 6  # seven stop-loss values: six panels, one left out
    assert "not shown: stop_loss=7%" in fig.layout.title.subtitle.text
    for heat, stop in zip(fig.data, stops, strict=False):
        lag = np.array([0.0, 1.0])[None, :]
        hold = np.array([5.0, 20.0])[:, None]
        np.testing.assert_allclose(np.asarray(heat.z, dtype=float), lag + hold / 100 - stop)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [f"stop_loss={k}%" for k in range(1, 7)]


def test_heatmap_one_parameter_and_a_one_sided_metric(tmp_path: Path) -> None:
    fig = charts.sweep_heatmap(hand_backtest(tmp_path, [0.1], hold="5"), "win_rate")
    assert fig is not None
    (heat,) = fig.data
    assert list(heat.x) == ["0", "1"]
    assert list(heat.y) == ["Win rate"]
    assert [list(r) for r in heat.text] == [["50.00%", "50.00%"]]
    assert fig.layout.coloraxis.cmin == 0
    assert fig.layout.coloraxis.cmid is None
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
    rows = ["META intraday low 2025-10-30", "MSFT close to close 2025-10-30",
            "GOOGL close to close 2025-10-30"]  # fmt: skip
    claimed = trace(fig, "claimed by the source")
    assert list(claimed.y) == rows
    np.testing.assert_array_equal(claimed.x, [-0.13, -0.029, 0.025])
    agrees, disagrees = trace(fig, "measured: agrees"), trace(fig, "measured: disagrees")
    np.testing.assert_array_equal(agrees.x, [-0.121, -0.0292])
    assert list(disagrees.y) == rows[2:]
    assert agrees.marker.color == charts.UP
    assert disagrees.marker.color == charts.DOWN
    assert disagrees.customdata[0][0] == "rose 2.5% &lt;b&gt;"  # escaped
    assert fig.layout.xaxis.tickformat.endswith("%")


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
    text = charts.figure_json(go.Figure(layout={"title": {"text": title}}))
    assert not re.search(r"[<>&]", text)
    assert json.loads(text)["layout"]["title"]["text"] == title


def test_one_look_for_every_figure(
    study: EventStudyResult, short_bt: BacktestResult, flat_bt: BacktestResult
) -> None:
    figs = [
        charts.category_bars(study),
        charts.caar_figure(study, "category", "earnings"),
        charts.ar_paths(study, "GOOGL"),
        charts.equity_figure(short_bt, "META"),
        charts.equity_figure(flat_bt, "pooled XNYS"),
        charts.sweep_heatmap(short_bt),
        charts.category_bars(study, (7, 9)),
    ]
    for fig in figs:
        assert fig is not None
        layout = fig.layout
        assert "system-ui" in layout.template.layout.font.family
        assert layout.template.layout.plot_bgcolor == "#FFFFFF"
        assert layout.autosize is True
        assert layout.width is None
        assert 250 <= layout.height <= 900
        assert layout.title.text
        text = charts.figure_json(fig)
        assert "mapbox" not in text
        assert "$" not in text
        json.loads(text)
    assert charts.PLOTLY_CONFIG["displaylogo"] is False
    assert charts.PLOTLY_CONFIG["responsive"] is True
    assert charts.PLOTLY_CONFIG["toImageButtonOptions"]["format"] == "png"


def test_empty_results_give_figures_that_say_why(
    study: EventStudyResult, flat_bt: BacktestResult
) -> None:
    empty = dataclasses.replace(
        study,
        events=pd.DataFrame(),
        ar=pd.DataFrame(),
        windows=pd.DataFrame(),
        groups=pd.DataFrame(),
        paths=pd.DataFrame(),
    )
    assert is_message(charts.category_bars(empty))
    assert is_message(charts.caar_figure(empty, "all", "all"))
    assert is_message(charts.ar_paths(empty, "META"))
    no_trade = BacktestResult.empty(
        flat_bt.strategy, flat_bt.combos, pd.DataFrame(), {"XNYS": "SPY"}
    )
    assert is_message(charts.equity_figure(no_trade, "META"))
    assert charts.sweep_heatmap(no_trade) is None


def test_charts_do_not_import_vectorbt(repo_root: Path) -> None:
    code = "import sys, backtest.reports.charts; print('vectorbt' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo_root), *sys.path])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.strip() == "False"
