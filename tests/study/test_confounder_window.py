"""Confounders (earnings calendars) are kept out of estimation windows only over
``confounder_window`` around their day 0, so the default study survives them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from backtest import load_catalog
from backtest.cli import cli


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


def test_a_confounder_removes_only_its_own_reaction_span_from_the_estimation_window() -> None:
    """Hand case: one event with estimation [-250,-11] (240 returns) and windows up to
    [-5,+20]. Another *catalog* event of the ticker 30 sessions before day 0 keeps its whole
    window span [-5,+20] out of it: sessions -35..-10 of which -35..-11 (25) lie inside the
    estimation window: 215 left.
    The same date as a *confounder* (a calendar row) keeps only [-1,+1] out: 237 left."""
    import pandas as pd

    from backtest.study import StudySpec, run_study
    from backtest.study.inputs import context_with_confounders
    from tests.study import synth

    days = synth.sessions(400)
    rng = np.random.default_rng(3)
    rets = pd.DataFrame(
        {"AAA": rng.normal(0, 0.01, len(days)), "SPY": rng.normal(0, 0.01, len(days))},
        index=days,
    )
    rets.iloc[0] = np.nan
    close = synth.prices_from_returns(rets)
    d0 = days[300]
    event = pd.DataFrame({"event_id": ["e"], "ticker": ["AAA"], "day0": [d0]})
    other = pd.DataFrame({"event_id": ["o"], "ticker": ["AAA"], "day0": [days[270]]})
    spec = StudySpec(windows=((0, 0), (-1, 1), (0, 5), (-5, 20)))

    alone = run_study(event, close, spec)
    assert int(alone.events["n_est"].iloc[0]) == 240
    as_event = run_study(event, close, spec, context=pd.concat([event, other]))
    assert int(as_event.events["n_est"].iloc[0]) == 240 - 25
    as_confounder = run_study(event, close, spec, context=context_with_confounders(event, other))
    assert int(as_confounder.events["n_est"].iloc[0]) == 240 - 3
    wide = StudySpec(windows=spec.windows, confounder_window=(-2, 2))
    assert (
        int(
            run_study(event, close, wide, context=context_with_confounders(event, other))
            .events["n_est"]
            .iloc[0]
        )
        == 240 - 5
    )
