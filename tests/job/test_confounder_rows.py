"""A bad row of a confounder file is left out and listed, the other rows kept: one empty
Symbol cell stopped `evbt study --confounders`, `evbt backtest --confounders` and `evbt run`
(its whole report), and the message called the calendar "the events catalog". And
`evbt study --format json` lists the catalog entries left out too, as a run's report does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backtest.job import load_config, run_job
from tests.clirun import run_main

HEADER = "Symbol,Earnings Date,EPS Estimate,Reported EPS,Surprise(%)\n"
CALENDAR = (
    HEADER + "META,2023-04-26 16:00:00-04:00,1.77,1.85,4.47\n"
    ",2023-04-25 16:00:00-04:00,3.6,3.7,3\n"  # no ticker: this row only is left out
    "META,2023-13-26 16:00:00-04:00,1.77,1.85,4.47\n"  # not a date
)
CATALOG = (
    "id,ticker,date,timing,category\n"
    "m1,META,2023-07-05,before_open,layoff\n"
    "g3,META,2031-01-01,before_open,layoff\n"  # outside the calendar: left out
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "cal.csv").write_text(CALENDAR, encoding="utf-8")
    (tmp_path / "events.csv").write_text(CATALOG, encoding="utf-8")
    return tmp_path / "cal.csv", tmp_path / "events.csv"


def test_study_keeps_the_good_confounder_rows_and_lists_every_row_left_out(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], shared_prices_dir: Path
) -> None:
    cal, catalog = files
    code, stdout, stderr = run_main(
        ["study", "--catalog", str(catalog), "--prices-dir", str(shared_prices_dir),
         "--confounders", str(cal), "--window", "0", "1", "--format", "json"],
        capsys,
    )  # fmt: skip
    assert code == 0, stderr
    assert f"evbt: warning: confounders: {cal}:3: column Symbol: empty" in stderr
    assert f"evbt: warning: confounders: {cal}:4: column Earnings Date:" in stderr
    assert "events catalog" not in stderr
    doc = json.loads(stdout)
    assert [(p["file"], p["line"]) for p in doc["left_out"]] == [
        (str(catalog), 3), (str(cal), 3), (str(cal), 4),
    ]  # fmt: skip
    assert [e["event_id"] for e in doc["events"]] == ["m1"]


def test_a_run_lists_the_confounder_rows_left_out_with_the_catalog_s(
    files: tuple[Path, Path], shared_prices_dir: Path, tmp_path: Path
) -> None:
    cal, catalog = files
    config = tmp_path / "run.toml"
    config.write_text(
        f'name = "c"\n[catalog]\npaths = ["{catalog}"]\nconfounders = ["{cal}"]\n'
        f"earnings_confounders = false\n[strategies]\npaths = []\n"
        f'[prices]\ndir = "{shared_prices_dir}"\n',
        encoding="utf-8",
    )
    result = run_job(load_config(config))
    assert result.failures == []
    assert result.confounders is not None
    assert list(result.confounders["event_id"]) == ["meta-2023-04-26-earnings"]
    left = result.catalog_problems
    assert list(zip(left["file"], left["line"], strict=True)) == [
        (str(catalog), 3), (str(cal), 3), (str(cal), 4),
    ]  # fmt: skip


def test_a_confounder_file_of_which_no_row_can_be_read_is_refused(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], shared_prices_dir: Path
) -> None:
    """Leaving out a whole file (its header not CSV, a column missing) would run the study
    without any of its confounders, under a warning that spoke of a row."""
    _, catalog = files
    bad = catalog.parent / "semicolons.csv"
    bad.write_text("id;ticker;date;timing;category\nc1;META;2023-07-03;after_close;x\n", "utf-8")
    code, stdout, stderr = run_main(
        ["study", "--catalog", str(catalog), "--prices-dir", str(shared_prices_dir),
         "--confounders", str(bad)],
        capsys,
    )  # fmt: skip
    assert code == 1
    assert stdout == ""
    assert stderr.lstrip().startswith(
        "evbt: error: 1 problem in the confounder files (no row of the file could be read):\n"
        f"  {bad}:1: the header's columns are separated by semicolons"
    )
