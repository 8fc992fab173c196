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

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtest.errors import EvbtError, InvalidTickerError, UnknownMarketError
from backtest.markets import MARKETS, market_of
from backtest.study import kernels as K
from backtest.study import statistics as S
from backtest.study.inputs import Dropped, dropped_frame, normalize_event_table, session_returns
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
    """Kolari-Pynnönen accumulators for one grouping in one market: per cluster of rows that
    share (group, day 0), the sum of their standardized residual vectors, the sum of their
    squared norms, and the cluster's group code."""

    row_cluster: np.ndarray
    sums: np.ndarray
    norms: np.ndarray
    group: np.ndarray


@dataclass
class _Out:
    """Per-row outputs, preallocated for every row of the event table."""

    alpha: np.ndarray
    beta: np.ndarray
    sigma: np.ndarray
    nobs: np.ndarray
    dof: np.ndarray
    ar_path: np.ndarray
    sar_path: np.ndarray
    car: np.ndarray
    car_var: np.ndarray
    bhar: np.ndarray
    rank2: np.ndarray
    rank_count: np.ndarray
    phat: np.ndarray
    measured: np.ndarray
    factor_betas: np.ndarray | None

    @classmethod
    def empty(cls, n: int, spec: StudySpec, n_factors: int) -> _Out:
        lp = spec.path[1] - spec.path[0] + 1
        nw = len(spec.windows)
        lr = spec.reach[1] - spec.reach[0] + 1
        nan = np.nan
        return cls(
            alpha=np.full(n, nan),
            beta=np.full(n, nan),
            sigma=np.full(n, nan),
            nobs=np.zeros(n, dtype=np.int64),
            dof=np.zeros(n, dtype=np.int64),
            ar_path=np.full((n, lp), nan),
            sar_path=np.full((n, lp), nan),
            car=np.full((n, nw), nan),
            car_var=np.full((n, nw), nan),
            bhar=np.full((n, nw), nan),
            rank2=np.zeros((n, lr), dtype=np.uint16),
            rank_count=np.zeros(n, dtype=np.int64),
            phat=np.full(n, nan),
            measured=np.zeros(n, dtype=bool),
            factor_betas=np.full((n, n_factors), nan) if n_factors else None,
        )


def _event_table(events: Any) -> tuple[pd.DataFrame, list[Dropped]]:
    if hasattr(events, "to_frame") and hasattr(events, "events"):  # a Catalog
        return normalize_event_table(events.to_frame())
    if isinstance(events, pd.DataFrame):
        return normalize_event_table(events)
    raise TypeError(
        "events must be a Catalog or an event table (DataFrame with event_id, ticker, day0)"
    )


def _close_frame(prices: Any) -> tuple[pd.DataFrame, Mapping[str, Any]]:
    close = getattr(prices, "close", prices)
    if not isinstance(close, pd.DataFrame):
        raise TypeError("prices must be a PricePanel or a DataFrame of closes (dates x tickers)")
    close = close.copy()
    close.index = pd.DatetimeIndex(close.index).tz_localize(None).normalize()
    failed = getattr(prices, "failed", {}) or {}
    return close.sort_index(), failed


def _benchmarks(table: pd.DataFrame, spec: StudySpec) -> pd.Series:
    default = table["market"].map(
        {
            m: spec.benchmarks.get(m) or MARKETS[m].default_benchmark
            for m in table["market"].unique()
        }
    )
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
    timings = {"align": 0.0, "gather": 0.0, "fit": 0.0, "tests": 0.0}
    spec = spec or StudySpec()
    table, drops = _event_table(events)
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
    reference = table[["event_id", "ticker", "market", "day0"]]
    if context is not None:
        ctx = _event_table(context)[0][["event_id", "ticker", "market", "day0"]]
        reference = pd.concat([reference, ctx], ignore_index=True).drop_duplicates(
            ["event_id", "ticker"]
        )

    # ---------------------------------------------------------------- benchmarks, models
    table = table.assign(benchmark=_benchmarks(table, spec))
    keep = np.ones(len(table), dtype=bool)

    def drop(mask: np.ndarray, stage: str, reasons: pd.Series | str) -> None:
        nonlocal keep
        mask = mask & keep
        if not mask.any():
            return
        rs = reasons if isinstance(reasons, str) else None
        for i in np.flatnonzero(mask):  # only dropped rows: builds the report, not the maths
            r = rs if rs is not None else str(reasons.iat[i])  # type: ignore[union-attr]
            drops.append(
                Dropped(str(table["event_id"].iat[i]), str(table["ticker"].iat[i]), stage, r)
            )
        keep &= ~mask

    def bench_market(b: str) -> str:
        try:
            return market_of(b).code
        except (InvalidTickerError, UnknownMarketError):
            return ""

    bmarket = table["benchmark"].map({b: bench_market(b) for b in table["benchmark"].unique()})
    drop(
        (bmarket != table["market"]).to_numpy(),
        "benchmark",
        "benchmark " + table["benchmark"] + " does not trade on " + table["market"]
        + " (the ticker's exchange); choose a benchmark of the same market",
    )  # fmt: skip
    have = {c for c in close.columns if close[c].notna().any()}

    def no_price_reason(t: str) -> str:
        if t in failed:
            return f"no prices for {t}: {failed[t]}"
        return f"no prices for {t} in the price data"

    no_stock = ~table["ticker"].isin(have).to_numpy()
    no_bench = ~table["benchmark"].isin(have).to_numpy()
    missing = set(table["ticker"][no_stock]) | set(table["benchmark"][no_bench])
    names = set(table["ticker"]) | set(table["benchmark"])
    reason_of = {t: no_price_reason(t) if t in missing else "" for t in names}  # per ticker
    drop(no_stock, "prices", table["ticker"].map(reason_of))
    drop(no_bench, "prices", "benchmark " + table["benchmark"].map(reason_of))
    self_bench = (table["ticker"] == table["benchmark"]).to_numpy()
    table["model"] = np.where(self_bench, "constant_mean", spec.model)
    table["model_note"] = np.where(
        self_bench,
        "benchmark ticker: constant-mean model (not measured against itself)",
        "",
    )

    factor_names: list[str] = []
    if spec.model == "factor" and factors is not None:
        factor_names = [c for c in factors.columns if c != "RF"]
    out = _Out.empty(len(table), spec, len(factor_names))
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

    confounded_by = np.full(len(table), "", dtype=object)
    total = int(keep.sum())
    done = 0
    le = spec.estimation[1] - spec.estimation[0] + 1
    kp_state: dict[str, list[_Clusters]] = {}

    # ---------------------------------------------------------------- per market block
    for market, block_index in table.groupby("market", sort=True).indices.items():
        market = str(market)
        rows = np.asarray(block_index)
        cols = sorted(set(table["ticker"].iloc[rows]) | set(table["benchmark"].iloc[rows]))
        cols = [c for c in cols if c in have]
        if not cols:
            continue
        sessions, R = session_returns(close[cols], market, spec.returns)
        session_of[market] = sessions
        col_index = pd.Index(cols)
        tick_col = col_index.get_indexer(table["ticker"])  # -1 where no prices
        bench_col = col_index.get_indexer(table["benchmark"])
        pos = sessions.get_indexer(pd.DatetimeIndex(table["day0"].iloc[rows]))
        positions[rows] = pos
        outside = np.zeros(len(table), dtype=bool)
        outside[rows[pos < 0]] = True
        span_txt = f"{sessions[0].date()} to {sessions[-1].date()}" if len(sessions) else "none"
        drop(
            outside,
            "calendar",
            "day 0 " + table["day0"].dt.strftime("%Y-%m-%d")
            + f" is outside the {market} price data ({span_txt})",
        )  # fmt: skip

        # padded, ticker-major return matrix and its window view
        r0, r1 = spec.reach
        pad_l, pad_r = max(0, -r0), max(0, r1)
        lr = r1 - r0 + 1
        t_total = len(sessions) + pad_l + pad_r
        RT = np.full((len(cols), t_total), np.nan)
        RT[:, pad_l : pad_l + len(sessions)] = R.T
        view = K.window_view(RT, lr)

        # coverage of each ticker's sessions by event spans (for confounding), from every
        # reference event (the whole catalog when a context is given)
        s0, s1 = spec.span
        in_block = rows[pos >= 0]
        ref = reference[reference["market"] == market]
        rpos = sessions.get_indexer(pd.DatetimeIndex(ref["day0"]))
        rcol = col_index.get_indexer(ref["ticker"]).astype(np.int64)
        rok = (rpos >= 0) & (rcol >= 0)
        rpos, rcol, rids = rpos[rok] + pad_l, rcol[rok], ref["event_id"].to_numpy()[rok]
        cover = np.zeros((len(cols), t_total + 1), dtype=np.int32)
        np.add.at(cover, (rcol, np.clip(rpos + s0, 0, t_total)), 1)
        np.add.at(cover, (rcol, np.clip(rpos + s1 + 1, 0, t_total)), -1)
        cover = np.cumsum(cover, axis=1)[:, :t_total]
        cover_view = K.window_view(np.ascontiguousarray(cover), lr)
        qcol = tick_col[in_block].astype(np.int64)
        ok = qcol >= 0
        confounded_by[in_block[ok]] = _confounders(
            table["event_id"].to_numpy()[in_block[ok]],
            qcol[ok],
            positions[in_block[ok]] + pad_l,
            rids,
            rcol,
            rpos,
            (s0, s1),
        )

        # factor windows for this market
        fviews: list[np.ndarray] = []
        rf_view: np.ndarray | None = None
        if factor_names and factors is not None:
            fal = factors.reindex(sessions)
            coverage = fal[factor_names].notna().all(axis=1).mean() if len(fal) else 0.0
            if coverage < 0.5:
                drop(
                    np.isin(np.arange(len(table)), rows) & (table["model"] == "factor").to_numpy(),
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
        for g, (codes, _) in group_codes.items():
            key = codes[in_block] * (len(sessions) + 1) + positions[in_block]
            _, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
            multi = cnt[inv] >= 2  # only clusters of two or more rows can hold pairs
            dense = np.unique(inv[multi], return_inverse=True)[1]
            n_clusters = int(dense.max()) + 1 if dense.size else 0
            row_cluster = np.full(len(table), -1, dtype=np.int64)
            row_cluster[in_block[multi]] = dense
            group = np.zeros(n_clusters, dtype=np.int64)
            group[dense] = codes[in_block[multi]]
            kp_state.setdefault(g, []).append(
                _Clusters(row_cluster, np.zeros((n_clusters, le)), np.zeros(n_clusters), group)
            )

        # ------------------------------------------------------------ measure, by model
        todo = rows[keep[rows]]
        for model in ("market", "market_adjusted", "constant_mean", "factor"):
            sel = todo[table["model"].to_numpy()[todo] == model]
            for c0 in range(0, len(sel), spec.chunk_size):
                chunk = sel[c0 : c0 + spec.chunk_size]
                stock, bench = tick_col[chunk], bench_col[chunk]
                starts = positions[chunk] + pad_l + r0
                tick = time.perf_counter()
                y = K.gather(view, stock, starts)
                x = K.gather(view, bench, starts)
                covered = K.gather(cover_view, stock, starts) > 0
                fx = [
                    K.gather(fv[None, :, :], np.zeros(len(chunk), dtype=np.intp), starts)
                    for fv in fviews
                ]
                rf = (
                    K.gather(rf_view[None, :, :], np.zeros(len(chunk), dtype=np.intp), starts)
                    if rf_view is not None
                    else None
                )
                timings["gather"] += time.perf_counter() - tick
                tick = time.perf_counter()
                reasons, z = _measure_chunk(model, chunk, y, x, covered, fx, rf, spec, out)
                for i, r in reasons.items():
                    drops.append(
                        Dropped(str(table["event_id"].iat[i]), str(table["ticker"].iat[i]), *r)
                    )
                    keep[i] = False
                ok_rows = chunk[out.measured[chunk]]
                for g in group_codes:
                    cl = kp_state[g][-1]  # this market's clusters
                    c = cl.row_cluster[ok_rows]
                    m = c >= 0
                    if m.any():
                        np.add.at(cl.sums, c[m], z[m])
                        np.add.at(cl.norms, c[m], (z[m] ** 2).sum(axis=1))
                timings["fit"] += time.perf_counter() - tick
                done += len(chunk)
                if progress is not None:
                    progress(done, total)

    # ---------------------------------------------------------------- assemble
    measured = out.measured & keep
    dropped_df = dropped_frame(drops)
    if n_input and len(dropped_df) / n_input > spec.max_loss:
        raise StudyDataLossError(dropped_df, n_input, spec.max_loss)
    rbar = _rbar(kp_state, group_codes, measured)
    tick = time.perf_counter()
    result = _assemble(
        table, measured, out, spec, positions, session_of, confounded_by, group_codes, rbar,
        dropped_df, n_input, factor_names, timings,
    )  # fmt: skip
    # the result holds this very dict: complete it with the last stage and the total
    timings["tests"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - started
    timings["align"] = timings["total"] - timings["gather"] - timings["fit"] - timings["tests"]
    return result


def _confounders(
    ids: np.ndarray,
    cols: np.ndarray,
    pos: np.ndarray,
    ref_ids: np.ndarray,
    ref_cols: np.ndarray,
    ref_pos: np.ndarray,
    span: tuple[int, int],
) -> np.ndarray:
    """For each queried row, the ids of other reference events of the same ticker whose day 0
    falls in the row's span (comma-separated, sorted; "" when none)."""
    n = len(ids)
    result = np.full(n, "", dtype=object)
    if n == 0 or len(ref_ids) == 0:
        return result
    width = int(max(pos.max(), ref_pos.max())) + abs(span[0]) + abs(span[1]) + 2
    ref_key = ref_cols * width + ref_pos
    order = np.argsort(ref_key, kind="stable")
    skey = ref_key[order]
    key = cols * width + pos
    lo = np.searchsorted(skey, key + span[0], side="left")
    hi = np.searchsorted(skey, key + span[1], side="right")
    counts = hi - lo
    flagged = np.flatnonzero(counts > 0)
    if flagged.size == 0:
        return result
    # enumerate (row, reference) pairs without a loop per event
    reps = counts[flagged]
    row_of_pair = np.repeat(flagged, reps)
    offsets = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    other = ref_ids[order[np.repeat(lo[flagged], reps) + offsets]]
    pairs = pd.DataFrame({"row": row_of_pair, "other": other, "self": ids[row_of_pair]})
    pairs = pairs[pairs["other"] != pairs["self"]]
    if pairs.empty:
        return result
    joined = pairs.groupby("row")["other"].agg(lambda s: ",".join(sorted(set(s))))
    result[joined.index.to_numpy()] = joined.to_numpy()
    return result


def _measure_chunk(
    model: str,
    chunk: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    covered: np.ndarray,
    fx: list[np.ndarray],
    rf: np.ndarray | None,
    spec: StudySpec,
    out: _Out,
) -> tuple[dict[int, tuple[str, str]], np.ndarray]:
    """Fit, compute ARs, CARs, variances and ranks for one chunk.

    Returns the drop reasons by row and, for the measured rows, their estimation-window
    residuals demeaned and scaled to unit length (for the Kolari-Pynnönen correlation).
    """
    r0 = spec.reach[0]
    e0, e1 = spec.estimation[0] - r0, spec.estimation[1] - r0 + 1
    est = slice(e0, e1)
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
    if spec.exclude_confounded:
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
        day_var = np.broadcast_to(s2[:, None], (n, lr))

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
        day_var = K.ols_day_variance(s2, fit.xtx_inv, regs, yy)

        def car_var(cols: slice, length: int) -> np.ndarray:
            sums = K.ols_window_sums(regs, cols, yy)
            return K.ols_car_variance(s2, fit.xtx_inv, sums, length)

        expected = pred + (rf if model == "factor" else 0.0)

    # ----- drops decided by the estimation
    few = nobs < spec.min_estimation
    for k in np.flatnonzero(few):
        reasons[int(chunk[k])] = (
            "estimation",
            f"only {int(nobs[k])} valid estimation-window returns, {spec.min_estimation} required",
        )
    for k in np.flatnonzero(~few & singular):
        reasons[int(chunk[k])] = (
            "estimation",
            "the benchmark's (or a factor's) returns do not vary over the estimation window",
        )
    flat = ~few & ~singular & ~(s2 > 0)
    for k in np.flatnonzero(flat):
        reasons[int(chunk[k])] = (
            "estimation",
            "zero residual variance in the estimation window (the returns are constant or "
            "track the benchmark exactly)",
        )
    d0 = -r0
    no_day0 = ~np.isfinite(ar[:, d0])
    for k in np.flatnonzero(no_day0 & ~few & ~singular & ~flat):
        reasons[int(chunk[k])] = (
            "event window",
            "no return on day 0 (no price on day 0 or on the session before)",
        )
    ok = ~(few | singular | flat | no_day0)

    # ----- per-event outputs
    p0, p1 = spec.path[0] - r0, spec.path[1] - r0 + 1
    sd_day = np.sqrt(day_var)
    with np.errstate(invalid="ignore", divide="ignore"):
        sar = ar / sd_day
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
    rank_sample = np.where(mask | after_est[None, :], ar, np.nan)
    rank2, count = K.row_ranks(rank_sample)
    est_resid = np.where(mask, resid, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        phat = (est_resid > 0).sum(axis=1) / (~np.isnan(est_resid)).sum(axis=1)

    rows = chunk[ok]
    out.alpha[rows] = alpha[ok]
    out.beta[rows] = beta[ok]
    out.sigma[rows] = np.sqrt(s2[ok])
    out.nobs[rows] = nobs[ok]
    out.dof[rows] = dof[ok]
    out.ar_path[rows] = ar[ok, p0:p1]
    out.sar_path[rows] = sar[ok, p0:p1]
    out.car[rows] = cars[ok]
    out.car_var[rows] = cvars[ok]
    out.bhar[rows] = bhar[ok]
    out.rank2[rows] = rank2[ok]
    out.rank_count[rows] = count[ok]
    out.phat[rows] = phat[ok]
    out.measured[rows] = True
    return reasons, K.standardized_residuals(est_resid[ok][:, est])


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
            if len(cl.sums):
                within = (cl.sums * cl.sums).sum(axis=1) - cl.norms
                pair += np.bincount(cl.group, weights=within, minlength=len(uniques))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[g] = np.where(n_g >= 2, pair / (n_g * (n_g - 1)), np.nan)
    return out


def _assemble(
    table: pd.DataFrame,
    measured: np.ndarray,
    out: _Out,
    spec: StudySpec,
    positions: np.ndarray,
    session_of: dict[str, pd.DatetimeIndex],
    confounded_by: np.ndarray,
    group_codes: dict[str, tuple[np.ndarray, list[Any]]],
    rbar: dict[str, np.ndarray],
    dropped: pd.DataFrame,
    n_input: int,
    factor_names: list[str],
    timings: dict[str, float],
) -> EventStudyResult:
    idx = np.flatnonzero(measured)
    t = table.iloc[idx].reset_index(drop=True)
    cluster_size = (
        t.groupby(["market", "day0"])["event_id"].transform("size").to_numpy() if len(t) else []
    )
    est_first = []
    est_last = []
    for m, sessions in session_of.items():  # per market, vectorised over its events
        sel = (t["market"] == m).to_numpy()
        p = positions[idx][sel]
        lo = np.clip(p + spec.estimation[0], 0, len(sessions) - 1)
        hi = np.clip(p + spec.estimation[1], 0, len(sessions) - 1)
        est_first.append(pd.Series(sessions[lo], index=np.flatnonzero(sel)))
        est_last.append(pd.Series(sessions[hi], index=np.flatnonzero(sel)))
    events = t.assign(
        alpha=out.alpha[idx],
        beta=out.beta[idx],
        sigma=out.sigma[idx],
        n_est=out.nobs[idx],
        dof=out.dof[idx],
        est_first=pd.concat(est_first).sort_index().to_numpy() if est_first else [],
        est_last=pd.concat(est_last).sort_index().to_numpy() if est_last else [],
        confounded=confounded_by[idx] != "",
        confounded_by=confounded_by[idx],
        clustered=np.asarray(cluster_size) > 1,
        cluster_size=cluster_size,
        timing_unknown=(t["timing"] == "unknown").to_numpy() if "timing" in t else False,
    )
    if factor_names and out.factor_betas is not None:
        for k, name in enumerate(factor_names):
            events[f"b_{name}"] = out.factor_betas[idx, k]
    days = np.arange(spec.path[0], spec.path[1] + 1)
    key = pd.MultiIndex.from_frame(t[["event_id", "ticker"]])
    ar = pd.DataFrame(out.ar_path[idx], index=key, columns=days)
    ar.columns.name = "day"

    # windows (long)
    nw = len(spec.windows)
    car = out.car[idx]
    var = out.car_var[idx]
    tstat, pval = S.single_event_t(car, var, out.dof[idx][:, None].astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        scar = car / np.sqrt(var)
    windows = pd.DataFrame(
        {
            "event_id": np.repeat(t["event_id"].to_numpy(), nw),
            "ticker": np.repeat(t["ticker"].to_numpy(), nw),
            "window": np.tile([window_label(w) for w in spec.windows], len(t)),
            "start": np.tile([w[0] for w in spec.windows], len(t)),
            "end": np.tile([w[1] for w in spec.windows], len(t)),
            "car": car.ravel(),
            "car_se": np.sqrt(var).ravel(),
            "t": tstat.ravel(),
            "p": pval.ravel(),
            "bhar": out.bhar[idx].ravel(),
            "scar": scar.ravel(),
        }
    )
    windows["complete"] = windows["car"].notna()

    groups, paths, clusters = _group_tables(t, idx, out, spec, group_codes, rbar, scar, measured)
    first_day = min((s[0] for s in session_of.values() if len(s)), default=None)
    last_day = max((s[-1] for s in session_of.values() if len(s)), default=None)
    data = {
        "price_first": None if first_day is None else first_day.date().isoformat(),
        "price_last": None if last_day is None else last_day.date().isoformat(),
        "markets": sorted(session_of),
        "benchmarks": sorted(set(t["benchmark"])) if len(t) else [],
        "n_input": n_input,
        "n_measured": len(t),
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
        dropped=dropped,
        data=data,
    )


def _group_tables(
    t: pd.DataFrame,
    idx: np.ndarray,
    out: _Out,
    spec: StudySpec,
    group_codes: dict[str, tuple[np.ndarray, list[Any]]],
    rbar: dict[str, np.ndarray],
    scar: np.ndarray,
    measured: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    days = list(range(spec.path[0], spec.path[1] + 1))
    r0 = spec.reach[0]
    ar = out.ar_path[idx]
    sar = out.sar_path[idx]
    car = out.car[idx]
    bhar = out.bhar[idx]
    dof = out.dof[idx]
    phat = out.phat[idx]
    rank2 = out.rank2[idx]
    count = out.rank_count[idx]
    frames = []
    path_frames = []
    cluster_rows = []
    day_cols = [np.array([d - r0]) for d in days]
    win_cols = [np.arange(a - r0, b - r0 + 1) for a, b in spec.windows]
    for g, (codes_all, labels) in group_codes.items():
        codes = codes_all[idx]
        # relabel to the groups present
        present, codes = np.unique(codes, return_inverse=True)
        names = [labels[i] for i in present]
        ng = len(present)
        rb = rbar[g][present]
        rank_sums, n_day = S.corrado_sums(codes, ng, rank2, count)
        for measure, values, standardized, cols_list, labels_cols in (
            ("AAR", ar, sar, day_cols, [("day", d) for d in days]),
            ("CAAR", car, scar, win_cols, [("window", w) for w in spec.windows]),
        ):
            tests = {
                "t": S.cross_sectional_t(codes, ng, values),
                "patell": S.patell(codes, ng, standardized, dof),
                "bmp": (b := S.bmp(codes, ng, standardized)),
                "kp": S.kolari_pynnonen(b, rb),
                "sign": S.sign_test(codes, ng, values),
                "gsign": S.generalized_sign(codes, ng, values, phat),
                "rank": S.corrado(rank_sums, n_day, cols_list),
                "wilcoxon": S.wilcoxon(codes, ng, values),
            }
            mean = S.group_sum(codes, ng, values) / np.maximum(tests["t"].n, 1)
            frame = _test_frame(g, names, measure, labels_cols, mean, tests)
            frames.append(frame)
        # buy-and-hold: mean BHAR with its cross-sectional t
        bt = S.cross_sectional_t(codes, ng, bhar)
        bmean = S.group_sum(codes, ng, bhar) / np.maximum(bt.n, 1)
        frames.append(
            _test_frame(g, names, "ABHAR", [("window", w) for w in spec.windows], bmean, {"t": bt})
        )
        # CAAR path with a 95% band (cross-sectional)
        cmean, csd, cn = S.mean_sd(codes, ng, np.cumsum(ar, axis=1))
        amean = S.mean_sd(codes, ng, ar)[0]
        se = csd / np.sqrt(np.maximum(cn, 1))
        path_frames.append(
            pd.DataFrame(
                {
                    "group_by": g,
                    "group": np.repeat(names, len(days)),
                    "day": np.tile(days, ng),
                    "n": cn.ravel(),
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
                    "n": np.bincount(codes, minlength=ng),
                    "rbar": rb,
                }
            )
        )
    groups = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    paths = pd.concat(path_frames, ignore_index=True) if path_frames else pd.DataFrame()
    clusters = pd.concat(cluster_rows, ignore_index=True) if cluster_rows else pd.DataFrame()
    return groups, paths, clusters


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
