"""From events to trades: which session and price each position enters and exits at.

The no-look-ahead rule lives here. An order can only fill at a price printed *after* the
information existed:

* ``fill = "next_open"`` enters at the first session **open** after the information,
* ``fill = "close"`` at the first session **close** after it,

then ``lag`` more sessions. For an announcement, "after" is read from its timing on the
ticker's exchange (:mod:`backtest.sessions` gives day 0, the first session closing after it):

==============================  ============================  ==========================
timing                          first open after it           first close after it
==============================  ============================  ==========================
before the open (or a holiday)  day 0                         day 0
during the session              day 0 + 1                     day 0
after the close                 day 0 (the next session)      day 0
exact time                      day 0 if before its open,     day 0
                                else day 0 + 1
unknown, on a session date      day 0 + 1 (it may have        day 0 + 1
                                come after the close)
==============================  ============================  ==========================

So an after-close announcement can never be traded at that day's close, and a during-session
one never at that day's open. A strategy with a ``[condition]`` on the abnormal return of
``day`` knows it only at that day's close: its first open and first close are both on
``day + 1``.

The exit is ``hold`` sessions after the entry, at the same kind of price (open to open, close
to close), unless a stop fires first (in the simulation).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.markets import get_calendar
from backtest.sessions import event_instant

TRADE_COLUMNS = [
    "event_id",
    "ticker",
    "market",
    "leg",
    "direction",
    "underlying",
    "day0",
    "fill",
    "entry_date",
    "exit_date",
    "planned_exit_date",
]


@dataclass(frozen=True)
class TradePlan:
    """Planned trades of one parameter combination and the events that could not be traded.

    ``trades`` has one row per leg: ``leg`` is ``position`` (the stock) or ``hedge`` (the
    benchmark, opposite direction); ``direction`` is +1 (long) or -1 (short); ``underlying``
    is the ticker whose prices the leg trades. ``skipped`` lists ``event_id, ticker, reason``.
    """

    trades: pd.DataFrame
    skipped: pd.DataFrame


def first_tradable(events: pd.DataFrame, market: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in the market's calendar sessions) of the first open and the first close
    after each event's announcement, following the table in the module docstring.

    ``events`` needs ``day0``, ``date``, ``timing`` and, for ``timing == "exact"``, ``time``
    (``HH:MM``) and ``timezone``.
    """
    cal = get_calendar(market)
    sessions = cal.sessions
    day0 = sessions.get_indexer(pd.DatetimeIndex(events["day0"]))
    if (day0 < 0).any():
        raise ValueError("day0 must be a session of the market's calendar")
    timing = events["timing"].to_numpy()
    date = pd.DatetimeIndex(events["date"]).normalize()
    on_session = np.asarray(sessions.get_indexer(date) >= 0)
    open_first = day0.copy()
    close_first = day0.copy()
    during = timing == "during"
    unknown = timing == "unknown"
    open_first[during & on_session] += 1
    open_first[unknown & on_session] += 1
    close_first[unknown & on_session] += 1
    exact = np.flatnonzero(timing == "exact")
    if exact.size:
        # Exact times are few (catalog entries with a clock time); each instant is converted by
        # the same function that placed day 0, so both agree on time zones and DST.
        opens = cal.opens.to_numpy(dtype="datetime64[ns]")
        for i in exact:
            row = events.iloc[i]
            clock = dt.time.fromisoformat(str(row["time"]))
            instant = event_instant(pd.Timestamp(row["date"]).date(), clock, str(row["timezone"]))
            if instant.tz_localize(None).to_datetime64() >= opens[day0[i]]:
                open_first[i] += 1
    return open_first, close_first


def plan_trades(
    events: pd.DataFrame,
    *,
    fill: str,
    lag: int,
    hold: int,
    direction: int,
    hedge: bool,
    benchmarks: dict[str, str],
    condition_day: int | None = None,
    last_dates: dict[str, pd.Timestamp] | None = None,
) -> TradePlan:
    """Entry and exit sessions of every event's position (and hedge), per the module's rule.

    Parameters
    ----------
    events:
        Event table rows to trade (``event_id, ticker, market, day0, date, timing``, and
        ``time, timezone`` for exact times).
    fill, lag, hold:
        Entry price kind (``next_open`` or ``close``), extra sessions, sessions held.
    direction:
        +1 long, -1 short.
    hedge:
        Add an opposite leg in the market's benchmark.
    benchmarks:
        Market code -> benchmark ticker.
    condition_day:
        When the entry waits for the abnormal return of this day (relative to day 0).
    last_dates:
        Ticker -> last date with prices; trades that would exit after it are skipped.
    """
    rows = []
    skipped = []
    for market, block in events.groupby("market", sort=True):  # per market, vectorised inside
        market = str(market)
        sessions = get_calendar(market).sessions
        if condition_day is None:
            open_first, close_first = first_tradable(block, market)
        else:
            d0 = sessions.get_indexer(pd.DatetimeIndex(block["day0"]))
            open_first = close_first = d0 + condition_day + 1
        entry = (open_first if fill == "next_open" else close_first) + lag
        exit_ = entry + hold
        beyond = exit_ >= len(sessions)
        entry_dates = sessions[np.minimum(entry, len(sessions) - 1)]
        exit_dates = sessions[np.minimum(exit_, len(sessions) - 1)]
        bench = benchmarks[market]
        for k, ev in enumerate(block.itertuples(index=False)):  # building rows of the plan
            last = (last_dates or {}).get(ev.ticker)
            if beyond[k] or (last is not None and exit_dates[k] > last):
                ends = last.date() if last is not None else "earlier"
                skipped.append(
                    (
                        ev.event_id,
                        ev.ticker,
                        f"needs prices to {exit_dates[k].date()} for a "
                        f"{hold}-session hold; the data ends {ends}",
                    )
                )
                continue
            common = {
                "event_id": ev.event_id,
                "market": market,
                "day0": ev.day0,
                "fill": "open" if fill == "next_open" else "close",
                "entry_date": entry_dates[k],
                "exit_date": exit_dates[k],
                "planned_exit_date": exit_dates[k],
            }
            if hedge and bench == ev.ticker:
                skipped.append(
                    (
                        ev.event_id,
                        ev.ticker,
                        "the ticker is its own benchmark: a hedged position would be flat",
                    )
                )
                continue
            rows.append(
                {
                    **common,
                    "ticker": ev.ticker,
                    "leg": "position",
                    "direction": direction,
                    "underlying": ev.ticker,
                }
            )
            if hedge:
                rows.append(
                    {
                        **common,
                        "ticker": ev.ticker,
                        "leg": "hedge",
                        "direction": -direction,
                        "underlying": bench,
                    }
                )
    trades = pd.DataFrame(rows, columns=TRADE_COLUMNS)
    return TradePlan(
        trades=trades,
        skipped=pd.DataFrame(skipped, columns=["event_id", "ticker", "reason"]),
    )
