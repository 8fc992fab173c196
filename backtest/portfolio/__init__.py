"""Event-driven strategies: trades, simulation (vectorbt), metrics.

>>> from backtest import load_catalog                                  # doctest: +SKIP
>>> from backtest.portfolio import load_strategy, run_strategy         # doctest: +SKIP
>>> from backtest.prices import CsvDirSource                          # doctest: +SKIP
>>> result = run_strategy(load_strategy("strategies/buy_on_layoffs.toml"), load_catalog(),
...                       source=CsvDirSource("../shared/prices"))      # doctest: +SKIP
>>> print(result.summary())                                            # doctest: +SKIP

vectorbt is imported only when a simulation runs (:mod:`backtest.portfolio.simulate`).
"""

from backtest.portfolio.results import BacktestResult
from backtest.portfolio.run import run_strategy, select_events
from backtest.portfolio.strategy import (
    Limits,
    MissingAttributeError,
    Params,
    Strategy,
    StrategyError,
    default_strategy_dir,
    load_strategy,
    strategy_files,
)

__all__ = [
    "BacktestResult",
    "Limits",
    "MissingAttributeError",
    "Params",
    "Strategy",
    "StrategyError",
    "default_strategy_dir",
    "load_strategy",
    "run_strategy",
    "select_events",
    "strategy_files",
]
