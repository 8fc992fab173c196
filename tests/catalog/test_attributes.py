"""Event attributes: kinds, when each is known, table columns, filters, declarations."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest

from backtest.catalog import STANDARD_ATTRIBUTES, AttributeInfo, Catalog, load_catalog
from backtest.catalog.attributes import RESERVED_NAMES
from backtest.catalog.catalog import FRAME_COLUMNS


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def entry(i: int, attributes: str = "", **fields: str) -> str:
    base = {
        "title": f"E{i}",
        "description": "D",
        "category": "earnings",
        "scope": "company",
        "date": f"2024-0{1 + i % 9}-10",
        "timing": "after_close",
        "tickers": "[META]",
        "sources": "[{document: d, says: s}]",
        **fields,
    }
    lines = [f"  - id: e-{i}", *(f"    {k}: {v}" for k, v in base.items())]
    if attributes:
        lines.append(f"    attributes: {attributes}")
    return "\n".join(lines) + "\n"


def load(text: str, name: str = "cat.yaml") -> Catalog:
    Path(name).write_text(textwrap.dedent(text), encoding="utf-8")
    return load_catalog([name])


def test_attributes_become_columns_with_na_where_an_event_lacks_them() -> None:
    cat = load(
        "events:\n"
        + entry(0, "{surprise_pct: 8.66, sector: Technology}")
        + entry(1, "{surprise_pct: -3}")
        + entry(2)
    )
    assert cat.problems == ()
    frame = cat.to_frame()
    assert list(frame.columns) == [*FRAME_COLUMNS, "surprise_pct", "sector"]
    assert frame["surprise_pct"].tolist()[:2] == [8.66, -3.0]
    assert math.isnan(frame["surprise_pct"].iloc[2])
    assert frame["surprise_pct"].dtype == "float64"
    assert frame["sector"].iloc[0] == "Technology"
    assert frame["sector"].isna().tolist() == [False, True, True]


def test_attributes_say_their_kind_and_when_they_are_known() -> None:
    cat = load(
        "attributes:\n"
        "  revised_eps: {kind: number, known: after, description: EPS as restated later}\n"
        "events:\n"
        + entry(0, "{surprise_pct: 8.66, sector: Tech, score: 3, revised_eps: 1.2, note: x}")
    )
    info = cat.attributes()
    assert info["surprise_pct"] == STANDARD_ATTRIBUTES["surprise_pct"]
    assert info["surprise_pct"].known == "at_event"
    assert info["sector"].known == "before"
    assert info["revised_eps"] == AttributeInfo(
        "revised_eps", "number", "after", "EPS as restated later"
    )
    # undeclared: at_event, the kind from the values
    assert info["score"] == AttributeInfo("score", "number", "at_event", "")
    assert info["note"] == AttributeInfo("note", "text", "at_event", "")


def test_an_undeclared_attribute_with_numbers_is_a_number_everywhere() -> None:
    cat = load("events:\n" + entry(0, "{score: 3}") + entry(1, "{score: high}"))
    assert [str(p) for p in cat.problems] == [
        "cat.yaml:21: entry e-1: field attributes.score: 'high' is not a number, and score "
        "holds numbers: write a number, or leave the value out when it is not known"
    ]
    assert [e.id for e in cat] == ["e-0"]


def test_a_text_attribute_declared_as_text_keeps_numbers_as_text() -> None:
    cat = load(
        "attributes:\n  rating: {kind: text}\nevents:\n"
        + entry(0, "{rating: 3}")
        + entry(1, "{rating: A}")
    )
    assert cat.problems == ()
    assert [e.attributes["rating"] for e in cat] == ["3", "A"]


def test_attributes_survive_filter_and_filter_by_attribute() -> None:
    cat = load(
        "events:\n"
        + entry(0, "{sector: Tech}")
        + entry(1, "{sector: Retail}", category="layoff")
        + entry(2, category="layoff")
    )
    layoffs = cat.filter(categories=["layoff"])
    assert layoffs.attributes() == cat.attributes()
    assert "sector" in layoffs.to_frame().columns
    assert [e.id for e in cat.filter(where={"sector": ["Tech", "Energy"]})] == ["e-0"]
    with pytest.raises(KeyError, match="did you mean 'sector'"):
        cat.filter(where={"sectr": "Tech"})


def test_declarations_in_two_files_must_agree() -> None:
    Path("a.yaml").write_text("attributes:\n  phase: {kind: text, known: before}\n")
    Path("b.yaml").write_text("attributes:\n  phase: {kind: text, known: after}\n")
    cat = load_catalog(["a.yaml", "b.yaml"])
    assert [str(p) for p in cat.problems] == [
        "b.yaml:2: field attributes.phase: is declared differently at a.yaml:2 (kind text, "
        "known before): declare each attribute once"
    ]


def test_reserved_names_are_the_table_columns_and_fields() -> None:
    assert set(FRAME_COLUMNS) <= RESERVED_NAMES
    assert {"id", "tickers", "sources", "claims", "benchmark", "attributes"} <= RESERVED_NAMES
    assert not set(STANDARD_ATTRIBUTES) & RESERVED_NAMES


def test_a_catalog_built_by_hand_infers_its_attributes() -> None:
    from backtest.catalog import Event

    e = Event(
        id="x", title="T", description="D", category="earnings", scope="company",
        date="2024-01-02", timing="unknown", tickers=["META"],
        sources=[{"document": "d", "says": "s"}], attributes={"surprise_pct": 2, "mood": "up"},
    )  # fmt: skip
    cat = Catalog(events=(e,))
    assert cat.attributes()["mood"] == AttributeInfo("mood", "text", "at_event", "")
    assert cat.to_frame()["surprise_pct"].tolist() == [2.0]


def test_a_declaration_without_a_kind_takes_the_kind_of_the_values() -> None:
    cat = load(
        "attributes:\n  analyst_count: {known: before}\n  mood: {known: after}\nevents:\n"
        + entry(0, "{analyst_count: 12, mood: happy}")
    )
    assert cat.problems == ()
    assert cat.attributes()["analyst_count"] == AttributeInfo("analyst_count", "number", "before")
    assert cat.attributes()["mood"] == AttributeInfo("mood", "text", "after")
