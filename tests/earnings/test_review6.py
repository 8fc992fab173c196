"""Rows the import once dropped or mislabelled: a reported EPS of 0.00 that yfinance blanked, a
multi-ticker calendar named like a ticker, and bad rows of a fetched calendar. Expectations are
worked out by hand from the rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from backtest.earnings import import_earnings
from backtest.earnings.yahoo import EarningsCache, EarningsSource
from backtest.errors import CatalogProblem
from tests.earnings.fakes import factory

HEADER = "EarningsDate,EPS Estimate,Reported EPS,Surprise(%)\n"
NOW = dt.datetime(2025, 11, 22, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.write_text(text, encoding="utf-8")
    return path


# 1. yfinance turns a reported EPS of 0.00 into NaN (``.replace(0.0, np.nan)``) but keeps the
# surprise: such rows have been reported.


def test_a_blank_reported_eps_with_a_surprise_is_an_announcement() -> None:
    write(
        "DOW.csv",
        HEADER
        + "2026-01-29 06:00:00-05:00,0.1,,\n"  # scheduled: no EPS, no surprise
        + "2025-01-30 06:00:00-05:00,0.24,,-100.0\n"  # DOW's real row: reported 0.00
        + "2024-02-27 08:00:00-05:00,-0.13,,100.0\n"  # estimate below 0, +100%: reported 0
        + "2021-04-27 16:00:00-04:00,-0.01,,107.0\n"  # not exact: EPS left missing
        + "2020-02-27 06:00:00-05:00,1.09,,-99.66\n",  # not exact either
    )
    result = import_earnings(from_paths=["DOW.csv"])
    assert [(e.id, e.eps_reported, e.eps_derived, e.scheduled) for e in result.events] == [
        ("dow-2020-02-27-earnings", None, False, False),
        ("dow-2021-04-27-earnings", None, False, False),
        ("dow-2024-02-27-earnings", 0.0, True, False),
        ("dow-2025-01-30-earnings", 0.0, True, False),
    ]
    assert result.scheduled == 1
    assert result.problems == []
    derived, missing = result.events[3], result.events[0]
    assert derived.title == "DOW earnings"
    assert derived.attributes() == {
        "eps_estimate": 0.24, "eps_reported": 0.0, "surprise_pct": -100.0,
    }  # fmt: skip
    assert derived.description == (
        "DOW reported quarterly results on 2025-01-30 06:00 America/New_York (before the "
        "open): EPS 0 (the calendar's Reported EPS is empty, as yfinance leaves a reported "
        "0.00; derived from the surprise) against a consensus estimate of 0.24, a surprise "
        "of -100.00%."
    )
    assert missing.attributes() == {"eps_estimate": 1.09, "surprise_pct": -99.66}
    assert missing.description == (
        "DOW reported quarterly results on 2020-02-27 06:00 America/New_York (before the "
        "open): EPS not on the calendar (its Reported EPS is empty, as yfinance leaves a "
        "reported 0.00, but the surprise does not give the figure exactly) against a "
        "consensus estimate of 1.09, a surprise of -99.66%."
    )
    csv_row = result.to_csv().splitlines()[4].split(",")
    assert csv_row[-3:] == ["0.24", "0.0", "-100.0"]


def test_the_dow_2025_q1_import_of_the_real_file(shared_sp500_earnings: Path) -> None:
    result = import_earnings(
        ["DOW"],
        from_paths=[shared_sp500_earnings],
        since=dt.date(2025, 1, 1),
        until=dt.date(2025, 3, 31),
    )
    assert [(e.id, e.timing, e.eps_reported) for e in result.events] == [
        ("dow-2025-01-30-earnings", "before_open", 0.0)
    ]
    assert (result.scheduled, result.problems) == (0, [])


# 2. A file named explicitly, or one with a Symbol column, is read whatever its name.


MULTI = (
    "Symbol,Earnings Date,EPS Estimate,Reported EPS,Surprise(%)\n"
    "META,2025-10-29 16:00:00-04:00,6.69,7.25,8.66\n"
    "AMZN,2025-10-30 16:00:00-04:00,1.57,1.95,24.2\n"
)


def test_a_multi_ticker_file_named_like_a_ticker_is_read() -> None:
    write("CALENDAR.csv", MULTI)
    result = import_earnings(["META"], from_paths=["CALENDAR.csv"])
    assert [e.id for e in result.events] == ["meta-2025-10-29-earnings"]
    assert (result.failed, result.problems) == ({}, [])


def test_in_a_folder_a_symbol_column_file_is_read_and_other_tickers_files_are_not() -> None:
    Path("cal").mkdir()
    write("cal/CALENDAR.csv", MULTI)
    write("cal/AMZN.csv", HEADER + "2025-07-31 16:00:00-04:00,1.33,1.68,26.3\n")
    write("cal/META.csv", HEADER + "2025-07-30 16:00:00-04:00,5.88,7.14,21.4\n")
    result = import_earnings(["META"], from_paths=["cal"])
    assert [(e.id, e.origin) for e in result.events] == [
        ("meta-2025-07-30-earnings", "cal/META.csv:2"),
        ("meta-2025-10-29-earnings", "cal/CALENDAR.csv:2"),
    ]
    assert (result.failed, result.problems) == ({}, [])


# 3. The live fetch reports bad rows like the file path: never a silent drop.


def test_a_fetched_calendars_bad_rows_are_problems_and_stay_so_from_the_cache(
    tmp_path: Path,
) -> None:
    idx = pd.DatetimeIndex(
        [
            pd.Timestamp("2025-10-29 16:00", tz="America/New_York"),
            pd.NaT,
            pd.Timestamp("2025-07-30 16:00", tz="America/New_York"),
            pd.Timestamp("2025-04-30 16:00", tz="America/New_York"),
        ],
        name="Earnings Date",
    )
    frame = pd.DataFrame(
        {
            "EPS Estimate": [6.69, 5.0, 5.9, 5.2],
            "Reported EPS": [7.25, 6.0, "7.14*", 6.43],
            "Surprise(%)": [8.66, 1, 21, 23.6],
        },
        index=idx,
    )
    make, calls = factory({"META": [frame]})
    src = EarningsSource(
        cache=EarningsCache(tmp_path / "cache"),
        ticker_factory=make,
        reachable=lambda: True,
        clock=lambda: NOW,
        threads=1,
    )
    expected = [
        CatalogProblem(
            "META (Yahoo, fetched 2025-11-22)",
            2,
            "",
            "",
            "column Earnings Date: no date and time (NaT): the row cannot be placed",
        ),
        CatalogProblem(
            "META (Yahoo, fetched 2025-11-22)",
            3,
            "",
            "",
            "column Reported EPS: '7.14*' is not a number (Yahoo's calendar should give a "
            "number or nothing)",
        ),
    ]
    for _ in range(2):  # fetched, then served from the cache: the same account
        result = import_earnings(["META"], source=src)
        assert [(e.id, e.eps_reported, e.origin) for e in result.events] == [
            ("meta-2025-04-30-earnings", 6.43, "META (Yahoo, fetched 2025-11-22):4"),
            ("meta-2025-10-29-earnings", 7.25, "META (Yahoo, fetched 2025-11-22):1"),
        ]
        assert result.problems == expected
        assert (result.scheduled, result.failed) == (0, {})
    assert calls == [("META", 100)]
