"""Every window a StudySpec message suggests passes the rules itself."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backtest.study import StudySpec
from backtest.study.spec import SpecError

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
