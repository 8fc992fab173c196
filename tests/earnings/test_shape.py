"""The fakes are shaped exactly like the installed yfinance's ``get_earnings_dates`` output.

yfinance's own parser is run (no network: its HTTP layer is replaced by a stub that returns a
page laid out like Yahoo's calendar, built from the saved rows) and its frame compared with the
fake built from the same rows: index name, dtype and zone, columns, dtypes, NaN for unreported.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from tests.earnings.fakes import COLUMNS, frame_from_rows, saved_rows, yahoo_page


def yfinance_frame(symbol: str, page: str) -> pd.DataFrame:
    import yfinance as yf

    ticker = yf.Ticker(symbol)
    ticker._data = SimpleNamespace(cache_get=lambda url, **kw: SimpleNamespace(text=page))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # yfinance 1.7 uses an inplace rename pandas deprecates
        frame = ticker.get_earnings_dates(limit=100)
    assert frame is not None
    return frame


@pytest.mark.parametrize("symbol", ["META", "AMZN", "SMCI", "BRK-B"])
def test_fake_frames_equal_what_yfinance_parses(symbol: str, shared_sp500_earnings: Path) -> None:
    rows = saved_rows(shared_sp500_earnings / f"{symbol}.csv")[:100]
    real = yfinance_frame(symbol, yahoo_page(symbol, rows))
    fake = frame_from_rows(rows)
    assert real.index.name == "Earnings Date"
    assert str(real.index.dtype) == "datetime64[us, America/New_York]"
    assert list(real.columns) == COLUMNS
    assert (real.dtypes == "float64").all()
    assert real["Reported EPS"].isna().iloc[0]  # the next, scheduled, announcement
    pd.testing.assert_frame_equal(fake, real)
