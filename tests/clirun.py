"""Running the ``evbt`` entry point in the test process."""

from __future__ import annotations

import pytest

from backtest.cli import main


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``evbt ARGS`` in-process: its exit code, standard output and standard error."""
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    got = capsys.readouterr()
    return code, got.out, got.err
