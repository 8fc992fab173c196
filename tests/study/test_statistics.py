"""The group-test kernels against scipy, group by group, and the exact Wilcoxon distribution."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from backtest.study import kernels as K
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


def _moments(groups: S.Groups, x: np.ndarray, sx: np.ndarray, dof: np.ndarray,
             phat: np.ndarray, kept: np.ndarray) -> dict[str, S.GroupStat]:  # fmt: skip
    """The engine's moment tests of every column (one statistic per column)."""
    return S.moment_stats(_raw_moments(groups, x, sx, dof, phat, kept))


def _raw_moments(groups: S.Groups, x: np.ndarray, sx: np.ndarray, dof: np.ndarray,
                 phat: np.ndarray, kept: np.ndarray) -> np.ndarray:  # fmt: skip
    stat_of = np.arange(x.shape[1], dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.ascontiguousarray(sx / x)
    return K.column_moments(np.ascontiguousarray(x), np.ascontiguousarray(sx), w,
                            dof.astype(np.float64), phat, groups.codes, groups.n, 0, x.shape[1],
                            kept, stat_of)  # fmt: skip


def _wilcoxon(groups: S.Groups, x: np.ndarray, kept: np.ndarray) -> S.GroupStat:
    n = len(x)
    keys, tmp = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    cols = [K.signed_rank_columns(np.ascontiguousarray(x), k, k + 1, groups.row_order,
                                  groups.bounds, keys[None, :], tmp, kept,
                                  np.array([k]))[0] for k in range(x.shape[1])]  # fmt: skip
    return S.wilcoxon_stats(np.stack(cols, axis=1))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(5, 200), g=st.integers(1, 6),
       ties=st.booleans(), merged=st.floats(0.0, 0.5))  # fmt: skip
def test_group_tests_match_scipy(seed: int, n: int, g: int, ties: bool, merged: float) -> None:
    """Every moment test and Wilcoxon, group by group and column by column, over the rows
    that are observations of the column's statistic (the others merged away)."""
    codes, x = _groups(seed, n, g, 3, ties=ties)
    rng = np.random.default_rng(seed + 1)
    kept = (rng.random((n, 3)) >= merged).astype(np.uint8)
    groups = S.Groups(codes, g)
    dof = rng.integers(3, 200, n)
    phat = rng.uniform(0.3, 0.7, n)
    sx = x * rng.uniform(20, 80, (n, 1))
    res = _moments(groups, x, sx, dof, phat, kept)
    wil = _wilcoxon(groups, x, kept)
    for gi in range(g):
        for k in range(3):
            sel = (codes == gi) & (kept[:, k] == 1) & ~np.isnan(x[:, k])
            v, sv, d = x[sel, k], sx[sel, k], dof[sel]
            assert res["t"].n[gi, k] == len(v)
            assert res["rows"].n[gi, k] == ((codes == gi) & ~np.isnan(x[:, k])).sum()
            if len(v) >= 2 and np.std(v) > 0:
                ref = stats.ttest_1samp(v, 0.0)
                assert res["t"].stat[gi, k] == pytest.approx(ref.statistic, rel=1e-9)
                assert res["t"].p[gi, k] == pytest.approx(ref.pvalue, rel=1e-9)
                ref = stats.ttest_1samp(sv, 0.0)
                assert res["bmp"].stat[gi, k] == pytest.approx(ref.statistic, rel=1e-9)
            if len(v) == 1:  # a group of one: its own t with its degrees of freedom
                assert res["single"].stat[gi, k] == sv[0]
                assert res["single"].p[gi, k] == pytest.approx(2 * stats.t.sf(abs(sv[0]), d[0]))
            if len(v):
                zp = sv.sum() / np.sqrt(np.sum(d / (d - 2.0)))
                assert res["patell"].stat[gi, k] == pytest.approx(zp, rel=1e-9)
                ph = phat[sel].mean()
                w = (v > 0).sum()
                zg = (w - len(v) * ph) / np.sqrt(len(v) * ph * (1 - ph))
                assert res["gsign"].stat[gi, k] == pytest.approx(zg, rel=1e-9)
            nz = v[v != 0]
            if len(nz):
                ref_sign = stats.binomtest(int((nz > 0).sum()), len(nz), 0.5).pvalue
                assert res["sign"].p[gi, k] == pytest.approx(ref_sign, rel=1e-9)
                assert res["sign"].n[gi, k] == len(nz)
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
    x = np.array([[1.0], [2.0], [3.0], [4.0], [5.0], [6.0]])
    res = _wilcoxon(S.Groups(codes, 1), x, np.ones((6, 1), dtype=np.uint8))
    assert res.p[0, 0] == pytest.approx(2 / 64)


def test_generalized_sign_formula() -> None:
    codes = np.zeros(10, dtype=np.int64)
    x = np.array([[0.01]] * 7 + [[-0.01]] * 3)
    res = _moments(S.Groups(codes, 1), x, x, np.full(10, 100), np.full(10, 0.48),
                   np.ones((10, 1), dtype=np.uint8))  # fmt: skip
    z = (7 - 10 * 0.48) / np.sqrt(10 * 0.48 * 0.52)
    assert res["gsign"].stat[0, 0] == pytest.approx(z)
    assert res["gsign"].p[0, 0] == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_patell_and_kp_formulas() -> None:
    codes = np.zeros(4, dtype=np.int64)
    sx = np.array([[1.0], [2.0], [0.5], [1.5]])
    dof = np.array([100, 100, 50, 50])
    res = _moments(S.Groups(codes, 1), sx, sx, dof, np.full(4, 0.5),
                   np.ones((4, 1), dtype=np.uint8))  # fmt: skip
    assert res["patell"].stat[0, 0] == pytest.approx(5.0 / np.sqrt(2 * 100 / 98 + 2 * 50 / 48))
    b = res["bmp"]
    kp = S.kolari_pynnonen(b, np.array([0.1]))
    assert kp.stat[0, 0] == pytest.approx(b.stat[0, 0] * np.sqrt(0.9 / 1.3))
    # NaN: not computable when every pair is perfectly correlated
    assert np.isnan(S.kolari_pynnonen(b, np.array([1.0])).stat[0, 0])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(3, 60), r=st.floats(-0.02, 0.5),
       spread=st.floats(0.0, 1.0))  # fmt: skip
def test_the_bmp_interval_is_the_set_of_shifts_the_test_does_not_reject(
    seed: int, n: int, r: float, spread: float
) -> None:
    """Each end of the interval is a shift mu of every value at which the (KP-adjusted) BMP t
    of the shifted standardized values, ``(x_i - mu) w_i``, reaches the 5% critical value
    (found by a root finder on scipy's t-test), and 0 is inside exactly when p >= 0.05."""
    from hypothesis import assume
    from scipy import optimize

    # a negative average correlation is possible only above -1 / (n - 1) (else KP is not defined)
    assume(1 + (n - 1) * r > 0.01)
    rng = np.random.default_rng(seed)
    x = rng.normal(0.01, 0.03, (n, 1))
    w = 1.0 / (0.02 * np.exp(spread * rng.normal(size=(n, 1))))
    groups = S.Groups(np.zeros(n, dtype=np.int64), 1)
    m = _raw_moments(groups, x, x * w, np.full(n, 100), np.full(n, 0.5),
                     np.ones((n, 1), dtype=np.uint8))  # fmt: skip
    res = S.moment_stats(m)
    rbar = np.array([[r]])
    res["kp"] = S.kolari_pynnonen(res["bmp"], rbar)
    factor = np.sqrt((1 - r) / (1 + (n - 1) * r))
    q = stats.t.ppf(0.975, n - 1)
    name, _, p, lo, hi = S.headline(
        res["mean"].stat, {k: res[k] for k in ("kp", "bmp", "t")}, single=None,
        inversion=S.Inversion.of(m), rbar=rbar,
    )  # fmt: skip
    assert name[0, 0] == "Kolari-Pynnönen adjusted BMP t"

    def excess(mu: float) -> float:
        t = stats.ttest_1samp(((x - mu) * w)[:, 0], 0.0).statistic
        return abs(factor * t) - q

    center = float((x * w).mean() / w.mean())
    assert lo[0, 0] <= center <= hi[0, 0]
    for end, sign in ((lo[0, 0], -1), (hi[0, 0], 1)):
        far = center + sign * 1e6
        if np.isfinite(end) and excess(far) > 0:  # a bounded side: rejected far away
            found = optimize.brentq(excess, center, far, xtol=1e-14, rtol=1e-12, maxiter=500)
            assert end == pytest.approx(found, rel=1e-7, abs=1e-12)
        elif np.isfinite(end):  # a ray's end: rejected just beyond it, not rejected far away
            step = 1e-6 * max(1.0, abs(end))
            assert excess(end + sign * step) > 0
            assert excess(end - sign * step) < 0
        else:  # unbounded: the test never rejects far away on this side
            assert excess(center + sign * 1e6) < 0
    assert (lo[0, 0] <= 0 <= hi[0, 0]) == (p[0, 0] >= 0.05)


def test_headline_takes_the_first_computed_test_and_its_interval() -> None:
    """KP, else BMP, else t, else a single event's t; a t interval is value -/+ q |value /
    stat| with the test's own t quantile, so it excludes 0 exactly when p < 0.05."""
    value = np.array([[0.02, 0.03, 0.04, 0.05]])
    nan = np.nan
    n = np.array([[10, 10, 10, 1]])
    tests = {
        "kp": S.GroupStat(np.array([[2.5, nan, nan, nan]]), np.array([[0.03, nan, nan, nan]]), n),
        "bmp": S.GroupStat(np.array([[2.6, 1.9, nan, nan]]), np.array([[0.02, 0.09, nan, nan]]), n),
        "t": S.GroupStat(np.array([[2.7, 2.0, 2.1, nan]]), np.array([[0.02, 0.08, 0.07, nan]]), n),
    }
    single = S.GroupStat(np.array([[nan, nan, nan, 3.0]]), np.array([[nan, nan, nan, 0.004]]),
                         np.array([[nan, nan, nan, 120]]))  # fmt: skip
    name, stat, p, lo, hi = S.headline(value, tests, single=single)
    assert list(name[0]) == ["Kolari-Pynnönen adjusted BMP t", "BMP t", "cross-sectional t",
                             "single-event t"]  # fmt: skip
    assert list(stat[0]) == [2.5, 1.9, 2.1, 3.0]
    assert list(p[0]) == [0.03, 0.09, 0.07, 0.004]
    # the t intervals (BMP's and KP's are inverted from their moments: the test above)
    for k, (s, df) in [(2, (2.1, 9)), (3, (3.0, 120))]:
        half = stats.t.ppf(0.975, df) * value[0, k] / s
        assert lo[0, k] == pytest.approx(value[0, k] - half)
        assert hi[0, k] == pytest.approx(value[0, k] + half)
        assert (lo[0, k] > 0) == (2 * stats.t.sf(s, df) < 0.05)


def test_a_t_interval_around_a_value_of_exactly_0_is_not_nan() -> None:
    """The t intervals took the standard error as value / stat, 0 / 0 where the value is 0:
    a single event whose day-0 return is 0 (raw model) and two events of +1% and -1% (ABHAR,
    whose headline is the cross-sectional t) got NaN intervals although p = 1."""
    from backtest.study import StudySpec, run_study
    from tests.study.synth import make_market, prices_from_returns

    spec = StudySpec(model="raw", windows=((0, 0), (-1, 1)), group_by=("all",), max_loss=1.0)
    syn = make_market(n_days=400, n_stocks=2, n_events=2, seed=1)
    ev = syn.events.iloc[[0]]
    r = syn.returns.copy()
    r.iloc[r.index.get_loc(ev["day0"].iloc[0]), r.columns.get_loc(ev["ticker"].iloc[0])] = 0.0
    res = run_study(ev, prices_from_returns(r), spec)
    row = res.groups.query("measure == 'CAAR' and window == '[0,0]'").iloc[0]
    se = res.windows.query("start == 0 and end == 0")["car_se"].iloc[0]
    half = stats.t.ppf(0.975, res.events["dof"].iloc[0]) * se
    assert (row["headline"], row["headline_stat"], row["headline_p"]) == ("single-event t", 0, 1)
    assert row["lo"] == pytest.approx(-half, rel=1e-12)
    assert row["hi"] == pytest.approx(half, rel=1e-12)

    syn = make_market(n_days=400, n_stocks=2, n_events=2, seed=2)
    close = syn.close.copy()
    for e, after in zip(syn.events.itertuples(), (101.0, 99.0), strict=True):
        at, c = close.index.get_loc(e.day0), close.columns.get_loc(e.ticker)
        close.iloc[at - 1, c], close.iloc[at, c] = 100.0, after
    res = run_study(syn.events, close, spec)
    row = res.groups.query("measure == 'ABHAR' and window == '[0,0]'").iloc[0]
    half = stats.t.ppf(0.975, 1) * np.std([0.01, -0.01], ddof=1) / np.sqrt(2)
    assert (row["headline"], row["headline_stat"], row["headline_p"]) == ("cross-sectional t", 0, 1)
    assert row["lo"] == pytest.approx(-half, rel=1e-9)
    assert row["hi"] == pytest.approx(half, rel=1e-9)


def test_a_bmp_interval_that_misses_the_equal_weighted_value_is_explained_in_the_notes() -> None:
    """20 quiet events and one volatile stock with a large day-0 AR: the equal-weighted CAAR
    is pulled up by the loud event, while the BMP/KP interval (the common shifts not
    rejected) is built around the 1/sigma-weighted mean, sum(car/se) / sum(1/se): the value
    lies outside it, and the notes say so with that mean."""
    from backtest.study import StudySpec, run_study
    from tests.study.synth import make_market, prices_from_returns

    syn = make_market(n_days=500, n_stocks=21, n_events=21, seed=3, sigma=0.01, min_gap=60)
    r = syn.returns.copy()
    loud = syn.events["ticker"].iloc[0]
    r[loud] = r[loud] * 8.0
    r.iloc[r.index.get_loc(syn.events["day0"].iloc[0]), r.columns.get_loc(loud)] += 0.6
    spec = StudySpec(group_by=("all",), max_loss=1.0, windows=((0, 0),), path=(0, 0))
    res = run_study(syn.events, prices_from_returns(r), spec)
    row = res.groups.query("measure == 'CAAR'").iloc[0]
    w = res.windows
    centre = (w["car"] / w["car_se"]).sum() / (1.0 / w["car_se"]).sum()
    assert row["lo"] < centre < row["hi"] < row["value"]
    assert (
        f"built around the events' mean weighted by one over each one's standard "
        f"deviation ({centre:+.2%}, where its statistic is 0)" in row["notes"]
    )
    quiet = run_study(syn.events.iloc[1:], prices_from_returns(r), spec).groups
    inside = quiet.query("measure == 'CAAR'").iloc[0]
    assert inside["lo"] <= inside["value"] <= inside["hi"]
    assert "built around" not in (inside["notes"] or "")


@pytest.mark.parametrize(
    ("codes", "n_groups", "bounds"),
    [
        ([], 0, [0]),  # no group: no segment (the signed ranks then have no row either)
        ([0, 0, 0], 1, [0, 3]),
        ([1, 0, 1, 2, 1], 3, [0, 1, 4, 5]),
        ([2, 2], 4, [0, 0, 0, 2, 2]),  # empty groups have empty segments
    ],
)
def test_group_bounds_by_hand(codes: list[int], n_groups: int, bounds: list[int]) -> None:
    from backtest.study.statistics import Groups

    g = Groups(np.array(codes, dtype=np.int64), n_groups)
    assert g.bounds.tolist() == bounds
    assert len(g.starts) == n_groups


def test_two_sided_t_p_values_are_scipys_with_or_without_out() -> None:
    """2 P(T > |t|) from SciPy's t distribution, NaN where df < 1 or t is NaN, the same
    numbers whether written into ``out`` (where -|t| is made in place) or returned."""
    from scipy import stats

    rng = np.random.default_rng(12)
    t = rng.standard_t(5, (400, 4)) * 2
    t[::9, 2] = np.nan
    df = rng.integers(0, 60, (400, 1)).astype(np.float64)
    got = S.two_sided_t(t, df)
    out = np.empty_like(t)
    into = S.two_sided_t(t, df, out=out)
    assert np.shares_memory(into, out)
    assert got.tobytes() == into.tobytes()
    ok = (df >= 1) & ~np.isnan(t)
    expected = 2 * stats.t.sf(np.abs(t), np.broadcast_to(df, t.shape))
    np.testing.assert_allclose(got[ok], expected[ok], rtol=1e-12)
    assert np.isnan(got[~ok]).all()


def test_t_quantile_is_scipy_stats_t_ppf_to_the_last_bit() -> None:
    """The interval's t quantile equals ``scipy.stats.t.ppf`` bit for bit, for every level a
    report uses and degrees of freedom from 1 to millions, infinite, non-positive and NaN."""
    from scipy import stats

    rng = np.random.default_rng(3)
    df = np.concatenate(
        [np.arange(1, 3000), rng.integers(3000, 10**7, 5000), [np.inf, 0.0, -2.0, np.nan]]
    ).astype(np.float64)
    for level in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
        q = 0.5 + level / 2.0
        got = S.t_quantile(q, df)
        want = stats.t.ppf(q, df)
        assert got.tobytes() == want.tobytes(), level
    assert np.isnan(S.t_quantile(0.975, np.array([0.0, -1.0, np.nan]))).all()
    assert S.t_quantile(0.975, np.array([np.inf]))[0] == pytest.approx(1.959963984540054)


def _binomial_grid() -> tuple[np.ndarray, np.ndarray]:
    """Counts ``0 <= pos <= n``: every pos for n up to 300, then the tails, the middle and
    random draws for n up to two million."""
    rng = np.random.default_rng(4)
    pos, n = [], []
    for m in [*range(1, 301), *rng.integers(301, 2_000_000, 400).tolist()]:
        head = np.arange(0, min(m, 40) + 1)
        draws = rng.integers(0, m + 1, 60)
        ks = np.unique(np.concatenate([head, m - head, draws, [m // 2, m // 2 + 1]]))
        pos.append(ks.astype(np.float64))
        n.append(np.full(len(ks), m, dtype=np.float64))
    return np.concatenate(pos), np.concatenate(n)


def test_binomial_tails_are_scipy_stats_binom_to_the_last_bit() -> None:
    """The sign test's tails P(X <= pos) and P(X >= pos), X ~ Bin(n, 1/2), equal
    ``scipy.stats.binom.cdf(pos, n, .5)`` and ``binom.sf(pos - 1, n, .5)`` bit for bit (pos 0
    included, where the survival function is below its support), and so do the sign test's
    p-values."""
    from scipy import stats

    pos, n = _binomial_grid()
    lo, hi = S.binomial_tails(pos, n)
    assert lo.tobytes() == stats.binom.cdf(pos, n, 0.5).tobytes()
    assert hi.tobytes() == stats.binom.sf(pos - 1, n, 0.5).tobytes()
    assert (hi[pos == 0] == 1.0).all()
    assert (lo[pos == n] == 1.0).all()
    _, p = S._sign_z_p(pos, n)
    want = np.minimum(1.0, 2.0 * np.minimum(stats.binom.cdf(pos, n, 0.5),
                                            stats.binom.sf(pos - 1, n, 0.5)))  # fmt: skip
    assert p.tobytes() == want.tobytes()
    # by hand: 3 positives of 10 gives P(X <= 3) = 176/1024, P(X >= 3) = 968/1024
    lo3, hi3 = S.binomial_tails(np.array([3.0]), np.array([10.0]))
    assert lo3[0] == pytest.approx(176 / 1024, rel=1e-14)
    assert hi3[0] == pytest.approx(968 / 1024, rel=1e-14)


def test_binomial_tails_without_scipys_private_functions_use_scipy_stats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a SciPy without the private binomial functions, the tails come from
    ``scipy.stats`` itself: the same numbers."""
    pos, n = _binomial_grid()
    lo, hi = S.binomial_tails(pos, n)
    monkeypatch.setattr(S, "_BINOM_CDF", None)
    lo2, hi2 = S.binomial_tails(pos, n)
    assert lo2.tobytes() == lo.tobytes()
    assert hi2.tobytes() == hi.tobytes()
