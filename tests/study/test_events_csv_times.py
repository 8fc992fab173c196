"""An events file's ``time`` and ``timezone`` columns are read as a catalog reads them: they
were ignored, so every row got its date's own session (an announcement at 16:30 in Hong Kong,
after the close, was measured on the session before the news)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.markets import market_of
from backtest.sessions import day0_session
from backtest.study.inputs import read_events_csv

HEAD = "event_id,ticker,date,time,timezone,category\n"


def test_the_reviewers_rows_get_the_catalog_s_sessions(tmp_path: Path) -> None:
    path = tmp_path / "timed.csv"
    path.write_text(
        HEAD + "a,0700.HK,2024-03-20,12:30,Asia/Hong_Kong,corporate\n"
        "b,0700.HK,2024-03-20,16:30,Asia/Hong_Kong,corporate\n"  # after the close
        "c,META,2024-11-29,13:30,America/New_York,corporate\n"  # after the half-day close
        "d,META,2024-11-29,12:30,America/New_York,corporate\n",
        encoding="utf-8",
    )
    table, dropped = read_events_csv(path)
    assert dropped == []
    got = dict(zip(table["event_id"], table["day0"].dt.date.astype(str), strict=True))
    assert got == {"a": "2024-03-20", "b": "2024-03-21", "c": "2024-12-02", "d": "2024-11-29"}
    assert set(table["timing"]) == {"exact"}  # not flagged timing_unknown
    assert list(table["time"]) == ["12:30", "16:30", "13:30", "12:30"]


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ("12:30,,", "timezone", "is empty: a time needs its IANA timezone"),
        (",Asia/Tokyo,", "time", "is empty: a timezone needs the local time"),
        ("25:10,Asia/Tokyo,", "time", "'25:10' is not a time of day HH:MM (24-hour)"),
        ("9h30,Asia/Tokyo,", "time", "'9h30' is not a time of day"),
        ("9:30,Asia/Tokyo,", "time", "'9:30' is not a time of day"),  # as a catalog refuses it
        ("09:30,Asia/Tokyio,", "timezone", "'Asia/Tokyio' is not a known IANA timezone"),
        ("09:30,Asia,", "timezone", "'Asia' is not a known IANA timezone"),  # a tzdata folder
        ("09:30," + "A" * 300 + ",", "timezone", f"'{'A' * 300}' is not a known IANA timezone"),
        ("09:30,Asia/Tokyo,after_close", "timing", "give either timing, or time and timezone"),
    ],
)
def test_a_time_that_cannot_be_used_drops_its_row_only(
    tmp_path: Path, cells: str, column: str, reason: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "event_id,ticker,date,time,timezone,timing\n"
        f"bad,7203.T,2024-05-08,{cells}\n"
        "ok,7203.T,2024-05-08,15:30,Asia/Tokyo,\n",
        encoding="utf-8",
    )
    table, dropped = read_events_csv(path)
    assert list(table["event_id"]) == ["ok"]
    (d,) = dropped
    assert d.event_id == "bad"
    assert d.reason.startswith(f"bad.csv line 2: column {column}: {reason}")


ZONES = ["America/New_York", "Asia/Hong_Kong", "Asia/Tokyo", "Europe/London", "Asia/Seoul",
         "Australia/Sydney", "America/Los_Angeles"]  # fmt: skip
TICKERS = ["META", "0700.HK", "7203.T"]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(TICKERS),
            # around daylight-saving changes too (March, October, November)
            st.dates(dt.date(2019, 1, 1), dt.date(2025, 12, 31)),
            st.times(),
            st.sampled_from(ZONES),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_day0_is_the_catalog_rule_s_for_every_time(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, dt.date, dt.time, str]]
) -> None:
    """The oracle: :func:`backtest.sessions.day0_session` row by row (the catalog's rule)."""
    path = tmp_path_factory.mktemp("t") / "times.csv"
    lines = [f"e{i},{t},{d},{c.strftime('%H:%M:%S')},{z},x" for i, (t, d, c, z) in enumerate(rows)]
    path.write_text(HEAD + "\n".join(lines) + "\n", encoding="utf-8")
    table, dropped = read_events_csv(path)
    assert dropped == []
    for (t, d, c, z), got in zip(rows, table["day0"], strict=True):
        clock = c.replace(microsecond=0)
        want = day0_session(market_of(t).code, date=d, time=clock, timezone=z)
        assert got == want, (t, d, clock, z)
