"""Test statistics for single events and groups of events, vectorised over groups and columns.

Every group kernel takes per-event values (n, K) -- one column per relative day or window --
and integer group codes (n,) in ``range(G)``, and returns (G, K) arrays: the statistic, its
two-sided p-value and the number of events used. NaN marks what could not be computed; the
engine turns those into :class:`TestResult` objects that say why.

References
----------
Patell, J. M. (1976). Corporate forecasts of earnings per share and stock price behavior.
*Journal of Accounting Research* 14(2), 246-276.
Boehmer, E., Musumeci, J., Poulsen, A. B. (1991). Event-study methodology under conditions of
event-induced variance. *Journal of Financial Economics* 30(2), 253-272.
Kolari, J. W., Pynnönen, S. (2010). Event study testing with cross-sectional correlation of
abnormal returns. *Review of Financial Studies* 23(11), 3996-4025.
Corrado, C. J. (1989). A nonparametric test for abnormal security-price performance in event
studies. *Journal of Financial Economics* 23(2), 385-395.
Corrado, C. J., Zivney, T. L. (1992). The specification and power of the sign test in event
study hypothesis tests using daily stock returns. *JFQA* 27(3), 465-478.
Campbell, C. J., Wasley, C. E. (1993). Measuring security price performance using daily NASDAQ
returns. *Journal of Financial Economics* 33(1), 73-92 (multi-day rank statistic).
Cowan, A. R. (1992). Nonparametric event study tests. *Review of Quantitative Finance and
Accounting* 2, 343-358.
Wilcoxon, F. (1945). Individual comparisons by ranking methods. *Biometrics Bulletin* 1(6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special, stats

FloatArray = np.ndarray

#: The group tests, in the order reports show them: (key, display name, null distribution).
GROUP_TESTS: tuple[tuple[str, str, str], ...] = (
    ("t", "cross-sectional t", "t(n-1)"),
    ("patell", "Patell Z", "N(0,1)"),
    ("bmp", "BMP t", "t(n-1)"),
    ("kp", "Kolari-Pynnönen adjusted BMP t", "t(n-1)"),
    ("sign", "sign test", "Binomial(n, 1/2)"),
    ("gsign", "generalized sign Z (Cowan)", "N(0,1)"),
    ("rank", "Corrado rank Z", "N(0,1)"),
    ("wilcoxon", "Wilcoxon signed-rank", "exact (n<=50, no ties) or normal"),
)


@dataclass(frozen=True)
class TestResult:
    """One test: statistic, two-sided p-value, null distribution and hypotheses.

    A test that cannot be computed has ``statistic`` and ``pvalue`` NaN and a ``reason``.
    """

    name: str
    statistic: float
    pvalue: float
    distribution: str
    null: str
    nobs: int
    alternative: str = "two-sided"
    reason: str | None = None

    @property
    def computed(self) -> bool:
        return self.reason is None

    @classmethod
    def not_computed(cls, name: str, reason: str, *, null: str, nobs: int) -> TestResult:
        return cls(name, math.nan, math.nan, "", null, nobs, reason=reason)

    def __str__(self) -> str:
        if not self.computed:
            return f"{self.name}: not computed ({self.reason})"
        return (
            f"{self.name} = {self.statistic:.3f}, p = {self.pvalue:.4f} "
            f"({self.distribution}, n = {self.nobs}, {self.alternative})"
        )


# ----------------------------------------------------------------------------- helpers


class Groups:
    """Integer group codes (n,) in ``range(n_groups)``, sorted once for fast group sums.

    Sums by group use ``np.add.reduceat`` over the rows in code order (one pass), or a plain
    column sum when there is a single group.
    """

    def __init__(self, codes: np.ndarray, n_groups: int) -> None:
        self.codes = np.asarray(codes, dtype=np.int64)
        self.n = int(n_groups)
        self.sizes = np.bincount(self.codes, minlength=self.n)
        self.order = np.argsort(self.codes, kind="stable") if self.n > 1 else None
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.intp)

    @property
    def bounds(self) -> np.ndarray:
        """(G + 1,) int64: group g's rows are ``bounds[g]:bounds[g + 1]`` in ``row_order``."""
        return np.concatenate([self.starts, [len(self.codes)]]).astype(np.int64)

    @property
    def row_order(self) -> np.ndarray:
        """The rows sorted by group (stable), as int64; empty for a single group (as they are)."""
        return np.zeros(0, dtype=np.int64) if self.order is None else self.order.astype(np.int64)

    def sum(self, values: FloatArray, *, has_nan: bool = True) -> FloatArray:
        """(G, K) sums of ``values`` (n, K) by group; NaN counts as 0."""
        v = np.where(np.isnan(values), 0.0, values) if has_nan else values
        if self.n == 1:
            return v.sum(axis=0, keepdims=True)
        out = np.zeros((self.n, v.shape[1]))
        nonempty = self.sizes > 0
        if v.shape[0]:
            out[nonempty] = np.add.reduceat(v[self.order], self.starts[nonempty], axis=0)
        return out

    def count(self, valid: np.ndarray) -> np.ndarray:
        """(G, K) number of True values of ``valid`` (n, K) by group."""
        if self.n == 1:
            return np.count_nonzero(valid, axis=0).reshape(1, -1).astype(np.int64)
        v = valid.astype(np.int64)
        out = np.zeros((self.n, v.shape[1]), dtype=np.int64)
        nonempty = self.sizes > 0
        if v.shape[0]:
            out[nonempty] = np.add.reduceat(v[self.order], self.starts[nonempty], axis=0)
        return out


def two_sided_t(stat: FloatArray, df: FloatArray, *, out: FloatArray | None = None) -> FloatArray:
    """2 P(T > |t|) for Student's t with ``df`` degrees of freedom (NaN where df < 1); into
    ``out`` when given."""
    with np.errstate(invalid="ignore"):
        df = np.asarray(df, dtype=np.float64)
        p = special.stdtr(np.where(df >= 1, df, np.nan), -np.abs(stat), out=out)
        p *= 2.0
    return np.asarray(p)


def _two_sided_normal(z: FloatArray) -> FloatArray:
    """2 P(Z > |z|) for the standard normal."""
    return np.asarray(2.0 * special.ndtr(-np.abs(z)))


# ----------------------------------------------------------------------------- group tests


@dataclass(frozen=True)
class GroupStat:
    """(G, K) statistic, p-value and event count of one test."""

    stat: FloatArray
    p: FloatArray
    n: np.ndarray


def mean_sd(groups: Groups, x: FloatArray) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """(G, K) group means, standard deviations (ddof 1) and counts of the non-NaN values."""
    from backtest.study import jit

    if x.shape[1] == 1 and jit.enabled():  # one compiled pass (Welford)
        col = np.ascontiguousarray(x[:, 0])[:, None]
        zeros = np.zeros(len(col))
        m = jit.module().column_moments(col, col, zeros, zeros, groups.codes, groups.n, 0, 1)
        n = m[:, :, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            return (
                np.where(n > 0, m[:, :, 1], np.nan),
                np.sqrt(m[:, :, 2] / (n - 1)),
                n.astype(np.int64),
            )
    valid = ~np.isnan(x)
    n = groups.count(valid)
    s1 = groups.sum(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        dev = x - mean[groups.codes]
        ss = groups.sum(dev * dev)
        sd = np.sqrt(ss / (n - 1))
    return mean, sd, n


def cross_sectional_t(groups: Groups, x: FloatArray) -> GroupStat:
    """Mean over events divided by its cross-sectional standard error; t(n-1)."""
    mean, sd, n = mean_sd(groups, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / (sd / np.sqrt(n))
    t = np.where(n >= 2, t, np.nan)
    return GroupStat(t, two_sided_t(t, n - 1), n)


def patell(groups: Groups, standardized: FloatArray, dof: np.ndarray) -> GroupStat:
    """Patell Z: sum of standardized ARs / sqrt(sum of their variances dof/(dof-2)); N(0,1).

    A standardized AR with ``dof`` degrees of freedom is t-distributed with variance
    dof/(dof-2); events with dof <= 2 are left out.
    """
    ok = (dof > 2)[:, None] & ~np.isnan(standardized)
    x = np.where(ok, standardized, np.nan)
    var_t = np.where(dof > 2, dof / np.maximum(dof - 2, 1), np.nan)
    n = groups.count(ok)
    s = groups.sum(x)
    v = groups.sum(np.where(ok, var_t[:, None], np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(n >= 1, s / np.sqrt(v), np.nan)
    return GroupStat(z, _two_sided_normal(z), n)


def bmp(groups: Groups, standardized: FloatArray) -> GroupStat:
    """Boehmer-Musumeci-Poulsen: cross-sectional t of the standardized ARs/CARs; t(n-1)."""
    return cross_sectional_t(groups, standardized)


def kolari_pynnonen(b: GroupStat, rbar: FloatArray) -> GroupStat:
    """BMP t adjusted for cross-correlation: t * sqrt((1 - r) / (1 + (n - 1) r)); t(n-1).

    ``rbar`` (G,) is the average pairwise correlation of the events' abnormal returns in the
    group (Kolari and Pynnönen 2010, eq. 9).
    """
    r = rbar[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.sqrt((1.0 - r) / (1.0 + (b.n - 1) * r))
        t = np.where((1.0 + (b.n - 1) * r > 0) & (r < 1), b.stat * factor, np.nan)
    return GroupStat(t, two_sided_t(t, b.n - 1), b.n)


def sign_test(groups: Groups, x: FloatArray) -> GroupStat:
    """Sign test: are positive and negative values equally likely? Exact binomial p-value.

    Zeros are left out. The statistic is the normal score (N+ - n/2) / (sqrt(n)/2).
    """
    nonzero = ~np.isnan(x) & (x != 0)
    n = groups.count(nonzero)
    pos = groups.count(nonzero & (x > 0))
    return GroupStat(*_sign_z_p(pos, n), n)


def _sign_z_p(pos: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The sign test's normal score and exact two-sided binomial p-value of ``pos`` positive
    values out of ``n`` non-zero ones (NaN where ``n`` is 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(n > 0, (pos - n / 2.0) / (np.sqrt(n) / 2.0), np.nan)
        lo = stats.binom.cdf(pos, n, 0.5)
        hi = stats.binom.sf(pos - 1, n, 0.5)
        p = np.where(n > 0, np.minimum(1.0, 2.0 * np.minimum(lo, hi)), np.nan)
    return z, p


def generalized_sign(groups: Groups, x: FloatArray, p_hat_event: FloatArray) -> GroupStat:
    """Cowan's (1992) generalized sign test; N(0,1).

    The share of positive values expected under the null is the share of positive abnormal
    returns in the estimation windows, ``p_hat = mean_i(positive_i / valid_i)`` over the group.
    Z = (w - n p_hat) / sqrt(n p_hat (1 - p_hat)), w the number of positive values.
    """
    valid = ~np.isnan(x)
    n = groups.count(valid)
    w = groups.count(valid & (x > 0))
    ph_sum = groups.sum(np.where(valid, p_hat_event[:, None], np.nan))
    z = _generalized_sign_z(w, n, ph_sum)
    return GroupStat(z, _two_sided_normal(z), n)


def _generalized_sign_z(w: FloatArray, n: FloatArray, ph_sum: FloatArray) -> FloatArray:
    """Cowan's Z of ``w`` positive values out of ``n``, with ``ph_sum`` the sum of the events'
    shares of positive estimation-window ARs (NaN where ``n`` is 0 or p_hat is 0 or 1)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ph = ph_sum / n
        z = (w - n * ph) / np.sqrt(n * ph * (1.0 - ph))
    return np.where((n > 0) & (ph > 0) & (ph < 1), z, np.nan)


def corrado_sums(
    groups: Groups,
    rank2: np.ndarray,
    count: np.ndarray,
    *,
    rows: np.ndarray | None = None,
    chunk: int = 65_536,
) -> tuple[FloatArray, np.ndarray]:
    """(G, L) group sums of the rank deviations ``U - 1/2`` per day, and their counts.

    ``U = rank / (count + 1)`` is each abnormal return's rank within its own event's sample
    (estimation days used and the days after the estimation window), scaled to (0, 1)
    (Corrado and Zivney 1992); it comes from ``rank2`` (twice the rank, 0 = missing) of
    :func:`backtest.study.kernels.row_ranks`. ``rows`` selects the rows of ``rank2`` and
    ``count`` that ``groups`` describes (default: all); they are read ``chunk`` at a time.
    (The compiled path adds the ranks up while it measures, without storing them:
    :func:`backtest.study._numba.rank_sums`.)
    """
    if rows is None:
        rows = np.arange(len(groups.codes))
    sums = np.zeros((groups.n, rank2.shape[1]))
    counts = np.zeros((groups.n, rank2.shape[1]), dtype=np.int64)
    for a in range(0, len(rows), chunk):
        part = Groups(groups.codes[a : a + chunk], groups.n)
        take = rows[a : a + chunk]
        r = rank2[take]
        # sum_i (U - 1/2) over ranked days = sum_i rank2_i w_i - n_t / 2 (rank2 = 0 if unranked)
        weighted = r * (0.5 / (count[take, None] + 1.0))
        n_t = part.count(r > 0)
        sums += part.sum(weighted, has_nan=False) - 0.5 * n_t
        counts += n_t
    return sums, counts


def corrado(sums: FloatArray, n_day: np.ndarray, columns: list[np.ndarray]) -> GroupStat:
    """Corrado rank statistics for days or multi-day windows; N(0,1).

    With ``Q_t = sum_i (U_it - 1/2) / sqrt(N_t)`` over the N_t events with a rank on day t
    (Corrado and Zivney 1992: scaling each day by its own count keeps the statistic valid when
    events miss days), ``S = sqrt(mean_t Q_t^2)`` over every day of the combined estimation and
    event sample, and a window W of L days, the statistic is ``sum_{t in W} Q_t / (sqrt(L) S)``
    (Campbell and Wasley 1993). For a single day it is Corrado's (1989) test.
    """
    has = n_day > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(has, sums / np.sqrt(np.maximum(n_day, 1)), 0.0)
        s = np.sqrt((q * q).sum(axis=1) / has.sum(axis=1))
    stat = np.empty((sums.shape[0], len(columns)))
    n = np.empty((sums.shape[0], len(columns)), dtype=np.int64)
    for k, cols in enumerate(columns):
        with np.errstate(invalid="ignore", divide="ignore"):
            stat[:, k] = q[:, cols].sum(axis=1) / (np.sqrt(len(cols)) * s)
        n[:, k] = n_day[:, cols].min(axis=1)
        stat[n[:, k] == 0, k] = np.nan
    return GroupStat(stat, _two_sided_normal(stat), n)


@lru_cache(maxsize=64)
def _wilcoxon_null_cdf(n: int) -> np.ndarray:
    """P(W+ <= w) for w = 0..n(n+1)/2 under the null, no ties (exact, by counting subsets)."""
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1)
    counts[0] = 1.0
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return np.cumsum(counts) / 2.0**n


def _wilcoxon_pvalues(
    w_plus: FloatArray, n: np.ndarray, t3: FloatArray, tied: np.ndarray, exact_max: int
) -> FloatArray:
    """Two-sided p-values of W+ for groups of sizes ``n`` (exact when small and tie-free)."""
    mean = n * (n + 1) / 4.0
    var = n * (n + 1) * (2 * n + 1) / 24.0 - t3 / 48.0
    with np.errstate(invalid="ignore", divide="ignore"):
        p = _two_sided_normal((w_plus - mean) / np.sqrt(var))
    small = (n > 0) & (n <= exact_max) & ~tied
    for size in np.unique(n[small]):  # one lookup table per group size, not per group
        sel = small & (n == size)
        cdf = _wilcoxon_null_cdf(int(size))
        w = np.rint(w_plus[sel]).astype(np.int64)
        lower = cdf[w]
        upper = 1.0 - np.where(w > 0, cdf[np.maximum(w - 1, 0)], 0.0)
        p[sel] = np.minimum(1.0, 2.0 * np.minimum(lower, upper))
    return np.where(n > 0, p, np.nan)


def wilcoxon(groups: Groups, x: FloatArray, exact_max: int = 50) -> GroupStat:
    """Wilcoxon signed-rank test of a zero median, per group and column.

    Zeros are dropped; |x| is ranked within the group (ties averaged); W+ is the sum of the
    ranks of positive values. p-value: exact for n <= ``exact_max`` without ties, else the
    normal approximation with the tie-corrected variance (as R's ``wilcox.test``). The
    statistic reported is W+.

    All columns are ranked at once by sorting order-preserving integer keys: the bits of |x|
    with the sign in the lowest bit (so values equal to within one unit in the last place
    count as ties).
    """
    n_rows, k_cols = x.shape
    g = groups.n
    keep = ~np.isnan(x) & (x != 0)
    key = np.abs(np.where(keep, x, 0.0)).view(np.uint64) & ~np.uint64(1)
    key |= (x > 0).astype(np.uint64)
    last = np.uint64(0xFFFFFFFFFFFFFFFF)
    key[~keep] = last  # dropped values sort last in their group
    if g == 1:
        sk = np.sort(key, axis=0)
    else:
        idx = np.argsort(key, axis=0)
        perm = np.argsort(groups.codes[idx], axis=0, kind="stable")
        sk = np.take_along_axis(key, np.take_along_axis(idx, perm, axis=0), axis=0)
    code_of_row = np.repeat(np.arange(g), groups.sizes)
    gstart = groups.starts[code_of_row][:, None]
    valid = sk != last
    value = sk >> np.uint64(1)
    pos = np.arange(n_rows)[:, None]
    positive = valid & (sk & np.uint64(1)).astype(bool)
    nonempty = groups.sizes > 0
    starts = groups.starts[nonempty]
    w_plus = np.zeros((g, k_cols))
    n_g = np.zeros((g, k_cols), dtype=np.int64)
    t3 = np.zeros((g, k_cols))
    tied = np.zeros((g, k_cols))
    same_group = (code_of_row[1:] == code_of_row[:-1])[:, None]
    equal_next = (value[1:] == value[:-1]) & same_group & valid[1:] & valid[:-1]
    if n_rows and not equal_next.any():  # no ties (the usual case): rank = position
        rank = (pos - gstart + 1).astype(np.float64)
        w_plus[nonempty] = np.add.reduceat(np.where(positive, rank, 0.0), starts, axis=0)
        n_g[nonempty] = np.add.reduceat(valid.astype(np.int64), starts, axis=0)
    elif n_rows:
        new = np.ones((n_rows, k_cols), dtype=bool)  # a new run of equal |x| starts here
        new[1:] = ~equal_next
        start = np.maximum.accumulate(np.where(new, pos, 0), axis=0)
        end_flag = np.ones_like(new)
        end_flag[:-1] = new[1:]
        end = np.minimum.accumulate(np.where(end_flag, pos, n_rows)[::-1], axis=0)[::-1]
        rank = (start + end) / 2.0 - gstart + 1.0  # average rank within the group
        run_len = (end - start + 1).astype(np.float64)
        first = new & valid
        w_plus[nonempty] = np.add.reduceat(np.where(positive, rank, 0.0), starts, axis=0)
        n_g[nonempty] = np.add.reduceat(valid.astype(np.int64), starts, axis=0)
        t3[nonempty] = np.add.reduceat(np.where(first, run_len**3 - run_len, 0.0), starts, axis=0)
        tied[nonempty] = np.add.reduceat((first & (run_len > 1)).astype(float), starts, axis=0)
    pval = _wilcoxon_pvalues(w_plus, n_g, t3, tied > 0, exact_max)
    return GroupStat(np.where(n_g > 0, w_plus, np.nan), pval, n_g)


# ----------------------------------------------------------------------------- compiled path


def moment_tests(
    groups: Groups, x: FloatArray, sx: FloatArray, dof: np.ndarray, phat: FloatArray
) -> dict[str, GroupStat]:
    """Mean, standard deviation, t, Patell, BMP, sign and generalized sign for the columns of
    ``x`` and ``sx`` ((n,) or (n, K)), from one compiled pass
    (:func:`backtest.study._numba.column_moments`); the same numbers as the functions above."""
    from backtest.study import jit

    x2 = np.ascontiguousarray(x.reshape(len(x), -1))
    sx2 = np.ascontiguousarray(sx.reshape(len(sx), -1))
    m = jit.module().column_moments(
        x2, sx2, dof.astype(np.float64), phat, groups.codes, groups.n, 0, x2.shape[1]
    )
    return moment_stats(m)


def moment_stats(m: FloatArray) -> dict[str, GroupStat]:
    """The tests of :func:`moment_tests` from the (G, K, 13) moments of
    :func:`backtest.study._numba.column_moments`."""

    def col(j: int) -> FloatArray:
        """Moment j of every group and column, as (G, K)."""
        return np.asarray(m[:, :, j], dtype=np.float64)

    n, mean, m2 = col(0), col(1), col(2)
    ns, means, m2s = col(3), col(4), col(5)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(n >= 2, mean / np.sqrt(m2 / (n - 1) / n), np.nan)
        tb = np.where(ns >= 2, means / np.sqrt(m2s / (ns - 1) / ns), np.nan)
        zp = np.where(col(6) >= 1, col(7) / np.sqrt(col(8)), np.nan)
        sd = np.sqrt(m2 / (n - 1))
    nz = col(9)
    zs, ps = _sign_z_p(col(10), nz)
    zg = _generalized_sign_z(col(11), n, col(12))
    ni, nsi = n.astype(np.int64), ns.astype(np.int64)
    return {
        "mean": GroupStat(np.where(n > 0, mean, np.nan), np.full_like(mean, np.nan), ni),
        "sd": GroupStat(sd, np.full_like(mean, np.nan), ni),
        "t": GroupStat(t, two_sided_t(t, n - 1), ni),
        "patell": GroupStat(zp, _two_sided_normal(zp), col(6).astype(np.int64)),
        "bmp": GroupStat(tb, two_sided_t(tb, ns - 1), nsi),
        "sign": GroupStat(zs, ps, nz.astype(np.int64)),
        "gsign": GroupStat(zg, _two_sided_normal(zg), ni),
    }


def wilcoxon_sorted(groups: Groups, x: FloatArray, exact_max: int = 50) -> GroupStat:
    """:func:`wilcoxon` for one column: compiled keys, a compiled radix sort within each group,
    and a compiled pass for W+ and the ties (same numbers as :func:`wilcoxon`)."""
    from backtest.study import jit

    n = len(x)
    keys, tmp = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    st = jit.module().signed_rank_column(
        np.ascontiguousarray(x)[:, None], 0, groups.row_order, groups.bounds, keys, tmp
    )
    return wilcoxon_stats(st[:, None, :], exact_max)


def wilcoxon_stats(st: FloatArray, exact_max: int = 50) -> GroupStat:
    """The Wilcoxon test from the (G, K, 4) signed-rank statistics of
    :func:`backtest.study._numba.signed_rank_stats` (W+, n, sum of t^3 - t over ties, tied)."""
    w_plus, n = st[:, :, 0], st[:, :, 1].astype(np.int64)
    p = _wilcoxon_pvalues(w_plus, n, st[:, :, 2], st[:, :, 3] > 0, exact_max)
    return GroupStat(np.where(n > 0, w_plus, np.nan), p, n)
