"""The environment is read at the edge: the command line honours $EVBT_CATALOG, ./events,
./strategies, $EVBT_PRICES_DIR and $EVBT_CACHE_DIR; library calls look at none of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from backtest.cli import cli
from backtest.cli._env import catalog_paths, strategy_paths


@pytest.fixture
def layoffs_only(tmp_path: Path, repo_root: Path) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(repo_root / "events" / "layoffs.yaml", folder)
    return folder


def listed_categories(*args: str) -> set[str]:
    r = CliRunner().invoke(cli, ["events", "list", "--format", "json", *args])
    assert r.exit_code == 0, r.output
    return {e["category"] for e in json.loads(r.stdout)}


def test_the_command_line_reads_evbt_catalog_and_the_library_does_not(
    layoffs_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backtest import load_catalog

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVBT_CATALOG", str(layoffs_only))
    assert listed_categories() == {"layoff"}
    assert len(load_catalog()) == 46  # the shipped catalog: the variable is not the library's
    # --catalog wins over the variable
    assert "earnings" in listed_categories("--catalog", str(Path(load_catalog().files[0]).parent))


def test_a_users_events_folder_wins_on_the_command_line_only(
    layoffs_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backtest import load_catalog

    monkeypatch.delenv("EVBT_CATALOG", raising=False)
    shutil.copytree(layoffs_only, tmp_path / "events")
    monkeypatch.chdir(tmp_path)
    assert listed_categories() == {"layoff"}
    assert catalog_paths() == [tmp_path / "events"]
    assert len(load_catalog()) == 46


def test_the_defaults_without_anything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backtest.resources import shipped_dir

    monkeypatch.delenv("EVBT_CATALOG", raising=False)
    assert catalog_paths(cwd=tmp_path) == [shipped_dir("events")]
    assert strategy_paths(cwd=tmp_path) == [shipped_dir("strategies")]
    (tmp_path / "strategies").mkdir()
    assert strategy_paths(cwd=tmp_path) == [tmp_path / "strategies"]
    assert catalog_paths(["a.yaml"], environ={"EVBT_CATALOG": "b.yaml"}) == [Path("a.yaml")]
    assert catalog_paths(environ={"EVBT_CATALOG": "b.yaml:c"}, cwd=tmp_path) == [
        Path("b.yaml"),
        Path("c"),
    ]


def test_the_run_records_the_places_the_environment_named(
    layoffs_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tomllib

    cache = tmp_path / "cache"
    monkeypatch.setenv("EVBT_CATALOG", str(layoffs_only))
    monkeypatch.setenv("EVBT_PRICES_DIR", str(tmp_path))
    monkeypatch.setenv("EVBT_CACHE_DIR", str(cache))
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["run", "--show-config"])
    assert r.exit_code == 0, r.output
    shown = tomllib.loads(r.stdout)
    assert shown["catalog"]["paths"] == [str(layoffs_only.resolve())]
    assert shown["prices"] == {"dir": str(tmp_path.resolve()), "cache_dir": str(cache.resolve())}
    assert shown["output"]["dir"] == str((tmp_path / "reports").resolve())
