"""Known events as confounders on the real data: an earnings calendar's row for the studied
announcement is that announcement; a window over MMM's spin-off day is flagged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backtest.cli import cli
from tests.conftest import _shared


def run(*args: str) -> dict:  # type: ignore[type-arg]
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def _row(doc: dict, event_id: str) -> dict:  # type: ignore[type-arg]
    return next(e for e in doc["events"] if e["event_id"] == event_id)


def test_the_earnings_calendar_does_not_confound_the_announcement_it_lists(
    repo_root: Path, shared_prices_dir: Path, tmp_path: Path
) -> None:
    from backtest.catalog import load_confounders

    calendar = _shared("sp500/earnings") / "META.csv"
    rows = load_confounders([calendar])
    # the calendar has META's Q3 2025 report, on the catalog event's day 0, under another id
    same = rows[(rows["ticker"] == "META") & (rows["day0"] == "2025-10-30")]
    assert list(same["event_id"]) == ["meta-2025-10-29-earnings"]
    # the expectation: the calendar without its row for this announcement
    lines = calendar.read_text(encoding="utf-8").splitlines(keepends=True)
    others = tmp_path / "META.csv"
    others.write_text("".join(x for x in lines if not x.startswith("2025-10-29")), "utf-8")
    assert len(others.read_text(encoding="utf-8").splitlines()) == len(lines) - 1
    args = ["study", "--catalog", str(repo_root / "events"), "--ids", "meta-2025q3-results",
            "--prices-dir", str(shared_prices_dir), "--min-estimation", "60", "--format",
            "json", "-q"]  # fmt: skip
    with_calendar = _row(run(*args, "--confounders", str(calendar)), "meta-2025q3-results")
    without_it = _row(run(*args, "--confounders", str(others)), "meta-2025q3-results")
    # not confounded by itself: the same flags and the same measurement as without its row
    assert with_calendar["flags"]["confounded_by"] == ["busan-trump-xi-summit"]
    assert with_calendar["flags"] == without_it["flags"]
    assert with_calendar["params"] == without_it["params"]
    assert with_calendar["windows"] == without_it["windows"]


def test_an_imported_calendar_studied_with_the_full_calendar_as_confounders(
    shared_prices_dir: Path, tmp_path: Path
) -> None:
    """META's imported announcements studied with every META calendar row as confounders:
    none is confounded by itself, and the estimation windows are those of the study without
    confounders (each announcement's own window is already known)."""
    calendar = _shared("sp500/earnings") / "META.csv"
    out = tmp_path / "meta.csv"
    r = CliRunner().invoke(
        cli,
        [
            "events",
            "import",
            "earnings",
            "META",
            "--from",
            str(calendar),
            "--since",
            "2019-06-01",
            "--out",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.stderr
    args = ["study", "--catalog", str(out), "--prices-dir", str(shared_prices_dir),
            "--window", "-1", "1", "--format", "json", "-q"]  # fmt: skip
    plain = run(*args)
    both = run(*args, "--confounders", str(calendar))
    assert len(plain["events"]) >= 8
    for a, b in zip(plain["events"], both["events"], strict=True):
        assert a["event_id"] == b["event_id"]
        assert not b["flags"]["confounded"], b["event_id"]
        assert a["params"] == b["params"]


@pytest.fixture(scope="module")
def mmm_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mmm") / "events.csv"
    path.write_text(
        "event_id,ticker,date,timing\n"
        "spin,MMM,2024-04-01,before_open\n"  # the spin-off day in the event window
        "after,MMM,2024-04-15,before_open\n"  # in its path and windows ([-5,+20]: day -10)
        "later,MMM,2024-10-22,before_open\n"  # its estimation window reads 2024-04-01
        "far,MMM,2025-06-02,before_open\n"  # nothing it reads is near
        "early,MMM,2023-06-01,before_open\n",
        encoding="utf-8",
    )
    return path


def test_a_window_over_mmm_spin_off_day_is_flagged(mmm_events: Path) -> None:
    from backtest.prices import load_prices
    from backtest.prices.csvdir import CsvDirSource

    prices = _shared("sp500/prices")
    panel = load_prices(["MMM"], "2024-03-01", "2024-05-01", source=CsvDirSource(prices))
    flags = panel.return_flags
    assert "2024-04-01" in set(flags.loc[flags["ticker"] == "MMM", "date"].astype(str))
    doc = run("study", "--events-csv", str(mmm_events), "--prices-dir", str(prices),
              "--format", "json", "-q")  # fmt: skip
    flagged = {e["event_id"]: e["flags"]["not_total_return"] for e in doc["events"]}
    assert flagged == {"spin": True, "after": True, "later": True, "far": False, "early": False}
