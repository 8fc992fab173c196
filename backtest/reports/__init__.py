"""Investor reports: render a run's results as HTML (with charts), Markdown and tables.

This package only renders: every number comes from the results of :func:`backtest.job.run_job`
(event study, backtests, claims, price provenance). :func:`write_report` writes the folder.
"""

from backtest.reports.write import write_report

__all__ = ["write_report"]
