"""Runs of the synthetic world (see world.py), shared by the report tests."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from backtest.job import RunResult, load_config, run_job
from tests.reports.world import build


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("toy")
    build(root)
    return root


@pytest.fixture(scope="session")
def toy_result(toy_root: Path) -> RunResult:
    return run_job(load_config(toy_root / "run.toml"))


@pytest.fixture(scope="session")
def plain_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic world without strategies (nothing imports vectorbt)."""
    root = tmp_path_factory.mktemp("plain")
    build(root, strategies=False)
    return root


@pytest.fixture(scope="session")
def plain_result(plain_root: Path) -> RunResult:
    return run_job(load_config(plain_root / "run.toml"))


@pytest.fixture(scope="session")
def plain_pickle(plain_result: RunResult, plain_root: Path) -> Path:
    """:func:`plain_result` pickled, for tests that write reports from other processes."""
    path = plain_root / "result.pickle"
    path.write_bytes(pickle.dumps(plain_result))
    return path
