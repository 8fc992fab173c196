"""Declarative TOML files validated by pydantic models, with problems named by file and field.

Strategy files and run configurations share this: the file is read as TOML, every unknown
section or field is reported with the closest known name, and pydantic's errors become
``file: field a.b: message`` lines a user can act on. Every problem is listed, not only the first.
"""

from __future__ import annotations

import datetime as dt
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


def read_toml(path: Path, error: type[FileProblems], what: str) -> dict[str, Any]:
    """The parsed file; ``error`` (naming the file) when it is missing, not text or not TOML."""
    display = str(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(display, [("", f"no such {what} file")]) from None
    except IsADirectoryError:
        raise error(display, [("", f"is a folder, not a {what} file")]) from None
    except UnicodeDecodeError:
        raise error(display, [("", "not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise error(display, [("", f"not valid TOML: {exc}")]) from None


def validate(
    model: type[M],
    data: Mapping[str, Any],
    display: str,
    error: type[FileProblems],
    *,
    hidden: Sequence[str] = (),
) -> M:
    """``model`` validated from ``data``; ``error`` lists every problem.

    ``hidden`` fields are set by the loader (e.g. the file name), not by users, and are left
    out of the "known fields" hints.
    """
    problems: list[tuple[str, str]] = []
    known_top = [k for k in model.model_fields if k not in hidden]
    sections = {k for k in known_top if _submodel(model, k) is not None}
    for key, value in data.items():
        if key in hidden:
            continue
        if key not in model.model_fields:
            hint = _did_you_mean(key, known_top)
            problems.append(
                (key, f"unknown section or field (known: {', '.join(known_top)}){hint}")
            )
        elif key in sections and not isinstance(value, dict):
            problems.append((key, f"expected a [{key}] table, got {value!r}"))
    if problems:
        raise error(display, problems)
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
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
    if kind == "extra_forbidden":
        owner: type[BaseModel] = model
        for name in loc[:-1]:
            owner = _submodel(owner, name) or owner
        known = [k for k in owner.model_fields if k not in hidden]
        return f"unknown field (known: {', '.join(known)})" + _did_you_mean(loc[-1], known)
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
