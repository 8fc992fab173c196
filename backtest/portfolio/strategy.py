"""Strategy files: declarative event-driven rules a user copies and edits.

A strategy is a TOML file in ``strategies/``::

    name = "buy_on_layoffs"
    description = "Buy a company's stock when it announces layoffs."

    [events]                 # which catalog events (every given criterion must match)
    categories = ["layoff"]
    where = { surprise_pct = { above = 5 } }   # optional, on event attributes (see below)

    [entry]
    fill = "next_open"       # "next_open" or "close"
    lag = 0                  # sessions after the first price the news could reach

    [exit]
    hold = [1, 5, 20, 60]    # sessions; a list sweeps the values
    stop_loss = 0.10         # optional, fraction of the entry price
    take_profit = 0.25       # optional

    [position]
    direction = "long"       # "long" or "short"
    size = 10000             # per trade, in the ticker's currency
    hedge = false            # take the opposite position in the benchmark
    stack = false            # true: a second event of a ticker entering on the same session
                             # opens a second position (default: one position per ticker
                             # and entry session; the later event is skipped with the reason)

    [costs]
    fees = 0.0005            # 5 bps of the traded value, each side
    slippage = 0.0005        # 5 bps of the price, each side

    [portfolio]
    init_cash = 100000
    leverage = 1.0           # the most the open positions may hold (longs plus shorts, at
                             # the last close), as a multiple of the portfolio's value at the
                             # close before the entry; an entry beyond it is skipped
    benchmark = "SPY"        # optional; default: the market's (SPY, ^HSI)
    start = 2023-01-01       # optional evaluation period; default: the session before the
    end = 2025-12-31         # first entry to the last exit of the whole grid

    [condition]              # optional: trade only events whose measured reaction passes
    day = 0                  # the abnormal return of this day relative to day 0 ...
    below = -0.03            # ... must be below (and/or above) a threshold
    model = "market"         # event-study model measuring it

Every numeric parameter may be a list: the run sweeps the grid of all combinations in one
vectorbt call. Files are validated once, with messages naming the file and the field: every
number must be finite (``inf`` and ``nan`` are refused), sessions (``lag``, ``hold``,
``condition.day``) lie within +-1,000 and a grid has at most 10,000 combinations
(:class:`Limits`, configurable); a limit is refused before anything is computed.

Conditions on event attributes
------------------------------
``where`` (in ``[events]``) and ``long_when`` / ``short_when`` (in ``[position]``, instead of
``direction``: long the events matching one, short those matching the other) take
``{attribute = {above = x, below = y, equals = v, in = [...]}}`` (every given operator must
hold; ``above`` and ``below`` are strict) or ``{attribute = value}`` / ``{attribute = [values]}``.
An attribute is a column of the event table (e.g. ``surprise_pct`` of an earnings import). A
strategy may only use what is known when it enters: an attribute the catalog declares known
``after`` the event is refused (:func:`~backtest.portfolio.run.select_events`); ``before`` and
``at_event`` attributes (published with the news, like an earnings surprise) are fine, since every
entry is after the announcement. An event lacking the attribute does not match.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from backtest._toml import FileProblems, OptionalDate, read_toml, validate
from backtest.markets import check_ticker
from backtest.paths import PathsLike, path_list
from backtest.text import did_you_mean, limit_message

Number = float | int
NumList = tuple[float, ...]

#: Parameters that may be lists (sweeps), as (section, field).
SWEEPABLE: tuple[tuple[str, str], ...] = (
    ("entry", "lag"),
    ("exit", "hold"),
    ("exit", "stop_loss"),
    ("exit", "take_profit"),
    ("position", "size"),
    ("costs", "fees"),
    ("costs", "slippage"),
    ("condition", "below"),
    ("condition", "above"),
)


#: Operators of a condition on an event attribute.
OPERATORS = ("above", "below", "equals", "in")
#: The smallest position (in the ticker's currency): below it a trade rounds to nothing.
MIN_SIZE = 0.01


class StrategyError(FileProblems):
    """A strategy file has problems; every one is listed as ``file: field x: message``."""


class MissingAttributeError(StrategyError):
    """A strategy's condition names an event attribute the events do not have (e.g. the
    ``surprise_pct`` of an earnings import, on a catalog without one)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits a strategy file must keep (checked before anything is computed).

    Attributes
    ----------
    max_combinations:
        Parameter combinations of the grid (the product of the swept lists' lengths).
    max_sessions:
        Largest ``entry.lag``, ``exit.hold`` and ``|condition.day|``, in sessions.

    A run takes them from its configuration's ``[limits]`` (``combinations``, ``sessions``:
    :meth:`backtest.job.RunConfig.strategy_limits`), the run's one set of limits; the
    messages say which of those to raise.
    """

    max_combinations: int = 10_000
    max_sessions: int = 1_000


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _finite(x: float) -> bool:
    """Whether ``x`` is a finite float (TOML integers may be too large for one)."""
    try:
        return math.isfinite(float(x))
    except OverflowError:
        return False


def _show(x: Any) -> str:
    """``repr(x)``, shortened for a number of hundreds of digits."""
    text = repr(x)
    return text if len(text) <= 24 else f"{text[:12]}... ({len(text)} digits)"


def _numbers(
    v: Any,
    what: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
    strict_min: bool = False,
    strict_max: bool = False,
) -> NumList:
    """A number or a non-empty list of numbers, checked against bounds, as a tuple."""
    values = v if isinstance(v, list | tuple) else [v]
    if not values:
        raise ValueError(f"is an empty list: give {what}")
    out = []
    for x in values:
        if isinstance(x, bool) or not isinstance(x, int | float):
            raise ValueError(f"expected {what} (a number or a list of numbers), got {x!r}")
        if not _finite(x):
            raise ValueError(f"must be a finite number ({what}), got {_show(x)}")
        if integer and float(x) != int(x):
            raise ValueError(f"expected a whole number of sessions, got {x!r}")
        if minimum is not None and (x < minimum or (strict_min and x == minimum)):
            op = ">" if strict_min else ">="
            raise ValueError(f"must be {op} {minimum:g} ({what}), got {x!r}")
        if maximum is not None and (x > maximum or (strict_max and x == maximum)):
            op = "<" if strict_max else "<="
            raise ValueError(f"must be {op} {maximum:g} ({what}), got {x!r}")
        out.append(float(x))
    if len(set(out)) != len(out):
        raise ValueError(f"lists {out} with duplicates; give each value once")
    return tuple(out)


def _scalar(x: Any, what: str) -> Any:
    """A number (finite), a string or a boolean, as a condition's value."""
    if isinstance(x, (bool, str)):
        return x
    if isinstance(x, int | float):
        if not _finite(x):
            raise ValueError(f"{what} must be a finite number, got {_show(x)}")
        return float(x)
    raise ValueError(f"{what} must be a number, a string or true/false, got {x!r}")


def parse_where(v: Any) -> dict[str, dict[str, Any]]:
    """``{attribute: {operator: value}}`` from a ``where`` table (see the module docstring).

    ``{a = 5}`` is ``{a = {equals = 5}}`` and ``{a = [1, 2]}`` is ``{a = {in = [1, 2]}}``.
    """
    if not isinstance(v, dict) or not v:
        raise ValueError(
            f"expected a table such as {{ surprise_pct = {{ above = 5 }} }}, got {v!r}"
        )
    out: dict[str, dict[str, Any]] = {}
    for name, cond in v.items():
        if isinstance(cond, dict):
            if not cond:
                raise ValueError(f"{name}: give at least one of {', '.join(OPERATORS)}")
            ops: dict[str, Any] = {}
            for op, value in cond.items():
                if op not in OPERATORS:
                    hint = did_you_mean(op, OPERATORS)
                    raise ValueError(
                        f"{name}: unknown operator {op!r} (use {', '.join(OPERATORS)}){hint}"
                    )
                if op in ("above", "below"):
                    if isinstance(value, bool) or not isinstance(value, int | float):
                        raise ValueError(f"{name}.{op} must be a number, got {value!r}")
                    ops[op] = _scalar(value, f"{name}.{op}")
                elif op == "in":
                    if not isinstance(value, list) or not value:
                        raise ValueError(f"{name}.in must be a non-empty list, got {value!r}")
                    ops[op] = tuple(_scalar(x, f"{name}.in") for x in value)
                else:
                    ops[op] = _scalar(value, f"{name}.equals")
            if "above" in ops and "below" in ops and not ops["above"] < ops["below"]:
                raise ValueError(
                    f"{name}: above {ops['above']:g} and below {ops['below']:g} match nothing"
                )
            out[str(name)] = ops
        elif isinstance(cond, list):
            if not cond:
                raise ValueError(f"{name}: an empty list matches nothing")
            out[str(name)] = {"in": tuple(_scalar(x, name) for x in cond)}
        else:
            out[str(name)] = {"equals": _scalar(cond, name)}
    return out


Where = dict[str, dict[str, Any]]


class EventsFilter(_Section):
    """Which catalog events the strategy trades; every given criterion must match."""

    categories: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    tickers: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    scope: Literal["company", "market"] | None = None
    where: Where | None = None
    primary_only: bool = True
    start: OptionalDate = None
    end: OptionalDate = None

    @field_validator("where", mode="before")
    @classmethod
    def _where(cls, v: Any) -> Where | None:
        return None if v is None else parse_where(v)

    @field_validator("tickers", mode="before")
    @classmethod
    def _tickers(cls, v: Any) -> Any:
        if isinstance(v, list):
            for t in v:
                check_ticker(t)
        return v


class Entry(_Section):
    """When to enter: the first open (``next_open``) or close (``close``) the news could
    reach, plus ``lag`` sessions."""

    fill: Literal["next_open", "close"] = "next_open"
    lag: NumList = (0.0,)

    @field_validator("lag", mode="before")
    @classmethod
    def _lag(cls, v: Any) -> NumList:
        return _numbers(v, "sessions after the first tradable price", minimum=0, integer=True)


class Exit(_Section):
    """When to leave: after ``hold`` sessions (at the same kind of price as the entry), or
    earlier at a stop loss or take profit (fractions of the entry price)."""

    hold: NumList = (5.0,)
    stop_loss: NumList | None = None
    take_profit: NumList | None = None

    @field_validator("hold", mode="before")
    @classmethod
    def _hold(cls, v: Any) -> NumList:
        return _numbers(v, "sessions to hold", minimum=1, integer=True)

    @field_validator("stop_loss", mode="before")
    @classmethod
    def _sl(cls, v: Any) -> NumList | None:
        if v is None:
            return None
        return _numbers(
            v,
            "a fraction of the entry price such as 0.1",
            minimum=0,
            maximum=1,
            strict_min=True,
            strict_max=True,
        )

    @field_validator("take_profit", mode="before")
    @classmethod
    def _tp(cls, v: Any) -> NumList | None:
        if v is None:
            return None
        return _numbers(v, "a fraction of the entry price such as 0.2", minimum=0, strict_min=True)


class Position(_Section):
    """What to hold: direction (or ``long_when``/``short_when`` conditions on event attributes),
    value per trade, an optional benchmark hedge, and whether positions stack."""

    direction: Literal["long", "short"] = "long"
    long_when: Where | None = None
    short_when: Where | None = None
    size: NumList = (10_000.0,)
    hedge: bool = False
    stack: bool = False

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, v: Any) -> NumList:
        return _numbers(v, "the value traded per position", minimum=MIN_SIZE)

    @field_validator("long_when", "short_when", mode="before")
    @classmethod
    def _when(cls, v: Any) -> Where | None:
        return None if v is None else parse_where(v)

    @model_validator(mode="after")
    def _direction_or_conditions(self) -> Position:
        if (self.long_when or self.short_when) and "direction" in self.model_fields_set:
            raise ValueError(
                "give direction or long_when/short_when, not both (the conditions choose the "
                "direction of each event)"
            )
        return self

    def directions(self) -> dict[str, Where | None]:
        """``{"long": condition, "short": condition}`` of the directions traded (``None``: every
        selected event)."""
        if self.long_when is None and self.short_when is None:
            return {self.direction: None}
        out: dict[str, Where | None] = {}
        if self.long_when is not None:
            out["long"] = self.long_when
        if self.short_when is not None:
            out["short"] = self.short_when
        return out


class Costs(_Section):
    """Trading costs per side: ``fees`` as a fraction of the traded value, ``slippage`` as a
    fraction of the price (buys pay more, sells receive less)."""

    fees: NumList = (0.0005,)
    slippage: NumList = (0.0005,)

    @field_validator("fees", "slippage", mode="before")
    @classmethod
    def _cost(cls, v: Any) -> NumList:
        return _numbers(v, "a fraction such as 0.0005 (5 bps)", minimum=0, maximum=0.1)


class PortfolioSection(_Section):
    """Capital per portfolio (each ticker's, and the pooled one) and the benchmark."""

    init_cash: float = 100_000.0
    #: the most capital the open positions may hold, as a multiple of the portfolio's value
    #: (gross: longs plus shorts); an entry that would exceed it is skipped with the reason
    leverage: float = 1.0
    benchmark: str | None = None
    #: the evaluation period (default: from the session before the first entry to the last
    #: exit of the whole grid); trades that do not fit in it are skipped with the reason
    start: OptionalDate = None
    end: OptionalDate = None

    @model_validator(mode="after")
    def _period(self) -> PortfolioSection:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self

    @field_validator("init_cash", mode="before")
    @classmethod
    def _cash(cls, v: Any) -> float:
        if isinstance(v, list):
            raise ValueError(f"expected one number (the starting capital), got {v!r}")
        return _numbers(v, "the starting capital", minimum=0, strict_min=True)[0]

    @field_validator("benchmark", mode="before")
    @classmethod
    def _benchmark(cls, v: Any) -> Any:
        return None if v is None else check_ticker(v)

    @field_validator("leverage", mode="before")
    @classmethod
    def _leverage(cls, v: Any) -> float:
        if isinstance(v, list):
            raise ValueError(f"expected one number (the most gross exposure), got {v!r}")
        return _numbers(
            v, "the most gross exposure as a multiple of the value, such as 1", minimum=0.01,
            maximum=100,
        )[0]  # fmt: skip


class Condition(_Section):
    """Trade only events whose abnormal return on ``day`` is below and/or above thresholds;
    the entry then waits for that day's close (the earliest the AR is known), and for the
    announcement itself when ``day`` is before day 0."""

    day: int = 0
    below: NumList | None = None
    above: NumList | None = None
    model: Literal["market", "market_adjusted", "constant_mean"] = "market"

    @field_validator("day", mode="before")
    @classmethod
    def _day(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**9:
            raise ValueError(f"{_show(v)} sessions is out of any range; give a day such as 0")
        return v

    @field_validator("below", "above", mode="before")
    @classmethod
    def _threshold(cls, v: Any) -> NumList | None:
        return None if v is None else _numbers(v, "an abnormal return such as -0.03")

    @model_validator(mode="after")
    def _one_bound(self) -> Condition:
        if self.below is None and self.above is None:
            raise ValueError("give below and/or above (the abnormal return thresholds)")
        return self


class Strategy(_Section):
    """A validated strategy file."""

    name: str
    description: str = ""
    events: EventsFilter = EventsFilter()
    entry: Entry = Entry()
    exit: Exit = Exit()
    position: Position = Position()
    costs: Costs = Costs()
    portfolio: PortfolioSection = PortfolioSection()
    condition: Condition | None = None
    file: str = ""

    def limit_problems(self, limits: Limits) -> list[tuple[str, str]]:
        """The fields that break ``limits`` or each other (empty when none), as
        ``(field, message)``."""
        out = []
        too_big = [v for v in self.position.size if v > self.portfolio.init_cash]
        if too_big:
            out.append(
                (
                    "position.size",
                    f"{_fmt(max(too_big))} is more than portfolio.init_cash "
                    f"{_fmt(self.portfolio.init_cash)}: such a position could never be bought "
                    "in full; lower the size or raise the capital",
                )
            )
        cap = self.portfolio.leverage * self.portfolio.init_cash
        over = [v for v in self.position.size if v > cap]
        if over and not too_big:
            out.append(
                (
                    "position.size",
                    f"{_fmt(max(over))} is more than portfolio.leverage x init_cash "
                    f"({_fmt(cap)}): no such position could ever be entered; lower the size "
                    "or raise the leverage or the capital",
                )
            )
        most = limits.max_sessions
        for name, values in (("entry.lag", self.entry.lag), ("exit.hold", self.exit.hold)):
            big = [v for v in values if v > most]
            if big:
                out.append((name, limit_message(most, "sessions", int(max(big)), "sessions")))
        if self.condition is not None and abs(self.condition.day) > most:
            day = self.condition.day
            out.append(
                ("condition.day", limit_message(most, "sessions from day 0", abs(day), "sessions"))
            )
        sizes = {k: len(v) for k, v in self._axes().items() if len(v) > 1}
        n = math.prod(sizes.values())
        if n > limits.max_combinations:
            product = " x ".join(f"{len_:,} {k}" for k, len_ in sizes.items())
            asked = f"{n:,} ({product})"
            out.append(
                ("", limit_message(limits.max_combinations, "parameter combinations of a "
                                   "sweep", asked, "combinations"))
            )  # fmt: skip
        return out

    def _axes(self) -> dict[str, NumList]:
        """The sweepable parameters the strategy sets, ``{"exit.hold": (1.0, 5.0), ...}``."""
        out = {}
        for sec, fld in SWEEPABLE:
            section = getattr(self, sec)  # None for an absent optional section ([condition])
            values = None if section is None else getattr(section, fld)
            if values is not None:
                out[f"{sec}.{fld}"] = values
        return out

    def grid(self) -> list[Params]:
        """Every combination of the swept parameters (one when nothing is a list)."""
        axes = self._axes()
        return [
            Params(dict(zip(axes, values, strict=True)))
            for values in itertools.product(*axes.values())
        ]

    @property
    def swept(self) -> tuple[str, ...]:
        """The parameters given as lists of more than one value."""
        return tuple(k for k, values in self._axes().items() if len(values) > 1)

    def describe(self) -> dict[str, Any]:
        """JSON-ready form (what reports print as the strategy's settings)."""
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class Params:
    """One combination of parameters: ``values["exit.hold"]`` etc."""

    values: Mapping[str, float]

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    def get(self, key: str) -> float | None:
        return self.values.get(key)

    def label(self, swept: Sequence[str]) -> str:
        """``hold=5, lag=1`` for the swept parameters (``base`` when nothing is swept)."""
        if not swept:
            return "base"
        return ", ".join(f"{k.split('.')[1]}={_fmt(self.values[k])}" for k in swept)

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return iter(self.values.items())


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def load_strategy(path: str | Path, *, limits: Limits | None = None) -> Strategy:
    """Read and validate one strategy file; :class:`StrategyError` lists every problem.

    ``limits`` (default :class:`Limits`) bound its sessions and the size of its grid.
    """
    p = Path(path)
    data = read_strategy_toml(p)
    data.setdefault("name", p.stem)
    data["file"] = str(p)
    strategy = validate(Strategy, data, str(p), StrategyError, hidden=("file",))
    problems = strategy.limit_problems(limits or Limits())
    if problems:
        raise StrategyError(str(p), problems)
    return strategy


def read_strategy_toml(path: str | Path) -> dict[str, Any]:
    """The TOML of a strategy file, not yet validated (:func:`load_strategy` validates it);
    :class:`StrategyError` when it cannot be read as TOML (missing, a folder or a FIFO, too
    large, not UTF-8, not TOML, nested too deeply)."""
    p = Path(path)
    try:
        return read_toml(p, StrategyError, "strategy")
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise StrategyError(
            str(p), [("", "not valid TOML: arrays or tables nested too deeply")]
        ) from None


def default_strategy_dir() -> Path:
    """``./strategies`` if it exists, else the shipped strategies
    (:func:`backtest.resources.shipped_dir`: inside an installed wheel, or the checkout's)."""
    here = Path.cwd() / "strategies"
    if here.is_dir():
        return here
    from backtest.resources import shipped_dir

    return shipped_dir("strategies")


def strategy_files(paths: PathsLike) -> list[Path]:
    """The ``.toml`` files named by ``paths`` (files, or folders searched non-recursively;
    one ``str`` or path-like is one path)."""
    out: list[Path] = []
    for p in path_list(paths, "strategy paths"):
        if p.is_dir():
            found = sorted(p.glob("*.toml"))
            if not found:
                raise StrategyError(str(p), [("", "folder holds no .toml strategy files")])
            out.extend(found)
        elif p.is_file():
            out.append(p)
        elif p.exists():
            raise StrategyError(
                str(p), [("", "not a regular file (a FIFO, socket or device): give a .toml file")]
            )
        else:
            raise StrategyError(str(p), [("", "no such strategy file or folder")])
    return out
