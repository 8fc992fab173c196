"""The events catalog: dated, sourced moments mapped to trading sessions."""

from backtest.catalog.catalog import (
    Catalog,
    Origin,
    catalog_files,
    default_catalog_paths,
    load_catalog,
)
from backtest.catalog.schema import KNOWN_CATEGORIES, MEASURES, Claim, Event, Source

__all__ = [
    "KNOWN_CATEGORIES",
    "MEASURES",
    "Catalog",
    "Claim",
    "Event",
    "Origin",
    "Source",
    "catalog_files",
    "default_catalog_paths",
    "load_catalog",
]
