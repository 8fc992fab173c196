"""evbt: event-driven stock-reaction backtester.

The Python API mirrors the CLI:

* :func:`load_catalog` reads the events catalog (``events/``) and maps every event to the
  day-0 session of each of its tickers (:mod:`backtest.sessions` holds the rule).

Importing :mod:`backtest` is cheap: the names below are loaded on first use (PEP 562), so that
``import backtest`` and ``evbt --help`` load neither pandas nor numpy.

>>> import backtest
>>> backtest.__version__
'0.1.0'
>>> backtest.market_of("0700.HK").code
'XHKG'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backtest._lazy import lazy_names

__version__ = "0.1.0"

#: public name -> the module that defines it (imported when the name is first used)
_LAZY: dict[str, str] = {
    "Catalog": "backtest.catalog",
    "Claim": "backtest.catalog",
    "Event": "backtest.catalog",
    "Source": "backtest.catalog",
    "load_catalog": "backtest.catalog",
    "CatalogError": "backtest.errors",
    "CatalogProblem": "backtest.errors",
    "EvbtWarning": "backtest.errors",
    "Market": "backtest.markets",
    "get_calendar": "backtest.markets",
    "market_of": "backtest.markets",
    "day0_session": "backtest.sessions",
    "day0_sessions": "backtest.sessions",
}

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

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ loads these
    from backtest.catalog import Catalog, Claim, Event, Source, load_catalog
    from backtest.errors import CatalogError, CatalogProblem, EvbtWarning
    from backtest.markets import Market, get_calendar, market_of
    from backtest.sessions import day0_session, day0_sessions


__getattr__, __dir__ = lazy_names(__name__, _LAZY)
