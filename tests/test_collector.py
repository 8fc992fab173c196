"""The pause of Python's cyclic garbage collector around large jobs (backtest.collector)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from backtest.collector import collector_paused
from backtest.study import StudySpec, run_study
from tests.study.synth import make_market


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_restored_after_even_on_error() -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), collector_paused():
        raise KeyError("x")
    assert gc.isenabled()


def test_a_collector_the_caller_had_disabled_stays_disabled() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_blocks_on_two_threads_restore_when_the_last_leaves() -> None:
    gc.enable()
    entered, release = threading.Event(), threading.Event()
    inside_other: list[bool] = []

    def other() -> None:
        with collector_paused():
            entered.set()
            release.wait(10)
            inside_other.append(gc.isenabled())

    with collector_paused():
        t = threading.Thread(target=other)
        t.start()
        assert entered.wait(10)
    # this thread left first: the other is still inside, so the collector stays paused
    assert not gc.isenabled()
    release.set()
    t.join(10)
    assert inside_other == [False]
    assert gc.isenabled()


def test_run_study_pauses_the_collector_while_it_runs_and_restores_it() -> None:
    syn = make_market(n_stocks=8, n_events=40, seed=3)
    seen: list[bool] = []
    gc.enable()
    res = run_study(
        syn.events, syn.close, StudySpec(), progress=lambda done, total: seen.append(gc.isenabled())
    )
    assert seen
    assert not any(seen)
    assert gc.isenabled()
    assert len(res.events) == 40
