"""``evbt study``: run an event study on the catalog (or an events file) and print the results."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from backtest.cli._options import (
    cache_dir_option,
    catalog_option,
    load_catalog_or_warn,
    prices_dir_option,
)
from backtest.cli._output import emit, format_option, out_option, render_table, to_json
from backtest.text import num, pct

#: spec.MODELS, restated so that building the command does not import the engine
MODEL_CHOICES = ["market", "market_adjusted", "constant_mean", "raw", "factor"]

if TYPE_CHECKING:
    import pandas as pd

    from backtest.study import EventStudyResult


@click.command("study")
@catalog_option
@click.option("--ids", default=None, help="Only these event ids (comma-separated).")
@click.option("--category", "categories", multiple=True, help="Only this category (repeatable).")
@click.option(
    "--events-csv",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Ad-hoc events file (event_id,ticker,date[,timing][,benchmark][,...]) instead "
    "of the catalog.",
)
@click.option(
    "--model",
    type=click.Choice(MODEL_CHOICES),
    default="market",
    show_default=True,
    help="Normal-return model.",
)
@click.option(
    "--factors",
    "factor_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Daily factors in Ken French's CSV format (repeatable, joined on date); "
    "needed by --model factor.",
)
@click.option(
    "--returns", type=click.Choice(["simple", "log"]), default="simple", show_default=True
)
@click.option(
    "--estimation",
    nargs=2,
    type=int,
    default=(-250, -11),
    show_default=True,
    metavar="START END",
    help="Estimation window, trading days relative to day 0.",
)
@click.option(
    "--min-estimation",
    type=int,
    default=120,
    show_default=True,
    help="Minimum valid estimation-window returns.",
)
@click.option(
    "--window",
    "windows",
    multiple=True,
    nargs=2,
    type=int,
    metavar="A B",
    help="Event window (repeatable). Default: [0,0] [-1,+1] [0,+5] [-5,+20].",
)
@click.option(
    "--benchmark",
    default=None,
    help="Benchmark ticker for its market (default SPY for XNYS, ^HSI for XHKG).",
)
@click.option(
    "--group-by",
    "group_by",
    multiple=True,
    help="Group statistics by this event field (repeatable; 'all' is always included). "
    "Default: category and ticker.",
)
@click.option(
    "--no-exclude-confounded",
    is_flag=True,
    help="Keep other events' windows in the estimation window.",
)
@click.option(
    "--max-loss",
    type=float,
    default=0.35,
    show_default=True,
    help="Largest fraction of (event, ticker) rows that may be dropped.",
)
@prices_dir_option
@cache_dir_option
@format_option
@out_option
def study(
    catalog_paths: tuple[Path, ...], ids: str | None, categories: tuple[str, ...],
    events_csv: Path | None, model: str, factor_files: tuple[Path, ...], returns: str,
    estimation: tuple[int, int], min_estimation: int, windows: tuple[tuple[int, int], ...],
    benchmark: str | None, group_by: tuple[str, ...], no_exclude_confounded: bool,
    max_loss: float, prices_dir: Path | None, cache_dir: Path | None, fmt: str, out: Path | None,
) -> None:  # fmt: skip
    """Abnormal returns around events, with CAR/BHAR per window and the group test battery.

    Tests per group: cross-sectional t, Patell Z, Boehmer-Musumeci-Poulsen t, Kolari-Pynnönen
    adjusted BMP, sign, generalized sign, Corrado rank and Wilcoxon signed-rank.
    """
    from backtest.markets import market_of
    from backtest.study import StudySpec, read_factors, run_study
    from backtest.study.spec import DEFAULT_GROUP_BY, DEFAULT_WINDOWS

    spec = StudySpec(
        model=model,  # type: ignore[arg-type]
        returns=returns,  # type: ignore[arg-type]
        estimation=estimation,
        min_estimation=min_estimation,
        windows=tuple(windows) or DEFAULT_WINDOWS,
        benchmarks={market_of(benchmark).code: benchmark} if benchmark else {},
        exclude_confounded=not no_exclude_confounded,
        max_loss=max_loss,
        group_by=("all", *[g for g in group_by if g != "all"]) if group_by else DEFAULT_GROUP_BY,
    )
    table, dropped, context = _events(events_csv, catalog_paths, ids, categories)
    factors = read_factors(factor_files) if factor_files else None
    panel = load_study_prices(table, spec, prices_dir=prices_dir, cache_dir=cache_dir)
    result = run_study(table, panel, spec, factors=factors, dropped=dropped, context=context)
    if fmt == "json":
        doc = result.to_dict()
        doc["prices"] = {
            "provenance": {t: _info(i) for t, i in panel.provenance.items()},
            "failed": {t: f.describe() for t, f in panel.failed.items()},
            "quality": panel.quality.to_frame().to_dict("records"),
        }
        emit(to_json(doc), out)
    elif fmt == "csv":
        buf = io.StringIO()
        frame = result.to_frame()
        frame["day0"] = frame["day0"].dt.date
        frame.to_csv(buf, index=False)
        emit(buf.getvalue(), out)
    else:
        emit(render_study(result, panel), out)


def _info(info: Any) -> dict[str, Any]:
    return {k: str(v) if v is not None else None for k, v in vars(info).items()}


def _events(
    events_csv: Path | None,
    catalog_paths: tuple[Path, ...],
    ids: str | None,
    categories: tuple[str, ...],
) -> tuple[pd.DataFrame, list[Any], Any]:
    """The events to study, rows dropped while reading them, and the whole catalog (context)."""
    from backtest.study.inputs import normalize_event_table, read_events_csv

    if events_csv is not None:
        if catalog_paths or ids or categories:
            raise click.UsageError(
                "--events-csv replaces the catalog: drop --catalog/--ids/--category"
            )
        table, dropped = read_events_csv(events_csv)
        return table, dropped, None
    full = catalog = load_catalog_or_warn(catalog_paths)
    catalog = catalog.filter(
        ids=[i.strip() for i in ids.split(",") if i.strip()] if ids else None,
        categories=categories or None,
    )
    if not len(catalog):
        raise click.UsageError("no event matches the filters")
    table, dropped = normalize_event_table(catalog.to_frame())
    return table, dropped, full


def load_study_prices(
    table: pd.DataFrame, spec: Any, *, prices_dir: Path | None, cache_dir: Path | None
) -> Any:
    """The price panel a study of ``table`` needs (tickers, benchmarks, dates)."""
    from backtest.prices import PriceCache, load_prices
    from backtest.study.inputs import price_needs

    tickers, start, end = price_needs(table, reach=spec.reach, benchmarks=spec.benchmarks)
    cache = PriceCache(cache_dir) if cache_dir else None
    return load_prices(tickers, start, end, prices_dir=prices_dir, cache=cache, progress=True)


# ----------------------------------------------------------------------------- rendering


def _pct(v: Any, digits: int = 2) -> str:
    return pct(v, digits, missing="")


def _num(v: Any) -> str:
    return num(v, missing="")


def render_study(result: EventStudyResult, panel: Any | None = None) -> str:
    """The text report of ``evbt study``: per-event table, group tables, drops, legend."""
    import pandas as pd

    from backtest.study.results import stars
    from backtest.study.spec import window_label

    spec = result.spec
    labels = [window_label(w) for w in spec.windows]
    parts = [result.summary().split("\n\n")[0]]
    if panel is not None and panel.provenance:
        sources = sorted({i.source.split(":")[0] for i in panel.provenance.values()})
        parts[0] += f"\nprice source: {', '.join(sources)}"
    win = result.windows.pivot_table(
        index=["event_id", "ticker"], columns="window", values=["car", "t", "p"], sort=False
    )
    rows = []
    for e in result.events.itertuples(index=False):
        key = (e.event_id, e.ticker)
        marks = (
            ("C", e.confounded),
            ("K", e.clustered),
            ("?", e.timing_unknown),
            ("M", e.model != spec.model),
        )
        flags = "".join(f for f, on in marks if on)
        row: dict[str, Any] = {"event": e.event_id, "ticker": e.ticker, "day 0": str(e.day0.date())}
        for lab in labels:
            car, p = win.at[key, ("car", lab)], win.at[key, ("p", lab)]
            row[f"CAR{lab}"] = f"{_pct(car)}{stars(p)}"
        row[f"t{labels[0]}"] = _num(win.at[key, ("t", labels[0])])
        row["flags"] = flags
        rows.append(row)
    parts.append(render_table(pd.DataFrame(rows), title="Per event (CAR with significance)"))
    for g in spec.group_by:
        table = result.group_table(g, "CAAR")
        if table.empty:
            continue
        grows = []
        for r in table.itertuples(index=False):
            grows.append(
                {
                    g if g != "all" else "group": r.group,
                    "window": r.window,
                    "n": r.n,
                    "CAAR": f"{_pct(r.value)}{stars(r.kp_p if r.n > 1 else r.patell_p)}",
                    "t": _num(r.t),
                    "Patell": _num(r.patell),
                    "BMP": _num(r.bmp),
                    "KP": _num(r.kp),
                    "sign p": _num(r.sign_p),
                    "gen.sign": _num(r.gsign),
                    "rank": _num(r.rank),
                    "Wilcoxon p": _num(r.wilcoxon_p),
                }
            )
        parts.append(render_table(pd.DataFrame(grows), title=f"CAAR by window, grouped by {g}"))
    if len(result.dropped):
        parts.append(render_table(result.dropped, title=f"Dropped ({len(result.dropped)})"))
    if panel is not None and len(panel.failed):
        parts.append("Price failures: " + "; ".join(f.describe() for f in panel.failed.values()))
    parts.append(
        "Stars: * p<0.10, ** p<0.05, *** p<0.01 (single events: t with the residual degrees of "
        "freedom; groups: Kolari-Pynnönen, or Patell for one event).\n"
        "Flags: C confounded (another event of the ticker in its window), K clustered (shares "
        "day 0 with other events), ? timing unknown, M not the study's model (model_reason)."
    )
    return "\n".join(parts) + "\n"
