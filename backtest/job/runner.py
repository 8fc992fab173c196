"""The main job: catalog -> prices -> event study -> strategies -> claims, as one result.

:func:`run_job` does the work and returns a :class:`RunResult`; it writes nothing (the report
module renders the result, :mod:`backtest.reports`). One price panel serves every step: the
tickers and the date range are the union of what the study, each strategy and each claim needs,
loaded once (cache first, then the source).

Failures are kept apart by how much they spoil:

* fatal (no report is possible): an invalid configuration (every problem of its settings, a
  binning that cannot be read, a factor file that cannot be read, a strategy path that does not
  exist or a strategy file that is not TOML, all listed before anything is loaded --
  :class:`~backtest.job.config.ConfigError`), a missing catalog, no event selected, no prices
  for any ticker -- :class:`JobError` with what to do;
* partial (the report is written and says so, and ``evbt run`` exits non-zero): a strategy
  file that cannot run (a setting it refuses, a sweep beyond ``[limits]``, a benchmark its
  events' markets cannot use), an event study that cannot run (e.g. too many dropped events);
* recorded (part of a normal report): dropped events, skipped trades, catalog entries with
  problems, unmeasurable claims, price quality warnings, each with its reason.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.metadata
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import pandas as pd

from backtest.catalog import Catalog, load_catalog
from backtest.errors import EvbtError
from backtest.job.config import RunConfig
from backtest.job.progress import Steps, StepUpdate
from backtest.summary import Summary, Table, Text
from backtest.text import DASH, num, pct

#: Packages whose versions every report records.
VERSIONED = (
    "evbt", "numpy", "pandas", "scipy", "numba", "vectorbt", "yfinance", "exchange_calendars",
    "plotly",
)  # fmt: skip


class JobError(EvbtError, RuntimeError):
    """The run cannot produce a report; the message says why and what to do."""


@dataclass(frozen=True, repr=False)
class RunResult:
    """Everything one run measured, and everything it left out, with the reasons.

    Attributes
    ----------
    config:
        The run's configuration, as it ran: defaults filled in and every input written out
        (catalog and strategy paths, price folder or cache folder, confounder files), so that
        ``config.to_toml()`` repeats the run.
    catalog:
        The events the run selected (after the ``[catalog]`` filters).
    context:
        Every event the run knows: the whole catalog loaded (before the filters). The study's
        confounding rules and the strategies see all of it (issue 10: what is filtered does
        not change how an event is measured).
    confounders:
        Events that are not studied but count as confounders (``[catalog] confounders``, the
        earnings calendars): ``event_id, ticker, market, day0, category``; empty when none.
    study:
        The event study (:class:`~backtest.study.EventStudyResult`), or ``None`` when it could
        not run (:attr:`study_error` says why).
    backtests:
        One :class:`~backtest.portfolio.BacktestResult` per strategy that ran.
    strategy_errors:
        ``(file, message)`` per strategy that could not run.
    strategy_notes:
        ``(file, message)`` per strategy with nothing to trade in this run's selection.
    claims:
        Every claim of the selected events beside its measured move (see :mod:`backtest.claims`).
    prices:
        One row per ticker loaded or asked for: ``ticker, status, source, adjustment, first,
        last, rows, fetched_at, reason``.
    quality:
        The price quality findings: ``ticker, check, severity, n, first, last, message``.
    catalog_problems:
        The problems of the catalog entries left out, one a row: file, line, entry, field,
        message and the line the entry starts on (``entry_line``, 0 for a whole file).
    input_paths:
        Every input path of the run, resolved: catalog files and folders, confounder files,
        strategy files, factor files, the configuration file, the price folder, the cache
        folder. A report is never written into or over one of them.
    notes:
        What the run did that a reader should know (e.g. whether earnings calendars were
        fetched as confounders), one sentence each.
    timings:
        Seconds per step.
    meta:
        When and where the run happened: start time, versions, machine; and ``notes`` (the
        same sentences as :attr:`notes`, so that ``run.json`` records them).
    """

    config: RunConfig
    catalog: Catalog
    study: Any
    study_error: str | None
    backtests: tuple[Any, ...]
    strategy_errors: tuple[tuple[str, str], ...]
    strategy_notes: tuple[tuple[str, str], ...]
    claims: pd.DataFrame
    prices: pd.DataFrame
    quality: pd.DataFrame
    catalog_problems: pd.DataFrame
    context: Catalog | None = None
    confounders: pd.DataFrame | None = None
    input_paths: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> list[str]:
        """What went wrong that the report cannot make up for (empty: a clean run)."""
        out = [  # a message naming its file already is not prefixed with it twice
            f"strategy {m}" if m.startswith(f"{f}:") else f"strategy {f}: {m}"
            for f, m in self.strategy_errors
        ]
        if self.study_error:
            out.insert(0, f"event study: {self.study_error}")
        return out

    def to_frame(self) -> pd.DataFrame:
        """The event study's tidy table: one row per (event, ticker, window)."""
        return self.study.to_frame() if self.study is not None else pd.DataFrame()

    def summary(self) -> Summary:
        """What ran, on what data, each strategy's range over its sweep, what was left out and
        what failed (a :class:`~backtest.summary.Summary`; ``str()`` is its text).

        A sweep is shown as the range of its pooled portfolio's Sharpe ratio and total return
        over every combination, never its best point (choosing the best of a sweep after the
        fact overstates what could have been earned).
        """
        c = self.config
        facts = [
            f"{len(self.catalog)} events"
            + (f" of {len(self.context)} loaded" if self.context is not None else "")
            + (f"; {len(self.study.events)} (event, ticker) rows measured" if self.study else ""),
        ]
        if self.meta.get("data_first"):
            facts.append(f"prices {self.meta['data_first']} to {self.meta['data_last']}")
        if self.study is not None:
            facts.append(f"dropped from the study: {len(self.study.dropped)}")
        if self.confounders is not None and len(self.confounders):
            facts.append(f"confounder events (not studied): {len(self.confounders)}")
        if len(self.claims):
            counts = self.claims["verdict"].value_counts()
            facts.append("claims: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        n_warn = int((self.quality["severity"] == "warning").sum()) if len(self.quality) else 0
        facts.append(f"price quality warnings: {n_warn}")
        blocks: list[Table | Text] = [Text(facts, bullets=True)]
        rows = [row for r in self.backtests for row in _strategy_rows(r)]
        if rows:
            blocks.append(
                Table(
                    ["strategy", "portfolio", "combinations", "trades", "Sharpe",
                     "total return"],
                    rows,
                    title="Strategies (each a range over its whole sweep)",
                    numeric=(2, 3, 4, 5),
                )
            )  # fmt: skip
        if self.strategy_notes:  # e.g. a strategy that needs an attribute the events lack
            lines = [
                f"{Path(f).name}: {m.removeprefix('not run: ')}" for f, m in self.strategy_notes
            ]
            blocks.append(Text(lines, title="Strategies not run", bullets=True))
        if self.notes:
            blocks.append(Text(list(self.notes), title="Notes", bullets=True))
        if self.failures:
            blocks.append(Text(self.failures, title="FAILED", bullets=True))
        return Summary(f"evbt run {c.name}", blocks)

    def __str__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __repr__(self) -> str:
        study = (
            f"{len(self.study.events)} rows measured, {len(self.study.dropped)} dropped"
            if self.study is not None
            else f"failed: {self.study_error}"
        )
        return (
            f"<RunResult {self.config.name!r}: {len(self.catalog)} events; study {study}; "
            f"{len(self.backtests)} strategies; {len(self.failures)} failures>"
        )


def _strategy_rows(r: Any) -> list[list[str]]:
    """A strategy's summary rows, one per pooled portfolio (market; the main one first): its
    Sharpe and total return as ranges over the combinations, and its own trades."""
    if not len(r.metrics):
        return [[r.strategy.name, DASH, str(len(r.combos)), "0", DASH, DASH]]
    main = r.grid_portfolio()
    overview = r.pooled_overview()
    rows = []
    for portfolio in (main, *[p for p in r.pooled_portfolios() if p != main]):

        def span(metric: str, fmt: Callable[[Any], str], portfolio: str = portfolio) -> str:
            values = r.grid(metric, portfolio=portfolio)[metric]
            lo, hi = values.min(), values.max()
            return fmt(hi) if len(values) == 1 or lo == hi else f"{fmt(lo)} to {fmt(hi)}"

        own = overview[overview["portfolio"] == portfolio]
        trades = int(own["trades"].max()) if len(own) else 0
        rows.append(
            [
                r.strategy.name if portfolio == main else "",
                portfolio,
                str(len(r.combos)),
                str(trades),
                span("sharpe", num),
                span("total_return", pct),
            ]
        )
    return rows


# ---------------------------------------------------------------------------------- the job


def run_job(
    config: RunConfig,
    *,
    source: Any = None,
    progress: bool = False,
) -> RunResult:
    """Run the whole job described by ``config``.

    Reads no environment variable and looks in no folder other than those ``config`` names
    (its ``base`` folder for the defaults ``events/`` and ``strategies/``, else the ones shipped
    with evbt): the command line resolves the environment first (:mod:`backtest.cli._env`).

    Parameters
    ----------
    config:
        From :func:`~backtest.job.config.load_config` (``load_config()`` gives the defaults).
    source:
        The :class:`~backtest.prices.PriceSource` every step reads (tests inject one). Default:
        the one ``config.prices`` describes (the CSV folder, else Yahoo behind the cache).
    progress:
        Show progress bars and status lines on standard error.

    Raises
    ------
    JobError
        Nothing can be reported (see the module docstring).
    ConfigError
        Listing every problem of ``config`` (:func:`~backtest.job.config.check_config`) and
        what the run cannot start with (:func:`~backtest.job.config.run_problems`: the
        benchmarks, the binnings, factor files, strategy paths including the default folder),
        checked first.
    """
    from backtest.claims import claim_table, measure_claims
    from backtest.job.config import ConfigError, check_config, run_problems
    from backtest.portfolio import run_strategy
    from backtest.study.inputs import FactorFiles, normalize_event_table

    started = dt.datetime.now(dt.UTC)
    config = resolve_inputs(config)
    factor_files = FactorFiles()  # the factor files checked now are the study's: read once
    problems = [*check_config(config), *run_problems(config, factor_files=factor_files)]
    if problems:
        raise ConfigError(config.file or "run configuration", problems)
    spec = _with_report_groups(config.study_spec())
    notes: list[str] = []
    with Steps(enabled=progress) as steps:
        with steps.step("catalog"):
            full, catalog, problems = _catalog(config)
            events, dropped = normalize_event_table(catalog.to_frame())
            claims_table = claim_table(catalog)
        with steps.step("strategies (files)"):
            chosen, errors, strategy_notes = _strategies(config, full, catalog)
        if source is not None:
            config = _record_source(config, source)
        else:
            from backtest.prices import open_source

            source = open_source(
                prices_dir=config.resolve(config.prices.dir) if config.prices.dir else None,
                cache_dir=config.resolve(config.prices.cache_dir)
                if config.prices.cache_dir
                else None,
            )
        with steps.step("prices"):
            panel = _prices(config, spec, events, chosen, claims_table, source)
            notes.extend(_price_notes(panel))
        with steps.step("confounders"):
            confounders, left_out = _confounders(config, full, panel, notes)
            if len(left_out):  # a bad confounder row is left out and listed, as a catalog's
                problems = pd.concat([problems, problem_table(left_out)], ignore_index=True)
        context = _context(full, confounders)
        with steps.step("event study") as update:
            study, study_error = _study(
                config, spec, context, events, dropped, panel, update, factor_files
            )
        if study is not None:  # e.g. factors on another exchange's calendar
            notes += study.data.get("notes", [])
        backtests = []
        for c in chosen:
            with steps.step(f"backtest {c.strategy.name}") as update:
                try:
                    backtests.append(
                        run_strategy(
                            c.strategy,
                            full,
                            prices=panel,
                            study=study,
                            context=context,
                            progress=update,
                        )
                    )
                except EvbtError as exc:
                    errors.append((c.strategy.file, str(exc)))
        backtest_steps = [f"backtest {c.strategy.name}" for c in chosen]
        steps.timings["strategies (backtests)"] = round(
            sum(steps.timings.get(k, 0.0) for k in backtest_steps), 3
        )
        with steps.step("claims"):
            claims = measure_claims(claims_table, panel)
    return RunResult(
        config=config,
        catalog=catalog,
        context=full,
        confounders=confounders,
        study=study,
        study_error=study_error,
        backtests=tuple(backtests),
        strategy_errors=tuple(errors),
        strategy_notes=tuple(strategy_notes),
        claims=claims,
        prices=_price_table(panel),
        quality=_quality_table(panel),
        catalog_problems=problems,
        input_paths=input_paths(config),
        notes=tuple(notes),
        timings=dict(steps.timings),
        meta={**_meta(started, panel), "notes": list(notes)},
    )


def resolve_inputs(config: RunConfig) -> RunConfig:
    """``config`` with its default places written out, as absolute paths: the catalog
    (``<base>/events`` when it exists, else the shipped one), the strategies (likewise), and
    the cache folder when prices do not come from a CSV folder."""
    from backtest.resources import shipped_dir

    def default(kind: Literal["events", "strategies"]) -> tuple[str, ...]:
        here = Path(config.base) / kind
        return (str((here if here.is_dir() else shipped_dir(kind)).resolve()),)

    catalog: dict[str, Any] = {}
    if config.catalog.paths is None:
        catalog["paths"] = default("events")
    strategies: dict[str, Any] = {}
    if config.strategies.paths is None:
        strategies["paths"] = default("strategies")
    prices: dict[str, Any] = {}
    if not config.prices.dir and not config.prices.cache_dir:
        prices["cache_dir"] = str(default_cache_dir())
    if not (catalog or strategies or prices):
        return config
    return config.with_updates(catalog=catalog, strategies=strategies, prices=prices)


def _record_source(config: RunConfig, source: Any) -> RunConfig:
    """``config`` naming the folder of a CSV ``source`` it was not told about, so that the
    recorded configuration repeats the run (a source of another kind cannot be written down)."""
    directory = getattr(source, "directory", None)
    if (
        config.prices.dir
        or directory is None
        or not str(getattr(source, "name", "")).startswith("csv:")
    ):
        return config
    return config.with_updates(prices={"dir": str(directory)})


def default_cache_dir() -> Path:
    """The user's price cache folder (``platformdirs``), where prices are cached by default."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("evbt")) / "prices"


def input_paths(config: RunConfig) -> tuple[Path, ...]:
    """Every input path ``config`` names, resolved (see :attr:`RunResult.input_paths`)."""
    c = config
    named: list[str] = [
        *(c.catalog.paths or ()),
        *c.catalog.confounders,
        *(c.strategies.paths or ()),
        *c.study.factors,
    ]
    if c.prices.dir:
        named.append(c.prices.dir)
    if c.prices.cache_dir:
        named.append(c.prices.cache_dir)
    out = [Path(c.file).resolve()] if c.file else []
    out += [c.resolve(p).resolve() for p in named]
    return tuple(dict.fromkeys(out))


def _catalog(config: RunConfig) -> tuple[Catalog, Catalog, pd.DataFrame]:
    """The whole catalog loaded, the selection of the ``[catalog]`` filters, and the problems."""
    c = config.catalog
    full = load_catalog([config.resolve(p) for p in c.paths or ()])
    problems = problem_table(full.problems)
    try:
        chosen = full.filter(
            ids=c.ids, categories=c.categories, tickers=c.tickers, start=c.start, end=c.end
        )
    except (LookupError, ValueError) as exc:
        raise JobError(f"{_where(config)}[catalog]: {str(exc).strip(chr(39))}") from None
    if not len(chosen):
        raise JobError(f"{_where(config)}[catalog]: the filters select no event")
    return full, chosen, problems


def problem_table(problems: Sequence[Any]) -> pd.DataFrame:
    """The run's table of catalog problems (:class:`~backtest.errors.CatalogProblem`s of the
    catalog and of the confounder files): ``file, line, entry, field, message, entry_line``."""
    columns = ["file", "line", "entry", "field", "message", "entry_line"]
    return pd.DataFrame(
        [[str(p.file), p.line, p.entry, p.field, p.message, p.entry_line] for p in problems],
        columns=columns,
    )


def _filtered(config: RunConfig) -> bool:
    c = config.catalog
    return any(v is not None for v in (c.ids, c.categories, c.tickers, c.start, c.end))


def _where(config: RunConfig) -> str:
    return f"{config.file}: " if config.file else ""


class _Chosen(NamedTuple):
    """A strategy that can run, the events it trades and its benchmark per market."""

    strategy: Any
    events: pd.DataFrame
    benchmarks: dict[str, str]


def _strategies(
    config: RunConfig, full: Catalog, selection: Catalog
) -> tuple[list[_Chosen], list[tuple[str, str]], list[tuple[str, str]]]:
    """The strategies that can run, each with its events and benchmarks; errors; notes.

    A strategy trades the events of this run's selection that its own ``[events]`` filter
    picks; it sees the whole catalog (``full``) as context. It is checked here as far as the
    catalog allows (its events, its benchmark, the size of its sweep), so that one that cannot
    run is a failed part of the report, not the end of the run.
    """
    from backtest.portfolio import (
        MissingAttributeError,
        StrategyError,
        load_strategy,
        select_events,
        strategy_files,
    )
    from backtest.portfolio.run import benchmarks_for

    paths = [config.resolve(p) for p in config.strategies.paths or ()]
    if not paths:
        return [], [], []
    errors: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []
    try:
        files = strategy_files(paths)
    except StrategyError as exc:
        return [], [(exc.file, str(exc))], []
    filtered = _filtered(config)
    out = []
    for f in files:
        try:
            strategy = load_strategy(f, limits=config.strategy_limits())
            if filtered:
                strategy = _within(strategy, selection)
            table = select_events(strategy, full)
            bench = benchmarks_for(strategy, sorted(table["market"].unique()))
        except MissingAttributeError as exc:  # e.g. surprise_pct on a catalog without one
            notes.append((str(f), f"not run: {exc.problems[0][1]}"))
            continue
        except StrategyError as exc:
            nothing = any(field == "events" for field, _ in exc.problems)
            if filtered and nothing:  # the run's own filters left it nothing to trade
                notes.append((str(f), "trades no event of this run's selection"))
            elif nothing:  # e.g. the shipped layoff strategy on an earnings-only catalog
                msg = next(m for field, m in exc.problems if field == "events")
                notes.append((str(f), f"not run: {msg}"))
            else:
                errors.append((str(f), str(exc)))
            continue
        out.append(_Chosen(strategy, table, bench))
    return out, errors, notes


def _within(strategy: Any, selection: Catalog) -> Any:
    """``strategy`` restricted to the events of the run's ``selection`` (its own filter still
    applies on top)."""
    ids = selection.ids
    own = strategy.events.ids
    if own is not None:
        keep = set(own)
        ids = tuple(i for i in ids if i in keep)
    events = strategy.events.model_copy(update={"ids": tuple(ids)})
    return strategy.model_copy(update={"events": events})


def _confounders(
    config: RunConfig, full: Catalog, panel: Any, notes: list[str]
) -> tuple[pd.DataFrame | None, list[Any]]:
    """Events that count as confounders without being studied: ``[catalog] confounders``
    files, and (online runs) the earnings calendars of the catalog's tickers; and the problems
    of the rows of those files left out."""
    frames = []
    left_out: list[Any] = []
    files = [config.resolve(p) for p in config.catalog.confounders]
    if files:
        frame = load_confounder_events(files)
        left_out = list(frame.attrs.get("problems", ()))
        frames.append(frame)
    if not config.catalog.earnings_confounders:
        notes.append(
            "Earnings calendars were not fetched as confounders: turned off "
            "(--no-earnings-confounders or [catalog] earnings_confounders = false)."
        )
    else:
        if config.prices.dir:
            notes.append(
                "Earnings calendars were not fetched as confounders: the run read prices "
                "offline from a CSV folder (give them with [catalog] confounders or "
                "--confounders)."
            )
        elif panel.failed and all(f.kind == "offline" for f in panel.failed.values()):
            notes.append(
                "Earnings calendars were not fetched as confounders: Yahoo Finance could not "
                "be reached."
            )
        else:
            fetched = _earnings_calendars(config, full, notes)
            if fetched is not None:
                frames.append(fetched)
    if not frames:
        return None, left_out
    return pd.concat(frames, ignore_index=True), left_out


def load_confounder_events(paths: Sequence[Path]) -> pd.DataFrame:
    """The events of ``paths`` (catalogs, or earnings CSVs saved from yfinance) that count as
    confounders without being studied (:func:`backtest.catalog.load_confounders`). A row that
    cannot be read is left out, the others kept (a bad row never stops the others): its
    problem is in ``frame.attrs["problems"]``. A file of which no row can be read (a header
    that is not CSV, a column missing: a problem of the whole file) is refused, as before:
    :class:`~backtest.errors.CatalogError` naming its problems."""
    from backtest.catalog import load_confounders
    from backtest.errors import CatalogError

    frame = load_confounders(paths, strict=False)
    problems = frame.attrs.get("problems", ())
    read = set(frame["file"].astype(str).str.rsplit(":", n=1).str[0]) if len(frame) else set()
    whole = [p for p in problems if str(p.file) not in read]
    if whole:
        raise CatalogError(whole, "the confounder files (no row of the file could be read)")
    return frame


def _earnings_calendars(config: RunConfig, full: Catalog, notes: list[str]) -> Any:
    """The earnings dates of the catalog's tickers from Yahoo (cached), as confounder events;
    ``None`` (with a note saying why) when they cannot be had."""
    from backtest.earnings import earnings_confounders

    tickers = sorted({t for e in full for t in e.tickers})
    cache = config.resolve(config.prices.cache_dir) if config.prices.cache_dir else None
    table, failed = earnings_confounders(tickers, cache_dir=cache)
    notes.append(
        f"Earnings calendars of {len(tickers) - len(failed)} of {len(tickers)} tickers were "
        f"fetched from Yahoo as confounders ({len(table)} announcements)"
        + (f"; not available for {', '.join(sorted(failed))}" if failed else "")
        + "."
    )
    return table


def _context(full: Catalog, confounders: pd.DataFrame | None) -> Any:
    """Every event the run knows, for the study's confounding rules: the whole catalog, plus
    the confounder events that are not catalog events (as one event table)."""
    if confounders is None or not len(confounders):
        return full
    from backtest.study.inputs import context_with_confounders

    # confounders that are not a catalog event, marked: the study keeps them out of estimation
    # windows only around their own day 0 (StudySpec.confounder_window)
    return context_with_confounders(full, confounders)


def _prices(
    config: RunConfig,
    spec: Any,
    events: pd.DataFrame,
    strategies: Sequence[_Chosen],
    claims: pd.DataFrame,
    source: Any,
) -> Any:
    from backtest.claims import claim_price_needs
    from backtest.portfolio.run import price_range
    from backtest.prices import load_prices
    from backtest.study.inputs import price_needs

    tickers, start, end = price_needs(events, reach=spec.reach, benchmarks=dict(spec.benchmarks))
    wanted = list(tickers)
    starts, ends = [start], [end]
    for strategy, chosen, bench in strategies:
        wanted += [*chosen["ticker"], *bench.values()]
        a, b = price_range(chosen, strategy)
        starts.append(a)
        ends.append(b)
    if len(claims):
        c_tickers, c_start, c_end = claim_price_needs(claims)
        wanted += list(c_tickers)
        starts.append(c_start)
        ends.append(c_end)
    first = min(pd.Timestamp(s) for s in starts if s is not None)
    last = max(pd.Timestamp(e) for e in ends if e is not None)
    panel = load_prices(list(dict.fromkeys(wanted)), first.date(), last.date(), source=source)
    if not len(panel.tickers) or not panel.close.notna().any().any():
        raise JobError(_no_prices_message(config, panel))
    return panel


def _no_prices_message(config: RunConfig, panel: Any) -> str:
    failures = list(panel.failed.values())
    summary = getattr(panel, "failure_summary", None)  # the prices part's (one hint each)
    if summary is not None:
        reasons = summary()
    else:
        described = sorted({f.describe() for f in failures})
        reasons = "; ".join(described[:3]) + (
            f"; and {len(described) - 3} more" if len(described) > 3 else ""
        )
    if config.prices.dir:
        return (
            f"no prices could be read for any ticker from {config.resolve(config.prices.dir)} "
            f"({reasons}). The folder needs one CSV per ticker named like META.csv or "
            "_GSPC.csv (for ^GSPC) with columns date,open,high,low,close,volume."
        )
    where = config.resolve(config.prices.cache_dir) if config.prices.cache_dir else "the cache"
    offline = getattr(panel, "offline", None)
    if offline is None:
        offline = bool(failures) and all(getattr(f, "kind", "") == "offline" for f in failures)
    if offline:
        return (
            f"Yahoo Finance cannot be reached (no network?) and nothing usable is cached in "
            f"{where}. Run offline from CSV files: evbt run --prices-dir DIR (one CSV per "
            "ticker, e.g. ../shared/prices)."
        )
    return (
        f"no prices for any ticker, and nothing usable is cached in {where}: {reasons}. "
        "Without a network, run offline from CSV files: evbt run --prices-dir DIR (one CSV per "
        "ticker, e.g. ../shared/prices)."
    )


def _with_report_groups(spec: Any) -> Any:
    """``spec`` grouped by all events, category and ticker first (the report's index, category
    rows and ticker pages are built from those groups), then by the configuration's others."""
    from dataclasses import replace

    from backtest.study.spec import DEFAULT_GROUP_BY

    others = tuple(g for g in spec.group_by if g not in DEFAULT_GROUP_BY)
    return replace(spec, group_by=(*DEFAULT_GROUP_BY, *others))


def _study(
    config: RunConfig,
    spec: Any,
    context: Any,
    table: pd.DataFrame,
    dropped: Any,
    panel: Any,
    update: StepUpdate,
    factor_files: Any = None,
) -> tuple[Any, str | None]:
    from backtest.study import read_factors, run_study

    try:
        factors = (
            read_factors([config.resolve(f) for f in config.study.factors], files=factor_files)
            if config.study.factors  # also for events whose own model is "factor"
            else None
        )
        result = run_study(
            table,
            panel,
            spec,
            factors=factors,
            dropped=dropped,
            context=context,
            progress=update,
            stage=update.stage,
        )
    except EvbtError as exc:
        return None, str(exc)
    return result, None


def _price_notes(panel: Any) -> list[str]:
    """What happened to the prices on the way that the run's notes say (a ticker's cached
    file unreadable and moved aside: see :attr:`~backtest.prices.base.SeriesInfo.note`)."""
    loaded = [(t, getattr(i, "note", "")) for t, i in panel.provenance.items()]
    failed = [(t, getattr(f, "note", "")) for t, f in panel.failed.items()]
    return [f"Prices of {t}: {note}." for t, note in [*loaded, *failed] if note]


def _price_table(panel: Any) -> pd.DataFrame:
    rows = []
    for t, info in panel.provenance.items():
        partial = panel.partial.get(t)
        rows.append(
            {
                "ticker": t,
                "status": "partial" if partial else "loaded",
                "source": info.source,
                "adjustment": info.adjustment,
                "first": info.first,
                "last": info.last,
                "rows": info.rows,
                "fetched_at": info.fetched_at.isoformat(timespec="seconds")
                if info.fetched_at
                else None,
                "reason": "; ".join(
                    x for x in (info.note, partial.describe() if partial else "") if x
                ),
            }
        )
    for t, failure in panel.failed.items():
        rows.append({"ticker": t, "status": "failed", "reason": failure.describe()})
    cols = ["ticker", "status", "source", "adjustment", "first", "last", "rows", "fetched_at"]
    return pd.DataFrame(rows, columns=[*cols, "reason"])


def _quality_table(panel: Any) -> pd.DataFrame:
    return panel.quality.to_frame().reset_index(drop=True)


def _meta(started: dt.datetime, panel: Any) -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    close = panel.close.dropna(how="all")
    return {
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "data_first": close.index[0].date().isoformat() if len(close) else None,
        "data_last": close.index[-1].date().isoformat() if len(close) else None,
        "tickers": list(panel.tickers),
    }
