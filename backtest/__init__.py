"""evbt: event-driven stock-reaction backtester.

The Python API mirrors the CLI:

* :func:`load_catalog` reads the events catalog (``events/``) and maps every event to the
  day-0 session of each of its tickers (:mod:`backtest.sessions` holds the rule).
"""

from backtest.catalog import Catalog, Claim, Event, Source, load_catalog
from backtest.errors import CatalogError, CatalogProblem, EvbtWarning
from backtest.markets import Market, get_calendar, market_of
from backtest.sessions import day0_session, day0_sessions

__version__ = "0.1.0"

__all__ = [
    "Catalog",
    "CatalogError",
    "CatalogProblem",
    "Claim",
    "EvbtWarning",
    "Event",
    "Market",
    "Source",
    "__version__",
    "day0_session",
    "day0_sessions",
    "get_calendar",
    "load_catalog",
    "market_of",
]
