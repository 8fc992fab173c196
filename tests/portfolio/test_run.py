"""Strategies on the real catalog and prices: a sweep equals separate runs, trades match the
price files by hand, the engine-conditioned short enters on day +1, and ``evbt backtest``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.catalog import Catalog, load_catalog
from backtest.cli import cli
from backtest.portfolio import BacktestResult, load_strategy, run_strategy
from backtest.prices import CsvDirSource

SWEEP = """\
name = "sweep"
[events]
categories = ["layoff"]
[entry]
lag = {lag}
[exit]
hold = {hold}
[position]
size = {size}
[portfolio]
{period}
"""
# one evaluation period for every run: by default it ends with the longest trade of the grid
PERIOD = "start = 2022-06-01\nend = 2026-03-31"


@pytest.fixture(scope="module")
def catalog(repo_root: Path) -> Catalog:
    return load_catalog([repo_root / "events"])


def csv(prices_dir: Path, ticker: str) -> pd.DataFrame:
    return pd.read_csv(prices_dir / f"{ticker}.csv", index_col="date", parse_dates=True)


def backtest(
    tmp_path: Path, name: str, catalog: Catalog, prices: Path, **kw: object
) -> BacktestResult:
    path = tmp_path / f"{name}.toml"
    path.write_text(SWEEP.format(**kw), encoding="utf-8")
    return run_strategy(load_strategy(path), catalog, source=CsvDirSource(prices))


KEY = ["portfolio", "kind", "subject"]
NUMERIC = ["total_return", "sharpe", "max_drawdown", "n_trades", "exposure", "alpha", "beta"]


@pytest.mark.slow
def test_a_sweep_equals_separate_runs(
    tmp_path: Path, catalog: Catalog, shared_prices_dir: Path
) -> None:
    swept = backtest(
        tmp_path, "grid", catalog, shared_prices_dir, lag="[0, 2]", hold="[1, 5]", size=10000,
        period=PERIOD,
    )  # fmt: skip
    assert len(swept.combos) == 4
    for combo in swept.combos.to_dict("records"):
        lag, hold = int(combo["entry.lag"]), int(combo["exit.hold"])
        single = backtest(
            tmp_path, f"one_{lag}_{hold}", catalog, shared_prices_dir, lag=lag, hold=hold,
            size=10000, period=PERIOD,
        )  # fmt: skip
        assert len(single.combos) == 1
        a = swept.metrics[swept.metrics["combo"] == combo["combo"]].set_index(KEY)[NUMERIC]
        b = single.metrics.set_index(KEY)[NUMERIC].loc[a.index]
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
        cols = ["event_id", "ticker", "entry_date", "exit_date", "entry_price", "exit_price", "pnl"]
        ta = swept.trades[swept.trades["combo"] == combo["combo"]][cols].reset_index(drop=True)
        tb = single.trades[cols].reset_index(drop=True)
        pd.testing.assert_frame_equal(ta, tb, check_exact=False, rtol=1e-12)
        # equity curves, session by session
        for (c, portfolio, series), values in swept.equity.items():
            if c == combo["combo"]:
                np.testing.assert_allclose(values, single.equity[(0, portfolio, series)])


def test_a_fixed_period_skips_trades_outside_it(
    tmp_path: Path, catalog: Catalog, shared_prices_dir: Path
) -> None:
    period = "start = 2023-01-01\nend = 2025-10-24"
    r = backtest(tmp_path, "p", catalog, shared_prices_dir, lag=0, hold=1, size=1, period=period)
    assert r.data["first"] == "2023-01-03"  # the first NYSE session of 2023
    assert r.data["last"] == "2025-10-24"
    assert set(r.trades["event_id"]) == {"meta-2023-03-layoffs", "meta-2025-10-ai-layoffs"}
    reasons = r.skipped.set_index("event_id")["reason"]
    assert reasons["meta-2022-11-layoffs"] == (
        "trade 2022-11-09 to 2022-11-10 is outside the portfolio period 2023-01-01 to 2025-10-24"
    )
    assert "outside the portfolio period" in reasons["amzn-2025-10-layoffs-report"]
    # the announcement of the next morning enters on the same open as the press report
    assert reasons["amzn-2025-10-layoffs"] == (
        "AMZN already enters on 2025-10-28 for amzn-2025-10-layoffs-report (one position per "
        "ticker and entry session; set position.stack = true to trade both)"
    )


def test_layoff_trades_match_the_price_files(catalog: Catalog, shared_prices_dir: Path) -> None:
    strategy = load_strategy(Path(__file__).parents[2] / "strategies" / "buy_on_layoffs.toml")
    result = run_strategy(strategy, catalog, source=CsvDirSource(shared_prices_dir))
    meta = csv(shared_prices_dir, "META")
    t = result.trades.set_index(["combo", "event_id"])
    # Meta announced 11,000 layoffs before the open of 2022-11-09: bought at that open
    # (plus 5 bps slippage), sold at the next session's open (minus 5 bps), 5 bps fees per side.
    row = t.loc[(0, "meta-2022-11-layoffs")]
    buy = meta.loc["2022-11-09", "open"] * 1.0005
    sell = meta.loc["2022-11-10", "open"] * 0.9995
    shares = 10_000 / meta.loc["2022-11-09", "open"]  # sized at the unslipped price
    assert row["entry_date"] == pd.Timestamp("2022-11-09")
    assert row["exit_date"] == pd.Timestamp("2022-11-10")
    assert row["entry_price"] == pytest.approx(buy, rel=1e-12)
    assert row["exit_price"] == pytest.approx(sell, rel=1e-12)
    assert row["shares"] == pytest.approx(shares, rel=1e-12)
    fees = 0.0005 * shares * (buy + sell)
    assert row["pnl"] == pytest.approx(shares * (sell - buy) - fees, abs=0.01)
    # hold = 60 sessions: the exit is the 60th session after the entry on the NYSE calendar
    sixty = t.loc[(3, "meta-2022-11-layoffs")]
    assert sixty["exit_date"] == meta.index[meta.index.get_loc("2022-11-09") + 60]
    # per ticker, pooled, and buy-and-hold of the ticker and of SPY for every combination
    m = result.metrics
    assert set(m["portfolio"]) == {"AMZN", "META", "pooled XNYS"}
    assert set(m.loc[m["portfolio"] == "META", "subject"]) == {"META", "SPY"}
    assert len(m) == 4 * 3 * 3
    spy = csv(shared_prices_dir, "SPY")["close"]
    bh = m[(m["subject"] == "SPY") & (m["combo"] == 0)].iloc[0]
    first, last = pd.Timestamp(result.data["first"]), pd.Timestamp(result.data["last"])
    assert bh["total_return"] == pytest.approx(spy[last] / spy[first] - 1, rel=1e-9)


def test_short_after_negative_earnings_enters_on_day_plus_one(
    catalog: Catalog, shared_prices_dir: Path, repo_root: Path
) -> None:
    strategy = load_strategy(repo_root / "strategies" / "short_after_negative_earnings.toml")
    result = run_strategy(strategy, catalog, source=CsvDirSource(shared_prices_dir))
    t = result.trades
    # Meta's Q4 2021 results (2022-02-02 after the close): day 0 is 2022-02-03, AR about -24%;
    # the short opens at the open of day +1, 2022-02-04, at the open less 5 bps slippage.
    meta = t[t["event_id"] == "meta-2021q4-results"]
    assert len(meta) == 4  # every combination: -24% is below both thresholds
    assert (meta["direction"] == -1).all()
    assert (meta["entry_date"] == pd.Timestamp("2022-02-04")).all()
    prices = csv(shared_prices_dir, "META")
    assert meta["entry_price"].iloc[0] == pytest.approx(
        prices.loc["2022-02-04", "open"] * 0.9995, rel=1e-12
    )
    # positive reactions are skipped with the measured AR as the reason
    sk = result.skipped
    q1 = sk[sk["event_id"] == "meta-2022q1-results"]
    assert q1["reason"].str.contains(r"condition not met: AR\(\+0\) = \+1\d\.\d\d%").all()


def run_cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def test_cli_prints_per_ticker_and_pooled_results(repo_root: Path, shared_prices_dir: Path) -> None:
    code, out, err = run_cli(
        "backtest", str(repo_root / "strategies" / "buy_on_layoffs.toml"),
        "--catalog", str(repo_root / "events"), "--prices-dir", str(shared_prices_dir),
    )  # fmt: skip
    assert code == 0, err
    assert "Strategy buy_on_layoffs" in out
    assert "fees 5 bps, slippage 5 bps per side" in out
    assert "Sweep over hold (pooled portfolios, each with its own capital):" in out
    for label in ("hold=1", "hold=5", "hold=20", "hold=60"):
        assert f"Results ({label}):" in out
    lines = out.splitlines()
    assert any(line.split()[:2] == ["META", "strategy"] for line in lines)
    assert any(line.split()[:2] == ["AMZN", "strategy"] for line in lines)
    assert any(line.split()[:3] == ["pooled", "XNYS", "strategy"] for line in lines)
    assert any("buy & hold SPY" in line for line in lines)


def test_cli_json_and_csv(tmp_path: Path, repo_root: Path, shared_prices_dir: Path) -> None:
    base = ["--catalog", str(repo_root / "events"), "--prices-dir", str(shared_prices_dir)]
    strategy = str(repo_root / "strategies" / "hedged_buy_on_layoffs.toml")
    code, out, err = run_cli("backtest", strategy, *base, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert [d["strategy"]["name"] for d in doc] == ["hedged_buy_on_layoffs"]
    legs = {t["leg"] for t in doc[0]["trades"]}
    assert legs == {"position", "hedge"}
    assert all(t["entry_date"] <= t["exit_date"] for t in doc[0]["trades"])
    code, _, err = run_cli(
        "backtest", strategy, *base, "--format", "csv", "--out", str(tmp_path / "m.csv")
    )
    assert code == 0, err
    table = pd.read_csv(tmp_path / "m.csv")
    assert {"strategy", "portfolio", "kind", "sharpe", "total_return"} <= set(table.columns)
    assert set(table["strategy"]) == {"hedged_buy_on_layoffs"}


def test_cli_bad_file_is_reported_and_the_others_run(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        textwrap.dedent("""\
        name = "bad"
        [events]
        categories = ["layoff"]
        [exit]
        hold = 0
        """),
        encoding="utf-8",
    )
    code, out, err = run_cli(
        "backtest", str(bad), str(repo_root / "strategies" / "buy_on_layoffs.toml"),
        "--catalog", str(repo_root / "events"), "--prices-dir", str(shared_prices_dir),
    )  # fmt: skip
    assert code == 1
    assert "bad.toml" in err
    assert "exit.hold" in err
    assert "Traceback" not in err + out
    assert "Strategy buy_on_layoffs" in out


def test_an_event_with_a_leg_that_cannot_fill_is_skipped_whole(
    tmp_path: Path, catalog: Catalog, shared_prices_dir: Path
) -> None:
    """Opens blanked out of the price files: the event goes, both its legs (a hedge never
    trades alone), with the first missing fill of its first leg as the reason."""
    from types import SimpleNamespace

    from backtest.prices import load_prices

    path = tmp_path / "hedged.toml"
    text = SWEEP.format(lag=0, hold=1, size=10000, period=PERIOD)
    path.write_text(text.replace("[position]\n", "[position]\nhedge = true\n"), encoding="utf-8")
    strategy = load_strategy(path)
    full = load_prices(["META", "AMZN", "SPY"], prices_dir=str(shared_prices_dir))
    open_ = full.open.copy()
    # meta-2022-11-layoffs (before the open of 2022-11-09): in 11-09, out 11-10
    open_.loc["2022-11-10", "META"] = np.nan
    # meta-2023-03-layoffs (before the open of 2023-03-14): both fills of the position gone
    open_.loc[["2023-03-14", "2023-03-15"], "META"] = np.nan
    # amzn-2025-10-layoffs-report (during the session of 2025-10-27): the hedge cannot enter at
    # the open of 2025-10-28 (the announcement of that morning would enter on the same open:
    # one position per ticker and session, so it is skipped for the report)
    open_.loc["2025-10-28", "SPY"] = np.nan
    panel = SimpleNamespace(open=open_, close=full.close, high=full.high, low=full.low)
    r = run_strategy(strategy, catalog, prices=panel)
    reasons = r.skipped.set_index("event_id")["reason"]
    assert reasons["meta-2022-11-layoffs"] == "no open price for META on 2022-11-10 (exit)"
    assert reasons["meta-2023-03-layoffs"] == "no open price for META on 2023-03-14 (entry)"
    assert reasons["amzn-2025-10-layoffs-report"] == "no open price for SPY on 2025-10-28 (entry)"
    assert reasons["amzn-2025-10-layoffs"].startswith("AMZN already enters on 2025-10-28 for")
    gone = {
        "meta-2022-11-layoffs",
        "meta-2023-03-layoffs",
        "amzn-2025-10-layoffs",
        "amzn-2025-10-layoffs-report",
    }
    assert not gone & set(r.trades["event_id"])
    assert "meta-2025-10-ai-layoffs" in set(r.trades["event_id"])  # the others still trade
    assert set(r.trades["leg"]) == {"position", "hedge"}


def test_a_strategy_with_no_trade_says_no_session_was_simulated(
    tmp_path: Path, catalog: Catalog, shared_prices_dir: Path
) -> None:
    """A lag of 999 sessions runs past the prices (they end in 2026) for every layoff: the
    summary once read "sessions None to None"."""
    r = backtest(tmp_path, "late", catalog, shared_prices_dir, lag=999, hold=1, size=10000,
                 period="")  # fmt: skip
    assert r.metrics.empty
    assert len(r.skipped) == 5
    text = str(r.summary())
    assert "benchmarks: XNYS SPY; no session simulated" in text
    assert "None" not in text
