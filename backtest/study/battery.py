"""Stage 3 of an event study: the test battery and the result's tables.

:func:`battery` turns a :class:`~backtest.study.measure.Measured` study into an
:class:`~backtest.study.results.EventStudyResult`: the single-event t-tests of every CAR, and
per grouping and group the AAR of every path day, the CAAR and ABHAR of every window with
every group test (compiled moments and signed ranks on a thread pool, Corrado ranks from the
sums made while measuring, the Kolari-Pynnönen adjustment from the clusters' correlations),
one headline test per row with the interval it implies, and the per-event tables.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from backtest.study import kernels as K
from backtest.study import statistics as S
from backtest.study.measure import WINDOW_COLUMNS, Measured, Standardizer
from backtest.study.offsets import Offsets
from backtest.study.results import EventStudyResult
from backtest.study.spec import StudySpec, window_label

_NAMES = {key: name for key, name, _ in S.GROUP_TESTS}


def battery(
    measured: Measured,
    spec: StudySpec,
    off: Offsets,
    *,
    dropped: pd.DataFrame,
    workers: int,
    timings: dict[str, float],
) -> EventStudyResult:
    """The result of a measured study (see the module docstring)."""
    a = measured.aligned
    idx = measured.idx
    out, fits = measured.out, measured.fits
    everything = len(idx) == len(a.table)

    def take(x: np.ndarray) -> np.ndarray:
        """The measured rows of ``x`` (a view, not a copy, when every row was measured)."""
        return x if everything else x[idx]

    n, nw = len(idx), len(spec.windows)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # the numbers on the pool, the tables on this thread meanwhile. Windows: one block of
        # float columns in pandas' own layout (columns x rows), where the measurement wrote
        # CAR, Var(CAR) and BHAR
        if everything:
            block = out.windows
        else:
            block = np.empty((len(WINDOW_COLUMNS), n * nw))
            block[0], block[1], block[4] = (out.car[idx].ravel(), out.car_var[idx].ravel(),
                                            out.bhar[idx].ravel())  # fmt: skip
        car, bhar = block[0].reshape(n, nw), block[4].reshape(n, nw)
        se, tstat = block[1], block[2]
        np.sqrt(se, out=se)  # Var(CAR) to its square root, in place
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(block[0], se, out=tstat)  # t = CAR / sqrt(Var(CAR)) (MacKinlay 1997)
        block[5] = tstat  # the standardized CAR is the single-event t
        scar = block[5].reshape(n, nw)
        dof_f = take(fits.dof).astype(np.float64)[:, None]
        pval = block[3].reshape(n, nw)
        halves = np.linspace(0, n, max(1, workers) + 1).astype(int)
        p_jobs = [
            pool.submit(S.two_sided_t, tstat.reshape(n, nw)[lo:hi], dof_f[lo:hi], out=pval[lo:hi])
            for lo, hi in itertools.pairwise(halves)
        ]
        ar_values = take(out.ar_path)
        with np.errstate(divide="ignore"):
            inv_se = 1.0 / se.reshape(n, nw)  # the CARs' standardization weights
        finish_groups = _group_tables(
            pool, workers, measured, take, ar_values, car, scar, inv_se, bhar, spec, off
        )
        dtypes = _Dtypes(a.event_ids, a.names)
        events, ar, confounders, ev_codes, tk_codes = _event_tables(
            measured, take, ar_values, spec, off, dtypes
        )
        for f in p_jobs:
            f.result()
        windows = _windows_table(block, n, ev_codes, tk_codes, dtypes, spec)
        groups, paths, clusters = finish_groups()
    sessions = [b.sessions for b in a.blocks if len(b.sessions)]
    data = {
        "price_first": min(s[0] for s in sessions).date().isoformat() if sessions else None,
        "price_last": max(s[-1] for s in sessions).date().isoformat() if sessions else None,
        "markets": sorted(b.market for b in a.blocks),
        "benchmarks": sorted(events["benchmark"].unique()) if len(events) else [],
        "n_input": a.n_input,
        "n_measured": len(events),
        "n_dropped": len(dropped),
        "notes": list(a.notes),
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
        market_events=a.market_events,
    )


def _windows_table(
    block: np.ndarray,
    n: int,
    ev_codes: np.ndarray,
    tk_codes: np.ndarray,
    dtypes: _Dtypes,
    spec: StudySpec,
) -> pd.DataFrame:
    """The windows table: a row per measured row and window, its ids and window, then the
    float columns of ``block`` (:data:`WINDOW_COLUMNS` x rows, pandas' own layout) and
    whether the CAR is complete. Its parts are joined side by side, which copies nothing
    (inserting columns one by one copies each)."""
    nw = len(spec.windows)
    labels = pd.Index([window_label(w) for w in spec.windows])
    window_dtype = pd.CategoricalDtype(labels)
    starts = np.array([w[0] for w in spec.windows], dtype=np.int64)
    ends = np.array([w[1] for w in spec.windows], dtype=np.int64)
    ids = pd.DataFrame(
        {
            "event_id": _repeated(ev_codes, nw, dtypes.events),
            "ticker": _repeated(tk_codes, nw, dtypes.names),
            "window": _categorical(np.tile(np.arange(nw, dtype=np.int8), n), window_dtype),
            "start": np.broadcast_to(starts, (n, nw)).ravel(),
            "end": np.broadcast_to(ends, (n, nw)).ravel(),
        },
        copy=False,
    )
    floats = pd.DataFrame(block.T, columns=WINDOW_COLUMNS, copy=False)
    complete = pd.DataFrame({"complete": ~np.isnan(block[0])}, copy=False)
    return pd.concat([ids, floats, complete], axis=1)


def _categorical(codes: np.ndarray, dtype: pd.CategoricalDtype) -> pd.Categorical:
    """A Categorical from codes into categories known to be unique (from ``pd.factorize``)."""
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _repeated(codes: np.ndarray, times: Any, dtype: pd.CategoricalDtype) -> pd.Categorical:
    """:func:`_categorical` of ``np.repeat(codes, times)``, the codes first made the integer
    type pandas keeps for ``dtype`` (the smallest that holds its categories): the repeated
    codes are not converted again (a million rows' confounders repeat their ids ~7 million
    times)."""
    kind = pd.Categorical.from_codes(np.zeros(0, dtype=np.int64), dtype=dtype, validate=False)
    return _categorical(np.repeat(codes.astype(kind.codes.dtype), times), dtype)


class _Dtypes:
    """One categorical dtype per kind of id, from categories known to be unique and without
    missing values (``pd.factorize`` made them): pandas' check of the categories would hash
    every id again (0.6-0.8 s for a million Arrow-backed event ids)."""

    def __init__(self, event_ids: pd.Index, names: pd.Index) -> None:
        self.events = _unique_dtype(event_ids)
        self.names = _unique_dtype(names)


def _unique_dtype(categories: pd.Index) -> pd.CategoricalDtype:
    """``pd.CategoricalDtype(categories)`` for categories known to be unique and not null,
    through pandas' own unchecked constructor where this pandas has it."""
    fast = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    if fast is None:
        return pd.CategoricalDtype(categories)
    dtype: pd.CategoricalDtype = fast(categories, False)
    return dtype


# ----------------------------------------------------------------------------- group tests


def _column_tests(
    pool: ThreadPoolExecutor,
    workers: int,
    groups: S.Groups,
    values: np.ndarray,
    standardized: np.ndarray | Standardizer,
    dof: np.ndarray,
    phat: np.ndarray,
    kept: np.ndarray,
    stat_of: np.ndarray,
    scratch: threading.local,
    *,
    weights: np.ndarray | None = None,
    moments_only: bool = False,
) -> Callable[[], tuple[dict[str, S.GroupStat], S.Inversion]]:
    """Start every test but the rank test and Kolari-Pynnönen, for each column of ``values``
    (over the rows that are observations of the column's statistic ``stat_of``; the
    standardized values and their ``weights``, or a Standardizer), on ``pool``; return a
    function that waits for them and gives the tests with the group ``mean``, ``sd``,
    ``single`` (a group of one observation's own t) and ``rows``, and what inverting BMP
    needs.

    One compiled pass over the rows for the moments of each of up to ``workers`` ranges of
    whole blocks of columns (:func:`_block_splits`; a block's updates overlap in the CPU),
    and one call per :data:`RANK_BLOCK` columns for the signed ranks, each a single call that
    releases the GIL.
    """
    k = values.shape[1]
    dof_f = dof.astype(np.float64)
    width = K.AR_WIDTH if isinstance(standardized, Standardizer) else K.WINDOW_WIDTH
    splits = _block_splits(k, width, workers)
    if isinstance(standardized, Standardizer):  # the AR path, standardized as it is read
        sd = standardized
        moments = [
            pool.submit(K.ar_moments, values, sd.models, sd.s2, sd.nobs, sd.mx, sd.sxx, sd.bx,
                        sd.bx_row, sd.bx_start, sd.fmean, sd.fcinv, dof_f, phat, groups.codes,
                        groups.n, int(lo), int(hi), kept, stat_of)
            for lo, hi in itertools.pairwise(splits)
        ]  # fmt: skip
    else:
        w = standardized if weights is None else weights
        moments = [
            pool.submit(K.column_moments, values, standardized, w, dof_f, phat, groups.codes,
                        groups.n, int(lo), int(hi), kept, stat_of)
            for lo, hi in itertools.pairwise(splits)
        ]  # fmt: skip
    order, bounds = groups.row_order, groups.bounds
    ranks = [] if moments_only else [
        pool.submit(_signed_rank_columns, values, j, min(j + RANK_BLOCK, k), order, bounds, kept,
                    stat_of, scratch)
        for j in range(0, k, RANK_BLOCK)
    ]  # fmt: skip

    def finish() -> tuple[dict[str, S.GroupStat], S.Inversion]:
        m = np.concatenate([f.result() for f in moments], axis=1)
        res = S.moment_stats(m)
        if not moments_only:
            blocks = [f.result() for f in ranks]  # columns x groups x 4 each
            res["wilcoxon"] = S.wilcoxon_stats(np.concatenate(blocks, axis=0).transpose(1, 0, 2))
        return res, S.Inversion.of(m)

    return finish


def _block_splits(k: int, width: int, workers: int) -> np.ndarray:
    """Bounds of the ranges of the ``k`` columns that the moment kernels take on ``workers``
    threads: whole blocks of the kernel's ``width`` columns each (the last one may be
    short), about as many per range. A kernel updates a block's columns side by side; a
    range cut inside a block makes two short blocks, each slower than a whole one."""
    n_blocks = -(-k // width)
    if n_blocks == 0:
        return np.zeros(1, dtype=int)  # no column: no range
    jobs = min(max(1, workers), n_blocks)
    cuts = np.round(np.arange(jobs + 1) * n_blocks / jobs).astype(int) * width
    return np.minimum(cuts, k)


#: Columns whose signed-rank keys are made in one pass over the rows (one job of the pool).
RANK_BLOCK = 8


def _signed_rank_columns(
    values: np.ndarray,
    k0: int,
    k1: int,
    order: np.ndarray,
    bounds: np.ndarray,
    kept: np.ndarray,
    stat_of: np.ndarray,
    scratch: threading.local,
) -> np.ndarray:
    """The signed-rank statistics (columns x G x 4) of columns ``k0 .. k1-1``, with key
    buffers the thread reuses."""
    n = len(values)
    keys: np.ndarray | None = getattr(scratch, "keys", None)
    if keys is None or keys.shape[1] < n:
        keys = scratch.keys = np.empty((RANK_BLOCK, n), dtype=np.int64)
        scratch.tmp = np.empty(n, dtype=np.int64)
    stats = np.ascontiguousarray(stat_of[k0:k1], dtype=np.int64)
    out: np.ndarray = K.signed_rank_columns(values, k0, k1, order, bounds, keys, scratch.tmp,
                                            kept, stats)  # fmt: skip
    return out


def _present(codes: np.ndarray, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """The codes present (sorted) and each row's code as an index into them (what
    ``np.unique(codes, return_inverse=True)`` gives, without a sort)."""
    has = np.bincount(codes, minlength=n_labels) > 0
    present = np.flatnonzero(has)
    remap = np.cumsum(has) - 1
    return present, remap[codes]


def _rbar(measured: Measured, j: int, idx: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Average pairwise correlation of the observations' abnormal returns, per group present
    and statistic (groups x statistics).

    Pairs of observations on the same session of the same market are correlated through
    their common day; pairs on different sessions are treated as independent (their
    event-day returns do not overlap). For a cluster c of observations sharing day 0, the
    sum of pairwise correlations is ``|sum_i z_i|^2 - sum_i |z_i|^2`` with ``z_i`` the
    standardized estimation residuals, so ``rbar = sum over clusters / (n (n - 1))``
    (Kolari and Pynnönen 2010, with the correlations of non-clustered pairs set to zero).
    """
    a = measured.aligned
    g = a.groupings[j]
    cl = a.clusters[j]
    n_groups = len(g.labels)
    kept = measured.kept[j][idx]  # (n, S)
    codes = g.codes[idx]
    n_stats = kept.shape[1]
    out = np.empty((len(present), n_stats))
    within = measured.within[j]
    for s in range(n_stats):
        n_g = np.bincount(codes, weights=kept[:, s], minlength=n_groups)
        pair = (
            np.bincount(cl.group, weights=within[:, s], minlength=n_groups)
            if len(cl.group)
            else np.zeros(n_groups)
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, s] = np.where(n_g >= 2, pair / (n_g * (n_g - 1)), np.nan)[present]
    return out


def _group_tables(
    pool: ThreadPoolExecutor,
    workers: int,
    measured: Measured,
    take: Callable[[np.ndarray], np.ndarray],
    ar: np.ndarray,
    car: np.ndarray,
    scar: np.ndarray,
    inv_se: np.ndarray,
    bhar: np.ndarray,
    spec: StudySpec,
    off: Offsets,
) -> Callable[[], tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    """Start the group tests of every grouping on ``pool``; return a function that waits for
    them and builds the tables ``groups``, ``paths`` and ``clusters``."""
    a, idx = measured.aligned, measured.idx
    fits = measured.fits
    days = off.path_days.tolist()
    nw = len(spec.windows)
    dof = take(fits.dof)
    phat = take(fits.phat)
    std = measured.standardizer
    day_stat = np.zeros(len(days), dtype=np.int64)  # statistic 0: the days
    win_stat = np.arange(1, 1 + nw, dtype=np.int64)  # statistic 1 + w: window w
    ranked_day = off.in_window[off.path[0] : off.path[1]] > 0
    scratch = threading.local()
    started = []
    for j, g in enumerate(a.groupings):
        # relabel to the groups present
        present, codes = _present(g.codes[idx], len(g.labels))
        groups = S.Groups(codes, len(present))
        kept = np.ascontiguousarray(measured.kept[j][idx])
        rb = _rbar(measured, j, idx, present)
        # submitted first: as the last job in the queue it ran alone at the end
        pm = pool.submit(K.path_moments, ar, groups.codes, len(present),
                         np.ascontiguousarray(kept[:, 0]))  # fmt: skip
        tests = {
            "AAR": _column_tests(pool, workers, groups, ar, std, dof, phat, kept, day_stat,
                                 scratch),
            "CAAR": _column_tests(pool, workers, groups, car, scar, dof, phat, kept, win_stat,
                                  scratch, weights=inv_se),
            "ABHAR": _column_tests(pool, workers, groups, bhar, bhar, dof, phat, kept, win_stat,
                                   scratch, moments_only=True),
        }  # fmt: skip
        started.append((j, g, present, groups, rb, tests, pm))

    def finish() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        frames, path_frames, cluster_rows = [], [], []
        for j, g, present, groups, rb, tests, pm in started:
            names = [g.labels[i] for i in present]
            ng = len(present)
            ranks = _rank_tests(measured, j, present, off)
            n_measured = np.bincount(groups.codes, minlength=ng)
            for measure, stat_of, columns in (
                ("AAR", day_stat, [("day", d) for d in days]),
                ("CAAR", win_stat, [("window", w) for w in spec.windows]),
            ):
                res, inversion = tests[measure]()
                res["kp"] = S.kolari_pynnonen(res["bmp"], rb[:, stat_of])
                res["rank"] = ranks[measure]
                not_ranked = ~ranked_day if measure == "AAR" else np.zeros(nw, dtype=bool)
                frames.append(
                    _test_frame(
                        g.name,
                        names,
                        measure,
                        columns,
                        res,
                        single=res["single"],
                        inversion=inversion,
                        rbar=rb[:, stat_of],
                        not_ranked=not_ranked,
                        n_measured=n_measured,
                    )
                )
            # buy-and-hold: mean BHAR with its cross-sectional t
            bm, _ = tests["ABHAR"]()
            frames.append(
                _test_frame(
                    g.name,
                    names,
                    "ABHAR",
                    [("window", w) for w in spec.windows],
                    {k: bm[k] for k in ("mean", "rows", "t", "sd")},
                    single=None,
                    n_measured=n_measured,
                )
            )
            path_frames.append(_path_frame(g.name, names, days, pm.result()))
            cluster_rows.append(
                pd.DataFrame(
                    {
                        "group_by": g.name,
                        "group": names,
                        "n": np.bincount(groups.codes, minlength=ng),
                        "n_obs": np.bincount(
                            groups.codes, weights=measured.kept[j][idx, 0], minlength=ng
                        ).astype(np.int64),
                        "rbar": rb[:, 0],
                    }
                )
            )
        groups_df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        paths = pd.concat(path_frames, ignore_index=True) if path_frames else pd.DataFrame()
        clusters = pd.concat(cluster_rows, ignore_index=True) if cluster_rows else pd.DataFrame()
        return groups_df, paths, clusters

    return finish


def _rank_tests(
    measured: Measured, j: int, present: np.ndarray, off: Offsets
) -> dict[str, S.GroupStat]:
    """Corrado's tests of grouping ``j``'s groups ``present``: per path day (AAR) and per
    window (CAAR), each from the rank sums of the observation patterns that hold its
    statistic, over the rank sample's columns only (and one empty column for the days not
    in it), so that the path changes nothing the test reads."""
    rank_at = off.rank_position
    sample = np.append(off.rank_columns, 0)
    at = measured.rank_offsets[j] + present
    table = measured.patterns[j].patterns
    sums = measured.rank_sums[at][:, : len(table)][:, :, sample]
    counts = measured.rank_n[at][:, : len(table)][:, :, sample]
    sums[:, :, -1], counts[:, :, -1] = 0.0, 0

    def rank_of(stat: int, cols: list[np.ndarray]) -> S.GroupStat:
        holds = table[:, stat]
        return S.corrado(sums[:, holds].sum(axis=1), counts[:, holds].sum(axis=1), cols)

    windows = [
        rank_of(1 + w, [rank_at[lo:hi]])
        for w, (lo, hi) in enumerate(zip(off.win_a, off.win_b, strict=True))
    ]
    return {
        "AAR": rank_of(0, [rank_at[[c]] for c in range(off.path[0], off.path[1])]),
        "CAAR": S.GroupStat(
            np.concatenate([r.stat for r in windows], axis=1),
            np.concatenate([r.p for r in windows], axis=1),
            np.concatenate([r.n for r in windows], axis=1),
        ),
    }


def _path_frame(
    group_by: str, names: list[Any], days: list[int], moments: np.ndarray
) -> pd.DataFrame:
    """The CAAR path with its cross-sectional standard error (95% band), from the moments of
    :func:`backtest.study.kernels.path_moments`."""
    cn = moments[:, :, 0].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cmean = np.where(cn > 0, moments[:, :, 1], np.nan)
        csd = np.sqrt(moments[:, :, 2] / (cn - 1))
        amean = np.where(moments[:, :, 3] > 0, moments[:, :, 4], np.nan)
    se = csd / np.sqrt(np.maximum(cn, 1))
    return pd.DataFrame(
        {
            "group_by": group_by,
            "group": np.repeat(names, len(days)),
            "day": np.tile(days, len(names)),
            "n": cn.ravel().astype(np.int64),
            "aar": amean.ravel(),
            "caar": cmean.ravel(),
            "caar_se": np.where(cn.ravel() >= 2, se.ravel(), np.nan),
        }
    )


def _test_frame(
    group_by: str,
    names: list[Any],
    measure: str,
    labels_cols: list[tuple[str, Any]],
    tests: dict[str, S.GroupStat],
    *,
    single: S.GroupStat | None,
    inversion: S.Inversion | None = None,
    rbar: np.ndarray | None = None,
    not_ranked: np.ndarray | None = None,
    n_measured: np.ndarray | None = None,
) -> pd.DataFrame:
    """The group rows of one measure: counts, value, headline test, every test's statistic,
    p-value and reason when not computed (data: ``<test>_reason``), and notes (text).

    ``n_measured``: the rows measured per group; a cell with fewer rows with a value (a
    return missing on the day or in the window: the stock's, its benchmark's or a factor's)
    says how many have none."""
    mean = tests["mean"].stat
    ng, k = mean.shape
    n_obs = tests["mean"].n.ravel()
    n_rows = tests["rows"].n.ravel()
    value = np.where(n_obs > 0, mean.ravel(), np.nan)
    present = {key: tests[key] for key, _, _ in S.GROUP_TESTS if key in tests}
    with np.errstate(invalid="ignore", divide="ignore"):
        se = tests["sd"].stat / np.sqrt(tests["t"].n) if "sd" in tests else None
    head, hstat, hp, lo, hi = S.headline(
        value.reshape(ng, k), present, single=single, inversion=inversion, rbar=rbar, se=se
    )
    data: dict[str, Any] = {
        "group_by": group_by,
        "group": np.repeat(names, k),
        "measure": measure,
        "day": np.tile([v if kind == "day" else np.nan for kind, v in labels_cols], ng),
        "window": np.tile(
            [window_label(v) if kind == "window" else "" for kind, v in labels_cols], ng
        ),
        "n_rows": n_rows,
        "n": n_obs,
        "merged": n_rows - n_obs,
        "value": value,
        "headline": head.ravel(),
        "headline_stat": hstat.ravel(),
        "headline_p": hp.ravel(),
        "lo": lo.ravel(),
        "hi": hi.ravel(),
    }
    merged = data["merged"]
    notes = np.full(ng * k, "", dtype=object)
    for i in np.flatnonzero(merged > 0):  # a loop over (group, day or window) cells
        m = int(merged[i])
        notes[i] = (
            f"{m} row{'s' if m != 1 else ''} merged (rows of one ticker whose days overlap are "
            "one observation)"
        )
    if n_measured is not None:
        lacking = np.repeat(n_measured, k) - n_rows
        where = [
            "in the window (complete is False in the windows table)" if kind == "window"
            else "on the day"
            for kind, _ in labels_cols
        ]  # fmt: skip
        for i in np.flatnonzero(lacking > 0):  # a loop over (group, day or window) cells
            m = int(lacking[i])
            note = (
                f"{m} measured row{'s' if m != 1 else ''} without a value: a return (the "
                f"stock's, its benchmark's or a factor's) is missing {where[i % k]}"
            )
            notes[i] = f"{notes[i]} | {note}" if notes[i] else note
    if inversion is not None:  # a BMP (or KP) interval need not hold the equal-weighted value
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = (inversion.mean_s / inversion.mean_w).ravel()
            outside = np.flatnonzero((value < data["lo"]) | (value > data["hi"]))
        for i in outside:  # a loop over the few (group, day or window) cells concerned
            outside_note = (
                f"the {head.ravel()[i]} interval is of a shift common to every event; it is "
                f"built around the events' mean weighted by one over each one's standard "
                f"deviation ({centre[i]:+.2%}, where its statistic is 0), and the equal-weighted "
                "value is outside it"
            )
            notes[i] = f"{notes[i]} | {outside_note}" if notes[i] else outside_note
    ranked = np.tile(~not_ranked, ng) if not_ranked is not None else np.ones(ng * k, dtype=bool)
    for key, res in present.items():
        data[key] = res.stat.ravel()
        data[f"{key}_p"] = res.p.ravel()
    for key, res in present.items():
        missing = np.isnan(res.stat.ravel()) & (n_obs > 0)
        reason = np.full(ng * k, None, dtype=object)
        if missing.any():  # a loop over (group, day or window) cells, not events
            why = np.array(
                [
                    f"{S.NOT_RANKED if key == 'rank' and not r else S.REASONS[key]}; n = {c}"
                    for c, r in zip(n_obs, ranked, strict=True)
                ],
                dtype=object,
            )
            reason[missing] = why[missing]
            text = np.array([f"{key}: not computed ({w})" for w in why], dtype=object)
            notes = np.where(missing, np.where(notes == "", text, notes + " | " + text), notes)
        data[f"{key}_reason"] = reason
    data["notes"] = notes
    frame = pd.DataFrame(data)
    frame["day"] = frame["day"].astype("Int64")
    return frame


# ----------------------------------------------------------------------------- event tables


def _event_tables(
    measured: Measured,
    take: Callable[[np.ndarray], np.ndarray],
    ar_values: np.ndarray,
    spec: StudySpec,
    off: Offsets,
    dtypes: _Dtypes,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """The per-event tables of the measured rows: ``events``, ``ar`` and ``confounders``; and
    the rows' event-id and ticker codes."""
    a, idx, fits = measured.aligned, measured.idx, measured.fits
    everything = len(idx) == len(a.table)
    t = a.table if everything else a.table.iloc[idx].reset_index(drop=True)
    ev_codes, tk_codes = take(a.event_code), take(a.tick_code)
    n_conf = take(a.confounding.counts)
    lengths, others = a.confounding.listed.of(idx)
    confounders = pd.DataFrame(
        {
            "event_id": _repeated(ev_codes, lengths, dtypes.events),
            "ticker": _repeated(tk_codes, lengths, dtypes.names),
            "other_event_id": _categorical(others, dtypes.events),
        }
    )
    # estimation sessions and day-0 clusters, per market, vectorised over its events
    pos = take(a.position)
    blk = take(a.block)
    dates = a.blocks[0].sessions.to_numpy()[:0] if a.blocks else np.zeros(0, "datetime64[ns]")
    est_first = np.empty(len(t), dtype=dates.dtype)
    est_last = np.empty(len(t), dtype=dates.dtype)
    cluster_size = np.zeros(len(t), dtype=np.int64)
    for b, block in enumerate(a.blocks):
        sel = slice(None) if len(a.blocks) == 1 else np.flatnonzero(blk == b)
        p = pos[sel]
        days = block.sessions.to_numpy()
        last = len(days) - 1
        est_first[sel] = days[np.clip(p + spec.estimation[0], 0, last)]
        est_last[sel] = days[np.clip(p + spec.estimation[1], 0, last)]
        cluster_size[sel] = np.bincount(p, minlength=len(days))[p]
    pr = measured.primary
    n_over, over_ptr, over_codes = K.observation_lists(
        pr.primary, take(a.event_code)[pr.order], pr.where, spec.max_listed
    )
    # the measured columns joined to the table side by side: no copy (``assign`` copies each)
    added = {
        "alpha": take(fits.alpha),
        "beta": take(fits.beta),
        "sigma": np.sqrt(take(fits.s2)),
        "n_est": take(fits.nobs),
        "dof": take(fits.dof),
        "est_first": est_first if len(t) else [],
        "est_last": est_last if len(t) else [],
        "confounded": n_conf > 0,
        "n_confounders": n_conf,
        "clustered": cluster_size > 1,
        "cluster_size": cluster_size if len(t) else [],
        "timing_unknown": (t["timing"] == "unknown").to_numpy() if "timing" in t else False,
        "primary_obs": pr.is_primary(),
        "n_overlaps": n_over[pr.where],
        "overlaps": _id_lists(over_ptr, over_codes, a.event_ids),
        "not_total_return": take(a.not_total_return),
        "price_warning": take(
            a.price_warning if a.price_warning is not None else np.zeros(len(a.table), bool)
        ),
    }
    for k, name in enumerate(a.factor_names):
        added[f"b_{name}"] = take(fits.fbeta[:, k])
    if any(c in t.columns for c in added):  # a column of the table's own is replaced in place
        events = t.assign(**added)
    else:
        events = pd.concat([t, pd.DataFrame(added, index=t.index, copy=False)], axis=1)
    days = off.path_days
    # codes from the alignment: one categories Index per id kind, validated once by pandas
    (ev_level, ev_at), (tk_level, tk_at) = (
        _used_level(a.event_ids, ev_codes),
        _used_level(a.names, tk_codes),
    )
    key = pd.MultiIndex(
        levels=[ev_level, tk_level],
        codes=[ev_at, tk_at],
        names=["event_id", "ticker"],
        verify_integrity=False,
    )
    ar = pd.DataFrame(ar_values, index=key, columns=days, copy=False)
    ar.columns.name = "day"
    return events, ar, confounders, ev_codes, tk_codes


def _used_level(level: pd.Index, codes: np.ndarray) -> tuple[pd.Index, np.ndarray]:
    """What ``MultiIndex.remove_unused_levels`` makes of a level and its codes (none
    missing): the level as it is when every entry is used, else the entries used, in the
    order in which the codes first name them, and the codes into those. pandas finds that
    order by hashing every code (0.1 s for a million rows' tickers); here one reversed
    scatter gives each entry's first row."""
    used = np.bincount(codes, minlength=len(level)) > 0
    if used.all():
        return level, codes
    first = np.empty(len(level), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # the last write: the first row
    uniques = np.flatnonzero(used)
    uniques = uniques[np.argsort(first[uniques], kind="stable")]
    mapping = np.zeros(len(level), dtype=np.int64)
    mapping[uniques] = np.arange(len(uniques))
    return level.take(uniques), mapping[codes]


def _id_lists(ptr: np.ndarray, codes: np.ndarray, event_ids: pd.Index) -> pd.Series:
    """Per row, the event ids ``codes[ptr[i]:ptr[i + 1]]`` (codes into ``event_ids``), as a
    column of lists (Arrow-backed: no Python object per row)."""
    import pyarrow as pa

    dictionary = pa.array(event_ids, type=pa.string())  # Arrow-backed ids: no conversion
    values = pa.DictionaryArray.from_arrays(pa.array(codes), dictionary)
    lists = pa.ListArray.from_arrays(pa.array(ptr), values)
    return pd.Series(pd.arrays.ArrowExtensionArray(lists))
