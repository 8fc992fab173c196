"""Day 0 computed per market at once (the event table, the range check) equals a plain loop
over the exchange calendars, event by event (an oracle that uses none of evbt's day-0 code)."""

from __future__ import annotations

import bisect
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest.catalog import load_catalog

TICKERS = {"META": "XNYS", "SPY": "XNYS", "0700.HK": "XHKG", "7203.T": "XTKS", "VOD.L": "XLON"}
ZONES = ["America/New_York", "Asia/Seoul", "Asia/Hong_Kong", "Europe/London", "UTC"]
_CALS: dict[str, xcals.ExchangeCalendar] = {}


def cal(code: str) -> xcals.ExchangeCalendar:
    if code not in _CALS:
        bound = xcals.get_calendar(code).bound_min()  # Tokyo: evaluated from 1997 only
        start = max(pd.Timestamp("1990-01-01"), bound) if bound is not None else "1990-01-01"
        _CALS[code] = xcals.get_calendar(code, start=start)
    return _CALS[code]


_LISTS: dict[str, tuple[list[dt.date], list[dt.datetime]]] = {}


def lists(code: str) -> tuple[list[dt.date], list[dt.datetime]]:
    """The calendar's sessions and their closes (UTC) as plain Python lists."""
    if code not in _LISTS:
        c = cal(code)
        _LISTS[code] = ([s.date() for s in c.sessions], [t.to_pydatetime() for t in c.closes])
    return _LISTS[code]


def oracle(code: str, date: dt.date, timing: str | None, time: str | None, zone: str | None):
    sessions, closes = lists(code)
    if timing is not None:
        i = bisect.bisect_left(sessions, date)
        if timing == "after_close" and i < len(sessions) and sessions[i] == date:
            i += 1
        return sessions[i] if i < len(sessions) else None
    assert time is not None
    assert zone is not None
    hh, mm = map(int, time.split(":"))
    instant = dt.datetime.combine(date, dt.time(hh, mm), tzinfo=ZoneInfo(zone))
    i = bisect.bisect_right(closes, instant)  # the first close strictly after the instant
    return sessions[i] if i < len(sessions) else None


_events = st.lists(
    st.fixed_dictionaries(
        {
            "date": st.dates(dt.date(1997, 2, 1), dt.date(2026, 6, 30)),
            "tickers": st.lists(st.sampled_from(sorted(TICKERS)), min_size=1, max_size=3,
                                unique=True),
            "when": st.one_of(
                st.sampled_from(["before_open", "during", "after_close", "unknown"]),
                st.tuples(st.integers(0, 23), st.sampled_from([0, 29, 30, 59]),
                          st.sampled_from(ZONES)),
            ),
        }
    ),
    min_size=1,
    max_size=25,
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=_events)
def test_event_table_day0_equals_a_loop_over_the_calendars(
    tmp_path: Path, events: list[dict[str, object]]
) -> None:
    docs = []
    for i, e in enumerate(events):
        doc: dict[str, object] = {
            "id": f"e-{i}", "title": "T", "description": "D", "category": "policy",
            "scope": "company", "date": e["date"].isoformat(),  # type: ignore[attr-defined]
            "tickers": e["tickers"], "sources": [{"document": "d", "says": "s"}],
        }  # fmt: skip
        when = e["when"]
        if isinstance(when, tuple):
            doc["time"] = f"{when[0]:02d}:{when[1]:02d}"
            doc["timezone"] = when[2]
        else:
            doc["timing"] = when
        docs.append(doc)
    path = tmp_path / "gen.yaml"
    path.write_text(yaml.safe_dump({"events": docs}, sort_keys=False))
    cat = load_catalog([path])
    assert cat.problems == ()  # every generated date lies inside the calendars
    frame = cat.to_frame()
    expected = []
    for doc in docs:
        for t in doc["tickers"]:  # type: ignore[attr-defined]
            expected.append(
                oracle(
                    TICKERS[t],
                    dt.date.fromisoformat(str(doc["date"])),
                    doc.get("timing"),  # type: ignore[arg-type]
                    doc.get("time"),  # type: ignore[arg-type]
                    doc.get("timezone"),  # type: ignore[arg-type]
                )
            )
    assert [d.date() for d in frame["day0"]] == expected
    # and each event's own (scalar) day 0 agrees
    assert [e.day0(t).date() for e in cat for t in e.tickers] == expected


def test_events_outside_a_calendar_are_problems_and_the_others_load(tmp_path: Path) -> None:
    last = cal("XHKG").sessions[-1].date()
    docs = [
        {"id": "early", "date": "1989-12-29", "timing": "during", "tickers": ["META"]},
        {"id": "fine", "date": "2024-05-02", "timing": "during", "tickers": ["0700.HK"]},
        {"id": "late", "date": last.isoformat(), "timing": "after_close",
         "tickers": ["0700.HK", "META"]},
        {"id": "claim", "date": "2024-05-02", "timing": "during", "tickers": ["META"],
         "claims": [{"ticker": "^N225", "measure": "close_to_close", "value": 0.01,
                     "source": "d", "says": "s"}]},
    ]  # fmt: skip
    for d in docs:
        d.update(title="T", description="D", category="policy", scope="company",
                 sources=[{"document": "d", "says": "s"}])  # fmt: skip
    path = tmp_path / "range.yaml"
    path.write_text(yaml.safe_dump({"events": docs}, sort_keys=False))
    cat = load_catalog([path])
    assert [e.id for e in cat] == ["fine", "claim"]
    assert [(p.entry, p.field, p.message.split(":")[0]) for p in cat.problems] == [
        ("early", "date", "for META"),
        ("late", "date", "for 0700.HK"),
    ]
    assert pd.Timestamp(cat.get("claim").day0("^N225")).date() == dt.date(2024, 5, 2)
