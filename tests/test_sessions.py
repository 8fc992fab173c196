"""The day-0 rule (backtest/sessions.py) on hand-picked dates and on random timestamps.

Every hand-picked case says why it is there. Expected sessions come from the exchanges' published
holiday and early-close schedules, not from the code under test.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.errors import CalendarRangeError
from backtest.markets import get_calendar
from backtest.sessions import TIMINGS, day0_session, day0_sessions, event_instant

D = dt.date
T = dt.time


def _d0(market: str, date: dt.date, **kw: object) -> dt.date:
    return day0_session(market, date=date, **kw).date()  # type: ignore[arg-type]


# ------------------------------------------------------------------ timing given as a label


@pytest.mark.parametrize(
    ("market", "date", "timing", "expected", "why"),
    [
        # 2025-07-04 is Independence Day, a US market holiday: the One Big Beautiful Bill was
        # signed that day, so day 0 is the next session, Monday 2025-07-07.
        ("XNYS", D(2025, 7, 4), "during", D(2025, 7, 7), "US holiday"),
        # Kuaishou's Q3 2024 results came after the Hong Kong close of Wednesday 2024-11-20.
        ("XHKG", D(2024, 11, 20), "after_close", D(2024, 11, 21), "after close, HK"),
        # Results after the close on a Friday: the reaction is on Monday.
        ("XNYS", D(2025, 10, 31), "after_close", D(2025, 11, 3), "after close on a Friday"),
        # 2025-07-03 is a US half day before the holiday: after its close the next session is
        # after the holiday and the weekend.
        ("XNYS", D(2025, 7, 3), "after_close", D(2025, 7, 7), "after close before a holiday"),
        # A layoff memo before the open stays on that session.
        ("XNYS", D(2022, 11, 9), "before_open", D(2022, 11, 9), "before open"),
        # A Saturday announcement is first traded on Monday, whatever its timing label.
        ("XNYS", D(2023, 7, 8), "before_open", D(2023, 7, 10), "Saturday, before open"),
        ("XNYS", D(2023, 7, 8), "after_close", D(2023, 7, 10), "Saturday, after close"),
        # Lunar New Year 2025: Hong Kong is shut 2025-01-29 to 01-31, so day 0 is 02-03.
        ("XHKG", D(2025, 1, 29), "during", D(2025, 2, 3), "Lunar New Year"),
        # 2025-10-29 is the Chung Yeung Festival holiday in Hong Kong (New York trades).
        ("XHKG", D(2025, 10, 29), "during", D(2025, 10, 30), "HK-only holiday"),
        ("XNYS", D(2025, 10, 29), "during", D(2025, 10, 29), "same day is a US session"),
        # Unknown timing uses the date's own session (CRSP convention, use windows with +1).
        ("XNYS", D(2023, 8, 3), "unknown", D(2023, 8, 3), "unknown on a session"),
        ("XNYS", D(2023, 8, 5), "unknown", D(2023, 8, 7), "unknown on a Saturday"),
    ],
)
def test_day0_with_timing(
    market: str, date: dt.date, timing: str, expected: dt.date, why: str
) -> None:
    assert _d0(market, date, timing=timing) == expected, why


# ------------------------------------------------------------------ exact times


@pytest.mark.parametrize(
    ("market", "date", "time", "tz", "expected", "why"),
    [
        # Threads launched 2023-07-05 at about 19:00 New York time, after the close.
        ("XNYS", D(2023, 7, 5), T(19, 0), "America/New_York", D(2023, 7, 6), "Threads"),
        # The Busan summit began 2025-10-30 11:00 in Seoul = 2025-10-29 22:00 in New York,
        # after that day's close, so the New York reaction is on 2025-10-30 ...
        ("XNYS", D(2025, 10, 30), T(11, 0), "Asia/Seoul", D(2025, 10, 30), "Busan, New York"),
        # ... and 10:00 in Hong Kong, during the morning session of 2025-10-30.
        ("XHKG", D(2025, 10, 30), T(11, 0), "Asia/Seoul", D(2025, 10, 30), "Busan, Hong Kong"),
        # 01:00 in Seoul on 10-30 is noon of 10-29 in New York: during the 10-29 session even
        # though the event's own local date is 10-30.
        ("XNYS", D(2025, 10, 30), T(1, 0), "Asia/Seoul", D(2025, 10, 29), "earlier local date"),
        # Exactly at the 16:00 close is not before it: the next session.
        ("XNYS", D(2025, 10, 29), T(16, 0), "America/New_York", D(2025, 10, 30), "at close"),
        ("XNYS", D(2025, 10, 29), T(15, 59), "America/New_York", D(2025, 10, 29), "1 min before"),
        ("XNYS", D(2025, 10, 29), T(8, 0), "America/New_York", D(2025, 10, 29), "pre-market"),
        ("XNYS", D(2025, 10, 29), T(2, 0), "America/New_York", D(2025, 10, 29), "overnight"),
        # 2025-07-03 closes early at 13:00 New York time: 14:00 is after the close and the next
        # session is after the holiday; 12:00 is during the short session.
        ("XNYS", D(2025, 7, 3), T(14, 0), "America/New_York", D(2025, 7, 7), "after early close"),
        ("XNYS", D(2025, 7, 3), T(12, 0), "America/New_York", D(2025, 7, 3), "in short session"),
        # Hong Kong's lunch break (12:00-13:00) is inside the session.
        ("XHKG", D(2025, 10, 30), T(12, 30), "Asia/Hong_Kong", D(2025, 10, 30), "lunch break"),
        # Christmas Eve 2024 is a Hong Kong half day closing at 12:00; 25 and 26 are holidays.
        ("XHKG", D(2024, 12, 24), T(13, 0), "Asia/Hong_Kong", D(2024, 12, 27), "HK half day"),
        # Daylight saving started 2025-03-09 in New York: 09:00 EDT on 03-10 is before the open.
        ("XNYS", D(2025, 3, 10), T(9, 0), "America/New_York", D(2025, 3, 10), "after DST start"),
        # A London-time announcement at 15:00 on a US trading day is 10:00/11:00 in New York.
        ("XNYS", D(2024, 4, 18), T(15, 0), "Europe/London", D(2024, 4, 18), "London time"),
    ],
)
def test_day0_with_exact_time(
    market: str, date: dt.date, time: dt.time, tz: str, expected: dt.date, why: str
) -> None:
    assert _d0(market, date, time=time, timezone=tz) == expected, why


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="either timing, or both time and timezone"):
        day0_session("XNYS", date=D(2025, 1, 2), timing="during", time=T(9, 0), timezone="UTC")
    with pytest.raises(ValueError, match="either timing, or both time and timezone"):
        day0_session("XNYS", date=D(2025, 1, 2))
    with pytest.raises(ValueError, match="timing must be one of"):
        day0_session("XNYS", date=D(2025, 1, 2), timing="lunch")  # type: ignore[arg-type]


def test_outside_calendar() -> None:
    with pytest.raises(CalendarRangeError, match="outside the XNYS calendar"):
        day0_session("XNYS", date=D(1985, 1, 2), timing="during")
    with pytest.raises(CalendarRangeError, match="outside the XNYS calendar"):
        day0_session("XNYS", date=D(2100, 1, 4), timing="during")
    with pytest.raises(CalendarRangeError):
        day0_session("XHKG", date=D(1985, 1, 2), time=T(10, 0), timezone="Asia/Hong_Kong")


def test_vectorised_on_every_day_of_2024_against_the_calendar() -> None:
    # day0_session(timing=...) is day0_sessions on one date, so the expected sessions come from
    # exchange_calendars directly: the date's own session (the next one after the close), else
    # the first session after the date.
    cal = get_calendar("XHKG")
    dates = pd.date_range("2024-01-01", "2024-12-31", freq="D")
    for timing in TIMINGS:
        vec = day0_sessions("XHKG", dates, np.array([timing] * len(dates)))
        expected = [
            (cal.next_session(d) if timing == "after_close" else d)
            if cal.is_session(d)
            else cal.date_to_session(d, direction="next")
            for d in dates
        ]
        assert list(vec) == expected, timing


def test_event_instant_dst_edges() -> None:
    # 02:30 on 2025-03-09 never happened in New York (clocks jumped 02:00 -> 03:00).
    assert event_instant(D(2025, 3, 9), T(2, 30), "America/New_York") == pd.Timestamp(
        "2025-03-09 07:30", tz="UTC"
    )
    # 01:30 on 2025-11-02 happened twice; the first (EDT, UTC-4) is used.
    assert event_instant(D(2025, 11, 2), T(1, 30), "America/New_York") == pd.Timestamp(
        "2025-11-02 05:30", tz="UTC"
    )


# ------------------------------------------------------------------ properties (hypothesis)

_TZS = ["America/New_York", "Asia/Seoul", "Asia/Hong_Kong", "Europe/London", "UTC"]


def _oracle_exact(market: str, instant: pd.Timestamp) -> pd.Timestamp:
    """The rule as the issue words it, written independently of the implementation:
    take the exchange-local date; if it is a session compare with its open and close;
    otherwise walk forward day by day to the next session."""
    cal = get_calendar(market)
    local_day = pd.Timestamp(instant.tz_convert(cal.tz).date())
    if cal.is_session(local_day):
        if instant < cal.session_close(local_day):  # before the open or during the session
            return local_day
        day = local_day + pd.Timedelta(days=1)
    else:
        day = local_day
    while not cal.is_session(day):
        day += pd.Timedelta(days=1)
    return day


@settings(max_examples=300, deadline=None)
@given(
    market=st.sampled_from(["XNYS", "XHKG"]),
    when=st.datetimes(min_value=dt.datetime(1995, 1, 1), max_value=dt.datetime(2026, 10, 31)),
    tz=st.sampled_from(_TZS),
)
def test_exact_time_properties(market: str, when: dt.datetime, tz: str) -> None:
    cal = get_calendar(market)
    day0 = day0_session(market, date=when.date(), time=when.time(), timezone=tz)
    # the instant, independently of event_instant: pandas' localisation; a skipped local time
    # moves forward by the gap (one hour in every zone sampled), a repeated one is the first
    instant = (
        pd.Timestamp(when)
        .tz_localize(tz, ambiguous=True, nonexistent=pd.Timedelta(hours=1))
        .tz_convert("UTC")
    )
    assert event_instant(when.date(), when.time(), tz) == instant
    # day 0 is always a session ...
    assert cal.is_session(day0)
    # ... that closes after the event (the market can react on it) ...
    assert cal.session_close(day0) > instant
    # ... and never before the event's own session: the previous session closed before it.
    prev = cal.previous_session(day0)
    assert cal.session_close(prev) <= instant
    assert day0 == _oracle_exact(market, instant)


@settings(max_examples=300, deadline=None)
@given(
    market=st.sampled_from(["XNYS", "XHKG"]),
    date=st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2026, 10, 31)),
    timing=st.sampled_from(TIMINGS),
)
def test_timing_properties(market: str, date: dt.date, timing: str) -> None:
    cal = get_calendar(market)
    day0 = day0_session(market, date=date, timing=timing)  # type: ignore[arg-type]
    label = pd.Timestamp(date)
    assert cal.is_session(day0)
    assert day0 >= label  # never before the event's date
    if cal.is_session(label):
        assert day0 == (cal.next_session(label) if timing == "after_close" else label)
    else:
        # the first session after a non-session day, with nothing in between
        assert len(cal.sessions_in_range(label, day0)) == 1


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        # skipped (02:00-03:00 never happened on 2010-03-14 in New York): moved forward
        ("2010-03-14 02:00", "2010-03-14 07:00"),
        # repeated (01:00-02:00 happened twice on 2010-11-07): the first occurrence, EDT
        ("2010-11-07 01:30", "2010-11-07 05:30"),
    ],
)
@pytest.mark.parametrize("fold", [0, 1])
def test_event_instant_reads_dst_edges_the_same_whatever_the_fold(
    local: str, utc: str, fold: int
) -> None:
    when = dt.datetime.fromisoformat(local).replace(fold=fold)
    got = event_instant(when.date(), when.time(), "America/New_York")
    assert got == pd.Timestamp(utc, tz="UTC")
