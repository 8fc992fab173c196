"""``evbt run`` online, end to end: the earnings calendars of the catalog's tickers are fetched
as confounders by default (through the cache), the run says so in its summary and ``run.json``,
``--no-earnings-confounders`` turns it off, and an offline run (``--prices-dir``) says it did
not fetch them. yfinance is replaced at its own calls -- ``yf.download`` and
``yf.Ticker(...).get_earnings_dates`` -- by fakes shaped exactly like the installed yfinance's
output (``fakes.py``, checked in ``test_shape.py``), built from the saved files of
``../shared``; nothing reaches the network."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.clirun import run_main
from tests.earnings.fakes import FakeTicker, frame_from_saved
from tests.prices.prices_fakes import FakeYahooDownload, read_shared

pytestmark = pytest.mark.slow  # the whole job, twice (about 10 s)


@pytest.fixture
def online(
    monkeypatch: pytest.MonkeyPatch, shared_prices_dir: Path, shared_sp500_earnings: Path
) -> dict[str, list[Any]]:
    """Yahoo as yfinance shows it: every shared price file through ``yf.download``, and the
    saved calendar of each ticker that has one through ``get_earnings_dates`` (``None``, as
    yfinance answers, for the others: ETFs and Hong Kong listings)."""
    import yfinance

    import backtest.earnings.yahoo
    import backtest.prices.yahoo

    frames = {}
    for f in shared_prices_dir.glob("*.csv"):
        ticker = "^" + f.stem[1:] if f.stem.startswith("_") else f.stem
        frames[ticker] = read_shared(ticker, shared_prices_dir)
    download = FakeYahooDownload(frames)
    calls: list[tuple[str, int]] = []

    def ticker(symbol: str) -> FakeTicker:
        saved = shared_sp500_earnings / f"{symbol}.csv"
        outcome = frame_from_saved(saved) if saved.is_file() else None
        return FakeTicker(symbol, [outcome], calls)

    monkeypatch.setattr(yfinance, "download", download)
    monkeypatch.setattr(yfinance, "Ticker", ticker)
    for module in (backtest.prices.yahoo, backtest.earnings.yahoo):
        monkeypatch.setattr(module, "yahoo_reachable", lambda timeout=3.0: True)
    monkeypatch.delenv("EVBT_PRICES_DIR", raising=False)
    return {"earnings_calls": calls, "download_calls": download.calls}


def reported_rows(path: Path) -> int:
    """Reported announcements in a saved calendar (read with the csv module): a reported EPS,
    or a surprise (yfinance blanks a reported EPS of 0.00 but keeps its surprise)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return sum(
            1 for r in csv.DictReader(fh) if r["Reported EPS"].strip() or r["Surprise(%)"].strip()
        )


def test_an_online_run_fetches_the_earnings_calendars_as_confounders(
    tmp_path: Path,
    repo_root: Path,
    shared_sp500_earnings: Path,
    online: dict[str, list[Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(repo_root)
    cache = tmp_path / "cache"
    base = ["run", "--cache-dir", str(cache), "--quiet"]
    code, out, err = run_main(
        [*base, "--out", str(tmp_path / "on"), "--config", str(_config(tmp_path))], capsys
    )
    assert code == 0, err + out
    tickers = sorted({c[0] for c in online["earnings_calls"]})
    assert len(tickers) == 16  # every ticker of the shipped catalog, once each
    with_calendar = [t for t in tickers if (shared_sp500_earnings / f"{t}.csv").is_file()]
    without = [t for t in tickers if t not in with_calendar]
    assert without == ["0700.HK", "1024.HK", "9988.HK", "DIA", "QQQ", "SPY"]  # ETFs, Hong Kong
    assert all(limit == 100 for _, limit in online["earnings_calls"])
    # the calendars are cached beside the prices
    assert sorted(p.stem for p in (cache / "earnings").glob("*.json")) == with_calendar
    record = json.loads((tmp_path / "on" / "run.json").read_text(encoding="utf-8"))
    (note,) = [n for n in record["meta"]["notes"] if n.startswith("Earnings calendars")]
    assert note.startswith("Earnings calendars of 10 of 16 tickers were fetched from Yahoo as "
                           "confounders (")  # fmt: skip
    assert note.endswith("; not available for 0700.HK, 1024.HK, 9988.HK, DIA, QQQ, SPY.")
    announced = int(note.split("(")[1].split(" announcements")[0])
    assert 0 < announced <= sum(reported_rows(shared_sp500_earnings / f"{t}.csv")
                                for t in with_calendar)  # fmt: skip
    assert record["config"]["catalog"]["earnings_confounders"] is True

    # the confounders reach the study: more of its rows are confounded than without them
    code, _, err = run_main(
        [*base, "--out", str(tmp_path / "off"), "--config", str(_config(tmp_path)),
         "--no-earnings-confounders"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    quiet = json.loads((tmp_path / "off" / "run.json").read_text(encoding="utf-8"))
    assert any("turned off" in n for n in quiet["meta"]["notes"])
    assert quiet["config"]["catalog"]["earnings_confounders"] is False
    on = pd.read_csv(tmp_path / "on" / "tables" / "events.csv")
    off = pd.read_csv(tmp_path / "off" / "tables" / "events.csv")
    assert on["confounded"].sum() > off["confounded"].sum()


def test_an_offline_run_says_it_did_not_fetch_them(
    tmp_path: Path,
    repo_root: Path,
    shared_prices_dir: Path,
    online: dict[str, list[Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_main(
        ["run", "--config", str(_config(tmp_path)), "--prices-dir", str(shared_prices_dir),
         "--out", str(tmp_path / "r"), "--quiet"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert online["earnings_calls"] == []
    assert online["download_calls"] == []
    record = json.loads((tmp_path / "r" / "run.json").read_text(encoding="utf-8"))
    assert record["meta"]["notes"] == [
        "Earnings calendars were not fetched as confounders: the run read prices offline from "
        "a CSV folder (give them with [catalog] confounders or --confounders)."
    ]


def _config(tmp_path: Path) -> Path:
    """No strategies; windows up to [0,+5]. With the default windows (up to [-5,+20]) the
    calendars' four announcements a year keep about 104 of the 240 estimation days out and
    the study drops 31 of 64 rows (more than max_loss): see the README's note on it."""
    path = tmp_path / "run.toml"
    path.write_text(
        "[study]\nwindows = [[0, 0], [-1, 1], [0, 5]]\n[strategies]\npaths = []\n",
        encoding="utf-8",
    )
    return path
