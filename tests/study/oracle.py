"""A slow, obviously-correct event study: one Python loop per event, textbook formulas.

It shares nothing with the engine but the published definitions: returns from prices on the
exchange's sessions, OLS by ``numpy.linalg.lstsq``, the prediction-error covariance written as
the full matrix ``s2 (I + X* (X'X)^-1 X*')``, ranks and tests from scipy. The vectorised engine
must agree with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from backtest.markets import get_calendar


@dataclass
class OracleEvent:
    event_id: str
    ticker: str
    alpha: float = math.nan
    beta: float = math.nan
    s2: float = math.nan
    nobs: int = 0
    dof: int = 0
    ar: dict[int, float] = field(default_factory=dict)
    sar: dict[int, float] = field(default_factory=dict)
    car: dict[tuple[int, int], float] = field(default_factory=dict)
    car_var: dict[tuple[int, int], float] = field(default_factory=dict)
    bhar: dict[tuple[int, int], float] = field(default_factory=dict)
    u: dict[int, float] = field(default_factory=dict)  # Corrado U - 1/2 by relative day
    phat: float = math.nan
    z: dict[int, float] = field(default_factory=dict)  # standardized estimation residuals
    dropped: str | None = None


def oracle(
    close: pd.DataFrame,
    events: pd.DataFrame,
    *,
    model: str = "market",
    estimation: tuple[int, int] = (-250, -11),
    windows: tuple[tuple[int, int], ...] = ((0, 0), (-1, 1), (0, 5), (-5, 20)),
    path: tuple[int, int] = (-20, 20),
    min_estimation: int = 120,
    exclude_confounded: bool = True,
    benchmark: str = "SPY",
    factors: pd.DataFrame | None = None,
    log: bool = False,
) -> list[OracleEvent]:
    cal = get_calendar("XNYS")
    first = close.index[close.notna().any(axis=1)][0]
    last = close.index[close.notna().any(axis=1)][-1]
    sess = cal.sessions_in_range(first, last)
    px = close.reindex(sess)
    ratio = px / px.shift(1)
    rets = np.log(ratio) if log else ratio - 1.0
    span = (min(w[0] for w in windows), max(w[1] for w in windows))
    reach_end = max(path[1], span[1])
    pos_of = {d: i for i, d in enumerate(sess)}
    ev_pos = [pos_of.get(pd.Timestamp(d), -1) for d in events["day0"]]
    out = []
    for k, row in enumerate(events.itertuples(index=False)):
        res = OracleEvent(row.event_id, row.ticker)
        out.append(res)
        p0 = ev_pos[k]
        if p0 < 0:
            res.dropped = "calendar"
            continue
        y_all = rets[row.ticker].to_numpy()
        x_all = rets[benchmark].to_numpy()
        self_bench = row.ticker == benchmark
        mdl = "constant_mean" if self_bench else model

        def at(series: np.ndarray, d: int, p0: int = p0) -> float:
            i = p0 + d
            return float(series[i]) if 0 <= i < len(series) else math.nan

        # estimation days used
        covered: set[int] = set()
        if exclude_confounded:
            for j, other in enumerate(events.itertuples(index=False)):
                if j != k and other.ticker == row.ticker and ev_pos[j] >= 0:
                    covered.update(range(ev_pos[j] + span[0], ev_pos[j] + span[1] + 1))
        est_days = []
        for d in range(estimation[0], estimation[1] + 1):
            yv, xv = at(y_all, d), at(x_all, d)
            ok = math.isfinite(yv) and (mdl == "constant_mean" or math.isfinite(xv))
            if mdl == "factor":
                f = _factor_row(factors, sess, p0 + d)
                ok = ok and f is not None
            if ok and (p0 + d) not in covered:
                est_days.append(d)
        res.nobs = len(est_days)
        if res.nobs < min_estimation:
            res.dropped = "estimation"
            continue

        def design(d: int) -> list[float]:
            if mdl == "market":
                return [1.0, at(x_all, d)]
            if mdl == "constant_mean":
                return [1.0]
            if mdl == "factor":
                f = _factor_row(factors, sess, p0 + d)
                return [1.0, *(f[:-1] if f is not None else [math.nan])]
            return []

        def dep(d: int) -> float:
            if mdl == "factor":
                f = _factor_row(factors, sess, p0 + d)
                rf = f[-1] if f is not None else math.nan
                return at(y_all, d) - rf
            if mdl == "market_adjusted":
                return at(y_all, d) - at(x_all, d)
            return at(y_all, d)

        yv = np.array([dep(d) for d in est_days])
        if mdl == "market_adjusted":
            resid = yv
            s2 = float(np.var(yv, ddof=1))
            res.dof = len(yv) - 1
            inv = np.zeros((0, 0))
            beta_vec = np.zeros(0)
            res.alpha, res.beta = 0.0, 1.0
        else:
            X = np.array([design(d) for d in est_days])
            beta_vec = np.linalg.lstsq(X, yv, rcond=None)[0]
            resid = yv - X @ beta_vec
            res.dof = len(yv) - X.shape[1]
            s2 = float(resid @ resid / res.dof)
            inv = np.linalg.inv(X.T @ X)
            res.alpha = float(beta_vec[0])
            res.beta = float(beta_vec[1]) if mdl == "market" else math.nan
        res.s2 = s2

        def ar(d: int) -> float:
            if mdl == "market_adjusted":
                return dep(d)
            return dep(d) - float(np.dot(design(d), beta_vec))

        def expected_simple(d: int) -> float:
            if mdl == "market_adjusted":
                e = at(x_all, d)
            else:
                e = float(np.dot(design(d), beta_vec))
                if mdl == "factor":
                    f = _factor_row(factors, sess, p0 + d)
                    e += f[-1] if f is not None else math.nan
            return math.expm1(e) if log else e

        if not math.isfinite(ar(0)):
            res.dropped = "event window"
            continue
        for d in range(path[0], path[1] + 1):
            a = ar(d)
            res.ar[d] = a
            if mdl == "market_adjusted":
                v = s2
            else:
                xd = np.array(design(d))
                v = s2 * (1.0 + xd @ inv @ xd)
            res.sar[d] = a / math.sqrt(v)
        for w in windows:
            days = list(range(w[0], w[1] + 1))
            ars = [ar(d) for d in days]
            res.car[w] = float(np.sum(ars))
            if mdl == "market_adjusted":
                cov = s2 * np.eye(len(days))
            else:
                Xw = np.array([design(d) for d in days])
                cov = s2 * (np.eye(len(days)) + Xw @ inv @ Xw.T)
            res.car_var[w] = float(cov.sum())  # every element: off-diagonal terms included
            stock = np.prod([1 + (math.expm1(at(y_all, d)) if log else at(y_all, d)) for d in days])
            normal = np.prod([1 + expected_simple(d) for d in days])
            res.bhar[w] = float(stock - normal)
        # Corrado: ranks over estimation days used and all later days with an AR
        sample_days = est_days + [
            d for d in range(estimation[1] + 1, reach_end + 1) if math.isfinite(ar(d))
        ]
        values = np.array([ar(d) for d in sample_days])
        ranks = stats.rankdata(values)
        m = len(values)
        res.u = {d: r / (m + 1) - 0.5 for d, r in zip(sample_days, ranks, strict=True)}
        res.phat = float(np.mean(resid > 0))
        dev = resid - resid.mean()
        z = dev / math.sqrt(dev @ dev)
        res.z = dict(zip(est_days, z, strict=True))
    return out


def _factor_row(factors: pd.DataFrame | None, sess: pd.DatetimeIndex, i: int) -> list[float] | None:
    if factors is None or not 0 <= i < len(sess) or sess[i] not in factors.index:
        return None
    row = factors.loc[sess[i]]
    names = [c for c in factors.columns if c != "RF"]
    vals = [float(row[c]) for c in names] + [float(row["RF"]) if "RF" in factors else 0.0]
    return vals if all(math.isfinite(v) for v in vals) else None


# ----------------------------------------------------------------------------- groups


def group_tests(
    evs: list[OracleEvent], day0: dict[str, pd.Timestamp], key: str | int
) -> dict[str, float]:
    """All group tests for one day (int key) or window (tuple key), from their definitions."""
    kept = [e for e in evs if e.dropped is None]
    if isinstance(key, tuple):
        x = np.array([e.car[key] for e in kept])
        sx = np.array([e.car[key] / math.sqrt(e.car_var[key]) for e in kept])
        days = list(range(key[0], key[1] + 1))
    else:
        x = np.array([e.ar[key] for e in kept])
        sx = np.array([e.sar[key] for e in kept])
        days = [key]
    n = len(x)
    dof = np.array([e.dof for e in kept], dtype=float)
    out: dict[str, float] = {"n": n, "value": float(x.mean())}
    out["t"] = float(stats.ttest_1samp(x, 0.0).statistic)
    out["t_p"] = float(stats.ttest_1samp(x, 0.0).pvalue)
    out["patell"] = float(sx.sum() / math.sqrt(np.sum(dof / (dof - 2))))
    out["bmp"] = float(stats.ttest_1samp(sx, 0.0).statistic)
    out["bmp_p"] = float(stats.ttest_1samp(sx, 0.0).pvalue)
    # Kolari-Pynnönen: average pairwise correlation over same-day pairs
    pair_sum = 0.0
    for i in range(n):
        for j in range(n):
            if (
                i != j
                and day0[kept[i].event_id + kept[i].ticker]
                == day0[kept[j].event_id + kept[j].ticker]
            ):
                zi, zj = kept[i].z, kept[j].z
                pair_sum += sum(v * zj[d] for d, v in zi.items() if d in zj)
    rbar = pair_sum / (n * (n - 1))
    out["rbar"] = rbar
    out["kp"] = out["bmp"] * math.sqrt((1 - rbar) / (1 + (n - 1) * rbar))
    nonzero = x[x != 0]
    pos = int((nonzero > 0).sum())
    out["sign"] = (pos - len(nonzero) / 2) / (math.sqrt(len(nonzero)) / 2)
    out["sign_p"] = float(stats.binomtest(pos, len(nonzero), 0.5).pvalue)
    ph = float(np.mean([e.phat for e in kept]))
    w = int((x > 0).sum())
    out["gsign"] = (w - n * ph) / math.sqrt(n * ph * (1 - ph))
    # Corrado-Zivney (each day's sum over sqrt of its count), Campbell-Wasley multi-day form
    all_days = sorted({d for e in kept for d in e.u})
    q = {}
    for d in all_days:
        devs = [e.u[d] for e in kept if d in e.u]
        q[d] = sum(devs) / math.sqrt(len(devs))
    s = math.sqrt(np.mean([q[d] ** 2 for d in all_days]))
    out["rank"] = sum(q[d] for d in days) / (math.sqrt(len(days)) * s)
    w_res = stats.wilcoxon(x, zero_method="wilcox", alternative="two-sided")
    out["wilcoxon_p"] = float(w_res.pvalue)
    ranks = stats.rankdata(np.abs(nonzero))
    out["wilcoxon"] = float(ranks[nonzero > 0].sum())
    return out
