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

A value of the wrong type is refused by click as the options are read; the values' other
problems (:func:`~backtest.study.spec.spec_problems`'s rules, a ``--benchmark`` that is not a
ticker) are listed all at once, each with its option, by :func:`spec_from_options`
(:class:`OptionProblems`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from backtest.cli._options import FINITE_FLOAT
from backtest.job.spec_fields import SpecField, spec_fields
from backtest.study.spec import SpecError

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


class OptionProblems(SpecError):
    """A command's study options have problems; every one is listed as
    ``option --name: message`` (the message :class:`~backtest.study.StudySpec` gives)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(f"option {o}: {m}" for o, m in self.problems))


def spec_from_options(
    options: Mapping[str, Any],
    *,
    spec_class: type | None = None,
    problems: Sequence[tuple[str, str]] = (),
) -> Any:
    """The :class:`~backtest.study.StudySpec` (or ``spec_class``) of the ``spec_<name>``
    values a command got.

    Raises :class:`OptionProblems` listing every problem of the values
    (:func:`~backtest.study.spec.spec_problems`, with their limits, and each ``--benchmark``
    that is not a ticker), each named by its option, followed by the command's own
    ``problems`` (``(option, message)``), so that all come at once.
    """
    from backtest.study.spec import spec_problems

    if spec_class is None:
        from backtest.study.spec import StudySpec

        spec_class = StudySpec
    by_name = {f.name: f for f in spec_fields(spec_class)}
    values: dict[str, Any] = {}
    found: list[tuple[str, str]] = []
    for f in by_name.values():
        v = options[f"spec_{f.name}"]
        if f.kind in ("windows", "strs"):
            v = tuple(v) or f.default
        elif f.kind == "window":
            v = tuple(v)
        elif f.kind == "mapping":
            v, bad = _mapping(f, v)
            found += [(f.name, m) for m in bad]
        values[f.name] = v
    found += spec_problems(values)
    order = list(by_name)  # a setting's problems together, as declared
    found.sort(key=lambda p: order.index(p[0]))
    listed = [(option_name(by_name[name]), m) for name, m in found] + list(problems)
    if listed:
        raise OptionProblems(listed)
    return spec_class(**values)


def _mapping(f: SpecField, given: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """The mapping of ``f``'s values, and the message of each value that cannot be read."""
    bad: list[str] = []
    if f.name == "benchmarks":
        from backtest.errors import InvalidTickerError, UnknownMarketError
        from backtest.markets import market_of

        out_b = {}
        for t in given:
            try:
                out_b[market_of(t).code] = t
            except (InvalidTickerError, UnknownMarketError) as exc:
                bad.append(str(exc))
        return out_b, bad
    out = {}
    for item in given:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            bad.append(f"{item!r} is not KEY=VALUE")
            continue
        out[key.strip()] = value.strip()
    return out, bad
