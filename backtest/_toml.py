"""Declarative TOML files validated by pydantic models, with problems named by file and field.

Strategy files and run configurations share this: the file is read as TOML, every unknown
section or field is reported with the closest known name, and pydantic's errors become
``file: field a.b: message`` lines a user can act on. Every problem is listed, not only the first.
"""

from __future__ import annotations

import datetime as dt
import stat
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError

from backtest.errors import EvbtError
from backtest.text import did_you_mean

M = TypeVar("M", bound=BaseModel)


class FileProblems(EvbtError, ValueError):
    """A declarative file has problems; every one is listed as ``file: field x: message``."""

    def __init__(self, file: str, problems: Sequence[tuple[str, str]]) -> None:
        self.file = file
        self.problems = tuple(problems)
        lines = [f"{file}: field {f}: {m}" if f else f"{file}: {m}" for f, m in self.problems]
        super().__init__("\n".join(lines))


#: largest declarative file read (a run configuration or strategy is a few hundred bytes)
MAX_BYTES = 1 << 20
#: deepest nesting of arrays and tables accepted (the deepest legitimate value is 3 levels)
MAX_DEPTH = 32


def read_toml(path: Path, error: type[FileProblems], what: str) -> dict[str, Any]:
    """The parsed file; ``error`` (naming the file) when it cannot be a ``what`` file.

    Refused with a message: a missing file, a folder, a FIFO or device (which would block or
    never end), a file over :data:`MAX_BYTES`, text that is not UTF-8 or not TOML, and values
    nested deeper than :data:`MAX_DEPTH`. A UTF-8 byte-order mark is accepted (Windows editors
    write one), as the catalog's YAML reader accepts it.
    """
    display = str(path)

    def fail(message: str) -> FileProblems:
        return error(display, [("", message)])

    try:
        info = path.stat()
    except FileNotFoundError:
        raise fail(f"no such {what} file") from None
    except OSError as exc:
        raise fail(f"cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise fail(f"is a folder, not a {what} file")
    if not stat.S_ISREG(info.st_mode):
        raise fail(f"is not a regular file (a pipe, device or socket): give a {what} file")
    if info.st_size > MAX_BYTES:
        raise fail(
            f"is {info.st_size:,} bytes, more than a {what} file can be "
            f"(at most {MAX_BYTES:,}); is it the right file?"
        )
    try:
        raw = path.read_bytes()[: MAX_BYTES + 1]
    except OSError as exc:
        raise fail(f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"not valid TOML: {exc}") from None
    except RecursionError:
        raise fail(
            f"values are nested more than {MAX_DEPTH} levels deep (arrays in arrays)"
        ) from None
    if _depth(data) > MAX_DEPTH:
        raise fail(f"values are nested more than {MAX_DEPTH} levels deep (arrays in arrays)")
    return data


def _depth(value: Any, level: int = 0) -> int:
    """How deeply ``value`` nests lists and tables (stops counting past :data:`MAX_DEPTH`)."""
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def validate(
    model: type[M],
    data: Mapping[str, Any],
    display: str,
    error: type[FileProblems],
    *,
    hidden: Sequence[str] = (),
) -> M:
    """``model`` validated from ``data``; ``error`` lists every problem of the file.

    ``hidden`` fields are set by the loader (e.g. the file name), not by users, and are left
    out of the "known fields" hints.
    """
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = [str(x) for x in err["loc"] if not isinstance(x, int)]
            problems.append((".".join(loc), _message(model, err, loc, hidden)))
        raise error(display, problems) from None


def parse_date(v: Any) -> dt.date | None:
    """A TOML date (``2024-01-31``) or an ISO string (``"2024-01-31"``); ``None`` stays."""
    if v is None or (isinstance(v, dt.date) and not isinstance(v, dt.datetime)):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date such as 2024-01-31, got {v!r}")


def _did_you_mean(key: str, known: Sequence[str]) -> str:
    return did_you_mean(key, known)


def _submodel(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The model class of field ``name`` (unwrapping ``X | None``), if it is one."""
    field = model.model_fields.get(name)
    if field is None:
        return None
    ann = field.annotation
    candidates = typing.get_args(ann) if isinstance(ann, types.UnionType) else (ann,)
    for c in candidates:
        if isinstance(c, type) and issubclass(c, BaseModel):
            return c
    return None


def _message(
    model: type[BaseModel], err: Mapping[str, Any], loc: Sequence[str], hidden: Sequence[str]
) -> str:
    kind = err["type"]
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        owner_field = loc[-1] if loc else ""
        return f"expected a [{'.'.join(loc) or owner_field}] table, got {err.get('input')!r}"
    if kind == "extra_forbidden":
        owner: type[BaseModel] = model
        for name in loc[:-1]:
            owner = _submodel(owner, name) or owner
        known = [k for k in owner.model_fields if k not in hidden]
        what = "section or field" if owner is model else "field"
        return f"unknown {what} (known: {', '.join(known)})" + _did_you_mean(loc[-1], known)
    if kind == "value_error":
        return str(err["ctx"]["error"])
    if kind == "literal_error":
        allowed = err["msg"].replace("Input should be ", "use ")
        return f"{err.get('input')!r} is not allowed ({allowed})"
    if kind == "missing":
        return "is missing"
    return f"{err['msg']} (got {err.get('input')!r})"


#: A date field of a declarative file: a TOML date or an ISO string, or absent.
OptionalDate = Annotated[dt.date | None, BeforeValidator(parse_date)]
