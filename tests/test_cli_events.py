"""`evbt events list` and `evbt events validate`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from backtest.cli import cli, main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_list_json_has_sessions(repo_root: Path) -> None:
    code, out, _ = run("events", "list", "--catalog", str(repo_root / "events"), "--format", "json")
    assert code == 0
    records = {r["id"]: r for r in json.loads(out)}
    assert len(records) == 46
    busan = records["busan-trump-xi-summit"]
    for key in ("id", "title", "category", "scope", "date", "timing", "tickers", "sources"):
        assert key in busan
    assert busan["timing"] is None
    assert busan["time"] == "11:00"
    assert busan["timezone"] == "Asia/Seoul"
    assert busan["sessions"]["SPY"] == "2025-10-30"
    assert busan["sessions"]["9988.HK"] == "2025-10-30"
    assert busan["markets"]["9988.HK"] == "XHKG"
    assert records["obbb-signed"]["sessions"] == dict.fromkeys(
        ["META", "MSFT", "GOOGL", "AMZN"], "2025-07-07"
    )
    assert records["meta-threads"]["sessions"] == {"META": "2023-07-06"}
    assert records["kuaishou-2024q3-results"]["sessions"] == {"1024.HK": "2024-11-21"}


def test_list_filters_and_formats(repo_root: Path, tmp_path: Path) -> None:
    code, out, _ = run(
        "events", "list", "--catalog", str(repo_root / "events"),
        "--category", "layoff", "--ticker", "AMZN", "--format", "csv",
    )  # fmt: skip
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("event_id,ticker,is_primary,market,day0,date,timing")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "amzn-2025-10-layoffs-report",
        "amzn-2025-10-layoffs",
    ]
    code, out, _ = run("events", "list", "--catalog", str(repo_root / "events"), "--id",
                       "meta-threads")  # fmt: skip
    assert code == 0
    assert "meta-threads" in out
    assert "2023-07-06" in out
    target = tmp_path / "sub" / "events.json"
    code, _, err = run("events", "list", "--format", "json", "--out", str(target))
    assert code == 0
    assert f"wrote {target}" in err
    assert len(json.loads(target.read_text())) == 46


def test_validate_clean_catalog(repo_root: Path, shared_seeds_dir: Path) -> None:
    code, out, _ = run("events", "validate", str(repo_root / "events"), "--documents-dir",
                       str(shared_seeds_dir))  # fmt: skip
    assert code == 0
    assert out.strip() == "ok: 46 events in 5 file(s), no problems"


def test_validate_reports_every_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text("events:\n  - id: a\n    title: T\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("events: [\n", encoding="utf-8")
    code, out, err = run("events", "validate", "a.yaml", "b.yaml")
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0] == "a.yaml:2: entry a: field description: is missing: add an English " \
                       "description in your own words"  # fmt: skip
    assert any(line.startswith("b.yaml:2: YAML syntax error") for line in lines)
    assert len(lines) == 7  # description, category, scope, date, tickers, sources, b.yaml
    assert "7 problem(s) in 2 file(s); 0 valid event(s)" in err


def test_validate_missing_path_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    code, _, err = run("events", "validate", str(tmp_path / "missing.yaml"))
    assert code == 1
    assert "no such catalog file or folder" in err
    assert "Traceback" not in err


def test_main_turns_errors_into_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["events", "list", "--catalog", str(tmp_path / "nope")])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("evbt: error: ")
    assert "nope: no such catalog file or folder" in err


def test_events_command_does_not_import_vectorbt(repo_root: Path) -> None:
    code = (
        "import sys; from backtest.cli import main\n"
        "try:\n    main(['events', 'list', '--format', 'json'])\n"
        "except SystemExit:\n    pass\n"
        "assert not {'vectorbt', 'yfinance', 'numba'} & set(sys.modules), 'heavy import'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
