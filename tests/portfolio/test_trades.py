"""The no-look-ahead rule: every fill is at a price printed after the information existed."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.markets import get_calendar
from backtest.portfolio.trades import plan_trades
from backtest.sessions import day0_session, event_instant

D = dt.date
BENCH = {"XNYS": "SPY", "XHKG": "^HSI"}


def table(rows: list[dict[str, object]]) -> pd.DataFrame:
    out = []
    for i, r in enumerate(rows):
        market = "XHKG" if str(r["ticker"]).endswith(".HK") else "XNYS"
        timing = r.get("timing", "exact")
        kw = (
            {"timing": timing}
            if timing != "exact"
            else {"time": dt.time.fromisoformat(str(r["time"])), "timezone": r["timezone"]}
        )
        day0 = day0_session(market, date=r["date"], **kw)  # type: ignore[arg-type]
        out.append(
            {
                "event_id": f"e{i}",
                "ticker": r["ticker"],
                "market": market,
                "day0": day0,
                "date": pd.Timestamp(r["date"]),
                "timing": timing,
                "time": r.get("time"),
                "timezone": r.get("timezone"),
            }
        )
    return pd.DataFrame(out)


def entries(rows: list[dict[str, object]], fill: str, **kw: object) -> list[dt.date]:
    plan = plan_trades(
        table(rows),
        fill=fill,
        lag=int(kw.get("lag", 0)),
        hold=int(kw.get("hold", 5)),  # type: ignore[call-overload]
        direction=1,
        hedge=False,
        benchmarks=BENCH,
        condition_day=kw.get("condition_day"),  # type: ignore[arg-type]
    )
    return [d.date() for d in plan.trades["entry_date"]]


@pytest.mark.parametrize(
    ("row", "next_open", "close", "why"),
    [
        # Meta's Q1 2024 results after the close of 2024-04-24: the first open and the first
        # close after them are both on 2024-04-25 -- never the close of 2024-04-24.
        (
            {"ticker": "META", "date": D(2024, 4, 24), "timing": "after_close"},
            D(2024, 4, 25),
            D(2024, 4, 25),
            "after close",
        ),
        # LLaMA during the session of Friday 2023-02-24: that open came before it, so the
        # first open after it is Monday's; its close is the same day's.
        (
            {"ticker": "META", "date": D(2023, 2, 24), "timing": "during"},
            D(2023, 2, 27),
            D(2023, 2, 24),
            "during the session",
        ),
        # Layoffs before the open of 2022-11-09: that very open.
        (
            {"ticker": "META", "date": D(2022, 11, 9), "timing": "before_open"},
            D(2022, 11, 9),
            D(2022, 11, 9),
            "before the open",
        ),
        # Signed during the 4 July holiday: Monday's open is the first price after it.
        (
            {"ticker": "MSFT", "date": D(2025, 7, 4), "timing": "during"},
            D(2025, 7, 7),
            D(2025, 7, 7),
            "holiday",
        ),
        # A Saturday announcement: Monday's open.
        (
            {"ticker": "AMZN", "date": D(2023, 7, 8), "timing": "after_close"},
            D(2023, 7, 10),
            D(2023, 7, 10),
            "weekend",
        ),
        # Threads at 19:00 New York time: after the close; the next open (day 0) is after it.
        (
            {
                "ticker": "META",
                "date": D(2023, 7, 5),
                "time": "19:00",
                "timezone": "America/New_York",
            },
            D(2023, 7, 6),
            D(2023, 7, 6),
            "exact, evening",
        ),
        # 10:30 New York time: during the session; the open already happened.
        (
            {
                "ticker": "META",
                "date": D(2023, 7, 5),
                "time": "10:30",
                "timezone": "America/New_York",
            },
            D(2023, 7, 6),
            D(2023, 7, 5),
            "exact, during",
        ),
        # Busan, 11:00 Seoul: the Hong Kong session was running (10:00 there), so the first
        # Hong Kong open after it is the next session's ...
        (
            {
                "ticker": "0700.HK",
                "date": D(2025, 10, 30),
                "time": "11:00",
                "timezone": "Asia/Seoul",
            },
            D(2025, 10, 31),
            D(2025, 10, 30),
            "exact, HK during",
        ),
        # ... while in New York it was the evening before: the 10-30 open is after it.
        (
            {"ticker": "META", "date": D(2025, 10, 30), "time": "11:00", "timezone": "Asia/Seoul"},
            D(2025, 10, 30),
            D(2025, 10, 30),
            "exact, NY evening",
        ),
        # Unknown timing on a session date: it may have come after the close -> next session.
        (
            {"ticker": "9988.HK", "date": D(2023, 8, 3), "timing": "unknown"},
            D(2023, 8, 4),
            D(2023, 8, 4),
            "unknown",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_first_tradable_prices(row: dict, next_open: dt.date, close: dt.date, why: str) -> None:
    assert entries([row], "next_open") == [next_open], why
    assert entries([row], "close") == [close], why


def test_lag_and_hold_count_sessions() -> None:
    row = {"ticker": "META", "date": D(2024, 4, 24), "timing": "after_close"}
    plan = plan_trades(
        table([row]), fill="next_open", lag=2, hold=3, direction=1, hedge=False, benchmarks=BENCH
    )
    t = plan.trades.iloc[0]
    assert t["entry_date"].date() == D(2024, 4, 29)  # 04-25 + 2 sessions (a weekend between)
    assert t["exit_date"].date() == D(2024, 5, 2)  # 3 sessions later, open to open


def test_a_condition_waits_for_the_day_close() -> None:
    # the day-0 AR of an after-close release is known at day 0's close: enter on day +1
    row = {"ticker": "META", "date": D(2025, 10, 29), "timing": "after_close"}
    assert entries([row], "next_open", condition_day=0) == [D(2025, 10, 31)]
    assert entries([row], "close", condition_day=0) == [D(2025, 10, 31)]


def test_a_condition_on_a_day_before_day_0_still_waits_for_the_news() -> None:
    # released during the session of Wednesday 2024-06-12: the first open after it is 06-13,
    # the first close 06-12. A condition on day -2 (06-10) is known long before: the entry
    # waits for the news, not for 06-11 (a trade before the announcement existed)
    row = {"ticker": "META", "date": D(2024, 6, 12), "timing": "during"}
    assert entries([row], "next_open", condition_day=-2) == [D(2024, 6, 13)]
    assert entries([row], "close", condition_day=-2) == [D(2024, 6, 12)]
    # a condition on day -1 of a before-open release: day 0's open, and its close
    before = {"ticker": "META", "date": D(2024, 6, 12), "timing": "before_open"}
    assert entries([before], "next_open", condition_day=-1) == [D(2024, 6, 12)]
    assert entries([before], "close", condition_day=-1) == [D(2024, 6, 12)]
    # a condition on day +1 still waits for that day's close
    assert entries([row], "next_open", condition_day=1) == [D(2024, 6, 14)]


def test_hedge_legs_and_overlapping_events() -> None:
    rows = [
        {"ticker": "AMZN", "date": D(2025, 10, 27), "timing": "before_open"},
        {"ticker": "AMZN", "date": D(2025, 10, 28), "timing": "before_open"},
    ]
    plan = plan_trades(
        table(rows), fill="next_open", lag=0, hold=5, direction=1, hedge=True, benchmarks=BENCH
    )
    t = plan.trades
    assert list(t["leg"]) == ["position", "hedge", "position", "hedge"]
    assert list(t["direction"]) == [1, -1, 1, -1]
    assert list(t["underlying"]) == ["AMZN", "SPY", "AMZN", "SPY"]
    # overlapping trades keep their own exits: 5 sessions after each entry
    assert [d.date() for d in t["entry_date"]] == [D(2025, 10, 27)] * 2 + [D(2025, 10, 28)] * 2
    assert [d.date() for d in t["exit_date"]] == [D(2025, 11, 3)] * 2 + [D(2025, 11, 4)] * 2
    own = plan_trades(
        table([*rows[:1], {"ticker": "SPY", "date": D(2025, 10, 28), "timing": "before_open"}]),
        fill="next_open",
        lag=0,
        hold=5,
        direction=1,
        hedge=True,
        benchmarks=BENCH,
    )
    assert own.skipped["reason"].str.contains("its own benchmark").any()


def test_trades_beyond_the_data_are_skipped_with_the_reason() -> None:
    row = {"ticker": "META", "date": D(2026, 8, 18), "timing": "after_close"}
    plan = plan_trades(
        table([row]),
        fill="next_open",
        lag=0,
        hold=20,
        direction=1,
        hedge=False,
        benchmarks=BENCH,
        last_dates={"META": pd.Timestamp("2026-08-21")},
    )
    assert plan.trades.empty
    assert plan.skipped["reason"].iloc[0].startswith("needs prices to 2026-09-")
    assert "the data ends 2026-08-21" in plan.skipped["reason"].iloc[0]


@settings(max_examples=200, deadline=None)
@given(
    when=st.datetimes(min_value=dt.datetime(2015, 1, 1), max_value=dt.datetime(2026, 6, 30)),
    tz=st.sampled_from(["America/New_York", "Asia/Seoul", "Asia/Hong_Kong", "Europe/London"]),
    ticker=st.sampled_from(["META", "0700.HK"]),
    fill=st.sampled_from(["next_open", "close"]),
    lag=st.integers(0, 3),
)
def test_no_fill_before_the_news(
    when: dt.datetime, tz: str, ticker: str, fill: str, lag: int
) -> None:
    """Independent check: the fill's timestamp (the session's open or close from the exchange
    calendar) is ``lag`` sessions after the first such price after the announcement."""
    row = {
        "ticker": ticker,
        "date": when.date(),
        "time": when.time().strftime("%H:%M"),
        "timezone": tz,
    }
    [entry] = entries([row], fill, lag=lag)
    market = "XHKG" if ticker.endswith(".HK") else "XNYS"
    cal = get_calendar(market)
    instant = event_instant(when.date(), dt.time.fromisoformat(row["time"]), tz)
    stamp = cal.session_open if fill == "next_open" else cal.session_close
    first = pd.Timestamp(entry)
    for _ in range(lag):  # the entry is lag sessions after the first price after the news
        first = cal.previous_session(first)
    assert stamp(first) > instant
    assert stamp(cal.previous_session(first)) <= instant  # the session before it came before
