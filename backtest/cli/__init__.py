"""The ``evbt`` command line.

Every command turns evbt's own errors into a one-paragraph message on stderr and a non-zero exit
code; a traceback is shown only for internal errors when ``EVBT_DEBUG=1`` is set.
Exit codes: 0 success, 1 the command ran and found problems (or failed for a reason it
explains), 2 bad usage, 3 internal error.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from backtest.cli.backtest import backtest
from backtest.cli.events import events
from backtest.cli.prices import prices
from backtest.cli.run import run
from backtest.cli.study import study


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="evbt", prog_name="evbt")
def cli() -> None:
    """evbt: how did the market react to this kind of news, and could we have traded it?"""


cli.add_command(events)
cli.add_command(prices)
cli.add_command(study)
cli.add_command(backtest)
cli.add_command(run)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    from backtest.errors import EvbtError

    try:
        return cli.main(args=argv, prog_name="evbt", standalone_mode=True)
    except EvbtError as exc:
        click.echo(f"evbt: error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # a bug: say so plainly, keep the traceback for debugging
        if os.environ.get("EVBT_DEBUG"):
            raise
        click.echo(
            f"evbt: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in evbt; run again with EVBT_DEBUG=1 to see the traceback.",
            err=True,
        )
        sys.exit(3)
