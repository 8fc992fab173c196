"""A speed-up must not change a number: the pooled portfolios' trade statistics, taken from the
pooled run's trades computed once, equal those computed again per combination and market (the
way it was done before), to the last bit, on the shipped strategies and real prices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import backtest.portfolio.run as run_module
from backtest.catalog import load_catalog
from backtest.portfolio import load_strategy, run_strategy
from backtest.prices import CsvDirSource


@pytest.mark.parametrize(
    "name", ["buy_on_model_launches", "hedged_buy_on_layoffs", "short_after_negative_earnings"]
)
def test_trade_statistics_are_unchanged(
    name: str, repo_root: Path, shared_prices_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = load_catalog([repo_root / "events"])
    strategy = load_strategy(repo_root / "strategies" / f"{name}.toml")
    source = CsvDirSource(shared_prices_dir)
    now = run_strategy(strategy, catalog, source=source)

    def recomputed(trades: Any, run: Any, *args: Any) -> pd.DataFrame:
        return run_module.trades_of(run, *args)

    monkeypatch.setattr(run_module, "_trades_within", recomputed)
    before = run_strategy(strategy, catalog, source=source)
    assert len(now.trade_stats) == len(now.combos) * now.trade_stats["market"].nunique()
    pd.testing.assert_frame_equal(now.trade_stats, before.trade_stats, check_exact=True)
    pd.testing.assert_frame_equal(now.metrics, before.metrics, check_exact=True)
