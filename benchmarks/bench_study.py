"""Event-study engine benchmark: a synthetic universe of 3,000 tickers x 10 years.

Run on demand (not a test)::

    python benchmarks/bench_study.py                      # 10k, 100k and 1M events
    python benchmarks/bench_study.py --events 1000000     # one size
    python benchmarks/bench_study.py --runs 3 --compare /tmp/old   # medians, alternated

``--compare DIR`` runs the same sizes from another source tree as well (``DIR`` holding
``backtest/`` and ``benchmarks/``, e.g. ``git archive <commit> backtest benchmarks | tar -x
-C DIR``), the two alternating run by run so that both see the same load on a shared machine.

Each size runs in its own process so that the peak memory (max RSS) of each is measured
alone; sizes up to 100k are run again in the same process (``--again N`` times, the median
in ``again_seconds``: the study without the process's one-time costs, numba's initialization
and the loading of the cached kernels, and with memory the process has touched before), and
larger sizes too when ``N > 1``. The market model is fitted with every test
(cross-sectional t, Patell, BMP, Kolari-Pynnönen, sign, generalized sign, Corrado rank,
Wilcoxon) for the AAR of every day of the [-20, +20] path and the CAAR of the four default
windows, grouped over all events.
Results are printed and appended to ``benchmarks/results/study.jsonl``.
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
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def universe(n_tickers: int, n_days: int, seed: int = 0) -> pd.DataFrame:
    """Prices of ``n_tickers`` stocks and SPY on ``n_days`` real XNYS sessions."""
    from backtest.markets import get_calendar

    rng = np.random.default_rng(seed)
    cal = get_calendar("XNYS")
    idx = cal.sessions[cal.sessions >= pd.Timestamp("2014-01-02")][:n_days]
    rm = rng.normal(0.0003, 0.01, n_days)
    beta = rng.uniform(0.5, 1.5, n_tickers)
    r = 0.0002 + rm[:, None] * beta[None, :] + rng.normal(0, 0.02, (n_days, n_tickers))
    r[0] = 0.0
    prices = 100.0 * np.cumprod(1.0 + r, axis=0)
    spy = 100.0 * np.cumprod(1.0 + np.r_[0.0, rm[1:]])
    cols = [f"T{i:04d}" for i in range(n_tickers)]
    frame = pd.DataFrame(prices, index=idx, columns=cols)
    frame["SPY"] = spy
    return frame


def events(close: pd.DataFrame, n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tickers = close.columns[:-1].to_numpy()
    pos = rng.integers(260, len(close) - 30, n)
    return pd.DataFrame(
        {
            "event_id": np.char.add("e", np.arange(n).astype(str)),
            "ticker": tickers[rng.integers(0, len(tickers), n)],
            "day0": close.index[pos],
        }
    )


def timed_study(ev: pd.DataFrame, close: pd.DataFrame, spec: Any) -> tuple[Any, dict[str, object]]:
    """Run the study; its result and what was measured (rows, wall and CPU seconds of
    ``run_study``, stage timings, peak RSS of the process)."""
    from backtest.study import run_study

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t1 = time.perf_counter()
    res = run_study(ev, close, spec)
    wall = time.perf_counter() - t1
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    return res, {
        "measured": len(res.events),
        "dropped": len(res.dropped),
        "seconds": round(wall, 3),
        "user_cpu_seconds": round(cpu1.ru_utime - cpu0.ru_utime, 3),
        "system_cpu_seconds": round(cpu1.ru_stime - cpu0.ru_stime, 3),
        "timings": {k: round(v, 3) for k, v in res.data["timings"].items()},
        "peak_rss_mb": round(cpu1.ru_maxrss / 1024),
    }


def one(
    n_events: int, n_tickers: int, n_days: int, exclude: bool, again: int = 1
) -> dict[str, object]:
    from backtest.study import StudySpec

    t0 = time.perf_counter()
    close = universe(n_tickers, n_days)
    ev = events(close, n_events)
    setup = time.perf_counter() - t0
    spec = StudySpec(group_by=("all",), exclude_confounded=exclude, max_loss=1.0)
    _, measured = timed_study(ev, close, spec)
    repeats: dict[str, object] = {}
    if n_events <= 100_000 or again > 1:  # the same study again: one-time costs paid
        runs = [timed_study(ev, close, spec)[1] for _ in range(max(1, again))]
        seconds = [cast(float, r["seconds"]) for r in runs]
        middle = runs[seconds.index(statistics.median_low(seconds))]
        repeats = {"again_seconds": middle["seconds"], "again_timings": middle["timings"],
                   "again_system_cpu_seconds": middle["system_cpu_seconds"],
                   "again_all": seconds}  # fmt: skip
    return {
        "events": n_events,
        "tickers": n_tickers,
        "days": n_days,
        "exclude_confounded": exclude,
        **measured,
        **repeats,
        "setup_seconds": round(setup, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--tickers", type=int, default=3000)
    ap.add_argument("--days", type=int, default=2520, help="10 years of sessions")
    ap.add_argument("--exclude-confounded", action="store_true",
                    help="keep other events' windows out of estimation windows (the default of "
                    "the tool; with 1M events in 3,000 x 10 years nearly every day is in some "
                    "event's window, so it is off here by default)")  # fmt: skip
    ap.add_argument("--runs", type=int, default=1, help="runs of each size (medians printed)")
    ap.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="another source tree (with backtest/ and benchmarks/), alternated",
    )
    ap.add_argument("--again", type=int, default=1,
                    help="studies of up to 100k events run again in the same process this many "
                    "times (the median reported); larger ones too when N > 1")  # fmt: skip
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        out = one(args.events[0], args.tickers, args.days, args.exclude_confounded, args.again)
        print(json.dumps(out))
        return
    machine = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    trees = [("this", Path(__file__))]
    if args.compare is not None:
        trees.append(("compare", args.compare.resolve() / "benchmarks" / "bench_study.py"))
    for n in args.events:
        recs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in trees}
        for r in range(args.runs):
            for name, script in trees if r % 2 == 0 else trees[::-1]:
                cmd = [sys.executable, str(script), "--child", "--events", str(n), "--tickers",
                       str(args.tickers), "--days", str(args.days)]  # fmt: skip
                if args.again != 1 and "--again" in script.read_text(encoding="utf-8"):
                    cmd += ["--again", str(args.again)]  # (an older tree runs it once)
                if args.exclude_confounded:
                    cmd.append("--exclude-confounded")
                done = subprocess.run(cmd, capture_output=True, text=True, check=True)
                rec = json.loads(done.stdout.strip().splitlines()[-1])
                rec |= {"machine": machine, "tree": name, "script": str(script)}
                recs[name].append(rec)
                t = rec["timings"]
                print(
                    f"{name:>8} {n:>9,} events: {rec['seconds']:6.2f} s (align {t['align']:.2f}, "
                    f"measure {t['measure']:.2f} [fit {t['fit']:.2f} thread-s], "
                    f"tests {t['tests']:.2f}), user CPU {rec['user_cpu_seconds']:.2f} s, "
                    f"system {rec['system_cpu_seconds']:.2f} s, "
                    f"peak RSS {rec['peak_rss_mb']:,} MB, measured {rec['measured']:,}"
                    + (
                        f"; again in the process {rec['again_seconds']:.2f} s "
                        f"(system {rec.get('again_system_cpu_seconds', float('nan')):.2f} s)"
                        if "again_seconds" in rec
                        else ""
                    )
                )
                with open(results_dir / "study.jsonl", "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rec) + "\n")
        if args.runs > 1:
            for name, rs in recs.items():
                med = {
                    k: statistics.median(float(x[k]) for x in rs)
                    for k in (
                        "seconds",
                        "user_cpu_seconds",
                        "system_cpu_seconds",
                        "peak_rss_mb",
                        "again_seconds",
                    )
                    if all(k in x for x in rs)
                }
                print(
                    f"{name:>8} {n:>9,} events, median of {len(rs)}: {med['seconds']:.2f} s "
                    f"({', '.join(str(x['seconds']) for x in rs)}), "
                    f"user {med['user_cpu_seconds']:.2f} s, "
                    f"system {med['system_cpu_seconds']:.2f} s, "
                    f"peak RSS {med['peak_rss_mb']:,.0f} MB"
                    + (f"; again {med['again_seconds']:.3f} s" if "again_seconds" in med else "")
                )


if __name__ == "__main__":
    main()
