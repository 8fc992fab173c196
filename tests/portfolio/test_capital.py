"""The capital rule ([portfolio] leverage): a portfolio never puts more into positions than
leverage times its value; an entry beyond it is skipped with the reason, in date order.

Expectations are hand-computed on flat prices without costs (every value is the capital)."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from backtest.catalog import load_catalog
from backtest.markets import get_calendar
from backtest.portfolio import (
    BacktestResult,
    StrategyError,
    load_strategy,
    run_strategy,
    strategy_files,
)
from backtest.prices import CsvDirSource
from tests.portfolio.tables import event_table

TICKERS = ["AAA", "BBB", "CCC", "DDD", "EEE"]


def table(dates: list[str], tickers: list[str]) -> pd.DataFrame:
    d = pd.to_datetime(dates)
    return event_table([f"e{i}" for i in range(len(d))], tickers, d)


def flat_panel() -> SimpleNamespace:
    sessions = get_calendar("XNYS").sessions
    idx = sessions[(sessions >= "2024-01-02") & (sessions <= "2024-06-28")]
    px = pd.DataFrame(dict.fromkeys([*TICKERS, "SPY"], 10.0), index=idx)
    return SimpleNamespace(open=px, close=px, high=px, low=px)


def strategy(
    tmp_path: Path,
    extra: str = "",
    direction: str = "long",
    *,
    size: str = "30000",
    init_cash: str = "100000",
) -> object:
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "cap"\n[events]\ncategories = ["news"]\n[exit]\nhold = 5\n'
        f'[position]\ndirection = "{direction}"\nsize = {size}\n'
        "[costs]\nfees = 0\nslippage = 0\n"
        f"[portfolio]\ninit_cash = {init_cash}\n{extra}",
        encoding="utf-8",
    )
    return load_strategy(path)


@pytest.mark.parametrize("direction", ["long", "short"])
def test_the_pooled_portfolio_enters_only_what_its_capital_holds(
    tmp_path: Path, direction: str
) -> None:
    """Five trades of 30,000 on one session with 100,000: three fit (90,000), the fourth and
    fifth are skipped (gross exposure: shorts count as longs); each ticker's own portfolio
    holds its one trade; a trade after the first three exited fits again."""
    events = table(["2024-03-05"] * 5 + ["2024-03-20"], [*TICKERS, "DDD"])
    r = run_strategy(strategy(tmp_path, direction=direction), events, prices=flat_panel())
    pooled = r.pooled_trades
    assert pooled["event_id"].tolist() == ["e0", "e1", "e2", "e5"]
    assert (pooled["status"] == "closed").all()
    assert np.allclose(pooled["shares"], 3000.0)
    assert sorted(r.trades["event_id"]) == ["e0", "e1", "e2", "e3", "e4", "e5"]
    why = (
        "capital (pooled XNYS): 90,000 of 100,000 already in positions (leverage 1 x value "
        "100,000); this trade needs 30,000"
    )
    assert r.skipped[["event_id", "ticker", "reason"]].values.tolist() == [
        ["e3", "DDD", why],
        ["e4", "EEE", why],
    ]
    strat = r.metrics[(r.metrics["kind"] == "strategy")].set_index("portfolio")
    assert strat.loc["pooled XNYS", "n_trades"] == 4
    assert strat.loc["pooled XNYS", "total_return"] == pytest.approx(0.0, abs=1e-12)


def test_a_tiny_capital_reads_in_cents_in_the_reason_and_the_summary(tmp_path: Path) -> None:
    """Five trades of 0.30 on one session with a capital of 1: three fit, the reason of the two
    skipped says the amounts in cents (whole units read "this trade needs 0"), and so does the
    strategy's description."""
    events = table(["2024-03-05"] * 5, TICKERS)
    strat = strategy(tmp_path, size="0.3", init_cash="1")
    r = run_strategy(strat, events, prices=flat_panel())
    why = (
        "capital (pooled XNYS): 0.90 of 1.00 already in positions (leverage 1 x value 1.00); "
        "this trade needs 0.30"
    )
    assert r.skipped[["event_id", "reason"]].values.tolist() == [["e3", why], ["e4", why]]
    assert "; capital 1.00 per portfolio," in str(r)


def test_leverage_two_holds_twice_the_value(tmp_path: Path) -> None:
    events = table(["2024-03-05"] * 5, TICKERS)
    r = run_strategy(strategy(tmp_path, "leverage = 2\n", "short"), events, prices=flat_panel())
    assert len(r.pooled_trades) == 5  # 150,000 <= 200,000
    assert r.skipped.empty


def test_a_size_beyond_leverage_times_capital_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StrategyError, match=r"more than portfolio\.leverage x init_cash"):
        strategy(tmp_path, "leverage = 0.2\n")


def test_the_shipped_strategies_never_reach_the_cap(
    repo_root: Path, shared_prices_dir: Path
) -> None:
    """Their hand-computed trades stay what they were: no entry is skipped for capital."""
    catalog = load_catalog([repo_root / "events"])
    source = CsvDirSource(shared_prices_dir)
    ran = 0
    for path in strategy_files([repo_root / "strategies"]):
        s = load_strategy(path)
        try:
            r = run_strategy(s, catalog, source=source)
        except StrategyError:  # post_earnings_drift: the shipped catalog has no surprises
            continue
        ran += 1
        reasons = r.skipped["reason"].astype(str) if len(r.skipped) else pd.Series([], dtype=str)
        assert not reasons.str.startswith("capital").any(), (path.name, reasons.tolist())
    assert ran == 4


def test_a_short_that_loses_more_than_the_capital_is_ruined_on_its_date(tmp_path: Path) -> None:
    """Three shorts of 30,000 at 10; the price quadruples on 2024-03-07: each loses 90,000,
    the pool 270,000 of its 100,000 -- shown as ruined on that date, not as -270%."""
    panel = flat_panel()
    px = panel.close.copy()
    px.loc["2024-03-07":, TICKERS] = 40.0
    panel = SimpleNamespace(open=px, close=px, high=px, low=px)
    events = table(["2024-03-05"] * 3, TICKERS[:3])
    r = run_strategy(strategy(tmp_path, direction="short"), events, prices=panel)
    assert r.ruined()[(0, "pooled XNYS")] == "2024-03-07"
    ov = r.pooled_overview()
    assert ov["ruined_on"].tolist() == ["2024-03-07"]
    text = str(r.summary())
    assert "ruined on 2024-03-07" in text
    assert "-170.00%" not in text


def test_every_pooled_market_has_its_own_lane(tmp_path: Path) -> None:
    """Events in New York and Hong Kong: two pooled portfolios, each with its own counts."""
    us = get_calendar("XNYS").sessions
    hk = get_calendar("XHKG").sessions
    idx = us[(us >= "2024-01-02") & (us <= "2024-06-28")].union(
        hk[(hk >= "2024-01-02") & (hk <= "2024-06-28")]
    )
    px = pd.DataFrame(dict.fromkeys(["AAA", "BBB", "0700.HK", "SPY", "^HSI"], 10.0), index=idx)
    panel = SimpleNamespace(open=px, close=px, high=px, low=px)
    events = table(["2024-03-05", "2024-03-12", "2024-03-05"], ["AAA", "BBB", "0700.HK"])
    events.loc[2, "market"] = "XHKG"
    r = run_strategy(strategy(tmp_path), events, prices=panel)
    assert r.pooled_portfolios() == ["pooled XHKG", "pooled XNYS"]
    ov = r.pooled_overview().set_index("portfolio")
    assert ov.loc["pooled XNYS", "trades"] == 2
    assert ov.loc["pooled XNYS", "legs"] == 2
    assert ov.loc["pooled XHKG", "trades"] == 1
    assert ov.loc["pooled XHKG", "legs"] == 1
    text = str(r.summary())
    assert "pooled XHKG" in text
    assert "pooled XNYS" in text


def test_pooled_trade_statistics_count_only_the_trades_the_pool_made(tmp_path: Path) -> None:
    """Five longs of 30,000 on 2024-03-05 with 100,000: the pool enters e0 to e2, its capital
    skips e3 and e4 (which the per-ticker portfolios trade), and it enters e5 on 2024-03-20.
    Each ticker is at 10 but on 2024-03-12 to 03-15, when it is 10 x (1 + g); SPY is 400, then
    404 from 2024-03-12. A trade entering at the open of 03-05 exits at the open of 03-12 (5
    sessions) with g, SPY over the same sessions +1%; e5 (03-20 to 03-27) with 0 and SPY 0.
    The pooled statistics are those of e0, e1, e2, e5: returns 0.10, -0.05, 0.20, 0 (not of
    all six, whose mean is 0.025)."""
    g = {"AAA": 0.10, "BBB": -0.05, "CCC": 0.20, "DDD": 0.30, "EEE": -0.40}
    panel = flat_panel()
    px = panel.close.copy()
    for ticker, move in g.items():
        px.loc["2024-03-12":"2024-03-15", ticker] = 10.0 * (1.0 + move)
    px["SPY"] = 400.0
    px.loc["2024-03-12":, "SPY"] = 404.0
    panel = SimpleNamespace(open=px, close=px, high=px, low=px)
    events = table(["2024-03-05"] * 5 + ["2024-03-20"], [*TICKERS, "DDD"])
    r = run_strategy(strategy(tmp_path), events, prices=panel)
    assert sorted(r.skipped["event_id"]) == ["e3", "e4"]  # the capital's, as above
    assert sorted(r.trades.loc[r.trades["status"] == "closed", "event_id"]) == [
        "e0", "e1", "e2", "e3", "e4", "e5",
    ]  # fmt: skip
    stats = r.trade_stats.set_index("portfolio").loc["pooled XNYS"]
    row = r.metrics.query("kind == 'strategy' and portfolio == 'pooled XNYS'").iloc[0]
    returns = np.array([0.10, -0.05, 0.20, 0.0])
    assert stats["n_trades"] == 4 == row["n_trades"]
    assert stats["mean_trade_return"] == pytest.approx(0.0625, rel=1e-12)
    assert stats["median_trade_return"] == pytest.approx(0.05, rel=1e-12)
    # t = mean / (sd / sqrt(n)): deviations 0.0375, -0.1125, 0.1375, -0.0625
    sd = math.sqrt((0.0375**2 + 0.1125**2 + 0.1375**2 + 0.0625**2) / 3)
    assert stats["trade_t"] == pytest.approx(0.0625 / (sd / 2), rel=1e-9)
    # the seeded bootstrap written out: 2,000 samples of 4 positions from default_rng(0)
    draws = np.random.default_rng(0).integers(0, 4, size=(2000, 4))
    lo, hi = np.quantile(returns[draws].mean(axis=1), [0.025, 0.975])
    assert (stats["trade_lo"], stats["trade_hi"]) == pytest.approx((lo, hi), rel=1e-12)
    # beyond the benchmark: 0.09, -0.06, 0.19, 0
    assert stats["mean_excess_return"] == pytest.approx(0.22 / 4, rel=1e-12)
    # P&L 3,000 - 1,500 + 6,000 + 0 = 7,500 on 4 x 30,000 x 5 = 600,000 capital-sessions
    ppy = row["periods_per_year"]
    assert stats["return_while_invested"] == pytest.approx(7_500 / 600_000 * ppy, rel=1e-12)
    assert stats["bench_while_invested"] == pytest.approx(900 / 600_000 * ppy, rel=1e-12)
    assert stats["exposure"] == row["exposure"]
    assert row["avg_trade_return"] == pytest.approx(returns.mean(), rel=1e-12)


def test_repr_is_one_line_with_the_counts(tmp_path: Path) -> None:
    """The capital case above: six trades per ticker, four pooled, two skipped."""
    events = table(["2024-03-05"] * 5 + ["2024-03-20"], [*TICKERS, "DDD"])
    r = run_strategy(strategy(tmp_path), events, prices=flat_panel())
    assert repr(r) == (
        "<BacktestResult 'cap': 1 combination; 6 trades per ticker, 4 pooled; 2 skipped; "
        "benchmark XNYS SPY>"
    )
    swept = strategy(tmp_path, size="[30000, 10000]")
    r = run_strategy(swept, events, prices=flat_panel())
    # at 10,000 a trade every one fits: 6 + 6 per ticker, 4 + 6 pooled
    assert repr(r) == (
        "<BacktestResult 'cap': 2 combinations; 12 trades per ticker, 10 pooled; 2 skipped; "
        "benchmark XNYS SPY>"
    )
    none = BacktestResult.empty(r.strategy, r.combos, r.skipped.iloc[:0], r.benchmarks)
    assert repr(none) == (
        "<BacktestResult 'cap': 2 combinations; no trade; 0 skipped; benchmark XNYS SPY>"
    )
