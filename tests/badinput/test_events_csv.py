"""Bad events CSV files (``evbt study --events-csv``): one file per case, the exact outcome.

A file that cannot be read at all raises :class:`EventsFileError` naming it; a bad row is left
out with a reason naming the file, line and column, and the other rows are read. The FIFO and
the folder are made at run time (git keeps neither).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backtest.errors import UnknownMarketError
from backtest.markets import get_calendar, market_of
from backtest.study.inputs import EventsFileError, read_events_csv
from tests.badinput.badinput_helpers import refused_without_hanging

HERE = Path(__file__).resolve().parent / "events_csv"


def _xnys_range() -> str:
    sessions = get_calendar("XNYS").sessions
    return f"{sessions[0].date()} to {sessions[-1].date()}"


def _unknown(ticker: str) -> str:
    with pytest.raises(UnknownMarketError) as caught:
        market_of(ticker)
    return str(caught.value)


FILE_ERRORS = {
    "header_only.csv": "{path}: no events: the file has a header and no rows (one row per "
    "event: event_id,ticker,date[,timing,...])",
    "empty.csv": "{path}: is empty; an events file needs the header event_id,ticker,date and "
    "one row per event",
    "duplicate_column.csv": "{path}:1: column(s) date appear twice in the header",
    "missing_column.csv": "{path}: missing column(s) event_id, date; an events file needs "
    "event_id,ticker,date and may add timing,benchmark and columns of your own",
    "semicolons.csv": "{path}:1: the header's columns are separated by semicolons (;), but evbt "
    "reads comma-separated CSV: save the file with commas between the cells (in a spreadsheet, "
    'export "CSV UTF-8 (comma delimited)")',
    # the header's bytes must be UTF-8 (a later row's are that row's problem: see below)
    "not_utf8_header.csv": "{path}: not UTF-8 text (byte 17: invalid continuation byte)",
}

ROW_OUTCOMES = {
    # file: (ids read, {dropped id: reason})
    "year_1899.csv": (
        ["a", "c"],
        {
            "b": "year_1899.csv line 3: column date: 1899-12-29 is outside the XNYS calendar, "
            "which covers {xnys}; events must fall inside that range"
        },
    ),
    "year_2300.csv": (
        ["a"],
        {
            "b": "year_2300.csv line 3: column date: 2300-01-03 is outside the XNYS calendar, "
            "which covers {xnys}; events must fall inside that range"
        },
    ),
    "bad_date.csv": (
        ["a"],
        {
            "b": "bad_date.csv line 3: column date: '2024-02-30' is not a date YYYY-MM-DD",
            "c": "bad_date.csv line 4: column date: '24/04/2024' is not a date YYYY-MM-DD",
        },
    ),
    "bad_timing.csv": (
        ["a"],
        {
            "b": "bad_timing.csv line 3: column timing: 'tonight' is not one of before_open, "
            "during, after_close, unknown"
        },
    ),
    "empty_id.csv": (["a"], {"": "empty_id.csv line 3: column event_id: is empty"}),
    "bad_ticker.csv": (
        ["a"],
        {
            "b": "bad_ticker.csv line 3: column ticker: ticker '../../etc/passwd': not a Yahoo "
            "ticker (expected upper case letters and digits, optionally '-', a leading '^' for "
            "an index and an exchange suffix such as '.HK', e.g. 'META', '0700.HK', '^GSPC')",
            # the markets module's own words for an unknown suffix, after the file and line
            "c": "bad_ticker.csv line 4: column ticker: {unknown_suffix}",
        },
    ),
    # blank lines are not rows, and do not shift the line numbers
    "blank_lines.csv": (
        ["a"],
        {"b": "blank_lines.csv line 5: column date: '2024-13-01' is not a date YYYY-MM-DD"},
    ),
    "bom.csv": (["a"], {}),
    # the shape of a row and its bytes are that row's problem, not the file's: the other rows
    # are read (these were once "line 3: 4 values, but the header has 3 columns" and "not
    # UTF-8 text (byte 24...)" for the whole file)
    "ragged.csv": (
        ["a"],
        {
            "b": "ragged.csv line 3: 4 values, but the header has 3 columns: check for an extra "
            "comma (quote a cell that holds a comma)"
        },
    ),
    "not_utf8.csv": (
        [],
        {
            "a": "not_utf8.csv line 2: column ticker: not UTF-8 text (byte 0xc9); save the file "
            "as UTF-8"
        },
    ),
    "not_utf8_row.csv": (  # the row after it has a quoted note over two lines
        ["a", "c"],
        {
            "b": "not_utf8_row.csv line 3: column note: not UTF-8 text (byte 0xe9); save the file "
            "as UTF-8"
        },
    ),
    "unclosed_quote.csv": (
        ["a", "c"],
        {
            "b": "unclosed_quote.csv line 3: a quote opened on this line is never closed: check "
            "its quotes (a quoted cell must end with a quote)"
        },
    ),
    "unclosed_quote_last.csv": (
        ["a"],
        {
            "b": "unclosed_quote_last.csv line 3: a quote opened on this line is never closed: "
            "check its quotes (a quoted cell must end with a quote)"
        },
    ),
    # a quote closed on a later line, through the ticker column: each line is its own row
    "stray_quote.csv": (
        ["a", "d"],
        {
            "b": "stray_quote.csv line 3: a quoted cell runs from this line to line 4, through "
            "column ticker, which holds one line: check its quotes",
            "c": "stray_quote.csv line 4: column ticker: ticker 'AAPL\"': not a Yahoo ticker "
            "(expected upper case letters and digits, optionally '-', a leading '^' for an index "
            "and an exchange suffix such as '.HK', e.g. 'META', '0700.HK', '^GSPC')",
        },
    ),
    # line 2's note runs over two lines (fine); line 4's quote closes into a row too long
    "quote_into_long_row.csv": (
        ["a", "d"],
        {
            "b": "quote_into_long_row.csv line 4: a quoted cell runs from this line to line 5, "
            "and the row then has 6 values, but the header has 5 columns: check its quotes",
            "c": "quote_into_long_row.csv line 5: 6 values, but the header has 5 columns: check "
            "for an extra comma (quote a cell that holds a comma)",
        },
    ),
}


def test_every_file_of_the_corpus_has_a_case() -> None:
    files = {p.name for p in HERE.glob("*.csv")}
    assert files == set(FILE_ERRORS) | set(ROW_OUTCOMES)


@pytest.mark.parametrize("name", sorted(FILE_ERRORS))
def test_files_that_cannot_be_read(name: str) -> None:
    path = HERE / name
    with pytest.raises(EventsFileError) as caught:
        read_events_csv(path)
    assert str(caught.value) == FILE_ERRORS[name].format(path=path)


@pytest.mark.parametrize("name", sorted(ROW_OUTCOMES))
def test_bad_rows_are_left_out_with_their_line(name: str) -> None:
    kept, reasons = ROW_OUTCOMES[name]
    table, dropped = read_events_csv(HERE / name)
    assert table["event_id"].tolist() == kept
    assert {d.event_id: d.reason for d in dropped} == {
        k: v.format(xnys=_xnys_range(), unknown_suffix=_unknown("META.ZZ"))
        for k, v in reasons.items()
    }
    assert {d.stage for d in dropped} <= {"input"}


def test_quoted_cells_over_lines_are_kept_whole() -> None:
    table, _ = read_events_csv(HERE / "not_utf8_row.csv")
    assert table["note"].tolist() == ["fine", "two\nlines"]
    table, _ = read_events_csv(HERE / "quote_into_long_row.csv")
    assert table["note"].tolist() == ["one, two\nthree", "w"]


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "events.csv"
    os.mkfifo(fifo)
    assert refused_without_hanging(read_events_csv, fifo) == (
        f"EventsFileError: {fifo}: is not a regular file (a FIFO or a device?), not an events file"
    )


def test_a_folder_and_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EventsFileError) as caught:
        read_events_csv(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a folder, not an events file"
    with pytest.raises(EventsFileError) as caught:
        read_events_csv(tmp_path / "none.csv")
    assert str(caught.value) == f"{tmp_path / 'none.csv'}: no such events file"
