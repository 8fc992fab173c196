"""The event-study kernels: compiled (numba) functions on arrays, no pandas, no dates.

Rows are (event, ticker) rows of the event table; a row reads a market's padded return matrix
``R`` (series x sessions: tickers, benchmarks, then the factors) from session ``starts[row]``,
the first day of its reach (see :class:`backtest.study.offsets.Offsets`). Column offsets are
half-open ranges relative to that session.

Models (codes :data:`MODEL_CODES`): the market model ``R = a + b R_m``, market-adjusted
``R_m``, constant mean ``a``, raw (normal return 0) and the factor model
``R - RF = a + B F`` with k factors. Every fit is OLS over the estimation days used, with
means and centred cross products updated as each day arrives (Welford), which is as stable
as two passes; the factor model's ``k x k`` system is solved by Cholesky. CAR variances and
standardized ARs use the full prediction-error covariance ``s2 (I + X* (X'X)^-1 X*')``
(MacKinlay 1997; Campbell, Lo and MacKinlay 1997, 4.4.2; Patell 1976).

The kernels are single-threaded and ``nogil``: the engine runs chunks of rows on a thread
pool, so they must not start threads of their own (:func:`cluster_pairs`, run alone, runs
ranges of its clusters on threads of its own).
Compiled code is cached on disk by numba (``NUMBA_CACHE_DIR`` or ``__pycache__``).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import cgutils
from numba.core import types as nbtypes
from numba.extending import intrinsic

MARKET, MARKET_ADJUSTED, CONSTANT_MEAN, RAW, FACTOR = 0, 1, 2, 3, 4
#: Model names to the kernels' codes.
MODEL_CODES = {
    "market": MARKET,
    "market_adjusted": MARKET_ADJUSTED,
    "constant_mean": CONSTANT_MEAN,
    "raw": RAW,
    "factor": FACTOR,
}
#: A row's status after its fit; every status but OK drops the row (see engine.STATUS_DROPS).
STATUS_OK, STATUS_FEW, STATUS_SINGULAR, STATUS_FLAT, STATUS_NO_DAY0 = 0, 1, 2, 3, 4
KEY_UNUSED = np.iinfo(np.int64).max
#: The relative determinant of X'X below which a fit is singular (a regressor that does not
#: vary, or regressors that move together).
SINGULAR_TOL = 1e-10
#: The share of Syy left as residual (1 - R^2) below which the market model's residual sum of
#: squares is summed from the residuals instead of taken as Syy - Sxy^2 / Sxx: that difference
#: loses about eps * Syy / SS of its relative precision, so a stock that tracks its benchmark
#: closely would get a wrong variance (or none: a false "zero residual variance"). Above it the
#: difference is good to about 1e3 eps, as good as summing the residuals.
SS_RECOMPUTE = 2.0**-10


def _float_bits(typingctx, x):  # type: ignore[no-untyped-def]
    """The bits of a float64 as an int64 (a bit cast: no conversion, no memory round trip)."""
    sig = nbtypes.int64(nbtypes.float64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], context.get_value_type(nbtypes.int64))

    return sig, codegen


_bits: Any = intrinsic(_float_bits)  # called as _bits(x) in compiled code


def _prefetch_codegen(write: int) -> Any:
    """The code of an LLVM prefetch of the array item the call names (``write``: 1 when the
    line is to be written, 0 read; kept in every cache level, data cache). A hint, never a
    fault: the address is not read, and one past an array's end is harmless."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, value=args[0])
        ptr = cgutils.get_item_pointer(  # type: ignore[no-untyped-call]
            context, builder, aryty, ary, list(args[1:]), wraparound=False, boundscheck=False
        )
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")  # type: ignore[no-untyped-call]
        flags = [ir.Constant(i32, v) for v in (write, 3, 1)]
        builder.call(fn, [builder.bitcast(ptr, byte_ptr), *flags])
        return context.get_dummy_value()

    return codegen


def _prefetch_item(typingctx, arr, i, j):  # type: ignore[no-untyped-def]
    """Prefetch ``arr[i, j]`` to be read."""
    return nbtypes.void(arr, i, j), _prefetch_codegen(0)


def _prefetch_for_write(typingctx, a, i):  # type: ignore[no-untyped-def]
    """Prefetch ``a[i]`` (1-D) to be written."""
    return nbtypes.void(a, i), _prefetch_codegen(1)


_prefetch: Any = intrinsic(_prefetch_item)  # called as _prefetch(R, row, column)
_prefetch_write: Any = intrinsic(_prefetch_for_write)  # called as _prefetch_write(a, i)
#: Rows ahead whose returns a pass over rows in random order prefetches (the hardware's own
#: prefetcher finds a row's stream only after its first cache misses).
PREFETCH_AHEAD = 4


@nb.njit(cache=True, inline="always")
def _prefetch_span(R, c, t0, t1):  # type: ignore[no-untyped-def]
    """Prefetch ``R[c, t0:t1]`` every 8 items (a cache line of float64; of int32, half one)."""
    for t in range(t0, t1, 8):
        _prefetch(R, c, t)


# ----------------------------------------------------------------------------- memory


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """Allocate without asking Linux for transparent huge pages (NumPy's ``madvise`` of large
    arrays), then restore NumPy's setting.

    The outputs are written once, in order, so huge pages save little on address translation,
    and on a virtual machine whose memory is fragmented each 2 MiB page can make the kernel
    compact memory while it faults it in: on the 2-core VM of BENCHMARKS.md a million-event
    study spent 2.3-2.9 s of system CPU time with huge pages and 1.4-1.5 s with small ones
    (the same user time). The values computed do not depend on it.

    NumPy's setting is process-wide: studies run at once on several threads share one
    switch (the setting is restored when the last of them leaves), and allocations of other
    threads meanwhile get small pages too (which changes nothing but their page size).
    """
    global _small_depth, _small_prior
    multiarray = getattr(getattr(np, "_core", None), "multiarray", None)
    set_ = getattr(multiarray, "_set_madvise_hugepage", None)
    if set_ is None:  # another NumPy: nothing to change
        yield
        return
    with _small_lock:
        if _small_depth == 0:
            _small_prior = bool(set_(False))  # returns the previous setting
        _small_depth += 1
    try:
        yield
    finally:
        with _small_lock:
            _small_depth -= 1
            if _small_depth == 0:
                set_(_small_prior)


_small_lock = threading.Lock()
_small_depth = 0
_small_prior = True


# ----------------------------------------------------------------------------- one session


@nb.njit(cache=True, inline="always")
def _own(model):  # type: ignore[no-untyped-def]
    """Does the model read only the stock's own return (no benchmark or risk-free series)?"""
    # comparisons, not ``in``: numba folds them when the model is a constant
    return (model == CONSTANT_MEAN) | (model == RAW)


@nb.njit(cache=True, inline="always")
def _used(ys, xs, cover, c, t, model, exclude):  # type: ignore[no-untyped-def]
    """Is session t an estimation observation of a row: has it an abnormal return (the stock's
    return and, for models that read one, the benchmark's or the risk-free rate, NaN where a
    factor is missing), and no other event's window when those are excluded?"""
    if np.isnan(ys[t]):
        return False
    if not _own(model) and np.isnan(xs[t]):
        return False
    return not (exclude and cover[c, t] > 0)


@nb.njit(cache=True, inline="always")
def _used_flat(ys, xs, cover, c, t, model, exclude):  # type: ignore[no-untyped-def]
    """:func:`_used` without branches (NaN != NaN), for loops that vectorize (``exclude`` a
    constant); where a loop cannot vectorize, the branches of :func:`_used` are faster."""
    ok = (ys[t] == ys[t]) & (_own(model) | (xs[t] == xs[t]))
    if exclude:
        return ok & (cover[c, t] <= 0)
    return ok


@nb.njit(cache=True, inline="always")
def _factor_fit(R, fb, bv, k, t):  # type: ignore[no-untyped-def]
    """``B' F_t``: the factors' part of the factor model's normal return on session t."""
    v = 0.0
    for j in range(k):
        v += bv[j] * R[fb + j, t]
    return v


@nb.njit(cache=True, inline="always")
def _normal(R, ys, xs, t, model, a, b, fb, bv, k):  # type: ignore[no-untyped-def]
    """The normal return of session t on the scale of ``ys`` (total, not excess)."""
    if model == MARKET:
        return a + b * xs[t]
    if model == CONSTANT_MEAN:
        return a
    if model == RAW:
        return 0.0
    if model == FACTOR:
        return xs[t] + a + _factor_fit(R, fb, bv, k, t)
    return xs[t]


@nb.njit(cache=True, inline="always")
def _abnormal(R, ys, xs, t, model, a, b, fb, bv, k):  # type: ignore[no-untyped-def]
    if model == RAW:
        return ys[t]
    return ys[t] - _normal(R, ys, xs, t, model, a, b, fb, bv, k)


@nb.njit(cache=True, inline="always")
def _rank_key(e, k, high):  # type: ignore[no-untyped-def]
    """An order-preserving int64 key of ``e`` (negative floats' bits flipped but the sign;
    ``e + 0.0`` makes -0.0 0.0) with its column ``k`` in the low bits (``~high``)."""
    v = _bits(e + 0.0)
    return ((v ^ ((v >> 63) & np.int64(0x7FFFFFFFFFFFFFFF))) & high) | k


# ----------------------------------------------------------------------------- fits


#: Rows fitted side by side (:func:`_fit_lanes`): two vectors of eight.
LANES = 16
#: Estimation days gathered at a time for the lanes (their buffer stays in the core's cache).
LANE_DAYS = 64


@nb.njit(cache=True, inline="always", error_model="numpy")
def _fit_lanes(R, cover, col, bench, starts, i, n_rows, model, e0, e1, exclude, days, moments):  # type: ignore[no-untyped-def]
    """The running moments of the rows ``i .. i + LANES - 1`` of a chunk (the last row
    repeated past its end) over their estimation days, side by side: per lane, the count,
    mean of y, mean of x, centred Sxx, Sxy and Syy in ``moments`` (6 runs of LANES).

    Each row's running means wait on a division every day (Welford). The rows' chains are
    independent, so they are updated together in vector instructions, the same IEEE
    operations as one at a time: ``LANE_DAYS`` days at a time, the buffer ``days`` holds
    each lane's returns (NaN on a day not used: a used day's returns are finite, as
    :func:`~backtest.study.inputs.ticker_returns` makes them), then each lane's benchmark
    returns, a lane's days one after the other (read and written contiguously); every update
    is selected, never skipped (``error_model="numpy"`` keeps numba's division check out of
    the loop).
    """
    L = LANES
    moments[:] = 0.0
    for d0 in range(e0, e1, LANE_DAYS):
        nd = min(LANE_DAYS, e1 - d0)
        for lane in range(L):  # lane-major: contiguous reads and writes
            q = min(i + lane, n_rows - 1)
            c = col[q]
            st = starts[q] + d0
            ys = R[c, st : st + nd]
            xs = R[bench[q], st : st + nd]
            cv = cover[c, st : st + nd] if exclude else cover[0, :0]
            for kk in range(nd):
                yv = ys[kk] - xs[kk] if model == MARKET_ADJUSTED else ys[kk]
                ok = (ys[kk] == ys[kk]) & (_own(model) | (xs[kk] == xs[kk]))
                if exclude:
                    ok = ok & (cv[kk] <= 0)
                days[lane * LANE_DAYS + kk] = yv if ok else np.nan
                days[(L + lane) * LANE_DAYS + kk] = xs[kk]
        for kk in range(nd):
            for lane in range(L):
                yv = days[lane * LANE_DAYS + kk]
                used = yv == yv
                n = moments[lane] + 1.0
                my = moments[L + lane]
                dy = yv - my
                my_new = my + dy / n
                if model == MARKET:
                    xv = days[(L + lane) * LANE_DAYS + kk]
                    mx = moments[2 * L + lane]
                    dx = xv - mx
                    mx_new = mx + dx / n
                    sxx = moments[3 * L + lane]
                    sxy = moments[4 * L + lane]
                    moments[3 * L + lane] = sxx + dx * (xv - mx_new) if used else sxx
                    moments[4 * L + lane] = sxy + dx * (yv - my_new) if used else sxy
                    moments[2 * L + lane] = mx_new if used else mx
                syy = moments[5 * L + lane]
                moments[5 * L + lane] = syy + dy * (yv - my_new) if used else syy
                moments[L + lane] = my_new if used else my
                moments[lane] = n if used else moments[lane]


@nb.njit(cache=True, inline="always")
def _fit_result(cnt, mx, my, sxx, sxy, syy, model):  # type: ignore[no-untyped-def]
    """(n, a, b, mean of x, centred Sxx, residual SS) from the moments of :func:`_fit_lanes`.

    The residual sum of squares is Syy - Sxy^2 / Sxx for the market model (Syy for the other
    models, whose residuals are deviations from a mean); :func:`_fit` sums it from the
    residuals instead where that difference cancels (:data:`SS_RECOMPUTE`).
    """
    if cnt == 0:
        return 0, 0.0, 0.0, 0.0, 0.0, 0.0
    a = my
    b = 0.0
    ss = syy
    if model == MARKET and sxx > 0:
        b = sxy / sxx
        a = my - b * mx
        ss = max(syy - sxy * b, 0.0)
    return cnt, a, b, mx, sxx, ss


@nb.njit(cache=True, inline="always")
def _fit_factors(R, ys, xs, fb, k, cover, c, st, e0, e1, exclude, m, cc, cxy, dx):  # type: ignore[no-untyped-def]
    """The factor model's moments over the estimation days used: their number and the mean
    of the excess return; the factors' means ``m``, centred cross products ``cc`` (k x k) and
    cross products with the excess return ``cxy`` (multivariate Welford updates)."""
    cnt = 0
    my = 0.0
    for j in range(k):
        m[j] = 0.0
        cxy[j] = 0.0
        for q in range(k):
            cc[j, q] = 0.0
    for kk in range(e0, e1):
        t = st + kk
        if not _used(ys, xs, cover, c, t, FACTOR, exclude):
            continue
        cnt += 1
        yv = ys[t] - xs[t]
        dy = yv - my
        my += dy / cnt
        for j in range(k):
            dx[j] = R[fb + j, t] - m[j]
            m[j] += dx[j] / cnt
        ey = yv - my
        for j in range(k):
            cxy[j] += dx[j] * ey
            for q in range(k):
                cc[j, q] += dx[j] * (R[fb + q, t] - m[q])
    return cnt, my


@nb.njit(cache=True, inline="always")
def _solve_factors(cc, cxy, m, cnt, k, lo, cinv, bv):  # type: ignore[no-untyped-def]
    """Solve the centred normal equations ``cc b = cxy`` by Cholesky (``lo`` the factor),
    writing ``cc``'s inverse into ``cinv`` and the slopes into ``bv``. Returns False when the
    design is singular: a pivot not positive, or the relative determinant of the uncentred
    X'X, ``det(cc) / prod_j (cc_jj + n m_j^2)``, below :data:`SINGULAR_TOL`."""
    rel = 1.0
    for j in range(k):
        s = cc[j, j]
        for q in range(j):
            s -= lo[j, q] * lo[j, q]
        if not (s > 0):
            return False
        lo[j, j] = np.sqrt(s)
        rel *= s / (cc[j, j] + cnt * m[j] * m[j])
        for i in range(j + 1, k):
            s = cc[i, j]
            for q in range(j):
                s -= lo[i, q] * lo[j, q]
            lo[i, j] = s / lo[j, j]
    if not (rel > SINGULAR_TOL):
        return False
    # inv = lo^-1 (lower triangular), then cinv = inv' inv
    inv = np.zeros((k, k))
    for j in range(k):
        inv[j, j] = 1.0 / lo[j, j]
        for i in range(j + 1, k):
            s = 0.0
            for q in range(j, i):
                s -= lo[i, q] * inv[q, j]
            inv[i, j] = s / lo[i, i]
    for i in range(k):
        for j in range(k):
            s = 0.0
            for q in range(max(i, j), k):
                s += inv[q, i] * inv[q, j]
            cinv[i, j] = s
    for i in range(k):
        s = 0.0
        for j in range(k):
            s += cinv[i, j] * cxy[j]
        bv[i] = s
    return True


@nb.njit(cache=True, inline="always")
def _row(R, rows, col, bench, fbase, starts, i):  # type: ignore[no-untyped-def]
    """Row i of a chunk: its table row, its ticker's row of R, first session, first factor,
    and its returns and its benchmark's (or risk-free rate's)."""
    c = col[i]
    return rows[i], c, starts[i], fbase[i], R[c], R[bench[i]]


MODEL = MARKET  # replaced by a constant in each compiled variant of _fit and _measure
EXCLUDE = False  # replaced by a constant in each compiled variant of _measure


def _fit(  # type: ignore[no-untyped-def]
    R, cover, rows, col, bench, fbase, starts, e0, e1, d0, exclude, min_est, alpha, beta, s2o,
    nobs_o, dof_o, mx_o, sxx_o, fbeta, fmean, fcinv, status,
):  # fmt: skip
    """Fit the rows ``rows`` and decide their status (the first pass of a measurement).

    Per row: ``alpha``, ``beta``, the residual variance ``s2o``, observations and degrees of
    freedom, and what the prediction-error variances need: for the market model the mean and
    centred sum of squares of the benchmark's returns (``mx_o``, ``sxx_o``), for the factor
    model the slopes ``fbeta``, the factors' means ``fmean`` and the inverse of their centred
    cross products ``fcinv``. A row is dropped (``status`` not OK) with fewer than
    ``min_est`` observations, a singular design, no residual variance, or no abnormal return
    on day 0 (column ``d0``).

    The compiled entry points ``fit_market`` ... ``fit_factor`` (:data:`FIT`) are this
    template with ``MODEL`` a constant, which lets the compiler drop the model branches.
    """
    model = MODEL
    n_rows = rows.shape[0]
    k = fbeta.shape[1]
    cc = np.empty((k, k))
    lo = np.zeros((k, k))
    cxy = np.empty(k)
    dx = np.empty(k)
    days = np.empty(2 * LANE_DAYS * LANES)
    moments = np.empty(6 * LANES)
    for i in range(0, n_rows, 1 if model == FACTOR else LANES):
        if model == FACTOR:
            row, c, st, fb, ys, xs = _row(R, rows, col, bench, fbase, starts, i)
            m = fmean[row]
            cnt, my = _fit_factors(R, ys, xs, fb, k, cover, c, st, e0, e1, exclude, m, cc,
                                        cxy, dx)  # fmt: skip
            nobs_o[row] = cnt
            if cnt < min_est:
                status[i] = STATUS_FEW
                continue
            bv = fbeta[row]
            if cnt <= k + 1 or not _solve_factors(cc, cxy, m, cnt, k, lo, fcinv[row], bv):
                status[i] = STATUS_SINGULAR
                continue
            a = my
            for j in range(k):
                a -= bv[j] * m[j]
            # the residual sum of squares recomputed from the residuals (not Syy - b'Sxy)
            ss = 0.0
            for kk in range(e0, e1):
                t = st + kk
                if _used(ys, xs, cover, c, t, FACTOR, exclude):
                    e = ys[t] - xs[t] - a - _factor_fit(R, fb, bv, k, t)
                    ss += e * e
            _finish_fit(R, ys, xs, i, row, st, d0, model, cnt, a, np.nan, 0.0, 0.0, ss, fb, bv,
                        k, alpha, beta, s2o, dof_o, mx_o, sxx_o, status)  # fmt: skip
            continue
        _fit_lanes(R, cover, col, bench, starts, i, n_rows, model, e0, e1, exclude, days,
                   moments)  # fmt: skip
        for q in range(i, min(i + LANES, n_rows)):
            lane = q - i
            cnt, a, b, mx, sxx, ss = _fit_result(
                int(moments[lane]), moments[2 * LANES + lane], moments[LANES + lane],
                moments[3 * LANES + lane], moments[4 * LANES + lane], moments[5 * LANES + lane],
                model,
            )  # fmt: skip
            row = rows[q]
            nobs_o[row] = cnt
            if cnt < min_est:
                status[q] = STATUS_FEW
                continue
            if model == MARKET and not (sxx > SINGULAR_TOL * (sxx + cnt * mx * mx)):
                status[q] = STATUS_SINGULAR
                continue
            if model == MARKET and ss < SS_RECOMPUTE * moments[5 * LANES + lane]:
                ss = _market_ss(R, cover, col[q], bench[q], starts[q], e0, e1, exclude, a, b)
            _finish_fit(R, R[col[q]], R[bench[q]], q, row, starts[q], d0, model, cnt, a, b, mx,
                        sxx, ss, 0, fbeta[row], 0, alpha, beta, s2o, dof_o, mx_o, sxx_o,
                        status)  # fmt: skip


@nb.njit(cache=True, inline="always")
def _market_ss(R, cover, c, bench, st, e0, e1, exclude, a, b):  # type: ignore[no-untyped-def]
    """The market model's residual sum of squares over a row's estimation days, summed from
    the residuals themselves (see :data:`SS_RECOMPUTE`)."""
    ys, xs = R[c], R[bench]
    ss = 0.0
    for kk in range(e0, e1):
        t = st + kk
        if _used(ys, xs, cover, c, t, MARKET, exclude):
            e = _abnormal(R, ys, xs, t, MARKET, a, b, 0, ys, 0)
            ss += e * e
    return ss


@nb.njit(cache=True, inline="always")
def _finish_fit(  # type: ignore[no-untyped-def]
    R, ys, xs, i, row, st, d0, model, cnt, a, b, mx, sxx, ss, fb, bv, k, alpha, beta, s2o, dof_o,
    mx_o, sxx_o, status,
):  # fmt: skip
    """Store a fit that has enough observations and a regular design, or drop it (no residual
    variance, no abnormal return on day 0)."""
    p = 2 if model == MARKET else (1 + k if model == FACTOR else 1)
    dof = cnt - p
    s2 = ss / dof
    if not (s2 > 0):
        status[i] = STATUS_FLAT
        return
    if np.isnan(_abnormal(R, ys, xs, st + d0, model, a, b, fb, bv, k)):
        status[i] = STATUS_NO_DAY0
        return
    status[i] = STATUS_OK
    alpha[row] = 0.0 if (model == MARKET_ADJUSTED) | (model == RAW) else a
    if model == MARKET:
        beta[row] = b
    elif model == MARKET_ADJUSTED:
        beta[row] = 1.0
    else:
        beta[row] = np.nan
    s2o[row] = s2
    dof_o[row] = dof
    mx_o[row] = mx
    sxx_o[row] = sxx


# ----------------------------------------------------------------------------- measurement


@nb.njit(cache=True, inline="always")
def _rank_sample(R, ys, xs, cover, c, st, model, exclude, a, b, fb, bv, k, e0, e1, in_window,  # type: ignore[no-untyped-def]
                 high, keys, i):  # fmt: skip
    """Write the rank-sample keys of row i: the abnormal returns of the estimation days used
    and of the event windows' days with one, each in its day's slot ``keys[i, kk]``
    (``KEY_UNUSED`` in the others; sorting moves those last). Returns the number of keys and
    the number of positive estimation-window abnormal returns (generalized sign test)."""
    n = 0
    pos = 0
    for kk in range(e0, e1):
        t = st + kk
        e = _abnormal(R, ys, xs, t, model, a, b, fb, bv, k)
        used = _used_flat(ys, xs, cover, c, t, model, exclude)
        n += 1 if used else 0
        pos += 1 if used and e > 0 else 0
        keys[i, kk] = _rank_key(e, kk, high) if used else KEY_UNUSED
    for kk in range(e1, keys.shape[1]):
        t = st + kk
        used = (in_window[kk] != 0) & _used_flat(ys, xs, cover, c, t, model, False)
        n += 1 if used else 0
        e = _abnormal(R, ys, xs, t, model, a, b, fb, bv, k)
        keys[i, kk] = _rank_key(e, kk, high) if used else KEY_UNUSED
    return n, pos


def _measure(  # type: ignore[no-untyped-def]
    R, cover, rows, col, bench, fbase, starts, e0, e1, p0, p1, win_a, win_b, in_window,
    log_returns, bits, keys, alpha, beta, s2o, nobs_o, mx_o, sxx_o, fbeta, fmean, fcinv,
    ar_path, car, car_var, bhar, rcount, phat,
):  # fmt: skip
    """Measure the fitted rows ``rows`` (the second pass; every row's status is OK).

    Per row: the AR path (columns ``p0:p1``), per window the CAR, its variance with the
    estimation error of the fit, ``s2 (L + s' (X'X)^-1 s)`` with ``s`` the window's column
    sums of the design, and the BHAR (in simple returns); the share of positive estimation
    residuals ``phat``; and in ``keys[i]`` the rank-sample keys (order-preserving integers
    with the column in the low ``bits``; unused slots ``KEY_UNUSED``), to be sorted and turned
    into rank sums by :func:`rank_sums`.

    The compiled entry points (:data:`MEASURE`) are this template with ``MODEL`` and
    ``EXCLUDE`` (are estimation days in another event's window left out?) constants: one
    copy of the rank-sample loops in each, which halves its compile time.
    """
    model = MODEL
    low = np.int64((1 << bits) - 1)
    high = ~low
    k = fbeta.shape[1]
    sd = np.empty(k)
    for i in range(rows.shape[0]):
        ahead = i + PREFETCH_AHEAD  # rows are in table order: their returns are far apart
        if ahead < rows.shape[0]:
            _prefetch_span(R, col[ahead], starts[ahead] + e0, starts[ahead] + keys.shape[1])
            if EXCLUDE:
                _prefetch_span(cover, col[ahead], starts[ahead] + e0, starts[ahead] + e1)
        row, c, st, fb, ys, xs = _row(R, rows, col, bench, fbase, starts, i)
        bv = fbeta[row]
        for kk in range(e0):  # _rank_sample writes every slot from e0 on
            keys[i, kk] = KEY_UNUSED
        a, b, s2, cnt = alpha[row], beta[row], s2o[row], nobs_o[row]
        mx, sxx = mx_o[row], sxx_o[row]
        inv_n = 1.0 / cnt
        for kk in range(p0, p1):
            ar_path[row, kk - p0] = _abnormal(R, ys, xs, st + kk, model, a, b, fb, bv, k)
        for w in range(win_a.shape[0]):
            total = 0.0
            sum_dx = 0.0
            for j in range(k):
                sd[j] = 0.0
            growth_s = 1.0
            growth_e = 1.0
            length = win_b[w] - win_a[w]
            for kk in range(win_a[w], win_b[w]):
                t = st + kk
                yv = ys[t]
                ev = _normal(R, ys, xs, t, model, a, b, fb, bv, k)
                total += yv - ev  # _abnormal's value (for the raw model, yv - 0.0 is yv)
                if model == MARKET:
                    sum_dx += xs[t] - mx
                if model == FACTOR:
                    for j in range(k):
                        sd[j] += R[fb + j, t] - fmean[row, j]
                if log_returns:
                    growth_s *= np.exp(yv)
                    growth_e *= np.exp(ev)
                else:
                    growth_s *= 1.0 + yv
                    growth_e *= 1.0 + ev
            car[row, w] = total
            # Var(CAR) = s2 (L + s' (X'X)^-1 s), s = X*' 1 the design's window sums; for
            # X = [1, x]: s2 (L + L^2/n + (sum (x - mean x))^2 / Sxx)  (MacKinlay 1997)
            if model == MARKET:
                car_var[row, w] = s2 * (length + length * length * inv_n + sum_dx * sum_dx / sxx)
            elif model == CONSTANT_MEAN:
                car_var[row, w] = s2 * (length + length * length * inv_n)
            elif model == FACTOR:
                quad = 0.0
                for j in range(k):
                    for q in range(k):
                        quad += sd[j] * fcinv[row, j, q] * sd[q]
                car_var[row, w] = s2 * (length + length * length * inv_n + quad)
            else:
                car_var[row, w] = s2 * length
            bhar[row, w] = growth_s - growth_e
        # the rank sample: the estimation days used and the event windows' days with an AR
        # (``EXCLUDE`` a constant: the loops have no branches on it)
        m, pos = _rank_sample(R, ys, xs, cover, c, st, model, EXCLUDE, a, b, fb, bv, k, e0, e1,
                              in_window, high, keys, i)  # fmt: skip
        rcount[i] = m
        phat[row] = pos / cnt


def _specialize(
    template: Any, name: str, error_model: Literal["python", "numpy"] = "python", **constants: Any
) -> Any:
    """Compile ``template`` with some module globals replaced by constants.

    numba treats global numbers as compile-time constants and passes them to the functions it
    calls as literal types, so every branch on them folds away. The code object is renamed so
    that each variant has its own entry in numba's on-disk cache. ``error_model``: numba's,
    for the whole function and what it inlines (``"numpy"`` where loops must vectorize).
    """
    code = template.__code__.replace(co_name=name, co_qualname=name)
    glb = dict(template.__globals__)
    glb.update(constants)
    fn = types.FunctionType(code, glb, name, template.__defaults__, template.__closure__)
    fn.__doc__ = template.__doc__
    return nb.njit(cache=True, nogil=True, error_model=error_model)(fn)


#: The first pass (fit and status) of each model, by model code.
FIT = {
    code: _specialize(_fit, f"fit_{name}", error_model="numpy", MODEL=code)
    for name, code in MODEL_CODES.items()
}
#: The second pass (ARs, CARs, BHARs, rank keys) of each model, by model code and whether
#: confounded estimation days are excluded (each compiled on its first call only).
MEASURE = {
    (code, exclude): _specialize(
        _measure, f"measure_{name}{'_excluding' if exclude else ''}", MODEL=code, EXCLUDE=exclude
    )
    for name, code in MODEL_CODES.items()
    for exclude in (False, True)
}


#: Rank keys are sorted in runs of at most this many (NumPy's x86-simd-sort sorts up to 256
#: int64 with a sorting network; a 271-key row falls back to quicksort and takes 3x longer
#: than a 256-key run plus a 15-key run); :func:`rank_sums` merges the runs.
SORT_RUN = 256


@nb.njit(cache=True, nogil=True)
def rank_sums(keys, run, rcount, bits, local, pattern, sums, counts):  # type: ignore[no-untyped-def]
    """Add each row's rank deviations ``U - 1/2`` to its groups' sums, by column.

    Each row of ``keys`` holds the row's rank keys sorted in two runs, ``keys[i, :run]`` and
    ``keys[i, run:]`` (``run >= keys.shape[1]``: one run); unused slots (``KEY_UNUSED``) sort
    last in each run, so the first ``rcount[i]`` keys of the merged runs are the row's ranked
    values in order. Ties (keys equal above the low ``bits``) get their average rank; with
    ``m`` ranked values, ``U = rank / (m + 1)`` (Corrado and Zivney 1992).

    For every grouping ``j``, row i's deviations go to row ``local[j, i]`` of ``sums`` and
    ``counts`` (groups x patterns x columns), in the slot of its observation pattern
    ``pattern[j, i]`` (which statistics it is an observation of; -1: none): each row is
    added once per grouping, and a statistic's sums are those of the patterns that hold it.
    """
    low = np.int64((1 << bits) - 1)
    high = ~low
    lr = keys.shape[1]
    run = min(run, lr)
    n_groupings = local.shape[0]
    merged = np.empty(lr + 1, dtype=np.int64)
    devs = np.empty(lr)
    for i in range(keys.shape[0]):
        m = rcount[i]
        ia = 0
        ib = run
        for o in range(m):  # merge the runs; the short second run rarely wins a comparison
            if ib >= lr or (ia < run and keys[i, ia] < keys[i, ib]):
                merged[o] = keys[i, ia]
                ia += 1
            else:
                merged[o] = keys[i, ib]
                ib += 1
        # ends the last run of ties: KEY_UNUSED's tie part is a NaN's, never a ranked
        # value's (-1's is a negative denormal's: a row's largest AR could have it)
        merged[m] = KEY_UNUSED
        # the first grouping's sums are added as the ranks are found, the others' from devs
        p0 = pattern[0, i]
        sums0 = sums[local[0, i], max(p0, 0)]
        counts0 = counts[local[0, i], max(p0, 0)]
        w = 0.5 / (m + 1.0)
        j = 0
        while j < m:
            tie = merged[j] & high
            if (merged[j + 1] & high) != tie:  # no tie, the usual case: rank j + 1
                dev = (2 * j + 2) * w - 0.5
                if p0 >= 0:
                    col = merged[j] & low
                    sums0[col] += dev
                    counts0[col] += 1
                devs[j] = dev
                j += 1
                continue
            h = j + 1
            while (merged[h + 1] & high) == tie:
                h += 1
            dev = (j + h + 2) * w - 0.5  # (j + h + 2) / 2: the average of the ranks j+1 .. h+1
            for q in range(j, h + 1):
                if p0 >= 0:
                    col = merged[q] & low
                    sums0[col] += dev
                    counts0[col] += 1
                devs[q] = dev
            j = h + 1
        for gj in range(1, n_groupings):
            p = pattern[gj, i]
            if p < 0:
                continue
            sums_g = sums[local[gj, i], p]
            counts_g = counts[local[gj, i], p]
            for q in range(m):
                col = merged[q] & low
                sums_g[col] += devs[q]
                counts_g[col] += 1


def cluster_pairs(
    R: np.ndarray, cover: np.ndarray, ptr: np.ndarray, members: np.ndarray, col: np.ndarray,
    bench: np.ndarray, fbase: np.ndarray, starts: np.ndarray, models: np.ndarray, e0: int,
    e1: int, exclude: bool, alpha: np.ndarray, beta: np.ndarray, fbeta: np.ndarray,
    pattern: np.ndarray, patterns: np.ndarray, workers: int = 2,
) -> np.ndarray:  # fmt: skip
    """Per cluster of rows (``members[ptr[g]:ptr[g+1]]``) and statistic s: ``|sum z|^2 -
    sum |z|^2`` over the members that are observations of s, with ``z`` each row's
    estimation residuals demeaned and scaled to unit length; that is the sum of the pairwise
    residual correlations within the cluster (Kolari-Pynnönen). A row's observation pattern
    is ``pattern[row]`` (-1: none), the statistics of pattern p ``patterns[p]``: each row's
    residuals are added once, to its pattern's sum.

    Clusters are independent: ranges of them holding about as many members each are summed
    on ``workers`` threads (:func:`_cluster_range` releases the GIL). A numba ``prange``
    did this before; its OpenMP launch cost 13-36 ms a call on a loaded 2-core machine,
    whatever the size, and loading its threading layer more in every process."""
    n_clusters = ptr.shape[0] - 1
    out = np.zeros((n_clusters, patterns.shape[1]))
    args = (R, cover, ptr, members, col, bench, fbase, starts, models, e0, e1, exclude, alpha,
            beta, fbeta, pattern, patterns, out)  # fmt: skip
    total = int(ptr[-1] - ptr[0]) if n_clusters else 0
    parts = max(1, min(int(workers), n_clusters, total // _CLUSTER_ROWS_PER_THREAD))
    if parts == 1:
        _cluster_range(*args, 0, n_clusters)
        return out
    # cluster bounds splitting the members into ``parts`` shares
    cuts = np.searchsorted(ptr, ptr[0] + np.arange(1, parts) * (total / parts))
    edges = [0, *sorted({int(min(max(c, 0), n_clusters)) for c in cuts}), n_clusters]
    with ThreadPoolExecutor(max_workers=parts) as pool:
        jobs = [pool.submit(_cluster_range, *args, lo, hi) for lo, hi in itertools.pairwise(edges)]
        for job in jobs:
            job.result()
    return out


#: Members below which :func:`cluster_pairs` sums on one thread (starting one costs more).
_CLUSTER_ROWS_PER_THREAD = 2000


@nb.njit(cache=True, inline="always")
def _residuals_and_norm(R, ys, xs, cover, c, t0, model, exclude, a, b, fb, bv, k, z, zp, mp):  # type: ignore[no-untyped-def]
    """One row's abnormal returns of the sessions ``t0 ..`` into ``z`` (NaN where not used),
    with their number and sum; and, in the same loop, the previous row's residuals ``zp``
    demeaned by its mean ``mp`` (0 where NaN) and their sum of squares.

    Each row's sums are added day after day, one chain of additions that waits on the last
    (what fixes their bits): two rows' chains in one loop overlap in the CPU, the same
    additions in the same order."""
    cnt = 0
    sm = 0.0
    nn = 0.0
    for kk in range(z.shape[0]):
        t = t0 + kk
        if _used(ys, xs, cover, c, t, model, exclude):
            z[kk] = _abnormal(R, ys, xs, t, model, a, b, fb, bv, k)
            sm += z[kk]
            cnt += 1
        else:
            z[kk] = np.nan
        if np.isnan(zp[kk]):
            zp[kk] = 0.0
        else:
            zp[kk] -= mp
            nn += zp[kk] * zp[kk]
    return cnt, sm, nn


@nb.njit(cache=True, inline="always")
def _demeaned_norm(z, mean):  # type: ignore[no-untyped-def]
    """``z`` demeaned (0 where NaN) and its sum of squares."""
    nn = 0.0
    for kk in range(z.shape[0]):
        if np.isnan(z[kk]):
            z[kk] = 0.0
        else:
            z[kk] -= mean
            nn += z[kk] * z[kk]
    return nn


@nb.njit(cache=True, inline="always")
def _add_unit(total, norms, pat, z, nn):  # type: ignore[no-untyped-def]
    """Add the demeaned residuals ``z`` scaled to unit length to pattern ``pat``'s sum."""
    if not nn > 0:
        return
    scale = 1.0 / np.sqrt(nn)
    for kk in range(z.shape[0]):
        total[pat, kk] += z[kk] * scale
    norms[pat] += 1.0


@nb.njit(cache=True, nogil=True)
def _cluster_range(  # type: ignore[no-untyped-def]
    R, cover, ptr, members, col, bench, fbase, starts, models, e0, e1, exclude, alpha, beta,
    fbeta, pattern, patterns, out, g0, g1,
):  # fmt: skip
    """:func:`cluster_pairs` of the clusters ``g0 .. g1-1`` into ``out``.

    A member's residuals are demeaned and their norm summed while the next member's
    residuals are computed (:func:`_residuals_and_norm`), then the member is added to its
    pattern's sum: members are added in order, each with the same operations as alone."""
    n_patterns, n_stats = patterns.shape
    le = e1 - e0
    k = fbeta.shape[1]
    z = np.empty(le)
    zp = np.empty(le)
    for g in range(g0, g1):
        total = np.zeros((n_patterns, le))
        norms = np.zeros(n_patterns)
        zp[:] = np.nan  # no previous member: nothing to demean
        mp = 0.0
        pp = -1  # the previous member's pattern (-1: none pending)
        for q in range(ptr[g], ptr[g + 1]):
            r = members[q]
            pat = pattern[r]
            if pat < 0:
                continue
            model = models[r]
            c = col[r]
            st = starts[r]
            ys = R[c]
            xs = R[bench[r]]
            fb = fbase[r]
            bv = fbeta[r]
            a = alpha[r]
            b = beta[r] if model == MARKET else 0.0
            # the market and constant-mean models (the study's and the market events'
            # defaults) a constant in their branch: loops without model branches; the others
            # share one copy of the loop (each inlined copy costs ~0.4 s of compiling)
            t0 = st + e0
            if model == MARKET:
                cnt, sm, nn = _residuals_and_norm(R, ys, xs, cover, c, t0, MARKET, exclude, a,
                                                  b, fb, bv, k, z, zp, mp)  # fmt: skip
            elif model == CONSTANT_MEAN:
                cnt, sm, nn = _residuals_and_norm(R, ys, xs, cover, c, t0, CONSTANT_MEAN,
                                                  exclude, a, b, fb, bv, k, z, zp, mp)  # fmt: skip
            else:
                cnt, sm, nn = _residuals_and_norm(R, ys, xs, cover, c, t0, model, exclude, a, b,
                                                  fb, bv, k, z, zp, mp)  # fmt: skip
            if pp >= 0:
                _add_unit(total, norms, pp, zp, nn)
            if cnt == 0:  # nothing pending: the next member's loop demeans nothing
                zp[:] = np.nan
                pp = -1
                continue
            z, zp = zp, z
            mp = sm / cnt
            pp = pat
        if pp >= 0:
            _add_unit(total, norms, pp, zp, _demeaned_norm(zp, mp))
        v = np.empty(le)
        for s in range(n_stats):
            v[:] = 0.0
            nrm = 0.0
            for pat in range(n_patterns):
                if patterns[pat, s] and norms[pat] > 0:
                    for kk in range(le):
                        v[kk] += total[pat, kk]
                    nrm += norms[pat]
            sq = 0.0
            for kk in range(le):
                sq += v[kk] * v[kk]
            out[g, s] = sq - nrm


# ----------------------------------------------------------------------------- group moments
#
# The moments of a group and column are updated row after row, in row order (that order
# fixes their last bits). A row's updates of its columns are independent of each other, so
# they are laid out column-major: the accumulators of a group are ``N_SLOTS`` runs of ``W``
# columns (a compile-time width), and a row's update is one loop over ``W`` columns without
# branches (each update selected, never skipped), which the compiler turns into vector
# instructions: eight columns' divisions at once, the same IEEE operations on each as one at
# a time, so the same numbers. The row's value, standardized value, weight and whether it is
# an observation go in the group's last four runs first. ``error_model="numpy"``: a division
# by zero in a column that is not used gives inf or NaN instead of numba's check on every
# division, which would keep the loop scalar.

N_MOMENTS = 18
#: The moments, then the row's value (18), standardized value (19), weight (20) and whether
#: it is an observation (21).
N_SLOTS = N_MOMENTS + 4
#: Columns per block of the AR path (ar_moments) and of the windows (column_moments).
AR_WIDTH = 32
WINDOW_WIDTH = 8


@nb.njit(cache=True, inline="always", error_model="numpy")
def _slot_update(a, c, W, ph, patell, var_t, dof):  # type: ignore[no-untyped-def]
    """Add column ``c`` of the row in the slots of ``a`` (one group's accumulators, runs of
    ``W``) to its moments: 0 n, 1 mean x, 2 M2 x, 3 n sx, 4 mean sx, 5 M2 sx, 6 n Patell,
    7 sum sx Patell, 8 sum dof/(dof-2), 9 n non-zero, 10 n positive (non-zero), 11 n
    positive (valid), 12 sum phat (valid), 13 sum dof (valid sx), 14 valid x not an
    observation (merged), 15 mean w, 16 M2 w, 17 co-moment of sx and w. Means and variances
    are Welford's updates."""
    v = a[18 * W + c]
    s = a[19 * W + c]
    w = a[20 * W + c]
    obs = a[21 * W + c] != 0.0
    okv = obs & (v == v)
    n = a[c] + 1.0
    m_old = a[W + c]
    dv = v - m_old
    m = m_old + dv / n
    a[2 * W + c] = a[2 * W + c] + dv * (v - m) if okv else a[2 * W + c]
    a[W + c] = m if okv else m_old
    a[c] = n if okv else a[c]
    positive = 1.0 if v > 0.0 else 0.0
    a[9 * W + c] = a[9 * W + c] + (1.0 if v != 0.0 else 0.0) if okv else a[9 * W + c]
    a[10 * W + c] = a[10 * W + c] + positive if okv else a[10 * W + c]
    a[11 * W + c] = a[11 * W + c] + positive if okv else a[11 * W + c]
    a[12 * W + c] = a[12 * W + c] + ph if okv else a[12 * W + c]
    oks = obs & (s == s)
    n3 = a[3 * W + c] + 1.0
    ms_old = a[4 * W + c]
    ds = s - ms_old
    ms = ms_old + ds / n3
    a[5 * W + c] = a[5 * W + c] + ds * (s - ms) if oks else a[5 * W + c]
    mw_old = a[15 * W + c]
    dw = w - mw_old
    mw = mw_old + dw / n3
    a[16 * W + c] = a[16 * W + c] + dw * (w - mw) if oks else a[16 * W + c]
    a[17 * W + c] = a[17 * W + c] + dw * (s - ms) if oks else a[17 * W + c]
    a[4 * W + c] = ms if oks else ms_old
    a[15 * W + c] = mw if oks else mw_old
    a[3 * W + c] = n3 if oks else a[3 * W + c]
    a[13 * W + c] = a[13 * W + c] + dof if oks else a[13 * W + c]
    patell_ok = oks & patell
    a[6 * W + c] = a[6 * W + c] + 1.0 if patell_ok else a[6 * W + c]
    a[7 * W + c] = a[7 * W + c] + s if patell_ok else a[7 * W + c]
    a[8 * W + c] = a[8 * W + c] + var_t if patell_ok else a[8 * W + c]
    a[14 * W + c] = a[14 * W + c] + 1.0 if (~obs & (v == v)) else a[14 * W + c]


@nb.njit(cache=True, inline="always")
def _slots_new(n_groups, W, k0, k1):  # type: ignore[no-untyped-def]
    """The moments of columns ``k0 .. k1-1`` (groups x columns x N_MOMENTS) and every
    group's accumulators (``N_SLOTS`` runs of ``W`` each)."""
    return np.zeros((n_groups, k1 - k0, N_MOMENTS)), np.zeros(n_groups * N_SLOTS * W)


@nb.njit(cache=True, inline="always")
def _slots_start(acc, n_groups, W, left):  # type: ignore[no-untyped-def]
    """Zero every group's accumulators for a block of the ``left`` columns still to do (at
    most ``W``; returns how many); the columns past them are no observation (and hold no
    value: NaN, or a zero from :func:`ar_moments`' block-wide loop), so their updates change
    nothing read (only the block's columns are copied out)."""
    used = min(W, left)
    acc[:] = 0.0
    for g in range(n_groups):
        for c in range(used, W):
            acc[(g * N_SLOTS + 18) * W + c] = np.nan
    return used


@nb.njit(cache=True, inline="always")
def _slots_out(acc, n_groups, W, used, out, first):  # type: ignore[no-untyped-def]
    """Copy a block's moments into ``out`` (groups x columns x moments) from column
    ``first``."""
    for g in range(n_groups):
        for c in range(used):
            for j in range(N_MOMENTS):
                out[g, first + c, j] = acc[(g * N_SLOTS + j) * W + c]


@nb.njit(cache=True, inline="always")
def _one_stat(stat_of, k0, k1):  # type: ignore[no-untyped-def]
    """The statistic of columns ``k0 .. k1-1`` when they share one, else -1."""
    for k in range(k0 + 1, k1):
        if stat_of[k] != stat_of[k0]:
            return -1
    return stat_of[k0] if k1 > k0 else -1


@nb.njit(cache=True, inline="always")
def _row_stats(dof):  # type: ignore[no-untyped-def]
    """Whether a row enters the Patell test (more than 2 degrees of freedom) and the
    variance of its t(dof)."""
    patell = dof > 2
    return patell, dof / (dof - 2.0) if patell else 0.0


@nb.njit(cache=True, nogil=True, error_model="numpy")
def column_moments(x, sx, w, dof, phat, codes, n_groups, k0, k1, kept, stat_of):  # type: ignore[no-untyped-def]
    """One pass over the rows of columns ``k0 .. k1-1`` of ``x``, ``sx`` and ``w`` (rows x
    columns: values, standardized values ``sx = x w`` and standardization weights ``w``):
    per group and column, the moments of the t, Patell, BMP, sign and generalized sign tests
    over the rows that are observations of the column's statistic (``kept[row,
    stat_of[k]]``); see :func:`_slot_update`.

    Returns a (n_groups, k1 - k0, N_MOMENTS) array. A column's numbers do not depend on the
    other columns (what inverting the BMP test into an interval needs is moment 17, see
    :func:`backtest.study.statistics.headline`).
    """
    W = WINDOW_WIDTH
    out, acc = _slots_new(n_groups, W, k0, k1)
    for b0 in range(k0, k1, W):
        used = _slots_start(acc, n_groups, W, k1 - b0)
        for i in range(x.shape[0]):
            a = acc[codes[i] * N_SLOTS * W : (codes[i] + 1) * N_SLOTS * W]
            patell, var_t = _row_stats(dof[i])
            for c in range(used):
                k = b0 + c
                a[18 * W + c] = x[i, k]
                a[19 * W + c] = sx[i, k]
                a[20 * W + c] = w[i, k]
                a[21 * W + c] = 1.0 if kept[i, stat_of[k]] else 0.0
            ph, d = phat[i], dof[i]
            for c in range(W):
                _slot_update(a, c, W, ph, patell, var_t, d)
        _slots_out(acc, n_groups, W, used, out, b0 - k0)
    return out


@nb.njit(cache=True, inline="always")
def _prediction_sd(i, kk, model, s2, inv_n, mx, sxx, bx, xrow, st, fmean, fcinv):  # type: ignore[no-untyped-def]
    """The standard deviation of an abnormal return's prediction error: the square root of
    ``s2 (1 + x' (X'X)^-1 x)`` (Patell 1976): for X = [1, x] ``s2 (1 + 1/n + (x - mean x)^2 /
    Sxx)`` with x the benchmark's return ``bx[xrow, st + kk]``; for the factor model ``s2 (1 +
    1/n + d' C^-1 d)`` with d the factors' deviations from their means (``bx[xrow + j]``);
    for the constant-mean model ``s2 (1 + 1/n)``; market-adjusted and raw ``s2``."""
    if model == MARKET:
        dx = bx[xrow, st + kk] - mx
        v = s2 * (1.0 + inv_n + dx * dx / sxx)
    elif model == CONSTANT_MEAN:
        v = s2 * (1.0 + inv_n)
    elif model == FACTOR:
        k = fmean.shape[1]
        quad = 0.0
        for j in range(k):
            dj = bx[xrow + j, st + kk] - fmean[i, j]
            for q in range(k):
                quad += dj * fcinv[i, j, q] * (bx[xrow + q, st + kk] - fmean[i, q])
        v = s2 * (1.0 + inv_n + quad)
    else:
        v = s2
    return np.sqrt(v)


@nb.njit(cache=True, inline="always")
def _put_standardized(a, c, W, v, sd):  # type: ignore[no-untyped-def]
    """Put an abnormal return ``v`` with its prediction-error SD in column ``c``'s slots: the
    value, the standardized value ``v / sd`` and the weight ``1 / sd``."""
    a[18 * W + c] = v
    a[19 * W + c] = v / sd
    a[20 * W + c] = 1.0 / sd


@nb.njit(cache=True, nogil=True, error_model="numpy")
def ar_moments(  # type: ignore[no-untyped-def]
    ar, models, s2, nobs, mx, sxx, bx, bx_row, bx_start, fmean, fcinv, dof, phat, codes,
    n_groups, k0, k1, kept, stat_of,
):  # fmt: skip
    """:func:`column_moments` of the AR path ``ar`` (rows x days) and its standardized values,
    computed here instead of stored (:func:`_prediction_sd`, with each row's model and fit, and
    its regressors' returns from ``bx[bx_row[i]]`` at session ``bx_start[i] + k`` on day k of
    the path): the same numbers, without a second array as large as the AR path."""
    W = AR_WIDTH
    out, acc = _slots_new(n_groups, W, k0, k1)
    # a row's ARs and benchmark returns of the block, past the block's columns zeros (their
    # slots are not read): the standardizing loop runs over the block's width, a constant,
    # and compiles to vector instructions; a loop over fewer columns ran one at a time
    vb = np.zeros(W)
    xb = np.zeros(W)
    for b0 in range(k0, k1, W):
        used = _slots_start(acc, n_groups, W, k1 - b0)
        vb[:] = 0.0
        xb[:] = 0.0
        one = _one_stat(stat_of, b0, b0 + used)
        for i in range(ar.shape[0]):
            a = acc[codes[i] * N_SLOTS * W : (codes[i] + 1) * N_SLOTS * W]
            if one >= 0 and not kept[i, one]:  # no observation in the block: merged values
                for c in range(used):
                    v = ar[i, b0 + c]
                    a[14 * W + c] = a[14 * W + c] + 1.0 if v == v else a[14 * W + c]
                continue
            patell, var_t = _row_stats(dof[i])
            model = models[i]
            inv_n = 1.0 / nobs[i]
            xrow = bx_row[i]
            st = bx_start[i]
            if model == MARKET:  # the usual model, in a loop that vectorizes
                for c in range(used):
                    vb[c] = ar[i, b0 + c]
                    xb[c] = bx[xrow, st + b0 + c]
                base = 1.0 + inv_n
                for c in range(W):
                    dx = xb[c] - mx[i]
                    _put_standardized(a, c, W, vb[c], np.sqrt(s2[i] * (base + dx * dx / sxx[i])))
            else:
                for c in range(used):
                    sd = _prediction_sd(i, b0 + c, model, s2[i], inv_n, mx[i], sxx[i], bx, xrow,
                                        st, fmean, fcinv)  # fmt: skip
                    _put_standardized(a, c, W, ar[i, b0 + c], sd)
            for c in range(used):
                a[21 * W + c] = (
                    1.0 if (kept[i, one] if one >= 0 else kept[i, stat_of[b0 + c]]) else 0.0
                )
            ph, d = phat[i], dof[i]
            for c in range(W):
                _slot_update(a, c, W, ph, patell, var_t, d)
        _slots_out(acc, n_groups, W, used, out, b0 - k0)
    return out


@nb.njit(cache=True, nogil=True)
def path_moments(ar, codes, n_groups, kept):  # type: ignore[no-untyped-def]
    """Per group and day: count, mean and M2 (Welford) of the cumulative AR from the first day
    of the path (NaN once a day is missing), and count and mean of the AR itself, over the
    rows that are observations of the days' statistics (``kept[row]``).

    Returns a (n_groups, L, 5) array: cum n, cum mean, cum M2, AR n, AR mean.
    """
    n, length = ar.shape
    out = np.zeros((n_groups, length, 5))
    for i in range(n):
        if kept[i] == 0:
            continue
        g = codes[i]
        cum = 0.0
        for k in range(length):
            v = ar[i, k]
            cum += v  # NaN propagates: the cumulative AR is missing after a missing day
            if not np.isnan(v):
                m = out[g, k, 3] + 1.0
                out[g, k, 4] += (v - out[g, k, 4]) / m
                out[g, k, 3] = m
            if not np.isnan(cum):
                m = out[g, k, 0] + 1.0
                d = cum - out[g, k, 1]
                out[g, k, 1] += d / m
                out[g, k, 2] += d * (cum - out[g, k, 1])
                out[g, k, 0] = m
    return out


# ----------------------------------------------------------------------------- sorting


@nb.njit(cache=True, inline="always")
def _signed_rank_key(v):  # type: ignore[no-untyped-def]
    """Order-preserving key of |v| with the sign in the lowest bit; NaN and 0: KEY_UNUSED.
    Values equal to within one unit in the last place share a key (they count as ties)."""
    if np.isnan(v) or v == 0.0:
        return KEY_UNUSED
    return (_bits(abs(v)) & ~np.int64(1)) | (1 if v > 0 else 0)


@nb.njit(cache=True, inline="always")
def _radix_digits(keys, n):  # type: ignore[no-untyped-def]
    """The digits of a least-significant-digit radix sort of the non-negative ``keys[:n]``:
    the lowest bit in which some keys differ, the number of passes over the bits that vary
    (0 when every key is the same) and the digit width (at most 11 bits)."""
    orv = np.int64(0)
    andv = np.int64(-1)
    for i in range(n):
        orv |= keys[i]
        andv &= keys[i]
    diff = orv ^ andv  # the bits in which some keys differ
    if diff == 0:
        return 0, 0, 1
    lo = 0
    while not (diff >> lo) & 1:
        lo += 1
    hi = 62
    while not (diff >> hi) & 1:
        hi -= 1
    width = hi - lo + 1
    passes = (width + 10) // 11
    return lo, passes, (width + passes - 1) // passes


@nb.njit(cache=True, inline="always")
def _digit_starts(src, n, shift, mask, counts):  # type: ignore[no-untyped-def]
    """``counts[d]``: where the keys of ``src[:n]`` whose digit ``(key >> shift) & mask`` is
    ``d`` start in this pass's output (a counting sort's offsets)."""
    counts[:] = 0
    for i in range(n):
        counts[(src[i] >> shift) & mask] += 1
    total = 0
    for d in range(counts.shape[0]):
        c = counts[d]
        counts[d] = total
        total += c


@nb.njit(cache=True, nogil=True)
def radix_sort(keys, tmp):  # type: ignore[no-untyped-def]
    """Sort int64 keys in place: ``KEY_UNUSED`` (the largest) moved to the end, the others
    (non-negative) by a least-significant-digit radix sort over the bits that vary, with the
    buffer ``tmp`` (at least as long as ``keys``).

    The passes cover only the bits in which the keys differ, in digits of at most 11 bits
    (2,048 counters, which stay in the L1 cache): about 6 passes for the keys of a million
    abnormal returns, 5 times faster than a comparison sort. Any sort gives the same result.
    """
    n = keys.shape[0]
    m = 0
    for i in range(n):
        v = keys[i]
        if v != KEY_UNUSED:
            keys[m] = v
            m += 1
    for i in range(m, n):
        keys[i] = KEY_UNUSED
    if m < 2:
        return
    if m <= 32:  # insertion sort
        for i in range(1, m):
            v = keys[i]
            j = i - 1
            while j >= 0 and keys[j] > v:
                keys[j + 1] = keys[j]
                j -= 1
            keys[j + 1] = v
        return
    lo, passes, digit = _radix_digits(keys, m)
    if passes == 0:
        return
    mask = np.int64((1 << digit) - 1)
    counts = np.empty(1 << digit, dtype=np.int64)
    src = keys[:m]
    dst = tmp[:m]
    for p in range(passes):
        shift = lo + p * digit
        _digit_starts(src, m, shift, mask, counts)
        for i in range(m):  # stable scatter by this digit
            v = src[i]
            d = (v >> shift) & mask
            dst[counts[d]] = v
            counts[d] += 1
        src, dst = dst, src
    if passes % 2 == 1:
        for i in range(m):  # a loop, not ``keys[:m] = tmp[:m]``: numba compiles a slice
            keys[i] = tmp[i]  # assignment with a shape-error message (2.5 s of compiling)


#: Group segments at least this long are sorted by NumPy (its SIMD sort: about 5 ms for a
#: million int64 keys, a third of the radix sort's time); shorter ones, which stay in the
#: core's cache, by :func:`radix_sort` in one compiled call.
NUMPY_SORT_MIN = 4096


def signed_rank_columns(
    x: np.ndarray, k0: int, k1: int, order: np.ndarray, bounds: np.ndarray, keys: np.ndarray,
    tmp: np.ndarray, kept: np.ndarray, stats: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """:func:`signed_rank_stats` of each of the columns ``k0 .. k1-1`` of ``x`` (rows x
    columns; the result columns x groups x 4), column ``k0 + c`` over the rows that are
    observations of statistic ``stats[c]`` (``kept[row, stats[c]]``): the rows in group order
    (``x[order[i], k]``; as they are when ``order`` is empty), keyed, sorted within each
    group segment ``bounds[g]:bounds[g+1]``, ranked. ``keys`` is a buffer of at least
    ``k1 - k0`` rows of the number of rows of ``x`` (holding each column's sorted keys
    afterwards), ``tmp`` one row of it.

    The keys are integers, so every sort gives the same sorted segments: long segments are
    sorted by NumPy (which releases the GIL), the others by :func:`radix_sort`.

    The columns' keys are made in one pass over the rows: a row's columns are next to each
    other in memory, so one read of it serves them all (a pass per column reads a whole
    cache line of every row for one value of it: most of the time of the keys of the 45
    columns of a million-event study). Each column is then sorted and ranked on its own.
    """
    n = x.shape[0]
    kk = keys[: k1 - k0, :n]
    _signed_rank_keys(x, k0, order, kept, stats, kk)
    sizes = np.diff(bounds)
    long = np.flatnonzero(sizes >= NUMPY_SORT_MIN)
    short = bool((sizes < NUMPY_SORT_MIN).any())
    out = np.empty((k1 - k0, len(bounds) - 1, 4))
    for c in range(k1 - k0):
        column = kk[c]
        for g in long:
            column[bounds[g] : bounds[g + 1]].sort()
        if short:
            _sort_segments(column, bounds, tmp, NUMPY_SORT_MIN)
        out[c] = signed_rank_stats(column, bounds)
    return out


@nb.njit(cache=True, nogil=True)
def _signed_rank_keys(x, k0, order, kept, stats, kk):  # type: ignore[no-untyped-def]
    """``kk[c, i]``: the signed-rank key of column ``k0 + c`` of the i-th row in group order
    (see :func:`signed_rank_columns`), for each of the ``kk.shape[0]`` columns."""
    n = x.shape[0]
    width = kk.shape[0]
    for i in range(n):
        r = order[i] if order.shape[0] else i
        for c in range(width):
            v = x[r, k0 + c]
            kk[c, i] = _signed_rank_key(v) if kept[r, stats[c]] else KEY_UNUSED


@nb.njit(cache=True, nogil=True)
def _sort_segments(kk, bounds, tmp, below):  # type: ignore[no-untyped-def]
    """Radix-sort the segments ``kk[bounds[g]:bounds[g+1]]`` shorter than ``below``."""
    for g in range(bounds.shape[0] - 1):
        if bounds[g + 1] - bounds[g] < below:
            radix_sort(kk[bounds[g] : bounds[g + 1]], tmp)


@nb.njit(cache=True, nogil=True)
def signed_rank_stats(keys, bounds):  # type: ignore[no-untyped-def]
    """W+, n, sum of (t^3 - t) over ties and a tie flag per group, from keys sorted within
    each group segment ``keys[bounds[g]:bounds[g+1]]`` (unused keys last).

    The sums are kept in locals and stored once per group (the same additions in the same
    order as adding into ``out``), and a key unlike the next one is ranked without the tie
    loop (rank ``j - a + 1``, what the tie formula gives for a run of one) nor a branch."""
    n_groups = bounds.shape[0] - 1
    out = np.zeros((n_groups, 4))
    for g in range(n_groups):
        a = bounds[g]
        b = bounds[g + 1]
        w_plus = 0.0
        count = 0.0
        cubes = 0.0
        tied = 0.0
        j = a
        while j < b and keys[j] != KEY_UNUSED:
            kj = keys[j]
            if j + 1 >= b or keys[j + 1] == KEY_UNUSED or (keys[j + 1] >> 1) != (kj >> 1):
                # without a branch on the sign (adding 0.0 to a sum >= 0 changes nothing)
                w_plus += (kj & 1) * ((j + j) / 2.0 - a + 1.0)
                count += 1.0
                j += 1
                continue
            h = j + 1
            while h + 1 < b and keys[h + 1] != KEY_UNUSED and (keys[h + 1] >> 1) == (kj >> 1):
                h += 1
            rank = (j + h) / 2.0 - a + 1.0  # average rank of the run within the group
            for q in range(j, h + 1):
                if keys[q] & 1:
                    w_plus += rank
            t = h - j + 1.0
            count += t
            cubes += t * t * t - t
            tied = 1.0
            j = h + 1
        out[g, 0] = w_plus
        out[g, 1] = count
        out[g, 2] = cubes
        out[g, 3] = tied
    return out


@nb.njit(cache=True, nogil=True)
def stable_argsort(keys):  # type: ignore[no-untyped-def]
    """``np.argsort(keys, kind="stable")`` for non-negative int64 keys, by a least-significant
    digit radix sort over the bits that vary (digits of at most 11 bits). A stable sort's
    permutation is unique, so this is the same permutation, found without comparisons."""
    n = keys.shape[0]
    order = np.arange(n)
    if n < 2:
        return order
    lo, passes, digit = _radix_digits(keys, n)
    if passes == 0:
        return order
    mask = np.int64((1 << digit) - 1)
    counts = np.empty(1 << digit, dtype=np.int64)
    src_k = keys.copy()
    src_i = order
    dst_k = np.empty(n, dtype=np.int64)
    dst_i = np.empty(n, dtype=np.int64)
    for p in range(passes):
        shift = lo + p * digit
        _digit_starts(src_k, n, shift, mask, counts)
        for i in range(n):
            v = src_k[i]
            d = (v >> shift) & mask
            dst_k[counts[d]] = v
            dst_i[counts[d]] = src_i[i]
            counts[d] += 1
        src_k, dst_k = dst_k, src_k
        src_i, dst_i = dst_i, src_i
    return src_i


# ----------------------------------------------------------------------------- events


@nb.njit(cache=True, nogil=True)
def primaries(group, tick, pos, target, length, primary, named):  # type: ignore[no-untyped-def]
    """Each row's observation for one statistic of one grouping, for rows sorted by (group,
    ticker, day 0 position; ties in table order): ``primary[q]`` is the position (in that
    order) of the row that measures row q's observation (q itself when row q is one).

    Rows of one group and ticker whose day-0 positions are at most ``length`` apart have
    overlapping measured days; such rows, directly or through a chain, are one observation.
    Its primary is the earliest row that another row of the observation names (``target[q]``:
    the position of the row of the event in row q's ``same_news_as``, or -1), else its
    earliest row. ``named`` is a scratch array as long as the rows.
    """
    n = group.shape[0]
    q = 0
    while q < n:
        h = q + 1  # the observation's rows: q .. h - 1
        while (
            h < n
            and group[h] == group[h - 1]
            and tick[h] == tick[h - 1]
            and pos[h] - pos[h - 1] <= length
        ):
            h += 1
        best = q
        if h - q > 1:
            for z in range(q, h):
                named[z] = 0
            for z in range(q, h):
                t = target[z]
                if q <= t < h and t != z:
                    named[t] = 1
            for z in range(q, h):
                if named[z]:
                    best = z
                    break
        for z in range(q, h):
            primary[z] = best
        q = h


@nb.njit(cache=True, nogil=True)
def observation_lists(primary, codes, where, n_list):  # type: ignore[no-untyped-def]
    """For rows in the order of :func:`primaries` (each observation's rows together, its
    primary at ``primary[q]``): the number of other rows of each row's observation, and
    ``codes`` (in that order) of the rows its list names: for a primary, the first
    ``n_list`` rows merged into it; for a merged row, its primary. Listed for the rows in the
    order ``where`` gives (output row i is input row ``where[i]``): row i's are
    ``listed[ptr[i]:ptr[i + 1]]`` (int32, as Arrow lists take them)."""
    n = primary.shape[0]
    start = np.empty(n, dtype=np.int64)
    counts = np.empty(n, dtype=np.int64)
    q = 0
    while q < n:
        h = q + 1
        while h < n and primary[h] == primary[q]:
            h += 1
        for z in range(q, h):
            start[z] = q
            counts[z] = h - q - 1
        q = h
    m = where.shape[0]
    ptr = np.zeros(m + 1, dtype=np.int32)
    for i in range(m):
        r = where[i]
        size = counts[r] if primary[r] == r else min(counts[r], 1)
        ptr[i + 1] = ptr[i] + min(size, n_list)
    listed = np.empty(ptr[m], dtype=np.int32)
    for i in range(m):
        r = where[i]
        o = ptr[i]
        if o == ptr[i + 1]:
            continue
        if primary[r] != r:
            listed[o] = codes[primary[r]]
            continue
        y = start[r]
        while o < ptr[i + 1]:
            if y != r:
                listed[o] = codes[y]
                o += 1
            y += 1
    return counts, ptr, listed


# ----------------------------------------------------------------------------- confounders


def confounders(
    skey: np.ndarray, sevents: np.ndarray, squery: np.ndarray, n_queries: int, lo_off: int,
    hi_off: int, n_list: int,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """For each query i, the reference at the sorted position p with ``squery[p] == i``: how
    many references j have ``skey[p] + lo_off <= skey[j] <= skey[p] + hi_off`` (the sorted
    reference keys) and an event code other than the query's ``sevents[p]``, and the event
    codes of the first ``n_list`` of them, query after query (query i's are the next
    ``min(counts[i], n_list)``). Returns ``(counts, listed)``.

    Each query is one of the references, so the queries are taken in the references' sorted
    order: their own keys and events are read in place (no sort of their own, no gather),
    and both ends of each query's range only move forward (one sweep, no pairs stored:
    memory O(references + listed) however dense the events are); a second sweep, once the
    counts place every query's list, writes the lists.

    Taken in that order, the queries' own rows (of ``counts`` and ``ptr``) are read and
    written in no order: each sweep asks for the row of the query ``_AHEAD`` positions on
    while it works on this one, so that the memory's latency is not waited for one query
    after the other (a third of the time of the lists' sweep of a million queries).
    """
    counts = np.zeros(n_queries, dtype=np.int64)
    _confounder_counts(skey, sevents, squery, lo_off, hi_off, counts)
    ptr = np.zeros(n_queries + 1, dtype=np.int64)
    np.cumsum(np.minimum(counts, n_list), out=ptr[1:])
    listed = np.empty(int(ptr[-1]), dtype=np.int64)
    _confounder_lists(skey, sevents, squery, lo_off, ptr, listed)
    return counts, listed


#: How many sorted positions ahead the confounder sweeps ask for a query's row.
_AHEAD = 16


@nb.njit(cache=True, inline="always")
def _sweep_step(skey, squery, rows, p, a, lo_off):  # type: ignore[no-untyped-def]
    """Step p of a confounder sweep: prefetch the row (of ``rows``) of the query ``_AHEAD``
    positions on, and move the low end ``a`` of the query's range to its first reference not
    below ``key + lo_off``. Returns the query (-1: position p is no query), its key and ``a``."""
    m = skey.shape[0]
    if p + _AHEAD < m and squery[p + _AHEAD] >= 0:
        _prefetch_write(rows, squery[p + _AHEAD])
    i = squery[p]
    if i < 0:
        return i, skey[p], a
    k = skey[p]
    while a < m and skey[a] < k + lo_off:
        a += 1
    return i, k, a


@nb.njit(cache=True, nogil=True)
def _confounder_counts(skey, sevents, squery, lo_off, hi_off, counts):  # type: ignore[no-untyped-def]
    """:func:`confounders`' counts."""
    m = skey.shape[0]
    a = 0
    b = 0
    for p in range(m):
        i, k, a = _sweep_step(skey, squery, counts, p, a, lo_off)
        if i < 0:
            continue
        while b < m and skey[b] <= k + hi_off:
            b += 1
        e = sevents[p]
        c = 0
        for j in range(a, b):
            if sevents[j] != e:
                c += 1
        counts[i] = c


@nb.njit(cache=True, nogil=True)
def _confounder_lists(skey, sevents, squery, lo_off, ptr, listed):  # type: ignore[no-untyped-def]
    """:func:`confounders`' lists: query i's into ``listed[ptr[i]:ptr[i + 1]]``."""
    m = skey.shape[0]
    a = 0
    for p in range(m):
        i, _, a = _sweep_step(skey, squery, ptr, p, a, lo_off)
        if i < 0:
            continue
        e = sevents[p]
        j = a
        for o in range(ptr[i], ptr[i + 1]):
            while sevents[j] == e:
                j += 1
            listed[o] = sevents[j]
            j += 1
