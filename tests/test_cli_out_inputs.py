"""`--out` never replaces what the command reads: a file given as an input (the catalog, a
calendar, a strategy file) or a file inside an input folder (the price folder) is refused
before anything is read or computed, and the input is left as it was. And filters that name
what is not there say so: a misspelt category, an id whose entry was left out of the catalog,
a catalog with no event at all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from backtest.cli import main

CATALOG = "id,ticker,date,timing,category\nm1,META,2023-07-05,before_open,layoff\n"


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


@pytest.fixture
def prices(tmp_path: Path, shared_prices_dir: Path) -> Path:
    folder = tmp_path / "prices"
    folder.mkdir()
    for t in ("META", "SPY"):
        shutil.copy(shared_prices_dir / f"{t}.csv", folder / f"{t}.csv")
    return folder


@pytest.mark.parametrize(
    "command",
    [
        ["study", "--catalog", "{catalog}", "--prices-dir", "{prices}", "--window", "0", "1"],
        ["study", "--catalog", "{other}", "--confounders", "{catalog}", "--prices-dir",
         "{prices}"],
        ["events", "list", "--catalog", "{catalog}"],
        ["backtest", "--catalog", "{catalog}", "--prices-dir", "{prices}"],
    ],
    ids=["study-catalog", "study-confounders", "events-list", "backtest-catalog"],
)  # fmt: skip
def test_out_naming_an_input_file_is_refused_and_the_file_kept(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prices: Path, command: list[str]
) -> None:
    catalog = tmp_path / "keep.csv"
    catalog.write_text(CATALOG, encoding="utf-8")
    other = tmp_path / "other.csv"
    other.write_text(CATALOG.replace("m1,", "m2,"), encoding="utf-8")
    args = [a.format(catalog=catalog, other=other, prices=prices) for a in command]
    code, stdout, stderr = run_main(capsys, *args, "--out", str(catalog))
    assert code == 1
    assert stdout == ""
    assert stderr == (
        f"evbt: error: {catalog}: is an input of this command: writing it would replace it; "
        "write the output elsewhere\n"
    )
    assert catalog.read_text(encoding="utf-8") == CATALOG


@pytest.mark.parametrize(
    "command",
    [
        ["prices", "check", "--prices-dir", "{prices}"],
        ["study", "--catalog", "{catalog}", "--prices-dir", "{prices}", "--window", "0", "1"],
    ],
    ids=["prices-check", "study"],
)
def test_out_inside_the_price_folder_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prices: Path, command: list[str]
) -> None:
    """A table written into the price folder would be read as a ticker's prices next time
    (or replace one: ``--out prices/META.csv``)."""
    catalog = tmp_path / "keep.csv"
    catalog.write_text(CATALOG, encoding="utf-8")
    before = (prices / "META.csv").read_bytes()
    args = [a.format(catalog=catalog, prices=prices) for a in command]
    for target in (prices / "META.csv", prices / "new.csv"):
        code, _, stderr = run_main(capsys, *args, "--out", str(target))
        assert code == 1
        assert stderr == (
            f"evbt: error: {target}: is inside {prices}, an input folder of this command; "
            "write the output elsewhere\n"
        )
    assert (prices / "META.csv").read_bytes() == before
    assert sorted(p.name for p in prices.iterdir()) == ["META.csv", "SPY.csv"]


def test_out_elsewhere_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prices: Path
) -> None:
    catalog = tmp_path / "keep.csv"
    catalog.write_text(CATALOG, encoding="utf-8")
    out = tmp_path / "tables" / "study.txt"
    code, _, stderr = run_main(
        capsys, "study", "--catalog", str(catalog), "--prices-dir", str(prices),
        "--window", "0", "1", "--out", str(out), "-q",
    )  # fmt: skip
    assert code == 0, stderr
    assert out.read_text(encoding="utf-8").startswith("Event study")


# ------------------------------------------------------- filters naming what is not there


def test_a_misspelt_category_is_refused_not_an_empty_list(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, stdout, stderr = run_main(capsys, "events", "list", "--category", "layof")
    assert code == 2
    assert stdout == ""
    assert "'layof' is not a known category" in stderr
    assert "did you mean 'layoff'?" in stderr


LEFT_OUT = (
    "id,ticker,date,timing,category\n"
    "g1,META,2023-07-05,before_open,layoff\n"
    "g3,META,2031-01-01,before_open,layoff\n"  # outside the exchange calendar: left out
)


def test_ids_naming_an_entry_left_out_study_the_others_and_say_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prices: Path
) -> None:
    """``--ids g1,g3`` with g3 left out of the catalog refused the whole study ("no event with
    id 'g3'"); g1 is studied, and g3's own problem is named."""
    catalog = tmp_path / "odd.csv"
    catalog.write_text(LEFT_OUT, encoding="utf-8")
    common = ["study", "--catalog", str(catalog), "--prices-dir", str(prices), "--window", "0",
              "1", "--format", "json"]  # fmt: skip
    code, stdout, stderr = run_main(capsys, *common, "--ids", "g1,g3")
    assert code == 0, stderr
    assert [e["event_id"] for e in json.loads(stdout)["events"]] == ["g1"]
    assert (
        f"evbt: warning: --ids g3: left out of the catalog: {catalog}:3: entry g3: field date:"
        in (stderr)
    )
    code, _, stderr = run_main(capsys, *common, "--ids", "g3")
    assert code == 2
    assert "every event of --ids was left out of the catalog" in stderr
    code, _, stderr = run_main(capsys, *common, "--ids", "g1,g9")  # never in the catalog
    assert code != 0
    assert "no event with id 'g9' in the catalog" in stderr


def test_an_empty_catalog_is_not_told_no_event_matches_the_filters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prices: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(LEFT_OUT.replace("g1,META,2023-07-05,before_open,layoff\n", ""), "utf-8")
    code, _, stderr = run_main(capsys, "study", "--catalog", str(bad), "--prices-dir", str(prices))
    assert code == 2
    assert stderr.rstrip().endswith(
        "Error: the catalog holds no event (every entry was left out: see `evbt events validate`)"
    )
    assert "filters" not in stderr


def test_events_list_filters_by_date_as_study_does(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """README gives ``evbt events list`` the filters of ``evbt study``, --start/--end too."""
    catalog = tmp_path / "dated.csv"
    catalog.write_text(
        "id,ticker,date,timing,category\n"
        "a,META,2023-07-05,before_open,layoff\n"
        "b,META,2024-02-01,after_close,layoff\n"
        "c,META,2024-07-31,after_close,layoff\n",
        encoding="utf-8",
    )
    code, stdout, stderr = run_main(
        capsys, "events", "list", "--catalog", str(catalog), "--start", "2024-01-01",
        "--end", "2024-06-30", "--format", "json",
    )  # fmt: skip
    assert code == 0, stderr
    assert [e["id"] for e in json.loads(stdout)] == ["b"]
