"""The event study's settings, declared once: the fields of :class:`~backtest.study.StudySpec`.

The run configuration's ``[study]`` section (:mod:`backtest.job.config`) and the options of
``evbt study`` (:mod:`backtest.cli.study`) are both generated from
``dataclasses.fields(StudySpec)``: each field's name, type and default come from the dataclass
and its description from ``metadata["help"]``. A field added to the spec appears in both
without being written again.

>>> by_name = {f.name: f for f in spec_fields()}
>>> by_name["estimation"].default
(-250, -11)
>>> by_name["model"].choices[:2]
('market', 'market_adjusted')
>>> by_name["windows"].kind
'windows'
"""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

Kind = Literal["choice", "int", "float", "bool", "str", "window", "windows", "strs", "mapping"]


@dataclass(frozen=True)
class SpecField:
    """One setting of the study: how the configuration and the command line present it."""

    name: str
    #: the annotation as the dataclass declares it (pydantic validates against it)
    annotation: Any
    kind: Kind
    default: Any
    help: str
    #: the allowed values of a ``choice``
    choices: tuple[str, ...] = ()
    #: ``X | None``: the setting may be left unset
    optional: bool = False


def _kind(annotation: Any) -> tuple[Kind, tuple[str, ...], bool]:
    """What sort of value ``annotation`` describes (choices, and whether ``None`` is allowed)."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            kind, choices, _ = _kind(rest[0])
            return kind, choices, True
    if origin is Literal and all(isinstance(a, str) for a in args):
        return "choice", tuple(args), False
    if annotation is bool:
        return "bool", (), False
    if annotation is int:
        return "int", (), False
    if annotation is float:
        return "float", (), False
    if annotation is str:
        return "str", (), False
    if origin is tuple:
        if args == (int, int):
            return "window", (), False
        if len(args) == 2 and args[1] is Ellipsis:
            if args[0] is str:
                return "strs", (), False
            if typing.get_args(args[0]) == (int, int):
                return "windows", (), False
    if origin in (dict, collections.abc.Mapping) and args == (str, str):
        return "mapping", (), False
    raise TypeError(
        f"StudySpec field type {annotation!r} has no command-line or configuration form: "
        "add it to backtest/job/spec_fields.py"
    )


@cache
def spec_fields(spec_class: type | None = None) -> tuple[SpecField, ...]:
    """Every field of :class:`~backtest.study.StudySpec` (or of ``spec_class``, a dataclass
    declared the same way), in declaration order."""
    if spec_class is None:
        from backtest.study.spec import StudySpec

        spec_class = StudySpec
    hints = typing.get_type_hints(spec_class)
    out = []
    for f in dataclasses.fields(spec_class):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        help_ = f.metadata.get("help")
        if not help_:
            raise TypeError(f"{spec_class.__name__} field {f.name!r} has no metadata['help']")
        kind, choices, optional = _kind(hints[f.name])
        out.append(
            SpecField(
                name=f.name,
                annotation=hints[f.name],
                kind=kind,
                default=default,
                help=str(help_),
                choices=choices,
                optional=optional,
            )
        )
    return tuple(out)
