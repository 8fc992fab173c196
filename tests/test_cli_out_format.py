"""``--out FILE`` without ``--format`` writes the format the file's extension names (.json,
.csv; any other: the table); a ``--format`` that contradicts a .json or .csv file is refused
before anything is computed."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from backtest.cli._output import output_format
from tests.clirun import run_main

#: META's Q1 2022 results; a strategy that trades it (as tests/test_cli_backtest.py)
STRATEGY = 'name = "s"\n[events]\nids = ["meta-2022q1-results"]\n[exit]\nhold = 1\n'


@pytest.mark.parametrize(
    ("fmt", "name", "want"),
    [
        (None, "x.json", "json"),
        (None, "x.JSON", "json"),
        (None, "x.csv", "csv"),
        (None, "x.txt", "table"),
        (None, "x.md", "table"),
        (None, "x", "table"),
        (None, None, "table"),
        ("json", None, "json"),
        ("json", "x.json", "json"),
        ("csv", "x.txt", "csv"),  # an extension that names no format takes any
        ("table", "x.md", "table"),
    ],
)
def test_output_format(fmt: str | None, name: str | None, want: str) -> None:
    assert output_format(fmt, None if name is None else Path(name)) == want


@pytest.mark.parametrize(
    ("fmt", "name"), [("table", "x.csv"), ("csv", "x.json"), ("json", "a.csv")]
)
def test_a_format_contradicting_the_extension_is_refused(fmt: str, name: str) -> None:
    with pytest.raises(click.UsageError, match=f"--format {fmt} contradicts --out {name}"):
        output_format(fmt, Path(name))


def _commands(tmp_path: Path, prices: Path, repo_root: Path) -> dict[str, list[str]]:
    strategy = tmp_path / "s.toml"
    strategy.write_text(STRATEGY, encoding="utf-8")
    return {
        "study": ["study", "--ids", "meta-2025q3-results", "--prices-dir", str(prices), "-q"],
        "events list": ["events", "list"],
        "prices check": ["prices", "check", "META", "--prices-dir", str(prices)],
        "backtest": [
            "backtest",
            str(strategy),
            "--catalog",
            str(repo_root / "events"),
            "--prices-dir",
            str(prices),
            "-q",
        ],
    }


@pytest.mark.parametrize("command", ["study", "events list", "prices check", "backtest"])
def test_every_command_writes_the_format_its_out_file_names(
    command: str,
    tmp_path: Path,
    shared_prices_dir: Path,
    repo_root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = _commands(tmp_path, shared_prices_dir, repo_root)[command]
    as_json, as_csv, as_text = tmp_path / "o.json", tmp_path / "o.csv", tmp_path / "o.txt"
    for target in (as_json, as_csv, as_text):
        code, _, err = run_main([*args, "--out", str(target)], capsys)
        assert code == 0, err
    json.loads(as_json.read_text(encoding="utf-8"))  # JSON, not the text table
    header = as_csv.read_text(encoding="utf-8").splitlines()[0]
    assert "," in header
    assert " " not in header.split(",")[0]
    code, out, _ = run_main(args, capsys)  # the text table, as on standard output
    assert code == 0
    assert as_text.read_text(encoding="utf-8").rstrip("\n") == out.rstrip("\n")
    # a contradiction is refused: nothing is written
    code, _, err = run_main([*args, "--format", "csv", "--out", str(tmp_path / "n.json")], capsys)
    assert code == 2
    assert f"--format csv contradicts --out {tmp_path / 'n.json'}" in err
    assert not (tmp_path / "n.json").exists()
