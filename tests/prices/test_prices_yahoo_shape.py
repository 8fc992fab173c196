"""The fake ``yf.download`` against the real one, run offline against an emulated Yahoo.

These tests run yfinance's real code path (``yf.download`` -> ``Ticker.history`` -> HTTP
session) with :class:`~conftest.EmulatedYahoo` as the session, so they pin down, for the
installed yfinance, (1) the exact frame shape the fake must reproduce and (2) how failures
surface, which :class:`backtest.prices.yahoo.YahooSource` must classify.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from prices_fakes import EmulatedYahoo, FakeYahooDownload

from backtest.prices.yahoo import YahooSource

pytestmark = pytest.mark.usefixtures("yfinance_sandbox")

KWARGS: dict[str, Any] = {
    "start": "2023-05-01",
    "end": "2023-05-10",
    "interval": "1d",
    "auto_adjust": True,
    "back_adjust": False,
    "actions": True,
    "repair": False,
    "keepna": False,
    "rounding": False,
    "prepost": False,
    "ignore_tz": True,
    "group_by": "column",
    "multi_level_index": True,
    "progress": False,
    "threads": False,
    "timeout": 10,
}


def real_download(frames: dict[str, pd.DataFrame], tickers: list[str], mode: str = "ok") -> Any:
    import yfinance as yf

    return yf.download(tickers=tickers, session=EmulatedYahoo(frames, mode), **KWARGS)


@pytest.mark.parametrize(
    "tickers",
    [["META"], ["META", "AAPL", "0700.HK"], ["META", "ZZZZ"], ["ZZZZ"]],
    ids=["one", "batch-two-markets", "with-unknown", "only-unknown"],
)
def test_fake_frame_equals_real_yfinance_frame(
    shared_frames: dict[str, pd.DataFrame], tickers: list[str]
) -> None:
    real = real_download(shared_frames, tickers)
    fake = FakeYahooDownload(shared_frames)(tickers=tickers, **KWARGS)
    # columns: levels ('Price', 'Ticker'), sorted by price field; failed tickers all-NaN with
    # an 'Adj Close' column; index 'Date', tz-naive; volumes int64 (float64 when NaN)
    assert list(real.columns.names) == ["Price", "Ticker"]
    pd.testing.assert_frame_equal(fake, real, check_freq=False)


def test_real_yfinance_shape_facts(shared_frames: dict[str, pd.DataFrame]) -> None:
    real = real_download(shared_frames, ["META", "ZZZZ"])
    assert list(real.columns.get_level_values("Price").unique()) == [
        "Adj Close",
        "Close",
        "Dividends",
        "High",
        "Low",
        "Open",
        "Stock Splits",
        "Volume",
    ]
    assert real.index.name == "Date"
    assert real.index.tz is None
    assert real.xs("ZZZZ", axis=1, level="Ticker").isna().all().all()
    assert real[("Volume", "META")].dtype == "int64"


def _source(frames: dict[str, pd.DataFrame], mode: str, reachable: bool) -> YahooSource:
    probes: list[bool] = []

    def probe() -> bool:  # the first probe gets through, so that yfinance is asked
        probes.append(reachable)
        return len(probes) == 1 or reachable

    return YahooSource(
        session_factory=lambda: EmulatedYahoo(frames, mode),
        reachable=probe,
        sleep=lambda s: None,
        threads=2,
        clock=lambda: dt.datetime(2026, 11, 21, tzinfo=dt.UTC),
    )


def test_real_yfinance_batch_with_unknown_ticker_is_classified(
    shared_frames: dict[str, pd.DataFrame],
) -> None:
    src = _source(shared_frames, "ok", reachable=True)
    res = src.fetch(["META", "0700.HK", "ZZZZ"], dt.date(2023, 5, 1), dt.date(2023, 5, 9))
    assert set(res.series) == {"META", "0700.HK"}
    assert res.failed["ZZZZ"].kind == "unknown_ticker"
    meta = res.series["META"].frame
    assert list(meta.index.strftime("%Y-%m-%d")) == [
        "2023-05-01", "2023-05-02", "2023-05-03", "2023-05-04", "2023-05-05", "2023-05-08",
        "2023-05-09",
    ]  # fmt: skip
    expected = shared_frames["META"].loc["2023-05-01":"2023-05-09", "close"].to_numpy()
    assert meta["close"].to_numpy() == pytest.approx(expected, rel=1e-12)


def test_real_yfinance_offline_is_classified(shared_frames: dict[str, pd.DataFrame]) -> None:
    # yfinance words an outage in several ways (see backtest.prices.yahoo); all read "offline"
    src = _source(shared_frames, "offline", reachable=False)
    res = src.fetch(["META", "AAPL"], dt.date(2023, 5, 1), dt.date(2023, 5, 9))
    assert not res.series
    assert {f.kind for f in res.failed.values()} == {"offline"}
    assert all(f.attempts == 3 for f in res.failed.values())


def test_real_yfinance_rate_limit_is_classified(shared_frames: dict[str, pd.DataFrame]) -> None:
    src = _source(shared_frames, "rate_limited", reachable=True)
    res = src.fetch(["META"], dt.date(2023, 5, 1), dt.date(2023, 5, 9))
    assert res.failed["META"].kind == "rate_limited"


def _with_splits(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """META with a spin-off booked as a split (1.196) on 2023-05-03 and a 2:1 split on 05-08."""
    meta = frames["META"].copy()
    meta["stock splits"] = 0.0
    meta.loc["2023-05-03", "stock splits"] = 1.196
    meta.loc["2023-05-08", "stock splits"] = 2.0
    return {**frames, "META": meta}


def test_split_events_reach_the_frame_as_yfinance_gives_them(
    shared_frames: dict[str, pd.DataFrame],
) -> None:
    frames = _with_splits(shared_frames)
    real = real_download(frames, ["META", "AAPL"])
    fake = FakeYahooDownload(frames)(tickers=["META", "AAPL"], **KWARGS)
    pd.testing.assert_frame_equal(fake, real, check_freq=False)
    splits = real[("Stock Splits", "META")]
    assert splits[splits != 0].to_dict() == {
        pd.Timestamp("2023-05-03"): 1.196,
        pd.Timestamp("2023-05-08"): 2.0,
    }


def test_a_spin_off_in_yahoos_split_events_is_flagged(
    shared_frames: dict[str, pd.DataFrame],
) -> None:
    src = YahooSource(
        session_factory=lambda: EmulatedYahoo(_with_splits(shared_frames), "ok"),
        reachable=lambda: True,
        sleep=lambda s: None,
        threads=2,
        clock=lambda: dt.datetime(2026, 11, 21, tzinfo=dt.UTC),
    )
    res = src.fetch(["META", "AAPL"], dt.date(2023, 5, 1), dt.date(2023, 5, 9))
    (flag,) = res.series["META"].flags
    assert flag.date == dt.date(2023, 5, 3)
    assert flag.reason.startswith("Stock Splits 1.196 on 2023-05-03 is not a plain split")
    assert res.series["AAPL"].flags == ()
