"""The calibration of ``check_factor_scale``'s percent rule on French's daily factor files.

Run on demand (not a test; about two minutes)::

    python benchmarks/factor_scale_calibration.py [FACTORS_DIR]   # default ../shared/factors

For every stretch length n (1 to 250 sessions, then longer ones up to 5,000) and every stretch
of n consecutive sessions of each file (every factor but RF, in decimal: the files' percent
divided by 100), it prints the largest median absolute value of any factor (where it ends),
the largest absolute value, and per file the smallest "frame median" of the same stretches
in percent (the largest of the factors' medians: what the rule sees of a percent frame). It
then checks :data:`backtest.study.inputs.PERCENT_MEDIAN_BY_DAYS`: no decimal stretch may
reach its threshold, and it prints, per file, the shortest length from which every percent
stretch is refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's backtest

from backtest.study.inputs import (
    PERCENT_MEDIAN_BY_DAYS,
    percent_median,
    read_factors,
)

LENGTHS = [*range(1, 251), 300, 400, 500, 750, 1000, 2000, 5000]


def main(folder: Path) -> int:
    files = sorted(folder.glob("F-F_*daily.csv"))
    decimal_median: dict[int, tuple[float, str]] = {}
    largest: dict[int, float] = {}
    percent_low: dict[str, dict[int, float]] = {f.name: {} for f in files}
    for f in files:
        frame = read_factors(f)
        size = frame[[c for c in frame.columns if c != "RF"]].abs()
        for n in LENGTHS:
            med = size.rolling(n).median().iloc[n - 1 :]
            top = med.max(axis=1)  # per stretch, the largest factor median
            if top.max() > decimal_median.get(n, (-1.0, ""))[0]:
                decimal_median[n] = (float(top.max()), f"{f.name} to {top.idxmax().date()}")
            largest[n] = max(largest.get(n, 0.0), float(size.rolling(n).max().max().max()))
            percent_low[f.name][n] = float(top.min()) * 100
    print("sessions  largest decimal median (stretch end)  largest  threshold  calmest % median")
    for n in LENGTHS:
        lows = "  ".join(f"{percent_low[f.name][n]:.4f}" for f in files)
        m, where = decimal_median[n]
        print(f"{n:8d}  {m:.4f} ({where})  {largest[n]:.3f}  {percent_median(n):.3f}  {lows}")
    tripped = [n for n in LENGTHS if decimal_median[n][0] >= percent_median(n)]
    print("steps:", PERCENT_MEDIAN_BY_DAYS)
    for least, threshold in PERCENT_MEDIAN_BY_DAYS:
        worst = max(decimal_median[n][0] for n in LENGTHS if n >= least)
        margin = threshold / worst
        print(f"  from {least} sessions: threshold {threshold} = {margin:.2f} x {worst:.4f}")
    for f in files:
        caught = [
            n
            for n in LENGTHS
            if all(percent_low[f.name][k] >= percent_median(k) for k in LENGTHS if k >= n)
        ]
        print(f"{f.name}: every percent stretch refused from {min(caught, default=None)} sessions")
    print("decimal stretches refused:", tripped or "none")
    return 1 if tripped else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/factors")))
