"""The first-run helper process (kernels.start_warm) compiles the kernels a study really calls.

The helper compiles :data:`~backtest.study.kernels.WARM_KERNELS` for the argument types listed
by :func:`~backtest.study.kernels.warm_signatures`; if a study called them with other types
(another dtype or memory layout), the helper's work would be wasted and the study would
compile them again. A fresh process runs real studies and reports the types each of those
kernels was called with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backtest.study import kernels as K

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json
import numpy as np
from backtest.study import StudySpec, run_study
from backtest.study import kernels as K
from tests.study.synth import make_market, prices_from_returns

syn = make_market(n_days=700, n_stocks=30, n_events=60, seed=3)
close = prices_from_returns(syn.returns)
events = syn.events.assign(category=np.where(np.arange(len(syn.events)) % 2, "a", "b"))
for spec in (
    StudySpec(),  # the defaults: market model, exclusion on
    StudySpec(model="constant_mean", exclude_confounded=False,
              group_by=("all", "category", "ticker")),
    StudySpec(model="raw", returns="log", group_by=("all", "ticker")),
):
    run_study(events, close, spec, workers=2)
print(json.dumps({n: sorted(str(s) for s in getattr(K, n).signatures) for n in K.WARM_KERNELS}))
"""


def test_warm_signatures_are_the_ones_studies_call() -> None:
    env = {**os.environ, "EVBT_NO_WARM": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True, timeout=600,
    )  # fmt: skip
    called = json.loads(done.stdout.strip().splitlines()[-1])
    listed = {n: sorted(str(s) for s in sigs) for n, sigs in K.warm_signatures().items()}
    assert set(listed) == set(K.WARM_KERNELS)
    for name in K.WARM_KERNELS:
        assert called[name], f"{name} was not called by the studies"
        assert called[name] == listed[name], name


def test_no_helper_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVBT_NO_WARM", "1")
    monkeypatch.setattr(K, "_warm", None)
    K.start_warm()
    assert K._warm is False
    K.wait_warm()  # nothing to wait for
    assert K._warm is False


def test_the_cache_index_of_every_warm_kernel_is_known() -> None:
    # what start_warm looks at to tell a first run (no index yet) from a warm one
    for name in K.WARM_KERNELS:
        path = K._index_path(getattr(K, name))
        assert path is not None, name
        assert path.endswith(".nbi"), name
