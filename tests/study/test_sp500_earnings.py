"""End to end on the real S&P 500 data: import the earnings calendars of 2019-06-01 to
2025-06-30, study them against SPY (market model, [-250,-11], window [-1,+1], no exclusion of
confounded days), and recompute a sample of CARs with a plain pandas loop written here."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.cli import cli
from tests.conftest import _shared


def _closes(path: Path) -> pd.Series:
    """A saved yfinance file's closes by local date: ``Adj Close`` when the file has it (the
    auto_adjust=False shape), else ``Close`` (history() output, already adjusted)."""
    raw = pd.read_csv(path)
    column = "Adj Close" if "Adj Close" in raw.columns else "Close"
    dates = pd.to_datetime(raw["Date"].str[:10])
    return pd.Series(raw[column].to_numpy(dtype=float), index=dates).sort_index()


@pytest.mark.slow
def test_sp500_earnings_car_equals_a_plain_pandas_loop(tmp_path: Path) -> None:
    earnings, prices = _shared("sp500/earnings"), _shared("sp500/prices")
    catalog = tmp_path / "earnings.csv"
    runner = CliRunner()
    r = runner.invoke(
        cli,
        [
            "events",
            "import",
            "earnings",
            "--from",
            str(earnings),
            "--since",
            "2019-06-01",
            "--until",
            "2025-06-30",
            "--out",
            str(catalog),
        ],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.stderr
    imported = pd.read_csv(catalog)
    assert len(imported) > 11_000
    r = runner.invoke(
        cli,
        [
            "study",
            "--catalog",
            str(catalog),
            "--prices-dir",
            str(prices),
            "--model",
            "market",
            "--estimation",
            "-250",
            "-11",
            "--window",
            "-1",
            "1",
            "--no-exclude-confounded",
            "--format",
            "csv",
            "-q",
        ],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.stderr
    measured = pd.read_csv(io.StringIO(r.stdout))
    assert set(measured["window"]) == {"[-1,+1]"}
    assert 0.99 * len(imported) < len(measured) <= len(imported)
    # the loop: SPY's sessions are the calendar; simple returns of the closes on them
    spy = _closes(prices / "SPY.csv")
    sessions = spy.index
    rm = spy / spy.shift(1) - 1.0
    ids = imported.set_index("id")
    rng = np.random.default_rng(12)
    sample = measured.iloc[rng.choice(len(measured), 20, replace=False)]
    for row in sample.itertuples(index=False):
        event = ids.loc[row.event_id]
        date = pd.Timestamp(event["date"])
        # day 0: the first session that could react (the next one after the close)
        later = sessions[sessions > date] if event["timing"] == "after_close" else (
            sessions[sessions >= date])  # fmt: skip
        day0 = later[0]
        assert pd.Timestamp(row.day0) == day0, row.event_id
        stock = _closes(prices / f"{row.ticker}.csv").reindex(sessions)
        ri = stock / stock.shift(1) - 1.0
        p0 = sessions.get_loc(day0)
        y, x = [], []
        for d in range(-250, -10):
            yi, xi = ri.iloc[p0 + d], rm.iloc[p0 + d]
            if np.isfinite(yi) and np.isfinite(xi):
                y.append(yi)
                x.append([1.0, xi])
        assert len(y) >= 120
        (alpha, beta), *_ = np.linalg.lstsq(np.array(x), np.array(y), rcond=None)
        car = sum(ri.iloc[p0 + d] - (alpha + beta * rm.iloc[p0 + d]) for d in (-1, 0, 1))
        assert row.car == pytest.approx(car, abs=1e-10), row.event_id
