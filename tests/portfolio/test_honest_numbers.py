"""Honest strategy numbers, against arithmetic written here: trade t-statistics, seeded
bootstrap intervals, returns beyond the benchmark over the same sessions, returns while
invested, the benchmark held at the strategy's exposure, no infinities, dated drawdowns."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from backtest.markets import get_calendar
from backtest.portfolio import load_strategy, run_strategy
from backtest.portfolio.metrics import (
    METRICS,
    bootstrap_mean_interval,
    compute_metrics,
    format_metric,
    max_drawdown,
    t_statistic,
    trade_statistics,
)
from backtest.summary import Summary
from tests.portfolio.tables import event_table


def test_t_statistic_by_hand() -> None:
    # mean 0.04 / 3; deviations 1/150, -7/300, 1/60; sum of squares 0.00086667; sd =
    # sqrt(0.00043333) = 0.0208167; se = sd / sqrt(3) = 0.0120185; t = 0.0133333 / 0.0120185
    assert t_statistic(np.array([0.02, -0.01, 0.03])) == pytest.approx(1.109400, rel=1e-6)
    assert math.isnan(t_statistic(np.array([0.01])))
    assert math.isnan(t_statistic(np.array([0.01, 0.01, 0.01])))  # no spread: no t


def test_bootstrap_interval_is_the_seeded_percentile_interval() -> None:
    x = np.array([0.05, -0.02, 0.01, 0.03, -0.04, 0.02, 0.0])
    # written out: 2,000 samples of 7 positions from default_rng(0), their means, the 2.5% and
    # 97.5% quantiles
    idx = np.random.default_rng(0).integers(0, 7, size=(2000, 7))
    want = np.quantile(x[idx].mean(axis=1), [0.025, 0.975])
    assert bootstrap_mean_interval(x) == pytest.approx(tuple(want), rel=1e-15)
    lo, hi = bootstrap_mean_interval(x)
    assert lo < x.mean() < hi
    # shifting every trade by c shifts the interval by c (the same draws)
    lo2, hi2 = bootstrap_mean_interval(x + 0.1)
    assert (lo2, hi2) == pytest.approx((lo + 0.1, hi + 0.1), rel=1e-12)


def test_bootstrap_in_blocks_draws_as_in_one() -> None:
    """Large samples are drawn in blocks: the positions are the same as one draw."""
    x = np.random.default_rng(5).normal(0.001, 0.02, 3_000)  # 2,000 x 3,000 > one block
    idx = np.random.default_rng(0).integers(0, 3_000, size=(2000, 3_000))
    want = np.quantile(x[idx].mean(axis=1), [0.025, 0.975])
    assert bootstrap_mean_interval(x) == pytest.approx(tuple(want), rel=1e-14)
    # and it is close to the normal interval mean +- 1.96 se at this size
    se = x.std(ddof=1) / math.sqrt(x.size)
    lo, hi = bootstrap_mean_interval(x)
    assert lo == pytest.approx(x.mean() - 1.96 * se, abs=0.1 * se)
    assert hi == pytest.approx(x.mean() + 1.96 * se, abs=0.1 * se)


def test_trade_statistics_by_hand() -> None:
    # two longs and a short; the benchmark rose 1%, 0% and 2% over the same sessions
    s = trade_statistics(
        [0.04, -0.01, 0.03],
        bench_returns=[0.01, 0.0, 0.02],
        directions=[1, 1, -1],
        sizes=[10_000.0, 10_000.0, 5_000.0],
        sessions=[5, 10, 5],
        periods_per_year=250.0,
    )
    assert s["n_trades"] == 3
    assert s["mean_trade_return"] == pytest.approx(0.02)
    assert s["median_trade_return"] == pytest.approx(0.03)
    # beyond the same position in the benchmark: 0.04 - 0.01, -0.01 - 0, 0.03 + 0.02
    assert s["mean_excess_return"] == pytest.approx((0.03 - 0.01 + 0.05) / 3)
    # P&L 400 - 100 + 150 = 450 on 10,000 x 5 + 10,000 x 10 + 5,000 x 5 = 175,000 currency
    # sessions, times 250 sessions a year
    assert s["return_while_invested"] == pytest.approx(450 / 175_000 * 250)
    # the benchmark with the same capital over the same sessions: 100 + 0 + 100 = 200
    assert s["bench_while_invested"] == pytest.approx(200 / 175_000 * 250)
    assert s["warning"] == "too few trades to judge"
    assert s["trade_lo"] < s["mean_trade_return"] < s["trade_hi"]
    ten = trade_statistics(
        np.full(10, 0.01) + np.arange(10) * 1e-3,
        bench_returns=np.zeros(10),
        directions=np.ones(10),
        sizes=np.ones(10),
        sessions=np.ones(10),
        periods_per_year=252.0,
    )
    assert ten["warning"] == ""
    none = trade_statistics(
        [], bench_returns=[], directions=[], sizes=[], sessions=[], periods_per_year=252.0
    )
    assert none["n_trades"] == 0
    assert math.isnan(none["mean_trade_return"])
    assert math.isnan(none["trade_lo"])


def test_no_infinities_and_dated_drawdowns() -> None:
    dates = pd.to_datetime(
        ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]
    ).to_numpy()
    # under water from the high of 01-02 (-10% on 01-03) back to 100 on 01-05: 3 days; then
    # from the high of 01-05 (-1% on 01-08, over a weekend) to 101 on 01-09: 4 days, the
    # longest spell, though shallow -- which is why its depth and dates go with it
    value = np.array([100.0, 90.0, 95.0, 100.0, 99.0, 101.0])
    m = compute_metrics(value, dates, trade_returns=[0.02, 0.03], trade_pnl=[200.0, 300.0])
    assert m["profit_factor"] == "no losing trades"
    assert format_metric(next(x for x in METRICS if x.name == "profit_factor"), m["profit_factor"])
    assert m["max_drawdown"] == pytest.approx(-0.10)
    assert m["max_drawdown_duration"] == 4
    assert str(m["max_drawdown_duration_start"])[:10] == "2024-01-05"
    assert str(m["max_drawdown_duration_end"])[:10] == "2024-01-09"
    assert m["max_drawdown_duration_depth"] == pytest.approx(-0.01)
    assert m["warning"] == "too few trades to judge"
    assert m["trade_t"] == pytest.approx(0.025 / (np.std([0.02, 0.03], ddof=1) / math.sqrt(2)))
    numbers = [v for v in m.values() if isinstance(v, float)]
    assert all(not math.isinf(v) for v in numbers)
    dd = max_drawdown(value, dates)
    assert (dd.longest_start, dd.longest_end, dd.longest_depth) == (3, 5, pytest.approx(-0.01))


# ----------------------------------------------------------------------------- in a run


def one_trade_run(tmp_path: Path) -> tuple[object, pd.DataFrame]:
    """AAA bought at the open after a before-open announcement on 2024-03-05, held 3 sessions;
    SPY moves on its own. No costs, so every number is the prices' arithmetic."""
    sessions = get_calendar("XNYS").sessions
    idx = sessions[(sessions >= "2024-02-26") & (sessions <= "2024-03-15")]
    n = len(idx)
    aaa_open = 50.0 + np.arange(n)
    spy_open = 400.0 + 2.0 * np.arange(n) * (-1.0) ** np.arange(n)
    opens = pd.DataFrame({"AAA": aaa_open, "SPY": spy_open}, index=idx)
    closes = opens + pd.DataFrame({"AAA": 0.5, "SPY": 1.0}, index=idx)
    panel = SimpleNamespace(open=opens, close=closes, high=closes + 1, low=opens - 1)
    table = event_table("e1", "AAA", pd.Timestamp("2024-03-05"))
    path = tmp_path / "one.toml"
    path.write_text(
        'name = "one"\n[events]\ncategories = ["news"]\n[exit]\nhold = 3\n'
        "[costs]\nfees = 0\nslippage = 0\n",
        encoding="utf-8",
    )
    return run_strategy(load_strategy(path), table, prices=panel), closes


def test_the_benchmark_at_the_strategys_exposure_by_hand(tmp_path: Path) -> None:
    r, closes = one_trade_run(tmp_path)
    idx = closes.index
    e = idx.get_loc(pd.Timestamp("2024-03-05"))
    x = e + 3
    spy_open = closes["SPY"] - 1.0
    # 10,000 of SPY bought at the entry's open, valued at each close while held, sold at the
    # exit's open; before and after, cash
    units = 10_000 / spy_open.iloc[e]
    series = r.equity[(0, "AAA", "SPY at the strategy's exposure")]  # type: ignore[attr-defined]
    by_hand = pd.Series(100_000.0, index=idx)
    for t in range(e, x):
        by_hand.iloc[t] += units * (closes["SPY"].iloc[t] - spy_open.iloc[e])
    by_hand.iloc[x:] += units * (spy_open.iloc[x] - spy_open.iloc[e])
    np.testing.assert_allclose(series.to_numpy(), by_hand.reindex(series.index).to_numpy())
    row = r.metrics.query("kind == 'strategy' and portfolio == 'AAA'").iloc[0]  # type: ignore[attr-defined]
    assert row["matched_total_return"] == pytest.approx(
        units * (spy_open.iloc[x] - spy_open.iloc[e]) / 100_000, rel=1e-12
    )
    # the trade: +3 on an open of 50 + e; the benchmark over the same sessions
    stats = r.trade_stats.iloc[0]  # type: ignore[attr-defined]
    trade = 3.0 / (50.0 + e)
    bench = spy_open.iloc[x] / spy_open.iloc[e] - 1
    assert stats["mean_trade_return"] == pytest.approx(trade, rel=1e-12)
    assert stats["mean_excess_return"] == pytest.approx(trade - bench, rel=1e-12)
    assert stats["return_while_invested"] == pytest.approx(
        10_000 * trade / (10_000 * 3) * row["periods_per_year"], rel=1e-12
    )
    assert stats["warning"] == "too few trades to judge"


def test_the_summary_is_a_summary_without_infinities(tmp_path: Path) -> None:
    r, _ = one_trade_run(tmp_path)
    s = r.summary()  # type: ignore[attr-defined]
    assert isinstance(s, Summary)
    text = str(s)
    assert "no losing trades" in text or "Profit factor" not in text
    assert "∞" not in text
    assert "too few trades to judge" in text
    assert "<table" in s.as_html()
