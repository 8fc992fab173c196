"""Click options generated from the fields of :class:`~backtest.study.StudySpec`.

One option per field (:func:`backtest.job.spec_fields.spec_fields`): the name is the field's
with ``-`` for ``_`` (``min_estimation`` -> ``--min-estimation``), the type, the default and the
help are the field's. How each kind of value is typed:

==========  ===================================================================
choice      ``--model market`` (the ``Literal``'s values)
int, float  ``--min-estimation 120`` (floats must be finite)
bool        ``--exclude-confounded/--no-exclude-confounded``
window      ``--estimation -250 -11`` (two whole numbers)
windows     ``--window 0 1`` (repeatable; the field's name without its plural ``s``)
strs        ``--group-by tags`` (repeatable)
mapping     ``--benchmark QQQ`` for ``benchmarks`` (the ticker's market is the key),
            ``--name KEY=VALUE`` (repeatable) for any other
==========  ===================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from backtest.cli._options import FINITE_FLOAT
from backtest.job.spec_fields import SpecField, spec_fields

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def option_name(f: SpecField) -> str:
    """The command-line name of a study field: ``--min-estimation``, ``--window``."""
    name = f.name
    if f.kind == "windows" and name.endswith("s"):
        name = name[:-1]
    if f.kind == "mapping" and f.name == "benchmarks":
        name = "benchmark"
    return "--" + name.replace("_", "-")


def _option(f: SpecField) -> Decorator:
    flag = option_name(f)
    dest = f"spec_{f.name}"
    common: dict[str, Any] = {"help": f.help, "show_default": True}
    if f.kind == "choice":
        return click.option(flag, dest, type=click.Choice(f.choices), default=f.default, **common)
    if f.kind == "int":
        return click.option(flag, dest, type=int, default=f.default, **common)
    if f.kind == "float":
        return click.option(flag, dest, type=FINITE_FLOAT, default=f.default, **common)
    if f.kind == "str":
        return click.option(flag, dest, type=str, default=f.default, **common)
    if f.kind == "bool":
        negative = "--no-" + flag[2:]
        return click.option(f"{flag}/{negative}", dest, default=f.default, **common)
    if f.kind == "window":
        return click.option(
            flag, dest, nargs=2, type=int, default=f.default, metavar="A B", **common
        )
    if f.kind == "windows":
        return click.option(
            flag, dest, nargs=2, type=int, multiple=True, default=f.default, metavar="A B",
            help=f"{f.help} Repeatable.", show_default=True,
        )  # fmt: skip
    if f.kind == "strs":
        return click.option(
            flag, dest, multiple=True, default=f.default, help=f"{f.help} Repeatable.",
            show_default=True,
        )  # fmt: skip
    if f.kind == "mapping":
        if f.name == "benchmarks":
            metavar, how = "TICKER", "Here a ticker; its market is the key. Repeatable."
        else:
            metavar, how = "KEY=VALUE", "Repeatable."
        return click.option(flag, dest, multiple=True, metavar=metavar, help=f"{f.help} {how}")
    raise TypeError(f"no command-line form for {f.name!r} ({f.kind})")  # pragma: no cover


def study_spec_options(
    command: Callable[..., Any] | None = None, *, spec_class: type | None = None
) -> Any:
    """Decorate a click command with one option per StudySpec field (``spec_<name>``);
    ``spec_class`` another dataclass declared the same way (tests)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for f in reversed(spec_fields(spec_class)):
            command = _option(f)(command)
        return command

    return decorate if command is None else decorate(command)


def spec_from_options(options: Mapping[str, Any], *, spec_class: type | None = None) -> Any:
    """The :class:`~backtest.study.StudySpec` (or ``spec_class``) of the ``spec_<name>``
    values a command got."""
    if spec_class is None:
        from backtest.study.spec import StudySpec

        spec_class = StudySpec
    values: dict[str, Any] = {}
    for f in spec_fields(spec_class):
        v = options[f"spec_{f.name}"]
        if f.kind in ("windows", "strs"):
            v = tuple(v) or f.default
        elif f.kind == "window":
            v = tuple(v)
        elif f.kind == "mapping":
            v = _mapping(f, v)
        values[f.name] = v
    return spec_class(**values)


def _mapping(f: SpecField, given: tuple[str, ...]) -> dict[str, str]:
    if f.name == "benchmarks":
        from backtest.errors import InvalidTickerError, UnknownMarketError
        from backtest.markets import market_of

        out_b = {}
        for t in given:
            try:
                out_b[market_of(t).code] = t
            except (InvalidTickerError, UnknownMarketError) as exc:
                raise click.BadParameter(str(exc), param_hint=f"'{option_name(f)}'") from None
        return out_b
    out = {}
    for item in given:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=f"'{option_name(f)}'")
        out[key.strip()] = value.strip()
    return out
