"""A price source served from the Parquet store, asking its upstream only for what is missing.

* **Nothing is downloaded twice**: :class:`CachedSource` asks the upstream source only for the
  parts of a request that no cached range covers. A range is *covered* once it has been fetched,
  even where it has no rows (weekends, holidays, days before a listing), so it is never asked
  again; only sessions that have closed (plus a settling margin) are ever marked as covered.
* **No rows is not proof of no data**: a whole gap answered "no rows" although the ticker has
  rows (yfinance reports a swallowed HTTP 502 or timeout that way: an empty frame and
  "possibly delisted; no price data found") is *not* covered, nor are the closed sessions after
  the last row of an answer while they may be a bar not published yet: they are reported in
  ``partial`` and asked again next time. Sessions before the first row the source has ever
  given (days before a listing) are covered without rows; a hole between rows is covered, and
  the quality checks report its sessions as ``missing_session``. A ticker whose market has no
  exchange calendar in evbt (``load_prices`` refuses it; a direct :meth:`CachedSource.fetch`
  does not) counts every day as a session, by the same rules, and its partial failures say so.
* **A delisted ticker is asked again on every run** by default: the sessions after its last
  row stay partial. An answer that stops early cannot be told from a delisting: each ask
  includes a cached session (the anchor, below), so an answer cut short after the anchor and
  the answer for a delisted ticker both hold just that row, and yfinance's words cannot tell
  either ("possibly delisted; no price data found" is also what a swallowed error reads as).
  Covering those sessions would lose the rows of an answer cut short for good. A caller who
  knows its source's answers are complete can pass ``tail_grace``: sessions after the last
  row of an answer that *has* rows are then covered once they closed that long before it.
* **No adjustment seams**: adjusted prices are relative to the day they were fetched (a new
  dividend rescales the past). Each incremental fetch therefore includes one already-cached
  session next to the gap; if its close no longer matches, the whole series is fetched again
  instead of gluing two adjustment bases together. The old rows are then all replaced; where
  that answer has none of the rows the cache had (its start or its end cut short), those
  sessions are not covered: they are asked again next time they are asked for, and reported
  in ``partial`` when they are part of the range asked for (a range served in full is no
  partial failure, whatever the re-fetch left out around it).

The store itself (file format, locks, atomic writes) is :mod:`backtest.prices.store`.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypedDict

import pandas as pd

from backtest.errors import CacheCorruptWarning, PriceCacheError, PriceCacheWarning
from backtest.prices.base import (
    DEFAULT_START,
    FetchFailure,
    FetchResult,
    PriceSeries,
    PriceSource,
    ProgressCallback,
    ReturnFlag,
    SeriesInfo,
    between,
    calendar_of,
    closed_through,
    empty_frame,
    sessions_between,
    utc_now,
)
from backtest.prices.quality import source_history
from backtest.prices.store import (
    CachedSeries,
    DateRange,
    PriceCache,
    merge_series,
    missing_ranges,
)

if TYPE_CHECKING:
    import exchange_calendars as xcals

_DAY = dt.timedelta(days=1)


@dataclass
class _Gap:
    """A part of a request the cache does not cover."""

    cover: DateRange  # marked as covered once fetched
    ask: DateRange | None  # asked upstream: trimmed to sessions, plus the anchor (None: no session)
    anchor: dt.date | None  # an already-cached session fetched again to check the basis
    got: PriceSeries | FetchFailure | None = None


@dataclass
class _Plan:
    ticker: str
    first: dt.date
    last: dt.date
    cached: CachedSeries | None
    gaps: list[_Gap]
    calendar: xcals.ExchangeCalendar | None = None
    asked: list[DateRange] | None = None  # what the upstream says it asked for this ticker
    vouched: dt.date | None = None  # sessions to here closed tail_grace ago (see _reach)
    corrupt: CacheCorruptWarning | None = None  # its cached file was unreadable: moved aside

    @property
    def asks(self) -> list[_Gap]:
        return [g for g in self.gaps if g.ask is not None]


class CachedSource:
    """A price source served from a :class:`PriceCache`, asking ``upstream`` for what is missing.

    Parameters
    ----------
    upstream:
        The remote source (normally :class:`~backtest.prices.yahoo.YahooSource`).
    cache:
        The store.
    clock:
        Current UTC time.
    settle:
        How long after a session's close its bar is taken as final (Yahoo revises the last
        bar for a while after the close: final volume, late prints).
    rebase_tolerance:
        Relative difference of the anchor close beyond which the adjustment basis is taken to
        have changed (see the module docstring).
    tail_grace:
        ``None`` (default): sessions after the last row of an answer are never covered (they
        are asked again). A duration: how long after its close such a session is taken as
        having no row (a delisted ticker) rather than as a bar not published yet or an answer
        cut short; only for a source whose answers are known to be complete.
    """

    def __init__(
        self,
        upstream: PriceSource,
        cache: PriceCache,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        settle: dt.timedelta = dt.timedelta(hours=2),
        rebase_tolerance: float = 1e-6,
        tail_grace: dt.timedelta | None = None,
    ) -> None:
        self.upstream = upstream
        self.cache = cache
        self.clock = clock
        self.settle = settle
        self.rebase_tolerance = rebase_tolerance
        self.tail_grace = tail_grace
        self.name = f"{upstream.name} via cache {cache.directory}"

    def __repr__(self) -> str:
        return f"CachedSource({self.upstream!r}, {self.cache!r})"

    def fetch(
        self,
        tickers: Sequence[str],
        start: dt.date | None,
        end: dt.date | None,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> FetchResult:
        """Rows of ``tickers`` from ``start`` to ``end``, from the cache where it has them.

        ``start=None`` means 1990-01-01, ``end=None`` the last session that has closed.

        What is downloaded but cannot be stored (a full disk, a read-only folder) is served all
        the same, listed in ``uncached`` and reported once with
        :class:`~backtest.errors.PriceCacheWarning`; what was stored before stays stored.
        """
        now = self.clock()
        plans = [self._plan(t, start or DEFAULT_START, end, now) for t in dict.fromkeys(tickers)]
        hits = sum(1 for p in plans if not p.asks)
        if hits and on_progress is not None:
            on_progress(hits)

        # one upstream call per distinct range, with every ticker that needs it
        groups: dict[DateRange, list[tuple[str, _Gap]]] = {}
        for p in plans:
            for g in p.asks:
                assert g.ask is not None
                groups.setdefault(g.ask, []).append((p.ticker, g))
        by_ticker = {p.ticker: p for p in plans}
        for (a, b), members in groups.items():
            res = self.upstream.fetch([t for t, _ in members], a, b, on_progress=on_progress)
            for t, g in members:
                g.got = res.series.get(t) or res.failed.get(t)
                # only what was really asked (nothing when the source found itself offline)
                asked = by_ticker[t].asked
                assert asked is not None
                asked.extend(res.downloaded.get(t, ((a, b),)))

        refetched = self._refetch([p for p in plans if self._basis_changed(p)], on_progress)

        series: dict[str, PriceSeries] = {}
        failed: dict[str, FetchFailure] = {}
        partial: dict[str, FetchFailure] = {}
        downloaded: dict[str, tuple[DateRange, ...]] = {}
        uncached: dict[str, str] = {}
        for p in plans:
            asked = list(p.asked or ())
            if p.ticker in refetched:
                asked.extend(refetched[p.ticker][2])
            downloaded[p.ticker] = tuple(asked)
            stored, problem = self._store(p, refetched.get(p.ticker), uncached)
            rows = between(stored.frame, p.first, p.last) if stored else empty_frame()
            if stored is not None and len(rows):
                flags = tuple(f for f in stored.flags if p.first <= f.date <= p.last)
                # the placeholder history is decided on everything cached, not the range
                history = source_history(p.ticker, stored.frame)
                info = stored.info(rows)
                if p.corrupt is not None:
                    info = replace(info, note=f"{p.corrupt.what()}; fetched again")
                series[p.ticker] = PriceSeries(p.ticker, rows, info, flags=flags, history=history)
                if problem is not None:
                    partial[p.ticker] = problem
            else:
                failure = problem or FetchFailure(
                    p.ticker,
                    p.first,
                    p.last,
                    "empty",
                    _empty_reason(p, stored),
                    "ask for another range",
                )
                failed[p.ticker] = _after_corrupt(failure, p.corrupt)
        if uncached:
            warnings.warn(PriceCacheWarning(self.cache.directory, uncached), stacklevel=2)
        return FetchResult(
            series=series,
            failed=failed,
            partial=partial,
            downloaded=downloaded,
            uncached=uncached,
        )

    # ------------------------------------------------------------------ steps

    def _plan(self, ticker: str, first: dt.date, end: dt.date | None, now: dt.datetime) -> _Plan:
        calendar = calendar_of(ticker)
        last = _closed(calendar, now - self.settle)
        if end is not None:
            last = min(last, end)
        cached, corrupt = self.cache.read_or_move_aside(ticker)
        if corrupt is not None:
            warnings.warn(corrupt, stacklevel=3)
        gaps: list[_Gap] = []
        if first <= last:
            for cover in missing_ranges((first, last), cached.covered if cached else ()):
                sessions = _sessions_in(calendar, cover)
                if sessions is None:  # nothing trades there: covered without asking
                    gaps.append(_Gap(cover, None, None))
                    continue
                a, b = sessions
                anchor = _anchor(cached, a, b)
                ask = (a, b) if anchor is None else (anchor, b) if anchor < a else (a, anchor)
                gaps.append(_Gap(cover, ask, anchor))
        vouched = (
            None
            if self.tail_grace is None
            else _closed(calendar, now - self.settle - self.tail_grace)
        )
        return _Plan(ticker, first, last, cached, gaps, calendar, [], vouched, corrupt)

    def _basis_changed(self, p: _Plan) -> bool:
        """Whether an anchor session came back with another close (a new adjustment basis)."""
        if p.cached is None:
            return False
        for g in p.asks:
            if g.anchor is None or not isinstance(g.got, PriceSeries):
                continue
            stamp = pd.Timestamp(g.anchor)
            old = p.cached.frame["close"].get(stamp)
            new = g.got.frame.loc[g.got.frame.index == stamp, "close"]
            if old is None or not len(new):
                return True  # the basis cannot be verified: fetch it all again
            if abs(float(new.iloc[-1]) / float(old) - 1) > self.rebase_tolerance:
                return True
        return False

    def _refetch(
        self, plans: Sequence[_Plan], on_progress: ProgressCallback | None
    ) -> dict[str, tuple[DateRange, PriceSeries | FetchFailure, tuple[DateRange, ...]]]:
        """Fetch the whole range of the tickers whose adjustment basis changed."""
        out: dict[str, tuple[DateRange, PriceSeries | FetchFailure, tuple[DateRange, ...]]] = {}
        groups: dict[DateRange, list[str]] = {}
        for p in plans:
            covered = p.cached.covered if p.cached else ()
            lo = min([p.first, *(a for a, _ in covered)])
            hi = max([p.last, *(b for _, b in covered)])
            groups.setdefault((lo, hi), []).append(p.ticker)
        for rng, names in groups.items():
            res = self.upstream.fetch(names, rng[0], rng[1], on_progress=on_progress)
            for t in names:
                got = res.series.get(t) or res.failed.get(t)
                if got is not None:
                    out[t] = (rng, got, res.downloaded.get(t, (rng,)))
        return out

    def _store(
        self,
        p: _Plan,
        refetched: tuple[DateRange, PriceSeries | FetchFailure, tuple[DateRange, ...]] | None,
        uncached: dict[str, str],
    ) -> tuple[CachedSeries | None, FetchFailure | None]:
        """Write what ``p`` fetched; return the cached series and a failure to report, if any."""
        if refetched is not None:
            rng, got, _ = refetched
            if isinstance(got, FetchFailure):
                return p.cached, _for_request(
                    got,
                    p,
                    "the adjustment changed since the prices were cached and fetching them "
                    f"again failed ({got.reason}); only the cached prices are served",
                )
            rows = between(got.frame, *rng)
            vouched = _reach(p, rng, rows)
            reach, lost = _short_of_cache(p, rows, vouched)
            meta = _Meta(
                covered=[reach] if reach else [],
                source=got.info.source,
                adjustment=got.info.adjustment,
                fetched_at=got.info.fetched_at or self.clock(),
                flags=_within(got.flags, rng),
            )
            stored = self._save(p, uncached, rows, meta, replace_all=True)
            # reported for the range the caller asked for: sessions of ``rng`` outside it that
            # are left uncovered are asked again when a caller asks for them
            asked = (p.first, p.last)
            short = _short(p, asked, _clip(vouched, asked), note=self._tail_note(rows))
            if lost is None or short is None:
                return stored, lost or short
            if reach is not None and vouched is not None and reach[1] < vouched[1]:
                return stored, lost  # its end is cut to the answer's last row: said already
            return stored, replace(lost, reason=f"{lost.reason}; {short.reason}")
        has_rows = (p.cached is not None and len(p.cached.frame) > 0) or any(
            isinstance(g.got, PriceSeries) for g in p.gaps
        )
        frames: list[pd.DataFrame] = []
        flags: list[ReturnFlag] = []
        covered: list[DateRange] = []
        problem: FetchFailure | None = None
        info: SeriesInfo | None = None
        for g in p.gaps:
            if g.ask is None:
                covered.append(g.cover)
            elif isinstance(g.got, PriceSeries):
                rows = between(g.got.frame, *g.ask)
                frames.append(rows)
                flags.extend(_within(g.got.flags, g.ask))
                reach = _reach(p, g.cover, rows)
                if reach is not None:
                    covered.append(reach)
                problem = problem or _short(p, g.cover, reach, note=self._tail_note(rows))
                info = g.got.info
            elif isinstance(g.got, FetchFailure) and g.got.kind == "empty" and has_rows:
                # "no rows" inside the ticker's life is what a swallowed transient error
                # (HTTP 502, a timeout) reads as too: not covered, asked again next time
                problem = problem or _short(p, g.cover, None, g.got.reason)
            elif problem is None:
                problem = _for_request(
                    g.got or FetchFailure(p.ticker, *g.ask, "error", "the source skipped it"), p
                )
        if not covered or (not frames and (problem is not None or not has_rows)):
            return p.cached, problem  # nothing new worth a file
        meta = _Meta(
            covered=covered,
            source=info.source if info else (p.cached.source if p.cached else self.upstream.name),
            adjustment=info.adjustment if info else (p.cached.adjustment if p.cached else ""),
            fetched_at=info.fetched_at if info and info.fetched_at else self.clock(),
            flags=tuple(flags),
        )
        stored = self._save(p, uncached, pd.concat(frames) if frames else empty_frame(), meta)
        return stored, problem

    def _tail_note(self, rows: pd.DataFrame) -> str:
        """What a partial failure after the last row of an answer adds (see :func:`_reach`)."""
        if not len(rows) or self.tail_grace is None:
            return ""
        days = f"{self.tail_grace / _DAY:g} days"
        return (
            f"the answer's last row is {rows.index.max().date()}; sessions still without rows "
            f"{days} after their close are cached as having none, as for a delisted ticker"
        )

    def _save(
        self,
        p: _Plan,
        uncached: dict[str, str],
        frame: pd.DataFrame,
        meta: _Meta,
        *,
        replace_all: bool = False,
    ) -> CachedSeries:
        """Store what was fetched; when the cache cannot take it (a full disk, a read-only
        folder), keep it in memory for this call and note why in ``uncached`` (never abort
        the fetch)."""
        try:
            return self.cache.store(p.ticker, frame, replace_all=replace_all, **meta)
        except PriceCacheError as exc:
            uncached[p.ticker] = exc.reason
            return merge_series(None if replace_all else p.cached, p.ticker, frame, **meta)


class _Meta(TypedDict):
    """What the store records with rows (see :meth:`PriceCache.store`)."""

    covered: Sequence[DateRange]
    source: str
    adjustment: str
    fetched_at: dt.datetime
    flags: Sequence[ReturnFlag]


def _within(flags: Sequence[ReturnFlag], rng: DateRange) -> tuple[ReturnFlag, ...]:
    return tuple(f for f in flags if rng[0] <= f.date <= rng[1])


def _after_corrupt(f: FetchFailure, corrupt: CacheCorruptWarning | None) -> FetchFailure:
    """``f`` saying first that the ticker's cached file was unreadable and moved aside, so
    that the cause of its missing prices is traced to the file, not only to the source."""
    if corrupt is None:
        return f
    note = f"{corrupt.what()}; fetching them again failed"
    return replace(f, reason=f"{note}: {f.reason}", note=note)


def _for_request(f: FetchFailure, p: _Plan, reason: str | None = None) -> FetchFailure:
    """A gap's failure reported for the whole range the caller asked for."""
    return FetchFailure(p.ticker, p.first, p.last, f.kind, reason or f.reason, f.hint, f.attempts)


def _reach(p: _Plan, cover: DateRange, rows: pd.DataFrame) -> DateRange | None:
    """The part of ``cover`` that ``rows`` (an answer for it) vouch for; ``None``: none.

    Sessions before the first row are vouched for (the ask starts at the gap, or at a cached
    session before it: days before a listing, or a hole inside the series, which the quality
    checks report as missing sessions). Sessions after the last row are vouched for only up to
    ``p.vouched``, when they closed long enough ago not to be a bar the source has not
    published yet (a delisted ticker: see the module docstring); the later ones stay uncovered
    and are asked again next time. No row at all vouches for nothing. Without a calendar (a
    market evbt does not know) every day counts as a session, by the same rules.
    """
    sessions = _sessions_in(p.calendar, cover)
    if sessions is None:
        return cover
    if not len(rows):
        return None
    last = rows.index.max().date()
    if last >= sessions[1]:
        return cover
    end = min(max(last, p.vouched or last), cover[1])
    if end < cover[0]:
        return None
    return (cover[0], end)


def _short(
    p: _Plan, cover: DateRange, reach: DateRange | None, said: str | None = None, note: str = ""
) -> FetchFailure | None:
    """The partial failure of a gap whose closed sessions after ``reach`` got no rows
    (``note`` added to the reason)."""
    if reach == cover:
        return None
    start = cover[0] if reach is None else reach[1] + _DAY
    sessions = _sessions_in(p.calendar, (start, cover[1]))
    a, b = sessions if sessions is not None else (start, cover[1])
    answer = f" (Yahoo said: {said})" if said else ""
    notes = [note] if note else []
    if p.calendar is None:
        notes.append(
            f"{p.ticker}'s market has no exchange calendar in evbt, so every day counts as a "
            "session"
        )
    more = f" ({'; '.join(notes)})" if notes else ""
    return FetchFailure(
        p.ticker,
        p.first,
        p.last,
        "empty",
        f"no rows from {a} to {b} although those sessions have closed{answer}; they are "
        f"not cached and will be asked for again next time{more}",
        "run again later (a bar not published yet or a transient error upstream)",
    )


def _clip(reach: DateRange | None, rng: DateRange) -> DateRange | None:
    """The part of ``reach`` inside ``rng`` (``None``: none)."""
    if reach is None or reach[1] < rng[0] or reach[0] > rng[1]:
        return None
    return (max(reach[0], rng[0]), min(reach[1], rng[1]))


def _short_of_cache(
    p: _Plan, rows: pd.DataFrame, reach: DateRange | None
) -> tuple[DateRange | None, FetchFailure | None]:
    """A re-fetch's ``reach`` trimmed to its ``rows`` where the cache had rows beyond them,
    and the failure saying what of the range the caller asked for is missing (``None`` when
    the trimmed reach still holds all of it).

    The re-fetch replaces every cached row (they are on the old adjustment basis), so rows the
    source gave before and left out of this answer must not be covered as having none: they
    are asked again next time they are asked for (on the new basis; the first row of this
    answer anchors them), even when this caller's range was served in full.
    """
    old = p.cached.frame.index if p.cached is not None else None
    if reach is None or old is None or not len(old) or not len(rows):
        return reach, None
    first, last = rows.index.min().date(), rows.index.max().date()
    had = (old.min().date(), old.max().date())
    lo = reach[0] if first <= had[0] else first
    hi = reach[1] if last >= had[1] else min(reach[1], last)
    if (lo, hi) == reach:
        return reach, None
    sides = (
        (lo != reach[0], (p.first, min(p.last, lo - _DAY)), f"from {had[0]}, before its first row"),
        (hi != reach[1], (max(p.first, hi + _DAY), p.last), f"to {had[1]}, after its last row"),
    )
    missing: list[str] = []
    for trimmed, part, beyond in sides:
        span = _sessions_in(p.calendar, part) if trimmed and part[0] <= part[1] else None
        if span is None:
            continue
        held = old[(old >= pd.Timestamp(span[0])) & (old <= pd.Timestamp(span[1]))]
        cached = (
            f"rows from {held.min().date()} to {held.max().date()}"
            if len(held)
            else f"rows {beyond}"
        )
        missing.append(f"{span[0]} to {span[1]} (the cache had {cached})")
    if not missing:  # the range asked for is served in full
        return (lo, hi), None
    return (lo, hi), FetchFailure(
        p.ticker,
        p.first,
        p.last,
        "empty",
        "the prices were fetched again (the adjustment changed since they were cached) and "
        f"the answer has rows from {first} to {last} only: {' and '.join(missing)} are not "
        "cached and will be asked for again next time",
        "run again later (a transient error upstream, or the source has shortened its history)",
    )


def _closed(calendar: xcals.ExchangeCalendar | None, when: dt.datetime) -> dt.date:
    """The last date whose sessions have all closed at ``when`` (the day before, without a
    calendar)."""
    return closed_through(calendar, when) if calendar is not None else when.date() - _DAY


def _empty_reason(p: _Plan, stored: CachedSeries | None) -> str:
    if p.first > p.last:
        return f"no session from {p.first} to the end asked for has closed yet"
    if stored is not None and len(stored.frame):
        return (
            f"no rows from {p.first} to {p.last} (the source has rows from "
            f"{stored.frame.index.min().date()} to {stored.frame.index.max().date()})"
        )
    return f"no rows from {p.first} to {p.last}"


def _anchor(cached: CachedSeries | None, a: dt.date, b: dt.date) -> dt.date | None:
    """The cached row next to the gap [a, b]: the last before it, else the first after it."""
    if cached is None or not len(cached.frame):
        return None
    day = cached.frame.index
    before = day[day < pd.Timestamp(a)]
    after = day[day > pd.Timestamp(b)]
    nearest: pd.Timestamp | None = (
        before.max() if len(before) else after.min() if len(after) else None
    )
    return None if nearest is None else nearest.date()


def _sessions_in(calendar: xcals.ExchangeCalendar | None, rng: DateRange) -> DateRange | None:
    """First and last session inside ``rng`` (``None`` if none); ``rng`` itself without calendar."""
    if calendar is None:
        return rng
    inside = sessions_between(calendar, *rng)
    if not len(inside):
        if rng[0] < calendar.first_session.date() or rng[1] > calendar.last_session.date():
            return rng  # outside what the calendar knows: ask
        return None
    return (inside[0].astype(object), inside[-1].astype(object))
