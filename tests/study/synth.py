"""Synthetic markets with known parameters and planted abnormal returns.

Returns follow ``r_it = a_i + b_i r_mt + e_it`` on real XNYS sessions; prices are built from
the returns, so tests feed the engine exactly what it would read from a price file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.markets import get_calendar


@dataclass(frozen=True)
class Synth:
    close: pd.DataFrame  # dates x tickers (stocks + SPY)
    returns: pd.DataFrame  # the generating simple returns (first row NaN)
    events: pd.DataFrame  # event_id, ticker, day0 (+ group column)
    alpha: pd.Series
    beta: pd.Series


def sessions(n: int, start: str = "2010-01-04") -> pd.DatetimeIndex:
    cal = get_calendar("XNYS")
    s = cal.sessions[cal.sessions >= pd.Timestamp(start)][:n]
    return pd.DatetimeIndex(s)


def prices_from_returns(returns: pd.DataFrame, start: float = 100.0) -> pd.DataFrame:
    """Prices whose simple returns are ``returns`` (the first row is the base)."""
    growth = (1.0 + returns.fillna(0.0)).cumprod()
    return start * growth


def make_market(
    *,
    n_days: int = 1200,
    n_stocks: int = 40,
    n_events: int = 200,
    seed: int = 0,
    jump: float = 0.0,
    jump_days: tuple[int, ...] = (0,),
    sigma: float = 0.02,
    market_sigma: float = 0.01,
    n_groups: int = 1,
    same_day_groups: bool = False,
    common_shock: float = 0.0,
    min_gap: int = 60,
) -> Synth:
    """A market (SPY) and ``n_stocks`` stocks with events at random sessions.

    ``jump`` is added to the stock's return on each of ``jump_days`` (relative to day 0) of
    every event. With ``same_day_groups`` all events of a group share one day 0 (a cluster),
    and ``common_shock`` adds a group-wide daily factor to the residuals of the group's stocks
    (cross-correlation ``common_shock**2 / (common_shock**2 + sigma**2)``).
    Events of one ticker are at least ``min_gap`` sessions apart (no confounding) unless the
    groups are same-day clusters.
    """
    rng = np.random.default_rng(seed)
    idx = sessions(n_days)
    tickers = [f"S{i:04d}" for i in range(n_stocks)]
    rm = rng.normal(0.0003, market_sigma, n_days)
    alpha = rng.normal(0.0002, 0.0005, n_stocks)
    beta = rng.uniform(0.5, 1.5, n_stocks)
    eps = rng.normal(0.0, sigma, (n_days, n_stocks))
    lo, hi = 260, n_days - 30
    if same_day_groups:
        size = n_events // n_groups
        group_days = rng.choice(np.arange(lo, hi), n_groups, replace=False)
        pos = np.repeat(group_days, size)
        if n_stocks < size * n_groups:
            raise ValueError("same-day groups need a stock per event (n_stocks >= n_events)")
        stock = rng.permutation(n_stocks)[: size * n_groups]  # each stock in one cluster
        groups = np.repeat(np.arange(n_groups), size)
        if common_shock:
            # a group-specific common factor hits the group's stocks on every day
            for g in range(n_groups):
                f = rng.normal(0.0, common_shock, n_days)
                members = stock[groups == g]
                eps[:, members] += f[:, None]
    else:
        pos_list, stock_list = [], []
        per_stock = int(np.ceil(n_events / n_stocks))
        for s in range(n_stocks):  # test-data generation, not the engine
            taken: list[int] = []
            while len(taken) < per_stock:
                p = int(rng.integers(lo, hi))
                if all(abs(p - q) >= min_gap for q in taken):
                    taken.append(p)
            pos_list += taken
            stock_list += [s] * per_stock
        order = rng.permutation(len(pos_list))[:n_events]
        pos = np.array(pos_list)[order]
        stock = np.array(stock_list)[order]
        groups = np.arange(n_events) % n_groups
    r = alpha[None, :] + beta[None, :] * rm[:, None] + eps
    for d in jump_days:
        np.add.at(r, (pos + d, stock), jump)
    returns = pd.DataFrame(r, index=idx, columns=tickers)
    returns["SPY"] = rm
    returns.iloc[0] = np.nan
    events = pd.DataFrame(
        {
            "event_id": [f"ev{i:05d}" for i in range(len(pos))],
            "ticker": [tickers[s] for s in stock],
            "day0": idx[pos],
            "grp": [f"g{g:03d}" for g in groups],
        }
    )
    return Synth(
        close=prices_from_returns(returns),
        returns=returns,
        events=events,
        alpha=pd.Series(alpha, index=tickers),
        beta=pd.Series(beta, index=tickers),
    )
