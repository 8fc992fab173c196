"""The schema of a catalog entry (an event), validated with pydantic.

Validators raise ``ValueError`` with the complete sentence a user sees: what was found, why it
is wrong and how to fix it. :mod:`backtest.catalog.catalog` adds file, line, entry and field.

Simple field checks are ``Annotated`` types (:data:`Slug`, :data:`Text` ...), declared once and
used wherever the field occurs. A YAML entry is a hand-written record and must give its title,
description, scope and sources (with what each says); a CSV row (validation context
``{"table": True}``) is a table line, where those are optional: scope defaults to ``company``,
the description to empty, the sources to the ``source`` cell.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Annotated, Any, Literal, get_args

import pandas as pd
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from backtest.catalog import attributes as attrs
from backtest.errors import InvalidTickerError, UnknownMarketError
from backtest.markets import Market, market_of
from backtest.sessions import TIME_OF_DAY, TIMINGS, Timing, day0_session
from backtest.text import did_you_mean

#: Categories every catalog knows. A catalog file may add its own under ``categories:``.
KNOWN_CATEGORIES: tuple[str, ...] = (
    "earnings",
    "layoff",
    "model_launch",
    "product_launch",
    "partnership",
    "policy",
    "trade_summit",
    "corporate",
)

Scope = Literal["company", "market"]
Measure = Literal[
    "close_to_close", "open_to_close", "intraday_low", "intraday_high", "market_value_change"
]
MEASURES: tuple[str, ...] = get_args(Measure)

#: Normal-return models an event may ask for (the study's names).
ModelName = Literal["market", "market_adjusted", "constant_mean", "raw", "factor"]
MODELS: tuple[str, ...] = get_args(ModelName)

_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def _table(info: ValidationInfo) -> bool:
    """Whether the record being validated is a CSV row (lenient about descriptive fields)."""
    return bool((info.context or {}).get("table"))


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected {what} as text, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ValueError(f"is empty: write {what}")
    return value.strip()


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _required(help_: str, table_default: Any, check: Callable[[Any], Any]) -> BeforeValidator:
    """A field a YAML entry must give (``is missing: <help_>``) and a CSV row may leave out.

    The field's default is ``None`` (validated, so that its absence reaches this check).
    """

    def validate(value: Any, info: ValidationInfo) -> Any:
        if value is None:
            if _table(info):
                return table_default
            raise ValueError(f"is missing: {help_}")
        return check(value)

    return BeforeValidator(validate)


def parse_date(value: Any) -> dt.date:
    """A YYYY-MM-DD text (or a date) as a date; a clear ValueError otherwise."""
    if isinstance(value, dt.datetime):
        raise ValueError(f"{value!r} has a time: give the date as YYYY-MM-DD and use time:")
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD (e.g. 2023-07-05)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid date (expected YYYY-MM-DD)") from None


def _optional_date(value: Any) -> dt.date | None:
    return None if value is None else parse_date(value)


def _slug(value: Any, what: str = "a unique id") -> str:
    text = _text(value, what)
    if not _SLUG_RE.match(text):
        suggestion = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
        raise ValueError(
            f"{text!r} is not a slug (lower-case letters, digits and single hyphens, "
            f"e.g. {suggestion!r})"
        )
    return text


def _choice(value: Any, choices: tuple[str, ...], what: str, tail: str = "") -> str:
    if value not in choices:
        raise ValueError(
            f"{value!r} is not {what} (use one of {', '.join(choices)}{tail})"
            + did_you_mean(str(value), choices)
        )
    return str(value)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number (e.g. -0.13 for -13%), got {value!r}")
    return float(value)


def _scope(value: Any) -> str:
    if value not in ("company", "market"):
        raise ValueError(
            f"{value!r} is not a scope: use 'company' for an announcement by or about a "
            "company, 'market' for a market-wide event such as a summit"
        )
    return str(value)


def _check_ticker_market(v: Any) -> str:
    """``v`` if it is a Yahoo ticker of a known market; a ValueError saying why not otherwise."""
    try:
        market_of(v)
    except (InvalidTickerError, UnknownMarketError) as exc:
        raise ValueError(exc.reason) from None
    return str(v)


def _as_list(value: Any, what: str, example: str) -> Any:
    """A single text as a one-item list (``tickers: META``, ``tags: ai``); a text that holds
    several items separated by commas is refused with the list to write instead."""
    if isinstance(value, str):
        if "," in value:
            items = ", ".join(p.strip() for p in value.split(",") if p.strip())
            raise ValueError(
                f"{value!r} holds several {what} in one text: write them as a list, "
                f"e.g. [{items or example}]"
            )
        return [value]
    return value


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...' ({len(str(value))} chars)"


# ---------------------------------------------------------------------- the field types
#: A unique id: lower-case letters, digits and single hyphens.
Slug = Annotated[str, BeforeValidator(_slug)]
#: A required text; the argument of ``_text`` says what the text is, in the error message.
Title = Annotated[str, BeforeValidator(partial(_text, what="a short English title"))]
Document = Annotated[
    str, BeforeValidator(partial(_text, what="the source document's file name or URL"))
]
ClaimSource = Annotated[
    str, BeforeValidator(partial(_text, what="the document that makes the claim"))
]
ClaimSays = Annotated[
    str, BeforeValidator(partial(_text, what="what the source claims (English paraphrase)"))
]
Note = Annotated[str | None, BeforeValidator(partial(_optional_text, what="a note on the source"))]
RequiredDate = Annotated[dt.date, BeforeValidator(parse_date)]
OptionalDate = Annotated[dt.date | None, BeforeValidator(_optional_date)]
OptionalNumber = Annotated[float | None, BeforeValidator(_number)]
Ticker = Annotated[str, BeforeValidator(_check_ticker_market)]
MeasureName = Annotated[
    Measure, BeforeValidator(partial(_choice, choices=MEASURES, what="a known measure"))
]
Direction = Annotated[
    Literal["up", "down"] | None,
    BeforeValidator(lambda v: v if v is None else _choice(v, ("up", "down"), "a direction", "")),
]
Says = Annotated[
    str | None,
    _required(
        "add what the source says (English paraphrase)",
        None,
        partial(_text, what="what the source says about the moment (English paraphrase)"),
    ),
]
Description = Annotated[
    str,
    _required(
        "add an English description in your own words",
        "",
        partial(_text, what="an English description in your own words"),
    ),
]
EventScope = Annotated[Scope, _required("add company or market", "company", _scope)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(_Model):
    """A document the event is drawn from.

    Attributes
    ----------
    document:
        File name of the source document (for the shipped catalog, a file in ``shared/seeds``),
        or a URL, or (in a CSV catalog's ``source`` column) a short description of the source.
    says:
        What the document says about the moment, paraphrased in English (required in YAML
        catalogs; ``None`` for a CSV row's source).
    note:
        Where the document disagrees with the record (e.g. it gives another date), and which
        version the catalog keeps.
    """

    document: Document
    says: Says = Field(default=None, validate_default=True)
    note: Note = None


class Claim(_Model):
    """A move a source asserts, to be set beside the measured move.

    Attributes
    ----------
    ticker:
        Ticker the claim is about (need not be one of the event's tickers, e.g. an index).
    measure:
        ``close_to_close`` (return from the previous close), ``open_to_close``,
        ``intraday_low`` / ``intraday_high`` (the day's low / high against the previous close),
        or ``market_value_change`` (in US dollars).
    value:
        The asserted move: a fraction for returns (-0.13 is -13%), dollars for market value.
    direction:
        ``up`` or ``down``, for claims that give no number. Derived from ``value`` if absent.
    date:
        The session the claim is about; defaults to the event's day 0 for that ticker.
    source:
        The document that makes the claim.
    says:
        The claim in the source's words, paraphrased in English.
    """

    ticker: Ticker
    measure: MeasureName
    value: OptionalNumber = None
    direction: Direction = None
    date: OptionalDate = None
    source: ClaimSource
    says: ClaimSays

    @model_validator(mode="after")
    def _value_or_direction(self) -> Claim:
        if self.value is None and self.direction is None:
            raise ValueError("a claim needs a value (e.g. -0.13), a direction (up/down), or both")
        if self.value is not None and self.value != 0 and self.direction is not None:
            implied = "up" if self.value > 0 else "down"
            if implied != self.direction:
                raise ValueError(
                    f"direction {self.direction!r} contradicts value {self.value} "
                    f"(which is {implied})"
                )
        return self

    @property
    def implied_direction(self) -> Literal["up", "down"] | None:
        """``direction``, or the sign of ``value`` when no direction was given."""
        if self.direction is not None:
            return self.direction
        if self.value is None or self.value == 0:
            return None
        return "up" if self.value > 0 else "down"


class Event(_Model):
    """One dated, sourced moment in the catalog.

    See the README (section "The events catalog") for the file format. Day-0 sessions come
    from :meth:`day0`, which applies the rule in :mod:`backtest.sessions`.

    Attributes
    ----------
    same_news_as:
        The id of an earlier entry that is the same piece of news (a press report and the
        announcement that confirms it): the study counts the two as one observation. Written
        ``same_news_as:`` or ``follows:`` in files.
    model:
        The normal-return model this event asks to be measured with (``market``,
        ``market_adjusted``, ``constant_mean``, ``raw``, ``factor``), or ``None`` for the run's.
    attributes:
        The event's attributes (name -> number or text); see :mod:`backtest.catalog.attributes`.
    """

    id: Slug
    title: Title
    description: Description = Field(default=None, validate_default=True)
    category: str
    scope: EventScope = Field(default=None, validate_default=True)
    date: RequiredDate
    timing: Timing | None = None
    time: dt.time | None = None
    timezone: str | None = None
    tickers: tuple[str, ...]
    sources: tuple[Source, ...] = Field(default=None, validate_default=True)
    claims: tuple[Claim, ...] = ()
    tags: tuple[str, ...] = ()
    same_news_as: str | None = Field(
        default=None, validation_alias=AliasChoices("same_news_as", "follows")
    )
    model: ModelName | None = None
    attributes: dict[str, float | str] = Field(default_factory=dict)

    def __hash__(self) -> int:  # ids are unique within a catalog; attributes are a dict
        return hash((type(self), self.id))

    # ------------------------------------------------------------------ field checks
    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, v: Any, info: ValidationInfo) -> str:
        text = _text(v, "a category")
        extra = tuple((info.context or {}).get("categories", ()))
        known = (*KNOWN_CATEGORIES, *(c for c in extra if c not in KNOWN_CATEGORIES))
        if text not in known:
            raise ValueError(
                f"{text!r} is not a known category (known: {', '.join(known)})"
                + did_you_mean(text, known)
                + (
                    "; to add a category, list it under 'categories:' in a YAML catalog file "
                    "loaded with this one"
                    if _table(info)
                    else "; to add a category, list it under 'categories:' at the top of the file"
                )
            )
        return text

    @field_validator("timing", mode="before")
    @classmethod
    def _timing(cls, v: Any) -> str | None:
        if v is None:
            return None
        return _choice(v, TIMINGS, "a timing", ", or give an exact time: and timezone:")

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, v: Any) -> dt.time | None:
        if v is None:
            return None
        m = TIME_OF_DAY.fullmatch(v) if isinstance(v, str) else None
        if m is None:
            raise ValueError(f"{v!r} is not a time of day (expected HH:MM, 24-hour, e.g. '19:00')")
        return dt.time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))

    @field_validator("timezone", mode="before")
    @classmethod
    def _timezone(cls, v: Any) -> str | None:
        if v is None:
            return None
        text = _text(v, "an IANA timezone such as 'America/New_York'")
        if text not in _timezones():
            raise ValueError(
                f"{text!r} is not a known IANA timezone (e.g. 'America/New_York', 'Asia/Seoul')"
                + did_you_mean(text, _timezones())
            )
        return text

    @field_validator("tickers", mode="before")
    @classmethod
    def _tickers(cls, v: Any) -> tuple[str, ...]:
        v = _as_list(v, "tickers", "META, MSFT")
        if not isinstance(v, list | tuple):
            raise ValueError(f"expected a list of tickers such as [META, MSFT], got {v!r}")
        if not v:
            raise ValueError("is empty: list at least one ticker (the first is the primary)")
        seen: set[str] = set()
        for i, t in enumerate(v):
            try:
                _check_ticker_market(t)
            except ValueError as exc:
                raise ValueError(f"tickers[{i}] {_short(t)}: {exc}") from None
            if t in seen:
                raise ValueError(f"ticker {t!r} is listed twice")
            seen.add(t)
        return tuple(v)

    @field_validator("sources", mode="before")
    @classmethod
    def _sources(cls, v: Any, info: ValidationInfo) -> Any:
        if v is None and _table(info):
            return ()
        if not isinstance(v, list | tuple) or not v:
            raise ValueError("list at least one source (document and what it says)")
        return v

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, v: Any) -> tuple[str, ...]:
        if v is None:
            return ()
        v = _as_list(v, "tags", "ai, chips")
        if not isinstance(v, list) or not all(isinstance(t, str) and t.strip() for t in v):
            raise ValueError(f"expected a list of short texts, got {v!r}")
        return tuple(t.strip() for t in v)

    @field_validator("same_news_as", mode="before")
    @classmethod
    def _same_news_as(cls, v: Any) -> str | None:
        return None if v is None else _slug(v, "the id of the entry this one repeats")

    @field_validator("model", mode="before")
    @classmethod
    def _model(cls, v: Any) -> str | None:
        return None if v is None else _choice(v, MODELS, "a normal-return model")

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes(cls, v: Any, info: ValidationInfo) -> dict[str, float | str]:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise ValueError(
                f"expected a mapping of attribute names to values (e.g. {{surprise_pct: 8.66}}), "
                f"got {v!r}"
            )
        kinds = (info.context or {}).get("attribute_kinds", {})
        clean, problems = check_attributes(v, kinds)
        if problems:
            name, message = problems[0]
            raise ValueError(f"{name}: {message}")
        return clean

    @model_validator(mode="after")
    def _timing_or_time(self) -> Event:
        has_time = self.time is not None or self.timezone is not None
        if self.timing is not None and has_time:
            raise ValueError(
                "give either timing (before_open/during/after_close/unknown) or an exact "
                "time with timezone, not both"
            )
        if self.timing is None and not has_time:
            raise ValueError(
                "when did it happen? add timing (before_open, during, after_close or unknown) "
                "or an exact time: HH:MM with timezone:"
            )
        if has_time and (self.time is None or self.timezone is None):
            missing = "timezone" if self.timezone is None else "time"
            raise ValueError(f"an exact time needs both time and timezone: add {missing}")
        if self.same_news_as == self.id:
            raise ValueError(
                f"same_news_as names this entry itself ({self.id!r}): name the earlier entry "
                "that is the same piece of news"
            )
        return self

    # ------------------------------------------------------------------ derived
    @property
    def primary_ticker(self) -> str:
        """The first ticker: the company the event is mainly about."""
        return self.tickers[0]

    def market(self, ticker: str) -> Market:
        """The market ``ticker`` trades on."""
        return market_of(ticker)

    def day0(self, ticker: str | None = None) -> pd.Timestamp:
        """Day-0 session of this event for ``ticker`` (default: the primary ticker).

        ``ticker`` may be any ticker (e.g. a claim's index); its exchange decides the session.
        """
        t = ticker or self.primary_ticker
        return day0_session(
            market_of(t).code,
            date=self.date,
            timing=self.timing,
            time=self.time,
            timezone=self.timezone,
        )

    def sessions(self) -> dict[str, pd.Timestamp]:
        """Day-0 session per ticker, in ticker order."""
        return {t: self.day0(t) for t in self.tickers}

    @property
    def timing_label(self) -> str:
        """``timing``, or ``HH:MM Zone/Name`` for an exact time."""
        if self.timing is not None:
            return self.timing
        assert self.time is not None
        return f"{self.time.strftime('%H:%M')} {self.timezone}"


def check_attributes(
    values: dict[Any, Any], kinds: dict[str, attrs.Kind]
) -> tuple[dict[str, float | str], list[tuple[str, str]]]:
    """Attribute values checked and coerced to their kinds: ``(clean, [(name, problem)])``.

    ``kinds`` gives the catalog's kind of each attribute; an attribute it lacks takes the kind
    of its own value. ``None`` values (not known) are left out of ``clean``.
    """
    clean: dict[str, float | str] = {}
    problems: list[tuple[str, str]] = []
    for name, value in values.items():
        bad_name = attrs.name_problem(name)
        if bad_name is not None:
            problems.append((str(name), bad_name))
            continue
        kind = kinds.get(name) or ("number" if attrs.is_number(value, from_text=False) else "text")
        coerced, problem = attrs.coerce(name, value, kind)
        if problem is not None:
            problems.append((name, problem))
        elif coerced is not None:
            clean[name] = coerced
    return clean, problems


EVENT_FIELDS: tuple[str, ...] = tuple(Event.model_fields)
SOURCE_FIELDS: tuple[str, ...] = tuple(Source.model_fields)
CLAIM_FIELDS: tuple[str, ...] = tuple(Claim.model_fields)
