"""The online earnings path: yfinance's ``get_earnings_dates`` through the cache, with retries,
the offline probe and per-ticker failures. yfinance is replaced by fakes shaped exactly like its
output (``fakes.py``, checked in ``test_shape.py``); nothing reaches the network."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from backtest.earnings import earnings_confounders, import_earnings
from backtest.earnings.yahoo import FORMAT, EarningsCache, EarningsSource
from tests.earnings.fakes import factory, frame_from_saved

NOW = dt.datetime(2025, 11, 22, 15, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def source(
    tmp_path: Path, scripts: dict[str, list[Any]], **kw: Any
) -> tuple[EarningsSource, list[Any], list[float]]:
    make, calls = factory(scripts)
    sleeps: list[float] = []
    options: dict[str, Any] = {
        "cache": EarningsCache(tmp_path / "cache"),
        "ticker_factory": make,
        "reachable": lambda: True,
        "sleep": sleeps.append,
        "clock": Clock(),
        "threads": 1,
    }
    options.update(kw)
    return EarningsSource(**options), calls, sleeps


@pytest.fixture
def frames(shared_sp500_earnings: Path) -> dict[str, pd.DataFrame]:
    return {t: frame_from_saved(shared_sp500_earnings / f"{t}.csv") for t in ("META", "AMZN")}


def test_fetched_calendars_import_like_the_saved_files(
    tmp_path: Path, frames: dict[str, pd.DataFrame], shared_sp500_earnings: Path
) -> None:
    src, calls, _ = source(tmp_path, {t: [f] for t, f in frames.items()}, threads=4)
    online = import_earnings(["META", "AMZN"], source=src, since=dt.date(2019, 6, 1))
    assert sorted(calls) == [("AMZN", 100), ("META", 100)]  # limit=100, once per ticker
    offline = import_earnings(
        ["META", "AMZN"], from_paths=[shared_sp500_earnings], since=dt.date(2019, 6, 1)
    )
    key = ["id", "ticker", "date", "timing", "eps_estimate", "eps_reported", "surprise_pct"]
    rows = lambda r: sorted(tuple(getattr(e, k) for k in key) for e in r.events)  # noqa: E731
    assert rows(online) == rows(offline)
    meta = next(e for e in online.events if e.id == "meta-2025-10-29-earnings")
    assert (meta.timing, meta.surprise_pct) == ("after_close", 8.66)
    assert meta.source.startswith("Yahoo Finance earnings calendar (yfinance ")
    assert meta.source.endswith("Ticker.get_earnings_dates(limit=100)), fetched 2025-11-22")
    assert online.failed == {}


def test_the_cache_keeps_provenance_and_serves_for_a_day(
    tmp_path: Path, frames: dict[str, pd.DataFrame]
) -> None:
    clock = Clock()
    src, calls, _ = source(tmp_path, {"META": [frames["META"]]}, clock=clock)
    first = src.fetch(["META"])
    stored = json.loads((tmp_path / "cache" / "META.json").read_text())
    assert stored["format"] == FORMAT
    assert stored["ticker"] == "META"
    assert stored["fetched_at"] == "2025-11-22T15:00:00+00:00"
    assert stored["source"].startswith("yfinance ")
    assert stored["columns"] == ["Earnings Date", "EPS Estimate", "Reported EPS", "Surprise(%)"]
    assert stored["rows"][1] == ["2025-10-29T16:00:00-04:00", 6.67, 7.25, 8.66]
    assert stored["rows"][0][2:] == [None, None]  # scheduled: no reported EPS, no surprise
    assert not list((tmp_path / "cache").glob(".*tmp*"))  # written atomically, nothing left
    clock.now = NOW + dt.timedelta(hours=23)
    second = src.fetch(["META"])
    assert len(calls) == 1  # served from the cache
    assert second.calendars["META"] == first.calendars["META"]
    clock.now = NOW + dt.timedelta(hours=25)
    src.fetch(["META"])
    assert len(calls) == 2  # older than a day: fetched again


def test_rate_limits_and_dropped_connections_are_retried_with_backoff(
    tmp_path: Path, frames: dict[str, pd.DataFrame]
) -> None:
    from yfinance.exceptions import YFRateLimitError

    src, calls, sleeps = source(
        tmp_path,
        {
            "META": [YFRateLimitError(), frames["META"]],
            "AMZN": [ConnectionError("Failed to perform, curl: (7) Connection refused")] * 3,
        },
    )
    out = src.fetch(["META", "AMZN"])
    assert [c[0] for c in calls] == ["META", "META", "AMZN", "AMZN", "AMZN"]
    assert sleeps == [2.0, 2.0, 4.0]
    assert list(out.calendars) == ["META"]
    assert out.failed == {
        "AMZN": "Yahoo Finance cannot be reached (the connection failed) after 3 attempts "
        "(check the network connection, or import saved calendars with --from)"
    }


def test_a_ticker_yahoo_does_not_know_fails_at_once_with_yfinances_words(tmp_path: Path) -> None:
    def unknown() -> None:  # what yfinance 1.7 does: log the reason, return None
        logging.getLogger("yfinance").error("ZZZZ: No earnings dates found, symbol may be delisted")

    handlers = list(logging.getLogger("yfinance").handlers)
    src, calls, sleeps = source(tmp_path, {"ZZZZ": [unknown]})
    out = src.fetch(["ZZZZ"])
    assert len(calls) == 1
    assert sleeps == []
    assert out.failed == {
        "ZZZZ": "Yahoo has no earnings calendar (ZZZZ: No earnings dates found, symbol may be "
        "delisted) (check the ticker as Yahoo spells it (e.g. 'BRK-B'); funds and indices "
        "have no earnings)"
    }
    assert logging.getLogger("yfinance").handlers == handlers  # the collector is removed


def test_offline_is_told_at_once_and_a_stale_calendar_is_used(
    tmp_path: Path, frames: dict[str, pd.DataFrame]
) -> None:
    clock = Clock()
    src, _, _ = source(tmp_path, {"META": [frames["META"]]}, clock=clock)
    src.fetch(["META"])
    clock.now = NOW + dt.timedelta(days=3)
    offline, calls2, sleeps = source(
        tmp_path, {"META": [AssertionError("no call")], "AMZN": [AssertionError("no call")]},
        reachable=lambda: False, clock=clock,
    )  # fmt: skip
    out = offline.fetch(["META", "AMZN"])
    assert calls2 == []
    assert sleeps == []
    assert list(out.calendars) == ["META"]
    assert out.notes == [
        "META: Yahoo Finance cannot be reached; using the cached calendar fetched "
        "2025-11-22 15:00 UTC"
    ]
    assert out.failed == {
        "AMZN": "Yahoo Finance cannot be reached (check the network connection, or import "
        "saved calendars with --from)"
    }


def test_a_probe_that_hangs_counts_as_offline(tmp_path: Path) -> None:
    import threading

    release = threading.Event()
    src, calls, _ = source(
        tmp_path, {"META": [AssertionError("no call")]},
        reachable=lambda: release.wait(30), probe_timeout=0.2,
    )  # fmt: skip
    try:
        out = src.fetch(["META"])
    finally:
        release.set()
    assert list(out.failed) == ["META"]
    assert calls == []


def test_an_unreadable_cache_file_is_fetched_again_and_said(
    tmp_path: Path, frames: dict[str, pd.DataFrame]
) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "META.json").write_text("{not json")
    src, calls, _ = source(tmp_path, {"META": [frames["META"]]})
    out = src.fetch(["META"])
    assert len(calls) == 1
    assert list(out.calendars) == ["META"]
    assert out.notes == [
        f"META: the cached calendar {tmp_path / 'cache' / 'META.json'} is unusable: not JSON "
        "(Expecting property name enclosed in double quotes at line 1); fetched again"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_cache_that_cannot_be_written_is_said_and_the_calendar_used(
    tmp_path: Path, frames: dict[str, pd.DataFrame]
) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache").chmod(0o500)
    try:
        src, _, _ = source(tmp_path, {"META": [frames["META"]]})
        out = src.fetch(["META"])
    finally:
        (tmp_path / "cache").chmod(0o700)
    assert list(out.calendars) == ["META"]
    assert out.notes[0].startswith("META: could not store it in the cache")


def test_a_cache_that_cannot_be_written_with_a_fake_writer(
    tmp_path: Path, frames: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    import backtest.earnings.yahoo as yahoo

    def full_disk(path: object, text: str, **kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(yahoo, "write_text", full_disk)
    src, _, _ = source(tmp_path, {"META": [frames["META"]]})
    out = src.fetch(["META"])
    assert list(out.calendars) == ["META"]
    assert out.notes == [
        f"META: could not store it in the cache {tmp_path / 'cache'} (No space left on device)"
    ]


def test_a_frame_of_another_shape_is_a_clear_failure(
    tmp_path: Path, frames: dict[str, pd.DataFrame]
) -> None:
    renamed = frames["META"].rename(columns={"Reported EPS": "EPS Actual"})
    src, _, _ = source(tmp_path, {"META": [renamed]})
    out = src.fetch(["META"])
    assert out.failed["META"].startswith(
        "yfinance returned a calendar of another shape: no 'Reported EPS' column (columns: "
        "EPS Estimate, EPS Actual, Surprise(%))"
    )


def test_earnings_confounders_give_an_event_table_and_the_failures(
    tmp_path: Path, frames: dict[str, pd.DataFrame]
) -> None:
    src, _, _ = source(tmp_path, {"META": [frames["META"]], "SPY": [lambda: None]})
    table, failed = earnings_confounders(["META", "SPY"], source=src)
    assert list(table.columns[:5]) == ["event_id", "ticker", "market", "day0", "category"]
    assert set(table["ticker"]) == {"META"}
    assert (table["category"] == "earnings").all()
    reported = frames["META"]["Reported EPS"].notna().sum()
    assert len(table) == reported
    assert list(failed) == ["SPY"]


def test_the_default_cache_folder_is_inside_the_price_cache() -> None:
    from backtest.earnings.yahoo import EarningsCache, earnings_cache_dir

    assert earnings_cache_dir().parts[-3:] == ("evbt", "prices", "earnings")
    assert EarningsCache().directory == earnings_cache_dir()
    assert earnings_cache_dir("/x/mine") == Path("/x/mine/earnings")
