"""The event-study engine: align events with prices, measure every event at once, test groups.

:func:`run_study` runs three typed stages:

1. :func:`~backtest.study.align.align` checks the event table, chooses each row's benchmark
   and model, drops what cannot be measured and builds one padded return matrix per market
   (:class:`~backtest.study.align.MarketBlock`);
2. :func:`~backtest.study.measure.measure` fits and measures every row with the compiled
   kernels (:mod:`backtest.study.kernels`), in chunks on a thread pool;
3. :func:`~backtest.study.battery.battery` runs the test battery and builds the
   :class:`~backtest.study.results.EventStudyResult`.

Work is vectorised over events: there is no Python loop per event. Every (event, ticker) row
that is not measured is in ``result.dropped`` with the stage and the reason (one
:class:`~backtest.study.drops.DropLog` for the whole run).

Timeline of one event (offsets in the ticker's own exchange sessions; default spec)::

    -250 ........ -11 | -10 ... -6 | -5 ....... 0 ....... +20
     estimation window             | event windows (span)
    -20 ..................................... 0 ......... +20   AR path (plots)

Models (see :class:`~backtest.study.spec.StudySpec`): the market model, the constant mean
and the factor model are OLS fits (X = [1, R_m], [1] and [1, F]); the market-adjusted model
fixes alpha = 0, beta = 1 and the raw model takes the return itself as abnormal. CAR variances
include the estimation error of the fitted parameters (prediction-error covariance,
MacKinlay 1997).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from backtest.collector import collector_paused
from backtest.errors import EvbtError
from backtest.study import kernels as K
from backtest.study.align import EventTable, align, check_spec, close_frame
from backtest.study.attributes import BinningError, with_labels
from backtest.study.battery import battery
from backtest.study.drops import ReturnGaps, Series, window_gaps
from backtest.study.earnings import earnings_rows
from backtest.study.earnings import history as earnings_history
from backtest.study.inputs import Dropped, check_factor_rows
from backtest.study.measure import Measured, Outputs, measure
from backtest.study.offsets import Offsets
from backtest.study.results import EventStudyResult, reason_kinds
from backtest.study.spec import SpecError, StudySpec

ProgressFn = Callable[[int, int], None]
StageFn = Callable[[str], None]

#: the stages :func:`run_study` names through its ``stage`` callback, in order
STAGES = ("aligning with prices", "fitting and measuring", "test battery")


class StudyDataLossError(EvbtError, ValueError):
    """More events were dropped than ``max_loss`` allows; the message gives the reasons."""

    def __init__(self, dropped: pd.DataFrame, n_input: int, max_loss: float) -> None:
        self.dropped = dropped
        self.n_input = n_input
        self.max_loss = max_loss
        frac = len(dropped) / n_input if n_input else 1.0
        # by stage and kind of reason (their numbers as ranges: "only 52-119 valid
        # estimation-window returns, 120 required"), the most common first
        kinds = [
            (n, str(stage), text)
            for stage, reasons in dropped.groupby("stage", sort=False)["reason"]
            for n, text in reason_kinds(reasons)
        ]
        kinds.sort(key=lambda k: -k[0])
        lines = [f"  {n} x {stage}: {text}" for n, stage, text in kinds[:5]]
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


# numba's start in a fresh process and the tables make many objects but no cycles: a
# collection amid them walks the whole heap (70-90 ms of a 10k-event study)
@collector_paused()
def run_study(
    events: Any,
    prices: Any,
    spec: StudySpec | None = None,
    *,
    factors: pd.DataFrame | None = None,
    dropped: list[Dropped] | None = None,
    context: Any = None,
    progress: ProgressFn | None = None,
    stage: StageFn | None = None,
    workers: int | None = None,
) -> EventStudyResult:
    """Run an event study.

    Parameters
    ----------
    events:
        A :class:`~backtest.catalog.Catalog` or an event table (see
        :mod:`backtest.study.inputs`). Optional columns: ``benchmark`` (per row), ``scope``
        (``market`` for market-wide events, measured without the market), ``model`` (an
        event's own model), ``same_news_as`` (the id of the event this row repeats).
    prices:
        A :class:`~backtest.prices.PricePanel`, or a DataFrame of adjusted closes (dates x
        tickers). Benchmarks must be among the columns.
    spec:
        The :class:`StudySpec` (default: market model, default windows).
    factors:
        Daily factor returns (decimal) for the factor model, e.g. from
        :func:`~backtest.study.inputs.read_factors`; the ``RF`` column is the risk-free rate.
        Percent (Ken French's values as printed) is refused, see
        :func:`~backtest.study.inputs.check_factor_scale`: divide them by 100.
    dropped:
        Rows already dropped while reading the events (e.g. by ``read_events_csv``); they are
        counted against ``max_loss`` and reported.
    context:
        Every event the run knows (the whole catalog loaded plus any confounder events, a
        Catalog or an event table): confounding flags and the exclusion of other events'
        windows from estimation windows consider all of them, not only the events studied,
        so an event is measured the same way whatever else is studied. Default: ``events``.
        A confounder row with the ticker and day 0 of a known event is that event: pass
        confounder files through :func:`~backtest.study.inputs.without_known_news` first
        (the command line does).
    progress:
        Called as ``progress(done, total)`` as chunks of rows are fitted and measured.
    stage:
        Called with the name of each stage as it starts (:data:`STAGES`, then ``"earnings
        history"`` when there are earnings events), for status lines.
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
    FactorScaleError
        When the factors on the price data's dates are not daily decimal returns (percent,
        or 100 times too small).

    Examples
    --------
    >>> from backtest import load_catalog
    >>> from backtest.prices import load_prices                       # doctest: +SKIP
    >>> cat = load_catalog().filter(categories=["earnings"])           # doctest: +SKIP
    >>> res = run_study(cat, load_prices(..., prices_dir="../shared/prices"))  # doctest: +SKIP
    >>> print(res.summary())                                          # doctest: +SKIP
    """
    started = time.perf_counter()
    say = stage if stage is not None else _silent
    workers = min(os.cpu_count() or 1, 4) if workers is None else max(1, workers)
    spec = spec or StudySpec()
    off = Offsets.of(spec)
    table = EventTable.of(events, dropped)
    table, bin_notes = _binned(table, spec)
    spec = check_spec(spec, table.table, factors)
    if factors is not None:
        priced = _priced_rows(factors, prices)
        check_factor_rows(priced, _rows_label(priced))
    n_factors = 0 if factors is None else sum(c != "RF" for c in factors.columns)
    out = Outputs(len(table.table), off, n_factors)
    out.page_in()  # while the inputs are aligned
    say(STAGES[0])
    aligned = align(table, prices, spec, off, factors=factors, context=context, threads=workers > 1)
    aligned_at = time.perf_counter()
    say(STAGES[1])
    measured = measure(aligned, out, spec, off, workers=workers, progress=progress)
    measured_at = time.perf_counter()
    drops = aligned.drops.frame()
    if aligned.n_input and len(drops) / aligned.n_input > spec.max_loss:
        raise StudyDataLossError(drops, aligned.n_input, spec.max_loss)
    # wall seconds of align, measure (its steps: fit_pass, observations, measure_pass,
    # clusters) and tests; fit is the chunks' thread-seconds inside measure
    timings = {
        "align": aligned_at - started,
        "measure": measured_at - aligned_at,
        **measured.timings,
        "tests": 0.0,
    }
    say(STAGES[2])
    result = battery(measured, spec, off, dropped=drops, workers=workers, timings=timings)
    result = dataclasses.replace(
        result,
        windows=_with_missing(result.windows, measured, spec, off),
        data=_with_price_range(result.data, prices),
    )
    if bin_notes:
        result = dataclasses.replace(result, groups=_with_notes(result.groups, bin_notes))
    if len(earnings_rows(result.events)):
        say("earnings history")
        hist = earnings_history(
            result.events, result.ar, result.windows, spec.windows, _volume(prices)
        )
        result = dataclasses.replace(result, earnings_history=hist)
    # the result holds this very dict: complete it with the last stage and the total
    timings["total"] = time.perf_counter() - started
    timings["tests"] = timings["total"] - timings["align"] - timings["measure"]
    return result


def _with_missing(
    windows: pd.DataFrame, measured: Measured, spec: StudySpec, off: Offsets
) -> pd.DataFrame:
    """The windows table with ``missing``: for a window without a value (``complete``
    False), which day's return is missing, whose and why (:func:`~backtest.study.drops.
    window_gaps`); "" for the others. Read from the rows' return matrices, for the incomplete
    cells alone. A categorical column: "" for a complete cell costs one byte (a million
    events' four windows: 4 MB and a few milliseconds, not a string object per cell)."""
    n, nw = len(measured.idx), len(spec.windows)
    incomplete = ~windows["complete"].to_numpy(dtype=bool)
    missing = pd.Categorical.from_codes(np.zeros(len(windows), dtype=np.int8), categories=[""])
    if incomplete.any() and len(windows) == n * nw:
        a = measured.aligned
        gaps = a.gaps if a.gaps is not None else ReturnGaps(pd.DataFrame())
        ticker, bench = a.table["ticker"], a.table["benchmark"]
        factor_names = a.factor_names

        def series(row: int) -> list[Series]:
            R = a.blocks[int(a.block[row])].R
            t0 = int(a.position[row]) + off.pad[0]
            name = str(ticker.iat[row])
            out: list[Series] = [(name, name, R[a.col[row]], t0)]
            model = int(a.model[row])
            if model in (K.MARKET, K.MARKET_ADJUSTED):
                b = str(bench.iat[row])
                out.append((f"benchmark {b}", b, R[a.bench[row]], t0))
            elif model == K.FACTOR:
                out.append(("risk-free rate RF", None, R[a.bench[row]], t0))
                out += [
                    (f"factor {f}", None, R[a.fbase[row] + k], t0)
                    for k, f in enumerate(factor_names)
                ]
            return out

        def sessions_of(row: int) -> tuple[pd.DatetimeIndex, int]:
            return a.blocks[int(a.block[row])].sessions, off.pad[0]

        missing = pd.Categorical(
            window_gaps(
                spec.windows, incomplete.reshape(n, nw), measured.idx, series, sessions_of, gaps
            ).ravel()
        )
    return windows.assign(missing=missing)


def _with_price_range(data: Any, prices: Any) -> Any:
    """``data`` with the price data's range when no row was aligned with prices (the range
    of the sessions measured otherwise): the whole panel's first and last dates, None only
    when it holds no price."""
    if data.get("price_first") is not None:
        return data
    close, _ = close_frame(prices)
    priced = close.index[close.notna().any(axis=1).to_numpy()] if len(close) else close.index
    if not len(priced):
        return data
    first, last = priced[0].date().isoformat(), priced[-1].date().isoformat()
    return {**data, "price_first": first, "price_last": last}


def _silent(name: str) -> None:
    """No status lines."""


def _priced_rows(factors: pd.DataFrame, prices: Any) -> pd.DataFrame:
    """The factor rows on the price data's dates, the rows a study can use (all of them
    when the index is not naive dates: alignment will find none)."""
    close, _ = close_frame(prices)
    index = factors.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is not None or close.empty:
        return factors
    return factors[(index >= close.index[0]) & (index <= close.index[-1])]


def _rows_label(rows: pd.DataFrame) -> str:
    """Which factor rows a study looks at, for its messages."""
    index = rows.index
    if not len(index) or not isinstance(index, pd.DatetimeIndex):
        return "its rows on the price data's dates"
    return f"its rows on the price data's dates, {index[0].date()} to {index[-1].date()}"


def _volume(prices: Any) -> pd.DataFrame | None:
    """The prices' volumes (dates x tickers), or None (a frame of closes has none)."""
    volume = getattr(prices, "volume", None)
    return volume if isinstance(volume, pd.DataFrame) and not volume.empty else None


def _binned(table: EventTable, spec: StudySpec) -> tuple[EventTable, dict[str, str]]:
    """The event table with a label column per binned grouping (``surprise_pct:quintile``;
    see :mod:`backtest.study.attributes`), and the notes of the groupings that need one."""
    try:
        labelled, notes = with_labels(table.table, spec.group_by)
    except BinningError as exc:
        raise SpecError(str(exc)) from None
    if labelled is table.table:
        return table, notes
    return EventTable(labelled, table.dropped, table.event_code, table.event_ids), notes


def _with_notes(groups: pd.DataFrame, notes: dict[str, str]) -> pd.DataFrame:
    """The group table with each binned grouping's note added to its rows' ``notes``."""
    groups = groups.copy()
    for g, text in notes.items():
        if not text:
            continue
        sel = (groups["group_by"] == g).to_numpy()
        old = groups.loc[sel, "notes"].fillna("").astype(str)
        groups.loc[sel, "notes"] = [f"{o} | {text}" if o else text for o in old]
    return groups
