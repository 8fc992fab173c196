"""Strategy files: declarative event-driven rules a user copies and edits.

A strategy is a TOML file in ``strategies/``::

    name = "buy_on_layoffs"
    description = "Buy a company's stock when it announces layoffs."

    [events]                 # which catalog events (every given criterion must match)
    categories = ["layoff"]

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

    [costs]
    fees = 0.0005            # 5 bps of the traded value, each side
    slippage = 0.0005        # 5 bps of the price, each side

    [portfolio]
    init_cash = 100000
    benchmark = "SPY"        # optional; default: the market's (SPY, ^HSI)
    start = 2023-01-01       # optional evaluation period; default: the session before the
    end = 2025-12-31         # first entry to the last exit of the whole grid

    [condition]              # optional: trade only events whose measured reaction passes
    day = 0                  # the abnormal return of this day relative to day 0 ...
    below = -0.03            # ... must be below (and/or above) a threshold
    model = "market"         # event-study model measuring it

Every numeric parameter may be a list: the run sweeps the grid of all combinations in one
vectorbt call. Files are validated once, with messages naming the file and the field.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from backtest._toml import FileProblems, OptionalDate, read_toml, validate

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


class StrategyError(FileProblems):
    """A strategy file has problems; every one is listed as ``file: field x: message``."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class EventsFilter(_Section):
    """Which catalog events the strategy trades; every given criterion must match."""

    categories: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    tickers: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    scope: Literal["company", "market"] | None = None
    where: dict[str, Any] | None = None
    primary_only: bool = True
    start: OptionalDate = None
    end: OptionalDate = None


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
    """What to hold: direction, value per trade, and an optional benchmark hedge."""

    direction: Literal["long", "short"] = "long"
    size: NumList = (10_000.0,)
    hedge: bool = False

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, v: Any) -> NumList:
        return _numbers(v, "the value traded per position", minimum=0, strict_min=True)


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
        return _numbers(v, "the starting capital", minimum=0, strict_min=True)[0]


class Condition(_Section):
    """Trade only events whose abnormal return on ``day`` is below and/or above thresholds;
    the entry then waits for that day's close (the earliest the AR is known)."""

    day: int = 0
    below: NumList | None = None
    above: NumList | None = None
    model: Literal["market", "market_adjusted", "constant_mean"] = "market"

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


def load_strategy(path: str | Path) -> Strategy:
    """Read and validate one strategy file; :class:`StrategyError` lists every problem."""
    p = Path(path)
    data = read_toml(p, StrategyError, "strategy")
    data.setdefault("name", p.stem)
    data["file"] = str(p)
    return validate(Strategy, data, str(p), StrategyError, hidden=("file",))


def strategy_files(paths: Sequence[str | Path]) -> list[Path]:
    """The ``.toml`` files named by ``paths`` (files, or folders searched non-recursively)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(p.glob("*.toml"))
            if not found:
                raise StrategyError(str(p), [("", "folder holds no .toml strategy files")])
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise StrategyError(str(p), [("", "no such strategy file or folder")])
    return out
