"""Bad strategy files: one small file per case in ``strategy/``, each with its exact message;
and hypothesis fuzzing of the strategy parser (no generated file ends in an internal error).

Every message names the file and the field and says what is wrong; numbers must be finite,
sessions within the limits and grids not too large, all refused before anything is computed.
"""

from __future__ import annotations

import math
import string
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest.catalog import load_catalog
from backtest.portfolio import Limits, StrategyError, load_strategy, select_events

HERE = Path(__file__).parent / "strategy"

CASES = [
    ("benchmark_path.toml", "field portfolio.benchmark: ticker '../../etc/passwd': not a Yahoo "
     "ticker (expected upper case letters and digits, optionally '-', a leading '^' for an index "
     "and an exchange suffix such as '.HK', e.g. 'META', '0700.HK', '^GSPC')"),
    ("condition_below_nan.toml", "field condition.below: must be a finite number (an abnormal "
     "return such as -0.03), got nan"),
    ("condition_day_huge.toml", "field condition.day: at most 1,000 sessions from day 0, asked "
     "for 100,000; raise [limits] sessions in the run configuration"),
    ("deeply_nested.toml", "values are nested more than 32 levels deep (arrays in arrays)"),
    ("direction_and_long_when.toml", "field position: give direction or long_when/short_when, "
     "not both (the conditions choose the direction of each event)"),
    ("fees_nan.toml", "field costs.fees: must be a finite number (a fraction such as 0.0005 "
     "(5 bps)), got nan"),
    ("hold_inf.toml", "field exit.hold: must be a finite number (sessions to hold), got inf"),
    ("hold_too_long.toml", "field exit.hold: at most 1,000 sessions, asked for 5,000; raise "
     "[limits] sessions in the run configuration"),
    ("init_cash_nan.toml", "field portfolio.init_cash: must be a finite number (the starting "
     "capital), got nan"),
    ("lag_inf.toml", "field entry.lag: must be a finite number (sessions after the first "
     "tradable price), got inf"),
    ("lag_too_long.toml", "field entry.lag: at most 1,000 sessions, asked for 1,500; raise "
     "[limits] sessions in the run configuration"),
    ("size_above_capital.toml", "field position.size: 500000 is more than portfolio.init_cash "
     "100000: such a position could never be bought in full; lower the size or raise the "
     "capital"),
    ("size_inf.toml", "field position.size: must be a finite number (the value traded per "
     "position), got inf"),
    ("size_nan.toml", "field position.size: must be a finite number (the value traded per "
     "position), got nan"),
    ("size_tiny.toml", "field position.size: must be >= 0.01 (the value traded per position), "
     "got 1e-300"),
    ("slippage_nan.toml", "field costs.slippage: must be a finite number (a fraction such as "
     "0.0005 (5 bps)), got nan"),
    ("stop_loss_inf.toml", "field exit.stop_loss: must be a finite number (a fraction of the "
     "entry price such as 0.1), got inf"),
    ("stop_loss_nan.toml", "field exit.stop_loss: must be a finite number (a fraction of the "
     "entry price such as 0.1), got nan"),
    ("take_profit_inf.toml", "field exit.take_profit: must be a finite number (a fraction of "
     "the entry price such as 0.2), got inf"),
    ("take_profit_nan.toml", "field exit.take_profit: must be a finite number (a fraction of "
     "the entry price such as 0.2), got nan"),
    ("tickers_unknown.toml", "field events.tickers: no catalog event concerns ZZZZ"),
    ("too_many_combinations.toml", "at most 10,000 parameter combinations of a sweep, asked for "
     "10,100 (100 entry.lag x 101 exit.hold); raise [limits] combinations in the run "
     "configuration"),
    ("where_look_ahead.toml", "field events.where.later_revision: 'later_revision' is known only "
     "after the event (the catalog declares it known = after): a strategy entering on the news "
     "cannot use it (look-ahead)"),
    ("where_nan.toml", "field events.where: surprise_pct.above must be a finite number, got nan"),
    ("where_unknown_attribute.toml", "field events.where.surprise_pct: no event attribute "
     "'surprise_pct' (attributes: later_revision)"),
    ("where_unknown_operator.toml", "field events.where: surprise_pct: unknown operator 'abov' "
     "(use above, below, equals, in); did you mean 'above'?"),
]  # fmt: skip


@pytest.fixture(scope="module")
def events(repo_root: Path) -> pd.DataFrame:
    """The shipped catalog's event table with one attribute known only after the event."""
    table = load_catalog([repo_root / "events"]).to_frame().assign(later_revision=1.0)
    table.attrs["attributes"] = {"later_revision": "after"}
    return table


def test_the_corpus_is_exactly_the_cases() -> None:
    assert sorted(p.name for p in HERE.glob("*.toml")) == sorted(name for name, _ in CASES)


@pytest.mark.parametrize(("name", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_strategy_file(name: str, message: str, events: pd.DataFrame) -> None:
    path = HERE / name
    assert path.stat().st_size < 5_000  # a small file per case
    with pytest.raises(StrategyError) as info:
        select_events(load_strategy(path), events)
    assert str(info.value) == f"{path}: {message}"
    assert isinstance(info.value, ValueError)


def test_limits_are_configurable(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\n[exit]\nhold = [1, 2, 3]\n[entry]\nlag = [0, 1]\n')
    with pytest.raises(StrategyError, match=r"at most 5 parameter combinations of a sweep, asked "
                       r"for 6 \(2 entry.lag x 3 exit.hold\)"):  # fmt: skip
        load_strategy(path, limits=Limits(max_combinations=5))
    with pytest.raises(StrategyError, match=r"field exit\.hold: at most 2 sessions, asked for 3;"):
        load_strategy(path, limits=Limits(max_sessions=2))
    assert len(load_strategy(path).grid()) == 6


# ----------------------------------------------------------------------------- fuzzing

_KEYS = {
    "entry": ["fill", "lag"],
    "exit": ["hold", "stop_loss", "take_profit"],
    "position": ["direction", "size", "hedge", "stack", "long_when", "short_when"],
    "costs": ["fees", "slippage"],
    "portfolio": ["init_cash", "benchmark", "start", "end"],
    "condition": ["day", "below", "above", "model"],
    "events": ["categories", "ids", "tickers", "tags", "scope", "where", "start", "end"],
}
_scalars = st.one_of(
    st.integers(-(10**12), 10**12),
    st.integers(-(10**400), 10**400),  # TOML integers have no size limit in tomllib
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(string.printable, max_size=12),
    st.sampled_from(["long", "short", "next_open", "close", "market", "SPY", "^GSPC", "x" * 300]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["above", "below", "equals", "in", "surprise_pct", "abov", "x"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=8,
)


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    assert isinstance(v, dict)
    return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"


@st.composite
def strategy_files(draw: st.DrawFn) -> str:
    lines = ['name = "fuzz"']
    for section in draw(st.lists(st.sampled_from(sorted(_KEYS)), unique=True, max_size=4)):
        lines.append(f"[{section}]")
        for key in draw(st.lists(st.sampled_from(_KEYS[section]), unique=True, max_size=3)):
            lines.append(f"{key} = {_toml_value(draw(_values))}")
    if draw(st.booleans()):
        lines.append(draw(st.text(string.printable, max_size=30)))  # anything at all
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=strategy_files())
def test_no_strategy_file_ends_in_an_internal_error(
    text: str, tmp_path_factory: pytest.TempPathFactory, events: pd.DataFrame
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "s.toml"
    path.write_text(text, encoding="utf-8")
    problem: StrategyError | None = None
    try:  # anything but StrategyError (a KeyError, OverflowError, ...) fails the test
        select_events(load_strategy(path), events)
    except StrategyError as exc:
        problem = exc
    if problem is not None:
        assert str(problem).startswith(f"{path}: "), problem
        assert problem.problems
        assert all(m for _, m in problem.problems)
