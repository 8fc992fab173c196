"""A p-value shown agrees with its significance stars: 0.00976 read "0.010***", a figure at
the 1% level with the stars of below it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backtest.reports import fmt
from backtest.study.results import stars
from backtest.text import P_LEVELS, p_value


@given(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
def test_the_figure_shown_is_on_the_same_side_of_every_level_as_the_p_value(p: float) -> None:
    shown = p_value(p)
    if shown.startswith("<"):
        bound = float(shown[1:])
        assert p < bound
        assert bound == 0.001 or bound in P_LEVELS
    else:
        assert len(shown.split(".")[1]) >= 3
        for level in P_LEVELS:
            assert (float(shown) < level) == (p < level), (p, shown, level)
    assert fmt.pval(p) == shown


def test_examples_with_their_stars() -> None:
    cases = {0.00976: "0.0098***", 0.0421: "0.042**", 0.0004: "<0.001***", 0.0999996: "<0.1*",
             0.01: "0.010**", 0.5: "0.500"}  # fmt: skip
    assert {p: p_value(p) + stars(p) for p in cases} == cases
