"""Run a strategy: select events, plan trades, simulate them with vectorbt, measure.

Each strategy is simulated twice, each time as one vectorbt call covering the whole parameter
grid: once with one portfolio per ticker (each with ``init_cash``), once pooled (all tickers of
a market share ``init_cash``; tickers of different markets trade in different currencies, so
they are pooled per market). Every portfolio is compared with buy-and-hold of its ticker (or,
pooled, an equal-weight basket of the traded tickers) and of the benchmark over the same
sessions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from backtest.catalog import Catalog
from backtest.markets import MARKETS, get_calendar, market_of
from backtest.portfolio.metrics import compute_metrics
from backtest.portfolio.results import BacktestResult
from backtest.portfolio.simulate import simulate
from backtest.portfolio.strategy import Params, Strategy, StrategyError
from backtest.portfolio.trades import plan_trades

#: Sessions of history loaded before the first event (for a condition's estimation window).
HISTORY = 300


def select_events(strategy: Strategy, catalog: Catalog) -> pd.DataFrame:
    """The event table rows the strategy trades; a filter matching nothing is an error."""
    f = strategy.events
    try:
        chosen = catalog.filter(
            ids=f.ids,
            categories=f.categories,
            tickers=f.tickers,
            tags=f.tags,
            scope=f.scope,
            start=f.start,
            end=f.end,
            where=f.where,
        )
    except (LookupError, KeyError) as exc:
        raise StrategyError(strategy.file, [("events", str(exc).strip("'\""))]) from None
    table = chosen.to_frame()
    if f.primary_only:
        table = table[table["is_primary"]]
    if f.tickers:
        table = table[table["ticker"].isin(f.tickers)]
    if table.empty:
        given = {k: v for k, v in f.model_dump(exclude_none=True).items() if k != "primary_only"}
        known = sorted({e.category for e in catalog})
        raise StrategyError(
            strategy.file,
            [
                (
                    "events",
                    f"matches no catalog event ({given}; catalog categories: {', '.join(known)})",
                )
            ],
        )
    return table.reset_index(drop=True)


def benchmarks_for(strategy: Strategy, markets: Sequence[str]) -> dict[str, str]:
    """Benchmark per market: the strategy's for its own market, the market default elsewhere."""
    out = {m: MARKETS[m].default_benchmark for m in markets}
    b = strategy.portfolio.benchmark
    if b:
        m = market_of(b).code
        if m not in out and markets:
            raise StrategyError(
                strategy.file,
                [
                    (
                        "portfolio.benchmark",
                        f"{b} trades on {m}, but the events trade on {', '.join(markets)}",
                    )
                ],
            )
        out[m] = b
    return out


def price_range(table: pd.DataFrame, strategy: Strategy) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Dates of prices needed: history before the first event, room for the longest trade."""
    longest = int(max(strategy.exit.hold)) + int(max(strategy.entry.lag)) + 3
    if strategy.condition is not None:
        longest += max(strategy.condition.day, 0) + 1
    starts, ends = [], []
    for market, block in table.groupby("market"):
        sessions = get_calendar(str(market)).sessions
        lo = sessions.searchsorted(block["day0"].min()) - HISTORY
        hi = sessions.searchsorted(block["day0"].max()) + longest
        starts.append(sessions[max(lo, 0)])
        ends.append(sessions[min(hi, len(sessions) - 1)])
    period = strategy.portfolio
    if period.start is not None:
        starts.append(pd.Timestamp(period.start))
    if period.end is not None:
        ends.append(pd.Timestamp(period.end))
    return min(starts), max(ends)


def _condition_values(
    strategy: Strategy, table: pd.DataFrame, panel: Any, catalog: Catalog
) -> tuple[pd.Series, pd.DataFrame]:
    """AR of the condition day per (event_id, ticker), and the events it could not measure."""
    from backtest.study import StudySpec, run_study

    cond = strategy.condition
    assert cond is not None
    spec = StudySpec(
        model=cond.model,
        windows=((cond.day, cond.day),),
        path=(min(-1, cond.day), max(1, cond.day)),
        group_by=("all",),
        max_loss=1.0,
    )
    result = run_study(table, panel, spec, context=catalog)
    ar = result.ar[cond.day]
    dropped = result.dropped.assign(
        reason="condition not measurable: " + result.dropped["reason"].astype(str)
    )[["event_id", "ticker", "reason"]]
    return ar, dropped


def run_strategy(
    strategy: Strategy,
    catalog: Catalog,
    *,
    prices: Any = None,
    prices_dir: str | None = None,
    cache: Any = None,
    progress: bool = False,
) -> BacktestResult:
    """Backtest ``strategy`` on ``catalog`` events.

    Parameters
    ----------
    strategy:
        A validated :class:`~backtest.portfolio.strategy.Strategy`.
    catalog:
        The events catalog (also the context for the condition's event study).
    prices:
        A :class:`~backtest.prices.PricePanel` with open, high, low and close; loaded with
        :func:`~backtest.prices.load_prices` (``prices_dir``, ``cache``) when not given.

    Raises
    ------
    StrategyError
        The event filter matches nothing, or the benchmark does not fit the events.
    """
    table = select_events(strategy, catalog)
    markets = sorted(table["market"].unique())
    benchmarks = benchmarks_for(strategy, markets)
    if prices is None:
        from backtest.prices import load_prices

        start, end = price_range(table, strategy)
        tickers = list(dict.fromkeys([*table["ticker"], *(benchmarks[m] for m in markets)]))
        prices = load_prices(
            tickers,
            start.date(),
            end.date(),
            prices_dir=prices_dir,
            cache=cache,
            progress=progress,
        )
    close, open_ = prices.close, prices.open
    high, low = prices.high, prices.low
    failed = getattr(prices, "failed", {}) or {}

    skipped: list[pd.DataFrame] = []
    have = [t for t in close.columns if close[t].notna().any()]
    no_prices = ~table["ticker"].isin(have)
    if no_prices.any():
        why = table.loc[no_prices, "ticker"].map(
            lambda t: f"no prices for {t}" + (f": {failed[t]}" if t in failed else "")
        )
        skipped.append(table.loc[no_prices, ["event_id", "ticker"]].assign(reason=why.to_numpy()))
        table = table[~no_prices]
    missing_bench = [b for b in benchmarks.values() if b not in have]
    if missing_bench:
        raise StrategyError(
            strategy.file,
            [("portfolio.benchmark", f"no prices for benchmark {', '.join(missing_bench)}")],
        )
    last_dates = {t: close[t].last_valid_index() for t in have}

    ar: pd.Series | None = None
    if strategy.condition is not None and len(table):
        ar, cond_dropped = _condition_values(strategy, table, prices, catalog)
        skipped.append(cond_dropped)

    grid = strategy.grid()
    swept = strategy.swept
    legs_all = []
    for k, params in enumerate(grid):  # a loop over parameter combinations, not events
        legs, skip = _legs_for(strategy, params, table, benchmarks, ar, last_dates, open_, close)
        legs_all.append(legs.assign(combo=k))
        skipped.append(skip.assign(combo=k))
    legs = pd.concat(legs_all, ignore_index=True)
    skipped_df = _concat(skipped, ["event_id", "ticker", "reason", "combo"])
    combos = pd.DataFrame(
        [{"combo": k, "label": p.label(swept), **dict(p)} for k, p in enumerate(grid)]
    )
    return _simulate_and_measure(
        strategy, legs, combos, skipped_df, benchmarks, prices, close, open_, high, low
    )


def _legs_for(
    strategy: Strategy,
    params: Params,
    table: pd.DataFrame,
    benchmarks: dict[str, str],
    ar: pd.Series | None,
    last_dates: dict[str, Any],
    open_: pd.DataFrame,
    close: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The legs of one parameter combination, and the events skipped, with reasons."""
    skipped = []
    events = table
    cond = strategy.condition
    if cond is not None and ar is not None:
        key = pd.MultiIndex.from_frame(events[["event_id", "ticker"]])
        values = ar.reindex(key).to_numpy()
        measured = ~np.isnan(values)
        passes = measured.copy()
        below, above = params.get("condition.below"), params.get("condition.above")
        if below is not None:
            passes &= values < below
        if above is not None:
            passes &= values > above
        out = measured & ~passes
        if out.any():
            text = [f"condition not met: AR({cond.day:+d}) = {v:+.2%}" for v in values[out]]
            skipped.append(events.loc[out, ["event_id", "ticker"]].assign(reason=text))
        events = events[passes]
    plan = plan_trades(
        events,
        fill=strategy.entry.fill,
        lag=int(params["entry.lag"]),
        hold=int(params["exit.hold"]),
        direction=1 if strategy.position.direction == "long" else -1,
        hedge=strategy.position.hedge,
        benchmarks=benchmarks,
        condition_day=cond.day if cond is not None else None,
        last_dates=last_dates,
    )
    skipped.append(plan.skipped)
    legs = plan.trades
    # a fixed evaluation period: trades must open and close inside it
    lo, hi = strategy.portfolio.start, strategy.portfolio.end
    why = np.full(len(legs), "", dtype=object)
    outside = np.zeros(len(legs), dtype=bool)
    if lo is not None:
        outside |= (legs["entry_date"] < pd.Timestamp(lo)).to_numpy()
    if hi is not None:
        outside |= (legs["exit_date"] > pd.Timestamp(hi)).to_numpy()
    why[outside] = [
        f"trade {a.date()} to {b.date()} is outside the portfolio period "
        f"{lo or 'start'} to {hi or 'end'}"
        for a, b in zip(legs["entry_date"][outside], legs["exit_date"][outside], strict=True)
    ]
    legs = _drop_events(legs, why, skipped)
    # every fill needs a price: the entry's and the planned exit's, of the entry's kind (the
    # same for every leg of the plan); a leg missing both is reported for its entry
    fill = "open" if strategy.entry.fill == "next_open" else "close"
    names = legs["underlying"].to_numpy()
    why = np.full(len(legs), "", dtype=object)
    for which in ("exit", "entry"):
        dates = pd.DatetimeIndex(legs[f"{which}_date"])
        miss = ~np.isfinite(_lookup(open_ if fill == "open" else close, dates, names))
        why[miss] = [
            f"no {fill} price for {u} on {d.date()} ({which})"
            for u, d in zip(names[miss], dates[miss], strict=True)
        ]
    legs = _drop_events(legs, why, skipped)
    legs = legs.assign(
        size=params["position.size"],
        fees=params["costs.fees"],
        slippage=params["costs.slippage"],
        stop_loss=params.get("exit.stop_loss") if params.get("exit.stop_loss") else np.nan,
        take_profit=params.get("exit.take_profit") if params.get("exit.take_profit") else np.nan,
    )
    return legs.reset_index(drop=True), _concat(skipped, ["event_id", "ticker", "reason"])


def _drop_events(legs: pd.DataFrame, why: np.ndarray, skipped: list[pd.DataFrame]) -> pd.DataFrame:
    """``legs`` without every event (event id and ticker) that has a leg with a reason ``why``
    (non-empty): a hedge never trades alone. Appends to ``skipped`` one row per such event,
    with the reason of its first such leg."""
    flagged = why != ""
    if not flagged.any():
        return legs
    first = legs.assign(reason=why)[flagged].drop_duplicates(["event_id", "ticker"])
    skipped.append(first[["event_id", "ticker", "reason"]])
    key = legs["event_id"] + "|" + legs["ticker"]
    return legs[~key.isin(set(key[flagged]))]


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """The non-empty ``frames`` one after the other; an empty table with ``columns`` if none."""
    full = [f for f in frames if len(f)]
    return pd.concat(full, ignore_index=True) if full else pd.DataFrame(columns=columns)


def _simulate_and_measure(
    strategy: Strategy,
    legs: pd.DataFrame,
    combos: pd.DataFrame,
    skipped: pd.DataFrame,
    benchmarks: dict[str, str],
    prices: Any,
    close: pd.DataFrame,
    open_: pd.DataFrame,
    high: pd.DataFrame,
    low: pd.DataFrame,
) -> BacktestResult:
    init_cash = strategy.portfolio.init_cash
    if legs.empty:
        return BacktestResult.empty(strategy, combos, skipped, benchmarks)
    dates = close.index
    period = strategy.portfolio
    if period.start is not None:
        start_pos = dates.searchsorted(pd.Timestamp(period.start))
    else:  # the session before the first entry
        start_pos = max(dates.searchsorted(pd.Timestamp(legs["entry_date"].min())) - 1, 0)
    last = pd.Timestamp(period.end if period.end is not None else legs["exit_date"].max())
    index = pd.DatetimeIndex(dates[start_pos : dates.searchsorted(last, "right")])
    prefix = legs["combo"].astype(str) + "|"
    groups = {"ticker": prefix + legs["ticker"], "pooled": prefix + "pooled " + legs["market"]}
    runs = {
        grouping: simulate(
            legs.assign(group=labels),
            open_=open_,
            high=high,
            low=low,
            close=close,
            index=index,
            init_cash=init_cash,
        )
        for grouping, labels in groups.items()
    }
    sim_legs = runs["ticker"].legs  # per-ticker run: every leg filled with its own capital
    pooled_legs = runs["pooled"].legs
    rows: list[dict[str, Any]] = []
    equity: dict[tuple[Any, ...], pd.Series] = {}
    for grouping, run in runs.items():
        by_group = dict(list(run.legs.groupby("group", sort=False)))
        for name in run.value.columns:
            combo_s, portfolio = str(name).split("|", 1)
            combo = int(combo_s)
            members = by_group[name]
            market = members["market"].iloc[0]
            sessions = get_calendar(market).sessions
            on = index[index.isin(sessions)]
            value = run.value[name].reindex(on)
            trades = _event_trades(members)
            bench = benchmarks[market]
            bench_px = close[bench].reindex(on).ffill().bfill()
            m = compute_metrics(
                value.to_numpy(),
                on.to_numpy(),
                trade_returns=trades["return"].to_numpy(),
                trade_pnl=trades["pnl"].to_numpy(),
                exposure=run.exposure[name].reindex(on).to_numpy(),
                bench_value=bench_px.to_numpy(),
            )
            rows.append(
                {
                    "combo": combo,
                    "portfolio": portfolio,
                    "kind": "strategy",
                    "subject": portfolio,
                    "market": market,
                    **m,
                }
            )
            equity[(combo, portfolio, "strategy")] = value
            # buy-and-hold comparisons over the same sessions, scaled to the same capital
            if grouping == "ticker":
                holds = {f"buy & hold {portfolio}": close[portfolio].reindex(on).ffill().bfill()}
            else:
                basket = close[sorted(members["ticker"].unique())].reindex(on).ffill().bfill()
                holds = {"buy & hold equal-weight basket": (basket / basket.iloc[0]).mean(axis=1)}
            holds[f"buy & hold {bench}"] = bench_px
            for label, px in holds.items():
                bh_value = init_cash * px / px.iloc[0]
                mb = compute_metrics(
                    bh_value.to_numpy(),
                    on.to_numpy(),
                    exposure=np.ones(len(on), dtype=bool),
                    bench_value=bench_px.to_numpy(),
                )
                rows.append(
                    {
                        "combo": combo,
                        "portfolio": portfolio,
                        "kind": "buy_and_hold",
                        "subject": label.removeprefix("buy & hold "),
                        "market": market,
                        **mb,
                    }
                )
                equity[(combo, portfolio, label)] = bh_value
    metrics = pd.DataFrame(rows)
    trades = sim_legs.merge(combos[["combo", "label"]], on="combo", how="left")
    equity_df = pd.DataFrame(equity)
    equity_df.columns = pd.MultiIndex.from_tuples(
        list(equity), names=["combo", "portfolio", "series"]
    )
    return BacktestResult(
        strategy=strategy,
        combos=combos,
        metrics=metrics,
        trades=trades.drop(columns=["group"], errors="ignore"),
        pooled_trades=pooled_legs.drop(columns=["group"], errors="ignore"),
        equity=equity_df,
        skipped=skipped,
        benchmarks=benchmarks,
        data={
            "first": index[0].date().isoformat(),
            "last": index[-1].date().isoformat(),
            "sessions": len(index),
            "price_sources": sorted(
                {str(getattr(i, "source", "")) for i in getattr(prices, "provenance", {}).values()}
            ),
        },
    )


def _lookup(frame: pd.DataFrame, dates: pd.DatetimeIndex, names: np.ndarray) -> np.ndarray:
    """``frame.loc[date, name]`` for each pair; NaN where the date or name is absent."""
    r = frame.index.get_indexer(dates)
    c = frame.columns.get_indexer(names)
    out = np.full(len(r), np.nan)
    ok = (r >= 0) & (c >= 0)
    out[ok] = frame.to_numpy(dtype=np.float64)[r[ok], c[ok]]
    return out


def _event_trades(legs: pd.DataFrame) -> pd.DataFrame:
    """One row per traded event: the P&L of its legs summed, as a return on the position's
    size (a hedged trade is one trade)."""
    filled = legs[legs["status"] != "not filled"]
    if filled.empty:
        return pd.DataFrame({"pnl": [], "return": []})
    closed = filled.groupby(["combo", "event_id", "ticker"], sort=False).agg(
        pnl=("pnl", "sum"), size=("size", "first"), status=("status", "min")
    )
    closed = closed[closed["status"] == "closed"]
    return pd.DataFrame({"pnl": closed["pnl"], "return": closed["pnl"] / closed["size"]})
