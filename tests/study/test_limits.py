"""Bounded resources (issue 11): limits refused before computing, and confounding counted in
memory that grows with the events, not with their pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.study import SpecError, StudySpec, run_study
from tests.study.synth import make_market


def test_far_offsets_and_too_many_windows_are_refused_with_the_limit_and_the_size() -> None:
    with pytest.raises(SpecError) as info:
        StudySpec(path=(-100_000, 100_000))
    assert str(info.value) == (
        "path (-100000, 100000) reaches 100000 sessions from day 0, more than the limit of 1000 "
        "(max_offset); use a shorter window or raise max_offset"
    )
    with pytest.raises(SpecError, match=r"windows\[1\] \(0, 1500\) reaches 1500 sessions"):
        StudySpec(windows=((0, 0), (0, 1500)))
    with pytest.raises(SpecError, match=r"estimation \(-2520, -11\) reaches 2520 sessions"):
        StudySpec(estimation=(-2520, -11))
    with pytest.raises(SpecError) as info:
        StudySpec(windows=tuple((0, k) for k in range(10_000)))
    assert str(info.value) == (
        "10000 event windows asked for, more than the limit of 50 (max_windows); give fewer "
        "windows or raise max_windows"
    )
    # the limits are settings: raised, the spec is accepted
    assert StudySpec(estimation=(-2520, -11), max_offset=3000).estimation == (-2520, -11)
    assert len(StudySpec(windows=tuple((0, k) for k in range(60)), max_windows=60).windows) == 60
    with pytest.raises(SpecError, match="max_listed must be"):
        StudySpec(max_listed=-1)


def test_every_field_has_its_help() -> None:
    """The one declaration the command line and the run configuration are built from."""
    import dataclasses

    for f in dataclasses.fields(StudySpec):
        assert f.metadata.get("help"), f.name


def test_dense_events_count_every_confounder_and_list_the_first() -> None:
    """Thousands of events on a few tickers, many on each session: each row's confounder count
    is the number of other events of its ticker with day 0 in its window span (counted here
    by brute force), and ``result.confounders`` lists at most ``max_listed`` of them, the
    earliest."""
    syn = make_market(n_days=400, n_stocks=3, n_events=1, seed=51)
    rng = np.random.default_rng(51)
    n = 3000
    idx = syn.close.index
    pos = rng.integers(260, 380, n)
    events = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "ticker": rng.choice(["S0000", "S0001", "S0002"], n),
            "day0": idx[pos],
        }
    )
    spec = StudySpec(group_by=("all",), exclude_confounded=False, max_listed=3, max_loss=1.0)
    res = run_study(events, syn.close, spec)
    ev = res.events.set_index("event_id")
    tick = events["ticker"].to_numpy()
    span = spec.span
    for i in rng.choice(n, 60, replace=False):
        same = (tick == tick[i]) & (pos >= pos[i] + span[0]) & (pos <= pos[i] + span[1])
        same[i] = False
        assert ev.loc[f"e{i}", "n_confounders"] == same.sum()
        listed = res.confounded_by(f"e{i}", tick[i])
        assert len(listed) == min(3, same.sum())
        order = np.lexsort((np.arange(n), pos))  # by day 0, ties in table order
        first = [f"e{j}" for j in order if same[j]][:3]
        assert listed == sorted(first)
    assert len(res.confounders) <= 3 * n
    # every row of one ticker's session is one observation of the day's AAR
    aar = res.group_table("all", "AAR").set_index("day").loc[0]
    assert aar["n"] == len(set(zip(tick, pos, strict=True)))
