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
``day + 1``, or the first after the announcement when that is later (a condition on a day
before day 0).

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
    direction: int | np.ndarray,
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
        +1 long, -1 short: one for every event, or one per row of ``events``.
    hedge:
        Add an opposite leg in the market's benchmark.
    benchmarks:
        Market code -> benchmark ticker.
    condition_day:
        When the entry waits for the abnormal return of this day (relative to day 0).
    last_dates:
        Ticker -> last date with prices; trades that would exit after it are skipped.
    """
    signs = np.broadcast_to(np.asarray(direction, dtype=np.int64), (len(events),))
    frames = []
    skipped = []
    ev_all = events.reset_index(drop=True).assign(_sign=signs, _row=np.arange(len(events)))
    for m, (market, block) in enumerate(ev_all.groupby("market", sort=True)):  # vectorised inside
        market = str(market)
        sessions = get_calendar(market).sessions
        open_first, close_first = first_tradable(block, market)
        if condition_day is not None:  # the AR is known at that day's close, and never
            # before the news: a condition on a day before day 0 still waits for it
            known = sessions.get_indexer(pd.DatetimeIndex(block["day0"])) + condition_day + 1
            open_first = np.maximum(open_first, known)
            close_first = np.maximum(close_first, known)
        entry = (open_first if fill == "next_open" else close_first) + lag
        exit_ = entry + hold
        beyond = exit_ >= len(sessions)
        entry_dates = sessions[np.minimum(entry, len(sessions) - 1)]
        exit_dates = sessions[np.minimum(exit_, len(sessions) - 1)]
        bench = benchmarks[market]
        tickers = block["ticker"].to_numpy()
        last = pd.DatetimeIndex(pd.Series(tickers).map(last_dates or {}).to_numpy())
        late = np.asarray(exit_dates > last)  # NaT (no last date known) compares False
        no_data = beyond | late
        own = np.zeros(len(block), dtype=bool) if not hedge else tickers == bench
        ids = block["event_id"].to_numpy()
        for k in np.flatnonzero(no_data | own):  # the few events that cannot trade
            if no_data[k]:
                ends = last[k].date() if not pd.isna(last[k]) else "earlier"
                reason = (
                    f"needs prices to {exit_dates[k].date()} for a {hold}-session hold; the "
                    f"data ends {ends}"
                )
            else:
                reason = "the ticker is its own benchmark: a hedged position would be flat"
            skipped.append((m, int(block["_row"].iloc[k]), ids[k], tickers[k], reason))
        ok = ~(no_data | own)
        common = pd.DataFrame(
            {
                "event_id": ids[ok],
                "ticker": tickers[ok],
                "market": market,
                "day0": block["day0"].to_numpy()[ok],
                "fill": "open" if fill == "next_open" else "close",
                "entry_date": entry_dates[ok],
                "exit_date": exit_dates[ok],
                "planned_exit_date": exit_dates[ok],
                "_row": block["_row"].to_numpy()[ok],
                "_market": m,
            }
        )
        sign = block["_sign"].to_numpy()[ok]
        frames.append(common.assign(leg="position", direction=sign, underlying=tickers[ok], _leg=0))
        if hedge:
            frames.append(common.assign(leg="hedge", direction=-sign, underlying=bench, _leg=1))
    if frames:
        trades = pd.concat(frames, ignore_index=True)
        # market by market, event by event, the position before its hedge
        trades = trades.sort_values(["_market", "_row", "_leg"], kind="stable")
        trades = trades.reset_index(drop=True)[TRADE_COLUMNS]
    else:
        trades = pd.DataFrame(columns=TRADE_COLUMNS)
    skipped.sort(key=lambda r: (r[0], r[1]))
    return TradePlan(
        trades=trades,
        skipped=pd.DataFrame([r[2:] for r in skipped], columns=["event_id", "ticker", "reason"]),
    )
