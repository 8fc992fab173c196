"""``evbt backtest``: a condition reads the command's own event study, whose context is every
event loaded plus ``--confounders`` (as ``evbt study`` measures), and every wait shows a status
line on standard error unless ``--quiet``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from backtest.cli import main

#: META's Q1 2022 results: AR(0) about +14%, so a "below -3%" condition skips it and says why
STRATEGY = (
    'name = "s"\n[events]\nids = ["meta-2022q1-results"]\n'
    '[condition]\nday = 0\nbelow = -0.03\nmodel = "market"\n[exit]\nhold = 1\n'
)
#: a META event inside meta-2022q1-results' estimation window (day 0 2022-04-28)
PLANTED = "id,ticker,date,timing,category,title\nplanted-meta,META,2022-03-15,during,corporate,x\n"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    got = capsys.readouterr()
    return int(info.value.code or 0), got.out, got.err


def condition_ar(out: str) -> float:
    (doc,) = json.loads(out)
    (row,) = doc["skipped"]
    found = re.fullmatch(r"condition not met: AR\(\+0\) = \+(\d+\.\d\d)%", row["reason"])
    assert found, row["reason"]
    return float(found.group(1)) / 100


def study_ar0(common: list[str], extra: list[str], capsys: pytest.CaptureFixture[str]) -> float:
    code, out, err = run(
        ["study", "--ids", "meta-2022q1-results", *common, *extra, "--format", "json", "-q"],
        capsys,
    )
    assert code == 0, err
    (event,) = json.loads(out)["events"]
    return float(event["ar"]["0"])


@pytest.mark.slow
def test_a_condition_is_measured_as_evbt_study_measures_it_with_the_confounders(
    tmp_path: Path,
    repo_root: Path,
    shared_prices_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    strategy = tmp_path / "s.toml"
    strategy.write_text(STRATEGY, encoding="utf-8")
    confounders = tmp_path / "planted.csv"
    confounders.write_text(PLANTED, encoding="utf-8")
    common = ["--catalog", str(repo_root / "events"), "--prices-dir", str(shared_prices_dir)]
    with_conf = ["--confounders", str(confounders)]

    code, out, err = run(["backtest", str(strategy), *common, "--format", "json", "-q"], capsys)
    assert code == 0, err
    plain = condition_ar(out)
    code, out, err = run(
        ["backtest", str(strategy), *common, *with_conf, "--format", "json", "-q"], capsys
    )
    assert code == 0, err
    confounded = condition_ar(out)
    # the planted event's window leaves the estimation window, so the model changes
    assert plain != confounded
    # and each is the AR(0) `evbt study` reports for the same event and context (to the
    # 0.01% the reason is written with)
    assert plain == pytest.approx(study_ar0(common, [], capsys), abs=5e-5)
    assert confounded == pytest.approx(study_ar0(common, with_conf, capsys), abs=5e-5)


def test_status_lines_on_stderr_and_quiet_silences_them(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strategy = tmp_path / "s.toml"
    strategy.write_text(STRATEGY, encoding="utf-8")
    args = ["backtest", str(strategy), "--catalog", str(repo_root / "events"),
            "--prices-dir", str(shared_prices_dir), "--format", "json"]  # fmt: skip
    code, out, err = run(args, capsys)
    assert code == 0, err
    for step in ("catalog", "event study (conditions)", "backtest s"):
        assert step in err
    assert json.loads(out)[0]["strategy"]["name"] == "s"  # standard output stays for results
    code, out, err = run([*args, "--quiet"], capsys)
    assert code == 0
    assert err == ""
    # nor that the file asked for was written
    target = tmp_path / "bt.json"
    assert run([*args, "--quiet", "--out", str(target)], capsys) == (0, "", "")
    assert json.loads(target.read_text(encoding="utf-8"))[0]["strategy"]["name"] == "s"


def test_an_events_period_selects_the_events_dated_in_it(
    tmp_path: Path,
    repo_root: Path,
    shared_prices_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``[events] start``/``end`` once ended ``evbt backtest`` with an internal error. Of the
    catalog's five layoff entries only Meta's of 2023-03-14 is dated in 2023."""
    strategy = tmp_path / "s.toml"
    strategy.write_text(
        'name = "s"\n[events]\ncategories = ["layoff"]\nstart = 2023-01-01\nend = 2023-12-31\n'
        "[exit]\nhold = 1\n",
        encoding="utf-8",
    )
    code, out, err = run(
        ["backtest", str(strategy), "--catalog", str(repo_root / "events"),
         "--prices-dir", str(shared_prices_dir), "--format", "json", "-q"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    (doc,) = json.loads(out)
    assert [t["event_id"] for t in doc["trades"]] == ["meta-2023-03-layoffs"]


def test_a_strategy_that_trades_nothing_has_the_csv_header_and_says_why(
    tmp_path: Path,
    repo_root: Path,
    shared_prices_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--format csv`` of a strategy that trades nothing printed only ``strategy``, with no
    reason: it prints the header of a strategy that trades (same parameters) and, on standard
    error, the skipped events with their reasons (the table format's, JSON's ``skipped``)."""
    common = ["--catalog", str(repo_root / "events"), "--prices-dir", str(shared_prices_dir)]
    headers = {}
    for name, lag in (("lag-999", 999), ("lag-0", 0)):
        strategy = tmp_path / f"{name}.toml"
        strategy.write_text(
            f'name = "{name}"\n[events]\ncategories = ["layoff"]\n[entry]\nlag = {lag}\n'
            "[exit]\nhold = 1\n",
            encoding="utf-8",
        )
        code, out, err = run(["backtest", str(strategy), *common, "--format", "csv", "-q"], capsys)
        assert code == 0, err
        headers[name], *rows = out.splitlines()
        assert (len(rows) == 0) == (name == "lag-999")
        if name == "lag-999":
            assert err.splitlines()[:2] == [
                "evbt: note: lag-999 made no trade, so it has no row in the CSV; every event "
                "was skipped (5 event-ticker reasons):",
                "- meta-2022-11-layoffs META: needs prices to 2026-11-05 for a 1-session hold; "
                "the data ends 2026-08-21",
            ]
            assert len(err.splitlines()) == 6
        else:
            assert err == ""
    assert headers["lag-999"] == headers["lag-0"]
    assert headers["lag-0"].startswith("combo,portfolio,market,kind,subject,")
    assert headers["lag-0"].endswith(",label,entry.lag,exit.hold,position.size,costs.fees,"
                                     "costs.slippage,strategy")  # fmt: skip


def test_more_than_twelve_skipped_events_point_to_an_option_the_command_line_has(
    tmp_path: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CSV note and the table listed 12 skipped events and sent the rest to ``.skipped``,
    the Python attribute, which a command-line user cannot see; ``--format json`` lists
    every one, under ``skipped``."""
    catalog = tmp_path / "late.csv"
    catalog.write_text(
        "id,ticker,date,timing,category,title\n"
        + "".join(f"e{i:02d},META,2024-01-{i + 2:02d},during,corporate,x\n" for i in range(14)),
        encoding="utf-8",
    )
    strategy = tmp_path / "late.toml"
    strategy.write_text('name = "late"\n[entry]\nlag = 999\n[exit]\nhold = 1\n', encoding="utf-8")
    common = [str(strategy), "--catalog", str(catalog), "--prices-dir", str(shared_prices_dir)]
    more = '- ... and 2 more (run again with --format json to list them all, under "skipped")'

    code, out, err = run(["backtest", *common, "--format", "csv", "-q"], capsys)
    assert code == 0, err
    lines = err.splitlines()
    assert lines[0] == (
        "evbt: note: late made no trade, so it has no row in the CSV; every event was skipped "
        "(14 event-ticker reasons):"
    )
    assert [line.split()[1] for line in lines[1:13]] == [f"e{i:02d}" for i in range(12)]
    assert lines[13:] == [more]

    code, out, err = run(["backtest", *common, "-q"], capsys)
    assert code == 0, err
    assert out.splitlines()[-1].strip() == more

    code, out, err = run(["backtest", *common, "--format", "json", "-q"], capsys)
    assert code == 0, err
    (doc,) = json.loads(out)
    assert sorted(r["event_id"] for r in doc["skipped"]) == [f"e{i:02d}" for i in range(14)]


def test_the_table_points_to_the_formats_that_list_every_combination(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table shows the first 4 combinations and sent the rest to ``.metrics``."""
    strategy = tmp_path / "sweep.toml"
    strategy.write_text(
        'name = "sweep"\n[events]\ncategories = ["layoff"]\n[exit]\nhold = [1, 2, 3, 4, 5]\n',
        encoding="utf-8",
    )
    common = [str(strategy), "--catalog", str(repo_root / "events"),
              "--prices-dir", str(shared_prices_dir), "-q"]  # fmt: skip
    code, out, err = run(["backtest", *common], capsys)
    assert code == 0, err
    assert (
        "1 more combinations in the output of --format csv or --format json (shown: the first "
        "in grid order)"
    ) in [line.strip() for line in out.splitlines()]
    code, out, err = run(["backtest", *common, "--format", "csv"], capsys)
    assert code == 0, err
    assert {line.split(",")[0] for line in out.splitlines()[1:]} == {"0", "1", "2", "3", "4"}
