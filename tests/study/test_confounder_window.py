"""Confounders (earnings calendars) are kept out of estimation windows only over
``confounder_window`` around their day 0, so the default study survives them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backtest import load_catalog
from backtest.cli import cli


@pytest.mark.xfail(
    strict=False,
    reason="cli/study.py marks confounders only once evbt backtest/run do too (REQUEST in "
    "/work/coord/notes/study3.md): the two must measure a condition alike",
)
def test_default_study_with_the_catalogs_earnings_calendars_measures_nearly_every_row(
    repo_root: Path, shared_prices_dir: Path
) -> None:
    shared = shared_prices_dir.parent
    tickers = sorted({t for e in load_catalog([repo_root / "events"]).events for t in e.tickers})
    files = [shared / "sp500" / "earnings" / f"{t}.csv" for t in tickers]
    files = [f for f in files if f.exists()]
    assert len(files) >= 8
    args = ["study", "--catalog", str(repo_root / "events"), "--prices-dir",
            str(shared_prices_dir), "--format", "json", "--quiet"]  # fmt: skip
    for f in files:
        args += ["--confounders", str(f)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output[res.output.index("{") :])
    # before: 31 of 64 rows dropped (48% > max_loss 35%) and the study stopped
    assert len(doc["events"]) + len(doc["dropped"]) == 64
    assert len(doc["dropped"]) / 64 < 0.35
