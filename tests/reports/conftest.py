"""A run of the synthetic world (see world.py), shared by the report tests."""

from __future__ import annotations

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
