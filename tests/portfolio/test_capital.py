"""The capital rule ([portfolio] leverage): a portfolio never puts more into positions than
leverage times its value; an entry beyond it is skipped with the reason, in date order.

Expectations are hand-computed on flat prices without costs (every value is the capital)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from backtest.catalog import load_catalog
from backtest.markets import get_calendar
from backtest.portfolio import StrategyError, load_strategy, run_strategy, strategy_files
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
