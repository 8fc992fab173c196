"""The group-test kernels against scipy, group by group, and the exact Wilcoxon distribution."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from backtest.study import jit
from backtest.study import statistics as S


def _groups(
    seed: int, n: int, g: int, k: int, *, ties: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, g, n)
    x = rng.normal(0.001, 0.02, (n, k))
    if ties:
        x = np.round(x, 2)
    x[rng.random((n, k)) < 0.05] = np.nan
    return codes, x


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(5, 200), g=st.integers(1, 6),
       ties=st.booleans())  # fmt: skip
def test_group_tests_match_scipy(seed: int, n: int, g: int, ties: bool) -> None:
    codes, x = _groups(seed, n, g, 3, ties=ties)
    groups = S.Groups(codes, g)
    t = S.cross_sectional_t(groups, x)
    sign = S.sign_test(groups, x)
    wil = S.wilcoxon(groups, x)
    gsign = S.generalized_sign(groups, x, np.full(len(x), 0.5))
    if jit.enabled():  # the compiled kernels must give the same numbers
        for k in range(3):
            mt = S.moment_tests(groups, x[:, k].copy(), x[:, k].copy(), np.full(len(x), 100),
                                np.full(len(x), 0.5))  # fmt: skip
            ws = S.wilcoxon_sorted(groups, x[:, k].copy())
            np.testing.assert_allclose(mt["t"].stat[:, 0], t.stat[:, k], rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(mt["sign"].p[:, 0], sign.p[:, k], rtol=1e-12)
            np.testing.assert_allclose(mt["gsign"].stat[:, 0], gsign.stat[:, k], rtol=1e-12)
            np.testing.assert_allclose(ws.stat[:, 0], wil.stat[:, k], rtol=1e-12)
            np.testing.assert_allclose(ws.p[:, 0], wil.p[:, k], rtol=1e-9)
    for gi in range(g):
        for k in range(3):
            v = x[codes == gi, k]
            v = v[~np.isnan(v)]
            if len(v) >= 2 and np.std(v) > 0:
                ref = stats.ttest_1samp(v, 0.0)
                assert t.stat[gi, k] == pytest.approx(ref.statistic, rel=1e-9)
                assert t.p[gi, k] == pytest.approx(ref.pvalue, rel=1e-9)
            nz = v[v != 0]
            if len(nz):
                ref_sign = stats.binomtest(int((nz > 0).sum()), len(nz), 0.5).pvalue
                assert sign.p[gi, k] == pytest.approx(ref_sign, rel=1e-9)
                assert sign.n[gi, k] == len(nz)
                # exact without ties (n <= 50), else the normal approximation with the
                # tie-corrected variance (R's wilcox.test; scipy would use the no-ties exact
                # distribution even with ties)
                tied = len(np.unique(np.abs(nz))) < len(nz)
                method = "approx" if tied or len(nz) > 50 else "exact"
                ref_w = stats.wilcoxon(nz, zero_method="wilcox", method=method)
                assert wil.p[gi, k] == pytest.approx(ref_w.pvalue, rel=1e-7, abs=1e-12)
                w_plus = stats.rankdata(np.abs(nz))[nz > 0].sum()
                assert wil.stat[gi, k] == pytest.approx(w_plus)


def test_wilcoxon_exact_distribution_small_n() -> None:
    # n = 3: the 8 sign patterns give W+ in {0,1,2,3,3,4,5,6}
    cdf = S._wilcoxon_null_cdf(3)
    assert list(cdf * 8) == [1, 2, 3, 5, 6, 7, 8]
    # all positive, n = 6: two-sided exact p = 2/64
    codes = np.zeros(6, dtype=np.int64)
    res = S.wilcoxon(S.Groups(codes, 1), np.array([[1.0], [2.0], [3.0], [4.0], [5.0], [6.0]]))
    assert res.p[0, 0] == pytest.approx(2 / 64)


def test_generalized_sign_formula() -> None:
    codes = np.zeros(10, dtype=np.int64)
    x = np.array([[0.01]] * 7 + [[-0.01]] * 3)
    phat = np.full(10, 0.48)
    res = S.generalized_sign(S.Groups(codes, 1), x, phat)
    z = (7 - 10 * 0.48) / np.sqrt(10 * 0.48 * 0.52)
    assert res.stat[0, 0] == pytest.approx(z)
    assert res.p[0, 0] == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_patell_and_kp_formulas() -> None:
    codes = np.zeros(4, dtype=np.int64)
    sx = np.array([[1.0], [2.0], [0.5], [1.5]])
    dof = np.array([100, 100, 50, 50])
    p = S.patell(S.Groups(codes, 1), sx, dof)
    assert p.stat[0, 0] == pytest.approx(5.0 / np.sqrt(2 * 100 / 98 + 2 * 50 / 48))
    b = S.bmp(S.Groups(codes, 1), sx)
    kp = S.kolari_pynnonen(b, np.array([0.1]))
    assert kp.stat[0, 0] == pytest.approx(b.stat[0, 0] * np.sqrt(0.9 / 1.3))
    assert (
        S.kolari_pynnonen(b, np.array([1.0])).stat[0, 0]
        != S.kolari_pynnonen(b, np.array([1.0])).stat[0, 0]
    )  # NaN: not computable when every pair is perfectly correlated
