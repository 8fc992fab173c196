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
