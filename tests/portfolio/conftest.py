"""Fixtures of the portfolio tests: the shared S&P 500 data (see ../shared/sp500/PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import _shared


@pytest.fixture(scope="session")
def sp500_dir() -> Path:
    """``../shared/sp500``: S&P 500 prices as ``Ticker.history()`` saves them, and earnings."""
    return _shared("sp500")
