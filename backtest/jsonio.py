"""JSON as every output of evbt writes it: dates as ISO text, NaN as null, infinities as text.

One encoder for the command line, the report's tables, ``run.json`` and the results'
``to_dict()``: a session date (a midnight timestamp or a :class:`datetime.date`) is written
``"2025-10-30"``, an instant with its time and offset, numpy scalars and arrays as plain numbers
and lists. The JSON standard has neither NaN nor infinity, and the two mean different things:

* NaN (a value not computed or missing) is written ``null``;
* an infinity (a value that is not bounded, such as the end of a 95% interval that an inverted
  BMP or Kolari-Pynnönen test cannot bound) is written as the text ``"inf"`` or ``"-inf"``
  (:data:`INF`, :data:`NEG_INF`), as the CSV tables and the workbook write it; ``float()`` in
  Python and ``pandas.to_numeric`` read it back (in JavaScript: ``Number(x.replace("inf",
  "Infinity"))``).

So a number field holds a number, ``null``, ``"inf"`` or ``"-inf"`` (:func:`number`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

#: An infinite float as evbt's JSON writes it (the JSON standard has no infinity).
INF = "inf"
#: A negative infinite float as evbt's JSON writes it.
NEG_INF = "-inf"


def number(x: float) -> float | str | None:
    """A float as evbt's JSON holds it: finite as it is, NaN ``None``, an infinity
    :data:`INF` or :data:`NEG_INF` (see the module docstring).

    >>> number(0.25), number(float("nan")), number(float("inf")), number(float("-inf"))
    (0.25, None, 'inf', '-inf')
    """
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return None
    return INF if x > 0 else NEG_INF


def jsonable(v: Any) -> Any:
    """``v`` with every value JSON can hold: see the module docstring.

    >>> import datetime as dt
    >>> jsonable({"a": float("nan"), "d": dt.date(2025, 10, 30), "xs": (1, 2.5)})
    {'a': None, 'd': '2025-10-30', 'xs': [1, 2.5]}
    >>> jsonable({"lo": float("-inf"), "hi": float("inf")})
    {'lo': '-inf', 'hi': 'inf'}
    """
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return number(v)
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

    >>> dumps({"x": float("nan"), "y": float("inf"), "t": "é"}, indent=None)
    '{"x": null, "y": "inf", "t": "é"}'
    """
    return json.dumps(jsonable(obj), indent=indent, ensure_ascii=False, allow_nan=False)
