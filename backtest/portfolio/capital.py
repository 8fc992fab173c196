"""The capital rule: a portfolio never holds more in positions than ``leverage`` times its value.

vectorbt lets a portfolio that sells short spend the sale's proceeds on further positions, so a
pooled portfolio of fixed-size trades can hold many times its capital (the S&P 500 earnings
drift held ~30x its 100,000 with 10,000 a trade). Before the simulation that counts, each
portfolio's trades are admitted in date order (and, within a session, in the order the legs
are given, which is the simulation's own order):

* the *value* a trade is judged against is the portfolio's value at the close before its entry
  session: the capital, plus the P&L of the admitted legs closed by then, plus the admitted legs
  still open marked at that close (as vectorbt values a portfolio: cash plus positions);
* the capital *in positions* is every admitted leg still open on the entry session marked at
  that close (its shares times the close, longs and shorts alike: gross exposure), plus the
  entry value of the legs admitted earlier on the same session; a leg exiting on the entry
  session frees its capital;
* a trade (all its legs: a hedged trade is one) is admitted when what is in positions plus its
  own legs' size is at most ``leverage`` times the value; otherwise it is skipped with the
  reason, e.g. ``capital (pooled XNYS): 98,000 of 100,000 already in positions (leverage 1)``.
  Nothing is admitted while the value is zero or less (the portfolio is ruined).

Each leg's own course (shares, entry price and fees, P&L, the session it actually exits, early
on a stop) comes from a simulation in which every leg is filled in full (:func:`outcomes`): a
fully filled leg's course does not depend on the other legs of its portfolio, so the values
the rule sees are those the final simulation of the admitted legs reports, up to the orders
vectorbt itself fills partly for want of cash (a long needs cash; short sale proceeds are cash).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.text import money

#: Relative tolerance of the comparison (sums of sizes that meet the limit exactly pass).
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Outcomes:
    """Each leg's course when filled in full, in the order of the legs (see :func:`outcomes`).

    ``exit_pos`` is the session (position in the simulation index) of the actual exit, or the
    index's length for a leg still open at the end.
    """

    shares: np.ndarray
    entry_price: np.ndarray
    entry_fees: np.ndarray
    pnl: np.ndarray
    exit_pos: np.ndarray


def filled_in_full(sim_legs: pd.DataFrame) -> np.ndarray:
    """Whether each simulated leg bought or sold its whole ``size`` (``size`` over the
    unslipped entry price, as vectorbt sizes a value order)."""
    d = sim_legs["direction"].to_numpy(dtype=np.float64)
    price = sim_legs["entry_price"].to_numpy(dtype=np.float64)
    unslipped = price / (1.0 + d * sim_legs["slippage"].to_numpy(dtype=np.float64))
    want = sim_legs["size"].to_numpy(dtype=np.float64) / unslipped
    got = sim_legs["shares"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (sim_legs["status"] != "not filled").to_numpy() & np.isclose(
            got, want, rtol=1e-9, atol=0.0
        )


def outcomes(sim_legs: pd.DataFrame, index: pd.DatetimeIndex) -> Outcomes:
    """The courses of the legs of a simulation whose every leg was filled in full."""
    n = len(index)
    exit_pos = index.get_indexer(pd.DatetimeIndex(sim_legs["exit_date"]))
    exit_pos = np.where((sim_legs["status"] == "open").to_numpy(), n, exit_pos)
    return Outcomes(
        shares=sim_legs["shares"].to_numpy(dtype=np.float64),
        entry_price=sim_legs["entry_price"].to_numpy(dtype=np.float64),
        entry_fees=sim_legs["entry_fees"].to_numpy(dtype=np.float64),
        pnl=sim_legs["pnl"].to_numpy(dtype=np.float64),
        exit_pos=exit_pos.astype(np.int64),
    )


def admit(
    legs: pd.DataFrame,
    groups: pd.Series | np.ndarray,
    course: Outcomes,
    close: np.ndarray,
    underlying_col: np.ndarray,
    index: pd.DatetimeIndex,
    *,
    init_cash: float,
    leverage: float,
    names: pd.Series | np.ndarray | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Which legs the capital rule admits, and the trades it skips with their reasons.

    Parameters
    ----------
    legs:
        The legs (``combo``, ``event_id``, ``ticker``, ``direction``, ``size``,
        ``entry_date``), in the simulation's order.
    groups:
        Each leg's portfolio (legs of one portfolio share ``init_cash``).
    course:
        Each leg's course filled in full (:func:`outcomes`).
    close:
        (T, U) closes on ``index`` (gaps filled as the simulation fills them).
    underlying_col:
        Each leg's column of ``close``.
    names:
        Each leg's portfolio as the reasons name it (default: ``groups``).

    Returns
    -------
    (keep, skipped)
        ``keep`` (bool per leg) and one row per skipped trade: ``event_id``, ``ticker``,
        ``reason``, ``combo``, ``entry_date`` (in date order).
    """
    n = len(legs)
    keep = np.ones(n, dtype=bool)
    cols = ["event_id", "ticker", "reason", "combo", "entry_date"]
    if n == 0:
        return keep, pd.DataFrame(columns=cols)
    group = np.asarray(groups)
    label = group if names is None else np.asarray(names)
    entry = index.get_indexer(pd.DatetimeIndex(legs["entry_date"]))
    trade_key = pd.Series(group, dtype=object).astype(str) + "\x1f" + (
        legs["combo"].astype(str) + "\x1f" + legs["event_id"].astype(str) + "\x1f"
        + legs["ticker"].astype(str)
    ).to_numpy()  # fmt: skip
    trade, _ = pd.factorize(trade_key, sort=False)
    size = legs["size"].to_numpy(dtype=np.float64)
    d = legs["direction"].to_numpy(dtype=np.float64)
    sh, ep, ef = course.shares, course.entry_price, course.entry_fees
    pnl, out_pos = course.pnl, course.exit_pos
    combo = legs["combo"].to_numpy()
    event_id = legs["event_id"].to_numpy()
    ticker = legs["ticker"].to_numpy()
    skipped: list[tuple[object, ...]] = []
    # legs of each trade, trades in order of entry session, then of their first leg
    first_leg = pd.Series(np.arange(n)).groupby(trade).min().to_numpy()
    by_trade = pd.Series(np.arange(n)).groupby(trade).indices
    trade_group = group[first_leg]
    order = np.lexsort((first_leg, entry[first_leg]))
    per_group: dict[object, list[int]] = {}
    for t in order:
        per_group.setdefault(trade_group[t], []).append(int(t))
    for trades in per_group.values():
        realised = 0.0
        open_legs: list[int] = []  # admitted legs not yet exited
        session = -1
        value = in_positions = 0.0
        for t in trades:
            legs_t = by_trade[t]
            s = int(entry[legs_t[0]])
            if s != session:  # a new entry session: value and exposure at the last close
                session = s
                still = []
                for j in open_legs:
                    if out_pos[j] <= s - 1:
                        realised += pnl[j]
                    else:
                        still.append(j)
                open_legs = still
                value = init_cash + realised
                in_positions = 0.0
                for j in open_legs:
                    if entry[j] == s:  # admitted on this session: its entry value
                        in_positions += size[j]
                        continue
                    c = close[s - 1, underlying_col[j]]
                    value += d[j] * sh[j] * (c - ep[j]) - ef[j]
                    if out_pos[j] > s:  # a leg exiting on this session frees its capital
                        in_positions += sh[j] * c
            need = float(size[legs_t].sum())
            limit = leverage * value
            if value > 0 and in_positions + need <= limit * (1 + TOLERANCE):
                open_legs.extend(int(j) for j in legs_t)
                in_positions += need
                continue
            keep[legs_t] = False
            i = legs_t[0]
            if value <= 0:
                why = (
                    f"capital ({label[i]}): the portfolio's value is {money(value)} at the close "
                    "before the entry (ruined)"
                )
            else:
                lev = f"{leverage:g}"
                why = (
                    f"capital ({label[i]}): {money(in_positions)} of {money(limit)} already in "
                    f"positions (leverage {lev} x value {money(value)}); "
                    f"this trade needs {money(need)}"
                )
            skipped.append((event_id[i], ticker[i], why, combo[i], index[s]))
    out = pd.DataFrame(skipped, columns=cols)
    if len(out):
        out = out.sort_values("entry_date", kind="stable").reset_index(drop=True)
    return keep, out
