"""Bad run configurations: one small file per case in ``config/``, each with the exact message
(``{file}`` stands for the file's path), plus the cases that cannot be a committed file (a FIFO,
a file too large), hypothesis fuzzing of the parser (no input ends in an internal error) and
the round trip of the writer (any valid configuration, written and read back, is equal)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest.job import ConfigError, RunConfig, load_config
from backtest.job.config import toml_key, toml_value
from backtest.study.spec import MODELS, StudySpec

CASES = Path(__file__).parent / "config"

KNOWN_TOP = "name, catalog, study, strategies, prices, output, limits"
#: the [study] section is StudySpec's fields (one declaration) plus factors and benchmark
#: max_offset and max_windows are set by [limits] (sessions, windows), not by [study]
KNOWN_STUDY = ", ".join(
    [f.name for f in dataclasses.fields(StudySpec) if f.name not in ("max_offset", "max_windows")]
    + ["factors", "benchmark"]
)
#: pydantic's list of the allowed models, as the message words it
USE_MODELS = ", ".join(repr(m) for m in MODELS[:-1]) + f" or {MODELS[-1]!r}"
NESTED = "{file}: values are nested more than 32 levels deep (arrays in arrays)"

EXPECTED: dict[str, str] = {
    "bad-date.toml": "{file}: not valid TOML: Invalid date or datetime (at line 2, column 9)",
    "bracket-bomb.toml": NESTED,
    "date-text.toml": "{file}: field catalog.start: expected a date such as 2024-01-31, got 'soon'",
    "deep.toml": NESTED,
    "every-problem-listed.toml": (
        "{file}: field catalog.category: unknown field (known: paths, categories, ids, tickers, "
        "start, end, confounders, earnings_confounders); did you mean 'categories'?\n"
        f"{{file}}: field study.modle: unknown field (known: {KNOWN_STUDY}); did you mean "
        "'model'?\n"
        f"{{file}}: field nmae: unknown section or field (known: {KNOWN_TOP}); did you mean "
        "'name'?\n"
        "{file}: field study.max_loss: max_loss must be a fraction between 0 and 1, not 2.0"
    ),
    "factor-without-factors.toml": (
        '{file}: field study.factors: model = "factor" needs factors = ["file.CSV", ...]'
    ),
    "fractional-int.toml": (
        "{file}: field study.min_estimation: Input should be a valid integer, got a number "
        "with a fractional part (got 1.5)"
    ),
    "inf-window.toml": "{file}: field study.estimation: Input should be a finite number (got -inf)",
    "limit-zero.toml": (
        "{file}: field limits.combinations: Input should be greater than or equal to 1 (got 0)"
    ),
    "name-300.toml": (
        "{file}: field name: a run name of 300 characters is too long for a folder name: use "
        "at most 200"
    ),
    "name-newline.toml": (
        "{file}: field name: 'abc\\n' cannot name a report folder: use letters, digits, '.', "
        "'_', '-' (starting with a letter or digit)"
    ),
    "nan.toml": "{file}: field study.max_loss: Input should be a finite number (got nan)",
    "not-toml.toml": "{file}: not valid TOML: Invalid value (at line 1, column 8)",
    "not-utf8.toml": "{file}: not UTF-8 text (byte 11); save the file as UTF-8",
    "nul-in-path.toml": "{file}: field prices.dir: 'a\\x00b' is not a path",
    "path-beyond-limit.toml": (
        "{file}: field study.path: at most 1,000 sessions from day 0, asked for 100,000 "
        "(-100000, 100000); raise [limits] sessions in the run configuration"
    ),
    "paths-not-list.toml": (
        "{file}: field catalog.paths: expected a path or a list of paths, got 3"
    ),
    "reversed-window.toml": (
        "{file}: field study.windows: windows[0] (2, -2) starts after it ends: write (-2, 2)"
    ),
    "section-not-table.toml": "{file}: field study: expected a [study] table, got 3",
    "unknown-benchmark.toml": (
        "{file}: field study.benchmark: ticker 'NOPE.XX': unknown exchange suffix '.XX' "
        "(supported: (no suffix) -> XNYS, .DE -> XETR, .HK -> XHKG, .L -> XLON, .SS -> XSHG, "
        ".SZ -> XSHG, .T -> XTKS, .TO -> XTSE)"
    ),
    "unknown-home.toml": (
        "{file}: field output.dir: '~nosuchuser0/reports': no such user's home folder"
    ),
    "unknown-model.toml": f"{{file}}: field study.model: 'capm' is not allowed (use {USE_MODELS})",
    "unknown-section.toml": (
        f"{{file}}: field stdy: unknown section or field (known: {KNOWN_TOP}); did you mean "
        "'study'?"
    ),
}


def test_every_case_file_has_its_expected_message() -> None:
    files = {p.name for p in CASES.glob("*.toml")}
    assert files - {"bom.toml"} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_configuration(name: str) -> None:
    path = CASES / name
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == EXPECTED[name].replace("{file}", str(path))


def test_a_byte_order_mark_is_accepted() -> None:
    assert load_config(CASES / "bom.toml").name == "with-bom"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "run.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError) as info:
        load_config(fifo)  # a plain read would wait for a writer for ever
    assert str(info.value) == (
        f"{fifo}: is not a regular file (a pipe, device or socket): give a run configuration file"
    )


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "run.toml"
    big.write_bytes(b"# " + b"x" * (1 << 20) + b"\n")
    with pytest.raises(ConfigError) as info:
        load_config(big)
    assert str(info.value) == (
        f"{big}: is 1,048,579 bytes, more than a run configuration file can be (at most "
        "1,048,576); is it the right file?"
    )


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a folder, not a run configuration file"


# ------------------------------------------------------------------ fuzzing the parser

FIELDS = {
    "": ["name", "catalog", "study", "strategies", "prices", "output", "limits", "x"],
    "catalog": ["paths", "categories", "ids", "tickers", "start", "end", "confounders",
                "earnings_confounders", "x"],
    "study": [*KNOWN_STUDY.split(", "), "x"],
    "strategies": ["paths", "x"],
    "prices": ["dir", "cache_dir", "x"],
    "output": ["dir", "x"],
    "limits": ["combinations", "sessions", "windows", "x"],
}  # fmt: skip

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(min_value=dt.date(1, 1, 1)),
    st.sampled_from(["market", "factor", "SPY", "QQQ", "^HSI", "earnings", "abc\n", "", "."]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(string.ascii_letters + "_", min_size=1, max_size=6), inner,
                        max_size=3),
    ),
    max_leaves=12,
)  # fmt: skip


def _toml(doc: dict[str, Any]) -> str:
    lines = []
    tables = {k: v for k, v in doc.items() if isinstance(v, dict) and k}
    for k, v in doc.items():
        if k not in tables:
            lines.append(f"{toml_key(k)} = {toml_value(v)}")
    for k, v in tables.items():
        lines.append(f"[{toml_key(k)}]")
        lines += [f"{toml_key(f)} = {toml_value(x)}" for f, x in v.items()]
    return "\n".join(lines) + "\n"


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(FIELDS[""]), unique=True, max_size=5)):
        if key in FIELDS and draw(st.booleans()):
            names = draw(st.lists(st.sampled_from(FIELDS[key]), unique=True, max_size=4))
            doc[key] = {n: draw(values) for n in names}
        else:
            doc[key] = draw(values)
    return doc


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents())
def test_no_configuration_ends_in_an_internal_error(tmp_path_factory: Any, doc: dict) -> None:  # type: ignore[type-arg]
    try:
        text = _toml(doc)
    except (ValueError, TypeError):  # a value TOML cannot hold (nan is written as nan below)
        text = "[study]\nmax_loss = nan\n"
    path = tmp_path_factory.mktemp("fuzz") / "run.toml"
    path.write_text(text, encoding="utf-8")
    try:
        config = load_config(path)
    except ConfigError as exc:  # the only way a configuration may fail
        message = str(exc)
    else:
        message = ""
    if message:
        assert message.startswith(f"{path}: ")
        return
    assert isinstance(config, RunConfig)
    config.study_spec()  # a loaded configuration always gives a valid study
    assert config.to_toml()


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_no_bytes_end_in_an_internal_error(tmp_path_factory: Any, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "run.toml"
    path.write_bytes(raw)
    with contextlib.suppress(ConfigError):  # any other exception fails the test
        load_config(path)


# ------------------------------------------------------------------ the writer's round trip

texts = st.text(min_size=1, max_size=20).filter(
    lambda s: "\x00" not in s and s.strip() and not s.startswith("~")
)
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True)
windows = st.sampled_from([(0, 0), (-1, 1), (0, 5), (-5, 20), (1, 3)])


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    maybe = lambda s: st.none() | s  # noqa: E731
    return {
        "name": draw(names),
        "catalog": {
            "paths": draw(maybe(st.lists(texts, max_size=3))),
            "categories": draw(maybe(st.lists(texts, max_size=3))),
            "ids": draw(maybe(st.lists(texts, max_size=3))),
            "tickers": draw(maybe(st.lists(texts, max_size=3))),
            "start": draw(maybe(st.dates())),
            "end": draw(maybe(st.dates())),
            "confounders": draw(st.lists(texts, max_size=2)),
            "earnings_confounders": draw(st.booleans()),
        },
        "study": {
            "model": draw(st.sampled_from(["market", "market_adjusted", "constant_mean"])),
            "returns": draw(st.sampled_from(["simple", "log"])),
            "estimation": (draw(st.integers(-600, -260)), draw(st.integers(-40, -11))),
            "min_estimation": draw(st.integers(3, 120)),
            "windows": tuple(draw(st.lists(windows, min_size=1, max_size=4, unique=True))),
            "path": (draw(st.integers(-30, 0)), draw(st.integers(0, 30))),
            "benchmarks": draw(st.dictionaries(texts, texts, max_size=2)),
            "exclude_confounded": draw(st.booleans()),
            "max_loss": draw(st.floats(0, 1)),
            "group_by": ("all", *draw(st.lists(texts, max_size=2))),
        },
        "strategies": {"paths": draw(maybe(st.lists(texts, max_size=2)))},
        "prices": {"dir": draw(maybe(texts)), "cache_dir": draw(maybe(texts))},
        "output": {"dir": draw(texts)},
        "limits": {"combinations": draw(st.integers(1, 10**6)),
                   "sessions": draw(st.integers(600, 10**5)),
                   "windows": draw(st.integers(4, 500))},
    }  # fmt: skip


def _comparable(c: RunConfig) -> dict[str, Any]:
    return c.absolute().describe() | {"base": "", "file": ""}


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(data=configs())
def test_any_valid_configuration_reads_back_equal(tmp_path_factory: Any, data: dict) -> None:  # type: ignore[type-arg]
    folder = tmp_path_factory.mktemp("rt")
    original = RunConfig.model_validate({**data, "base": str(folder)})
    path = folder / "again.toml"
    path.write_text(original.to_toml(), encoding="utf-8")
    again = load_config(path)
    assert _comparable(again) == _comparable(original)
    assert again.study_spec() == original.study_spec()
