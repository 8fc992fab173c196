"""Read YAML into plain data while remembering the line of every key and list item.

The catalog reads YAML from the parser's event stream (libyaml's C parser where PyYAML was built
with it, PyYAML's pure-Python parser otherwise) and builds the data itself, without PyYAML's
composer and constructor. That is what makes these guarantees possible:

* **Lines.** Every key and list item keeps its line, so a problem can name ``file:line``.
* **Duplicate keys** are found (YAML forbids them; PyYAML would keep the last silently).
* **YAML 1.2 core-schema scalars**, not PyYAML's YAML 1.1 default, because YAML 1.1 misreads
  catalog data: ``time: 19:00`` becomes the integer 1140 (base 60), the ticker ``ON`` or ``NO``
  becomes a boolean, and an impossible date such as ``2023-02-30`` makes the whole file fail to
  parse instead of producing one clear error for one field. Dates and times stay text and are
  validated by the catalog schema.
* **No tags.** A catalog holds text, numbers, booleans, lists and mappings. A value with an
  explicit tag (``!foo``, ``!!binary``, ``!!int abc``, ``!!timestamp 2023-02-30``,
  ``!!python/name:os.system``) is never constructed: it becomes a :class:`BadValue` with its
  line, which the catalog reports as a problem of that entry and field. Only ``!!str`` (and the
  non-specific ``!``), which change nothing but the type to text, are accepted.
* **No aliases.** ``*name`` is a :class:`BadValue` too, so an alias bomb (a few hundred bytes
  that expand to gigabytes) is never expanded: reading it costs what its text costs.
* **Bounded nesting.** More than :data:`MAX_DEPTH` nested lists or mappings stop the reading
  of the file with a :class:`YamlSyntaxError` at the line where the limit was passed, long
  before anything could exhaust the stack or the time (libyaml slows down quadratically on
  very deep flow nesting).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

Path_ = tuple[str | int, ...]

#: Lists and mappings nested deeper than this end the reading of a file. A catalog entry needs
#: four levels (events, entry, sources, source); the limit leaves room for anything sensible.
MAX_DEPTH = 64

_STR_TAGS = frozenset({"!", "tag:yaml.org,2002:str"})
_MAP_TAGS = frozenset({"!", "tag:yaml.org,2002:map"})
_SEQ_TAGS = frozenset({"!", "tag:yaml.org,2002:seq"})

_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+")
_INT_OCT = re.compile(r"0o[0-7]+")
_INT_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_FLOAT_SPECIAL = {
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
}  # fmt: skip
_MAYBE_NUMBER = frozenset("-+0123456789.")
#: First characters of plain scalars that may be something other than text.
_MAYBE_SPECIAL = frozenset("-+0123456789.~nNtTfF")


def plain_scalar(text: str) -> Any:
    """The value of a plain (unquoted) YAML 1.2 core-schema scalar.

    >>> [plain_scalar(s) for s in ("19:00", "ON", "0x1F", "1e3", "~", "true", "2023-02-30")]
    ['19:00', 'ON', 31, 1000.0, None, True, '2023-02-30']
    """
    if text in _NULL:
        return None
    first = text[0]
    if first in "tTfF":
        return _BOOL.get(text, text)
    if first not in _MAYBE_NUMBER:
        return text
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if text in _FLOAT_SPECIAL:
        return _FLOAT_SPECIAL[text]
    if _INT_OCT.fullmatch(text):
        return int(text[2:], 8)
    if _INT_HEX.fullmatch(text):
        return int(text[2:], 16)
    return text


class YamlSyntaxError(ValueError):
    """The text is not valid YAML, or is nested too deeply; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True)
class BadValue:
    """A value the catalog refuses to construct (a tagged value or an alias), with the reason.

    It stands in the data where the value was; the same reason is listed in
    :attr:`LinedData.bad_values` with the value's path and line.
    """

    message: str

    def __repr__(self) -> str:
        return "<refused YAML value>"


@dataclass
class LinedData:
    """Plain data read from YAML, the line of every path in it, and what was refused.

    Attributes
    ----------
    data:
        The document as dicts, lists and scalars (``None`` for an empty document).
    lines:
        1-based line of every key (``path -> line``) and list item.
    duplicate_keys:
        ``(path, line)`` of every key that appears a second time in its mapping.
    bad_values:
        ``(path, line, message)`` of every refused value (see :class:`BadValue`).
    """

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path_, int]] = field(default_factory=list)
    bad_values: list[tuple[Path_, int, str]] = field(default_factory=list)

    def line(self, path: Path_) -> int:
        """Line of ``path``, or of its nearest ancestor that has one (1 at worst)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


def _parser_factory() -> Callable[[str], Any]:
    """libyaml's event parser when PyYAML was built with it, else PyYAML's own."""
    try:
        from yaml._yaml import CParser
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        return _PyParser
    return CParser


class _PyParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's pure-Python reader, scanner and parser (events only: no composer)."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


_make_parser = _parser_factory()

#: Which parser reads catalogs: ``"libyaml"`` (C, fast) or ``"python"``.
PARSER = "python" if _make_parser is _PyParser else "libyaml"


def _tag_name(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else tag


def _tag_message(tag: str) -> str:
    return (
        f"the YAML tag {_tag_name(tag)} is not allowed in a catalog (values are plain text, "
        "numbers, lists and mappings): remove the tag and write the value as plain text"
    )


def _alias_message(anchor: str) -> str:
    return (
        f"the YAML alias *{anchor} is not allowed in a catalog: write the value out in full "
        "(aliases can expand a small file into an enormous one)"
    )


class _Map:
    __slots__ = ("data", "key", "key_path", "path")

    def __init__(self, path: Path_) -> None:
        self.path = path
        self.data: dict[Any, Any] = {}
        self.key: Any = _NO_KEY
        self.key_path: Path_ = path


class _Seq:
    __slots__ = ("data", "path")

    def __init__(self, path: Path_) -> None:
        self.path = path
        self.data: list[Any] = []


_NO_KEY = object()  # a mapping frame waiting for its next key
_BAD_KEY = object()  # the key was refused: its value is read and dropped


def _scalar(event: ScalarEvent) -> Any:
    """A scalar event's value, or a :class:`BadValue` for a tag other than text."""
    tag = event.tag
    if tag is None:
        return plain_scalar(event.value) if event.implicit[0] else event.value
    if tag in _STR_TAGS:
        return event.value
    return BadValue(_tag_message(tag))


def _skip_collection(next_event: Callable[[], Event]) -> None:
    """Consume the events of a collection whose start event was just read."""
    depth = 1
    while depth:
        ev = next_event()
        cls = type(ev)
        if cls is MappingStartEvent or cls is SequenceStartEvent:
            depth += 1
        elif cls is MappingEndEvent or cls is SequenceEndEvent:
            depth -= 1


def _compose(next_event: Callable[[], Event], out: LinedData, max_depth: int) -> Any:
    """Build the document's root node from the event stream, iteratively (no recursion).

    The loop is the hot path of reading a large catalog: scalars, the commonest events, are
    handled first and inline.
    """
    stack: list[_Map | _Seq] = []
    lines = out.lines
    top: Any = None  # the innermost open collection (stack[-1]), or None at the root
    in_map = False
    special = _MAYBE_SPECIAL
    while True:
        ev: Any = next_event()  # the parser's events are untyped
        cls = type(ev)
        if cls is ScalarEvent:
            if ev.tag is None:
                value: Any = ev.value
                if ev.implicit[0] and (not value or value[0] in special):
                    value = plain_scalar(value)
            else:
                value = _scalar(ev)
            line = ev.start_mark.line + 1
            if in_map:
                if top.key is _NO_KEY:  # a key
                    if type(value) is BadValue:
                        out.bad_values.append(((*top.path, ev.value), line, value.message))
                        top.key = _BAD_KEY
                        continue
                    sub = (*top.path, value if type(value) is str else str(value))
                    if value in top.data:
                        out.duplicate_keys.append((sub, line))
                    lines[sub] = line
                    top.key = value
                    top.key_path = sub
                    continue
                if type(value) is BadValue:
                    out.bad_values.append((top.key_path, line, value.message))
                if top.key is not _BAD_KEY:
                    top.data[top.key] = value
                top.key = _NO_KEY
                continue
            if top is None:
                lines[()] = line
                if type(value) is BadValue:
                    out.bad_values.append(((), line, value.message))
                return value
            path: Path_ = (*top.path, len(top.data))
            lines[path] = line
            if type(value) is BadValue:
                out.bad_values.append((path, line, value.message))
            top.data.append(value)
            continue
        if cls is MappingEndEvent or cls is SequenceEndEvent:
            done = stack.pop()
            if not stack:
                return done.data
            top = stack[-1]
            in_map = type(top) is _Map
            continue
        line = ev.start_mark.line + 1
        if in_map and top.key is _NO_KEY:  # a key that is not a scalar
            if cls is AliasEvent:
                message = _alias_message(ev.anchor)
            else:
                _skip_collection(next_event)
                message = "a key must be plain text (found a list or mapping used as a key)"
            out.bad_values.append((top.path, line, message))
            top.key = _BAD_KEY
            continue
        if top is None:
            path = ()
            lines[path] = line
        elif in_map:
            path = top.key_path  # a value's line is its key's
        else:
            path = (*top.path, len(top.data))
            lines[path] = line
        frame: _Map | _Seq | None = None
        if cls is AliasEvent:
            value = BadValue(_alias_message(ev.anchor))
        elif cls is MappingStartEvent or cls is SequenceStartEvent:
            is_map = cls is MappingStartEvent
            tag = ev.tag
            if tag is not None and tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                _skip_collection(next_event)
                value = BadValue(_tag_message(tag))
            else:
                if len(stack) >= max_depth:
                    raise YamlSyntaxError(
                        line,
                        f"lists and mappings are nested more than {max_depth} levels deep here; "
                        "a catalog needs no more than a few levels",
                    )
                frame = _Map(path) if is_map else _Seq(path)
                value = frame.data
        else:  # pragma: no cover - the parser emits no other event inside a document
            raise YamlSyntaxError(line, f"unexpected YAML event {cls.__name__}")
        if type(value) is BadValue:
            out.bad_values.append((path, line, value.message))
        if top is None:
            if frame is None:
                return value
        elif in_map:
            if top.key is not _BAD_KEY:
                top.data[top.key] = value
            top.key = _NO_KEY
        else:
            top.data.append(value)
        if frame is not None:
            stack.append(frame)
            top = frame
            in_map = type(frame) is _Map


def load_yaml_with_lines(text: str, *, max_depth: int = MAX_DEPTH) -> LinedData:
    """Parse one YAML document; raise :class:`YamlSyntaxError` with the offending line.

    >>> doc = load_yaml_with_lines("events:\\n  - id: a\\n    time: 19:00\\n")
    >>> doc.data, doc.lines[("events", 0, "time")]
    ({'events': [{'id': 'a', 'time': '19:00'}]}, 3)
    >>> load_yaml_with_lines("a: !!binary aGk=\\nb: *x\\n").bad_values[0][:2]
    (('a',), 1)
    """
    parser = _make_parser(text)
    out = LinedData(data=None)
    try:
        next_event = parser.get_event
        next_event()  # StreamStartEvent
        ev = next_event()
        if isinstance(ev, StreamEndEvent):
            return out
        if not isinstance(ev, DocumentStartEvent):  # pragma: no cover - parser guarantees it
            raise YamlSyntaxError(ev.start_mark.line + 1, "expected a YAML document")
        out.data = _compose(next_event, out, max_depth)
        ev = next_event()
        if not isinstance(ev, DocumentEndEvent):  # pragma: no cover - parser guarantees it
            raise YamlSyntaxError(ev.start_mark.line + 1, "expected the end of the document")
        ev = next_event()
        if not isinstance(ev, StreamEndEvent):
            raise YamlSyntaxError(
                ev.start_mark.line + 1,
                "a catalog file holds one YAML document, but another starts here (---): "
                "put every entry under the one events: list, or split the file",
            )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or str(exc)
        context = f" ({exc.context})" if exc.context else ""
        raise YamlSyntaxError(line, f"YAML syntax error: {problem}{context}") from None
    except yaml.reader.ReaderError as exc:
        raise YamlSyntaxError(
            _reader_line(text, exc.position),
            f"YAML error: the character {_char(exc.character)} is not allowed in a YAML file "
            "(control characters other than tab and newline): remove it",
        ) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, f"YAML error: {exc}") from None
    finally:
        parser.dispose()
    return out


def _char(character: object) -> str:
    code = character if isinstance(character, int) else ord(str(character)[:1] or "?")
    return f"{chr(code)!r} (code {code})"


def _reader_line(text: str, position: int) -> int:
    """The line of a reader error's position (a character index, or libyaml's byte offset)."""
    if PARSER == "libyaml":
        return text.encode("utf-8", "surrogatepass")[:position].count(b"\n") + 1
    return text[:position].count("\n") + 1  # pragma: no cover - pure-Python parser only
