"""Calendar rows as earnings events: ids, local dates, timings, attributes, scheduled rows,
duplicates, date bounds, malformed rows. Expectations are worked out by hand from the rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from backtest.catalog import load_catalog
from backtest.earnings import import_earnings, ticker_slug
from backtest.markets import get_calendar

HEADER = "EarningsDate,EPS Estimate,Reported EPS,Surprise(%)\n"
ROW = "2025-10-29 16:00:00-04:00,6.67,7.25,8.66"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def calendar(name: str, *rows: str, header: str = HEADER) -> Path:
    path = Path(name)
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("stamp", "timing", "date"),
    [
        ("2025-10-29 16:00:00-04:00", "after_close", "2025-10-29"),  # at the close
        ("2025-10-29 15:59:00-04:00", "unknown", "2025-10-29"),  # during: vague
        ("2025-10-29 12:00:00-04:00", "unknown", "2025-10-29"),
        ("2025-10-29 09:30:00-04:00", "unknown", "2025-10-29"),  # at the open
        ("2025-10-29 09:29:00-04:00", "before_open", "2025-10-29"),
        ("2025-10-29 06:00:00-04:00", "before_open", "2025-10-29"),
        ("2025-10-29 20:00:00+00:00", "after_close", "2025-10-29"),  # 16:00 New York
        ("2025-10-30 03:00:00+00:00", "after_close", "2025-10-29"),  # 23:00 the day before
        ("2025-10-29 16:00:00", "after_close", "2025-10-29"),  # no offset: New York time
        ("2025-10-29", "unknown", "2025-10-29"),  # no time at all
        ("2025-11-28 13:00:00-05:00", "after_close", "2025-11-28"),  # an early close (13:00)
        ("2025-11-29 08:00:00-05:00", "unknown", "2025-11-29"),  # a Saturday: no session
    ],
)
def test_timing_from_the_stamp_in_the_exchanges_time(stamp: str, timing: str, date: str) -> None:
    calendar("META.csv", f"{stamp},6.67,7.25,8.66")
    (event,) = import_earnings(from_paths=["META.csv"]).events
    assert (event.timing, event.date.isoformat()) == (timing, date)
    assert event.id == f"meta-{date}-earnings"


def test_hong_kong_stamps_are_read_against_hong_kongs_session() -> None:
    calendar(
        "0700.HK.csv",
        "2025-11-13 16:30:00+08:00,6.0,6.5,8.3",  # after the 16:00 close
        "2025-08-13 12:30:00+08:00,5.5,5.8,5.4",  # the lunch break: during the session
    )
    events = import_earnings(from_paths=["0700.HK.csv"]).events
    assert [(e.id, e.timing) for e in events] == [
        ("0700-hk-2025-08-13-earnings", "unknown"),
        ("0700-hk-2025-11-13-earnings", "after_close"),
    ]
    assert events[1].day0.date() == dt.date(2025, 11, 14)


def test_ids_are_slugs_of_the_ticker() -> None:
    assert ticker_slug("BRK-B") == "brk-b"
    assert ticker_slug("BF-B") == "bf-b"
    assert ticker_slug("0700.HK") == "0700-hk"
    assert ticker_slug("^GSPC") == "gspc"
    calendar("BRK-B.csv", "2025-11-03 08:00:00-05:00,4.5,4.9,8.9")
    assert import_earnings(from_paths=["BRK-B.csv"]).events[0].id == "brk-b-2025-11-03-earnings"


def test_attributes_scheduled_rows_and_the_date_bounds() -> None:
    calendar(
        "META.csv",
        "2026-01-28 16:00:00-05:00,8.17,,",  # scheduled
        "2025-10-29 16:00:00-04:00,6.67,7.25,8.66",
        "2025-07-30 16:00:00-04:00,,7.14,",  # no estimate, no surprise
        "2019-05-01 16:00:00-04:00,1.6,1.7,6.2",  # before --since
    )
    result = import_earnings(from_paths=["META.csv"], since=dt.date(2019, 6, 1))
    assert [e.id for e in result.events] == ["meta-2025-07-30-earnings", "meta-2025-10-29-earnings"]
    assert result.events[1].attributes() == {
        "eps_estimate": 6.67, "eps_reported": 7.25, "surprise_pct": 8.66,
    }  # fmt: skip
    assert result.events[0].attributes() == {"eps_reported": 7.14}
    assert (result.scheduled, result.outside_dates) == (1, 1)
    with_scheduled = import_earnings(from_paths=["META.csv"], include_scheduled=True)
    scheduled = with_scheduled.events[-1]
    assert scheduled.id == "meta-2026-01-28-earnings"
    assert scheduled.title == "META earnings (scheduled)"
    assert scheduled.attributes() == {"eps_estimate": 8.17}
    assert with_scheduled.scheduled == 0


def test_rows_of_one_announcement_become_one_event_and_the_first_is_kept() -> None:
    calendar(
        "SMCI.csv",
        "2025-02-25 16:00:00-05:00,0.59,0.6,1.92",
        "2025-02-25 16:00:00-05:00,0.75,0.74,-1.93",
        "2024-11-05 16:00:00-05:00,0.7,0.7,0.0",
        "2024-11-05 16:00:00-05:00,0.7,0.7,0.0",
    )
    result = import_earnings(from_paths=["SMCI.csv"])
    assert [(e.id, e.eps_reported) for e in result.events] == [
        ("smci-2024-11-05-earnings", 0.7),
        ("smci-2025-02-25-earnings", 0.6),
    ]
    assert [(m.event_id, m.kept, m.dropped, m.same_figures) for m in result.merged] == [
        ("smci-2025-02-25-earnings", "SMCI.csv:2", ("SMCI.csv:3",), False),
        ("smci-2024-11-05-earnings", "SMCI.csv:4", ("SMCI.csv:5",), True),
    ]


def test_a_malformed_row_is_named_and_the_others_import() -> None:
    calendar(
        "META.csv",
        "2025-10-29 16:00:00-04:00,6.67,7.25,8.66",
        "2025-13-01 16:00:00-04:00,1,1,1",
        "2025-07-30 16:00:00-04:00,5.9,seven,20.96",
        "2025-04-30 16:00:00-04:00,5.21,6.43",
        "2025-01-29 16:00:00-05:00,6.77,8.02,inf",
        "2300-01-30 16:00:00-05:00,1,1,1",
        "1985-01-30 16:00:00-05:00,1,1,1",
        "2024-10-30 16:00:00-04:00,5.25,6.03,14.86",
    )
    result = import_earnings(from_paths=["META.csv"])
    assert [e.date.isoformat() for e in result.events] == ["2024-10-30", "2025-10-29"]
    sessions = get_calendar("XNYS").sessions
    assert [str(p) for p in result.problems] == [
        "META.csv:3: column EarningsDate: '2025-13-01 16:00:00-04:00' is not a date and time "
        "(expected e.g. 2025-10-29 16:00:00-04:00)",
        "META.csv:4: column Reported EPS: 'seven' is not a number (leave the cell empty when "
        "there is none)",
        "META.csv:5: has 3 cells, but the header has 4 columns",
        "META.csv:6: column Surprise(%): 'inf' is not a number (leave the cell empty when "
        "there is none)",
        f"META.csv:7: 2300-01-30 is outside the XNYS calendar, which covers "
        f"{sessions[0].date()} to {sessions[-1].date()}",
        f"META.csv:8: 1985-01-30 is outside the XNYS calendar, which covers "
        f"{sessions[0].date()} to {sessions[-1].date()}",
    ]


@pytest.mark.parametrize(
    ("header", "row"),
    [
        # reset_index().to_csv() of yfinance 1.7's frame
        ("Earnings Date,EPS Estimate,Reported EPS,Surprise(%)", ROW),
        # older saves (the S&P 500 set), with a BOM and the spaced surprise column
        ("\ufeffEarningsDate,EPS Estimate,Reported EPS,Surprise (%)", ROW),
        # a bare date column, ISO stamps, only the reported EPS
        ("Date,Reported EPS", "2025-10-29T16:00:00-04:00,7.25"),
        # a ticker column and the screener's event type
        ("Symbol,Earnings Date,EPS Estimate,Reported EPS,Surprise(%),Event Type",
         "META,2025-10-29 16:00:00-04:00,6.67,7.25,8.66,Earnings"),
    ],
)  # fmt: skip
def test_the_shapes_people_save(header: str, row: str) -> None:
    calendar("META.csv", row, header=header + "\n")
    result = import_earnings(from_paths=["META.csv"])
    assert result.problems == []
    assert [(e.id, e.timing, e.eps_reported) for e in result.events] == [
        ("meta-2025-10-29-earnings", "after_close", 7.25)
    ]


def test_screener_files_keep_only_earnings_rows() -> None:
    calendar(
        "x.csv",
        "META,2025-10-29 16:00:00-04:00,6.67,7.25,8.66,Earnings",
        "META,2025-10-30 17:00:00-04:00,,,,Call",
        header="Symbol,Earnings Date,EPS Estimate,Reported EPS,Surprise(%),Event Type\n",
    )
    result = import_earnings(from_paths=["x.csv"])
    assert len(result.events) == 1
    assert result.notes == ["1 calendar rows of other event types (calls, meetings) left out"]


def test_files_that_cannot_be_used() -> None:
    Path("EMPTY.csv").write_text("")
    calendar("NODATE.csv", "6.67,7.25", header="EPS Estimate,Reported EPS\n")
    calendar("notes.csv", "2025-10-29 16:00:00-04:00,7.25", header="EarningsDate,Reported EPS\n")
    result = import_earnings(from_paths=["EMPTY.csv", "NODATE.csv", "notes.csv"])
    shape = (
        "an earnings calendar saved from yfinance's get_earnings_dates() has the columns "
        "Earnings Date (or EarningsDate), EPS Estimate, Reported EPS and Surprise(%)"
    )
    assert [str(p) for p in result.problems] == [
        f"EMPTY.csv:1: file is empty: {shape}",
        f"NODATE.csv:1: missing column(s) Earnings Date: {shape}",
        "notes.csv:1: no Symbol or Ticker column, and the file name names no ticker: name the "
        "file after the ticker (e.g. META.csv)",
    ]
    assert result.events == []


def test_tickers_select_files_and_unknown_ones_are_named() -> None:
    calendar("META.csv", "2025-10-29 16:00:00-04:00,6.67,7.25,8.66")
    calendar("AMZN.csv", "2025-10-30 16:00:00-04:00,1.56,1.95,25.3")
    result = import_earnings(["AMZN", "NFLX", "bad ticker"], from_paths=["."])
    assert [e.ticker for e in result.events] == ["AMZN"]
    assert result.failed == {
        "NFLX": "no calendar rows for NFLX in .",
        "bad ticker": "not a Yahoo ticker (expected upper case letters and digits, optionally "
        "'-', a leading '^' for an index and an exchange suffix such as '.HK', e.g. 'META', "
        "'0700.HK', '^GSPC')",
    }


def test_both_outputs_are_catalogs_that_load_to_the_same_table() -> None:
    calendar(
        "ON.csv",  # a ticker YAML 1.1 would read as a boolean
        "2025-11-03 06:00:00-05:00,0.59,0.63,6.3",
        "2025-08-04 12:00:00-04:00,0.53,0.58,9.1",
    )
    result = import_earnings(from_paths=["ON.csv"])
    Path("on.csv").write_text(result.to_csv())
    Path("on.yaml").write_text(result.to_yaml())
    a, b = load_catalog(["on.csv"], strict=True), load_catalog(["on.yaml"], strict=True)
    assert [e.tickers for e in b] == [("ON",), ("ON",)]
    assert "&" not in Path("on.yaml").read_text()  # no anchors: catalogs refuse aliases
    cols = [c for c in a.to_frame().columns if c != "file"]
    assert a.to_frame()[cols].equals(b.to_frame()[cols])
    assert a.attributes() == b.attributes()
    assert a.attributes()["eps_estimate"].known == "before"
    assert a.attributes()["surprise_pct"].known == "at_event"
    assert a.get("on-2025-11-03-earnings").sources[0].document == (
        "Yahoo Finance earnings calendar, saved from yfinance get_earnings_dates: ON.csv line 2"
    )
