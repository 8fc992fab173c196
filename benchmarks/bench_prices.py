"""Price-layer benchmark: loading a whole price folder (the S&P 500 as yfinance users save it).

Run on demand (not a test)::

    python benchmarks/bench_prices.py                         # ../shared/sp500/prices, 3 runs
    python benchmarks/bench_prices.py --dir DIR --runs 5
    python benchmarks/bench_prices.py --profile               # where the time goes (cProfile)

Each run is a fresh process (cold imports, no exchange calendar built yet) that times, in order:
importing ``backtest.prices``; building the XNYS calendar (exchange_calendars, once per
process: any study pays it too); listing the folder; reading every file
(``CsvDirSource.fetch``); checking and aligning them into a panel (``build_panel``). It reports
wall and CPU seconds of each phase, the medians over the runs, the process's peak memory (max
RSS), and ``python -c "import vectorbt"`` timed in the same conditions as the machine's yardstick
(issue 14 gives whole-process targets as multiples of it). Results are printed and appended to
``benchmarks/results/prices.jsonl``.
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DIR = ROOT.parent.parent / "shared" / "sp500" / "prices"
if not DEFAULT_DIR.is_dir():  # a checkout beside ../shared rather than a worktree
    DEFAULT_DIR = ROOT.parent / "shared" / "sp500" / "prices"
PHASES = ("import", "calendar", "list", "read", "check_align", "total")


def one_run(directory: str) -> dict[str, object]:
    """Run in the child process: time each phase, return the figures."""
    import resource

    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()

    def mark(name: str, t: float, c: float) -> tuple[float, float]:
        now, cnow = time.perf_counter(), time.process_time()
        wall[name], cpu[name] = now - t, cnow - c
        return now, cnow

    t, c = t0, c0
    from backtest.prices import CsvDirSource
    from backtest.prices.panel import build_panel, check_request

    t, c = mark("import", t, c)
    from backtest.markets import get_calendar

    get_calendar("XNYS")
    t, c = mark("calendar", t, c)
    src = CsvDirSource(directory)
    tickers = src.tickers()
    names, first, last = check_request(tickers, None, None)
    t, c = mark("list", t, c)
    result = src.fetch(names, first, last)
    t, c = mark("read", t, c)
    panel = build_panel(names, result, first, last)
    t, c = mark("check_align", t, c)
    wall["total"], cpu["total"] = t - t0, c - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    return {
        "wall": wall,
        "cpu": cpu,
        "tickers": len(panel.tickers),
        "failed": len(panel.failed),
        "sessions": len(panel.dates),
        "rows": int(sum(s.info.rows for s in result.series.values())),
        "bytes": int(sum(p.stat().st_size for p in Path(directory).glob("*.csv"))),
        "peak_rss_mib": round(rss, 1),
    }


def yardstick() -> float:
    """Seconds of ``python -c "import vectorbt"`` (a fresh process)."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import vectorbt"], check=True, capture_output=True)
    return time.perf_counter() - t


def profile(directory: str) -> None:
    import cProfile
    import pstats

    from backtest.markets import get_calendar
    from backtest.prices import CsvDirSource, load_prices

    get_calendar("XNYS")
    src = CsvDirSource(directory)
    tickers = src.tickers()
    prof = cProfile.Profile()
    prof.enable()
    load_prices(tickers, source=src)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default=str(DEFAULT_DIR), help="the price folder")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one load and stop")
    parser.add_argument("--no-yardstick", action="store_true", help="skip `import vectorbt`")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.dir)))
        return
    if args.profile:
        profile(args.dir)
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--dir", args.dir],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    sticks = [] if args.no_yardstick else [yardstick() for _ in range(args.runs)]
    med = {
        kind: {p: statistics.median(r[kind][p] for r in runs) for p in PHASES}  # type: ignore[index]
        for kind in ("wall", "cpu")
    }
    first = runs[0]
    print(
        f"{args.dir}: {first['tickers']} tickers ({first['failed']} failed), "
        f"{first['rows']:,} rows, {first['bytes'] / 1e6:.0f} MB of CSV, "
        f"{first['sessions']} sessions; median of {args.runs} fresh processes"
    )
    print(f"{'phase':<12} {'wall s':>8} {'cpu s':>8}")
    for p in PHASES:
        print(f"{p:<12} {med['wall'][p]:8.3f} {med['cpu'][p]:8.3f}")
    print(f"peak RSS {max(float(r['peak_rss_mib']) for r in runs):.0f} MiB")  # type: ignore[arg-type]
    record: dict[str, object] = {
        "bench": "prices_folder",
        "dir": args.dir,
        "runs": runs,
        "median": med,
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, {platform.python_version()}",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if sticks:
        stick = statistics.median(sticks)
        record["import_vectorbt_s"] = stick
        print(
            f"python -c 'import vectorbt': {stick:.2f} s; the load is "
            f"{med['wall']['total'] / stick:.2f}x it"
        )
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    with open(results / "prices.jsonl", "a") as fh:
        fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
