"""A slow, obviously-correct event study: one Python loop per event, textbook formulas.

It shares nothing with the engine but the published definitions: returns from prices on the
exchange's sessions (from the whole price history it is given), OLS by
``numpy.linalg.lstsq``, the prediction-error covariance written as the full matrix
``s2 (I + X* (X'X)^-1 X*')``, ranks and tests from scipy, observations found as the connected
components of a graph of overlapping rows. The vectorised engine must agree with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from backtest.markets import get_calendar

OWN_MODELS = ("constant_mean", "raw")  # the models that do not read the benchmark


@dataclass
class OracleEvent:
    event_id: str
    ticker: str
    model: str = ""
    pos: int = -1  # day 0 as a session index
    same_news_as: str = ""
    alpha: float = math.nan
    beta: float = math.nan
    s2: float = math.nan
    nobs: int = 0
    dof: int = 0
    ar: dict[int, float] = field(default_factory=dict)
    sar: dict[int, float] = field(default_factory=dict)
    sd: dict[int, float] = field(default_factory=dict)  # prediction-error sd by day
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
    context: pd.DataFrame | None = None,
    market_event_model: str = "constant_mean",
) -> list[OracleEvent]:
    """Measure every row of ``events`` (one market, XNYS) on the full ``close`` history.

    A row's model: its own ``model`` column, else ``market_event_model`` for ``scope ==
    "market"``, else ``model``; a model that uses the market is replaced by the constant mean
    on the benchmark itself. Other events of ``context`` (default ``events``) on the ticker
    are kept out of the estimation window when ``exclude_confounded``.
    """
    cal = get_calendar("XNYS")
    has = close.notna().any(axis=1)
    sess = cal.sessions_in_range(close.index[has][0], close.index[has][-1])
    px = close.reindex(sess)
    ratio = px / px.shift(1)
    rets = np.log(ratio) if log else ratio - 1.0
    span = (min(w[0] for w in windows), max(w[1] for w in windows))
    in_window = {d for a, b in windows for d in range(a, b + 1)}
    pos_of = {d: i for i, d in enumerate(sess)}
    ctx = events if context is None else pd.concat([events, context], ignore_index=True)
    ctx = ctx.drop_duplicates(["event_id", "ticker"])
    ctx_pos = [int(cal.sessions.searchsorted(pd.Timestamp(d))) - int(
        cal.sessions.searchsorted(sess[0])) for d in ctx["day0"]]  # fmt: skip
    fx = _factor_matrix(factors, sess)
    out = []
    for row in events.itertuples(index=False):
        res = OracleEvent(row.event_id, row.ticker)
        res.same_news_as = str(getattr(row, "same_news_as", "") or "")
        out.append(res)
        p0 = pos_of.get(pd.Timestamp(row.day0), -1)
        res.pos = p0
        own = getattr(row, "model", None)
        if isinstance(own, str) and own:
            mdl = own
        elif getattr(row, "scope", None) == "market":
            mdl = market_event_model
        else:
            mdl = model
        if row.ticker == benchmark and mdl in ("market", "market_adjusted"):
            mdl = "constant_mean"
        res.model = mdl
        if p0 < 0:
            res.dropped = "calendar"
            continue
        y_all = rets[row.ticker].to_numpy()
        x_all = rets[benchmark].to_numpy()

        def at(series: np.ndarray, d: int, p0: int = p0) -> float:
            i = p0 + d
            return float(series[i]) if 0 <= i < len(series) else math.nan

        def frow(d: int, p0: int = p0) -> np.ndarray | None:
            """The factors and RF of day d, None when any is missing."""
            i = p0 + d
            if fx is None or not 0 <= i < len(fx) or not np.isfinite(fx[i]).all():
                return None
            return fx[i]

        # estimation days used
        covered: set[int] = set()
        if exclude_confounded:
            for j, other in enumerate(ctx.itertuples(index=False)):
                if other.ticker == row.ticker and other.event_id != row.event_id:
                    covered.update(range(ctx_pos[j] + span[0], ctx_pos[j] + span[1] + 1))
        est_days = []
        for d in range(estimation[0], estimation[1] + 1):
            yv, xv = at(y_all, d), at(x_all, d)
            ok = math.isfinite(yv) and (mdl in OWN_MODELS or math.isfinite(xv))
            if mdl == "factor":
                ok = math.isfinite(yv) and frow(d) is not None
            if ok and (p0 + d) not in covered:
                est_days.append(d)
        res.nobs = len(est_days)
        if res.nobs < min_estimation:
            res.dropped = "estimation"
            continue

        def design(d: int, mdl: str = mdl) -> list[float]:
            if mdl == "market":
                return [1.0, at(x_all, d)]
            if mdl == "constant_mean":
                return [1.0]
            if mdl == "factor":
                f = frow(d)
                return [1.0, *(f[:-1] if f is not None else [math.nan] * (fx.shape[1] - 1))]
            return []

        def dep(d: int, mdl: str = mdl) -> float:
            if mdl == "factor":
                f = frow(d)
                return at(y_all, d) - (f[-1] if f is not None else math.nan)
            if mdl == "market_adjusted":
                return at(y_all, d) - at(x_all, d)
            return at(y_all, d)

        yv = np.array([dep(d) for d in est_days])
        if mdl in ("market_adjusted", "raw"):  # nothing estimated: the variance of the AR
            resid = yv
            s2 = float(np.var(yv, ddof=1))
            res.dof = len(yv) - 1
            inv = np.zeros((0, 0))
            beta_vec = np.zeros(0)
            res.alpha, res.beta = 0.0, (1.0 if mdl == "market_adjusted" else math.nan)
        else:
            X = np.array([design(d) for d in est_days])
            if X.shape[1] > 1 and np.linalg.matrix_rank(X) < X.shape[1]:
                res.dropped = "estimation"
                continue
            beta_vec = np.linalg.lstsq(X, yv, rcond=None)[0]
            resid = yv - X @ beta_vec
            res.dof = len(yv) - X.shape[1]
            s2 = float(resid @ resid / res.dof)
            inv = np.linalg.inv(X.T @ X)
            res.alpha = float(beta_vec[0])
            res.beta = float(beta_vec[1]) if mdl == "market" else math.nan
        res.s2 = s2

        def ar(d: int, mdl: str = mdl, beta_vec: np.ndarray = beta_vec) -> float:
            if mdl in ("market_adjusted", "raw"):
                return dep(d)
            return dep(d) - float(np.dot(design(d), beta_vec))

        def expected_simple(d: int, mdl: str = mdl, beta_vec: np.ndarray = beta_vec) -> float:
            if mdl == "raw":
                return 0.0
            if mdl == "market_adjusted":
                e = at(x_all, d)
            else:
                e = float(np.dot(design(d), beta_vec))
                if mdl == "factor":
                    f = frow(d)
                    e += f[-1] if f is not None else math.nan
            return math.expm1(e) if log else e

        if not math.isfinite(ar(0)):
            res.dropped = "event window"
            continue
        for d in range(path[0], path[1] + 1):
            a = ar(d)
            res.ar[d] = a
            if mdl in ("market_adjusted", "raw"):
                v = s2
            else:
                xd = np.array(design(d))
                v = s2 * (1.0 + xd @ inv @ xd)
            res.sar[d] = a / math.sqrt(v)
            res.sd[d] = math.sqrt(v)
        for w in windows:
            days = list(range(w[0], w[1] + 1))
            ars = [ar(d) for d in days]
            res.car[w] = float(np.sum(ars))
            if mdl in ("market_adjusted", "raw"):
                cov = s2 * np.eye(len(days))
            else:
                Xw = np.array([design(d) for d in days])
                cov = s2 * (np.eye(len(days)) + Xw @ inv @ Xw.T)
            res.car_var[w] = float(cov.sum())  # every element: off-diagonal terms included
            stock = np.prod([1 + (math.expm1(at(y_all, d)) if log else at(y_all, d)) for d in days])
            normal = np.prod([1 + expected_simple(d) for d in days])
            res.bhar[w] = float(stock - normal)
        # Corrado: ranks over the estimation days used and the event windows' days with an AR
        sample_days = est_days + [
            d for d in sorted(in_window) if d > estimation[1] and math.isfinite(ar(d))
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


def _factor_matrix(factors: pd.DataFrame | None, sess: pd.DatetimeIndex) -> np.ndarray | None:
    """Per session: the factors, then RF (0 without an RF column); NaN where not given."""
    if factors is None:
        return None
    names = [c for c in factors.columns if c != "RF"]
    f = factors.reindex(sess)
    rf = f["RF"] if "RF" in f.columns else pd.Series(0.0, index=sess)
    return np.column_stack([f[names].to_numpy(dtype=float), rf.to_numpy(dtype=float)])


# ----------------------------------------------------------------------------- observations


def observations(evs: Sequence[OracleEvent], key: int | tuple[int, int]) -> list[OracleEvent]:
    """The observations of one statistic: rows of one ticker whose measured days overlap
    (the same session for a day; day-0 sessions at most b - a apart for window [a, b]) are
    joined, directly or through others; each such set is represented by the earliest row
    another member names in ``same_news_as``, else its earliest row."""
    kept = [e for e in evs if e.dropped is None]
    length = 0 if isinstance(key, int) else key[1] - key[0]
    parent = list(range(len(kept)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, a in enumerate(kept):  # every pair: the graph of overlapping rows
        for j, b in enumerate(kept):
            if i < j and a.ticker == b.ticker and abs(a.pos - b.pos) <= length:
                parent[find(j)] = find(i)
    members: dict[int, list[int]] = {}
    for i in range(len(kept)):
        members.setdefault(find(i), []).append(i)
    out = []
    for rows in members.values():
        ids = {kept[i].event_id for i in rows}
        named = [i for i in rows if any(
            kept[r].same_news_as == kept[i].event_id and r != i for r in rows)]  # fmt: skip
        assert all(kept[i].event_id in ids for i in named)
        pick = min(named or rows, key=lambda i: (kept[i].pos, i))
        out.append((pick, kept[pick]))
    return [e for _, e in sorted(out, key=lambda t: t[0])]


# ----------------------------------------------------------------------------- groups


def group_tests(
    evs: Sequence[OracleEvent], day0: dict[str, pd.Timestamp], key: int | tuple[int, int]
) -> dict[str, float]:
    """All group tests for one day (int key) or window (tuple key) over the statistic's
    observations (:func:`observations`), from their definitions."""
    rows = [e for e in evs if e.dropped is None]
    value = (lambda e: e.car[key]) if isinstance(key, tuple) else (lambda e: e.ar[key])
    # an observation whose primary has no value on the statistic is missing (its merged rows
    # do not stand in for it)
    every = observations(rows, key)
    kept = [e for e in every if math.isfinite(value(e))]
    if isinstance(key, tuple):
        x = np.array([e.car[key] for e in kept])
        sx = np.array([e.car[key] / math.sqrt(e.car_var[key]) for e in kept])
        weight = np.array([1 / math.sqrt(e.car_var[key]) for e in kept])
        days = list(range(key[0], key[1] + 1))
        n_rows = sum(math.isfinite(e.car[key]) for e in rows)
    else:
        x = np.array([e.ar[key] for e in kept])
        sx = np.array([e.sar[key] for e in kept])
        weight = np.array([1 / e.sd[key] for e in kept])
        days = [key]
        n_rows = sum(math.isfinite(e.ar[key]) for e in rows)
    n = len(x)
    dof = np.array([e.dof for e in kept], dtype=float)
    out: dict[str, float] = {"n": n, "n_rows": n_rows, "value": float(x.mean())}
    nan = math.nan
    if n >= 2:
        out["t"] = float(stats.ttest_1samp(x, 0.0).statistic)
        out["t_p"] = float(stats.ttest_1samp(x, 0.0).pvalue)
        out["bmp"] = float(stats.ttest_1samp(sx, 0.0).statistic)
        out["bmp_p"] = float(stats.ttest_1samp(sx, 0.0).pvalue)
    else:
        out["t"] = out["t_p"] = out["bmp"] = out["bmp_p"] = nan
    out["patell"] = float(sx.sum() / math.sqrt(np.sum(dof / (dof - 2))))
    # Kolari-Pynnönen: average pairwise correlation over same-day pairs of the observations
    # (a property of the group's events: with or without a value on this statistic)
    pair_sum = 0.0
    m = len(every)
    for i in range(m):
        for j in range(m):
            if (
                i != j
                and day0[every[i].event_id + every[i].ticker]
                == day0[every[j].event_id + every[j].ticker]
            ):
                zi, zj = every[i].z, every[j].z
                pair_sum += sum(v * zj[d] for d, v in zi.items() if d in zj)
    rbar = pair_sum / (m * (m - 1)) if m >= 2 else nan
    out["rbar"] = rbar
    out["kp"] = out["bmp"] * math.sqrt((1 - rbar) / (1 + (n - 1) * rbar)) if n >= 2 else nan
    out["kp_p"] = float(2 * stats.t.sf(abs(out["kp"]), n - 1)) if n >= 2 else nan
    nonzero = x[x != 0]
    pos = int((nonzero > 0).sum())
    out["sign"] = (pos - len(nonzero) / 2) / (math.sqrt(len(nonzero)) / 2)
    out["sign_p"] = float(stats.binomtest(pos, len(nonzero), 0.5).pvalue)
    ph = float(np.mean([e.phat for e in kept]))
    w = int((x > 0).sum())
    out["gsign"] = (w - n * ph) / math.sqrt(n * ph * (1 - ph))
    # Corrado-Zivney (each day's sum over sqrt of its count, over the observations ranked
    # that day), Campbell-Wasley multi-day form
    all_days = sorted({d for e in every for d in e.u})
    q = {}
    for d in all_days:
        devs = [e.u[d] for e in every if d in e.u]
        q[d] = sum(devs) / math.sqrt(len(devs))
    s = math.sqrt(np.mean([q[d] ** 2 for d in all_days]))
    out["rank"] = (
        sum(q[d] for d in days) / (math.sqrt(len(days)) * s) if all(d in q for d in days) else nan
    )
    # exact for at most 50 values (zeros left out) without ties, else the normal approximation
    # with the tie-corrected variance and no continuity correction (R's wilcox.test; SciPy's
    # own default is exact with ties too)
    nz = np.abs(nonzero)
    exact = len(nz) <= 50 and len(np.unique(nz)) == len(nz)
    w_res = stats.wilcoxon(x, zero_method="wilcox", alternative="two-sided",
                           method="exact" if exact else "approx")  # fmt: skip
    out["wilcoxon_p"] = float(w_res.pvalue)
    ranks = stats.rankdata(np.abs(nonzero))
    out["wilcoxon"] = float(ranks[nonzero > 0].sum())
    # the headline: KP, else BMP, else t, else the single observation's own t; the interval
    # is the set of common shifts of the values that the same test does not reject at 5%
    factor = 1.0
    if n >= 2 and math.isfinite(out["kp"]):
        stat, df, standardized = out["kp"], n - 1, True
        factor = math.sqrt((1 - rbar) / (1 + (n - 1) * rbar))
    elif n >= 2 and math.isfinite(out["bmp"]):
        stat, df, standardized = out["bmp"], n - 1, True
    elif n >= 2:
        stat, df, standardized = out["t"], n - 1, False
    else:
        stat, df, standardized = float(sx[0]), float(dof[0]), False
    q = stats.t.ppf(0.975, df)
    out["headline_stat"] = stat
    out["headline_p"] = float(2 * stats.t.sf(abs(stat), df))
    if standardized:
        out["lo"], out["hi"] = _inverted(x, weight, factor, q)
    else:
        half = q * abs(out["value"] / stat)
        out["lo"], out["hi"] = out["value"] - half, out["value"] + half
    return out


def _inverted(x: np.ndarray, w: np.ndarray, factor: float, q: float) -> tuple[float, float]:
    """The shifts mu with |factor * t((x - mu) w)| <= q (t the one-sample t-test), by a root
    finder on each side of the shift where t is 0; infinite where none is rejected."""
    from scipy import optimize

    def excess(mu: float) -> float:
        return abs(factor * stats.ttest_1samp((x - mu) * w, 0.0).statistic) - q

    center = float((x * w).sum() / w.sum())
    ends = []
    for sign in (-1.0, 1.0):
        far = center + sign * 0.01
        while excess(far) <= 0 and abs(far - center) < 1e3:
            far = center + 2 * (far - center)
        ends.append(optimize.brentq(excess, center, far, xtol=1e-15) if excess(far) > 0
                    else sign * math.inf)  # fmt: skip
    return ends[0], ends[1]
