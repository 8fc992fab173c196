"""Load, validate, filter and align the events catalog.

A catalog is one or more YAML files (or folders of them). Loading never stops at the first
problem: every problem in every file is collected as a :class:`~backtest.errors.CatalogProblem`
(``file:line: entry <id>: field <name>: message``), the entries that have problems are left out,
and the others are loaded. ``strict=True`` raises :class:`~backtest.errors.CatalogError` instead
when there is any problem.

Examples
--------
>>> cat = load_catalog()                                    # doctest: +SKIP
>>> layoffs = cat.filter(categories=["layoff"], tickers=["META"])   # doctest: +SKIP
>>> layoffs.to_frame()[["event_id", "ticker", "day0"]]       # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from backtest.catalog._yaml import LinedData, YamlSyntaxError, load_yaml_with_lines
from backtest.catalog.schema import (
    CLAIM_FIELDS,
    EVENT_FIELDS,
    KNOWN_CATEGORIES,
    SOURCE_FIELDS,
    Event,
)
from backtest.errors import (
    CalendarRangeError,
    CatalogError,
    CatalogNotFoundError,
    CatalogProblem,
    UnknownEventError,
)
from backtest.text import did_you_mean

CATALOG_SUFFIXES = (".yaml", ".yml")
_TOP_LEVEL_KEYS = ("events", "categories")

_MISSING_HELP = {
    "id": "add a unique slug such as meta-2023-03-14-layoffs",
    "title": "add a short English title",
    "description": "add an English description in your own words",
    "category": f"add one of {', '.join(KNOWN_CATEGORIES)}",
    "scope": "add company or market",
    "date": "add the local date as YYYY-MM-DD",
    "tickers": "add a list of Yahoo tickers, primary first",
    "sources": "add at least one source with document and says",
    "document": "add the source document's file name",
    "says": "add what the source says (English paraphrase)",
    "ticker": "add the ticker the claim is about",
    "measure": "add close_to_close, open_to_close, intraday_low, intraday_high or "
    "market_value_change",
    "source": "add the document that makes the claim",
}


def default_catalog_paths() -> list[Path]:
    """The catalog read when no path is given: the one shipped with evbt
    (:func:`backtest.resources.shipped_dir`).

    The library reads no environment variable and looks in no working folder; the command
    line resolves ``--catalog``, ``$EVBT_CATALOG`` and ``./events`` before it gets here
    (:func:`backtest.cli._env.catalog_paths`).
    """
    from backtest.resources import shipped_dir

    return [shipped_dir("events")]


def catalog_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The YAML files named by ``paths`` (files, or folders searched recursively), sorted."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix in CATALOG_SUFFIXES and f.is_file())
            if not found:
                raise CatalogNotFoundError(f"{p}: folder holds no .yaml or .yml catalog files")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise CatalogNotFoundError(f"{p}: no such catalog file or folder")
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _field_name(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(err: Mapping[str, Any], loc: Sequence[str | int]) -> str:
    """One pydantic error as the sentence a user reads."""
    kind = err["type"]
    name = str(next((p for p in reversed(loc) if isinstance(p, str)), ""))
    if kind == "missing":
        help_ = _MISSING_HELP.get(name, "add it")
        return f"is missing: {help_}"
    if kind == "extra_forbidden":
        parent = [p for p in loc[:-1] if isinstance(p, str)]
        known = {"sources": SOURCE_FIELDS, "claims": CLAIM_FIELDS}.get(
            parent[-1] if parent else "", EVENT_FIELDS
        )
        hint = did_you_mean(name, known)
        return f"is not a known field (known: {', '.join(known)}){hint}"
    if kind == "value_error":
        return str(err["ctx"]["error"])
    if kind in ("too_short",) and name in ("tickers", "sources"):
        return f"is empty: {_MISSING_HELP[name]}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {err.get('input')!r}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of fields, got {err.get('input')!r}"
    return f"{err['msg']} (got {err.get('input')!r})"


@dataclass(frozen=True)
class Origin:
    """Where an event was defined."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Catalog:
    """A validated set of events, with the problems found while loading it.

    Attributes
    ----------
    events:
        The valid events, in file order.
    problems:
        Every problem found; entries with problems are not in ``events``.
    files:
        The files read.
    origins:
        ``event id -> Origin`` (file and line).
    """

    events: tuple[Event, ...]
    problems: tuple[CatalogProblem, ...] = ()
    files: tuple[str, ...] = ()
    origins: Mapping[str, Origin] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __contains__(self, event_id: object) -> bool:
        return any(e.id == event_id for e in self.events)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.events)

    def get(self, event_id: str) -> Event:
        """The event with this id; :class:`UnknownEventError` (a LookupError) otherwise."""
        for e in self.events:
            if e.id == event_id:
                return e
        raise UnknownEventError(event_id, self.ids)

    def filter(
        self,
        *,
        ids: Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        tickers: Iterable[str] | None = None,
        scope: str | None = None,
        tags: Iterable[str] | None = None,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> Catalog:
        """The events that match every given criterion.

        ``ids``, ``categories``: the event's value is one of these. ``tickers``, ``tags``: the
        event lists at least one of these. ``start``/``end``: inclusive bounds on ``date``.
        ``where``: any other field, ``{field: value or list of values}``; for list fields
        (tickers, tags) at least one must match. Unknown ids raise UnknownEventError.
        """
        conditions: dict[str, Any] = dict(where or {})
        for name in conditions:
            if name not in EVENT_FIELDS:
                hint = did_you_mean(name, EVENT_FIELDS)
                raise KeyError(f"events have no field {name!r}{hint}")
        if ids is not None:
            ids = list(ids)
            for i in ids:
                if i not in self:
                    raise UnknownEventError(i, self.ids)
            conditions["id"] = ids
        if categories is not None:
            conditions["category"] = list(categories)
        if tickers is not None:
            conditions["tickers"] = list(tickers)
        if scope is not None:
            conditions["scope"] = scope
        if tags is not None:
            conditions["tags"] = list(tags)
        lo = pd.Timestamp(start).date() if start is not None else None
        hi = pd.Timestamp(end).date() if end is not None else None

        def keep(e: Event) -> bool:
            if lo is not None and e.date < lo:
                return False
            if hi is not None and e.date > hi:
                return False
            for name, wanted in conditions.items():
                want = set(wanted) if isinstance(wanted, list | tuple | set) else {wanted}
                have = getattr(e, name)
                have_set = set(have) if isinstance(have, tuple) else {have}
                if not want & have_set:
                    return False
            return True

        kept = tuple(e for e in self.events if keep(e))
        return Catalog(
            events=kept,
            problems=self.problems,
            files=self.files,
            origins={e.id: self.origins[e.id] for e in kept if e.id in self.origins},
        )

    def to_frame(self) -> pd.DataFrame:
        """The canonical event table: one row per (event, ticker), with its day-0 session.

        Columns: ``event_id, ticker, is_primary, market, day0, date, timing, time, timezone,
        category, scope, title, n_tickers, tags, file``.
        """
        rows = []
        for e in self.events:
            for i, t in enumerate(e.tickers):
                rows.append(
                    {
                        "event_id": e.id,
                        "ticker": t,
                        "is_primary": i == 0,
                        "market": e.market(t).code,
                        "day0": e.day0(t),
                        "date": pd.Timestamp(e.date),
                        "timing": e.timing or "exact",
                        "time": e.time.strftime("%H:%M") if e.time else None,
                        "timezone": e.timezone,
                        "category": e.category,
                        "scope": e.scope,
                        "title": e.title,
                        "n_tickers": len(e.tickers),
                        "tags": ",".join(e.tags),
                        "file": str(self.origins[e.id]) if e.id in self.origins else None,
                    }
                )
        columns = [
            "event_id", "ticker", "is_primary", "market", "day0", "date", "timing", "time",
            "timezone", "category", "scope", "title", "n_tickers", "tags", "file",
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready list of events (the ``evbt events list --format json`` output)."""
        out = []
        for e in self.events:
            rec = e.model_dump(mode="json", exclude_none=True)
            rec["timing"] = e.timing
            if e.time is not None:
                rec["time"] = e.time.isoformat(timespec="minutes" if not e.time.second else "auto")
            rec["sessions"] = {t: s.date().isoformat() for t, s in e.sessions().items()}
            rec["markets"] = {t: e.market(t).code for t in e.tickers}
            if e.id in self.origins:
                rec["file"] = str(self.origins[e.id])
            out.append(rec)
        return out

    def summary(self) -> str:
        """Counts of events by category and of problems, as text."""
        if not self.events:
            head = "empty catalog"
        else:
            counts = pd.Series([e.category for e in self.events]).value_counts()
            by_cat = ", ".join(f"{k} {v}" for k, v in counts.items())
            first = min(e.date for e in self.events)
            last = max(e.date for e in self.events)
            head = (
                f"{len(self.events)} events from {first} to {last} in {len(self.files)} "
                f"file(s): {by_cat}"
            )
        if self.problems:
            head += f"; {len(self.problems)} problem(s), see .problems"
        return head

    def __str__(self) -> str:
        return self.summary()


def _validate_file(
    path: Path, display: str
) -> tuple[list[tuple[Event, int]], list[CatalogProblem]]:
    problems: list[CatalogProblem] = []

    def problem(line: int, entry: str, field_: str, message: str) -> None:
        problems.append(CatalogProblem(display, line, entry, field_, message))

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problem(1, "", "", f"not UTF-8 text ({exc.reason} at byte {exc.start}); save as UTF-8")
        return [], problems
    except OSError as exc:
        problem(1, "", "", f"cannot be read: {exc.strerror}")
        return [], problems
    try:
        doc: LinedData = load_yaml_with_lines(text)
    except YamlSyntaxError as exc:
        problem(exc.line, "", "", exc.message)
        return [], problems
    for key_path, line in doc.duplicate_keys:
        if len(key_path) == 1:
            problem(line, "", "", f"top-level key {key_path[0]!r} appears twice")
    data = doc.data
    if data is None:
        problem(1, "", "", "file is empty: expected a mapping with an 'events:' list")
        return [], problems
    if not isinstance(data, dict):
        problem(doc.line(()), "", "", "top level must be a mapping with an 'events:' list")
        return [], problems
    for key in data:
        if key not in _TOP_LEVEL_KEYS:
            hint = did_you_mean(str(key), _TOP_LEVEL_KEYS)
            problem(
                doc.line((str(key),)),
                "",
                str(key),
                f"unknown top-level key (allowed: {', '.join(_TOP_LEVEL_KEYS)}){hint}",
            )
    categories = data.get("categories") or []
    if not isinstance(categories, list) or not all(
        isinstance(c, str) and c.strip() for c in categories
    ):
        problem(doc.line(("categories",)), "", "categories", "expected a list of category names")
        categories = []
    entries = data.get("events")
    if entries is None:
        problem(doc.line(()), "", "events", "is missing: add an 'events:' list of entries")
        return [], problems
    if not isinstance(entries, list):
        problem(doc.line(("events",)), "", "events", "expected a list of entries (- id: ...)")
        return [], problems

    events: list[tuple[Event, int]] = []
    for i, raw in enumerate(entries):
        entry_path: tuple[str | int, ...] = ("events", i)
        line = doc.line(entry_path)
        if not isinstance(raw, dict):
            problem(line, f"#{i + 1}", "", f"expected a mapping of fields, got {raw!r}")
            continue
        raw_id = raw.get("id")
        label = raw_id if isinstance(raw_id, str) and raw_id.strip() else f"#{i + 1}"
        n_before = len(problems)
        for key_path, dup_line in doc.duplicate_keys:
            if key_path[: len(entry_path)] == entry_path:
                rest = key_path[len(entry_path) :]
                problem(dup_line, label, _field_name(rest), "appears twice in this entry")
        try:
            event = Event.model_validate(raw, context={"categories": categories})
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            locs = [tuple(err["loc"]) for err in errors]
            for err in errors:
                loc = tuple(err["loc"])
                if any(len(o) > len(loc) and o[: len(loc)] == loc for o in locs):
                    continue  # a more specific error below this field says what is wrong

                problem(
                    doc.line((*entry_path, *(str(p) if isinstance(p, str) else p for p in loc))),
                    label,
                    _field_name(loc),
                    _message(err, loc),
                )
            continue
        if len(problems) > n_before:
            continue
        # Day 0 must exist for every ticker (and every claim's ticker).
        ok = True
        for t in (*event.tickers, *(c.ticker for c in event.claims)):
            try:
                event.day0(t)
            except CalendarRangeError as exc:
                problem(doc.line((*entry_path, "date")), label, "date", f"for {t}: {exc}")
                ok = False
                break
        if ok:
            events.append((event, line))
    return events, problems


def load_catalog(
    paths: Iterable[str | os.PathLike[str]] | None = None,
    *,
    strict: bool = False,
    documents_dir: str | os.PathLike[str] | None = None,
) -> Catalog:
    """Load and validate catalog files.

    Parameters
    ----------
    paths:
        Files and/or folders (searched recursively for ``.yaml``/``.yml``). Default:
        :func:`default_catalog_paths`.
    strict:
        Raise :class:`~backtest.errors.CatalogError` listing every problem if there is any,
        instead of returning the valid events with ``.problems``.
    documents_dir:
        If given, every source document (and claim source) that is a plain file name must
        exist in this folder (e.g. ``../shared/seeds``).

    Raises
    ------
    CatalogNotFoundError
        A path does not exist, or a folder holds no catalog file.
    CatalogError
        With ``strict=True``, when any problem was found.
    """
    files = catalog_files(default_catalog_paths() if paths is None else paths)
    problems: list[CatalogProblem] = []
    events: list[Event] = []
    origins: dict[str, Origin] = {}
    docs = Path(documents_dir) if documents_dir is not None else None
    for path in files:
        display = _display(path)
        file_events, file_problems = _validate_file(path, display)
        problems.extend(file_problems)
        for event, line in file_events:
            if event.id in origins:
                problems.append(
                    CatalogProblem(
                        display,
                        line,
                        event.id,
                        "id",
                        f"duplicate id: {event.id!r} is already defined at "
                        f"{origins[event.id]}; ids must be unique across all catalog files",
                    )
                )
                continue
            if docs is not None:
                missing = [
                    d
                    for d in (
                        *(s.document for s in event.sources),
                        *(c.source for c in event.claims),
                    )
                    if "://" not in d and not (docs / d).is_file()
                ]
                if missing:
                    problems.append(
                        CatalogProblem(
                            display,
                            line,
                            event.id,
                            "sources",
                            f"document {missing[0]!r} is not in {docs}",
                        )
                    )
                    continue
            origins[event.id] = Origin(display, line)
            events.append(event)
    catalog = Catalog(
        events=tuple(events),
        problems=tuple(problems),
        files=tuple(_display(f) for f in files),
        origins=origins,
    )
    if strict and problems:
        raise CatalogError(problems)
    return catalog
