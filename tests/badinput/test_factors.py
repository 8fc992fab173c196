"""Bad factor files (``evbt study --factors``): one file per case, the exact outcome.

Every malformed row is an error naming ``file:line`` (all of them, not the first only); a NUL
row no longer ends the factors silently and an ``inf`` is refused like a ``nan``. The FIFO and
the folder are made at run time (git keeps neither).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backtest.study.inputs import FactorFileError, read_factors
from tests.badinput.badinput_helpers import refused_without_hanging

HERE = Path(__file__).resolve().parent / "factors"

ERRORS = {
    "invalid_date.csv": "{path}:6: date 20230230 is not a valid date (YYYYMMDD)",
    "ragged.csv": "{path}:6: 3 values, but the header names 4 columns",
    "duplicate_date.csv": "{path}:6: date 20230103 repeats line 5",
    "duplicate_column.csv": "{path}:4: column(s) SMB appear twice in the header",
    "nul_row.csv": "{path}:6: holds NUL bytes (a damaged file?)",
    "inf_row.csv": "{path}:6: column HML: 'inf' is not a finite number",
    "nan_row.csv": "{path}:6: column SMB: 'nan' is not a finite number",
    "text_value.csv": "{path}:5: column RF: 'abc' is not a number",
    "missing_code.csv": "{path}:5: column SMB: -99.99 is Ken French's code for a missing value",
    "header_only.csv": "{path}: no daily rows found; expected Ken French's format (a header "
    "line such as ',Mkt-RF,SMB,HML,RF' followed by rows 'YYYYMMDD, ...' in percent)",
    "no_rows.csv": "{path}: no daily rows found; expected Ken French's format (a header line "
    "such as ',Mkt-RF,SMB,HML,RF' followed by rows 'YYYYMMDD, ...' in percent)",
    "not_a_row.csv": "{path}:6: 'Annual Factors: January-December' is not a row "
    "'YYYYMMDD, value, ...'",
    "several.csv": "3 malformed rows in the factor file {path}:\n"
    "  {path}:5: 3 values, but the header names 4 columns\n"
    "  {path}:6: date 20230230 is not a valid date (YYYYMMDD)\n"
    "  {path}:7: column SMB: 'inf' is not a finite number",
}
READ = {"crlf_ok.csv": {"Mkt-RF": [0.003, -0.004], "RF": [0.00018, 0.00018]}}


def test_every_file_of_the_corpus_has_a_case() -> None:
    assert {p.name for p in HERE.glob("*.csv")} == set(ERRORS) | set(READ)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_malformed_factor_files(name: str) -> None:
    path = HERE / name
    with pytest.raises(FactorFileError) as caught:
        read_factors(path)
    assert str(caught.value) == ERRORS[name].format(path=path)


def test_a_well_formed_file_with_crlf_line_ends() -> None:
    frame = read_factors(HERE / "crlf_ok.csv")
    for column, values in READ["crlf_ok.csv"].items():
        assert frame[column].tolist() == pytest.approx(values, rel=1e-12)
    assert frame.index.strftime("%Y-%m-%d").tolist() == ["2023-01-03", "2023-01-04"]


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "F-F.csv"
    os.mkfifo(fifo)
    assert refused_without_hanging(read_factors, fifo) == (
        f"FactorFileError: {fifo}: is not a regular file (a FIFO or a device?), not a factor file"
    )


def test_a_folder_a_missing_file_and_a_factor_given_twice(tmp_path: Path) -> None:
    with pytest.raises(FactorFileError) as caught:
        read_factors(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a folder, not a factor file"
    with pytest.raises(FactorFileError) as caught:
        read_factors(tmp_path / "none.csv")
    assert str(caught.value) == f"{tmp_path / 'none.csv'}: no such factor file"
    ok = HERE / "crlf_ok.csv"
    with pytest.raises(FactorFileError) as caught:
        read_factors([ok, ok])
    assert str(caught.value) == (
        f"factor column(s) Mkt-RF, SMB, HML appear in both {ok} and {ok}: give each factor once"
    )
