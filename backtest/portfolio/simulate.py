"""The vectorbt simulation of planned trades (the only module that imports vectorbt).

Every leg of every trade (and every parameter combination of a sweep) is its own column, so a
position never meets another one: overlapping events of one ticker are separate trades that
each exit exactly ``hold`` sessions after their own entry. vectorbt's ``from_signals`` keeps one
position per column and ignores a new entry while one is open, so putting overlapping trades in
one column with shifted exit signals would close the first trade at the second's exit; separate
columns make that impossible. Columns that share capital (a ticker's trades, or a pooled
portfolio) form one vectorbt group with cash sharing.

Conventions (vectorbt's, passed explicitly, never from its global settings):

* a position of ``size`` (in the ticker's currency) buys ``size / price`` shares at the
  unslipped price, paying ``price * (1 + slippage)`` (buys) or receiving
  ``price * (1 - slippage)`` (sells); fees are ``fees`` times the order's value at that price;
* stops are measured from the entry price (before slippage) and checked from the session after
  the entry, against each session's low and high; a stop fills at its level, or at the open
  when the price gaps through it, without slippage (vectorbt's ``stoplimit``);
* the portfolio is valued at each session's close.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

LEG_COLUMNS = [
    "underlying",
    "direction",
    "fill",
    "entry_date",
    "exit_date",
    "size",
    "fees",
    "slippage",
    "stop_loss",
    "take_profit",
    "group",
]


@dataclass(frozen=True)
class Simulation:
    """What a simulation produced.

    Attributes
    ----------
    value:
        Portfolio value per session (dates x groups), cash included.
    exposure:
        True where the group holds any position at the session's close (dates x groups).
    legs:
        The simulated legs (input order) with ``entry_price, exit_price, exit_date, pnl,
        return, entry_fees, exit_fees, shares, status`` (``closed`` or ``open``) and
        ``exit_reason`` (``time``, ``stop_loss`` or ``take_profit``).
    """

    value: pd.DataFrame
    exposure: pd.DataFrame
    legs: pd.DataFrame


def _frame(prices: pd.DataFrame, index: pd.DatetimeIndex, names: np.ndarray) -> np.ndarray:
    """(T, C) prices of ``names`` on ``index``; gaps (closed days, before the listing) filled
    from neighbouring sessions for valuation only: no order is ever placed on them."""
    wide = prices.reindex(index)[list(dict.fromkeys(names))].ffill().bfill()
    pos = pd.Index(wide.columns).get_indexer(names)
    return wide.to_numpy(dtype=np.float64)[:, pos]


def simulate(
    legs: pd.DataFrame,
    *,
    open_: pd.DataFrame,
    high: pd.DataFrame,
    low: pd.DataFrame,
    close: pd.DataFrame,
    index: pd.DatetimeIndex,
    init_cash: float,
) -> Simulation:
    """Simulate ``legs`` (one row per leg, columns :data:`LEG_COLUMNS`) with vectorbt.

    ``group`` labels which legs share capital (``init_cash`` each). ``direction`` is +1 or
    -1, ``fill`` ``open`` or ``close``; ``stop_loss``/``take_profit`` are fractions or NaN.
    Entry and exit dates must be in ``index`` with finite prices (the caller checks).
    """
    import vectorbt as vbt

    order = np.argsort(legs["group"].to_numpy(), kind="stable")  # vectorbt: contiguous groups
    lg = legs.iloc[order].reset_index(drop=True)
    names = lg["underlying"].to_numpy()
    c = _frame(close, index, names)
    o = _frame(open_, index, names)
    h = _frame(high, index, names)
    lo = _frame(low, index, names)
    at_open = (lg["fill"] == "open").to_numpy()
    price = np.where(at_open[None, :], o, c)
    n_rows, n_cols = c.shape
    entry_pos = index.get_indexer(pd.DatetimeIndex(lg["entry_date"]))
    exit_pos = index.get_indexer(pd.DatetimeIndex(lg["exit_date"]))
    if (entry_pos < 0).any() or (exit_pos < 0).any():
        raise ValueError("every entry and exit date must be a date of the simulation index")
    cols = np.arange(n_cols)
    entries = np.zeros((n_rows, n_cols), dtype=bool)
    exits = np.zeros((n_rows, n_cols), dtype=bool)
    entries[entry_pos, cols] = True
    exits[exit_pos, cols] = True
    direction = np.where(lg["direction"].to_numpy() > 0, 0, 1)  # LongOnly = 0, ShortOnly = 1
    labels = [f"leg{i}" for i in range(n_cols)]

    def wide(a: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(a, index=index, columns=labels)

    def per_col(name: str) -> np.ndarray:
        return lg[name].to_numpy(dtype=np.float64)[None, :]

    sl = per_col("stop_loss")
    tp = per_col("take_profit")
    with warnings.catch_warnings():  # vectorbt's own deprecation noise under pandas 3
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        pf = vbt.Portfolio.from_signals(
            close=wide(c),
            entries=wide(entries),
            exits=wide(exits),
            direction=direction[None, :],
            price=wide(price),
            size=per_col("size"),
            size_type="value",
            fees=per_col("fees"),
            fixed_fees=0.0,
            slippage=per_col("slippage"),
            min_size=0.0,
            max_size=np.inf,
            reject_prob=0.0,
            lock_cash=False,
            allow_partial=True,
            raise_reject=False,
            log=False,
            accumulate=False,
            upon_long_conflict="ignore",
            upon_short_conflict="ignore",
            upon_dir_conflict="ignore",
            upon_opposite_entry="ignore",
            val_price=np.inf,
            open=wide(o),
            high=wide(h),
            low=wide(lo),
            sl_stop=sl,
            sl_trail=False,
            tp_stop=tp,
            stop_entry_price="price",
            stop_exit_price="stoplimit",
            upon_stop_exit="close",
            use_stops=bool(np.isfinite(sl).any() or np.isfinite(tp).any()),
            init_cash=float(init_cash),
            cash_sharing=True,
            group_by=lg["group"].to_numpy(),
            call_seq="default",
            ffill_val_price=True,
            update_value=False,
            seed=None,
            freq="1D",
            attach_call_seq=False,
        )
        value = pf.value()
        rec = pf.trades.records
    if isinstance(value, pd.Series):  # vectorbt returns a Series for a single group
        value = value.to_frame(name=lg["group"].iloc[0])
    return Simulation(
        value=value,
        exposure=_exposure(rec, lg["group"].to_numpy(), value.columns, index),
        legs=_legs(lg, rec, index, order, price[entry_pos, cols]),
    )


def _exposure(
    rec: pd.DataFrame, groups: np.ndarray, group_names: pd.Index, index: pd.DatetimeIndex
) -> pd.DataFrame:
    """Held at the close of sessions [entry, exit): True where any leg of the group is open."""
    n = len(index)
    held = np.zeros((n + 1, len(group_names)), dtype=np.int64)
    if len(rec):
        g = pd.Index(group_names).get_indexer(groups[rec["col"].to_numpy()])
        start = rec["entry_idx"].to_numpy()
        open_at_end = rec["status"].to_numpy() == 0
        stop = np.where(open_at_end, n, rec["exit_idx"].to_numpy())
        np.add.at(held, (start, g), 1)
        np.add.at(held, (stop, g), -1)
    counts = np.cumsum(held, axis=0)[:n]
    return pd.DataFrame(counts > 0, index=index, columns=group_names)


def _legs(
    lg: pd.DataFrame,
    rec: pd.DataFrame,
    index: pd.DatetimeIndex,
    order: np.ndarray,
    entry_fill: np.ndarray,
) -> pd.DataFrame:
    """``lg`` with each leg's trade record; ``entry_fill`` is each leg's unslipped entry price.

    An exit before the planned date is a stop. Both stops are measured from the unslipped entry
    price and fill at their level (or the open beyond it) without slippage, so the side of the
    entry price the exit filled on tells them apart; the P&L cannot (fees and the entry's
    slippage can make a take profit lose).
    """
    out = lg.copy()
    fields: dict[str, Any] = {
        "shares": np.nan,
        "entry_price": np.nan,
        "exit_price": np.nan,
        "entry_fees": np.nan,
        "exit_fees": np.nan,
        "pnl": np.nan,
        "return": np.nan,
    }
    for k, v in fields.items():
        out[k] = v
    out["status"] = "not filled"
    out["exit_reason"] = ""
    if len(rec):
        col = rec["col"].to_numpy()
        out.loc[col, "shares"] = rec["size"].to_numpy()
        for k in ("entry_price", "exit_price", "entry_fees", "exit_fees", "pnl", "return"):
            out.loc[col, k] = rec[k].to_numpy()
        closed = rec["status"].to_numpy() == 1
        out.loc[col, "status"] = np.where(closed, "closed", "open")
        out.loc[col, "exit_date"] = index[rec["exit_idx"].to_numpy()]
        planned = pd.DatetimeIndex(lg["exit_date"].to_numpy()[col])
        early = closed & (index[rec["exit_idx"].to_numpy()] < planned)
        gain = (
            lg["direction"].to_numpy()[col] * (rec["exit_price"].to_numpy() - entry_fill[col]) > 0
        )
        out.loc[col, "exit_reason"] = np.where(
            ~closed,
            "open at the end",
            np.where(early, np.where(gain, "take_profit", "stop_loss"), "time"),
        )
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return out.iloc[back].reset_index(drop=True)
