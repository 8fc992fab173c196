"""Fixtures of the earnings tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import _shared


@pytest.fixture(scope="session")
def shared_sp500_earnings() -> Path:
    """``../shared/sp500/earnings``: 503 calendars saved from get_earnings_dates()."""
    return _shared("sp500/earnings")
