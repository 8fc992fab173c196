"""An event whose ticker, or whose market's benchmark, has no prices is a recorded skip of that
event, with the price source's reason; the rest of the strategy runs as if it were not in the
catalog (another market's events once made the whole strategy fail: "no prices for benchmark
^HSI" when the prices folder had only US tickers)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.catalog import Catalog, load_catalog
from backtest.cli import cli
from backtest.markets import get_calendar
from backtest.portfolio import BacktestResult, load_strategy, run_strategy
from backtest.prices import CsvDirSource, FetchFailure
from tests.portfolio.tables import event_table

HSI_MISSING = FetchFailure("^HSI", None, None, "unknown_ticker", "no file _HSI.csv in /x")
NO_HSI = "no prices for benchmark ^HSI (market XHKG): no file _HSI.csv in /x"


def panel(tickers: list[str], failed: dict[str, FetchFailure]) -> SimpleNamespace:
    """Random-walk prices of ``tickers`` on the New York and Hong Kong sessions of 2024 H1
    (opens 0.5% off the closes), and ``failed`` as the price source's reasons."""
    us = get_calendar("XNYS").sessions
    hk = get_calendar("XHKG").sessions
    idx = us[(us >= "2024-01-02") & (us <= "2024-06-28")].union(
        hk[(hk >= "2024-01-02") & (hk <= "2024-06-28")]
    )
    rng = np.random.default_rng(7)
    steps = rng.normal(0.0, 0.02, size=(len(idx), len(tickers)))
    close = pd.DataFrame(50.0 * np.exp(np.cumsum(steps, axis=0)), index=idx, columns=tickers)
    open_ = close * 1.005
    return SimpleNamespace(
        open=open_,
        close=close,
        high=np.maximum(open_, close) * 1.01,
        low=np.minimum(open_, close) * 0.99,
        failed=failed,
    )


def strategy(tmp_path: Path, extra: str = "") -> Any:
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "two_markets"\n[events]\ncategories = ["news"]\n[entry]\nfill = "next_open"\n'
        "[exit]\nhold = [3, 5]\n[position]\nsize = 10000\n"
        "[costs]\nfees = 0.001\nslippage = 0.0005\n"
        f"[portfolio]\ninit_cash = 100000\n{extra}",
        encoding="utf-8",
    )
    return load_strategy(path)


def events(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """An event table of (id, ticker, day 0) rows, each in its ticker's market."""
    ids, tickers, days = zip(*rows, strict=True)
    table = event_table(list(ids), list(tickers), pd.to_datetime(list(days)))
    table["market"] = ["XHKG" if t.endswith(".HK") else "XNYS" for t in tickers]
    return table


US = [("e0", "AAA", "2024-03-05"), ("e1", "BBB", "2024-03-12"), ("e2", "AAA", "2024-04-09")]
HK = [("h0", "0700.HK", "2024-03-05"), ("h1", "9988.HK", "2024-03-13")]


def assert_same_results(a: BacktestResult, b: BacktestResult) -> None:
    """Every number of two results: metrics, trades, trade statistics and equity curves."""
    for name in ("metrics", "trades", "pooled_trades", "trade_stats"):
        pd.testing.assert_frame_equal(
            getattr(a, name).reset_index(drop=True), getattr(b, name).reset_index(drop=True)
        )
    pd.testing.assert_frame_equal(a.equity, b.equity)
    assert a.data == b.data


def test_a_market_without_its_benchmark_is_skipped_and_the_other_market_trades(
    tmp_path: Path,
) -> None:
    """^HSI has no prices: the Hong Kong events are skipped with the source's reason (an HK
    ticker without prices too: both reasons); a US ticker without prices is skipped with its
    own; the US events trade exactly as in a run without the others."""
    prices = panel(["AAA", "BBB", "0700.HK", "SPY"], {"^HSI": HSI_MISSING})
    s = strategy(tmp_path)
    every = events([*US, *HK, ("e3", "CCC", "2024-03-06")])
    r = run_strategy(s, every, prices=prices)
    us_only = run_strategy(s, events(US), prices=prices)

    assert len(r.trades) == 2 * 3  # two combinations of three US trades
    assert_same_results(r, us_only)
    assert r.pooled_portfolios() == ["pooled XNYS"]
    assert set(r.metrics["market"]) == {"XNYS"}
    assert r.skipped[["event_id", "ticker", "reason"]].values.tolist() == [
        ["h0", "0700.HK", NO_HSI],
        ["h1", "9988.HK", f"no prices for 9988.HK; {NO_HSI}"],
        ["e3", "CCC", "no prices for CCC"],
    ]
    text = str(r.summary())
    assert f"h0 0700.HK: {NO_HSI}" in text
    assert "e3 CCC: no prices for CCC" in text
    assert r.to_dict()["skipped"][0]["reason"] == NO_HSI


def test_a_strategys_own_benchmark_without_prices_skips_its_market_only(tmp_path: Path) -> None:
    """``[portfolio] benchmark = "QQQ"`` (for New York) without prices: the US events are
    skipped with the reason; Hong Kong's, against ^HSI, trade as they do alone (the default
    benchmarks: a New York benchmark does not fit Hong Kong events alone)."""
    failed = {"QQQ": FetchFailure("QQQ", None, None, "unknown_ticker", "no file QQQ.csv in /x")}
    prices = panel(["AAA", "BBB", "0700.HK", "9988.HK", "SPY", "^HSI"], failed)
    r = run_strategy(strategy(tmp_path, 'benchmark = "QQQ"\n'), events([*US, *HK]), prices=prices)
    hk_only = run_strategy(strategy(tmp_path), events(HK), prices=prices)
    assert len(r.trades) == 2 * 2
    assert_same_results(r, hk_only)
    assert r.pooled_portfolios() == ["pooled XHKG"]
    why = "no prices for benchmark QQQ (market XNYS): no file QQQ.csv in /x"
    assert r.skipped[["event_id", "reason"]].drop_duplicates().values.tolist() == [
        ["e0", why],
        ["e1", why],
        ["e2", why],
    ]


def test_nothing_left_to_trade_says_so_with_the_reasons(tmp_path: Path) -> None:
    """Only Hong Kong events and no ^HSI: no trade, and every event's reason in the summary."""
    prices = panel(["AAA", "0700.HK", "9988.HK", "SPY"], {"^HSI": HSI_MISSING})
    r = run_strategy(strategy(tmp_path), events(HK), prices=prices)
    assert r.metrics.empty
    assert r.trades.empty
    assert r.skipped["reason"].tolist() == [NO_HSI, NO_HSI]
    text = str(r.summary())
    assert "No trade: every event was skipped." in text
    assert f"h1 9988.HK: {NO_HSI}" in text


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def catalog(repo_root: Path) -> Catalog:
    return load_catalog([repo_root / "events"])


def us_catalog(catalog: Catalog) -> Catalog:
    """The shipped catalog without its events on a Hong Kong ticker."""
    table = catalog.to_frame()
    hk = set(table.loc[table["market"] == "XHKG", "event_id"])
    assert hk  # the shipped catalog has Hong Kong events
    return catalog.filter(ids=sorted(set(table["event_id"]) - hk))


def test_the_sp500_folder_trades_the_us_events_of_the_shipped_catalog(
    catalog: Catalog, repo_root: Path, sp500_dir: Path
) -> None:
    """The S&P 500 folder has no Hong Kong prices, ^HSI included: the shipped launches
    strategy once failed whole; now its HK launches are skipped with the folder's reasons and
    its US trades are those of a run on the catalog without them."""
    folder = sp500_dir / "prices"
    s = load_strategy(repo_root / "strategies" / "buy_on_model_launches.toml")
    r = run_strategy(s, catalog, source=CsvDirSource(folder))
    us = run_strategy(s, us_catalog(catalog), source=CsvDirSource(folder))
    assert len(r.trades) > 0
    assert_same_results(r, us)
    hk = r.skipped[r.skipped["ticker"].str.endswith(".HK")]
    assert sorted(hk["ticker"]) == ["0700.HK", "1024.HK", "9988.HK"]
    for ticker, reason in zip(hk["ticker"], hk["reason"], strict=True):
        assert reason.startswith(f"no prices for {ticker}: no file {ticker}.csv in "), reason
        assert (
            f"; no prices for benchmark ^HSI (market XHKG): no file _HSI.csv in {folder.resolve()}"
        ) in reason


def test_evbt_backtest_lists_the_skips_and_exits_cleanly(
    tmp_path: Path, repo_root: Path, sp500_dir: Path
) -> None:
    """``evbt backtest`` on the S&P 500 folder: exit 0, the HK launches listed with their
    reasons in the table and in JSON."""
    args = [
        "backtest", str(repo_root / "strategies" / "buy_on_model_launches.toml"),
        "--catalog", str(repo_root / "events"), "--prices-dir", str(sp500_dir / "prices"), "-q",
    ]  # fmt: skip
    runner = CliRunner()
    r = runner.invoke(cli, args, catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    assert "no prices for benchmark ^HSI" not in r.stderr
    line = next(x for x in r.stdout.splitlines() if "tencent-hunyuan-video 0700.HK:" in x)
    assert "no prices for benchmark ^HSI (market XHKG): no file _HSI.csv in" in line
    assert "pooled XNYS" in r.stdout
    r = runner.invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    (doc,) = json.loads(r.stdout)
    reasons = {row["ticker"]: row["reason"] for row in doc["skipped"]}
    assert "(market XHKG)" in reasons["9988.HK"]
    assert doc["trades"]
    # CSV: the US rows only, and a note on standard error naming the market left out and why
    csv = tmp_path / "m.csv"
    r = runner.invoke(cli, [*args, "--format", "csv", "--out", str(csv)], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    assert set(pd.read_csv(csv)["market"]) == {"XNYS"}
    note, *lines = r.stderr.splitlines()
    assert note == (
        "evbt: note: buy_on_model_launches made no trade on XHKG, so it has no XHKG row in the "
        "CSV; every event there was skipped (3 event-ticker reasons):"
    )
    assert [line.split()[1] for line in lines] == [
        "alibaba-qwen-open-source", "kuaishou-kling", "tencent-hunyuan-video",
    ]  # fmt: skip
    assert all("no prices for benchmark ^HSI (market XHKG)" in line for line in lines)


def test_evbt_run_reports_the_skips_not_a_failed_strategy(
    tmp_path: Path, repo_root: Path, sp500_dir: Path
) -> None:
    """``evbt run`` on the S&P 500 folder: the launches strategy is no failed part of the
    report; its page lists the HK launches skipped for want of ^HSI."""
    (tmp_path / "run.toml").write_text(
        f"""name = "us-folder"
[catalog]
paths = ["{repo_root / "events"}"]
categories = ["model_launch"]
[strategies]
paths = ["{repo_root / "strategies" / "buy_on_model_launches.toml"}"]
""",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    r = CliRunner().invoke(
        cli,
        ["run", "--config", str(tmp_path / "run.toml"), "--prices-dir", str(sp500_dir / "prices"),
         "--out", str(out), "--quiet"],
        catch_exceptions=False,
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["failures"] == []
    assert [s["name"] for s in record["strategies"]] == ["buy_on_model_launches"]
    page = (out / "strategies" / "buy_on_model_launches.html").read_text(encoding="utf-8")
    assert "no prices for benchmark ^HSI (market XHKG): no file _HSI.csv in" in page
    assert "tencent-hunyuan-video" in page
