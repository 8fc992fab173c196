"""What an event study measures: the model, the windows and the data rules.

:class:`StudySpec` is validated once, when it is built, with messages that name the parameter,
the value and what to do. Results carry the spec that produced them.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, get_args

from backtest.errors import EvbtError

Model = Literal["market", "market_adjusted", "constant_mean", "raw", "factor"]
#: The models that do not use the market (for the tickers of market-wide events).
MarketEventModel = Literal["constant_mean", "raw"]
Returns = Literal["simple", "log"]
MODELS: tuple[str, ...] = get_args(Model)
MARKET_EVENT_MODELS: tuple[str, ...] = get_args(MarketEventModel)
RETURNS: tuple[str, ...] = get_args(Returns)

Window = tuple[int, int]

DEFAULT_WINDOWS: tuple[Window, ...] = ((0, 0), (-1, 1), (0, 5), (-5, 20))
DEFAULT_GROUP_BY: tuple[str, ...] = ("all", "category", "ticker")


class SpecError(EvbtError, ValueError):
    """A study specification is invalid; the message says which parameter and why."""


def _window(value: Any, name: str) -> Window:
    pair = _items(value)
    if (
        pair is None
        or len(pair) != 2
        or not all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in pair)
    ):
        raise SpecError(
            f"{name} must be a pair of whole trading-day offsets such as (-1, 1), got {value!r}"
        )
    a, b = int(pair[0]), int(pair[1])
    if a > b:
        raise _Reversed(name, (a, b))
    return (a, b)


class _Reversed(SpecError):
    """A window that starts after it ends. Its hint, ``write (b, a)``, is given only when that
    passes the setting's rules with the other settings (:func:`_reversed_message`)."""

    def __init__(self, name: str, pair: Window) -> None:
        self.name, self.pair = name, pair
        #: for ``windows``: every window given (the reversed ones as given), and this one's place
        self.items: tuple[Any, ...] = ()
        self.at = -1
        super().__init__(f"{name} {pair} starts after it ends")


def _items(value: Any) -> tuple[Any, ...] | None:
    """The items of a list or tuple (any iterable but text, a mapping or a set, whose order
    means nothing), or ``None`` for a value that is not a sequence of items."""
    if isinstance(value, str | bytes | bytearray | Mapping | Set) or not isinstance(
        value, Iterable
    ):
        return None
    try:
        return tuple(value)
    except (TypeError, ValueError):  # e.g. a 0-d array
        return None


def window_label(w: Window) -> str:
    """``(-1, 1)`` as ``[-1,+1]``."""
    return f"[{w[0]:+d},{w[1]:+d}]".replace("+0", "0")


@dataclass(frozen=True)
class StudySpec:
    """The specification of an event study.

    Parameters
    ----------
    model:
        ``market`` (OLS market model, the default), ``market_adjusted`` (AR = R - R_m),
        ``constant_mean`` (AR = R - mean R over the estimation window), ``raw`` (AR = R:
        nothing is estimated; the estimation window gives the variance for the tests) or
        ``factor`` (OLS on user-supplied factors in Ken French's format, see
        :func:`backtest.study.read_factors`). An event table's ``model`` column chooses the
        model of single events.
    market_event_model:
        The model of every ticker of a market-wide event (``scope == "market"``): one that
        does not use the market, since the market's move is the reaction asked about;
        ``constant_mean`` (default) or ``raw``.
    returns:
        ``simple`` (default) or ``log`` daily returns. BHAR is always in simple returns.
    estimation:
        Estimation window in trading days relative to day 0, inclusive; default (-250, -11).
        It must end before the first event window starts.
    min_estimation:
        Minimum number of valid estimation-window observations; events with fewer are dropped.
    windows:
        Event windows (inclusive, trading days relative to day 0) for CAR, BHAR and the tests.
    path:
        The window of the AR path kept per event (for plots), default (-20, 20).
    benchmarks:
        Benchmark per market code (e.g. ``{"XNYS": "QQQ"}``) overriding the markets' defaults
        (SPY for XNYS, ^HSI for XHKG). A per-event ``benchmark`` column overrides both.
    exclude_confounded:
        Keep other events (of the same ticker) out of the estimation window: an event of the
        catalog or events table over its whole window span (the union of ``windows``), a
        confounder (context marked ``confounder``: ``--confounders``, an earnings calendar)
        over ``confounder_window`` around its own day 0.
    confounder_window:
        The sessions around a confounder's day 0 (its reaction, default (-1, 1)) kept out of
        estimation windows. Flagging an event as confounded does not use it: a confounder
        whose day 0 is in the event's window span flags the event.
    max_loss:
        Largest fraction of (event, ticker) rows that may be dropped before the run stops with
        :class:`~backtest.study.StudyDataLossError` (alphalens's ``max_loss``).
    group_by:
        Groupings for the group statistics: ``all`` and any event-table column (``category``,
        ``ticker``, ``scope``, an attribute such as ``sector``), or bins of a numeric
        attribute: ``surprise_pct:quintile`` (also ``:tertile``, ``:quartile``, ``:decile``,
        ``:sign``, or increasing edges ``surprise_pct:-5,0,5``); see
        :mod:`backtest.study.attributes`.
    chunk_size:
        Events processed at once (bounds memory; results do not depend on it).
    max_offset:
        Largest distance from day 0, in sessions, of any day the study reads (estimation
        window, event windows, path); a larger spec is refused before anything is computed.
    max_windows:
        Largest number of event windows; more are refused before anything is computed.
    max_listed:
        Most ids listed per row in ``result.confounders`` and in the events' ``overlaps``
        (the counts ``n_confounders`` and ``n_overlaps`` are always exact); bounds memory
        when events are dense.
    """

    # Each field's ``metadata["help"]`` is the one description of the setting: the command
    # line's options (``evbt study``) and the run configuration's ``[study]`` section are built
    # from these fields (name, type, default, help), never retyped.
    model: Model = field(default="market", metadata={"help": "Normal-return model."})
    market_event_model: MarketEventModel = field(
        default="constant_mean",
        metadata={
            "help": "Model of the tickers of market-wide events (scope market): one that does "
            "not use the market (constant_mean or raw)."
        },
    )
    returns: Returns = field(
        default="simple", metadata={"help": "Daily returns: simple or log (BHAR is always simple)."}
    )
    estimation: Window = field(
        default=(-250, -11),
        metadata={"help": "Estimation window, trading days relative to day 0 (inclusive)."},
    )
    min_estimation: int = field(
        default=120, metadata={"help": "Minimum valid estimation-window returns."}
    )
    windows: tuple[Window, ...] = field(
        default=DEFAULT_WINDOWS,
        metadata={"help": "Event windows (inclusive, trading days relative to day 0)."},
    )
    path: Window = field(
        default=(-20, 20), metadata={"help": "Days of the AR path kept per event (for charts)."}
    )
    benchmarks: Mapping[str, str] = field(
        default_factory=dict,
        metadata={"help": 'Benchmark per market code, e.g. {XNYS = "QQQ"}.'},
    )
    exclude_confounded: bool = field(
        default=True,
        metadata={
            "help": "Keep other events out of the estimation window (catalog events: their "
            "window span; confounders: confounder_window)."
        },
    )
    confounder_window: Window = field(
        default=(-1, 1),
        metadata={
            "help": "Sessions around a confounder's day 0 (--confounders, earnings calendars) "
            "kept out of estimation windows."
        },
    )
    max_loss: float = field(
        default=0.35,
        metadata={"help": "Largest fraction of (event, ticker) rows that may be dropped."},
    )
    group_by: tuple[str, ...] = field(
        default=DEFAULT_GROUP_BY,
        metadata={
            "help": "Groupings for the group statistics: 'all', event fields and attributes, "
            "bins of a number (surprise_pct:quintile, :quartile, :decile, :tertile, :sign, or "
            "edges surprise_pct:-5,0,5)."
        },
    )
    chunk_size: int = field(
        default=8192,
        metadata={"help": "Events processed at once (bounds memory; results do not change)."},
    )
    max_offset: int = field(
        default=1000,
        metadata={
            "help": "Largest distance from day 0 (sessions) of the estimation window, the "
            "event windows and the path."
        },
    )
    max_windows: int = field(default=50, metadata={"help": "Largest number of event windows."})
    max_listed: int = field(
        default=10,
        metadata={
            "help": "Most ids listed per row for confounders and overlapping rows (the counts "
            "are exact)."
        },
    )

    def __post_init__(self) -> None:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        checked, problems = _checked(values, limits=True)
        if problems:  # the first, as the settings are declared
            raise SpecError(problems[0][1])
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ derived offsets
    @property
    def span(self) -> Window:
        """The union of the event windows: what counts as 'the event' for confounding."""
        return (min(w[0] for w in self.windows), max(w[1] for w in self.windows))

    @property
    def reach(self) -> Window:
        """First and last offset any part of the study reads (estimation to path/window end)."""
        return (
            min(self.estimation[0], self.path[0], self.span[0]),
            max(self.path[1], self.span[1]),
        )

    def replace(self, **changes: Any) -> StudySpec:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "market_event_model": self.market_event_model,
            "returns": self.returns,
            "estimation": list(self.estimation),
            "min_estimation": self.min_estimation,
            "windows": [list(w) for w in self.windows],
            "path": list(self.path),
            "benchmarks": dict(self.benchmarks),
            "exclude_confounded": self.exclude_confounded,
            "confounder_window": list(self.confounder_window),
            "max_loss": self.max_loss,
            "group_by": list(self.group_by),
            "max_offset": self.max_offset,
            "max_windows": self.max_windows,
            "max_listed": self.max_listed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudySpec:
        """Build from a mapping (a config file section); unknown keys are errors."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"unknown study setting(s) {unknown} (known: {sorted(known)})")
        return cls(**data)  # the rules keep lists as tuples (and refuse other values)


# ---------------------------------------------------------------------------- the settings' rules
# One rule per setting (its value -> the value kept, or SpecError), then the rules between two
# settings. StudySpec raises the first problem; spec_problems lists them all (the run
# configuration reports every one, each with its field).


def _model(value: Any) -> Any:
    if not isinstance(value, str) or value not in MODELS:
        raise SpecError(f"model must be one of {', '.join(MODELS)}, not {value!r}")
    return value


def _market_event_model(value: Any) -> Any:
    if not isinstance(value, str) or value not in MARKET_EVENT_MODELS:
        raise SpecError(
            f"market_event_model must be one of {', '.join(MARKET_EVENT_MODELS)} (models "
            f"that do not use the market), not {value!r}"
        )
    return value


def _whole(name: str, least: int | None = None) -> Callable[[Any], int]:
    def rule(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise SpecError(f"{name} must be a whole number, not {value!r}")
        if least is not None and value < least:
            raise SpecError(f"{name} must be a whole number >= {least}, not {int(value)!r}")
        return int(value)

    return rule


def _returns(value: Any) -> Any:
    if not isinstance(value, str) or value not in RETURNS:
        raise SpecError(f"returns must be simple or log, not {value!r}")
    return value


def _windows(value: Any) -> tuple[Window, ...]:
    items = _items(value)
    if items is None or (items and all(isinstance(w, numbers.Number) for w in items)):
        raise SpecError(
            "windows must be a list of pairs of whole trading-day offsets such as "
            f"[(0, 0), (-1, 1)], got {value!r}"
        )
    try:
        windows = tuple(_window(w, f"windows[{i}]") for i, w in enumerate(items))
    except _Reversed as exc:
        exc.items, exc.at = items, int(exc.name[len("windows[") : -1])
        raise
    if not windows:
        raise SpecError("windows is empty: give at least one event window such as (0, 0)")
    if len(set(windows)) != len(windows):
        raise SpecError(f"windows has duplicates: {windows}")
    return windows


def _max_loss(value: Any) -> Any:
    number = not isinstance(value, bool) and isinstance(value, numbers.Real)  # True is not 1.0
    fraction = float(value) if number else math.nan
    if not 0.0 <= fraction <= 1.0:
        raise SpecError(f"max_loss must be a fraction between 0 and 1, not {value!r}")
    return value


def _group_by(value: Any) -> tuple[str, ...]:
    group_by = _items(value)
    if group_by is None:
        hint = f" such as ({value!r},)" if isinstance(value, str) and value.strip() else ""
        raise SpecError(f"group_by must be a list of groupings{hint}, not {value!r}")
    if not group_by:
        raise SpecError("group_by is empty: use ('all',) at least")
    bad = [g for g in group_by if not isinstance(g, str) or not g.strip()]
    if bad:
        raise SpecError(
            f"group_by must be a list of groupings (names such as 'category'), not {value!r}: "
            f"{bad[0]!r} is not a name"
        )
    return group_by


def _exclude_confounded(value: Any) -> bool:
    # numpy's bool (np.True_) is not a bool but means one
    if not isinstance(value, bool) and type(value).__name__ not in ("bool_", "bool"):
        raise SpecError(f"exclude_confounded must be true or false, not {value!r}")
    return bool(value)


def _benchmarks(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise SpecError(
            f'benchmarks must map market codes to tickers, such as {{"XNYS": "QQQ"}}, not {value!r}'
        )
    bad = [(k, v) for k, v in value.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise SpecError(
            f"benchmarks must map market codes to tickers (text), such as "
            f'{{"XNYS": "QQQ"}}, not {bad[0][0]!r}: {bad[0][1]!r}'
        )
    return dict(value)


#: setting -> its own rule (what ``max_offset`` and ``max_windows`` bound is a rule between
#: settings, :func:`_between`, checked when ``limits`` is asked for)
_RULES: dict[str, Callable[[Any], Any]] = {
    "model": _model,
    "market_event_model": _market_event_model,
    "max_offset": _whole("max_offset", 1),
    "max_windows": _whole("max_windows", 1),
    "max_listed": _whole("max_listed", 0),
    "min_estimation": _whole("min_estimation"),
    "chunk_size": _whole("chunk_size"),
    "returns": _returns,
    "estimation": lambda v: _window(v, "estimation"),
    "windows": _windows,
    "path": lambda v: _window(v, "path"),
    "confounder_window": lambda v: _window(v, "confounder_window"),
    "max_loss": _max_loss,
    "group_by": _group_by,
    "exclude_confounded": _exclude_confounded,
    "benchmarks": _benchmarks,
}


def _between(ok: Mapping[str, Any], *, limits: bool) -> Iterator[tuple[str, str]]:
    """The problems of the rules between settings, each checked when every setting it reads
    is given and valid (``ok``)."""
    if (
        limits
        and "max_windows" in ok
        and "windows" in ok
        and len(ok["windows"]) > ok["max_windows"]
    ):
        yield (
            "windows",
            f"{len(ok['windows'])} event windows asked for, more than the limit of "
            f"{ok['max_windows']} (max_windows); give fewer windows or raise max_windows",
        )
    if limits and "max_offset" in ok:
        named = [(n, n, ok[n]) for n in ("estimation", "path", "confounder_window") if n in ok]
        named += [("windows", f"windows[{i}]", w) for i, w in enumerate(ok.get("windows", ()))]
        for field_name, name, w in named:
            far = max(abs(w[0]), abs(w[1]))
            if far > ok["max_offset"]:
                yield (
                    field_name,
                    f"{name} {w} reaches {far} sessions from day 0, more than the limit of "
                    f"{ok['max_offset']} (max_offset); use a shorter window or raise max_offset",
                )
    est = ok.get("estimation")
    if est is not None and "windows" in ok:
        first = min(w[0] for w in ok["windows"])
        if est[1] >= first:
            hint = _estimation_hint(ok, est, first)
            yield (
                "estimation",
                f"the estimation window {est} must end before the first event window starts "
                f"(day {first})" + (f"; e.g. estimation={hint}" if hint else ""),
            )
    if est is not None and est[1] - est[0] + 1 < 3:
        yield ("estimation", f"the estimation window {est} is too short for any model")
    least = ok.get("min_estimation")
    if least is not None and least < 3:
        yield ("min_estimation", f"min_estimation must be a whole number >= 3, not {least!r}")
    elif least is not None and est is not None and least > est[1] - est[0] + 1:
        yield (
            "min_estimation",
            f"min_estimation={least} is more than the {est[1] - est[0] + 1} days of the "
            f"estimation window {est}",
        )
    if ok.get("chunk_size", 1) < 1:
        yield ("chunk_size", f"chunk_size must be positive, not {ok['chunk_size']!r}")


def _estimation_hint(ok: Mapping[str, Any], est: Window, first: int) -> Window | None:
    """An estimation window that ends the session before the first event window (day
    ``first``) and passes every rule with the other settings unchanged: as long as ``est``,
    or as ``min_estimation`` asks (at least 3 days); ``None`` when ``max_offset`` (given,
    even when its limits are not checked here) leaves no such window."""
    least = ok.get("min_estimation", 0)
    days = max(est[1] - est[0] + 1, 3, least)
    hint = (first - days, first - 1)
    if "max_offset" in ok and max(abs(hint[0]), abs(hint[1])) > ok["max_offset"]:
        return None
    return hint


def _refusal(ok: Mapping[str, Any], name: str, value: Any) -> str | None:
    """The first problem of setting ``name`` given ``value`` with the valid settings ``ok``
    (its own rule and the rules between settings, within any ``max_offset`` given), or
    ``None``: how a hint is checked before it is given."""
    trial = dict(ok)
    try:
        trial[name] = _RULES[name](value)
    except SpecError as exc:
        return str(exc)
    return next((m for f, m in _between(trial, limits=True) if f == name), None)


def _reversed_message(name: str, exc: _Reversed, ok: Mapping[str, Any]) -> str:
    """The message of a window that starts after it ends, with the window to write when it
    passes the setting's rules: ``(b, a)``; for the estimation window, else one that ends
    before the first event window (:func:`_estimation_hint`); for an event window that is
    another one reversed, to drop it; else why ``(b, a)`` would be refused too."""
    a, b = exc.pair
    fixed = (b, a)
    said = f"{exc.name} {exc.pair} starts after it ends"
    if name == "windows":  # every reversed window of the list written the right way round
        flips = [_flipped(w) for w in exc.items]
        items = [w for w, _ in flips]
        same = [j for j, w in enumerate(items) if w == fixed and j != exc.at]
        if same and not flips[same[0]][1]:
            return f"{said}, and {fixed} is windows[{same[0]}] already: drop it"
        if same:
            return f"{said}, as does windows[{same[0]}]: write {fixed} once"
        why = _refusal(ok, name, items)
        if why is not None and re.match(rf"windows\[(?!{exc.at}\])\d+\] ", why):
            return f"{said}: write {fixed}; and {why}"  # a problem of another window
    else:
        why = _refusal(ok, name, fixed)
    if why is None:
        return f"{said}: write {fixed}"
    if name == "estimation" and "windows" in ok:
        hint = _estimation_hint(ok, fixed, min(w[0] for w in ok["windows"]))
        if hint is not None and _refusal(ok, name, hint) is None:
            why = why.split("; e.g. ")[0]  # (the reason, without the hint of its own)
            return f"{said}; {fixed} would not do either ({why}): e.g. estimation={hint}"
    return f"{said}; {fixed} would not do either: {why}"


def _flipped(w: Any) -> tuple[Any, bool]:
    """An event window as kept (as given when it is not a pair), written the right way round
    when it starts after it ends; and whether it did."""
    try:
        return _window(w, ""), False
    except _Reversed as exc:
        return (exc.pair[1], exc.pair[0]), True
    except SpecError:
        return w, False


def _checked(
    values: Mapping[str, Any], *, limits: bool
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The valid settings of ``values`` (as StudySpec keeps them) and every problem."""
    ok: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    reversed_: list[tuple[str, _Reversed]] = []
    for name, rule in _RULES.items():
        if name in values:
            try:
                ok[name] = rule(values[name])
            except _Reversed as exc:  # its hint needs the other settings
                reversed_.append((name, exc))
            except SpecError as exc:
                problems.append((name, str(exc)))
    problems += [(name, _reversed_message(name, exc, ok)) for name, exc in reversed_]
    problems += _between(ok, limits=limits)
    order = [f.name for f in fields(StudySpec)]  # a setting's problems together, as declared
    problems.sort(key=lambda p: order.index(p[0]))
    return ok, problems


def spec_problems(values: Mapping[str, Any], *, limits: bool = True) -> list[tuple[str, str]]:
    """Every problem of the study settings ``values`` as ``(setting, message)``, with the
    messages :class:`StudySpec` raises (it raises the first one).

    ``values`` maps settings to values; a setting left out is not checked, nor any rule
    between it and another (so a setting whose value is not known yet does not bring problems
    of its default). ``limits=False`` leaves out what ``max_offset`` and ``max_windows`` bound
    (the run configuration checks that as its ``[limits]``, in its own words); a suggested
    window still stays within a ``max_offset`` given.

    >>> spec_problems({"windows": [(2, -2)], "estimation": (-10, -250), "max_loss": 3})
    ... # doctest: +NORMALIZE_WHITESPACE
    [('estimation', 'estimation (-10, -250) starts after it ends: write (-250, -10)'),
     ('windows', 'windows[0] (2, -2) starts after it ends: write (-2, 2)'),
     ('max_loss', 'max_loss must be a fraction between 0 and 1, not 3')]
    """
    return _checked(values, limits=limits)[1]


def as_windows(windows: Sequence[Sequence[int]]) -> tuple[Window, ...]:
    """Normalise a list of pairs to a tuple of windows."""
    return tuple((int(a), int(b)) for a, b in windows)
