"""Where strategy files are found, what a path that is not one says, and the reason an event
without prices is skipped with."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backtest import resources
from backtest.portfolio import StrategyError, default_strategy_dir, run_strategy, strategy_files
from backtest.portfolio.strategy import load_strategy
from backtest.prices import CsvDirSource
from tests.portfolio.test_capital import table


def test_a_users_strategies_folder_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "strategies").mkdir()
    monkeypatch.chdir(tmp_path)
    assert default_strategy_dir() == tmp_path / "strategies"


def test_else_the_shipped_ones_as_an_installed_wheel_holds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed package keeps them in backtest/_shipped/strategies (no checkout around)."""
    package = tmp_path / "site-packages" / "backtest"
    (package / "_shipped" / "strategies").mkdir(parents=True)
    monkeypatch.setattr(resources, "_PACKAGE", package)
    monkeypatch.chdir(tmp_path)
    assert default_strategy_dir() == package / "_shipped" / "strategies"


def test_in_a_checkout_the_root_strategies(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_strategy_dir() == repo_root / "strategies"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "s.toml"
    os.mkfifo(fifo)
    with pytest.raises(StrategyError) as err:
        strategy_files([fifo])
    assert "not a regular file" in str(err.value)
    assert "no such" not in str(err.value)


def test_no_prices_is_one_clean_reason(tmp_path: Path, shared_prices_dir: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\n[events]\ncategories = ["news"]\n', encoding="utf-8")
    r = run_strategy(
        load_strategy(path), table(["2025-03-05"], ["ZZZZ"]), source=CsvDirSource(shared_prices_dir)
    )
    (reason,) = r.skipped["reason"].tolist()
    assert reason.startswith("no prices for ZZZZ"), reason
    assert "ZZZZ: ZZZZ" not in reason
    assert not reason.startswith("no prices for ZZZZ: ZZZZ")
    assert reason == (
        "no prices for ZZZZ: no file ZZZZ.csv in "
        f"{shared_prices_dir.resolve()} (add ZZZZ.csv (columns date,open,high,low,close,"
        "volume, or a CSV saved from yfinance); 20 ticker file(s) are there)"
    )
    assert reason.count("no prices") == 1, reason
