"""`evbt run` end to end: the real catalog and prices into a temporary folder, the files and
their key numbers, the page in a real browser, and the failures a user can meet."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.cli import cli, main
from tests.browser import inspect_page, require_chromium
from tests.prices.prices_fakes import FakeYahooDownload


def run(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
    return r.exit_code, r.stdout, r.stderr


def run_main(
    capsys: pytest.CaptureFixture[str], *args: str, cwd: Path | None = None
) -> tuple[int, str, str]:
    """The console script itself (evbt's errors become messages and exit codes)."""
    if cwd is not None:
        os.chdir(cwd)  # the monkeypatch fixture of the caller restores it
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


@pytest.fixture(scope="module")
def real_report(
    tmp_path_factory: pytest.TempPathFactory, repo_root: Path, shared_prices_dir: Path
) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("run") / "report"
    code, stdout, stderr = run(
        "run", "--prices-dir", str(shared_prices_dir), "--out", str(out), "--quiet", cwd=repo_root
    )
    assert code == 0, stderr
    assert stderr == ""
    return out, stdout


@pytest.mark.slow
def test_the_main_job_writes_the_report(real_report: tuple[Path, str]) -> None:
    out, stdout = real_report
    assert stdout.strip() == f"report: {out / 'index.html'}"
    for name in ("index.html", "summary.md", "config.toml", "provenance.json", "run.json"):
        assert (out / name).is_file(), name
    run_record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run_record["failures"] == []
    counts = run_record["counts"]
    assert counts["events"] == 46
    assert counts["strategies"] == 4
    assert counts["measured"] + counts["dropped"] == 64  # every (event, ticker) row accounted for


def _readme_row(repo_root: Path, first_cell: str) -> tuple[set[str], set[str]]:
    """The backticked names of the README report table's row whose first cell starts with
    ``first_cell``: those of its first cell and those of its description."""
    import re

    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith(f"| `{first_cell}")]
    first, what = (cell.strip() for cell in row.strip().strip("|").split(" | "))
    return set(re.findall(r"`([^`]+)`", first)), set(re.findall(r"`([a-z_]+)`", what))


@pytest.mark.slow
def test_the_readme_lists_what_the_report_writes(
    real_report: tuple[Path, str], repo_root: Path
) -> None:
    out, _ = real_report
    _, tables = _readme_row(repo_root, "tables/")
    written = {p.stem for p in (out / "tables").iterdir()}
    assert {p.suffix for p in (out / "tables").iterdir()} == {".csv", ".json"}
    assert tables == written
    assets, _ = _readme_row(repo_root, "assets/")
    assert assets == {f"assets/{p.name}" for p in (out / "assets").iterdir()}


@pytest.mark.slow
def test_key_numbers(real_report: tuple[Path, str], shared_prices_dir: Path) -> None:
    out, _ = real_report
    events = pd.read_csv(out / "tables" / "events.csv").set_index(["event_id", "ticker"])
    meta = events.loc[("meta-2025q3-results", "META")]
    assert meta["day0"] == "2025-10-30"
    # META fell 11.3% on 2025-10-30 while SPY fell 1.1% (the price files)
    prices = pd.read_csv(shared_prices_dir / "META.csv", index_col="date")
    spy = pd.read_csv(shared_prices_dir / "SPY.csv", index_col="date")
    raw = prices.loc["2025-10-30", "close"] / prices.loc["2025-10-29", "close"] - 1
    market = spy.loc["2025-10-30", "close"] / spy.loc["2025-10-29", "close"] - 1
    assert raw == pytest.approx(-0.1133, abs=0.001)
    assert meta["ar0"] == pytest.approx(raw - meta["alpha"] - meta["beta"] * market, abs=1e-9)
    assert meta["t[0,0]"] < -5
    # claims: the Meta intraday low of about -13% is confirmed by the data
    claims = pd.read_csv(out / "tables" / "claims.csv")
    low = claims[(claims["ticker"] == "META") & (claims["measure"] == "intraday_low")].iloc[0]
    assert low["verdict"] == "agrees"
    assert low["measured"] == pytest.approx(-0.135, abs=0.001)
    # strategies: per ticker and pooled rows, with buy-and-hold comparisons
    metrics = pd.read_csv(out / "tables" / "strategy_metrics.csv")
    layoffs = metrics[metrics["strategy"] == "buy_on_layoffs"]
    assert set(layoffs["portfolio"]) == {"META", "AMZN", "pooled XNYS"}
    pooled = layoffs[(layoffs["portfolio"] == "pooled XNYS") & (layoffs["kind"] == "strategy")]
    # pooled hold=60 (buy_on_layoffs.toml: 10,000 a trade at the open, fees and slippage 5 bps a
    # side, 100,000 of capital): its total return is the trades' P&L, worked out here from the
    # price files' opens on the trade dates
    trades = pd.read_csv(out / "tables" / "trades.csv")
    held = trades[(trades["strategy"] == "buy_on_layoffs") & (trades["label"] == "hold=60")]
    assert len(held) == 4  # Amazon's report and announcement share one position (issue 10)
    assert set(held["fill"]) == {"open"}
    s = f = 0.0005
    pnl = 0.0
    for ticker, entry_day, exit_day in held[["ticker", "entry_date", "exit_date"]].itertuples(
        index=False
    ):
        opens = pd.read_csv(shared_prices_dir / f"{ticker}.csv", index_col="date")["open"]
        buy, sell = opens[entry_day] * (1 + s), opens[exit_day] * (1 - s)
        shares = 10_000 / opens[entry_day]
        pnl += shares * (sell - buy) - f * shares * (buy + sell)
    total = pooled.set_index("label").loc["hold=60", "total_return"]
    assert total == pytest.approx(pnl / 100_000, rel=1e-9)
    assert total == pytest.approx(0.1083, abs=5e-4)  # as summary.md shows it (below)
    # every dropped study row has a reason
    dropped = pd.read_csv(out / "tables" / "dropped.csv")
    assert dropped["reason"].notna().all()
    assert (dropped["part"] == "event study").sum() == 64 - len(events)
    # the provenance names every price file and the quality warnings
    prov = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    sources = {p["ticker"]: p["source"] for p in prov["prices"]}
    assert sources["META"] == f"csv:{(shared_prices_dir / 'META.csv').resolve()}"
    assert len(prov["quality"]) == 8
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "## Which kinds of news move prices (CAAR[-1,+1])" in md
    assert "| buy_on_layoffs | pooled XNYS | 4 | 4 | +0.92% to +10.83% |" in md


@pytest.mark.browser
def test_the_page_in_a_real_browser(real_report: tuple[Path, str], tmp_path: Path) -> None:
    require_chromium()
    out, _ = real_report
    shot = Path(os.environ.get("EVBT_SCREENSHOT_DIR", tmp_path)) / "evbt-report.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page = inspect_page(out / "index.html", shot, width=1400, height=1000, timeout=120)
    assert page.problems() == [], str(page)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert page.chart_count == html.count('<div class="chart" id=')
    assert page.chart_count >= 3  # the main page; the detail is on the ticker, strategy pages
    assert page.charts_rendered == page.chart_count
    assert all(c.has_size for c in page.charts)
    assert shot.stat().st_size > 100_000


def test_no_network_and_nothing_cached(
    tmp_path: Path,
    repo_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from backtest.cli import _env
    from backtest.prices import CachedSource, PriceCache
    from backtest.prices.yahoo import YahooSource

    offline = FakeYahooDownload({}, outcomes=["offline"] * 50)
    opened: list[Path | None] = []

    def offline_source(
        *, prices_dir: Path | None, cache_dir: Path | None, **_: object
    ) -> CachedSource:
        opened.append(cache_dir)
        yahoo = YahooSource(download=offline, reachable=lambda: False, sleep=lambda s: None)
        return CachedSource(yahoo, PriceCache(cache_dir))

    # the command line builds the one price source of the run: give it one that is offline
    monkeypatch.setattr(_env, "open_price_source", offline_source)
    monkeypatch.delenv("EVBT_PRICES_DIR", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.chdir(repo_root)
    code, _, stderr = run_main(
        capsys, "run", "--cache-dir", str(cache), "--out", str(tmp_path / "r"), "--quiet"
    )
    assert code == 1
    assert opened == [cache.resolve()]
    assert stderr == (
        "evbt: error: Yahoo Finance cannot be reached (no network?) and nothing usable is cached "
        f"in {cache.resolve()}. Run offline from CSV files: evbt run --prices-dir DIR (one CSV "
        "per ticker, e.g. ../shared/prices).\n"
    )
    assert not (tmp_path / "r").exists()


def test_bad_strategy_files_are_reported_and_the_report_still_written(
    tmp_path: Path,
    repo_root: Path,
    shared_prices_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "bad.toml").write_text("[exit]\nhold = -1\n", encoding="utf-8")
    # valid on its own, but its benchmark trades in Hong Kong and the layoff events in New York
    (tmp_path / "strategies" / "hsi.toml").write_text(
        'name = "hsi"\n[events]\ncategories = ["layoff"]\n[portfolio]\nbenchmark = "^HSI"\n',
        encoding="utf-8",
    )
    (tmp_path / "run.toml").write_text(
        f"""name = "partial"
[catalog]
paths = ["{repo_root / "events"}"]
categories = ["layoff"]
[study]
max_loss = 0.5
[strategies]
paths = ["strategies"]
""",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code, _, stderr = run_main(
        capsys, "run", "--config", str(tmp_path / "run.toml"), "--prices-dir",
        str(shared_prices_dir), "--out", str(out), "--quiet",
    )  # fmt: skip
    assert code == 1
    assert "bad.toml: field exit.hold: must be >= 1" in stderr
    assert "hsi.toml: field portfolio.benchmark: ^HSI trades on XHKG" in stderr
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Parts of this run failed" in page
    assert "bad.toml" in page
    assert "hsi.toml" in page
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["counts"]["events"] == 5  # the five layoff events
    assert record["name"] == "partial"


def _run_layoffs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_root: Path, prices: Path, extra: str
) -> Path:
    """``evbt run`` of the catalog's layoff events with ``extra`` TOML; its report folder."""
    (tmp_path / "run.toml").write_text(
        f'[catalog]\npaths = ["{repo_root / "events"}"]\ncategories = ["layoff"]\n{extra}',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code, _, stderr = run_main(
        capsys, "run", "--config", str(tmp_path / "run.toml"), "--prices-dir", str(prices),
        "--out", str(out), "--quiet",
    )  # fmt: skip
    assert code == 0, stderr
    return out


@pytest.mark.slow
def test_a_run_with_one_window_writes_its_tables(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One window makes the tables' window column a categorical of one category: the CSV
    writer crashed on it ("'Categorical' ... does not support operation 'any'", exit 3)."""
    out = _run_layoffs(
        tmp_path, capsys, repo_root, shared_prices_dir,
        "[study]\nwindows = [[0, 0]]\nmax_loss = 0.5\n",
    )  # fmt: skip
    windows = pd.read_csv(out / "tables" / "windows.csv")
    assert set(windows["window"]) == {"[0,0]"}
    counts = json.loads((out / "run.json").read_text(encoding="utf-8"))["counts"]
    assert len(windows) == counts["measured"] > 0


@pytest.mark.slow
def test_a_run_grouped_without_ticker_still_has_its_ticker_and_category_tables(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``group_by = ["category"]`` crashed writing the ticker table (no ticker groups), and
    ``["ticker"]`` left the category rows at n 0: the report's groups are always studied."""
    out = _run_layoffs(
        tmp_path, capsys, repo_root, shared_prices_dir, '[study]\ngroup_by = ["timing"]\n'
    )
    tickers = pd.read_csv(out / "tables" / "tickers.csv")
    assert tickers["events"].sum() == 5  # the five layoff events, each of one ticker
    assert (tickers["n"] > 0).all()
    (layoff,) = pd.read_csv(out / "tables" / "categories.csv").itertuples()
    assert (layoff.category, layoff.measured, layoff.n) == ("layoff", 5, 4)  # two overlap
    groups = pd.read_csv(out / "tables" / "group_tests.csv")
    assert {"all", "category", "ticker", "timing"} <= set(groups["group_by"])


@pytest.mark.slow
def test_a_run_whose_every_study_row_is_dropped_writes_its_report(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With ``max_loss = 1`` and no row measurable the ticker table crashed ("operation
    'rtruediv' not supported for dtype 'str'"); each ticker now has its row, all dropped."""
    out = _run_layoffs(
        tmp_path, capsys, repo_root, shared_prices_dir,
        "[study]\nmin_estimation = 240\nmax_loss = 1.0\n",
    )  # fmt: skip
    tickers = pd.read_csv(out / "tables" / "tickers.csv")
    assert tickers["events"].sum() == tickers["dropped"].sum() == 5
    assert (tickers["measured"] == 0).all()
    assert (tickers["n"] == 0).all()


@pytest.mark.slow
def test_a_run_whose_only_strategy_trades_nothing_writes_its_report(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The page template crashed ("'dict object' has no attribute 'trades'") and, beside a
    strategy that trades, the summary read "nan trades"."""
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "lag.toml").write_text(
        'name = "lag-999"\n[events]\ncategories = ["layoff"]\n[entry]\nlag = 999\n'
        "[exit]\nhold = 1\n",
        encoding="utf-8",
    )
    out = _run_layoffs(
        tmp_path,
        capsys,
        repo_root,
        shared_prices_dir,
        f'[strategies]\npaths = ["{tmp_path / "s"}"]\n',
    )
    (row,) = pd.read_csv(out / "tables" / "strategy_overview.csv").itertuples()
    assert (row.strategy, row.trades) == ("lag-999", 0)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "| lag-999 | — | 1 | 0 | no trade | — | — |" in summary
    assert "No strategy made a trade" in summary
    assert "1 strategies, 0 trades in their main portfolios" in " ".join(
        (out / "index.html").read_text(encoding="utf-8").replace("<span>", "").split()
    )


@pytest.mark.slow
def test_a_run_without_strategies_writes_every_table_with_its_header(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``[strategies] paths = []`` wrote strategy_metrics.csv, trade_stats.csv and trades.csv
    as empty files (pandas: EmptyDataError): every table has the header of a run with a
    strategy (less, in the metrics, the combination's parameters), and its JSON is ``[]``.
    A strategy that trades nothing (a lag past the prices) has every header of a run with
    trades, the parameters too (its metrics lacked them): one row per combination, with
    its parameter values, 0 trades and no metric."""
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "buy.toml").write_text(
        'name = "buy"\n[events]\ncategories = ["layoff"]\n[exit]\nhold = 1\n', encoding="utf-8"
    )
    (tmp_path / "late").mkdir()
    (tmp_path / "late" / "late.toml").write_text(
        'name = "late"\n[events]\ncategories = ["layoff"]\n[entry]\nlag = 999\n'
        "[exit]\nhold = [1, 5]\n",
        encoding="utf-8",
    )
    (tmp_path / "with").mkdir()
    (tmp_path / "without").mkdir()
    (tmp_path / "untraded").mkdir()
    with_ = _run_layoffs(
        tmp_path / "with", capsys, repo_root, shared_prices_dir,
        f'[strategies]\npaths = ["{tmp_path / "s"}"]\n',
    )  # fmt: skip
    without = _run_layoffs(
        tmp_path / "without", capsys, repo_root, shared_prices_dir, "[strategies]\npaths = []\n"
    )
    names = sorted(p.name for p in (without / "tables").iterdir())
    assert names == sorted(p.name for p in (with_ / "tables").iterdir())
    params = ["entry.lag", "exit.hold", "position.size", "costs.fees", "costs.slippage"]
    for name in (n for n in names if n.endswith(".csv")):
        header = list(pd.read_csv(with_ / "tables" / name, nrows=0).columns)
        if name == "strategy_metrics.csv":
            assert header[-len(params) :] == params
            header = header[: -len(params)]
        assert list(pd.read_csv(without / "tables" / name).columns) == header, name
    for name in ("strategy_metrics", "trade_stats", "trades"):
        assert len(pd.read_csv(with_ / "tables" / f"{name}.csv")) > 0
        assert len(pd.read_csv(without / "tables" / f"{name}.csv")) == 0
        text = (without / "tables" / f"{name}.json").read_text(encoding="utf-8")
        assert json.loads(text) == []
    untraded = _run_layoffs(
        tmp_path / "untraded", capsys, repo_root, shared_prices_dir,
        f'[strategies]\npaths = ["{tmp_path / "late"}"]\n',
    )  # fmt: skip
    assert sorted(p.name for p in (untraded / "tables").iterdir()) == names
    for name in (n for n in names if n.endswith(".csv")):
        header = list(pd.read_csv(with_ / "tables" / name, nrows=0).columns)
        assert list(pd.read_csv(untraded / "tables" / name, nrows=0).columns) == header, name
    metrics = pd.read_csv(untraded / "tables" / "strategy_metrics.csv")
    assert metrics["label"].tolist() == ["hold=1", "hold=5"]
    assert metrics["exit.hold"].tolist() == [1, 5]
    assert (metrics["entry.lag"] == 999).all()
    assert (metrics["strategy"] == "late").all()
    assert (metrics["kind"] == "strategy").all()
    assert (metrics["n_trades"] == 0).all()
    assert metrics[["total_return", "sharpe", "max_drawdown"]].isna().all().all()
    rows = json.loads((untraded / "tables" / "strategy_metrics.json").read_text("utf-8"))
    assert [(r["label"], r["exit.hold"], r["n_trades"]) for r in rows] == [
        ("hold=1", 1, 0), ("hold=5", 5, 0),
    ]  # fmt: skip


@pytest.mark.slow
def test_a_main_window_with_no_value_reads_so_not_p_nan(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A main window past the prices: the takeaway named a category with no CAAR ("layoff
    (—, p nan, n=0)")."""
    out = _run_layoffs(
        tmp_path, capsys, repo_root, shared_prices_dir,
        "[study]\nwindows = [[900, 950], [0, 0]]\nmax_loss = 1.0\n",
    )  # fmt: skip
    page = (out / "index.html").read_text(encoding="utf-8")
    assert (
        "No category has a CAAR[+900,+950]: no measured row has a value over that window." in page
    )
    assert "p nan" not in (out / "summary.md").read_text(encoding="utf-8")


def test_a_bad_configuration_names_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "run.toml").write_text("[study]\nmodle = 'market'\n", encoding="utf-8")
    code, _, stderr = run_main(capsys, "run", "--config", str(tmp_path / "run.toml"), "--quiet")
    assert code == 1
    assert stderr.startswith(f"evbt: error: {tmp_path / 'run.toml'}: field study.modle: unknown")
    assert "did you mean 'model'?" in stderr


@pytest.mark.slow
def test_the_recorded_configuration_repeats_the_run_offline(
    real_report: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = real_report
    recorded = out / "config.toml"
    text = recorded.read_text(encoding="utf-8")
    # every input is written out: the price folder, the catalog and strategy files
    assert 'dir = "' in text.split("[prices]")[1]
    for k in ("EVBT_PRICES_DIR", "EVBT_CACHE_DIR", "EVBT_CATALOG"):
        monkeypatch.delenv(k, raising=False)
    again = tmp_path / "again"
    # from another folder, with nothing but the recorded file (no --prices-dir: offline only
    # because the file says where the prices are), and without --quiet: the printed summary
    code, stdout, stderr = run("run", "--config", str(recorded), "--out", str(again), cwd=tmp_path)
    assert code == 0, stderr
    for table in ("events", "windows", "group_tests", "strategy_metrics", "trades", "claims"):
        first = pd.read_csv(out / "tables" / f"{table}.csv")
        second = pd.read_csv(again / "tables" / f"{table}.csv")
        pd.testing.assert_frame_equal(first, second, obj=table)
    # the same configuration, but for the report folder: the one this run wrote to
    again_text = (again / "config.toml").read_text(encoding="utf-8")
    assert f'folder = "{out.resolve()}"' in text
    assert again_text == text.replace(f'folder = "{out.resolve()}"', f'folder = "{again}"')
    # the summary quotes each strategy's range over its sweep, never its best point
    metrics = pd.read_csv(out / "tables" / "strategy_metrics.csv")
    strat = metrics[metrics["kind"] == "strategy"]
    # one row per strategy and pooled portfolio; a strategy's other markets follow its first
    # row with the strategy cell left empty
    rows: list[tuple[str, str]] = []
    for line in stdout.splitlines():
        words = line.split()
        if "pooled" not in words:
            continue
        name = rows[-1][0] if words[0] == "pooled" else words[0]
        rows.append((name, line))
    assert {name for name, _ in rows} == set(strat["strategy"])
    for name, line in rows:
        words = line.split()
        at = words.index("pooled")
        portfolio = " ".join(words[at : at + 2])  # e.g. "pooled XNYS", as the table names it
        sweep = strat[(strat["strategy"] == name) & (strat["portfolio"] == portfolio)]
        assert len(sweep) > 1, name
        sharpe = f"{sweep['sharpe'].min():.2f} to {sweep['sharpe'].max():.2f}"
        ret = f"{sweep['total_return'].min():+.2%} to {sweep['total_return'].max():+.2%}"
        assert sharpe in line, (name, sharpe, line)
        assert ret in line, (name, ret, line)
    assert "best" not in stdout.lower()


@pytest.mark.slow
def test_every_pooled_market_has_its_own_strategy_row(real_report: tuple[Path, str]) -> None:
    """Strategies that trade in New York and Hong Kong list both pooled portfolios, each with
    the trades of its own market (counted here from the trade list: position legs of the
    combination with the most), never one row adding up both markets."""
    out, _ = real_report
    trades = pd.read_csv(out / "tables" / "trades.csv")
    overview = pd.read_csv(out / "tables" / "strategy_overview.csv")
    legs = trades[(trades["leg"] == "position") & (trades["status"] != "not filled")]
    per = legs.groupby(["strategy", "market", "combo"]).size().groupby(["strategy", "market"])
    expected = {(s, f"pooled {m}"): int(n) for (s, m), n in per.max().items()}
    got = {
        (r.strategy, r.portfolio): int(r.trades)
        for r in overview.itertuples()
        if str(r.portfolio).startswith("pooled")
    }
    assert got == expected
    assert ("buy_on_model_launches", "pooled XHKG") in got
