"""Exchange calendars kept on disk between processes: the same sessions as a fresh build,
damaged or foreign files rebuilt, older days' files removed, a read-only folder harmless."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import exchange_calendars as xcals
import pandas as pd
import pytest

from backtest import markets
from backtest.markets import get_calendar, keep_calendars_in


@pytest.fixture
def kept(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "calendars"
    keep_calendars_in(folder)
    yield folder
    keep_calendars_in(None)


def _fresh(code: str) -> xcals.ExchangeCalendar:
    return xcals.get_calendar(code, start=markets.CALENDAR_START)


def _no_build(code: str) -> xcals.ExchangeCalendar:
    raise AssertionError(f"{code} was built again")


@pytest.mark.parametrize("code", ["XNYS", "XHKG"])
def test_a_kept_calendar_is_the_one_exchange_calendars_builds(
    kept: Path, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    get_calendar(code)
    (file,) = kept.glob(f"{code}-*.pickle")
    get_calendar.cache_clear()
    monkeypatch.setattr(markets, "_build_calendar", _no_build)
    cal = get_calendar(code)  # read back, not built
    ref = _fresh(code)
    assert cal.name == code
    pd.testing.assert_index_equal(cal.sessions, ref.sessions)
    pd.testing.assert_series_equal(cal.opens, ref.opens)
    pd.testing.assert_series_equal(cal.closes, ref.closes)
    assert cal.next_open(pd.Timestamp("2024-07-03 21:00", tz="UTC")) == ref.next_open(
        pd.Timestamp("2024-07-03 21:00", tz="UTC")
    )
    assert code in file.name
    assert file.name.endswith(f"{pd.Timestamp.now(tz='UTC').date().isoformat()}.pickle")


def test_without_a_folder_nothing_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "calendars"
    keep_calendars_in(folder)
    keep_calendars_in(None)  # set, then taken back
    get_calendar("XNYS")
    assert not folder.exists()


def test_a_damaged_file_is_rebuilt_and_replaced(kept: Path) -> None:
    get_calendar("XNYS")
    (file,) = kept.glob("XNYS-*.pickle")
    file.write_bytes(b"\x80\x05 not a pickle")
    get_calendar.cache_clear()
    cal = get_calendar("XNYS")
    pd.testing.assert_index_equal(cal.sessions, _fresh("XNYS").sessions)
    assert pickle.loads(file.read_bytes()).name == "XNYS"


def test_another_markets_calendar_under_the_name_is_not_used(kept: Path) -> None:
    get_calendar("XNYS")
    (file,) = kept.glob("XNYS-*.pickle")
    file.write_bytes(pickle.dumps(_fresh("XHKG")))
    get_calendar.cache_clear()
    assert get_calendar("XNYS").name == "XNYS"
    assert pickle.loads(file.read_bytes()).name == "XNYS"


def test_files_of_earlier_days_are_removed(kept: Path) -> None:
    kept.mkdir(parents=True)
    old = kept / f"XNYS-0.0-0.0-{markets.CALENDAR_START}-2020-01-01.pickle"
    old.write_bytes(b"old")
    other = kept / f"XHKG-0.0-0.0-{markets.CALENDAR_START}-2020-01-01.pickle"
    other.write_bytes(b"old")
    get_calendar("XNYS")
    assert not old.exists()
    assert other.exists()  # another market's file is its own business
    assert len(list(kept.glob("XNYS-*.pickle"))) == 1


def test_an_unwritable_folder_only_costs_the_build(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder would be")
    keep_calendars_in(blocker / "calendars")
    try:
        assert get_calendar("XNYS").name == "XNYS"
    finally:
        keep_calendars_in(None)


def test_the_evbt_process_keeps_calendars_in_the_user_cache(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    code = "import sys; sys.argv = ['evbt', 'events', 'list', '--category', 'layoff']\n"
    code += "from backtest.cli import main\nmain()\n"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    names = sorted(p.name.split("-")[0] for p in (tmp_path / "evbt" / "calendars").iterdir())
    assert names == ["XHKG", "XNYS"]  # the catalog's two markets
