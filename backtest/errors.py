"""Error and warning classes of evbt.

Every error a user can cause derives from a builtin (``ValueError`` or ``LookupError``) so that
callers who do not know evbt can still catch it, and carries the fields that describe the
problem, so that callers who do can act on them. Every warning evbt issues derives from
:class:`EvbtWarning`, so that a user can filter all of them at once::

    import warnings
    from backtest.errors import EvbtWarning
    warnings.simplefilter("ignore", EvbtWarning)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class EvbtWarning(UserWarning):
    """Base class of every warning evbt issues."""


class EvbtError(Exception):
    """Mixin marking an exception as one of evbt's own (user-facing, message is complete)."""


# ----------------------------------------------------------------------------- catalog


@dataclass(frozen=True, order=True)
class CatalogProblem:
    """One problem found in a catalog file.

    Rendered as ``file:line: entry <id>: field <name>: message``, the format of
    ``evbt events validate``. ``entry`` is the entry's id, or ``#N`` (1-based position in the
    file) when the entry has no usable id; ``field`` is a dotted path such as
    ``sources[0].document``, or empty for problems about a whole file or entry.
    ``entry_line`` is the line the entry starts on (0 for a problem of no entry): with
    ``file`` it tells apart two entries that share an id.
    """

    file: str
    line: int
    entry: str
    field: str
    message: str
    entry_line: int = 0

    def __str__(self) -> str:
        parts = [f"{self.file}:{self.line}"]
        if self.entry:
            parts.append(f"entry {self.entry}")
        if self.field:
            parts.append(f"field {self.field}")
        parts.append(self.message)
        return ": ".join(parts)


class CatalogError(EvbtError, ValueError):
    """A catalog has problems; :attr:`problems` lists every one of them."""

    def __init__(
        self, problems: Iterable[CatalogProblem], what: str = "the events catalog"
    ) -> None:
        self.problems: tuple[CatalogProblem, ...] = tuple(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in {what}:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class CatalogNotFoundError(EvbtError, LookupError):
    """No catalog file was found where one was expected."""


class UnknownEventError(EvbtError, LookupError):
    """An event id was asked for that the catalog does not hold."""

    def __init__(self, event_id: str, known: Iterable[str] = ()) -> None:
        from backtest.text import did_you_mean

        self.event_id = event_id
        hint = did_you_mean(event_id, known, n=3)
        super().__init__(f"no event with id {event_id!r} in the catalog{hint}")


# ----------------------------------------------------------------------------- markets


class UnknownMarketError(EvbtError, ValueError):
    """The market (exchange calendar) of a ticker cannot be inferred."""

    def __init__(self, ticker: str, reason: str) -> None:
        self.ticker = ticker
        self.reason = reason
        super().__init__(f"ticker {ticker!r}: {reason}")


class InvalidTickerError(EvbtError, ValueError):
    """A ticker is not spelled the way Yahoo spells tickers."""

    def __init__(self, ticker: str, reason: str) -> None:
        self.ticker = ticker
        self.reason = reason
        super().__init__(f"ticker {ticker!r}: {reason}")


class CalendarRangeError(EvbtError, ValueError):
    """A date lies outside the range the exchange calendar covers."""

    def __init__(self, market: str, when: object, first: object, last: object) -> None:
        self.market = market
        self.when = when
        self.first = first
        self.last = last
        super().__init__(
            f"{when} is outside the {market} calendar, which covers {first} to {last}; "
            "events must fall inside that range"
        )


# ----------------------------------------------------------------------------- prices


class PriceDataError(EvbtError, LookupError):
    """Prices for a ticker and a date range could not be had.

    Attributes
    ----------
    ticker:
        The ticker, spelled as Yahoo spells it.
    start, end:
        The range asked for (inclusive dates, ISO text); empty when not known.
    reason:
        What went wrong, in words.
    hint:
        What to try.
    """

    def __init__(
        self, ticker: str, start: object, end: object, reason: str, hint: str = ""
    ) -> None:
        self.ticker = ticker
        self.start = "" if start is None else str(start)
        self.end = "" if end is None else str(end)
        self.reason = reason
        self.hint = hint
        span = f" for {self.start} to {self.end}" if self.start or self.end else ""
        tail = f" ({hint})" if hint else ""
        super().__init__(f"{ticker}: no prices{span}: {reason}{tail}")


class UnknownTickerError(PriceDataError):
    """The price source does not know the ticker (misspelt, or delisted)."""


class EmptyPriceDataError(PriceDataError):
    """The price source knows the ticker but has no rows for the range asked for."""


class RateLimitedError(PriceDataError):
    """The price source refused to answer because of too many requests."""


class PriceSourceOfflineError(PriceDataError, ConnectionError):
    """The price source could not be reached (no network, DNS failure, timeout)."""


class PricesDirError(EvbtError, ValueError):
    """A prices directory (``--prices-dir``, ``EVBT_PRICES_DIR``) cannot be used."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"prices directory {self.path}: {reason}")


class PriceCacheError(EvbtError, OSError):
    """The price cache cannot be used (directory not writable, lock not obtained)."""

    def __init__(self, path: object, reason: str, hint: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        self.hint = hint
        tail = f" ({hint})" if hint else ""
        super().__init__(f"price cache {self.path}: {reason}{tail}")


class CacheCorruptWarning(EvbtWarning):
    """A cached price file could not be read; it was moved aside.

    Attributes
    ----------
    ticker, path, reason, moved_to:
        The ticker, its cache file, why it is unreadable and where it was moved.
    next_step:
        What happens next, as the caller knows it (by default: its prices will be fetched
        again; a read-only command says what to run instead). The outcome of that fetch is
        reported with the ticker's prices, never claimed here.
    """

    def __init__(
        self,
        ticker: str,
        path: object,
        reason: str,
        moved_to: object,
        next_step: str = "its prices will be fetched again",
    ) -> None:
        self.ticker = ticker
        self.path = str(path)
        self.reason = reason
        self.moved_to = str(moved_to)
        self.next_step = next_step
        super().__init__(f"{ticker}: {self.what()}; {next_step}")

    def what(self) -> str:
        """What happened to the file, without the ticker: for a ticker's record."""
        return (
            f"its cached prices in {self.path} were unreadable ({self.reason}) and were moved "
            f"aside to {self.moved_to}"
        )


class PriceCacheWarning(EvbtWarning):
    """Prices were fetched but some could not be stored in the cache; they were served anyway.

    Attributes
    ----------
    path:
        The cache folder.
    failures:
        Ticker -> why its file could not be written (e.g. ``No space left on device``).
    """

    def __init__(self, path: object, failures: Mapping[str, str]) -> None:
        self.path = str(path)
        self.failures = dict(failures)
        names = list(self.failures)
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        reasons = "; ".join(dict.fromkeys(self.failures.values()))
        super().__init__(
            f"price cache {self.path}: the prices of {shown} could not be stored ({reasons}); "
            "they were served from this download and will be fetched again next time"
        )


class InvalidDateError(EvbtError, ValueError):
    """A start or end date cannot be read, or start and end make an empty range.

    Attributes
    ----------
    name, value:
        The parameter and what was given.
    reason:
        What is wrong with it and what to write instead.
    """

    def __init__(
        self,
        name: str,
        value: object,
        reason: str = "is not a date: write it as YYYY-MM-DD, e.g. 2024-01-31",
    ) -> None:
        self.name = name
        self.value = value
        self.reason = reason
        super().__init__(f"{name} {value!r} {reason}")


# ----------------------------------------------------------------------------- report


class ReportFolderError(EvbtError, ValueError):
    """The report cannot be written where it was asked to go: the destination is a file, an
    input of the run, or a non-empty folder that evbt did not write (:attr:`path` names it)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message)


class ReportBusyError(EvbtError, RuntimeError):
    """Another process kept the report folder locked for too long (:attr:`path`)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message)


class ReportPdfError(EvbtError, RuntimeError):
    """Chromium could not print the report page to PDF."""


# ----------------------------------------------------------------------------- installation


class ShippedDataMissingError(EvbtError, FileNotFoundError):
    """The catalog or strategies shipped with evbt are missing from this installation."""


# ----------------------------------------------------------------------------- output


class OutputPathError(EvbtError, ValueError):
    """A report or output destination cannot be used; the message names the path and why."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


# ----------------------------------------------------------------------------- study


class UnknownGroupError(EvbtError, LookupError):
    """An event study's result has no such group (or window, or day); the message names the
    unknown one and the known ones."""

    def __init__(self, message: str, *, group_by: str, group: str) -> None:
        super().__init__(message)
        self.group_by = group_by
        self.group = group

    def __str__(self) -> str:
        return str(self.args[0])
