"""The main job as a user meets it: the first run after installing, and a warm run.

Run on demand (not a test)::

    python benchmarks/bench_first_run.py --prices ../shared/prices --repeat 3 \\
        [--before /tmp/evbt-before]      # a checkout (or export) of an earlier tree to compare

``evbt run --prices-dir PRICES --quiet`` in fresh processes. "first": with a fresh, empty
``NUMBA_CACHE_DIR`` each time (nothing compiled yet, as after installing; prices come from the
CSV folder, so there is no price cache to fill). "warm": with the usual numba cache, after one
unmeasured run. ``python -c "import vectorbt"`` (warm) is timed in the same rounds: the targets
of issue 14 are ratios to it. With ``--before``, each round runs the earlier tree and this one
one after the other (alternated, since the machine is shared and its load moves), the earlier
one with ``python -m backtest.cli`` from its folder. Wall seconds and the process tree's user
CPU seconds; medians over the rounds; every figure is appended to
``benchmarks/results/first_run.jsonl``.
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
REPO = HERE.parent


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and user CPU seconds of ``cmd`` (its children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(wall, 3), round(after.ru_utime - before.ru_utime, 3)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prices", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", type=Path, default=None)
    parser.add_argument("--skip-first", action="store_true", help="only the warm runs")
    args = parser.parse_args()
    py = sys.executable
    work = Path(tempfile.mkdtemp(prefix="evbt-first-"))
    prices = str(Path(args.prices).resolve())
    trees = {"after": REPO}
    if args.before is not None:
        trees = {"before": args.before.resolve(), **trees}
    base_env = dict(os.environ)
    rows: list[dict[str, object]] = []

    def job(name: str, tree: Path, env: dict[str, str], kind: str, k: int) -> None:
        out = work / f"report-{name}-{kind}-{k}"
        cmd = [py, "-m", "backtest.cli", "run", "--prices-dir", prices, "--quiet",
               "--out", str(out), "--force"]  # fmt: skip
        l0 = load()
        wall, user = timed(cmd, tree, env)
        timings = json.loads((out / "run.json").read_text(encoding="utf-8"))["timings"]
        row = {"tree": name, "kind": kind, "round": k, "wall": wall, "user": user, "load": l0,
               "timings": timings}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)

    for name, tree in trees.items():  # one unmeasured warm run each (fills the usual cache)
        subprocess.run([py, "-m", "backtest.cli", "run", "--prices-dir", prices, "--quiet",
                        "--out", str(work / f"warmup-{name}"), "--force"], cwd=tree,
                       env=base_env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    for k in range(args.repeat):
        wall, user = timed([py, "-c", "import vectorbt"], REPO, base_env)
        rows.append({"tree": "-", "kind": "import vectorbt", "round": k, "wall": wall,
                     "user": user, "load": load()})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
        for name, tree in trees.items():
            job(name, tree, base_env, "warm", k)
        if args.skip_first:
            continue
        for name, tree in trees.items():
            env = {**base_env, "NUMBA_CACHE_DIR": str(work / f"numba-{name}-{k}")}
            job(name, tree, env, "first", k)

    def med(kind: str, tree: str, key: str = "wall") -> float:
        return statistics.median(
            float(r[key])  # type: ignore[arg-type]
            for r in rows
            if r["kind"] == kind and r["tree"] == tree
        )

    imp = med("import vectorbt", "-")
    summary = {"import vectorbt": imp}
    for name in trees:
        for kind in ("warm", "first") if not args.skip_first else ("warm",):
            m = med(kind, name)
            summary[f"{name} {kind}"] = m
            summary[f"{name} {kind} user"] = med(kind, name, "user")
            summary[f"{name} {kind} / import"] = round(m / imp, 2)
    print(json.dumps(summary, indent=1))
    record = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "rows": rows,
        "summary": summary,
    }
    out = HERE / "results" / "first_run.jsonl"
    out.parent.mkdir(exist_ok=True)
    with out.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
