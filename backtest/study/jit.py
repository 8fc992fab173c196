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
#: The compiled measurement's status of a row (the values of ``_numba.STATUS_*``).
STATUS_OK, STATUS_FEW, STATUS_SINGULAR, STATUS_FLAT, STATUS_NO_DAY0 = 0, 1, 2, 3, 4
#: Why a row is not measured, as (stage, reason), by status; both kernel paths report these.
STATUS_DROPS = {
    STATUS_SINGULAR: (
        "estimation",
        "the benchmark's (or a factor's) returns do not vary over the estimation window",
    ),
    STATUS_FLAT: (
        "estimation",
        "zero residual variance in the estimation window (the returns are constant or track "
        "the benchmark exactly)",
    ),
    STATUS_NO_DAY0: (
        "event window",
        "no return on day 0 (no price on day 0 or on the session before)",
    ),
}


def too_few(nobs: int, required: int) -> tuple[str, str]:
    """The (stage, reason) of a row with fewer valid estimation-window returns than required
    (status ``STATUS_FEW``)."""
    return "estimation", f"only {nobs} valid estimation-window returns, {required} required"


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
