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


# ---------------------------------------------- run --config: command line > file > environment


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Every variable set to places no configuration below names."""
    env = {k: tmp_path / f"env-{k.lower()}" for k in ("catalog", "prices", "cache")}
    for p in env.values():
        p.mkdir()
    monkeypatch.setenv("EVBT_CATALOG", str(env["catalog"]))
    monkeypatch.setenv("EVBT_PRICES_DIR", str(env["prices"]))
    monkeypatch.setenv("EVBT_CACHE_DIR", str(env["cache"]))
    monkeypatch.chdir(tmp_path)
    return env


def shown_config(config: Path, *args: str) -> dict[str, object]:
    import tomllib

    r = CliRunner().invoke(cli, ["run", "--config", str(config), "--show-config", *args])
    assert r.exit_code == 0, r.output
    return tomllib.loads(r.stdout)


def test_the_configuration_file_wins_over_the_environment(
    layoffs_only: Path, tmp_path: Path, elsewhere: dict[str, Path]
) -> None:
    # as a report's recorded config.toml: where its catalog and its prices come from
    config = tmp_path / "recorded.toml"
    config.write_text(
        f'[catalog]\npaths = ["{layoffs_only}"]\n[prices]\ndir = "{layoffs_only}"\n',
        encoding="utf-8",
    )
    shown = shown_config(config)
    assert shown["catalog"]["paths"] == [str(layoffs_only)]  # type: ignore[index]
    assert shown["prices"] == {"dir": str(layoffs_only)}
    # a recorded online run names its cache: $EVBT_PRICES_DIR does not make it a CSV run
    config.write_text(f'[prices]\ncache_dir = "{layoffs_only}"\n', encoding="utf-8")
    assert shown_config(config)["prices"] == {"cache_dir": str(layoffs_only)}


def test_the_command_line_wins_over_the_file_and_the_environment_fills_in(
    layoffs_only: Path, tmp_path: Path, elsewhere: dict[str, Path]
) -> None:
    config = tmp_path / "run.toml"
    config.write_text(f'[prices]\ndir = "{layoffs_only}"\n', encoding="utf-8")
    typed = tmp_path / "typed"
    shown = shown_config(config, "--prices-dir", str(typed), "--cache-dir", str(typed))
    assert shown["prices"] == {"dir": str(typed), "cache_dir": str(typed)}
    # a file that names no place for the prices: the environment's
    config.write_text("[strategies]\npaths = []\n", encoding="utf-8")
    shown = shown_config(config)
    assert shown["catalog"]["paths"] == [str(elsewhere["catalog"])]  # type: ignore[index]
    assert shown["prices"] == {
        "dir": str(elsewhere["prices"]),
        "cache_dir": str(elsewhere["cache"]),
    }


def test_a_missing_prices_folder_names_where_it_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.clirun import run_main

    monkeypatch.chdir(tmp_path)
    for k in ("EVBT_CATALOG", "EVBT_PRICES_DIR", "EVBT_CACHE_DIR"):
        monkeypatch.delenv(k, raising=False)
    config = tmp_path / "run.toml"
    config.write_text('[prices]\ndir = "nope"\n', encoding="utf-8")
    missing = "evbt: error: prices directory {}: does not exist (check {})\n"
    out = ["--out", str(tmp_path / "report"), "-q"]
    code, _, err = run_main(["run", "--config", str(config), *out], capsys)
    assert (code, err) == (1, missing.format(tmp_path / "nope", f"[prices] dir in {config}"))
    code, _, err = run_main(["run", "--prices-dir", "gone", *out], capsys)
    assert (code, err) == (1, missing.format(tmp_path / "gone", "--prices-dir"))
    monkeypatch.setenv("EVBT_PRICES_DIR", str(tmp_path / "gone"))
    code, _, err = run_main(["run", *out], capsys)
    assert (code, err) == (1, missing.format(tmp_path / "gone", "EVBT_PRICES_DIR"))
    assert not (tmp_path / "report").exists()
