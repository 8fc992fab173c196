"""S&P 500 earnings study benchmark: the whole ``evbt study`` process (issue 14, target 2).

Run on demand (not a test)::

    python benchmarks/bench_sp500_study.py                     # 3 rounds
    python benchmarks/bench_sp500_study.py --runs 5
    python benchmarks/bench_sp500_study.py --compare /tmp/old  # alternate with another tree
    python benchmarks/bench_sp500_study.py --profile           # py-spy/cProfile hints

The events are imported once into ``benchmarks/results/sp500_earnings.csv`` (not tracked)::

    evbt events import earnings --from ../shared/sp500/earnings --since 2019-06-01 \\
        --until 2025-06-30 --out benchmarks/results/sp500_earnings.csv

and each round then times, as fresh processes and one after the other (never in parallel):
``python -c "import vectorbt"`` (the yardstick of issue 14) and::

    evbt study --catalog benchmarks/results/sp500_earnings.csv \\
        --prices-dir ../shared/sp500/prices --benchmark SPY

with the default options (confounder exclusion on), standard output discarded. Wall time,
user and system CPU and the child's peak resident memory come from ``os.wait4``. With
``--compare DIR`` every round also runs the same command from the source tree ``DIR`` (e.g.
``git archive <commit> backtest | tar -x -C DIR``; it is put first on ``PYTHONPATH`` and is the
child's working directory, and the child checks that it imports ``backtest`` from there: from
the checkout, ``python -c`` would otherwise import the checkout's own package first), the
order of the two alternating between rounds, so that both see the same load. Each round
appends a JSON line to ``benchmarks/results/sp500_study.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "sp500"
RESULTS = HERE / "results"
CATALOG = RESULTS / "sp500_earnings.csv"
#: The ``evbt`` command, from the tree named by ``EVBT_BENCH_TREE`` (checked).
LAUNCH = (
    "import os, sys, backtest; tree = os.environ['EVBT_BENCH_TREE']; "
    "assert backtest.__file__.startswith(tree + os.sep), (backtest.__file__, tree); "
    "from backtest.cli import main; sys.argv[0] = 'evbt'; main()"
)


def timed(
    cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> dict[str, float]:
    """Run ``cmd`` with its output discarded; wall, user, system seconds and peak RSS (MB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return {
        "wall": round(wall, 3),
        "user": round(usage.ru_utime, 3),
        "sys": round(usage.ru_stime, 3),
        "rss_mb": round(usage.ru_maxrss / 1024),
    }


def study_cmd(catalog: Path, prices: Path) -> list[str]:
    return [
        sys.executable, "-c", LAUNCH, "study", "--catalog", str(catalog),
        "--prices-dir", str(prices), "--benchmark", "SPY", "--quiet",
    ]  # fmt: skip


def ensure_catalog(earnings: Path) -> Path:
    if not CATALOG.exists():
        RESULTS.mkdir(exist_ok=True)
        cmd = [
            sys.executable, "-c", LAUNCH, "events", "import", "earnings", "--from",
            str(earnings), "--since", "2019-06-01", "--until", "2025-06-30", "--out", str(CATALOG),
        ]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=str(ROOT), EVBT_BENCH_TREE=str(ROOT))
        subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
    return CATALOG


def load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover
        return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prices", type=Path, default=SHARED / "prices")
    ap.add_argument("--earnings", type=Path, default=SHARED / "earnings")
    ap.add_argument("--compare", type=Path, default=None, help="another source tree, alternated")
    args = ap.parse_args()
    catalog = ensure_catalog(args.earnings)
    cmd = study_cmd(catalog.resolve(), args.prices.resolve())
    roots = [("after", ROOT)] + ([("before", args.compare.resolve())] if args.compare else [])
    trees = [
        (name, dict(os.environ, PYTHONPATH=str(root), EVBT_BENCH_TREE=str(root)), root)
        for name, root in roots
    ]
    # one unmeasured warm-up each (page cache, numba's on-disk cache of each tree)
    for _, env, root in trees:
        timed(cmd, env, root)
    rows: list[dict[str, Any]] = []
    for r in range(args.runs):
        row: dict[str, Any] = {"round": r, "load": load_average()}
        row["import_vectorbt"] = timed([sys.executable, "-c", "import vectorbt"])
        for name, env, root in trees if r % 2 == 0 else trees[::-1]:
            row[name] = timed(cmd, env, root)
            row[name]["ratio"] = round(row[name]["wall"] / row["import_vectorbt"]["wall"], 2)
        rows.append(row)
        print(json.dumps(row))
        with open(RESULTS / "sp500_study.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row | {"python": platform.python_version()}) + "\n")
    med = statistics.median
    vbt = med(r["import_vectorbt"]["wall"] for r in rows)
    print(f"import vectorbt: median {vbt:.2f} s")
    for name, _, _ in trees:
        wall = med(r[name]["wall"] for r in rows)
        ratio = med(r[name]["ratio"] for r in rows)
        user = med(r[name]["user"] for r in rows)
        rss = med(r[name]["rss_mb"] for r in rows)
        walls = ", ".join(str(r[name]["wall"]) for r in rows)
        print(
            f"{name}: evbt study median {wall:.2f} s wall ({walls}), user {user:.2f} s, "
            f"peak RSS {rss:,} MB, {ratio:.2f}x import vectorbt (median of ratios)"
        )


if __name__ == "__main__":
    main()
