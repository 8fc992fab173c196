"""The HTML report: a main page that answers three questions on its first screen, one page per
ticker (``tickers/<T>.html``) and per strategy (``strategies/<name>.html``), all drawing with
one local copy of plotly.js (``assets/plotly.min.js``): no network, no CDN.

Pages are rendered by Jinja2 with autoescaping on: every title, ticker, description and claim
from a catalog file is escaped, so a title such as ``<script>`` shows as text. Figures travel as
JSON in ``<script type="application/json">`` blocks whose ``<``, ``>`` and ``&`` are escaped
(:func:`backtest.reports.charts.figure_json`), and one inline script draws them. Nothing here
measures anything: it selects what the results hold and lays it out.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from backtest.reports import charts as C
from backtest.reports import fmt
from backtest.reports import tables as T
from backtest.study.results import reason_kind
from backtest.study.spec import window_label
from backtest.text import finite, number_or_none

#: Where the page's one copy of plotly.js lives, relative to the report folder.
PLOTLY_ASSET = "assets/plotly.min.js"
#: The arrays that several ticker pages share (:class:`backtest.reports.charts.SharedArrays`).
SERIES_ASSET = "assets/series.js"

#: Honest per-trade statistics of a strategy: (column, header, format). The per-trade figures
#: come from the backtest's ``trade_stats`` (a pooled portfolio's own trades, at the size it
#: filled: mean and median trade return, its t and bootstrap 95% interval, the same beyond
#: the benchmark held over the same sessions, the return while invested against the
#: benchmark's over the same sessions), joined onto the pooled portfolio's metrics rows.
TRADE_STATS: tuple[tuple[str, str, str], ...] = (
    ("n_trades", "Trades", "int"),
    ("mean_trade_return", "Mean trade", "pct"),
    ("median_trade_return", "Median trade", "pct"),
    ("trade_t", "t (mean trade)", "num"),
    ("trade_ci", "95% interval, mean trade (bootstrap)", "interval"),
    ("mean_excess_return", "Mean trade beyond the benchmark (same sessions)", "pct"),
    ("excess_ci", "95% interval, beyond the benchmark", "interval"),
    ("return_while_invested", "Return while invested (annual)", "pct"),
    ("bench_while_invested", "Benchmark over the same sessions (annual)", "pct"),
    ("exposure", "Exposure", "share"),
    ("win_rate", "Win rate", "share"),
    ("profit_factor", "Profit factor", "profit_factor"),
)
#: The whole-period figures of a portfolio: (column, header, format).
PERIOD_STATS: tuple[tuple[str, str, str], ...] = (
    ("total_return", "Total return", "pct"),
    ("matched_total_return", "Benchmark at the strategy's exposure", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("matched_sharpe", "Benchmark Sharpe at the same exposure", "num"),
    ("max_drawdown", "Max drawdown", "drawdown"),
    ("max_drawdown_duration", "Longest under water", "duration"),
    ("alpha", "Alpha (annual)", "pct"),
    ("beta", "Beta", "num"),
)
#: Intervals: column -> its (low, high) columns.
INTERVALS = {
    "trade_ci": ("trade_lo", "trade_hi"),
    "excess_ci": ("excess_lo", "excess_hi"),
}
#: Columns of ``trade_stats`` that replace the pooled metrics' own per-trade figures.
TRADE_STAT_COLUMNS = (
    "mean_trade_return", "median_trade_return", "trade_t", "trade_lo", "trade_hi",
    "mean_excess_return", "excess_t", "excess_lo", "excess_hi", "return_while_invested",
    "bench_while_invested",
)  # fmt: skip
#: Fewer trades than this are too few to judge (the same rule as the charts).
MIN_TRADES = C.MIN_TRADES
#: Fewer observations than this make a category's average noisy (a caveat on the first screen).
FEW_EVENTS = 10
#: The annual figures while invested: the trades' return per session in positions, and the
#: benchmark's over the same sessions, both times the sessions of a year.
ANNUAL_STATS = ("return_while_invested", "bench_while_invested")
#: Fewest sessions in positions for an annual figure while invested: a quarter of a trading
#: year (63 of 252), so that annualising scales what was seen by at most four.
MIN_INVESTED_SESSIONS = 63

#: The footnote (‡) of an annual figure not shown.
ANNUAL_NOTE = (
    f"Not annualised: fewer than {MIN_TRADES} trades, or fewer than {MIN_INVESTED_SESSIONS} "
    "sessions in positions (a quarter of a trading year), are too few for an annual figure "
    "to mean anything (it scales what those sessions earned to 252); the computed value is in "
    "tables/trade_stats.csv."
)


def not_annualised(row: dict[str, Any]) -> str:
    """Why a strategy row's annual figures while invested (:data:`ANNUAL_STATS`) are not
    shown, or "" when they are: fewer than :data:`MIN_TRADES` trades, or fewer than
    :data:`MIN_INVESTED_SESSIONS` sessions in positions (the portfolio's exposure times its
    sessions). Annualising a handful of short trades multiplies their noise by up to 252:
    four one-day trades read as +572% a year. The tables (CSV, JSON, workbook) keep the
    computed value.

    >>> not_annualised({"kind": "strategy", "n_trades": 4, "exposure": 0.005, "sessions": 805})
    'too few trades to annualise (4, fewer than 10)'
    >>> not_annualised({"kind": "strategy", "n_trades": 11, "exposure": 0.07, "sessions": 776})
    'too few sessions in positions to annualise (54, fewer than 63)'
    >>> not_annualised({"kind": "strategy", "n_trades": 11, "exposure": 0.25, "sessions": 776})
    ''
    """
    if row.get("kind") != "strategy":
        return ""
    n = finite(row.get("n_trades"))
    if n is None or n < MIN_TRADES:
        return f"too few trades to annualise ({fmt.integer(n or 0)}, fewer than {MIN_TRADES})"
    exposure, sessions = finite(row.get("exposure")), finite(row.get("sessions"))
    if exposure is not None and sessions is not None:
        invested = exposure * sessions
        if invested < MIN_INVESTED_SESSIONS:
            return (
                f"too few sessions in positions to annualise ({invested:.0f}, fewer than "
                f"{MIN_INVESTED_SESSIONS})"
            )
    return ""


def why_not_shown(row: dict[str, Any], column: str) -> str:
    """Why :func:`stat_cell` shows no figure in ``row``'s ``column`` although it has one
    (the template's title and footnote), or ""."""
    if column not in ANNUAL_STATS or _missing(row.get(column)):
        return ""
    return not_annualised(row)


# ---------------------------------------------------------------------------------- charts


@dataclass
class Charts:
    """The figures of one page: each with a unique element id, its caption and its JSON."""

    prefix: str = "chart"
    items: list[dict[str, Any]] = field(default_factory=list)
    #: the folder's shared arrays: the figures' long arrays are stored there (ticker pages)
    arrays: C.SharedArrays | None = None

    def add(self, fig: C.Figure | None, name: str) -> dict[str, Any] | None:
        """Register ``fig`` (None: nothing to draw); returns what the template needs."""
        if fig is None:
            return None
        body, title, subtitle = C.caption(fig)
        if self.arrays is not None:
            body = self.arrays.pack(body)
        item = {
            "id": f"{self.prefix}-{len(self.items) + 1}-{slug(name)[:40]}",
            "title": title,
            "subtitle": subtitle,
            "height": int(body["layout"].get("height", 400)),
            "json": C.figure_json(body),
        }
        self.items.append(item)
        return item


def slug(s: str) -> str:
    """Text as a safe piece of a file name or element id.

    >>> slug("^GSPC"), slug("0700.HK"), slug("buy on layoffs!")
    ('_GSPC', '0700.HK', 'buy_on_layoffs_')
    """
    out = re.sub(r"[^A-Za-z0-9._-]", "_", str(s))
    return out.lstrip(".") or "_"


def page_names(names: Sequence[str], folder: str) -> dict[str, str]:
    """``name -> folder/<slug>.html``, unique even when two names have the same slug."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for n in names:
        base = slug(n)
        stem, k = base, 2
        while stem.lower() in used:
            stem, k = f"{base}-{k}", k + 1
        used.add(stem.lower())
        out[n] = f"{folder}/{stem}.html"
    return out


# ---------------------------------------------------------------------------------- jinja


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("backtest.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=fmt.pct,
        num=fmt.num,
        integer=fmt.integer,
        money=fmt.money,
        pval=fmt.pval,
        stars=fmt.stars,
        sign=fmt.sign_class,
        day=fmt.day,
        text=fmt.text,
        when=fmt.when,
        claimed=fmt.claimed,
        source=fmt.source,
        measure=fmt.measure_label,
        label=lambda s: str(s).replace("_", " "),
        stat=stat_cell,
        why_not_shown=why_not_shown,
        interval=fmt.interval,
        unbounded=fmt.unbounded,
    )
    env.globals.update(annual_note=ANNUAL_NOTE)
    return env


def stat_cell(row: dict[str, Any], column: str, kind: str) -> str:
    """One strategy statistic as text: percent, number, count, an interval ``lo to hi``, a
    drawdown with its dates, the longest spell under water with its start and end, or a profit
    factor ("no losing trades" rather than infinity). A strategy's figure that is not defined
    because its portfolio was ruined (``ruined_on``: its value reached zero) says so."""
    if kind == "interval":
        lo, hi = (row.get(c) for c in INTERVALS[column])
        return fmt.interval(lo, hi)
    if why_not_shown(row, column):  # an annual figure of a few trades (the tables keep it)
        return fmt.DASH
    v = row.get(column)
    if row.get("kind") == "strategy" and kind != "profit_factor" and _missing(v):
        ruined = row.get("ruined_on")
        if isinstance(ruined, str) and ruined:
            return C.undefined_reason(ruined, row.get("n_trades"))
    if kind == "int":
        return fmt.integer(v)
    if kind == "num":
        return fmt.num(v)
    if kind == "profit_factor":
        if isinstance(v, str):
            return v
        x = number_or_none(v)
        if x is not None and math.isinf(x):
            return NO_LOSSES if x > 0 else fmt.DASH
        return fmt.num(v)
    if kind == "drawdown":
        x = finite(v)
        if x is None:
            return fmt.DASH
        if x == 0:
            return "none"
        peak, end = row.get("max_drawdown_peak"), row.get("max_drawdown_recovery")
        if _missing(end):
            return f"{fmt.pct(x)} (from {fmt.day(peak)}, not recovered)"
        return f"{fmt.pct(x)} ({fmt.day(peak)} to {fmt.day(end)})"
    if kind == "duration":
        x = finite(v)
        if x is None:
            return fmt.DASH
        if x == 0:
            return "none"
        start, end = row.get("max_drawdown_duration_start"), row.get("max_drawdown_duration_end")
        depth = finite(row.get("max_drawdown_duration_depth"))
        deep = f", at most {fmt.pct(depth)}" if depth is not None else ""
        return f"{int(x):,d} d ({fmt.day(start)} to {fmt.day(end)}{deep})"
    if kind == "share":
        return fmt.pct(v, signed=False)
    return fmt.pct(v)


#: What a profit factor without a losing trade is called (never infinity).
NO_LOSSES = "no losing trades"


def _missing(v: Any) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


@functools.lru_cache(maxsize=1)
def _style() -> str:
    from importlib import resources

    return (resources.files("backtest.reports") / "templates" / "report.css").read_text("utf-8")


def _render(template: str, **ctx: Any) -> str:
    ctx.setdefault("page_arrays", None)  # ticker pages: their arrays (see Charts.arrays)
    ctx.setdefault("series_src", None)
    return str(
        _environment()
        .get_template(template)
        .render(
            **ctx, css=_style(), plotly_config=json.dumps(C.PLOTLY_CONFIG), unpack_js=C.UNPACK_JS
        )
    )


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    """The rows of ``df`` as dicts (column -> value; NumPy scalars and Timestamps as they are),
    built column by column: ``to_dict("records")`` boxes every cell and is ~10x slower on the
    wide metrics tables of 500 ticker pages."""
    if df is None or not len(df):
        return []
    cols = [str(c) if not isinstance(c, str) else c for c in df.columns]
    return [dict(zip(cols, row, strict=True)) for row in df.to_numpy(dtype=object)]


# ---------------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class Site:
    """The pages of one report, the links between them (paths relative to the folder) and the
    run's counts (the same on every page)."""

    tickers: dict[str, str]
    strategies: dict[str, str]
    counts: dict[str, Any]
    #: Per backtest (by position), built once for all ticker pages: its joined metrics rows
    #: and its trades, each split by ticker (the portfolio of a per-ticker run).
    by_ticker: list[tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]] = field(
        default_factory=list, compare=False, repr=False
    )
    #: (id of a backtest, portfolio) -> the equity columns of that portfolio.
    equity: dict[tuple[int, str], pd.DataFrame] = field(
        default_factory=dict, compare=False, repr=False
    )
    #: The ticker pages' long arrays, each stored once (``assets/series.js`` when shared).
    arrays: C.SharedArrays = field(default_factory=C.SharedArrays, compare=False, repr=False)

    def per_ticker(self, backtests: Sequence[Any]) -> list[Any]:
        """:attr:`by_ticker`, built on the first call."""
        if not self.by_ticker and backtests:
            for r in backtests:
                if not len(r.metrics):
                    self.by_ticker.append(({}, {}))
                    continue
                m = metrics_with_trade_stats(r)
                rows = {str(k): g for k, g in m.groupby(m["portfolio"].astype(str), sort=False)}
                eq = r.equity
                if len(eq) and eq.columns.nlevels == 3:
                    level = pd.Series(eq.columns.get_level_values(1).astype(str))
                    for k, ix in level.groupby(level, sort=False).indices.items():
                        self.equity[(id(r), str(k))] = eq.iloc[:, ix]
                t = r.trades
                trades = (
                    {str(k): g for k, g in t.groupby(t["ticker"].astype(str), sort=False)}
                    if len(t)
                    else {}
                )
                self.by_ticker.append((rows, trades))
        return self.by_ticker


def site_of(result: Any) -> Site:
    study = result.study
    # every ticker of the study, measured or dropped: each has its page
    tickers = (
        sorted({str(t) for t in (*study.events["ticker"], *study.dropped["ticker"])} - {""})
        if study is not None
        else []
    )
    # and every ticker a strategy traded or skipped (the study may have failed)
    traded = [
        str(t)
        for r in result.backtests
        for t in (*r.trades.get("ticker", []), *T.skipped_table(r).get("ticker", []))
    ]
    tickers = sorted(set(tickers) | set(traded))
    return Site(
        tickers=page_names(tickers, "tickers"),
        strategies=page_names([r.strategy.name for r in result.backtests], "strategies"),
        counts=T.counts(result),
    )


def render_pages(result: Any, files: Sequence[str] = ()) -> dict[str, str]:
    """Every page of the report: ``{path relative to the folder: HTML}``."""
    site = site_of(result)
    pages = {"index.html": render_index(result, site, files)}
    for ticker, path in site.tickers.items():
        pages[path] = render_ticker(result, site, ticker)
    if site.tickers:
        pages[SERIES_ASSET] = site.arrays.folder_script()
    for r in result.backtests:
        pages[site.strategies[r.strategy.name]] = render_strategy(result, site, r)
    return pages


def render_html(result: Any, files: Sequence[str] = ()) -> str:
    """The main page alone (``index.html``)."""
    return render_index(result, site_of(result), files)


def _common(result: Any, site: Site, root: str) -> dict[str, Any]:
    return {
        "config": result.config,
        "meta": result.meta,
        "root": root,
        "plotly_src": root + PLOTLY_ASSET,
        "counts": site.counts,
    }


# ------------------------------------------------------------------------------ the main page


def render_index(result: Any, site: Site, files: Sequence[str] = ()) -> str:
    charts = Charts()
    study = result.study
    ctx = _common(result, site, "")
    ctx.update(
        files=list(files),
        failures=result.failures,
        run_notes=list(getattr(result, "notes", ())),
        tickers_pages=site.tickers,
        strategy_pages=site.strategies,
        timings=result.timings,
        config_toml=result.config.to_toml(),
    )
    if study is not None:
        win = T.main_window(study)
        label = window_label(win)
        cats = T.category_table(study, win)
        top = T.top_reactions(study, 6, win)
        ctx.update(
            study=study,
            spec=study.spec,
            window=label,
            windows=[window_label(w) for w in study.spec.windows],
            # the table: every category of the catalog (the answer counts the measured ones)
            categories=_records(T.category_overview(result, win)),
            measured_categories=len(cats),
            category_dropped=_unmeasured_dropped(result, win),
            category_takeaway=T.category_takeaway(study, win),
            q1=charts.add(C.category_forest(cats, win), "categories"),
            top=_records(top),
            q2=charts.add(C.top_reactions(top, win), "strongest"),
            top_takeaway=_top_takeaway(top, label),
            caar_chart=charts.add(C.caar_panels(study, win), "caar-paths"),
            dots_chart=charts.add(C.car_dots(study, win), "car-dots"),
            tests=_test_battery(study, cats),
            tickers=_ticker_rows(study, win, site),
            not_bounded_note=fmt.NOT_BOUNDED_NOTE,
            market=_market_events(study, win),
            caveats=_caveats(result, cats),
        )
        ctx["categories_unbounded"] = any(
            fmt.unbounded(c["lo"], c["hi"]) for c in ctx["categories"]
        )
        ctx["tickers_unbounded"] = any(fmt.unbounded(t["lo"], t["hi"]) for t in ctx["tickers"].rows)
    else:
        ctx.update(
            study=None, study_error=result.study_error, caveats=[], market=None, categories=[]
        )
    rows = strategy_rows(result.backtests)
    excess = bool(len(rows)) and rows["excess"].any()
    ctx["q3"] = (
        charts.add(C.strategy_forest(rows, excess=excess), "strategies") if len(rows) else None
    )
    ctx["strategy_takeaway"] = _strategy_takeaway(rows, excess)
    ctx["min_trades"] = MIN_TRADES
    ctx["min_invested"] = MIN_INVESTED_SESSIONS
    ctx["overview"] = _overview(result.backtests, site)
    heads = {c: h for c, h, _ in (*TRADE_STATS, *PERIOD_STATS)}
    ctx["overview_stats"] = [
        (c, heads[c]) for c in OVERVIEW_STATS if any(c in o["cells"] for o in ctx["overview"])
    ]
    ctx["trade_stats"] = [c for c in TRADE_STATS if _any_column(result.backtests, c)]
    ctx["period_stats"] = [c for c in PERIOD_STATS if _any_column(result.backtests, c)]
    ctx["strategy_errors"] = list(result.strategy_errors)
    ctx["strategy_notes"] = list(result.strategy_notes)
    claims = result.claims
    ctx["claims"] = _records(claims)
    ctx["claims_chart"] = charts.add(C.claims_figure(claims), "claims") if len(claims) else None
    ctx["claim_counts"] = claims["verdict"].value_counts().to_dict() if len(claims) else {}
    ctx["left_out"] = _left_out(result)
    quality = result.quality
    if len(quality) and "severity" in quality.columns:  # errors first
        quality = quality.sort_values("severity", key=lambda v: v != "error", kind="stable")
    ctx["quality"] = listing(_records(quality), "check")
    ctx["n_warnings"] = (
        int((result.quality["severity"] == "warning").sum()) if len(result.quality) else 0
    )
    ctx["prices"] = listing(
        [{**p, "as_of": data_as_of(p)} for p in _records(result.prices)], "status"
    )
    ctx["charts"] = charts.items
    return _render("index.html.j2", **ctx)


#: Dropped rows a category without a measured row lists in its row of the main page (the
#: rest are under "Left out").
MAX_CATEGORY_DROPPED = 5


def _unmeasured_dropped(result: Any, win: Any) -> dict[str, list[dict[str, Any]]]:
    """Per category the study measured no row of: its first dropped rows, with the reasons."""
    cats = T.category_overview(result, win)
    empty = set(cats.loc[cats["measured"] == 0, "category"].astype(str))
    d = T.study_dropped(result)
    out: dict[str, list[dict[str, Any]]] = {}
    for r in _records(d[d["category"].astype(str).isin(empty)]):
        out.setdefault(str(r["category"]), []).append(r)
    return {c: rows[:MAX_CATEGORY_DROPPED] for c, rows in out.items()}


def data_as_of(row: dict[str, Any]) -> str:
    """What date the price data is from: a download's date (the data was current then), or,
    for a file, the last date it holds (a file's modification time says nothing about its
    data: copying the file changes it).

    >>> data_as_of({"source": "csv:/d/META.csv", "last": "2026-01-29", "fetched_at": "x"})
    'data to 2026-01-29 (file)'
    >>> data_as_of({"source": "yahoo", "fetched_at": "2026-01-30T21:00:00+00:00"})
    'downloaded 2026-01-30'
    """
    src = str(row.get("source") or "")
    if not src or row.get("status") == "failed":
        return fmt.DASH
    if src.startswith("csv:"):
        return f"data to {fmt.day(row.get('last'))} (file)"
    return f"downloaded {fmt.when(row.get('fetched_at'))[:10]}"


def _top_takeaway(top: pd.DataFrame, label: str) -> str:
    if not len(top):
        return ""
    r = top.iloc[0]
    sig = int((top["p"] < 0.05).sum())
    return (
        f"The largest: {r['ticker']} {fmt.pct(r['car'], 1)} over {label} around "
        f"{fmt.day(r['day0'])} ({r['title']}). {sig} of these {len(top)} reactions are "
        "significant at 5% on their own t-test."
    )


def _test_battery(study: Any, cats: pd.DataFrame) -> list[dict[str, Any]]:
    """Per category, every test of every window (the full battery, folded on the page)."""
    g = study.group_table("category", "CAAR")
    out = []
    for c in cats["category"]:
        rows = g[g["group"] == c]
        notes = sorted({n for s in rows["notes"] for n in str(s).split(" | ") if n})
        out.append({"category": c, "rows": _records(rows), "notes": notes})
    return out


#: The group tests in the battery tables: (column, header).
TESTS = (
    ("t", "t"),
    ("patell", "Patell Z"),
    ("bmp", "BMP"),
    ("kp", "KP"),
    ("sign", "sign"),
    ("gsign", "gen. sign"),
    ("rank", "Corrado rank"),
    ("wilcoxon", "Wilcoxon"),
)


def _ticker_rows(study: Any, win: Any, site: Site) -> Listing:
    """Per ticker (most events first, then the largest |CAAR|), each linked to its page; a
    long list shows the first :data:`MAX_ROWS` (every ticker has its page)."""
    t = T.ticker_table(study, win)
    t = t.assign(_abs=t["caar"].abs()).sort_values(["n", "_abs"], ascending=False, kind="stable")
    rows = [{**r, "page": site.tickers.get(str(r["ticker"]))} for r in _records(t)]
    return listing(rows)


#: Models whose abnormal return is the return less a constant (``alpha``; 0 for ``raw``): the
#: row's raw move over a window is then its CAR plus the window's sessions times ``alpha``.
CONSTANT_MODELS = frozenset({"constant_mean", "raw"})


def _market_events(study: Any, win: Any) -> dict[str, Any] | None:
    """Market-wide (scope market) events: what the index did (the study's ``market_events``,
    one row per event and benchmark, the windows side by side) and each ticker's reaction:
    its raw move over the main window (the study's ``raw`` column of ``windows`` when it has
    one; else, for the models without a market term, CAR + sessions × alpha, exactly the sum
    of its daily returns), the benchmark's move, the abnormal return and the model the row
    was measured with and why (``model``, ``model_reason``)."""
    ev = T.event_table(study)
    if "scope" not in ev.columns:
        return None
    rows = ev[ev["scope"] == "market"].sort_values(["day0", "event_id", "ticker"])
    if not len(rows):
        return None
    label = window_label(win)
    labels = [window_label(w) for w in study.spec.windows]
    moves = getattr(study, "market_events", None)
    index: list[dict[str, Any]] = []
    bench_move: dict[tuple[str, str], float] = {}
    if isinstance(moves, pd.DataFrame) and len(moves) and "return" in moves.columns:
        for (eid, bench), g in moves.groupby(["event_id", "benchmark"], sort=False):
            by = dict(zip(g["window"].astype(str), g["return"], strict=True))
            first = g.iloc[0]
            index.append(
                {
                    "event_id": eid,
                    "market": first.get("market", ""),
                    "benchmark": bench,
                    "day0": first.get("day0"),
                    "returns": [by.get(w, math.nan) for w in labels],
                }
            )
            bench_move[(str(eid), str(bench))] = by.get(label, math.nan)
        index.sort(key=lambda r: (str(r["day0"]), str(r["event_id"]), str(r["benchmark"])))
    w = study.windows[study.windows["window"] == label].set_index(["event_id", "ticker"])
    key = pd.MultiIndex.from_frame(rows[["event_id", "ticker"]])
    car = w["car"].reindex(key).to_numpy(dtype=np.float64)
    if "raw" in w.columns:
        raw = w["raw"].reindex(key).to_numpy(dtype=np.float64)
    else:
        sessions = (w["end"] - w["start"] + 1).reindex(key).to_numpy(dtype=np.float64)
        alpha = pd.to_numeric(rows.get("alpha"), errors="coerce").to_numpy(dtype=np.float64)
        model = rows.get("model", pd.Series("", index=rows.index)).astype(str).to_numpy()
        alpha = np.where(model == "raw", 0.0, alpha)
        raw = np.where(np.isin(model, list(CONSTANT_MODELS)), car + sessions * alpha, np.nan)
    out = []
    for r, x in zip(_records(rows), raw, strict=True):
        r["raw"] = x
        r["index_move"] = bench_move.get((str(r["event_id"]), str(r.get("benchmark"))), math.nan)
        out.append(r)
    reasons = {str(r.get("model_reason") or "") for r in out}
    return {
        "rows": out,
        "index": index,
        "windows": labels,
        "window": label,
        "models": sorted({str(m) for m in rows.get("model", pd.Series(dtype=str)).dropna()}),
        "one_reason": reasons.pop() if len(reasons) == 1 else None,
    }


def _caveats(result: Any, cats: pd.DataFrame) -> list[str]:
    """What a reader must keep in mind, in plain words, from the results themselves."""
    study = result.study
    out = []
    few = cats[cats["n"] < FEW_EVENTS]
    if len(few):
        out.append(
            f"Few events: {len(few)} of {len(cats)} kinds of news have fewer than {FEW_EVENTS} "
            "observations, so their averages are noisy and their tests weak."
        )
    merged = int(cats["merged"].sum()) if "merged" in cats else 0
    ev = study.events
    if merged:
        out.append(
            f"Overlapping events: {merged} catalog "
            f"{'row repeats' if merged == 1 else 'rows repeat'} news already counted for the "
            "same ticker (their windows overlap) and "
            f"{'is' if merged == 1 else 'are'} counted once."
        )
    elif "confounded" in ev.columns and ev["confounded"].any():
        k = int(ev["confounded"].sum())
        out.append(
            f"Overlapping events: {k} reactions have another catalog event of the same ticker "
            "inside their window (flagged “confounded” on the ticker pages)."
        )
    if "scope" in ev.columns and (ev["scope"] == "market").any():
        m = ev[ev["scope"] == "market"]
        models = set(m.get("model", pd.Series([study.spec.model] * len(m))).astype(str))
        if models & {"market", "factor"}:
            out.append(
                f"Market-wide news: {len(m)} reactions to market-wide events are measured "
                "against the market index, which moved with the news: their abnormal returns "
                "leave out the move the market made."
            )
        else:
            out.append(
                f"Market-wide news: {len(m)} reactions to market-wide events are measured "
                f"without the market ({', '.join(sorted(models)).replace('_', ' ')} model), "
                "since the index itself reacted."
            )
    few_trades = [r.strategy.name for r in result.backtests if _max_trades(r) < MIN_TRADES]
    if few_trades:
        out.append(
            f"Few trades: {len(few_trades)} of {len(result.backtests)} strategies made fewer "
            f"than {MIN_TRADES} trades, too few to judge."
        )
    return out


# ------------------------------------------------------------------------------ strategies


@T.memo
def metrics_with_trade_stats(r: Any) -> pd.DataFrame:
    """The backtest's metrics table (:meth:`to_frame`) with its ``trade_stats`` joined onto
    the strategy rows of the same combination and portfolio: the per-trade figures
    (:data:`TRADE_STAT_COLUMNS`) are the trade statistics' own; rows without trade statistics
    (per-ticker portfolios, buy-and-hold) keep NaN there."""
    m = r.to_frame()
    ruined = r.ruined() if len(m) and hasattr(r, "ruined") else {}
    if ruined:  # the first session its value was zero or less, on that portfolio's rows
        m = m.assign(
            ruined_on=[
                ruined.get((int(c), str(p))) if k == "strategy" else None
                for c, p, k in zip(m["combo"], m["portfolio"], m["kind"], strict=True)
            ]
        )
    if len(m) and "avg_trade_return" in m.columns and "mean_trade_return" not in m.columns:
        # a portfolio without trade statistics (one ticker's) keeps its own mean trade
        m = m.assign(mean_trade_return=m["avg_trade_return"])
    ts = getattr(r, "trade_stats", None)
    if not len(m) or not isinstance(ts, pd.DataFrame) or not len(ts):
        return m
    keys = ["combo", "portfolio"]
    take = [c for c in TRADE_STAT_COLUMNS if c in ts.columns]
    ts = ts[[*keys, *take]].assign(kind="strategy")
    out = m.merge(ts, on=[*keys, "kind"], how="left", suffixes=("_own", ""))
    for c in take:  # the trade statistics' figure where there is one, else the row's own
        own = f"{c}_own"
        if own in out.columns:
            out[c] = out[c].where(out[c].notna(), out[own])
            out = out.drop(columns=own)
    return out


@T.memo
def _strategy_metrics(r: Any) -> pd.DataFrame:
    """The strategy rows of the main pooled portfolio, one per combination, with labels."""
    if not len(r.metrics):
        return pd.DataFrame()
    m = metrics_with_trade_stats(r)
    return m[(m["portfolio"] == r.grid_portfolio()) & (m["kind"] == "strategy")].sort_values(
        "combo"
    )


def _max_trades(r: Any) -> float:
    m = _strategy_metrics(r)
    return float(m["n_trades"].max()) if len(m) else 0.0


def strategy_rows(backtests: Sequence[Any]) -> pd.DataFrame:
    """Per strategy and combination (main pooled portfolio): the mean trade return, in excess
    of the benchmark when the backtest measured that, its 95% interval when given, and the
    number of trades: the rows of :func:`backtest.reports.charts.strategy_forest`."""
    frames = []
    for r in backtests:
        m = _strategy_metrics(r)
        if not len(m):
            continue
        excess = "mean_excess_return" in m.columns and m["mean_excess_return"].notna().any()
        value, (lo, hi) = (
            ("mean_excess_return", INTERVALS["excess_ci"])
            if excess
            else ("mean_trade_return", INTERVALS["trade_ci"])
        )
        if value not in m.columns:  # a backtest without trade statistics
            value = "avg_trade_return"
        frames.append(
            pd.DataFrame(
                {
                    "strategy": r.strategy.name,
                    "label": m["label"].astype(str).to_numpy() if r.strategy.swept else "",
                    "value": m[value].to_numpy(dtype=np.float64),
                    "lo": m[lo].to_numpy(dtype=np.float64) if lo in m else np.nan,
                    "hi": m[hi].to_numpy(dtype=np.float64) if hi in m else np.nan,
                    "n_trades": m["n_trades"].to_numpy(dtype=np.float64),
                    "excess": excess,
                }
            )
        )
    cols = ["strategy", "label", "value", "lo", "hi", "n_trades", "excess"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def _strategy_takeaway(rows: pd.DataFrame, excess: bool) -> str:
    if not len(rows):
        return "No strategy made a trade."
    n_strat = rows["strategy"].nunique()
    few = rows.groupby("strategy")["n_trades"].max()
    few_n = int((few < MIN_TRADES).sum())
    what = "beyond the benchmark over the same sessions" if excess else "per trade"
    has_ci = np.isfinite(rows["lo"].to_numpy(dtype=np.float64)).any()
    if has_ci:
        above = rows[rows["lo"] > 0]["strategy"].nunique()
        head = (
            f"{above} of {n_strat} strategies earned a mean return {what} whose 95% interval "
            "lies above zero in at least one combination"
        )
    else:
        pos = rows[rows["value"] > 0]["strategy"].nunique()
        head = (
            f"{pos} of {n_strat} strategies had a positive mean return {what} in at least one "
            "combination (the backtests give no interval for it yet)"
        )
    tail = f"; {few_n} made fewer than {MIN_TRADES} trades, too few to judge." if few_n else "."
    return head + tail


def _any_column(backtests: Sequence[Any], column: tuple[str, str, str]) -> bool:
    name = column[0]
    names = INTERVALS.get(name, (name,))
    return any(len(r.metrics) and set(names) <= _columns(r) for r in backtests)


@T.memo
def _columns(r: Any) -> set[str]:
    """The columns of :func:`metrics_with_trade_stats` (without building it; once per write)."""
    ts = getattr(r, "trade_stats", None)
    extra = set(ts.columns) if isinstance(ts, pd.DataFrame) and len(ts) else set()
    return set(r.metrics.columns) | set(r.combos.columns) | extra


#: The strategy columns of the main page (the strategy pages show every statistic).
OVERVIEW_STATS: tuple[str, ...] = (
    "n_trades", "mean_trade_return", "trade_ci", "mean_excess_return", "excess_ci",
    "return_while_invested", "bench_while_invested", "exposure", "total_return",
    "matched_total_return", "sharpe", "matched_sharpe", "max_drawdown", "profit_factor",
)  # fmt: skip


def _overview(backtests: Sequence[Any], site: Site) -> list[dict[str, Any]]:
    """One row per strategy (its main pooled portfolio over the whole grid): each statistic
    over the combinations as a range (never the best one alone), intervals counted by where
    they lie, and the benchmark held over the same sessions."""
    full = T.strategy_overview(backtests)
    ov = full[full["main"].astype(bool)] if "main" in full.columns else full
    kinds = {c: (h, k) for c, h, k in (*TRADE_STATS, *PERIOD_STATS)}
    out = []
    for row, r in zip(_records(ov), backtests, strict=True):
        # the strategy's other pooled portfolios (another market), each with its own trades
        rest = full[(full["strategy"] == r.strategy.name) & ~full["main"].astype(bool)]
        row["others"] = [
            f"{o['portfolio']}: {int(o['trades'])} trade{'s' if int(o['trades']) != 1 else ''}, "
            + (
                fmt.pct(o["return_max"])
                if o["return_min"] == o["return_max"]
                else f"{fmt.pct(o['return_min'])} to {fmt.pct(o['return_max'])}"
            )
            for o in _records(rest)
        ]
        m = _strategy_metrics(r)
        row["page"] = site.strategies[r.strategy.name]
        cols = _columns(r)
        row["cells"] = {
            c: overview_cell(m, c, kinds[c][1])
            for c in OVERVIEW_STATS
            if set(INTERVALS.get(c, (c,))) <= cols
        }
        row["why"] = {}
        for c in (c for c in ANNUAL_STATS if c in row["cells"]):
            # the range over the combinations whose annual figure means something
            why = [why_not_shown(x, c) for x in _records(m)]
            if any(why):
                judged = m[[not w for w in why]]
                row["cells"][c] = overview_cell(judged, c, kinds[c][1])
                left = sum(bool(w) for w in why)
                row["why"][c] = (
                    next(w for w in why if w)
                    if left == len(why) == 1
                    else f"{left} of {len(why)} combinations not annualised: "
                    + "; ".join(dict.fromkeys(w for w in why if w))
                )
        row["few"] = (not len(m)) or float(m["n_trades"].max()) < MIN_TRADES
        out.append(row)
    return out


def overview_cell(m: pd.DataFrame, column: str, kind: str) -> str:
    """One statistic of a strategy over its combinations (rows of ``m``) as text: the value
    when there is one combination (or all agree), else ``low to high``; intervals as the
    interval (one combination) or how many of the combinations' intervals lie above / below
    zero; drawdowns by their depth.

    >>> m = pd.DataFrame({"mean_trade_return": [0.01, 0.03], "trade_lo": [-0.01, 0.002],
    ...                   "trade_hi": [0.02, 0.05]})
    >>> overview_cell(m, "mean_trade_return", "pct"), overview_cell(m, "trade_ci", "interval")
    ('+1.00% to +3.00%', '1 of 2 above zero')
    """
    if not len(m):
        return fmt.DASH
    if kind == "interval":
        lo_c, hi_c = INTERVALS[column]
        if len(m) == 1:
            return stat_cell(_records(m)[0], column, kind)
        lo = m[lo_c].to_numpy(dtype=np.float64)
        hi = m[hi_c].to_numpy(dtype=np.float64)
        known = np.isfinite(lo) | np.isfinite(hi)
        if not known.any():
            return fmt.DASH
        above, below = int((lo > 0).sum()), int((hi < 0).sum())
        parts = [f"{above} of {int(known.sum())} above zero"]
        if below:
            parts.append(f"{below} below")
        return ", ".join(parts)
    if kind in ("drawdown", "duration"):
        kind = "pct" if kind == "drawdown" else "int"
        if kind == "int":
            v = _as_numbers(m[column])
            a, b = v.min(), v.max()
            if pd.isna(a):
                return fmt.DASH
            return f"{a:,.0f} d" if a == b else f"{a:,.0f} to {b:,.0f} d"
    v = _as_numbers(m[column])
    a, b = v.min(), v.max()
    one, two = stat_cell({column: a}, column, kind), stat_cell({column: b}, column, kind)
    return one if one == two else f"{one} to {two}"


def _as_numbers(values: pd.Series) -> pd.Series:
    """A metric column as numbers: a profit factor's "no losing trades" is +inf (shown in
    words again by :func:`stat_cell`), any other word is missing."""
    if values.dtype != object and not pd.api.types.is_string_dtype(values):
        return values
    words = values.map(lambda v: math.inf if v == NO_LOSSES else v)
    return pd.to_numeric(words, errors="coerce")


#: Rows a table on the main page lists at most; the rest are counted by reason and are in
#: ``tables/`` and ``tables.xlsx`` (a run over the S&P 500 skips thousands of trades).
MAX_ROWS = 25
#: Trade legs a strategy page lists at most (every leg is in ``tables/trades.csv``).
MAX_TRADES = 200


@dataclass(frozen=True)
class Listing:
    """A long list on the main page: ``n`` in all, the first ``rows`` of them, and when some
    are left out, ``reasons``: how many rows of each reason there are (numbers in a reason
    read as N, so "AR(+0) = +13.75%" and "AR(+0) = -1.90%" count as one reason)."""

    n: int
    rows: list[dict[str, Any]]
    reasons: list[tuple[str, int]]

    @property
    def more(self) -> int:
        return self.n - len(self.rows)


def listing(rows: list[dict[str, Any]], *by: str, limit: int = MAX_ROWS) -> Listing:
    """The first ``limit`` of ``rows``, with the counts of every (``by`` fields, reason kind)
    when some are left out."""
    reasons: list[tuple[str, int]] = []
    if len(rows) > limit:
        counts: dict[str, int] = {}
        for r in rows:
            head = " · ".join(str(r.get(k, "")) for k in by if k != "reason")
            kind = reason_kind(r.get("reason", "")) if "reason" in by else ""
            label = f"{head}: {kind}" if head and kind else head or kind
            counts[label] = counts.get(label, 0) + 1
        reasons = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return Listing(n=len(rows), rows=rows[:limit], reasons=reasons)


def _left_out(result: Any) -> dict[str, Any]:
    """What the run left out, by kind, each counted on its own (long lists: the first
    :data:`MAX_ROWS` and the counts by reason)."""
    study = result.study
    dropped = _records(T.study_dropped(result)) if study is not None else []
    skipped = []
    for r in result.backtests:
        for k in _records(T.skipped_table(r)):
            skipped.append({"strategy": r.strategy.name, **k})
    cp = result.catalog_problems
    failed = (
        result.prices[result.prices["status"] == "failed"] if len(result.prices) else result.prices
    )
    return {
        "dropped": listing(dropped, "stage", "reason"),
        "skipped": listing(skipped, "strategy", "reason"),
        "catalog": listing(_records(cp), "field"),
        "catalog_entries": T.catalog_entries(cp),
        "catalog_whole": T.catalog_whole(cp),
        "prices": listing(_records(failed), "reason"),
        "files": [
            {"file": f, "message": m} for f, m in (*result.strategy_errors, *result.strategy_notes)
        ],
    }


# ------------------------------------------------------------------------------ ticker pages


def render_ticker(result: Any, site: Site, ticker: str) -> str:
    site.arrays.start(site.tickers.get(ticker, ticker))
    charts = Charts(arrays=site.arrays)
    study = result.study
    ctx = _common(result, site, "../")
    ctx.update(ticker=ticker, strategy_pages=site.strategies, study=study)
    # a run whose study failed still has strategies: the page then shows only those
    ctx.update(summary=None, events=[], paths=None, earnings=None, dropped=[], untraded=[])
    if study is None:  # the events a strategy skipped are listed whatever the study did
        listed = T.study_rows(T.catalog_events, result.catalog, ticker).sort_values("day0")
        ctx["untraded"] = _untraded(
            T.untraded_table(result, ticker, listed["event_id"].tolist()), _records(listed)
        )
    else:
        win = T.main_window(study)
        events = T.study_rows(T.event_table, study, ticker).sort_values("day0")
        row = T.study_rows(T.ticker_table, study, ticker, win)
        dropped = T.study_rows(T.study_dropped, result, ticker)
        ctx.update(
            dropped=_records(dropped.sort_values(["date", "event_id"], kind="stable")),
            spec=study.spec,
            window=window_label(win),
            windows=[window_label(w) for w in study.spec.windows],
            car_windows=[window_label(w) for w in study.spec.windows if tuple(w) != (0, 0)],
            summary=_records(row)[0] if len(row) else None,
            events=_records(events),
            paths=charts.add(C.ticker_paths(study, ticker, win), f"paths-{ticker}")
            if len(events)
            else None,
            earnings=_earnings(study, ticker, charts),
            untraded=_untraded(
                T.untraded_table(result, ticker, events["event_id"].tolist()), _records(events)
            ),
        )
    ctx["strategies"] = _ticker_strategies(result, ticker, charts, site)
    ctx["trade_stats"] = [c for c in TRADE_STATS if _any_column(result.backtests, c)]
    ctx["period_stats"] = [c for c in PERIOD_STATS if _any_column(result.backtests, c)]
    ctx["charts"] = charts.items
    ctx["page_arrays"] = site.arrays.page_arrays() if site.arrays.own else None
    ctx["series_src"] = "../" + SERIES_ASSET if site.arrays.uses_folder else None
    return _render("ticker.html.j2", **ctx)


#: The earnings reaction history's columns (CONTRACTS.md: ``EventStudyResult.earnings_history``)
#: as the ticker page shows them: (column, header, format).
EARNINGS_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("quarter", "Quarter", "text"),
    ("date", "Date", "day"),
    ("timing", "Timing", "label"),
    ("eps_estimate", "EPS estimate", "num"),
    ("eps_reported", "EPS reported", "num"),
    ("surprise_pct", "Surprise", "surprise"),
    ("ar0", "AR(0)", "pct"),
    ("car_m1_p1", "CAR[-1,+1]", "pct"),
    ("drift_p2_p20", "Drift CAR[+2,+20]", "pct"),
    ("abnormal_volume", "Abnormal volume", "volume"),
)


def earnings_cell(row: dict[str, Any], column: str, kind: str) -> str:
    """One cell of the earnings reaction history: a surprise in percent as given
    (``surprise_pct`` 8.66 is +8.66%), returns in percent, the abnormal volume (day-0 volume /
    usual volume - 1) in whole percent, dates, EPS with two decimals.

    >>> earnings_cell({"surprise_pct": 8.66}, "surprise_pct", "surprise")
    '+8.66%'
    >>> earnings_cell({"abnormal_volume": 9.16}, "abnormal_volume", "volume")
    '+916%'
    >>> earnings_cell({"ar0": -0.1133}, "ar0", "pct")
    '-11.33%'
    >>> earnings_cell({"timing": "after_close"}, "timing", "label")
    'after close'
    """
    v = row.get(column)
    if kind == "surprise":
        x = finite(v)
        return fmt.DASH if x is None else fmt.pct(x / 100.0)
    if kind == "pct":
        return fmt.pct(v)
    if kind == "volume":
        return fmt.pct(v, 0)
    if kind == "num":
        return fmt.num(v)
    if kind == "day":
        return fmt.day(v)
    if kind == "label":
        return fmt.text(v).replace("_", " ")
    return fmt.text(v)


def _quarters(n: int, what: str = "quarter") -> str:
    return f"{n} {what}" + ("s" if n != 1 else "")


def earnings_profile_sentence(
    profile: dict[str, Any],
    beats: int | None = None,
    misses: int | None = None,
    *,
    surprises: int | None = None,
    ups: tuple[int, int] | None = None,
) -> str:
    """The earnings profile as a reader would say it: how far the stock moves on the day, and
    how it drifted [+2,+20] after the quarters that beat and missed estimates.

    ``profile`` is a row of ``EventStudyResult.earnings_profile`` (``n, mean_abs_ar0,
    share_up, mean_drift_pos, mean_drift_neg, n_pos, n_neg``; ``n_pos``/``n_neg`` count the
    surprises that have a drift). ``beats``/``misses`` are the history's positive and negative
    surprises (with or without a drift): they tell "no quarter beat estimates" apart from
    "beats, but no drift measured after them". Without them ``n_pos``/``n_neg`` stand in.
    ``surprises``: how many announcements have a surprise at all (0: the catalog gives no
    estimates). ``ups``: (announcements up on the day, announcements with an AR(0)), said as
    counts when there are few.
    """
    n = int(finite(profile.get("n")) or 0)
    n_pos = int(finite(profile.get("n_pos")) or 0)
    n_neg = int(finite(profile.get("n_neg")) or 0)
    beats = n_pos if beats is None else int(beats)
    misses = n_neg if misses is None else int(misses)
    head = f"{_quarters(n, 'result')} measured"
    move = finite(profile.get("mean_abs_ar0"))
    up = finite(profile.get("share_up"))
    if move is not None:
        size = fmt.pct(move, signed=False)
        if ups is not None and ups[1] == 1:
            head += f": the stock moved {size} on the day, {'up' if ups[0] else 'down'}"
        else:
            head += f": the stock moved {size} on the day on average (either way)"
            if ups is not None and 0 < ups[1] < 10:
                head += f", up on {ups[0]} of {ups[1]}"
            elif up is not None:
                head += f", up on {fmt.pct(up, 0, signed=False)} of them"
    head += "."
    if surprises == 0:
        return f"{head} No quarter has an EPS estimate, so the drift is not split by surprise."

    d_pos = finite(profile.get("mean_drift_pos")) if n_pos else None
    d_neg = finite(profile.get("mean_drift_neg")) if n_neg else None
    after = "Over the following sessions [+2,+20]"
    if d_pos is not None and d_neg is not None:
        return (
            f"{head} {after} it drifted {fmt.pct(d_pos)} on average after the "
            f"{_quarters(n_pos)} that beat estimates and {fmt.pct(d_neg)} after the "
            f"{n_neg} that missed them."
        )
    if d_pos is not None or d_neg is not None:
        d, k, verb, other, k_other = (
            (d_pos, n_pos, "beat", "missed", misses)
            if d_pos is not None
            else (d_neg, n_neg, "missed", "beat", beats)
        )
        rest = (
            f"no quarter {other} them"
            if k_other == 0
            else f"no drift could be measured after the {k_other} that {other} them"
        )
        return (
            f"{head} {after} it drifted {fmt.pct(d)} on average after the {_quarters(k)} "
            f"that {verb} estimates; {rest}."
        )
    if beats == 0 and misses == 0:
        return f"{head} No quarter beat or missed estimates, so there is no drift to compare."
    sides = [
        f"the {_quarters(k)} that {verb} estimates"
        for k, verb in ((beats, "beat"), (misses, "missed"))
        if k
    ]
    return f"{head} No drift [+2,+20] could be measured after {' or '.join(sides)}."


def _earnings(study: Any, ticker: str, charts: Charts) -> dict[str, Any] | None:
    """The ticker's earnings reaction history when the study holds one
    (``study.earnings_history``: one row per ticker and announcement; ``earnings_profile``:
    one row per ticker), quarter by quarter in date order, with its chart and summary."""
    hist = getattr(study, "earnings_history", None)
    if not isinstance(hist, pd.DataFrame) or "ticker" not in hist.columns or not len(hist):
        return None
    rows = T.ticker_rows(hist, ticker)
    if not len(rows):
        return None
    if "date" in rows.columns:
        rows = rows.sort_values("date", kind="stable")
    profile = getattr(study, "earnings_profile", None)
    prof = None
    if isinstance(profile, pd.DataFrame) and "ticker" in profile.columns:
        p = T.ticker_rows(profile, ticker)
        if len(p):
            surprise = pd.to_numeric(
                rows.get("surprise_pct", pd.Series(np.nan, index=rows.index)), errors="coerce"
            )
            ar0 = pd.to_numeric(
                rows.get("ar0", pd.Series(np.nan, index=rows.index)), errors="coerce"
            )
            prof = earnings_profile_sentence(
                _records(p)[0],
                int((surprise > 0).sum()),
                int((surprise < 0).sum()),
                surprises=int(surprise.notna().sum()),
                ups=(int((ar0 > 0).sum()), int(ar0.notna().sum())),
            )
    columns = [
        c for c in EARNINGS_COLUMNS
        if c[0] in rows.columns and (c[0] != "abnormal_volume" or rows[c[0]].notna().any())
    ]  # fmt: skip
    return {
        "columns": columns,
        "rows": [
            {c: earnings_cell(r, c, kind) for c, _, kind in columns}
            | {"_ar0": r.get("ar0"), "_car": r.get("car_m1_p1"), "_drift": r.get("drift_p2_p20")}
            for r in _records(rows)
        ],
        "profile": prof,
        "chart": charts.add(C.earnings_history(rows, ticker), f"earnings-{ticker}"),
    }


def _untraded(table: pd.DataFrame, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of :func:`~backtest.reports.tables.untraded_table` by event: the event's
    row of ``events`` (the page's event table), each strategy's reason for skipping it
    (``skipped``: strategy, reason, combinations) and the strategies that did not select it
    (``unselected``)."""
    by_id = {str(e["event_id"]): e for e in events}
    out: dict[str, dict[str, Any]] = {}
    for r in _records(table):
        item = out.setdefault(
            r["event_id"], {"event": by_id[r["event_id"]], "skipped": [], "unselected": []}
        )
        if r["reason"]:
            item["skipped"].append(r)
        else:
            item["unselected"].append(r["strategy"])
    return list(out.values())


def _ticker_strategies(
    result: Any, ticker: str, charts: Charts, site: Site | None = None
) -> list[dict[str, Any]]:
    out = []
    site = site or site_of(result)
    for r, (by_portfolio, by_trades) in zip(
        result.backtests, site.per_ticker(result.backtests), strict=True
    ):
        rows = by_portfolio.get(ticker)
        if rows is None:
            continue
        trades = by_trades.get(ticker, r.trades.iloc[:0])
        if len(trades):
            trades = trades.sort_values(["entry_date", "combo"])
        shown = _metric_rows(rows)
        out.append(
            {
                "name": r.strategy.name,
                "rows": shown,
                "trade_stats": _with_values(shown, TRADE_STATS),
                "period_stats": _with_values(shown, PERIOD_STATS),
                "chart": charts.add(
                    C.equity_figure(r, ticker, equity=site.equity.get((id(r), ticker))),
                    f"eq-{r.strategy.name}-{ticker}",
                ),
                "trades": _records(trades),
            }
        )
    return out


def _with_values(
    rows: list[dict[str, Any]], stats: Sequence[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """The statistics of ``stats`` some strategy row of ``rows`` has a value for."""
    strat = [r for r in rows if r.get("kind") == "strategy"]

    def has(r: dict[str, Any], c: str) -> bool:
        return any(not _missing(r.get(k)) for k in INTERVALS.get(c, (c,)))

    return [st for st in stats if any(has(r, st[0]) for r in strat)]


def _metric_rows(m: pd.DataFrame) -> list[dict[str, Any]]:
    """A portfolio's strategy rows (one per combination), then its buy-and-hold rows once
    (the same sessions and capital for every combination)."""
    rows = _records(m)  # (plain Python: this runs once per ticker page and strategy)
    strat = sorted((r for r in rows if r["kind"] == "strategy"), key=lambda r: r["combo"])
    hold = [r for r in rows if r["kind"] != "strategy"]
    first = min((r["combo"] for r in hold), default=None)
    return strat + [r for r in hold if r["combo"] == first]


# ------------------------------------------------------------------------------ strategy pages


def render_strategy(result: Any, site: Site, r: Any) -> str:
    charts = Charts()
    s = r.strategy
    ctx = _common(result, site, "../")
    ctx.update(
        name=s.name,
        file=_display_path(s.file, result.config.base),
        description=(s.description or "").strip(),
        settings=r.rules(),
        benchmarks=dict(r.benchmarks),
        data=dict(r.data),
        skipped=listing(_records(T.skipped_table(r)), "reason"),
        ticker_pages=site.tickers,
        trade_stats=[c for c in TRADE_STATS if _any_column([r], c)],
        period_stats=[c for c in PERIOD_STATS if _any_column([r], c)],
    )
    if not len(r.metrics):
        ctx.update(
            empty=True,
            pooled=[],
            per_ticker=listing([]),
            heatmap=None,
            dots=None,
            trades=listing([]),
        )
    else:
        m = metrics_with_trade_stats(r)
        main = r.grid_portfolio()
        names = sorted(
            (p for p in m["portfolio"].unique() if str(p).startswith("pooled")),
            key=lambda p: p != main,
        )
        ctx.update(
            empty=False,
            heatmap=charts.add(C.sweep_heatmap(r, "sharpe"), "sweep"),
            pooled=[
                {
                    "portfolio": p,
                    "rows": _metric_rows(m[m["portfolio"] == p]),
                    "chart": charts.add(C.equity_figure(r, p), f"eq-{p}"),
                }
                for p in names
            ],
            dots=charts.add(C.trade_dots(r), "trades"),
            per_ticker=listing(
                _records(
                    m[
                        (m["kind"] == "strategy")
                        & ~m["portfolio"].astype(str).str.startswith("pooled")
                    ].sort_values(["portfolio", "combo"])
                ),
                limit=MAX_TRADES,
            ),
            trades=listing(
                _records(r.trades.sort_values(["entry_date", "ticker", "combo"])),
                limit=MAX_TRADES,
            ),
        )
    ctx["charts"] = charts.items
    return _render("strategy.html.j2", **ctx)


def _display_path(path: str, base: str) -> str:
    """``path`` relative to ``base`` when it lies inside it (shorter, and machine-neutral)."""
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # another drive (Windows)
        return path
    return path if rel.startswith("..") else rel
