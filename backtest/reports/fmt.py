"""Numbers as a reader sees them: units, signs and sensible precision, one rule for every page.

* returns and abnormal returns: percent with a sign and two decimals (``-9.87%``);
* test statistics and ratios: two decimals (``-6.80``);
* p-values: three decimals, ``<0.001`` below that;
* significance stars: ``***`` p < 0.01, ``**`` p < 0.05, ``*`` p < 0.10;
* money: thousands separators, no decimals from 100 up, two below (``104,512``, ``0.37``);
* a missing value is an em dash.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from backtest.study.results import stars as study_stars
from backtest.text import DASH as DASH  # the one rule for percentages and statistics
from backtest.text import NOT_BOUNDED as NOT_BOUNDED  # an interval a test cannot bound
from backtest.text import finite as _float
from backtest.text import interval as interval
from backtest.text import money as money  # one rule: 104,512 and 0.37, never 0
from backtest.text import num as num  # one rule: 0.00, never -0.00
from backtest.text import p_value
from backtest.text import pct as pct  # one rule: 0.00%, never -0.00%
from backtest.text import unbounded as unbounded


def integer(v: Any) -> str:
    """A count with thousands separators."""
    x = _float(v)
    return DASH if x is None else f"{round(x):,d}"


def pval(v: Any) -> str:
    """A p-value: ``0.042``, ``<0.001`` (:func:`backtest.text.p_value`)."""
    return p_value(v)


def stars(v: Any) -> str:
    """Significance stars of a p-value (:func:`backtest.study.results.stars`)."""
    x = _float(v)
    return "" if x is None else study_stars(x)


def sign_class(v: Any) -> str:
    """CSS class for a signed number: ``pos``, ``neg`` or ``""``."""
    x = _float(v)
    if x is None or x == 0:
        return ""
    return "pos" if x > 0 else "neg"


def day(v: Any) -> str:
    """A date as ``2025-10-30``."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return DASH
    if hasattr(v, "date") and callable(v.date):
        try:
            return str(v.date().isoformat())
        except (ValueError, TypeError):  # NaT
            return DASH
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)[:10]


def when(v: Any) -> str:
    """An ISO timestamp (UTC) as ``2026-11-21 14:02 UTC``."""
    if v is None or v == "":
        return DASH
    try:
        t = dt.datetime.fromisoformat(str(v))
    except ValueError:
        return str(v)
    if t.tzinfo is not None:
        t = t.astimezone(dt.UTC)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def source(v: Any) -> str:
    """A price source for a table: a CSV file by its name (the full path is in the
    provenance), anything else as it is."""
    s = text(v)
    if s.startswith("csv:"):
        return "CSV " + s[4:].replace("\\", "/").rsplit("/", 1)[-1]
    return s


def text(v: Any) -> str:
    """Any value as text; missing values as an em dash."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return DASH
    return str(v)


def claimed(value: Any, measure: str, direction: Any = None) -> str:
    """What a source claimed: a return in percent, a market value in dollars (billions when
    large), or only a direction."""
    x = _float(value)
    if x is None:
        return text(direction)
    if measure != "market_value_change":
        return pct(x)
    if abs(x) >= 1e9:
        return f"{'-' if x < 0 else '+'}${abs(x) / 1e9:,.0f} billion"
    return f"{'-' if x < 0 else '+'}${abs(x):,.0f}"


def measure_label(measure: str) -> str:
    """``intraday_low`` as ``intraday low``."""
    return measure.replace("_", " ")


#: The footnote that goes with :data:`NOT_BOUNDED`.
NOT_BOUNDED_NOTE = (
    "“not bounded”: the 95% interval of the headline test is every value (or everything "
    "outside a range): inverting the test (BMP or Kolari-Pynnönen, whose standardised returns "
    "spread as widely as their mean) rejects no shift of the mean, so the test cannot say "
    "where the average lies. Read it as “anything is plausible”, not as a missing number."
)
