"""The run configuration of ``evbt run``: a TOML file, every part optional.

::

    name = "earnings-2025"          # the report folder: <output.dir>/<name>

    [catalog]
    paths = ["events"]              # files or folders (default: ./events)
    categories = ["earnings"]       # filters; every given one must match
    ids = []
    tickers = []
    start = 2022-01-01
    end = 2025-12-31

    [study]                         # the event study (defaults: evbt study's)
    model = "market"                # market, market_adjusted, constant_mean, factor
    factors = []                    # Ken French daily CSV files (model = "factor")
    returns = "simple"
    estimation = [-250, -11]
    min_estimation = 120
    windows = [[0, 0], [-1, 1], [0, 5], [-5, 20]]
    path = [-20, 20]                # the AR/CAAR path the charts show
    benchmark = "SPY"               # per market: benchmarks = { XNYS = "QQQ", XHKG = "^HSI" }
    exclude_confounded = true
    max_loss = 0.35

    [strategies]
    paths = ["strategies"]          # files or folders; [] runs none

    [prices]
    dir = "../shared/prices"        # CSV folder (offline); default: the cache, then Yahoo
    cache_dir = "~/.cache/evbt"

    [output]
    dir = "reports"

Relative paths are read relative to the configuration file's folder (without a file, the
current folder). Command-line options (``--prices-dir``, ``--out``, ``--name``) win over the
file.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator, model_validator

from backtest._toml import FileProblems, OptionalDate, read_toml, validate
from backtest.study.spec import DEFAULT_WINDOWS, StudySpec

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_run_name(v: str) -> str:
    """``v`` if it can name a report folder, else ValueError saying what can."""
    if not _NAME_RE.match(v) or v in (".", ".."):
        raise ValueError(f"{v!r} cannot name a report folder: use letters, digits, '.', '_', '-'")
    return v


class ConfigError(FileProblems):
    """A run configuration has problems; every one is listed as ``file: field x: message``."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _paths(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list | tuple) and all(isinstance(x, str) for x in v):
        return tuple(v)
    raise ValueError(f"expected a path or a list of paths, got {v!r}")


#: Files or folders: one path or a list of them.
Paths = Annotated[tuple[str, ...], BeforeValidator(_paths)]
#: :data:`Paths`, or absent (``None``: the default place).
OptionalPaths = Annotated[
    tuple[str, ...] | None, BeforeValidator(lambda v: None if v is None else _paths(v))
]


class CatalogSection(_Section):
    """Which catalog files, and which of their events."""

    paths: OptionalPaths = None
    categories: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    tickers: tuple[str, ...] | None = None
    start: OptionalDate = None
    end: OptionalDate = None


class StudySection(_Section):
    """The event study; every field defaults to :class:`~backtest.study.StudySpec`'s."""

    model: Literal["market", "market_adjusted", "constant_mean", "factor"] = "market"
    factors: Paths = ()
    returns: Literal["simple", "log"] = "simple"
    estimation: tuple[int, int] = (-250, -11)
    min_estimation: int = 120
    windows: tuple[tuple[int, int], ...] = DEFAULT_WINDOWS
    path: tuple[int, int] = (-20, 20)
    benchmark: str | None = None
    benchmarks: dict[str, str] | None = None
    exclude_confounded: bool = True
    max_loss: float = 0.35

    @model_validator(mode="after")
    def _factors_need_factor_model(self) -> StudySection:
        if self.model == "factor" and not self.factors:
            raise ValueError('model = "factor" needs factors = ["file.CSV", ...]')
        return self


class StrategiesSection(_Section):
    """The strategy files to backtest (default: the ``strategies/`` folder)."""

    paths: OptionalPaths = None


class PricesSection(_Section):
    """Where prices come from: a CSV folder (offline), else the cache in front of Yahoo."""

    dir: str | None = None
    cache_dir: str | None = None


class OutputSection(_Section):
    """Where reports go: ``<dir>/<name>/``."""

    dir: str = "reports"


class RunConfig(_Section):
    """A validated run configuration (see the module docstring for the file format)."""

    name: str = "evbt-run"
    catalog: CatalogSection = CatalogSection()
    study: StudySection = StudySection()
    strategies: StrategiesSection = StrategiesSection()
    prices: PricesSection = PricesSection()
    output: OutputSection = OutputSection()
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

    def study_spec(self) -> StudySpec:
        """The :class:`~backtest.study.StudySpec` of the ``[study]`` section."""
        from backtest.markets import market_of

        s = self.study
        benchmarks = dict(s.benchmarks or {})
        if s.benchmark:
            benchmarks[market_of(s.benchmark).code] = s.benchmark
        return StudySpec(
            model=s.model,
            returns=s.returns,
            estimation=s.estimation,
            min_estimation=s.min_estimation,
            windows=s.windows,
            path=s.path,
            benchmarks=benchmarks,
            exclude_confounded=s.exclude_confounded,
            max_loss=s.max_loss,
        )

    def describe(self) -> dict[str, Any]:
        """JSON-ready settings (what the report records as the run's configuration)."""
        return self.model_dump(mode="json")

    def absolute(self) -> RunConfig:
        """The same configuration with every path made absolute (valid from any folder)."""

        def many(v: tuple[str, ...] | None) -> tuple[str, ...] | None:
            return None if v is None else tuple(str(self.resolve(x).resolve()) for x in v)

        def one(v: str | None) -> str | None:
            return None if v is None else str(self.resolve(v).resolve())

        c, st, pr = self.catalog, self.strategies, self.prices
        return self.model_copy(
            update={
                "catalog": c.model_copy(update={"paths": many(c.paths)}),
                "study": self.study.model_copy(update={"factors": many(self.study.factors)}),
                "strategies": st.model_copy(update={"paths": many(st.paths)}),
                "prices": pr.model_copy(
                    update={"dir": one(pr.dir), "cache_dir": one(pr.cache_dir)}
                ),
                "output": self.output.model_copy(update={"dir": one(self.output.dir)}),
            }
        )

    def to_toml(self) -> str:
        """The configuration as TOML, every setting written out (defaults included) with
        absolute paths: ``evbt run --config`` on it repeats the run from any folder."""
        full = self.absolute()
        lines = [f"name = {_toml_value(full.name)}"]
        for section in ("catalog", "study", "strategies", "prices", "output"):
            values = getattr(full, section).model_dump()
            body = [f"{k} = {_toml_value(v)}" for k, v in values.items() if v is not None]
            lines += ["", f"[{section}]", *body]
        return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        escaped = v.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_value(k)


def load_config(path: str | Path | None = None) -> RunConfig:
    """The run configuration in ``path``, or the defaults (relative to the current folder).

    Raises
    ------
    ConfigError
        Listing every problem, each as ``file: field x: message``.
    """
    if path is None:
        return RunConfig(base=str(Path.cwd()))
    p = Path(path)
    data = read_toml(p, ConfigError, "run configuration")
    data.setdefault("name", p.stem)
    data["base"] = str(p.resolve().parent)
    data["file"] = str(p)
    config = validate(RunConfig, data, str(p), ConfigError, hidden=("base", "file"))
    try:  # the study settings are checked where they are defined, with the same messages
        config.study_spec()
    except ValueError as exc:
        raise ConfigError(str(p), [("study", str(exc))]) from None
    return config
