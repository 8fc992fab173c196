"""Cells of a saved calendar that once stopped the whole read: an empty Symbol cell. The bad
row is a problem naming its file, line and column; the other rows are read."""

from __future__ import annotations

from pathlib import Path

import pytest

from backtest.catalog import load_confounders
from backtest.earnings import import_earnings, read_calendar_text
from backtest.errors import CatalogError
from tests.clirun import run_main

HEADER = "Symbol,Earnings Date,EPS Estimate,Reported EPS,Surprise(%)\n"
AAPL = "AAPL,2025-10-30 16:00:00-04:00,1.77,1.85,4.47\n"
BLANK = ",2025-10-29 16:00:00-04:00,3.6,3.7,3\n"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.write_text(text, encoding="utf-8")
    return path


def test_an_empty_symbol_cell_is_a_problem_of_its_row() -> None:
    read = read_calendar_text(HEADER + AAPL + BLANK + AAPL, "cal.csv", default_ticker=None)
    assert [(r.ticker, r.line) for r in read.rows] == [("AAPL", 2), ("AAPL", 4)]
    assert [(p.file, p.line) for p in read.problems] == [("cal.csv", 3)]
    assert "column Symbol: empty" in read.problems[0].message


def test_a_file_named_after_a_ticker_falls_back_to_it() -> None:
    write("META.csv", HEADER + AAPL + BLANK)
    result = import_earnings(from_paths=["META.csv"])
    assert result.problems == []
    assert [(e.id, e.ticker) for e in result.events] == [
        ("aapl-2025-10-30-earnings", "AAPL"),
        ("meta-2025-10-29-earnings", "META"),
    ]


def test_a_folder_import_keeps_the_other_files_and_rows() -> None:
    Path("cals").mkdir()
    write("cals/multi.csv", HEADER + BLANK + AAPL)
    write("cals/MSFT.csv", HEADER + "MSFT,2025-10-29 16:00:00-04:00,3.6,3.7,3\n")
    result = import_earnings(from_paths=["cals"])
    assert sorted(e.id for e in result.events) == [
        "aapl-2025-10-30-earnings",
        "msft-2025-10-29-earnings",
    ]
    assert [(p.file, p.line) for p in result.problems] == [(str(Path("cals/multi.csv")), 2)]


def test_the_import_command_names_the_row(capsys: pytest.CaptureFixture[str]) -> None:
    write("cal.csv", HEADER + AAPL + BLANK)
    code, _, err = run_main(
        ["events", "import", "earnings", "--from", "cal.csv", "--out", "out.csv"], capsys
    )
    assert "internal error" not in err
    assert "cal.csv:3: column Symbol: empty" in err
    assert code == 1  # a row was left out, as for any malformed row
    assert Path("out.csv").read_text(encoding="utf-8").count("aapl-2025-10-30-earnings") == 1


def test_confounders_name_the_row() -> None:
    write("cal.csv", HEADER + AAPL + BLANK)
    with pytest.raises(CatalogError, match=r"cal\.csv:3: column Symbol: empty"):
        load_confounders(["cal.csv"])
    frame = load_confounders(["cal.csv"], strict=False)
    assert frame["event_id"].tolist() == ["aapl-2025-10-30-earnings"]
    assert [p.line for p in frame.attrs["problems"]] == [3]


def test_a_nul_or_a_byte_not_utf8_is_a_problem_of_its_row() -> None:
    Path("META.csv").write_bytes(
        b"Earnings Date,EPS Estimate,Reported EPS,Surprise(%)\n"
        b"2025-10-29 16:00:00-04:00,6.67,7.25,8.66\n"
        b"2025-07-29 16:00:00-04:00,6.67,7.\xe95,8.66\n"
        b"2025-04-29 16:00:00-04:00,6.67,7.25,8\x00.66\n"
        b"2025-01-29 16:00:00-05:00,5.0,5.1,2\n"
    )
    result = import_earnings(from_paths="META.csv")
    assert [e.id for e in result.events] == ["meta-2025-01-29-earnings", "meta-2025-10-29-earnings"]
    assert [str(p) for p in result.problems] == [
        "META.csv:3: column Reported EPS: not UTF-8 text (byte 0xe9); save the file as UTF-8",
        "META.csv:4: column Surprise(%): contains a NUL character: remove it (a CSV file is text)",
    ]


def test_a_calendar_with_semicolons_is_told_so() -> None:
    write("META.csv", "Earnings Date;EPS Estimate;Reported EPS;Surprise(%)\n2025-10-29;1;2;3\n")
    result = import_earnings(from_paths="META.csv")
    assert result.events == []
    assert [str(p) for p in result.problems] == [
        "META.csv:1: the header's columns are separated by semicolons (;), but evbt reads "
        "comma-separated CSV: save the file with commas between the cells (in a spreadsheet, "
        'export "CSV UTF-8 (comma delimited)")'
    ]


def test_an_unclosed_quote_costs_its_row_only() -> None:
    write(
        "META.csv",
        "Earnings Date,EPS Estimate,Reported EPS,Surprise(%)\n"
        "2025-10-29 16:00:00-04:00,6.67,7.25,8.66\n"
        '2025-07-30 16:00:00-04:00,"5.9,7.14,20.9\n'
        "2025-04-30 16:00:00-04:00,5.28,6.43,21.8\n",
    )
    result = import_earnings(from_paths="META.csv")
    assert [e.id for e in result.events] == ["meta-2025-04-30-earnings", "meta-2025-10-29-earnings"]
    assert [str(p) for p in result.problems] == [
        "META.csv:3: not a readable CSV row (a quote opened on this line is never closed): check "
        "its quotes; the next line is read as the next row"
    ]
