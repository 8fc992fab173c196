"""A price file whose name is not its ticker's exact spelling is named, never read silently,
and a folder's files that are read as no ticker's are listed by `evbt prices check`."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from backtest.prices import csvdir
from backtest.prices.csvdir import CsvDirSource
from tests.clirun import run_main


@pytest.fixture
def folder(tmp_path: Path, shared_prices_dir: Path) -> Path:
    """SPY.csv, META saved as meta.csv, a JPM_empty.csv, an AAPL.CSV, a folder MSFT.csv and a
    README.md."""
    d = tmp_path / "p1"
    d.mkdir()
    shutil.copy(shared_prices_dir / "SPY.csv", d / "SPY.csv")
    shutil.copy(shared_prices_dir / "META.csv", d / "meta.csv")
    shutil.copy(shared_prices_dir / "SPY.csv", d / "JPM_empty.csv")
    shutil.copy(shared_prices_dir / "AAPL.csv", d / "AAPL.CSV")
    (d / "MSFT.csv").mkdir()
    (d / "README.md").write_text("notes\n", encoding="utf-8")
    return d


def test_the_file_in_another_case_is_named(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(["prices", "show", "META", "--prices-dir", str(folder)], capsys)
    assert code == 1
    assert err == (
        f"evbt: error: META: no prices: no file META.csv in {folder} "
        "(meta.csv is there: rename it META.csv)\n"
    )
    failure = CsvDirSource(folder).read("AAPL")
    assert failure.hint == "AAPL.CSV is there: rename it AAPL.csv"  # type: ignore[union-attr]


def test_a_case_insensitive_file_system_reads_the_same(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """There META.csv opens meta.csv: it is refused all the same (the folder is listed)."""
    real_stat = csvdir._stat

    def insensitive(path: Path) -> os.stat_result | None:
        hits = [p for p in path.parent.iterdir() if p.name.casefold() == path.name.casefold()]
        return real_stat(hits[0]) if hits else None

    monkeypatch.setattr(csvdir, "_stat", insensitive)
    monkeypatch.setattr(csvdir.os.path, "samefile", lambda a, b: True)
    failure = CsvDirSource(folder).read("META")
    assert failure.reason == f"no file META.csv in {folder}"  # type: ignore[union-attr]
    assert failure.hint == "meta.csv is there: rename it META.csv"  # type: ignore[union-attr]
    assert CsvDirSource(folder).read("SPY").info.rows > 0  # type: ignore[union-attr]


def test_not_tickers_says_why_each_file_is_not_read(folder: Path) -> None:
    assert dict(CsvDirSource(folder).not_tickers()) == {
        "AAPL.CSV": "the extension is .CSV: rename it AAPL.csv to read it as AAPL",
        "JPM_empty.csv": (
            "'JPM_empty' is not a ticker (not a Yahoo ticker (expected upper case letters and "
            "digits, optionally '-', a leading '^' for an index and an exchange suffix such as "
            "'.HK', e.g. 'META', '0700.HK', '^GSPC')): name the file <TICKER>.csv"
        ),
        "MSFT.csv": "is a folder, not a price file",
        "meta.csv": "tickers are upper case: rename it META.csv to read it as META",
    }
    assert CsvDirSource(folder).tickers() == ("SPY",)


def test_prices_check_of_a_folder_lists_the_files_it_does_not_read(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(["prices", "check", "--prices-dir", str(folder)], capsys)
    assert code == 0  # not a series' problem: SPY is clean
    assert f"Not read as tickers (4 file(s) in {folder})" in out
    assert "tickers are upper case: rename it META.csv to read it as META" in out
    assert "README.md" not in out
    code, out, _ = run_main(
        ["prices", "check", "--prices-dir", str(folder), "--format", "json"], capsys
    )
    assert code == 0
    doc = json.loads(out)
    assert set(doc["not_read"]) == {"AAPL.CSV", "JPM_empty.csv", "MSFT.csv", "meta.csv"}
    code, out, err = run_main(
        ["prices", "check", "--prices-dir", str(folder), "--format", "csv"], capsys
    )
    assert code == 0
    assert out.startswith("ticker,check,severity,date,message")
    assert "evbt: warning: meta.csv is not read as a ticker: tickers are upper case" in err
    # tickers named: only those are checked, the folder is not listed
    code, out, _ = run_main(["prices", "check", "SPY", "--prices-dir", str(folder)], capsys)
    assert code == 0
    assert "Not read" not in out


def test_a_missing_file_is_told_the_file_of_its_ticker_spelt_another_way(
    tmp_path: Path, shared_prices_dir: Path
) -> None:
    """BRK.B.csv for BRK-B was told "did you mean BRK.B?" (a ticker evbt cannot place), and
    ^HSI, missing from a folder of stocks, "did you mean HSIC?" (a stock)."""
    folder = tmp_path / "p"
    folder.mkdir()
    for name in ("BRK.B.csv", "HSIC.csv", "MSFT.csv"):
        shutil.copy(shared_prices_dir / "META.csv", folder / name)
    source = CsvDirSource(folder)
    hints = {
        t: f.hint for t, f in source.fetch(["BRK-B", "^HSI", "MSFX"], None, None).failed.items()
    }
    assert hints["BRK-B"] == "BRK.B.csv is there: rename it BRK-B.csv"
    assert hints["^HSI"].startswith("add _HSI.csv (columns date,open,high,low,close,volume")
    assert hints["MSFX"] == "did you mean MSFT?"
