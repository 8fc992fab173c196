"""Shared fixtures: where the repository and the shared real data are.

The real daily prices and the source documents live beside the checkout in ``../shared`` (CI has
them there too); they are never copied into the project. ``EVBT_SHARED_DIR`` points elsewhere.
Tests that need them are skipped with a reason when they are absent, unless
``EVBT_REQUIRE_SHARED=1`` (set by ``.ci/run``), which turns the skip into a failure.

No test reaches the network: ``no_network`` (autouse, :mod:`netguard`) fails any connection,
name lookup or HTTP request beyond loopback. ``python -m pytest -m "not slow"`` is the quick
local run; CI runs everything, with ``EVBT_HYPOTHESIS_PROFILE=ci`` (derandomized examples).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests import netguard

# CI draws the same examples every run (derandomize: a property test fails on a change, not on
# the day's luck); local runs keep drawing new ones, and hypothesis replays their failures.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("EVBT_HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["EVBT_HYPOTHESIS_PROFILE"])

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("EVBT_SHARED_DIR", REPO_ROOT.parent / "shared"))


def _shared(sub: str) -> Path:
    path = SHARED_DIR / sub
    if not path.is_dir():
        message = f"shared data folder {path} is missing (set EVBT_SHARED_DIR)"
        if os.environ.get("EVBT_REQUIRE_SHARED"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests are slow too: ``-m "not slow"`` leaves them out."""
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any attempt to reach beyond this machine (see :mod:`netguard`)."""
    netguard.install(monkeypatch)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_prices_dir() -> Path:
    """``../shared/prices``: real daily OHLCV CSVs (see its PROVENANCE.md)."""
    return _shared("prices")


@pytest.fixture(scope="session")
def shared_seeds_dir() -> Path:
    """``../shared/seeds``: the source documents the catalog cites."""
    return _shared("seeds")
