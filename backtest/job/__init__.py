"""The main job (``evbt run``): configuration, and the run that feeds the report.

>>> from backtest.job import load_config, run_job                       # doctest: +SKIP
>>> result = run_job(load_config(), prices_dir="../shared/prices")      # doctest: +SKIP
>>> print(result.summary())                                             # doctest: +SKIP
"""

from backtest.job.config import ConfigError, RunConfig, load_config
from backtest.job.runner import JobError, RunResult, run_job

__all__ = ["ConfigError", "JobError", "RunConfig", "RunResult", "load_config", "run_job"]
