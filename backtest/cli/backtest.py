"""``evbt backtest``: run strategy files on the catalog's events."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import click

from backtest.cli._options import (
    cache_dir_option,
    catalog_option,
    confounders_option,
    load_catalog_or_warn,
    prices_dir_option,
    quiet_option,
)
from backtest.cli._output import emit, format_option, out_option, to_json

#: Where the summary and the CSV note send a command-line user for what they leave out (the
#: library's own words name the result's attributes, which a command-line user cannot see).
MORE_SKIPPED = 'run again with --format json to list them all, under "skipped"'
MORE_COMBOS = "in the output of --format csv or --format json"


@click.command("backtest")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@catalog_option
@confounders_option
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A run configuration (TOML) whose [limits] apply (combinations, sessions, also to "
    "the conditions' event study); the rest is not used, and is checked only for its fields "
    "and their types.",
)
@prices_dir_option
@cache_dir_option
@format_option
@out_option
@quiet_option
def backtest(
    files: tuple[Path, ...],
    catalog_paths: tuple[Path, ...],
    confounder_paths: tuple[Path, ...],
    config_path: Path | None,
    prices_dir: Path | None,
    cache_dir: Path | None,
    fmt: str,
    out: Path | None,
    quiet: bool,
) -> None:
    """Backtest event-driven strategies (default: every file in strategies/).

    Each strategy runs per ticker and pooled (shared cash), against buy-and-hold of the ticker
    and of the benchmark, over its whole parameter grid. A strategy's [condition] reads the
    command's own event study of the events the strategies trade, with `evbt study`'s
    default settings and every event of the catalog loaded (and --confounders) as its
    context, so a condition's abnormal return is the one `evbt study` reports. A bad strategy
    file is reported and the others still run; the exit code is then 1.
    """
    from backtest.cli._env import cache_dir as default_cache_dir
    from backtest.cli._env import open_price_source, strategy_paths
    from backtest.errors import EvbtError
    from backtest.job import load_config
    from backtest.job.config import offset_problems
    from backtest.job.progress import Steps
    from backtest.portfolio import load_strategy, run_strategy, strategy_files

    # only the [limits] are used: the [study] settings are checked for their types only
    limits = load_config(config_path, base=Path.cwd(), check_study=False).strategy_limits()
    # what the conditions' event study reads, within [limits] sessions as the strategies are
    beyond = offset_problems(_conditions_spec(), limits.max_sessions)
    from backtest.cli._env import catalog_paths as resolve_catalog_paths
    from backtest.cli._outdir import check_not_input

    check_not_input(out, [*strategy_paths(files), *resolve_catalog_paths(catalog_paths),
                          *confounder_paths, config_path,
                          prices_dir or default_cache_dir(cache_dir)])  # fmt: skip
    paths = strategy_files(strategy_paths(files))
    strategies: list[Any] = []
    failures = 0
    for path in paths:  # every file checked before anything is loaded or computed
        try:
            strategy = load_strategy(path, limits=limits)
        except EvbtError as exc:
            failures += 1
            click.echo(f"evbt: error: {exc}", err=True)
            continue
        if strategy.condition is not None and beyond:
            failures += 1
            for name, message in beyond:
                click.echo(
                    f"evbt: error: {path}: field condition: the conditions' event study's "
                    f"{name}: {message}",
                    err=True,
                )
            continue
        strategies.append(strategy)
    source = open_price_source(prices_dir=prices_dir, cache_dir=default_cache_dir(cache_dir))
    results: list[Any] = []
    with Steps(enabled=not quiet, transient=fmt == "table" and out is None) as steps:
        with steps.step("catalog"):
            catalog = load_catalog_or_warn(catalog_paths)
            context = _context(catalog, confounder_paths)
        conditioned = [s for s in strategies if s.condition is not None]
        study = None
        if conditioned:
            with steps.step("event study (conditions)") as update:
                study = _study(conditioned, catalog, context, source, update)
        for strategy in strategies:
            with steps.step(f"backtest {strategy.name}") as update:
                try:
                    results.append(
                        run_strategy(
                            strategy,
                            catalog,
                            source=source,
                            study=study,
                            context=context,
                            progress=update,
                        )
                    )
                except EvbtError as exc:
                    failures += 1
                    click.echo(f"evbt: error: {exc}", err=True)
    if fmt == "json":
        emit(to_json([r.to_dict() for r in results]), out, quiet=quiet)
    elif fmt == "csv":
        import pandas as pd

        frames = [r.to_frame().assign(strategy=r.strategy.name) for r in results]
        buf = io.StringIO()
        if frames:
            traded = [f for f in frames if len(f)] or frames[:1]  # no trade: the header only
            pd.concat(traded, ignore_index=True).to_csv(buf, index=False)
        emit(buf.getvalue(), out, quiet=quiet)
        for r in results:  # a strategy or market without a row says why, as the table does
            if r.metrics.empty:
                click.echo(_no_row_note(r), err=True)
                continue
            for market, rest in _markets_without_rows(r):  # e.g. its benchmark has no prices
                click.echo(_no_row_note(rest, market), err=True)
    elif results or out is not None:
        summaries = (r.summary(more_combos=MORE_COMBOS, more_skipped=MORE_SKIPPED) for r in results)
        emit("\n".join(str(s) for s in summaries), out, quiet=quiet)
    if failures:
        raise SystemExit(1)


def _no_row_note(result: Any, market: str | None = None) -> str:
    """Why ``result`` (a strategy, or with ``market`` its skips there) has no row in the CSV:
    every event was skipped, and the reasons."""
    on, row, there = (f" on {market}", f"{market} row", " there") if market else ("", "row", "")
    why = "".join(f"\n- {line}" for line in result.skipped_lines(more=MORE_SKIPPED))
    return (
        f"evbt: note: {result.strategy.name} made no trade{on}, so it has no {row} in the CSV; "
        f"every event{there} was skipped ({len(result.skipped_table())} event-ticker "
        f"reasons):{why}"
    )


def _markets_without_rows(result: Any) -> list[tuple[str, Any]]:
    """The markets of ``result``'s events that have no row in its metrics (every event there
    was skipped), each with ``result`` restricted to the skips of that market's tickers."""
    import dataclasses

    from backtest.errors import EvbtError
    from backtest.markets import market_of

    traded = set(result.metrics["market"])
    gone = [m for m in result.benchmarks if m not in traded]
    if not gone:
        return []
    skipped = result.skipped

    def code(ticker: Any) -> str | None:
        try:
            return market_of(str(ticker)).code
        except EvbtError:  # not spelled like a ticker: no market to list it under
            return None

    markets = skipped["ticker"].map(code)
    return [(m, dataclasses.replace(result, skipped=skipped[markets == m])) for m in gone]


def _context(catalog: Any, confounder_paths: tuple[Path, ...]) -> Any:
    """Every event the command knows: the whole catalog loaded, plus the ``--confounders``
    events (one event table), for the confounding rules of the conditions' event studies."""
    if not confounder_paths:
        return catalog
    from backtest.cli._options import warn_confounder_problems
    from backtest.job.runner import load_confounder_events
    from backtest.study.inputs import context_with_confounders

    confounders = load_confounder_events(confounder_paths)  # a bad row is left out, and said
    warn_confounder_problems(list(confounders.attrs.get("problems", ())))
    # as evbt study and evbt run: confounders marked, so the study keeps them out of
    # estimation windows only around their own day 0 (StudySpec.confounder_window)
    return context_with_confounders(catalog, confounders)


def _conditions_spec() -> Any:
    """The spec of the conditions' event study: ``evbt study``'s defaults, and a row it cannot
    measure is a skipped trade, not a stop. (The study a strategy runs itself for the rows
    this one leaves, :mod:`backtest.portfolio.run`, reads the same estimation window and
    otherwise only days within ``condition.day``, which the strategy's limits bound.)"""
    from backtest.study import StudySpec

    return StudySpec(max_loss=1.0)


def _study(strategies: list[Any], catalog: Any, context: Any, source: Any, update: Any) -> Any:
    """The event study (``evbt study``'s defaults) of the events the conditioned
    ``strategies`` trade, with ``context`` as every event known; ``None`` when it cannot run
    (each strategy then measures its condition itself, with the same context)."""
    from backtest.cli.study import load_study_prices
    from backtest.errors import EvbtError
    from backtest.portfolio import select_events
    from backtest.study import run_study
    from backtest.study.inputs import normalize_event_table

    chosen = []
    for strategy in strategies:
        try:
            chosen.append(set(select_events(strategy, catalog)["event_id"]))
        except EvbtError:  # reported when the strategy runs
            continue
    ids = set().union(*chosen)
    if not ids:
        return None
    table, dropped = normalize_event_table(catalog.filter(ids=sorted(ids)).to_frame())
    spec = _conditions_spec()
    try:
        panel = load_study_prices(table, spec, source=source)
        return run_study(
            table, panel, spec, dropped=dropped, context=context, progress=update,
            stage=update.stage,
        )  # fmt: skip
    except EvbtError:
        return None
