"""Engine tests run on both kernel paths: compiled (numba) and NumPy (the reference)."""

from __future__ import annotations

import pytest

from backtest.study import jit


@pytest.fixture(params=["compiled", "numpy"])
def engine_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the compiled kernels, then with EVBT_JIT=0 (the NumPy kernels)."""
    if request.param == "numpy":
        monkeypatch.setenv("EVBT_JIT", "0")
    elif not jit.enabled():
        pytest.skip("numba is not available")
    return str(request.param)
