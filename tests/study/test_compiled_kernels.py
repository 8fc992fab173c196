"""Compiled kernels against their NumPy references, on inputs made to reach their edge cases
(unused keys, short and long segments)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.study import jit

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
    for a, b in itertools.pairwise(bounds):
        expected[a:b].sort()
    jit.module().sort_segments(keys, bounds)
    np.testing.assert_array_equal(keys, expected)


def test_radix_sort_of_abnormal_return_keys() -> None:
    """A million-sized column of signed-rank keys, zeros and NaN included (unused keys)."""
    rng = np.random.default_rng(4)
    x = rng.standard_t(4, 200_000) * 0.02
    x[::97] = 0.0
    x[::101] = np.nan
    keys = np.empty(len(x), dtype=np.int64)
    nbk = jit.module()
    nbk.signed_rank_keys(x, keys)
    expected = np.sort(keys)
    nbk.sort_segments(keys, np.array([0, len(keys)], dtype=np.int64))
    np.testing.assert_array_equal(keys, expected)
