"""The earnings reaction history and profile, on a small market with planted returns."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from backtest.study import StudySpec, run_study
from backtest.study.earnings import HISTORY_COLUMNS, PROFILE_COLUMNS, quarter_before
from tests.study.synth import prices_from_returns, sessions

N_DAYS = 600


def _market() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Returns (simple), closes and volumes of SPY, AAA and BBB with planted reactions."""
    rng = np.random.default_rng(7)
    idx = sessions(N_DAYS, "2021-01-04")
    rm = rng.normal(0.0004, 0.01, N_DAYS)
    r = pd.DataFrame(
        {
            "SPY": rm,
            "AAA": 0.9 * rm + rng.normal(0, 0.015, N_DAYS),
            "BBB": 1.2 * rm + rng.normal(0, 0.02, N_DAYS),
        },
        index=idx,
    )
    r.iloc[0] = np.nan
    vol = pd.DataFrame(
        rng.integers(900_000, 1_100_000, (N_DAYS, 3)).astype(float), index=idx, columns=r.columns
    )
    return r, prices_from_returns(r), vol


# day-0 positions, announcement dates relative to day 0, timing, surprise
EVENTS = [
    ("AAA", 300, -1, "after_close", 8.0),  # announced the evening before day 0
    ("AAA", 363, 0, "before_open", -4.0),
    ("AAA", 426, 0, "before_open", 2.5),
    ("AAA", 489, -1, "after_close", math.nan),  # no surprise: in no drift mean
    ("BBB", 330, 0, "unknown", -10.0),
]


def _events(r: pd.DataFrame) -> pd.DataFrame:
    idx = r.index
    rows = []
    for k, (t, p, lag, timing, s) in enumerate(EVENTS):
        rows.append(
            {
                "event_id": f"e{k}",
                "ticker": t,
                "day0": idx[p],
                "date": idx[p + lag],
                "timing": timing,
                "category": "earnings",
                "eps_estimate": 1.0 + k,
                "eps_reported": 1.1 + k,
                "surprise_pct": s,
            }
        )
    rows.append(  # another category: not in the history
        {
            "event_id": "x",
            "ticker": "AAA",
            "day0": idx[540],
            "date": idx[540],
            "timing": "unknown",
            "category": "product",
        }
    )
    return pd.DataFrame(rows)


def _plant(r: pd.DataFrame, vol: pd.DataFrame) -> None:
    """Reactions on day 0 and a drift after it; day-0 volume three times the usual."""
    for t, p, _, _, s in EVENTS:
        sign = 0.0 if math.isnan(s) else np.sign(s)
        r.iloc[p, r.columns.get_loc(t)] += 0.03 * sign
        r.iloc[p + 2 : p + 21, r.columns.get_loc(t)] += 0.01 * sign
        vol.iloc[p, vol.columns.get_loc(t)] *= 3.0


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    r, _, vol = _market()
    _plant(r, vol)
    return r, prices_from_returns(r), vol


def _expected(r: pd.DataFrame, vol: pd.DataFrame, est: tuple[int, int]) -> pd.DataFrame:
    """The history computed by hand: market-adjusted ARs (R - R_m) summed over the days."""
    ar = r.sub(r["SPY"], axis=0)
    rows = []
    for k, (t, p, lag, timing, s) in enumerate(EVENTS):
        v = vol[t].iloc[p + est[0] : p + est[1] + 1]
        rows.append(
            {
                "ticker": t,
                "event_id": f"e{k}",
                "date": r.index[p + lag],
                "timing": timing,
                "surprise_pct": s,
                "ar0": ar[t].iloc[p],
                "car_m1_p1": ar[t].iloc[p - 1 : p + 2].sum(),
                "drift_p2_p20": ar[t].iloc[p + 2 : p + 21].sum(),
                "abnormal_volume": vol[t].iloc[p] / v.mean() - 1.0,
            }
        )
    return pd.DataFrame(rows).sort_values(["ticker", "date"]).reset_index(drop=True)


@pytest.mark.parametrize(
    "windows",
    [
        ((0, 0), (-1, 1), (0, 5), (-5, 20)),  # [-1,+1] a window of the study, the drift not
        ((0, 0),),  # neither: both from the AR path
        ((-1, 1), (2, 20)),  # both windows of the study
    ],
)
def test_history_matches_the_hand_computed_reactions(
    planted: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], windows: tuple
) -> None:
    r, close, vol = planted
    spec = StudySpec(model="market_adjusted", windows=windows, min_estimation=100)
    prices = SimpleNamespace(close=close, volume=vol)
    res = run_study(_events(r), prices, spec)
    h = res.earnings_history
    assert list(h.columns) == HISTORY_COLUMNS
    assert list(h["event_id"]) == ["e0", "e1", "e2", "e3", "e4"]  # ticker, then date
    want = _expected(r, vol, spec.estimation)
    for c in ("ar0", "car_m1_p1", "drift_p2_p20", "abnormal_volume", "surprise_pct"):
        np.testing.assert_allclose(h[c], want[c], rtol=0, atol=1e-12, err_msg=c)
    assert list(h["timing"]) == list(want["timing"])
    assert (h["date"] == want["date"]).all()
    assert list(h["eps_estimate"]) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert (h["abnormal_volume"] > 1.2).all()  # planted: 3x volume (earlier reports in the mean)
    # the quarter that ended before the announcement
    assert list(h["quarter"]) == [str(pd.Period(d, "Q") - 1) for d in want["date"]]


def test_profile_sums_up_the_history(
    planted: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    r, close, vol = planted
    res = run_study(
        _events(r), SimpleNamespace(close=close, volume=vol),
        StudySpec(model="market_adjusted", min_estimation=100),
    )  # fmt: skip
    p = res.earnings_profile.set_index("ticker")
    assert list(res.earnings_profile.columns) == PROFILE_COLUMNS
    want = _expected(r, vol, (-250, -11))
    a = want[want["ticker"] == "AAA"]
    assert p.loc["AAA", "n"] == 4
    assert p.loc["AAA", "mean_abs_ar0"] == pytest.approx(a["ar0"].abs().mean(), abs=1e-14)
    assert p.loc["AAA", "share_up"] == pytest.approx((a["ar0"] > 0).mean())
    pos = a.loc[a["surprise_pct"] > 0, "drift_p2_p20"]
    neg = a.loc[a["surprise_pct"] < 0, "drift_p2_p20"]
    assert (p.loc["AAA", "n_pos"], p.loc["AAA", "n_neg"]) == (2, 1)
    assert p.loc["AAA", "mean_drift_pos"] == pytest.approx(pos.mean(), abs=1e-14)
    assert p.loc["AAA", "mean_drift_neg"] == pytest.approx(neg.mean(), abs=1e-14)
    # the planted drift: +1% a day after a positive surprise, -1% after a negative one
    assert p.loc["AAA", "mean_drift_pos"] > 0.1
    assert p.loc["BBB", "mean_drift_neg"] < 0
    assert (p.loc["BBB", "n_pos"], p.loc["BBB", "n_neg"]) == (0, 1)
    assert math.isnan(p.loc["BBB", "mean_drift_pos"])
    text = str(res.summary())
    assert "Earnings reactions" in text
    assert f"{p.loc['AAA', 'mean_drift_pos'] * 100:+.2f}% (2)" in text


def test_history_in_the_json(planted: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    r, close, _ = planted
    res = run_study(_events(r), close, StudySpec(model="market_adjusted", min_estimation=100))
    doc = json.loads(json.dumps(res.to_dict()))  # no NaN, no Timestamp
    rows = {x["event_id"]: x for x in doc["earnings_history"]}
    assert set(rows) == {"e0", "e1", "e2", "e3", "e4"}
    assert rows["e3"]["surprise_pct"] is None
    assert rows["e0"]["abnormal_volume"] is None  # closes only: no volume
    assert rows["e0"]["date"] == r.index[299].date().isoformat()
    assert rows["e0"]["ar0"] == pytest.approx(res.earnings_history["ar0"].iloc[0], abs=0)
    assert {x["ticker"]: x["n"] for x in doc["earnings_profile"]} == {"AAA": 4, "BBB": 1}


def test_no_earnings_events_give_empty_tables_with_the_columns(
    planted: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    r, close, _ = planted
    ev = _events(r).assign(category="product")
    res = run_study(ev, close, StudySpec(model="market_adjusted", min_estimation=100))
    assert res.earnings_history.empty
    assert list(res.earnings_history.columns) == HISTORY_COLUMNS
    assert res.earnings_profile.empty
    assert list(res.earnings_profile.columns) == PROFILE_COLUMNS
    assert res.to_dict()["earnings_history"] == []


def test_the_quarter_is_the_calendar_quarter_ended_before_the_announcement() -> None:
    days = ["2025-10-29", "2025-01-30", "2025-04-01", "2025-12-31", "2024-07-01"]
    assert list(quarter_before(pd.to_datetime(days))) == [
        "2025Q3", "2024Q4", "2025Q1", "2025Q3", "2024Q2",
    ]  # fmt: skip
