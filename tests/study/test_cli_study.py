"""`evbt study` on the real catalog and prices, and on an ad-hoc events file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backtest.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def earnings_json(shared_prices_dir: Path, repo_root: Path) -> dict:  # type: ignore[type-arg]
    code, out, err = run(
        "study", "--catalog", str(repo_root / "events"), "--category", "earnings",
        "--prices-dir", str(shared_prices_dir), "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_meta_q3_2025_is_a_large_significant_negative_reaction(earnings_json: dict) -> None:  # type: ignore[type-arg]
    ev = {(e["event_id"], e["ticker"]): e for e in earnings_json["events"]}
    meta = ev[("meta-2025q3-results", "META")]
    day0 = meta["windows"]["[0,0]"]
    # META fell 11.3% on 2025-10-30 while SPY fell 1.1% (PROVENANCE.md)
    assert -0.13 < day0["car"] < -0.08
    assert day0["t"] < -5
    assert day0["p"] < 1e-6
    assert meta["ar"]["0"] == pytest.approx(day0["car"])
    assert meta["day0"] == "2025-10-30"
    assert meta["benchmark"] == "SPY"
    assert meta["params"]["n"] >= 120
    # confounded by the Busan summit, a catalog event outside the earnings category
    assert meta["flags"]["confounded_by"] == ["busan-trump-xi-summit"]
    assert meta["flags"]["clustered"]


def test_json_has_spec_groups_and_dropped(earnings_json: dict) -> None:  # type: ignore[type-arg]
    assert earnings_json["spec"]["model"] == "market"
    assert earnings_json["spec"]["windows"] == [[0, 0], [-1, 1], [0, 5], [-5, 20]]
    groups = {(g["group_by"], g["group"]): g for g in earnings_json["groups"]}
    allg = groups[("all", "all")]
    assert set(allg["AAR"]) == {str(d) for d in range(-20, 21)}
    caar = allg["CAAR"]["[-1,+1]"]
    for key in ("t", "patell", "bmp", "kp", "sign", "gsign", "rank", "wilcoxon"):
        assert key in caar
        assert f"{key}_p" in caar
    assert ("ticker", "1024.HK") in groups
    for d in earnings_json["dropped"]:
        assert d["stage"]
        assert d["reason"]
    assert earnings_json["prices"]["provenance"]["META"]["source"].startswith("csv:")


def test_table_output(shared_prices_dir: Path, repo_root: Path) -> None:
    code, out, _ = run(
        "study", "--catalog", str(repo_root / "events"), "--ids",
        "meta-2025q3-results,meta-2022-11-layoffs", "--prices-dir", str(shared_prices_dir),
    )  # fmt: skip
    assert code == 0
    assert "meta-2025q3-results" in out  # the text is the result's own summary
    assert "price source: csv" in out


def test_events_csv_and_csv_output(shared_prices_dir: Path, tmp_path: Path) -> None:
    f = tmp_path / "ev.csv"
    f.write_text(
        "event_id,ticker,date,timing,sector\n"
        "q3,META,2025-10-29,after_close,tech\n"
        "kling,1024.HK,2024-06-06,during,tech\n"
        "bad,NOPE,2024-06-06,during,tech\n",
        encoding="utf-8",
    )
    code, out, err = run(
        "study", "--events-csv", str(f), "--prices-dir", str(shared_prices_dir),
        "--group-by", "sector", "--format", "csv", "--max-loss", "0.5",
    )  # fmt: skip
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("event_id,ticker,window,start,end,car,car_se,t,p,bhar,scar")
    assert sum(1 for line in lines if line.startswith("kling,1024.HK")) == 4


def test_factor_model_needs_factors(shared_prices_dir: Path) -> None:
    from backtest.cli import main

    with pytest.raises(SystemExit) as info:
        main(["study", "--ids", "meta-2025q3-results", "--model", "factor",
              "--prices-dir", str(shared_prices_dir)])  # fmt: skip
    assert info.value.code == 1
