"""The CSV directory source, source resolution and the aligned panel."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prices_fakes import FakeYahooDownload, read_shared

from backtest.errors import InvalidDateError, InvalidTickerError, PricesDirError, UnknownMarketError
from backtest.prices import (
    ADJUSTMENT_CSV_DEFAULT,
    CachedSource,
    CsvDirSource,
    PriceCache,
    load_prices,
    open_source,
    resolve_source,
)
from backtest.prices.yahoo import YahooSource

D = dt.date


def write_csv(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- CSV directory


def test_csv_source_reads_index_files_and_ranges(shared_prices_dir: Path) -> None:
    src = CsvDirSource(shared_prices_dir)
    assert "^GSPC" in src.tickers()
    assert "PROVENANCE" not in " ".join(src.tickers())
    res = src.fetch(["^GSPC", "META"], D(2023, 5, 22), D(2023, 5, 26))
    gspc = res.series["^GSPC"]
    assert gspc.info.source == f"csv:{shared_prices_dir.resolve() / '_GSPC.csv'}"
    assert gspc.info.adjustment == ADJUSTMENT_CSV_DEFAULT
    assert (gspc.info.first, gspc.info.last, gspc.info.rows) == (D(2023, 5, 22), D(2023, 5, 26), 5)
    assert gspc.frame.loc["2023-05-24", "volume"] == 0.0
    whole = src.fetch(["META"], None, None).series["META"]
    assert whole.info.rows == 1668


def test_csv_source_failures_are_specific(shared_prices_dir: Path, tmp_path: Path) -> None:
    src = CsvDirSource(shared_prices_dir)
    res = src.fetch(["METAA", "META"], D(2010, 1, 1), D(2010, 12, 31))
    assert res.failed["METAA"].kind == "unknown_ticker"
    assert "did you mean META" in res.failed["METAA"].hint
    assert res.failed["META"].kind == "empty"
    assert "2020-01-02 to 2026-08-21" in res.failed["META"].reason

    header = "date,open,high,low,close,volume\n"
    write_csv(tmp_path, "BAD.csv", header + "2024-01-02,1,2,1,1.5,10\n2024-13-01,1,2,1,1.5,10\n")
    write_csv(tmp_path, "NUM.csv", header + "2024-01-02,1,2,1,abc,10\n")
    write_csv(tmp_path, "COL.csv", "date,open,close\n2024-01-02,1,2\n")
    write_csv(tmp_path, "HDR.csv", header)
    res = CsvDirSource(tmp_path).fetch(["BAD", "NUM", "COL", "HDR"], None, None)
    assert "line 3: date '2024-13-01' is not a valid date" in res.failed["BAD"].reason
    assert "line 2: close 'abc' is not a number" in res.failed["NUM"].reason
    assert "missing column(s) high, low, volume" in res.failed["COL"].reason
    assert res.failed["HDR"].kind == "empty"
    assert {f.kind for t, f in res.failed.items() if t != "HDR"} == {"error"}


def test_prices_dir_must_exist(tmp_path: Path) -> None:
    with pytest.raises(PricesDirError, match="does not exist"):
        CsvDirSource(tmp_path / "nope")


def test_open_source_and_the_older_keywords(
    tmp_path: Path, shared_prices_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the library never reads $EVBT_PRICES_DIR / $EVBT_CACHE_DIR: the command line does
    monkeypatch.setenv("EVBT_PRICES_DIR", str(shared_prices_dir))
    monkeypatch.setenv("EVBT_CACHE_DIR", str(tmp_path / "env-cache"))
    csv = open_source(prices_dir=shared_prices_dir)
    assert isinstance(csv, CsvDirSource)
    assert csv.directory == shared_prices_dir.resolve()
    online = open_source(cache_dir=tmp_path / "c")
    assert isinstance(online, CachedSource)
    assert isinstance(online.upstream, YahooSource)
    assert online.cache.directory == tmp_path / "c"
    default = open_source()
    assert isinstance(default, CachedSource)
    assert default.cache.directory == PriceCache.default_directory()
    assert default.cache.directory != tmp_path / "env-cache"

    explicit = CsvDirSource(tmp_path)
    assert resolve_source(source=explicit, prices_dir=shared_prices_dir) is explicit
    assert isinstance(resolve_source(prices_dir=shared_prices_dir), CsvDirSource)
    old = resolve_source(cache=PriceCache(tmp_path))
    assert isinstance(old, CachedSource)
    assert old.cache.directory == tmp_path
    fresh = resolve_source()
    assert isinstance(fresh, CachedSource)  # the environment names a folder; not read
    # the deprecated keyword and the source give the same panel
    a = load_prices(["META"], "2024-01-02", "2024-01-10", prices_dir=shared_prices_dir)
    b = load_prices(["META"], "2024-01-02", "2024-01-10", source=csv)
    pd.testing.assert_frame_equal(a.close, b.close)


def test_load_prices_reports_progress_to_a_callable(shared_prices_dir: Path) -> None:
    seen: list[tuple[int, int]] = []
    load_prices(
        ["META", "AAPL", "^GSPC"],
        "2024-01-02",
        "2024-01-10",
        source=CsvDirSource(shared_prices_dir),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


# ----------------------------------------------------------------------------- panel


def test_panel_aligns_markets_on_the_union_of_sessions(shared_prices_dir: Path) -> None:
    panel = load_prices(
        ["META", "0700.HK", "^GSPC"], "2023-09-01", "2023-09-12", prices_dir=shared_prices_dir
    )
    assert panel.tickers == ("META", "0700.HK", "^GSPC")
    close = panel.close
    assert close.index.tz is None
    assert close.index.name == "date"
    assert set(close.dtypes) == {np.dtype("float64")}
    # 2023-09-04 is Labor Day (NYSE closed, Hong Kong open); Hong Kong closed on 09-01 and
    # 09-08 (typhoon, rainstorm): those show as NaN, never silently absent
    assert close.index.strftime("%m-%d").tolist() == [
        "09-01", "09-04", "09-05", "09-06", "09-07", "09-08", "09-11", "09-12",
    ]  # fmt: skip
    assert close["META"].isna().tolist() == [False, True] + [False] * 6
    assert close["0700.HK"].isna().tolist() == [
        True,
        False,
        False,
        False,
        False,
        True,
        False,
        False,
    ]
    meta = read_shared("META", shared_prices_dir)
    assert close.loc["2023-09-05", "META"] == meta.loc["2023-09-05", "close"]
    assert panel.open.loc["2023-09-05", "META"] == meta.loc["2023-09-05", "open"]
    assert panel.provenance["META"].rows == 7
    assert (panel.start, panel.end) == (D(2023, 9, 1), D(2023, 9, 12))
    assert ("0700.HK", "missing_session", (D(2023, 9, 8),)) in panel.quality.findings()
    long = panel.to_frame()
    assert list(long.columns) == ["date", "ticker", "open", "high", "low", "close", "volume"]
    assert len(long) == int(close.notna().sum().sum())
    text = str(panel)
    assert "3 ticker(s), 8 session(s) from 2023-09-01 to 2023-09-12" in text


def test_failed_tickers_are_listed_never_dropped(shared_prices_dir: Path) -> None:
    panel = load_prices(["META", "NOPE"], "2024-01-01", "2024-01-31", prices_dir=shared_prices_dir)
    assert panel.tickers == ("META",)
    assert panel.failed["NOPE"].kind == "unknown_ticker"
    assert "failed NOPE: unknown_ticker" in panel.summary()
    with pytest.raises(LookupError, match="NOPE"):
        panel.raise_for_failures()


def test_unusable_rows_are_masked_and_reported(tmp_path: Path) -> None:
    header = "date,open,high,low,close,volume\n"
    write_csv(
        tmp_path,
        "AAA.csv",
        header
        + "2024-03-01,10,11,9,10.5,100\n"
        + "2024-03-04,10,9,11,10.5,100\n"  # high < low
        + "2024-03-05,10,11,9,-1,100\n"  # negative close
        + "2024-03-06,10,11,9,10.2,100\n",
    )
    write_csv(tmp_path, "BBB.csv", header + "2024-03-01,10,9,11,10,100\n")  # nothing usable
    panel = load_prices(["AAA", "BBB"], prices_dir=tmp_path)
    assert panel.close["AAA"].isna().tolist() == [False, True, True, False]
    errors = {(i.check, i.dates) for i in panel.quality.errors}
    assert errors == {
        ("high_below_low", (D(2024, 3, 4),)),
        ("non_positive_price", (D(2024, 3, 5),)),
        ("high_below_low", (D(2024, 3, 1),)),
    }
    failure = panel.failed["BBB"]
    assert failure.kind == "unusable"
    assert failure.reason == (
        "unusable prices on 2024-03-01: no usable close in the range (see the quality report)"
    )
    # the ticker is named once, by the error
    assert str(failure) == (
        "BBB: no prices: unusable prices on 2024-03-01: no usable close in the range "
        "(see the quality report) (fix or replace the data)"
    )


def test_load_prices_with_the_yahoo_source_behind_the_cache(
    tmp_path: Path, shared_frames: dict
) -> None:
    later = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    fake = FakeYahooDownload(shared_frames)
    upstream = YahooSource(download=fake, reachable=lambda: True, clock=lambda: later)
    source = CachedSource(upstream, PriceCache(tmp_path), clock=lambda: later)
    panel = load_prices(["SPY", "ZZZZ"], "2024-01-01", "2024-01-31", source=source)
    assert panel.tickers == ("SPY",)
    assert panel.failed["ZZZZ"].kind == "unknown_ticker"
    assert panel.provenance["SPY"].source.startswith("yahoo (yfinance")
    assert panel.provenance["SPY"].covered == ((D(2024, 1, 1), D(2024, 1, 31)),)


def test_boundary_validation(shared_prices_dir: Path) -> None:
    with pytest.raises(InvalidTickerError, match="upper case"):
        load_prices(["meta"], prices_dir=shared_prices_dir)
    with pytest.raises(UnknownMarketError):
        load_prices(["META.XX"], prices_dir=shared_prices_dir)
    with pytest.raises(InvalidDateError, match="YYYY-MM-DD"):
        load_prices(["META"], "2024-02-30", prices_dir=shared_prices_dir)
    with pytest.raises(InvalidDateError) as reversed_range:
        load_prices(["META"], "2024-03-01", "2024-02-01", prices_dir=shared_prices_dir)
    # both dates are valid: the message must say the range is reversed, not "is not a date"
    assert str(reversed_range.value) == (
        "start '2024-03-01' is after end 2024-02-01: give a start on or before the end"
    )


def test_panel_field_access(shared_prices_dir: Path) -> None:
    panel = load_prices(
        ["SPY"], "2024-01-02", "2024-01-05", prices_dir=shared_prices_dir, progress=True
    )
    assert panel.close.shape == (4, 1)
    assert panel._repr_html_().startswith("<pre>Price panel")
    pd.testing.assert_frame_equal(panel.field("high"), panel.high)
    with pytest.raises(ValueError, match="unknown field"):
        panel.field("adj_close")
