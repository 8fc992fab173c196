"""Stage 1 of an event study: the event table checked and aligned with the prices.

:func:`align` decides, per (event, ticker) row, its benchmark and model (and why), drops the
rows that cannot be measured at all (no prices, a benchmark of another market, day 0 outside
the price data, ...) and builds one :class:`MarketBlock` per market: the padded return matrix
of the tickers, benchmarks and factors the market's rows read, with every row's place in it.
It also counts each row's confounders (other events of its ticker inside its window span)
over every event the run knows (``context``), forms the Kolari-Pynnönen clusters (rows of one
group on one session) and the index returns of market-wide events. Nothing here fits a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from backtest.errors import InvalidTickerError, UnknownMarketError
from backtest.markets import MARKETS, get_calendar, market_of
from backtest.study import kernels as K
from backtest.study.drops import DropLog, ReturnGaps
from backtest.study.inputs import (
    CONFOUNDER,
    Dropped,
    Later,
    alongside,
    normalize_event_table_codes,
    priced_sessions,
    ticker_returns,
)
from backtest.study.offsets import Offsets
from backtest.study.spec import MODELS, SpecError, StudySpec, window_label

#: An event table's ``scope`` values (the catalog's :data:`backtest.catalog.schema.Scope`;
#: not imported from there, which would load pydantic into every study).
SCOPES = ("company", "market")

#: Why a row is measured with its model, by code (``Aligned.model_reason``).
MODEL_REASONS = (
    "the study's model (model)",
    "the event's own model (event table column model)",
    "market-wide event (scope market): measured without the market (market_event_model)",
    "benchmark ticker: constant-mean model (not measured against itself)",
)
RUN_MODEL, OWN_MODEL, MARKET_EVENT, SELF_BENCHMARK = range(4)


@dataclass(frozen=True, eq=False)
class EventTable:
    """The checked event table, the rows dropped before it (given and duplicates), and its
    event ids as integer codes into their distinct values."""

    table: pd.DataFrame
    dropped: list[Dropped]
    event_code: np.ndarray
    event_ids: pd.Index

    @classmethod
    def of(cls, events: Any, dropped: list[Dropped] | None = None) -> EventTable:
        """From a :class:`~backtest.catalog.Catalog` or an event table (DataFrame)."""
        table, more, codes, ids = _normalized(events)
        return cls(table, [*(dropped or []), *more], codes, ids)


def _normalized(events: Any) -> tuple[pd.DataFrame, list[Dropped], np.ndarray, pd.Index]:
    if hasattr(events, "to_frame") and hasattr(events, "events"):  # a Catalog
        return normalize_event_table_codes(events.to_frame())
    if isinstance(events, pd.DataFrame):
        return normalize_event_table_codes(events)
    raise TypeError(
        "events must be a Catalog or an event table (DataFrame with event_id, ticker, day0)"
    )


@dataclass(frozen=True, eq=False)
class Listed:
    """Per table row, a short list of codes: row r's are ``values[ptr[r]:ptr[r + 1]]``."""

    ptr: np.ndarray
    values: np.ndarray

    def of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The lists of ``rows``, one after the other: their lengths and their values."""
        lengths = self.ptr[rows + 1] - self.ptr[rows]
        if len(rows) == len(self.ptr) - 1:  # every row, in order
            return lengths, self.values
        starts = np.repeat(self.ptr[rows] - np.cumsum(lengths) + lengths, lengths)
        return lengths, self.values[starts + np.arange(int(lengths.sum()))]


def _listed(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n: int) -> Listed:
    """Per-row lists from the blocks' (rows, list lengths, values)."""
    lengths = np.zeros(n, dtype=np.int64)
    for rows, counts, _ in parts:
        lengths[rows] = counts
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    if len(parts) == 1:  # one market: its rows are in table order, and so are their lists
        return Listed(ptr, parts[0][2])
    values = np.empty(int(ptr[-1]), dtype=np.int64)
    for rows, counts, listed in parts:
        at = np.repeat(ptr[rows], counts) + (
            np.arange(len(listed)) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        values[at] = listed
    return Listed(ptr, values)


class Confounding:
    """Each table row's confounders: their count (``counts``) and the event codes of the
    first ``max_listed`` of them (``listed``), from the markets' sweeps
    (:func:`_confounders`), which may still be running (:class:`Later`): reading either
    waits for them."""

    def __init__(
        self,
        parts: list[tuple[np.ndarray, Later[tuple[np.ndarray, np.ndarray]]]],
        n: int,
        max_listed: int,
    ) -> None:
        self._parts, self._n, self._max_listed = parts, n, max_listed

    @cached_property
    def _done(self) -> tuple[np.ndarray, Listed]:
        counts = np.zeros(self._n, dtype=np.int64)
        parts = []
        for rows, later in self._parts:
            c, listed = later.get()
            counts[rows] = c
            parts.append((rows, np.minimum(c, self._max_listed), listed))
        return counts, _listed(parts, self._n)

    @property
    def counts(self) -> np.ndarray:
        return self._done[0]

    @property
    def listed(self) -> Listed:
        return self._done[1]


@dataclass(frozen=True, eq=False)
class Grouping:
    """One grouping of the rows (``group_by``): each row's group as a code into ``labels``."""

    name: str
    codes: np.ndarray
    labels: list[Any]


@dataclass(frozen=True, eq=False)
class Clusters:
    """The Kolari-Pynnönen clusters of one grouping: rows of one group on one session of one
    market. ``row_cluster`` is each row's cluster (-1 alone), ``group`` and ``block`` each
    cluster's group code and market block."""

    row_cluster: np.ndarray
    group: np.ndarray
    block: np.ndarray


@dataclass(frozen=True, eq=False)
class MarketBlock:
    """One market's inputs: its sessions, the padded return matrix ``R`` of the series its
    rows read (tickers and benchmarks first, then, for the factor model, the risk-free rate
    masked where a factor is missing and the factors), the count of other events' spans over
    each ticker's sessions (``cover``, for their exclusion from estimation windows) and the
    table rows to measure."""

    market: str
    sessions: pd.DatetimeIndex
    R: np.ndarray
    cover: np.ndarray
    rows: np.ndarray
    n_tickers: int


@dataclass(frozen=True, eq=False)
class Aligned:
    """What :func:`align` gives :func:`~backtest.study.measure.measure`.

    Per row of ``table`` (the event table plus ``benchmark``, ``model`` and
    ``model_reason``): its market block (``block``, -1 when dropped), model code, the rows of
    ``R`` holding its returns (``col``), its benchmark's or risk-free rate's (``bench``) and
    its first factor's (``fbase``), the column of ``R`` where its reach starts (``start``),
    its day 0 as a session of its block (``position``), its ticker as a code into ``names``,
    its event as a code into ``event_ids`` (every event the run knows), its confounders'
    count and first ids (``confounding``: codes into ``event_ids``), and ``target``: the row
    of the event its ``same_news_as`` names (-1). ``factors``: the factor returns the factor
    model reads (None without it), for the reasons of the rows dropped; ``gaps``: why a
    return is missing (the reasons of rows dropped and of windows without a value);
    ``notes``: what a reader should know of how rows were measured (factors on another
    exchange's calendar), one sentence each.
    """

    table: pd.DataFrame
    n_input: int
    drops: DropLog
    blocks: list[MarketBlock]
    block: np.ndarray
    model: np.ndarray
    col: np.ndarray
    bench: np.ndarray
    fbase: np.ndarray
    start: np.ndarray
    position: np.ndarray
    tick_code: np.ndarray
    names: pd.Index
    event_code: np.ndarray
    event_ids: pd.Index
    confounding: Confounding
    target: np.ndarray
    not_total_return: np.ndarray
    groupings: list[Grouping]
    clusters: list[Clusters]
    factor_names: list[str]
    market_events: pd.DataFrame
    factors: pd.DataFrame | None = None
    gaps: ReturnGaps | None = None
    notes: tuple[str, ...] = ()
    #: per row: a session its reach reads has a price quality warning of its ticker or of
    #: its benchmark (:func:`_quality_warnings`); all False without a quality report
    price_warning: np.ndarray | None = None


def check_spec(spec: StudySpec, table: pd.DataFrame, factors: pd.DataFrame | None) -> StudySpec:
    """The spec as it applies to ``table``: the default groupings the table supports; errors
    for a factor model without factors or with an estimation window too short for its
    parameters, and for groupings that are not columns."""
    if spec.model == "factor":
        if factors is None or factors.empty:
            raise SpecError("model 'factor' needs daily factors: pass factors= (--factors FILE)")
        if spec.returns == "log":
            raise SpecError(
                "the factor model uses simple returns (factors are simple long-short returns): "
                "use returns='simple'"
            )
        names = [str(c) for c in factors.columns if c != "RF"]
        est = spec.estimation
        if est[1] - est[0] + 1 < len(names) + 2:
            raise SpecError(
                f"the estimation window {est} has {est[1] - est[0] + 1} sessions: too few for "
                f"the factor model's {len(names) + 1} parameters (an intercept and "
                f"{', '.join(names)}), which need at least {len(names) + 2} returns; widen "
                "estimation"
            )
    from backtest.study.spec import DEFAULT_GROUP_BY

    if spec.group_by == DEFAULT_GROUP_BY:  # the defaults that the table supports
        spec = spec.replace(group_by=tuple(g for g in spec.group_by if g == "all" or g in table))
    for g in spec.group_by:
        if g != "all" and g not in table.columns:
            raise SpecError(
                f"group_by {g!r} is not a column of the event table (columns: "
                f"{', '.join(map(str, table.columns))})"
            )
    return spec


def close_frame(prices: Any) -> tuple[pd.DataFrame, Mapping[str, Any]]:
    """The closes (dates x tickers, dates normalized and sorted) and the failed loads."""
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


def align(
    events: EventTable,
    prices: Any,
    spec: StudySpec,
    off: Offsets,
    *,
    factors: pd.DataFrame | None = None,
    context: Any = None,
    threads: bool = False,
) -> Aligned:
    """Align the rows of ``events`` with ``prices`` (see the module docstring).

    ``context`` is every event the run knows (a Catalog or an event table; default: the
    events studied); confounding and the exclusion of other events' windows from estimation
    windows consider all of them. With ``threads``, the return matrices and the confounder
    sweeps run on threads of their own, and for a large table the tickers' factorization and
    the per-row arrays (:class:`Later`); the results do not depend on it.
    """
    n = len(events.table)
    # on threads meanwhile: the tickers' factorization, the per-row arrays filled (their
    # pages faulted in)
    ticker = events.table["ticker"]
    tickers = alongside(lambda: _coded(ticker), n if threads else 0)
    per_row = alongside(lambda: _row_arrays(n), n if threads else 0)
    drops = DropLog(events.table, events.dropped)
    close, failed = close_frame(prices)
    ref = _reference(events.table, events, context)
    # markets as codes into their sorted names (-1: no market)
    market_code, market_names = pd.factorize(events.table["market"], sort=True)
    benchmark, bench_coded = _benchmarks(events.table, spec, market_code, market_names)
    table = events.table.assign(benchmark=benchmark)
    names = _names(
        table, ref, close, failed, market_code, market_names, drops, tickers(), bench_coded
    )
    model, reason = _models(table, spec, names.tick == names.bench, factors, drops)
    table["model"] = pd.Categorical.from_codes(model, categories=list(MODELS))
    table["model_reason"] = pd.Categorical.from_codes(reason, categories=list(MODEL_REASONS))
    factor_names = (
        [c for c in factors.columns if c != "RF"]
        if factors is not None and (model == K.FACTOR).any()
        else []
    )
    a = _Assembly(table, ref, names, model, drops, _groupings(table, spec), factors,
                  factor_names, _return_flags(prices), spec, off, threads, per_row())  # fmt: skip
    a.warned = _quality_warnings(prices)
    for m_code, market in enumerate(market_names):
        a.market(close, m_code, str(market), market_code)
    return Aligned(
        table=table,
        n_input=n + len(events.dropped),
        drops=drops,
        blocks=a.blocks,
        block=a.block,
        model=model,
        col=a.col,
        bench=a.bench,
        fbase=a.fbase,
        start=a.start,
        position=a.position,
        tick_code=names.tick.astype(np.int64),
        names=names.names,
        event_code=ref.event[:n],
        event_ids=ref.event_ids,
        confounding=Confounding(a.conf_parts, n, spec.max_listed),
        target=_targets(table, events),
        not_total_return=a.not_total,
        groupings=a.groupings,
        clusters=[_merge_clusters(parts, n) for parts in a.cluster_parts],
        factor_names=factor_names,
        market_events=(
            pd.concat(a.market_events, ignore_index=True)
            if a.market_events
            else pd.DataFrame(columns=MARKET_EVENT_COLUMNS)
        ),
        factors=factors if factor_names else None,
        gaps=ReturnGaps(close, getattr(prices, "quality", None)),
        notes=tuple(a.notes),
        price_warning=a.price_warning,
    )


@dataclass(frozen=True, eq=False)
class _Names:
    """Every ticker and benchmark name once (``names``; the rows' tickers ``tick``, their
    benchmarks ``bench`` and the context's tickers ``extra`` as codes into it) and the names
    with prices (``have``)."""

    names: pd.Index
    tick: np.ndarray
    bench: np.ndarray
    extra: np.ndarray
    have: set[str]


def _names(
    table: pd.DataFrame,
    ref: _Reference,
    close: pd.DataFrame,
    failed: Mapping[str, Any],
    market_code: np.ndarray,
    market_names: pd.Index,
    drops: DropLog,
    tick_part: _Coded,
    bench_coded: _Coded | None,
) -> _Names:
    """One factorization of every ticker and benchmark name (checks per name, not per row),
    and the rows dropped for a benchmark of another market or for missing prices.

    ``tick_part``, ``bench_coded``: the ticker and benchmark columns' :func:`_coded` (the
    benchmarks' made here when not known)."""
    bench_part = _coded(table["benchmark"]) if bench_coded is None else bench_coded
    names, (tick, bench, extra) = _factorized_together(
        [tick_part, bench_part, _coded(ref.extra["ticker"])]
    )
    market_index = {str(m): i for i, m in enumerate(market_names)}

    def market_code_of(name: str) -> int:
        """The name's market as a code into ``market_names`` (-2: none, or none of them)."""
        try:
            return market_index.get(market_of(name).code, -2)
        except (InvalidTickerError, UnknownMarketError):
            return -2

    listed = names.tolist()  # Python strings once (iterating an Arrow-backed Index is slow)
    name_market = np.array([market_code_of(t) for t in listed], dtype=np.int64)
    drops.drop(
        name_market[bench] != market_code,
        "benchmark",
        lambda i: (
            f"benchmark {names[bench[i]]} does not trade on {table['market'].iat[i]} (the "
            "ticker's exchange); choose a benchmark of the same market"
        ),
    )
    have = set(close.columns[close.notna().any(axis=0).to_numpy()].tolist())
    has_prices = np.array([t in have for t in listed], dtype=bool)

    def no_price_reason(t: str) -> str:
        if t in failed:
            f = failed[t]  # a FetchFailure: its reason and hint, without its kind code
            if hasattr(f, "reason"):
                hint = f" ({f.hint})" if getattr(f, "hint", "") else ""
                return f"no prices for {t}: {f.reason}{hint}"
            return f"no prices for {t}: {f}"
        return f"no prices for {t} in the price data"

    drops.drop(~has_prices[tick], "prices", lambda i: no_price_reason(names[tick[i]]))
    drops.drop(
        ~has_prices[bench], "prices", lambda i: "benchmark " + no_price_reason(names[bench[i]])
    )
    return _Names(names, tick, bench, extra, have)


#: A column factorized: each row's code (-1: missing) into the column's distinct values, in
#: order of first appearance (a Series of the column's dtype).
_Coded = tuple[np.ndarray, pd.Series]


def _coded(column: pd.Series) -> _Coded:
    codes, uniques = pd.factorize(column)
    return codes, pd.Series(uniques, dtype=column.dtype)


def _factorized_together(parts: list[_Coded]) -> tuple[pd.Index, list[np.ndarray]]:
    """``pd.factorize`` of the factorized columns one after the other (the same distinct
    values, in order of first appearance, and the same codes: -1 for a missing value), each
    column's codes apart, without concatenating the columns: only their distinct values are
    factorized together."""
    code_of, uniques = pd.factorize(pd.concat([d for _, d in parts], ignore_index=True))
    out, first = [], 0
    for codes, distinct in parts:
        # one slot more, the last, for the code -1 (a missing value stays missing)
        lookup = np.append(code_of[first : first + len(distinct)], -1)
        out.append(lookup[codes])
        first += len(distinct)
    return pd.Index(uniques), out


def _row_arrays(n: int) -> tuple[np.ndarray, ...]:
    """The per-row arrays of :class:`_Assembly`, as a row dropped keeps them: ``block``,
    ``col``, ``bench`` (-1), ``fbase``, ``start`` (0), ``position`` (-1) and ``not_total``
    (False). Every page is written here (zeros too), not on the first write of a market's
    rows."""
    fills = (-1, -1, -1, 0, 0, -1)
    return (*(np.full(n, v, dtype=np.int64) for v in fills), np.full(n, False, dtype=bool))


class _Assembly:
    """The per-row arrays and per-market parts :func:`align` fills, market by market."""

    def __init__(
        self,
        table: pd.DataFrame,
        ref: _Reference,
        names: _Names,
        model: np.ndarray,
        drops: DropLog,
        groupings: list[Grouping],
        factors: pd.DataFrame | None,
        factor_names: list[str],
        flags: pd.DataFrame | None,
        spec: StudySpec,
        off: Offsets,
        threads: bool,
        per_row: tuple[np.ndarray, ...],
    ) -> None:
        """``per_row``: :func:`_row_arrays` of the table."""
        self.table, self.ref, self.names, self.model, self.drops = table, ref, names, model, drops
        self.groupings, self.factors, self.factor_names = groupings, factors, factor_names
        self.flags, self.spec, self.off, self.threads = flags, spec, off, threads
        (self.block, self.col, self.bench, self.fbase, self.start, self.position,
         self.not_total) = per_row  # fmt: skip
        self.conf_parts: list[tuple[np.ndarray, Later[tuple[np.ndarray, np.ndarray]]]] = []
        self.cluster_parts: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [
            [] for _ in groupings
        ]
        self.blocks: list[MarketBlock] = []
        self.market_events: list[pd.DataFrame] = []
        self.notes: list[str] = []  # what a reader should know of how rows were measured
        #: the prices' quality warnings (``ticker, date``) and, per row, whether its reach
        #: reads one of its ticker's or its benchmark's (set by :meth:`market`)
        self.warned: pd.DataFrame | None = None
        self.price_warning = np.zeros(len(table), dtype=bool)

    def market(
        self, close: pd.DataFrame, m_code: int, market: str, market_code: np.ndarray
    ) -> None:
        """Align the rows of one market: its return matrix, the rows' places in it, their
        confounders, the exclusion cover, the Kolari-Pynnönen clusters and market events."""
        table, nm, off, spec, drops = self.table, self.names, self.off, self.spec, self.drops
        n = len(table)
        all_rows = np.flatnonzero(market_code == m_code)
        rows = all_rows[drops.keep[all_rows]]
        if not len(rows):
            return
        used = np.flatnonzero(
            np.bincount(nm.tick[rows], minlength=len(nm.names))
            + np.bincount(nm.bench[rows], minlength=len(nm.names))
        )
        cols = sorted(str(c) for c in nm.names[used].tolist() if c in nm.have)
        sessions = priced_sessions(close, cols, market)
        # the return matrix on a thread while the rows find their sessions and references
        returns = Later(
            ticker_returns, close, cols, market, spec.returns, off.pad, sessions,
            threads=self.threads,
        )  # fmt: skip
        t_total = off.pad[0] + len(sessions) + off.pad[1]  # R's columns
        name_col = pd.Index(cols).get_indexer(nm.names)  # per name: its row of R, -1: none
        pos = sessions.get_indexer(pd.DatetimeIndex(table["day0"].iloc[rows]))
        span_txt = f"{sessions[0].date()} to {sessions[-1].date()}" if len(sessions) else "none"

        def outside_reason(i: int) -> str:
            day = table["day0"].iat[i]
            if not len(sessions) or not sessions[0] <= day <= sessions[-1]:
                return f"day 0 {day.date()} is outside the {market} price data ({span_txt})"
            kind = day.strftime("a %A") if day.weekday() >= 5 else "a holiday"
            following = sessions[sessions.searchsorted(day)].date()
            return (
                f"day 0 {day.date()} is not a session of {market} ({kind}): give an event "
                f"table the session itself (here the next is {following}); a catalog maps an "
                "event's date and time to its session"
            )

        outside = np.zeros(n, dtype=bool)
        outside[rows[pos < 0]] = True
        drops.drop(outside, "calendar", outside_reason)
        rows, pos = rows[pos >= 0], pos[pos >= 0]
        R: np.ndarray | None = None
        if self.factor_names and self.factors is not None:
            R = self._factor_rows(returns.get()[1], sessions, rows, len(cols), market)
        self.block[rows] = len(self.blocks)
        self.position[rows] = pos
        self.col[rows] = name_col[nm.tick[rows]]
        # the factor model's "benchmark" is the risk-free rate, its factors the next rows
        factor = self.model[rows] == K.FACTOR
        self.bench[rows] = np.where(factor, len(cols), name_col[nm.bench[rows]])
        self.fbase[rows] = len(cols) + 1
        self.start[rows] = pos + off.pad[0] + off.first
        rcol, rpos, revent, measured = self._reference_rows(
            all_rows, rows, pos, name_col, sessions, market
        )
        cover = (
            self._exclusion(rcol, rpos, revent, len(cols), t_total)
            if spec.exclude_confounded
            else np.zeros((1, 1), dtype=np.int32)  # not read
        )
        # nothing reads the confounders before the test battery: their sweep runs meanwhile
        sweep = Later(
            _confounders, measured, revent, rcol, rpos, len(sessions), off.span,
            spec.max_listed, threads=self.threads,
        )  # fmt: skip
        self.conf_parts.append((rows, sweep))
        # Kolari-Pynnönen clusters: rows sharing (group, day 0) in this market
        for j, g in enumerate(self.groupings):
            key = g.codes[rows] * (len(sessions) + 1) + pos
            multi, dense = _clusters_of(key, len(g.labels) * (len(sessions) + 1))
            self.cluster_parts[j].append((rows[multi], dense, g.codes[rows[multi]]))
        if R is None:
            R = returns.get()[1]
        self.blocks.append(MarketBlock(market, sessions, R, cover, rows, len(cols)))
        if self.flags is not None:
            self.not_total[rows] = _flagged(self.flags, cols, sessions, self.col[rows], pos, off)
        if self.warned is not None:
            self.price_warning[rows] = _warned(
                self.warned, cols, sessions, self.col[rows], self.bench[rows], pos, off
            )
        if "scope" in table.columns:
            self.market_events.append(
                _market_events(table, rows, nm.bench, nm.names, name_col, self.start, R, spec, off)
            )

    def _exclusion(
        self, rcol: np.ndarray, rpos: np.ndarray, revent: np.ndarray, n_cols: int, t_total: int
    ) -> np.ndarray:
        """The exclusion cover (:func:`_cover`): the catalog's events over their window span,
        the confounders (context rows marked ``confounder``) over ``confounder_window``."""
        short = self.ref.confounder[revent]
        if not short.any():
            return _cover(rcol, rpos, n_cols, t_total, self.off)
        long = ~short
        return _cover(rcol[long], rpos[long], n_cols, t_total, self.off) + _cover(
            rcol[short], rpos[short], n_cols, t_total, self.off, self.spec.confounder_window
        )

    def _factor_rows(
        self, R: np.ndarray, sessions: pd.DatetimeIndex, rows: np.ndarray, n_cols: int,
        market: str,
    ) -> np.ndarray:  # fmt: skip
        """``R`` with the risk-free rate and the factors; the factor model's rows dropped when
        the factors cover too little of the market's sessions."""
        assert self.factors is not None
        pad_l = self.off.pad[0]
        R = _with_factors(R, sessions, self.factors, self.factor_names, pad_l)
        self._factor_calendar(sessions, rows, market)
        coverage = float(np.isfinite(R[n_cols, pad_l : pad_l + len(sessions)]).mean())
        if coverage < 0.5:
            mask = np.zeros(len(self.table), dtype=bool)
            mask[rows[self.model[rows] == K.FACTOR]] = True
            self.drops.drop(
                mask,
                "factors",
                f"the factor file covers only {coverage:.0%} of the {market} sessions; "
                "give factors for this market",
            )
        return R

    def _factor_calendar(self, sessions: pd.DatetimeIndex, rows: np.ndarray, market: str) -> None:
        """A note when the factors follow another exchange's calendar than ``market``'s (Ken
        French's US factors for Hong Kong stocks, say): over the sessions both cover, some of
        the factors' dates are not sessions of the market and some sessions have no factor.
        The factors of a date are then read beside a return of an exchange that closes at
        another hour, and windows that hold a session without factors have no value."""
        assert self.factors is not None
        n = int((self.model[rows] == K.FACTOR).sum())
        dates = pd.DatetimeIndex(self.factors.index)
        if not n or not len(dates) or not len(sessions):
            return
        span = sessions[(sessions >= dates[0]) & (sessions <= dates[-1])]
        if len(span) < 20:  # too little overlap to judge (the coverage check speaks then)
            return
        inside = dates[(dates >= span[0]) & (dates <= span[-1])]
        extra, lacking = int((~inside.isin(span)).sum()), int((~span.isin(inside)).sum())
        if min(extra, lacking) < max(3, 0.01 * len(span)):
            return
        self.notes.append(
            f"The factor model measured {n} {market} row{'s' if n != 1 else ''} on factors "
            f"that follow another exchange's calendar: from {span[0].date()} to "
            f"{span[-1].date()}, {extra} of the factors' dates are not {market} sessions and "
            f"{lacking} {market} sessions have no factor value. Factors are matched by date, "
            f"so {market} returns are read beside factors of an exchange that closes at another "
            "hour (Ken French's factors are US), and a window holding a session without "
            "factors has no value; give factors of this market"
        )

    def _reference_rows(
        self, all_rows: np.ndarray, rows: np.ndarray, pos: np.ndarray, name_col: np.ndarray,
        sessions: pd.DatetimeIndex, market: str,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """The reference events of the market (every table row, then the context's) with
        prices: their tickers' rows of R, their day-0 positions on the exchange's calendar
        (an event before or after the price data can still reach into it) and event codes;
        and where the rows measured (``rows``) are among them."""
        ref, n = self.ref, len(self.table)
        ext = np.flatnonzero((ref.extra["market"].astype(str) == market).to_numpy())
        rpos = np.full(len(all_rows) + len(ext), -1, dtype=np.int64)
        measured = np.searchsorted(all_rows, rows)
        rpos[measured] = pos  # the rows measured: their sessions
        elsewhere = np.flatnonzero(rpos < 0)  # dropped rows and the context's other events
        if len(elsewhere):  # their day 0s only (the table's first)
            mine = elsewhere[elsewhere < len(all_rows)]
            theirs = elsewhere[len(mine) :] - len(all_rows)
            day0 = pd.concat(
                [self.table["day0"].iloc[all_rows[mine]], ref.extra["day0"].iloc[ext[theirs]]]
            )
            rpos[elsewhere] = _calendar_positions(market, sessions, day0)
        rcol = np.concatenate(
            [name_col[self.names.tick[all_rows]], name_col[self.names.extra[ext]]]
        )
        revent = np.concatenate([ref.event[all_rows], ref.event[n + ext]])
        ok = rcol >= 0  # true for the rows measured: their tickers have prices
        if ok.all():  # the usual case: no copies
            return rcol.astype(np.int64, copy=False), rpos, revent, measured
        return rcol[ok].astype(np.int64), rpos[ok], revent[ok], (np.cumsum(ok) - 1)[measured]


def _cover(
    rcol: np.ndarray, rpos: np.ndarray, n_cols: int, t_total: int, off: Offsets,
    span: tuple[int, int] | None = None,
) -> np.ndarray:  # fmt: skip
    """Per ticker row of R and padded session: how many reference events' window spans (or
    ``span`` around their day 0) cover it (those sessions are kept out of estimation windows)."""
    s0, s1 = off.span if span is None else span
    pad_l = off.pad[0]
    width = t_total + 1
    flat_start = rcol * width + np.clip(rpos + pad_l + s0, 0, t_total)
    flat_end = rcol * width + np.clip(rpos + pad_l + s1 + 1, 0, t_total)
    diff = np.bincount(flat_start, minlength=n_cols * width) - np.bincount(
        flat_end, minlength=n_cols * width
    )
    return np.cumsum(diff.reshape(n_cols, width), axis=1)[:, :t_total].astype(np.int32)


@dataclass(frozen=True, eq=False)
class _Reference:
    """Every event the run knows: the table's rows, then the context's other rows
    (``extra``); ``event`` their event ids as codes into ``event_ids``; ``confounder`` per
    code: the event is only a confounder (context rows marked ``confounder``)."""

    extra: pd.DataFrame
    event: np.ndarray
    event_ids: pd.Index
    confounder: np.ndarray


def _reference(table: pd.DataFrame, events: EventTable, context: Any) -> _Reference:
    columns = ["event_id", "ticker", "market", "day0"]
    if context is None:
        none = np.zeros(len(events.event_ids), dtype=bool)
        return _Reference(table.iloc[:0][columns], events.event_code, events.event_ids, none)
    other = _normalized(context)[0]
    marked = (
        other[CONFOUNDER].fillna(False).astype(bool)
        if CONFOUNDER in other.columns
        else pd.Series(False, index=other.index)
    )
    other = other[columns].assign(**{CONFOUNDER: marked})
    other = other[other["day0"].notna()]
    reference = pd.concat([table[columns].assign(**{CONFOUNDER: False}), other],
                          ignore_index=True)  # fmt: skip
    reference = reference.drop_duplicates(["event_id", "ticker"]).reset_index(drop=True)
    event, ids = pd.factorize(reference["event_id"])  # the table's rows come first
    # an event is a confounder when every row of it is one (never an event of the table)
    confounder = np.ones(len(ids), dtype=bool)
    confounder[event[~reference[CONFOUNDER].to_numpy(dtype=bool)]] = False
    return _Reference(
        reference.iloc[len(table) :][columns], event.astype(np.int64), pd.Index(ids), confounder
    )


def _benchmarks(
    table: pd.DataFrame, spec: StudySpec, market_code: np.ndarray, market_names: pd.Index
) -> tuple[pd.Series, _Coded | None]:
    """Each row's benchmark: its own, or its market's (the spec's, or the default); and
    without a column of their own, the benchmarks' :func:`_coded` (from the markets' codes:
    the rows' names are not hashed again)."""
    by_market = pd.Series(market_names, dtype=table["market"].dtype).map(
        {m: spec.benchmarks.get(m) or MARKETS[m].default_benchmark for m in market_names}
    )
    default = pd.Series(by_market.array.take(market_code, allow_fill=True), index=table.index)
    if "benchmark" in table.columns:
        own = table["benchmark"].where(table["benchmark"].notna() & (table["benchmark"] != ""))
        return own.fillna(default), None
    # the markets in the order of their first rows: their benchmarks in the order of theirs
    appear = pd.unique(market_code)
    appear = appear[appear >= 0]
    codes, distinct = _coded(by_market.iloc[appear])
    of_market = np.full(len(market_names) + 1, -1, dtype=codes.dtype)  # the last: code -1
    of_market[appear] = codes
    return default, (of_market[market_code], distinct)


def _models(
    table: pd.DataFrame,
    spec: StudySpec,
    self_bench: np.ndarray,
    factors: pd.DataFrame | None,
    drops: DropLog,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's model (a kernel code) and the reason for it (an index into
    :data:`MODEL_REASONS`).

    An event's own ``model`` (event table column) comes first; else the tickers of a
    market-wide event (``scope == "market"``) get ``spec.market_event_model``; else the
    study's model. A model that uses the market is never fitted on the benchmark itself:
    that row gets the constant-mean model. Rows whose model cannot be used are dropped.
    """
    n = len(table)
    model = np.full(n, K.MODEL_CODES[spec.model], dtype=np.int64)
    reason = np.full(n, RUN_MODEL, dtype=np.int8)
    if "scope" in table.columns:
        scope = table["scope"]
        unknown = [  # a misspelt scope ("markt") is not a company event (the few values seen)
            v for v in pd.unique(scope) if not (pd.isna(v) or v in SCOPES or str(v).strip() == "")
        ]
        if unknown:
            drops.drop(
                scope.isin(unknown).to_numpy(dtype=bool),
                "scope",
                lambda i: (
                    f"scope {scope.iat[i]!r} (event table column scope) is not one of "
                    f"{', '.join(SCOPES)}"
                ),
            )
        market_wide = (scope == "market").fillna(False).to_numpy(dtype=bool)
        model[market_wide] = K.MODEL_CODES[spec.market_event_model]
        reason[market_wide] = MARKET_EVENT
    if "model" in table.columns:
        own = table["model"].astype(object)
        given = (own.notna() & (own.astype(str).str.strip() != "")).to_numpy(dtype=bool)
        names = own.astype(str).str.strip()
        code = names.map(K.MODEL_CODES).to_numpy(dtype=np.float64)
        known = given & ~np.isnan(code)
        drops.drop(
            given & ~known,
            "model",
            lambda i: (
                f"model {names.iat[i]!r} (event table column model) is not one of "
                f"{', '.join(MODELS)}"
            ),
        )
        model[known] = code[known].astype(np.int64)
        reason[known] = OWN_MODEL
    uses_market = (model == K.MARKET) | (model == K.MARKET_ADJUSTED)
    model[self_bench & uses_market] = K.CONSTANT_MEAN
    reason[self_bench & uses_market] = SELF_BENCHMARK
    factor = model == K.FACTOR
    if factors is None or factors.empty:
        drops.drop(
            factor, "model", "model 'factor' needs daily factors: pass factors= (--factors FILE)"
        )
    elif spec.returns == "log":
        drops.drop(
            factor,
            "model",
            "the factor model uses simple returns (factors are simple long-short returns): "
            "use returns='simple'",
        )
    return model, reason


def _groupings(table: pd.DataFrame, spec: StudySpec) -> list[Grouping]:
    out = []
    for g in spec.group_by:
        if g == "all":
            out.append(Grouping(g, np.zeros(len(table), dtype=np.int64), ["all"]))
        else:
            # rows without a value form the group "<column> missing" (as binned columns' do)
            values = table[g].astype(str)
            if values.isna().any():
                values = values.fillna(f"{g} missing")
            codes, uniques = pd.factorize(values, sort=True)
            out.append(Grouping(g, codes.astype(np.int64), list(uniques)))
    return out


def _targets(table: pd.DataFrame, events: EventTable) -> np.ndarray:
    """Per row, the row of the event its ``same_news_as`` names on the same ticker (-1)."""
    target = np.full(len(table), -1, dtype=np.int64)
    if "same_news_as" not in table.columns:
        return target
    named = table["same_news_as"].astype(object)
    given = (named.notna() & (named.astype(str).str.strip() != "")).to_numpy(dtype=bool)
    if not given.any():
        return target
    tick, _ = pd.factorize(table["ticker"])
    width = int(tick.max()) + 1
    key = pd.Index(events.event_code.astype(np.int64) * width + tick)
    named_code = events.event_ids.get_indexer(named[given].astype(str).str.strip())
    at = key.get_indexer(named_code.astype(np.int64) * width + tick[given])
    target[np.flatnonzero(given)] = np.where(named_code >= 0, at, -1)
    return target


def _return_flags(prices: Any) -> pd.DataFrame | None:
    """The prices' flags of sessions whose return may not be a total return (``ticker,
    date``), or None."""
    flags = getattr(prices, "return_flags", None)
    if not isinstance(flags, pd.DataFrame) or flags.empty:
        return None
    if not {"ticker", "date"} <= set(flags.columns):
        return None
    return flags


def _quality_warnings(prices: Any) -> pd.DataFrame | None:
    """The sessions of the prices' quality warnings (``ticker, date``: a split-like jump, a
    missing session, a zero volume...), or None when there are none (or no report)."""
    report = getattr(prices, "quality", None)
    issues = getattr(report, "issues", ())
    rows = [(i.ticker, d) for i in issues if i.severity == "warning" for d in i.dates]
    if not rows:
        return None
    frame = pd.DataFrame(rows, columns=["ticker", "date"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _warned(
    warned: pd.DataFrame,
    cols: list[str],
    sessions: pd.DatetimeIndex,
    col: np.ndarray,
    bench: np.ndarray,
    pos: np.ndarray,
    off: Offsets,
) -> np.ndarray:
    """Per row: is a warned session of its ticker (``col``) or of its benchmark (``bench``,
    when it is a ticker's row of the market: not the factor model's risk-free rate) in its
    reach?"""
    hit = _flagged(warned, cols, sessions, col, pos, off)
    has = (bench >= 0) & (bench < len(cols))
    if has.any():
        hit[has] |= _flagged(warned, cols, sessions, bench[has], pos[has], off)
    return hit


def _flagged(
    flags: pd.DataFrame,
    cols: list[str],
    sessions: pd.DatetimeIndex,
    col: np.ndarray,
    pos: np.ndarray,
    off: Offsets,
) -> np.ndarray:
    """Per row (ticker ``col``, day 0 ``pos``): is a flagged session of its ticker in its
    reach?"""
    fcol = pd.Index(cols).get_indexer(flags["ticker"].astype(str))
    fpos = sessions.get_indexer(pd.DatetimeIndex(flags["date"]).normalize())
    ok = (fcol >= 0) & (fpos >= 0)
    width = len(sessions) + 1
    key = np.sort(fcol[ok].astype(np.int64) * width + fpos[ok])
    first = col * width + np.maximum(pos + off.first, 0)
    last = col * width + np.minimum(pos + off.first + off.length - 1, len(sessions) - 1)
    return np.searchsorted(key, last, side="right") > np.searchsorted(key, first, side="left")


def _with_factors(
    R: np.ndarray,
    sessions: pd.DatetimeIndex,
    factors: pd.DataFrame,
    factor_names: list[str],
    pad_l: int,
) -> np.ndarray:
    """``R`` with the risk-free rate (NaN on sessions where a factor is missing) and the
    factors appended as rows, aligned to the market's sessions."""
    fal = factors.reindex(sessions)
    f = fal[factor_names].to_numpy(dtype=np.float64).T
    rf = fal["RF"].to_numpy(dtype=np.float64) if "RF" in fal.columns else np.zeros(len(sessions))
    rf = np.where(np.isfinite(f).all(axis=0), rf, np.nan)
    extra = np.full((1 + len(factor_names), R.shape[1]), np.nan)
    extra[0, pad_l : pad_l + len(sessions)] = rf
    extra[1:, pad_l : pad_l + len(sessions)] = f
    return np.ascontiguousarray(np.concatenate([R, extra]))


def _calendar_positions(market: str, sessions: pd.DatetimeIndex, day0: pd.Series) -> np.ndarray:
    """Day-0 sessions as positions relative to ``sessions[0]`` on the market's calendar
    (negative before it, past the end after it)."""
    cal = get_calendar(market).sessions
    values = pd.DatetimeIndex(day0)
    if not len(sessions):
        return np.full(len(values), -(10**9), dtype=np.int64)
    return (cal.searchsorted(values) - cal.searchsorted(sessions[0])).astype(np.int64)


def _confounders(
    queries: np.ndarray,
    ref_events: np.ndarray,
    ref_cols: np.ndarray,
    ref_pos: np.ndarray,
    n_sessions: int,
    span: tuple[int, int],
    n_list: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per queried row (the reference rows ``queries``, ascending, each with its day 0 on a
    session): the number of other reference events of the same ticker whose day 0 is in the
    row's span, and the event codes of the first ``n_list`` of them (one row's after the
    other). One sweep over the sorted keys (:func:`~backtest.study.kernels.confounders`):
    memory O(rows + listed), never the pairs."""
    n = len(queries)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    s0, s1 = span
    # reference days far outside every queried span are clipped to just outside all of them
    lo = s0 - 1
    width = n_sessions + 2 * (s1 - s0) + 4
    ref_key = np.clip(ref_pos, lo, n_sessions + s1)
    ref_key -= lo
    ref_key += ref_cols * width
    order = K.stable_argsort(ref_key)
    if n == len(ref_key):  # every reference is queried, in order: reference r is query r
        sorted_query = order
    else:
        query = np.full(len(ref_key), -1, dtype=np.int64)  # per reference: its query, -1
        query[queries] = np.arange(n)
        sorted_query = query[order]
    return K.confounders(
        ref_key[order], ref_events[order].astype(np.int64, copy=False), sorted_query, n, s0,
        s1, n_list,
    )  # fmt: skip


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


def _merge_clusters(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n: int) -> Clusters:
    """One grouping's clusters of every market block, numbered across the blocks."""
    row_cluster = np.full(n, -1, dtype=np.int64)
    groups, blocks = [], []
    first = 0
    for b, (rows, dense, codes) in enumerate(parts):
        count = int(dense.max()) + 1 if dense.size else 0
        row_cluster[rows] = first + dense
        group = np.zeros(count, dtype=np.int64)
        group[dense] = codes
        groups.append(group)
        blocks.append(np.full(count, b, dtype=np.int64))
        first += count
    empty = np.zeros(0, dtype=np.int64)
    return Clusters(
        row_cluster,
        np.concatenate(groups) if groups else empty,
        np.concatenate(blocks) if blocks else empty,
    )


#: The columns of ``result.market_events``.
MARKET_EVENT_COLUMNS = [
    "event_id", "market", "benchmark", "day0", "window", "start", "end", "n_days", "return",
]  # fmt: skip


def _market_events(
    table: pd.DataFrame,
    rows: np.ndarray,
    bench_code: np.ndarray,
    names: pd.Index,
    name_col: np.ndarray,
    start: np.ndarray,
    R: np.ndarray,
    spec: StudySpec,
    off: Offsets,
) -> pd.DataFrame:
    """The benchmarks' own returns over each window around market-wide events (one row per
    event, benchmark and window): what the market did, compounded in simple returns (NaN when
    a session's return is missing)."""
    wide = rows[(table["scope"].iloc[rows] == "market").fillna(False).to_numpy(dtype=bool)]
    if not len(wide):
        return pd.DataFrame(columns=MARKET_EVENT_COLUMNS)
    key = pd.DataFrame({"event_id": table["event_id"].iloc[wide].to_numpy(),
                        "bench": bench_code[wide], "row": wide})  # fmt: skip
    first = key.drop_duplicates(["event_id", "bench"])["row"].to_numpy()
    out = []
    for w, (a, b) in enumerate(spec.windows):
        cols = np.arange(off.win_a[w], off.win_b[w])
        r = R[name_col[bench_code[first]][:, None], start[first][:, None] + cols[None, :]]
        simple = np.expm1(r) if spec.returns == "log" else r
        out.append(
            pd.DataFrame(
                {
                    "event_id": table["event_id"].iloc[first].to_numpy(),
                    "market": table["market"].iloc[first].to_numpy(),
                    "benchmark": names[bench_code[first]],
                    "day0": table["day0"].iloc[first].to_numpy(),
                    "window": window_label((a, b)),
                    "start": a,
                    "end": b,
                    "n_days": np.isfinite(simple).sum(axis=1),
                    "return": np.prod(1.0 + simple, axis=1) - 1.0,
                }
            )
        )
    return pd.concat(out, ignore_index=True)[MARKET_EVENT_COLUMNS]
