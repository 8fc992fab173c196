"""Text shared by every part: numbers as a reader sees them, and did-you-mean hints.

One rule for every page, table and summary:

* returns and abnormal returns: percent with a sign and two decimals (``-9.87%``);
* test statistics and ratios: two decimals (``-6.80``);
* money: thousands separators, no decimals from 100 up, two below (``104,512``, ``0.37``);
* p-values: three decimals, ``<0.001`` below, and more where three would cross a level of the
  significance stars (``0.0098``, not ``0.010***``);
* a missing or non-finite value is an em dash (``—``) unless the caller asks for another mark.

This module imports nothing heavy (no pandas, no numpy), so the command line can use it at once.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any

DASH = "—"


def finite(v: Any) -> float | None:
    """``v`` as a finite float, or None (missing, text, a bool, NaN or infinite).

    >>> finite(1.5), finite(float("nan")), finite(None), finite(True), finite("1")
    (1.5, None, None, None, None)
    """
    if v is None or isinstance(v, bool | str):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def pct(v: Any, digits: int = 2, *, signed: bool = True, missing: str = DASH) -> str:
    """A fraction as a percentage: ``0.0123`` as ``+1.23%`` (``signed=False``: ``1.23%``). A
    value that rounds to zero at ``digits`` decimals shows no sign: ``0.00%``, not ``-0.00%``
    (a loss of 0.001% is no loss a reader can see) nor ``+0.00%``.

    >>> pct(0.0123), pct(-0.5, 1), pct(0.25, signed=False), pct(None), pct(float("nan"), missing="")
    ('+1.23%', '-50.0%', '25.00%', '—', '')
    >>> pct(-0.000001), pct(0.00004), pct(-0.00005), pct(-0.0004, 1, signed=False)
    ('0.00%', '0.00%', '-0.01%', '0.0%')
    """
    x = finite(v)
    if x is None:
        return missing
    if round(abs(x) * 100, digits) == 0:
        return f"{0:.{digits}f}%"
    return f"{x * 100:+.{digits}f}%" if signed else f"{x * 100:.{digits}f}%"


def num(v: Any, digits: int = 2, *, missing: str = DASH) -> str:
    """A statistic or ratio with ``digits`` decimals; one that rounds to zero is ``0.00``,
    never ``-0.00``.

    >>> num(-6.8012), num(float("inf")), num(None, missing=""), num(-0.001), num(-0.004, 1)
    ('-6.80', '—', '', '0.00', '0.0')
    """
    x = finite(v)
    if x is None:
        return missing
    return f"{0:.{digits}f}" if round(abs(x), digits) == 0 else f"{x:.{digits}f}"


def money(v: Any, *, missing: str = DASH) -> str:
    """An amount of money: thousands separators and no decimals from 100 up, two decimals below
    (so a small amount never reads ``0``); one that rounds to zero is ``0.00``, never ``-0.00``.

    >>> money(104512.4), money(-2500), money(99.5), money(0.37), money(-0.001), money(None)
    ('104,512', '-2,500', '99.50', '0.37', '0.00', '—')
    """
    x = finite(v)
    if x is None:
        return missing
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return num(x)


#: The levels of the significance stars (*** ** *): a p-value shown never crosses one of them.
P_LEVELS = (0.01, 0.05, 0.10)


def p_value(v: Any, *, missing: str = DASH) -> str:
    """A p-value with three decimals (``0.042``), ``<0.001`` below; more decimals where three
    would round it onto or over a level of :data:`P_LEVELS`, so that the figure and its stars
    agree (``0.0098***``, not ``0.010***``), and ``<0.05`` for a p within rounding of a level.

    >>> [p_value(x) for x in (0.0421, 0.0004, 0.00976, 0.0499996, 0.1, float("nan"))]
    ['0.042', '<0.001', '0.0098', '<0.05', '0.100', '—']
    """
    x = finite(v)
    if x is None:
        return missing
    if x < 0.001:
        return "<0.001"
    for digits in (3, 4, 5):
        shown = f"{x:.{digits}f}"
        if all((float(shown) < level) == (x < level) for level in P_LEVELS):
            return shown
    return f"<{next(level for level in P_LEVELS if x < level):g}"


def counted(k: int, one: str, many: str = "") -> str:
    """``k`` and the noun: ``1 catalog entry``, ``2 catalog entries``, ``0 problems``."""
    return f"{k} {one if k == 1 else many or one + 's'}"


#: Said instead of an interval the test cannot bound (see :func:`interval`).
NOT_BOUNDED = "not bounded"


def interval(lo: Any, hi: Any, digits: int = 2) -> str:
    """A 95% interval as ``-1.91% to +15.24%``; one the test cannot bound (an infinite end,
    as an inverted BMP/Kolari-Pynnönen test gives when it rejects no value) as
    :data:`NOT_BOUNDED` with a half-bounded end said in words; no test at all: a dash.

    >>> interval(-0.0191, 0.1524)
    '-1.91% to +15.24%'
    >>> interval(float("-inf"), float("inf"))
    'not bounded'
    >>> interval(0.01, float("inf"))
    'above +1.00%'
    >>> interval(float("nan"), float("nan"))
    '—'
    """
    a, b = number_or_none(lo), number_or_none(hi)
    if a is None and b is None:
        return DASH
    if a is None or b is None:
        return NOT_BOUNDED
    if math.isinf(a) and math.isinf(b):
        return NOT_BOUNDED
    if math.isinf(b):
        return f"above {pct(a, digits)}"
    if math.isinf(a):
        return f"below {pct(b, digits)}"
    return f"{pct(a, digits)} to {pct(b, digits)}"


def unbounded(lo: Any, hi: Any) -> bool:
    """Whether :func:`interval` says the interval is not (fully) bounded."""
    a, b = number_or_none(lo), number_or_none(hi)
    if a is None and b is None:
        return False
    return a is None or b is None or math.isinf(a) or math.isinf(b)


def number_or_none(v: Any) -> float | None:
    """``v`` as a float; ``None`` when it is not a number or is NaN (infinities kept)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def close_matches(value: str, choices: Iterable[Any], n: int = 1) -> list[str]:
    """The closest of ``choices`` to ``value`` (difflib's ratio, cutoff 0.6), best first."""
    return difflib.get_close_matches(str(value), [str(c) for c in choices], n=n)


def did_you_mean(value: str, choices: Iterable[Any], n: int = 1, *, prefix: str = "; ") -> str:
    """A hint naming the closest choices, or ``""`` when none is close.

    >>> did_you_mean("earning", ["earnings", "layoff"])
    "; did you mean 'earnings'?"
    >>> did_you_mean("META1", ["META", "MSFT", "AMZN"], n=3, prefix="")
    'did you mean META?'
    >>> did_you_mean("zzz", ["earnings"])
    ''
    """
    close = close_matches(value, choices, n=n)
    if not close:
        return ""
    shown = repr(close[0]) if n == 1 else ", ".join(close)
    return f"{prefix}did you mean {shown}?"


def limit_message(limit: int, what: str, asked: int | str, name: str) -> str:
    """The one wording of a request beyond a run's ``[limits]``: the limit, what was asked,
    and how to raise it (``name`` is the field of ``[limits]``).

    >>> print(limit_message(1000, "sessions from day 0", 2520, "sessions"))
    ... # doctest: +NORMALIZE_WHITESPACE
    at most 1,000 sessions from day 0, asked for 2,520; raise [limits] sessions in the run
    configuration
    """
    asked_ = f"{asked:,}" if isinstance(asked, int) else asked
    return (
        f"at most {limit:,} {what}, asked for {asked_}; raise [limits] {name} in the run "
        "configuration"
    )
