"""Run a strategy: select events, plan trades, simulate them with vectorbt, measure.

Each strategy is simulated twice, each time as one vectorbt call covering the whole parameter
grid: once with one portfolio per ticker (each with ``init_cash``), once pooled (all tickers of
a market share ``init_cash``; tickers of different markets trade in different currencies, so
they are pooled per market). Every portfolio is compared with buy-and-hold of its ticker (or,
pooled, an equal-weight basket of the traded tickers) and of the benchmark over the same
sessions, and with the benchmark held only over the sessions of its trades, with the same
capital (buy-and-hold at the strategy's exposure).

Counting rules
--------------
* One position per (ticker, entry session): a second event of a ticker whose position would
  enter on the same session as an earlier one (two catalog entries of one piece of news, e.g. a
  press report and the announcement) is skipped with the reason, unless the strategy sets
  ``position.stack = true``. The one kept is the one the other repeats (``same_news_as``),
  otherwise the earlier.
* A ``[condition]`` uses the run's own event study of each event when one is given and its
  model is the condition's: an event that study dropped cannot be traded on a measured
  condition and is skipped with the study's reason. Without a study (or for another model), the
  condition is measured here, with every event of the catalog passed in as the context
  (confounding and estimation windows never depend on which events the strategy selects).
* An event whose ticker, or whose market's benchmark, has no prices is skipped with the price
  source's reason; the others (another market's, other tickers') trade as if it were not there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from backtest.markets import MARKETS, get_calendar, market_of
from backtest.portfolio import capital
from backtest.portfolio.metrics import (
    annual_volatility,
    cagr,
    compute_metrics,
    max_drawdown,
    sessions_per_year,
    sharpe,
    simple_returns,
    total_return,
    trade_statistics,
    years_spanned,
)
from backtest.portfolio.results import BacktestResult
from backtest.portfolio.simulate import _spans, simulate
from backtest.portfolio.strategy import (
    MissingAttributeError,
    Params,
    Strategy,
    StrategyError,
    Where,
)
from backtest.portfolio.trades import plan_trades
from backtest.text import did_you_mean

#: Sessions of history loaded before the first event (for a condition's estimation window).
HISTORY = 300

#: Columns of the event table that are not event attributes (known before the event).
STANDARD_COLUMNS = frozenset(
    {
        "event_id", "ticker", "is_primary", "market", "day0", "date", "timing", "time",
        "timezone", "category", "scope", "title", "n_tickers", "tags", "file", "same_news_as",
        "model", "description", "source", "direction",
    }
)  # fmt: skip

Progress = Callable[[int, int], None]

#: Metrics of the benchmark held at the strategy's exposure, added to each strategy row as
#: ``matched_<name>`` (the same capital in the benchmark over the sessions of its trades).
MATCHED_METRICS = ("total_return", "cagr", "annual_volatility", "sharpe", "max_drawdown")


# ----------------------------------------------------------------------------- selection


def _event_table(catalog: Any) -> tuple[pd.DataFrame, dict[str, str]]:
    """The event table of ``catalog`` and when each attribute is known (``before``,
    ``at_event`` or ``after``; undeclared attributes are ``at_event``)."""
    if isinstance(catalog, pd.DataFrame):
        table = catalog.reset_index(drop=True)
        declared: Mapping[str, Any] = table.attrs.get("attributes", {})
    else:
        table = catalog.to_frame()
        attributes = getattr(catalog, "attributes", None)
        declared = attributes() if callable(attributes) else {}
    known = {str(k): str(getattr(v, "known", v)) for k, v in declared.items()}
    return table, known


def _mask(
    strategy: Strategy,
    table: pd.DataFrame,
    where: Where,
    field: str,
    known: Mapping[str, str],
) -> np.ndarray:
    """Rows of ``table`` meeting every condition of ``where`` (a strategy field)."""
    ok = np.ones(len(table), dtype=bool)
    attrs = sorted(c for c in table.columns if c not in STANDARD_COLUMNS)
    for name, ops in where.items():
        at = f"{field}.{name}"
        if name not in table.columns:
            listed = f"attributes: {', '.join(attrs)}" if attrs else "the events have none"
            raise MissingAttributeError(
                strategy.file,
                [(at, f"no event attribute {name!r} ({listed}){did_you_mean(name, attrs)}")],
            )
        if known.get(name) == "after":
            raise StrategyError(
                strategy.file,
                [
                    (
                        at,
                        f"{name!r} is known only after the event (the catalog declares it "
                        "known = after): a strategy entering on the news cannot use it "
                        "(look-ahead)",
                    )
                ],
            )
        col = table[name]
        numeric = pd.to_numeric(col, errors="coerce")
        for op, value in ops.items():
            if op in ("above", "below"):
                if numeric.isna().all() and col.notna().any():
                    raise StrategyError(
                        strategy.file, [(f"{at}.{op}", f"{name!r} is not a number attribute")]
                    )
                v = numeric.to_numpy(dtype=np.float64)
                ok &= (v > value) if op == "above" else (v < value)
            else:
                wanted = value if op == "in" else (value,)
                ok &= _isin(col, numeric, wanted)
    return ok


def _isin(col: pd.Series, numeric: pd.Series, wanted: Sequence[Any]) -> np.ndarray:
    """Whether each value of ``col`` is one of ``wanted`` (numbers compared as numbers)."""
    numbers = [w for w in wanted if isinstance(w, float) and not isinstance(w, bool)]
    others = [w for w in wanted if not (isinstance(w, float) and not isinstance(w, bool))]
    out = np.zeros(len(col), dtype=bool)
    if numbers:
        out |= numeric.isin(numbers).to_numpy()
    if others:
        out |= col.isin(others).to_numpy()
    return out


#: Why a row the strategy's filters select is not traded under ``[events] primary_only``.
NOT_PRIMARY = (
    "not the event's primary ticker (set [events] primary_only = false to trade every ticker)"
)


def select_events(strategy: Strategy, catalog: Any) -> pd.DataFrame:
    """The event table rows the strategy trades, with their ``direction`` (+1 long, -1 short;
    0 when the event meets both ``long_when`` and ``short_when``).

    ``catalog`` is a :class:`~backtest.catalog.Catalog` or an event table (the columns of
    :meth:`Catalog.to_frame`, attributes as further columns; ``table.attrs["attributes"]`` may
    say when each is known). A filter matching nothing, an unknown id, ticker or attribute, or
    an attribute known only after the event is a :class:`StrategyError` naming the field.
    Under ``[events] primary_only`` (the default) only each event's primary ticker is traded;
    :func:`run_strategy` lists the other rows the filters select in ``skipped``.
    """
    return _selection(strategy, catalog)[0]


def _selection(strategy: Strategy, catalog: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`select_events`, and the rows (``event_id``, ``ticker``, ``reason``) every other
    criterion selects but ``primary_only`` leaves out (the event's other tickers)."""
    f = strategy.events
    table, known = _event_table(catalog)
    ok = np.ones(len(table), dtype=bool)
    if f.ids is not None:
        _all_known(
            strategy, "events", f.ids, table["event_id"], "no event with id {!r} in the catalog"
        )
        ok &= table["event_id"].isin(f.ids).to_numpy()
    if f.tickers is not None:
        _all_known(
            strategy, "events.tickers", f.tickers, table["ticker"], "no catalog event concerns {}"
        )
        ok &= table["ticker"].isin(f.tickers).to_numpy()
    if f.categories is not None:
        ok &= table["category"].isin(f.categories).to_numpy()
    if f.scope is not None:
        ok &= (table["scope"] == f.scope).to_numpy()
    if f.tags is not None:
        tags = table["tags"].fillna("").astype(str).str.split(",")
        wanted = set(f.tags)
        ok &= np.array([bool(wanted & set(t)) for t in tags], dtype=bool)
    dates = pd.DatetimeIndex(table["date"])  # its comparisons give arrays
    if f.start is not None:
        ok &= np.asarray(dates >= pd.Timestamp(f.start))
    if f.end is not None:
        ok &= np.asarray(dates <= pd.Timestamp(f.end))
    if f.where:
        ok &= _mask(strategy, table, f.where, "events.where", known)
    primary = np.ones(len(table), dtype=bool)
    if f.primary_only:
        primary = table["is_primary"].fillna(False).to_numpy(dtype=bool)
    direction = np.zeros(len(table), dtype=np.int64)
    matched = np.zeros(len(table), dtype=bool)
    for side, cond in strategy.position.directions().items():
        sign = 1 if side == "long" else -1
        hit = np.ones(len(table), dtype=bool)
        if cond is not None:
            hit = _mask(strategy, table, cond, f"position.{side}_when", known)
        direction = np.where(hit & matched, 0, np.where(hit, sign, direction))
        matched |= hit
    ok &= matched
    others = table.loc[ok & ~primary, ["event_id", "ticker"]].assign(reason=NOT_PRIMARY)
    ok &= primary
    chosen = table[ok].assign(direction=direction[ok])
    if chosen.empty:
        given = {
            k: v.isoformat() if isinstance(v, dt.date) else v
            for k, v in f.model_dump(exclude_none=True).items()
            if k != "primary_only"
        }
        for side, cond in strategy.position.directions().items():
            if cond is not None:
                given[f"{side}_when"] = cond
        known_cats = sorted(set(table["category"]))
        if len(others):
            why = (
                f"matches only tickers that are not their event's primary ({given}: "
                f"{len(others)} rows, e.g. {others['event_id'].iloc[0]} "
                f"{others['ticker'].iloc[0]}); set [events] primary_only = false to trade "
                "every ticker of an event"
            )
        else:
            why = f"matches no catalog event ({given}; catalog categories: {', '.join(known_cats)})"
        raise StrategyError(strategy.file, [("events", why)])
    return chosen.reset_index(drop=True), others.reset_index(drop=True)


def _all_known(
    strategy: Strategy, field: str, wanted: Sequence[str], column: pd.Series, message: str
) -> None:
    """A :class:`StrategyError` on ``field`` for the first of ``wanted`` not in ``column``."""
    have = list(dict.fromkeys(column))
    known = set(have)
    missing = [w for w in wanted if w not in known]
    if missing:
        hint = did_you_mean(missing[0], have, n=3)
        raise StrategyError(strategy.file, [(field, message.format(missing[0]) + hint)])


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


# ----------------------------------------------------------------------------- condition


def _condition_values(
    strategy: Strategy, table: pd.DataFrame, panel: Any, catalog: Any, study: Any
) -> tuple[pd.Series, pd.DataFrame]:
    """AR of the condition day per (event_id, ticker), and the events it cannot be known for.

    From ``study`` where its model is the condition's (its dropped rows are skipped with its
    reason); the other rows are measured here with the whole ``catalog`` as the context.
    """
    cond = strategy.condition
    assert cond is not None
    keys = pd.MultiIndex.from_frame(table[["event_id", "ticker"]])
    ar = pd.Series(np.nan, index=keys, dtype=np.float64)
    skipped: list[pd.DataFrame] = []
    todo = np.ones(len(table), dtype=bool)
    if study is not None and cond.model == study.spec.model:
        ev = study.events
        rows = pd.MultiIndex.from_frame(ev[["event_id", "ticker"]])
        model = ev["model"] if "model" in ev.columns else pd.Series(cond.model, index=ev.index)
        same = rows[(model.astype(str) == cond.model).to_numpy()]
        if cond.day in study.ar.columns:
            take = keys.isin(same)
            ar[take] = study.ar[cond.day].reindex(keys[take]).to_numpy()
            todo &= ~take
        drop = study.dropped
        gone = pd.MultiIndex.from_frame(drop[["event_id", "ticker"]])
        hit = keys.isin(gone) & todo
        if hit.any():
            why = drop.drop_duplicates(["event_id", "ticker"]).set_index(["event_id", "ticker"])
            reasons = why["reason"].reindex(keys[hit]).astype(str).to_numpy()
            skipped.append(
                table.loc[hit, ["event_id", "ticker"]].assign(
                    reason=[
                        "condition not measurable (the run's event study): " + r for r in reasons
                    ]
                )
            )
            todo &= ~hit
    if todo.any():
        from backtest.study import StudySpec, run_study

        spec = StudySpec(
            model=cond.model,
            windows=((cond.day, cond.day),),
            path=(min(-1, cond.day), max(1, cond.day)),
            group_by=("all",),
            max_loss=1.0,
        )
        result = run_study(table[todo], panel, spec, context=catalog)
        mine = keys[todo]
        ar[mine] = result.ar[cond.day].reindex(mine).to_numpy()
        skipped.append(
            result.dropped.assign(
                reason="condition not measurable: " + result.dropped["reason"].astype(str)
            )[["event_id", "ticker", "reason"]]
        )
    return ar, _concat(skipped, ["event_id", "ticker", "reason"])


# ----------------------------------------------------------------------------- the run


def run_strategy(
    strategy: Strategy,
    catalog: Any,
    *,
    prices: Any = None,
    source: Any = None,
    study: Any = None,
    context: Any = None,
    progress: Progress | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` on ``catalog`` events.

    Parameters
    ----------
    strategy:
        A validated :class:`~backtest.portfolio.strategy.Strategy`.
    catalog:
        The whole catalog the run knows (a :class:`~backtest.catalog.Catalog` or an event
        table): the strategy selects its events from it, and it is the context of the
        condition's event study.
    prices:
        A :class:`~backtest.prices.PricePanel` (or any object with ``open``, ``high``, ``low``
        and ``close`` frames); loaded from ``source`` when not given.
    source:
        A :class:`~backtest.prices.PriceSource` (e.g. ``backtest.prices.CsvDirSource(folder)``)
        to load the prices from when ``prices`` is not given; default: Yahoo behind the cache.
    study:
        The run's :class:`~backtest.study.EventStudyResult`; a ``[condition]`` of the same
        model reads its abnormal returns (and skips the events it dropped, with its reason).
    context:
        Every event the run knows, for the confounding rules of a condition measured here
        (rows the run's ``study`` does not have): the whole catalog plus any confounder events
        (a catalog or an event table). Default: ``catalog``.
    progress:
        Called as ``progress(done, total)`` as the run goes (planning each combination, the
        two simulations, the measurement).

    Raises
    ------
    StrategyError
        The event filter matches nothing, or the benchmark does not fit the events.
    """
    table, not_primary = _selection(strategy, catalog)
    markets = sorted(table["market"].unique())
    benchmarks = benchmarks_for(strategy, markets)
    if prices is None:
        from backtest.prices import load_prices

        start, end = price_range(table, strategy)
        tickers = list(dict.fromkeys([*table["ticker"], *(benchmarks[m] for m in markets)]))
        prices = load_prices(tickers, start.date(), end.date(), source=source)
    close, open_ = prices.close, prices.open
    failed = getattr(prices, "failed", {}) or {}

    skipped: list[pd.DataFrame] = []
    both = table["direction"] == 0
    if both.any():
        skipped.append(
            table.loc[both, ["event_id", "ticker"]].assign(
                reason="meets both position.long_when and position.short_when"
            )
        )
        table = table[~both]
    have = [t for t in close.columns if close[t].notna().any()]
    table = _skip_without_prices(table, benchmarks, set(have), failed, skipped)
    last_dates = {t: close[t].last_valid_index() for t in have}

    ar: pd.Series | None = None
    if strategy.condition is not None and len(table):
        ar, cond_dropped = _condition_values(
            strategy, table, prices, catalog if context is None else context, study
        )
        skipped.append(cond_dropped)

    grid = strategy.grid()
    total = len(grid) + 3
    legs_all = []
    for k, params in enumerate(grid):  # a loop over parameter combinations, not events
        legs, skip = _legs_for(strategy, params, table, benchmarks, ar, last_dates, open_, close)
        legs_all.append(legs.assign(combo=k))
        skipped.append(skip.assign(combo=k))
        if progress is not None:
            progress(k + 1, total)
    legs = pd.concat(legs_all, ignore_index=True)
    skipped.append(not_primary)  # last: the skips of the tickers the strategy trades first
    skipped_df = _concat(skipped, ["event_id", "ticker", "reason", "combo"])
    combos = pd.DataFrame(
        [{"combo": k, "label": p.label(strategy.swept), **dict(p)} for k, p in enumerate(grid)]
    )
    done = len(grid)

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    if legs.empty:
        result = BacktestResult.empty(strategy, combos, skipped_df, benchmarks)
        while done < total:
            step()
        return result
    return _simulate_and_measure(strategy, legs, combos, skipped_df, benchmarks, prices, step)


def _skip_without_prices(
    table: pd.DataFrame,
    benchmarks: Mapping[str, str],
    have: set[str],
    failed: Mapping[str, Any],
    skipped: list[pd.DataFrame],
) -> pd.DataFrame:
    """``table`` without the rows whose ticker, or whose market's benchmark, has no prices
    (``have``: the tickers with a close); each is appended to ``skipped`` with the price
    source's reason (``failed``), both reasons when both are missing. The other rows (another
    market's, other tickers') trade as if these were not in the catalog."""
    reasons: dict[str, str] = {}
    for market, bench in benchmarks.items():
        if bench not in have:
            what = f"benchmark {bench} (market {market})"
            reasons[market] = _no_prices_reason(bench, failed.get(bench), what=what)
    own = ~table["ticker"].isin(have).to_numpy()
    of_market = np.array([reasons.get(m, "") for m in table["market"]], dtype=object)
    out = own | (of_market != "")
    if not out.any():
        return table
    why = [
        "; ".join(r for r in (_no_prices_reason(t, failed.get(t)) if o else "", b) if r)
        for t, o, b in zip(table["ticker"][out], own[out], of_market[out], strict=True)
    ]
    skipped.append(table.loc[out, ["event_id", "ticker"]].assign(reason=why))
    return table[~out]


def _no_prices_reason(ticker: str, failure: Any, *, what: str | None = None) -> str:
    """``no prices for T: why (hint)``: the source's reason once, without the ticker and
    the "no prices" its own message starts with (``what`` names ``T`` otherwise, e.g.
    ``benchmark ^HSI``)."""
    head = f"no prices for {what or ticker}"
    if failure is None:
        return head
    reason = getattr(failure, "reason", None)
    if reason is not None:
        hint = getattr(failure, "hint", "")
        text = str(reason) + (f" ({hint})" if hint else "")
    else:
        text = str(failure)
    for prefix in (f"{ticker}:", "no prices for", "no prices:", "no prices"):
        text = text.strip()
        if text.lower().startswith(prefix.lower()):
            text = text[len(prefix) :]
    text = text.strip(" :")
    return f"{head}: {text}" if text else head


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
        direction=events["direction"].to_numpy(),
        hedge=strategy.position.hedge,
        benchmarks=benchmarks,
        condition_day=cond.day if cond is not None else None,
        last_dates=last_dates,
    )
    skipped.append(plan.skipped)
    legs = plan.trades
    if not strategy.position.stack:
        legs = _one_position_per_session(legs, events, skipped)
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


def _one_position_per_session(
    legs: pd.DataFrame, events: pd.DataFrame, skipped: list[pd.DataFrame]
) -> pd.DataFrame:
    """``legs`` with one position per (ticker, entry session): of several events whose
    positions enter together, the one another repeats (``same_news_as``), else the earliest
    (by date, then catalog order), is kept; the others are skipped with the reason."""
    pos = legs[legs["leg"] == "position"]
    if pos.empty:
        return legs
    info = events.drop_duplicates(["event_id", "ticker"]).set_index(["event_id", "ticker"])
    key = pd.MultiIndex.from_frame(pos[["event_id", "ticker"]])
    order = pd.Series(np.arange(len(info)), index=info.index).reindex(key).to_numpy()
    repeats = np.zeros(len(pos), dtype=bool)
    if "same_news_as" in info.columns:
        repeats = info["same_news_as"].reindex(key).notna().to_numpy()
    ranked = pos.assign(
        _repeats=repeats, _date=info["date"].reindex(key).to_numpy(), _order=order
    ).sort_values(["_repeats", "_date", "_order"], kind="stable")
    dup = ranked.duplicated(["ticker", "entry_date"], keep="first")
    if not dup.any():
        return legs
    first = ranked[~dup].set_index(["ticker", "entry_date"])["event_id"]
    later = ranked[dup]
    kept = first.reindex(pd.MultiIndex.from_frame(later[["ticker", "entry_date"]])).to_numpy()
    skipped.append(
        later[["event_id", "ticker"]].assign(
            reason=[
                f"{t} already enters on {d.date()} for {k} (one position per ticker and entry "
                "session; set position.stack = true to trade both)"
                for t, d, k in zip(later["ticker"], later["entry_date"], kept, strict=True)
            ]
        )
    )
    gone = set(zip(later["event_id"], later["ticker"], strict=True))
    keep = [
        (e, t) not in gone for e, t in zip(legs["event_id"], legs["ticker"], strict=True)
    ]  # fmt: skip
    return legs[np.asarray(keep, dtype=bool)]


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


# ----------------------------------------------------------------------------- measurement


def _simulate_and_measure(
    strategy: Strategy,
    legs: pd.DataFrame,
    combos: pd.DataFrame,
    skipped: pd.DataFrame,
    benchmarks: dict[str, str],
    prices: Any,
    step: Callable[[], None],
) -> BacktestResult:
    close, open_ = prices.close, prices.open
    init_cash = strategy.portfolio.init_cash
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
    runs, capital_skips = _capped_runs(
        legs, groups, prices, index, init_cash, strategy.portfolio.leverage, step
    )
    if len(capital_skips):
        skipped = _concat(
            [skipped, capital_skips.drop(columns=["entry_date"])],
            ["event_id", "ticker", "reason", "combo"],
        )
    # valuation series on the simulation index, filled as the simulation fills them
    on_index = {
        "close": close.reindex(index).ffill().bfill(),
        "open": open_.reindex(index).ffill().bfill(),
    }
    rows: list[dict[str, Any]] = []
    blocks: dict[str, list[tuple[tuple[Any, ...], np.ndarray]]] = {}
    stats: list[dict[str, Any]] = []
    held_cache: dict[tuple[str, str], tuple[dict[str, Any], np.ndarray]] = {}
    bench_arrays = {  # the benchmarks of the markets traded (another's may have no prices)
        b: (on_index["open"][b].to_numpy(np.float64), on_index["close"][b].to_numpy(np.float64))
        for b in {benchmarks[m] for m in legs["market"].unique()}
    }
    for grouping, run in runs.items():
        trades = _event_trades(run.legs, index, on_index, benchmarks)
        trade_cols = _Columns(trades, ["return", "pnl", "capital", "fill", "entry_pos", "exit_pos"])
        no_trades = np.zeros(0, dtype=np.int64)
        members = run.legs.groupby("group", sort=False)
        by_group = members.indices
        first = run.legs.iloc[[ix[0] for ix in by_group.values()]].set_index("group")
        trade_groups = trades.groupby("group", sort=False).indices
        value_all = run.value.to_numpy(dtype=np.float64)
        exposure_all = run.exposure.to_numpy(dtype=bool)
        col_of = {name: i for i, name in enumerate(run.value.columns)}
        for market in sorted(first["market"].unique()):
            sessions = get_calendar(str(market)).sessions
            on_mask = index.isin(sessions)
            on = index[on_mask]
            on_dates = on.to_numpy()
            bench = benchmarks[market]
            bench_px = on_index["close"][bench].to_numpy()[on_mask]
            bench_held, bench_value = _held(
                held_cache, ("bench", bench), bench_px, on, bench_px, init_cash
            )
            for name in first.index[first["market"] == market]:
                combo_s, portfolio = str(name).split("|", 1)
                combo = int(combo_s)
                value = value_all[on_mask, col_of[name]]
                t = trade_cols.take(trade_groups.get(name, no_trades))
                m = compute_metrics(
                    value,
                    on_dates,
                    trade_returns=t["return"],
                    trade_pnl=t["pnl"],
                    exposure=exposure_all[on_mask, col_of[name]],
                    bench_value=bench_px,
                )
                base = {"combo": combo, "portfolio": portfolio, "market": market}
                # the benchmark held over the same sessions as the trades, with their capital
                matched = _matched_value(t, bench_arrays[bench], init_cash)[on_mask]
                rows.append(
                    {
                        **base,
                        "kind": "strategy",
                        "subject": portfolio,
                        **m,
                        **_matched_metrics(matched, on_dates),
                    }
                )
                out = blocks.setdefault(str(market), [])
                out.append(((combo, portfolio, "strategy"), value))
                out.append(((combo, portfolio, f"{bench} at the strategy's exposure"), matched))
                # buy-and-hold comparisons over the same sessions, scaled to the same capital
                if grouping == "ticker":
                    px = on_index["close"][portfolio].to_numpy()[on_mask]
                    held = {f"buy & hold {portfolio}": _held(
                        held_cache, ("ticker", portfolio), px, on, bench_px, init_cash
                    )}  # fmt: skip
                else:
                    tickers = sorted(run.legs["ticker"].iloc[by_group[name]].unique())
                    basket = on_index["close"][tickers].to_numpy()[on_mask]
                    px = (basket / basket[0]).mean(axis=1)
                    held = {"buy & hold equal-weight basket": _held(
                        held_cache, ("basket", ",".join(tickers)), px, on, bench_px, init_cash
                    )}  # fmt: skip
                held[f"buy & hold {bench}"] = (bench_held, bench_value)
                for label, (mb, bh_value) in held.items():
                    subject = label.removeprefix("buy & hold ")
                    rows.append({**base, "kind": "buy_and_hold", "subject": subject, **mb})
                    out.append(((combo, portfolio, label), bh_value))
                if grouping == "pooled":
                    # the trades the pooled portfolio made, at the sizes it filled them: not
                    # the per-ticker run's, which has the trades its capital skipped
                    ppy = sessions_per_year(on.to_numpy())
                    every = _trades_within(trades, run, combo, market, index, on_index, benchmarks)
                    stats.append(
                        {
                            "combo": combo,
                            "portfolio": portfolio,
                            "market": market,
                            **trade_statistics(
                                every["return"].to_numpy(),
                                bench_returns=every["bench_return"].to_numpy(),
                                directions=every["direction"].to_numpy(),
                                sizes=every["capital"].to_numpy(),
                                sessions=every["sessions"].to_numpy(),
                                periods_per_year=ppy,
                            ),
                            "exposure": m["exposure"],
                        }
                    )
    step()
    metrics = pd.DataFrame(rows)
    sim_legs = runs["ticker"].legs  # per-ticker run: every leg filled with its own capital
    trades_out = sim_legs.merge(combos[["combo", "label"]], on="combo", how="left")
    frames = []
    for market, items in blocks.items():
        on = index[index.isin(get_calendar(market).sessions)]
        frames.append(
            pd.DataFrame(
                np.column_stack([v for _, v in items]),
                index=on,
                columns=pd.MultiIndex.from_tuples(
                    [k for k, _ in items], names=["combo", "portfolio", "series"]
                ),
            )
        )
    equity = pd.concat(frames, axis=1, sort=True) if len(frames) > 1 else frames[0]
    return BacktestResult(
        strategy=strategy,
        combos=combos,
        metrics=metrics,
        trades=trades_out.drop(columns=["group"], errors="ignore"),
        pooled_trades=runs["pooled"].legs.drop(columns=["group"], errors="ignore"),
        equity=equity,
        skipped=skipped,
        benchmarks=benchmarks,
        trade_stats=pd.DataFrame(stats),
        data={
            "first": index[0].date().isoformat(),
            "last": index[-1].date().isoformat(),
            "sessions": len(index),
            "price_sources": sorted(
                {str(getattr(i, "source", "")) for i in getattr(prices, "provenance", {}).values()}
            ),
        },
    )


def _capped_runs(
    legs: pd.DataFrame,
    groups: Mapping[str, pd.Series],
    prices: Any,
    index: pd.DatetimeIndex,
    init_cash: float,
    leverage: float,
    step: Callable[[], None],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The per-ticker and pooled simulations of the legs each portfolio's capital admits
    (:mod:`backtest.portfolio.capital`), and the trades skipped for want of capital.

    Every leg's course filled in full comes from the per-ticker simulation when it filled
    every leg in full (the usual case), else from one with cash enough for every leg; a
    grouping whose capital admits every leg keeps that simulation."""

    def run(frame: pd.DataFrame, labels: pd.Series, cash: float) -> Any:
        return simulate(
            frame.assign(group=labels),
            open_=prices.open,
            high=prices.high,
            low=prices.low,
            close=prices.close,
            index=index,
            init_cash=cash,
        )

    first = run(legs, groups["ticker"], init_cash)
    full = capital.filled_in_full(first.legs)
    if full.all():
        course_run = first
    else:  # cash for every leg at once: no order is filled partly
        costs = legs["size"].to_numpy(dtype=np.float64) * (
            1.0 + legs["fees"].to_numpy(dtype=np.float64)
            + legs["slippage"].to_numpy(dtype=np.float64)
        )  # fmt: skip
        course_run = run(legs, groups["ticker"], init_cash + 2.0 * float(costs.sum()))
    course = capital.outcomes(course_run.legs, index)
    names = list(dict.fromkeys(legs["underlying"]))
    close = prices.close.reindex(index)[names].ffill().bfill().to_numpy(dtype=np.float64)
    col = pd.Index(names).get_indexer(legs["underlying"])
    runs: dict[str, Any] = {}
    skips = []
    for grouping, labels in groups.items():
        shown = labels.str.split("|", n=1).str[1]
        if grouping == "ticker":
            shown = shown + "'s portfolio"
        keep, skip = capital.admit(
            legs, labels.to_numpy(), course, close, col, index,
            init_cash=init_cash, leverage=leverage, names=shown.to_numpy(),
        )  # fmt: skip
        skips.append(skip)
        if keep.all() and grouping == "ticker":
            runs[grouping] = first
        else:
            runs[grouping] = run(legs[keep], labels[keep], init_cash)
        step()
    every = _concat(skips, ["event_id", "ticker", "reason", "combo", "entry_date"])
    if len(every):
        every = every.sort_values("entry_date", kind="stable").reset_index(drop=True)
    return runs, every


def _held(
    cache: dict[tuple[str, str], tuple[dict[str, Any], np.ndarray]],
    key: tuple[str, str],
    px: np.ndarray,
    on: pd.DatetimeIndex,
    bench_px: np.ndarray,
    init_cash: float,
) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics and value of holding ``px`` with ``init_cash`` over ``on`` (computed once per
    instrument: every combination of a run shares the sessions)."""
    if key not in cache:
        value = init_cash * px / px[0]
        cache[key] = (
            compute_metrics(
                value, on.to_numpy(), exposure=np.ones(len(on), dtype=bool), bench_value=bench_px
            ),
            value,
        )
    return cache[key]


def _event_trades(
    legs: pd.DataFrame,
    index: pd.DatetimeIndex,
    prices: Mapping[str, pd.DataFrame],
    benchmarks: Mapping[str, str],
) -> pd.DataFrame:
    """One row per closed traded event: the P&L of its legs summed, as a return on the
    position's capital (a hedged trade is one trade), with the position leg's direction,
    capital, sessions held and the benchmark's return over the same sessions."""
    cols = ["group", "combo", "event_id", "ticker", "market", "pnl", "return", "direction",
            "capital", "sessions", "bench_return", "fill", "entry_pos", "exit_pos"]  # fmt: skip
    filled = legs[legs["status"] != "not filled"]
    if filled.empty:
        return pd.DataFrame(columns=cols)
    key = ["group", "combo", "event_id", "ticker"]
    agg = filled.groupby(key, sort=False).agg(pnl=("pnl", "sum"), status=("status", "min"))
    pos = filled[filled["leg"] == "position"].set_index(key)
    pos = pos.reindex(agg.index)
    closed = (agg["status"] == "closed").to_numpy()
    agg, pos = agg[closed], pos[closed]
    d = pos["direction"].to_numpy(dtype=np.float64)
    # the capital the position took: its shares at the unslipped entry price
    capital = (pos["shares"] * pos["entry_price"] / (1.0 + d * pos["slippage"])).to_numpy()
    entry = index.get_indexer(pd.DatetimeIndex(pos["entry_date"]))
    exit_ = index.get_indexer(pd.DatetimeIndex(pos["exit_date"]))
    bench = pos["market"].map(benchmarks).to_numpy()
    at_open = (pos["fill"] == "open").to_numpy()
    b_in = np.where(at_open, _lookup_pos(prices["open"], entry, bench),
                    _lookup_pos(prices["close"], entry, bench))  # fmt: skip
    b_out = np.where(at_open, _lookup_pos(prices["open"], exit_, bench),
                     _lookup_pos(prices["close"], exit_, bench))  # fmt: skip
    out = agg.reset_index()
    return out.assign(
        market=pos["market"].to_numpy(),
        direction=d,
        capital=capital,
        sessions=exit_ - entry,
        bench_return=b_out / b_in - 1.0,
        fill=pos["fill"].to_numpy(),
        entry_pos=entry,
        exit_pos=exit_,
        **{"return": out["pnl"].to_numpy() / capital},
    )[cols]


def trades_of(
    run: Any,
    combo: int,
    market: str,
    index: pd.DatetimeIndex,
    prices: Mapping[str, pd.DataFrame],
    benchmarks: Mapping[str, str],
) -> pd.DataFrame:
    """The closed trades of one combination and market in a run (one per event and ticker)."""
    legs = run.legs
    sel = legs[(legs["combo"] == combo) & (legs["market"] == market)]
    return _event_trades(sel, index, prices, benchmarks)


def _trades_within(
    trades: pd.DataFrame,
    run: Any,
    combo: int,
    market: str,
    index: pd.DatetimeIndex,
    prices: Mapping[str, pd.DataFrame],
    benchmarks: Mapping[str, str],
) -> pd.DataFrame:
    """:func:`trades_of` ``run``, taken from ``trades`` (the run's trades, all combinations
    and markets, as :func:`_event_trades` gave them) instead of being computed again: each row
    depends on its own legs only and the order is that of first appearance, so the rows of one
    combination and market are the same, in the same order."""
    mine = trades[(trades["combo"] == combo) & (trades["market"] == market)]
    if not len(mine):
        return trades_of(run, combo, market, index, prices, benchmarks)
    return mine.reset_index(drop=True)


def _matched_value(
    trades: Mapping[str, np.ndarray], bench: tuple[np.ndarray, np.ndarray], init_cash: float
) -> np.ndarray:
    """Value of ``init_cash`` holding the benchmark long over each trade's sessions with the
    trade's capital, without costs: the benchmark at the strategy's exposure.

    ``bench`` is the benchmark's (open, close) on the simulation index. Each trade buys
    ``capital / P_in`` units at the benchmark's price of the trade's entry (its open or close,
    as the trade) and sells at that price on its exit session; in between the units are valued
    at the close, as the strategy's positions are.
    """
    opens, close = bench
    n = len(close)
    value = np.full(n, float(init_cash))
    entry = np.asarray(trades["entry_pos"], dtype=np.int64)
    if not entry.size:
        return value
    exit_ = np.asarray(trades["exit_pos"], dtype=np.int64)
    fill = np.asarray(trades["fill"]) == "open"
    p_in = np.where(fill, opens[entry], close[entry])
    p_out = np.where(fill, opens[exit_], close[exit_])
    units = np.asarray(trades["capital"], dtype=np.float64) / p_in
    rows, which = _spans(entry, exit_ - 1)  # held at the closes of [entry, exit)
    np.add.at(value, rows, units[which] * (close[rows] - p_in[which]))
    realised = np.zeros(n + 1)
    np.add.at(realised, exit_, units * (p_out - p_in))
    return value + np.cumsum(realised)[:n]


def _matched_metrics(value: np.ndarray, dates: np.ndarray) -> dict[str, float]:
    """:data:`MATCHED_METRICS` of a value path, as ``matched_<name>``."""
    r = simple_returns(value)
    ppy = sessions_per_year(dates)
    return {
        "matched_total_return": total_return(value),
        "matched_cagr": cagr(value, years_spanned(dates)),
        "matched_annual_volatility": annual_volatility(r, ppy),
        "matched_sharpe": sharpe(r, ppy),
        "matched_max_drawdown": max_drawdown(value, dates).depth,
    }


class _Columns:
    """Columns of a frame as arrays, to take rows from cheaply."""

    def __init__(self, frame: pd.DataFrame, names: Sequence[str]) -> None:
        self.arrays = {c: frame[c].to_numpy() for c in names}

    def take(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {c: a[rows] for c, a in self.arrays.items()}


def _lookup_pos(frame: pd.DataFrame, rows: np.ndarray, names: np.ndarray) -> np.ndarray:
    """``frame.iloc[row, column named name]`` for each pair (rows are positions)."""
    c = frame.columns.get_indexer(names)
    return frame.to_numpy(dtype=np.float64)[rows, c]


def _lookup(frame: pd.DataFrame, dates: pd.DatetimeIndex, names: np.ndarray) -> np.ndarray:
    """``frame.loc[date, name]`` for each pair; NaN where the date or name is absent."""
    r = frame.index.get_indexer(dates)
    c = frame.columns.get_indexer(names)
    out = np.full(len(r), np.nan)
    ok = (r >= 0) & (c >= 0)
    out[ok] = frame.to_numpy(dtype=np.float64)[r[ok], c[ok]]
    return out
