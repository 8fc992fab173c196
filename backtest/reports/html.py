"""The self-contained HTML report: one file, plotly.js inlined, no external request.

The page is rendered by Jinja2 with autoescaping on: every title, ticker, description and claim
from a catalog file is escaped, so a title such as ``<script>`` shows as text. Figures travel as
JSON in ``<script type="application/json">`` blocks whose ``<``, ``>`` and ``&`` are escaped
(:func:`backtest.reports.charts.figure_json`), and one inline script draws them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import pandas as pd

from backtest.reports import fmt
from backtest.reports import tables as T
from backtest.study.spec import window_label

#: Metrics of the strategy tables, with their headers.
STRATEGY_COLUMNS = (
    ("total_return", "Return"),
    ("cagr", "CAGR"),
    ("annual_volatility", "Volatility"),
    ("sharpe", "Sharpe"),
    ("sortino", "Sortino"),
    ("max_drawdown", "Max DD"),
    ("max_drawdown_duration", "DD length"),
    ("calmar", "Calmar"),
    ("n_trades", "Trades"),
    ("win_rate", "Win rate"),
    ("avg_trade_return", "Avg trade"),
    ("median_trade_return", "Median trade"),
    ("profit_factor", "Profit factor"),
    ("exposure", "Exposure"),
    ("alpha", "Alpha"),
    ("beta", "Beta"),
)

#: The group tests in the category tables: (column, header).
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


class Charts:
    """The page's figures, each with a unique id, as JSON for the page script."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, fig: Any, name: str) -> str | None:
        """Register ``fig`` (None: nothing to draw) and return its element id."""
        if fig is None:
            return None
        from backtest.reports.charts import figure_json

        chart_id = f"chart-{len(self.items) + 1}-{_slug(name)}"
        self.items.append({"id": chart_id, "json": figure_json(fig)})
        return chart_id


def _slug(s: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in s.lower())
    return "-".join(p for p in out.split("-") if p)[:40] or "x"


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
        metric=_metric,
    )
    return env


@functools.lru_cache(maxsize=1)
def _plotly_js() -> str:
    import plotly.offline

    js: str = plotly.offline.get_plotlyjs()
    return js.replace("</script", "<\\/script")


def _metric(value: Any, name: str) -> str:
    from backtest.portfolio.metrics import METRICS, format_metric

    metric = next(m for m in METRICS if m.name == name)
    return format_metric(metric, value)


def _metric_rows(m: pd.DataFrame) -> list[dict[str, Any]]:
    """A portfolio's strategy rows (one per combination), then its buy-and-hold rows once
    (they are the same for every combination: same sessions, same capital)."""
    strat = m[m["kind"] == "strategy"].sort_values("combo")
    hold = m[m["kind"] != "strategy"]
    hold = hold[hold["combo"] == hold["combo"].min()]
    return _records(pd.concat([strat, hold]))


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    if df is None or not len(df):
        return []
    return [dict(r) for r in df.to_dict("records")]


# ---------------------------------------------------------------------------------- context


def build_context(result: Any, files: Sequence[str] = ()) -> dict[str, Any]:
    """Everything the template shows, computed from the run's results (numbers stay numbers;
    the template formats them)."""
    from backtest.reports import charts as C

    charts = Charts()
    study = result.study
    ctx: dict[str, Any] = {
        "config": result.config,
        "config_toml": result.config.to_toml(),
        "meta": result.meta,
        "timings": result.timings,
        "failures": result.failures,
        "files": list(files),
        "n_events": len(result.catalog),
        "strategy_columns": STRATEGY_COLUMNS,
        "tests": TESTS,
        "headline_tests": T.HEADLINE_TESTS,
    }
    # ------------------------------------------------------------------ event study
    if study is not None:
        win = T.main_window(study)
        label = window_label(win)
        events = T.event_table(study)
        ctx.update(
            study=study,
            spec=study.spec,
            window=label,
            windows=[window_label(w) for w in study.spec.windows],
            # AR(0) is its own column (with its t), so CAR[0,0] would repeat it
            car_windows=[window_label(w) for w in study.spec.windows if tuple(w) != (0, 0)],
            n_rows=len(study.events),
            n_dropped=len(study.dropped),
            top=_records(T.top_reactions(study, 6, win)),
            categories=_records(T.category_table(study, win)),
            category_chart=charts.add(C.category_bars(study, win), "categories"),
            category_takeaway=T.category_takeaway(study, win),
        )
        cats = []
        caar = study.group_table("category", "CAAR")
        for cat in ctx["categories"]:
            g = caar[caar["group"] == cat["category"]]
            cats.append(
                {
                    **cat,
                    "chart": charts.add(
                        C.caar_figure(study, "category", cat["category"], win),
                        f"caar-{cat['category']}",
                    ),
                    "tests": _records(g),
                    "notes": sorted({n for s in g["notes"] for n in str(s).split(" | ") if n}),
                }
            )
        ctx["category_sections"] = cats
        tick = T.ticker_table(study, win)
        tickers = []
        for row in _records(tick):
            t = row["ticker"]
            ev = events[events["ticker"] == t].sort_values("day0")
            tickers.append(
                {
                    **row,
                    "events": _records(ev),
                    "chart": charts.add(C.ar_paths(study, t), f"ar-{t}"),
                    "strategies": _ticker_strategies(result, t, charts),
                }
            )
        ctx["tickers"] = tickers
    else:
        ctx.update(study=None, study_error=result.study_error, tickers=[], categories=[], top=[])
    # ------------------------------------------------------------------ strategies
    overview = T.strategy_overview(result.backtests)
    ctx["overview"] = _records(overview)
    ctx["strategy_takeaway"] = T.strategy_takeaway(overview)
    ctx["strategies"] = [_strategy(r, charts, result.config.base) for r in result.backtests]
    ctx["strategy_errors"] = list(result.strategy_errors)
    ctx["strategy_notes"] = list(result.strategy_notes)
    # ------------------------------------------------------------------ claims, drops, data
    claims = result.claims
    ctx["claims"] = _records(claims)
    ctx["claims_chart"] = charts.add(C.claims_figure(claims), "claims") if len(claims) else None
    ctx["claim_counts"] = claims["verdict"].value_counts().to_dict() if len(claims) else {}
    dropped = T.dropped_table(result)
    ctx["dropped"] = _records(dropped)
    ctx["dropped_counts"] = dropped.groupby("part").size().to_dict() if len(dropped) else {}
    q = result.quality
    ctx["quality"] = _records(q)
    ctx["n_warnings"] = int((q["severity"] == "warning").sum()) if len(q) else 0
    ctx["prices"] = _records(result.prices)
    ctx["charts"] = charts.items
    return ctx


def _display_path(path: str, base: str) -> str:
    """``path`` relative to ``base`` when it lies inside it (shorter, and machine-neutral)."""
    import os

    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # another drive (Windows)
        return path
    return path if rel.startswith("..") else rel


def _strategy(r: Any, charts: Charts, result_base: str) -> dict[str, Any]:
    from backtest.reports import charts as C

    s = r.strategy
    out: dict[str, Any] = {
        "name": s.name,
        "file": _display_path(s.file, result_base),
        "description": (s.description or "").strip(),
        "settings": r.rules(),
        "benchmarks": dict(r.benchmarks),
        "data": dict(r.data),
        "skipped": _records(r.skipped_table()),
    }
    if not len(r.metrics):
        out.update(heatmap=None, pooled=[], empty=True)
        return out
    m = r.to_frame()
    out["heatmap"] = charts.add(C.sweep_heatmap(r, "sharpe"), f"sweep-{s.name}")
    pooled = []
    main = r.grid_portfolio()  # the one the heatmap shows comes first
    pooled_names = sorted(p for p in m["portfolio"].unique() if str(p).startswith("pooled"))
    for portfolio in sorted(pooled_names, key=lambda p: p != main):
        rows = m[m["portfolio"] == portfolio]
        pooled.append(
            {
                "portfolio": portfolio,
                "rows": _metric_rows(rows),
                "chart": charts.add(C.equity_figure(r, portfolio), f"eq-{s.name}-{portfolio}"),
            }
        )
    out["pooled"] = pooled
    out["empty"] = False
    return out


def _ticker_strategies(result: Any, ticker: str, charts: Charts) -> list[dict[str, Any]]:
    from backtest.reports import charts as C

    out = []
    for r in result.backtests:
        if not len(r.metrics) or ticker not in set(r.metrics["portfolio"]):
            continue
        m = r.to_frame()
        rows = m[m["portfolio"] == ticker]
        trades = r.trades[r.trades["ticker"] == ticker].sort_values(["entry_date", "combo"])
        out.append(
            {
                "name": r.strategy.name,
                "rows": _metric_rows(rows),
                "chart": charts.add(C.equity_figure(r, ticker), f"eq-{r.strategy.name}-{ticker}"),
                "trades": _records(trades),
            }
        )
    return out


def render_html(result: Any, files: Sequence[str] = ()) -> str:
    """The report page for ``result``; ``files`` are the report's other files (linked)."""
    import json

    from backtest.reports.charts import PLOTLY_CONFIG

    ctx = build_context(result, files)
    template = _environment().get_template("report.html.j2")
    return str(
        template.render(**ctx, plotly_js=_plotly_js(), plotly_config=json.dumps(PLOTLY_CONFIG))
    )
