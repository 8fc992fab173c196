"""The event-study engine: align events with prices, measure every event at once, test groups.

The engine is the thin labelled layer around :mod:`backtest.study.kernels` and
:mod:`backtest.study.statistics`. Work is vectorised over events: per market (XNYS, XHKG, ...)
and model, events are processed in chunks of ``spec.chunk_size`` with array indexing; there is
no Python loop per event. Every (event, ticker) row that is not measured is recorded in
``result.dropped`` with the stage and the reason.

Timeline of one event (offsets in the ticker's own exchange sessions; default spec)::

    -250 ........ -11 | -10 ... -6 | -5 ....... 0 ....... +20
     estimation window             | event windows (span)
    -20 ..................................... 0 ......... +20   AR path (plots)

Models (see :class:`~backtest.study.spec.StudySpec`): market model and constant mean are OLS
fits (X = [1, R_m] and X = [1]); the factor model regresses excess returns on user factors;
the market-adjusted model fixes alpha = 0, beta = 1. CAR variances include the estimation
error of the fitted parameters (prediction-error covariance, MacKinlay 1997).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from backtest.errors import EvbtError, InvalidTickerError, UnknownMarketError
from backtest.markets import MARKETS, market_of
from backtest.study import jit
from backtest.study import kernels as K
from backtest.study import statistics as S
from backtest.study.inputs import (
    Dropped,
    dropped_frame,
    normalize_event_table_codes,
    ticker_returns,
)
from backtest.study.results import EventStudyResult
from backtest.study.spec import DEFAULT_GROUP_BY, SpecError, StudySpec, window_label

ProgressFn = Callable[[int, int], None]


class StudyDataLossError(EvbtError, ValueError):
    """More events were dropped than ``max_loss`` allows; the message gives the reasons."""

    def __init__(self, dropped: pd.DataFrame, n_input: int, max_loss: float) -> None:
        self.dropped = dropped
        self.n_input = n_input
        self.max_loss = max_loss
        frac = len(dropped) / n_input if n_input else 1.0
        top = (
            dropped.groupby(["stage", "reason"]).size().sort_values(ascending=False).head(5)
            if len(dropped)
            else pd.Series(dtype=int)
        )
        lines = [f"  {n} x {stage}: {reason}" for (stage, reason), n in top.items()]
        super().__init__(
            "\n".join(
                [
                    f"{len(dropped)} of {n_input} (event, ticker) rows ({frac:.0%}) were dropped, "
                    f"more than max_loss={max_loss:.0%}; most common reasons:",
                    *lines,
                    "Fix the data, or raise max_loss (--max-loss) to accept the loss.",
                ]
            )
        )


@dataclass
class _Clusters:
    """Kolari-Pynnönen state for one grouping in one market: each row's cluster (rows that
    share group and day 0; -1 for rows alone), each cluster's group code, and, once the
    market is measured, ``within``: the sum of the pairwise residual correlations in each
    cluster. The NumPy path accumulates ``sums`` of standardized residual vectors and their
    squared ``norms`` to get it; the compiled path computes it directly."""

    row_cluster: np.ndarray
    group: np.ndarray
    sums: np.ndarray
    norms: np.ndarray
    within: np.ndarray


@dataclass
class _Out:
    """Per-row outputs, preallocated for every row of the event table.

    The Corrado rank test needs each row's ranks only through their sums by group and day:
    the NumPy path stores the ranks (``rank2``, ``rank_count``) and sums them by group later;
    the compiled path adds them up as it goes, into ``rank_sums`` and ``rank_n`` (one row per
    group of every grouping, the grouping's groups from ``rank_offsets[grouping]`` on).

    The standardized ARs (for Patell and BMP) are stored by the NumPy path (``sar_path``);
    the compiled path stores each row's fit instead (``s2``, ``mx``, ``sxx``, with ``nobs``)
    and standardizes the ARs again where they are tested, which gives the same numbers.

    ``car``, ``car_var`` and ``bhar`` are views into ``windows``, the float columns of the
    windows table in pandas' layout (car, car_se, t, p, bhar, scar; rows x windows each), so
    that the table needs no copy of them when every row is measured.
    """

    alpha: np.ndarray
    beta: np.ndarray
    sigma: np.ndarray
    nobs: np.ndarray
    dof: np.ndarray
    ar_path: np.ndarray
    sar_path: np.ndarray
    s2: np.ndarray
    mx: np.ndarray
    sxx: np.ndarray
    car: np.ndarray
    car_var: np.ndarray
    bhar: np.ndarray
    windows: np.ndarray
    rank2: np.ndarray
    rank_count: np.ndarray
    rank_sums: np.ndarray
    rank_n: np.ndarray
    rank_offsets: dict[str, int]
    phat: np.ndarray
    measured: np.ndarray
    factor_betas: np.ndarray | None

    @classmethod
    def empty(
        cls,
        n: int,
        spec: StudySpec,
        n_factors: int,
        group_codes: dict[str, tuple[np.ndarray, list[Any]]],
        *,
        compiled: bool,
    ) -> _Out:
        lp = spec.path[1] - spec.path[0] + 1
        nw = len(spec.windows)
        lr = spec.reach[1] - spec.reach[0] + 1
        offsets = np.cumsum([0, *(len(labels) for _, labels in group_codes.values())])
        n_groups = int(offsets[-1])
        windows = np.empty((len(WINDOW_COLUMNS), n * nw))
        # only rows marked ``measured`` are ever read, and those are all written: no fill
        return cls(
            alpha=np.empty(n),
            beta=np.empty(n),
            sigma=np.empty(n),
            nobs=np.zeros(n, dtype=np.int64),
            dof=np.zeros(n, dtype=np.int64),
            ar_path=np.empty((n, lp)),
            sar_path=np.empty((0 if compiled else n, lp)),
            s2=np.empty(n if compiled else 0),
            mx=np.empty(n if compiled else 0),
            sxx=np.empty(n if compiled else 0),
            car=windows[0].reshape(n, nw),
            car_var=windows[1].reshape(n, nw),
            bhar=windows[4].reshape(n, nw),
            windows=windows,
            rank2=np.empty((0 if compiled else n, lr), dtype=np.uint16),
            rank_count=np.zeros(0 if compiled else n, dtype=np.int64),
            rank_sums=np.zeros((n_groups if compiled else 0, lr)),
            rank_n=np.zeros((n_groups if compiled else 0, lr), dtype=np.int64),
            rank_offsets=dict(zip(group_codes, offsets[:-1].tolist(), strict=True)),
            phat=np.empty(n),
            measured=np.zeros(n, dtype=bool),
            factor_betas=np.empty((n, n_factors)) if n_factors else None,
        )

    def page_in(self) -> threading.Thread:
        """Write to every page of the large outputs, on a thread started here.

        New memory is mapped in on its first write, page by page, which on a virtual machine
        can cost more than the measurement that fills it. The caller aligns the inputs
        meanwhile (mostly on one core) and joins the thread before anything writes results.
        """
        arrays = [self.ar_path, self.sar_path, self.windows, self.rank2]

        def touch() -> None:
            for a in arrays:
                if a.size:
                    a.reshape(-1).view(np.uint8)[::4096] = 0  # one byte in each 4 KiB page

        thread = threading.Thread(target=touch, name="evbt-page-in", daemon=True)
        thread.start()
        return thread


def _event_table(events: Any) -> tuple[pd.DataFrame, list[Dropped], np.ndarray, pd.Index]:
    """The checked event table, the dropped rows, and the event ids as integer codes."""
    if hasattr(events, "to_frame") and hasattr(events, "events"):  # a Catalog
        return normalize_event_table_codes(events.to_frame())
    if isinstance(events, pd.DataFrame):
        return normalize_event_table_codes(events)
    raise TypeError(
        "events must be a Catalog or an event table (DataFrame with event_id, ticker, day0)"
    )


def _close_frame(prices: Any) -> tuple[pd.DataFrame, Mapping[str, Any]]:
    close = getattr(prices, "close", prices)
    if not isinstance(close, pd.DataFrame):
        raise TypeError("prices must be a PricePanel or a DataFrame of closes (dates x tickers)")
    index = pd.DatetimeIndex(close.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    close = close.set_axis(index.normalize(), axis=0)  # copy-on-write: the data is not copied
    if not close.index.is_monotonic_increasing:
        close = close.sort_index()
    failed = getattr(prices, "failed", {}) or {}
    return close, failed


def _benchmarks(
    table: pd.DataFrame, spec: StudySpec, market_code: np.ndarray, market_names: pd.Index
) -> pd.Series:
    """Each row's benchmark: its own, or its market's (the spec's, or the default)."""
    by_market = pd.Series(market_names, dtype=table["market"].dtype).map(
        {m: spec.benchmarks.get(m) or MARKETS[m].default_benchmark for m in market_names}
    )
    default = pd.Series(by_market.array.take(market_code, allow_fill=True), index=table.index)
    if "benchmark" in table.columns:
        own = table["benchmark"].where(table["benchmark"].notna() & (table["benchmark"] != ""))
        return own.fillna(default)
    return default


def run_study(
    events: Any,
    prices: Any,
    spec: StudySpec | None = None,
    *,
    factors: pd.DataFrame | None = None,
    dropped: list[Dropped] | None = None,
    context: Any = None,
    progress: ProgressFn | None = None,
    workers: int | None = None,
) -> EventStudyResult:
    """Run an event study.

    Parameters
    ----------
    events:
        A :class:`~backtest.catalog.Catalog` or an event table (see
        :mod:`backtest.study.inputs`).
    prices:
        A :class:`~backtest.prices.PricePanel`, or a DataFrame of adjusted closes (dates x
        tickers). Benchmarks must be among the columns.
    spec:
        The :class:`StudySpec` (default: market model, default windows).
    factors:
        Daily factor returns (decimal) for ``model="factor"``, e.g. from
        :func:`~backtest.study.inputs.read_factors`; the ``RF`` column is the risk-free rate.
    dropped:
        Rows already dropped while reading the events (e.g. by ``read_events_csv``); they are
        counted against ``max_loss`` and reported.
    context:
        All the events of the catalog (a Catalog or an event table) when ``events`` is a subset
        of it: confounding flags and the exclusion of other events' windows from estimation
        windows consider every catalog event, not only the ones studied. Default: ``events``.
    progress:
        Called as ``progress(done, total)`` after each chunk.
    workers:
        Threads measuring chunks in parallel (default: the CPU count, at most 4). Results do
        not depend on it.

    Returns
    -------
    EventStudyResult

    Raises
    ------
    StudyDataLossError
        When more than ``spec.max_loss`` of the rows were dropped.
    SpecError
        When the spec does not fit the inputs (factor model without factors, unknown
        ``group_by`` column).

    Examples
    --------
    >>> from backtest import load_catalog
    >>> from backtest.prices import load_prices                       # doctest: +SKIP
    >>> cat = load_catalog().filter(categories=["earnings"])           # doctest: +SKIP
    >>> res = run_study(cat, load_prices(..., prices_dir="../shared/prices"))  # doctest: +SKIP
    >>> print(res.summary())                                          # doctest: +SKIP
    """
    started = time.perf_counter()
    # wall seconds of align, measure and tests; gather and fit are thread-seconds inside measure
    timings = {"align": 0.0, "measure": 0.0, "gather": 0.0, "fit": 0.0, "tests": 0.0}
    workers = min(os.cpu_count() or 1, 4) if workers is None else max(1, workers)
    spec = spec or StudySpec()
    table, drops, event_codes, event_uniques = _event_table(events)
    drops = [*(dropped or []), *drops]
    if spec.model == "factor":
        if factors is None or factors.empty:
            raise SpecError("model 'factor' needs daily factors: pass factors= (--factors FILE)")
        if spec.returns == "log":
            raise SpecError(
                "the factor model uses simple returns (factors are simple long-short returns): "
                "use returns='simple'"
            )
    if spec.group_by == DEFAULT_GROUP_BY:  # the defaults that the table supports
        spec = spec.replace(group_by=tuple(g for g in spec.group_by if g == "all" or g in table))
    for g in spec.group_by:
        if g != "all" and g not in table.columns:
            raise SpecError(
                f"group_by {g!r} is not a column of the event table (columns: "
                f"{', '.join(map(str, table.columns))})"
            )
    close, failed = _close_frame(prices)
    n_input = len(table) + len(drops)
    # the reference events for confounding: the table's rows, then the context's other rows
    extra = table.iloc[:0][["event_id", "ticker", "market", "day0"]]
    if context is None:
        ref_event, ref_event_ids = event_codes, event_uniques
    else:
        reference = pd.concat(
            [table[extra.columns], _event_table(context)[0][extra.columns]], ignore_index=True
        ).drop_duplicates(["event_id", "ticker"])
        reference = reference.reset_index(drop=True)  # its first len(table) rows are the table's
        ref_event, ref_event_ids = pd.factorize(reference["event_id"])
        extra = reference.iloc[len(table) :]

    # ---------------------------------------------------------------- benchmarks, models
    # markets as codes into their sorted names (-1: no market)
    market_code, market_names = pd.factorize(table["market"], sort=True)
    table = table.assign(benchmark=_benchmarks(table, spec, market_code, market_names))
    keep = np.ones(len(table), dtype=bool)

    def dropped_rows(rows: np.ndarray, stage: str, reasons: list[str]) -> None:
        """Record the rows ``rows`` (only dropped rows: builds the report, not the maths)."""
        ids = table["event_id"].iloc[rows].tolist()
        ticks = table["ticker"].iloc[rows].tolist()
        for e, t, why in zip(ids, ticks, reasons, strict=True):
            drops.append(Dropped(str(e), str(t), stage, why))

    def drop(mask: np.ndarray, stage: str, reason: str | Callable[[int], str]) -> None:
        """Drop the rows of ``mask`` still kept; ``reason`` is a text or a function of the row
        (called for the dropped rows only)."""
        nonlocal keep
        mask = mask & keep
        if not mask.any():
            return
        rows = np.flatnonzero(mask)
        whys = [reason if isinstance(reason, str) else reason(int(i)) for i in rows]
        dropped_rows(rows, stage, whys)
        keep &= ~mask

    # one factorization of every ticker and benchmark name: checks per name, not per row
    name_code, names = pd.factorize(
        pd.concat([table["ticker"], table["benchmark"], extra["ticker"]], ignore_index=True)
    )
    tick_code, bench_code = name_code[: len(table)], name_code[len(table) : 2 * len(table)]
    extra_tick_code = name_code[2 * len(table) :]

    market_index = {str(m): i for i, m in enumerate(market_names)}

    def market_code_of(name: str) -> int:
        """The name's market as a code into ``market_names`` (-2: none, or none of them)."""
        try:
            return market_index.get(market_of(name).code, -2)
        except (InvalidTickerError, UnknownMarketError):
            return -2

    name_market = np.array([market_code_of(n) for n in names], dtype=np.int64)
    drop(
        name_market[bench_code] != market_code,
        "benchmark",
        lambda i: (
            f"benchmark {names[bench_code[i]]} does not trade on {table['market'].iat[i]} (the "
            "ticker's exchange); choose a benchmark of the same market"
        ),
    )
    have = set(close.columns[close.notna().any(axis=0).to_numpy()])
    name_has_prices = np.array([n in have for n in names], dtype=bool)

    def no_price_reason(t: str) -> str:
        if t in failed:
            return f"no prices for {t}: {failed[t]}"
        return f"no prices for {t} in the price data"

    drop(~name_has_prices[tick_code], "prices", lambda i: no_price_reason(names[tick_code[i]]))
    drop(
        ~name_has_prices[bench_code],
        "prices",
        lambda i: "benchmark " + no_price_reason(names[bench_code[i]]),
    )
    self_bench = tick_code == bench_code
    # the model of each row: the spec's, or constant mean for a benchmark measured on itself
    table["model"] = pd.Categorical.from_codes(
        self_bench.astype(np.int8), categories=[spec.model, "constant_mean"]
    ) if spec.model != "constant_mean" else pd.Categorical.from_codes(
        np.zeros(len(table), dtype=np.int8), categories=["constant_mean"]
    )  # fmt: skip
    table["model_note"] = pd.Categorical.from_codes(
        self_bench.astype(np.int8),
        categories=["", "benchmark ticker: constant-mean model (not measured against itself)"],
    )

    factor_names: list[str] = []
    if spec.model == "factor" and factors is not None:
        factor_names = [c for c in factors.columns if c != "RF"]
    positions = np.full(len(table), -1, dtype=np.int64)
    session_of: dict[str, pd.DatetimeIndex] = {}

    # group codes and KP cluster ids (for every grouping), from the table
    group_codes: dict[str, tuple[np.ndarray, list[Any]]] = {}
    for g in spec.group_by:
        if g == "all":
            group_codes[g] = (np.zeros(len(table), dtype=np.int64), ["all"])
        else:
            codes, uniques = pd.factorize(table[g].astype(str), sort=True)
            group_codes[g] = (codes.astype(np.int64), list(uniques))

    use_jit = spec.model != "factor" and jit.enabled()
    out = _Out.empty(len(table), spec, len(factor_names), group_codes, compiled=use_jit)
    paging: threading.Thread | None = out.page_in()  # joined before the first measurement
    # every grouping's group codes, one row each (for the compiled rank sums)
    code_rows = np.stack([codes for codes, _ in group_codes.values()])

    conf_rows: list[np.ndarray] = []  # (row, other event) pairs of confounding events
    conf_other: list[np.ndarray] = []
    total = int(keep.sum())
    done = 0
    le = spec.estimation[1] - spec.estimation[0] + 1
    kp_state: dict[str, list[_Clusters]] = {}
    # each row's model, as an index into _MODELS
    model_of = np.where(self_bench, _MODELS.index("constant_mean"), _MODELS.index(spec.model))
    model_codes = np.where(
        self_bench, jit.MODEL_CODES["constant_mean"], jit.MODEL_CODES.get(spec.model, -1)
    ).astype(np.int64)
    e0_off = spec.estimation[0] - spec.reach[0]
    e1_off = spec.estimation[1] - spec.reach[0] + 1
    # the benchmarks' returns of every market and each row's (compiled path: the ARs are
    # standardized where they are tested)
    bench_returns: list[np.ndarray] = []
    row_bench = np.full(len(table), -1, dtype=np.int64)

    extra_market = market_names.get_indexer(extra["market"])

    # ---------------------------------------------------------------- per market block
    for m_code, market in enumerate(market_names):
        market = str(market)
        rows = np.flatnonzero(market_code == m_code)
        if not len(rows):
            continue
        used = np.flatnonzero(
            np.bincount(tick_code[rows], minlength=len(names))
            + np.bincount(bench_code[rows], minlength=len(names))
        )
        cols = sorted(str(c) for c in names[used] if c in have)
        if not cols:
            continue
        # padded, ticker-major return matrix and its window view
        r0, r1 = spec.reach
        pad_l, pad_r = max(0, -r0), max(0, r1)
        lr = r1 - r0 + 1
        sessions, RT = ticker_returns(close, cols, market, spec.returns, (pad_l, pad_r))
        t_total = RT.shape[1]
        view = K.window_view(RT, lr)
        session_of[market] = sessions
        col_index = pd.Index(cols)
        name_col = col_index.get_indexer(names)  # per name: its column, -1 where no prices
        tick_col = name_col[tick_code]
        bench_col = name_col[bench_code]
        if use_jit:
            has = rows[bench_col[rows] >= 0]
            bcols = np.unique(bench_col[has])
            offset = sum(len(b) for b in bench_returns)
            row_bench[has] = offset + np.searchsorted(bcols, bench_col[has])
            bench_returns.append(RT[bcols])
        pos = sessions.get_indexer(pd.DatetimeIndex(table["day0"].iloc[rows]))
        positions[rows] = pos
        outside = np.zeros(len(table), dtype=bool)
        outside[rows[pos < 0]] = True
        span_txt = f"{sessions[0].date()} to {sessions[-1].date()}" if len(sessions) else "none"

        def outside_reason(i: int, m: str = market, txt: str = span_txt) -> str:
            return f"day 0 {table['day0'].iat[i].date()} is outside the {m} price data ({txt})"

        drop(outside, "calendar", outside_reason)

        # the reference events of this market (the table's rows, then the context's): their
        # columns and sessions, for confounding
        s0, s1 = spec.span
        in_block = rows[pos >= 0]
        ext = np.flatnonzero(extra_market == m_code)
        rrow = np.concatenate([rows, len(table) + ext])  # rows of the reference table
        ext_day0 = pd.DatetimeIndex(extra["day0"].iloc[ext])
        rpos = np.concatenate([pos, sessions.get_indexer(ext_day0)])
        rcol = np.concatenate([tick_col[rows], name_col[extra_tick_code[ext]]]).astype(np.int64)
        rok = (rpos >= 0) & (rcol >= 0)
        rpos, rcol, rrow = rpos[rok] + pad_l, rcol[rok], rrow[rok]
        # coverage of each ticker's sessions by the reference events' spans, to keep them out
        # of estimation windows
        if spec.exclude_confounded:
            width = t_total + 1
            flat_start = rcol * width + np.clip(rpos + s0, 0, t_total)
            flat_end = rcol * width + np.clip(rpos + s1 + 1, 0, t_total)
            diff = np.bincount(flat_start, minlength=len(cols) * width) - np.bincount(
                flat_end, minlength=len(cols) * width
            )
            cover = np.cumsum(diff.reshape(len(cols), width), axis=1)[:, :t_total]
            cover = cover.astype(np.int32)
        else:  # not read
            cover = np.zeros((1, lr), dtype=np.int32)
        cover_view = K.window_view(cover, lr)
        qcol = tick_col[in_block].astype(np.int64)
        ok = qcol >= 0
        qrows = in_block[ok]
        pair_rows, pair_ref = _confounders(
            ref_event[qrows], qcol[ok], positions[qrows] + pad_l, ref_event[rrow], rcol, rpos,
            (s0, s1),
        )  # fmt: skip
        conf_rows.append(qrows[pair_rows])
        conf_other.append(rrow[pair_ref])

        # factor windows for this market
        fviews: list[np.ndarray] = []
        rf_view: np.ndarray | None = None
        if factor_names and factors is not None:
            fal = factors.reindex(sessions)
            coverage = fal[factor_names].notna().all(axis=1).mean() if len(fal) else 0.0
            if coverage < 0.5:
                drop(
                    (market_code == m_code) & (model_of == _MODELS.index("factor")),
                    "factors",
                    f"the factor file covers only {coverage:.0%} of the {market} sessions; "
                    "give factors for this market",
                )
            fm = np.full((len(factor_names) + 1, t_total), np.nan)
            fm[:-1, pad_l : pad_l + len(sessions)] = fal[factor_names].to_numpy().T
            rf = fal["RF"].to_numpy() if "RF" in fal.columns else np.zeros(len(sessions))
            fm[-1, pad_l : pad_l + len(sessions)] = rf
            fview = K.window_view(np.ascontiguousarray(fm), lr)
            fviews = [fview[k] for k in range(len(factor_names))]
            rf_view = fview[-1]

        # clusters for Kolari-Pynnönen: rows sharing (group, day 0) in this market
        for g, (codes, labels) in group_codes.items():
            key = codes[in_block] * (len(sessions) + 1) + positions[in_block]
            multi, dense = _clusters_of(key, len(labels) * (len(sessions) + 1))
            n_clusters = int(dense.max()) + 1 if dense.size else 0
            row_cluster = np.full(len(table), -1, dtype=np.int64)
            row_cluster[in_block[multi]] = dense
            group = np.zeros(n_clusters, dtype=np.int64)
            group[dense] = codes[in_block[multi]]
            kp_state.setdefault(g, []).append(
                _Clusters(
                    row_cluster,
                    group,
                    sums=np.zeros((0 if use_jit else n_clusters, le)),
                    norms=np.zeros(n_clusters),
                    within=np.zeros(n_clusters),
                )
            )

        # ------------------------------------------------------------ measure, by model
        clusters_here = [cl for g in group_codes for cl in kp_state[g][-1:]]
        block = _Block(
            R=RT,
            cover=cover,
            view=view,
            cover_view=cover_view,
            fviews=fviews,
            rf_view=rf_view,
            tick_col=tick_col,
            bench_col=bench_col,
            starts=positions + pad_l + r0,
            need_z=not use_jit
            and any(len(cl.row_cluster) and len(cl.within) for cl in clusters_here),
            group_codes=code_rows,
            group_offsets=np.array(list(out.rank_offsets.values()), dtype=np.int64),
        )
        todo = rows[keep[rows]]
        jobs = []
        for code, model in enumerate(_MODELS):
            sel = todo[model_of[todo] == code]
            size = spec.chunk_size
            jobs += [(block, model, sel[c : c + size], spec, out) for c in range(0, len(sel), size)]

        if paging is not None:
            paging.join()
            paging = None
        measure_start = time.perf_counter()
        runner = _run_chunk_jit if use_jit else _run_chunk
        for chunk, reasons, z, ranks, t_gather, t_fit in _pipeline(runner, jobs, workers):
            timings["gather"] += t_gather
            timings["fit"] += t_fit
            if ranks is not None:  # in job order: the sums do not depend on the threads
                out.rank_sums += ranks[0]
                out.rank_n += ranks[1]
            if reasons:
                at = np.fromiter(reasons, dtype=np.int64, count=len(reasons))
                ids = table["event_id"].iloc[at].tolist()
                ticks = table["ticker"].iloc[at].tolist()
                for e, t, (stage, why) in zip(ids, ticks, reasons.values(), strict=True):
                    drops.append(Dropped(str(e), str(t), stage, why))
                keep[at] = False
            if z is not None:
                ok_rows = chunk[out.measured[chunk]]
                for cl in clusters_here:
                    _accumulate_clusters(cl, ok_rows, z)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        # within-cluster sums of residual correlations (Kolari-Pynnönen)
        ok_now = out.measured & keep
        for cl in clusters_here:
            if not len(cl.within):
                continue
            if use_jit:
                rows_c = np.flatnonzero((cl.row_cluster >= 0) & ok_now)
                ids = cl.row_cluster[rows_c]
                if len(cl.within) <= np.iinfo(np.uint16).max:  # NumPy's radix sort, as stable
                    ids = ids.astype(np.uint16)
                order = np.argsort(ids, kind="stable")
                members = rows_c[order]
                sizes = np.bincount(cl.row_cluster[members], minlength=len(cl.within))
                ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
                cl.within[:] = jit.module().cluster_pairs(
                    RT, cover, ptr, members, tick_col, bench_col, positions + pad_l + r0,
                    model_codes, e0_off, e1_off, spec.exclude_confounded, out.alpha, out.beta,
                )  # fmt: skip
            else:
                cl.within[:] = (cl.sums * cl.sums).sum(axis=1) - cl.norms
        timings["measure"] += time.perf_counter() - measure_start

    # ---------------------------------------------------------------- assemble
    measured = out.measured & keep
    dropped_df = dropped_frame(drops)
    if n_input and len(dropped_df) / n_input > spec.max_loss:
        raise StudyDataLossError(dropped_df, n_input, spec.max_loss)
    rbar = _rbar(kp_state, group_codes, measured)
    tick = time.perf_counter()
    empty = np.zeros(0, dtype=np.int64)
    pair_rows = np.concatenate(conf_rows) if conf_rows else empty
    pair_others = np.concatenate(conf_other) if conf_other else empty
    # (row, confounding event) pairs as codes into the reference factorization; the table's
    # rows are the reference's first rows, so their own codes are ref_event[: len(table)]
    pairs = (pair_rows, ref_event[pair_others], ref_event[: len(table)], pd.Index(ref_event_ids))
    names_index = pd.Index(names)
    std = None
    if use_jit:  # what standardizes the ARs: each row's model, fit and benchmark returns
        width = max((b.shape[1] for b in bench_returns), default=0)
        bx = np.full((sum(len(b) for b in bench_returns), width), np.nan)
        first = 0
        for b in bench_returns:
            bx[first : first + len(b), : b.shape[1]] = b
            first += len(b)
        path_start = positions + max(0, -spec.reach[0]) + spec.path[0]
        std = _Standardizer(
            model_codes, out.s2, out.nobs, out.mx, out.sxx, bx, row_bench, path_start
        )
    result = _assemble(
        table, measured, out, spec, positions, session_of, pairs, group_codes, rbar,
        dropped_df, n_input, factor_names, timings, workers, tick_code, names_index, std,
    )  # fmt: skip
    # the result holds this very dict: complete it with the last stage and the total
    timings["tests"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - started
    timings["align"] = timings["total"] - timings["measure"] - timings["tests"]
    return result


@dataclass(frozen=True)
class _Standardizer:
    """Per row: the model (compiled code), the fit's residual variance ``s2``, observations,
    benchmark mean ``mx`` and centred sum of squares ``sxx``; the benchmarks' padded returns
    ``bx`` (one row per benchmark), the row's benchmark and the session of its first path
    day. :func:`backtest.study._numba.ar_moments` divides each AR by the standard deviation
    of its prediction error from these."""

    models: np.ndarray
    s2: np.ndarray
    nobs: np.ndarray
    mx: np.ndarray
    sxx: np.ndarray
    bx: np.ndarray
    bx_row: np.ndarray
    bx_start: np.ndarray

    def take(self, take: Callable[[np.ndarray], np.ndarray]) -> _Standardizer:
        """The per-row arrays of the measured rows (``take``)."""
        return _Standardizer(
            take(self.models), take(self.s2), take(self.nobs), take(self.mx), take(self.sxx),
            self.bx, take(self.bx_row), take(self.bx_start),
        )  # fmt: skip


#: The float columns of the windows table, in the order of ``_Out.windows``.
WINDOW_COLUMNS = ["car", "car_se", "t", "p", "bhar", "scar"]

#: The models, in the order chunks are measured (a row's model is an index into it).
_MODELS = ("market", "market_adjusted", "constant_mean", "factor")


def _clusters_of(key: np.ndarray, key_range: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose ``key`` (in ``range(key_range)``) is shared by another row, and for those
    rows the rank of their key among the shared keys (cluster ids 0, 1, ..., in key order).

    Counts keys with ``bincount`` when their range is not much larger than their number
    (no sort); otherwise with ``np.unique``. Both give the same ids.
    """
    if key_range <= 4 * len(key) + 4096:
        cnt = np.bincount(key, minlength=key_range)
        multi = cnt[key] >= 2  # only clusters of two or more rows can hold pairs
        cluster_of_key = np.cumsum(cnt >= 2) - 1
        return multi, cluster_of_key[key[multi]]
    _, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    multi = cnt[inv] >= 2
    return multi, np.unique(inv[multi], return_inverse=True)[1]


@dataclass(frozen=True)
class _Block:
    """One market's inputs for measuring chunks: the padded ticker-major returns ``R`` and
    event ``cover`` counts (compiled path), their window views and the factors' (NumPy path),
    each row's columns and first session, and whether KP needs residual vectors back."""

    R: np.ndarray
    cover: np.ndarray
    view: np.ndarray
    cover_view: np.ndarray
    fviews: list[np.ndarray]
    rf_view: np.ndarray | None
    tick_col: np.ndarray
    bench_col: np.ndarray
    starts: np.ndarray
    need_z: bool
    group_codes: np.ndarray | None = None
    group_offsets: np.ndarray | None = None
    scratch: threading.local = field(default_factory=threading.local)


def _run_chunk(
    block: _Block, model: str, chunk: np.ndarray, spec: StudySpec, out: _Out
) -> tuple[np.ndarray, dict[int, tuple[str, str]], np.ndarray | None, None, float, float]:
    """Gather one chunk's windows and measure it; returns timings for gather and fit."""
    tick = time.perf_counter()
    starts = block.starts[chunk]
    zeros = np.zeros(len(chunk), dtype=np.intp)
    y = K.gather(block.view, block.tick_col[chunk], starts)
    x = K.gather(block.view, block.bench_col[chunk], starts)
    covered = (
        K.gather(block.cover_view, block.tick_col[chunk], starts) > 0
        if spec.exclude_confounded
        else None
    )
    fx = [K.gather(fv[None, :, :], zeros, starts) for fv in block.fviews]
    rf = K.gather(block.rf_view[None, :, :], zeros, starts) if block.rf_view is not None else None
    gathered = time.perf_counter()
    reasons, z = _measure_chunk(model, chunk, y, x, covered, fx, rf, spec, out, block.need_z)
    return chunk, reasons, z, None, gathered - tick, time.perf_counter() - gathered


def _run_chunk_jit(
    block: _Block, model: str, chunk: np.ndarray, spec: StudySpec, out: _Out
) -> tuple[
    np.ndarray, dict[int, tuple[str, str]], None, tuple[np.ndarray, np.ndarray], float, float
]:
    """Measure one chunk with the compiled kernels: fused fit/AR/CAR pass, SIMD sort of the
    rank keys (NumPy), ranks summed by group and day. Writes into ``out``; returns the drop
    reasons and the chunk's rank sums and counts (added up in chunk order by the caller).

    The chunk is measured ``_SUB_BLOCK`` rows at a time, so that the rank keys of a sub-block
    stay in the core's cache from the kernel through the sort to the rank assignment, in a
    buffer each thread reuses (new memory is zeroed by the kernel page by page, which costs
    more than the sort on this kind of machine).
    """
    nbk = jit.module()
    tick = time.perf_counter()
    r0, r1 = spec.reach
    lr = r1 - r0 + 1
    bits = max(1, int(lr - 1).bit_length())
    n = len(chunk)
    keys_all: np.ndarray | None = getattr(block.scratch, "keys", None)
    if keys_all is None or keys_all.shape[1] != lr:
        keys_all = block.scratch.keys = np.empty((_SUB_BLOCK, lr), dtype=np.int64)
    rcount = np.empty(n, dtype=np.int64)
    status = np.empty(n, dtype=np.int8)
    win_a = np.array([a - r0 for a, _ in spec.windows], dtype=np.int64)
    win_b = np.array([b - r0 + 1 for _, b in spec.windows], dtype=np.int64)
    measure = nbk.MEASURE[jit.MODEL_CODES[model]]
    run = nbk.SORT_RUN
    rank_sums = np.zeros_like(out.rank_sums)
    rank_n = np.zeros_like(out.rank_n)
    for a in range(0, n, _SUB_BLOCK):
        rows = chunk[a : a + _SUB_BLOCK]
        keys = keys_all[: len(rows)]
        rc, st = rcount[a : a + _SUB_BLOCK], status[a : a + _SUB_BLOCK]
        measure(
            block.R, block.cover, rows, block.tick_col[rows], block.bench_col[rows],
            block.starts[rows], spec.estimation[0] - r0,
            spec.estimation[1] - r0 + 1, -r0, spec.path[0] - r0, spec.path[1] - r0 + 1, win_a,
            win_b, spec.exclude_confounded, spec.returns == "log", spec.min_estimation, bits,
            keys, out.alpha, out.beta, out.s2, out.nobs, out.dof, out.mx, out.sxx, out.ar_path,
            out.car, out.car_var, out.bhar, rc, out.phat, st,
        )  # fmt: skip
        # NumPy's SIMD sort (GIL released), in runs short enough for its sorting network
        keys[:, :run].sort(axis=1)
        if lr > run:
            keys[:, run:].sort(axis=1)
        nbk.rank_sums(
            keys, run, rc, st, rows, bits, block.group_codes, block.group_offsets, rank_sums,
            rank_n,
        )  # fmt: skip
    ok = status == jit.STATUS_OK
    rows_ok = chunk[ok]
    out.sigma[rows_ok] = np.sqrt(out.s2[rows_ok])
    out.measured[rows_ok] = True
    reasons: dict[int, tuple[str, str]] = {}
    for i in np.flatnonzero(~ok):  # only the dropped rows
        row, code = int(chunk[i]), int(status[i])
        reasons[row] = (
            jit.too_few(int(out.nobs[row]), spec.min_estimation)
            if code == jit.STATUS_FEW
            else jit.STATUS_DROPS[code]
        )
    return chunk, reasons, None, (rank_sums, rank_n), 0.0, time.perf_counter() - tick


#: Rows measured at once inside a chunk by the compiled path (their rank keys: 2 MB at 1024).
_SUB_BLOCK = 1024


def _pipeline(fn: Callable[..., Any], jobs: list[tuple[Any, ...]], workers: int) -> Iterator[Any]:
    """Run ``fn(*job)`` for every job on ``workers`` threads; yield results in job order.

    NumPy releases the GIL in its array loops and sorts, so chunks of one study run in
    parallel. At most ``2 * workers`` results wait to be consumed, which bounds memory.
    """
    if workers <= 1 or len(jobs) <= 1:
        for j in jobs:
            yield fn(*j)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[Any]] = deque()
        for j in jobs:
            pending.append(pool.submit(fn, *j))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _accumulate_clusters(cl: _Clusters, rows: np.ndarray, z: np.ndarray) -> None:
    """Add the standardized residual vectors ``z`` of ``rows`` to their clusters' sums."""
    c = cl.row_cluster[rows]
    m = c >= 0
    if not m.any():
        return
    c, zz = c[m], z[m]
    order = np.argsort(c, kind="stable")
    c = c[order]
    first = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    cl.sums[c[first]] += np.add.reduceat(zz[order], first, axis=0)
    cl.norms[c[first]] += np.add.reduceat(np.einsum("nl,nl->n", zz, zz)[order], first)


def _confounders(
    events: np.ndarray,
    cols: np.ndarray,
    pos: np.ndarray,
    ref_events: np.ndarray,
    ref_cols: np.ndarray,
    ref_pos: np.ndarray,
    span: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (queried row, reference row) where another reference event of the same ticker
    has its day 0 in the queried row's span, enumerated with array operations (no loop per
    event). ``events`` and ``ref_events`` are integer event codes (a row is not its own
    confounder). Returns positions into the queried and the reference arrays."""
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    if len(events) == 0 or len(ref_events) == 0:
        return empty
    width = int(max(pos.max(), ref_pos.max())) + abs(span[0]) + abs(span[1]) + 2
    ref_key = ref_cols * width + ref_pos
    key = cols * width + pos
    if jit.enabled():
        nbk = jit.module()
        order = nbk.stable_argsort(ref_key)
        same = len(key) == len(ref_key) and np.array_equal(key, ref_key)  # the usual case
        return nbk.confounder_pairs(
            key, order if same else nbk.stable_argsort(key), events.astype(np.int64),
            ref_key[order], order, ref_events[order].astype(np.int64), span[0], span[1],
        )  # fmt: skip
    order = np.argsort(ref_key, kind="stable")
    skey = ref_key[order]
    lo = np.searchsorted(skey, key + span[0], side="left")
    hi = np.searchsorted(skey, key + span[1], side="right")
    counts = hi - lo
    flagged = np.flatnonzero(counts > 0)
    if flagged.size == 0:
        return empty
    reps = counts[flagged]
    row_of_pair = np.repeat(flagged, reps)
    offsets = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    other = order[np.repeat(lo[flagged], reps) + offsets]
    not_self = ref_events[other] != events[row_of_pair]
    return row_of_pair[not_self], other[not_self]


def _measure_chunk(
    model: str,
    chunk: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    covered: np.ndarray | None,
    fx: list[np.ndarray],
    rf: np.ndarray | None,
    spec: StudySpec,
    out: _Out,
    need_z: bool,
) -> tuple[dict[int, tuple[str, str]], np.ndarray | None]:
    """Fit, compute ARs, CARs, variances and ranks for one chunk; write them into ``out``.

    Returns the drop reasons by row and, for the measured rows (when ``need_z``), their
    estimation-window residuals demeaned and scaled to unit length (for Kolari-Pynnönen).
    Chunks touch disjoint rows of ``out``, so chunks may run in parallel threads.
    """
    r0 = spec.reach[0]
    e0, e1 = spec.estimation[0] - r0, spec.estimation[1] - r0 + 1
    est = slice(e0, e1)
    p0, p1 = spec.path[0] - r0, spec.path[1] - r0 + 1
    n, lr = y.shape
    in_est = np.zeros(lr, dtype=bool)
    in_est[est] = True
    valid = np.isfinite(y) & np.isfinite(x)
    if model == "factor":
        yy = y - rf
        valid &= np.isfinite(yy)
        for f in fx:
            valid &= np.isfinite(f)
        regs: list[np.ndarray | None] = [None, *fx]
    elif model == "market":
        yy = y
        regs = [None, x]
    elif model == "constant_mean":
        yy = y
        valid = np.isfinite(y)
        regs = [None]
    else:  # market_adjusted
        yy = y - x
        regs = []
    mask = valid & in_est[None, :]
    if covered is not None:
        mask &= ~covered

    reasons: dict[int, tuple[str, str]] = {}
    if model == "market_adjusted":
        ar = yy
        resid = np.where(mask, ar, np.nan)
        nobs = mask.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(resid, axis=1) / nobs
            s2 = np.nansum((resid - mean[:, None]) ** 2, axis=1) / (nobs - 1)
        dof = nobs - 1
        singular = np.zeros(n, dtype=bool)
        alpha, beta = np.zeros(n), np.ones(n)
        day_var = np.broadcast_to(s2[:, None], (n, p1 - p0))

        def car_var(cols: slice, length: int) -> np.ndarray:
            return s2 * length

        expected = x
    else:
        fit = K.ols_fit(yy, regs, mask)
        nobs, dof, s2, singular = fit.nobs, fit.dof, fit.s2, fit.singular
        pred = K.ols_predict(fit.beta, regs, yy)
        ar = yy - pred
        resid = fit.resid
        alpha = fit.beta[:, 0]
        beta = fit.beta[:, 1] if model == "market" else np.full(n, np.nan)
        if model == "factor" and out.factor_betas is not None:
            out.factor_betas[chunk] = fit.beta[:, 1:]
        day_var = K.ols_day_variance(s2, fit.xtx_inv, regs, slice(p0, p1), yy)

        def car_var(cols: slice, length: int) -> np.ndarray:
            sums = K.ols_window_sums(regs, cols, yy)
            return K.ols_car_variance(s2, fit.xtx_inv, sums, length)

        expected = pred + (rf if model == "factor" else 0.0)

    # ----- drops decided by the estimation
    few = nobs < spec.min_estimation
    for k in np.flatnonzero(few):
        reasons[int(chunk[k])] = jit.too_few(int(nobs[k]), spec.min_estimation)
    for k in np.flatnonzero(~few & singular):
        reasons[int(chunk[k])] = jit.STATUS_DROPS[jit.STATUS_SINGULAR]
    flat = ~few & ~singular & ~(s2 > 0)
    for k in np.flatnonzero(flat):
        reasons[int(chunk[k])] = jit.STATUS_DROPS[jit.STATUS_FLAT]
    d0 = -r0
    no_day0 = ~np.isfinite(ar[:, d0])
    for k in np.flatnonzero(no_day0 & ~few & ~singular & ~flat):
        reasons[int(chunk[k])] = jit.STATUS_DROPS[jit.STATUS_NO_DAY0]
    ok = ~(few | singular | flat | no_day0)

    # ----- per-event outputs
    with np.errstate(invalid="ignore", divide="ignore"):
        sar = ar[:, p0:p1] / np.sqrt(day_var)
    simple_y = np.expm1(y) if spec.returns == "log" else y
    simple_e = np.expm1(expected) if spec.returns == "log" else expected
    cars = np.empty((n, len(spec.windows)))
    cvars = np.empty_like(cars)
    bhar = np.empty_like(cars)
    for w, (a, b) in enumerate(spec.windows):  # a loop over windows, not events
        cols = slice(a - r0, b - r0 + 1)
        cars[:, w] = K.window_sum(ar, cols)
        cvars[:, w] = car_var(cols, b - a + 1)
        bhar[:, w] = K.buy_and_hold(simple_y, cols) - K.buy_and_hold(simple_e, cols)

    # ranks over the estimation days used and every day after the estimation window
    after_est = np.arange(lr) >= e1
    rank2, count = K.row_ranks(ar, (mask | after_est[None, :]) & np.isfinite(ar))
    with np.errstate(invalid="ignore", divide="ignore"):
        phat = (resid > 0).sum(axis=1) / nobs  # resid is NaN outside the estimation days used

    rows = chunk[ok]
    out.alpha[rows] = alpha[ok]
    out.beta[rows] = beta[ok]
    out.sigma[rows] = np.sqrt(s2[ok])
    out.nobs[rows] = nobs[ok]
    out.dof[rows] = dof[ok]
    out.ar_path[rows] = ar[ok, p0:p1]
    out.sar_path[rows] = sar[ok]
    out.car[rows] = cars[ok]
    out.car_var[rows] = cvars[ok]
    out.bhar[rows] = bhar[ok]
    out.rank2[rows] = rank2[ok]
    out.rank_count[rows] = count[ok]
    out.phat[rows] = phat[ok]
    out.measured[rows] = True
    z = K.standardized_residuals(resid[ok][:, est], mask[ok][:, est]) if need_z else None
    return reasons, z


def _rbar(
    kp_state: dict[str, list[_Clusters]],
    group_codes: dict[str, tuple[np.ndarray, list[Any]]],
    measured: np.ndarray,
) -> dict[str, np.ndarray]:
    """Average pairwise correlation of the events' abnormal returns, per group.

    Pairs of events on the same session of the same market are correlated through their common
    day; pairs on different sessions are treated as independent (their event-day returns do
    not overlap). For a cluster c of events sharing day 0, the sum of pairwise correlations is
    ``|sum_i z_i|^2 - sum_i |z_i|^2`` with ``z_i`` the standardized estimation residuals, so
    ``rbar = sum over clusters / (n (n - 1))`` (Kolari and Pynnönen 2010, with the
    correlations of non-clustered pairs set to zero).
    """
    out: dict[str, np.ndarray] = {}
    for g, (codes, uniques) in group_codes.items():
        n_g = np.bincount(codes[measured], minlength=len(uniques)).astype(np.float64)
        pair = np.zeros(len(uniques))
        for cl in kp_state.get(g, []):
            if len(cl.within):
                pair += np.bincount(cl.group, weights=cl.within, minlength=len(uniques))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[g] = np.where(n_g >= 2, pair / (n_g * (n_g - 1)), np.nan)
    return out


def _categorical(codes: np.ndarray, categories: pd.Index) -> pd.Categorical:
    """A Categorical from codes into categories known to be unique (from ``pd.factorize``)."""
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories), validate=False)


def _assemble(
    table: pd.DataFrame,
    measured: np.ndarray,
    out: _Out,
    spec: StudySpec,
    positions: np.ndarray,
    session_of: dict[str, pd.DatetimeIndex],
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index],
    group_codes: dict[str, tuple[np.ndarray, list[Any]]],
    rbar: dict[str, np.ndarray],
    dropped: pd.DataFrame,
    n_input: int,
    factor_names: list[str],
    timings: dict[str, float],
    workers: int,
    tick_code: np.ndarray,
    names: pd.Index,
    std: _Standardizer | None,
) -> EventStudyResult:
    idx = np.flatnonzero(measured)
    everything = len(idx) == len(table)

    def take(a: np.ndarray) -> np.ndarray:
        """The measured rows of ``a`` (a view, not a copy, when every row was measured)."""
        return a if everything else a[idx]

    n, nw = len(idx), len(spec.windows)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # the numbers on the pool, the tables on this thread meanwhile
        # windows: one block of float columns in pandas' own layout (columns x rows), where
        # the measurement wrote CAR, Var(CAR) and BHAR
        if everything:
            block = out.windows
        else:
            block = np.empty((len(WINDOW_COLUMNS), n * nw))
            block[0], block[1], block[4] = (out.car[idx].ravel(), out.car_var[idx].ravel(),
                                            out.bhar[idx].ravel())  # fmt: skip
        car, bhar = block[0].reshape(n, nw), block[4].reshape(n, nw)
        se, tstat, scar = block[1], block[2], block[5].reshape(n, nw)
        np.sqrt(se, out=se)  # Var(CAR) to its square root, in place
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(block[0], se, out=tstat)  # t = CAR / sqrt(Var(CAR)) (MacKinlay 1997)
        block[5] = tstat  # the standardized CAR is the single-event t
        dof_f = take(out.dof).astype(np.float64)[:, None]
        pval = block[3].reshape(n, nw)
        halves = np.linspace(0, n, max(1, workers) + 1).astype(int)
        p_jobs = [
            pool.submit(S.two_sided_t, tstat.reshape(n, nw)[a:b], dof_f[a:b], out=pval[a:b])
            for a, b in itertools.pairwise(halves)
        ]
        ar_values = take(out.ar_path)
        finish_groups = _group_tables(
            pool, workers, idx, take, out, ar_values, car, scar, bhar, spec, group_codes, rbar,
            None if std is None else std.take(take),
        )  # fmt: skip
        events, ar, confounders, ev_codes, tk_codes = _event_tables(
            table, idx, measured, out, ar_values, spec, positions, session_of, pairs,
            factor_names, tick_code, names,
        )  # fmt: skip
        for f in p_jobs:
            f.result()
        windows = pd.DataFrame(block.T, columns=WINDOW_COLUMNS, copy=False)
        labels = pd.Index([window_label(w) for w in spec.windows])
        windows.insert(0, "event_id", _categorical(np.repeat(ev_codes, nw), pairs[3]))
        windows.insert(1, "ticker", _categorical(np.repeat(tk_codes, nw), names))
        windows.insert(2, "window", _categorical(np.tile(np.arange(nw), n), labels))
        starts = np.array([w[0] for w in spec.windows], dtype=np.int64)
        ends = np.array([w[1] for w in spec.windows], dtype=np.int64)
        windows.insert(3, "start", np.broadcast_to(starts, (n, nw)).ravel())
        windows.insert(4, "end", np.broadcast_to(ends, (n, nw)).ravel())
        windows["complete"] = windows["car"].notna()
        groups, paths, clusters = finish_groups()
    first_day = min((s[0] for s in session_of.values() if len(s)), default=None)
    last_day = max((s[-1] for s in session_of.values() if len(s)), default=None)
    data = {
        "price_first": None if first_day is None else first_day.date().isoformat(),
        "price_last": None if last_day is None else last_day.date().isoformat(),
        "markets": sorted(session_of),
        "benchmarks": sorted(events["benchmark"].unique()) if len(events) else [],
        "n_input": n_input,
        "n_measured": len(events),
        "n_dropped": len(dropped),
        "timings": timings,
    }
    return EventStudyResult(
        spec=spec,
        events=events,
        ar=ar,
        windows=windows,
        groups=groups,
        paths=paths,
        clusters=clusters,
        confounders=confounders,
        dropped=dropped,
        data=data,
    )


def _event_tables(
    table: pd.DataFrame,
    idx: np.ndarray,
    measured: np.ndarray,
    out: _Out,
    ar_values: np.ndarray,
    spec: StudySpec,
    positions: np.ndarray,
    session_of: dict[str, pd.DatetimeIndex],
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index],
    factor_names: list[str],
    tick_code: np.ndarray,
    names: pd.Index,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """The per-event tables of the measured rows ``idx``: ``events``, ``ar`` and
    ``confounders``; and the rows' event-id and ticker codes."""
    everything = len(idx) == len(table)

    def take(a: np.ndarray) -> np.ndarray:
        """The measured rows of ``a`` (a view, not a copy, when every row was measured)."""
        return a if everything else a[idx]

    t = table if everything else table.iloc[idx].reset_index(drop=True)
    pair_rows, pair_events, row_events, event_ids = pairs
    n_conf = np.bincount(pair_rows, minlength=len(table))
    kept = measured[pair_rows]
    confounders = pd.DataFrame(
        {
            "event_id": _categorical(row_events[pair_rows[kept]], event_ids),
            "ticker": _categorical(tick_code[pair_rows[kept]], names),
            "other_event_id": _categorical(pair_events[kept], event_ids),
        }
    )
    # estimation sessions and day-0 clusters, per market, vectorised over its events
    rows_pos = take(positions)
    dates = next(iter(session_of.values())).to_numpy()[:0] if session_of else np.zeros(0)
    est_first = np.empty(len(t), dtype=dates.dtype)
    est_last = np.empty(len(t), dtype=dates.dtype)
    cluster_size = np.zeros(len(t), dtype=np.int64)
    market = t["market"].to_numpy() if len(session_of) > 1 else None
    for m, sessions in session_of.items():
        sel = slice(None) if market is None else np.flatnonzero(market == m)
        p = rows_pos[sel]
        days = sessions.to_numpy()
        est_first[sel] = days[np.clip(p + spec.estimation[0], 0, len(sessions) - 1)]
        est_last[sel] = days[np.clip(p + spec.estimation[1], 0, len(sessions) - 1)]
        cluster_size[sel] = np.bincount(p, minlength=len(sessions))[p]
    events = t.assign(
        alpha=take(out.alpha),
        beta=take(out.beta),
        sigma=take(out.sigma),
        n_est=take(out.nobs),
        dof=take(out.dof),
        est_first=est_first if len(t) else [],
        est_last=est_last if len(t) else [],
        confounded=n_conf[idx] > 0,
        n_confounders=n_conf[idx],
        clustered=cluster_size > 1,
        cluster_size=cluster_size if len(t) else [],
        timing_unknown=(t["timing"] == "unknown").to_numpy() if "timing" in t else False,
    )
    if factor_names and out.factor_betas is not None:
        for k, name in enumerate(factor_names):
            events[f"b_{name}"] = out.factor_betas[idx, k]
    days = np.arange(spec.path[0], spec.path[1] + 1)
    # codes from the alignment: one categories Index per id kind, validated once by pandas
    ev_codes, tk_codes = take(row_events), take(tick_code)
    key = pd.MultiIndex(
        levels=[event_ids, names],
        codes=[ev_codes, tk_codes],
        names=["event_id", "ticker"],
        verify_integrity=False,
    ).remove_unused_levels()
    ar = pd.DataFrame(ar_values, index=key, columns=days, copy=False)
    ar.columns.name = "day"
    return events, ar, confounders, ev_codes, tk_codes


def _column_tests(
    pool: ThreadPoolExecutor,
    workers: int,
    groups: S.Groups,
    values: np.ndarray,
    standardized: np.ndarray | _Standardizer,
    dof: np.ndarray,
    phat: np.ndarray,
    rbar: np.ndarray,
    scratch: threading.local,
    *,
    moments_only: bool = False,
) -> Callable[[], dict[str, S.GroupStat]]:
    """Start every test but the rank test, for each column of ``values``, on ``pool``; return
    a function that waits for them and gives the tests and the group ``mean`` and ``sd`` of
    each column (as GroupStat with p NaN).

    Compiled path: one pass over the rows for the moments of each of ``workers`` ranges of
    columns (the columns' updates overlap in the CPU), and one call per column for the signed
    ranks, each a single call that releases the GIL. NumPy path: column by column
    (contiguous 1-D inputs, bounded temporaries).
    """
    if jit.enabled():
        nbk = jit.module()
        k = values.shape[1]
        dof_f = dof.astype(np.float64)
        splits = np.linspace(0, k, min(k, max(1, workers)) + 1).astype(int)
        if isinstance(standardized, _Standardizer):  # the AR path, standardized as it is read
            std = standardized
            moments = [
                pool.submit(nbk.ar_moments, values, std.models, std.s2, std.nobs, std.mx,
                            std.sxx, std.bx, std.bx_row, std.bx_start, dof_f, phat, groups.codes,
                            groups.n, int(a), int(b))
                for a, b in itertools.pairwise(splits)
            ]  # fmt: skip
        else:
            moments = [
                pool.submit(nbk.column_moments, values, standardized, dof_f, phat, groups.codes,
                            groups.n, int(a), int(b))
                for a, b in itertools.pairwise(splits)
            ]  # fmt: skip
        order, bounds = groups.row_order, groups.bounds
        ranks = [] if moments_only else [
            pool.submit(_signed_rank_column, values, j, order, bounds, scratch) for j in range(k)
        ]  # fmt: skip

        def finish_compiled() -> dict[str, S.GroupStat]:
            res = S.moment_stats(np.concatenate([f.result() for f in moments], axis=1))
            if moments_only:
                return {"mean": res["mean"], "sd": res["sd"]}
            res["wilcoxon"] = S.wilcoxon_stats(np.stack([f.result() for f in ranks], axis=1))
            res["kp"] = S.kolari_pynnonen(res["bmp"], rbar)
            return res

        return finish_compiled

    assert not isinstance(standardized, _Standardizer)  # the compiled path's alone

    def one(k: int) -> dict[str, S.GroupStat]:
        x = np.ascontiguousarray(values[:, k : k + 1])
        sx = np.ascontiguousarray(standardized[:, k : k + 1])
        mean, sd, n = S.mean_sd(groups, x)
        nan = np.full_like(mean, np.nan)
        if moments_only:
            return {"mean": S.GroupStat(mean, nan, n), "sd": S.GroupStat(sd, nan, n)}
        res = {
            "mean": S.GroupStat(mean, nan, n),
            "sd": S.GroupStat(sd, nan, n),
            "t": S.cross_sectional_t(groups, x),
            "patell": S.patell(groups, sx, dof),
            "bmp": S.bmp(groups, sx),
            "sign": S.sign_test(groups, x),
            "gsign": S.generalized_sign(groups, x, phat),
            "wilcoxon": S.wilcoxon(groups, x),
        }
        res["kp"] = S.kolari_pynnonen(res["bmp"], rbar)
        return res

    futures = [pool.submit(one, k) for k in range(values.shape[1])]

    def finish() -> dict[str, S.GroupStat]:
        cols = [f.result() for f in futures]
        return {
            name: S.GroupStat(
                np.concatenate([c[name].stat for c in cols], axis=1),
                np.concatenate([c[name].p for c in cols], axis=1),
                np.concatenate([c[name].n for c in cols], axis=1),
            )
            for name in cols[0]
        }

    return finish


def _signed_rank_column(
    values: np.ndarray, k: int, order: np.ndarray, bounds: np.ndarray, scratch: threading.local
) -> np.ndarray:
    """The signed-rank statistics (G, 4) of column ``k``, with key buffers the thread reuses."""
    n = len(values)
    keys: np.ndarray | None = getattr(scratch, "keys", None)
    if keys is None or len(keys) < n:
        keys = scratch.keys = np.empty(n, dtype=np.int64)
        scratch.tmp = np.empty(n, dtype=np.int64)
    stats: np.ndarray = jit.module().signed_rank_column(values, k, order, bounds, keys, scratch.tmp)
    return stats


def _group_tables(
    pool: ThreadPoolExecutor,
    workers: int,
    idx: np.ndarray,
    take: Callable[[np.ndarray], np.ndarray],
    out: _Out,
    ar: np.ndarray,
    car: np.ndarray,
    scar: np.ndarray,
    bhar: np.ndarray,
    spec: StudySpec,
    group_codes: dict[str, tuple[np.ndarray, list[Any]]],
    rbar: dict[str, np.ndarray],
    std: _Standardizer | None,
) -> Callable[[], tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    """Start the group tests of every grouping on ``pool`` (per measured row: ARs, CARs, their
    standardized values and BHARs; the standardized ARs stored, or from ``std``); return a
    function that waits for them and builds the tables ``groups``, ``paths`` and
    ``clusters``."""
    days = list(range(spec.path[0], spec.path[1] + 1))
    r0 = spec.reach[0]
    sar = take(out.sar_path) if std is None else std
    dof = take(out.dof)
    phat = take(out.phat)
    day_cols = [np.array([d - r0]) for d in days]
    win_cols = [np.arange(a - r0, b - r0 + 1) for a, b in spec.windows]
    scratch = threading.local()
    started = []
    for g, (codes_all, labels) in group_codes.items():
        # relabel to the groups present
        present, codes = np.unique(codes_all[idx], return_inverse=True)
        groups = S.Groups(codes, len(present))
        rb = rbar[g][present]
        tests = {
            measure: _column_tests(pool, workers, groups, values, std, dof, phat, rb, scratch)
            for measure, values, std in (("AAR", ar, sar), ("CAAR", car, scar))
        }
        tests["ABHAR"] = _column_tests(
            pool, workers, groups, bhar, bhar, dof, phat, rb, scratch, moments_only=True
        )
        pm = pool.submit(jit.module().path_moments, ar, groups.codes, len(present)) if (
            jit.enabled()
        ) else None  # fmt: skip
        started.append((g, labels, present, groups, rb, tests, pm))

    def finish() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        frames = []
        path_frames = []
        cluster_rows = []
        for g, labels, present, groups, rb, tests, pm in started:
            names = [labels[i] for i in present]
            ng = len(present)
            if len(out.rank_sums):  # summed while measuring (compiled path)
                at = out.rank_offsets[g] + present
                rank_sums, n_day = out.rank_sums[at], out.rank_n[at]
            else:
                rank_sums, n_day = S.corrado_sums(groups, out.rank2, out.rank_count, rows=idx)
            for measure, cols_list, labels_cols in (
                ("AAR", day_cols, [("day", d) for d in days]),
                ("CAAR", win_cols, [("window", w) for w in spec.windows]),
            ):
                res = tests[measure]()
                res["rank"] = S.corrado(rank_sums, n_day, cols_list)
                mean = res.pop("mean").stat
                res.pop("sd")
                if measure == "AAR":
                    aar_mean = mean
                frames.append(_test_frame(g, names, measure, labels_cols, mean, res))
            # buy-and-hold: mean BHAR with its cross-sectional t
            bm = tests["ABHAR"]()
            bmean, bn = bm["mean"].stat, bm["mean"].n
            with np.errstate(invalid="ignore", divide="ignore"):
                bstat = np.where(bn >= 2, bmean / (bm["sd"].stat / np.sqrt(bn)), np.nan)
            bt = S.GroupStat(bstat, S.two_sided_t(bstat, bn - 1), bn)
            frames.append(
                _test_frame(
                    g, names, "ABHAR", [("window", w) for w in spec.windows], bmean, {"t": bt}
                )
            )
            # CAAR path with a 95% band (cross-sectional)
            if pm is not None:
                moments = pm.result()
                cn = moments[:, :, 0].astype(np.int64)
                with np.errstate(invalid="ignore", divide="ignore"):
                    cmean = np.where(cn > 0, moments[:, :, 1], np.nan)
                    csd = np.sqrt(moments[:, :, 2] / (cn - 1))
                    amean = np.where(moments[:, :, 3] > 0, moments[:, :, 4], np.nan)
            else:
                cmean, csd, cn = S.mean_sd(groups, np.cumsum(ar, axis=1))
                amean = aar_mean
            se = csd / np.sqrt(np.maximum(cn, 1))
            path_frames.append(
                pd.DataFrame(
                    {
                        "group_by": g,
                        "group": np.repeat(names, len(days)),
                        "day": np.tile(days, ng),
                        "n": cn.ravel().astype(np.int64),
                        "aar": amean.ravel(),
                        "caar": cmean.ravel(),
                        "caar_se": np.where(cn.ravel() >= 2, se.ravel(), np.nan),
                    }
                )
            )
            cluster_rows.append(
                pd.DataFrame(
                    {
                        "group_by": g,
                        "group": names,
                        "n": np.bincount(groups.codes, minlength=ng),
                        "rbar": rb,
                    }
                )
            )
        groups_df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        paths = pd.concat(path_frames, ignore_index=True) if path_frames else pd.DataFrame()
        clusters = pd.concat(cluster_rows, ignore_index=True) if cluster_rows else pd.DataFrame()
        return groups_df, paths, clusters

    return finish


_REASONS = {
    "t": "needs at least 2 events",
    "bmp": "needs at least 2 events",
    "kp": "needs at least 2 events and a cross-correlation below 1",
    "patell": "needs an event with more than 2 residual degrees of freedom",
    "sign": "needs a non-zero abnormal return",
    "gsign": "needs estimation-window ARs of both signs",
    "rank": "needs ranked abnormal returns",
    "wilcoxon": "needs a non-zero abnormal return",
}


def _test_frame(
    group_by: str,
    names: list[Any],
    measure: str,
    labels_cols: list[tuple[str, Any]],
    mean: np.ndarray,
    tests: dict[str, S.GroupStat],
) -> pd.DataFrame:
    ng, k = mean.shape
    n_all = tests["t"].n
    data: dict[str, Any] = {
        "group_by": group_by,
        "group": np.repeat(names, k),
        "measure": measure,
        "day": np.tile([v if kind == "day" else np.nan for kind, v in labels_cols], ng),
        "window": np.tile(
            [window_label(v) if kind == "window" else "" for kind, v in labels_cols], ng
        ),
        "n": n_all.ravel(),
        "value": np.where(n_all.ravel() > 0, mean.ravel(), np.nan),
    }
    notes = np.full(ng * k, "", dtype=object)
    for name, res in tests.items():
        data[name] = res.stat.ravel()
        data[f"{name}_p"] = res.p.ravel()
        missing = np.isnan(res.stat.ravel()) & (n_all.ravel() > 0)
        if missing.any():  # a loop over (group, day or window) cells, not events
            text = np.array(
                [f"{name}: not computed ({_REASONS[name]}; n = {n})" for n in n_all.ravel()],
                dtype=object,
            )
            notes = np.where(missing, np.where(notes == "", text, notes + " | " + text), notes)
    data["notes"] = notes
    frame = pd.DataFrame(data)
    frame["day"] = frame["day"].astype("Int64")
    return frame
