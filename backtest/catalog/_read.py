"""Read catalog files (YAML and CSV) into raw entries, before any validation.

Both readers give the same thing: every entry as plain data with the means to find the line of
any of its fields, the problems found while reading (YAML syntax, refused values, duplicate
keys, a bad CSV header or row), and the file's declarations (categories, attributes).
:mod:`backtest.catalog.catalog` validates the entries and checks the catalog as a whole.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from backtest.catalog import attributes as attrs
from backtest.catalog._yaml import (
    BadValue,
    LinedData,
    Path_,
    YamlSyntaxError,
    load_yaml_with_lines,
)
from backtest.errors import CatalogProblem
from backtest.lines import Lines
from backtest.paths import PathsLike as PathsLike  # one path, or several
from backtest.paths import path_list as path_list
from backtest.text import close_matches, did_you_mean

TOP_LEVEL_KEYS = ("events", "categories", "attributes")
_DECLARATION_KEYS = ("kind", "known", "description")

#: CSV header names of the standard fields (lower case), and the entry field each fills.
CSV_COLUMNS: Mapping[str, str] = {
    "id": "id",
    "event_id": "id",
    "ticker": "tickers",
    "tickers": "tickers",
    "date": "date",
    "timing": "timing",
    "time": "time",
    "timezone": "timezone",
    "category": "category",
    "title": "title",
    "description": "description",
    "scope": "scope",
    "source": "sources",
    "tags": "tags",
    "same_news_as": "same_news_as",
    "follows": "same_news_as",
    "model": "model",
}
_CSV_REQUIRED = ("id", "tickers", "date", "category")
CSV_FORMAT = (
    "a CSV catalog needs the columns id, ticker (or tickers), date, timing (or time and "
    "timezone) and category, and may add title, description, scope, source, tags, "
    "same_news_as, model and attribute columns"
)
_COMPUTED = ("is_primary", "market", "day0", "n_tickers", "file")
_LIST_SPLIT = {"tickers": re.compile(r"[,;\s]+"), "tags": re.compile(r"\s*[,;]\s*")}
_EARNINGS_HEADER = re.compile(r"^(earnings ?date|date)$", re.I)


@dataclass
class RawEntry:
    """One entry as read from its file, before validation."""

    file_index: int
    display: str
    index: int  # 0-based position in its file
    line: int
    label: str
    data: dict[str, Any]
    locate: Callable[[Path_], int]
    table: bool = False
    column_of: Mapping[str, str] = field(default_factory=dict)
    refused: list[tuple[Path_, int, str]] = field(default_factory=list)
    duplicates: list[tuple[Path_, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Declaration:
    """An attribute declared under a YAML file's top-level ``attributes:``.

    ``kind_given`` is False when the declaration names no kind: the kind is then the standard
    attribute's, or inferred from the values.
    """

    info: attrs.AttributeInfo
    line: int
    kind_given: bool


@dataclass
class FileRead:
    """Everything read from one catalog file."""

    display: str
    entries: list[RawEntry] = field(default_factory=list)
    problems: list[CatalogProblem] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)

    def problem(self, line: int, entry: str, field_: str, message: str) -> None:
        """A problem at ``line``; one of an ``entry`` is at the entry's first line."""
        problem = CatalogProblem(self.display, line, entry, field_, message, line if entry else 0)
        self.problems.append(problem)


class TextRead(NamedTuple):
    """A file's text, or why there is none and on which line."""

    text: str | None
    problem: str | None = None
    line: int = 1


#: A byte that is not UTF-8, as ``errors="surrogateescape"`` keeps it in a text.
UNDECODED = re.compile("[\udc80-\udcff]")


def read_text(path: Path, *, by_row: bool = False) -> TextRead:
    """The UTF-8 text of a regular file (a leading BOM dropped), or why not and where. A FIFO,
    device or socket is refused without being opened for reading in a way that could block.

    With ``by_row`` (a CSV file, whose rows are read one by one), a byte that is not UTF-8 is
    kept in the text as a surrogate (:data:`UNDECODED`), for the reader to name its row;
    otherwise it is a problem of the file, on the line that holds it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return TextRead(None, f"cannot be read: {exc.strerror}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return TextRead(
                None,
                "is not a regular file (a FIFO, device, socket or folder): a catalog must be "
                "a file",
            )
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return TextRead(None, f"cannot be read: {exc.strerror}")
    finally:
        os.close(fd)
    if by_row:
        return TextRead(data.decode("utf-8-sig", errors="surrogateescape"))
    try:
        return TextRead(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line = bytes(exc.object).count(b"\n", 0, exc.start) + 1  # (the BOM is not in it)
        at = exc.start + (len(data) - len(exc.object))  # the byte's offset in the file
        return TextRead(None, f"not UTF-8 text ({exc.reason} at byte {at}); save as UTF-8", line)


def has_odd_text(text: str) -> bool:
    """Whether ``text`` holds a NUL or a byte that is not UTF-8 (kept by ``surrogateescape``):
    one search of the whole text, so that rows are searched only when one does."""
    return "\x00" in text or UNDECODED.search(text) is not None


def row_text_problem(cells: Sequence[str]) -> tuple[int, str] | None:
    """The first cell of a CSV row that is not text (a NUL character, a byte that is not
    UTF-8) and why, or ``None``."""
    for k, cell in enumerate(cells):
        if "\x00" in cell:
            return k, "contains a NUL character: remove it (a CSV file is text)"
        bad = UNDECODED.search(cell)
        if bad is not None:
            byte = ord(bad.group()) - 0xDC00
            return k, f"not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8"
    return None


# ------------------------------------------------------------------------------------- YAML


def read_yaml(text: str, display: str, file_index: int) -> FileRead:
    """A YAML catalog file: a mapping with ``events:`` (and ``categories:``, ``attributes:``)."""
    out = FileRead(display)
    try:
        doc: LinedData = load_yaml_with_lines(text)
    except YamlSyntaxError as exc:
        out.problem(exc.line, "", "", exc.message)
        return out
    for key_path, line in doc.duplicate_keys:
        if len(key_path) == 1:
            out.problem(line, "", "", f"top-level key {key_path[0]!r} appears twice")
    for path, line, message in doc.bad_values:
        under_entry = len(path) > 1 and path[0] == "events" and isinstance(path[1], int)
        if not under_entry and (not path or path[0] in TOP_LEVEL_KEYS):
            out.problem(line, "", field_name(path), message)  # (unknown keys: see below)
    data = doc.data
    if data is None:
        out.problem(1, "", "", "file is empty: expected a mapping with an 'events:' list")
        return out
    if not isinstance(data, dict):
        out.problem(doc.line(()), "", "", "top level must be a mapping with an 'events:' list")
        return out
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            hint = did_you_mean(str(key), TOP_LEVEL_KEYS)
            out.problem(
                doc.line((str(key),)),
                "",
                str(key),
                f"unknown top-level key (allowed: {', '.join(TOP_LEVEL_KEYS)}){hint}",
            )
    categories = data.get("categories") or []
    if isinstance(categories, BadValue):
        pass  # reported above
    elif not isinstance(categories, list) or not all(
        isinstance(c, str) and c.strip() for c in categories
    ):
        out.problem(
            doc.line(("categories",)), "", "categories", "expected a list of category names"
        )
    else:
        out.categories = [c.strip() for c in categories]
    if "attributes" in data and not isinstance(data["attributes"], BadValue):
        _read_declarations(data["attributes"], doc, out)
    entries = data.get("events")
    if entries is None:
        if "events" not in data and ("categories" in data or "attributes" in data):
            return out  # a file of declarations only
        out.problem(doc.line(()), "", "events", "is missing: add an 'events:' list of entries")
        return out
    if isinstance(entries, BadValue):
        return out  # reported above
    if not isinstance(entries, list):
        out.problem(doc.line(("events",)), "", "events", "expected a list of entries (- id: ...)")
        return out
    refused = _by_entry(doc.bad_values)
    duplicates = _by_entry([(p, line, "") for p, line in doc.duplicate_keys])
    for i, raw in enumerate(entries):
        entry_path: Path_ = ("events", i)
        line = doc.line(entry_path)
        if not isinstance(raw, dict):
            message = (
                raw.message
                if isinstance(raw, BadValue)
                else f"expected a mapping of fields, got {raw!r}"
            )
            out.problem(line, f"#{i + 1}", "", message)
            continue
        raw_id = raw.get("id")
        label = raw_id if isinstance(raw_id, str) and raw_id.strip() else f"#{i + 1}"

        def locate(loc: Path_, _base: Path_ = entry_path) -> int:
            return doc.line((*_base, *loc))

        out.entries.append(
            RawEntry(
                file_index=file_index,
                display=display,
                index=i,
                line=line,
                label=label,
                data=raw,
                locate=locate,
                refused=[(p, ln, m) for p, ln, m in refused.get(i, [])],
                duplicates=[(p, ln) for p, ln, _ in duplicates.get(i, [])],
            )
        )
    return out


def _by_entry(items: list[tuple[Path_, int, str]]) -> dict[int, list[tuple[Path_, int, str]]]:
    """Items under ``events[i]``, by ``i``, with paths relative to the entry."""
    out: dict[int, list[tuple[Path_, int, str]]] = {}
    for path, line, message in items:
        if len(path) > 2 and path[0] == "events" and isinstance(path[1], int):
            out.setdefault(path[1], []).append((path[2:], line, message))
        elif len(path) == 2 and path[0] == "events" and isinstance(path[1], int):
            out.setdefault(path[1], []).append(((), line, message))
    return out


def _read_declarations(value: Any, doc: LinedData, out: FileRead) -> None:
    """The file's ``attributes:`` mapping (name -> kind, known, description)."""
    line = doc.line(("attributes",))
    if not isinstance(value, dict):
        out.problem(
            line,
            "",
            "attributes",
            "expected a mapping of attribute names to their declarations, e.g. "
            "{sector: {kind: text, known: before}}",
        )
        return
    for name, spec in value.items():
        if isinstance(spec, BadValue):
            continue  # reported with the file's refused values
        spec = (
            {k: v for k, v in spec.items() if not isinstance(v, BadValue)}
            if isinstance(spec, dict)
            else spec
        )
        where = doc.line(("attributes", str(name)))
        field_ = f"attributes.{name}"
        bad_name = attrs.name_problem(name)
        if bad_name is not None:
            out.problem(where, "", field_, bad_name)
            continue
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            out.problem(
                where,
                "",
                field_,
                f"expected a mapping with kind, known and description, got {spec!r}",
            )
            continue
        ok = True
        for key in spec:
            if key not in _DECLARATION_KEYS:
                hint = did_you_mean(str(key), _DECLARATION_KEYS)
                out.problem(
                    doc.line(("attributes", name, str(key))),
                    "",
                    f"{field_}.{key}",
                    f"is not a known field (known: {', '.join(_DECLARATION_KEYS)}){hint}",
                )
                ok = False
        kind = spec.get("kind")
        known = spec.get("known") or "at_event"
        for key, value, choices, what in (
            ("kind", kind, attrs.KINDS, "a kind (use number or text)"),
            ("known", known, attrs.KNOWN_WHEN, "when the value is known (use before, at_event "
             "or after)"),
        ):  # fmt: skip
            if value is not None and value not in choices:
                out.problem(
                    doc.line(("attributes", name, key)),
                    "",
                    f"{field_}.{key}",
                    f"{value!r} is not {what}" + did_you_mean(str(value), choices),
                )
                ok = False
        description = spec.get("description", "")
        if not isinstance(description, str):
            out.problem(
                doc.line(("attributes", name, "description")),
                "",
                f"{field_}.description",
                f"expected a text, got {description!r}",
            )
            ok = False
        if ok:
            standard = attrs.STANDARD_ATTRIBUTES.get(name)
            info = attrs.AttributeInfo(
                name,
                kind or (standard.kind if standard else "text"),
                known,  # type: ignore[arg-type]  # checked against KNOWN_WHEN above
                description.strip() or (standard.description if standard else ""),
            )
            out.declarations.append(Declaration(info, where, kind is not None))


def field_name(loc: Sequence[str | int]) -> str:
    """A path inside an entry as a field name: ``sources[0].document``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# ------------------------------------------------------------------------------------- CSV

_SEPARATORS = {";": "semicolons (;)", "\t": "tabs"}


def separator_hint(cells: Sequence[str], names: Iterable[str]) -> str | None:
    """When a CSV header read with commas splits into the expected ``names`` (at least two of
    them, lower case) with a semicolon or a tab instead, the sentence that says so; else
    ``None``. (Such files come from spreadsheets set to a locale with decimal commas.)"""
    line = ",".join(cells)
    wanted = set(names)
    for sep, what in _SEPARATORS.items():
        parts = {p.strip().strip('"').strip().lower() for p in line.split(sep)}
        if len(wanted & parts) >= 2:
            return (
                f"the header's columns are separated by {what}, but evbt reads comma-separated "
                "CSV: save the file with commas between the cells (in a spreadsheet, export "
                '"CSV UTF-8 (comma delimited)")'
            )
    return None


#: Where a text's lines end, as ``newline=""`` reads them: after ``\n``, or after a ``\r`` not
#: followed by one.
_LINE_ENDS = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


def csv_rows(text: str) -> Iterator[tuple[int, list[str] | CsvRowError]]:
    """The rows of a CSV text with the line each starts on; blank lines are passed over.

    Where a record is not CSV (a quote never closed, text after a closing quote), its
    :class:`CsvRowError` (with its line) is given instead of its cells, and reading goes on
    from the next line: a bad quote costs its own row, not the rows after it.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # the fast way, until
    previous = 0  # a record is not CSV
    try:
        for cells in reader:
            start, previous = previous + 1, reader.line_num
            if cells and (len(cells) > 1 or cells[0].strip()):
                yield start, cells
        return
    except csv.Error as exc:
        yield previous + 1, _row_error(previous + 1, exc)
    lines = _LINE_ENDS.split(text)
    pos = previous + 1  # the line after the bad record's first
    while pos < len(lines):
        feed = Lines(lines, pos)
        rest = csv.reader(feed, strict=True)
        while True:
            start = feed.i
            try:
                record = next(rest, None)
            except csv.Error as exc:
                yield start + 1, _row_error(start + 1, exc)
                pos = start + 1
                break
            if record is None:
                return
            if record and (len(record) > 1 or record[0].strip()):
                yield start + 1, record


def _row_error(line: int, exc: csv.Error) -> CsvRowError:
    reason = str(exc)
    if reason == "unexpected end of data":
        reason = "a quote opened on this line is never closed"
    return CsvRowError(line, reason)


class CsvRowError(ValueError):
    """A record of a CSV text that starts at ``line`` is not CSV."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def read_csv(text: str, display: str, file_index: int) -> FileRead:
    """A CSV catalog file: a header row, then one event per row (see :data:`CSV_FORMAT`)."""
    out = FileRead(display)
    header: list[str] | None = None
    n_rows = 0
    columns: list[tuple[int, str, str]] = []  # (cell index, field or "attr", name)
    column_of: dict[str, str] = {}
    n_cells = 0
    lines: list[str] | None = None  # the text's lines, split when a row is not CSV
    odd_text = has_odd_text(text)  # rows are searched for a NUL or a bad byte only then
    for start, cells in csv_rows(text):
        if isinstance(cells, CsvRowError):
            if header is None:
                hint = separator_hint([text.split("\n", 1)[0]], CSV_COLUMNS)
                why = f"the header is not a readable CSV row ({cells.reason}): check its quotes"
                out.problem(start, "", "", hint or why)
                return out
            n_rows += 1
            lines = lines if lines is not None else _LINE_ENDS.split(text)
            first = lines[start - 1].split(",")
            id_index = next((i for i, f, _ in columns if f == "id"), len(first))
            raw_id = first[id_index].strip().strip('"') if id_index < len(first) else ""
            label = raw_id or f"#{n_rows}"
            out.problem(
                start,
                label,
                "",
                f"not a readable CSV row ({cells.reason}): check its quotes (a quoted cell must "
                "be closed with a quote); the next line is read as the next row",
            )
            continue
        if header is None:
            header = [c.strip() for c in cells]
            bad_text = row_text_problem(header)
            if bad_text is not None:
                k, why = bad_text
                out.problem(start, "", "", f"column {k + 1} of the header: {why}")
                return out
            parsed = _read_header(header, start, out)
            if parsed is None:
                return out
            columns, column_of = parsed
            n_cells = len(header)
            continue
        n_rows += 1
        _read_row(cells, start, n_rows, n_cells, columns, column_of, out, file_index, odd_text)
    if header is None:
        out.problem(1, "", "", f"file is empty: {CSV_FORMAT}")
    return out


def _read_header(
    header: list[str], line: int, out: FileRead
) -> tuple[list[tuple[int, str, str]], dict[str, str]] | None:
    """The columns of a CSV catalog's header, or ``None`` (with the problem) if it is unusable."""
    lowered = [h.lower() for h in header]
    if any(_EARNINGS_HEADER.match(h) for h in lowered) and "reported eps" in lowered:
        out.problem(
            line,
            "",
            "",
            "this is an earnings calendar saved from yfinance (get_earnings_dates), not a "
            "catalog: import it with `evbt events import earnings --from FILE --out "
            "earnings.csv`, or pass it as confounders",
        )
        return None
    seen: dict[str, int] = {}
    for h in lowered:
        if h:
            seen[CSV_COLUMNS.get(h, h)] = seen.get(CSV_COLUMNS.get(h, h), 0) + 1
    twice = [h for h, n in seen.items() if n > 1]
    if twice:
        out.problem(
            line,
            "",
            "",
            f"column(s) {', '.join(twice)} appear twice in the header (an alias such as "
            "ticker/tickers or id/event_id counts as the same column): keep one",
        )
        return None
    missing = [f for f in _CSV_REQUIRED if f not in seen]
    if "timing" not in seen and "time" not in seen:
        missing.insert(3, "timing")
    if missing:
        hint = separator_hint(header, CSV_COLUMNS)
        if hint is not None:
            out.problem(line, "", "", hint)
            return None
        names = ["ticker" if m == "tickers" else m for m in missing]
        out.problem(line, "", "", f"missing column(s) {', '.join(names)}: {CSV_FORMAT}")
        return None
    columns: list[tuple[int, str, str]] = []
    column_of: dict[str, str] = {}
    for i, (name, low) in enumerate(zip(header, lowered, strict=True)):
        if low in CSV_COLUMNS:
            columns.append((i, CSV_COLUMNS[low], name))
            column_of[CSV_COLUMNS[low]] = name
            continue
        if not name:
            out.problem(
                line, "", "", f"column {i + 1} of the header has no name: name it or remove it"
            )
            continue
        if low in _COMPUTED:
            out.problem(
                line,
                "",
                name,
                "is computed by evbt (from the date, timing and tickers), not read: remove "
                "the column",
            )
            continue
        near = close_matches(low, CSV_COLUMNS, n=1)
        if near and _ratio(low, near[0]) >= 0.84:
            out.problem(
                line,
                "",
                name,
                f"is not a catalog column; did you mean {near[0]!r}? (every other column is "
                "an attribute, but this one looks like a misspelt field: rename it)",
            )
            continue
        bad = attrs.name_problem(name)
        if bad is not None:
            out.problem(line, "", name, f"{bad}; the column is left out")
            continue
        columns.append((i, "attr", name))
        column_of[f"attributes.{name}"] = name
    return columns, column_of


def _ratio(a: str, b: str) -> float:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio()


def _read_row(
    cells: list[str],
    line: int,
    n: int,
    n_cells: int,
    columns: list[tuple[int, str, str]],
    column_of: dict[str, str],
    out: FileRead,
    file_index: int,
    odd_text: bool = True,
) -> None:
    values = [c.strip() for c in cells]
    id_cell = next((values[i] for i, f, _ in columns if f == "id" and i < len(values)), "")
    if odd_text:  # the file holds a NUL or a byte that is not UTF-8: is it in this row?
        label = UNDECODED.sub("\ufffd", id_cell.replace("\x00", "")) or f"#{n}"
        bad_text = row_text_problem(values)
    else:
        label, bad_text = id_cell or f"#{n}", None
    if bad_text is not None:
        k, why = bad_text
        name = next((name for i, _, name in columns if i == k), f"cell {k + 1}")
        out.problem(line, label, name, why)
        return
    if len(values) != n_cells:
        out.problem(
            line,
            label,
            "",
            f"has {len(values)} cells, but the header has {n_cells} columns: check for a "
            "missing or extra comma (quote a cell that holds a comma)",
        )
        return
    data: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    for i, field_, name in columns:
        cell = values[i]
        if not cell:
            continue
        if field_ == "attr":
            attributes[name] = cell
        elif field_ in _LIST_SPLIT:
            data[field_] = [p for p in _LIST_SPLIT[field_].split(cell) if p]
        elif field_ == "sources":
            data["sources"] = [{"document": cell}]
        else:
            data[field_] = cell
    if attributes:
        data["attributes"] = attributes
    if "title" not in data:
        tickers = data.get("tickers") or ["?"]
        category = str(data.get("category", "event")).replace("_", " ")
        data["title"] = f"{tickers[0]} {category}"
    out.entries.append(
        RawEntry(
            file_index=file_index,
            display=out.display,
            index=n - 1,
            line=line,
            label=label,
            data=data,
            locate=_row_locator(line),
            table=True,
            column_of=column_of,
        )
    )


def _row_locator(line: int) -> Callable[[Path_], int]:
    """Every field of a CSV row is on the row's (first) line."""

    def locate(loc: Path_) -> int:
        return line

    return locate
