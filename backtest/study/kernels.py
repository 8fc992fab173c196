"""Event-study kernels: pure functions on float64 arrays, vectorised over events.

No dates, no pandas, no I/O. Rows are events, columns are trading days relative to day 0 (or
the estimation-window days). Missing values are NaN; boolean masks say which observations a
model may use. The engine (:mod:`backtest.study.engine`) aligns labelled data, calls these, and
labels the results.

References
----------
MacKinlay, A. C. (1997). Event studies in economics and finance. *Journal of Economic
Literature* 35(1), 13-39.
Campbell, J. Y., Lo, A. W., MacKinlay, A. C. (1997). *The Econometrics of Financial Markets*,
ch. 4. Princeton University Press.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

FloatArray = np.ndarray


# ----------------------------------------------------------------------------- gathering


def window_view(series_by_time: FloatArray, length: int) -> FloatArray:
    """A read-only view of every run of ``length`` consecutive values of each series.

    ``series_by_time`` is (n_series, n_times), C-contiguous; the view is
    (n_series, n_times - length + 1, length). Gathering windows from this view copies contiguous
    runs, which is an order of magnitude faster than fancy indexing element by element.
    """
    return sliding_window_view(series_by_time, length, axis=1)


def gather(view: FloatArray, series: np.ndarray, starts: np.ndarray) -> FloatArray:
    """Rows ``view[series[i], starts[i], :]``: one window per event, as an (n, length) copy."""
    return np.ascontiguousarray(view[series, starts])


# ----------------------------------------------------------------------------- OLS


@dataclass(frozen=True)
class OLSFit:
    """Per-event OLS fits ``y = X beta + e`` over the masked estimation observations.

    Attributes
    ----------
    beta: (n, p) coefficients.
    xtx_inv: (n, p, p) inverse of X'X (for prediction-error variances).
    s2: (n,) residual variance, SSR / (nobs - p).
    nobs: (n,) observations used.
    dof: (n,) nobs - p.
    resid: (n, L) residuals on used observations, NaN elsewhere.
    singular: (n,) X'X could not be inverted (e.g. a regressor without variation).
    """

    beta: FloatArray
    xtx_inv: FloatArray
    s2: FloatArray
    nobs: np.ndarray
    dof: np.ndarray
    resid: FloatArray
    singular: np.ndarray


def ols_fit(y: FloatArray, regressors: Sequence[FloatArray | None], mask: np.ndarray) -> OLSFit:
    """Batched OLS of ``y`` on ``regressors`` for every row, using only ``mask``-ed columns.

    Parameters
    ----------
    y:
        (n, L) dependent variable (the stock's returns, excess returns for factor models).
    regressors:
        p arrays of shape (n, L); ``None`` stands for the intercept (a column of ones).
    mask:
        (n, L) boolean, True where an observation may be used (all inputs finite there).

    Notes
    -----
    X'X and X'y are accumulated from masked cross products, so rows with different missing
    days are handled without a loop. Residuals are recomputed explicitly (not as y'y - b'X'y)
    for accuracy.
    """
    n, _ = y.shape
    p = len(regressors)
    m = mask.astype(np.float64)
    # masked regressors; the intercept's masked column is the mask itself
    xs = [m if x is None else np.where(mask, x, 0.0) for x in regressors]
    ym = np.where(mask, y, 0.0)
    xtx = np.empty((n, p, p))
    xty = np.empty((n, p))
    for a in range(p):
        xty[:, a] = np.einsum("nl,nl->n", xs[a], ym)
        for b in range(a, p):
            xtx[:, a, b] = xtx[:, b, a] = np.einsum("nl,nl->n", xs[a], xs[b])
    nobs = mask.sum(axis=1)
    # Singular or near-singular X'X: relative determinant below a tolerance.
    diag = np.prod(np.diagonal(xtx, axis1=1, axis2=2), axis=1)
    det = np.linalg.det(xtx) if p > 1 else xtx[:, 0, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(diag > 0, det / diag, 0.0)
    singular = ~(rel > 1e-10) | (nobs <= p)
    safe = np.where(singular[:, None, None], np.eye(p)[None, :, :], xtx)
    xtx_inv = np.linalg.inv(safe)
    beta = np.einsum("npq,nq->np", xtx_inv, xty)
    resid = y - ols_predict(beta, regressors, y)
    resid[~mask] = np.nan
    dof = nobs - p
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.where(dof > 0, np.nansum(resid * resid, axis=1) / dof, np.nan)
    beta[singular] = np.nan
    s2[singular] = np.nan
    return OLSFit(beta, xtx_inv, s2, nobs, dof, resid, singular)


def ols_predict(
    beta: FloatArray, regressors: Sequence[FloatArray | None], like: FloatArray
) -> FloatArray:
    """Fitted values ``X* beta`` for every row over the columns of ``like``."""
    out = np.empty_like(like)
    out[...] = 0.0
    for k, x in enumerate(regressors):
        if x is None:
            out += beta[:, [k]]
        else:
            out += beta[:, [k]] * x
    return out


def ols_window_sums(
    regressors: Sequence[FloatArray | None], cols: slice, like: FloatArray
) -> FloatArray:
    """(n, p) sums of each regressor over the event-window columns ``cols``."""
    width = len(range(*cols.indices(like.shape[1])))
    return np.stack(
        [
            np.full(like.shape[0], float(width)) if x is None else x[:, cols].sum(axis=1)
            for x in regressors
        ],
        axis=1,
    )


def ols_car_variance(
    s2: FloatArray, xtx_inv: FloatArray, window_sums: FloatArray, length: int
) -> FloatArray:
    """Variance of CAR over an L-day window, estimation error included.

    With prediction errors ``e* = y* - X* b`` over the window, ``Var(e*) = s2 (I + X* V X*')``
    where ``V = (X'X)^-1`` (MacKinlay 1997, eq. 9-10; Campbell, Lo, MacKinlay 1997, 4.4.2).
    The CAR is ``1' e*``, so ``Var(CAR) = s2 (L + s' V s)`` with ``s = X*' 1``, the column sums
    of the window's regressors. The off-diagonal terms of ``X* V X*'`` are kept: dropping them
    understates the variance (11 instead of 15 in the worked example of the tests).
    """
    quad = np.einsum("np,npq,nq->n", window_sums, xtx_inv, window_sums)
    return s2 * (length + quad)


def ols_day_variance(
    s2: FloatArray,
    xtx_inv: FloatArray,
    regressors: Sequence[FloatArray | None],
    cols: slice,
    like: FloatArray,
) -> FloatArray:
    """(n, L) variance of each day's prediction error over ``cols``: ``s2 (1 + x_t' V x_t)``.

    (Patell 1976.) Only the requested columns are computed.
    """
    n = like.shape[0]
    width = len(range(*cols.indices(like.shape[1])))
    quad = np.zeros((n, width))
    for a, xa in enumerate(regressors):
        va = np.ones((n, width)) if xa is None else xa[:, cols]
        for b, xb in enumerate(regressors):
            vb = np.ones((n, width)) if xb is None else xb[:, cols]
            quad += xtx_inv[:, a, b][:, None] * va * vb
    return s2[:, None] * (1.0 + quad)


# ----------------------------------------------------------------------------- ranks


def row_ranks(values: FloatArray, valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ranks within each row, ties averaged, as doubled integers; invalid values are not ranked.

    Returns ``(rank2, count)``: ``rank2`` is (n, L) uint16 holding twice the average rank
    (1-based, so 2..2L; 0 where the value is NaN or not ``valid``) and ``count`` the number of
    ranked values per row. Doubling keeps average ranks of ties (x.5) exact in integers.

    Each float is mapped to an order-preserving 64-bit integer key whose lowest bits are
    replaced by the column number, so one plain ``sort`` per row gives the permutation (faster
    than ``argsort``). Values that agree to about 13 significant digits are treated as ties.
    """
    n, length = values.shape
    if length >= 2**15:
        raise ValueError("rows longer than 32767 cannot be ranked into uint16")
    if valid is None:
        valid = ~np.isnan(values)
    bits = max(1, int(length - 1).bit_length())
    low = np.int64((1 << bits) - 1)
    # +0.0 turns -0.0 into 0.0; then negative floats' bit patterns are flipped (except the
    # sign) so that the int64 order is the float order
    key = (values + 0.0).view(np.int64)
    key ^= (key >> 63) & np.int64(0x7FFFFFFFFFFFFFFF)
    key[~valid] = np.iinfo(np.int64).max  # unranked values sort last
    key &= ~low
    key |= np.arange(length, dtype=np.int64)[None, :]
    key.sort(axis=1)
    count = valid.sum(axis=1)
    pos = np.arange(length, dtype=np.int64)
    same = ((key[:, 1:] ^ key[:, :-1]) & ~low) == 0  # equal once the low bits are gone
    tied_rows = np.flatnonzero(same.any(axis=1))
    key &= low  # now the column of each sorted value
    key += (np.arange(n, dtype=np.int64) * length)[:, None]
    out = np.empty((n, length), dtype=np.uint16)
    flat = out.reshape(-1)
    flat[key.reshape(-1)] = np.broadcast_to((2 * pos + 2).astype(np.uint16), (n, length)).reshape(
        -1
    )
    if tied_rows.size:  # average the ranks of ties, only in the rows that have ties
        eq = same[tied_rows]
        new_run = np.ones((len(tied_rows), length), dtype=bool)
        new_run[:, 1:] = ~eq
        run_start = np.maximum.accumulate(np.where(new_run, pos, 0), axis=1)
        end_run = np.ones_like(new_run)
        end_run[:, :-1] = ~eq
        run_end = np.minimum.accumulate(np.where(end_run, pos, length)[:, ::-1], axis=1)[:, ::-1]
        flat[key[tied_rows].reshape(-1)] = (run_start + run_end + 2).astype(np.uint16).reshape(-1)
    out[~valid] = 0
    return out, count


# ----------------------------------------------------------------------------- windows


def window_sum(values: FloatArray, cols: slice) -> FloatArray:
    """Row sums over ``cols``; NaN if any value in the window is missing."""
    return values[:, cols].sum(axis=1)


def buy_and_hold(simple: FloatArray, cols: slice) -> FloatArray:
    """Compounded return over ``cols``: prod(1 + r) - 1 (NaN if any day is missing)."""
    return np.prod(1.0 + simple[:, cols], axis=1) - 1.0


def standardized_residuals(resid: FloatArray, mask: np.ndarray | None = None) -> FloatArray:
    """Each row's residuals demeaned and scaled to unit length over its valid days (0 elsewhere).

    ``mask`` marks the valid days (default: not NaN). The inner product of two such rows over
    common days is their sample correlation when both rows cover the same days; used for the
    Kolari-Pynnönen cross-correlation.
    """
    if mask is None:
        mask = ~np.isnan(resid)
    dev = np.where(mask, resid, 0.0)
    cnt = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = dev.sum(axis=1) / cnt
    dev -= np.where(cnt > 0, mean, 0.0)[:, None]
    dev[~mask] = 0.0
    norm = np.sqrt(np.einsum("nl,nl->n", dev, dev))
    with np.errstate(invalid="ignore", divide="ignore"):
        dev *= np.where(norm > 0, 1.0 / norm, 0.0)[:, None]
    return dev
