"""The report's tables, built from a run's results (numbers, not text).

Every number the report shows comes from one of these frames; the CSV and JSON files are these
frames written out, and the HTML and Markdown pages format them. Nothing here measures anything:
it selects, joins and reshapes what the event study, the backtests and the claims produced.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from backtest.portfolio.results import LEG_COLUMNS, METRIC_COLUMNS, TRADE_STATS_COLUMNS
from backtest.reports import fmt
from backtest.study.spec import Window, window_label
from backtest.study.statistics import t_quantile

FloatArray = npt.NDArray[np.float64]


_MEMO: contextvars.ContextVar[dict[tuple[Any, ...], tuple[Any, Any]] | None] = (
    contextvars.ContextVar("evbt_report_tables", default=None)
)
F = TypeVar("F", bound=Callable[..., pd.DataFrame])


@contextlib.contextmanager
def reuse() -> Iterator[None]:
    """Within the block, each table below is built once per study and arguments (a report
    asks for the event table of every ticker page; building it once is the saving)."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def _once(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(study: Any, *args: Any) -> pd.DataFrame:
        memo = _MEMO.get()
        if memo is None:
            return fn(study, *args)
        key = (fn.__name__, id(study), *args)
        hit = memo.get(key)
        if hit is None or hit[0] is not study:
            hit = (study, fn(study, *args))
            memo[key] = hit
        return hit[1].copy()

    return wrapper  # type: ignore[return-value]


R = TypeVar("R")


def memo(fn: Callable[..., R]) -> Callable[..., R]:
    """Like :func:`_once` for any result and a first argument that is an object or a list
    of objects (the run, a backtest, the backtests): built once per :func:`reuse` block,
    keyed by the objects' identity (kept, so that a reused id is no false hit). A frame or
    dict is handed out as a copy, so that a caller's change stays its own."""

    @functools.wraps(fn)
    def wrapper(first: Any, *args: Any) -> R:
        store = _MEMO.get()
        if store is None:
            return fn(first, *args)
        objs = tuple(first) if isinstance(first, list | tuple) else (first,)
        key = (fn.__qualname__, fn.__module__, *map(id, objs), *args)
        hit = store.get(key)
        if hit is None or any(a is not b for a, b in zip(hit[0], objs, strict=True)):
            hit = (objs, fn(first, *args))
            store[key] = hit
        value: Any = hit[1]
        if isinstance(value, pd.DataFrame | dict):
            value = value.copy()
        return cast(R, value)

    return wrapper


def ticker_rows(frame: pd.DataFrame, ticker: str, by: str = "ticker") -> pd.DataFrame:
    """The rows of ``frame`` whose column (or index level) ``by`` is ``ticker`` as text, in
    their order: ``frame[frame[by].astype(str) == ticker]``, with the frame split once per
    :func:`reuse` block (a report of 500 ticker pages asked each table 500 times)."""
    at = _ticker_positions(frame, by).get(str(ticker))
    return frame.iloc[at if at is not None else []]


def study_rows(
    build: Callable[..., pd.DataFrame], study: Any, ticker: str, *args: Any
) -> pd.DataFrame:
    """``ticker_rows(build(study, *args), ticker)`` with the table built and split once per
    :func:`reuse` block (the tables of :func:`_once` hand out a copy on every call)."""
    return ticker_rows(_held(study, build, *args)[0], ticker)


@memo
def _held(study: Any, build: Callable[..., pd.DataFrame], *args: Any) -> tuple[pd.DataFrame]:
    return (build(study, *args),)  # a tuple: memo hands it out as it is, not a copy


@memo
def _ticker_positions(frame: pd.DataFrame, by: str) -> dict[str, npt.NDArray[np.intp]]:
    values = frame[by] if by in frame.columns else frame.index.get_level_values(by)
    keys = pd.Series(np.asarray(values.astype(str)), dtype=object)
    return {str(k): np.asarray(ix) for k, ix in keys.groupby(keys, sort=False).indices.items()}


@memo
def skipped_table(r: Any) -> pd.DataFrame:
    """``r.skipped_table()`` (a backtest's skipped events, rebuilt on every call there)."""
    return r.skipped_table()


def catalog_events(catalog: Any) -> pd.DataFrame:
    """The run's catalog as the ticker pages list its events when the study did not run:
    ``event_id, ticker, title, category, day0, timing`` (one row per event and ticker)."""
    return catalog.to_frame()[["event_id", "ticker", "title", "category", "day0", "timing"]]


def untraded_table(result: Any, ticker: str, events: Sequence[str]) -> pd.DataFrame:
    """The ``events`` of ``ticker`` (those the study measured) that no strategy traded in
    any combination, one row per event and strategy: ``event_id, strategy, reason,
    combinations``, in the order of ``events``. A strategy that neither traded nor skipped
    the event did not select it (its ``[events]`` filters or position conditions): its
    reason and combinations are empty. No strategy: no row."""
    cols = ["event_id", "strategy", "reason", "combinations"]
    measured = dict.fromkeys(str(e) for e in events)
    skips = []
    for r in result.backtests:
        if len(r.trades):
            for e in ticker_rows(r.trades, ticker)["event_id"].astype(str):
                measured.pop(e, None)
        sk = _held(r, skipped_table)[0]
        sk = ticker_rows(sk, ticker) if len(sk) else sk
        # each event's skips, grouped once (not a mask per event)
        skips.append(
            dict(list(sk.groupby(sk["event_id"].astype(str), sort=False))) if len(sk) else {}
        )
    rows = []
    for e in measured:
        for r, by_event in zip(result.backtests, skips, strict=True):
            mine = by_event.get(e)
            if mine is None:
                rows.append((e, r.strategy.name, "", ""))
                continue
            rows += [(e, r.strategy.name, x.reason, x.combinations) for x in mine.itertuples()]
    return pd.DataFrame(rows, columns=cols)


#: The window the summary ranks reactions by.
MAIN_WINDOW: Window = (-1, 1)


def main_window(study: Any) -> Window:
    """[-1,+1] when the study measured it, else its first window."""
    windows = tuple(tuple(w) for w in study.spec.windows)
    return MAIN_WINDOW if MAIN_WINDOW in windows else windows[0]


# ------------------------------------------------------------------------------ event study


@_once
def event_table(study: Any) -> pd.DataFrame:
    """One row per measured (event, ticker): context, AR(0), and per window CAR, t, p, BHAR.

    Window columns are named ``car[-1,+1]``, ``t[-1,+1]``, ``p[-1,+1]``, ``bhar[-1,+1]``.
    ``confounded_by`` lists the catalog events inside the row's window span. The events'
    attributes (:attr:`~backtest.study.EventStudyResult.attributes`) follow the context columns.
    """
    ev = study.events
    cols = [
        "event_id", "ticker", "title", "category", "scope", "market", "day0", "timing",
        "benchmark", "model", "model_reason", "alpha", "beta", "sigma", "n_est", "confounded",
        "clustered", "cluster_size", "timing_unknown", "overlaps", "primary_obs",
        "not_total_return", "price_warning",
    ]  # fmt: skip
    # the events' attributes (surprise_pct, sector, a user's own fields) follow the context
    attrs = [c for c in getattr(study, "attributes", []) if c in ev.columns and c not in cols]
    out = ev[[c for c in cols if c in ev.columns] + attrs].copy()
    key = pd.MultiIndex.from_frame(out[["event_id", "ticker"]])
    out["ar0"] = study.ar[0].reindex(key).to_numpy() if 0 in study.ar.columns else np.nan
    w = study.windows.pivot_table(
        index=["event_id", "ticker"],
        columns="window",
        values=["car", "t", "p", "bhar"],
        sort=False,
    )
    for label in (window_label(x) for x in study.spec.windows):
        for v in ("car", "t", "p", "bhar"):
            out[f"{v}{label}"] = (
                w[(v, label)].reindex(key).to_numpy() if (v, label) in w.columns else np.nan
            )
    c = study.confounders.astype({"other_event_id": str})
    conf = c.groupby(["event_id", "ticker"], observed=True)["other_event_id"].agg(
        lambda s: ", ".join(sorted(s))
    )
    joined = conf.reindex(key).astype(object).to_numpy()
    out["confounded_by"] = ["" if pd.isna(v) else v for v in joined]
    return out.reset_index(drop=True)


@_once
def group_rows(study: Any, group_by: str, window: Window) -> pd.DataFrame:
    """The CAAR rows of one grouping over one window, each with the study's ONE headline test
    as it is: ``test`` (its name, the study's ``headline``), ``stat`` (``headline_stat``),
    ``p`` (``headline_p``) and the 95% interval that same test implies (``lo``, ``hi``;
    infinite when the test rejects no value: see :func:`backtest.reports.fmt.interval`);
    ``n`` observations, ``n_rows`` catalog rows, ``merged`` (rows merged into another's
    observation) and the study's ``notes``. The report computes no test of its own."""
    label = window_label(window)
    g = study.group_table(group_by, "CAAR")
    g = g[g["window"] == label].copy()
    g["test"] = g["headline"].fillna("").astype(str)
    g["stat"] = g["headline_stat"]
    g["p"] = g["headline_p"]
    if "notes" not in g.columns:
        g["notes"] = ""
    g["notes"] = g["notes"].fillna("").astype(str)
    return g.reset_index(drop=True)


def t_half_width(se: npt.ArrayLike, n: npt.ArrayLike, level: float = 0.95) -> FloatArray:
    """Half-width of a two-sided t interval: ``t_{(1+level)/2, n-1} * |se|``; NaN where n < 2
    or the standard error is missing."""
    s = np.asarray(se, dtype=np.float64)
    k = np.asarray(n, dtype=np.float64)
    q = t_quantile(0.5 + level / 2.0, np.maximum(k - 1.0, 1.0))
    return np.where((k >= 2) & np.isfinite(s), q * np.abs(s), np.nan)


@_once
def category_table(study: Any, window: Window | None = None) -> pd.DataFrame:
    """Per measured category: observations ``n`` (after merging overlaps), catalog rows
    ``n_rows`` and ``merged``, CAAR over ``window`` (default :func:`main_window`), the headline
    test with its statistic, p and 95% interval (:func:`group_rows`); largest CAAR first.
    :func:`category_overview` adds the rows the study dropped (and the categories it measured
    none of)."""
    window = window or main_window(study)
    g = group_rows(study, "category", window)
    g = g.rename(columns={"group": "category", "value": "caar"})
    cols = [
        "category",
        "window",
        "n",
        "n_rows",
        "merged",
        "caar",
        "lo",
        "hi",
        "test",
        "stat",
        "p",
        "notes",
    ]
    return g[cols].sort_values("caar", ascending=False, kind="stable").reset_index(drop=True)


def _counted(
    table: pd.DataFrame, key: str, label: str, measured: pd.Series, dropped: pd.Series
) -> pd.DataFrame:
    """``table`` (one row per ``key`` with a group over the window ``label``) with
    ``measured`` and ``dropped``: how many (event, ticker) rows of each the study measured and
    dropped (the values of ``measured`` and ``dropped``, one a row), followed by a row for
    every other ``key`` of either (``n`` 0, no CAAR; e.g. one whose every row was dropped):
    every ticker and category of the catalog has its row."""
    m = measured.astype(str).value_counts(sort=False)
    d = dropped.astype(str).value_counts(sort=False)
    keys = table[key].astype(str)
    out = table.assign(
        measured=keys.map(m).fillna(0).astype(int).to_numpy(),
        dropped=keys.map(d).fillna(0).astype(int).to_numpy(),
    )
    have = set(keys)
    only = [k for k in dict.fromkeys([*m.index, *d.index]) if k not in have and k != ""]
    if only:
        zero = {c: 0 for c in ("n", "n_rows", "merged", "n_positive") if c in out.columns}
        rest = pd.DataFrame(
            {
                key: only,
                "window": label,
                "measured": [int(m.get(k, 0)) for k in only],
                "dropped": [int(d.get(k, 0)) for k in only],
                **zero,
            }
        )
        out = pd.concat([out, rest], ignore_index=True)
        for c in ("test", "notes"):
            if c in out.columns:
                out[c] = out[c].fillna("")
        out = out.astype(dict.fromkeys(zero, int))
    return out.reset_index(drop=True)


@_once
def ticker_table(study: Any, window: Window | None = None) -> pd.DataFrame:
    """Per ticker of the study (measured or dropped), most observations first: ``events``
    (its (event, ticker) rows: ``measured`` + ``dropped``), ``n`` observations (rows whose
    windows overlap merged into one), ``n_rows`` rows with a CAR over ``window``, CAAR over
    ``window`` with the headline test and its interval, and ``n_positive`` of the ``n_rows``
    CARs above zero (``positive``: their share). A ticker whose every row was dropped has its
    row too, with ``n`` 0 and no CAAR."""
    window = window or main_window(study)
    label = window_label(window)
    g = group_rows(study, "ticker", window).rename(columns={"group": "ticker", "value": "caar"})
    w = study.windows[study.windows["window"] == label]
    by = w["ticker"].astype(str)
    up = (w["car"] > 0).groupby(by).sum()  # over the rows with a CAR (NaN is not above 0)
    keys = g["ticker"].astype(str)
    g["n_positive"] = keys.map(up).fillna(0).astype(int)
    # as floats: mapped on no ticker (a study whose every row was dropped) the map keeps str
    g["positive"] = g["n_positive"] / keys.map(w["car"].groupby(by).count()).astype(float)
    g = _counted(g, "ticker", label, study.events["ticker"], study.dropped["ticker"])
    g["events"] = g["measured"] + g["dropped"]
    cols = [
        "ticker", "window", "events", "measured", "dropped", "n", "n_rows", "caar", "lo", "hi",
        "n_positive", "positive", "test", "stat", "p",
    ]  # fmt: skip
    return g[cols].sort_values("n", ascending=False, kind="stable").reset_index(drop=True)


@memo
def category_overview(result: Any, window: Window | None = None) -> pd.DataFrame:
    """:func:`category_table` of the run's study with, per category, the (event, ticker) rows
    the study ``measured`` and ``dropped`` (the category of a dropped row is its catalog
    event's, :func:`study_dropped`), and a row for every category whose every row was dropped
    (``n`` 0, no CAAR), after the measured ones."""
    study = result.study
    window = window or main_window(study)
    cats = category_table(study, window)
    dropped = study_dropped(result)
    return _counted(
        cats, "category", window_label(window), study.events["category"], dropped["category"]
    )


@memo
def study_dropped(result: Any) -> pd.DataFrame:
    """The study's dropped rows (``event_id, ticker, stage, reason``) with their catalog
    event's ``date``, ``title`` and ``category`` (empty for a row of no catalog event)."""
    d = result.study.dropped
    events = {e.id: e for e in (*getattr(result.context, "events", ()), *result.catalog)}
    found = [events.get(str(i)) for i in d["event_id"]]
    out = d[["event_id", "ticker"]].assign(
        date=[e.date.isoformat() if e is not None else "" for e in found],
        title=[e.title if e is not None else "" for e in found],
        category=[e.category if e is not None else "" for e in found],
    )
    return out.assign(stage=d["stage"].to_numpy(), reason=d["reason"].to_numpy())


def test_table(study: Any) -> pd.DataFrame:
    """Every group's CAAR and ABHAR rows with every test statistic and p-value (tidy)."""
    g = study.groups
    return g[g["measure"].isin(["CAAR", "ABHAR"])].reset_index(drop=True)


def top_reactions(study: Any, n: int = 6, window: Window | None = None) -> pd.DataFrame:
    """The ``n`` largest single-event reactions over ``window`` by |CAR|, significant or
    not (the t and p say which are)."""
    window = window or main_window(study)
    label = window_label(window)
    ev = event_table(study)
    car = ev[f"car{label}"]
    top = ev.loc[car.abs().sort_values(ascending=False).index[:n]]
    cols = ["event_id", "ticker", "title", "category", "day0", "ar0"]
    out = top[cols].copy()
    out["window"] = label
    out["car"] = top[f"car{label}"]
    out["t"] = top[f"t{label}"]
    out["p"] = top[f"p{label}"]
    return out.reset_index(drop=True)


def category_takeaway(study: Any, window: Window | None = None, level: float = 0.05) -> str:
    """One sentence: which categories' CAAR differs from zero at ``level`` (headline test)."""
    window = window or main_window(study)
    label = window_label(window)
    cats = category_table(study, window)
    sig = cats[cats["p"] < level]
    if len(sig):
        listed = "; ".join(
            f"{r.category.replace('_', ' ')} {fmt.pct(r.caar)} (p {fmt.pval(r.p)}, n={r.n})"
            for r in sig.itertuples(index=False)
        )
        return f"At the {level:.0%} level, the CAAR{label} differs from zero for: {listed}."
    valued = cats[cats["caar"].notna()]  # a category with no row over the window has none
    if not len(valued):
        return f"No category has a CAAR{label}: no measured row has a value over that window."
    big = valued.reindex(valued["caar"].abs().sort_values(ascending=False).index).head(2)
    largest = " and ".join(
        f"{r.category.replace('_', ' ')} ({fmt.pct(r.caar)}, "
        f"p {f'{r.p:.2f}' if np.isfinite(r.p) else fmt.DASH}, n={r.n})"
        for r in big.itertuples(index=False)
    )
    return (
        f"No category's CAAR{label} differs from zero at the {level:.0%} level; the largest "
        f"average moves are {largest}: single events move stocks a lot, but within a category "
        "the direction is not consistent enough to be told apart from noise."
    )


def strategy_takeaway(overview: pd.DataFrame) -> str:
    """One sentence: how many strategies beat buy-and-hold of the benchmark on Sharpe (each on
    its main portfolio)."""
    if "main" in overview.columns:
        overview = overview[overview["main"].astype(bool)]
    ov = overview.dropna(subset=["sharpe_max", "benchmark_sharpe"]) if len(overview) else overview
    if not len(ov):
        return (
            "No strategy made a trade: there is nothing to compare with buy-and-hold."
            if len(overview)
            else ""
        )
    every = int((ov["sharpe_min"] > ov["benchmark_sharpe"]).sum())
    some = int((ov["sharpe_max"] > ov["benchmark_sharpe"]).sum())
    n = len(ov)
    if some == 0:
        head = f"None of the {n} strategies beat buy-and-hold of the benchmark on Sharpe"
        head += " in any parameter combination."
    else:
        head = (
            f"{some} of {n} strategies beat buy-and-hold of the benchmark on Sharpe in at least "
            f"one combination, {every} in every combination."
        )
    return (
        head + " The strategies hold positions a small part of the time, so compare risk-"
        "adjusted figures (Sharpe) rather than total returns with a fully invested buy-and-hold."
    )


# ------------------------------------------------------------------------------ strategies


def strategy_metrics(backtests: Sequence[Any]) -> pd.DataFrame:
    """Every metric of every portfolio, combination and strategy (buy-and-hold rows too); a
    strategy that traded nothing has a row per combination, with its parameters, ``n_trades``
    0 and no metric (:meth:`~backtest.portfolio.results.BacktestResult.to_frame`)."""
    frames = [
        r.to_frame(every_combination=True).assign(strategy=r.strategy.name) for r in backtests
    ]
    frames = [f for f in frames if len(f)]
    first = ["strategy", "label", "portfolio", "kind", "subject"]
    return _strategy_rows(frames, first, [*METRIC_COLUMNS, "label"])


def trade_stats_table(backtests: Sequence[Any]) -> pd.DataFrame:
    """Every strategy's trade statistics (``BacktestResult.trade_stats``: per combination and
    pooled portfolio, the mean and median trade return with its t and bootstrap interval, the
    same beyond the benchmark over the same sessions, the return while invested, the exposure),
    with the strategy and the combination's label."""
    frames = []
    for r in backtests:
        ts = getattr(r, "trade_stats", None)
        if not isinstance(ts, pd.DataFrame) or not len(ts):
            continue
        labels = r.combos.set_index("combo")["label"]
        frames.append(ts.assign(strategy=r.strategy.name, label=ts["combo"].map(labels)))
    return _strategy_rows(
        frames, ["strategy", "label", "portfolio"], [*TRADE_STATS_COLUMNS, "label"]
    )


def trades_table(backtests: Sequence[Any]) -> pd.DataFrame:
    """Every leg of every trade of the per-ticker portfolios, with the strategy."""
    frames = [r.trades.assign(strategy=r.strategy.name) for r in backtests if len(r.trades)]
    first = ["strategy", "label", "event_id", "ticker", "leg"]
    return _strategy_rows(frames, first, [*LEG_COLUMNS, "label"])


def _strategy_rows(frames: list[pd.DataFrame], first: list[str], cols: list[str]) -> pd.DataFrame:
    """The strategies' ``frames`` in one table, ``first`` columns first; without a frame (no
    strategy, or none traded), no row but the same columns (``cols``: a result's own), so
    every table file keeps its header."""
    if not frames:
        frames = [pd.DataFrame(columns=["strategy", *cols])]
    out = pd.concat(frames, ignore_index=True)
    return out[[*first, *[c for c in out.columns if c not in first]]]


@memo
def strategy_overview(backtests: Sequence[Any]) -> pd.DataFrame:
    """Per strategy and pooled portfolio (one per market: ``pooled XNYS``, ``pooled XHKG``),
    over the whole grid: the range of total return and Sharpe across the combinations (no
    single best one is picked: choosing the best of a sweep after the fact overstates it), the
    trades, and buy-and-hold of the benchmark and of the traded tickers over the same
    sessions. ``main`` marks the strategy's main portfolio (the pooled one with the most
    trades), listed first; every other pooled portfolio follows with its own counts."""
    rows = []
    for r in backtests:
        if not len(r.metrics):
            rows.append(  # traded nothing: its one row, with no portfolio and no trade
                {"strategy": r.strategy.name, "portfolio": "", "combinations": len(r.combos),
                 "trades": 0, "main": True}
            )  # fmt: skip
            continue
        main = r.grid_portfolio()
        others = [p for p in r.pooled_portfolios() if p != main]
        for portfolio in (main, *others):
            rows.append(_overview_row(r, portfolio) | {"main": portfolio == main})
    return pd.DataFrame(rows, columns=OVERVIEW_COLUMNS)  # every column, whatever was traded


#: The columns of :func:`strategy_overview` (those of :func:`_overview_row`, then ``main``).
OVERVIEW_COLUMNS = [
    "strategy", "portfolio", "combinations", "trades", "return_min", "return_max",
    "sharpe_min", "sharpe_max", "benchmark", "benchmark_return", "benchmark_sharpe",
    "hold_return", "hold_sharpe", "first", "last", "main",
]  # fmt: skip


def _overview_row(r: Any, portfolio: str) -> dict[str, Any]:
    m = r.to_frame()
    m = m[m["portfolio"] == portfolio]
    strat = m[m["kind"] == "strategy"]
    bh = m[m["kind"] == "buy_and_hold"]
    market = strat["market"].iloc[0]
    bench_name = r.benchmarks.get(market, "")
    bench = bh[bh["subject"] == bench_name].iloc[0] if (bh["subject"] == bench_name).any() else None
    basket = bh[bh["subject"] != bench_name]
    return {
        "strategy": r.strategy.name,
        "portfolio": portfolio,
        "combinations": len(r.combos),
        "trades": int(strat["n_trades"].max()),
        "return_min": strat["total_return"].min(),
        "return_max": strat["total_return"].max(),
        "sharpe_min": strat["sharpe"].min(),
        "sharpe_max": strat["sharpe"].max(),
        "benchmark": bench_name,
        "benchmark_return": bench["total_return"] if bench is not None else np.nan,
        "benchmark_sharpe": bench["sharpe"] if bench is not None else np.nan,
        "hold_return": basket["total_return"].iloc[0] if len(basket) else np.nan,
        "hold_sharpe": basket["sharpe"].iloc[0] if len(basket) else np.nan,
        "first": strat["start"].min(),
        "last": strat["end"].max(),
    }


# ------------------------------------------------------------------------------ left out


def dropped_table(result: Any) -> pd.DataFrame:
    """Everything the run left out, one row each: ``part`` (study, strategy, catalog,
    prices), ``what`` (strategy name, file), ``event_id``, ``ticker``, ``stage``, ``reason``."""
    frames = []
    if result.study is not None and len(result.study.dropped):
        d = result.study.dropped
        frames.append(
            pd.DataFrame(
                {
                    "part": "event study",
                    "what": "",
                    "event_id": d["event_id"],
                    "ticker": d["ticker"],
                    "stage": d["stage"],
                    "reason": d["reason"],
                }
            )
        )
    for r in result.backtests:
        sk = skipped_table(r)
        if not len(sk):
            continue
        frames.append(
            pd.DataFrame(
                {
                    "part": "strategy",
                    "what": r.strategy.name,
                    "event_id": sk["event_id"],
                    "ticker": sk["ticker"],
                    "stage": "combinations: " + sk["combinations"],
                    "reason": sk["reason"],
                }
            )
        )
    for file, message in (*result.strategy_errors, *result.strategy_notes):
        frames.append(
            pd.DataFrame(
                [{"part": "strategy", "what": file, "event_id": "", "ticker": "", "stage": "file",
                  "reason": message}]
            )
        )  # fmt: skip
    cp = result.catalog_problems
    if len(cp):
        frames.append(
            pd.DataFrame(
                {
                    "part": "catalog",
                    "what": cp["file"].astype(str) + ":" + cp["line"].astype(str),
                    "event_id": cp["entry"],
                    "ticker": "",
                    "stage": cp["field"],
                    "reason": cp["message"],
                }
            )
        )
    failed = result.prices[result.prices["status"] == "failed"]
    if len(failed):
        frames.append(
            pd.DataFrame(
                {
                    "part": "prices",
                    "what": "",
                    "event_id": "",
                    "ticker": failed["ticker"],
                    "stage": "load",
                    "reason": failed["reason"],
                }
            )
        )
    cols = ["part", "what", "event_id", "ticker", "stage", "reason"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


@memo
def counts(result: Any) -> dict[str, Any]:
    """How many of each thing the run had, the same numbers on every page: catalog events,
    (event, ticker) rows measured and dropped by the study, events each strategy did not trade
    (skipped, counted per strategy and event-ticker), strategies run and failed, claims, price
    findings, catalog entries left out (``catalog_entries``; an entry can have several of the
    ``catalog_problems``) and tickers without prices."""
    study = result.study
    skipped = {r.strategy.name: len(skipped_table(r)) for r in result.backtests}
    prices = result.prices
    return {
        "events": len(result.catalog),
        "measured": len(study.events) if study is not None else 0,
        "dropped": len(study.dropped) if study is not None else None,
        "skipped_trades": sum(skipped.values()),
        "skipped_by_strategy": skipped,
        "strategies": len(result.backtests),
        "strategy_errors": len(result.strategy_errors),
        "strategies_not_run": len(result.strategy_notes),
        "claims": len(result.claims),
        "quality_findings": len(result.quality),
        "catalog_entries": catalog_entries(result.catalog_problems),
        "catalog_problems": len(result.catalog_problems),
        "prices_failed": int((prices["status"] == "failed").sum()) if len(prices) else 0,
    }


def catalog_entries(problems: pd.DataFrame) -> int:
    """How many catalog entries ``problems`` (``file, line, entry, field, message,
    entry_line``) left out: its distinct (file, entry_line), an entry with two problems
    counted once and two entries sharing an id counted twice. A problem of a whole file or
    declaration (no entry) is no entry.

    >>> catalog_entries(
    ...     pd.DataFrame({"file": ["a.yaml"] * 4, "entry": ["x", "x", "x", ""],
    ...                   "entry_line": [2, 2, 9, 0]})
    ... )
    2
    """
    if not len(problems):
        return 0
    named = problems[problems["entry"].astype(str) != ""]
    return len(named[["file", "entry_line"]].astype(str).drop_duplicates())


def catalog_whole(problems: pd.DataFrame) -> int:
    """How many of ``problems`` concern a whole file or an attribute declaration, no entry."""
    return int((problems["entry"].astype(str) == "").sum()) if len(problems) else 0


def all_tables(result: Any) -> dict[str, pd.DataFrame]:
    """Every table the report writes as CSV and JSON, by file stem."""
    study = result.study
    tables: dict[str, pd.DataFrame] = {}
    if study is not None:
        tables["events"] = event_table(study)
        tables["windows"] = study.to_frame()
        tables["ar_paths"] = study.ar.reset_index()
        tables["tickers"] = ticker_table(study)
        tables["categories"] = category_overview(result)
        tables["group_tests"] = test_table(study)
        tables["caar_paths"] = study.paths
        if study.market_events is not None and len(study.market_events):
            tables["market_events"] = study.market_events
        for name in ("earnings_history", "earnings_profile"):
            frame = getattr(study, name, None)
            if isinstance(frame, pd.DataFrame) and len(frame):
                tables[name] = frame
    tables["strategy_metrics"] = strategy_metrics(result.backtests)
    tables["strategy_overview"] = strategy_overview(result.backtests)
    tables["trade_stats"] = trade_stats_table(result.backtests)
    tables["trades"] = trades_table(result.backtests)
    tables["claims"] = result.claims
    tables["dropped"] = dropped_table(result)
    tables["prices"] = result.prices
    tables["quality"] = result.quality
    return tables
