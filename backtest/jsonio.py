"""JSON as every output of evbt writes it: dates as ISO text, NaN and infinities as null.

One encoder for the command line, the report's tables, ``run.json`` and the results'
``to_dict()``: a session date (a midnight timestamp or a :class:`datetime.date`) is written
``"2025-10-30"``, an instant with its time and offset, numpy scalars and arrays as plain numbers
and lists, and every non-finite float as ``null`` (the JSON standard has no NaN).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any


def jsonable(v: Any) -> Any:
    """``v`` with every value JSON can hold: see the module docstring.

    >>> import datetime as dt
    >>> jsonable({"a": float("nan"), "d": dt.date(2025, 10, 30), "xs": (1, 2.5)})
    {'a': None, 'd': '2025-10-30', 'xs': [1, 2.5]}
    """
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set | frozenset):
        return [jsonable(x) for x in v]
    if isinstance(v, dt.datetime):  # includes pandas.Timestamp
        if _is_nat(v):
            return None
        midnight = v.tzinfo is None and (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0)
        if midnight and getattr(v, "nanosecond", 0) == 0:
            return v.date().isoformat()
        return v.isoformat()
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if hasattr(v, "tolist") and hasattr(v, "dtype"):  # numpy scalars and arrays
        return jsonable(v.tolist())
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if _is_nat(v):
        return None
    return v


def _is_nat(v: Any) -> bool:
    # pandas.NaT and pandas.NA without importing pandas
    return type(v).__name__ in {"NaTType", "NAType"}


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """``obj`` as JSON text (UTF-8 characters kept), through :func:`jsonable`.

    >>> dumps({"x": float("inf"), "t": "é"}, indent=None)
    '{"x": null, "t": "é"}'
    """
    return json.dumps(jsonable(obj), indent=indent, ensure_ascii=False, allow_nan=False)
