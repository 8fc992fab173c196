"""Event tables as the strategies read them, built by hand for the tests."""

from __future__ import annotations

from typing import Any

import pandas as pd

#: the columns of a catalog event table, as one company's news before the open in New York
DEFAULTS: dict[str, Any] = {
    "is_primary": True,
    "market": "XNYS",
    "timing": "before_open",
    "time": None,
    "timezone": None,
    "category": "news",
    "scope": "company",
    "title": "t",
    "n_tickers": 1,
    "tags": "",
    "file": None,
}


def event_table(event_id: Any, ticker: Any, day0: Any, **columns: Any) -> pd.DataFrame:
    """An event table: the given columns (a value for every row or one per row), ``date``
    day 0 unless given, and :data:`DEFAULTS` for the rest."""
    data = {"event_id": event_id, "ticker": ticker, "day0": day0}
    data |= {"date": day0, **DEFAULTS, **columns}
    index = None if any(not _scalar(v) for v in data.values()) else [0]
    return pd.DataFrame(data, index=index)


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool | pd.Timestamp)
