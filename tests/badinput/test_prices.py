"""Bad price files in a price folder (``--prices-dir``): one file per case, the exact outcome.

A file that cannot be used fails its ticker only (a :class:`FetchFailure` whose reason names the
file, line and field); the folder's other tickers load. Files that are not regular files, both
spellings of an index's file and tickers that could name a file outside the folder are made or
asked at run time.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pandas as pd
import pytest

from backtest.errors import InvalidTickerError
from backtest.prices import CsvDirSource, load_prices
from backtest.prices.base import FetchFailure, PriceSeries

HERE = (Path(__file__).resolve().parent / "prices").resolve()

FAILURES = {
    # ticker: (kind, reason; {path} is the file)
    "EMPTY": ("error", "{path}: is empty; a price file starts with the header "
              "date,open,high,low,close,volume"),
    "HEADER-ONLY": ("empty", "HEADER-ONLY.csv has no rows"),
    "MISSING-COLUMN": ("error", "{path}: missing column(s) volume; the header must be "
                       "date,open,high,low,close,volume (or a CSV saved from yfinance: "
                       "Date,Open,High,Low,Close,[Adj Close,]Volume,...)"),
    "DUP-COLUMN": ("error", "{path}: line 1: column 'Close' appears twice"),
    "BAD-DATE": ("error", "{path}: line 3: date '2024-02-30 00:00:00-05:00' is not a valid date"),
    "NOT-A-DATE": ("error", "{path}: line 2: date '03/27/2024' is not YYYY-MM-DD"),
    "INTRADAY": ("error", "{path}: line 2: date '2024-03-27 09:30:00-04:00' has a time of day: "
                 "intraday bars; evbt needs daily bars stamped with the session's date (or its "
                 "local midnight)"),
    "DATETIME": ("error", "{path}: line 1: column Datetime: intraday bars; evbt needs daily "
                 "bars (interval='1d')"),
    "RAGGED": ("error", "{path}: line 3: 7 values, but the header has 8 columns"),
    "NOT-A-NUMBER": ("error", "{path}: line 2: close 'abc' is not a number"),
    "OTHER-TICKER": ("error", "{path}: line 2: the file holds SPY, not OTHER-TICKER"),
    "SEVERAL-TICKERS": ("error", "{path}: holds several tickers (QQQ, SPY); save one file per "
                        "ticker (e.g. df.xs('META', axis=1, level='Ticker').to_csv('META.csv'))"),
    "NUL": ("error", "{path}: holds NUL bytes: not a text CSV file"),
    "NOT-UTF8": ("error", "{path}: is not UTF-8 text"),
}  # fmt: skip
READ = {"SPIN-OFF", "PLACEHOLDER"}


def test_every_file_of_the_corpus_has_a_case() -> None:
    assert {p.stem for p in HERE.glob("*.csv")} == set(FAILURES) | READ


@pytest.mark.parametrize("ticker", sorted(FAILURES))
def test_bad_price_files(ticker: str) -> None:
    got = CsvDirSource(HERE).read(ticker)
    assert isinstance(got, FetchFailure)
    kind, reason = FAILURES[ticker]
    assert (got.kind, got.reason) == (kind, reason.format(path=HERE / f"{ticker}.csv"))


def test_a_bad_file_fails_its_ticker_only() -> None:
    panel = load_prices(["SPIN-OFF", "RAGGED"], source=CsvDirSource(HERE))
    assert panel.tickers == ("SPIN-OFF",)
    assert set(panel.failed) == {"RAGGED"}


def test_a_spin_off_booked_as_a_split_is_flagged() -> None:
    panel = load_prices(["SPIN-OFF"], source=CsvDirSource(HERE))
    assert panel.return_flags[["ticker", "date"]].to_dict("records") == [
        {"ticker": "SPIN-OFF", "date": pd.Timestamp("2024-04-01")}
    ]


def test_placeholder_rows_before_the_listing_are_left_out() -> None:
    panel = load_prices(["PLACEHOLDER"], source=CsvDirSource(HERE))
    assert panel.close["PLACEHOLDER"].first_valid_index() == pd.Timestamp("2019-10-21")
    (issue,) = [i for i in panel.quality.issues if i.check == "placeholder_history"]
    assert issue.message == (
        "2 rows from 2019-10-17 to 2019-10-18, before trading starts on 2019-10-21: mostly flat "
        "bars, some with zero volume (placeholder history before the listing): left out"
    )


def test_non_files_and_both_spellings(tmp_path: Path) -> None:
    (tmp_path / "META.csv").mkdir()
    os.mkfifo(tmp_path / "AAPL.csv")
    text = (HERE / "SPIN-OFF.csv").read_text()
    (tmp_path / "^GSPC.csv").write_text(text)
    (tmp_path / "_GSPC.csv").write_text(text)
    src = CsvDirSource(tmp_path)
    where = tmp_path.resolve()
    out: dict[str, FetchFailure | PriceSeries] = {}
    reader = threading.Thread(
        target=lambda: out.update({t: src.read(t) for t in ("META", "AAPL", "^GSPC")}),
        daemon=True,
    )
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "reading a FIFO hung"
    reasons = {t: f.reason for t, f in out.items() if isinstance(f, FetchFailure)}
    assert reasons == {
        "META": f"META.csv in {where} is a folder, not a price file",
        "AAPL": f"AAPL.csv in {where} is not a regular file (a FIFO?), not a price file",
        "^GSPC": f"both _GSPC.csv and ^GSPC.csv are in {where}",
    }


def test_a_path_is_no_ticker(tmp_path: Path) -> None:
    with pytest.raises(InvalidTickerError) as caught:
        CsvDirSource(tmp_path).fetch(["META", "../../etc/passwd"], None, None)
    assert str(caught.value).startswith("ticker '../../etc/passwd': not a Yahoo ticker")
