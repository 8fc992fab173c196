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
from backtest.study.spec import window_label
from backtest.text import finite

#: Where the page's one copy of plotly.js lives, relative to the report folder.
PLOTLY_ASSET = "assets/plotly.min.js"

#: Honest per-trade statistics of a strategy, rendered when the backtest's metrics hold them
#: (the portfolio's wave-1 columns): (column, header, format).
TRADE_STATS: tuple[tuple[str, str, str], ...] = (
    ("n_trades", "Trades", "int"),
    ("avg_trade_return", "Mean trade", "pct"),
    ("median_trade_return", "Median trade", "pct"),
    ("trade_t", "t (mean trade)", "num"),
    ("trade_ci", "95% interval (bootstrap)", "interval"),
    ("excess_trade_return", "Mean trade beyond benchmark", "pct"),
    ("excess_trade_ci", "95% interval", "interval"),
    ("invested_return", "Return while invested", "pct"),
    ("exposure", "Exposure", "share"),
    ("win_rate", "Win rate", "share"),
    ("profit_factor", "Profit factor", "profit_factor"),
)
#: The whole-period figures of a portfolio: (column, header, format).
PERIOD_STATS: tuple[tuple[str, str, str], ...] = (
    ("total_return", "Total return", "pct"),
    ("matched_bench_return", "Benchmark at the same exposure", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("max_drawdown", "Max drawdown", "drawdown"),
    ("alpha", "Alpha (annual)", "pct"),
    ("beta", "Beta", "num"),
)
#: Intervals: column -> its (low, high) columns.
INTERVALS = {
    "trade_ci": ("trade_ci_lo", "trade_ci_hi"),
    "excess_trade_ci": ("excess_ci_lo", "excess_ci_hi"),
}
#: Fewer trades than this are too few to judge (the same rule as the charts).
MIN_TRADES = C.MIN_TRADES
#: Fewer observations than this make a category's average noisy (a caveat on the first screen).
FEW_EVENTS = 10


# ---------------------------------------------------------------------------------- charts


@dataclass
class Charts:
    """The figures of one page: each with a unique element id, its caption and its JSON."""

    prefix: str = "chart"
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, fig: C.Figure | None, name: str) -> dict[str, Any] | None:
        """Register ``fig`` (None: nothing to draw); returns what the template needs."""
        if fig is None:
            return None
        body, title, subtitle = C.caption(fig)
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
    )
    return env


def stat_cell(row: dict[str, Any], column: str, kind: str) -> str:
    """One strategy statistic as text: percent, number, count, an interval ``lo to hi``, a
    drawdown with its dates, or a profit factor ("no losing trades" rather than infinity)."""
    if kind == "interval":
        lo, hi = (row.get(c) for c in INTERVALS[column])
        return fmt.DASH if finite(lo) is None else f"{fmt.pct(lo)} to {fmt.pct(hi)}"
    v = row.get(column)
    if kind == "int":
        return fmt.integer(v)
    if kind == "num":
        return fmt.num(v)
    if kind == "profit_factor":
        x = _num(v)
        if x is not None and math.isinf(x):
            return "no losing trades" if x > 0 else fmt.DASH
        return fmt.num(v)
    if kind == "drawdown":
        x = finite(v)
        if x is None:
            return fmt.DASH
        if x == 0:
            return "none"
        peak, end = row.get("max_drawdown_peak"), row.get("max_drawdown_recovery")
        until = "not recovered" if end is None or pd.isna(end) else fmt.day(end)
        return f"{fmt.pct(x)} ({fmt.day(peak)} to {until})"
    if kind == "share":
        return fmt.pct(v, signed=False)
    return fmt.pct(v)


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


@functools.lru_cache(maxsize=1)
def _style() -> str:
    from importlib import resources

    return (resources.files("backtest.reports") / "templates" / "report.css").read_text("utf-8")


def _render(template: str, **ctx: Any) -> str:
    return str(
        _environment()
        .get_template(template)
        .render(**ctx, css=_style(), plotly_config=json.dumps(C.PLOTLY_CONFIG))
    )


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    if df is None or not len(df):
        return []
    return [dict(r) for r in df.to_dict("records")]


# ---------------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class Site:
    """The pages of one report, the links between them (paths relative to the folder) and the
    run's counts (the same on every page)."""

    tickers: dict[str, str]
    strategies: dict[str, str]
    counts: dict[str, Any]


def site_of(result: Any) -> Site:
    study = result.study
    tickers = sorted({str(t) for t in study.events["ticker"]}) if study is not None else []
    traded = [str(t) for r in result.backtests for t in r.trades.get("ticker", [])]
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
            categories=_records(cats),
            category_takeaway=T.category_takeaway(study, win),
            q1=charts.add(C.category_forest(cats, win), "categories"),
            top=_records(top),
            q2=charts.add(C.top_reactions(top, win), "strongest"),
            top_takeaway=_top_takeaway(top, label),
            caar_chart=charts.add(C.caar_panels(study, win), "caar-paths"),
            dots_chart=charts.add(C.car_dots(study, win), "car-dots"),
            tests=_test_battery(study, cats),
            tickers=_ticker_rows(study, win, site),
            market=_market_events(study, win),
            caveats=_caveats(result, cats),
        )
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
    ctx["overview"] = _overview(result.backtests, site)
    ctx["trade_stats"] = [c for c in TRADE_STATS if _any_column(result.backtests, c)]
    ctx["period_stats"] = [c for c in PERIOD_STATS if _any_column(result.backtests, c)]
    ctx["strategy_errors"] = list(result.strategy_errors)
    ctx["strategy_notes"] = list(result.strategy_notes)
    claims = result.claims
    ctx["claims"] = _records(claims)
    ctx["claims_chart"] = charts.add(C.claims_figure(claims), "claims") if len(claims) else None
    ctx["claim_counts"] = claims["verdict"].value_counts().to_dict() if len(claims) else {}
    ctx["left_out"] = _left_out(result)
    ctx["quality"] = _records(result.quality)
    ctx["n_warnings"] = (
        int((result.quality["severity"] == "warning").sum()) if len(result.quality) else 0
    )
    ctx["prices"] = [{**p, "as_of": data_as_of(p)} for p in _records(result.prices)]
    ctx["charts"] = charts.items
    return _render("index.html.j2", **ctx)


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


def _ticker_rows(study: Any, win: Any, site: Site) -> list[dict[str, Any]]:
    return [
        {**r, "page": site.tickers.get(str(r["ticker"]))}
        for r in _records(T.ticker_table(study, win))
    ]


def _market_events(study: Any, win: Any) -> dict[str, Any] | None:
    """Market-wide (scope market) events: each ticker's reaction and the model it was measured
    with, and the index's own moves when the study measured them (``market_events``)."""
    ev = T.event_table(study)
    if "scope" not in ev.columns:
        return None
    rows = ev[ev["scope"] == "market"]
    if not len(rows):
        return None
    label = window_label(win)
    index_moves = getattr(study, "market_events", None)
    return {
        "rows": _records(rows.sort_values(["day0", "event_id", "ticker"])),
        "index": _records(index_moves) if isinstance(index_moves, pd.DataFrame) else [],
        "index_columns": list(index_moves.columns) if isinstance(index_moves, pd.DataFrame) else [],
        "window": label,
        "models": sorted({str(m) for m in rows.get("model", pd.Series(dtype=str)).dropna()}),
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
            f"Overlapping events: {merged} catalog rows repeat news already counted for the "
            "same ticker (their windows overlap) and are counted once."
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


def _strategy_metrics(r: Any) -> pd.DataFrame:
    """The strategy rows of the main pooled portfolio, one per combination, with labels."""
    if not len(r.metrics):
        return pd.DataFrame()
    m = r.to_frame()
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
        excess = "excess_trade_return" in m.columns and m["excess_trade_return"].notna().any()
        value, (lo, hi) = (
            ("excess_trade_return", INTERVALS["excess_trade_ci"])
            if excess
            else ("avg_trade_return", INTERVALS["trade_ci"])
        )
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
    return any(len(r.metrics) and set(names) <= set(r.metrics.columns) for r in backtests)


def _overview(backtests: Sequence[Any], site: Site) -> list[dict[str, Any]]:
    """One row per strategy (its main pooled portfolio over the whole grid): the range over
    the combinations (never the best one alone), and buy-and-hold over the same sessions."""
    ov = T.strategy_overview(backtests)
    out = []
    for row, r in zip(_records(ov), backtests, strict=True):
        m = _strategy_metrics(r)
        row["page"] = site.strategies[r.strategy.name]
        row["ranges"] = {
            c: (v.min(), v.max())
            for c, _, _ in (*TRADE_STATS, *PERIOD_STATS)
            if c in m
            for v in (_as_numbers(m[c]),)
        }
        row["few"] = (not len(m)) or float(m["n_trades"].max()) < MIN_TRADES
        out.append(row)
    return out


def _as_numbers(values: pd.Series) -> pd.Series:
    """A metric column as numbers: a profit factor's "no losing trades" is +inf (shown in
    words again by :func:`stat_cell`), any other word is missing."""
    if values.dtype != object and not pd.api.types.is_string_dtype(values):
        return values
    words = values.map(lambda v: math.inf if v == "no losing trades" else v)
    return pd.to_numeric(words, errors="coerce")


def _left_out(result: Any) -> dict[str, Any]:
    """What the run left out, by kind, each counted on its own."""
    study = result.study
    dropped = _records(study.dropped) if study is not None else []
    skipped = []
    for r in result.backtests:
        for k in _records(r.skipped_table()):
            skipped.append({"strategy": r.strategy.name, **k})
    cp = result.catalog_problems
    failed = (
        result.prices[result.prices["status"] == "failed"] if len(result.prices) else result.prices
    )
    return {
        "dropped": dropped,
        "skipped": skipped,
        "catalog": _records(cp),
        "prices": _records(failed),
        "files": [
            {"file": f, "message": m} for f, m in (*result.strategy_errors, *result.strategy_notes)
        ],
    }


# ------------------------------------------------------------------------------ ticker pages


def render_ticker(result: Any, site: Site, ticker: str) -> str:
    charts = Charts()
    study = result.study
    ctx = _common(result, site, "../")
    ctx.update(ticker=ticker, strategy_pages=site.strategies, study=study)
    if study is not None:
        win = T.main_window(study)
        ev = T.event_table(study)
        events = ev[ev["ticker"].astype(str) == ticker].sort_values("day0")
        row = T.ticker_table(study, win)
        row = row[row["ticker"].astype(str) == ticker]
        ctx.update(
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
        )
    ctx["strategies"] = _ticker_strategies(result, ticker, charts)
    ctx["trade_stats"] = [c for c in TRADE_STATS if _any_column(result.backtests, c)]
    ctx["period_stats"] = [c for c in PERIOD_STATS if _any_column(result.backtests, c)]
    ctx["charts"] = charts.items
    return _render("ticker.html.j2", **ctx)


def _earnings(study: Any, ticker: str, charts: Charts) -> dict[str, Any] | None:
    """The ticker's earnings reaction history when the study holds one (``earnings_history``:
    one row per ticker and quarter)."""
    hist = getattr(study, "earnings_history", None)
    if not isinstance(hist, pd.DataFrame) or "ticker" not in hist.columns:
        return None
    rows = hist[hist["ticker"].astype(str) == ticker]
    if not len(rows):
        return None
    profile = getattr(study, "earnings_profile", None)
    prof = None
    if isinstance(profile, pd.DataFrame) and "ticker" in profile.columns:
        p = profile[profile["ticker"].astype(str) == ticker]
        prof = _records(p)[0] if len(p) else None
    return {
        "columns": [c for c in rows.columns if c != "ticker"],
        "rows": _records(rows),
        "profile": prof,
        "chart": charts.add(C.earnings_history(rows, ticker), f"earnings-{ticker}"),
    }


def _ticker_strategies(result: Any, ticker: str, charts: Charts) -> list[dict[str, Any]]:
    out = []
    for r in result.backtests:
        if not len(r.metrics) or ticker not in set(r.metrics["portfolio"].astype(str)):
            continue
        m = r.to_frame()
        rows = m[(m["portfolio"].astype(str) == ticker)]
        trades = r.trades[r.trades["ticker"].astype(str) == ticker].sort_values(
            ["entry_date", "combo"]
        )
        out.append(
            {
                "name": r.strategy.name,
                "rows": _metric_rows(rows),
                "chart": charts.add(C.equity_figure(r, ticker), f"eq-{r.strategy.name}-{ticker}"),
                "trades": _records(trades),
            }
        )
    return out


def _metric_rows(m: pd.DataFrame) -> list[dict[str, Any]]:
    """A portfolio's strategy rows (one per combination), then its buy-and-hold rows once
    (the same sessions and capital for every combination)."""
    strat = m[m["kind"] == "strategy"].sort_values("combo")
    hold = m[m["kind"] != "strategy"]
    hold = hold[hold["combo"] == hold["combo"].min()]
    return _records(pd.concat([strat, hold]))


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
        skipped=_records(r.skipped_table()),
        ticker_pages=site.tickers,
        trade_stats=[c for c in TRADE_STATS if _any_column([r], c)],
        period_stats=[c for c in PERIOD_STATS if _any_column([r], c)],
    )
    if not len(r.metrics):
        ctx.update(empty=True, pooled=[], per_ticker=[], heatmap=None, dots=None, trades=[])
    else:
        m = r.to_frame()
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
            per_ticker=_records(
                m[
                    (m["kind"] == "strategy") & ~m["portfolio"].astype(str).str.startswith("pooled")
                ].sort_values(["portfolio", "combo"])
            ),
            trades=_records(r.trades.sort_values(["entry_date", "ticker", "combo"])),
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
