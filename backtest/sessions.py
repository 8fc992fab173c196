"""Day 0: the trading session on which the market could first react to an event.

This module is the one place where that rule lives. Everything else in evbt (catalog, event
study, strategies) asks it.

The rule
--------
**Day 0 is the first session of the ticker's exchange that closes strictly after the event.**

With an exact ``time`` and ``timezone`` the event is an instant, compared with the sessions'
open and close times of the exchange calendar (early closes and lunch breaks included):

* before a session's open, or during it (lunch break included): that session;
* at or after its close: the next session;
* on a day that is not a session (weekend, holiday): the next session.

With only a ``date`` (local to the exchange) and a ``timing``:

* ``before_open``, ``during`` and ``unknown``: the date's session if the date is a session,
  else the next session;
* ``after_close``: the next session after the date.

``unknown`` uses the date's own session (the convention of CRSP-based event studies: day 0 is the
announcement date and the window [0, +1] catches a reaction that came the next day); results
flag such events so that a reader knows the timing was not known. Strategies never trade at a
price an unknown-timing event could have come after (see ``backtest.portfolio``).

An exact time is the only way to state the timing of an event that touches exchanges in
different time zones correctly: 2025-10-30 11:00 in Seoul is the evening of 2025-10-29 in New
York (after the close, so XNYS day 0 is 2025-10-30) and the morning session in Hong Kong (XHKG
day 0 is 2025-10-30, during). A ``timing`` is read against each ticker's own exchange.

Examples
--------
>>> import datetime as dt
>>> day0_session("XNYS", date=dt.date(2025, 7, 4), timing="during").date()  # US holiday
datetime.date(2025, 7, 7)
>>> day0_session("XNYS", date=dt.date(2023, 7, 5), time=dt.time(19, 0),
...              timezone="America/New_York").date()
datetime.date(2023, 7, 6)
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal, get_args
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from backtest.errors import CalendarRangeError
from backtest.markets import get_calendar

Timing = Literal["before_open", "during", "after_close", "unknown"]
TIMINGS: tuple[str, ...] = get_args(Timing)
#: An exact local time of day, ``HH:MM`` or ``HH:MM:SS`` (24-hour), matched whole: its hour,
#: minute and second (the catalog's ``time:`` and an events file's ``time`` column).
TIME_OF_DAY = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?")


def event_instant(date: dt.date, time: dt.time, timezone: str) -> pd.Timestamp:
    """The UTC instant of an event given as a local date, time and IANA timezone.

    A local time skipped by a daylight-saving change (it never happened) is moved forward by
    the gap; an ambiguous one (it happened twice) is read as the first occurrence.
    """
    # fold=0 (PEP 495): a skipped time is read with the offset before the change (so it lands
    # one gap later on the wall clock), a repeated one as its first occurrence. A time given
    # with fold=1 would be read the other way: the rule holds whatever fold it carries.
    aware = dt.datetime.combine(date, time.replace(fold=0), tzinfo=ZoneInfo(timezone))
    return pd.Timestamp(aware).tz_convert("UTC")


def day0_session(
    market: str,
    *,
    date: dt.date,
    timing: Timing | None = None,
    time: dt.time | None = None,
    timezone: str | None = None,
) -> pd.Timestamp:
    """Day-0 session (a tz-naive midnight Timestamp) of an event on one market.

    Give either ``timing`` or both ``time`` and ``timezone``; see the module docstring for the
    rule.

    Parameters
    ----------
    market:
        exchange_calendars code of the ticker's exchange, e.g. ``"XNYS"``.
    date:
        The event's calendar date, local to where it happened.
    timing:
        ``before_open``, ``during``, ``after_close`` or ``unknown``, read against ``market``.
    time, timezone:
        Exact local time and its IANA timezone.

    Raises
    ------
    CalendarRangeError
        Day 0 would fall outside the calendar's range.
    ValueError
        Neither or both of ``timing`` and ``time``/``timezone`` were given.
    """
    if time is not None or timezone is not None:
        if time is None or timezone is None or timing is not None:
            raise ValueError("give either timing, or both time and timezone")
        instant = event_instant(date, time, timezone)
        found = day0_sessions_at(market, np.array([instant.tz_localize(None).to_datetime64()]))
        if pd.isna(found[0]):
            sessions = get_calendar(market).sessions
            raise CalendarRangeError(market, instant, sessions[0].date(), sessions[-1].date())
        return pd.Timestamp(found[0])
    if timing is None:
        raise ValueError("give either timing, or both time and timezone")
    return pd.Timestamp(day0_sessions(market, pd.DatetimeIndex([date]), np.array([timing]))[0])


def day0_sessions(
    market: str,
    dates: pd.DatetimeIndex | pd.Series,
    timings: pd.Series | np.ndarray,
    *,
    errors: Literal["raise", "coerce"] = "raise",
) -> pd.DatetimeIndex:
    """Vectorised :func:`day0_session` for date + timing inputs (catalogs, events files).

    ``dates`` are tz-naive dates local to the exchange; ``timings`` holds one of
    :data:`TIMINGS` per date. A date whose day 0 falls outside the calendar raises
    :class:`CalendarRangeError` naming the first such date, or with ``errors="coerce"`` gives
    ``NaT`` in its place.

    >>> found = day0_sessions("XNYS", pd.DatetimeIndex(["2025-07-03", "2025-07-04", "1900-01-02"]),
    ...                       np.array(["after_close", "during", "unknown"]), errors="coerce")
    >>> [str(d)[:10] for d in found]
    ['2025-07-07', '2025-07-07', 'NaT']
    """
    cal = get_calendar(market)
    sessions = cal.sessions
    labels = pd.DatetimeIndex(pd.to_datetime(dates)).normalize()
    timing_arr = np.asarray(timings, dtype=object)
    bad = ~np.isin(timing_arr, TIMINGS)
    if bad.any():
        raise ValueError(f"timing must be one of {', '.join(TIMINGS)}, not {timing_arr[bad][0]!r}")
    pos = sessions.searchsorted(labels, "left")
    in_range = pos < len(sessions)
    on_session = np.zeros(len(labels), dtype=bool)
    on_session[in_range] = sessions[pos[in_range]] == labels[in_range]
    pos = pos + (on_session & (timing_arr == "after_close"))
    outside = (labels < sessions[0]) | (pos >= len(sessions))
    return _sessions_or_nat(market, sessions, pos, outside, labels, errors)


def day0_sessions_at(market: str, instants: np.ndarray) -> pd.DatetimeIndex:
    """Vectorised day 0 of events given as instants: the first session closing strictly after.

    ``instants`` are ``datetime64`` UTC instants (tz-naive); day 0 of an instant outside the
    calendar's range is ``NaT``.

    >>> day0_sessions_at("XNYS", np.array(["2023-07-05T23:00", "2023-07-06T15:00"],
    ...                                   dtype="datetime64[ns]"))
    DatetimeIndex(['2023-07-06', '2023-07-06'], dtype='datetime64[ns]', freq=None)
    """
    cal = get_calendar(market)
    sessions = cal.sessions
    when = np.asarray(instants, dtype="datetime64[ns]")
    closes = cal.closes.to_numpy(dtype="datetime64[ns]")  # UTC, naive
    pos = np.searchsorted(closes, when, "right")
    local = pd.DatetimeIndex(when).tz_localize("UTC").tz_convert(cal.tz).tz_localize(None)
    outside = (local.normalize() < sessions[0]) | (pos >= len(sessions))
    return _sessions_or_nat(market, sessions, pos, np.asarray(outside), local, "coerce")


def _sessions_or_nat(
    market: str,
    sessions: pd.DatetimeIndex,
    pos: np.ndarray,
    outside: np.ndarray,
    labels: pd.DatetimeIndex,
    errors: str,
) -> pd.DatetimeIndex:
    if not outside.any():
        return pd.DatetimeIndex(sessions[pos])
    if errors == "raise":
        first_bad = labels[outside][0]
        raise CalendarRangeError(market, first_bad.date(), sessions[0].date(), sessions[-1].date())
    values = sessions.to_numpy()[np.where(outside, 0, pos)]
    values[outside] = np.datetime64("NaT")
    return pd.DatetimeIndex(values)
