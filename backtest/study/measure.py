"""Stage 2 of an event study: fit and measure every aligned row, with the compiled kernels.

:func:`measure` works in two passes over the rows of each market block, both in chunks on a
thread pool. The first fits every row's model (:data:`~backtest.study.kernels.FIT`) and
drops the rows that cannot be measured (too few estimation returns, a singular design, no
residual variance, no return on day 0). The observations of each statistic are decided
from the rows measured (:func:`observations`: rows of one ticker whose measured days overlap
are one observation): on a thread during the first pass for every row to fit, and again
after it only when a fit failed. The second pass (:data:`~backtest.study.kernels.MEASURE`)
computes the AR paths, CARs with their variances, BHARs and the rank keys, which are sorted
and summed by group, day and statistic as they are made (nothing stored per row beyond the
result tables).
Finally the Kolari-Pynnönen cross-correlations of each cluster are summed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from backtest.study import kernels as K
from backtest.study.align import Aligned, MarketBlock
from backtest.study.inputs import Later
from backtest.study.offsets import Offsets
from backtest.study.spec import StudySpec

ProgressFn = Callable[[int, int], None]

#: Why a row is not measured, as (stage, reason), by the status of its fit.
STATUS_DROPS = {
    K.STATUS_SINGULAR: (
        "estimation",
        "the benchmark's (or a factor's) returns do not vary over the estimation window",
    ),
    K.STATUS_FLAT: (
        "estimation",
        "zero residual variance in the estimation window (the returns are constant or track "
        "the benchmark exactly)",
    ),
    K.STATUS_NO_DAY0: (
        "event window",
        "no return on day 0 (no price on day 0 or on the session before)",
    ),
}


def too_few(nobs: int, required: int) -> tuple[str, str]:
    """The (stage, reason) of a row with fewer valid estimation-window returns than required."""
    return "estimation", f"only {nobs} valid estimation-window returns, {required} required"


#: The float columns of the windows table, in the order of :attr:`Outputs.windows`.
WINDOW_COLUMNS = ["car", "car_se", "t", "p", "bhar", "scar"]

#: Rows measured at once inside a chunk (their rank keys: 2 MB at 1024).
_SUB_BLOCK = 1024


class Outputs:
    """The large per-row outputs, allocated before the inputs are aligned.

    ``ar_path`` (rows x path days), ``fits`` (:class:`Fits`, with room for ``n_factors``)
    and ``windows``: the float columns of the windows table
    in pandas' layout (car, car_se, t, p, bhar, scar; rows x windows each), so that the table
    needs no copy of them when every row is measured; ``car``, ``car_var`` and ``bhar`` are
    views into it. Only measured rows are ever read, and those are all written: no fill.

    New memory is mapped in on its first write, page by page, which on a virtual machine can
    cost more than the measurement that fills it: :meth:`page_in` writes to every page on a
    thread while the caller aligns the inputs (mostly on one core), the fits first (the first
    pass waits for them, :meth:`fits_ready`), then the rest (the second pass waits for it,
    :meth:`ready`).
    """

    def __init__(self, n: int, off: Offsets, n_factors: int = 0) -> None:
        nw = len(off.windows)
        with K.small_pages():
            self.ar_path = np.empty((n, off.path[1] - off.path[0]))
            self.windows = np.empty((len(WINDOW_COLUMNS), n * nw))
            self.fits = Fits.empty(n, n_factors)
        self.car = self.windows[0].reshape(n, nw)
        self.car_var = self.windows[1].reshape(n, nw)
        self.bhar = self.windows[4].reshape(n, nw)
        self._paging: threading.Thread | None = None
        self._fits_paged = threading.Event()

    def page_in(self) -> None:
        f = self.fits
        fits = [f.alpha, f.beta, f.s2, f.nobs, f.dof, f.mx, f.sxx, f.phat]

        def touch() -> None:
            for a in fits:
                _touch(a)
            self._fits_paged.set()
            for a in (self.ar_path, self.windows):
                _touch(a)

        self._paging = threading.Thread(target=touch, name="evbt-page-in", daemon=True)
        self._paging.start()

    def fits_ready(self) -> None:
        """Wait until the fits are paged in (before the first pass writes them)."""
        if self._paging is not None:
            self._fits_paged.wait()

    def ready(self) -> None:
        """Wait for :meth:`page_in` (before anything else writes results)."""
        if self._paging is not None:
            self._paging.join()
            self._paging = None


def _touch(a: np.ndarray) -> None:
    """Write one byte in each 4 KiB page of ``a`` (its pages are mapped in)."""
    if a.size:
        a.reshape(-1).view(np.uint8)[::4096] = 0


@dataclass(eq=False)
class Fits:
    """Each row's fit (rows of the table; only measured rows are meaningful): intercept,
    market beta, residual variance, observations, degrees of freedom, the benchmark's mean and
    centred sum of squares (market model), the factor model's slopes, factor means and the
    inverse of their centred cross products, and the share of positive estimation residuals."""

    alpha: np.ndarray
    beta: np.ndarray
    s2: np.ndarray
    nobs: np.ndarray
    dof: np.ndarray
    mx: np.ndarray
    sxx: np.ndarray
    fbeta: np.ndarray
    fmean: np.ndarray
    fcinv: np.ndarray
    phat: np.ndarray

    @classmethod
    def empty(cls, n: int, k: int) -> Fits:
        return cls(
            alpha=np.empty(n),
            beta=np.empty(n),
            s2=np.empty(n),
            nobs=np.zeros(n, dtype=np.int64),
            dof=np.zeros(n, dtype=np.int64),
            mx=np.zeros(n),
            sxx=np.zeros(n),
            fbeta=np.zeros((n, k)),
            fmean=np.zeros((n, k)),
            fcinv=np.zeros((n, k, k)),
            phat=np.empty(n),
        )


@dataclass(frozen=True, eq=False)
class Standardizer:
    """What :func:`~backtest.study.kernels.ar_moments` needs to divide each measured row's ARs
    by the standard deviation of their prediction errors: the row's model, fit, and the
    returns of its regressors (``bx``, one row per benchmark or factor series of every market;
    a row's regressors start at ``bx_row``, and its first path day is column ``bx_start``)."""

    models: np.ndarray
    s2: np.ndarray
    nobs: np.ndarray
    mx: np.ndarray
    sxx: np.ndarray
    bx: np.ndarray
    bx_row: np.ndarray
    bx_start: np.ndarray
    fmean: np.ndarray
    fcinv: np.ndarray


@dataclass(eq=False)
class Measured:
    """What :func:`measure` gives :func:`~backtest.study.battery.battery`.

    ``idx``: the measured rows (sorted table rows). ``kept[j, row, s]``: the row is an
    observation of statistic ``s`` (0: the days, ``1 + w``: window w) in grouping ``j``;
    ``primary``: per row, the row measuring its observation over the widest window, all
    groups together (the per-event flags). ``rank_sums`` and ``rank_n``: Corrado rank
    deviations and their counts per group (groupings one after the other, grouping j's
    from ``rank_offsets[j]``), slot (0 for rows observed in every statistic, ``1 + s`` for
    the others) and column of the reach. ``within[j]``: per Kolari-Pynnönen cluster of
    grouping j and statistic, the sum of the pairwise residual correlations.
    """

    aligned: Aligned
    out: Outputs
    fits: Fits
    idx: np.ndarray
    kept: np.ndarray
    primary: Primaries
    patterns: list[Patterns]
    rank_sums: np.ndarray
    rank_n: np.ndarray
    rank_offsets: np.ndarray
    within: list[np.ndarray]
    standardizer: Standardizer
    timings: dict[str, float] = field(default_factory=dict)


def measure(
    aligned: Aligned,
    out: Outputs,
    spec: StudySpec,
    off: Offsets,
    *,
    workers: int,
    progress: ProgressFn | None = None,
) -> Measured:
    """Fit and measure every row of ``aligned`` still kept (see the module docstring)."""
    n = len(aligned.table)
    k = len(aligned.factor_names)
    fits = out.fits if out.fits.fbeta.shape[1] == k else Fits.empty(n, k)
    out.fits_ready()
    keep = aligned.drops.keep
    total = 2 * int(sum(keep[b.rows].sum() for b in aligned.blocks))
    done = 0
    timings = {"fit": 0.0}  # thread-seconds of the chunks; the rest wall seconds of each step
    clock = time.perf_counter()
    measured = np.zeros(n, dtype=bool)

    # ------------------------------------------------------------------ first pass: fits
    block_rows = [_chunk_order(aligned, blk.rows[keep[blk.rows]]) for blk in aligned.blocks]
    by_series = [_by_series(aligned, blk.rows[keep[blk.rows]]) for blk in aligned.blocks]
    jobs = [
        (_fit_chunk, blk, code, rows)
        for blk, todo in zip(aligned.blocks, by_series, strict=True)
        for code, rows in _chunks(todo, aligned.model, spec.chunk_size)
    ]
    ctx = _Context(aligned, fits, out, spec, off)
    # the observations of the rows to fit, on a thread during the first pass: they are the
    # measured rows' own unless a fit fails (then they are found again, for the rows measured)
    todo = np.sort(
        np.concatenate([blk.rows[keep[blk.rows]] for blk in aligned.blocks])
        if aligned.blocks
        else np.zeros(0, dtype=np.int64)
    )
    guess = Later(_observed, aligned, todo, off, threads=workers > 1)
    failed: list[tuple[np.ndarray, np.ndarray]] = []
    for rows, status, seconds in _pipeline(ctx, jobs, workers):
        timings["fit"] += seconds
        ok = status == K.STATUS_OK
        measured[rows[ok]] = True
        failed.append((rows[~ok], status[~ok]))
        done += len(rows)
        if progress is not None:
            progress(done, total)
    _record_failed(aligned, fits, failed, spec, off)
    idx = np.flatnonzero(measured)

    timings["fit_pass"] = time.perf_counter() - clock
    clock = time.perf_counter()
    # ------------------------------------------------------------------ observations
    kept, primary, patterns = (
        guess.get() if np.array_equal(idx, todo) else _observed(aligned, idx, off)
    )

    out.ready()  # the second pass writes the AR paths and windows
    timings["observations"] = time.perf_counter() - clock
    clock = time.perf_counter()
    # ------------------------------------------------------------------ second pass
    sizes = [len(g.labels) for g in aligned.groupings]
    rank_offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    n_patterns = max([len(p.patterns) for p in patterns], default=1)
    rank_sums = np.zeros((int(sum(sizes)), n_patterns, off.length))
    rank_n = np.zeros((int(sum(sizes)), n_patterns, off.length), dtype=np.int64)
    ctx.codes = np.stack([g.codes for g in aligned.groupings])
    ctx.pattern = np.stack([p.pattern for p in patterns])
    ctx.rank_offsets = rank_offsets
    ctx.n_patterns = n_patterns
    second = [
        (_measure_chunk, blk, code, rows)
        for blk, todo in zip(aligned.blocks, block_rows, strict=True)
        for code, rows in _chunks(todo[measured[todo]], aligned.model, spec.chunk_size)
    ]
    for rows, (at, sums, counts), seconds in _pipeline(ctx, second, workers):
        timings["fit"] += seconds
        rank_sums[at] += sums  # in job order: the sums do not depend on the threads
        rank_n[at] += counts
        done += len(rows)
        if progress is not None:
            progress(done, total)

    timings["measure_pass"] = time.perf_counter() - clock
    clock = time.perf_counter()
    # ------------------------------------------------------------------ cross-correlations
    within = [
        _cluster_sums(aligned, fits, measured, patterns[j], j, spec, off, workers)
        for j in range(len(aligned.groupings))
    ]
    timings["clusters"] = time.perf_counter() - clock
    return Measured(
        aligned=aligned,
        out=out,
        fits=fits,
        idx=idx,
        kept=kept,
        primary=primary,
        patterns=patterns,
        rank_sums=rank_sums,
        rank_n=rank_n,
        rank_offsets=rank_offsets,
        within=within,
        standardizer=_standardizer(aligned, fits, idx, off),
        timings=timings,
    )


def _observed(
    aligned: Aligned, idx: np.ndarray, off: Offsets
) -> tuple[np.ndarray, Primaries, list[Patterns]]:
    """:func:`observations` of the measured rows ``idx`` and their patterns per grouping."""
    kept, primary = observations(aligned, idx, off)
    return kept, primary, [_patterns(kept[j], idx) for j in range(len(aligned.groupings))]


def _by_series(aligned: Aligned, rows: np.ndarray) -> np.ndarray:
    """``rows`` by their ticker's series and first session: the order of the first pass,
    whose fits do not depend on it. A ticker's rows are then fitted one after the other and
    read the same stretch of its returns from the core's cache, instead of from memory."""
    if not len(rows):
        return rows
    col, start = aligned.col[rows], aligned.start[rows]
    key = col.astype(np.int64) * (int(start.max()) + 1) + start
    return rows[K.stable_argsort(key)]


#: Groups of a grouping above which chunks take its rows together (see :func:`_chunk_order`).
_MANY_GROUPS = 64


def _chunk_order(aligned: Aligned, rows: np.ndarray) -> np.ndarray:
    """The order in which ``rows`` are chunked: table order (the outputs are written in
    order, which is fastest), unless a grouping has many groups (e.g. by ticker): then by its
    groups, so that a chunk's rank sums cover few of them (each chunk sums into a buffer of
    the groups it touches)."""
    many = max(aligned.groupings, key=lambda g: len(g.labels), default=None)
    if many is None or len(many.labels) <= _MANY_GROUPS or not len(rows):
        return rows
    return rows[K.stable_argsort(many.codes[rows].astype(np.int64))]


def _record_failed(
    aligned: Aligned,
    fits: Fits,
    failed: list[tuple[np.ndarray, np.ndarray]],
    spec: StudySpec,
    off: Offsets,
) -> None:
    """Drop the rows whose fit failed, in table order, with their reasons."""
    if not failed:
        return
    rows = np.concatenate([r for r, _ in failed])
    status = np.concatenate([st for _, st in failed])
    order = np.argsort(rows, kind="stable")
    rows, status = rows[order], status[order]
    whys = [STATUS_DROPS.get(int(st), ("", "")) for st in status]
    few = np.flatnonzero(status == K.STATUS_FEW)
    for i in few:
        whys[i] = too_few(int(fits.nobs[rows[i]]), spec.min_estimation)
    k = len(aligned.factor_names)
    # the factor model's kernel calls a fit with no more returns than parameters singular
    # (no residual degree of freedom): said as such
    under = np.flatnonzero(
        (status == K.STATUS_SINGULAR)
        & (aligned.model[rows] == K.FACTOR)
        & (fits.nobs[rows] <= k + 1)
    )
    for i in under:
        whys[i] = too_few_for_model(int(fits.nobs[rows[i]]), aligned.factor_names)
    no_day0 = np.flatnonzero(status == K.STATUS_NO_DAY0)
    if len(no_day0):
        for i, why in zip(no_day0, _no_day0_reasons(aligned, rows[no_day0], off), strict=True):
            whys[i] = ("event window", why)
    aligned.drops.record(rows, [w[0] for w in whys], [w[1] for w in whys])


def too_few_for_model(nobs: int, factor_names: list[str]) -> tuple[str, str]:
    """The (stage, reason) of a factor-model row with no more estimation returns than the
    model's parameters (an intercept and a slope per factor): it needs one more, for a
    residual variance."""
    p = 1 + len(factor_names)
    return "estimation", (
        f"{nobs} valid estimation-window return{'s' if nobs != 1 else ''} for the factor "
        f"model's {p} parameters (an intercept and {', '.join(factor_names)}): it needs at "
        f"least {p + 1}"
    )


def _no_day0_reasons(aligned: Aligned, rows: np.ndarray, off: Offsets) -> list[str]:
    """Why each row of ``rows`` (dropped for want of an abnormal return on day 0) has none:
    the stock's return, the benchmark's, the factors' or the risk-free rate's is missing.
    Read from the rows' return matrices at once; the texts formed for these rows alone."""
    t = aligned.start[rows] + off.day0
    blk = aligned.block[rows]
    own = np.empty(len(rows))
    other = np.empty(len(rows))
    k = len(aligned.factor_names)
    fac = np.zeros((len(rows), k), dtype=bool)  # factor j missing on day 0
    for b in np.unique(blk):
        at = np.flatnonzero(blk == b)
        R = aligned.blocks[int(b)].R
        own[at] = R[aligned.col[rows[at]], t[at]]
        other[at] = R[aligned.bench[rows[at]], t[at]]
        if k:
            base = aligned.fbase[rows[at]]
            for j in range(k):
                fac[at, j] = np.isnan(R[base + j, t[at]])
    model = aligned.model[rows]
    day0 = aligned.table["day0"].iloc[rows]
    bench = aligned.table["benchmark"].iloc[rows]
    whys = []
    ticker = aligned.table["ticker"].iloc[rows]
    for q in range(len(rows)):
        day = pd.Timestamp(day0.iat[q]).date()
        if np.isnan(own[q]) or model[q] in (K.CONSTANT_MEAN, K.RAW):
            masked = _masked_on_day0(aligned, rows[q], str(ticker.iat[q]))
            whys.append(STATUS_DROPS[K.STATUS_NO_DAY0][1] + masked)
        elif model[q] == K.FACTOR and fac[q].any():
            whys.append(_no_factors_reason(aligned, day, fac[q]))
        elif model[q] == K.FACTOR:
            whys.append(f"no risk-free rate (RF) on day 0 {day} in the factor file")
        else:
            b = bench.iat[q]
            whys.append(
                f"no benchmark {b} return on day 0 {day} (no {b} price on day 0 or on the "
                f"session before){_masked_on_day0(aligned, rows[q], str(b))}"
            )
    return whys


def _masked_on_day0(aligned: Aligned, row: int, name: str) -> str:
    """``: ...`` naming the price of ``name`` on day 0 (or the session before) that is in
    the data but the quality checks masked, and the check; "" when none was masked."""
    gaps = aligned.gaps
    if gaps is None:
        return ""
    sessions = aligned.blocks[int(aligned.block[row])].sessions
    s = int(aligned.position[row])
    for at, which in ((s, "day 0"), (s - 1, "the session before")):
        if 0 <= at < len(sessions):
            found = gaps.masked(name, sessions[at])
            if found is not None:
                return (
                    f": the {name} price of {which}, {sessions[at].date()}, is in the data but "
                    f"the quality checks masked it ({found})"
                )
    return ""


def _no_factors_reason(aligned: Aligned, day: Any, missing: np.ndarray) -> str:
    """Why a factor-model row has no factor returns on day 0 ``day``."""
    names = [n for n, m in zip(aligned.factor_names, missing, strict=True) if m]
    what = "factor returns" if missing.all() else f"{', '.join(names)} return"
    factors = aligned.factors
    if factors is None or not len(factors.index):
        return f"no {what} on day 0 {day}"
    first, last = factors.index[0].date(), factors.index[-1].date()
    if pd.Timestamp(day) not in factors.index:
        where = (
            f"it ends {last}"
            if day > last
            else (f"it starts {first}" if day < first else f"it covers {first} to {last}")
        )
        return f"no {what} on day 0 {day} (the factor file has no row for it; {where})"
    return f"no {what} on day 0 {day} (missing in the factor file)"


@dataclass(frozen=True, eq=False)
class Patterns:
    """Which statistics each measured row is an observation of, in one grouping, as a code:
    ``pattern[row]`` indexes ``patterns`` (patterns x statistics, bool); -1 for rows that are
    an observation of none (and rows not measured). Rows are summed once per grouping, into
    their pattern's slot."""

    pattern: np.ndarray
    patterns: np.ndarray


def _patterns(kept: np.ndarray, idx: np.ndarray) -> Patterns:
    n, n_stats = kept.shape
    pattern = np.full(n, -1, dtype=np.int64)
    if not len(idx):
        return Patterns(pattern, np.ones((1, n_stats), dtype=bool))
    rows = kept[idx]
    if n_stats <= 16:  # the patterns' bits as a small integer: counted, not sorted
        bits = _pattern_bits(rows)
        present = np.bincount(bits, minlength=1 << n_stats) > 0
        codes = np.flatnonzero(present)
        inverse = (np.cumsum(present) - 1)[bits]
        table = ((codes[:, None] >> np.arange(n_stats)) & 1).astype(bool)
    elif n_stats <= 62:
        bits = _pattern_bits(rows)
        codes, inverse = np.unique(bits, return_inverse=True)
        table = ((codes[:, None] >> np.arange(n_stats)) & 1).astype(bool)
    else:
        table, inverse = np.unique(rows.astype(bool), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    none: np.ndarray = ~np.asarray(table.any(axis=1), dtype=bool)
    remap = np.cumsum(~none) - 1
    pattern[idx] = np.where(none[inverse], -1, remap[inverse])
    patterns = table[~none]
    return Patterns(pattern, patterns if len(patterns) else np.ones((1, n_stats), dtype=bool))


def _pattern_bits(rows: np.ndarray) -> np.ndarray:
    """Per row of 0/1 flags (at most 62 columns), the integer with bit s set where column s
    is: the flags packed eight to a byte, then the bytes joined (no int64 copy of the flags,
    which costs a million rows 0.15 s)."""
    packed = np.packbits(rows, axis=1, bitorder="little")
    bits = packed[:, 0].astype(np.int64)
    for b in range(1, packed.shape[1]):
        bits |= packed[:, b].astype(np.int64) << (8 * b)
    return bits


def _chunks(rows: np.ndarray, model: np.ndarray, size: int) -> Iterator[tuple[int, np.ndarray]]:
    """The rows by model, ``size`` at a time."""
    for code in K.MODEL_CODES.values():
        sel = rows[model[rows] == code]
        for c in range(0, len(sel), size):
            yield code, sel[c : c + size]


@dataclass(eq=False)
class _Context:
    """What every chunk reads (and the outputs it writes: chunks touch disjoint rows)."""

    aligned: Aligned
    fits: Fits
    out: Outputs
    spec: StudySpec
    off: Offsets
    codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    pattern: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    rank_offsets: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_patterns: int = 1
    scratch: threading.local = field(default_factory=threading.local)


def _fit_chunk(
    ctx: _Context, blk: MarketBlock, code: int, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """The first pass over one chunk: fits into ``ctx.fits``; the rows' statuses."""
    tick = time.perf_counter()
    a, f, off, spec = ctx.aligned, ctx.fits, ctx.off, ctx.spec
    status = np.empty(len(rows), dtype=np.int8)
    K.FIT[code](
        blk.R, blk.cover, rows, a.col[rows], a.bench[rows], a.fbase[rows], a.start[rows],
        off.est[0], off.est[1], off.day0, spec.exclude_confounded, spec.min_estimation,
        f.alpha, f.beta, f.s2, f.nobs, f.dof, f.mx, f.sxx, f.fbeta, f.fmean, f.fcinv, status,
    )  # fmt: skip
    return rows, status, time.perf_counter() - tick


def _measure_chunk(
    ctx: _Context, blk: MarketBlock, code: int, rows: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray], float]:
    """The second pass over one chunk: the fused measurement, NumPy's SIMD sort of the rank
    keys and the ranks summed by group, pattern and column. Writes into ``ctx.out`` and
    ``ctx.fits.phat``; returns the groups the chunk touches (rows of the study's rank sums),
    and its sums and counts for them (added up in chunk order by the caller).

    The chunk is measured ``_SUB_BLOCK`` rows at a time, so that the rank keys of a sub-block
    stay in the core's cache from the kernel through the sort to the rank assignment, in a
    buffer each thread reuses (new memory is zeroed by the kernel page by page, which costs
    more than the sort on this kind of machine).
    """
    tick = time.perf_counter()
    a, f, out, off, spec = ctx.aligned, ctx.fits, ctx.out, ctx.off, ctx.spec
    lr = off.length
    bits = off.rank_bits
    keys_all: np.ndarray | None = getattr(ctx.scratch, "keys", None)
    if keys_all is None or keys_all.shape[1] != lr:
        keys_all = ctx.scratch.keys = np.empty((_SUB_BLOCK, lr), dtype=np.int64)
    rcount = np.empty(_SUB_BLOCK, dtype=np.int64)
    # the groups of the chunk's rows, numbered locally (rows are in ticker order: few groups)
    local = np.empty((len(ctx.codes), len(rows)), dtype=np.int64)
    touched = []
    first = 0
    for j, codes in enumerate(ctx.codes):
        present, inverse = np.unique(codes[rows], return_inverse=True)
        local[j] = first + inverse
        touched.append(ctx.rank_offsets[j] + present)
        first += len(present)
    sums = np.zeros((first, ctx.n_patterns, lr))
    counts = np.zeros((first, ctx.n_patterns, lr), dtype=np.int64)
    pattern = ctx.pattern[:, rows]
    run = K.SORT_RUN
    for s in range(0, len(rows), _SUB_BLOCK):
        sub = rows[s : s + _SUB_BLOCK]
        keys = keys_all[: len(sub)]
        rc = rcount[: len(sub)]
        K.MEASURE[code, bool(spec.exclude_confounded)](
            blk.R, blk.cover, sub, a.col[sub], a.bench[sub], a.fbase[sub], a.start[sub],
            off.est[0], off.est[1], off.path[0], off.path[1], off.win_a, off.win_b,
            off.in_window, spec.returns == "log", bits, keys, f.alpha,
            f.beta, f.s2, f.nobs, f.mx, f.sxx, f.fbeta, f.fmean, f.fcinv, out.ar_path, out.car,
            out.car_var, out.bhar, rc, f.phat,
        )  # fmt: skip
        # NumPy's SIMD sort (GIL released), in runs short enough for its sorting network
        keys[:, :run].sort(axis=1)
        if lr > run:
            keys[:, run:].sort(axis=1)
        # C-contiguous blocks whatever the number of groupings: one compiled signature
        K.rank_sums(keys, run, rc, bits, np.ascontiguousarray(local[:, s : s + _SUB_BLOCK]),
                    np.ascontiguousarray(pattern[:, s : s + _SUB_BLOCK]), sums, counts)  # fmt: skip
    return rows, (np.concatenate(touched), sums, counts), time.perf_counter() - tick


def _pipeline(
    ctx: _Context, jobs: list[tuple[Callable[..., Any], MarketBlock, int, np.ndarray]],
    workers: int,
) -> Iterator[Any]:  # fmt: skip
    """Run ``fn(ctx, block, model, rows)`` for every job on ``workers`` threads; yield results
    in job order. The kernels release the GIL, so chunks run in parallel; at most
    ``2 * workers`` results wait to be consumed, which bounds memory."""
    if workers <= 1 or len(jobs) <= 1:
        for fn, *args in jobs:
            yield fn(ctx, *args)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[Any]] = deque()
        for fn, *args in jobs:
            pending.append(pool.submit(fn, ctx, *args))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def observations(aligned: Aligned, idx: np.ndarray, off: Offsets) -> tuple[np.ndarray, Primaries]:
    """Which measured rows are observations of each statistic, per grouping.

    Within a group and for each statistic, measured rows of the same ticker whose measured
    days overlap are one observation: for a day's AAR, rows on the same session (the same
    day 0); for the CAAR (and ABHAR) of window [a, b], rows whose day-0 sessions are at most
    ``b - a`` apart; rows chained by such overlaps are one observation too. It is measured by
    its primary row: the earliest row that another row of the observation names in
    ``same_news_as``, else its earliest row (:func:`backtest.study.kernels.primaries`).

    Returns ``kept`` (groupings x rows x statistics, uint8) and the observations over the
    widest window with all groups together (for the per-event flags).
    """
    n = len(aligned.table)
    kept = np.zeros((len(aligned.groupings), n, off.n_stats), dtype=np.uint8)
    if not len(idx):
        return kept, Primaries(idx, np.zeros(0, dtype=np.int64))
    tick = aligned.tick_code[idx]
    pos = aligned.position[idx]
    # the named row as an index into idx (-1: none, or not measured: an unmeasured primary
    # leaves its news to the others)
    at = np.full(n, -1, dtype=np.int64)
    at[idx] = np.arange(len(idx))
    target = np.where(aligned.target[idx] >= 0, at[np.maximum(aligned.target[idx], 0)], -1)
    named = np.empty(len(idx), dtype=np.uint8)
    best = np.empty(len(idx), dtype=np.int64)
    pos_range = int(pos.max()) + 1
    tick_range = int(tick.max()) + 1

    def sort_by(group: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The order (into idx) and the sorted group, ticker and position; the named rows as
        positions in that order."""
        order = K.stable_argsort((group * tick_range + tick) * pos_range + pos)
        where = np.empty(len(idx), dtype=np.int64)
        where[order] = np.arange(len(idx))
        t = target[order]
        return order, group[order], np.where(t >= 0, where[np.maximum(t, 0)], -1), where

    widest = int(np.argmax(off.lengths))
    flags: Primaries | None = None
    positions = np.arange(len(idx))
    for j, g in enumerate(aligned.groupings):
        codes = g.codes[idx].astype(np.int64)
        order, grp, tgt, where = sort_by(codes)
        ts, ps = tick[order], pos[order]
        rows = idx[order]
        for s, length in enumerate(off.lengths):
            K.primaries(grp, ts, ps, tgt, int(length), best, named)
            kept[j, rows, s] = best == positions
            if g.name == "all" and s == widest:  # the per-event flags' own partition
                flags = Primaries(order, best.copy(), where)
    if flags is None:
        order, grp, tgt, where = sort_by(np.zeros(len(idx), dtype=np.int64))
        K.primaries(grp, tick[order], pos[order], tgt, int(off.lengths[widest]), best, named)
        flags = Primaries(order, best.copy(), where)
    return kept, flags


@dataclass(frozen=True, eq=False)
class Primaries:
    """The observations over the widest window, all groups together (the per-event flags):
    the measured rows in an order that keeps each observation's rows together (``order``:
    indexes into the measured rows), each one's primary (``primary[q]``: a position in that
    order) and where each measured row is in it (``where``)."""

    order: np.ndarray
    primary: np.ndarray
    where: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def is_primary(self) -> np.ndarray:
        """Per measured row: is it its observation's primary?"""
        return self.primary[self.where] == self.where


def _cluster_sums(
    aligned: Aligned,
    fits: Fits,
    measured: np.ndarray,
    patterns: Patterns,
    j: int,
    spec: StudySpec,
    off: Offsets,
    workers: int = 1,
) -> np.ndarray:
    """Per cluster of grouping ``j`` and statistic: the sum of the pairwise correlations of
    the estimation residuals of the measured rows that are the statistic's observations."""
    cl = aligned.clusters[j]
    within = np.zeros((len(cl.group), off.n_stats))
    if not len(cl.group):
        return within
    rows = np.flatnonzero((cl.row_cluster >= 0) & measured)
    members = rows[K.stable_argsort(cl.row_cluster[rows])]
    sizes = np.bincount(cl.row_cluster[members], minlength=len(cl.group))
    ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    for b, blk in enumerate(aligned.blocks):
        sel = np.flatnonzero(cl.block == b)
        if not len(sel):
            continue
        lo, hi = int(sel[0]), int(sel[-1]) + 1  # a block's clusters are numbered together
        part = ptr[lo : hi + 1] - ptr[lo]
        mem = members[ptr[lo] : ptr[hi]]
        within[lo:hi] = K.cluster_pairs(
            blk.R, blk.cover, part, mem, aligned.col, aligned.bench, aligned.fbase,
            aligned.start, aligned.model, off.est[0], off.est[1], spec.exclude_confounded,
            fits.alpha, fits.beta, fits.fbeta, patterns.pattern, patterns.patterns, workers,
        )  # fmt: skip
    return within


def _standardizer(aligned: Aligned, fits: Fits, idx: np.ndarray, off: Offsets) -> Standardizer:
    """The measured rows' models, fits and regressor returns, for standardizing ARs where
    they are tested: every block's benchmark series used by the market model and its factor
    series, stacked into one array."""
    k = len(aligned.factor_names)
    models = aligned.model[idx]
    bx_row = np.zeros(len(idx), dtype=np.int64)
    series: list[np.ndarray] = []
    first = 0
    for b, blk in enumerate(aligned.blocks):
        here = np.flatnonzero(aligned.block[idx] == b)
        market = here[models[here] == K.MARKET]
        bcols = np.unique(aligned.bench[idx[market]])
        parts = [blk.R[bcols]]
        bx_row[market] = first + np.searchsorted(bcols, aligned.bench[idx[market]])
        if k:
            factor = here[models[here] == K.FACTOR]
            parts.append(blk.R[blk.n_tickers + 1 : blk.n_tickers + 1 + k])
            bx_row[factor] = first + len(bcols)
        block_series = np.concatenate(parts)
        series.append(block_series)
        first += len(block_series)
    width = max((s.shape[1] for s in series), default=0)
    bx = np.full((max(first, 1), max(width, 1)), np.nan)
    at = 0
    for s in series:
        bx[at : at + len(s), : s.shape[1]] = s
        at += len(s)
    return Standardizer(
        models=models,
        s2=fits.s2[idx],
        nobs=fits.nobs[idx],
        mx=fits.mx[idx],
        sxx=fits.sxx[idx],
        bx=bx,
        bx_row=bx_row,
        bx_start=aligned.start[idx] + off.path[0],
        fmean=fits.fmean[idx],
        fcinv=fits.fcinv[idx],
    )
