"""Catalog benchmark: ``evbt events validate`` of a generated 50,000-entry YAML catalog.

Run on demand (not a test)::

    python benchmarks/bench_catalog.py                    # 50k entries, 3 runs
    python benchmarks/bench_catalog.py --entries 5000 --runs 1
    python benchmarks/bench_catalog.py --profile          # cProfile of one in-process load

Each run is a separate ``evbt events validate FILE`` process timed from outside (wall and user
CPU time, peak resident memory from ``getrusage`` of the child), so the figure is what a user
waits for, interpreter start and imports included. The catalog is written once per size into
``benchmarks/results/`` (not tracked) and reused; every run appends a JSON line to
``benchmarks/results/catalog.jsonl``.

The generated entries look like the shipped catalog's: one to three tickers (New York, with a
Hong Kong ticker in one entry in ten), dates from 1995 to 2025, a timing in four entries of
five and an exact time with its timezone in the others, a source with a paraphrase, tags, and
a claim in one entry in four; one entry in twenty carries attributes. Every entry is valid, so
the run measures the whole path (parse, validate, day 0 of every ticker) and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

US = ["META", "MSFT", "GOOGL", "AMZN", "AAPL", "NVDA", "TSLA", "SPY", "QQQ", "BRK-B", "ON"]
HK = ["0700.HK", "9988.HK", "1024.HK", "3690.HK"]
TIMINGS = ["before_open", "during", "after_close", "unknown"]
CATEGORIES = ["earnings", "layoff", "model_launch", "product_launch", "partnership", "policy"]


def entry(i: int, rng: random.Random) -> str:
    """One catalog entry as YAML text (block style, as people write catalogs)."""
    n = rng.choice([1, 1, 1, 2, 3])
    pool = US + HK if i % 10 == 0 else US
    tickers = rng.sample(pool, n)
    year = rng.randint(1995, 2025)
    date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    lines = [
        f"  - id: ev-{i:06d}",
        f"    title: Generated event {i}",
        "    description: >-",
        f"      A generated moment number {i}, written out the way catalog",
        "      descriptions are: a sentence or two of plain English.",
        f"    category: {rng.choice(CATEGORIES)}",
        f"    scope: {'market' if i % 50 == 0 else 'company'}",
        f"    date: {date}",
    ]
    if i % 5:
        lines.append(f"    timing: {rng.choice(TIMINGS)}")
    else:
        lines.append(f'    time: "{rng.randint(0, 23):02d}:{rng.choice([0, 15, 30, 45]):02d}"')
        lines.append(f"    timezone: {rng.choice(['America/New_York', 'Asia/Hong_Kong', 'UTC'])}")
    lines.append(f"    tickers: [{', '.join(tickers)}]")
    lines += [
        "    sources:",
        f"      - document: doc_{i % 97:03d}.txt",
        f"        says: The source says something specific about event {i}.",
        f"    tags: [gen, batch-{i % 7}]",
    ]
    if i % 4 == 0:
        lines += [
            "    claims:",
            f"      - ticker: {tickers[0]}",
            "        measure: close_to_close",
            f"        value: {rng.uniform(-0.2, 0.2):.4f}",
            f"        source: doc_{i % 97:03d}.txt",
            "        says: It moved.",
        ]
    if i % 20 == 0:
        lines += [
            "    attributes:",
            f"      surprise_pct: {rng.uniform(-30, 30):.2f}",
            f"      sector: {rng.choice(['Technology', 'Retail', 'Energy'])}",
        ]
    return "\n".join(lines) + "\n"


def write_catalog(path: Path, n: int, *, attributes: bool = True, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("events:\n")
        for i in range(n):
            text = entry(i, rng)
            if not attributes:
                text = text.split("    attributes:\n")[0]
            fh.write(text)


def run_once(path: Path, code: Path = ROOT) -> dict[str, Any]:
    """One ``evbt events validate`` process: wall, user+sys CPU seconds, peak RSS (MB).

    ``code`` is the evbt tree whose ``backtest`` package runs (an export of an older commit,
    for a before/after comparison in the same conditions).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from backtest.cli import main; main()",
            "events",
            "validate",
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=code,
        env={**os.environ, "PYTHONPATH": str(code)},
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"validate failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n"
                         f"{proc.stderr[-2000:]}")  # fmt: skip
    return {
        "wall_s": round(wall, 3),
        "user_s": round(after.ru_utime - before.ru_utime, 3),
        "sys_s": round(after.ru_stime - before.ru_stime, 3),
        "max_rss_mb": round(after.ru_maxrss / 1024, 1),
        "stdout": proc.stdout.strip().splitlines()[-1],
    }


def profile(path: Path) -> None:
    import cProfile
    import pstats

    from backtest.catalog import load_catalog

    prof = cProfile.Profile()
    prof.enable()
    cat = load_catalog([path])
    cat.to_frame()
    prof.disable()
    print(f"{len(cat)} events, {len(cat.problems)} problems")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--no-attributes",
        action="store_true",
        help="entries without attributes (a catalog the pre-attribute code reads)",
    )
    ap.add_argument("--profile", action="store_true", help="cProfile one in-process load")
    ap.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="run the backtest package of this tree (e.g. `git archive OLD backtest | tar -x "
        "-C DIR`) instead of this checkout's",
    )
    args = ap.parse_args()

    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    suffix = "-noattr" if args.no_attributes else ""
    path = results_dir / f"catalog-{args.entries}{suffix}.yaml"
    if not path.exists():
        write_catalog(path, args.entries, attributes=not args.no_attributes)
    size_mb = path.stat().st_size / 1e6
    print(f"{path.name}: {args.entries:,} entries, {size_mb:.1f} MB")
    if args.profile:
        profile(path)
        return
    runs = [run_once(path.resolve(), args.code.resolve()) for _ in range(args.runs)]
    for r in runs:
        print(f"  wall {r['wall_s']:7.2f} s  user {r['user_s']:7.2f} s  "
              f"peak RSS {r['max_rss_mb']:7.1f} MB  ({r['stdout']})")  # fmt: skip
    med = statistics.median(r["wall_s"] for r in runs)
    print(f"median wall {med:.2f} s over {len(runs)} run(s)")
    record = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "entries": args.entries,
        "attributes": not args.no_attributes,
        "code": str(args.code),
        "runs": runs,
        "median_wall_s": med,
    }
    with open(results_dir / "catalog.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
