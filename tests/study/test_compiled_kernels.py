"""Compiled kernels against their NumPy references, on inputs made to reach their edge cases
(ties across sorted runs, unused keys, short and long segments)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.markets import get_calendar
from backtest.study import StudySpec, jit, run_study
from backtest.study import kernels as K
from backtest.study import statistics as S
from tests.study.synth import make_market, prices_from_returns

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="numba is not available")

UNUSED = np.iinfo(np.int64).max


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    sizes=st.lists(st.integers(0, 3000), min_size=1, max_size=5),
    bits=st.sampled_from([1, 3, 12, 40, 62]),
    unused=st.floats(0.0, 1.0),
)
def test_radix_sort_of_segments_equals_numpy_sort(
    seed: int, sizes: list[int], bits: int, unused: float
) -> None:
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**bits, sum(sizes), dtype=np.int64) << rng.integers(0, 63 - bits)
    keys[rng.random(len(keys)) < unused] = UNUSED
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    expected = keys.copy()
    tmp = np.empty(len(keys), dtype=np.int64)
    for a, b in itertools.pairwise(bounds):
        expected[a:b].sort()
        jit.module()._radix_sort(keys[a:b], tmp)
    np.testing.assert_array_equal(keys, expected)


def test_signed_rank_keys_of_a_column_are_sorted() -> None:
    """A large column of abnormal returns, zeros and NaN included: signed_rank_column leaves
    in its buffer the column's keys by their definition (the bits of |x|, the sign in the
    lowest bit; zero and NaN unused), sorted."""
    rng = np.random.default_rng(4)
    x = rng.standard_t(4, 200_000) * 0.02
    x[::97] = 0.0
    x[::101] = np.nan
    keys, tmp = np.empty(len(x), dtype=np.int64), np.empty(len(x), dtype=np.int64)
    bounds = np.array([0, len(x)], dtype=np.int64)
    jit.module().signed_rank_column(x[:, None], 0, np.zeros(0, dtype=np.int64), bounds, keys, tmp)
    used = ~np.isnan(x) & (x != 0)
    expected = np.where(used, (np.abs(x).view(np.int64) & ~np.int64(1)) | (x > 0), UNUSED)
    np.testing.assert_array_equal(keys, np.sort(expected))


@pytest.mark.parametrize("length", [40, 271, 300])
def test_rank_sums_equal_stored_ranks_summed_by_group(length: int) -> None:
    """Ranks from keys sorted in two runs (merged on the fly) and summed by group equal the
    NumPy reference: :func:`kernels.row_ranks` then :func:`statistics.corrado_sums`."""
    rng = np.random.default_rng(length)
    n = 500
    values = np.round(rng.normal(0.0, 0.02, (n, length)), 3)  # many ties, across the runs
    values[rng.random((n, length)) < 0.1] = np.nan
    values[:3] = np.nan  # rows with too few values are not measured
    valid = ~np.isnan(values)
    rank2, count = K.row_ranks(values, valid)
    status = np.where(np.arange(n) < 3, 1, 0).astype(np.int8)

    bits = max(1, int(length - 1).bit_length())
    low = np.int64((1 << bits) - 1)
    key = (np.where(valid, values, 0.0) + 0.0).view(np.int64)
    key ^= (key >> 63) & np.int64(0x7FFFFFFFFFFFFFFF)
    key = (key & ~low) | np.arange(length, dtype=np.int64)[None, :]
    # the measure kernel packs a row's keys first, unused slots last
    keys = np.full((n, length), UNUSED, dtype=np.int64)
    for i in range(n):
        k = key[i][valid[i]]
        keys[i, : len(k)] = k
    run = jit.module().SORT_RUN
    keys[:, :run].sort(axis=1)
    keys[:, run:].sort(axis=1)

    groupings = np.stack([np.zeros(n, dtype=np.int64), rng.integers(0, 4, n)])
    offsets = np.array([0, 1], dtype=np.int64)
    sums = np.zeros((5, length))
    counts = np.zeros((5, length), dtype=np.int64)
    rows = np.arange(n, dtype=np.int64)
    jit.module().rank_sums(keys, run, count, status, rows, bits, groupings, offsets, sums, counts)
    measured = rows[status == 0]
    for j, (a, b) in enumerate([(0, 1), (1, 5)]):
        groups = S.Groups(groupings[j][measured], b - a)
        ref_sums, ref_counts = S.corrado_sums(groups, rank2, count, rows=measured)
        np.testing.assert_array_equal(counts[a:b], ref_counts)
        np.testing.assert_allclose(sums[a:b], ref_sums, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 5000), bits=st.sampled_from([1, 5, 23, 62]))
def test_stable_argsort_equals_numpy(seed: int, n: int, bits: int) -> None:
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**bits, n, dtype=np.int64) << rng.integers(0, 63 - bits)
    np.testing.assert_array_equal(
        jit.module().stable_argsort(keys), np.argsort(keys, kind="stable")
    )


def test_compiled_path_equals_numpy_path_on_a_mixed_study(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two markets, two benchmarks in one market, a benchmark measured on itself (constant
    mean), groups: the compiled path (standardized ARs recomputed where they are tested,
    ranks summed while measuring) gives the NumPy path's numbers."""
    us = make_market(n_days=700, n_stocks=8, n_events=40, seed=21, n_groups=3, min_gap=10)
    rng = np.random.default_rng(21)
    cal = get_calendar("XHKG")
    hk_days = cal.sessions[cal.sessions >= pd.Timestamp("2010-01-04")][:700]
    hsi = rng.normal(0.0002, 0.012, len(hk_days))
    hk = {"^HSI": hsi}
    for t in ("0005.HK", "0700.HK", "0388.HK"):
        hk[t] = 0.0001 + rng.uniform(0.6, 1.4) * hsi + rng.normal(0, 0.02, len(hk_days))
    hk_close = prices_from_returns(pd.DataFrame(hk, index=pd.DatetimeIndex(hk_days)))
    close = us.close.assign(QQQ=us.close["SPY"] * np.exp(rng.normal(0, 0.002, len(us.close))))
    close = close.join(hk_close, how="outer")
    events = us.events.assign(benchmark=np.where(np.arange(len(us.events)) % 4 == 0, "QQQ", ""))
    hk_events = pd.DataFrame(
        {
            "event_id": [f"hk{i}" for i in range(12)],
            "ticker": [("0005.HK", "0700.HK", "0388.HK", "^HSI")[i % 4] for i in range(12)],
            "day0": hk_days[rng.integers(300, 680, 12)],
            "grp": [f"g{i % 3:03d}" for i in range(12)],
        }
    )
    spy = pd.DataFrame({"event_id": ["spy"], "ticker": ["SPY"], "day0": [us.close.index[400]],
                        "grp": ["g000"]})  # fmt: skip
    table = pd.concat([events, hk_events, spy], ignore_index=True)
    spec = StudySpec(group_by=("all", "grp"), max_loss=1.0)
    compiled = run_study(table, close, spec)
    monkeypatch.setenv("EVBT_JIT", "0")
    reference = run_study(table, close, spec)
    assert set(compiled.events["model"]) == {"market", "constant_mean"}
    assert len(compiled.data["markets"]) == 2
    for name in ("groups", "paths", "clusters", "events", "windows"):
        got, want = getattr(compiled, name), getattr(reference, name)
        pd.testing.assert_frame_equal(got, want, rtol=1e-9, atol=1e-12, obj=name)
    pd.testing.assert_frame_equal(compiled.ar, reference.ar, rtol=1e-9, atol=1e-12)


def test_status_and_model_codes_are_the_kernels_own() -> None:
    """jit.py (importable without numba) restates the kernels' codes: they must agree."""
    nbk = jit.module()
    assert (jit.STATUS_OK, jit.STATUS_FEW, jit.STATUS_SINGULAR, jit.STATUS_FLAT,
            jit.STATUS_NO_DAY0) == (nbk.STATUS_OK, nbk.STATUS_FEW, nbk.STATUS_SINGULAR,
                                    nbk.STATUS_FLAT, nbk.STATUS_NO_DAY0)  # fmt: skip
    assert jit.MODEL_CODES == {
        "market": nbk.MARKET,
        "market_adjusted": nbk.MARKET_ADJUSTED,
        "constant_mean": nbk.CONSTANT_MEAN,
    }
