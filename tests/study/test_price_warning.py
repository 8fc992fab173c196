"""A row whose reach reads a session with a price quality warning (of its ticker or of its
benchmark) is measured as before but flagged ``price_warning``, and `evbt study`'s text names
the warnings of the tickers it measured."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.clirun import run_main

SP500 = Path("sp500") / "prices"


def _tampered(tmp_path: Path, shared_dir: Path, ticker: str, day: str) -> Path:
    """META.csv and SPY.csv of the S&P 500 files, ``ticker``'s prices of ``day`` x10."""
    folder = tmp_path / f"p-{ticker}"
    folder.mkdir()
    for name in ("META", "SPY"):
        frame = pd.read_csv(shared_dir / SP500 / f"{name}.csv")
        if name == ticker:
            hit = frame["Date"].astype(str).str.startswith(day)
            assert hit.sum() == 1
            for c in ("Open", "High", "Low", "Close", "Adj Close"):
                if c in frame:
                    frame.loc[hit, c] *= 10
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture
def shared_dir(shared_prices_dir: Path) -> Path:
    return shared_prices_dir.parent


def _study(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *rows: str, fmt: str
) -> tuple[int, str, str]:
    catalog = tmp_path / "c.csv"
    catalog.write_text("id,ticker,date,timing,category\n" + "".join(rows), encoding="utf-8")
    args = ["study", "--catalog", str(catalog), "--prices-dir", str(folder), "--window", "0", "0"]
    return run_main([*args, "--format", fmt], capsys)


def _flags(out: str) -> dict[str, bool]:
    return {e["event_id"]: e["flags"]["price_warning"] for e in json.loads(out)["events"]}


def test_a_warned_session_of_the_ticker_flags_the_row_and_the_text_names_it(
    tmp_path: Path, shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _tampered(tmp_path, shared_dir, "META", "2023-07-06")
    rows = ("s1,META,2023-07-06,before_open,layoff\n", "s2,META,2025-03-04,before_open,layoff\n")
    code, out, err = _study(folder, tmp_path, capsys, *rows, fmt="json")
    assert code == 0, err
    # s2's reach (estimation from about 2024-03) does not read 2023-07-06
    assert _flags(out) == {"s1": True, "s2": False}
    car = {e["event_id"]: e["windows"]["[0,0]"]["car"] for e in json.loads(out)["events"]}
    assert car["s1"] == pytest.approx(8.93, abs=0.01)  # measured as the prices say
    code, out, err = _study(folder, tmp_path, capsys, *rows, fmt="table")
    assert code == 0, err
    para = out.split("Price quality warnings", 1)[1]
    assert para.startswith(
        " (2) on the tickers measured: 1 of 2 (event, ticker) rows read a warned session of "
        "their ticker or benchmark (flag price_warning); every date: evbt prices check META\n"
    )
    assert "  - META: split_like_jump: close x9.919 from 2023-07-05 to 2023-07-06" in para
    assert "  - META: split_like_jump: close x0.100 from 2023-07-06 to 2023-07-07" in para
    # the per-row CSV has the flag too
    code, out, err = _study(folder, tmp_path, capsys, *rows, fmt="csv")
    assert code == 0, err
    frame = pd.read_csv(pd.io.common.StringIO(out))
    assert frame.set_index("event_id")["price_warning"].to_dict() == {"s1": True, "s2": False}


def test_a_warned_session_of_the_benchmark_flags_the_row(
    tmp_path: Path, shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _tampered(tmp_path, shared_dir, "SPY", "2023-05-01")  # in s1's estimation window
    code, out, err = _study(
        folder, tmp_path, capsys, "s1,META,2023-07-06,before_open,layoff\n", fmt="json"
    )
    assert code == 0, err
    assert _flags(out) == {"s1": True}


def test_clean_prices_flag_nothing_and_say_nothing(
    tmp_path: Path, shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _tampered(tmp_path, shared_dir, "none", "")
    code, out, err = _study(
        folder, tmp_path, capsys, "s1,META,2023-07-06,before_open,layoff\n", fmt="table"
    )
    assert code == 0, err
    assert "Price quality warnings" not in out
