"""Factors on another exchange's calendar: Ken French's US factors beside Hong Kong returns
were used without a word (the two exchanges close hours apart, and a window holding a Hong
Kong session without a US one had no value). The study now says so in its notes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.markets import get_calendar
from backtest.study import StudySpec, run_study


def _sessions(code: str, first: str, last: str) -> pd.DatetimeIndex:
    s = get_calendar(code).sessions
    return pd.DatetimeIndex(s[(s >= first) & (s <= last)]).as_unit("ns")


def _study(market_ticker: str, bench: str, code: str) -> tuple[object, pd.DatetimeIndex]:
    rng = np.random.default_rng(7)
    days = _sessions(code, "2022-01-03", "2023-12-29")
    r = rng.normal(0, 0.01, (len(days), 2))
    close = pd.DataFrame(100 * np.cumprod(1 + r, axis=0), index=days,
                         columns=[market_ticker, bench])  # fmt: skip
    us = _sessions("XNYS", "2021-06-01", "2024-06-28")  # French's dates: US sessions
    factors = pd.DataFrame(rng.normal(0, 0.005, (len(us), 4)), index=us,
                           columns=["Mkt-RF", "SMB", "HML", "RF"])  # fmt: skip
    factors["RF"] = 0.0001
    events = pd.DataFrame({"event_id": ["e"], "ticker": [market_ticker], "day0": [days[400]],
                           "benchmark": [bench]})  # fmt: skip
    spec = StudySpec(model="factor", windows=((0, 0),), exclude_confounded=False)
    return run_study(events, close, spec, factors=factors), days


def test_us_factors_beside_hong_kong_returns_are_noted_with_their_counts() -> None:
    res, days = _study("0700.HK", "^HSI", "XHKG")
    us = _sessions("XNYS", str(days[0].date()), str(days[-1].date()))
    extra = int((~us.isin(days)).sum())  # US sessions that are not Hong Kong ones
    lacking = int((~days.isin(us)).sum())  # Hong Kong sessions without a US one
    assert extra > 10
    assert lacking > 10
    (note,) = res.data["notes"]
    assert note.startswith(
        f"The factor model measured 1 XHKG row on factors that follow another exchange's "
        f"calendar: from {days[0].date()} to {days[-1].date()}, {extra} of the factors' dates "
        f"are not XHKG sessions and {lacking} XHKG sessions have no factor value."
    )
    assert note in str(res.summary())


def test_factors_on_the_market_s_own_calendar_need_no_note() -> None:
    res, _ = _study("AAPL", "SPY", "XNYS")
    assert res.data["notes"] == []
    assert "Notes" not in str(res.summary())
