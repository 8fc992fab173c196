"""Backtest benchmarks: the shipped strategies, and the S&P 500 earnings backtest.

Run on demand (not a test)::

    python benchmarks/bench_backtest.py shipped     # the 4 shipped strategies, first vs second call
    python benchmarks/bench_backtest.py sp500       # S&P 500 earnings, hold [1, 5, 20, 60]
    python benchmarks/bench_backtest.py vectorbt    # the floor: python -c "import vectorbt"
    python benchmarks/bench_backtest.py all --repeat 3

Each case runs in its own process (``--child``), so that its wall time, user CPU time and peak
memory (max RSS) are that case's alone; the parent prints them with the ratio to the wall time of
``python -c "import vectorbt"`` timed in the same run, and appends a JSON line per run to
``benchmarks/results/backtest.jsonl`` (not tracked).

``shipped``: the catalog in ``events/``, prices from ``../shared/prices``, every strategy of
``strategies/`` one after the other in one process; the first ``run_strategy`` of a process
pays for whatever vectorbt's compiled code costs on first use, so the times of the first and of
the second call are printed apart.

``sp500``: the event table is built here from ``../shared/sp500/earnings`` (one ``earnings``
event per reported row, 2019-06-01 to 2025-06-30, duplicates dropped; day 0 from the stamp's
local time: at or after 16:00 the next session, before 09:30 the same session, otherwise the same
session with the timing unknown) and the prices are read here from ``../shared/sp500/prices``
(``Ticker.history()`` CSVs: the session is the stamp's local date; SPY's opens, highs and lows
scaled by Adj Close / Close) -- independently of the catalog and price layers, so the figure is
the backtest's alone. The strategy buys every event at the first open after the announcement and
holds 1, 5, 20 or 60 sessions (``--strategy pead`` runs ``strategies/post_earnings_drift.toml``).
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
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("EVBT_SHARED_DIR", REPO.parent / "shared"))
if not SHARED.is_dir():  # a worktree: /work/wt/<name> beside /work/shared
    SHARED = REPO.parents[1] / "shared"

ALL_EVENTS = """\
name = "sp500_earnings"
description = "Buy every S&P 500 earnings announcement at the first open after it."
[events]
categories = ["earnings"]
[entry]
fill = "next_open"
[exit]
hold = [1, 5, 20, 60]
[position]
size = 10000
"""


# ----------------------------------------------------------------------------- S&P 500 inputs


def sp500_events(first: str = "2019-06-01", last: str = "2025-06-30") -> pd.DataFrame:
    """The event table of the S&P 500 earnings announcements, built from the CSVs alone."""
    from backtest.markets import get_calendar

    sessions = get_calendar("XNYS").sessions
    frames = []
    for path in sorted((SHARED / "sp500" / "earnings").glob("*.csv")):
        raw = pd.read_csv(path, dtype={"EarningsDate": str})
        raw = raw[raw["Reported EPS"].notna()]
        stamp = raw["EarningsDate"].str.slice(0, 16)
        frames.append(
            pd.DataFrame(
                {
                    "ticker": path.stem,
                    "date": pd.to_datetime(stamp.str.slice(0, 10)),
                    "clock": stamp.str.slice(11, 16),
                    "eps_estimate": raw["EPS Estimate"].to_numpy(dtype=float),
                    "eps_reported": raw["Reported EPS"].to_numpy(dtype=float),
                    "surprise_pct": raw["Surprise(%)"].to_numpy(dtype=float),
                }
            )
        )
    ev = pd.concat(frames, ignore_index=True)
    ev = ev[(ev["date"] >= first) & (ev["date"] <= last)]
    ev = ev.drop_duplicates(["ticker", "date"]).reset_index(drop=True)
    after = (ev["clock"] >= "16:00").to_numpy()
    before = (ev["clock"] < "09:30").to_numpy()
    pos = sessions.searchsorted(pd.DatetimeIndex(ev["date"]), "left")
    on_session = sessions[np.minimum(pos, len(sessions) - 1)] == pd.DatetimeIndex(ev["date"])
    pos = pos + (after & on_session)
    timing = np.where(after, "after_close", np.where(before, "before_open", "unknown"))
    slug = ev["ticker"].str.lower().str.replace(r"[^a-z0-9]+", "-", regex=True)
    return pd.DataFrame(
        {
            "event_id": slug + "-" + ev["date"].dt.strftime("%Y-%m-%d") + "-earnings",
            "ticker": ev["ticker"],
            "is_primary": True,
            "market": "XNYS",
            "day0": sessions[pos],
            "date": ev["date"],
            "timing": timing,
            "time": None,
            "timezone": None,
            "category": "earnings",
            "scope": "company",
            "title": ev["ticker"] + " earnings",
            "n_tickers": 1,
            "tags": "",
            "file": None,
            "eps_estimate": ev["eps_estimate"],
            "eps_reported": ev["eps_reported"],
            "surprise_pct": ev["surprise_pct"],
        }
    )


def sp500_prices(tickers: list[str]) -> SimpleNamespace:
    """Open, high, low, close (dates x tickers) from the ``Ticker.history()`` CSVs."""
    fields = ("Open", "High", "Low", "Close")
    out: dict[str, dict[str, pd.Series]] = {f: {} for f in fields}
    for t in tickers:
        raw = pd.read_csv(SHARED / "sp500" / "prices" / f"{t}.csv", dtype={"Date": str})
        idx = pd.DatetimeIndex(pd.to_datetime(raw["Date"].str.slice(0, 10)))
        scale = raw["Adj Close"] / raw["Close"] if "Adj Close" in raw else 1.0
        for f in fields:
            col = raw["Adj Close"] if (f == "Close" and "Adj Close" in raw) else raw[f] * scale
            out[f][t] = pd.Series(col.to_numpy(dtype=float), index=idx)
    wide = {f: pd.DataFrame(out[f]).sort_index() for f in fields}
    return SimpleNamespace(
        open=wide["Open"],
        high=wide["High"],
        low=wide["Low"],
        close=wide["Close"],
        failed={},
        provenance={},
    )


# ----------------------------------------------------------------------------- cases (children)


def case_vectorbt() -> dict[str, Any]:
    t0 = time.perf_counter()
    import vectorbt  # noqa: F401

    return {"import_vectorbt": round(time.perf_counter() - t0, 3)}


def case_shipped() -> dict[str, Any]:
    t0 = time.perf_counter()
    import vectorbt  # noqa: F401

    from backtest.catalog import load_catalog
    from backtest.portfolio import load_strategy, run_strategy
    from backtest.prices import CsvDirSource

    t_import = time.perf_counter() - t0
    catalog = load_catalog([REPO / "events"])
    source = CsvDirSource(SHARED / "prices")
    calls = []
    for path in sorted((REPO / "strategies").glob("*.toml")):
        strategy = load_strategy(path)
        a = time.perf_counter()
        result = run_strategy(strategy, catalog, source=source)
        calls.append(
            {
                "strategy": path.stem,
                "seconds": round(time.perf_counter() - a, 3),
                "trades": len(result.trades),
            }
        )
    return {"import_vectorbt": round(t_import, 3), "calls": calls}


def case_sp500(strategy_name: str, n_events: int | None) -> dict[str, Any]:
    import vectorbt  # noqa: F401

    from backtest.portfolio import load_strategy, run_strategy

    t0 = time.perf_counter()
    events = sp500_events()
    if n_events:
        events = events.iloc[np.random.default_rng(0).permutation(len(events))[:n_events]]
        events = events.sort_values(["date", "ticker"]).reset_index(drop=True)
    prices = sp500_prices(sorted({*events["ticker"], "SPY"}))
    t_inputs = time.perf_counter() - t0
    if strategy_name == "pead":
        path = REPO / "strategies" / "post_earnings_drift.toml"
    else:
        path = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_sp500_earnings.toml"
        path.write_text(ALL_EVENTS, encoding="utf-8")
    strategy = load_strategy(path)
    t1 = time.perf_counter()
    result = run_strategy(strategy, events, prices=prices)
    t_run = time.perf_counter() - t1
    return {
        "events": len(events),
        "tickers": int(events["ticker"].nunique()),
        "combos": len(result.combos),
        "trades": len(result.trades),
        "skipped": len(result.skipped),
        "inputs_seconds": round(t_inputs, 3),
        "run_strategy_seconds": round(t_run, 3),
    }


def child(args: argparse.Namespace) -> None:
    if args.case == "vectorbt":
        out = case_vectorbt()
    elif args.case == "shipped":
        out = case_shipped()
    else:
        out = case_sp500(args.strategy, args.events)
    print(json.dumps(out))


# ----------------------------------------------------------------------------- parent


def run_child(argv: list[str]) -> dict[str, Any]:
    """Run one case in a fresh process: its output plus wall, user time and max RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *argv, "--child"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed:\n{proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_seconds"] = round(wall, 3)
    out["user_seconds"] = round(after.ru_utime - before.ru_utime, 3)
    out["peak_rss_mb"] = round(after.ru_maxrss / 1024, 1)  # the largest child so far
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("case", choices=["vectorbt", "shipped", "sp500", "all"])
    p.add_argument("--strategy", choices=["all_events", "pead"], default="all_events")
    p.add_argument("--events", type=int, default=None, help="a random subset of this size")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    cases = ["shipped", "sp500"] if args.case == "all" else [args.case]
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    for case in cases:
        floor, runs = [], []
        for _ in range(args.repeat):
            floor.append(run_child(["vectorbt"])["wall_seconds"])
            argv = [case, "--strategy", args.strategy]
            if args.events:
                argv += ["--events", str(args.events)]
            runs.append(run_child(argv))
        wall = statistics.median(r["wall_seconds"] for r in runs)
        vbt = statistics.median(floor)
        record = {
            "case": case,
            "strategy": args.strategy if case == "sp500" else None,
            "runs": runs,
            "import_vectorbt_wall": floor,
            "median_wall_seconds": wall,
            "ratio_to_import_vectorbt": round(wall / vbt, 2),
            "machine": f"{platform.machine()} {os.cpu_count()} cpu, "
            f"Python {platform.python_version()}",
        }
        print(json.dumps(record, indent=1))
        with (results / "backtest.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
