"""Load, validate, filter and align the events catalog.

A catalog is one or more YAML or CSV files (or folders of them). Loading never stops at the
first problem: every problem in every file is collected as a
:class:`~backtest.errors.CatalogProblem` (``file:line: entry <id>: field <name>: message``), the
entries that have problems are left out, and the others are loaded. ``strict=True`` raises
:class:`~backtest.errors.CatalogError` instead when there is any problem.

What a file declares applies to the whole catalog loaded with it: the categories under
``categories:`` and the attributes under ``attributes:`` of any YAML file (so a YAML file can
declare what a CSV file uses).

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from backtest.catalog import attributes as attrs
from backtest.catalog._read import (
    CSV_COLUMNS,
    Declaration,
    FileRead,
    PathsLike,
    RawEntry,
    field_name,
    path_list,
    read_csv,
    read_text,
    read_yaml,
)
from backtest.catalog.attributes import AttributeInfo
from backtest.catalog.schema import (
    CLAIM_FIELDS,
    EVENT_FIELDS,
    KNOWN_CATEGORIES,
    SOURCE_FIELDS,
    Event,
    check_attributes,
)
from backtest.collector import collector_paused
from backtest.errors import (
    CalendarRangeError,
    CatalogError,
    CatalogNotFoundError,
    CatalogProblem,
    InvalidTickerError,
    UnknownEventError,
    UnknownMarketError,
)
from backtest.markets import get_calendar, market_of
from backtest.sessions import day0_sessions, day0_sessions_at, event_instant
from backtest.text import did_you_mean

CATALOG_SUFFIXES = (".yaml", ".yml", ".csv")

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

#: The columns of :meth:`Catalog.to_frame` before the attribute columns.
FRAME_COLUMNS: tuple[str, ...] = (
    "event_id", "ticker", "is_primary", "market", "day0", "date", "timing", "time",
    "timezone", "category", "scope", "title", "n_tickers", "tags", "file", "same_news_as",
    "model",
)  # fmt: skip


def default_catalog_paths() -> list[Path]:
    """The catalog read when no path is given: the one shipped with evbt
    (:func:`backtest.resources.shipped_dir`).

    The library reads no environment variable and looks in no working folder; the command
    line resolves ``--catalog``, ``$EVBT_CATALOG`` and ``./events`` before it gets here
    (:func:`backtest.cli._env.catalog_paths`).
    """
    from backtest.resources import shipped_dir

    return [shipped_dir("events")]


def catalog_files(paths: PathsLike) -> list[Path]:
    """The catalog files named by ``paths`` (files, or folders searched recursively for
    ``.yaml``, ``.yml`` and ``.csv`` files, hidden ones left out), sorted within each folder.

    Raises
    ------
    CatalogNotFoundError
        A path does not exist, is not a regular file or folder (a FIFO, a device), or a folder
        holds no catalog file.
    """
    files: list[Path] = []
    for p in path_list(paths):
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.suffix.lower() in CATALOG_SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
                and not f.is_dir()
            )
            if not found:
                raise CatalogNotFoundError(
                    f"{p}: folder holds no .yaml, .yml or .csv catalog files"
                )
            files.extend(found)
        elif p.is_file():
            files.append(p)
        elif p.exists():
            raise CatalogNotFoundError(
                f"{p}: is not a regular file (a FIFO, device or socket): pass a catalog file "
                "or folder"
            )
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


def _field_name(loc: Sequence[str | int], column_of: Mapping[str, str] | None = None) -> str:
    out = field_name(loc)
    if column_of:  # a CSV row: name the column the value came from
        for name in (out, out.split("[")[0], out.split(".")[0]):
            if name in column_of:
                return column_of[name]
    return out


def _message(err: Mapping[str, Any], loc: Sequence[str | int]) -> str:
    """One pydantic error as the sentence a user reads."""
    kind = err["type"]
    name = str(next((p for p in reversed(loc) if isinstance(p, str)), ""))
    if kind == "missing":
        help_ = _MISSING_HELP.get(name, "add it")
        return f"is missing: {help_}"
    if kind == "extra_forbidden":
        if name == "follows":
            return "give same_news_as or follows (two names of one field), not both"
        parent = [p for p in loc[:-1] if isinstance(p, str)]
        known = {"sources": SOURCE_FIELDS, "claims": CLAIM_FIELDS}.get(
            parent[-1] if parent else "", EVENT_FIELDS
        )
        hint = did_you_mean(name, known)
        tail = "" if hint or parent else "; to record a fact of your own, put it under attributes:"
        return f"is not a known field (known: {', '.join(known)}){hint}{tail}"
    if kind == "value_error":
        return str(err["ctx"]["error"])
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
    attribute_info:
        ``name -> AttributeInfo`` of every attribute of the catalog loaded (declared, or
        carried by an event); see :meth:`attributes`.
    """

    events: tuple[Event, ...]
    problems: tuple[CatalogProblem, ...] = ()
    files: tuple[str, ...] = ()
    origins: Mapping[str, Origin] = field(default_factory=dict)
    attribute_info: Mapping[str, AttributeInfo] = field(default_factory=dict)
    _index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {e.id: i for i, e in enumerate(self.events)})
        if not self.attribute_info and any(e.attributes for e in self.events):
            object.__setattr__(self, "attribute_info", _infer_info(self.events, {}))

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __contains__(self, event_id: object) -> bool:
        return isinstance(event_id, str) and event_id in self._index

    def __repr__(self) -> str:
        return (
            f"Catalog({len(self.events)} events, {len(self.files)} files, "
            f"{len(self.problems)} problems)"
        )

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.events)

    def get(self, event_id: str) -> Event:
        """The event with this id; :class:`UnknownEventError` (a LookupError) otherwise."""
        i = self._index.get(event_id)
        if i is None:
            raise UnknownEventError(event_id, self.ids)
        return self.events[i]

    def attributes(self) -> dict[str, AttributeInfo]:
        """Every attribute of the catalog: its kind and when its value is known.

        ``known`` is ``before`` (public before the event, e.g. a sector), ``at_event``
        (published with the news, e.g. an earnings surprise) or ``after`` (known only later);
        a strategy entering at an event may use ``before`` and ``at_event`` attributes only.
        The same attributes are columns of :meth:`to_frame`, whatever :meth:`filter` kept.
        """
        return dict(self.attribute_info)

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
        ``where``: any other field or attribute, ``{name: value or list of values}``; for list
        fields (tickers, tags) at least one must match; an event lacking an attribute does not
        match. Unknown ids raise UnknownEventError.
        """
        conditions: dict[str, Any] = dict(where or {})
        known = (*EVENT_FIELDS, *self.attribute_info)
        for name in conditions:
            if name not in known:
                hint = did_you_mean(name, known)
                raise KeyError(f"events have no field or attribute {name!r}{hint}")
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
        wanted = {
            name: set(w) if isinstance(w, list | tuple | set) else {w}
            for name, w in conditions.items()
        }

        def keep(e: Event) -> bool:
            if lo is not None and e.date < lo:
                return False
            if hi is not None and e.date > hi:
                return False
            for name, want in wanted.items():
                if name in EVENT_FIELDS:
                    have = getattr(e, name)
                elif name in e.attributes:
                    have = e.attributes[name]
                else:
                    return False
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
            attribute_info=self.attribute_info,
        )

    def to_frame(self) -> pd.DataFrame:
        """The canonical event table: one row per (event, ticker), with its day-0 session.

        Columns: ``event_id, ticker, is_primary, market, day0, date, timing, time, timezone,
        category, scope, title, n_tickers, tags, file, same_news_as, model`` (the last two NA
        when an event does not give them), then one column per attribute of the catalog
        (:meth:`attributes`; NaN or NA where an event lacks it).
        """
        pairs = [(e, t) for e in self.events for t in e.tickers]
        markets, day0 = _day0_of(pairs)
        info = self.attribute_info
        columns: dict[str, Any] = {
            "event_id": [e.id for e, _ in pairs],
            "ticker": [t for _, t in pairs],
            "is_primary": [t == e.tickers[0] for e, t in pairs],
            "market": markets,
            "day0": day0,
            "date": pd.to_datetime([e.date for e, _ in pairs]).as_unit("ns")
            if pairs
            else pd.DatetimeIndex([], dtype="datetime64[ns]"),
            "timing": [e.timing or "exact" for e, _ in pairs],
            "time": [e.time.strftime("%H:%M") if e.time else None for e, _ in pairs],
            "timezone": [e.timezone for e, _ in pairs],
            "category": [e.category for e, _ in pairs],
            "scope": [e.scope for e, _ in pairs],
            "title": [e.title for e, _ in pairs],
            "n_tickers": [len(e.tickers) for e, _ in pairs],
            "tags": [",".join(e.tags) for e, _ in pairs],
            "file": [str(self.origins[e.id]) if e.id in self.origins else None for e, _ in pairs],
            "same_news_as": [e.same_news_as for e, _ in pairs],
            "model": [e.model for e, _ in pairs],
        }
        for name, a in info.items():
            values = [e.attributes.get(name) for e, _ in pairs]
            if a.kind == "number":
                columns[name] = np.array(
                    [np.nan if v is None else v for v in values], dtype=np.float64
                )
            else:
                columns[name] = values
        frame = pd.DataFrame(columns)
        frame["n_tickers"] = frame["n_tickers"].astype(np.int64)
        frame["is_primary"] = frame["is_primary"].astype(bool)
        return frame

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready list of events (the ``evbt events list --format json`` output)."""
        out = []
        for e in self.events:
            rec = e.model_dump(mode="json", exclude_none=True)
            rec["timing"] = e.timing
            if e.time is not None:
                rec["time"] = e.time.isoformat(timespec="minutes" if not e.time.second else "auto")
            if not e.attributes:
                rec.pop("attributes", None)
            rec["sessions"] = {t: s.date().isoformat() for t, s in e.sessions().items()}
            rec["markets"] = {t: e.market(t).code for t in e.tickers}
            if e.id in self.origins:
                rec["file"] = str(self.origins[e.id])
            out.append(rec)
        return out

    def summary(self, see: str = ".problems") -> str:
        """Counts of events by category and of problems, as text; ``see``: where the
        problems are shown (the command line says which command shows them)."""
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
            head += f"; {len(self.problems)} problem(s), see {see}"
        return head

    def __str__(self) -> str:
        return self.summary()


# ---------------------------------------------------------------------------- day 0


def _day0_of(
    pairs: Sequence[tuple[Event, str]],
) -> tuple[list[str | None], pd.DatetimeIndex]:
    """Market code and day-0 session of every (event, ticker), computed per market at once.

    An unknown market gives ``None`` and a day 0 outside the calendar ``NaT``.
    """
    n = len(pairs)
    codes: dict[str, str | None] = {}
    markets: list[str | None] = []
    for _, t in pairs:
        if t not in codes:
            try:
                codes[t] = market_of(t).code
            except (InvalidTickerError, UnknownMarketError):
                codes[t] = None
        markets.append(codes[t])
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    by_market: dict[str, list[int]] = {}
    for i, code in enumerate(markets):
        if code is not None:
            by_market.setdefault(code, []).append(i)
    instants: dict[str, np.datetime64] = {}
    for code, rows in by_market.items():
        timed = [i for i in rows if pairs[i][0].timing is not None]
        exact = [i for i in rows if pairs[i][0].timing is None]
        if timed:
            dates = pd.to_datetime([pairs[i][0].date for i in timed]).as_unit("ns")
            timings = np.array([pairs[i][0].timing for i in timed], dtype=object)
            found = day0_sessions(code, dates, timings, errors="coerce")
            out[np.array(timed)] = found.to_numpy(dtype="datetime64[ns]")
        if exact:
            when = []
            for i in exact:
                e = pairs[i][0]
                if e.id not in instants:
                    assert e.time is not None
                    assert e.timezone is not None
                    stamp = event_instant(e.date, e.time, e.timezone)
                    instants[e.id] = stamp.tz_localize(None).to_datetime64()
                when.append(instants[e.id])
            found = day0_sessions_at(code, np.array(when, dtype="datetime64[ns]"))
            out[np.array(exact)] = found.to_numpy(dtype="datetime64[ns]")
    return markets, pd.DatetimeIndex(out)


def _outside_message(event: Event, code: str) -> str:
    """The CalendarRangeError text for an event whose day 0 on ``code`` is outside."""
    sessions = get_calendar(code).sessions
    when: object = event.date
    if event.timing is None:
        assert event.time is not None
        assert event.timezone is not None
        when = event_instant(event.date, event.time, event.timezone)
    return str(CalendarRangeError(code, when, sessions[0].date(), sessions[-1].date()))


# ---------------------------------------------------------------------------- loading


@dataclass
class _Candidate:
    event: Event
    raw: RawEntry


class _Problems:
    """Problems collected while loading, listed in file order and by line at the end."""

    def __init__(self) -> None:
        self._items: list[tuple[int, int, int, CatalogProblem]] = []

    def add(self, file_index: int, problem: CatalogProblem) -> None:
        self._items.append((file_index, problem.line, len(self._items), problem))

    def __len__(self) -> int:
        return len(self._items)

    def entry(self, raw: RawEntry, line: int, field_: str, message: str) -> None:
        problem = CatalogProblem(raw.display, line, raw.label, field_, message, raw.line)
        self.add(raw.file_index, problem)

    def sorted(self) -> tuple[CatalogProblem, ...]:
        return tuple(p for *_, p in sorted(self._items, key=lambda x: x[:3]))


def _read_file(path: Path, file_index: int) -> FileRead:
    display = _display(path)
    table = path.suffix.lower() == ".csv"
    text, why_not, line = read_text(path, by_row=table)  # a CSV row's bytes are its own
    if text is None:
        out = FileRead(display)
        out.problem(line, "", "", why_not or "cannot be read")
        return out
    if table:
        return read_csv(text, display, file_index)
    return read_yaml(text, display, file_index)


def _merge_declarations(reads: Sequence[FileRead], problems: _Problems) -> dict[str, Declaration]:
    """The attributes declared by the files, each once (a different second one is a problem)."""
    declared: dict[str, tuple[Declaration, str]] = {}
    for index, read in enumerate(reads):
        for decl in read.declarations:
            name = decl.info.name
            if name not in declared:
                declared[name] = (decl, f"{read.display}:{decl.line}")
                continue
            first, where = declared[name]
            if (first.info, first.kind_given) != (decl.info, decl.kind_given):
                problems.add(
                    index,
                    CatalogProblem(
                        read.display,
                        decl.line,
                        "",
                        f"attributes.{name}",
                        f"is declared differently at {where} (kind {first.info.kind}, known "
                        f"{first.info.known}): declare each attribute once",
                    ),
                )
    return {name: decl for name, (decl, _) in declared.items()}


def _kinds(reads: Sequence[FileRead], declared: Mapping[str, Declaration]) -> dict[str, attrs.Kind]:
    """The kind of every attribute: declared, standard, or inferred from its raw values."""
    fixed: dict[str, attrs.Kind] = {n: a.kind for n, a in attrs.STANDARD_ATTRIBUTES.items()}
    fixed.update({n: d.info.kind for n, d in declared.items() if d.kind_given})
    values = (
        (name, value, raw.table)
        for read in reads
        for raw in read.entries
        if isinstance(raw.data.get("attributes"), dict)
        for name, value in raw.data["attributes"].items()
        if isinstance(name, str) and name not in fixed
    )
    return {**attrs.infer_kinds(values), **fixed}


def _infer_info(
    events: Iterable[Event],
    declared: Mapping[str, AttributeInfo],
    kinds: Mapping[str, attrs.Kind] | None = None,
) -> dict[str, AttributeInfo]:
    """Declared attributes, then those the events carry (standard or at_event), in order; a
    declaration that gave no kind takes the kind of the values (``kinds``)."""
    info = {n: replace(a, kind=(kinds or {}).get(n, a.kind)) for n, a in declared.items()}
    for e in events:
        for name, value in e.attributes.items():
            if name not in info:
                info[name] = attrs.STANDARD_ATTRIBUTES.get(name) or AttributeInfo(
                    name, "number" if isinstance(value, float) else "text"
                )
    return info


def _validate_entry(
    raw: RawEntry,
    problems: _Problems,
    categories: Sequence[str],
    kinds: Mapping[str, attrs.Kind],
) -> Event | None:
    """The entry as an Event, or None when it has problems (each one added to ``problems``)."""
    n_before = len(problems)
    if "<<" in raw.data or any(p[:1] == ("<<",) for p, _, _ in raw.refused):
        problems.entry(
            raw,
            raw.locate(("<<",)),
            "<<",
            "YAML merge keys (<<) are not supported in a catalog: write the entry's fields out "
            "in full",
        )
        return None
    for path, line, message in raw.refused:
        problems.entry(raw, line, _field_name(path, raw.column_of), message)
    for path, line in raw.duplicates:
        problems.entry(raw, line, _field_name(path), "appears twice in this entry")
    data = raw.data
    values = data.get("attributes")
    bad: list[tuple[str, str]] = []
    if isinstance(values, dict):
        clean, bad = check_attributes(values, dict(kinds))
        data = {**data, "attributes": clean}
    refused = [p for p, _, _ in raw.refused]
    context = {"categories": categories, "table": raw.table, "attribute_kinds": kinds}
    event: Event | None = None
    try:
        event = Event.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        locs = [tuple(err["loc"]) for err in errors]
        for err in errors:
            loc = tuple(err["loc"])
            if any(len(o) > len(loc) and o[: len(loc)] == loc for o in locs):
                continue  # a more specific error below this field says what is wrong
            if loc and any(p[: len(loc)] == loc or loc[: len(p)] == p for p in refused):
                continue  # the refused value there is already the problem
            if loc[:1] == ("attributes",) and isinstance(values, dict) and len(loc) > 1:
                continue  # reported per attribute above
            problems.entry(
                raw,
                raw.locate(tuple(str(p) if isinstance(p, str) else p for p in loc)),
                _field_name(loc, raw.column_of),
                _message(err, loc),
            )
    for name, message in bad:  # after the fields, in a CSV row's column order
        problems.entry(
            raw,
            raw.locate(("attributes", name)),
            _field_name(("attributes", name), raw.column_of),
            message,
        )
    return event if len(problems) == n_before else None


def load_catalog(
    paths: PathsLike | None = None,
    *,
    strict: bool = False,
    documents_dir: str | os.PathLike[str] | None = None,
) -> Catalog:
    """Load and validate catalog files.

    Parameters
    ----------
    paths:
        A file or folder, or a list of them (folders are searched recursively for ``.yaml``,
        ``.yml`` and ``.csv``). Default: :func:`default_catalog_paths`.
    strict:
        Raise :class:`~backtest.errors.CatalogError` listing every problem if there is any,
        instead of returning the valid events with ``.problems``.
    documents_dir:
        If given, every source document (and claim source) that is a plain file name must
        exist in this folder (e.g. ``../shared/seeds``).

    Raises
    ------
    CatalogNotFoundError
        A path does not exist, is not a file or folder, or a folder holds no catalog file.
    CatalogError
        With ``strict=True``, when any problem was found.
    """
    files = catalog_files(default_catalog_paths() if paths is None else paths)
    with collector_paused():  # a 50k-entry catalog loads in about half the time
        catalog = _load(files, documents_dir)
    if strict and catalog.problems:
        raise CatalogError(catalog.problems)
    return catalog


def _load(files: Sequence[Path], documents_dir: str | os.PathLike[str] | None) -> Catalog:
    problems = _Problems()
    reads = [_read_file(path, i) for i, path in enumerate(files)]
    for i, read in enumerate(reads):
        for p in read.problems:
            problems.add(i, p)
    categories = list(dict.fromkeys(c for read in reads for c in read.categories))
    declared = _merge_declarations(reads, problems)
    kinds = _kinds(reads, declared)

    candidates: list[_Candidate] = []
    # each id's first entry, valid or not: a later entry with the id is a duplicate either way
    # (it never stands in for a first entry left out because of its own problems)
    first_seen: dict[str, RawEntry] = {}
    docs = Path(documents_dir) if documents_dir is not None else None
    for read in reads:
        for raw in read.entries:
            event = _validate_entry(raw, problems, categories, kinds)
            raw_id = raw.data.get("id")
            id_ = raw_id.strip() if isinstance(raw_id, str) else ""
            prior = first_seen.setdefault(id_, raw) if id_ else raw
            if prior is not raw:
                problems.entry(
                    raw,
                    raw.line,
                    _field_name(("id",), raw.column_of),
                    f"duplicate id: {id_!r} is already defined at "
                    f"{prior.display}:{prior.line}; ids must be unique across all catalog files",
                )
                continue
            if event is None:
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
                    problems.entry(
                        raw,
                        raw.line,
                        _field_name(("sources",), raw.column_of),
                        f"document {missing[0]!r} is not in {docs}",
                    )
                    continue
            candidates.append(_Candidate(event, raw))

    candidates = _within_calendars(candidates, problems)
    every_id = {
        raw.data["id"]: raw
        for read in reversed(reads)
        for raw in reversed(read.entries)
        if isinstance(raw.data.get("id"), str)
    }  # each id at its first definition
    candidates = _check_same_news(candidates, every_id, problems)
    events = tuple(c.event for c in candidates)
    return Catalog(
        events=events,
        problems=problems.sorted(),
        files=tuple(r.display for r in reads),
        origins={c.event.id: Origin(c.raw.display, c.raw.line) for c in candidates},
        attribute_info=_infer_info(events, {n: d.info for n, d in declared.items()}, kinds),
    )


def _within_calendars(candidates: list[_Candidate], problems: _Problems) -> list[_Candidate]:
    """The candidates whose day 0 exists for every ticker and claim ticker (one pass per
    market); each other one gets a problem naming its first ticker outside."""
    pairs: list[tuple[Event, str]] = []
    owner: list[int] = []
    for k, c in enumerate(candidates):
        for t in (*c.event.tickers, *(cl.ticker for cl in c.event.claims)):
            pairs.append((c.event, t))
            owner.append(k)
    markets, day0 = _day0_of(pairs)
    bad: dict[int, str] = {}
    for i in np.flatnonzero(np.isnat(day0.to_numpy())):
        k = owner[i]
        code = markets[i]
        if k not in bad and code is not None:
            bad[k] = f"for {pairs[i][1]}: {_outside_message(pairs[i][0], code)}"
    kept = []
    for k, c in enumerate(candidates):
        if k in bad:
            problems.entry(c.raw, c.raw.locate(("date",)), "date", bad[k])
        else:
            kept.append(c)
    return kept


def _check_same_news(
    candidates: list[_Candidate], defined: Mapping[str, RawEntry], problems: _Problems
) -> list[_Candidate]:
    """Keep the candidates whose ``same_news_as`` names a loaded, earlier entry of a shared
    ticker; drop the others with a problem (and, in turn, the entries naming those)."""
    while True:
        by_id = {c.event.id: c for c in candidates}
        kept: list[_Candidate] = []
        for c in candidates:
            target_id = c.event.same_news_as
            if target_id is None:
                kept.append(c)
                continue
            message = _same_news_problem(c.event, by_id.get(target_id), target_id, defined, by_id)
            if message is None:
                kept.append(c)
                continue
            key = "follows" if "follows" in c.raw.data else "same_news_as"
            problems.entry(
                c.raw, c.raw.locate((key,)), _field_name((key,), c.raw.column_of), message
            )
        if len(kept) == len(candidates):
            return kept
        candidates = kept


def _same_news_problem(
    event: Event,
    target: _Candidate | None,
    target_id: str,
    defined: Mapping[str, RawEntry],
    by_id: Mapping[str, _Candidate],
) -> str | None:
    if target is None:
        if target_id in defined:
            where = defined[target_id]
            return (
                f"{target_id!r} ({where.display}:{where.line}) is left out because of its own "
                "problems: fix it first"
            )
        return (
            f"{target_id!r} is not an id in the loaded catalog"
            + did_you_mean(target_id, [i for i in by_id if i != event.id])
            + "; name the earlier entry this one repeats (load its file too)"
        )
    other = target.event
    if not set(other.tickers) & set(event.tickers):
        return (
            f"{target_id!r} shares no ticker with this entry ({', '.join(other.tickers)} vs "
            f"{', '.join(event.tickers)}): same_news_as joins two entries about one company's "
            "news"
        )
    if other.date > event.date:
        return (
            f"{target_id!r} ({other.date}) is later than this entry ({event.date}): put "
            f"same_news_as on the later entry, naming the earlier one"
        )
    chain = [event.id]
    step: Event | None = other
    while step is not None:
        if step.id in chain:
            return (
                "same_news_as entries name each other in a circle "
                f"({' -> '.join([*chain, step.id])}): the earlier entry names no other"
            )
        chain.append(step.id)
        nxt = by_id.get(step.same_news_as) if step.same_news_as else None
        step = nxt.event if nxt is not None else None
    return None


__all__ = [
    "CATALOG_SUFFIXES",
    "CSV_COLUMNS",
    "FRAME_COLUMNS",
    "Catalog",
    "Origin",
    "catalog_files",
    "default_catalog_paths",
    "load_catalog",
]
