"""Compile the simulation's numba code ahead, in another process, on a first run.

The first process after installing compiles every numba function a simulation calls (the
cached copy of vectorbt's ``simulate_from_signals_nb`` and vectorbt's own accounting
functions) and writes them to numba's on-disk cache: tens of seconds, while the event study
compiles its own kernels. Compilation holds one lock per process, so the two are done one after
the other in one process. :func:`start` runs :func:`warm_up` in a child process instead, while
the parent goes on (catalog, prices, the study); the parent waits for it (:meth:`WarmUp.wait`)
before its first simulation, which then loads the compiled code from the cache. On a machine
with two cores, the two compilations overlap.

Once a warm-up has succeeded for a set of versions and a numba cache folder, a marker file says
so (:func:`is_warm`) and no child is started again: warm runs pay nothing. A child that fails or
is slow only costs the parent its own compilation, never a result (it simulates a made-up case
and writes only numba's cache and the marker).

Run by hand: ``python -m backtest.portfolio.warm``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path


def warm_up() -> None:
    """Simulate a tiny made-up case through :func:`~backtest.portfolio.simulate.simulate`
    (long and short legs, with and without stops, open and close fills), so that every numba
    function a simulation calls is compiled for the argument types the real runs use and
    written to numba's cache."""
    import numpy as np
    import pandas as pd

    from backtest.portfolio.simulate import simulate

    index = pd.bdate_range("2024-01-01", periods=12)
    a = np.linspace(100.0, 111.0, 12)
    b = np.linspace(50.0, 44.5, 12)
    open_ = pd.DataFrame({"AAA": a, "BBB": b}, index=index)
    close = open_ + 0.5
    high, low = np.maximum(open_, close) + 1, np.minimum(open_, close) - 1
    base = {"size": 1_000.0, "fees": 0.001, "slippage": 0.001, "group": "g"}
    legs = pd.DataFrame(
        [
            {**base, "underlying": "AAA", "direction": 1, "fill": "open",
             "entry_date": index[1], "exit_date": index[5], "stop_loss": np.nan,
             "take_profit": np.nan},
            {**base, "underlying": "BBB", "direction": -1, "fill": "close",
             "entry_date": index[2], "exit_date": index[9], "stop_loss": 0.05,
             "take_profit": 0.2},
            {**base, "underlying": "AAA", "direction": 1, "fill": "open", "group": "h",
             "entry_date": index[3], "exit_date": index[8], "stop_loss": 0.1,
             "take_profit": np.nan},
        ]
    )  # fmt: skip
    simulate(legs, open_=open_, high=high, low=low, close=close, index=index, init_cash=1e5)


def _versions() -> str:
    names = ("evbt", "numba", "vectorbt", "numpy", "llvmlite")
    found = []
    for name in names:
        try:
            found.append(f"{name}={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name}=?")
    return ";".join(found)


def marker(cache_root: Path, numba_cache_dir: str) -> Path:
    """The file that says a warm-up succeeded for these versions, this Python, this machine
    and this numba cache folder (``numba_cache_dir``, ``""`` for numba's default places)."""
    key = "|".join(
        [_versions(), sys.version, platform.machine(), platform.node(), numba_cache_dir,
         str(Path(__file__).resolve())]
    )  # fmt: skip
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return cache_root / "compiled" / f"simulation-{digest}.ok"


def is_warm(path: Path) -> bool:
    """Whether the marker ``path`` exists."""
    return path.is_file()


class WarmUp:
    """A warm-up running in a child process (see :func:`start`)."""

    def __init__(self, process: subprocess.Popen[bytes] | None) -> None:
        self.process = process

    def wait(self, timeout: float = 300.0) -> bool:
        """Wait for the child (at most ``timeout`` s); whether it succeeded. A child still
        running then is stopped: the caller compiles for itself."""
        if self.process is None:
            return True
        try:
            return self.process.wait(timeout=timeout) == 0
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return False
        finally:
            self.process = None


def _lower_priority() -> None:
    os.nice(NICE)


#: How much lower the child's scheduling priority is than the parent's (``nice``).
NICE = 5


def start(mark: Path) -> WarmUp:
    """Start :func:`warm_up` in a child process unless ``mark`` says it is done; the child
    writes ``mark`` when it succeeds. The child inherits the environment (``NUMBA_CACHE_DIR``
    included), so it fills the cache the parent reads."""
    if is_warm(mark):
        return WarmUp(None)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "backtest.portfolio.warm", str(mark)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # below the parent's priority: on a busy machine it takes only idle time
            preexec_fn=_lower_priority if hasattr(os, "nice") else None,
        )
    except OSError:  # no child possible: the parent compiles as before
        return WarmUp(None)
    return WarmUp(process)


def main(argv: list[str] | None = None) -> int:
    """``python -m backtest.portfolio.warm [MARKER]``: warm up, then write the marker."""
    args = sys.argv[1:] if argv is None else argv
    warm_up()
    if args:
        path = Path(args[0])
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text("ok\n", encoding="utf-8")
        tmp.replace(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
