"""What README's *Attributes* section says: ``attributes()`` lists what the files declare or
their events carry (``{}`` for the shipped catalog), evbt's standard attributes are those of its
table, the earnings import writes the first three and ``sector`` comes from a user's own file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backtest import load_catalog
from backtest.catalog import STANDARD_ATTRIBUTES, AttributeInfo
from backtest.earnings import import_earnings

CALENDAR = (
    "Earnings Date,EPS Estimate,Reported EPS,Surprise(%)\n"
    "2025-10-29 16:00:00-04:00,6.67,7.25,8.66\n"
)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_the_shipped_catalog_carries_no_attribute() -> None:
    assert load_catalog().attributes() == {}


@pytest.mark.parametrize("suffix", ["csv", "yaml"])
def test_an_imported_earnings_catalog_has_the_three_standard_ones(suffix: str) -> None:
    Path("META.csv").write_text(CALENDAR, encoding="utf-8")
    result = import_earnings(from_paths="META.csv")
    out = Path(f"earnings.{suffix}")
    out.write_text(result.to_csv() if suffix == "csv" else result.to_yaml(), encoding="utf-8")
    names = ("eps_estimate", "eps_reported", "surprise_pct")
    assert load_catalog(out).attributes() == {n: STANDARD_ATTRIBUTES[n] for n in names}
    assert [STANDARD_ATTRIBUTES[n].known for n in names] == ["before", "at_event", "at_event"]


def test_sector_comes_from_a_users_own_column() -> None:
    Path("mine.csv").write_text(
        "id,ticker,date,timing,category,sector,score\n"
        "a,META,2025-10-29,after_close,earnings,Technology,3\n",
        encoding="utf-8",
    )
    info = load_catalog("mine.csv").attributes()
    assert info["sector"] == AttributeInfo(
        "sector", "text", "before", "the company's sector (e.g. GICS)"
    )
    assert info["score"] == AttributeInfo("score", "number", "at_event")  # nobody declared it


def test_the_readme_table_is_evbts_standard_attributes(repo_root: Path) -> None:
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| known | meaning | standard attributes |") :].split("\n\n")[0]
    listed: dict[str, str] = {}
    for row in table.splitlines()[2:]:
        known, _, names = (c.strip() for c in row.strip("|").split(" | ", 2))
        for name in re.findall(r"`([a-z_]+)`", names):
            listed[name] = known.strip("`")
    assert listed == {n: a.known for n, a in STANDARD_ATTRIBUTES.items()}
