"""Earnings calendar rows as catalog events: ids, dates, timings, attributes, duplicates.

Each *reported* row (a ``Reported EPS`` or a ``Surprise(%)``) becomes one ``earnings``
event:

* id ``<ticker slug>-<YYYY-MM-DD>-earnings``: the ticker in lower case with every run of other
  characters than letters and digits replaced by ``-`` (``brk-b-2025-11-03-earnings``);
* ``date``: the local date of the stamp on the ticker's exchange;
* ``timing`` from the stamp in the exchange's local time, against that session's own hours
  from the exchange calendar: at or after the close (16:00 in New York) ``after_close``,
  before the open (09:30) ``before_open``, anything between, a stamp on a day that is no
  session, or a stamp without a time ``unknown`` (Yahoo stamps some reports 12:00 or 15:00
  although they came after the close: vague, so unknown);
* attributes ``eps_estimate`` (known before the announcement), ``eps_reported`` and
  ``surprise_pct`` (known at it), ``None`` where the calendar has none. yfinance blanks a
  reported EPS of 0.00, leaving its surprise: such a row is reported; its EPS is 0 where the
  surprise says so exactly (-100% against an estimate above 0, +100% below 0; the description
  says it was derived), else missing (the description says the calendar has none);
* its source names the calendar and the file and line it was read from, or the fetch.

A row with neither a reported EPS nor a surprise is *scheduled* and left out unless asked for.
Rows of one ticker on one date are one announcement (a company filing several late quarters at
once, e.g. SMCI on 2019-12-19): one event, the reported row first in the calendar's order (Yahoo
lists the latest quarter first), the others counted as merged.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from backtest.earnings.calendar import EarningsRow, reported_eps
from backtest.errors import CatalogProblem
from backtest.markets import get_calendar, market_of
from backtest.sessions import Timing, day0_sessions

#: Columns of the CSV catalog the import writes (attributes last).
CSV_COLUMNS: tuple[str, ...] = (
    "id", "ticker", "date", "timing", "category", "scope", "title", "description", "source",
    "eps_estimate", "eps_reported", "surprise_pct",
)  # fmt: skip
ATTRIBUTES: tuple[str, ...] = ("eps_estimate", "eps_reported", "surprise_pct")


def ticker_slug(ticker: str) -> str:
    """The id prefix of a ticker: lower case, runs of other characters as ``-``.

    >>> ticker_slug("BRK-B"), ticker_slug("0700.HK"), ticker_slug("^GSPC")
    ('brk-b', '0700-hk', 'gspc')
    """
    return re.sub(r"[^a-z0-9]+", "-", ticker.lower()).strip("-")


def _g(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class EarningsEvent:
    """One earnings announcement as a catalog event."""

    id: str
    ticker: str
    market: str
    date: dt.date
    timing: Timing
    local_time: str  # "16:00 America/New_York", or "" when the stamp has no time
    day0: pd.Timestamp
    eps_estimate: float | None
    eps_reported: float | None
    surprise_pct: float | None
    source: str
    origin: str
    eps_derived: bool = False  # eps_reported 0 from a surprise of -/+100% (the cell is empty)

    @property
    def scheduled(self) -> bool:
        return self.eps_reported is None and self.surprise_pct is None

    @property
    def title(self) -> str:
        return f"{self.ticker} earnings" + (" (scheduled)" if self.scheduled else "")

    @property
    def description(self) -> str:
        when = f"{self.date} {self.local_time}".strip()
        note = {
            "after_close": " (after the close)",
            "before_open": " (before the open)",
        }.get(self.timing, " (the time stamp does not say whether before, during or after "
                           "the session: timing unknown)" if self.local_time else "")  # fmt: skip
        estimate = (
            f"a consensus estimate of {_g(self.eps_estimate)}"
            if self.eps_estimate is not None
            else "no consensus estimate on the calendar"
        )
        if self.scheduled:
            return (
                f"{self.ticker}'s quarterly results are scheduled for {when}{note}, with "
                f"{estimate}; not yet reported when the calendar was read."
            )
        surprise = (
            f", a surprise of {self.surprise_pct:+.2f}%" if self.surprise_pct is not None else ""
        )
        if self.eps_reported is None:
            eps = (
                "EPS not on the calendar (its Reported EPS is empty, as yfinance leaves a "
                "reported 0.00, but the surprise does not give the figure exactly)"
            )
        elif self.eps_derived:
            eps = (
                "EPS 0 (the calendar's Reported EPS is empty, as yfinance leaves a reported "
                "0.00; derived from the surprise)"
            )
        else:
            eps = f"EPS {_g(self.eps_reported)}"
        return (
            f"{self.ticker} reported quarterly results on {when}{note}: {eps} against "
            f"{estimate}{surprise}."
        )

    @property
    def document(self) -> str:
        return f"https://finance.yahoo.com/calendar/earnings?symbol={self.ticker}"

    def attributes(self) -> dict[str, float]:
        values = {
            "eps_estimate": self.eps_estimate,
            "eps_reported": self.eps_reported,
            "surprise_pct": self.surprise_pct,
        }
        return {k: v for k, v in values.items() if v is not None}

    def csv_row(self) -> list[str]:
        def num(x: float | None) -> str:
            return "" if x is None else repr(x)

        return [
            self.id, self.ticker, self.date.isoformat(), self.timing, "earnings", "company",
            self.title, self.description, self.source, num(self.eps_estimate),
            num(self.eps_reported), num(self.surprise_pct),
        ]  # fmt: skip

    def yaml_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "category": "earnings",
            "scope": "company",
            "date": self.date.isoformat(),
            "timing": self.timing,
            "tickers": [self.ticker],
            "sources": [{"document": self.document, "says": self.source}],
        }
        if self.attributes():
            entry["attributes"] = self.attributes()
        return entry


@dataclass(frozen=True)
class Merged:
    """Rows of one announcement that became one event."""

    event_id: str
    kept: str  # origin of the row kept
    dropped: tuple[str, ...]  # origins of the rows merged into it
    same_figures: bool


@dataclass
class EarningsImport:
    """The result of an earnings import: the events and an account of every row left out.

    Attributes
    ----------
    events:
        The events, by ticker (in the order the tickers came) and date, newest last.
    problems:
        Malformed rows and unusable files or tickers, each ``file:line: what``; the other
        rows were imported.
    scheduled:
        Scheduled rows (no reported EPS) left out; 0 with ``include_scheduled``.
    outside_dates:
        Rows left out by ``since``/``until``.
    merged:
        Announcements given by more than one row.
    failed:
        Tickers whose calendar could not be fetched, with the reason (online imports).
    notes:
        What else a reader should know (stale caches used, rows of other event types).
    """

    events: list[EarningsEvent] = field(default_factory=list)
    problems: list[CatalogProblem] = field(default_factory=list)
    scheduled: int = 0
    outside_dates: int = 0
    merged: list[Merged] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def tickers(self) -> list[str]:
        return list(dict.fromkeys(e.ticker for e in self.events))

    def to_csv(self) -> str:
        """The events as a CSV catalog (:data:`CSV_COLUMNS`)."""
        import csv

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for e in self.events:
            writer.writerow(e.csv_row())
        return buf.getvalue()

    def to_yaml(self) -> str:
        """The events as a YAML catalog (an ``events:`` list, attributes under each entry)."""
        import yaml

        class _Dumper(yaml.SafeDumper):
            def ignore_aliases(self, data: Any) -> bool:  # catalogs refuse aliases
                return True

        head = (
            "# Earnings announcements imported by `evbt events import earnings` from "
            "Yahoo Finance's earnings calendar.\n"
        )
        body = yaml.dump(
            {"events": [e.yaml_entry() for e in self.events]},
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            width=100,
        )
        return head + body

    def table(self) -> pd.DataFrame:
        """The events as an event table (``event_id, ticker, market, day0, category, date,
        timing, file``), e.g. confounders for a study."""
        return pd.DataFrame(
            {
                "event_id": [e.id for e in self.events],
                "ticker": [e.ticker for e in self.events],
                "market": [e.market for e in self.events],
                "day0": pd.DatetimeIndex([e.day0 for e in self.events], dtype="datetime64[ns]"),
                "category": ["earnings"] * len(self.events),
                "date": pd.DatetimeIndex(
                    [pd.Timestamp(e.date) for e in self.events], dtype="datetime64[ns]"
                ),
                "timing": [e.timing for e in self.events],
                "file": [e.origin for e in self.events],
            }
        )


def _local(rows: Sequence[EarningsRow], tz: str) -> pd.DatetimeIndex:
    """The rows' stamps in the exchange's zone (naive stamps are read as local there)."""
    utc = np.empty(len(rows), dtype="datetime64[ns]")
    aware = [i for i, r in enumerate(rows) if r.stamp.tzinfo is not None]
    naive = [i for i, r in enumerate(rows) if r.stamp.tzinfo is None]
    if aware:
        stamps = pd.to_datetime([rows[i].stamp for i in aware], utc=True)
        utc[aware] = stamps.tz_localize(None).as_unit("ns").to_numpy()
    if naive:
        stamps = pd.DatetimeIndex([rows[i].stamp for i in naive]).tz_localize(
            tz, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
        )  # a repeated local hour is read as its first occurrence, a skipped one moved on
        utc[naive] = stamps.tz_convert("UTC").tz_localize(None).as_unit("ns").to_numpy()
    return pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(tz)


def _timings(
    code: str, local: pd.DatetimeIndex, has_time: np.ndarray
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Local dates and timings of stamps on one exchange (see the module docstring)."""
    cal = get_calendar(code)
    sessions = cal.sessions
    dates = local.tz_localize(None).normalize()
    pos = np.minimum(sessions.searchsorted(dates, "left"), len(sessions) - 1)
    on_session = np.asarray(sessions[pos] == dates)
    instant = local.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]")
    opens = cal.opens.to_numpy(dtype="datetime64[ns]")[pos]
    closes = cal.closes.to_numpy(dtype="datetime64[ns]")[pos]
    timing = np.full(len(local), "unknown", dtype=object)
    timed = on_session & has_time
    timing[timed & (instant >= closes)] = "after_close"
    timing[timed & (instant < opens)] = "before_open"
    return dates, timing


def build_events(
    rows: Iterable[EarningsRow],
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    include_scheduled: bool = False,
) -> EarningsImport:
    """Turn calendar rows into earnings events (see the module docstring for the rules)."""
    out = EarningsImport()
    by_market: dict[str, list[EarningsRow]] = {}
    for r in rows:
        by_market.setdefault(market_of(r.ticker).code, []).append(r)
    candidates: list[tuple[EarningsEvent, int]] = []
    order = 0
    for code, all_rows in by_market.items():
        sessions = get_calendar(code).sessions
        first, last = sessions[0].year - 1, sessions[-1].year + 1
        group = []
        for r in all_rows:  # far outside the calendar (and maybe beyond pandas' nanoseconds)
            if first <= r.stamp.year <= last:
                group.append(r)
            else:
                out.problems.append(_outside(r, r.stamp.date(), code))
        if not group:
            continue
        tz = market_of(group[0].ticker).timezone
        local = _local(group, tz)
        has_time = np.array([r.has_time for r in group], dtype=bool)
        dates, timing = _timings(code, local, has_time)
        day0 = day0_sessions(code, dates, timing, errors="coerce")
        for i, r in enumerate(group):
            order += 1
            date = dates[i].date()
            if (since is not None and date < since) or (until is not None and date > until):
                out.outside_dates += 1
                continue
            if r.scheduled and not include_scheduled:
                out.scheduled += 1
                continue
            if pd.isna(day0[i]):
                out.problems.append(_outside(r, date, code))
                continue
            reported, derived = reported_eps(r.eps_estimate, r.eps_reported, r.surprise_pct)
            event = EarningsEvent(
                id=f"{ticker_slug(r.ticker)}-{date.isoformat()}-earnings",
                ticker=r.ticker,
                market=code,
                date=date,
                timing=str(timing[i]),  # type: ignore[arg-type]
                local_time=f"{local[i].strftime('%H:%M')} {tz}" if r.has_time else "",
                day0=pd.Timestamp(day0[i]),
                eps_estimate=r.eps_estimate,
                eps_reported=reported,
                surprise_pct=r.surprise_pct,
                source=r.source,
                origin=r.origin,
                eps_derived=derived,
            )
            candidates.append((event, order))
    _merge_duplicates(candidates, out)
    return out


def _outside(row: EarningsRow, date: dt.date, code: str) -> CatalogProblem:
    sessions = get_calendar(code).sessions
    return CatalogProblem(
        row.file,
        row.line,
        "",
        "",
        f"{date} is outside the {code} calendar, which covers {sessions[0].date()} to "
        f"{sessions[-1].date()}",
    )


def _merge_duplicates(candidates: list[tuple[EarningsEvent, int]], out: EarningsImport) -> None:
    groups: dict[str, list[tuple[EarningsEvent, int]]] = {}
    for c in candidates:
        groups.setdefault(c[0].id, []).append(c)
    kept: list[tuple[EarningsEvent, int]] = []
    for event_id, group in groups.items():
        # reported rows before scheduled ones, then the calendar's own order
        group.sort(key=lambda c: (c[0].scheduled, c[1]))
        first = group[0][0]
        kept.append(group[0])
        if len(group) > 1:
            figures = {(e.eps_estimate, e.eps_reported, e.surprise_pct) for e, _ in group}
            out.merged.append(
                Merged(
                    event_id, first.origin, tuple(e.origin for e, _ in group[1:]), len(figures) == 1
                )
            )
    tickers = list(dict.fromkeys(e.ticker for e, _ in candidates))
    rank = {t: i for i, t in enumerate(tickers)}
    kept.sort(key=lambda c: (rank[c[0].ticker], c[0].date))
    out.events = [e for e, _ in kept]
