"""The study's two input-file readers on real files and on the cases the corpus does not hold.

``read_factors`` on the Fama-French files of ``../shared/factors`` (figures from its
PROVENANCE.md, and every row against a plain text parse written here); ``read_events_csv`` on
a date at the calendar's far end and on a large file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.markets import get_calendar
from backtest.study.inputs import read_events_csv, read_factors
from tests.conftest import _shared

FF3 = "F-F_Research_Data_Factors_daily.csv"
MOM = "F-F_Momentum_Factor_daily.csv"
FF5 = "F-F_Research_Data_5_Factors_2x3_daily.csv"


@pytest.fixture(scope="module")
def factors_dir() -> Path:
    return _shared("factors")


def plain_parse(path: Path) -> pd.DataFrame:
    """The daily rows by a line loop that shares nothing with the reader under test."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line[:8].isdigit())
    names = [c.strip() for c in lines[start - 1].split(",")[1:]]
    rows, days = [], []
    for line in lines[start:]:
        if not line.strip():
            break
        cells = line.split(",")
        days.append(pd.Timestamp(cells[0].strip()))
        rows.append([float(c) / 100 for c in cells[1:]])
    index = pd.DatetimeIndex(days, name="date").as_unit("ns")
    return pd.DataFrame(rows, index=index, columns=names)


@pytest.mark.parametrize(("name", "rows"), [(FF3, 26_233), (MOM, 26_132), (FF5, 15_751)])
def test_the_french_files_read_whole(factors_dir: Path, name: str, rows: int) -> None:
    got = read_factors(factors_dir / name)
    assert len(got) == rows  # PROVENANCE.md
    pd.testing.assert_frame_equal(got, plain_parse(factors_dir / name), rtol=0, atol=1e-15)


def test_the_checked_values(factors_dir: Path) -> None:
    ff3 = read_factors(factors_dir / FF3)
    assert ff3.loc["1987-10-19", "Mkt-RF"] == pytest.approx(-0.1744)
    assert ff3.loc["2020-03-16", "Mkt-RF"] == pytest.approx(-0.1201)
    assert ff3.loc["2024-08-05", "Mkt-RF"] == pytest.approx(-0.0302)
    day = ff3.loc["2025-10-30"]
    assert day.tolist() == pytest.approx([-0.0110, -0.0015, 0.0061, 0.0002])
    carhart = read_factors([factors_dir / FF3, factors_dir / MOM])
    assert list(carhart.columns) == ["Mkt-RF", "SMB", "HML", "RF", "Mom"]
    assert carhart.index[0] == pd.Timestamp("1926-11-03")  # momentum starts later: inner join
    assert carhart.loc["2025-10-30", "Mom"] == pytest.approx(-0.0002)


def test_an_event_after_the_close_of_the_calendars_last_session(tmp_path: Path) -> None:
    last = get_calendar("XNYS").sessions[-1]
    before = get_calendar("XNYS").sessions[-2]
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,ticker,date,timing\n"
        f"a,META,{before:%Y-%m-%d},after_close\n"  # day 0 is the last session: fine
        f"b,META,{last:%Y-%m-%d},after_close\n"  # day 0 would be beyond the calendar
        f"c,META,{last:%Y-%m-%d},before_open\n",
        encoding="utf-8",
    )
    table, dropped = read_events_csv(path)
    assert table.set_index("event_id")["day0"].to_dict() == {"a": last, "c": last}
    (only,) = dropped
    assert only.event_id == "b"
    assert only.reason.startswith(
        f"events.csv line 3: column date: {last:%Y-%m-%d} is outside the XNYS calendar"
    )


def test_a_large_file_reads_every_row_and_drops_only_the_bad(tmp_path: Path) -> None:
    sessions = get_calendar("XNYS").sessions
    days = sessions[(sessions >= "2015-01-02") & (sessions <= "2024-12-31")]
    rng = np.random.default_rng(0)
    n = 50_000
    picked = days[rng.integers(0, len(days), n)]
    frame = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "ticker": rng.choice(["META", "AAPL", "0700.HK"], n),
            "date": picked.strftime("%Y-%m-%d"),
        }
    )
    frame.loc[[7, 40_000], "date"] = ["1899-12-29", "2300-01-03"]
    path = tmp_path / "many.csv"
    frame.to_csv(path, index=False)
    table, dropped = read_events_csv(path)
    assert len(table) == n - 2
    assert [(d.event_id, d.reason.split(": column")[0]) for d in dropped] == [
        ("e7", "many.csv line 9"),
        ("e40000", "many.csv line 40002"),
    ]


def test_the_factor_files_of_a_run_are_read_once_and_again_when_edited(tmp_path: Path) -> None:
    """``FactorFiles`` keeps a file under its path, size and modification time: read once per
    run, again once edited; another run (another FactorFiles) reads it afresh."""
    import os

    import backtest.study.inputs as inputs
    from backtest.study.inputs import FactorFiles

    rows = ["20240102,0.10,0.20", "20240103,-0.30,0.40", "20240104,0.50,-0.60"]
    path = tmp_path / "f.csv"
    path.write_text("my factors\n\n,A,B\n" + "\n".join(rows) + "\n", encoding="utf-8")
    files = FactorFiles()
    first = read_factors(path, files=files)
    again = read_factors([path], files=files)
    assert files.parsed == 1
    pd.testing.assert_frame_equal(first, again)
    assert first.attrs == again.attrs == {inputs.FACTOR_FILES: {"A": str(path), "B": str(path)}}
    stat = path.stat()
    path.write_text(  # the same size and time, but new values: still the old ones (a run's)
        "my factors\n\n,A,B\n" + "\n".join(rows).replace("0.10", "0.11") + "\n", encoding="utf-8"
    )
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert read_factors(path, files=files).iloc[0, 0] == pytest.approx(0.001)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # edited: read again
    assert read_factors(path, files=files).iloc[0, 0] == pytest.approx(0.0011)
    assert files.parsed == 2
    other = FactorFiles()
    assert read_factors(path, files=other).iloc[0, 0] == pytest.approx(0.0011)
    assert other.parsed == 1
