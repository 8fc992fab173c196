"""The result of an event study: a frozen object with tables, tests, a summary and its spec."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from backtest.errors import UnknownGroupError
from backtest.jsonio import INF, NEG_INF, number
from backtest.study import attributes as A
from backtest.study import earnings as E
from backtest.study.spec import StudySpec, Window, window_label
from backtest.study.statistics import GROUP_TESTS, HYPOTHESES, TestResult
from backtest.summary import Summary, Table, Text
from backtest.text import did_you_mean, interval, num, p_value, pct, unbounded

#: What a test of each measure is about (``{x}`` of :data:`~statistics.HYPOTHESES`).
_TESTED = {
    "AAR": "abnormal return on the day",
    "CAAR": "cumulative abnormal return over the window",
}
_DIST = {key: dist for key, _, dist in GROUP_TESTS}
_NAMES = {key: name for key, name, _ in GROUP_TESTS}

#: The event table's columns that are not attributes: the catalog's and an events file's own
#: fields, and what the study adds per row. Every other column is an event attribute
#: (``surprise_pct``, ``sector``, a user's own), carried into ``to_frame`` and the JSON.
EVENT_FIELDS = frozenset(
    {
        "event_id", "ticker", "is_primary", "market", "day0", "date", "timing", "time",
        "timezone", "category", "scope", "title", "description", "source", "n_tickers", "tags",
        "file", "same_news_as", "model", "benchmark", "model_reason", "alpha", "beta", "sigma",
        "n_est", "dof", "est_first", "est_last", "confounded", "n_confounders", "clustered",
        "cluster_size", "timing_unknown", "primary_obs", "n_overlaps", "overlaps",
        "not_total_return", "price_warning", "tickers",
    }
)  # fmt: skip


def stars(p: float) -> str:
    """Significance stars: *** p < 0.01, ** p < 0.05, * p < 0.10."""
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.10 else ""


@dataclass(frozen=True)
class EventStudyResult:
    """Abnormal returns of every measured (event, ticker) row, group tests, and what was dropped.

    Attributes
    ----------
    spec:
        The :class:`~backtest.study.spec.StudySpec` that produced the result.
    events:
        One row per measured (event, ticker): the event table's columns (its attributes
        too) plus ``benchmark``, ``model`` and ``model_reason`` (which model measured the row
        and why), ``alpha``, ``beta`` (NaN for models without a market term), ``sigma``
        (residual standard deviation), ``n_est``, ``dof``, ``est_first``/``est_last``
        (estimation sessions), ``confounded``/``n_confounders``, ``clustered``/
        ``cluster_size``, ``timing_unknown``, ``not_total_return`` (a session it reads has a
        return the prices flag), ``price_warning`` (a session it reads has a price quality
        warning of its ticker or its benchmark: ``evbt prices check`` lists them), and the
        counting of news: ``primary_obs`` (the row is the
        observation its overlapping rows are merged into, over the widest window),
        ``overlaps`` (for a primary, the ids of the rows merged into it, at most
        ``spec.max_listed``; for a merged row, the id of its primary) and ``n_overlaps`` (the
        number of other rows in its observation).
    ar:
        Abnormal-return path: index (event_id, ticker), columns the relative days.
    windows:
        Long table: per row and event window, ``car``, ``car_se`` (with estimation error),
        ``t``, ``p`` (t with the residual degrees of freedom), ``bhar``, ``scar``,
        ``complete`` (the window has a value) and ``missing``: for a window without one,
        why (the first day whose return is missing, whose, and why: past the end of the
        ticker's prices, a session without its row, a price the quality checks masked,
        ...), "" for the others.
    groups:
        Long table: per grouping (``group_by``) and group, AAR per day, CAAR and ABHAR per
        window, with ``n_rows`` (rows with a value), ``n`` (observations: rows of one ticker
        whose measured days overlap count once), ``merged`` (``n_rows - n``), ``value`` (the
        mean over the observations), one headline test (``headline``, ``headline_stat``,
        ``headline_p``, and ``lo``/``hi``: the 95% interval that same test implies: the
        shifts common to every event that it does not reject, which for BMP and
        Kolari-Pynnönen are built around the events' 1/sigma-weighted mean, so the
        equal-weighted ``value`` can lie outside them, and the notes then say so), and every
        test's statistic, p-value and, when it could not be computed, the reason (columns
        ``t, patell, bmp, kp, sign, gsign, rank, wilcoxon``, ``*_p`` and ``*_reason``);
        ``notes`` says it in words (rows merged, measured rows without a value: a return
        missing on the day or in the window, tests not computed; separated by " | ").
    paths:
        CAAR path per group and day with its cross-sectional standard error.
    clusters:
        Per group: ``n`` (rows), ``n_obs`` (the days' observations) and ``rbar``, the average
        cross-correlation of the days' observations used by the Kolari-Pynnönen adjustment.
    confounders:
        ``event_id, ticker, other_event_id``: the events of the same ticker (every event the
        run knows) whose day 0 falls inside a measured event's window span; at most
        ``spec.max_listed`` per row (``events.n_confounders`` counts them all).
    dropped:
        Every (event, ticker) row left out: ``event_id, ticker, stage, reason``.
    data:
        Data range and counts.
    market_events:
        Per market-wide event (``scope == "market"``), benchmark and window: the
        benchmark's own compounded return over the window (``return``, NaN when a session is
        missing; ``n_days`` returns found): what the market did.
    earnings_history:
        One row per ticker and earnings announcement (the rows of category ``earnings``):
        ``ticker, event_id, quarter`` (the calendar quarter that ended before the
        announcement: 2025-10-29 is ``2025Q3``), ``date, timing, eps_estimate, eps_reported,
        surprise_pct, ar0`` (AR of day 0), ``car_m1_p1`` (CAR[-1,+1]), ``drift_p2_p20``
        (CAR[+2,+20]) and ``abnormal_volume`` (day-0 volume / mean estimation-window volume
        - 1; NaN without volume). See :mod:`backtest.study.earnings`. Empty (with these
        columns) without earnings events.
    """

    spec: StudySpec
    events: pd.DataFrame
    ar: pd.DataFrame
    windows: pd.DataFrame
    groups: pd.DataFrame
    paths: pd.DataFrame
    clusters: pd.DataFrame
    confounders: pd.DataFrame
    dropped: pd.DataFrame
    data: Mapping[str, Any] = field(default_factory=dict)
    market_events: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())
    earnings_history: pd.DataFrame = field(default_factory=E.empty_history)

    @cached_property
    def earnings_profile(self) -> pd.DataFrame:
        """One row per ticker of :attr:`earnings_history`: ``ticker, n, mean_abs_ar0,
        share_up`` (share of announcements with AR(0) > 0), ``mean_drift_pos``,
        ``mean_drift_neg`` (mean CAR[+2,+20] after a positive / negative surprise),
        ``n_pos, n_neg`` (their sample sizes). Empty without earnings events."""
        return E.profile(self.earnings_history)

    # ------------------------------------------------------------------ tables
    @property
    def attributes(self) -> list[str]:
        """The events' attribute columns (every column of ``events`` that is not one of
        :data:`EVENT_FIELDS`, a factor beta ``b_<factor>`` or a binned grouping's labels)."""
        return [
            c for c in A.attribute_columns(self.events.columns, EVENT_FIELDS)
            if not c.startswith("b_")
        ]  # fmt: skip

    def to_frame(self) -> pd.DataFrame:
        """Tidy long table: one row per (event, ticker, window) with the event's context,
        its attributes and its bin of each binned grouping (``surprise_pct:quintile``)."""
        context = [
            c
            for c in (
                "event_id", "ticker", "day0", "category", "scope", "benchmark", "model",
                "primary_obs", "confounded", "clustered", "timing_unknown", "not_total_return",
                "price_warning",
            )
            if c in self.events.columns
        ]  # fmt: skip
        binned = [g for g in self.spec.group_by if ":" in g and g in self.events.columns]
        context += [c for c in (*self.attributes, *binned) if c not in context]
        return self.windows.merge(self.events[context], on=["event_id", "ticker"], how="left")

    def confounded_by(self, event_id: str, ticker: str) -> list[str]:
        """Ids of the catalog events inside the window span of one measured (event, ticker)."""
        c = self.confounders
        sel = (c["event_id"] == event_id) & (c["ticker"] == ticker)
        return sorted(c.loc[sel, "other_event_id"])

    def group_table(self, group_by: str = "all", measure: str = "CAAR") -> pd.DataFrame:
        """The group statistics of one grouping and measure (AAR, CAAR or ABHAR)."""
        g = self.groups
        return g[(g["group_by"] == group_by) & (g["measure"] == measure)].reset_index(drop=True)

    def tests(
        self,
        group_by: str = "all",
        group: str = "all",
        *,
        window: Window | None = None,
        day: int | None = None,
    ) -> list[TestResult]:
        """Every test for one group and one window (or one day), as typed objects.

        A test that could not be computed carries the reason instead of a number.

        Raises
        ------
        UnknownGroupError
            When the result has no such grouping, group, window or day; the message names
            the known ones.
        """
        if (window is None) == (day is None):
            raise ValueError("give either window=(a, b) or day=d")
        g = self.groups
        known_by = list(dict.fromkeys(g["group_by"])) if len(g) else []
        if group_by not in known_by:
            raise UnknownGroupError(
                f"no grouping {group_by!r} in the result{did_you_mean(group_by, known_by)} "
                f"(known: {', '.join(known_by) or 'none'})",
                group_by=group_by,
                group=str(group),
            )
        of = g[g["group_by"] == group_by]
        labels = [str(x) for x in dict.fromkeys(of["group"].astype(str))]
        if str(group) not in labels:
            shown = ", ".join(labels[:20]) + (
                f" and {len(labels) - 20} more" if len(labels) > 20 else ""
            )
            raise UnknownGroupError(
                f"no group {group_by}={group!r} in the result"
                f"{did_you_mean(str(group), labels)} (known groups of {group_by}: {shown})",
                group_by=group_by,
                group=str(group),
            )
        of = of[of["group"].astype(str) == str(group)]
        if window is not None:
            measure, label = "CAAR", window_label(window)
            rows = of[(of["measure"] == measure) & (of["window"] == label)]
            known = list(dict.fromkeys(of.loc[of["measure"] == measure, "window"]))
        else:
            measure, label = "AAR", str(day)
            rows = of[(of["measure"] == measure) & (of["day"] == day)]
            known = [str(d) for d in dict.fromkeys(of.loc[of["measure"] == measure, "day"])]
        if rows.empty:
            what = "window" if window is not None else "day"
            raise UnknownGroupError(
                f"no {what} {label} for {group_by}={group!r} in the result (known {what}s: "
                f"{', '.join(known[:50])})",
                group_by=group_by,
                group=str(group),
            )
        row = rows.iloc[0]
        out = []
        for key, name, _ in GROUP_TESTS:
            h0, h1 = (h.format(x=_TESTED[measure]) for h in HYPOTHESES[key])
            stat, p, n = float(row[key]), float(row[f"{key}_p"]), int(row["n"])
            reason = row.get(f"{key}_reason")
            if math.isnan(stat):
                why = str(reason) if isinstance(reason, str) and reason else "not computed"
                out.append(TestResult.not_computed(name, why, null=h0, nobs=n, alternative=h1))
            else:
                dist = _DIST[key].replace("n-1", str(n - 1)).replace("(n,", f"({n},")
                out.append(TestResult(name, stat, p, dist, h0, n, h1))
        return out

    # ------------------------------------------------------------------ rendering
    def summary(self, *, top: int = 8, max_dropped: int = 6, max_groups: int = 12) -> Summary:
        """The study at a glance (a :class:`~backtest.summary.Summary`; ``str()`` is its text,
        ``as_html()`` real tables): the spec and data, the CAAR of every window for all
        events (one headline test each, with its 95% interval), the CAAR of the first window
        per group of every other grouping of at most ``max_groups`` groups, the ``top`` strongest
        single-event reactions over the first window, the earnings profile when there are
        earnings events, and the most common reasons rows were dropped."""
        spec = self.spec
        used = self.events["model"].astype(str).nunique() if "model" in self.events else 0
        model = f"model {spec.model}" + (f" ({models_text(self)})" if used > 1 else "")
        head = [
            f"{model}, {spec.returns} returns, estimation {list(spec.estimation)} "
            f"(min {spec.min_estimation} obs), windows "
            + ", ".join(window_label(w) for w in spec.windows),
            f"{_price_range(self.data)}; "
            f"{self.data.get('n_measured', len(self.events))} (event, ticker) rows measured, "
            f"{len(self.dropped)} dropped",
        ]
        blocks: list[Table | Text] = [Text(head)]
        caar = (
            self.group_table("all", "CAAR")
            if "all" in set(self.groups.get("group_by", []))
            else None
        )
        if caar is not None and len(caar):
            rows = [
                [
                    r.window, str(r.n_rows), str(r.n), _pct(r.value),
                    _interval(r.lo, r.hi),
                    _num(r.headline_stat), _p(r.headline_p) + stars(r.headline_p),
                    r.headline or "",
                ]
                for r in caar.itertuples()
            ]  # fmt: skip
            blocks.append(
                Table(
                    ["window", "rows", "n", "CAAR", "95% interval", "stat", "p", "test"],
                    rows,
                    title="All events: CAAR by window (headline test and its 95% interval)",
                    numeric=(1, 2, 3, 4, 5, 6),
                )
            )
            notes = [f"{r.window}: {r.notes}" for r in caar.itertuples() if r.notes]
            if notes:
                blocks.append(Text(notes, bullets=True))
        first = window_label(spec.windows[0])
        blocks += self._group_blocks(first, max_groups)
        w0 = self.windows[self.windows["window"] == first].dropna(subset=["t"])
        if len(w0):
            strongest = w0.reindex(w0["t"].abs().sort_values(ascending=False).index).head(top)
            blocks.append(
                Table(
                    ["event", "ticker", f"CAR{first}", "t"],
                    [
                        [str(r.event_id), str(r.ticker), _pct(r.car), _num(r.t) + stars(r.p)]
                        for r in strongest.itertuples()
                    ],
                    title=f"Strongest single-event reactions, CAR{first}",
                    numeric=(2, 3),
                )
            )
        prof = self.earnings_profile
        if len(prof):
            blocks.append(
                Table(
                    ["ticker", "n", "mean |AR(0)|", "up", "drift +surprise", "drift -surprise"],
                    [
                        [
                            str(r.ticker),
                            str(r.n),
                            _pct(r.mean_abs_ar0, signed=False),
                            _pct(r.share_up, 0, signed=False),
                            f"{_pct(r.mean_drift_pos)} ({r.n_pos})",
                            f"{_pct(r.mean_drift_neg)} ({r.n_neg})",
                        ]
                        for r in prof.head(top).itertuples()
                    ],
                    title="Earnings reactions (drift: CAR[+2,+20] after a positive / negative "
                    "surprise)"
                    + (f", first {top} of {len(prof)} tickers" if len(prof) > top else ""),
                    numeric=(1, 2, 3, 4, 5),
                )
            )
        gaps = self._gap_lines(max_dropped)
        if gaps:
            n_gaps = int((~self.windows["complete"].astype(bool)).sum())
            blocks.append(
                Text(
                    gaps,
                    title=f"Windows without a value ({n_gaps}; why each: column missing of "
                    "result.windows)",
                    bullets=True,
                )
            )
        if len(self.dropped):
            blocks.append(
                Text(
                    _drop_lines(self.dropped, max_dropped),
                    title=f"Dropped ({len(self.dropped)})",
                    bullets=True,
                )
            )
        if self.data.get("notes"):
            blocks.append(Text(list(self.data["notes"]), title="Notes", bullets=True))
        return Summary("Event study", blocks)

    def _group_blocks(self, window: str, max_groups: int) -> list[Table | Text]:
        """Per grouping other than ``all`` with at most ``max_groups`` groups: the CAAR of
        ``window`` per group with its headline test (larger groupings are only named)."""
        g = self.groups
        if not len(g):
            return []
        out: list[Table | Text] = []
        larger = []
        caar = g[(g["measure"] == "CAAR") & (g["window"] == window)]
        for by in dict.fromkeys(caar["group_by"]):
            if by == "all":
                continue
            rows = caar[caar["group_by"] == by]
            if len(rows) > max_groups:
                larger.append(f"{by} ({len(rows)} groups)")
                continue
            out.append(
                Table(
                    ["group", "n", f"CAAR{window}", "stat", "p"],
                    [
                        [
                            str(r.group),
                            str(r.n),
                            _pct(r.value),
                            _num(r.headline_stat),
                            _p(r.headline_p) + stars(r.headline_p),
                        ]
                        for r in rows.itertuples()
                    ],
                    title=f"By {by}: CAAR{window} (headline test)",
                    numeric=(1, 2, 3, 4),
                )
            )
            notes = [n for n in dict.fromkeys(rows["notes"].fillna("")) if "describe" in n]
            if notes:
                out.append(Text(notes[0].split(" | ")[-1]))
            lacking = [
                f"{r.group}: {part}"
                for r in rows.itertuples()
                for part in str(r.notes or "").split(" | ")
                if "without a value" in part
            ]
            if lacking:
                out.append(Text(lacking, bullets=True))
        if larger:
            out.append(
                Text(
                    f"Groupings with more than {max_groups} groups (in result.group_table): "
                    + ", ".join(larger)
                )
            )
        return out

    def _gap_lines(self, most: int) -> list[str]:
        """The measured windows without a value, per window (first ``most``): how many and
        why, their reasons by kind (:func:`reason_kinds`)."""
        w = self.windows
        if "missing" not in w.columns or not len(w):
            return []
        gaps = w[~w["complete"].astype(bool)]
        out = []
        for label, reasons in gaps.groupby("window", sort=False, observed=True)["missing"]:
            if len(reasons):
                out.append(f"{len(reasons)} x {label}: {_kinds_text(reasons)}")
        return out[:most]

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        spec = self.spec
        caar = ""
        g = self.groups
        if len(g) and "all" in set(g["group_by"]):
            row = self.group_table("all", "CAAR").head(1)
            if len(row):
                r = row.iloc[0]
                if _f(r["value"]) is None:
                    why = "no complete window" if int(r["n_rows"]) == 0 else "not computed"
                    caar = f"; CAAR{r['window']} n/a ({why})"
                else:
                    p = _num(r["headline_p"]) or "n/a"
                    caar = f"; CAAR{r['window']} {_pct(r['value'])} (p {p})"
        return (
            f"<EventStudyResult: {len(self.events)} rows measured, {len(self.dropped)} "
            f"dropped; model {spec.model}, windows "
            f"{', '.join(window_label(w) for w in spec.windows[:6])}"
            f"{' ...' if len(spec.windows) > 6 else ''}{caar}>"
        )

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: spec, data, per-event parameters/ARs/windows/flags, groups, dropped;
        numbers as :func:`backtest.jsonio.number` writes them (NaN ``None``; an infinity, such
        as an end of an interval the test cannot bound, ``"inf"`` or ``"-inf"``)."""
        ev = self.events
        win = self.windows
        ar = self.ar
        events = []
        conf: dict[tuple[str, str], list[str]] = {}
        c = self.confounders
        for e_id, tk, other in zip(c["event_id"].astype(str), c["ticker"].astype(str),
                                   c["other_event_id"].astype(str), strict=True):  # fmt: skip
            conf.setdefault((e_id, tk), []).append(other)
        for v in conf.values():
            v.sort()
        windows_of = _windows_of(ev, win)
        days = [int(d) for d in ar.columns]
        ar_rows = [dict(zip(days, r, strict=True)) for r in _json_floats(ar.to_numpy())]
        attrs = [*self.attributes, *(g for g in self.spec.group_by if ":" in g and g in ev)]
        attr_rows = _records(ev[attrs]) if attrs else [{}] * len(ev)
        for i, row in enumerate(ev.itertuples(index=False)):  # serialising, not computing
            key = (str(row.event_id), str(row.ticker))
            events.append(
                {
                    "event_id": row.event_id,
                    "ticker": row.ticker,
                    "day0": row.day0.date().isoformat(),
                    "benchmark": row.benchmark,
                    "model": row.model,
                    "model_reason": row.model_reason,
                    "params": {
                        "alpha": _json(row.alpha),
                        "beta": _json(row.beta),
                        "sigma": _json(row.sigma),
                        "n": int(row.n_est),
                        "dof": int(row.dof),
                    },
                    "ar": ar_rows[i],
                    "windows": windows_of(i),
                    "observation": {
                        "primary": bool(row.primary_obs),
                        "overlaps": list(row.overlaps),
                        "n_overlaps": int(row.n_overlaps),
                    },
                    "flags": {
                        "confounded": bool(row.confounded),
                        "confounded_by": conf.get(key, []),
                        "clustered": bool(row.clustered),
                        "cluster_size": int(row.cluster_size),
                        "timing_unknown": bool(row.timing_unknown),
                        "not_total_return": bool(row.not_total_return),
                        "price_warning": bool(getattr(row, "price_warning", False)),
                    },
                    "attributes": attr_rows[i],
                }
            )
        groups = []
        for (gb, grp), g in self.groups.groupby(["group_by", "group"], sort=False):
            entry: dict[str, Any] = {"group_by": gb, "group": grp, "n": int(g["n"].max())}
            for measure, sub in g.groupby("measure", sort=False):
                items = {}
                for r in sub.to_dict("records"):
                    label = str(int(r["day"])) if measure == "AAR" else r["window"]
                    items[label] = {
                        "n_rows": int(r["n_rows"]),
                        "n": int(r["n"]),
                        "merged": int(r["merged"]),
                        "value": _json(r["value"]),
                        "headline": r["headline"] or None,
                        "headline_stat": _json(r["headline_stat"]),
                        "headline_p": _json(r["headline_p"]),
                        "lo": _json(r["lo"]),
                        "hi": _json(r["hi"]),
                        **{k: _json(r[k]) for k, _, _ in GROUP_TESTS if k in r},
                        **{
                            f"{k}_p": _json(r[f"{k}_p"]) for k, _, _ in GROUP_TESTS if f"{k}_p" in r
                        },
                        "notes": r["notes"] or None,
                    }
                entry[str(measure)] = items
            groups.append(entry)
        return {
            "spec": self.spec.to_dict(),
            "data": dict(self.data),
            "events": events,
            "groups": groups,
            "clusters": self.clusters.to_dict("records"),
            "dropped": self.dropped.to_dict("records"),
            "market_events": [
                {
                    **r,
                    "day0": pd.Timestamp(r["day0"]).date().isoformat(),
                    "return": _json(r["return"]),
                }
                for r in self.market_events.to_dict("records")
            ],
            "earnings_history": _records(self.earnings_history),
            "earnings_profile": _records(self.earnings_profile),
        }


@dataclass(frozen=True)
class Comparison:
    """Studies side by side (:func:`compare`): per study and window the CAAR of one group,
    its headline test (statistic and p-value) and the number of observations.

    ``frame`` is the long table (``study, window, n_rows, n, caar, headline, stat, p, lo,
    hi``); :meth:`summary` the side-by-side table (windows down, studies across).
    """

    names: tuple[str, ...]
    frame: pd.DataFrame
    specs: tuple[StudySpec, ...]
    info: tuple[Mapping[str, Any], ...]
    group: tuple[str, str] = ("all", "all")

    def to_frame(self) -> pd.DataFrame:
        """The long table: one row per study and window."""
        return self.frame.copy()

    def summary(self) -> Summary:
        """Windows down, studies across: CAAR (with stars), the headline statistic, p and n
        of every window; above it each study's model, estimation window and rows."""
        f = self.frame
        windows = list(dict.fromkeys(f["window"]))
        head = [
            ["model", *(s.model for s in self.specs)],
            ["estimation", *(window_label(s.estimation) for s in self.specs)],
            ["rows measured", *(str(i.get("n_measured", "")) for i in self.info)],
            ["dropped", *(str(i.get("n_dropped", "")) for i in self.info)],
        ]
        rows = []
        by = {(r.study, r.window): r for r in f.itertuples()}
        for w in windows:
            cells = [by.get((n, w)) for n in self.names]
            rows.append(
                [f"CAAR{w}", *(_pct(r.caar) + stars(r.p) if r is not None else "" for r in cells)]
            )
            rows.append(
                [
                    "  stat",
                    *(
                        f"{_num(r.stat)} ({r.headline})" if r is not None and r.headline else ""
                        for r in cells
                    ),
                ]
            )
            rows.append(["  p", *(_p(r.p) if r is not None else "" for r in cells)])
            rows.append(["  n", *(str(r.n) if r is not None else "" for r in cells)])
        numeric = tuple(range(1, len(self.names) + 1))
        by_name, group = self.group
        title = "" if self.group == ("all", "all") else f" ({by_name} = {group})"
        return Summary(
            "Event studies compared" + title,
            [
                Table(["", *self.names], head, numeric=numeric),
                Table(["", *self.names], rows, numeric=numeric,
                      title="CAAR by window: headline test, p-value and observations"),
                Text("*** p < 0.01, ** p < 0.05, * p < 0.10 (the headline test's p-value)"),
            ],
        )  # fmt: skip

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        return f"<Comparison of {len(self.names)} studies: {', '.join(self.names)}>"

    def _repr_html_(self) -> str:
        return self.summary().as_html()


def compare(
    *studies: EventStudyResult | Mapping[str, EventStudyResult],
    names: Sequence[str] | None = None,
    group_by: str = "all",
    group: str = "all",
) -> Comparison:
    """Set event studies side by side, as linearmodels' ``compare`` does for models.

    Parameters
    ----------
    studies:
        The results, or one mapping of names to results.
    names:
        Column names (default: the mapping's keys, else ``study 1``, ``study 2``, ...).
    group_by, group:
        The group compared (default: all events).

    Returns
    -------
    Comparison
        ``str()`` the side-by-side text, ``summary()`` a :class:`~backtest.summary.Summary`,
        ``to_frame()`` the long table.

    Raises
    ------
    UnknownGroupError
        When a study has no such group.
    """
    if len(studies) == 1 and isinstance(studies[0], Mapping):
        given = dict(studies[0])
        results = list(given.values())
        names = list(names) if names is not None else [str(k) for k in given]
    else:
        results = [s for s in studies if isinstance(s, EventStudyResult)]
        if len(results) != len(studies):
            raise TypeError("compare() takes EventStudyResult objects or one mapping of them")
        names = (
            list(names) if names is not None else [f"study {i + 1}" for i in range(len(results))]
        )
    if len(names) != len(results):
        raise ValueError(f"{len(names)} names for {len(results)} studies")
    if len(set(names)) != len(names):
        raise ValueError(f"names must differ: {names}")
    parts = []
    for name, res in zip(names, results, strict=True):
        g = res.groups
        sel = (g["group_by"] == group_by) & (g["group"].astype(str) == str(group)) if len(g) else []
        rows = g[sel & (g["measure"] == "CAAR")] if len(g) else g
        if not len(rows):
            known = sorted(set(g["group_by"])) if len(g) else []
            raise UnknownGroupError(
                f"{name} has no group {group_by}={group!r} (groupings: {', '.join(known)})",
                group_by=group_by,
                group=str(group),
            )
        parts.append(
            pd.DataFrame(
                {
                    "study": name,
                    "window": rows["window"].astype(str).to_numpy(),
                    "n_rows": rows["n_rows"].to_numpy(),
                    "n": rows["n"].to_numpy(),
                    "caar": rows["value"].to_numpy(),
                    "headline": rows["headline"].to_numpy(),
                    "stat": rows["headline_stat"].to_numpy(),
                    "p": rows["headline_p"].to_numpy(),
                    "lo": rows["lo"].to_numpy(),
                    "hi": rows["hi"].to_numpy(),
                }
            )
        )
    return Comparison(
        tuple(names),
        pd.concat(parts, ignore_index=True),
        tuple(r.spec for r in results),
        tuple(r.data for r in results),
        (group_by, str(group)),
    )


_NO_WINDOWS = pd.DataFrame(columns=["car", "car_se", "t", "p", "bhar", "missing"])
_WINDOW_FIELDS = ("car", "car_se", "t", "p", "bhar")


def _drop_lines(dropped: pd.DataFrame, most: int) -> list[str]:
    """The dropped rows by stage (most first): the count, and the stage's reasons by kind
    (:func:`reason_kinds`): the kind when there is one, else the most common and how many
    kinds there are."""
    out = []
    by_stage = dropped.groupby("stage", sort=False)["reason"]
    for stage, n in by_stage.size().sort_values(ascending=False).head(most).items():
        out.append(
            f"{n} x {stage}: " + _kinds_text(dropped.loc[dropped["stage"] == stage, "reason"])
        )
    return out


def _kinds_text(reasons: pd.Series) -> str:
    """The reasons of one stage (or window) in words: their one kind, or how many kinds
    and the most common."""
    kinds = reason_kinds(reasons)
    if len(kinds) == 1:
        return kinds[0][1]
    return f"{len(kinds)} kinds of reason, the most common ({kinds[0][0]} x): {kinds[0][1]}"


#: A number in a reason (a date, a count, a percentage, a signed day): a whole token, not
#: the digits of a ticker (``0700.HK``, ``S0002``).
_NUMBER = re.compile(r"(?<![\w.])(\d{4}-\d{2}-\d{2}|[-+]?\d+(?:[.,]\d+)*%?)(?!\w|\.\w)")


def reason_kind(reason: Any) -> str:
    """A reason with its numbers as N: the kind :func:`reason_kinds` counts reasons by (the
    report's listings too).

    >>> reason_kind("condition not met: AR(+0) = +13.75%")
    'condition not met: AR(N) = N'
    >>> reason_kind("no prices for 0700.HK from 2024-01-02")
    'no prices for 0700.HK from N'
    """
    return _NUMBER.sub("N", str(reason))


def reason_kinds(reasons: Sequence[str] | pd.Series) -> list[tuple[int, str]]:
    """Reasons grouped by kind, most common first: the count of each and its text, the
    numbers of the kind's reasons written as their range.

    Reasons of one kind differ only by their numbers and dates ("only 52 valid
    estimation-window returns, 120 required" and "only 97 ..."): counting them as
    different reasons says nothing.

    >>> reason_kinds(["only 52 valid returns, 120 required", "only 97 valid returns, 120 "
    ...               "required", "no prices for 0700.HK"])
    [(2, 'only 52-97 valid returns, 120 required'), (1, 'no prices for 0700.HK')]
    """
    groups: dict[str, list[list[str]]] = {}
    for r in reasons:
        text = str(r)
        groups.setdefault(_NUMBER.sub("\x00", text), []).append(_NUMBER.findall(text))
    ranked = sorted(groups.items(), key=lambda kv: -len(kv[1]))  # stable: first seen first
    out = []
    for kind, numbers in ranked:
        parts = kind.split("\x00")
        text = parts[0]
        for k, part in enumerate(parts[1:]):
            text += _span([n[k] for n in numbers]) + part
        out.append((len(numbers), text))
    return out


def _span(values: list[str]) -> str:
    """The range of one number of a kind's reasons: ``52-119``, ``-5 to +3``, ``2024-01-02
    to 2024-03-01``, or the number when they are all the same."""
    distinct = set(values)
    if len(distinct) == 1:
        return values[0]
    if all(len(v) == 10 and v[4] == "-" for v in distinct):  # dates
        return f"{min(distinct)} to {max(distinct)}"

    def value(v: str) -> float:
        try:
            return float(v.rstrip("%").replace(",", ""))
        except ValueError:
            return math.nan

    ordered = sorted(distinct, key=value)
    lo, hi = ordered[0], ordered[-1]
    signed = lo[0] in "+-" or hi[0] in "+-"
    return f"{lo} to {hi}" if signed else f"{lo}-{hi}"


def _price_range(data: Mapping[str, Any]) -> str:
    """The prices' range in words: ``prices 2020-01-02 to 2026-08-21``, ``no prices``.

    >>> _price_range({"price_first": "2020-01-02", "price_last": "2026-08-21"})
    'prices 2020-01-02 to 2026-08-21'
    >>> _price_range({"price_first": None, "price_last": None})
    'no prices'
    """
    first, last = data.get("price_first"), data.get("price_last")
    if first is None or last is None:
        return "no prices"
    return f"prices {first} to {last}"


def models_text(study: EventStudyResult) -> str:
    """How many rows each model measured, the most used first: ``39 with the market model,
    17 with the constant mean model`` (market-wide events are measured without the market;
    an event may name its own model)."""
    ev = study.events
    if "model" not in ev.columns or not len(ev):
        return f"with the {study.spec.model.replace('_', ' ')} model"
    counts = ev["model"].astype(str).value_counts()
    return ", ".join(f"{n} with the {m.replace('_', ' ')} model" for m, n in counts.items())


def _missing(win: pd.DataFrame) -> np.ndarray:
    """Per window row, why it has no value (``missing``), None when it has one."""
    if "missing" not in win.columns:
        return np.full(len(win), None, dtype=object)
    m = win["missing"].to_numpy(dtype=object).copy()
    m[(m == "") | pd.isna(m)] = None
    return m


def _json_floats(a: np.ndarray) -> list[Any]:
    """An array as (nested) lists of floats, None where NaN, ``"inf"``/``"-inf"`` where
    infinite (:func:`backtest.jsonio.number`)."""
    a = np.asarray(a, dtype=np.float64)
    obj = a.astype(object)
    obj[np.isnan(a)] = None
    obj[np.isposinf(a)] = INF
    obj[np.isneginf(a)] = NEG_INF
    return obj.tolist()


def _windows_of(ev: pd.DataFrame, win: pd.DataFrame) -> Any:
    """Per event row i, its windows as ``{label: {car, car_se, t, p, bhar}}`` (in the window
    table's order). The window table holds each row's windows one after the other, in the
    events' order (as the study builds it); another order is grouped by (event, ticker)."""
    n = len(ev)
    nw = len(win) // n if n else 0
    ordered = (
        n > 0
        and nw * n == len(win)
        and (
            win["event_id"].astype(str).to_numpy()[::nw] == ev["event_id"].astype(str).to_numpy()
        ).all()
        and (
            win["ticker"].astype(str).to_numpy()[::nw] == ev["ticker"].astype(str).to_numpy()
        ).all()
    )
    if ordered:
        labels = [str(x) for x in win["window"].to_numpy()[:nw]]
        cols = {f: _json_floats(win[f].to_numpy().reshape(n, nw)) for f in _WINDOW_FIELDS}
        missing = _missing(win).reshape(n, nw)

        def of(i: int) -> dict[str, Any]:
            return {
                label: {**{f: cols[f][i][k] for f in _WINDOW_FIELDS}, "missing": missing[i, k]}
                for k, label in enumerate(labels)
            }

        return of
    per_window = {
        (str(k[0]), str(k[1])): g.set_index("window")
        for k, g in win.assign(missing=_missing(win)).groupby(
            ["event_id", "ticker"], sort=False, observed=True
        )
    }
    keys = list(zip(ev["event_id"].astype(str), ev["ticker"].astype(str), strict=True))

    def grouped(i: int) -> dict[str, Any]:
        w = per_window.get(keys[i], _NO_WINDOWS)
        return {
            str(label): {
                **{f: _json(w.at[label, f]) for f in _WINDOW_FIELDS},
                "missing": w.at[label, "missing"],
            }
            for label in w.index
        }

    return grouped


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: dates as ISO days, floats as :func:`_json` writes them, whole numbers as
    int."""
    out = []
    for r in frame.to_dict("records"):
        row: dict[str, Any] = {}
        for k, v in r.items():
            if isinstance(v, str):
                row[k] = v
            elif isinstance(v, pd.Timestamp):
                row[k] = v.date().isoformat()
            elif isinstance(v, (list, tuple, np.ndarray)):
                row[k] = [x if isinstance(x, (str, int, float, bool)) else str(x) for x in v]
            elif isinstance(v, (bool, np.bool_)):
                row[k] = bool(v)
            elif isinstance(v, (int, np.integer)):
                row[k] = int(v)
            elif isinstance(v, (float, np.floating)):
                row[k] = _json(v)
            elif v is None or (not isinstance(v, str) and pd.isna(v)):
                row[k] = None
            else:
                row[k] = str(v)
        out.append(row)
    return out


def _json(v: Any) -> float | str | None:
    """``v`` as a number of the JSON (:func:`backtest.jsonio.number`: NaN ``None``, infinities
    ``"inf"``/``"-inf"``); ``None`` when it is no number."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return number(x)


def _f(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _pct(v: float, digits: int = 2, *, signed: bool = True) -> str:
    return pct(v, digits, signed=signed, missing="")


def _interval(lo: float, hi: float) -> str:
    """A 95% interval as ``[-1.91%, +15.24%]``; one the test cannot bound in words, as the
    report says it (:func:`backtest.text.interval`: ``not bounded``, ``above +1.00%``); no
    test: empty.

    >>> _interval(-0.0191, 0.1524), _interval(-0.0662, np.inf), _interval(-np.inf, np.inf)
    ('[-1.91%, +15.24%]', 'above -6.62%', 'not bounded')
    >>> _interval(np.nan, np.nan)
    ''
    """
    if unbounded(lo, hi):
        return interval(lo, hi)
    return f"[{_pct(lo)}, {_pct(hi)}]" if np.isfinite(lo) else ""


def _p(v: float) -> str:
    """A p-value with three decimals, ``<0.001`` below (:func:`backtest.text.p_value`)."""
    return p_value(v, missing="")


def _num(v: float, digits: int = 2) -> str:
    return num(v, digits, missing="")
