"""What ``evbt run`` spends reading its factor files: the check before the prices load
(``factor_problems``) and the study's ``read_factors``, each parsing every file (before), or
sharing the run's ``FactorFiles`` (now: each file parsed once).

Run on demand (not a test)::

    python benchmarks/bench_factor_reads.py [FACTORS_DIR]   # default ../shared/factors

Times FF5 + momentum 7 times each way (after one warm-up) and prints the medians.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's backtest

from backtest.job import load_config
from backtest.job.config import factor_problems
from backtest.study.inputs import FactorFiles, read_factors

FILES = ("F-F_Research_Data_5_Factors_2x3_daily.csv", "F-F_Momentum_Factor_daily.csv")


def main(folder: Path, repeat: int = 7) -> None:
    paths = [folder / f for f in FILES]
    config = load_config().with_updates(
        study={"model": "factor", "factors": [str(p) for p in paths]}
    )

    def each_twice() -> float:
        started = time.perf_counter()
        assert factor_problems(config) == []
        read_factors(paths)
        return time.perf_counter() - started

    def once() -> float:
        started = time.perf_counter()
        files = FactorFiles()
        assert factor_problems(config, files=files) == []
        read_factors(paths, files=files)
        return time.perf_counter() - started

    each_twice(), once()
    before = statistics.median(each_twice() for _ in range(repeat))
    after = statistics.median(once() for _ in range(repeat))
    print(f"FF5 + momentum, median of {repeat}:")
    print(f"  each file parsed twice (check, then study): {before * 1000:.0f} ms")
    print(f"  each file parsed once (the run's FactorFiles): {after * 1000:.0f} ms")
    print(f"  saved per run: {(before - after) * 1000:.0f} ms ({1 - after / before:.0%})")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/factors"))
