"""Fakes for the price layer's tests: no test here may reach the network.

* the suite's ``no_network`` guard (``tests/conftest.py``) fails any connection beyond loopback.
* ``prices_fakes.FakeYahooDownload``: a stand-in for ``yfinance.download`` returning frames
  shaped exactly like yfinance 1.x's (checked against the real ``yf.download`` in
  ``test_prices_yahoo_shape.py``) and logging failures the way yfinance does, built from the
  real files in ``../shared/prices``.
* ``prices_fakes.EmulatedYahoo``: an HTTP session answering like Yahoo's chart endpoint, so that
  the *real* ``yf.download`` can run offline (used to establish the shape and the failure messages).

How the shape was established: by reading yfinance 1.7's ``multi.py`` (per-ticker frames from
``Ticker.history``, failed tickers replaced by ``utils.empty_df()`` whose columns include
``Adj Close``; frames re-indexed to the union of dates, concatenated with ``keys=tickers`` and
``names=['Ticker', 'Price']``, levels swapped for ``group_by='column'`` and sorted on the
``Price`` level) and ``scrapers/history.py`` (``auto_adjust`` keeps ``Open, High, Low, Close,
Volume``; volume cast to int64; index named ``Date``, tz-naive with ``ignore_tz=True``), then
by running the real ``yf.download`` against :class:`EmulatedYahoo` and comparing frames with
``assert_frame_equal``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from prices_fakes import FakeYahooDownload, read_shared

from tests.conftest import _shared


@pytest.fixture(scope="session")
def shared_frames(shared_prices_dir: Path) -> dict[str, pd.DataFrame]:
    """Some real series, by ticker."""
    return {
        t: read_shared(t, shared_prices_dir) for t in ("META", "AAPL", "SPY", "0700.HK", "^GSPC")
    }


@pytest.fixture(scope="session")
def shared_sp500_dir() -> Path:
    """``../shared/sp500``: the S&P 500 as yfinance users save it (see its PROVENANCE.md)."""
    return _shared("sp500")


@pytest.fixture
def fake_download(shared_frames: dict[str, pd.DataFrame]) -> FakeYahooDownload:
    """A fake ``yf.download`` over a few real series; ``ZZZZ`` is unknown."""
    return FakeYahooDownload(dict(shared_frames))


@pytest.fixture
def yfinance_sandbox(tmp_path: Path) -> Iterator[None]:
    """Point yfinance's own caches (timezones, cookies) at a temporary folder, and clear its
    in-memory HTTP cache, so that the real ``yf.download`` runs in isolation."""
    import yfinance as yf
    from yfinance import cache as yf_cache
    from yfinance.data import YfData

    old = yf_cache._TzDBManager.get_location()
    yf.set_tz_cache_location(str(tmp_path / "yfinance-cache"))
    YfData.cache_get.cache_clear()
    try:
        yield
    finally:
        YfData.cache_get.cache_clear()
        yf.set_tz_cache_location(old)
