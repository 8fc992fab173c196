"""Bridges to interfaces other parts are building in this wave (CONTRACTS.md), used until they
land; each says when it goes. Nothing here is public.

* :func:`open_source` is ``backtest.prices.open_source(*, prices_dir=None, cache_dir=None)``
  (the prices part adds it): this local adapter has the same signature and is used only while
  ``backtest.prices`` has no ``open_source``.
* :func:`call_write_report` passes ``force=`` to ``write_report`` once it takes it.
* :func:`load_strategy_within` hands the run's ``[limits]`` to ``load_strategy(path, limits=)``
  once it takes them (the portfolio part adds ``Limits``); until then the job counts the sweep.
* :func:`call_run_strategy` passes ``study=`` and ``progress=`` (a ``(done, total)`` callback)
  to ``backtest.portfolio.run_strategy`` once it takes them (the portfolio part adds them).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any


def open_source(
    *, prices_dir: str | Path | None = None, cache_dir: str | Path | None = None
) -> Any:
    """The price source of a run: the CSV folder when given, else Yahoo behind the cache.

    Reads no environment variable: ``cache_dir=None`` is the user cache folder.
    """
    import backtest.prices as prices

    factory = getattr(prices, "open_source", None)
    if factory is not None:  # the prices part's own (CONTRACTS); then this adapter goes
        return factory(prices_dir=prices_dir, cache_dir=cache_dir)
    if prices_dir is not None:
        return prices.CsvDirSource(prices_dir)
    if cache_dir is None:
        import platformdirs

        cache_dir = Path(platformdirs.user_cache_dir("evbt")) / "prices"
    return prices.CachedSource(prices.YahooSource(), prices.PriceCache(cache_dir))


def call_run_strategy(
    strategy: Any,
    catalog: Any,
    *,
    prices: Any,
    study: Any,
    progress: Callable[[int, int], None] | None,
) -> Any:
    """``run_strategy(strategy, catalog, prices=..., study=..., progress=...)`` (CONTRACTS),
    leaving out the keywords the installed ``run_strategy`` does not take yet."""
    from backtest.portfolio import run_strategy

    accepted = inspect.signature(run_strategy).parameters
    kwargs: dict[str, Any] = {"prices": prices}
    if "study" in accepted:
        kwargs["study"] = study
    if "progress" in accepted and accepted["progress"].annotation not in (bool, "bool"):
        kwargs["progress"] = progress
    return run_strategy(strategy, catalog, **kwargs)


def call_write_report(result: Any, out_dir: Path, *, force: bool) -> Any:
    """``write_report(result, out_dir, force=force)`` (CONTRACTS: the reports part adds
    ``force``); without it, the command line's own checks (:mod:`backtest.cli._outdir`) are
    what stands between a report and a folder it did not write."""
    from backtest.reports import write_report

    write: Any = write_report  # typed loosely: its signature changes at the merge
    if "force" in inspect.signature(write_report).parameters:
        return write(result, out_dir, force=force)
    return write(result, out_dir)


def load_strategy_within(path: Path, *, combinations: int, sessions: int) -> Any:
    """The strategy file ``path``, refused (``StrategyError``) when its sweep has more than
    ``combinations`` parameter combinations (and, once ``load_strategy`` takes ``limits=``,
    when a lag, hold or condition day reaches beyond ``sessions``)."""
    import backtest.portfolio as portfolio
    from backtest.portfolio import StrategyError, load_strategy

    limits_class = getattr(portfolio, "Limits", None)
    if limits_class is not None and "limits" in inspect.signature(load_strategy).parameters:
        limits = limits_class(max_combinations=combinations, max_sessions=sessions)
        load: Any = load_strategy  # typed loosely: its signature changes at the merge
        return load(path, limits=limits)
    strategy = load_strategy(path)
    n = sweep_size(strategy)
    if n > combinations:
        raise StrategyError(
            str(path),
            [
                (
                    "",
                    f"its sweep has {n:,} parameter combinations; at most {combinations:,} are "
                    "allowed (fewer values, or raise [limits] combinations in the run "
                    "configuration)",
                )
            ],
        )
    return strategy


def sweep_size(strategy: Any) -> int:
    """How many parameter combinations ``strategy`` sweeps (counted, not built)."""
    from backtest.portfolio.strategy import SWEEPABLE

    n = 1
    for section, name in SWEEPABLE:
        part = getattr(strategy, section)
        values = None if part is None else getattr(part, name)
        if values is not None:
            n *= max(len(values), 1)
    return n
