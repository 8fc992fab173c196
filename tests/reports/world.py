"""A small synthetic world for report tests: a catalog, a strategy and price files with planted
reactions, so a report's numbers can be checked against what was planted.

Two stocks (AAA, BBB) follow ``r = a + b r_SPY + e`` on real NYSE sessions; on day 0 of
``aaa-layoff`` AAA's residual is exactly +8% and on day 0 of ``bbb-results`` BBB's -6%. One
event's title is an HTML injection attempt, which every page must show as text.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.markets import get_calendar

EVIL_TITLE = '<script>alert("pwned")</script> & "friends"'
PLANTED = {("aaa-layoff", "AAA"): 0.08, ("bbb-results", "BBB"): -0.06}
DAY0 = {
    "aaa-layoff": pd.Timestamp("2023-06-06"),  # before the open: that session
    "bbb-results": pd.Timestamp("2023-08-11"),  # 2023-08-10 after the close: the next session
    "aaa-launch": pd.Timestamp("2023-09-13"),  # during the session
    "bbb-layoff": pd.Timestamp("2023-10-04"),
}

CATALOG = """\
events:
  - id: aaa-layoff
    title: AAA cuts 5,000 jobs
    description: AAA announced job cuts before the open.
    category: layoff
    scope: company
    date: 2023-06-06
    timing: before_open
    tickers: [AAA]
    sources:
      - document: toy.txt
        says: AAA said it would cut 5,000 jobs.
    claims:
      - ticker: AAA
        measure: close_to_close
        value: 0.08
        source: toy.txt
        says: AAA jumped about 8%.
  - id: bbb-results
    title: BBB quarterly results
    description: BBB reported after the close.
    category: earnings
    scope: company
    date: 2023-08-10
    timing: after_close
    tickers: [BBB]
    attributes: {surprise_pct: -9.09}
    sources:
      - document: toy.txt
        says: BBB missed expectations.
  - id: aaa-launch
    title: '{evil}'
    description: A product launch with a title that tries to inject a script.
    category: product_launch
    scope: company
    date: 2023-09-13
    timing: during
    tickers: [AAA]
    sources:
      - document: toy.txt
        says: AAA launched a product.
  - id: bbb-layoff
    title: BBB trims staff
    description: BBB announced a small round of layoffs before the open.
    category: layoff
    scope: company
    date: 2023-10-04
    timing: before_open
    tickers: [BBB]
    sources:
      - document: toy.txt
        says: BBB cut staff.
"""

STRATEGY = """\
name = "toy_buy_on_layoffs"
description = "Buy at the first open after a layoff announcement."
[events]
categories = ["layoff"]
[exit]
hold = [1, 5]
[portfolio]
benchmark = "SPY"
"""


def _ohlc(close: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    prev = np.concatenate([[close[0]], close[:-1]])
    open_ = prev * (1 + rng.normal(0, 0.002, len(close)))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.004, len(close))))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.004, len(close))))
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close})


def build(root: Path, seed: int = 7, *, strategies: bool = True, catalog: str = "") -> Path:
    """Write ``events/``, ``strategies/``, ``prices/`` and ``run.toml`` under ``root``;
    returns the run configuration's path.

    ``strategies=False``: the run backtests nothing (no vectorbt in the process). ``catalog``:
    YAML events appended to the catalog (entries of AAA or BBB in 2023).
    """
    rng = np.random.default_rng(seed)
    sessions = get_calendar("XNYS").sessions
    dates = sessions[(sessions >= "2022-01-03") & (sessions <= "2024-03-28")]
    n = len(dates)
    market = rng.normal(0.0004, 0.01, n)
    returns = {"SPY": market}
    for ticker, (a, b, s) in {"AAA": (0.0002, 1.2, 0.015), "BBB": (-0.0001, 0.8, 0.012)}.items():
        noise = rng.normal(0, s, n)
        for (event, t), jump in PLANTED.items():
            if t == ticker:  # no noise on day 0: the abnormal return is the jump
                noise[dates.get_loc(DAY0[event])] = jump
        r = a + b * market + noise
        returns[ticker] = r
    (root / "prices").mkdir(parents=True)
    for ticker, r in returns.items():
        close = 100 * np.cumprod(1 + r)
        frame = _ohlc(close, rng)
        frame.insert(0, "date", dates.strftime("%Y-%m-%d"))
        frame["volume"] = rng.integers(1_000_000, 5_000_000, n)
        frame.to_csv(root / "prices" / f"{ticker}.csv", index=False)
    (root / "events").mkdir()
    (root / "events" / "toy.yaml").write_text(
        CATALOG.replace("{evil}", EVIL_TITLE.replace("'", "''")) + catalog, encoding="utf-8"
    )
    (root / "strategies").mkdir()
    (root / "strategies" / "toy.toml").write_text(STRATEGY, encoding="utf-8")
    config = root / "run.toml"
    config.write_text(
        textwrap.dedent("""\
            name = "toy"
            [study]
            min_estimation = 100
            [prices]
            dir = "prices"
            """)
        + ("" if strategies else "[strategies]\npaths = []\n"),
        encoding="utf-8",
    )
    return config
