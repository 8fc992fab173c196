"""Startup: `import backtest` and `evbt --help` load neither pandas nor numpy (nor the engine),
and the command list `evbt --help` shows without importing the commands is theirs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "numpy", "scipy", "numba", "vectorbt", "pydantic", "yfinance", "plotly")


def _modules_after(code: str) -> dict[str, bool]:
    """Which heavy modules a fresh interpreter has loaded after running ``code``."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    loaded: dict[str, bool] = json.loads(out.strip().splitlines()[-1])
    return loaded


def test_import_backtest_loads_no_heavy_module() -> None:
    loaded = _modules_after("import backtest")
    assert not any(loaded.values()), loaded


def test_evbt_help_loads_no_heavy_module() -> None:
    code = (
        "import contextlib, io\n"
        "from backtest.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
    )
    loaded = _modules_after(code)
    assert not any(loaded.values()), loaded


def test_a_lazy_name_loads_its_module_on_first_use() -> None:
    loaded = _modules_after("import backtest\nbacktest.load_catalog")
    assert loaded["pandas"]  # the catalog needs it: loaded then, not before


def test_the_lazy_names_are_the_public_api() -> None:
    import backtest

    for name in backtest.__all__:
        assert getattr(backtest, name) is not None
    assert set(backtest.__all__) <= set(dir(backtest))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        backtest.nope  # noqa: B018


def test_the_command_list_is_each_commands_own_help() -> None:
    from click.testing import CliRunner

    from backtest.cli import COMMANDS, cli

    out = CliRunner().invoke(cli, ["--help"]).output
    for name, (_, _, short) in COMMANDS.items():
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None
        assert command.name == name
        first = " ".join((command.help or "").split())
        assert first.startswith(short), (name, short, first[:100])
        assert name in out


def test_a_misspelt_command_is_named_with_the_closest() -> None:
    from click.testing import CliRunner

    from backtest.cli import cli

    r = CliRunner().invoke(cli, ["sutdy"])
    assert r.exit_code == 2
    assert "Error: no such command 'sutdy'; did you mean 'study'?" in r.output


@pytest.mark.parametrize(
    "args",
    [
        ["events", "list"],
        ["study", "--ids", "meta-2025q3-results", "-q", "--prices-dir", "{prices}"],
        ["run", "--show-config", "--prices-dir", "{prices}"],
        ["backtest", "{bad}", "-q", "--prices-dir", "{prices}"],
    ],
    ids=["events-list", "study", "run-show-config", "backtest-refused-file"],
)
def test_commands_that_do_not_simulate_never_import_vectorbt(
    args: list[str], repo_root: object, shared_prices_dir: object, tmp_path: object
) -> None:
    """vectorbt (about 2 s to import) is loaded only by a process that simulates; a strategy
    file refused before anything runs does not load it either."""
    from pathlib import Path

    bad = Path(str(tmp_path)) / "bad.toml"
    bad.write_text("[exit]\nhold = 5000\n", encoding="utf-8")
    filled = [a.format(prices=shared_prices_dir, bad=bad) for a in args]
    code = (
        "import contextlib, io, os\n"
        f"os.chdir({str(repo_root)!r})\n"
        "from backtest.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()),"
        " contextlib.suppress(SystemExit):\n"
        f"    main({filled!r})\n"
    )
    loaded = _modules_after(code)
    assert loaded["pandas"]  # the command did run
    assert not loaded["vectorbt"]


def test_the_evbt_process_collects_garbage_rarely_and_exits_cleanly(tmp_path: Path) -> None:
    """The console entry point tunes the collector (rarer collections, nothing walked at exit);
    output is still flushed, ``atexit`` handlers and temporary-folder clean-up still run."""
    marker = tmp_path / "atexit.txt"
    code = (
        "import atexit, gc, sys, tempfile, pathlib\n"
        "tmp = tempfile.TemporaryDirectory()\n"
        "print(tmp.name)\n"
        f"out = pathlib.Path({str(marker)!r})\n"
        "atexit.register(lambda: out.write_text(str(gc.get_threshold())))\n"
        "sys.argv = ['evbt', '--version']\n"
        "from backtest.cli import main\n"
        "cycle = []; cycle.append(cycle)\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "evbt" in lines[-1]  # the version line, flushed at exit
    from backtest.cli import GC_THRESHOLDS

    assert not Path(lines[0]).exists()  # TemporaryDirectory's finalizer ran
    assert marker.read_text() == str(GC_THRESHOLDS)


def test_called_from_python_keeps_the_collector_settings() -> None:
    import contextlib
    import gc
    import io

    from backtest.cli import main

    before = gc.get_threshold()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(["--version"])
    assert gc.get_threshold() == before


def test_a_study_and_its_report_tables_do_not_import_scipy_stats(tmp_path: Path) -> None:
    """``scipy.stats`` costs a process about 0.5 s to import; a study (its tests, intervals
    and tables) uses only ``scipy.special``, so a process that does not backtest never loads
    it."""
    code = (
        "import numpy as np, pandas as pd\n"
        "from backtest.study import StudySpec, run_study\n"
        "from backtest.reports import tables\n"
        "idx = pd.bdate_range('2023-01-02', periods=400)\n"
        "rng = np.random.default_rng(0)\n"
        "r = rng.normal(0, 0.01, (400, 4))\n"
        "close = pd.DataFrame(100 * np.cumprod(1 + r, axis=0), index=idx,\n"
        "                     columns=['AAA', 'BBB', 'CCC', 'SPY'])\n"
        "ev = pd.DataFrame({'event_id': ['a', 'b', 'c'], 'ticker': ['AAA', 'BBB', 'CCC'],\n"
        "                   'day0': [idx[300], idx[310], idx[320]]})\n"
        "res = run_study(ev, close, StudySpec())\n"
        "assert len(res.events) == 3, res.dropped\n"
        "tables.t_half_width(np.array([0.01]), np.array([3]))\n"
        "res.summary()\n"
        "import sys\n"
        "print('scipy.stats loaded:', 'scipy.stats' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    assert "scipy.stats loaded: False" in out.splitlines(), out
