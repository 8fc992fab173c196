"""The kernels' speed paths: long group segments sorted by NumPy, short ones by the radix
sort, cluster sums on threads, and the small-pages switch. Expectations come from plain
NumPy/SciPy recomputations and from invariances, not from the kernels."""

from __future__ import annotations

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
        got = K.signed_rank_column(xs, k, order, bounds, keys, tmp, ks, 1 - k)
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
