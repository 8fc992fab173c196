"""Switch for the compiled event-study kernels (numba), with their model and status codes.

The NumPy kernels of :mod:`backtest.study.kernels` are the reference implementation; the
compiled kernels in :mod:`backtest.study._numba` compute the same numbers for the market,
market-adjusted and constant-mean models in one fused pass per event (each event's window stays
in cache and no temporaries are made), which makes a study of a million events run in seconds.
They are used when numba is importable and ``EVBT_JIT`` is not ``0``; studies with the factor
model always use the NumPy kernels. The tests run both paths against a per-event loop oracle.
"""

from __future__ import annotations

import os
from types import ModuleType

MODEL_CODES = {"market": 0, "market_adjusted": 1, "constant_mean": 2}
STATUS_OK = 0
STATUS_REASONS = {
    2: "the benchmark's (or a factor's) returns do not vary over the estimation window",
    3: "zero residual variance in the estimation window (the returns are constant or track "
    "the benchmark exactly)",
    4: "no return on day 0 (no price on day 0 or on the session before)",
}
STATUS_FEW = 1


def enabled() -> bool:
    """True when the compiled kernels can and may be used (numba importable, EVBT_JIT != 0)."""
    if os.environ.get("EVBT_JIT", "1") == "0":
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def module() -> ModuleType:
    """The compiled kernels (imported, and compiled or loaded from numba's cache, on first use)."""
    from backtest.study import _numba

    return _numba
