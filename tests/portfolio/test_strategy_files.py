"""Strategy files: the shipped ones load; bad ones get messages naming the file and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from backtest.catalog import load_catalog
from backtest.portfolio import StrategyError, load_strategy, select_events, strategy_files

GOOD = """\
name = "t"
[events]
categories = ["layoff"]
[exit]
hold = [1, 5]
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(StrategyError) as info:
        load_strategy(write(tmp_path, text))
    return str(info.value).splitlines()


def test_shipped_strategies_load(repo_root: Path) -> None:
    files = strategy_files([repo_root / "strategies"])
    names = {load_strategy(f).name for f in files}
    assert names == {
        "buy_on_layoffs",
        "buy_on_model_launches",
        "short_after_negative_earnings",
        "hedged_buy_on_layoffs",
        "post_earnings_drift",
    }
    s = load_strategy(repo_root / "strategies" / "buy_on_layoffs.toml")
    assert s.exit.hold == (1.0, 5.0, 20.0, 60.0)
    assert s.costs.fees == (0.0005,)
    assert s.costs.slippage == (0.0005,)
    assert s.swept == ("exit.hold",)
    assert [p["exit.hold"] for p in s.grid()] == [1, 5, 20, 60]
    short = load_strategy(repo_root / "strategies" / "short_after_negative_earnings.toml")
    assert short.condition is not None
    assert short.condition.below == (-0.03, -0.08)
    assert len(short.grid()) == 4  # 2 thresholds x 2 holds


def test_defaults_a_practitioner_would_accept(tmp_path: Path) -> None:
    s = load_strategy(write(tmp_path, GOOD))
    assert s.costs.fees == (0.0005,)  # 5 bps
    assert s.costs.slippage == (0.0005,)  # 5 bps
    assert s.entry.fill == "next_open"
    assert s.position.direction == "long"
    assert s.portfolio.init_cash == 100_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("hold = [1, 5]", "hodl = 5"),
            "s.toml: field exit.hodl: unknown field (known: hold, stop_loss, take_profit); "
            "did you mean 'hold'?",
        ),
        (
            GOOD.replace("hold = [1, 5]", "hold = 0"),
            "s.toml: field exit.hold: must be >= 1 (sessions to hold), got 0",
        ),
        (
            GOOD.replace("hold = [1, 5]", "hold = 2.5"),
            "s.toml: field exit.hold: expected a whole number of sessions, got 2.5",
        ),
        (
            GOOD.replace("hold = [1, 5]", "hold = [5, 5]"),
            "s.toml: field exit.hold: lists [5.0, 5.0] with duplicates; give each value once",
        ),
        (
            GOOD.replace("hold = [1, 5]", "stop_loss = 1.5"),
            "s.toml: field exit.stop_loss: must be < 1 (a fraction of the entry price such as "
            "0.1), got 1.5",
        ),
        (
            GOOD + "[costs]\nfees = -0.001\n",
            "s.toml: field costs.fees: must be >= 0 (a fraction such as 0.0005 (5 bps)), "
            "got -0.001",
        ),
        (
            GOOD + '[entry]\nfill = "tomorrow"\n',
            "s.toml: field entry.fill: 'tomorrow' is not allowed (use 'next_open' or 'close')",
        ),
        (
            GOOD + '[position]\ndirection = "sideways"\n',
            "s.toml: field position.direction: 'sideways' is not allowed (use 'long' or 'short')",
        ),
        (
            GOOD + "[position]\nsize = []\n",
            "s.toml: field position.size: is an empty list: give the value traded per position",
        ),
        (
            GOOD + "[condition]\nday = 0\n",
            "s.toml: field condition: give below and/or above (the abnormal return thresholds)",
        ),
        (
            GOOD + "[exits]\nhold = 5\n",
            "s.toml: field exits: unknown section or field (known: name, description, events, "
            "entry, exit, position, costs, portfolio, condition); did you mean 'exit'?",
        ),
        ("name = \n", "s.toml: not valid TOML: Invalid value (at line 1, column 8)"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_bad_strategy_files(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, text)
    assert found[0].endswith(expected), found
    assert found[0].startswith(str(tmp_path / "s.toml"))


def test_every_problem_is_listed(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD.replace("hold = [1, 5]", "hold = 0\nstop_loss = 2"))
    assert len(found) == 2
    assert "field exit.hold" in found[0]
    assert "field exit.stop_loss" in found[1]


def test_filter_that_matches_nothing_names_the_field(tmp_path: Path, repo_root: Path) -> None:
    catalog = load_catalog([repo_root / "events"])
    s = load_strategy(write(tmp_path, GOOD.replace('["layoff"]', '["layof"]')))
    with pytest.raises(StrategyError) as info:
        select_events(s, catalog)
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path / 's.toml'}: field events: matches no catalog event")
    assert "'categories': ('layof',)" in msg
    assert "catalog categories: corporate, earnings, layoff" in msg
    s2 = load_strategy(write(tmp_path, GOOD.replace('categories = ["layoff"]', 'ids = ["nope"]')))
    with pytest.raises(StrategyError, match="field events: no event with id 'nope'"):
        select_events(s2, catalog)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(StrategyError, match="no such strategy file"):
        load_strategy(tmp_path / "none.toml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StrategyError, match=r"holds no \.toml strategy files"):
        strategy_files([tmp_path / "empty"])


def test_portfolio_period(tmp_path: Path) -> None:
    s = load_strategy(
        write(tmp_path, GOOD + "[portfolio]\nstart = 2023-01-01\nend = '2024-06-30'\n")
    )
    assert (str(s.portfolio.start), str(s.portfolio.end)) == ("2023-01-01", "2024-06-30")
    (bad_order,) = problems(tmp_path, GOOD + "[portfolio]\nstart = 2024-01-01\nend = 2023-01-01\n")
    assert bad_order.endswith(
        "s.toml: field portfolio: start 2024-01-01 must be before end 2023-01-01"
    )
    (not_a_date,) = problems(tmp_path, GOOD + "[portfolio]\nend = 'soon'\n")
    assert not_a_date.endswith(
        "s.toml: field portfolio.end: expected a date such as 2024-01-31, got 'soon'"
    )
