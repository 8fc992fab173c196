"""Earnings reaction history: how a ticker moved around each of its earnings announcements.

Built from a finished study (:class:`~backtest.study.results.EventStudyResult`) for its rows of
category ``earnings`` (as ``evbt events import earnings`` writes them), one row per ticker and
announcement (:data:`HISTORY_COLUMNS`):

``quarter``
    The calendar quarter that *ended before* the announcement (the quarter being reported in
    the usual case): an announcement on 2025-10-29 is ``2025Q3``, one on 2025-01-30 ``2024Q4``,
    one on 2025-04-01 ``2025Q1``. It is read from the announcement's local ``date`` (day 0 when
    the table has no ``date``); a company whose fiscal quarters are not calendar quarters is
    still labelled by calendar quarter.
``date``, ``timing``, ``eps_estimate``, ``eps_reported``, ``surprise_pct``
    The event's own fields (NaN where the event does not give them).
``ar0``
    The abnormal return of day 0 (the first session that could react: the next session for an
    announcement after the close), from the study's AR path.
``car_m1_p1``, ``drift_p2_p20``
    CAR[-1,+1] and CAR[+2,+20]: the study's own CAR of that window when the spec has it,
    otherwise the sum of the AR path over the window's days (the CAR's definition; the
    default path [-20,+20] holds both). NaN when a day of the window has no abnormal return
    or the path does not reach it.
``abnormal_volume``
    Day-0 volume / mean volume over the sessions of the row's estimation window
    (``est_first`` to ``est_last``) - 1, counting only sessions with a positive volume
    (placeholder rows of zero volume are not trading); NaN when the prices carry no volume or
    day 0 has none.

The profile (:data:`PROFILE_COLUMNS`) sums a ticker's history up: ``n`` announcements,
``mean_abs_ar0`` (mean |AR(0)|), ``share_up`` (share of announcements with AR(0) > 0 among
those with an AR(0)), ``mean_drift_pos`` / ``mean_drift_neg`` (mean CAR[+2,+20] after a
positive / negative ``surprise_pct``) and ``n_pos`` / ``n_neg`` (the announcements with such a
surprise and a drift, those means' sample sizes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from backtest.study.spec import Window

#: The category of earnings events.
EARNINGS = "earnings"

HISTORY_COLUMNS = [
    "ticker", "event_id", "quarter", "date", "timing", "eps_estimate", "eps_reported",
    "surprise_pct", "ar0", "car_m1_p1", "drift_p2_p20", "abnormal_volume",
]  # fmt: skip
PROFILE_COLUMNS = [
    "ticker", "n", "mean_abs_ar0", "share_up", "mean_drift_pos", "mean_drift_neg", "n_pos",
    "n_neg",
]  # fmt: skip

_REACTION: Window = (-1, 1)
_DRIFT: Window = (2, 20)


def empty_history() -> pd.DataFrame:
    """The history of a study without earnings events."""
    return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in HISTORY_COLUMNS})


def empty_profile() -> pd.DataFrame:
    """The profile of a study without earnings events."""
    return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in PROFILE_COLUMNS})


def _dtype(column: str) -> str:
    if column in ("ticker", "event_id", "quarter", "timing"):
        return "object"
    if column == "date":
        return "datetime64[ns]"
    if column in ("n", "n_pos", "n_neg"):
        return "int64"
    return "float64"


def quarter_before(dates: Any) -> pd.Series:
    """The calendar quarter that ended before each date, as ``"2025Q3"``.

    >>> list(quarter_before(pd.to_datetime(["2025-10-29", "2025-01-30", "2025-04-01"])))
    ['2025Q3', '2024Q4', '2025Q1']
    """
    periods = pd.PeriodIndex(pd.DatetimeIndex(dates), freq="Q") - 1
    return pd.Series(periods.strftime("%YQ%q"), dtype=object)


def earnings_rows(events: pd.DataFrame) -> np.ndarray:
    """Positions of the rows of category ``earnings`` in a study's ``events`` table."""
    if "category" not in events.columns or not len(events):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero((events["category"].astype(object) == EARNINGS).to_numpy(dtype=bool))


def history(
    events: pd.DataFrame,
    ar: pd.DataFrame,
    windows: pd.DataFrame,
    spec_windows: tuple[Window, ...],
    volume: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The earnings reaction history of a study's tables (see the module docstring).

    ``ar`` and ``windows`` are the study's (rows in the order of ``events``; ``windows`` has
    ``len(spec_windows)`` rows per event, in the spec's order); ``volume`` the prices' volumes
    (dates x tickers) or None.
    """
    rows = earnings_rows(events)
    if not len(rows):
        return empty_history()
    ev = events.iloc[rows].reset_index(drop=True)
    path = ar.to_numpy(dtype=np.float64)[rows]
    days = np.asarray(ar.columns, dtype=np.int64)

    def window_car(w: Window) -> np.ndarray:
        if w in spec_windows:
            k, nw = spec_windows.index(w), len(spec_windows)
            return windows["car"].to_numpy(dtype=np.float64)[rows * nw + k]
        cols = np.flatnonzero((days >= w[0]) & (days <= w[1]))
        if len(cols) != w[1] - w[0] + 1:  # the path does not reach every day
            return np.full(len(rows), np.nan)
        return path[:, cols].sum(axis=1)  # NaN when a day has no abnormal return

    day0 = np.flatnonzero(days == 0)
    ar0 = path[:, day0[0]] if len(day0) else np.full(len(rows), np.nan)
    date = pd.to_datetime(ev["date"] if "date" in ev.columns else ev["day0"]).dt.normalize()

    def column(name: str) -> Any:
        if name not in ev.columns:
            return np.full(len(ev), np.nan)
        return pd.to_numeric(ev[name], errors="coerce").to_numpy(dtype=np.float64)

    out = pd.DataFrame(
        {
            "ticker": ev["ticker"].astype(str).to_numpy(dtype=object),
            "event_id": ev["event_id"].astype(str).to_numpy(dtype=object),
            "quarter": quarter_before(date).to_numpy(dtype=object),
            "date": date.to_numpy(dtype="datetime64[ns]"),
            "timing": (
                ev["timing"].astype(object).to_numpy()
                if "timing" in ev.columns
                else np.full(len(ev), None, dtype=object)
            ),
            "eps_estimate": column("eps_estimate"),
            "eps_reported": column("eps_reported"),
            "surprise_pct": column("surprise_pct"),
            "ar0": ar0,
            "car_m1_p1": window_car(_REACTION),
            "drift_p2_p20": window_car(_DRIFT),
            "abnormal_volume": abnormal_volume(ev, volume),
        }
    )
    return out.sort_values(["ticker", "date", "event_id"], kind="stable").reset_index(drop=True)


def abnormal_volume(events: pd.DataFrame, volume: pd.DataFrame | None) -> np.ndarray:
    """Per row of ``events`` (``ticker``, ``day0``, ``est_first``, ``est_last``): day-0 volume
    / mean positive volume of the estimation sessions - 1 (NaN without volume)."""
    n = len(events)
    out = np.full(n, np.nan)
    if volume is None or not isinstance(volume, pd.DataFrame) or volume.empty or not n:
        return out
    need = {"ticker", "day0", "est_first", "est_last"}
    if not need <= set(events.columns):
        return out
    index = pd.DatetimeIndex(volume.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    vol = volume.set_axis(index.normalize(), axis=0).sort_index()
    index = pd.DatetimeIndex(vol.index)
    tickers = events["ticker"].astype(str).to_numpy()
    for t in dict.fromkeys(tickers):  # one pass per ticker, vectorised over its rows
        if t not in vol.columns:
            continue
        sel = np.flatnonzero(tickers == t)
        v = pd.to_numeric(vol[t], errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(v) & (v > 0)
        csum = np.concatenate([[0.0], np.cumsum(np.where(ok, v, 0.0))])
        ccnt = np.concatenate([[0], np.cumsum(ok)])
        sub = events.iloc[sel]
        lo = index.searchsorted(pd.DatetimeIndex(sub["est_first"]), side="left")
        hi = index.searchsorted(pd.DatetimeIndex(sub["est_last"]), side="right")
        at = index.get_indexer(pd.DatetimeIndex(sub["day0"]))
        count = ccnt[hi] - ccnt[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (csum[hi] - csum[lo]) / count
            safe = np.maximum(at, 0)
            v0 = np.where((at >= 0) & ok[safe], v[safe], np.nan)
            out[sel] = np.where(count > 0, v0 / mean - 1.0, np.nan)
    return out


def profile(hist: pd.DataFrame) -> pd.DataFrame:
    """One row per ticker of an earnings history (see the module docstring)."""
    if not len(hist):
        return empty_profile()
    h = hist.assign(
        abs_ar0=hist["ar0"].abs(),
        up=np.where(hist["ar0"].notna(), (hist["ar0"] > 0).astype(float), np.nan),
        drift_pos=hist["drift_p2_p20"].where(hist["surprise_pct"] > 0),
        drift_neg=hist["drift_p2_p20"].where(hist["surprise_pct"] < 0),
    )
    g = h.groupby("ticker", sort=True)
    out = pd.DataFrame(
        {
            "n": g.size(),
            "mean_abs_ar0": g["abs_ar0"].mean(),
            "share_up": g["up"].mean(),
            "mean_drift_pos": g["drift_pos"].mean(),
            "mean_drift_neg": g["drift_neg"].mean(),
            "n_pos": g["drift_pos"].count(),
            "n_neg": g["drift_neg"].count(),
        }
    )
    out = out.rename_axis("ticker").reset_index()
    return out.astype({"n": "int64", "n_pos": "int64", "n_neg": "int64"})[PROFILE_COLUMNS]
