"""``evbt study``: run an event study on the catalog (or an events file) and print the results.

The study's options are generated from :class:`~backtest.study.StudySpec`
(:mod:`backtest.cli._spec_options`); the text printed is the result's own summary.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from backtest.cli._options import (
    cache_dir_option,
    catalog_option,
    check_categories,
    confounders_option,
    event_end_option,
    event_start_option,
    prices_dir_option,
    quiet_option,
    warn_confounder_problems,
)
from backtest.cli._output import emit, format_option, out_option, to_json
from backtest.cli._spec_options import spec_from_options, study_spec_options

if TYPE_CHECKING:
    import pandas as pd


@click.command("study")
@catalog_option
@click.option("--ids", default=None, help="Only these event ids (comma-separated).")
@click.option("--category", "categories", multiple=True, help="Only this category (repeatable).")
@click.option(
    "--ticker",
    "tickers",
    multiple=True,
    help="Only this ticker's rows of the events listing it (repeatable); the events' other "
    "tickers stay context.",
)
@event_start_option
@event_end_option
@click.option(
    "--events-csv",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Ad-hoc events file (event_id,ticker,date[,timing][,benchmark][,...]) instead "
    "of the catalog.",
)
@confounders_option
@click.option(
    "--factors",
    "factor_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Daily factors in Ken French's CSV format (repeatable, joined on date); "
    "needed by --model factor.",
)
@study_spec_options
@prices_dir_option
@cache_dir_option
@format_option
@out_option
@quiet_option
def study(
    catalog_paths: tuple[Path, ...],
    ids: str | None,
    categories: tuple[str, ...],
    tickers: tuple[str, ...],
    start: dt.datetime | None,
    end: dt.datetime | None,
    events_csv: Path | None,
    confounder_paths: tuple[Path, ...],
    factor_files: tuple[Path, ...],
    prices_dir: Path | None,
    cache_dir: Path | None,
    fmt: str,
    out: Path | None,
    quiet: bool,
    **spec_options: Any,
) -> None:
    """Abnormal returns around events, with CAR/BHAR per window and the group test battery.

    Tests per group: cross-sectional t, Patell Z, Boehmer-Musumeci-Poulsen t, Kolari-Pynnönen
    adjusted BMP, sign, generalized sign, Corrado rank and Wilcoxon signed-rank. Confounding
    and the estimation windows use every event of the catalog loaded (and --confounders),
    whatever the filters select. --group-by replaces the default groupings; 'all' is always
    included.
    """
    from backtest.cli._env import cache_dir as default_cache_dir
    from backtest.cli._env import open_price_source
    from backtest.job.progress import Steps
    from backtest.study import FactorFileError, FactorScaleError, read_factors, run_study

    if spec_options["spec_group_by"] and "all" not in spec_options["spec_group_by"]:
        spec_options["spec_group_by"] = ("all", *spec_options["spec_group_by"])
    from backtest.study.attributes import binning_problems

    # listed with the options' own, before the catalog: a binning that cannot be read (as the
    # run's [study] group_by, without the events' columns), the factor files
    problems = [("--group-by", m) for m in binning_problems(spec_options["spec_group_by"])]
    factors = None
    if spec_options["spec_model"] == "factor" and not factor_files:
        problems.append(
            ("--factors", "--model factor needs --factors FILE (Ken French's daily CSV format)")
        )
    elif factor_files:
        try:
            factors = read_factors(factor_files)
        except (FactorFileError, FactorScaleError) as exc:
            problems.append(("--factors", str(exc)))
    # every option problem at once, each named by its option (the windows against the limits
    # too: --max-offset and --max-windows, whose defaults are [limits]' sessions and windows)
    spec = spec_from_options(spec_options, problems=problems)
    from backtest.cli._env import catalog_paths as resolve_catalog_paths
    from backtest.cli._outdir import check_not_input

    check_not_input(out, [*resolve_catalog_paths(catalog_paths), events_csv, *confounder_paths,
                          *factor_files, prices_dir or default_cache_dir(cache_dir)])  # fmt: skip
    source = open_price_source(prices_dir=prices_dir, cache_dir=default_cache_dir(cache_dir))
    with Steps(enabled=not quiet, transient=True) as steps:
        with steps.step("events"):
            table, dropped, context, left_out = _events(
                events_csv, catalog_paths, confounder_paths,
                ids=ids, categories=categories, tickers=tickers, start=start, end=end,
            )  # fmt: skip
        with steps.step("prices"):
            panel = load_study_prices(table, spec, source=source)
        with steps.step("event study") as update:
            result = run_study(
                table, panel, spec, factors=factors, dropped=dropped, context=context,
                progress=update, stage=update.stage,
            )  # fmt: skip
    if fmt == "json":
        doc = result.to_dict()
        doc["prices"] = {
            "provenance": {t: _info(i) for t, i in panel.provenance.items()},
            "failed": {t: f.describe() for t, f in panel.failed.items()},
            "quality": panel.quality.to_frame().to_dict("records"),
        }
        # the catalog entries and confounder rows left out, as `evbt events validate` finds
        doc["left_out"] = [
            {"file": str(p.file), "line": p.line, "entry": p.entry, "field": p.field,
             "message": p.message}
            for p in left_out
        ]  # fmt: skip
        emit(to_json(doc), out, quiet=quiet)
    elif fmt == "csv":
        buf = io.StringIO()
        frame = result.to_frame()
        frame["day0"] = frame["day0"].dt.date
        frame.to_csv(buf, index=False)
        emit(buf.getvalue(), out, quiet=quiet)
    else:
        emit(_text(result, panel), out, quiet=quiet)


def _text(result: Any, panel: Any) -> str:
    """The study's own summary, then where the prices came from and what could not be had."""
    parts = [str(result.summary()).rstrip("\n")]
    if panel.provenance:
        sources = sorted({i.source.split(":")[0] for i in panel.provenance.values()})
        parts.append(f"price source: {', '.join(sources)}")
    if len(panel.failed):
        parts.append("Price failures: " + "; ".join(f.describe() for f in panel.failed.values()))
    from backtest.cli._price_notes import measured_warnings

    parts.extend(p for p in [measured_warnings(result, panel)] if p)
    return "\n\n".join(parts) + "\n"


def _info(info: Any) -> dict[str, Any]:
    """A ticker's provenance as JSON values: ISO dates and times, ``rows`` a number,
    ``covered`` a list of ``[first, last]`` date pairs (its own ``to_dict``)."""
    if hasattr(info, "to_dict"):
        return dict(info.to_dict())
    return {k: str(v) if v is not None else None for k, v in vars(info).items()}


def _events(
    events_csv: Path | None,
    catalog_paths: tuple[Path, ...],
    confounder_paths: tuple[Path, ...],
    *,
    ids: str | None,
    categories: tuple[str, ...],
    tickers: tuple[str, ...],
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> tuple[pd.DataFrame, list[Any], Any, list[Any]]:
    """The events to study, rows dropped while reading them, every event the study knows
    (the whole catalog loaded and the confounders: its context), and the problems of the
    catalog entries and confounder rows left out (each said on standard error)."""
    from backtest.cli._options import load_catalog_or_warn
    from backtest.study.inputs import (
        context_with_confounders,
        normalize_event_table,
        read_events_csv,
    )

    confounders, left_out = _confounders(confounder_paths)
    if events_csv is not None:
        if catalog_paths or ids or categories or tickers or start or end:
            raise click.UsageError(
                "--events-csv replaces the catalog: drop --catalog/--ids/--category/--ticker/"
                "--start/--end"
            )
        table, dropped = read_events_csv(events_csv)
        return table, dropped, context_with_confounders(table, confounders), left_out
    full = load_catalog_or_warn(catalog_paths)
    if not len(full):  # not a matter of filters: there is nothing to filter
        left = " (every entry was left out: see `evbt events validate`)" if full.problems else ""
        raise click.UsageError(f"the catalog holds no event{left}")
    check_categories(full, categories)
    asked = [i.strip() for i in ids.split(",") if i.strip()] if ids else None
    catalog = full.filter(
        ids=_held(asked, full) if asked else None,
        categories=categories or None,
        tickers=tickers or None,
        start=start.date() if start else None,
        end=end.date() if end else None,
    )
    if not len(catalog):
        raise click.UsageError("no event matches the filters")
    frame = catalog.to_frame()
    if tickers:  # only the rows of the tickers asked for; the events' other tickers stay context
        wanted = {t.upper() for t in tickers}
        frame = frame[frame["ticker"].astype(str).str.upper().isin(wanted)]
    table, dropped = normalize_event_table(frame)
    # a confounder with the ticker and day 0 of a catalog event is that event (whatever the
    # filters select: an event is measured the same way whatever else is studied)
    left_out = [*full.problems, *left_out]
    return table, dropped, context_with_confounders(full, confounders), left_out


def _held(ids: list[str], catalog: Any) -> list[str]:
    """``ids`` less those of entries the catalog left out, each said on standard error with
    its problem (a bad entry never stops the others); an id the catalog never had stays, for
    :meth:`~backtest.catalog.Catalog.filter` to refuse with the closest ids."""
    held = set(catalog.ids)
    left = {p.entry: p for p in catalog.problems if p.entry and p.entry not in held}
    for i in ids:
        if i in left:
            click.echo(f"evbt: warning: --ids {i}: left out of the catalog: {left[i]}", err=True)
    kept = [i for i in ids if i not in left]
    if not kept:
        raise click.UsageError("every event of --ids was left out of the catalog (see above)")
    return kept


def _confounders(paths: tuple[Path, ...]) -> tuple[pd.DataFrame | None, list[Any]]:
    """The confounder events of ``--confounders`` (``None`` without any) and the problems of
    the rows left out, each said on standard error (a bad row never stops the others)."""
    from backtest.job.runner import load_confounder_events

    if not paths:
        return None, []
    frame = load_confounder_events(paths)
    problems = list(frame.attrs.get("problems", ()))
    warn_confounder_problems(problems, more='--format json lists them all, under "left_out"')
    return frame, problems


def load_study_prices(table: pd.DataFrame, spec: Any, *, source: Any) -> Any:
    """The price panel a study of ``table`` needs (tickers, benchmarks, dates)."""
    from backtest.prices import load_prices
    from backtest.study.inputs import price_needs

    tickers, start, end = price_needs(table, reach=spec.reach, benchmarks=spec.benchmarks)
    return load_prices(tickers, start, end, source=source)
