"""A corrupt cache file is traced to the file in every output, never only to the network."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import pytest
from prices_fakes import FakeYahooDownload

from backtest.errors import CacheCorruptWarning, EvbtWarning
from backtest.prices.cached import CachedSource
from backtest.prices.csvdir import CsvDirSource
from backtest.prices.store import PriceCache
from tests.clirun import run_main

D = dt.date


def _filled_cache(tmp_path: Path, shared_prices_dir: Path) -> Path:
    """A cache of META, SPY and AAPL (2021-01-01 to 2025-11-01) whose META file is cut short."""
    cache = tmp_path / "cache"
    src = CachedSource(CsvDirSource(shared_prices_dir), PriceCache(cache))
    src.fetch(["META", "SPY", "AAPL"], D(2021, 1, 1), D(2025, 11, 1))
    meta = cache / "META.parquet"
    meta.write_bytes(meta.read_bytes()[:20000])
    return cache


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> FakeYahooDownload:
    import backtest.prices.yahoo as yahoo

    fake = FakeYahooDownload({})
    monkeypatch.setattr(yahoo, "_real_download", lambda: fake)
    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda: False)
    monkeypatch.delenv("EVBT_PRICES_DIR", raising=False)
    return fake


def test_the_warning_claims_no_fetch(tmp_path: Path) -> None:
    w = CacheCorruptWarning("META", tmp_path / "META.parquet", "cut short", tmp_path / "x")
    assert str(w) == (
        f"META: its cached prices in {tmp_path / 'META.parquet'} were unreadable (cut short) "
        f"and were moved aside to {tmp_path / 'x'}; its prices will be fetched again"
    )
    assert "fetched again" not in w.what()


def test_a_ticker_fetched_again_says_its_file_was_moved_aside(
    tmp_path: Path, shared_prices_dir: Path
) -> None:
    cache = _filled_cache(tmp_path, shared_prices_dir)
    src = CachedSource(CsvDirSource(shared_prices_dir), PriceCache(cache))
    with pytest.warns(CacheCorruptWarning) as caught:
        res = src.fetch(["META", "SPY"], D(2023, 1, 1), D(2023, 6, 30))
    moved = caught[0].message.moved_to  # type: ignore[union-attr]
    note = res.series["META"].info.note
    assert f"{cache / 'META.parquet'} were unreadable" in note
    assert f"moved aside to {moved}; fetched again" in note
    assert res.series["META"].info.to_dict()["note"] == note
    assert res.series["SPY"].info.note == ""
    assert "note" not in res.series["SPY"].info.to_dict()


def test_study_offline_names_the_corrupt_file_not_only_the_network(
    tmp_path: Path,
    shared_prices_dir: Path,
    offline: FakeYahooDownload,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cache = _filled_cache(tmp_path, shared_prices_dir)
    catalog = tmp_path / "c5.csv"
    catalog.write_text(
        "id,ticker,date,timing,category\n"
        "m1,META,2023-07-05,before_open,layoff\n"
        "a1,AAPL,2023-07-05,before_open,layoff\n"
    )
    args = ["study", "--catalog", str(catalog), "--cache-dir", str(cache)]
    args += ["--window", "0", "1", "--max-loss", "0.9", "--format", "json"]
    with warnings.catch_warnings():
        warnings.simplefilter("always", EvbtWarning)  # shown, as outside the tests
        code, out, err = run_main(args, capsys)
    assert code == 0, err
    moved = next(p for p in cache.iterdir() if p.name.startswith("META.parquet.corrupt-"))
    # (a) one evbt line, not Python's format with evbt's source file and line
    warned = [line for line in err.splitlines() if "unreadable" in line]
    assert warned == [
        f"evbt: warning: META: its cached prices in {cache / 'META.parquet'} were unreadable "
        f"({warned[0].split('unreadable (', 1)[1].split(') and were', 1)[0]}) and were moved "
        f"aside to {moved}; its prices will be fetched again"
    ]
    assert "CacheCorruptWarning" not in err
    assert "cached.py" not in err
    # (c) the drop reason and the prices record name the file, then the network
    doc = json.loads(out)
    reasons = [d["reason"] for d in doc["dropped"] if d.get("ticker") == "META"]
    assert reasons, doc["dropped"]
    assert all(f"moved aside to {moved}" in r for r in reasons), reasons
    failed = doc["prices"]["failed"]["META"]
    assert f"{cache / 'META.parquet'} were unreadable" in failed
    assert f"moved aside to {moved}; fetching them again failed: " in failed
    assert "Yahoo Finance cannot be reached" in failed
    assert not offline.calls


def test_prices_show_claims_no_fetch(
    tmp_path: Path,
    shared_prices_dir: Path,
    offline: FakeYahooDownload,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cache = _filled_cache(tmp_path, shared_prices_dir)
    code, _out, err = run_main(["prices", "show", "META", "--cache-dir", str(cache)], capsys)
    assert code == 1
    moved = next(p for p in cache.iterdir() if p.name.startswith("META.parquet.corrupt-"))
    assert err.startswith(
        f"evbt: error: META: no prices: its cached prices in {cache / 'META.parquet'} were "
        "unreadable ("
    )
    assert f"and were moved aside to {moved} (run `evbt prices fetch META` to fetch them " in err
    assert "fetched again" not in err
    assert "not in the price cache" not in err
    assert not offline.calls
    # the next command finds no file: it says where the unreadable one went
    code, _, err = run_main(["prices", "show", "META", "--cache-dir", str(cache)], capsys)
    assert code == 1
    assert err.startswith(
        f"evbt: error: META: no prices: not in the price cache {cache} (its file was "
        f"unreadable and moved aside to {moved})"
    )


def test_a_run_report_names_the_corrupt_file(
    tmp_path: Path,
    shared_prices_dir: Path,
    offline: FakeYahooDownload,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cache = _filled_cache(tmp_path, shared_prices_dir)
    catalog = tmp_path / "c5.csv"
    catalog.write_text(
        "id,ticker,date,timing,category\n"
        "m1,META,2023-07-05,before_open,layoff\n"
        "a1,AAPL,2023-07-05,before_open,layoff\n"
    )
    config = tmp_path / "run.toml"
    config.write_text("[study]\nmax_loss = 0.9\n", encoding="utf-8")
    out = tmp_path / "report"
    args = ["run", "--catalog", str(catalog), "--cache-dir", str(cache), "--config", str(config)]
    args += ["--no-earnings-confounders", "--out", str(out), "--quiet"]
    with warnings.catch_warnings():
        warnings.simplefilter("always", EvbtWarning)
        run_main(args, capsys)
    moved = next(p for p in cache.iterdir() if p.name.startswith("META.parquet.corrupt-"))
    dropped = (out / "tables" / "dropped.csv").read_text(encoding="utf-8")
    assert f"moved aside to {moved}; fetching them again failed" in dropped
    prices = (out / "tables" / "prices.csv").read_text(encoding="utf-8")
    assert f"moved aside to {moved}" in prices
    assert f"moved aside to {moved}" in (out / "run.json").read_text(encoding="utf-8")
