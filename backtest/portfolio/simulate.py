"""The vectorbt simulation of planned trades (the only module that imports vectorbt).

Every leg of every trade (and every parameter combination of a sweep) is a position of its own:
overlapping events of one ticker are separate trades that each exit exactly ``hold`` sessions
after their own entry. vectorbt keeps one position per column and ignores a new entry while one
is open, so two overlapping legs never share a column; legs that do not overlap may, one after
the other.

Lanes
-----
The legs of one capital group (a ticker's portfolio, or a pooled one) that trade the same
instrument with the same rules (underlying, entry price kind, direction, size, costs, stops) are
packed into *lanes*: each leg goes to the first lane whose previous leg exited strictly before it
enters (greedy interval colouring, which uses as many lanes as the most legs open at once). A
lane is one vectorbt column; the columns of a group share its cash. So the simulation has
``sessions x lanes`` cells -- lanes are as many as the deepest overlap of trades per instrument,
not one per trade -- and the per-leg inputs (entry and exit signals, the processing order) are
written only on the sessions each leg is held.

Within a session, vectorbt processes a group's columns in its call sequence. The call sequence
given here orders the lanes by the leg each one holds on that session, in the order the legs were
given, which is the order in which one-column-per-leg would process them; so when a pooled
portfolio runs short of cash, the same legs are filled, partly filled or refused as they would be
with one column per leg, and a lane behaves exactly like separate columns (a closed lane holds no
position, debt or stop into its next leg).

Compiled code
-------------
vectorbt compiles its simulation kernel (``simulate_from_signals_nb``) without numba's on-disk
cache, so every process paid for compiling it (3-9 s) on its first simulation. Here the same
kernel (vectorbt's own function, unchanged) is compiled with ``cache=True``, once per machine, and
called with arguments of one fixed set of types (2-D C-contiguous arrays), so a process loads it
from the cache instead. The accounting (values, positions, trades) is vectorbt's too: the
functions its ``Portfolio`` computes them with, called on the arrays directly (building a
``Portfolio`` wraps every (sessions x columns) step in a pandas frame: 2-3 s on the S&P 500
earnings); a test checks both ways agree.

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

import functools
import heapq
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

#: Simulations with lanes drawn again before every leg gets a column (see :func:`simulate`).
MAX_REPACKS = 8

#: Columns of a leg that must be equal for two legs to share a lane (besides the group).
_LANE_KEY = [
    "underlying",
    "fill",
    "direction",
    "size",
    "fees",
    "slippage",
    "stop_loss",
    "take_profit",
]

# vectorbt's enum values (vectorbt.portfolio.enums), spelled out so that the kernel's arguments
# are plain integers: SizeType.Value, Direction.LongOnly / ShortOnly, ConflictMode.Ignore,
# DirectionConflictMode.Ignore, OppositeEntryMode.Ignore, AccumulationMode.Disabled,
# StopEntryPrice.Price, StopExitPrice.StopLimit, StopExitMode.Close, StopUpdateMode.Override
_SIZE_VALUE = 1
_LONG, _SHORT = 0, 1
_IGNORE = 0
_DISABLED = 0
_STOP_ENTRY_PRICE = 1
_STOP_EXIT_STOPLIMIT = 0
_STOP_EXIT_CLOSE = 0
_STOP_UPDATE_OVERRIDE = 1
_BOTH = 2  # Direction.Both: positions of either sign


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


@functools.cache
def _kernel() -> Any:
    """vectorbt's ``simulate_from_signals_nb``, compiled with numba's on-disk cache."""
    import numba
    from vectorbt.portfolio import nb

    return numba.njit(cache=True)(nb.simulate_from_signals_nb.py_func)


def _wide(prices: pd.DataFrame, index: pd.DatetimeIndex, names: list[str]) -> np.ndarray:
    """(T, len(names)) prices on ``index``; gaps (closed days, before the listing) filled from
    neighbouring sessions for valuation only: no order is ever placed on them."""
    return prices.reindex(index)[names].ffill().bfill().to_numpy(dtype=np.float64)


def _assign_lanes(key: np.ndarray, entry: np.ndarray, exit_: np.ndarray) -> np.ndarray:
    """Lane of each leg within its key: the lowest lane whose last leg exited before it enters.

    Legs are placed in order of entry (ties in input order); a lane is free for a leg entering
    at session ``e`` when its last leg exits at a session ``< e`` (an exit and an entry on the
    same session of one column would be a signal conflict).
    """
    lane = np.empty(len(key), dtype=np.int64)
    order = np.lexsort((np.arange(len(key)), entry, key))
    current = -1
    busy: list[tuple[int, int]] = []  # (exit session, lane) of the legs still open
    free: list[int] = []
    n_lanes = 0
    for i in order:  # one pass over the legs; heaps keep it O(n log depth)
        if key[i] != current:
            current, busy, free, n_lanes = key[i], [], [], 0
        while busy and busy[0][0] < entry[i]:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            lane[i] = heapq.heappop(free)
        else:
            lane[i] = n_lanes
            n_lanes += 1
        heapq.heappush(busy, (int(exit_[i]), int(lane[i])))
    return lane


def _spans(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers ``start[j] .. stop[j]`` (inclusive) of every span, and the span of each."""
    lengths = stop - start + 1
    which = np.repeat(np.arange(len(start)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return start[which] + offsets, which


def simulate(
    legs: pd.DataFrame,
    *,
    open_: pd.DataFrame,
    high: pd.DataFrame,
    low: pd.DataFrame,
    close: pd.DataFrame,
    index: pd.DatetimeIndex,
    init_cash: float,
    pack: bool = True,
) -> Simulation:
    """Simulate ``legs`` (one row per leg, columns :data:`LEG_COLUMNS`) with vectorbt.

    ``group`` labels which legs share capital (``init_cash`` each). ``direction`` is +1 or
    -1, ``fill`` ``open`` or ``close``; ``stop_loss``/``take_profit`` are fractions or NaN.
    Entry and exit dates must be in ``index`` with finite prices (the caller checks).
    ``pack=False`` gives every leg a column of its own (what packing must equal; for tests).
    """
    order = np.argsort(legs["group"].to_numpy(), kind="stable")  # vectorbt: contiguous groups
    lg = legs.iloc[order].reset_index(drop=True)
    n = len(lg)
    entry_pos = index.get_indexer(pd.DatetimeIndex(lg["entry_date"]))
    exit_pos = index.get_indexer(pd.DatetimeIndex(lg["exit_date"]))
    if (entry_pos < 0).any() or (exit_pos < 0).any():
        raise ValueError("every entry and exit date must be a date of the simulation index")
    if (exit_pos <= entry_pos).any():
        raise ValueError("every leg must exit on a session after its entry")

    # lanes: legs of one group and instrument with the same rules, never open at once
    group_codes, group_names = pd.factorize(lg["group"], sort=False)
    keys = lg[_LANE_KEY].assign(group=group_codes)
    key = keys.groupby(["group", *_LANE_KEY], sort=False, dropna=False).ngroup().to_numpy()
    # A leg whose exit leaves part of its position open (a short that the group's cash cannot
    # fully cover) keeps its lane to itself from then on, as a column of its own would: such
    # legs are found by simulating, and the lanes drawn again until none is left behind
    # (every such leg found in a run is kept apart in the next; the run before the first one
    # is exact, so the set only grows). After MAX_REPACKS, every leg gets a column.
    sticky = np.zeros(n, dtype=bool)
    never = np.full(n, len(index) + 1)
    for _ in range(MAX_REPACKS if pack else 0):
        lane = _assign_lanes(key, entry_pos, np.where(sticky, never, exit_pos))
        run = _run(lg, key, lane, entry_pos, exit_pos, group_codes, group_names, open_, high,
                   low, close, index, init_cash)  # fmt: skip
        if not run.leftover.any():
            break
        sticky |= run.leftover
    else:
        run = _run(lg, key, np.arange(n), entry_pos, exit_pos, group_codes, group_names,
                   open_, high, low, close, index, init_cash)  # fmt: skip
    return Simulation(
        value=run.value,
        exposure=_exposure(run.rec, group_codes[run.rec_leg], pd.Index(group_names), index),
        legs=_legs(lg, run.rec, run.rec_leg, index, order, run.entry_fill, run.exit_fill),
    )


@dataclass(frozen=True)
class _Run:
    value: pd.DataFrame
    rec: np.ndarray  # vectorbt's exit trade records
    rec_leg: np.ndarray  # the leg of each record
    entry_fill: np.ndarray  # each leg's unslipped entry price
    exit_fill: np.ndarray  # each leg's unslipped price on its planned exit session
    leftover: np.ndarray  # legs whose exit left a position that a later leg of its column met


def _run(
    lg: pd.DataFrame,
    key: np.ndarray,
    lane: np.ndarray,
    entry_pos: np.ndarray,
    exit_pos: np.ndarray,
    group_codes: np.ndarray,
    group_names: pd.Index,
    open_: pd.DataFrame,
    high: pd.DataFrame,
    low: pd.DataFrame,
    close: pd.DataFrame,
    index: pd.DatetimeIndex,
    init_cash: float,
) -> _Run:
    """One vectorbt simulation of the legs ``lg`` (sorted by group) in columns (key, lane)."""

    n = len(lg)
    # one column per (key, lane), ordered by group and then by the first leg each one holds
    pair = key.astype(np.int64) * (n + 1) + lane
    first_leg = pd.Series(np.arange(n)).groupby(pair).min()
    col_pairs = first_leg.sort_values(kind="stable").index.to_numpy()
    col = pd.Index(col_pairs).get_indexer(pair)
    n_cols = len(col_pairs)
    head = first_leg.loc[col_pairs].to_numpy()  # a leg of each column: its rules and group
    col_group = group_codes[head]
    group_lens = np.bincount(col_group, minlength=len(group_names)).astype(np.int64)

    # per-column inputs (1, C): every leg of a column shares them
    def per_col(name: str) -> np.ndarray:
        return np.ascontiguousarray(lg[name].to_numpy(dtype=np.float64)[head][None, :])

    direction = np.where(lg["direction"].to_numpy()[head] > 0, _LONG, _SHORT)[None, :]
    sl = per_col("stop_loss")
    tp = per_col("take_profit")
    use_stops = bool(np.isfinite(sl).any() or np.isfinite(tp).any())
    names = lg["underlying"].to_numpy()[head]
    unique = list(dict.fromkeys(names))
    upos = pd.Index(unique).get_indexer(names)
    c_all = _wide(close, index, unique)
    o_all = _wide(open_, index, unique)
    c = np.ascontiguousarray(c_all[:, upos])
    at_open = (lg["fill"].to_numpy()[head] == "open")[None, :]
    price = np.ascontiguousarray(np.where(at_open, o_all[:, upos], c))
    none = np.full((1, 1), np.nan)
    if use_stops:
        o = np.ascontiguousarray(o_all[:, upos])
        h = np.ascontiguousarray(_wide(high, index, unique)[:, upos])
        lo = np.ascontiguousarray(_wide(low, index, unique)[:, upos])
    else:  # open, high and low are read only by stops
        o = h = lo = none
    n_rows = len(index)
    entries = np.zeros((n_rows, n_cols), dtype=np.bool_)
    exits = np.zeros((n_rows, n_cols), dtype=np.bool_)
    entries[entry_pos, col] = True
    exits[exit_pos, col] = True
    if use_stops:
        # a leg filled at the open leaves at its exit session's open: only that open is seen
        # while it is held there (vectorbt checks stops before exit signals, against the whole
        # session's low and high)
        at = at_open[0, col] & np.isfinite(o[exit_pos, col])
        cell = (exit_pos[at], col[at])
        h[cell] = lo[cell] = o[cell]
    call_seq = _call_seq(entry_pos, exit_pos, col, group_lens, n_rows)

    def const(value: float, dtype: Any = np.float64) -> np.ndarray:
        return np.full((1, 1), value, dtype=dtype)

    args = (
        (n_rows, n_cols),
        group_lens,
        np.full(len(group_names), float(init_cash)),
        call_seq,
        entries,
        exits,
        np.ascontiguousarray(direction.astype(np.int64)),
        const(False, np.bool_),  # long_entries, long_exits, short_entries, short_exits
        const(False, np.bool_),
        const(False, np.bool_),
        const(False, np.bool_),
        per_col("size"),
        price,
        const(_SIZE_VALUE, np.int64),
        per_col("fees"),
        const(0.0),  # fixed_fees
        per_col("slippage"),
        const(0.0),  # min_size
        const(np.inf),  # max_size
        const(np.nan),  # size_granularity
        const(0.0),  # reject_prob
        const(False, np.bool_),  # lock_cash
        const(True, np.bool_),  # allow_partial
        const(False, np.bool_),  # raise_reject
        const(False, np.bool_),  # log
        const(_DISABLED, np.int64),  # accumulate
        const(_IGNORE, np.int64),  # upon_long_conflict
        const(_IGNORE, np.int64),  # upon_short_conflict
        const(_IGNORE, np.int64),  # upon_dir_conflict
        const(_IGNORE, np.int64),  # upon_opposite_entry
        const(np.inf),  # val_price: the order's own price
        o,
        h,
        lo,
        c,
        sl,
        const(False, np.bool_),  # sl_trail
        tp,
        const(_STOP_ENTRY_PRICE, np.int64),
        const(_STOP_EXIT_STOPLIMIT, np.int64),
        const(_STOP_EXIT_CLOSE, np.int64),
        const(_STOP_UPDATE_OVERRIDE, np.int64),
        use_stops,
        False,  # auto_call_seq
        True,  # ffill_val_price
        False,  # update_value
    )
    tail = (0, False, True)  # max_logs, init_temp_records, flex_2d
    try:  # room for an entry and an exit per leg: enough unless a stop fills partly
        order_records, _ = _kernel()(*args, 2 * n, *tail)
    except IndexError:  # a partial stop exit repeats: the worst case, an order per cell
        order_records, _ = _kernel()(*args, 2 * n + n_rows * n_cols, *tail)
    value_arr, assets, rec = _accounting(order_records, c, group_lens, float(init_cash))
    value = pd.DataFrame(value_arr, index=index, columns=pd.Index(group_names))
    # each trade record back to its leg: the leg of that column entering on that session
    leg_key = col.astype(np.int64) * (n_rows + 1) + entry_pos
    by_key = np.argsort(leg_key)
    rec_key = rec["col"].astype(np.int64) * (n_rows + 1) + rec["entry_idx"]
    rec_leg = by_key[np.searchsorted(leg_key[by_key], rec_key)]
    return _Run(
        value=value,
        rec=rec,
        rec_leg=rec_leg,
        entry_fill=price[entry_pos, col],
        exit_fill=price[exit_pos, col],
        leftover=_leftover(assets, entry_pos, exit_pos, col),
    )


def _accounting(
    order_records: np.ndarray, close: np.ndarray, group_lens: np.ndarray, init_cash: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group values, column positions and exit-trade records from the order records, by the
    functions vectorbt's ``Portfolio`` computes ``value()``, ``assets()`` and ``trades`` with
    (its numba engine; ``close`` has no gaps), without wrapping each step in pandas."""
    from vectorbt.portfolio import dispatch
    from vectorbt.records import dispatch as records

    shape = close.shape
    eng = "numba"
    col_map = records.col_map(order_records["col"], shape[1], engine=eng)
    flow = dispatch.asset_flow(shape, order_records, col_map, _BOTH, engine=eng)
    assets = dispatch.assets(flow, engine=eng)
    cash_flow = dispatch.cash_flow(shape, order_records, col_map, False, engine=eng)
    grouped_flow = dispatch.cash_flow_grouped(cash_flow, group_lens, engine=eng)
    init = np.full(len(group_lens), init_cash)
    cash = dispatch.cash_grouped(shape, grouped_flow, group_lens, init, engine=eng)
    marked = np.where(assets == 0, 0.0, close)  # as Portfolio.asset_value does
    held = dispatch.asset_value(marked, assets, engine=eng)
    asset_value = dispatch.asset_value_grouped(held, group_lens, engine=eng)
    value = dispatch.value(cash, asset_value, engine=eng)
    trades = dispatch.get_exit_trades(order_records, close, col_map, engine=eng)
    return value, assets, trades


def _leftover(
    assets: np.ndarray, entry_pos: np.ndarray, exit_pos: np.ndarray, col: np.ndarray
) -> np.ndarray:
    """Legs still holding part of their position after their exit session while a later leg
    of the same column follows (which would meet that position)."""
    order = np.lexsort((entry_pos, col))
    followed = np.zeros(len(col), dtype=bool)
    followed[order[:-1]] = col[order[:-1]] == col[order[1:]]
    if not followed.any():
        return followed
    return followed & (assets[exit_pos, col] != 0)


def _call_seq(
    entry: np.ndarray, exit_: np.ndarray, col: np.ndarray, group_lens: np.ndarray, n_rows: int
) -> np.ndarray:
    """vectorbt's call sequence (T, C): per session, each group's columns in the order of the
    legs they hold then (legs in input order), idle columns last in column order."""
    n_cols = int(group_lens.sum())
    start = np.cumsum(group_lens) - group_lens
    call_seq = np.zeros((n_rows, n_cols), dtype=np.int64)
    multi = np.flatnonzero(group_lens > 1)
    if not len(multi):
        return call_seq
    # priority of each cell: the leg held on that session, else after every leg
    rank = np.full((n_rows, n_cols), len(entry), dtype=np.int64)
    rows, which = _spans(entry, exit_)
    rank[rows, col[which]] = which
    for g in multi:  # groups, not legs
        a, b = start[g], start[g] + group_lens[g]
        call_seq[:, a:b] = np.argsort(rank[:, a:b], axis=1, kind="stable")
    return call_seq


def _exposure(
    rec: np.ndarray, groups: np.ndarray, group_names: pd.Index, index: pd.DatetimeIndex
) -> pd.DataFrame:
    """Held at the close of sessions [entry, exit): True where any leg of the group is open."""
    n = len(index)
    held = np.zeros((n + 1, len(group_names)), dtype=np.int64)
    if len(rec):
        start = rec["entry_idx"]
        open_at_end = rec["status"] == 0
        stop = np.where(open_at_end, n, rec["exit_idx"])
        np.add.at(held, (start, groups), 1)
        np.add.at(held, (stop, groups), -1)
    counts = np.cumsum(held, axis=0)[:n]
    return pd.DataFrame(counts > 0, index=index, columns=group_names)


def _legs(
    lg: pd.DataFrame,
    rec: np.ndarray,
    rec_leg: np.ndarray,
    index: pd.DatetimeIndex,
    order: np.ndarray,
    entry_fill: np.ndarray,
    exit_fill: np.ndarray,
) -> pd.DataFrame:
    """``lg`` with each leg's trade record (``rec_leg``: the leg of each record);
    ``entry_fill`` and ``exit_fill`` are each leg's unslipped prices on its entry and planned
    exit sessions.

    An exit before the planned date is a stop; so is one on the planned session at another
    price than the planned exit's (its unslipped price with the slippage, as vectorbt fills
    it): a stop that fired before that session's close, for a leg filled at closes, or at an
    open that gapped through it, for one filled at opens. Both stops are measured from the
    unslipped entry price and fill at their level (or the open beyond it) without slippage, so
    the side of the entry price the exit filled on tells them apart; the P&L cannot (fees and
    the entry's slippage can make a take profit lose).
    """
    out = lg.copy()
    n = len(lg)
    fields = {
        "shares": "size",
        "entry_price": "entry_price",
        "exit_price": "exit_price",
        "entry_fees": "entry_fees",
        "exit_fees": "exit_fees",
        "pnl": "pnl",
        "return": "return",
    }
    for k, source in fields.items():
        values = np.full(n, np.nan)
        values[rec_leg] = rec[source]
        out[k] = values
    status = np.full(n, "not filled", dtype=object)
    reason = np.full(n, "", dtype=object)
    exit_dates = lg["exit_date"].to_numpy(dtype="datetime64[ns]").copy()
    if len(rec):
        closed = rec["status"] == 1
        status[rec_leg] = np.where(closed, "closed", "open")
        actual = index[rec["exit_idx"]].to_numpy(dtype="datetime64[ns]")
        planned = exit_dates[rec_leg]
        exit_dates[rec_leg] = actual
        sign = lg["direction"].to_numpy()[rec_leg]
        slip = lg["slippage"].to_numpy(dtype=np.float64)[rec_leg]
        # vectorbt's own arithmetic: a sell fills at price * (1 - slippage), a buy at (1 + ...)
        timed = np.where(sign > 0, exit_fill[rec_leg] * (1 - slip), exit_fill[rec_leg] * (1 + slip))
        early = closed & ((actual < planned) | ((actual == planned) & (rec["exit_price"] != timed)))
        gain = sign * (rec["exit_price"] - entry_fill[rec_leg]) > 0
        reason[rec_leg] = np.where(
            ~closed,
            "open at the end",
            np.where(early, np.where(gain, "take_profit", "stop_loss"), "time"),
        )
    out["status"] = status
    out["exit_reason"] = reason
    out["exit_date"] = exit_dates
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return out.iloc[back].reset_index(drop=True)
