"""The schema of a catalog entry (an event), validated with pydantic.

Validators raise ``ValueError`` with the complete sentence a user sees: what was found, why it
is wrong and how to fix it. :mod:`backtest.catalog.catalog` adds file, line, entry and field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from backtest.errors import InvalidTickerError, UnknownMarketError
from backtest.markets import Market, market_of
from backtest.sessions import TIMINGS, Timing, day0_session
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
MEASURES: tuple[str, ...] = (
    "close_to_close",
    "open_to_close",
    "intraday_low",
    "intraday_high",
    "market_value_change",
)

_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?$")


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def _did_you_mean(value: str, choices: Iterable[Any]) -> str:
    return did_you_mean(value, choices)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected {what} as text, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ValueError(f"is empty: write {what}")
    return value.strip()


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


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(_Model):
    """A document the event is drawn from.

    Attributes
    ----------
    document:
        File name of the source document (for the shipped catalog, a file in ``shared/seeds``),
        or a URL.
    says:
        What the document says about the moment, paraphrased in English.
    note:
        Where the document disagrees with the record (e.g. it gives another date), and which
        version the catalog keeps.
    """

    document: str
    says: str
    note: str | None = None

    @field_validator("document", mode="before")
    @classmethod
    def _document(cls, v: Any) -> str:
        return _text(v, "the source document's file name or URL")

    @field_validator("says", mode="before")
    @classmethod
    def _says(cls, v: Any) -> str:
        return _text(v, "what the source says about the moment (English paraphrase)")

    @field_validator("note", mode="before")
    @classmethod
    def _note(cls, v: Any) -> str | None:
        return None if v is None else _text(v, "a note on the source")


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

    ticker: str
    measure: Measure
    value: float | None = None
    direction: Literal["up", "down"] | None = None
    date: dt.date | None = None
    source: str
    says: str

    @field_validator("ticker", mode="before")
    @classmethod
    def _ticker(cls, v: Any) -> str:
        return _check_ticker_market(v)

    @field_validator("measure", mode="before")
    @classmethod
    def _measure(cls, v: Any) -> str:
        if v not in MEASURES:
            raise ValueError(
                f"{v!r} is not a known measure (use one of {', '.join(MEASURES)})"
                + _did_you_mean(str(v), MEASURES)
            )
        return str(v)

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, v: Any) -> float | None:
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"expected a number (e.g. -0.13 for -13%), got {v!r}")
        return float(v)

    @field_validator("direction", mode="before")
    @classmethod
    def _direction(cls, v: Any) -> str | None:
        if v is not None and v not in ("up", "down"):
            raise ValueError(f"{v!r} is not a direction (use up or down)")
        return v

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> dt.date | None:
        return None if v is None else parse_date(v)

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, v: Any) -> str:
        return _text(v, "the document that makes the claim")

    @field_validator("says", mode="before")
    @classmethod
    def _says(cls, v: Any) -> str:
        return _text(v, "what the source claims (English paraphrase)")

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


def _check_ticker_market(v: Any) -> str:
    """``v`` if it is a Yahoo ticker of a known market; a ValueError saying why not otherwise."""
    try:
        market_of(v)
    except (InvalidTickerError, UnknownMarketError) as exc:
        raise ValueError(exc.reason) from None
    return str(v)


class Event(_Model):
    """One dated, sourced moment in the catalog.

    See the README (section "The events catalog") for the file format. Day-0 sessions come
    from :meth:`day0`, which applies the rule in :mod:`backtest.sessions`.
    """

    id: str
    title: str
    description: str
    category: str
    scope: Scope
    date: dt.date
    timing: Timing | None = None
    time: dt.time | None = None
    timezone: str | None = None
    tickers: tuple[str, ...] = Field(min_length=1)
    sources: tuple[Source, ...] = Field(min_length=1)
    claims: tuple[Claim, ...] = ()
    tags: tuple[str, ...] = ()

    # ------------------------------------------------------------------ field checks
    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> str:
        text = _text(v, "a unique id")
        if not _SLUG_RE.match(text):
            suggestion = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
            raise ValueError(
                f"{text!r} is not a slug (lower-case letters, digits and single hyphens, "
                f"e.g. {suggestion!r})"
            )
        return text

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, v: Any) -> str:
        return _text(v, "a short English title")

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, v: Any) -> str:
        return _text(v, "an English description in your own words")

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, v: Any, info: ValidationInfo) -> str:
        text = _text(v, "a category")
        extra = tuple((info.context or {}).get("categories", ()))
        known = (*KNOWN_CATEGORIES, *extra)
        if text not in known:
            raise ValueError(
                f"{text!r} is not a known category (known: {', '.join(known)})"
                + _did_you_mean(text, known)
                + "; to add a category, list it under 'categories:' at the top of the file"
            )
        return text

    @field_validator("scope", mode="before")
    @classmethod
    def _scope(cls, v: Any) -> str:
        if v not in ("company", "market"):
            raise ValueError(
                f"{v!r} is not a scope: use 'company' for an announcement by or about a "
                "company, 'market' for a market-wide event such as a summit"
            )
        return str(v)

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> dt.date:
        return parse_date(v)

    @field_validator("timing", mode="before")
    @classmethod
    def _timing(cls, v: Any) -> str | None:
        if v is not None and v not in TIMINGS:
            raise ValueError(
                f"{v!r} is not a timing (use one of {', '.join(TIMINGS)}, or give an exact "
                "time: and timezone:)" + _did_you_mean(str(v), TIMINGS)
            )
        return v

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, v: Any) -> dt.time | None:
        if v is None:
            return None
        if not isinstance(v, str) or not _TIME_RE.match(v):
            raise ValueError(f"{v!r} is not a time of day (expected HH:MM, 24-hour, e.g. '19:00')")
        m = _TIME_RE.match(v)
        assert m is not None
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
                + _did_you_mean(text, _timezones())
            )
        return text

    @field_validator("tickers", mode="before")
    @classmethod
    def _tickers(cls, v: Any) -> tuple[str, ...]:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list | tuple):
            raise ValueError(f"expected a list of tickers such as [META, MSFT], got {v!r}")
        if not v:
            raise ValueError("is empty: list at least one ticker (the first is the primary)")
        seen: set[str] = set()
        for i, t in enumerate(v):
            try:
                _check_ticker_market(t)
            except ValueError as exc:
                raise ValueError(f"tickers[{i}] {t!r}: {exc}") from None
            if t in seen:
                raise ValueError(f"ticker {t!r} is listed twice")
            seen.add(t)
        return tuple(v)

    @field_validator("sources", mode="before")
    @classmethod
    def _sources(cls, v: Any) -> Any:
        if not isinstance(v, list) or not v:
            raise ValueError("list at least one source (document and what it says)")
        return v

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, v: Any) -> tuple[str, ...]:
        if v is None:
            return ()
        if not isinstance(v, list) or not all(isinstance(t, str) and t.strip() for t in v):
            raise ValueError(f"expected a list of short texts, got {v!r}")
        return tuple(t.strip() for t in v)

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


EVENT_FIELDS: tuple[str, ...] = tuple(Event.model_fields)
SOURCE_FIELDS: tuple[str, ...] = tuple(Source.model_fields)
CLAIM_FIELDS: tuple[str, ...] = tuple(Claim.model_fields)
