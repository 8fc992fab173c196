"""Report-writing benchmark: ``write_report`` of the main job's result, alone.

Run on demand (not a test)::

    python benchmarks/bench_report.py                    # 3 writes, the shipped catalog
    python benchmarks/bench_report.py --repeat 5 --profile 25
    python benchmarks/bench_report.py --config sp500.toml --prices-dir ../shared/sp500/prices \
        --cache /tmp/evbt-bench-sp500.pickle --repeat 3   # the S&P 500 earnings run

The main job (``evbt run`` on the shipped catalog and strategies with the price files of
``--prices-dir``, default ``../shared/prices`` beside the repository) runs once; its result is
pickled to ``--cache`` so that later runs skip it. Each write then goes to a fresh temporary
folder; the figures are wall and CPU seconds (user + system, of this process and of any
children) per write, the size of ``index.html`` and of the whole folder. ``--profile N``
prints the N most expensive functions of one more write (cProfile, cumulative time). Results
are printed and appended to ``benchmarks/results/report.jsonl``.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import os
import pickle
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def main_job(prices_dir: Path, cache: Path, config: Path | None = None) -> Any:
    """The main job's RunResult (from ``cache`` when it is there); ``config``: a run
    configuration instead of the shipped catalog and strategies."""
    if cache.is_file():
        with cache.open("rb") as f:
            return pickle.load(f)
    from backtest.job import load_config, run_job
    from backtest.prices import open_source

    result = run_job(
        load_config(config, base=ROOT), source=open_source(prices_dir=prices_dir), progress=False
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("wb") as f:
        pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
    return result


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def one_write(result: Any, parent: Path) -> tuple[float, float, Path]:
    from backtest.reports import write_report

    out = parent / f"r{time.monotonic_ns()}"
    cpu0, wall0 = _cpu(), time.perf_counter()
    write_report(result, out)
    return time.perf_counter() - wall0, _cpu() - cpu0, out


def _cpu() -> float:
    """CPU seconds of this process and of its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prices-dir", type=Path, default=ROOT.parent.parent / "shared" / "prices")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "evbt-bench-report.pickle"
    )
    parser.add_argument(
        "--config", type=Path, default=None,
        help="run configuration (TOML) instead of the shipped catalog and strategies",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()

    result = main_job(args.prices_dir.resolve(), args.cache, args.config)
    for module in ("backtest.reports.html", "backtest.reports.write"):
        importlib.import_module(module)  # importing is not writing: not timed

    parent = Path(tempfile.mkdtemp(prefix="evbt-bench-report-"))
    try:
        _, _, warm = one_write(result, parent)  # first write: templates, plotly.js read once
        walls, cpus = [], []
        for _ in range(args.repeat):
            wall, cpu, out = one_write(result, parent)
            walls.append(wall)
            cpus.append(cpu)
        page = (out / "index.html").stat().st_size
        total = folder_size(out)
        files = sum(1 for p in out.rglob("*") if p.is_file())
        record = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.system()}",
            "python": platform.python_version(),
            "repeat": args.repeat,
            "wall_median_s": round(statistics.median(walls), 3),
            "cpu_median_s": round(statistics.median(cpus), 3),
            "wall_all_s": [round(w, 3) for w in walls],
            "index_html_bytes": page,
            "folder_bytes": total,
            "ticker_pages_bytes": folder_size(out / "tickers") if (out / "tickers").is_dir() else 0,
            "files": files,
        }
        print(json.dumps(record, indent=2))
        results = HERE / "results"
        results.mkdir(exist_ok=True)
        with (results / "report.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            one_write(result, parent)
            prof.disable()
            text = io.StringIO()
            pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(args.profile)
            print(text.getvalue())
        del warm
    finally:
        shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    main()
