"""``summary.md``: the report's one-screen summary as Markdown (for a README, a pull request, a
chat message), with the same numbers as the HTML page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backtest.reports import fmt
from backtest.reports import tables as T
from backtest.study.results import models_text
from backtest.study.spec import window_label
from backtest.summary import md_escape
from backtest.text import counted


def _cell(s: Any) -> str:
    """Text safe inside a Markdown table cell: no table break, link, image or raw HTML."""
    return md_escape(str(s))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int]) -> str:
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def render_markdown(result: Any, files: Sequence[str] = ()) -> str:
    """The summary page for ``result``."""
    c = result.config
    m = result.meta
    study = result.study
    parts = [
        f"# evbt report: {c.name}",
        "",
        f"{len(result.catalog)} catalog events; prices {m.get('data_first')} to "
        f"{m.get('data_last')}; generated {fmt.when(m.get('finished'))}. "
        "The full report with charts is `index.html` in this folder.",
    ]
    if result.failures:
        parts += ["", "**Parts of this run failed:**", ""]
        parts += [f"- {md_escape(f)}" for f in result.failures]
    if getattr(result, "notes", ()):
        parts += ["", "**About this run:**", ""]
        parts += [f"- {md_escape(n)}" for n in result.notes]
    if study is not None:
        win = T.main_window(study)
        label = window_label(win)
        parts += [
            "",
            f"{len(study.events)} event-ticker reactions measured ({models_text(study)}); "
            f"{len(study.dropped)} study rows dropped (see `tables/dropped.csv`).",
            "",
            f"## Which kinds of news move prices (CAAR{label})",
            "",
        ]
        cats = T.category_overview(result, win)
        parts += [md_escape(T.category_takeaway(study, win)), ""]
        parts.append(
            _table(
                ["kind of news", "n", f"CAAR{label}", "95% interval", "test", "statistic", "p",
                 "measured", "dropped"],
                [
                    [
                        r.category.replace("_", " "),
                        r.n,
                        fmt.pct(r.caar) + fmt.stars(r.p),
                        fmt.interval(r.lo, r.hi) + (" †" if fmt.unbounded(r.lo, r.hi) else ""),
                        r.test or fmt.DASH,
                        fmt.num(r.stat),
                        fmt.pval(r.p),
                        r.measured,
                        r.dropped,
                    ]
                    for r in cats.itertuples(index=False)
                ],
                right=[1, 2, 3, 5, 6, 7, 8],
            )
        )  # fmt: skip
        parts += [
            "",
            "n: observations (rows of one ticker whose windows overlap count once); measured "
            "and dropped: the event-ticker rows the study measured and left out "
            "(`tables/dropped.csv` has the reason for each).",
        ]
        if any(fmt.unbounded(r.lo, r.hi) for r in cats.itertuples(index=False)):
            parts += ["", f"† {md_escape(fmt.NOT_BOUNDED_NOTE)}"]
        parts += ["", f"## Strongest reactions (CAR{label})", ""]
        top = T.top_reactions(study, 6, win)
        parts.append(
            _table(
                ["event", "ticker", "day 0", f"CAR{label}", "t"],
                [
                    [
                        r.title,
                        r.ticker,
                        fmt.day(r.day0),
                        fmt.pct(r.car),
                        fmt.num(r.t) + fmt.stars(r.p),
                    ]
                    for r in top.itertuples(index=False)
                ],
                right=[3, 4],
            )
        )
    else:
        parts += ["", f"The event study could not run: {md_escape(result.study_error)}"]
    ov = T.strategy_overview(result.backtests)
    if len(ov) and "portfolio" in ov.columns:
        parts += ["", "## Strategies against buy-and-hold", "", T.strategy_takeaway(ov), ""]
        rows = []
        for r in ov.itertuples(index=False):
            if not r.portfolio:  # the strategy traded nothing
                rows.append([r.strategy, fmt.DASH, r.combinations, "0", "no trade", fmt.DASH,
                             fmt.DASH])  # fmt: skip
                continue
            ret = (
                f"{fmt.pct(r.return_min)} to {fmt.pct(r.return_max)}"
                if r.combinations > 1
                else fmt.pct(r.return_max)
            )
            sharpe = (
                f"{fmt.num(r.sharpe_min)} to {fmt.num(r.sharpe_max)}"
                if r.combinations > 1
                else fmt.num(r.sharpe_max)
            )
            rows.append(
                [
                    r.strategy,
                    r.portfolio,
                    r.combinations,
                    fmt.integer(r.trades),
                    ret,
                    sharpe,
                    f"{r.benchmark} {fmt.pct(r.benchmark_return)} "
                    f"(Sharpe {fmt.num(r.benchmark_sharpe)})",
                ]
            )
        parts.append(
            _table(
                ["strategy", "portfolio", "combinations", "trades", "total return", "Sharpe",
                 "benchmark buy & hold"],
                rows,
                right=[2, 3, 4, 5],
            )
        )  # fmt: skip
        parts += [
            "",
            "For a sweep, the range over all parameter combinations is shown, not the best one.",
        ]
    if result.strategy_notes:  # not a failure (e.g. the events lack an attribute it needs)
        parts += ["", "Strategies not run:", ""] + [
            f"- `{Path(f).name}`: {md_escape(m.removeprefix('not run: '))}"
            for f, m in result.strategy_notes
        ]
    claims = result.claims
    if len(claims):
        counts = claims["verdict"].value_counts()
        parts += [
            "",
            "## Claims beside the data",
            "",
            f"Of {len(claims)} claims: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".",
            "",
        ]
        parts.append(
            _table(
                ["ticker", "measure", "session", "claimed", "measured", "verdict"],
                [
                    [
                        r.ticker,
                        fmt.measure_label(r.measure),
                        fmt.day(r.date),
                        fmt.claimed(r.claimed, r.measure, r.direction),
                        fmt.pct(r.measured),
                        r.verdict,
                    ]
                    for r in claims.itertuples(index=False)
                ],
                right=[3, 4],
            )
        )  # fmt: skip
    counts = T.counts(result)
    n_warn = int((result.quality["severity"] == "warning").sum()) if len(result.quality) else 0
    parts += [
        "",
        "## Left out and data quality",
        "",
        f"{counts['dropped'] or 0} study rows dropped; {counts['skipped_trades']} events "
        f"selected by a strategy but not traded; "
        f"{counted(counts['catalog_entries'], 'catalog entry', 'catalog entries')}"
        f" ({counted(counts['catalog_problems'], 'problem')}) and "
        f"{counted(counts['prices_failed'], 'ticker')} left out (`tables/dropped.csv`, with the "
        f"reason for each). {len(result.quality)} price-data findings, {n_warn} of them warnings "
        "(`tables/quality.csv`).",
    ]
    if files:
        parts += ["", "## Files", ""] + [f"- `{f}`" for f in files]
    return "\n".join(parts).rstrip() + "\n"
