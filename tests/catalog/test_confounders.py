"""``load_confounders``: catalogs and saved earnings calendars as one table of confounders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from backtest.catalog import CONFOUNDER_COLUMNS, load_catalog, load_confounders
from backtest.errors import CatalogError, CatalogNotFoundError

CALENDAR = (
    "EarningsDate,EPS Estimate,Reported EPS,Surprise(%)\n"
    "2026-01-28 16:00:00-05:00,8.17,,\n"  # scheduled: not a confounder
    "2025-10-29 16:00:00-04:00,6.67,7.25,8.66\n"  # after the close: day 0 the next session
    "2025-04-30 06:00:00-04:00,5.21,6.43,23.53\n"  # before the open: that day
)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_a_saved_calendar_gives_its_reported_announcements() -> None:
    Path("META.csv").write_text(CALENDAR)
    table = load_confounders(["META.csv"])
    assert list(table.columns) == list(CONFOUNDER_COLUMNS)
    assert table[["event_id", "ticker", "market", "category", "timing"]].values.tolist() == [
        ["meta-2025-04-30-earnings", "META", "XNYS", "earnings", "before_open"],
        ["meta-2025-10-29-earnings", "META", "XNYS", "earnings", "after_close"],
    ]
    assert table["day0"].dt.date.astype(str).tolist() == ["2025-04-30", "2025-10-30"]
    assert table["file"].tolist() == ["META.csv:4", "META.csv:3"]


def test_catalogs_and_calendars_in_one_folder(repo_root: Path) -> None:
    Path("conf").mkdir()
    Path("conf/META.csv").write_text(CALENDAR)
    Path("conf/mine.csv").write_text(
        "id,ticker,date,timing,category\nanalyst-day,AMZN,2025-10-21,before_open,corporate\n"
    )
    table = load_confounders(["conf", repo_root / "events" / "layoffs.yaml"])
    layoffs = load_catalog([repo_root / "events" / "layoffs.yaml"]).to_frame()
    assert len(table) == 3 + len(layoffs)
    assert set(table["event_id"]) >= {"analyst-day", "meta-2025-10-29-earnings",
                                      "amzn-2025-10-layoffs"}  # fmt: skip
    assert table["day0"].dtype == "datetime64[ns]"
    assert not table[list(CONFOUNDER_COLUMNS[:5])].isna().any().any()


def test_problems_are_raised_with_every_one_named_or_kept_aside() -> None:
    Path("META.csv").write_text(CALENDAR + "2025-07-30 16:00:00-04:00,5.9,seven,20.96\n")
    Path("bad.csv").write_text(
        "id,ticker,date,timing,category\nx,META,2025-02-30,unknown,earnings\n"
    )
    with pytest.raises(CatalogError) as info:
        load_confounders(["META.csv", "bad.csv"])
    assert [str(p) for p in info.value.problems] == [
        "bad.csv:2: entry x: field date: '2025-02-30' is not a valid date (expected YYYY-MM-DD)",
        "META.csv:5: column Reported EPS: 'seven' is not a number (leave the cell empty when "
        "there is none)",
    ]
    table = load_confounders(["META.csv", "bad.csv"], strict=False)
    assert len(table) == 2  # the two good calendar rows
    assert len(table.attrs["problems"]) == 2


def test_missing_paths() -> None:
    with pytest.raises(CatalogNotFoundError, match="no such catalog file or folder"):
        load_confounders(["nowhere"])


def test_the_shared_sp500_calendars_as_confounders(shared_sp500_earnings: Path) -> None:
    table = load_confounders(
        [shared_sp500_earnings / "META.csv", shared_sp500_earnings / "AMZN.csv"]
    )
    # reported rows counted from the files alone: a Reported EPS or a Surprise(%) (yfinance
    # blanks a reported 0.00, so a surprise alone is an announcement too)
    expected = 0
    for name in ("META.csv", "AMZN.csv"):
        lines = (shared_sp500_earnings / name).read_text().splitlines()[1:]
        expected += len({line[:10] for line in lines if any(line.split(",")[2:4])})
    assert len(table) == expected
    row = table.set_index("event_id").loc["amzn-2025-10-30-earnings"]
    assert row["day0"] == pd.Timestamp("2025-10-31")
