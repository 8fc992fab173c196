"""Every StudySpec setting given a value of the wrong type is refused with a SpecError naming
the setting (never a TypeError from deep inside a rule), and spec_problems lists them all."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.job.spec_fields import SpecField, spec_fields
from backtest.study import StudySpec
from backtest.study.spec import SpecError, spec_problems

FIELDS = {f.name: f for f in spec_fields()}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.binary(max_size=4)
)
#: any value a caller could pass: scalars, and lists, tuples, sets and dicts of them
anything = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.frozensets(st.integers(-5, 5), max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
whole = st.integers(-400, 400)
not_whole = scalars.filter(lambda v: isinstance(v, bool) or not isinstance(v, int))
#: values of a type that is not a pair of whole numbers
not_pair = (
    not_whole
    | st.lists(whole, max_size=5).filter(lambda v: len(v) != 2).map(tuple)
    | st.tuples(not_whole, whole)
    | st.tuples(whole, not_whole)
    | st.frozensets(whole, min_size=2, max_size=2)
    | st.dictionaries(whole, whole, min_size=2, max_size=2)
    | st.text(alphabet="0123456789-", min_size=2, max_size=2)  # '12' is not (1, 2)
)


def wrong_values(f: SpecField) -> st.SearchStrategy[Any]:
    """Values whose type is wrong for ``f`` (whatever their content)."""
    if f.kind == "choice":
        return anything.filter(lambda v: not isinstance(v, str))
    if f.kind == "int":
        return not_whole | st.lists(whole, max_size=3)
    if f.kind == "float":
        return scalars.filter(lambda v: isinstance(v, bool | str | bytes) or v is None) | st.lists(
            st.floats(0, 1), min_size=1, max_size=2
        )
    if f.kind == "bool":
        return anything.filter(lambda v: not isinstance(v, bool))
    if f.kind == "window":
        return not_pair
    if f.kind == "windows":
        return (
            not_whole
            | st.tuples(whole, whole)  # one pair, not a list of pairs
            | st.lists(not_pair, min_size=1, max_size=3)
            | st.dictionaries(st.text(max_size=3), st.tuples(whole, whole), min_size=1)
        )
    if f.kind == "strs":
        return (
            not_whole.filter(lambda v: not isinstance(v, str))
            | st.text(min_size=1, max_size=8)  # 'ticker' is not ('t', 'i', ...)
            | st.lists(st.none() | st.integers() | st.lists(st.text()), min_size=1, max_size=3)
            | st.dictionaries(st.text(max_size=3), st.text(max_size=3), min_size=1)
        )
    assert f.kind == "mapping", f.kind
    return (
        scalars
        | st.lists(st.text(max_size=3), max_size=3)
        | st.dictionaries(st.text(max_size=3), st.none() | st.integers(), min_size=1)
    )


def _kept_type_ok(f: SpecField, v: Any) -> bool:
    """Whether ``v``, a value StudySpec kept, has the declared type of ``f``."""
    pair = isinstance(v, tuple) and len(v) == 2 and all(type(x) is int for x in v)
    return {
        "choice": lambda: v in f.choices,
        "int": lambda: type(v) is int,
        "float": lambda: isinstance(v, int | float) and not isinstance(v, bool),
        "bool": lambda: type(v) is bool,
        "window": lambda: pair,
        "windows": lambda: (
            isinstance(v, tuple)
            and all(
                isinstance(w, tuple) and len(w) == 2 and all(type(x) is int for x in w) for w in v
            )
        ),
        "strs": lambda: isinstance(v, tuple) and all(isinstance(g, str) for g in v),
        "mapping": lambda: (
            isinstance(v, dict)
            and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())
        ),
    }[f.kind]()


@pytest.mark.parametrize("name", list(FIELDS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_value_of_the_wrong_type_is_refused_naming_its_setting(name: str, data: Any) -> None:
    f = FIELDS[name]
    value = data.draw(wrong_values(f), label=name)
    with pytest.raises(SpecError) as err:
        StudySpec(**{name: value})
    assert name in str(err.value)
    assert name in [field for field, _ in spec_problems({name: value})]


@pytest.mark.parametrize("name", list(FIELDS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_value_is_kept_with_its_type_or_refused(name: str, data: Any) -> None:
    """Never another exception than SpecError; a value kept has the setting's type."""
    value = data.draw(anything, label=name)
    try:
        spec = StudySpec(**{name: value})
    except SpecError:
        return
    assert _kept_type_ok(FIELDS[name], getattr(spec, name)), (name, value)


def test_the_reported_cases() -> None:
    with pytest.raises(SpecError, match=r"^windows must be a list of pairs .* got 5$"):
        StudySpec(windows=5)
    with pytest.raises(SpecError, match=r"^group_by must be a list of groupings, not None$"):
        StudySpec(group_by=None)
    # a string is not a pair ('12' was (1, 2)), nor a list of groupings ('ticker' was 6)
    with pytest.raises(SpecError, match=r"^estimation must be a pair .* got '12'$"):
        StudySpec(estimation="12")
    with pytest.raises(SpecError, match=r"such as \('ticker',\), not 'ticker'$"):
        StudySpec(group_by="ticker")
    with pytest.raises(SpecError, match=r"^max_loss must be a fraction .* not '0.5'$"):
        StudySpec(max_loss="0.5")
    with pytest.raises(SpecError, match=r"^path must be a pair .* got \(-20.5, 20\)$"):
        StudySpec(path=(-20.5, 20))  # was cut to (-20, 20) silently


def test_every_problem_is_listed_at_once() -> None:
    assert spec_problems({"windows": 5, "group_by": None, "benchmarks": 3, "path": "ab"}) == [
        ("windows", "windows must be a list of pairs of whole trading-day offsets such as "
                    "[(0, 0), (-1, 1)], got 5"),
        ("path", "path must be a pair of whole trading-day offsets such as (-1, 1), got 'ab'"),
        ("benchmarks", 'benchmarks must map market codes to tickers, such as {"XNYS": "QQQ"}, '
                       "not 3"),
        ("group_by", "group_by must be a list of groupings, not None"),
    ]  # fmt: skip


def test_from_dict_refuses_wrong_types_as_the_spec_does() -> None:
    with pytest.raises(SpecError, match=r"^windows must be a list of pairs"):
        StudySpec.from_dict({"windows": None})
    with pytest.raises(SpecError, match=r"^group_by must be a list of groupings"):
        StudySpec.from_dict({"group_by": 3})
    spec = StudySpec.from_dict({"windows": [[0, 1]], "estimation": [-250, -6], "group_by": ["all"]})
    assert (spec.windows, spec.estimation, spec.group_by) == (((0, 1),), (-250, -6), ("all",))
