"""The ``evbt`` command line.

Every command turns evbt's own errors into a one-paragraph message on stderr and a non-zero exit
code; a traceback is shown only for internal errors when ``EVBT_DEBUG=1`` is set.
Exit codes: 0 success, 1 the command ran and found problems (or failed for a reason it
explains), 2 bad usage, 3 internal error.

The commands are imported only when one runs (or its ``--help`` is asked for), so ``evbt
--help`` starts fast and loads neither pandas nor numpy. The environment (``EVBT_CATALOG``,
``EVBT_PRICES_DIR``, ``EVBT_CACHE_DIR``, the working folder) is read here, at the edge, and
passed down as explicit arguments (:mod:`backtest.cli._env`).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import click

#: command name -> (module, attribute, one-line help shown by ``evbt --help``). The one-line
#: help is the first line of the command's docstring (a test keeps them equal), restated here
#: so that listing the commands imports none of them.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "events": (
        "backtest.cli.events",
        "events",
        "The events catalog: list events and their day-0 sessions, validate catalog files, "
        "import events from other sources.",
    ),
    "prices": (
        "backtest.cli.prices",
        "prices",
        "Daily prices: fetch them into the cache, show a ticker's series, check their quality.",
    ),
    "study": (
        "backtest.cli.study",
        "study",
        "Abnormal returns around events, with CAR/BHAR per window and the group test battery.",
    ),
    "backtest": (
        "backtest.cli.backtest",
        "backtest",
        "Backtest event-driven strategies (default: every file in strategies/).",
    ),
    "run": (
        "backtest.cli.run",
        "run",
        "Run the whole job and write the report.",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when first used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attr, _ = entry
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and name not in COMMANDS and not name.startswith("-"):
            from backtest.text import did_you_mean

            ctx.fail(f"no such command {name!r}{did_you_mean(name, list(COMMANDS))}")
        return super().resolve_command(ctx, args)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="evbt", prog_name="evbt")
def cli() -> None:
    """evbt: how did the market react to this kind of news, and could we have traded it?"""


#: the garbage collector's thresholds in an ``evbt`` process (Python's default: 700, 10, 10)
GC_THRESHOLDS = (50_000, 20, 20)


def one_shot_process() -> None:
    """Tune the garbage collector for a process that runs one command and exits.

    Importing vectorbt, numba and pandas creates some 300,000 objects that live as long as the
    process; with Python's default thresholds each full collection walks all of them again
    (six of them cost 0.7 s of the warm main job), and the interpreter's last collection at
    exit another 0.6-1 s. Collections stay on, only rarer (a young object is collected after
    50,000 allocations instead of 700, which bounds what uncollected cycles can hold), and the
    objects alive at exit are frozen so that the exit does not walk them: the operating system
    takes the memory back. Files are still flushed and closed and ``atexit`` handlers still run.
    """
    import atexit
    import gc

    gc.set_threshold(*GC_THRESHOLDS)
    atexit.register(gc.freeze)


def _keep_calendars() -> None:
    """Built exchange calendars are kept in the user's cache folder (``calendars/``) and read
    back by later commands of the same day (:func:`backtest.markets.keep_calendars_in`)."""
    from pathlib import Path

    import platformdirs

    from backtest.markets import keep_calendars_in

    keep_calendars_in(Path(platformdirs.user_cache_dir("evbt")) / "calendars")


@contextmanager
def evbt_warnings_as_lines() -> Iterator[None]:
    """Show evbt's own warnings (:class:`~backtest.errors.EvbtWarning`) as one
    ``evbt: warning: <message>`` line on standard error, as the command line's other warnings
    read, instead of Python's format with evbt's source file and line; others' warnings are
    shown as Python shows them. The filters (which warnings are shown at all) are unchanged."""
    import warnings

    from backtest.errors import EvbtWarning

    with warnings.catch_warnings():
        python_shows = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            if issubclass(category, EvbtWarning):
                click.echo(f"evbt: warning: {message}", err=True)
            else:
                python_shows(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point (``argv`` given: called from Python, e.g. tests, which
    keep the interpreter's garbage-collector settings)."""
    from backtest.errors import EvbtError

    if argv is None:
        one_shot_process()
        _keep_calendars()
    try:
        with evbt_warnings_as_lines():
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
