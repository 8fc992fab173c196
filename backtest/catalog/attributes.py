"""Event attributes: the facts an event carries beyond the standard fields, and when each is known.

Any fact about an event that is not one of the standard fields is an **attribute**: the earnings
surprise, the EPS estimate, a sector, a user's own score. In a YAML catalog they sit under an
entry's ``attributes:`` mapping; in a CSV catalog every column that is not a standard one is an
attribute. ``Catalog.to_frame()`` carries one column per attribute (NA where an event lacks it)
and ``Catalog.attributes()`` says, for each, its kind and **when it is known**:

``before``
    public before the event (a company's sector; the consensus EPS estimate of a quarter);
``at_event``
    published with the news itself (the reported EPS and the surprise): a strategy may use it
    from the first price after the announcement on, never before;
``after``
    known only some time after the event (a later revision): no strategy entering at the event
    may use it.

An attribute without a declaration is ``at_event``. The standard attributes below are declared
by evbt; a YAML file declares its own under a top-level ``attributes:`` mapping (a declaration
applies to every file loaded with it, so a YAML file can declare the attributes of a CSV one)::

    attributes:
      analyst_count: {kind: number, known: before, description: analysts covering the stock}

Kinds are ``number`` (finite floats) and ``text``. An undeclared attribute is a number when any
of its values is one (a YAML number, or a CSV cell that reads as a number) and text otherwise;
a value that does not fit its attribute's kind is a problem of its entry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

Kind = Literal["number", "text"]
Known = Literal["before", "at_event", "after"]
KINDS: tuple[str, ...] = get_args(Kind)
KNOWN_WHEN: tuple[str, ...] = get_args(Known)


@dataclass(frozen=True)
class AttributeInfo:
    """What an attribute is and when its value becomes public.

    Attributes
    ----------
    name:
        The attribute's name (a column of ``Catalog.to_frame()``).
    kind:
        ``number`` or ``text``.
    known:
        ``before`` the event, ``at_event`` (published with it) or ``after`` it.
    description:
        What the value means, in a sentence (empty when nobody said).
    """

    name: str
    kind: Kind
    known: Known = "at_event"
    description: str = ""


#: Attributes evbt declares itself (the earnings import writes the first three).
STANDARD_ATTRIBUTES: Mapping[str, AttributeInfo] = {
    a.name: a
    for a in (
        AttributeInfo(
            "eps_estimate",
            "number",
            "before",
            "consensus EPS estimate of the quarter, published before the announcement",
        ),
        AttributeInfo("eps_reported", "number", "at_event", "EPS reported in the announcement"),
        AttributeInfo(
            "surprise_pct",
            "number",
            "at_event",
            "earnings surprise in percent: (reported - estimate) / |estimate| x 100",
        ),
        AttributeInfo("sector", "text", "before", "the company's sector (e.g. GICS)"),
    )
}

#: Columns of the event table and of the study's per-event table, and the catalog's own fields:
#: never attribute names.
RESERVED_NAMES: frozenset[str] = frozenset(
    {
        # Catalog.to_frame()
        "event_id", "ticker", "is_primary", "market", "day0", "date", "timing", "time",
        "timezone", "category", "scope", "title", "n_tickers", "tags", "file", "same_news_as",
        "model",
        # entry fields and CSV columns
        "id", "description", "tickers", "sources", "source", "claims", "follows", "attributes",
        # the study's per-event table
        "benchmark", "model_reason", "overlaps", "primary_obs", "not_total_return", "price_warning",
        "confounded", "clustered", "timing_unknown", "window", "car", "car_se", "bhar", "scar",
        "ar", "t", "p", "n",
    }
)  # fmt: skip

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name an attribute, or ``None`` when it can.

    >>> name_problem("surprise_pct") is None
    True
    >>> name_problem("EPS Estimate")
    "'EPS Estimate' is not an attribute name (lower-case letters, digits and underscores, starting with a letter, e.g. 'eps_estimate')"
    """  # noqa: E501
    if not isinstance(name, str) or not _NAME_RE.match(name):
        text = str(name)
        suggestion = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "my_attribute"
        if not suggestion[0].isalpha():
            suggestion = f"a_{suggestion}"
        return (
            f"{text!r} is not an attribute name (lower-case letters, digits and underscores, "
            f"starting with a letter, e.g. {suggestion!r})"
        )
    if name in RESERVED_NAMES:
        return (
            f"{name!r} is a standard field or column of evbt, not an attribute: "
            "give the attribute another name"
        )
    return None


def is_number(value: object, *, from_text: bool) -> bool:
    """Whether ``value`` counts as a number when an attribute's kind is inferred.

    YAML numbers count; a text counts only when it comes from a CSV cell (``from_text``) and
    reads as a finite number.
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if from_text and isinstance(value, str):
        return parse_number(value) is not None
    return False


def parse_number(text: str) -> float | None:
    """A table cell as a finite number, or ``None`` (``1_000``, ``nan`` and ``inf`` are not)."""
    if "_" in text:  # Python reads 1_000 as a number; a table cell should not
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def infer_kinds(values: Iterable[tuple[str, object, bool]]) -> dict[str, Kind]:
    """The kind of every attribute from ``(name, value, from_text)`` triples.

    A number when any value counts as one (:func:`is_number`), text otherwise.
    """
    kinds: dict[str, Kind] = {}
    for name, value, from_text in values:
        if kinds.get(name) == "number":
            continue
        kinds[name] = "number" if is_number(value, from_text=from_text) else "text"
    return kinds


def coerce(name: str, value: Any, kind: Kind) -> tuple[float | str | None, str | None]:
    """``value`` as attribute ``name`` of ``kind``: ``(value, None)`` or ``(None, problem)``.

    ``None`` and empty text mean "not known" (the event lacks the attribute): ``(None, None)``.

    >>> coerce("surprise_pct", "8.66", "number")
    (8.66, None)
    >>> coerce("sector", 7, "text")
    ('7', None)
    >>> coerce("surprise_pct", "n/a", "number")[1]
    "'n/a' is not a number, and surprise_pct holds numbers: write a number, or leave the value out when it is not known"
    """  # noqa: E501
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, bool):
        return None, (
            f"{str(value).lower()!r} is a yes/no value; attributes are numbers or text: write "
            "it as text (e.g. 'yes') or as 1/0"
        )
    if kind == "number":
        if isinstance(value, int | float):
            number = float(value)
            if not math.isfinite(number):
                return None, (
                    f"{value!r} is not a finite number (NaN or infinite): write a number, or "
                    "leave the value out when it is not known"
                )
            return number, None
        if isinstance(value, str):
            parsed = parse_number(value)
            if parsed is not None:
                return parsed, None
            return None, (
                f"{value.strip()!r} is not a number, and {name} holds numbers: write a number, "
                "or leave the value out when it is not known"
            )
    elif isinstance(value, str):
        return value.strip(), None
    elif isinstance(value, int | float) and math.isfinite(value):
        return str(value), None
    return None, f"expected a number or a text, got {_describe(value)}"


def _describe(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"
