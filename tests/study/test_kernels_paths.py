"""The kernels' speed paths: long group segments sorted by NumPy, short ones by the radix
sort, cluster sums on threads, and the small-pages switch. Expectations come from plain
NumPy/SciPy recomputations and from invariances, not from the kernels."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from scipy.stats import rankdata

from backtest.study import kernels as K


def _signed_rank_reference(v: np.ndarray) -> tuple[float, float, float, float]:
    """W+, n, sum of t^3 - t over tied |v| and the tie flag, by SciPy's average ranks (zeros
    and NaN left out). Values one unit in the last place apart count as ties in the kernel, so
    the data below are on a coarse grid, where that never happens."""
    v = v[~np.isnan(v) & (v != 0.0)]
    if not len(v):
        return 0.0, 0.0, 0.0, 0.0
    ranks = rankdata(np.abs(v))
    _, counts = np.unique(np.abs(v), return_counts=True)
    t = counts[counts > 1].astype(float)
    return float(ranks[v > 0].sum()), float(len(v)), float((t**3 - t).sum()), float(len(t) > 0)


@pytest.mark.parametrize("sizes", [[9000], [5000, 30, 4200, 1], [4095, 4096, 0, 12000]])
@pytest.mark.parametrize("grid", [0.01, 0.0001])
def test_signed_ranks_of_long_and_short_segments_match_scipy(sizes: list[int], grid: float) -> None:
    rng = np.random.default_rng(len(sizes) + int(1 / grid))
    n = sum(sizes)
    x = np.round(rng.standard_t(4, (n, 2)) * 0.02 / grid) * grid  # many ties on a coarse grid
    x[rng.random((n, 2)) < 0.03] = np.nan
    kept = (rng.random((n, 2)) < 0.9).astype(np.uint8)
    order = rng.permutation(n)  # rows in group order through ``order``
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    xs, ks = x[inverse], kept[inverse]  # x[order]: segment g is rows bounds[g]:bounds[g+1]
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    keys, tmp = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    for k in range(2):
        got = K.signed_rank_columns(xs, k, k + 1, order, bounds, keys[None, :], tmp, ks,
                                    np.array([1 - k]))[0]  # fmt: skip
        for g in range(len(sizes)):
            rows = order[bounds[g] : bounds[g + 1]]
            sel = rows[ks[rows, 1 - k] == 1]
            assert tuple(got[g]) == pytest.approx(_signed_rank_reference(xs[sel, k]), abs=0)


@pytest.mark.parametrize("block", [1, 3, 8])
def test_signed_ranks_of_a_block_of_columns_are_each_columns_own(block: int) -> None:
    """Keys made for several columns in one pass over the rows, each column over the
    observations of its own statistic, in group order: every column's statistics are
    SciPy's ranks of that column alone."""
    rng = np.random.default_rng(block)
    sizes = [5000, 7, 300, 0, 4100]
    n, k = sum(sizes), 9
    x = np.round(rng.standard_t(4, (n, k)) * 0.02 / 0.001) * 0.001
    x[rng.random((n, k)) < 0.03] = np.nan
    kept = (rng.random((n, 3)) < 0.9).astype(np.uint8)
    stat_of = rng.integers(0, 3, k)
    order = rng.permutation(n)
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    keys, tmp = np.empty((block, n), dtype=np.int64), np.empty(n, dtype=np.int64)
    for k0 in range(0, k, block):
        k1 = min(k0 + block, k)
        got = K.signed_rank_columns(x, k0, k1, order, bounds, keys, tmp, kept, stat_of[k0:k1])
        assert got.shape == (k1 - k0, len(sizes), 4)
        for c in range(k1 - k0):
            for g in range(len(sizes)):
                rows = order[bounds[g] : bounds[g + 1]]
                sel = rows[kept[rows, stat_of[k0 + c]] == 1]
                expected = _signed_rank_reference(x[sel, k0 + c])
                assert tuple(got[c, g]) == pytest.approx(expected, abs=0)


def test_cluster_sums_do_not_depend_on_the_threads() -> None:
    rng = np.random.default_rng(3)
    n_rows, t_total = 6000, 400
    R = rng.normal(0.0, 0.01, (21, t_total))  # 20 tickers, the benchmark last
    R[rng.random(R.shape) < 0.02] = np.nan
    col = rng.integers(0, 20, n_rows)
    bench = np.full(n_rows, 20)
    starts = rng.integers(0, 100, n_rows)
    models = rng.choice([K.MARKET, K.CONSTANT_MEAN, K.MARKET_ADJUSTED, K.RAW], n_rows)
    sizes = rng.integers(1, 40, 400)
    sizes[-1] = n_rows - sizes[:-1].sum() if sizes[:-1].sum() < n_rows else 1
    ptr = np.concatenate([[0], np.minimum(np.cumsum(sizes), n_rows)]).astype(np.int64)
    members = rng.permutation(n_rows)
    pattern = rng.integers(-1, 3, n_rows)
    patterns = rng.random((3, 5)) < 0.6
    args = (R, np.zeros((1, 1), dtype=np.int32), ptr, members, col, bench,
            np.zeros(n_rows, dtype=np.int64), starts, models, 0, 240, False,
            rng.normal(0, 1e-3, n_rows), rng.uniform(0.5, 1.5, n_rows), np.zeros((n_rows, 0)),
            pattern, patterns)  # fmt: skip
    one = K.cluster_pairs(*args, workers=1)
    assert np.isfinite(one).all()
    assert (one != 0).any()
    for workers in (2, 3, 8):
        assert K.cluster_pairs(*args, workers=workers).tobytes() == one.tobytes()
    # a cluster's sum is the same alone as among the others
    g = 7
    part = np.array([0, ptr[g + 1] - ptr[g]], dtype=np.int64)
    alone = K.cluster_pairs(R, args[1], part, members[ptr[g] : ptr[g + 1]], *args[4:])
    assert alone[0].tobytes() == one[g].tobytes()


def _cluster_oracle(R, ptr, members, col, bench, starts, models, e0, e1, alpha, beta,  # type: ignore[no-untyped-def]
                    pattern, patterns):  # fmt: skip
    """cluster_pairs one member at a time in Python floats: its estimation residuals (NaN
    where a return is missing), demeaned, scaled to unit length, added to its pattern's sum in
    member order; per statistic |sum|^2 - the number of members summed."""
    n_patterns, n_stats = patterns.shape
    le = e1 - e0
    out = np.zeros((len(ptr) - 1, n_stats))
    for g in range(len(ptr) - 1):
        total = [[0.0] * le for _ in range(n_patterns)]
        norms = [0.0] * n_patterns
        for q in range(ptr[g], ptr[g + 1]):
            r = members[q]
            pat = pattern[r]
            if pat < 0:
                continue
            model, a, b = models[r], float(alpha[r]), float(beta[r])
            z = []
            for kk in range(le):
                t = starts[r] + e0 + kk
                y, x = float(R[col[r], t]), float(R[bench[r], t])
                own = model in (K.CONSTANT_MEAN, K.RAW)
                if math.isnan(y) or (not own and math.isnan(x)):
                    z.append(math.nan)
                elif model == K.MARKET:
                    z.append(y - (a + b * x))
                elif model == K.CONSTANT_MEAN:
                    z.append(y - a)
                elif model == K.RAW:
                    z.append(y)
                else:  # market-adjusted
                    z.append(y - x)
            used = [v for v in z if not math.isnan(v)]
            if not used:
                continue
            total_z = 0.0
            for v in used:
                total_z += v
            mean = total_z / len(used)
            d = [0.0 if math.isnan(v) else v - mean for v in z]
            nn = 0.0
            for v in d:
                nn += v * v
            if not nn > 0:
                continue
            scale = 1.0 / math.sqrt(nn)
            for kk in range(le):
                total[pat][kk] += d[kk] * scale
            norms[pat] += 1.0
        for s in range(n_stats):
            v = [0.0] * le
            nrm = 0.0
            for pat in range(n_patterns):
                if patterns[pat, s] and norms[pat] > 0:
                    for kk in range(le):
                        v[kk] += total[pat][kk]
                    nrm += norms[pat]
            sq = 0.0
            for kk in range(le):
                sq += v[kk] * v[kk]
            out[g, s] = sq - nrm
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cluster_sums_are_a_member_at_a_time_loop_to_the_last_bit(seed: int) -> None:
    """The kernel works on two members at once (one's residuals while the other's are
    demeaned); a plain loop over the members gives the same sums bit for bit, with members
    without any residual, with constant residuals (no length), not observations, or alone."""
    rng = np.random.default_rng(seed)
    n_rows, t_total, le = 700, 120, 40
    R = rng.normal(0.0, 0.01, (13, t_total))  # 12 tickers, the benchmark last
    R[rng.random(R.shape) < 0.05] = np.nan
    R[3, :] = np.nan  # a ticker without returns: its members have no residual
    R[4, :] = 0.01  # a constant return: constant-mean residuals have no length
    col = rng.integers(0, 12, n_rows)
    bench = np.full(n_rows, 12)
    starts = rng.integers(0, t_total - le - 5, n_rows)
    models = rng.choice([K.MARKET, K.CONSTANT_MEAN, K.MARKET_ADJUSTED, K.RAW], n_rows)
    models[col == 4] = K.CONSTANT_MEAN
    sizes = rng.integers(1, 12, 200)
    ptr = np.concatenate([[0], np.cumsum(sizes)])
    ptr = ptr[ptr <= n_rows].astype(np.int64)
    members = rng.permutation(n_rows)
    pattern = rng.integers(-1, 3, n_rows)
    patterns = rng.random((3, 4)) < 0.6
    alpha, beta = rng.normal(0, 1e-3, n_rows), rng.uniform(0.5, 1.5, n_rows)
    no_cover, fbase, fbeta = (
        np.zeros((1, 1), np.int32),
        np.zeros(n_rows, np.int64),
        np.zeros((n_rows, 0)),
    )
    got = K.cluster_pairs(R, no_cover, ptr, members, col, bench, fbase, starts, models, 5,
                          5 + le, False, alpha, beta, fbeta, pattern, patterns, 1)  # fmt: skip
    expected = _cluster_oracle(R, ptr, members, col, bench, starts, models, 5, 5 + le, alpha,
                               beta, pattern, patterns)  # fmt: skip
    assert got.tobytes() == expected.tobytes()
    assert (got != 0).any()


def test_small_pages_restores_numpy_setting_across_threads() -> None:
    multiarray = np._core.multiarray
    before = multiarray._get_madvise_hugepage()
    inside: list[bool] = []
    entered, release = threading.Barrier(3), threading.Event()

    def study() -> None:
        with K.small_pages():
            entered.wait()
            inside.append(multiarray._get_madvise_hugepage())
            release.wait(10)

    threads = [threading.Thread(target=study) for _ in range(2)]
    for th in threads:
        th.start()
    entered.wait()
    release.set()
    for th in threads:
        th.join()
    assert inside == [False, False]
    assert multiarray._get_madvise_hugepage() == before
    with K.small_pages(), K.small_pages():
        assert multiarray._get_madvise_hugepage() is False
    assert multiarray._get_madvise_hugepage() == before


@pytest.mark.parametrize("width", [8, 32])
@pytest.mark.parametrize("workers", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [0, 1, 4, 8, 9, 21, 32, 41, 64, 65, 100])
def test_moment_ranges_are_whole_blocks(k: int, width: int, workers: int) -> None:
    """The moment kernels' column ranges cover every column once, in order, each range
    whole blocks of the kernel's width (only the last may end short), at most one range
    per worker and never an empty one when there are columns."""
    from backtest.study.battery import _block_splits

    cuts = _block_splits(k, width, workers)
    assert cuts[0] == 0
    assert cuts[-1] == k
    assert (np.diff(cuts) > 0).all() or k == 0
    assert len(cuts) - 1 <= max(1, workers)
    assert all(c % width == 0 for c in cuts[:-1])
    assert len(cuts) - 1 == min(max(1, workers), -(-k // width)) or k == 0


@pytest.mark.parametrize("seed", range(6))
def test_used_levels_are_pandas_own(seed: int) -> None:
    """The AR table's index levels, restricted to the entries used, are exactly what
    ``MultiIndex.remove_unused_levels`` gives: the same levels in the same order and the
    same codes, whether every entry is used or some are not."""
    import pandas as pd

    from backtest.study.battery import _used_level

    rng = np.random.default_rng(seed)
    n_levels = [1, 5, 300][seed % 3]
    level = pd.Index([f"T{i:04d}" for i in rng.permutation(n_levels)], dtype="str")
    n = int(rng.integers(1, 2000))
    codes = rng.integers(0, n_levels, n)
    if seed % 2:  # some entries unused
        codes = codes[codes != codes[0]] if (codes != codes[0]).any() else codes
    other = np.arange(len(codes))
    ref = pd.MultiIndex(
        levels=[pd.Index(other), level], codes=[other, codes], verify_integrity=False
    ).remove_unused_levels()
    got_level, got_codes = _used_level(level, codes)
    mine = pd.MultiIndex(
        levels=[pd.Index(other), got_level], codes=[other, got_codes], verify_integrity=False
    )
    pd.testing.assert_index_equal(mine.levels[1], ref.levels[1], exact=True)
    np.testing.assert_array_equal(mine.codes[1], ref.codes[1])
    assert mine.codes[1].dtype == ref.codes[1].dtype
    assert mine.equals(ref)
