"""Price folders: the CSV shapes yfinance users save, file names, and files that are not files.

Expectations are written by hand (a few rows each) or are the values the test itself wrote.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.errors import InvalidTickerError
from backtest.prices import CsvDirSource, PriceCache, load_prices
from backtest.prices.base import (
    ADJUSTMENT_ADJ_CLOSE,
    ADJUSTMENT_CSV_DEFAULT,
    ADJUSTMENT_HISTORY,
    ADJUSTMENT_YAHOO,
    FetchFailure,
    PriceSeries,
    ReturnFlag,
)
from backtest.prices.csvdir import _parse_careful, _parse_fast, read_layout, read_price_file

D = dt.date

HISTORY = """Date,Open,High,Low,Close,Volume,Dividends,Stock Splits
2024-03-27 00:00:00-04:00,10.0,11.0,9.5,10.5,1000,0.0,0.0
2024-03-28 00:00:00-04:00,10.5,11.5,10.0,11.0,1200,0.5,0.0
2024-04-01 00:00:00-04:00,11.0,12.0,10.5,11.5,900,0.0,1.196
2024-04-02 00:00:00-04:00,11.5,12.5,11.0,12.0,800,0.0,2.0
"""
ADJ_CLOSE = """Date,Open,High,Low,Close,Adj Close,Volume
2024-03-27,100,110,90,100,50,10
2024-03-28,100,104,96,100,40,20
"""
DOWNLOAD = """Price,Adj Close,Close,High,Low,Open,Volume
Ticker,SPY,SPY,SPY,SPY,SPY,SPY
Date,,,,,,
2024-03-27,50,100,110,90,100,10
2024-03-28,40,100,104,96,100,20
"""


def folder(tmp_path: Path, **files: str) -> CsvDirSource:
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text)
    return CsvDirSource(tmp_path)


def series(src: CsvDirSource, ticker: str) -> PriceSeries:
    got = src.read(ticker)
    assert isinstance(got, PriceSeries), got
    return got


def failure(src: CsvDirSource, ticker: str) -> FetchFailure:
    got = src.read(ticker)
    assert isinstance(got, FetchFailure), got
    return got


def test_history_output_reads_the_local_date_and_flags_a_spin_off(tmp_path: Path) -> None:
    got = series(folder(tmp_path, MMM=HISTORY), "MMM")
    frame = got.frame
    assert frame.index.strftime("%Y-%m-%d").tolist() == [
        "2024-03-27",
        "2024-03-28",
        "2024-04-01",
        "2024-04-02",
    ]
    assert frame["open"].tolist() == [10.0, 10.5, 11.0, 11.5]
    assert frame["close"].tolist() == [10.5, 11.0, 11.5, 12.0]
    assert frame["volume"].tolist() == [1000.0, 1200.0, 900.0, 800.0]
    assert got.info.adjustment == ADJUSTMENT_HISTORY
    # 1.196 is no ratio of small whole numbers: a spin-off booked as a split; 2.0 is a split
    assert got.flags == (
        ReturnFlag(
            D(2024, 4, 1),
            "Stock Splits 1.196 on 2024-04-01 is not a plain split (a spin-off or another "
            "distribution booked as a split?): the return of that session may not be a total "
            "return",
        ),
    )


def test_adj_close_gives_the_returns_and_scales_the_fills(tmp_path: Path) -> None:
    got = series(folder(tmp_path, SPY=ADJ_CLOSE), "SPY")
    f = got.frame
    # Adj Close / Close = 0.5 then 0.4: every price on that basis, volume as written
    assert f["close"].tolist() == [50.0, 40.0]
    assert f["open"].tolist() == [50.0, 40.0]
    assert f["high"].tolist() == pytest.approx([55.0, 41.6], rel=1e-15)
    assert f["low"].tolist() == pytest.approx([45.0, 38.4], rel=1e-15)
    assert f["volume"].tolist() == [10.0, 20.0]
    assert got.info.adjustment == ADJUSTMENT_ADJ_CLOSE
    assert got.flags == ()
    # the return is Adj Close's (-20%), not Close's (0%)
    assert f["close"].iloc[1] / f["close"].iloc[0] - 1 == pytest.approx(-0.2)


@pytest.mark.parametrize(
    "name",
    ["adj_close", "Adj_Close", "ADJ CLOSE", "adjclose", "AdjClose", "adjusted_close",
     "Adjusted Close", "Adj. Close"],
)  # fmt: skip
def test_the_adjusted_close_is_read_under_its_common_spellings(tmp_path: Path, name: str) -> None:
    got = series(folder(tmp_path, SPY=ADJ_CLOSE.replace("Adj Close", name)), "SPY")
    assert got.info.adjustment == ADJUSTMENT_ADJ_CLOSE
    assert got.frame["close"].tolist() == [50.0, 40.0]
    assert got.frame["open"].tolist() == [50.0, 40.0]
    assert read_layout(ADJ_CLOSE.replace("Adj Close", name).encode()).shape == "adj_close"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "Date,Open,High,Low,Close,Adj Close Price,Volume",
            "line 1: column 'Adj Close Price' looks like an adjusted close, but evbt reads one "
            "only as Adj Close, adj_close, AdjClose, Adjusted Close, adjusted_close (case and "
            "punctuation aside): rename it Adj Close, or remove it to take Close as it is",
        ),
        (
            "Date,Open,High,Low,Close,close_adj,Volume",
            "line 1: column 'close_adj' looks like an adjusted close, but evbt reads one only "
            "as Adj Close, adj_close, AdjClose, Adjusted Close, adjusted_close (case and "
            "punctuation aside): rename it Adj Close, or remove it to take Close as it is",
        ),
        (
            "Date,Open,High,Low,Close,Adj Close,Volume,adj_close",
            "line 1: columns 'Adj Close' and 'adj_close' are both adj close: keep one",
        ),
    ],
)
def test_an_adjusted_close_that_cannot_be_read_is_refused_not_ignored(
    tmp_path: Path, header: str, message: str
) -> None:
    text = f"{header}\n2024-03-27,100,110,90,100,50,10\n"
    got = failure(folder(tmp_path, SPY=text), "SPY")
    assert got.reason == f"{tmp_path / 'SPY.csv'}: {message}"


def test_an_unadjusted_close_is_ignored_like_any_other_column(tmp_path: Path) -> None:
    got = series(folder(tmp_path, SPY=ADJ_CLOSE.replace("Adj Close", "Unadjusted Close")), "SPY")
    assert got.info.adjustment == ADJUSTMENT_CSV_DEFAULT
    assert got.frame["close"].tolist() == [100.0, 100.0]


def test_a_saved_download_frame_reads_like_its_columns_say(tmp_path: Path) -> None:
    src = folder(tmp_path, SPY=DOWNLOAD, META=DOWNLOAD)
    spy = series(src, "SPY")
    pd.testing.assert_frame_equal(
        spy.frame, series(folder(tmp_path / "..", SPY=ADJ_CLOSE), "SPY").frame
    )
    assert spy.info.adjustment == ADJUSTMENT_ADJ_CLOSE
    assert (
        failure(src, "META").reason
        == f"{tmp_path / 'META.csv'}: line 2: the file holds SPY, not META"
    )
    several = DOWNLOAD.replace("Ticker,SPY,SPY,SPY,SPY,SPY,SPY", "Ticker,SPY,QQQ,SPY,QQQ,SPY,QQQ")
    (tmp_path / "SPY.csv").write_text(several)
    assert failure(src, "SPY").reason == (
        f"{tmp_path / 'SPY.csv'}: holds several tickers (QQQ, SPY); save one file per ticker "
        "(e.g. df.xs('META', axis=1, level='Ticker').to_csv('META.csv'))"
    )


#: Two sessions of META, as evbt writes them; below, as yfinance 1.7 frames save them (the
#: headers as ``yf.download(...).to_csv()`` wrote them, run offline against an emulated Yahoo)
OURS = (
    "date,open,high,low,close,volume\n2024-03-27,100,110,90,105,10\n2024-03-28,105,112,100,108,20\n"
)
BY_COLUMN = "Close,High,Low,Open,Volume"
BY_TICKER = "Open,High,Low,Close,Volume"
ROWS_BY_COLUMN = "2024-03-27,105,110,90,100,10\n2024-03-28,108,112,100,105,20\n"
ROWS_BY_TICKER = "2024-03-27,100,110,90,105,10\n2024-03-28,105,112,100,108,20\n"


@pytest.mark.parametrize(
    "text",
    [
        # yf.download("META").to_csv(): group_by="column" (the default)
        f"Price,{BY_COLUMN}\nTicker,META,META,META,META,META\nDate,,,,,\n{ROWS_BY_COLUMN}",
        # yf.download("META", group_by="ticker").to_csv(): the two levels the other way round
        f"Ticker,META,META,META,META,META\nPrice,{BY_TICKER}\nDate,,,,,\n{ROWS_BY_TICKER}",
        # .reset_index().to_csv(index=False): the date's name over an empty cell
        f"Date,{BY_COLUMN}\n,META,META,META,META,META\n{ROWS_BY_COLUMN}",
        f"Date,META,META,META,META,META\n,{BY_TICKER}\n{ROWS_BY_TICKER}",
    ],
    ids=["download", "group-by-ticker", "reset-index", "reset-index-group-by-ticker"],
)
def test_every_saved_download_frame_of_one_ticker_is_read(tmp_path: Path, text: str) -> None:
    """Review: the ``group_by='ticker'`` and ``reset_index()`` shapes were refused with
    "column 'META' appears twice" or "date '' is not YYYY-MM-DD", and a saved download
    without Adj Close (yfinance 1.x's auto_adjust=True) was recorded as of unknown
    adjustment."""
    got = series(folder(tmp_path, META=text), "META")
    want = series(folder(tmp_path / "..", META=OURS), "META")
    pd.testing.assert_frame_equal(got.frame, want.frame)
    assert got.info.adjustment == ADJUSTMENT_YAHOO
    # the careful reader (a bad cell) counts the header's lines alike
    lines = text.splitlines()
    bad = "\n".join([*lines[:-1], lines[-1].replace(",20", ",x")]) + "\n"
    reason = failure(folder(tmp_path, META=bad), "META").reason
    assert reason.endswith(f"line {len(lines)}: volume 'x' is not a number")


def test_a_reset_download_frame_with_adj_close_takes_its_returns(tmp_path: Path) -> None:
    text = "Date,Adj Close,Close,High,Low,Open,Volume\n,SPY,SPY,SPY,SPY,SPY,SPY\n" + "\n".join(
        DOWNLOAD.splitlines()[3:]
    )
    got = series(folder(tmp_path, SPY=text), "SPY")
    pd.testing.assert_frame_equal(
        got.frame, series(folder(tmp_path / "..", SPY=ADJ_CLOSE), "SPY").frame
    )
    assert got.info.adjustment == ADJUSTMENT_ADJ_CLOSE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Ticker,META,META,SPY,SPY\nPrice,Open,Close,Open,Close\nDate,,,,\n2024-03-27,1,1,1,1\n",
            "holds several tickers (META, SPY)",
        ),
        (
            "Date,Close,Close,Open,Open\n,META,SPY,META,SPY\n2024-03-27,1,1,1,1\n",
            "holds several tickers (META, SPY)",
        ),
        # to_csv(index=False) too: the hint (df.xs(...).to_csv(path)) keeps the dates
        (
            "Close,Close,Open,Open\nMETA,SPY,META,SPY\n1,1,1,1\n",
            "holds several tickers (META, SPY)",
        ),
        (
            f"Ticker,SPY,SPY,SPY,SPY,SPY\nPrice,{BY_TICKER}\nDate,,,,,\n{ROWS_BY_TICKER}",
            "line 1: the file holds SPY, not META",
        ),
    ],
)
def test_a_download_frame_of_another_or_several_tickers_is_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    assert failure(folder(tmp_path, META=text), "META").reason.startswith(
        f"{tmp_path / 'META.csv'}: {message}"
    )


NO_DATE = (
    "line 1: no Date column: the dates of a frame from yfinance are its index, which "
    "to_csv(index=False) leaves out; save it with df.to_csv(path) (or "
    "df.reset_index().to_csv(path, index=False))"
)


@pytest.mark.parametrize(
    "text",
    [
        # Ticker.history().to_csv(index=False)
        "Open,High,Low,Close,Volume,Dividends,Stock Splits\n10,11,9,10,100,0.0,0.0\n",
        # yf.download("META").to_csv(index=False): the two column levels, no date
        f"{BY_COLUMN}\nMETA,META,META,META,META\n105,110,90,100,10\n",
        f"META,META,META,META,META\n{BY_TICKER}\n100,110,90,105,10\n",
    ],
    ids=["history", "download", "download-group-by-ticker"],
)
def test_a_frame_saved_without_its_index_is_refused_saying_why(tmp_path: Path, text: str) -> None:
    """Review: "missing column(s) date" or "column 'Close' appears twice" did not say that
    ``index=False`` had dropped the dates."""
    assert failure(folder(tmp_path, META=text), "META").reason == (
        f"{tmp_path / 'META.csv'}: {NO_DATE}"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,open,high,low,close,volume\n2023-05-01,abc,x,y,z,w\n", "line 2: open 'abc' is"),
        ("Date,Open,High,Low,Close,Volume\n,abc,x,y,z,w\n", "line 2: date '' is not"),
        ("Date,Open,High,Low,Close,Volume\n,META,META,x,META,META\n", "line 2: date '' is not"),
    ],
)
def test_a_first_row_of_words_is_a_bad_row_not_a_ticker_line(
    tmp_path: Path, text: str, message: str
) -> None:
    """A two-line header is yfinance's only when its second line is a Ticker level (Yahoo
    tickers, each over the same fields): a bad first row of data is named as such."""
    assert failure(folder(tmp_path, META=text), "META").reason.startswith(
        f"{tmp_path / 'META.csv'}: {message}"
    )


LONG = "Date,Symbol,Open,High,Low,Close,Volume\n"


def _long_rows(symbols: list[str]) -> str:
    days = pd.bdate_range("2024-03-25", periods=3)
    return "".join(f"{d:%Y-%m-%d},{s},10,11,9,10.5,100\n" for s in symbols for d in days)


def test_a_file_whose_symbol_column_names_another_ticker_is_refused(tmp_path: Path) -> None:
    """Review: MSFT's rows saved as NVDA.csv with a Symbol column were served as NVDA."""
    text = "date,open,high,low,close,volume,symbol\n" + "".join(
        f"2024-03-{d},10,11,9,10.5,100,MSFT\n" for d in (25, 26, 27)
    )
    got = failure(folder(tmp_path, NVDA=text), "NVDA")
    assert got.reason == (
        f"{tmp_path / 'NVDA.csv'}: column 'symbol': the file holds MSFT (3 rows), not NVDA: it "
        "is another ticker's file; rename it MSFT.csv, or save NVDA's prices in it (or, if "
        "MSFT is NVDA under another name, remove the column)"
    )
    assert got.kind == "error"


def test_a_long_file_of_two_tickers_is_refused_naming_them(tmp_path: Path) -> None:
    """Review: a long-format file of two tickers (dates repeated) had every row masked as a
    conflicting duplicate, with no word that it held two tickers."""
    text = LONG + _long_rows(["AAPL", "MSFT"]) + "2024-03-28,MSFT,10,11,9,10.5,100\n"
    got = failure(folder(tmp_path, AAPL=text), "AAPL")
    assert got.reason == (
        f"{tmp_path / 'AAPL.csv'}: column 'Symbol': the file holds several tickers: MSFT "
        "(4 rows), AAPL (3 rows); a price file holds one ticker's rows: save one file per "
        "ticker, named after it (e.g. df[df['Symbol'] == 'MSFT'].to_csv('MSFT.csv', "
        "index=False))"
    )
    with pytest.raises(ValueError, match="holds several tickers: MSFT"):
        read_price_file(tmp_path / "AAPL.csv")  # without a ticker too


@pytest.mark.parametrize(
    ("name", "cells"),
    [
        ("Symbol", ["BRK.B", "BRK-B", "brk-b"]),  # the share class's separator, the case
        ("Ticker", ["BRK-B", "", "BRK-B"]),  # an empty cell names no ticker
        ("ticker_symbol", ["BRK/B"] * 3),
        ("Symbol", ["^GSPC", "_GSPC", "GSPC"]),  # an index with or without its caret
    ],
)
def test_a_symbol_column_naming_the_files_ticker_is_read(
    tmp_path: Path, name: str, cells: list[str]
) -> None:
    days = pd.bdate_range("2024-03-25", periods=3)
    text = f"Date,{name},Open,High,Low,Close,Volume\n" + "".join(
        f"{d:%Y-%m-%d},{c},10,11,9,{10 + i},100\n"
        for i, (d, c) in enumerate(zip(days, cells, strict=True))
    )
    ticker = "^GSPC" if "GSPC" in cells else "BRK-B"
    got = series(folder(tmp_path, **{ticker.replace("^", "_"): text}), ticker)
    assert got.frame["close"].tolist() == [10.0, 11.0, 12.0]
    assert got.frame.index.equals(pd.DatetimeIndex(days, name="date"))


def test_a_download_files_ticker_line_and_a_symbol_column_are_both_checked(
    tmp_path: Path,
) -> None:
    text = DOWNLOAD.replace("Volume\n", "Volume,Symbol\n").replace("SPY\n", "SPY,SPY\n")
    text = text.replace("Date,,,,,,\n", "Date,,,,,,,\n").replace(",10\n", ",10,SPY\n")
    text = text.replace(",20\n", ",20,QQQ\n")
    got = failure(folder(tmp_path, SPY=text), "SPY")
    assert "the file holds several tickers: QQQ (1 row), SPY (1 row)" in got.reason


def test_columns_yfinance_adds_for_funds_or_repairs_are_ignored(tmp_path: Path) -> None:
    extra = HISTORY.replace("Stock Splits\n", "Stock Splits,Capital Gains,Repaired?\n")
    extra = "\n".join(
        line if i == 0 else f"{line},0.0,False" for i, line in enumerate(extra.splitlines())
    )
    got = series(folder(tmp_path, SPY=extra + "\n"), "SPY")
    pd.testing.assert_frame_equal(
        got.frame, series(folder(tmp_path / "..", SPY=HISTORY), "SPY").frame
    )
    assert got.info.adjustment == ADJUSTMENT_HISTORY


def test_our_own_files_keep_the_declared_adjustment(tmp_path: Path) -> None:
    text = "date,open,high,low,close,volume\n2024-03-27,1,2,0.5,1.5,7\n"
    (tmp_path / "AAA.csv").write_text(text)
    assert series(CsvDirSource(tmp_path), "AAA").info.adjustment == ADJUSTMENT_CSV_DEFAULT
    declared = CsvDirSource(tmp_path, adjustment="raw, unadjusted")
    assert series(declared, "AAA").info.adjustment == "raw, unadjusted"
    # yfinance's shapes record their own policy whatever is declared
    (tmp_path / "BBB.csv").write_text(HISTORY)
    assert series(declared, "BBB").info.adjustment == ADJUSTMENT_HISTORY


def test_index_files_under_both_spellings(tmp_path: Path) -> None:
    src = folder(tmp_path, **{"^GSPC": HISTORY, "_DJI": HISTORY, "META": HISTORY})
    assert src.tickers() == ("META", "^DJI", "^GSPC")
    gspc = series(src, "^GSPC")
    assert gspc.info.source == f"csv:{tmp_path.resolve() / '^GSPC.csv'}"
    assert series(src, "^DJI").info.source.endswith("_DJI.csv")
    # a misspelt index is still told apart, never "did you mean ^GSPC?" for ^GSPC itself
    missing = failure(src, "^IXIC")
    assert missing.reason == f"no file _IXIC.csv in {tmp_path.resolve()}"
    (tmp_path / "_GSPC.csv").write_text(HISTORY)
    both = failure(src, "^GSPC")
    assert both.reason == f"both _GSPC.csv and ^GSPC.csv are in {tmp_path.resolve()}"
    assert both.hint == "keep one of the two spellings of the ticker's file"


def test_a_folder_or_fifo_named_like_a_price_file_is_refused_without_hanging(
    tmp_path: Path,
) -> None:
    (tmp_path / "META.csv").mkdir()
    os.mkfifo(tmp_path / "AAPL.csv")
    (tmp_path / "SPY.csv").write_text(ADJ_CLOSE)
    src = CsvDirSource(tmp_path)
    assert src.tickers() == ("SPY",)
    out: dict[str, object] = {}
    reader = threading.Thread(
        target=lambda: out.update(src.fetch(["META", "AAPL"], None, None).failed)
    )
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "reading a FIFO hung"
    where = tmp_path.resolve()
    meta, aapl = out["META"], out["AAPL"]
    assert isinstance(meta, FetchFailure)
    assert isinstance(aapl, FetchFailure)
    assert meta.reason == f"META.csv in {where} is a folder, not a price file"
    assert aapl.reason == f"AAPL.csv in {where} is not a regular file (a FIFO?), not a price file"
    assert meta.hint == (
        "replace it with the ticker's CSV file (columns date,open,high,low,close,volume)"
    )
    assert "did you mean" not in meta.hint


@pytest.mark.parametrize(
    "ticker",
    ["../../etc/passwd", "META/../../x", "META\n", "A" * 252],
)
def test_a_ticker_that_is_no_ticker_names_no_file(tmp_path: Path, ticker: str) -> None:
    src = CsvDirSource(tmp_path)
    for call in (
        lambda: src.read(ticker),
        lambda: src.fetch(["META", ticker], None, None),
        lambda: PriceCache(tmp_path).path_for(ticker),
    ):
        with pytest.raises(InvalidTickerError) as caught:
            call()
        assert str(caught.value).startswith(f"ticker {ticker[:20]!r}"[:-1])
    assert list(tmp_path.iterdir()) == []


def test_load_prices_refuses_a_ticker_too_long_to_name_a_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidTickerError, match="at most 20"):
        load_prices(["META", "A" * 252], source=CsvDirSource(tmp_path))


def test_the_invalid_ticker_message() -> None:
    with pytest.raises(InvalidTickerError) as caught:
        CsvDirSource(".").read("../../etc/passwd")
    assert str(caught.value) == (
        "ticker '../../etc/passwd': not a Yahoo ticker (expected upper case letters and "
        "digits, optionally '-', a leading '^' for an index and an exchange suffix such as "
        "'.HK', e.g. 'META', '0700.HK', '^GSPC')"
    )
    with pytest.raises(InvalidTickerError) as caught:
        CsvDirSource(".").read("A" * 252)
    # the catalog's check (backtest.markets.check_ticker, at most 20 characters) comes first
    assert str(caught.value) == (
        f"ticker '{'A' * 20}...': is 252 characters long; Yahoo tickers have at most 20 "
        "(e.g. 'META', 'BRK-B', '0700.HK', '^GSPC')"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Datetime,Open,High,Low,Close,Volume\n2024-03-27 09:30:00-04:00,1,1,1,1,1\n",
            "line 1: column Datetime: intraday bars; evbt needs daily bars (interval='1d')",
        ),
        (
            "Date,Open,High,Low,Close,Volume\n2024-03-27 09:30:00-04:00,1,1,1,1,1\n",
            "line 2: date '2024-03-27 09:30:00-04:00' has a time of day: intraday bars; evbt "
            "needs daily bars stamped with the session's date (or its local midnight)",
        ),
        (
            "Date,Open,High,Low,Close,Volume\n2024-03-27,1,1,1,1,1\n2024-03-28,1,1,1,1\n",
            "line 3: 5 values, but the header has 6 columns",
        ),
        (
            "Date,Open,Open,Low,Close,Volume\n2024-03-27,1,1,1,1,1\n",
            "line 1: column 'Open' appears twice",
        ),
        ("", "is empty; a price file starts with the header date,open,high,low,close,volume"),
        (
            "Date,Open,High,Low,Close,Volume\n2024-02-30 00:00:00-05:00,1,1,1,1,1\n",
            "line 2: date '2024-02-30 00:00:00-05:00' is not a valid date",
        ),
    ],
)
def test_bad_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "BAD.csv").write_text(text)
    got = failure(CsvDirSource(tmp_path), "BAD")
    assert got.reason == f"{tmp_path.resolve() / 'BAD.csv'}: {message}"
    assert (got.kind, got.hint) == ("error", "fix the file")


def test_a_bom_and_crlf_line_ends_are_read(tmp_path: Path) -> None:
    (tmp_path / "MMM.csv").write_bytes(b"\xef\xbb\xbf" + HISTORY.replace("\n", "\r\n").encode())
    got = series(CsvDirSource(tmp_path), "MMM")
    assert got.frame["close"].tolist() == [10.5, 11.0, 11.5, 12.0]
    assert len(got.flags) == 1


# ----------------------------------------------------------------------------- both readers


def _cell(x: float) -> str:
    return "" if np.isnan(x) else repr(float(x))  # the shortest text that reads back exactly


finite = st.floats(min_value=0.01, max_value=1e6, allow_nan=False)
row = st.tuples(
    finite,
    finite,
    finite,
    finite,
    finite,
    st.floats(0, 1e9),
    st.sampled_from([0.0, 2.0, 1.196, 0.125]),
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(row, min_size=1, max_size=12),
    shape=st.sampled_from(["evbt", "history", "adj_close", "download"]),
    missing=st.booleans(),
)
def test_the_fast_and_the_careful_reader_agree_with_what_was_written(
    rows: list[tuple[float, ...]], shape: str, missing: bool
) -> None:
    days = pd.bdate_range("2024-01-02", periods=len(rows))
    o, h, lo, c, adj, v, split = (np.array(col, dtype=float) for col in zip(*rows, strict=True))
    if missing:
        h[0] = np.nan  # an empty cell reads as missing
    stamp = " 00:00:00-05:00" if shape == "history" else ""
    if shape == "evbt":
        header, cols = "date,open,high,low,close,volume", [o, h, lo, c, v]
    elif shape == "history":
        header = "Date,Open,High,Low,Close,Volume,Dividends,Stock Splits"
        cols = [o, h, lo, c, v, np.zeros(len(c)), split]
    elif shape == "adj_close":
        header, cols = "Date,Open,High,Low,Close,Adj Close,Volume", [o, h, lo, c, adj, v]
    else:
        header = "Price,Open,High,Low,Close,Adj Close,Volume\nTicker,T,T,T,T,T,T\nDate,,,,,,"
        cols = [o, h, lo, c, adj, v]
    lines = [
        f"{d:%Y-%m-%d}{stamp}," + ",".join(_cell(col[i]) for col in cols)
        for i, d in enumerate(days)
    ]
    data = ("\n".join([header, *lines]) + "\n").encode()
    layout = read_layout(data, "T")
    fast = _parse_fast(data, layout)
    assert fast is not None  # a clean file never needs the careful reader
    careful = _parse_careful(data, layout)
    assert fast.keys() == careful.keys()
    for k in fast:
        np.testing.assert_array_equal(fast[k], careful[k])
    # and both are what was written, on the basis the shape says
    np.testing.assert_array_equal(fast["date"], days.to_numpy().astype("datetime64[D]"))
    scale = adj / c if shape in ("adj_close", "download") else np.ones(len(c))
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"evbt-shape-{threading.get_ident()}.csv"
    path.write_bytes(data)
    try:
        frame = read_price_file(path, "T").frame
    finally:
        path.unlink()
    np.testing.assert_array_equal(frame["open"].to_numpy(), o * scale)
    np.testing.assert_array_equal(frame["high"].to_numpy(), h * scale)
    np.testing.assert_array_equal(
        frame["close"].to_numpy(), c * scale if shape in ("evbt", "history") else adj
    )
    np.testing.assert_array_equal(frame["volume"].to_numpy(), v)


ODD_HEADER = "date,open,high,low,close,volume\n2024-03-27,10,11,9,10,100\n"


@pytest.mark.parametrize(
    "cell",
    [
        "2_90",
        "\u0662\u0669\u0660",
        "290\u00a0",
        "\u00a0290",
        "\uff12\uff19\uff10",
        "290\u2009",
        "1_000.5",
    ],
    ids=[
        "underscore",
        "arabic-indic",
        "nbsp-after",
        "nbsp-before",
        "fullwidth",
        "thin-space",
        "1_000",
    ],
)
def test_a_number_only_python_reads_is_refused_by_both_readers(tmp_path: Path, cell: str) -> None:
    """Review: the careful reader took ``2_90`` for 290, and Arabic-Indic digits and a trailing
    non-breaking space as numbers (``float`` does), where Arrow's reader refuses them."""
    data = (ODD_HEADER + f"2024-03-28,10,11,9,{cell},100\n").encode()
    layout = read_layout(data, "ODD")
    assert _parse_fast(data, layout) is None
    message = (
        f"line 3: close {cell!r} is not a number (write plain decimal digits, such as 290.5 "
        "or 2.905e2)"
    )
    with pytest.raises(ValueError, match="is not a number") as info:
        _parse_careful(data, layout)
    assert str(info.value) == message
    (tmp_path / "ODD.csv").write_bytes(data)
    got = failure(CsvDirSource(tmp_path), "ODD")
    assert got.reason == f"{tmp_path.resolve() / 'ODD.csv'}: {message}"


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        (" 290 ", 290.0),
        ("\t290", 290.0),
        ("+2.9e2", 290.0),
        ("290.", 290.0),
        (".5E+3", 500.0),
        ("0290", 290.0),
        ("-Infinity", -math.inf),
        ("inf", math.inf),
        ("NaN", math.nan),
        ("1.#IND", math.nan),
        ("#N/A", math.nan),
    ],
)
def test_the_numbers_both_readers_take_they_read_alike(cell: str, value: float) -> None:
    data = (ODD_HEADER + f"2024-03-28,10,11,9,{cell},100\n").encode()
    layout = read_layout(data, "ODD")
    fast = _parse_fast(data, layout)
    assert fast is not None
    careful = _parse_careful(data, layout)
    np.testing.assert_array_equal(fast["close"], [10.0, value])
    np.testing.assert_array_equal(careful["close"], [10.0, value])


# ----------------------------------------------------------------------------- the panel


def test_return_flags_reach_the_panel_within_the_range(tmp_path: Path) -> None:
    src = folder(tmp_path, MMM=HISTORY, SPY=ADJ_CLOSE)
    panel = load_prices(["MMM", "SPY"], "2024-03-27", "2024-04-02", source=src)
    flags = panel.return_flags
    assert list(flags.columns) == ["ticker", "date", "reason"]
    assert flags[["ticker", "date"]].to_dict("records") == [
        {"ticker": "MMM", "date": pd.Timestamp("2024-04-01")}
    ]
    assert flags["reason"].iloc[0].startswith("Stock Splits 1.196 on 2024-04-01")
    assert panel.provenance["SPY"].adjustment == ADJUSTMENT_ADJ_CLOSE
    before = load_prices(["MMM"], "2024-03-27", "2024-03-28", source=src)
    assert before.return_flags.empty
    assert list(before.return_flags.columns) == ["ticker", "date", "reason"]
    assert before.return_flags["date"].dtype == "datetime64[ns]"
