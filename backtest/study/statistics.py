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
import numpy.typing as npt
from scipy import special
from scipy.special import _ufuncs as _scipy_ufuncs

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


#: Each group test's hypotheses, H0 and H1, with ``{x}`` for what is tested ("abnormal
#: return on the day", "cumulative abnormal return over the window"). Every test is
#: two-sided.
HYPOTHESES: dict[str, tuple[str, str]] = {
    "t": ("H0: mean {x} = 0", "H1: mean {x} != 0"),
    "patell": (
        "H0: mean standardized {x} = 0 (variance as in the estimation window)",
        "H1: mean standardized {x} != 0",
    ),
    "bmp": (
        "H0: mean standardized {x} = 0 (event-induced variance allowed)",
        "H1: mean standardized {x} != 0",
    ),
    "kp": (
        "H0: mean standardized {x} = 0 (event-induced variance and cross-correlation of "
        "events on one session allowed)",
        "H1: mean standardized {x} != 0",
    ),
    "sign": (
        "H0: median {x} = 0 (share of positive values 1/2)",
        "H1: share of positive values != 1/2",
    ),
    "gsign": (
        "H0: share of positive {x}s = the share of positive abnormal returns in the "
        "estimation windows",
        "H1: the shares differ",
    ),
    "rank": (
        "H0: the ranks of the {x} among each event's estimation-window abnormal returns are "
        "those of any day (expected rank deviation 0)",
        "H1: expected rank deviation != 0",
    ),
    "wilcoxon": (
        "H0: the distribution of the {x} is symmetric about 0 (median 0)",
        "H1: it is not symmetric about 0",
    ),
}

#: Why a test could not be computed, by test (the group's observation count follows).
REASONS: dict[str, str] = {
    "t": "needs at least 2 observations",
    "bmp": "needs at least 2 observations",
    "kp": "needs at least 2 observations and a cross-correlation below 1",
    "patell": "needs an observation with more than 2 residual degrees of freedom",
    "sign": "needs a non-zero abnormal return",
    "gsign": "needs estimation-window ARs of both signs",
    "rank": "needs ranked abnormal returns",
    "wilcoxon": "needs a non-zero abnormal return",
}
#: The rank test's reason on a day outside the estimation window and the event windows.
NOT_RANKED = (
    "the day is in no event window: only the estimation window and the event windows are ranked"
)


@dataclass(frozen=True)
class TestResult:
    """One test: statistic, two-sided p-value, null distribution and hypotheses.

    A test that cannot be computed has ``statistic`` and ``pvalue`` NaN and a ``reason``
    (a null object, not an exception: a report can show it).
    """

    name: str
    statistic: float
    pvalue: float
    distribution: str
    null: str
    nobs: int
    alternative: str = "H1: two-sided"
    reason: str | None = None

    @property
    def computed(self) -> bool:
        return self.reason is None

    @classmethod
    def not_computed(
        cls, name: str, reason: str, *, null: str, nobs: int, alternative: str = "H1: two-sided"
    ) -> TestResult:
        return cls(name, math.nan, math.nan, "", null, nobs, alternative, reason=reason)

    def __str__(self) -> str:
        if not self.computed:
            return f"{self.name}: not computed ({self.reason})"
        return (
            f"{self.name} = {self.statistic:.3f}, p = {self.pvalue:.4f} "
            f"({self.distribution}, n = {self.nobs}, two-sided)"
        )


# ----------------------------------------------------------------------------- helpers


class Groups:
    """Integer group codes (n,) in ``range(n_groups)``, with the rows in group order.

    ``row_order`` and ``bounds`` feed the compiled signed-rank kernel, which sorts each
    group's segment of a column.
    """

    def __init__(self, codes: np.ndarray, n_groups: int) -> None:
        self.codes = np.asarray(codes, dtype=np.int64)
        self.n = int(n_groups)
        self.sizes = np.bincount(self.codes, minlength=self.n)
        self.order = np.argsort(self.codes, kind="stable") if self.n > 1 else None
        # the exclusive prefix sum: (G,) starts, none for no group
        self.starts = (np.cumsum(self.sizes) - self.sizes).astype(np.intp)

    @property
    def bounds(self) -> np.ndarray:
        """(G + 1,) int64: group g's rows are ``bounds[g]:bounds[g + 1]`` in ``row_order``."""
        return np.concatenate([self.starts, [len(self.codes)]]).astype(np.int64)

    @property
    def row_order(self) -> np.ndarray:
        """The rows sorted by group (stable), as int64; empty for a single group (as they are)."""
        return np.zeros(0, dtype=np.int64) if self.order is None else self.order.astype(np.int64)


def two_sided_t(stat: FloatArray, df: FloatArray, *, out: FloatArray | None = None) -> FloatArray:
    """2 P(T > |t|) for Student's t with ``df`` degrees of freedom (NaN where df < 1); into
    ``out`` when given."""
    with np.errstate(invalid="ignore"):
        df = np.asarray(df, dtype=np.float64)
        stat = np.asarray(stat, dtype=np.float64)
        if out is None:
            p = special.stdtr(np.where(df >= 1, df, np.nan), -np.abs(stat))
        else:  # -|t| made in ``out`` itself: no temporary as large as the t's
            np.abs(stat, out=out)
            np.negative(out, out=out)
            p = special.stdtr(np.where(df >= 1, df, np.nan), out, out=out)
        p *= 2.0
    return np.asarray(p)


def t_quantile(q: float, df: npt.ArrayLike) -> FloatArray:
    """Student's t quantile ``q`` (0 < q < 1) with ``df`` degrees of freedom, NaN where df is
    not positive: ``scipy.stats.t.ppf(q, df)``, which is SciPy's ``stdtrit(df, q)`` there,
    without importing ``scipy.stats`` (about 0.5 s of a process that does not backtest)."""
    d = np.asarray(df, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.asarray(np.where(d > 0, special.stdtrit(np.where(d > 0, d, 1.0), q), np.nan))


#: The binomial distribution functions ``scipy.stats.binom`` evaluates (Boost's, private to
#: SciPy; None in a SciPy without them, where ``scipy.stats`` itself is imported).
_BINOM_CDF = getattr(_scipy_ufuncs, "_binom_cdf", None)
_BINOM_SF = getattr(_scipy_ufuncs, "_binom_sf", None)


def binomial_tails(pos: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    """P(X <= pos) and P(X >= pos) for X ~ Binomial(n, 1/2), for counts ``0 <= pos <= n``
    with ``n >= 1`` (other entries: whatever SciPy gives, NaN or not; callers mask them): the
    values of ``scipy.stats.binom.cdf(pos, n, 0.5)`` and ``binom.sf(pos - 1, n, 0.5)``, from
    the functions it calls, without importing ``scipy.stats``."""
    pos = np.asarray(pos, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if _BINOM_CDF is None or _BINOM_SF is None:  # another SciPy
        from scipy import stats

        return stats.binom.cdf(pos, n, 0.5), stats.binom.sf(pos - 1, n, 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = _BINOM_CDF(pos, n, 0.5)
        # P(X >= 0) is 1 (scipy.stats' value below the support; the function's is NaN)
        hi = np.where(pos >= 1, _BINOM_SF(np.maximum(pos - 1, 0.0), n, 0.5), 1.0)
    return np.asarray(lo), np.asarray(hi)


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


def kolari_pynnonen(b: GroupStat, rbar: FloatArray) -> GroupStat:
    """BMP t adjusted for cross-correlation: t * sqrt((1 - r) / (1 + (n - 1) r)); t(n-1).

    ``rbar`` ((G,) or (G, K)) is the average pairwise correlation of the events' abnormal
    returns in the group (Kolari and Pynnönen 2010, eq. 9).
    """
    r = rbar[:, None] if rbar.ndim == 1 else rbar
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.sqrt((1.0 - r) / (1.0 + (b.n - 1) * r))
        t = np.where((1.0 + (b.n - 1) * r > 0) & (r < 1), b.stat * factor, np.nan)
    return GroupStat(t, two_sided_t(t, b.n - 1), b.n)


def _sign_z_p(pos: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The sign test's normal score (N+ - n/2) / (sqrt(n)/2) and exact two-sided binomial
    p-value of ``pos`` positive values out of ``n`` non-zero ones (NaN where ``n`` is 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(n > 0, (pos - n / 2.0) / (np.sqrt(n) / 2.0), np.nan)
        lo, hi = binomial_tails(pos, n)
        p = np.where(n > 0, np.minimum(1.0, 2.0 * np.minimum(lo, hi)), np.nan)
    return z, p


def _generalized_sign_z(w: FloatArray, n: FloatArray, ph_sum: FloatArray) -> FloatArray:
    """Cowan's (1992) generalized sign Z of ``w`` positive values out of ``n``, ``(w - n
    p_hat) / sqrt(n p_hat (1 - p_hat))``, with ``ph_sum`` the sum of the events' shares of
    positive estimation-window ARs (``p_hat = ph_sum / n``; NaN where ``n`` is 0 or p_hat is
    0 or 1)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ph = ph_sum / n
        z = (w - n * ph) / np.sqrt(n * ph * (1.0 - ph))
    return np.where((n > 0) & (ph > 0) & (ph < 1), z, np.nan)


def corrado(sums: FloatArray, n_day: np.ndarray, columns: list[np.ndarray]) -> GroupStat:
    """Corrado rank statistics for days or multi-day windows; N(0,1).

    ``sums`` and ``n_day`` (G, L) are the group sums of the rank deviations ``U - 1/2`` per
    day of the rank sample and their counts, where ``U = rank / (m + 1)`` is each abnormal
    return's rank within its own event's sample of m returns (the estimation days used and
    the event windows' days), scaled to (0, 1) (Corrado and Zivney 1992). With ``Q_t =
    sum_i (U_it - 1/2) / sqrt(N_t)`` over the N_t events with a rank on day t (scaling each
    day by its own count keeps the statistic valid when events miss days), ``S = sqrt(mean_t
    Q_t^2)`` over every day of the sample, and a window W of L days, the statistic is
    ``sum_{t in W} Q_t / (sqrt(L) S)`` (Campbell and Wasley 1993). For a single day it is
    Corrado's (1989) test. A column with a day that no event ranks is NaN.
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
    """Two-sided p-values of W+ for groups of sizes ``n`` (exact when small and tie-free,
    else the normal approximation with the tie-corrected variance, as R's ``wilcox.test``)."""
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


def wilcoxon_stats(st: FloatArray, exact_max: int = 50) -> GroupStat:
    """The Wilcoxon signed-rank test of a zero median from the (G, K, 4) signed-rank
    statistics of :func:`backtest.study.kernels.signed_rank_stats` (W+, n, sum of t^3 - t
    over ties, tied): zeros dropped, |x| ranked within the group with ties averaged, W+ the
    sum of the ranks of positive values (the statistic reported); p-value exact for n <=
    ``exact_max`` without ties, else normal."""
    w_plus, n = st[:, :, 0], st[:, :, 1].astype(np.int64)
    p = _wilcoxon_pvalues(w_plus, n, st[:, :, 2], st[:, :, 3] > 0, exact_max)
    return GroupStat(np.where(n > 0, w_plus, np.nan), p, n)


def moment_stats(m: FloatArray) -> dict[str, GroupStat]:
    """Mean, standard deviation, cross-sectional t, Patell, BMP, sign, generalized sign, the
    t of a group of one observation (``single``: its own standardized value with its degrees
    of freedom) and the rows before merging (``rows``, in ``n``) from the (G, K, N_MOMENTS)
    moments of :func:`backtest.study.kernels.column_moments`.

    - cross-sectional t: mean / (sd / sqrt(n)); t(n-1).
    - Patell Z: sum of the standardized values / sqrt(sum of their variances dof/(dof-2))
      (a standardized AR with ``dof`` degrees of freedom is t-distributed; events with
      dof <= 2 are left out); N(0,1).
    - BMP (Boehmer-Musumeci-Poulsen): the cross-sectional t of the standardized values.
    - sign test: positive against negative values, zeros left out; exact binomial p-value.
    - generalized sign (Cowan 1992): positive values against the share expected from the
      estimation windows.
    """

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
    single = np.where(ns == 1, means, np.nan)
    single_df = np.where(ns == 1, col(13), np.nan)
    nan = np.full_like(mean, np.nan)
    return {
        "mean": GroupStat(np.where(n > 0, mean, np.nan), nan, ni),
        "sd": GroupStat(sd, nan, ni),
        "t": GroupStat(t, two_sided_t(t, n - 1), ni),
        "patell": GroupStat(zp, _two_sided_normal(zp), col(6).astype(np.int64)),
        "bmp": GroupStat(tb, two_sided_t(tb, ns - 1), nsi),
        "sign": GroupStat(zs, ps, nz.astype(np.int64)),
        "gsign": GroupStat(zg, _two_sided_normal(zg), ni),
        "single": GroupStat(single, two_sided_t(single, single_df), single_df),
        "rows": GroupStat(nan, nan, (n + col(14)).astype(np.int64)),
    }


# ----------------------------------------------------------------------------- headline

#: The headline test of a group row, in order of preference: the Boehmer-Musumeci-Poulsen
#: test with the Kolari-Pynnönen adjustment for cross-correlation (robust to event-induced
#: variance and to events sharing a session), then plain BMP, then the cross-sectional t. A
#: group of one observation is judged by the event's own t (its AR or CAR over the standard
#: deviation of its prediction error, t with the fit's residual degrees of freedom).
HEADLINE_ORDER: tuple[str, ...] = ("kp", "bmp", "t")
SINGLE_EVENT_T = "single-event t"


@dataclass(frozen=True)
class Inversion:
    """Per cell (G, K), what inverting the BMP test into an interval needs: over the valid
    standardized values ``s_i = x_i w_i`` (``w_i`` one over the standard deviation of the
    prediction error), their count, the means of s and w, and the sample (co)variances."""

    n: FloatArray
    mean_s: FloatArray
    mean_w: FloatArray
    var_s: FloatArray
    var_w: FloatArray
    cov_sw: FloatArray

    @classmethod
    def of(cls, m: FloatArray) -> Inversion:
        """From the moments of :func:`backtest.study.kernels.column_moments`."""
        n = np.asarray(m[:, :, 3], dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return cls(n, m[:, :, 4], m[:, :, 15], m[:, :, 5] / (n - 1), m[:, :, 16] / (n - 1),
                       m[:, :, 17] / (n - 1))  # fmt: skip


def bmp_interval(
    inv: Inversion, q: FloatArray, factor: FloatArray | float = 1.0
) -> tuple[FloatArray, FloatArray]:
    """The shifts ``mu`` of every observation's value that the BMP test (times ``factor``:
    the Kolari-Pynnönen adjustment) does not reject at the two-sided quantile ``q``.

    The test of ``mu`` standardizes the shifted values, ``(x_i - mu) w_i = s_i - mu w_i``,
    whose cross-sectional t is ``t(mu) = (A - mu B) / sqrt(V(mu) / n)`` with ``A``, ``B``
    the means of s and w and ``V(mu) = Vss - 2 mu Vsw + mu^2 Vww``. ``|factor t(mu)| <= q``
    is the quadratic inequality ``a mu^2 - 2 b mu + c <= 0`` with ``a = n B^2 - q'^2 Vww``,
    ``b = n A B - q'^2 Vsw``, ``c = n A^2 - q'^2 Vss``, ``q' = q / factor``: an interval
    when ``a > 0`` (it contains ``A / B``, where t is 0). When ``a <= 0`` (few observations
    with very unequal weights) the shifts not rejected are unbounded: the whole line, or two
    rays around a rejected stretch. Then the ray that holds ``A / B`` is given, or the whole
    line (-inf, inf) when that ray does not hold 0 and the test does not reject 0. At
    ``mu = 0`` the statistic is the reported one, so the result contains 0 exactly when the
    test does not reject.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        qq = (q / factor) ** 2
        a = inv.n * inv.mean_w**2 - qq * inv.var_w
        b = inv.n * inv.mean_s * inv.mean_w - qq * inv.cov_sw
        c = inv.n * inv.mean_s**2 - qq * inv.var_s
        disc = b * b - a * c
        root = np.sqrt(np.maximum(disc, 0.0))
        bounded = a > 0
        lo = np.where(bounded, (b - root) / a, -np.inf)
        hi = np.where(bounded, (b + root) / a, np.inf)
        # a <= 0: rejected between the roots r1 < r2 (when there are two), accepted outside
        rays = ~bounded & (a < 0) & (disc > 0)
        if rays.any():
            r1 = np.where(rays, (b + root) / a, np.nan)  # a < 0: (b + root) / a is the lower
            r2 = np.where(rays, (b - root) / a, np.nan)
            center = inv.mean_s / inv.mean_w
            upper = center >= r2  # the estimate's ray: [r2, inf) or (-inf, r1]
            accepted0 = c <= 0
            holds0 = np.where(upper, r2 <= 0, r1 >= 0)
            whole = accepted0 & ~holds0
            lo = np.where(rays & upper & ~whole, r2, lo)
            hi = np.where(rays & ~upper & ~whole, r1, hi)
    return lo, hi


def headline(
    value: FloatArray,
    tests: dict[str, GroupStat],
    *,
    single: GroupStat | None,
    inversion: Inversion | None = None,
    rbar: FloatArray | None = None,
    se: FloatArray | None = None,
    level: float = 0.95,
) -> tuple[np.ndarray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """One named test per cell (G, K) and the ``level`` interval that same test implies.

    Returns the test's display name ("" where none), statistic, p-value and interval: the
    values the test would not reject, so that the interval excludes 0 exactly when the test
    rejects at ``1 - level``. For the cross-sectional t (and a single event's own t) that is
    ``value -/+ q se`` with ``q`` the quantile of the test's t distribution; for BMP and
    Kolari-Pynnönen the inversion of :func:`bmp_interval` (``inversion`` and ``rbar``
    given). NaN where no test was computed.

    The standard error of a t interval is ``value / stat``; where the statistic is exactly
    0 (a value of exactly 0) it is ``se`` (the cross-sectional sd / sqrt(n), given) or, for a
    single event, one over its standardization weight (``inversion.mean_w``).
    """
    names = {k: name for k, name, _ in GROUP_TESTS}
    shape = value.shape
    name = np.full(shape, "", dtype=object)
    stat = np.full(shape, np.nan)
    p = np.full(shape, np.nan)
    lo = np.full(shape, np.nan)
    hi = np.full(shape, np.nan)
    candidates = [(k, names[k], tests[k], tests[k].n - 1.0) for k in HEADLINE_ORDER if k in tests]
    if single is not None:
        candidates.append(("single", SINGLE_EVENT_T, single, single.n.astype(np.float64)))
    for key, label, res, dof in candidates:
        take = np.isnan(stat) & np.isfinite(res.stat)
        if not take.any():
            continue
        df = np.broadcast_to(dof, shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            q = t_quantile(0.5 + level / 2.0, np.where(df >= 1, df, np.nan))
            if key in ("bmp", "kp") and inversion is not None:
                factor: FloatArray | float = 1.0
                if key == "kp" and rbar is not None:
                    factor = np.sqrt((1.0 - rbar) / (1.0 + (res.n - 1) * rbar))
                a, b = bmp_interval(inversion, q, factor)
            else:  # a t interval: se = value / stat, or given where both are 0
                at_zero = np.full(shape, np.nan)
                if key == "t" and se is not None:
                    at_zero = np.broadcast_to(se, shape)
                elif key == "single" and inversion is not None:
                    at_zero = 1.0 / inversion.mean_w
                half = q * np.where(res.stat != 0, np.abs(value / res.stat), at_zero)
                a, b = value - half, value + half
        name[take] = label
        stat[take] = res.stat[take]
        p[take] = res.p[take]
        lo[take] = np.broadcast_to(a, shape)[take]
        hi[take] = np.broadcast_to(b, shape)[take]
    return name, stat, p, lo, hi
