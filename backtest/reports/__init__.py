"""Investor reports: render a run's results as HTML pages (with charts), Markdown, tables and
an Excel workbook.

This package only renders: every number comes from the results of :func:`backtest.job.run_job`
(event study, backtests, claims, price provenance). :func:`write_report` writes the folder;
:func:`write_pdf` prints its main page to PDF when Chromium is installed.
"""

from backtest.reports.folder import FORMAT, check_destination, is_report
from backtest.reports.pdf import write_pdf
from backtest.reports.write import write_report

__all__ = ["FORMAT", "check_destination", "is_report", "write_pdf", "write_report"]
