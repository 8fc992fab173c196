"""Where a catalog file's bytes stop being UTF-8 text: the line that holds the byte and its
offset in the file (a BOM counted), and for a CSV file only that row is left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from backtest.catalog import load_catalog


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


CSV = b"id,ticker,date,timing,category\na,META,2025-10-29,unknown,earnings\n"


def test_a_yaml_file_names_the_line_of_the_byte() -> None:
    path = Path("bom.yaml")
    path.write_bytes(b"\xef\xbb\xbfevents:\n  - id: a\n    title: caf\xe9\n")
    assert [str(p) for p in load_catalog(path).problems] == [
        "bom.yaml:3: not UTF-8 text (invalid continuation byte at byte 35); save as UTF-8"
    ]


def test_a_csv_file_keeps_its_other_rows() -> None:
    path = Path("bom.csv")
    path.write_bytes(
        b"\xef\xbb\xbf" + CSV + b"b,META,2025-10-28,unknown,earnings\xff\n"
        b"c,AAPL,2025-10-30,unknown,earnings\n"
    )
    catalog = load_catalog(path)
    assert [e.id for e in catalog] == ["a", "c"]
    assert [str(p) for p in catalog.problems] == [
        "bom.csv:3: entry b: field category: not UTF-8 text (byte 0xff); save the file as UTF-8"
    ]
