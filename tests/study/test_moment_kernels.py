"""The group-moment kernels against a plain Python loop of Welford updates, to the last bit.

The kernels update a row's columns side by side in vector instructions (branch-free, in
blocks of a fixed width); the oracle below updates one value at a time with branches, in row
order, in Python floats (IEEE doubles, the same operations). Their moments must be equal
bit for bit, including across block boundaries, NaNs, zeros, rows that are not observations
and rows with too few degrees of freedom for the Patell test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.study import kernels as K


def _oracle(x, sx, w, dof, phat, codes, n_groups, k0, k1, obs):  # type: ignore[no-untyped-def]
    """Moments (groups x columns x N_MOMENTS), one value at a time; ``obs(i, k)``: is row i
    an observation of column k's statistic."""
    out = [[[0.0] * K.N_MOMENTS for _ in range(k1 - k0)] for _ in range(n_groups)]
    for i in range(len(x)):
        d = float(dof[i])
        patell = d > 2
        var_t = d / (d - 2.0) if patell else 0.0
        for k in range(k0, k1):
            m = out[codes[i]][k - k0]
            v = float(x[i, k])
            if not obs(i, k):
                if not math.isnan(v):
                    m[14] += 1.0
                continue
            if not math.isnan(v):
                n = m[0] + 1.0
                dv = v - m[1]
                m[1] += dv / n
                m[2] += dv * (v - m[1])
                m[0] = n
                m[9] += 1.0 if v != 0.0 else 0.0
                m[10] += 1.0 if v > 0.0 else 0.0
                m[11] += 1.0 if v > 0.0 else 0.0
                m[12] += float(phat[i])
            s, wv = float(sx[i, k]), float(w[i, k])
            if not math.isnan(s):
                n = m[3] + 1.0
                ds = s - m[4]
                m[4] += ds / n
                m[5] += ds * (s - m[4])
                dw = wv - m[15]
                m[15] += dw / n
                m[16] += dw * (wv - m[15])
                m[17] += dw * (s - m[4])
                m[3] = n
                m[13] += d
                if patell:
                    m[6] += 1.0
                    m[7] += s
                    m[8] += var_t
    return np.array(out).reshape(n_groups, k1 - k0, K.N_MOMENTS)


def _prediction_sd(i, day, model, s2, inv_n, mx, sxx, bx, xrow, st, fmean, fcinv):  # type: ignore[no-untyped-def]
    """An AR's prediction-error SD written out here (Patell 1976; MacKinlay 1997), in the
    kernels' order of operations: sqrt(s2 (1 + 1/n + (x - mean x)^2 / Sxx)) for the market
    model, sqrt(s2 (1 + 1/n + d' C^-1 d)) for the factor model, sqrt(s2 (1 + 1/n)) for the
    constant mean, sqrt(s2) for the market-adjusted and raw models."""
    t = st + day
    if model == K.MARKET:
        dx = float(bx[xrow, t]) - float(mx)
        return math.sqrt(float(s2) * (1.0 + float(inv_n) + dx * dx / float(sxx)))
    if model == K.CONSTANT_MEAN:
        return math.sqrt(float(s2) * (1.0 + float(inv_n)))
    if model == K.FACTOR:
        kf = fmean.shape[1]
        quad = 0.0
        for j in range(kf):
            dj = float(bx[xrow + j, t]) - float(fmean[i, j])
            for q in range(kf):
                quad += dj * float(fcinv[i, j, q]) * (float(bx[xrow + q, t]) - float(fmean[i, q]))
        return math.sqrt(float(s2) * (1.0 + float(inv_n) + quad))
    return math.sqrt(float(s2))


def _bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.view(np.int64), b.view(np.int64)))


def _inputs(seed: int, n: int, k: int, g: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.02, (n, k))
    x[rng.random((n, k)) < 0.08] = np.nan
    x[rng.random((n, k)) < 0.05] = 0.0
    codes = rng.integers(0, g, n)
    dof = rng.integers(1, 200, n).astype(np.float64)  # some rows without a Patell variance
    phat = rng.uniform(0.2, 0.8, n)
    return rng, x, codes, dof, phat


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), k=st.sampled_from([1, 4, 8, 11, 19]),
       g=st.integers(1, 4), k0=st.integers(0, 3))  # fmt: skip
def test_column_moments_equal_a_value_by_value_loop(
    seed: int, n: int, k: int, g: int, k0: int
) -> None:
    rng, x, codes, dof, phat = _inputs(seed, n, k + k0, g)
    w = rng.uniform(20.0, 80.0, x.shape)
    w[rng.random(x.shape) < 0.05] = np.nan  # a standardized value missing where x is not
    sx = x * w
    stat_of = rng.integers(0, 3, k + k0).astype(np.int64)
    kept = (rng.random((n, 3)) < 0.8).astype(np.uint8)
    got = K.column_moments(x, sx, w, dof, phat, codes, g, k0, k0 + k, kept, stat_of)
    want = _oracle(x, sx, w, dof, phat, codes, g, k0, k0 + k,
                   lambda i, c: bool(kept[i, stat_of[c]]))  # fmt: skip
    assert _bits_equal(got, want)


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize(("k0", "k1"), [(0, 41), (0, 20), (20, 41), (5, 6), (0, 70)])
def test_ar_moments_equal_a_value_by_value_loop(shared: bool, k0: int, k1: int) -> None:
    """The AR path's moments with each row's prediction-error SD (market model, constant
    mean, market-adjusted and factor rows mixed), over one or more blocks of columns."""
    n, length, n_days, g = 300, 70, 400, 3
    rng, ar, codes, dof, phat = _inputs(7 + k1, n, length, g)
    models = rng.choice([K.MARKET, K.CONSTANT_MEAN, K.MARKET_ADJUSTED, K.FACTOR], n).astype(
        np.int64
    )
    nobs = rng.integers(120, 241, n).astype(np.int64)
    s2 = rng.uniform(1e-4, 4e-4, n)
    mx = rng.normal(0.0, 1e-3, n)
    sxx = rng.uniform(0.01, 0.03, n)
    kf = 2
    bx = rng.normal(0.0, 0.01, (4, n_days))
    bx[0, 50:60] = np.nan  # a benchmark without returns: no standardized value
    bx_row = np.where(models == K.FACTOR, 2, rng.integers(0, 2, n)).astype(np.int64)
    bx_start = rng.integers(0, n_days - length, n).astype(np.int64)
    fmean = rng.normal(0.0, 1e-3, (n, kf))
    c = rng.normal(0.0, 1.0, (n, kf, kf))
    fcinv = np.einsum("nij,nkj->nik", c, c) * 10.0
    stat_of = (
        np.zeros(length, dtype=np.int64) if shared else (np.arange(length) % 2).astype(np.int64)
    )
    kept = (rng.random((n, 2)) < 0.8).astype(np.uint8)
    got = K.ar_moments(ar, models, s2, nobs, mx, sxx, bx, bx_row, bx_start, fmean, fcinv, dof,
                       phat, codes, g, k0, k1, kept, stat_of)  # fmt: skip
    sd = np.empty((n, length))
    for i in range(n):
        for day in range(length):
            sd[i, day] = _prediction_sd(i, day, models[i], s2[i], 1.0 / nobs[i], mx[i], sxx[i],
                                        bx, bx_row[i], bx_start[i], fmean, fcinv)  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        sx, w = ar / sd, 1.0 / sd
    want = _oracle(ar, sx, w, dof, phat, codes, g, k0, k1, lambda i, c: bool(kept[i, stat_of[c]]))
    assert _bits_equal(got, want)


def _fit_oracle(ys, xs, used, model):  # type: ignore[no-untyped-def]
    """One row's fit, one day at a time (Welford's running means and centred moments):
    (n, a, b, mean x, Sxx, residual SS), as the kernels define them."""
    cnt, mx, my, sxx, sxy, syy = 0, 0.0, 0.0, 0.0, 0.0, 0.0
    for y, x, u in zip(ys.tolist(), xs.tolist(), used.tolist(), strict=True):
        if not u:
            continue
        cnt += 1
        yv = y - x if model == K.MARKET_ADJUSTED else y
        dy = yv - my
        my += dy / cnt
        if model == K.MARKET:
            dx = x - mx
            mx += dx / cnt
            sxx += dx * (x - mx)
            sxy += dx * (yv - my)
        syy += dy * (yv - my)
    a, b, ss = my, 0.0, syy
    if model == K.MARKET and sxx > 0:
        b = sxy / sxx
        a = my - b * mx
        ss = max(syy - sxy * b, 0.0)
    return cnt, a, b, mx, sxx, ss


@pytest.mark.parametrize("model", [K.MARKET, K.MARKET_ADJUSTED, K.CONSTANT_MEAN, K.RAW])
@pytest.mark.parametrize("exclude", [False, True])
@pytest.mark.parametrize(("n", "e0", "e1"), [(1, 0, 240), (37, 3, 200), (16, 0, 64), (50, 5, 70)])
def test_fits_side_by_side_equal_a_day_by_day_loop(
    model: int, exclude: bool, n: int, e0: int, e1: int
) -> None:
    """The fits of rows side by side (vector lanes, days in blocks) equal one row at a time
    to the last bit: row counts and estimation lengths that are not multiples of the lanes
    and blocks, missing returns, excluded days, too few observations."""
    rng = np.random.default_rng(n * 1000 + e1 + model + 7 * exclude)
    n_tickers, n_days = 6, 400
    R = rng.normal(0.0005, 0.02, (n_tickers + 1, n_days))
    R[rng.random(R.shape) < 0.05] = np.nan
    R[2, :] = np.nan  # a ticker without returns: too few observations
    cover = (rng.random((n_tickers, n_days)) < 0.2).astype(np.int32)
    rows = np.arange(n, dtype=np.int64)
    col = rng.integers(0, n_tickers, n).astype(np.int64)
    bench = np.full(n, n_tickers, dtype=np.int64)
    starts = rng.integers(0, n_days - e1 - 20, n).astype(np.int64)
    fb = np.zeros(n, dtype=np.int64)
    d0 = e1 + 5
    outs = {k: np.full(n, np.nan) for k in ("alpha", "beta", "s2", "mx", "sxx")}
    nobs, dof = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    status = np.full(n, -1, dtype=np.int8)
    K.FIT[model](R, cover if exclude else np.zeros((1, 1), np.int32), rows, col, bench, fb,
                 starts, e0, e1, d0, exclude, 3, outs["alpha"], outs["beta"], outs["s2"], nobs,
                 dof, outs["mx"], outs["sxx"], np.zeros((n, 0)), np.zeros((n, 0)),
                 np.zeros((n, 0, 0)), status)  # fmt: skip
    assert n == 1 or (status == K.STATUS_OK).sum() >= n // 2  # most rows are compared
    for i in range(n):
        t = slice(starts[i] + e0, starts[i] + e1)
        ys, xs = R[col[i], t], R[bench[i], t]
        used = ~np.isnan(ys) & (np.ones_like(ys, bool) if model in (K.CONSTANT_MEAN, K.RAW)
                                else ~np.isnan(xs))  # fmt: skip
        if exclude:
            used &= cover[col[i], t] <= 0
        cnt, a, b, mx, sxx, ss = _fit_oracle(ys, xs, used, model)
        assert nobs[i] == cnt
        if cnt < 3:
            assert status[i] == K.STATUS_FEW
            continue
        if status[i] != K.STATUS_OK:
            continue
        p = 2 if model == K.MARKET else 1
        want_a = 0.0 if model in (K.MARKET_ADJUSTED, K.RAW) else a
        got = [outs["alpha"][i], outs["s2"][i], outs["mx"][i], outs["sxx"][i]]
        assert np.array_equal(np.array(got), np.array([want_a, ss / (cnt - p), mx, sxx]))
        if model == K.MARKET:
            assert outs["beta"][i] == b
