"""The main job: catalog -> prices -> event study -> strategies -> claims, as one result.

:func:`run_job` does the work and returns a :class:`RunResult`; it writes nothing (the report
module renders the result, :mod:`backtest.reports`). One price panel serves every step: the
tickers and the date range are the union of what the study, each strategy and each claim needs,
loaded once (cache first, then the source).

Failures are kept apart by how much they spoil:

* fatal (no report is possible): an invalid configuration, a missing catalog, no event selected,
  no prices for any ticker -- :class:`JobError` with what to do;
* partial (the report is written and says so, and ``evbt run`` exits non-zero): a strategy
  file that cannot run, an event study that cannot run (e.g. too many dropped events);
* recorded (part of a normal report): dropped events, skipped trades, catalog entries with
  problems, unmeasurable claims, price quality warnings, each with its reason.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from backtest.catalog import Catalog, load_catalog
from backtest.errors import EvbtError
from backtest.job.config import RunConfig

#: Packages whose versions every report records.
VERSIONED = (
    "evbt", "numpy", "pandas", "scipy", "numba", "vectorbt", "yfinance", "exchange_calendars",
    "plotly",
)  # fmt: skip


class JobError(EvbtError, RuntimeError):
    """The run cannot produce a report; the message says why and what to do."""


@dataclass(frozen=True)
class RunResult:
    """Everything one run measured, and everything it left out, with the reasons.

    Attributes
    ----------
    config:
        The run's configuration (defaults filled in).
    catalog:
        The catalog the run selected events from (after the ``[catalog]`` filters).
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
        Catalog entries left out, with file, entry, field and message.
    timings:
        Seconds per step.
    meta:
        When and where the run happened: start time, versions, machine.
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
    timings: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> list[str]:
        """What went wrong that the report cannot make up for (empty: a clean run)."""
        out = [f"strategy {f}: {m}" for f, m in self.strategy_errors]
        if self.study_error:
            out.insert(0, f"event study: {self.study_error}")
        return out

    def to_frame(self) -> pd.DataFrame:
        """The event study's tidy table: one row per (event, ticker, window)."""
        return self.study.to_frame() if self.study is not None else pd.DataFrame()

    def summary(self) -> str:
        """A few lines: what ran, on what data, what was left out, and what failed."""
        c = self.config
        lines = [
            f"evbt run {c.name}: {len(self.catalog)} events"
            + (f", {len(self.study.events)} (event, ticker) rows measured" if self.study else ""),
        ]
        if self.meta.get("data_first"):
            lines.append(f"prices {self.meta['data_first']} to {self.meta['data_last']}")
        if self.study is not None:
            lines.append(f"dropped from the study: {len(self.study.dropped)}")
        for r in self.backtests:
            best = r.grid("sharpe") if len(r.metrics) else None
            n = len(r.trades)
            lines.append(
                f"strategy {r.strategy.name}: {n} trade legs"
                + (f", best pooled Sharpe {best['sharpe'].max():.2f}" if best is not None else "")
            )
        if len(self.claims):
            counts = self.claims["verdict"].value_counts()
            lines.append("claims: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        n_warn = int((self.quality["severity"] == "warning").sum()) if len(self.quality) else 0
        lines.append(f"price quality warnings: {n_warn}")
        lines += [f"FAILED: {f}" for f in self.failures]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.summary()


# ---------------------------------------------------------------------------------- progress


class Steps:
    """Progress of the job's steps on standard error (a no-op when quiet)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.timings: dict[str, float] = {}
        self._progress: Any = None

    def __enter__(self) -> Steps:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    @contextmanager
    def step(self, name: str, total: int | None = None) -> Iterator[Callable[[int, int], None]]:
        """Time a step; the callback ``(done, total)`` advances its bar."""
        t0 = time.perf_counter()
        task = None
        if self._progress is not None:
            task = self._progress.add_task(name, total=total)

        def update(done: int, total_: int) -> None:
            if task is not None:
                self._progress.update(task, completed=done, total=total_)

        try:
            yield update
        finally:
            self.timings[name] = round(time.perf_counter() - t0, 3)
            if task is not None:
                t = self._progress.tasks[task]
                self._progress.update(task, completed=t.total or 1, total=t.total or 1)


# ---------------------------------------------------------------------------------- the job


def run_job(
    config: RunConfig,
    *,
    prices_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    source: Any = None,
    progress: bool = False,
) -> RunResult:
    """Run the whole job described by ``config``.

    Parameters
    ----------
    config:
        From :func:`~backtest.job.config.load_config` (``load_config()`` gives the defaults).
    prices_dir, cache_dir:
        Override the configuration's ``[prices]`` (the command line's ``--prices-dir``).
    source:
        A :class:`~backtest.prices.PriceSource` that wins over both (tests, custom data).
    progress:
        Show progress bars on standard error.

    Raises
    ------
    JobError
        Nothing can be reported (see the module docstring).
    """
    from backtest.claims import claim_table, measure_claims
    from backtest.study.inputs import normalize_event_table

    started = dt.datetime.now(dt.UTC)
    spec = config.study_spec()
    with Steps(enabled=progress) as steps:
        with steps.step("catalog"):
            catalog, problems = _catalog(config)
            events, dropped = normalize_event_table(catalog.to_frame())
            claims_table = claim_table(catalog)
        with steps.step("strategies (files)"):
            chosen, errors, notes = _strategies(config, catalog)
            strategies = [c.strategy for c in chosen]
        with steps.step("prices"):
            panel = _prices(
                config, spec, events, chosen, claims_table, prices_dir, cache_dir, source
            )
        with steps.step("event study") as update:
            study, study_error = _study(config, spec, catalog, events, dropped, panel, update)
        backtests = []
        with steps.step("strategies (backtests)", total=len(strategies)) as update:
            from backtest.portfolio import run_strategy

            for i, strategy in enumerate(strategies):
                try:
                    backtests.append(run_strategy(strategy, catalog, prices=panel))
                except EvbtError as exc:
                    errors.append((strategy.file, str(exc)))
                update(i + 1, len(strategies))
        with steps.step("claims"):
            claims = measure_claims(claims_table, panel)
    return RunResult(
        config=config,
        catalog=catalog,
        study=study,
        study_error=study_error,
        backtests=tuple(backtests),
        strategy_errors=tuple(errors),
        strategy_notes=tuple(notes),
        claims=claims,
        prices=_price_table(panel),
        quality=_quality_table(panel),
        catalog_problems=problems,
        timings=dict(steps.timings),
        meta=_meta(started, panel),
    )


def _catalog(config: RunConfig) -> tuple[Catalog, pd.DataFrame]:
    c = config.catalog
    paths = [config.resolve(p) for p in c.paths] if c.paths is not None else None
    if paths is None and (Path(config.base) / "events").is_dir():
        paths = [Path(config.base) / "events"]
    full = load_catalog(paths)
    problems = pd.DataFrame(
        [
            {
                "file": str(p.file),
                "line": p.line,
                "entry": p.entry,
                "field": p.field,
                "message": p.message,
            }
            for p in full.problems
        ],
        columns=["file", "line", "entry", "field", "message"],
    )
    try:
        chosen = full.filter(
            ids=c.ids, categories=c.categories, tickers=c.tickers, start=c.start, end=c.end
        )
    except (LookupError, ValueError) as exc:
        raise JobError(f"{_where(config)}[catalog]: {str(exc).strip(chr(39))}") from None
    if not len(chosen):
        raise JobError(f"{_where(config)}[catalog]: the filters select no event")
    return chosen, problems


def _where(config: RunConfig) -> str:
    return f"{config.file}: " if config.file else ""


class _Chosen(NamedTuple):
    """A strategy that can run, the events it trades and its benchmark per market."""

    strategy: Any
    events: pd.DataFrame
    benchmarks: dict[str, str]


def _strategies(
    config: RunConfig, catalog: Catalog
) -> tuple[list[_Chosen], list[tuple[str, str]], list[tuple[str, str]]]:
    """The strategies that can run, each with its events and benchmarks; errors; notes.

    A strategy is checked here as far as the catalog allows (its events, its benchmark), so
    that one that cannot run is a failed part of the report, not the end of the run.
    """
    from backtest.portfolio import (
        MissingAttributeError,
        StrategyError,
        default_strategy_dir,
        load_strategy,
        select_events,
        strategy_files,
    )
    from backtest.portfolio.run import benchmarks_for

    s = config.strategies
    if s.paths is not None:
        paths: list[Path] = [config.resolve(p) for p in s.paths]
    else:
        here = Path(config.base) / "strategies"
        paths = [here if here.is_dir() else default_strategy_dir()]
    if not paths:
        return [], [], []
    errors: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []
    try:
        files = strategy_files(paths)
    except StrategyError as exc:
        return [], [(exc.file, str(exc))], []
    filtered = any(
        v is not None
        for v in (
            config.catalog.ids,
            config.catalog.categories,
            config.catalog.tickers,
            config.catalog.start,
            config.catalog.end,
        )
    )
    out = []
    for f in files:
        try:
            strategy = load_strategy(f)
            table = select_events(strategy, catalog)
            bench = benchmarks_for(strategy, sorted(table["market"].unique()))
        except MissingAttributeError as exc:  # e.g. surprise_pct on a catalog without one
            notes.append((str(f), f"not run: {exc.problems[0][1]}"))
            continue
        except StrategyError as exc:
            nothing = any(field == "events" for field, _ in exc.problems)
            if filtered and nothing:  # the run's own filters left it nothing to trade
                notes.append((str(f), "trades no event of this run's selection"))
            else:
                errors.append((str(f), str(exc)))
            continue
        out.append(_Chosen(strategy, table, bench))
    return out, errors, notes


def _prices(
    config: RunConfig,
    spec: Any,
    events: pd.DataFrame,
    strategies: Sequence[_Chosen],
    claims: pd.DataFrame,
    prices_dir: str | Path | None,
    cache_dir: str | Path | None,
    source: Any,
) -> Any:
    from backtest.claims import claim_price_needs
    from backtest.portfolio.run import price_range
    from backtest.prices import PriceCache, load_prices
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
    directory = prices_dir or (config.resolve(config.prices.dir) if config.prices.dir else None)
    cdir = cache_dir or (
        config.resolve(config.prices.cache_dir) if config.prices.cache_dir else None
    )
    cache = PriceCache(cdir) if cdir else None
    panel = load_prices(
        list(dict.fromkeys(wanted)),
        first.date(),
        last.date(),
        source=source,
        prices_dir=directory,
        cache=cache,
    )
    if not len(panel.tickers) or not panel.close.notna().any().any():
        raise JobError(_no_prices_message(panel, directory, cache))
    return panel


def _no_prices_message(panel: Any, directory: Any, cache: Any) -> str:
    reasons = sorted({f.describe() for f in panel.failed.values()})
    shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
    if directory:
        return (
            f"no prices could be read for any ticker from {directory} ({shown}). The folder "
            "needs one CSV per ticker named like META.csv or _GSPC.csv (for ^GSPC) with columns "
            "date,open,high,low,close,volume."
        )
    from backtest.prices import PriceCache

    where = (cache or PriceCache()).directory
    return (
        f"no prices for any ticker ({shown}), and nothing usable is cached in {where}. "
        "evbt downloads prices from Yahoo Finance; without a network, run offline from CSV "
        "files: evbt run --prices-dir DIR (one CSV per ticker, e.g. ../shared/prices)."
    )


def _study(
    config: RunConfig,
    spec: Any,
    catalog: Catalog,
    table: pd.DataFrame,
    dropped: Any,
    panel: Any,
    update: Callable[[int, int], None],
) -> tuple[Any, str | None]:
    from backtest.study import read_factors, run_study

    try:
        factors = (
            read_factors([config.resolve(f) for f in config.study.factors])
            if config.study.model == "factor"
            else None
        )
        result = run_study(
            table, panel, spec, factors=factors, dropped=dropped, context=catalog, progress=update
        )
    except EvbtError as exc:
        return None, str(exc)
    return result, None


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
                "reason": partial.describe() if partial else "",
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
