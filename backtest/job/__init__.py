"""The main job (``evbt run``): configuration, and the run that feeds the report.

The examples need the shared price files (``../shared/prices``), so they are not run:

>>> from backtest.job import load_config, run_job                       # doctest: +SKIP
>>> from backtest.prices import open_source                             # doctest: +SKIP
>>> source = open_source(prices_dir="../shared/prices")                 # doctest: +SKIP
>>> result = run_job(load_config(base="."), source=source)              # doctest: +SKIP
>>> print(result.summary())                                             # doctest: +SKIP

What runs without data: the configuration, its defaults and its TOML form.

>>> config = load_config(base="/tmp")
>>> config.name, config.study_spec().estimation
('evbt-run', (-250, -11))
>>> print(config.to_toml().splitlines()[0])
name = "evbt-run"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backtest._lazy import lazy_names

if TYPE_CHECKING:
    from backtest.job.config import ConfigError, RunConfig, load_config
    from backtest.job.runner import JobError, RunResult, run_job

#: Where each public name lives. They are loaded on first use (PEP 562), so that importing
#: ``backtest.job.spec_fields`` (what ``evbt study --help`` needs) imports neither pandas,
#: NumPy nor pydantic.
_WHERE = {
    "ConfigError": "config",
    "RunConfig": "config",
    "load_config": "config",
    "JobError": "runner",
    "RunResult": "runner",
    "run_job": "runner",
}

__all__ = ["ConfigError", "JobError", "RunConfig", "RunResult", "load_config", "run_job"]


__getattr__, __dir__ = lazy_names(__name__, {k: f"{__name__}.{m}" for k, m in _WHERE.items()})
