"""One set of limits (issue 11): the run configuration's ``[limits]`` bound the study's windows
(``sessions``, ``windows``: StudySpec's ``max_offset`` and ``max_windows``) and the strategies'
sweeps and sessions (``combinations``, ``sessions``), through ``evbt run`` and ``evbt backtest``,
each refusal worded the same way: the limit, what was asked, the setting that raises it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backtest.job import load_config


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from backtest.cli import main

    with pytest.raises(SystemExit) as info:
        main(args)
    got = capsys.readouterr()
    return int(info.value.code or 0), got.out, got.err


WINDOWS_60 = ", ".join(f"[0, {k}]" for k in range(60))


@pytest.mark.parametrize(
    ("study", "limits", "message"),
    [
        ("path = [-2000, 20]", "",
         "field study.path: at most 1,000 sessions from day 0, asked for 2,000 (-2000, 20); "
         "raise [limits] sessions in the run configuration"),
        ("estimation = [-1300, -11]", "[limits]\nsessions = 1200\n",
         "field study.estimation: at most 1,200 sessions from day 0, asked for 1,300 "
         "(-1300, -11); raise [limits] sessions in the run configuration"),
        (f"windows = [{WINDOWS_60}]", "",
         "field study.windows: at most 50 event windows, asked for 60; raise [limits] windows "
         "in the run configuration"),
        ("max_offset = 5000", "",
         "field study.max_offset: set in [limits] sessions, not in [study]"),
    ],
    ids=["path", "estimation-raised-limit", "windows", "max_offset-moved"],
)  # fmt: skip
def test_study_limits_of_the_run_configuration(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    study: str,
    limits: str,
    message: str,
) -> None:
    config = write(tmp_path / "run.toml", f"[study]\n{study}\n{limits}")
    code, out, err = run_main(["run", "--config", str(config), "--show-config"], capsys)
    assert code == 1
    assert out == ""
    assert err == f"evbt: error: {config}: {message}\n"


def test_raised_limits_are_the_study_specs_and_the_strategies(tmp_path: Path) -> None:
    config = write(
        tmp_path / "run.toml",
        f"[study]\npath = [-2000, 20]\nwindows = [{WINDOWS_60}]\n"
        "[limits]\nsessions = 2000\nwindows = 60\ncombinations = 7\n",
    )
    loaded = load_config(config)
    spec = loaded.study_spec()
    assert (spec.max_offset, spec.max_windows) == (2000, 60)
    assert spec.path == (-2000, 20)
    assert len(spec.windows) == 60
    # a [limits] sessions below the default estimation window refuses the study too
    low = write(tmp_path / "low.toml", "[limits]\nsessions = 200\n")
    with pytest.raises(ValueError, match=r"field study.estimation: at most 200 sessions from day "
                       r"0, asked for 250 \(-250, -11\); raise \[limits\] sessions"):  # fmt: skip
        load_config(low)
    limits = loaded.strategy_limits()
    assert (limits.max_combinations, limits.max_sessions) == (7, 2000)
    # the recorded configuration repeats the limits, and [study] does not carry them twice
    text = loaded.to_toml()
    assert "[limits]\ncombinations = 7\nsessions = 2000\nwindows = 60\n" in text
    study_part = text.split("[study]")[1].split("[strategies]")[0]
    assert "max_offset" not in study_part
    assert "max_windows" not in study_part
    again = write(tmp_path / "again.toml", text)
    assert load_config(again).study_spec() == spec


SWEEP = 'name = "sweep"\n[exit]\nhold = [1, 2, 400]\n[entry]\nlag = [0, 1]\n'


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ("combinations = 5",
         "at most 5 parameter combinations of a sweep, asked for 6 (2 entry.lag x 3 exit.hold); "
         "raise [limits] combinations in the run configuration"),
        ("sessions = 300",  # the study's default estimation window (-250, -11) still fits
         "field exit.hold: at most 300 sessions, asked for 400; raise [limits] sessions in the "
         "run configuration"),
    ],
    ids=["sweep", "sessions"],
)  # fmt: skip
def test_strategy_limits_through_evbt_backtest(
    tmp_path: Path,
    shared_prices_dir: Path,
    repo_root: Path,
    capsys: pytest.CaptureFixture[str],
    limits: str,
    message: str,
) -> None:
    strategy = write(tmp_path / "sweep.toml", SWEEP)
    config = write(tmp_path / "run.toml", f"[limits]\n{limits}\n")
    code, out, err = run_main(
        ["backtest", str(strategy), "--config", str(config), "--catalog",
         str(repo_root / "events"), "--prices-dir", str(shared_prices_dir), "-q"],
        capsys,
    )  # fmt: skip
    assert code == 1
    assert err == f"evbt: error: {strategy}: {message}\n"
    assert out == ""  # refused before anything ran
    assert message.endswith("the run configuration")


def test_a_sweep_beyond_the_default_limit_is_refused_by_evbt_backtest(
    tmp_path: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holds = ", ".join(str(h) for h in range(1, 101))
    lags = ", ".join(str(x) for x in range(101))
    strategy = write(tmp_path / "huge.toml", f"[exit]\nhold = [{holds}]\n[entry]\nlag = [{lags}]\n")
    code, _, err = run_main(
        ["backtest", str(strategy), "--prices-dir", str(shared_prices_dir), "-q"], capsys
    )
    assert code == 1
    assert err == (
        f"evbt: error: {strategy}: at most 10,000 parameter combinations of a sweep, asked for "
        "10,100 (101 entry.lag x 100 exit.hold); raise [limits] combinations in the run "
        "configuration\n"
    )


#: a strategy without a condition (it runs no event study) and one with a condition (it reads
#: the conditions' event study: evbt study's defaults, estimation (-250, -11), path (-20, 20),
#: windows up to (-5, 20))
PLAIN = 'name = "plain"\n[events]\nids = ["meta-2022q1-results"]\n[exit]\nhold = 1\n'
CONDITIONED = (
    'name = "conditioned"\n[events]\nids = ["meta-2022q1-results"]\n'
    '[condition]\nday = 0\nbelow = -0.03\nmodel = "market"\n[exit]\nhold = 1\n'
)
#: [limits] sessions below the [study] defaults, and [study] settings evbt backtest does not use
LOW = "[limits]\nsessions = 10\n"


@pytest.mark.parametrize("study", ["", "[study]\nestimation = [30, 250]\n"], ids=["none", "bad"])
def test_evbt_backtest_does_not_check_the_study_settings_it_does_not_use(
    tmp_path: Path,
    shared_prices_dir: Path,
    repo_root: Path,
    capsys: pytest.CaptureFixture[str],
    study: str,
) -> None:
    """It was refused for the [study] defaults (and settings) beyond [limits] sessions."""
    strategy = write(tmp_path / "plain.toml", PLAIN)
    config = write(tmp_path / "run.toml", LOW + study)
    code, out, err = run_main(
        ["backtest", str(strategy), "--config", str(config), "--catalog",
         str(repo_root / "events"), "--prices-dir", str(shared_prices_dir), "--format", "json",
         "-q"],
        capsys,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert [r["strategy"]["name"] for r in json.loads(out)] == ["plain"]


def test_evbt_backtest_keeps_the_conditions_event_study_within_the_limits(
    tmp_path: Path, shared_prices_dir: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The conditions' event study reads beyond [limits] sessions: the conditioned strategy is
    refused before anything runs (each window named), the other still runs."""
    plain = write(tmp_path / "plain.toml", PLAIN)
    conditioned = write(tmp_path / "conditioned.toml", CONDITIONED)
    config = write(tmp_path / "run.toml", LOW)
    code, out, err = run_main(
        ["backtest", str(plain), str(conditioned), "--config", str(config), "--catalog",
         str(repo_root / "events"), "--prices-dir", str(shared_prices_dir), "--format", "json",
         "-q"],
        capsys,
    )  # fmt: skip
    assert code == 1
    raise_it = "raise [limits] sessions in the run configuration"
    assert err == (
        f"evbt: error: {conditioned}: field condition: the conditions' event study's estimation: "
        f"at most 10 sessions from day 0, asked for 250 (-250, -11); {raise_it}\n"
        f"evbt: error: {conditioned}: field condition: the conditions' event study's path: "
        f"at most 10 sessions from day 0, asked for 20 (-20, 20); {raise_it}\n"
        f"evbt: error: {conditioned}: field condition: the conditions' event study's "
        f"windows[3]: at most 10 sessions from day 0, asked for 20 (-5, 20); {raise_it}\n"
    )
    assert [r["strategy"]["name"] for r in json.loads(out)] == ["plain"]


def test_evbt_run_still_checks_the_study_against_the_limits(
    tmp_path: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "run.toml", LOW)
    code, out, err = run_main(
        ["run", "--config", str(config), "--prices-dir", str(shared_prices_dir), "--out",
         str(tmp_path / "report"), "-q"],
        capsys,
    )  # fmt: skip
    raise_it = "raise [limits] sessions in the run configuration"
    assert (code, out) == (1, "")
    assert err == (
        f"evbt: error: {config}: field study.estimation: at most 10 sessions from day 0, asked "
        f"for 250 (-250, -11); {raise_it}\n"
        f"{config}: field study.path: at most 10 sessions from day 0, asked for 20 (-20, 20); "
        f"{raise_it}\n"
        f"{config}: field study.windows[3]: at most 10 sessions from day 0, asked for 20 "
        f"(-5, 20); {raise_it}\n"
    )
    assert not (tmp_path / "report").exists()
