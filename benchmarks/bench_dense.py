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
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def one(n_events: int, n_tickers: int, n_days: int, exclude: bool) -> dict[str, object]:
    from bench_study import events, timed_study, universe

    from backtest.study import StudySpec

    close = universe(n_tickers, n_days)
    ev = events(close, n_events)
    spec = StudySpec(group_by=("all", "ticker"), exclude_confounded=exclude, max_loss=1.0)
    res, measured = timed_study(ev, close, spec)
    caar = res.group_table("all", "CAAR")
    window = caar[caar["window"] == "[0,+5]"]
    return {
        "events": n_events,
        "tickers": n_tickers,
        "days": n_days,
        "exclude_confounded": exclude,
        **measured,
        "confounders_listed": len(res.confounders),
        "mean_confounders": float(res.events["n_confounders"].mean()) if len(res.events) else 0,
        "observations_0_5": int(window["n"].iloc[0]) if len(window) else 0,
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
