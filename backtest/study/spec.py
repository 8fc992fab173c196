"""What an event study measures: the model, the windows and the data rules.

:class:`StudySpec` is validated once, when it is built, with messages that name the parameter,
the value and what to do. Results carry the spec that produced them.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    try:
        a, b = value
        a, b = int(a), int(b)
    except (TypeError, ValueError):
        raise SpecError(
            f"{name} must be a pair of whole trading-day offsets such as (-1, 1), got {value!r}"
        ) from None
    if a > b:
        raise SpecError(f"{name} ({a}, {b}) starts after it ends: write ({b}, {a})")
    return (a, b)


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
        if self.model not in MODELS:
            raise SpecError(f"model must be one of {', '.join(MODELS)}, not {self.model!r}")
        if self.market_event_model not in MARKET_EVENT_MODELS:
            raise SpecError(
                f"market_event_model must be one of {', '.join(MARKET_EVENT_MODELS)} (models "
                f"that do not use the market), not {self.market_event_model!r}"
            )
        for name in ("max_offset", "max_windows", "max_listed", "min_estimation", "chunk_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise SpecError(f"{name} must be a whole number, not {value!r}")
            object.__setattr__(self, name, int(value))
        for name, least in (("max_offset", 1), ("max_windows", 1), ("max_listed", 0)):
            if getattr(self, name) < least:
                raise SpecError(
                    f"{name} must be a whole number >= {least}, not {getattr(self, name)!r}"
                )
        if len(self.windows) > self.max_windows:
            raise SpecError(
                f"{len(self.windows)} event windows asked for, more than the limit of "
                f"{self.max_windows} (max_windows); give fewer windows or raise max_windows"
            )
        if self.returns not in RETURNS:
            raise SpecError(f"returns must be simple or log, not {self.returns!r}")
        est = _window(self.estimation, "estimation")
        windows = tuple(_window(w, f"windows[{i}]") for i, w in enumerate(self.windows))
        if not windows:
            raise SpecError("windows is empty: give at least one event window such as (0, 0)")
        if len(set(windows)) != len(windows):
            raise SpecError(f"windows has duplicates: {windows}")
        path = _window(self.path, "path")
        conf = _window(self.confounder_window, "confounder_window")
        for name, w in (("estimation", est), ("path", path), ("confounder_window", conf), *(
            (f"windows[{i}]", w) for i, w in enumerate(windows)
        )):  # fmt: skip
            far = max(abs(w[0]), abs(w[1]))
            if far > self.max_offset:
                raise SpecError(
                    f"{name} {w} reaches {far} sessions from day 0, more than the limit of "
                    f"{self.max_offset} (max_offset); use a shorter window or raise max_offset"
                )
        first = min(w[0] for w in windows)
        if est[1] >= first:
            raise SpecError(
                f"the estimation window {est} must end before the first event window starts "
                f"(day {first}); e.g. estimation=({est[0]}, {first - 1})"
            )
        if est[1] - est[0] + 1 < 3:
            raise SpecError(f"the estimation window {est} is too short for any model")
        if self.min_estimation < 3:
            raise SpecError(
                f"min_estimation must be a whole number >= 3, not {self.min_estimation!r}"
            )
        if self.min_estimation > est[1] - est[0] + 1:
            raise SpecError(
                f"min_estimation={self.min_estimation} is more than the {est[1] - est[0] + 1} "
                f"days of the estimation window {est}"
            )
        if not 0.0 <= float(self.max_loss) <= 1.0:
            raise SpecError(f"max_loss must be a fraction between 0 and 1, not {self.max_loss!r}")
        if self.chunk_size < 1:
            raise SpecError(f"chunk_size must be positive, not {self.chunk_size!r}")
        group_by = tuple(self.group_by)
        if not group_by:
            raise SpecError("group_by is empty: use ('all',) at least")
        object.__setattr__(self, "estimation", est)
        object.__setattr__(self, "windows", windows)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "confounder_window", conf)
        object.__setattr__(self, "group_by", group_by)
        object.__setattr__(self, "benchmarks", dict(self.benchmarks))

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
        kw: dict[str, Any] = dict(data)
        for key in ("estimation", "path", "confounder_window"):
            if key in kw:
                kw[key] = tuple(kw[key])
        if "windows" in kw:
            kw["windows"] = tuple(tuple(w) for w in kw["windows"])
        if "group_by" in kw:
            kw["group_by"] = tuple(kw["group_by"])
        return cls(**kw)


def as_windows(windows: Sequence[Sequence[int]]) -> tuple[Window, ...]:
    """Normalise a list of pairs to a tuple of windows."""
    return tuple((int(a), int(b)) for a, b in windows)
