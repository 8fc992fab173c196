"""The events catalog: dated, sourced moments mapped to trading sessions.

:func:`load_catalog` reads YAML and CSV catalogs into a :class:`Catalog`;
:meth:`Catalog.to_frame` is the event table the study and the strategies read, and
:meth:`Catalog.attributes` says of every attribute when its value is known.
:func:`load_confounders` reads catalogs and saved earnings calendars into a table of events
that are not studied but count as confounders.
"""

from backtest.catalog.attributes import (
    KNOWN_WHEN,
    STANDARD_ATTRIBUTES,
    AttributeInfo,
)
from backtest.catalog.catalog import (
    Catalog,
    Origin,
    catalog_files,
    default_catalog_paths,
    load_catalog,
)
from backtest.catalog.confounders import CONFOUNDER_COLUMNS, load_confounders
from backtest.catalog.schema import (
    KNOWN_CATEGORIES,
    MEASURES,
    MODELS,
    Claim,
    Event,
    Source,
)

__all__ = [
    "CONFOUNDER_COLUMNS",
    "KNOWN_CATEGORIES",
    "KNOWN_WHEN",
    "MEASURES",
    "MODELS",
    "STANDARD_ATTRIBUTES",
    "AttributeInfo",
    "Catalog",
    "Claim",
    "Event",
    "Origin",
    "Source",
    "catalog_files",
    "default_catalog_paths",
    "load_catalog",
    "load_confounders",
]
