"""Compiled kernels against references written here from their definitions, on inputs made
to reach their edge cases (ties across sorted runs, unused keys, short and long segments,
dense events), and invariances of the engine across markets and benchmarks."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from backtest.markets import get_calendar
from backtest.study import StudySpec, run_study
from backtest.study import kernels as K
from tests.study.helpers import loaded
from tests.study.oracle import oracle
from tests.study.synth import make_market, prices_from_returns

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
        K.radix_sort(keys[a:b], tmp)
    np.testing.assert_array_equal(keys, expected)


def test_signed_rank_keys_of_a_column_are_sorted() -> None:
    """A large column of abnormal returns, zeros and NaN included, some rows not
    observations: signed_rank_columns leaves in its buffer the column's keys by their
    definition (the bits of |x|, the sign in the lowest bit; zero, NaN and rows merged away
    unused), sorted."""
    rng = np.random.default_rng(4)
    x = rng.standard_t(4, 200_000) * 0.02
    x[::97] = 0.0
    x[::101] = np.nan
    kept = (rng.random((len(x), 2)) > 0.1).astype(np.uint8)
    keys, tmp = np.empty(len(x), dtype=np.int64), np.empty(len(x), dtype=np.int64)
    bounds = np.array([0, len(x)], dtype=np.int64)
    K.signed_rank_columns(x[:, None], 0, 1, np.zeros(0, dtype=np.int64), bounds, keys[None, :],
                          tmp, kept, np.array([1]))  # fmt: skip
    used = ~np.isnan(x) & (x != 0) & (kept[:, 1] == 1)
    expected = np.where(used, (np.abs(x).view(np.int64) & ~np.int64(1)) | (x > 0), UNUSED)
    np.testing.assert_array_equal(keys, np.sort(expected))


@pytest.mark.parametrize("length", [40, 271, 300])
def test_rank_sums_equal_ranks_summed_by_group_and_pattern(length: int) -> None:
    """Ranks from keys sorted in two runs (merged on the fly) and summed by group and
    observation pattern equal scipy's ranks (ties averaged) of each row, ``rank / (m + 1) -
    1/2``, summed over the rows of the group and pattern (pattern -1: none)."""
    rng = np.random.default_rng(length)
    n = 500
    values = np.round(rng.normal(0.0, 0.02, (n, length)), 3)  # many ties, across the runs
    values[rng.random((n, length)) < 0.1] = np.nan
    valid = ~np.isnan(values)
    count = valid.sum(axis=1)
    bits = max(1, int(length - 1).bit_length())
    low = np.int64((1 << bits) - 1)
    key = (np.where(valid, values, 0.0) + 0.0).view(np.int64)
    key ^= (key >> 63) & np.int64(0x7FFFFFFFFFFFFFFF)
    key = (key & ~low) | np.arange(length, dtype=np.int64)[None, :]
    keys = np.where(valid, key, UNUSED)
    run = K.SORT_RUN
    keys[:, :run].sort(axis=1)
    keys[:, run:].sort(axis=1)

    # two groupings: one group, and four (local rows 1 to 4); observation patterns per row
    local = np.stack([np.zeros(n, dtype=np.int64), 1 + rng.integers(0, 4, n)])
    pattern = np.stack([rng.integers(-1, 3, n), rng.integers(-1, 2, n)]).astype(np.int64)
    sums = np.zeros((5, 3, length))
    counts = np.zeros((5, 3, length), dtype=np.int64)
    K.rank_sums(keys, run, count, bits, local, pattern, sums, counts)
    u = np.full((n, length), np.nan)
    for i in range(n):
        r = stats.rankdata(values[i][valid[i]])
        u[i, valid[i]] = r / (count[i] + 1.0) - 0.5
    for g in range(5):  # grouping 0 owns row 0 of the sums, grouping 1 rows 1 to 4
        j = 0 if g == 0 else 1
        for p in range(3):
            sel = (local[j] == g) & (pattern[j] == p)
            np.testing.assert_array_equal(counts[g, p], valid[sel].sum(axis=0))
            np.testing.assert_allclose(sums[g, p], np.nansum(u[sel], axis=0), rtol=1e-12,
                                       atol=1e-12)  # fmt: skip


@pytest.mark.parametrize("largest", [-5e-324, -1e-321, -0.0, 0.0])
def test_rank_sums_of_a_row_whose_largest_value_is_a_tiny_negative_number(largest: float) -> None:
    """A row whose largest ranked value is a negative denormal: its key's tie part (every
    bit above the column's) is all ones, as -1's is, so -1 cannot end the row's last run of
    ties. The ranks are still 1 .. m, as scipy's, with unused slots after the row's keys."""
    length, bits = 271, 9
    values = np.full(length, np.nan)
    values[[3, 100, 200, 270]] = [-0.03, -0.02, -0.01, largest]
    valid = ~np.isnan(values)
    low = np.int64((1 << bits) - 1)
    key = (np.where(valid, values, 0.0) + 0.0).view(np.int64)
    key ^= (key >> 63) & np.int64(0x7FFFFFFFFFFFFFFF)
    keys = np.where(valid, (key & ~low) | np.arange(length, dtype=np.int64), UNUSED)[None, :]
    keys[:, : K.SORT_RUN].sort(axis=1)
    keys[:, K.SORT_RUN :].sort(axis=1)
    sums = np.zeros((1, 1, length))
    counts = np.zeros((1, 1, length), dtype=np.int64)
    zeros = np.zeros((1, 1), dtype=np.int64)
    K.rank_sums(keys, K.SORT_RUN, np.array([4]), bits, zeros, zeros, sums, counts)
    u = stats.rankdata(values[valid]) / 5.0 - 0.5
    np.testing.assert_array_equal(counts[0, 0], valid.astype(np.int64))
    np.testing.assert_allclose(sums[0, 0, valid], u, rtol=0, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 5000), bits=st.sampled_from([1, 5, 23, 62]))
def test_stable_argsort_equals_numpy(seed: int, n: int, bits: int) -> None:
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**bits, n, dtype=np.int64) << rng.integers(0, 63 - bits)
    np.testing.assert_array_equal(K.stable_argsort(keys), np.argsort(keys, kind="stable"))


def _confounder_pairs(
    skey: np.ndarray, sevents: np.ndarray, squery: np.ndarray, span: tuple[int, int]
) -> list[list[int]]:
    """Per query: the events of the sorted references in its span that are not its own,
    enumerated one by one (in key order, ties in reference order)."""
    pairs: dict[int, list[int]] = {}
    for p in np.flatnonzero(squery >= 0):
        pairs[int(squery[p])] = [
            int(e) for k, e in zip(skey, sevents, strict=True)
            if skey[p] + span[0] <= k <= skey[p] + span[1] and e != sevents[p]
        ]  # fmt: skip
    return [pairs[i] for i in range(len(pairs))]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_ref=st.integers(1, 300),
    share=st.floats(0.0, 1.0),
    span=st.tuples(st.integers(-5, 0), st.integers(0, 5)),
    n_list=st.integers(0, 4),
)
def test_confounder_sweep_equals_every_pair(
    seed: int, n_ref: int, share: float, span: tuple[int, int], n_list: int
) -> None:
    """Counts and listed events of the one-sweep confounder kernel equal the pairs
    enumerated one by one, on dense keys (many events per session), for queries that are
    some of the references in any order."""
    rng = np.random.default_rng(seed)
    ref_key = rng.integers(0, 70, n_ref).astype(np.int64)
    ref_events = rng.integers(0, 30, n_ref).astype(np.int64)
    queries = rng.permutation(n_ref)[: max(1, round(share * n_ref))]
    order = np.argsort(ref_key, kind="stable")
    query = np.full(n_ref, -1, dtype=np.int64)
    query[queries] = np.arange(len(queries))
    skey, sevents, squery = ref_key[order], ref_events[order], query[order]
    n = len(queries)
    counts, listed = K.confounders(skey, sevents, squery, n, span[0], span[1], n_list)
    pairs = _confounder_pairs(skey, sevents, squery, span)
    assert counts.tolist() == [len(p) for p in pairs]
    assert listed.tolist() == [e for p in pairs for e in p[:n_list]]


def test_confounder_sweep_by_hand() -> None:
    """Hand-made: equal keys of several events, a query with no confounder, queries with
    more than are listed, references that are not queries, the last reference a query."""
    skey = np.array([0, 0, 5, 10, 10, 10, 10, 11, 30, 31, 50, 90], dtype=np.int64)
    sevents = np.array([1, 2, 3, 4, 4, 5, 6, 7, 8, 8, 9, 10], dtype=np.int64)
    squery = np.array([0, -1, 1, 2, 3, -1, 4, 5, 6, -1, 7, 8], dtype=np.int64)
    counts, listed = K.confounders(skey, sevents, squery, 9, -1, 2, 2)
    assert counts.tolist() == [1, 0, 3, 3, 4, 4, 0, 0, 0]
    assert listed.tolist() == [2, 5, 6, 5, 6, 4, 4, 4, 4]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 60),
    length=st.integers(0, 6),
    named=st.floats(0.0, 0.5),
)
def test_primaries_are_the_connected_components_of_overlapping_rows(
    seed: int, n: int, length: int, named: float
) -> None:
    """Rows of one group and ticker with day-0 positions at most ``length`` apart are one
    observation (through chains too); its primary is the earliest row another member names,
    else its earliest row (by position, then table order): checked against a union-find over
    every pair."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n).astype(np.int64)
    tick = rng.integers(0, 3, n).astype(np.int64)
    pos = rng.integers(0, 40, n).astype(np.int64)
    target = np.where(rng.random(n) < named, rng.integers(0, n, n), -1).astype(np.int64)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(n), 2):
        if group[i] == group[j] and tick[i] == tick[j] and abs(pos[i] - pos[j]) <= length:
            parent[find(j)] = find(i)
    expected = np.empty(n, dtype=np.int64)
    for root in set(map(find, range(n))):
        members = [i for i in range(n) if find(i) == root]
        names = [target[r] for r in members if target[r] in members and target[r] != r]
        pick = min(names or members, key=lambda i: (pos[i], i))
        expected[members] = pick
    order = np.lexsort((np.arange(n), pos, tick, group)).astype(np.int64)
    where = np.empty(n, dtype=np.int64)
    where[order] = np.arange(n)
    target_q = np.where(target[order] >= 0, where[np.maximum(target[order], 0)], -1)
    primary = np.empty(n, dtype=np.int64)
    K.primaries(group[order], tick[order], pos[order], target_q, length, primary,
                np.empty(n, dtype=np.uint8))  # fmt: skip
    np.testing.assert_array_equal(order[primary[where]], expected)


def _two_markets() -> tuple[pd.DataFrame, pd.DataFrame]:
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
            "benchmark": "",
        }
    )
    spy = pd.DataFrame({"event_id": ["spy"], "ticker": ["SPY"], "day0": [us.close.index[400]],
                        "grp": ["g000"], "benchmark": [""]})  # fmt: skip
    return pd.concat([events, hk_events, spy], ignore_index=True), close


def test_a_mixed_study_measures_each_row_as_its_own_market_and_benchmark_alone() -> None:
    """Two markets, two benchmarks in one market, a benchmark measured on itself (constant
    mean): every row's numbers equal those of a study of its market and benchmark alone (to
    the last bit), and the SPY rows equal the loop oracle."""
    table, close = _two_markets()
    spec = StudySpec(group_by=("all", "grp"), max_loss=1.0)
    mixed = run_study(table, close, spec)
    assert set(mixed.events["model"]) == {"market", "constant_mean"}
    assert len(mixed.data["markets"]) == 2
    key = ["event_id", "ticker"]
    cols = ["alpha", "beta", "sigma", "n_est", "dof", "model"]
    for part in (
        table[table["ticker"].str.endswith(".HK") | (table["ticker"] == "^HSI")],
        table[~table["ticker"].str.contains("HK|HSI") & (table["benchmark"] == "QQQ")],
        table[~table["ticker"].str.contains("HK|HSI") & (table["benchmark"] != "QQQ")],
    ):
        alone = run_study(part, close, spec, context=table)
        got = mixed.events.set_index(key).loc[alone.events.set_index(key).index, cols]
        pd.testing.assert_frame_equal(got, alone.events.set_index(key)[cols], check_exact=True)
        pd.testing.assert_frame_equal(mixed.ar.loc[alone.ar.index], alone.ar, check_exact=True)
    us = table[~table["ticker"].str.contains("HK|HSI") & (table["benchmark"] != "QQQ")]
    us_close = close[["SPY", *sorted(set(us["ticker"]) - {"SPY"})]].dropna(how="all")
    orc = {(o.event_id, o.ticker): o for o in oracle(us_close, us, context=table)}
    ev = mixed.events.set_index(key)
    for k, o in orc.items():
        if o.dropped is None:
            assert ev.loc[k, "alpha"] == pytest.approx(o.alpha, rel=1e-9, abs=1e-12)
            assert mixed.ar.loc[k, 0] == pytest.approx(o.ar[0], rel=1e-9, abs=1e-12)


def test_loaded_prices_are_the_range_a_study_reads() -> None:
    """The helper feeding the engine in the reference tests loads from the session before the
    earliest reach to the latest reach's end."""
    syn = make_market(n_days=600, n_stocks=3, n_events=6, seed=2)
    spec = StudySpec()
    part = loaded(syn.close, syn.events, spec)
    first = syn.close.index.get_loc(syn.events["day0"].min())
    last = syn.close.index.get_loc(syn.events["day0"].max())
    assert part.index[0] == syn.close.index[first - 250 - 1]
    assert part.index[-1] == syn.close.index[last + 20]
