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
from scipy import stats

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


def group_sum(codes: np.ndarray, n_groups: int, values: FloatArray) -> FloatArray:
    """(G, K) sums of ``values`` (n, K) by group; NaN counts as 0."""
    _n, k = values.shape
    flat = (codes[:, None] * k + np.arange(k)[None, :]).ravel()
    w = np.where(np.isnan(values), 0.0, values).ravel()
    return np.bincount(flat, weights=w, minlength=n_groups * k).reshape(n_groups, k)


def group_count(codes: np.ndarray, n_groups: int, valid: np.ndarray) -> np.ndarray:
    """(G, K) number of True in ``valid`` (n, K) by group."""
    return np.rint(group_sum(codes, n_groups, valid.astype(np.float64))).astype(np.int64)


def _two_sided_t(stat: FloatArray, df: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore"):
        return 2.0 * stats.t.sf(np.abs(stat), df)


def _two_sided_normal(z: FloatArray) -> FloatArray:
    return 2.0 * stats.norm.sf(np.abs(z))


def single_event_t(
    car: FloatArray, var: FloatArray, dof: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """t = CAR / sqrt(Var(CAR)) and its two-sided p-value from t(dof) (MacKinlay 1997)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        t = car / np.sqrt(var)
    return t, _two_sided_t(t, dof)


# ----------------------------------------------------------------------------- group tests


@dataclass(frozen=True)
class GroupStat:
    """(G, K) statistic, p-value and event count of one test."""

    stat: FloatArray
    p: FloatArray
    n: np.ndarray


def mean_sd(codes: np.ndarray, g: int, x: FloatArray) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """(G, K) group means, standard deviations (ddof 1) and counts of the non-NaN values."""
    valid = ~np.isnan(x)
    n = group_count(codes, g, valid)
    s1 = group_sum(codes, g, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        dev = np.where(valid, x - mean[codes], np.nan)
        ss = group_sum(codes, g, dev * dev)
        sd = np.sqrt(ss / (n - 1))
    return mean, sd, n


def cross_sectional_t(codes: np.ndarray, g: int, x: FloatArray) -> GroupStat:
    """Mean over events divided by its cross-sectional standard error; t(n-1)."""
    mean, sd, n = mean_sd(codes, g, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / (sd / np.sqrt(n))
    t = np.where(n >= 2, t, np.nan)
    return GroupStat(t, _two_sided_t(t, n - 1), n)


def patell(codes: np.ndarray, g: int, standardized: FloatArray, dof: np.ndarray) -> GroupStat:
    """Patell Z: sum of standardized ARs / sqrt(sum of their variances dof/(dof-2)); N(0,1).

    A standardized AR with ``dof`` degrees of freedom is t-distributed with variance
    dof/(dof-2); events with dof <= 2 are left out.
    """
    ok = (dof > 2)[:, None] & ~np.isnan(standardized)
    x = np.where(ok, standardized, np.nan)
    var_t = np.where(dof > 2, dof / np.maximum(dof - 2, 1), np.nan)
    n = group_count(codes, g, ok)
    s = group_sum(codes, g, x)
    v = group_sum(codes, g, np.where(ok, var_t[:, None], np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(n >= 1, s / np.sqrt(v), np.nan)
    return GroupStat(z, _two_sided_normal(z), n)


def bmp(codes: np.ndarray, g: int, standardized: FloatArray) -> GroupStat:
    """Boehmer-Musumeci-Poulsen: cross-sectional t of the standardized ARs/CARs; t(n-1)."""
    return cross_sectional_t(codes, g, standardized)


def kolari_pynnonen(b: GroupStat, rbar: FloatArray) -> GroupStat:
    """BMP t adjusted for cross-correlation: t * sqrt((1 - r) / (1 + (n - 1) r)); t(n-1).

    ``rbar`` (G,) is the average pairwise correlation of the events' abnormal returns in the
    group (Kolari and Pynnönen 2010, eq. 9).
    """
    r = rbar[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.sqrt((1.0 - r) / (1.0 + (b.n - 1) * r))
        t = np.where((1.0 + (b.n - 1) * r > 0) & (r < 1), b.stat * factor, np.nan)
    return GroupStat(t, _two_sided_t(t, b.n - 1), b.n)


def sign_test(codes: np.ndarray, g: int, x: FloatArray) -> GroupStat:
    """Sign test: are positive and negative values equally likely? Exact binomial p-value.

    Zeros are left out. The statistic is the normal score (N+ - n/2) / (sqrt(n)/2).
    """
    nonzero = ~np.isnan(x) & (x != 0)
    n = group_count(codes, g, nonzero)
    pos = group_count(codes, g, nonzero & (x > 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(n > 0, (pos - n / 2.0) / (np.sqrt(n) / 2.0), np.nan)
        lo = stats.binom.cdf(pos, n, 0.5)
        hi = stats.binom.sf(pos - 1, n, 0.5)
        p = np.where(n > 0, np.minimum(1.0, 2.0 * np.minimum(lo, hi)), np.nan)
    return GroupStat(z, p, n)


def generalized_sign(
    codes: np.ndarray, g: int, x: FloatArray, p_hat_event: FloatArray
) -> GroupStat:
    """Cowan's (1992) generalized sign test; N(0,1).

    The share of positive values expected under the null is the share of positive abnormal
    returns in the estimation windows, ``p_hat = mean_i(positive_i / valid_i)`` over the group.
    Z = (w - n p_hat) / sqrt(n p_hat (1 - p_hat)), w the number of positive values.
    """
    valid = ~np.isnan(x)
    n = group_count(codes, g, valid)
    w = group_count(codes, g, valid & (x > 0))
    ph_sum = group_sum(codes, g, np.where(valid, p_hat_event[:, None], np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        ph = ph_sum / n
        z = (w - n * ph) / np.sqrt(n * ph * (1.0 - ph))
    z = np.where((n > 0) & (ph > 0) & (ph < 1), z, np.nan)
    return GroupStat(z, _two_sided_normal(z), n)


def corrado_sums(
    codes: np.ndarray, g: int, rank2: np.ndarray, count: np.ndarray, chunk: int = 100_000
) -> tuple[FloatArray, np.ndarray]:
    """(G, L) group sums of the rank deviations ``U - 1/2`` per day, and their counts.

    ``U = rank / (count + 1)`` is each abnormal return's rank within its own event's sample
    (estimation days used and the days after the estimation window), scaled to (0, 1)
    (Corrado and Zivney 1992); it comes from ``rank2`` (twice the rank, 0 = missing) of
    :func:`backtest.study.kernels.row_ranks`. Rows are converted ``chunk`` at a time.
    """
    sums = np.zeros((g, rank2.shape[1]))
    counts = np.zeros((g, rank2.shape[1]), dtype=np.int64)
    for a in range(0, rank2.shape[0], chunk):
        r = rank2[a : a + chunk]
        c = codes[a : a + chunk]
        valid = r > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(valid, r / (2.0 * (count[a : a + chunk, None] + 1.0)) - 0.5, np.nan)
        sums += group_sum(c, g, d)
        counts += group_count(c, g, valid)
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


def wilcoxon(codes: np.ndarray, g: int, x: FloatArray, exact_max: int = 50) -> GroupStat:
    """Wilcoxon signed-rank test of a zero median, per group and column.

    Zeros are dropped; |x| is ranked within the group (ties averaged); W+ is the sum of the
    ranks of positive values. p-value: exact for n <= ``exact_max`` without ties, else the
    normal approximation with the tie-corrected variance. The statistic reported is W+.
    """
    k_cols = x.shape[1]
    stat = np.full((g, k_cols), np.nan)
    pval = np.full((g, k_cols), np.nan)
    nn = np.zeros((g, k_cols), dtype=np.int64)
    for k in range(k_cols):  # a loop over columns (days, windows), not events
        col = x[:, k]
        keep = ~np.isnan(col) & (col != 0)
        c = codes[keep]
        v = col[keep]
        a = np.abs(v)
        order = np.lexsort((a, c))
        c, v, a = c[order], v[order], a[order]
        m = len(a)
        if m == 0:
            continue
        pos = np.arange(m)
        new = np.ones(m, dtype=bool)
        new[1:] = (a[1:] != a[:-1]) | (c[1:] != c[:-1])
        start = np.maximum.accumulate(np.where(new, pos, 0))
        end_flag = np.ones(m, dtype=bool)
        end_flag[:-1] = new[1:]
        end = np.minimum.accumulate(np.where(end_flag, pos, m)[::-1])[::-1]
        gstart = np.searchsorted(c, c, side="left")  # first row of each row's group
        rank = (start + end) / 2.0 - gstart + 1.0  # average rank within the group
        tie_len = end - start + 1
        n_g = np.bincount(c, minlength=g)
        w_plus = np.bincount(c, weights=np.where(v > 0, rank, 0.0), minlength=g)
        # tie correction: sum over tie runs of (t^3 - t), counted once per run
        run_first = new
        t3 = np.bincount(c, weights=np.where(run_first, tie_len**3 - tie_len, 0), minlength=g)
        has_ties = np.bincount(c, weights=np.where(run_first & (tie_len > 1), 1, 0), minlength=g)
        mean = n_g * (n_g + 1) / 4.0
        var = n_g * (n_g + 1) * (2 * n_g + 1) / 24.0 - t3 / 48.0
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (w_plus - mean) / np.sqrt(var)
        p = _two_sided_normal(z)
        for gi in np.flatnonzero((n_g > 0) & (n_g <= exact_max) & (has_ties == 0)):
            cdf = _wilcoxon_null_cdf(int(n_g[gi]))
            w = round(float(w_plus[gi]))
            lower = cdf[w]
            upper = 1.0 - (cdf[w - 1] if w > 0 else 0.0)
            p[gi] = min(1.0, 2.0 * min(lower, upper))
        stat[:, k] = np.where(n_g > 0, w_plus, np.nan)
        pval[:, k] = np.where(n_g > 0, p, np.nan)
        nn[:, k] = n_g
    return GroupStat(stat, pval, nn)
