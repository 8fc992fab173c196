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


# ------------------------------------------------------------------ events list in a terminal


def test_list_at_100_columns_shows_id_date_category_and_title(
    repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = run("events", "list", "--catalog", str(repo_root / "events"))
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100
    header = next(line for line in lines if "┃" in line)
    names = [h.strip() for h in header.strip("┃").split("┃")]
    assert names[:2] == ["id", "date"]
    assert "category" in names
    assert names[-1] == "title"
    row = next(line for line in lines if "busan-trump-xi-summit" in line)
    assert "2025-10-30" in row
    assert "trade_summit" in row
    assert "Trump" in out  # the title (wrapped within its column)


def test_a_long_ticker_list_is_shortened(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run("events", "list", "--catalog", str(repo_root / "events"), "--id",
                       "busan-trump-xi-summit")  # fmt: skip
    assert code == 0
    from backtest.catalog import load_catalog

    tickers = load_catalog([repo_root / "events"]).get("busan-trump-xi-summit").tickers
    assert len(tickers) == 13
    assert f"{tickers[0]}, {tickers[1]} +11" in out
    assert "busan-trump-xi-summit" in out
    assert "2025-10-30" in out


def test_short_tickers() -> None:
    from backtest.cli.events import short_tickers

    assert short_tickers(("META", "MSFT", "AMZN")) == "META, MSFT, AMZN"
    assert short_tickers(tuple(f"T{i}" for i in range(13))) == "T0, T1 +11"


def test_list_and_validate_read_csv_catalogs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("c.csv").write_text(
        "id,ticker,date,timing,category,surprise_pct\n"
        "meta-2025-10-29-earnings,META,2025-10-29,after_close,earnings,8.66\n"
    )
    code, out, _ = run("events", "validate", "c.csv")
    assert (code, out.strip()) == (0, "ok: 1 events in 1 file(s), no problems")
    code, out, _ = run("events", "list", "--catalog", "c.csv", "--format", "csv")
    assert code == 0
    assert out.splitlines()[0].endswith(",same_news_as,model,surprise_pct")
    assert out.splitlines()[1].startswith("meta-2025-10-29-earnings,META,True,XNYS,2025-10-30,")
    assert out.splitlines()[1].endswith(",8.66")


# ------------------------------------------------------------------ events import earnings

CALENDAR = (
    "EarningsDate,EPS Estimate,Reported EPS,Surprise(%)\n"
    "2026-01-28 16:00:00-05:00,8.17,,\n"
    "2025-10-29 16:00:00-04:00,6.67,7.25,8.66\n"
    "2025-07-30 16:00:00-04:00,5.9,seven,20.96\n"
    "2024-08-01 12:00:00-04:00,4.2,4.4,4.8\n"
)


@pytest.fixture
def calendars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("cal").mkdir()
    Path("cal/META.csv").write_text(CALENDAR)
    Path("cal/AMZN.csv").write_text(
        CALENDAR.splitlines()[0] + "\n2025-10-30 16:00:00-04:00,1.56,1.95,25.3\n"
    )
    return tmp_path


def test_import_writes_a_csv_catalog_and_names_the_malformed_row(calendars: Path) -> None:
    code, _, err = run("events", "import", "earnings", "META", "--from", "cal", "--out",
                       "meta.csv")  # fmt: skip
    assert code == 1  # a malformed row is an error; the other rows are still imported
    assert "evbt: cal/META.csv:4: column Reported EPS: 'seven' is not a number" in err
    assert "imported 2 earnings events of 1 ticker(s) from cal; rows left out: 1 scheduled " \
           "(use --include-scheduled), 1 malformed" in err  # fmt: skip
    from backtest.catalog import load_catalog

    catalog = load_catalog(["meta.csv"], strict=True)
    assert catalog.ids == ("meta-2024-08-01-earnings", "meta-2025-10-29-earnings")
    assert [e.timing for e in catalog] == ["unknown", "after_close"]
    assert catalog.get("meta-2025-10-29-earnings").attributes["surprise_pct"] == 8.66


def test_import_to_standard_output_and_to_yaml(calendars: Path) -> None:
    code, out, _ = run("events", "import", "earnings", "AMZN", "--from", "cal")
    assert code == 0
    assert out.splitlines()[0] == (
        "id,ticker,date,timing,category,scope,title,description,source,eps_estimate,"
        "eps_reported,surprise_pct"
    )
    assert out.splitlines()[1].startswith("amzn-2025-10-30-earnings,AMZN,2025-10-30,after_close,")
    code, _, _ = run("events", "import", "earnings", "--from", "cal", "--since", "2025-01-01",
                     "--include-scheduled", "--out", "all.yaml", "-q")  # fmt: skip
    assert code == 1  # META's malformed row
    from backtest.catalog import load_catalog

    catalog = load_catalog(["all.yaml"], strict=True)
    assert catalog.ids == (
        "amzn-2025-10-30-earnings", "meta-2025-10-29-earnings", "meta-2026-01-28-earnings",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "name the tickers to fetch, or read saved calendars with --from"),
        (["--from", "cal", "--out", "x.json"], "the catalog is written as .csv or .yaml/.yml"),
        (["--from", "cal", "--out", "cal/META.csv"], "is a calendar being read"),
        (["--from", "cal", "--out", "cal/new.csv"], "in a folder of them"),
        (["--from", "cal", "--since", "2025-02-01", "--until", "2025-01-01"], "is after --until"),
        (["--from", "cal", "--since", "2025-13-01"], "'2025-13-01' does not match the format"),
        (["--from", "nowhere"], "'nowhere' does not exist"),
    ],
)
def test_import_usage_errors(calendars: Path, args: list[str], message: str) -> None:
    code, _, err = run("events", "import", "earnings", *args)
    assert code == 2
    assert message in err
    assert Path("cal/META.csv").read_text() == CALENDAR  # an input is never overwritten


def test_import_does_not_import_yfinance_when_reading_files(calendars: Path) -> None:
    code = (
        "import sys; from backtest.cli import main\n"
        "try:\n    main(['events', 'import', 'earnings', 'AMZN', '--from', 'cal', '-q'])\n"
        "except SystemExit:\n    pass\n"
        "assert not {'vectorbt', 'yfinance', 'numba'} & set(sys.modules), 'heavy import'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=calendars, capture_output=True, text=True, check=False,
        env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_at_100_columns_every_event_has_its_whole_id_date_category_and_title(
    repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = run("events", "list", "--catalog", str(repo_root / "events"))
    assert code == 0
    assert "…" not in out  # nothing cut off
    lines = out.splitlines()
    cells = [[c.strip() for c in line.strip("│").split("│")] for line in lines if "│" in line]
    # the expectations come from the YAML files themselves, read with PyYAML
    entries = [
        e
        for f in sorted((repo_root / "events").glob("*.yaml"))
        for e in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("events", [])
    ]
    assert len(entries) == 46
    for e in entries:
        (i,) = [k for k, row in enumerate(cells) if row[0] == e["id"]]
        assert cells[i][1] == str(e["date"])
        assert cells[i][2] == e["category"]
        # the title, wrapped within its column over the row's lines
        title_lines = [cells[i][3]]
        for row in cells[i + 1 :]:
            if row[0]:
                break
            title_lines.append(row[3])
        assert " ".join(t for t in title_lines if t) == " ".join(e["title"].split())


def test_list_says_which_command_shows_the_catalog_problems(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list's title names the command that shows the problems (not the API's
    ``.problems``), and that command does show them."""
    monkeypatch.setenv("COLUMNS", "200")
    bad = tmp_path / "my events" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text("events:\n  - id: x\n    date: 2025-02-30\n    title: t\n", encoding="utf-8")
    code, out, err = run(
        "events", "list", "--catalog", str(repo_root / "events"), "--catalog", str(bad.parent)
    )
    assert code == 0
    flat = " ".join(out.split())
    command = f"evbt events validate '{bad}'"  # quoted: the folder has a space
    assert f"problem(s), see `{command}`" in flat
    assert ".problems" not in out
    assert "left out (see `evbt events validate`)" in err
    code, shown, _ = run("events", "validate", str(bad))
    assert code == 1
    assert f"{bad}:3: entry x: field date: '2025-02-30' is not a valid date" in shown


def test_the_warning_counts_entries_left_out_and_their_problems(tmp_path: Path) -> None:
    """Two entries sharing an id (the first with a problem of its own, the second a
    duplicate), an entry with two problems and a good one: 3 entries left out, 4 problems
    (the old warning said "4 catalog problem(s)"); a file that is no catalog adds a problem
    of no entry."""
    entry = (
        "  - id: {id}\n    title: t\n    description: d\n    category: layoff\n"
        "    scope: company\n    date: {date}\n    timing: {timing}\n    tickers: [AAPL]\n"
        "    sources:\n      - document: a.txt\n        says: s\n"
    )
    (tmp_path / "events.yaml").write_text(
        "events:\n"
        + entry.format(id="twice", date="2024-04-03", timing="sometime")
        + entry.format(id="twice", date="2024-04-04", timing="before_open")
        + entry.format(id="two", date="2024-02-30", timing="whenever")
        + entry.format(id="good", date="2024-04-05", timing="before_open"),
        encoding="utf-8",
    )
    code, out, err = run("events", "list", "--catalog", str(tmp_path))
    assert code == 0
    assert "good" in out
    assert err.strip() == (
        "evbt: warning: 3 catalog entries (4 problems) left out (see `evbt events validate`)."
    )
    (tmp_path / "other.yaml").write_text("- just a list\n", encoding="utf-8")
    code, out, err = run("events", "list", "--catalog", str(tmp_path))
    assert err.strip() == (
        "evbt: warning: 3 catalog entries (5 problems, 1 of them about a whole file or "
        "declaration) left out (see `evbt events validate`)."
    )


# ------------------------------------------------------------- --out that cannot be written


def test_an_out_that_cannot_be_written_is_refused_before_anything_is_computed(
    calendars: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.clirun import run_main

    Path("afile").write_text("not a folder\n", encoding="utf-8")
    refused = f"cannot be written: {calendars / 'afile'} is not a folder"
    for args in (
        ["events", "import", "earnings", "AMZN", "--from", "cal", "-q", "--out", "afile/x.csv"],
        ["events", "list", "--format", "json", "--out", "afile/a/b.json"],
        # before the study: its prices folder does not even exist
        ["study", "--prices-dir", "nowhere", "-q", "--out", "afile/study.txt"],
        ["backtest", "--prices-dir", "nowhere", "-q", "--out", "afile/bt.json"],
    ):
        code, out, err = run_main(args, capsys)
        assert (code, out, err) == (1, "", f"evbt: error: {args[-1]}: {refused}\n"), args


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_out_in_a_folder_that_takes_no_files_is_refused(
    calendars: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.clirun import run_main

    code, out, err = run_main(["events", "list", "--out", "/proc/evbt.txt"], capsys)
    assert (code, out) == (1, "")
    assert err == "evbt: error: /proc/evbt.txt: cannot be written: No such file or directory\n"


def test_a_write_that_fails_is_one_line_naming_the_file(
    calendars: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    import backtest.atomic
    from tests.clirun import run_main

    def full(path: object, text: str, *, fsync: bool = True) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(backtest.atomic, "write_text", full)
    code, out, err = run_main(["events", "list", "--out", "sub/list.txt"], capsys)
    assert (code, out, err) == (
        1,
        "",
        "evbt: error: sub/list.txt: cannot be written: the disk is full\n",
    )


def test_quiet_says_nothing_of_the_file_written(
    calendars: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.clirun import run_main

    args = ["events", "import", "earnings", "AMZN", "--from", "cal", "--out", "amzn.csv"]
    assert run_main([*args, "-q"], capsys) == (0, "", "")
    assert Path("amzn.csv").read_text(encoding="utf-8").startswith("id,ticker,date,")
    code, out, err = run_main(args, capsys)
    assert (code, out) == (0, "")
    assert err.startswith("wrote amzn.csv\nimported 1 earnings events of 1 ticker(s) from cal")
