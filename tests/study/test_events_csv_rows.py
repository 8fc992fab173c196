"""``evbt study --events-csv``: a row with too many values, a quote never closed or a byte
that is not UTF-8 is left out and listed under Dropped with its file and line; the other rows
are studied (each once refused the whole file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clirun import run_main

HEADER = "event_id,ticker,date,timing\n"
GOOD = "e1,META,2023-07-05,before_open\n"
LAST = "e3,MSFT,2023-07-14,after_close\n"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            b"e2,AAPL,2023-07-14,after_close,extra\n",
            "line 3: 5 values, but the header has 4 columns: check for an extra comma",
        ),
        (b'e2,"AAPL,2023-07-14,after_close\n', "line 3: a quote opened on this line is never"),
        (
            b"e2,AAPL\xe9,2023-07-14,after_close\n",
            "line 3: column ticker: not UTF-8 text (byte 0xe9)",
        ),
    ],
)
def test_a_bad_row_is_dropped_and_the_others_studied(
    row: bytes,
    reason: str,
    shared_prices_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "ev.csv"
    path.write_bytes(HEADER.encode() + GOOD.encode() + row + LAST.encode())
    code, out, err = run_main(
        ["study", "--events-csv", str(path), "--prices-dir", str(shared_prices_dir),
         "--max-loss", "0.5"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "2 (event, ticker) rows measured, 1 dropped" in out
    assert f"- 1 x input: ev.csv {reason}" in out
