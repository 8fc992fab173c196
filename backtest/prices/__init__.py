"""The price layer: daily OHLCV from Yahoo (cached) or a CSV directory, checked and aligned.

Entry point for the engine: :func:`load_prices` returns a :class:`PricePanel` (dates x tickers of
adjusted closes, opens, highs, lows and volumes, with failures, provenance and a quality report).

Sources (all implement :class:`PriceSource`):

* :class:`YahooSource` — yfinance, split- and dividend-adjusted, batched, with bounded retries;
* :class:`CsvDirSource` — one CSV file per ticker (offline work, ``--prices-dir``): evbt's
  own ``date,open,high,low,close,volume`` files and the CSVs yfinance users save;
* :class:`CachedSource` — any source behind the Parquet :class:`PriceCache`.

:func:`open_source` builds the source of a run (the command line calls it; the library reads no
environment variable).

Only :mod:`backtest.prices.yahoo` imports yfinance (lazily).
"""

from backtest.prices.base import (
    ADJUSTMENT_CSV_DEFAULT,
    ADJUSTMENT_YAHOO,
    FAILURE_KINDS,
    FIELDS,
    FailureKind,
    FetchFailure,
    FetchResult,
    PriceSeries,
    PriceSource,
    SeriesInfo,
)
from backtest.prices.cached import CachedSource
from backtest.prices.csvdir import CsvDirSource
from backtest.prices.panel import (
    PRICES_DIR_ENV,
    PricePanel,
    build_panel,
    load_prices,
    open_source,
    resolve_source,
)
from backtest.prices.quality import CHECKS, QualityIssue, QualityReport, check_series
from backtest.prices.store import CachedSeries, PriceCache
from backtest.prices.yahoo import YahooSource

__all__ = [
    "ADJUSTMENT_CSV_DEFAULT",
    "ADJUSTMENT_YAHOO",
    "CHECKS",
    "FAILURE_KINDS",
    "FIELDS",
    "PRICES_DIR_ENV",
    "CachedSeries",
    "CachedSource",
    "CsvDirSource",
    "FailureKind",
    "FetchFailure",
    "FetchResult",
    "PriceCache",
    "PricePanel",
    "PriceSeries",
    "PriceSource",
    "QualityIssue",
    "QualityReport",
    "SeriesInfo",
    "YahooSource",
    "build_panel",
    "check_series",
    "load_prices",
    "open_source",
    "resolve_source",
]
