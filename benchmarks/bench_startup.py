"""Startup and the main job, as a user meets them: fresh processes, wall and CPU time.

Run on demand (not a test)::

    python benchmarks/bench_startup.py                          # startup only (fast)
    python benchmarks/bench_startup.py --run ../shared/prices   # also the warm main job

Each command runs ``--repeat`` times in a new process (after one unmeasured warm-up for the
main job, so that numba's on-disk cache is filled); the median, minimum and maximum wall time
and the median user CPU time are printed and appended to ``benchmarks/results/startup.jsonl``.
``python -c "import vectorbt"`` is timed in the same run: it is the floor of any process that
backtests (issue 14 gives targets as a ratio to it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(cmd: list[str], repeat: int, cwd: Path) -> dict[str, float]:
    """Median/min/max wall seconds and median user seconds of ``cmd`` in fresh processes."""
    walls, users = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        users.append(after.ru_utime - before.ru_utime)
    return {
        "median": round(statistics.median(walls), 3),
        "min": round(min(walls), 3),
        "max": round(max(walls), 3),
        "user": round(statistics.median(users), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--run", metavar="PRICES_DIR", help="also time evbt run on this folder")
    args = parser.parse_args()
    py = sys.executable
    evbt = str(Path(py).with_name("evbt"))
    work = Path(tempfile.mkdtemp(prefix="evbt-bench-"))
    cases = {
        "python -c pass": [py, "-c", "pass"],
        "import backtest": [py, "-c", "import backtest"],
        "evbt --help": [evbt, "--help"],
        "evbt study --help": [evbt, "study", "--help"],
        "import vectorbt": [py, "-c", "import vectorbt"],
    }
    results: dict[str, dict[str, float]] = {}
    for name, cmd in cases.items():
        results[name] = measure(cmd, args.repeat, work)
        print(f"{name:<28} {results[name]}", flush=True)
    if args.run:
        cmd = [evbt, "run", "--prices-dir", str(Path(args.run).resolve()), "--quiet",
               "--out", str(work / "report")]  # fmt: skip
        subprocess.run(cmd, cwd=work, check=True, stdout=subprocess.DEVNULL)  # warm-up
        name = "evbt run --prices-dir (warm)"
        results[name] = measure(cmd, max(3, args.repeat // 2), work)
        ratio = results[name]["median"] / results["import vectorbt"]["median"]
        print(f"{name:<28} {results[name]}  ({ratio:.1f}x import vectorbt)", flush=True)
    record = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "results": results,
    }
    out = HERE / "results" / "startup.jsonl"
    out.parent.mkdir(exist_ok=True)
    with out.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
