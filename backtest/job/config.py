"""The run configuration of ``evbt run``: a TOML file, every part optional.

::

    name = "earnings-2025"          # the report folder: <output.dir>/<name>

    [catalog]
    paths = ["events"]              # files or folders, YAML or CSV (default: ./events, else
                                    # the catalog shipped with evbt)
    categories = ["earnings"]       # filters; every given one must match
    ids = []
    tickers = []
    start = 2022-01-01
    end = 2025-12-31
    confounders = ["earnings.csv"]  # events not studied that still count as confounders
    earnings_confounders = true     # online runs also fetch the tickers' earnings calendars

    [study]                         # every field of StudySpec, with its defaults (as
    model = "market"                # `evbt study`), plus:
    factors = []                    # Ken French daily CSV files (model = "factor")
    benchmark = "SPY"               # per market: benchmarks = { XNYS = "QQQ", XHKG = "^HSI" }

    [strategies]
    paths = ["strategies"]          # files or folders; [] runs none

    [prices]
    dir = "../shared/prices"        # CSV folder (offline); default: the cache, then Yahoo
    cache_dir = "~/.cache/evbt"

    [output]
    dir = "reports"                 # the report folder is <dir>/<name>, unless
    folder = "reports/my-run"       # the report folder itself (what --out gives; recorded so)

    [limits]                        # what a run may ask for before it is refused
    combinations = 10000            # parameter combinations of one strategy's sweep
    sessions = 1000                 # |offset| from day 0 of any study window, path or
                                    # estimation day, and a strategy's lag, hold, condition day
    windows = 50                    # event windows of the study

The ``[limits]`` are the run's one set of limits: ``sessions`` and ``windows`` are the study's
``max_offset`` and ``max_windows`` (so ``[study]`` does not take those two), ``combinations``
and ``sessions`` the strategies' :class:`~backtest.portfolio.Limits`. A request beyond one is
refused before anything is computed, in one style: "at most N ..., asked for M; raise [limits]
X in the run configuration".

Relative paths are read relative to the configuration file's folder (without a file, the
folder given as ``base``; the command line passes the current folder). Command-line options
(``--catalog``, ``--prices-dir``, ``--cache-dir``, ``--out``, ``--name``, ``--confounders``)
win over the file, and the file over the environment (``$EVBT_CATALOG`` when it has
``[catalog] paths``; ``$EVBT_PRICES_DIR`` and ``$EVBT_CACHE_DIR`` when its ``[prices]`` names
``dir`` or ``cache_dir``). The ``[study]`` section is generated from the fields of
:class:`~backtest.study.StudySpec` (:mod:`backtest.job.spec_fields`): its names, types,
defaults and descriptions are the dataclass's.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, field_validator

from backtest._toml import FileProblems, OptionalDate, read_toml, validate
from backtest.job.spec_fields import spec_fields
from backtest.study.spec import StudySpec
from backtest.text import limit_message

if TYPE_CHECKING:
    from backtest.study.inputs import FactorFiles

#: letters, digits, '.', '_' and '-', not starting with '.' or '-'; matched in full
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: longest run name (a folder name must fit the file system's 255 bytes, with room for the
#: temporary ``.<name>.<random>.tmp`` folder the report is built in)
MAX_NAME = 200

#: StudySpec fields set by ``[limits]`` (not by ``[study]``): spec field -> limits field
LIMIT_FIELDS = {"max_offset": "sessions", "max_windows": "windows"}


def check_run_name(v: str) -> str:
    """``v`` if it can name a report folder, else ValueError saying what can.

    >>> check_run_name("earnings-2025")
    'earnings-2025'
    >>> check_run_name("abc\\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: 'abc\\n' cannot name a report folder: use letters, digits, '.', '_', '-' ...
    """
    if not isinstance(v, str) or not _NAME_RE.fullmatch(v):
        raise ValueError(
            f"{v!r} cannot name a report folder: use letters, digits, '.', '_', '-' "
            "(starting with a letter or digit)"
        )
    if len(v) > MAX_NAME:
        raise ValueError(
            f"a run name of {len(v)} characters is too long for a folder name: "
            f"use at most {MAX_NAME}"
        )
    return v


class ConfigError(FileProblems):
    """A run configuration has problems; every one is listed as ``file: field x: message``."""


class _Section(BaseModel):
    # every number must be finite: nan and inf are refused wherever a number is read
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _paths(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        v = [v]
    if isinstance(v, list | tuple) and all(isinstance(x, str) for x in v):
        for x in v:
            _check_path(x)
        return tuple(v)
    raise ValueError(f"expected a path or a list of paths, got {v!r}")


def _check_path(v: Any) -> Any:
    if isinstance(v, str):
        if "\x00" in v or not v.strip():
            raise ValueError(f"{v!r} is not a path")
        try:
            Path(v).expanduser()
        except RuntimeError:  # "~name" of a user this machine does not have
            raise ValueError(f"{v!r}: no such user's home folder") from None
    return v


#: One file or folder, or absent.
OptionalPath = Annotated[str | None, BeforeValidator(_check_path)]


#: Files or folders: one path or a list of them.
Paths = Annotated[tuple[str, ...], BeforeValidator(_paths)]
#: :data:`Paths`, or absent (``None``: the default place).
OptionalPaths = Annotated[
    tuple[str, ...] | None, BeforeValidator(lambda v: None if v is None else _paths(v))
]


class CatalogSection(_Section):
    """Which catalog files, which of their events, and which events count as confounders."""

    paths: OptionalPaths = None
    categories: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    tickers: tuple[str, ...] | None = None
    start: OptionalDate = None
    end: OptionalDate = None
    confounders: Paths = ()
    earnings_confounders: bool = True


def study_section(spec_class: type | None = None) -> type[_Section]:
    """The ``[study]`` model: one field per StudySpec field (its type, default and help),
    plus ``factors`` (files) and ``benchmark`` (one ticker; its market's benchmark).
    ``spec_class``: another dataclass declared the same way (tests)."""
    fields: dict[str, Any] = {
        f.name: (f.annotation, Field(default=f.default, description=f.help))
        for f in spec_fields(spec_class)
        if f.name not in LIMIT_FIELDS
    }
    fields["factors"] = (
        Paths,
        Field(default=(), description="Ken French daily factor CSV files (model = factor)."),
    )
    fields["benchmark"] = (
        str | None,
        Field(default=None, description="Benchmark ticker for its market (e.g. QQQ)."),
    )
    return create_model(
        "StudySection",
        __base__=_Section,
        __doc__="The event study; every field defaults to StudySpec's.",
        **fields,
    )


if TYPE_CHECKING:  # generated at run time; type checkers see a section with any field

    class StudySection(_Section):
        """The event study; every field defaults to StudySpec's."""

        def __getattr__(self, name: str) -> Any: ...

else:
    StudySection = study_section()


class StrategiesSection(_Section):
    """The strategy files to backtest (default: the ``strategies/`` folder)."""

    paths: OptionalPaths = None


class PricesSection(_Section):
    """Where prices come from: a CSV folder (offline), else the cache in front of Yahoo."""

    dir: OptionalPath = None
    cache_dir: OptionalPath = None


class OutputSection(_Section):
    """Where reports go: ``<dir>/<name>/``, or ``folder`` itself when given (``--out``)."""

    dir: Annotated[str, BeforeValidator(_check_path)] = "reports"
    folder: OptionalPath = None


class LimitsSection(_Section):
    """What a run may ask for; a larger request is refused before anything is computed."""

    combinations: int = Field(default=10_000, ge=1)
    sessions: int = Field(default=1_000, ge=1)
    windows: int = Field(default=50, ge=1)


class RunConfig(_Section):
    """A validated run configuration (see the module docstring for the file format)."""

    name: str = "evbt-run"
    catalog: CatalogSection = CatalogSection()
    study: StudySection = StudySection()
    strategies: StrategiesSection = StrategiesSection()
    prices: PricesSection = PricesSection()
    output: OutputSection = OutputSection()
    limits: LimitsSection = LimitsSection()
    #: the folder relative paths are read from (the file's; the current folder without one)
    base: str = "."
    #: the configuration file ("" when the defaults are used)
    file: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_run_name(v)

    # ------------------------------------------------------------------ derived
    def resolve(self, path: str) -> Path:
        """``path`` (``~`` expanded) relative to :attr:`base` unless absolute."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(self.base) / p

    def report_folder(self) -> Path:
        """Where the report goes: ``[output] folder`` when given, else ``<dir>/<name>``
        (relative paths read as :meth:`resolve` reads them)."""
        if self.output.folder:
            return self.resolve(self.output.folder)
        return self.resolve(self.output.dir) / self.name

    def study_spec(self) -> StudySpec:
        """The :class:`~backtest.study.StudySpec` of the ``[study]`` section."""
        from backtest.markets import market_of

        s = self.study
        values = _spec_values(s)
        for spec_name, limit_name in LIMIT_FIELDS.items():
            values[spec_name] = getattr(self.limits, limit_name)
        benchmarks = dict(values.get("benchmarks") or {})
        if s.benchmark:
            benchmarks[market_of(s.benchmark).code] = s.benchmark
        values["benchmarks"] = benchmarks
        return StudySpec(**values)

    def strategy_limits(self) -> Any:
        """The strategies' :class:`~backtest.portfolio.Limits` of the ``[limits]`` section."""
        from backtest.portfolio import Limits

        return Limits(max_combinations=self.limits.combinations, max_sessions=self.limits.sessions)

    def describe(self) -> dict[str, Any]:
        """JSON-ready settings (what the report records as the run's configuration)."""
        return self.model_dump(mode="json")

    def with_updates(self, **sections: dict[str, Any]) -> RunConfig:
        """A copy with fields of some sections replaced and validated again, e.g.
        ``with_updates(prices={"dir": "..."})``; ``name=`` replaces the name."""
        data = self.model_dump()
        for section, values in sections.items():
            if isinstance(data.get(section), dict):
                data[section] = {**data[section], **values}
            else:
                data[section] = values
        return type(self).model_validate(data)

    def absolute(self) -> RunConfig:
        """The same configuration with every path made absolute (valid from any folder)."""

        def many(v: tuple[str, ...] | None) -> tuple[str, ...] | None:
            return None if v is None else tuple(str(self.resolve(x).resolve()) for x in v)

        def one(v: str | None) -> str | None:
            return None if v is None else str(self.resolve(v).resolve())

        c, st, pr = self.catalog, self.strategies, self.prices
        return self.model_copy(
            update={
                "catalog": c.model_copy(
                    update={"paths": many(c.paths), "confounders": many(c.confounders) or ()}
                ),
                "study": self.study.model_copy(update={"factors": many(self.study.factors)}),
                "strategies": st.model_copy(update={"paths": many(st.paths)}),
                "prices": pr.model_copy(
                    update={"dir": one(pr.dir), "cache_dir": one(pr.cache_dir)}
                ),
                "output": self.output.model_copy(
                    update={"dir": one(self.output.dir), "folder": one(self.output.folder)}
                ),
            }
        )

    def to_toml(self) -> str:
        """The configuration as TOML, every setting written out (defaults included) with
        absolute paths: ``evbt run --config`` on it repeats the run from any folder."""
        full = self.absolute()
        lines = [f"name = {toml_value(full.name)}"]
        for section in ("catalog", "study", "strategies", "prices", "output", "limits"):
            values = getattr(full, section).model_dump()
            body = [f"{toml_key(k)} = {toml_value(v)}" for k, v in values.items() if v is not None]
            lines += ["", f"[{section}]", *body]
        return "\n".join(lines) + "\n"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_value(v: Any) -> str:
    """``v`` as a TOML value; strings are escaped so that any text reads back the same.

    >>> toml_value('a "b"\\n')
    '"a \\\\"b\\\\"\\\\n"'
    >>> toml_value({"XNYS": "QQQ"})
    '{ XNYS = "QQQ" }'
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return repr(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write the non-finite number {v!r} as a setting")
        return repr(v)
    if isinstance(v, dt.datetime):
        raise TypeError(f"cannot write the date-time {v!r} as TOML (dates only)")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def toml_key(k: str) -> str:
    """``k`` as a TOML key: bare when it can be, else a quoted (escaped) string."""
    return k if _BARE_KEY.fullmatch(k) else _toml_string(k)


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def _toml_string(s: str) -> str:
    """A TOML basic string: backslash, quote and every control character escaped."""
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def load_config(
    path: str | Path | None = None, *, base: str | Path = ".", check_study: bool = True
) -> RunConfig:
    """The run configuration in ``path``, or the defaults.

    Parameters
    ----------
    path:
        A TOML file; ``None`` for the defaults.
    base:
        Without a file, the folder relative paths are read from (the command line passes the
        current folder). With a file, its own folder.
    check_study:
        Check what a run uses beyond the settings' types (:func:`check_config`,
        :func:`run_problems`: the study, its limits, the files named). ``False`` for a caller
        that uses only the ``[limits]`` of the strategies (``evbt backtest --config``): the
        ``[study]`` settings, and the ``[limits]`` they would break, are then not checked.

    Raises
    ------
    ConfigError
        Listing every problem, each as ``file: field x: message``.
    """
    if path is None:
        return RunConfig(base=str(Path(base).resolve()))
    p = Path(path)
    data = read_toml(p, ConfigError, "run configuration")
    if "name" not in data:  # the file's name, when it can name a folder
        stem = p.stem
        data["name"] = stem if _NAME_RE.fullmatch(stem) and len(stem) <= MAX_NAME else "evbt-run"
    study = data.get("study")
    moved = [k for k in LIMIT_FIELDS if isinstance(study, dict) and k in study]
    if moved:
        raise ConfigError(
            str(p),
            [(f"study.{k}", f"set in [limits] {LIMIT_FIELDS[k]}, not in [study]") for k in moved],
        )
    data["base"] = str(p.resolve().parent)
    data["file"] = str(p)
    try:
        config = validate(RunConfig, data, str(p), ConfigError, hidden=("base", "file"))
    except ConfigError as exc:  # and what the [study] settings of the right type break
        raise ConfigError(str(p), [*exc.problems, *_typed_study_problems(study, exc)]) from None
    problems = check_config(config) if check_study else []
    if problems:  # with what the run would refuse when it starts: every problem at once
        raise ConfigError(str(p), [*problems, *run_problems(config)])
    return config


def check_config(config: RunConfig) -> list[tuple[str, str]]:
    """Every problem of a configuration's settings beyond their types, all at once: the
    ``[study]`` settings (:func:`study_problems`) and what goes beyond ``[limits]``
    (:func:`study_limit_problems`, in the limits' own words). What a run checks when it
    starts (the benchmarks per market, the binnings, the files named) is
    :func:`run_problems`."""
    return [
        *study_problems(config.study, sessions=config.limits.sessions),
        *study_limit_problems(config),
    ]


def run_problems(
    config: RunConfig, *, factor_files: FactorFiles | None = None
) -> list[tuple[str, str]]:
    """``(field, message)`` for each problem a run meets before it loads anything (checked by
    :func:`~backtest.job.run_job` when it starts, beside :func:`check_config`; and listed by
    :func:`load_config` with the problems of a file it refuses, so that all come at once): a
    ``[study] benchmarks`` entry (:func:`benchmark_problems`), a ``group_by`` binning that
    cannot be read, a factor file or a strategy path that cannot be used
    (:func:`input_problems`). ``factor_files``: the run's
    :class:`~backtest.study.inputs.FactorFiles`, which keeps the factor files read here for
    the study."""
    return [*benchmark_problems(config), *_binning_problems(config.study),
            *input_problems(config, factor_files=factor_files)]  # fmt: skip


def _binning_problems(study: Any) -> list[tuple[str, str]]:
    from backtest.study.attributes import binning_problems

    return [("study.group_by", m) for m in binning_problems(study.group_by)]


def study_problems(
    study: Any, *, unknown: Collection[str] = (), sessions: int | None = None
) -> list[tuple[str, str]]:
    """``(field, message)`` for each problem of a ``[study]`` section: its benchmark, its
    settings as :class:`~backtest.study.StudySpec` checks them (the same rules and messages,
    :func:`~backtest.study.spec.spec_problems`; the limits are ``[limits]``'s),
    ``model = "factor"`` without factor files.

    ``unknown``: fields whose values were refused (of the wrong type, reported already);
    they are not checked, nor any rule between one of them and another field.
    ``sessions``: ``[limits] sessions``, when known, which a window the messages suggest
    stays within (the limits themselves are :func:`study_limit_problems`').
    """
    from backtest.study.spec import spec_problems

    out: list[tuple[str, str]] = []
    if study.benchmark and "benchmark" not in unknown:
        from backtest.markets import market_of

        try:
            market_of(study.benchmark)
        except ValueError as exc:
            out.append(("study.benchmark", str(exc)))
    values = {k: v for k, v in _spec_values(study).items() if k not in unknown}
    if sessions is not None:
        values["max_offset"] = sessions
    out += [(f"study.{f}", m) for f, m in spec_problems(values, limits=False)]
    if study.model == "factor" and not study.factors and not {"model", "factors"} & set(unknown):
        out.append(("study.factors", 'model = "factor" needs factors = ["file.CSV", ...]'))
    return out


def _spec_values(study: Any) -> dict[str, Any]:
    """The StudySpec settings of a ``[study]`` section (without ``[limits]``'s)."""
    return {f.name: getattr(study, f.name) for f in spec_fields() if f.name not in LIMIT_FIELDS}


def _typed_study_problems(study: Any, refused: ConfigError) -> list[tuple[str, str]]:
    """The problems of the ``[study]`` settings a file gives with the right type, when others
    were refused (``refused``), so that a file's every problem is listed at once."""
    if not isinstance(study, dict) or any(f in ("", "study") for f, _ in refused.problems):
        return []
    unknown = {f.split(".")[1] for f, _ in refused.problems if f.startswith("study.")}
    try:
        section = StudySection.model_validate({k: v for k, v in study.items() if k not in unknown})
    except ValueError:  # (a field refused only beside another: reported already)
        return []
    binnings = [] if "group_by" in unknown else _binning_problems(section)
    return [*study_problems(section, unknown=unknown), *binnings]


def input_problems(
    config: RunConfig, *, factor_files: FactorFiles | None = None
) -> list[tuple[str, str]]:
    """``(field, message)`` for each file a configuration names that cannot be used: a
    ``[study] factors`` file (read as the study reads it, :func:`~backtest.study.read_factors`)
    and a strategy path of ``[strategies] paths`` that does not exist or a file there that is
    not TOML (:func:`strategy_problems`). Checked before any price is loaded."""
    return [*factor_problems(config, files=factor_files), *strategy_problems(config)]


def factor_problems(
    config: RunConfig, *, files: FactorFiles | None = None
) -> list[tuple[str, str]]:
    """``(study.factors, message)`` for each ``[study] factors`` file that cannot be read or
    whose values are not daily returns in percent (:func:`~backtest.study.read_factors`'s
    messages). The run reads them whenever they are given: events may ask for the factor
    model under another run model. ``files``: the run's
    :class:`~backtest.study.inputs.FactorFiles`, which keeps each file read for the study (so
    that a run parses each once)."""
    from backtest.study.inputs import FactorFileError, FactorScaleError, read_factors

    out = []
    for f in config.study.factors:
        try:
            read_factors(config.resolve(f), files=files)
        except (FactorFileError, FactorScaleError) as exc:
            out.append(("study.factors", str(exc)))
    return out


def strategy_problems(config: RunConfig) -> list[tuple[str, str]]:
    """``(strategies.paths, message)`` for each strategy path that does not exist (or is a
    folder without strategy files) and each strategy file found that cannot be read as TOML,
    as ``strategy <file>: message``
    (:func:`~backtest.portfolio.strategy.read_strategy_toml`). A file that is TOML but not a
    valid strategy is a failed part of the run's report, as one that cannot run (the others
    still run)."""
    from backtest.portfolio.strategy import StrategyError, read_strategy_toml, strategy_files

    out = []
    seen: set[Path] = set()  # a file named twice (itself, and in a folder) is checked once
    for path in config.strategies.paths or ():
        try:
            files = strategy_files([config.resolve(path)])
        except StrategyError as exc:
            out.append(("strategies.paths", f"strategy {exc}"))
            continue
        except OSError as exc:  # e.g. a name too long for the file system
            out.append(("strategies.paths", f"strategy {path}: cannot be read ({exc.strerror})"))
            continue
        for f in files:
            if f.resolve() in seen:
                continue
            seen.add(f.resolve())
            try:
                read_strategy_toml(f)
            except StrategyError as exc:
                out += [("strategies.paths", f"strategy {line}") for line in str(exc).splitlines()]
    return out


def benchmark_problems(config: RunConfig) -> list[tuple[str, str]]:
    """``(field, message)`` for each ``[study] benchmarks`` entry that is not a Yahoo ticker,
    names no known market, or gives a ticker for a market it does not trade on (the field
    names the market's key: ``study.benchmarks.XNYS``). Checked when a run starts
    (:func:`~backtest.job.run_job`), before anything is loaded."""
    from backtest.markets import MARKETS, market_of

    out: list[tuple[str, str]] = []
    for market, ticker in dict(config.study.benchmarks or {}).items():
        field = f"study.benchmarks.{market}"
        if market not in MARKETS:
            known = ", ".join(sorted(MARKETS))
            out.append((field, f"unknown market {market!r}; the markets are {known}"))
            continue
        try:
            trades_on = market_of(ticker).code
        except ValueError as exc:
            out.append((field, str(exc)))
            continue
        if trades_on != market:
            out.append((field, f"{ticker} trades on {trades_on}, not {market}"))
    return out


def study_limit_problems(config: RunConfig) -> list[tuple[str, str]]:
    """``(field, message)`` for each study setting beyond ``[limits]``: a window, the path, the
    confounder window or the estimation window reaching beyond ``sessions`` from day 0, more
    than ``windows`` event windows."""
    s, limits = config.study, config.limits
    out = [("study." + f, m) for f, m in offset_problems(s, limits.sessions)]
    windows = s.windows or ()
    if len(windows) > limits.windows:
        out.append(
            ("study.windows", limit_message(limits.windows, "event windows", len(windows),
                                            "windows"))
        )  # fmt: skip
    return out


def offset_problems(spec: Any, limit: int) -> list[tuple[str, str]]:
    """``(field, message)`` for each window of ``spec`` (a StudySpec or the ``[study]``
    section) reaching beyond ``limit`` sessions from day 0 (``[limits] sessions``)."""
    out = []
    named = [("estimation", spec.estimation), ("path", spec.path)]
    named += [("confounder_window", spec.confounder_window)]
    named += [(f"windows[{i}]", w) for i, w in enumerate(spec.windows or ())]
    for name, window in named:
        if window is None:
            continue
        a, b = window
        far = max(abs(a), abs(b))
        if far > limit:
            out.append(
                (name, limit_message(limit, "sessions from day 0", f"{far:,} ({a}, {b})",
                                     "sessions"))
            )  # fmt: skip
    return out
