"""Dense events benchmark: 1M events on 10 tickers x 10 years (issue 11's memory target).

Run on demand (not a test)::

    python benchmarks/bench_dense.py                       # 1M events on 10 tickers
    python benchmarks/bench_dense.py --events 400000 --exclude-confounded

About 40 events share every (ticker, session): each event's window span holds about a
thousand other events of its ticker, so anything that enumerated (event, confounder) pairs
would need ~10^9 of them. The study runs with the tool's defaults but ``exclude_confounded``
(off unless ``--exclude-confounded``: with it on, every estimation day is some other event's
window and every event is dropped, which is measured too). Each run is its own process; the
peak resident memory is printed and appended to ``benchmarks/results/dense.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def one(n_events: int, n_tickers: int, n_days: int, exclude: bool) -> dict[str, object]:
    from bench_study import events, universe

    from backtest.study import StudySpec, run_study

    close = universe(n_tickers, n_days)
    ev = events(close, n_events)
    spec = StudySpec(group_by=("all", "ticker"), exclude_confounded=exclude, max_loss=1.0)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    res = run_study(ev, close, spec)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    caar = res.group_table("all", "CAAR")
    return {
        "events": n_events,
        "tickers": n_tickers,
        "days": n_days,
        "exclude_confounded": exclude,
        "measured": len(res.events),
        "dropped": len(res.dropped),
        "confounders_listed": len(res.confounders),
        "mean_confounders": float(res.events["n_confounders"].mean()) if len(res.events) else 0,
        "observations_0_5": int(caar.loc[caar["window"] == "[0,+5]", "n"].iloc[0])
        if len(caar)
        else 0,
        "seconds": round(wall, 3),
        "user_cpu_seconds": round(cpu1.ru_utime - cpu0.ru_utime, 3),
        "timings": {k: round(v, 3) for k, v in res.data["timings"].items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--tickers", type=int, default=10)
    ap.add_argument("--days", type=int, default=2520, help="10 years of sessions")
    ap.add_argument("--exclude-confounded", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.events, args.tickers, args.days, args.exclude_confounded)))
        return
    cmd = [sys.executable, __file__, "--child", "--events", str(args.events), "--tickers",
           str(args.tickers), "--days", str(args.days)]  # fmt: skip
    if args.exclude_confounded:
        cmd.append("--exclude-confounded")
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    rec = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"{rec['events']:,} events on {rec['tickers']} tickers: {rec['seconds']:.2f} s, user CPU "
        f"{rec['user_cpu_seconds']:.2f} s, peak RSS {rec['peak_rss_mb']:,} MB; measured "
        f"{rec['measured']:,}, {rec['mean_confounders']:.0f} confounders per event (listed "
        f"{rec['confounders_listed']:,}), {rec['observations_0_5']:,} observations of "
        "CAAR[0,+5]"
    )
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    with open(results / "dense.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
