"""Every window a StudySpec message suggests passes the rules itself."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backtest.study import StudySpec
from backtest.study.spec import SpecError, spec_problems

_SUGGESTED = re.compile(r"e\.g\. estimation=\((-?\d+), (-?\d+)\)")

offsets = st.integers(-400, 400)
windows = st.tuples(offsets, offsets).map(lambda w: (min(w), max(w)))


def test_an_estimation_window_after_day_0_gets_a_valid_suggestion() -> None:
    """The suggestion keeps the window's 221 days and ends the session before day -5, the
    first of the default windows (it was (30, -6), which starts after it ends)."""
    with pytest.raises(SpecError) as err:
        StudySpec(estimation=(30, 250))
    assert str(err.value) == (
        "the estimation window (30, 250) must end before the first event window starts "
        "(day -5); e.g. estimation=(-226, -6)"
    )
    StudySpec(estimation=(-226, -6))


def test_the_suggestion_is_as_long_as_min_estimation_asks() -> None:
    with pytest.raises(SpecError) as err:
        StudySpec(estimation=(-10, 0), min_estimation=5, windows=((0, 0),))
    assert str(err.value) == (
        "the estimation window (-10, 0) must end before the first event window starts "
        "(day 0); e.g. estimation=(-11, -1)"
    )
    with pytest.raises(SpecError) as err:
        StudySpec(estimation=(-1, 0), min_estimation=20, windows=((0, 0),))
    assert str(err.value) == (
        "the estimation window (-1, 0) must end before the first event window starts "
        "(day 0); e.g. estimation=(-20, -1)"
    )


def test_no_suggestion_beyond_max_offset() -> None:
    """No window of 100 days ending before day -5 fits within 100 sessions of day 0 (max_offset)."""
    with pytest.raises(SpecError) as err:
        StudySpec(estimation=(-100, 0), min_estimation=100, windows=((-5, 5),), path=(-5, 5),
                  max_offset=100)  # fmt: skip
    assert str(err.value) == (
        "the estimation window (-100, 0) must end before the first event window starts (day -5)"
    )


@settings(max_examples=300, deadline=None)
@given(
    estimation=windows,
    windows=st.lists(windows, min_size=1, max_size=4, unique=True),
    min_estimation=st.integers(3, 300),
    max_offset=st.integers(1, 1000),
)
def test_every_suggested_estimation_window_is_accepted(
    estimation: tuple[int, int], windows: list[tuple[int, int]], min_estimation: int,
    max_offset: int,
) -> None:  # fmt: skip
    # the other settings valid: only the estimation window may be refused
    assume(all(max(abs(a), abs(b)) <= max_offset for a, b in windows))
    settings_ = {
        "windows": tuple(windows),
        "min_estimation": min_estimation,
        "max_offset": max_offset,
        "path": (0, 0),
        "confounder_window": (0, 0),
    }
    try:
        StudySpec(estimation=estimation, **settings_)
    except SpecError as exc:
        found = _SUGGESTED.search(str(exc))
    else:
        return
    if found is None:
        return
    suggested = (int(found[1]), int(found[2]))
    spec = StudySpec(estimation=suggested, **settings_)  # raises if the suggestion is refused
    assert spec.estimation == suggested


# ------------------------------------------------------------------ every hint, substituted

#: the values a message suggests: ``write (a, b)``, ``e.g. estimation=(a, b)``, ``use
#: ('all',) at least``, a list of groupings ``such as ('ticker',)``, ``drop it``
_HINTS = re.compile(
    r"(?:write|e\.g\. estimation=|use|such as) (\((?:-?\d+, -?\d+|'[^']*',)\))(?! once)|drop it"
)


def _suggestions(message: str) -> list[Any]:
    out: list[Any] = []
    for found in _HINTS.finditer(message):
        out.append("drop" if found[0] == "drop it" else ast.literal_eval(found[1]))
    return out


def _field_problems(values: dict[str, Any], name: str) -> list[str]:
    return [m for f, m in spec_problems(values) if f == name]


pairs = st.tuples(offsets, offsets)
others = st.fixed_dictionaries(
    {},
    optional={
        "windows": st.lists(windows, min_size=1, max_size=3, unique=True),
        "estimation": windows,
        "path": windows,
        "confounder_window": windows,
        "min_estimation": st.integers(3, 300),
        "max_offset": st.integers(1, 1000),
        "max_windows": st.integers(1, 4),
    },
)


@settings(max_examples=400, deadline=None)
@given(
    name=st.sampled_from(["estimation", "path", "confounder_window"]),
    pair=pairs.filter(lambda p: p[0] > p[1]),
    values=others,
)
def test_every_hint_for_a_reversed_window_is_accepted(
    name: str, pair: tuple[int, int], values: dict[str, Any]
) -> None:
    """Review: estimation=(-6, -250) with an event window from day -5 got "write (-250, -6)",
    which the next run refused (it does not end before the first event window); a window
    beyond max_offset got the same reversed window, refused for its reach."""
    values = {**values, name: pair}
    (message,) = _field_problems(values, name)
    assert message.startswith(f"{name} {pair} starts after it ends")
    for suggested in _suggestions(message):
        assert _field_problems({**values, name: suggested}, name) == [], (message, suggested)


@settings(max_examples=400, deadline=None)
@given(
    given_=st.lists(windows, min_size=1, max_size=4),
    at=st.integers(0, 3),
    values=others.map(lambda v: {k: x for k, x in v.items() if k != "windows"}),
)
def test_every_hint_for_a_reversed_event_window_is_accepted(
    given_: list[tuple[int, int]], at: int, values: dict[str, Any]
) -> None:
    at %= len(given_)
    a, b = given_[at]
    assume(a < b)
    rest = given_[:at] + given_[at + 1 :]
    # the other windows pass by themselves: only the one reversed may be refused
    assume(not rest or _field_problems({**values, "windows": rest}, "windows") == [])
    given_[at] = (b, a)  # the one window written the wrong way round
    values = {**values, "windows": given_}
    (message,) = _field_problems(values, "windows")
    assert message.startswith(f"windows[{at}] {(b, a)} starts after it ends")
    for suggested in _suggestions(message):
        fixed = list(given_)
        if suggested == "drop":
            del fixed[at]
        else:
            fixed[at] = suggested
        assert _field_problems({**values, "windows": fixed}, "windows") == [], (message, fixed)


def test_the_reported_hints() -> None:
    # (-250, -6) is fine with the default windows (the first starts at day -5) ...
    assert spec_problems({"estimation": (-6, -250)}) == [
        ("estimation", "estimation (-6, -250) starts after it ends: write (-250, -6)")
    ]
    # ... not with one from day -10: an estimation window that ends before it is suggested
    assert spec_problems({"estimation": (-6, -250), "windows": [(-10, 10)]}) == [
        ("estimation",
         "estimation (-6, -250) starts after it ends; (-250, -6) would not do either (the "
         "estimation window (-250, -6) must end before the first event window starts (day "
         "-10)): e.g. estimation=(-255, -11)"),
    ]  # fmt: skip
    # beyond max_offset reversed is beyond it too: no window to write, the reason why
    assert spec_problems({"path": (20, -2000), "max_offset": 1000}) == [
        ("path",
         "path (20, -2000) starts after it ends; (-2000, 20) would not do either: path "
         "(-2000, 20) reaches 2000 sessions from day 0, more than the limit of 1000 "
         "(max_offset); use a shorter window or raise max_offset"),
    ]  # fmt: skip
    assert spec_problems({"windows": [(-2, 2), (2, -2)]}) == [
        ("windows", "windows[1] (2, -2) starts after it ends, and (-2, 2) is windows[0] "
                    "already: drop it"),
    ]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(value=st.text(max_size=6) | st.just([]) | st.just(()))
def test_the_hints_for_groupings_are_accepted(value: Any) -> None:
    problems = _field_problems({"group_by": value}, "group_by")
    for message in problems:
        for suggested in _suggestions(message):
            assert _field_problems({"group_by": suggested}, "group_by") == [], message
