"""Bad catalog input gets one exact, fixable message per problem, and never stops good entries."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest.catalog import load_catalog
from backtest.errors import CatalogError, CatalogNotFoundError, UnknownEventError

GOOD = """\
  - id: good-one
    title: A good event
    description: Nothing wrong here.
    category: earnings
    scope: company
    date: 2024-04-24
    timing: after_close
    tickers: [META]
    sources:
      - document: 001_f2ff1240febe54e4.txt
        says: Something specific.
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Problems name files relative to the working directory: work in the test's folder."""
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, entry: str, *, with_good: bool = True) -> list[str]:
    """Load a file holding ``entry`` (and a good entry after it); return the problems."""
    text = "events:\n" + textwrap.indent(textwrap.dedent(entry), "  ")
    if with_good:
        text += GOOD
    cat = load_catalog([write(tmp_path, text)])
    if with_good:
        assert "good-one" in cat, "a bad entry must not stop the good one"
    return [str(p) for p in cat.problems]


ENTRY = """\
- id: x-1
  title: T
  description: D
  category: layoff
  scope: company
  date: 2023-03-14
  timing: before_open
  tickers: [META]
  sources:
    - document: doc.txt
      says: S
"""


def entry_with(**changes: str | None) -> str:
    """ENTRY with some top-level fields replaced (value text) or removed (None)."""
    lines = ENTRY.splitlines()
    out = []
    carry = False
    for line in lines:
        key = line[2:].split(":")[0] if line.startswith(("- ", "  ")) and ":" in line else ""
        if key in changes and not line.startswith("    "):
            value = changes[key]
            prefix = "- " if line.startswith("- ") else "  "
            if value is None:
                carry = prefix == "- "  # the next line starts the list item instead
                continue
            if carry:
                prefix, carry = "- ", False
            out.append(f"{prefix}{key}: {value}")
        else:
            out.append("- " + line[2:] if carry else line)
            carry = False
    return "\n".join(out) + "\n"


# lines: 1 "events:", 2 "- id", 3 title, 4 description, 5 category, 6 scope, 7 date, 8 timing,
# 9 tickers, 10 sources


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"title": None},
            "bad.yaml:2: entry x-1: field title: is missing: add a short English title",
        ),
        (
            {"date": "2023-02-30"},
            "bad.yaml:7: entry x-1: field date: '2023-02-30' is not a valid date "
            "(expected YYYY-MM-DD)",
        ),
        (
            {"date": "14/03/2023"},
            "bad.yaml:7: entry x-1: field date: '14/03/2023' is not a date in the form "
            "YYYY-MM-DD (e.g. 2023-07-05)",
        ),
        (
            {"timing": "pre_market"},
            "bad.yaml:8: entry x-1: field timing: 'pre_market' is not a timing (use one of "
            "before_open, during, after_close, unknown, or give an exact time: and timezone:)",
        ),
        (
            {"timing": "after-close"},
            "bad.yaml:8: entry x-1: field timing: 'after-close' is not a timing (use one of "
            "before_open, during, after_close, unknown, or give an exact time: and timezone:); "
            "did you mean 'after_close'?",
        ),
        (
            {"timing": None},
            "bad.yaml:2: entry x-1: when did it happen? add timing (before_open, during, "
            "after_close or unknown) or an exact time: HH:MM with timezone:",
        ),
        (
            {"category": "earning"},
            "bad.yaml:5: entry x-1: field category: 'earning' is not a known category (known: "
            "earnings, layoff, model_launch, product_launch, partnership, policy, trade_summit, "
            "corporate); did you mean 'earnings'?; to add a category, list it under "
            "'categories:' at the top of the file",
        ),
        (
            {"scope": "global"},
            "bad.yaml:6: entry x-1: field scope: 'global' is not a scope: use 'company' for an "
            "announcement by or about a company, 'market' for a market-wide event such as a "
            "summit",
        ),
        (
            {"tickers": "[meta]"},
            "bad.yaml:9: entry x-1: field tickers: tickers[0] 'meta': tickers are upper case as "
            "Yahoo spells them: write 'META'",
        ),
        (
            {"tickers": "[META, 'RDSA.XX']"},
            "bad.yaml:9: entry x-1: field tickers: tickers[1] 'RDSA.XX': unknown exchange "
            "suffix '.XX' (supported: (no suffix) -> XNYS, .DE -> XETR, .HK -> XHKG, "
            ".L -> XLON, .SS -> XSHG, .SZ -> XSHG, .T -> XTKS, .TO -> XTSE)",
        ),
        (
            {"tickers": "['ME TA']"},
            "bad.yaml:9: entry x-1: field tickers: tickers[0] 'ME TA': not a Yahoo ticker "
            "(expected upper case letters and digits, optionally '-', a leading '^' for an "
            "index and an exchange suffix such as '.HK', e.g. 'META', '0700.HK', '^GSPC')",
        ),
        (
            {"tickers": "[META, META]"},
            "bad.yaml:9: entry x-1: field tickers: ticker 'META' is listed twice",
        ),
        (
            {"tickers": "[]"},
            "bad.yaml:9: entry x-1: field tickers: is empty: list at least one ticker (the "
            "first is the primary)",
        ),
        (
            {"tickers": "['^FOO']"},
            "bad.yaml:9: entry x-1: field tickers: tickers[0] '^FOO': unknown index, so its "
            "market cannot be inferred (known indices: ^DJI, ^FTSE, ^GDAXI, ^GSPC, ^GSPTSE, "
            "^HSCE, ^HSI, ^HSTECH, ^IXIC, ^N225, ^NDX, ^NYA, ^RUT, ^SOX, ^SP500TR, ^VIX, "
            "^W5000)",
        ),
        (
            {"id": "Meta Layoffs 2023"},
            "bad.yaml:2: entry Meta Layoffs 2023: field id: 'Meta Layoffs 2023' is not a slug "
            "(lower-case letters, digits and single hyphens, e.g. 'meta-layoffs-2023')",
        ),
        (
            {"id": None},
            "bad.yaml:2: entry #1: field id: is missing: add a unique slug such as "
            "meta-2023-03-14-layoffs",
        ),
        (
            {"date": "1985-01-02"},
            "bad.yaml:7: entry x-1: field date: for META: 1985-01-02 is outside the XNYS "
            "calendar, which covers 1990-01-02 to "
            # the calendar ends a year from today: only the start is fixed
            "",
        ),
    ],
    ids=lambda v: str(v)[:40],
)
def test_field_problems(tmp_path: Path, changes: dict[str, str | None], expected: str) -> None:
    found = problems(tmp_path, entry_with(**changes))
    assert len(found) == 1, found
    assert found[0].startswith(expected) if expected.endswith(" to ") else found[0] == expected


def test_unknown_field_suggests_the_known_one(tmp_path: Path) -> None:
    found = problems(
        tmp_path, ENTRY.replace("  scope: company\n", "  scope: company\n  tikers: [META]\n")
    )
    assert found == [
        "bad.yaml:7: entry x-1: field tikers: is not a known field (known: id, title, "
        "description, category, scope, date, timing, time, timezone, tickers, sources, claims, "
        "tags, same_news_as, model, attributes); did you mean 'tickers'?"
    ]


def test_exact_time_problems(tmp_path: Path) -> None:
    base = entry_with(timing=None).replace(
        "  tickers:", '  time: "25:00"\n  timezone: Asia/Seol\n  tickers:'
    )
    assert problems(tmp_path, base) == [
        "bad.yaml:8: entry x-1: field time: '25:00' is not a time of day (expected HH:MM, "
        "24-hour, e.g. '19:00')",
        "bad.yaml:9: entry x-1: field timezone: 'Asia/Seol' is not a known IANA timezone (e.g. "
        "'America/New_York', 'Asia/Seoul'); did you mean 'Asia/Seoul'?",
    ]
    both = ENTRY.replace("  tickers:", '  time: "10:00"\n  timezone: UTC\n  tickers:')
    assert problems(tmp_path, both) == [
        "bad.yaml:2: entry x-1: give either timing (before_open/during/after_close/unknown) or "
        "an exact time with timezone, not both"
    ]
    no_zone = entry_with(timing=None).replace("  tickers:", '  time: "10:00"\n  tickers:')
    assert problems(tmp_path, no_zone) == [
        "bad.yaml:2: entry x-1: an exact time needs both time and timezone: add timezone"
    ]


def test_unquoted_time_is_read_as_text_not_base_60(tmp_path: Path) -> None:
    # YAML 1.1 would read 19:00 as the integer 1140
    entry = entry_with(timing=None).replace(
        "  tickers:", "  time: 19:00\n  timezone: America/New_York\n  tickers:"
    )
    assert problems(tmp_path, entry) == []


def test_yaml_1_1_booleans_stay_tickers(tmp_path: Path) -> None:
    # ON Semiconductor: YAML 1.1 would read ON as True
    path = write(tmp_path, "events:\n" + textwrap.indent(entry_with(tickers="[ON, NO]"), "  "))
    cat = load_catalog([path], strict=True)
    assert cat.get("x-1").tickers == ("ON", "NO")


def test_source_and_claim_problems(tmp_path: Path) -> None:
    entry = ENTRY + textwrap.indent(
        textwrap.dedent("""\
          claims:
            - ticker: META
              measure: intraday_drop
              value: -0.13
              source: doc.txt
              says: fell 13%
            - ticker: META
              measure: close_to_close
              source: doc.txt
              says: fell
            - ticker: META
              measure: close_to_close
              value: 0.05
              direction: down
              source: doc.txt
              says: contradiction
        """),
        "  ",
    )
    entry = entry.replace("      says: S\n", "      says: S\n      url: http://x\n")
    assert problems(tmp_path, entry) == [
        "bad.yaml:13: entry x-1: field sources[0].url: is not a known field (known: document, "
        "says, note)",
        "bad.yaml:16: entry x-1: field claims[0].measure: 'intraday_drop' is not a known "
        "measure (use one of close_to_close, open_to_close, intraday_low, intraday_high, "
        "market_value_change); did you mean 'intraday_low'?",
        "bad.yaml:20: entry x-1: field claims[1]: a claim needs a value (e.g. -0.13), a "
        "direction (up/down), or both",
        "bad.yaml:24: entry x-1: field claims[2]: direction 'down' contradicts value 0.05 "
        "(which is up)",
    ]


def test_missing_sources_and_empty_text(tmp_path: Path) -> None:
    entry = entry_with(description='"   "').replace(
        "  sources:\n    - document: doc.txt\n      says: S\n", "  sources: []\n"
    )
    assert problems(tmp_path, entry) == [
        "bad.yaml:4: entry x-1: field description: is empty: write an English description in "
        "your own words",
        "bad.yaml:10: entry x-1: field sources: list at least one source (document and what it "
        "says)",
    ]


def test_duplicate_key_in_entry(tmp_path: Path) -> None:
    entry = ENTRY.replace("  scope: company\n", "  scope: company\n  scope: market\n")
    assert problems(tmp_path, entry) == [
        "bad.yaml:7: entry x-1: field scope: appears twice in this entry"
    ]


def test_category_extension(tmp_path: Path) -> None:
    text = "categories: [dividend]\nevents:\n" + textwrap.indent(
        entry_with(category="dividend"), "  "
    )
    cat = load_catalog([write(tmp_path, text)], strict=True)
    assert cat.get("x-1").category == "dividend"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("events:\n  - id: a\n    title: [unclosed\n", "bad.yaml:4: YAML syntax error: "),
        ("", "bad.yaml:1: file is empty: expected a mapping with an 'events:' list"),
        ("- id: a\n", "bad.yaml:1: top level must be a mapping with an 'events:' list"),
        ("event:\n  - id: a\n", "bad.yaml:1: field event: unknown top-level key (allowed: "
         "events, categories, attributes); did you mean 'events'?"),
        ("events: 3\n", "bad.yaml:1: field events: expected a list of entries (- id: ...)"),
        ("events:\n  - just text\n", "bad.yaml:2: entry #1: expected a mapping of fields, got "
         "'just text'"),
    ],
)  # fmt: skip
def test_file_problems(tmp_path: Path, text: str, expected: str) -> None:
    cat = load_catalog([write(tmp_path, text)])
    found = [str(p) for p in cat.problems]
    assert found, found
    assert found[0].startswith(expected), found
    assert len(cat) == 0


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("events:\n  - id: caf\xe9\n".encode("latin-1"))
    found = [str(p) for p in load_catalog([path]).problems]
    assert found == [
        "latin1.yaml:2: not UTF-8 text (invalid continuation byte at byte 19); save as UTF-8"
    ]  # byte 19 is on line 2 (once said to be on line 1)


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    a = write(tmp_path, "events:\n" + GOOD, "a.yaml")
    b = write(tmp_path, "events:\n" + GOOD.replace("A good event", "Again"), "b.yaml")
    cat = load_catalog([a, b])
    assert [str(p) for p in cat.problems] == [
        "b.yaml:2: entry good-one: field id: duplicate id: 'good-one' is already defined at "
        "a.yaml:2; ids must be unique across all catalog files"
    ]
    assert len(cat) == 1
    assert cat.get("good-one").title == "A good event"


def test_duplicate_id_of_an_entry_left_out_is_still_a_duplicate(tmp_path: Path) -> None:
    # the first entry has a bad date: both its problem and the second's duplicate id are
    # reported, and the second never stands in for it (the first definition owns the id)
    bad_first = GOOD.replace("2024-04-24", "2024-02-30")
    second = GOOD.replace("A good event", "Again")
    cat = load_catalog([write(tmp_path, "events:\n" + bad_first + second)])
    assert [str(p) for p in cat.problems] == [
        "bad.yaml:7: entry good-one: field date: '2024-02-30' is not a valid date "
        "(expected YYYY-MM-DD)",
        "bad.yaml:13: entry good-one: field id: duplicate id: 'good-one' is already defined at "
        "bad.yaml:2; ids must be unique across all catalog files",
    ]
    assert len(cat) == 0
    # the same across files
    a = write(tmp_path, "events:\n" + bad_first, "a.yaml")
    b = write(tmp_path, "events:\n" + second, "b.yaml")
    cat = load_catalog([a, b])
    assert [(p.file, p.line, p.entry, p.field) for p in cat.problems] == [
        ("a.yaml", 7, "good-one", "date"),
        ("b.yaml", 2, "good-one", "id"),
    ]
    assert cat.problems[1].message == (
        "duplicate id: 'good-one' is already defined at a.yaml:2; ids must be unique across all "
        "catalog files"
    )
    assert len(cat) == 0


def test_a_duplicate_with_problems_of_its_own_gets_both(tmp_path: Path) -> None:
    second = GOOD.replace("A good event", "Again").replace("after_close", "soon")
    cat = load_catalog([write(tmp_path, "events:\n" + GOOD + second)])
    assert [str(p) for p in cat.problems] == [
        "bad.yaml:13: entry good-one: field id: duplicate id: 'good-one' is already defined at "
        "bad.yaml:2; ids must be unique across all catalog files",
        "bad.yaml:19: entry good-one: field timing: 'soon' is not a timing (use one of "
        "before_open, during, after_close, unknown, or give an exact time: and timezone:)",
    ]
    assert [e.title for e in cat] == ["A good event"]


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    text = "events:\n" + textwrap.indent(
        entry_with(date="2023-13-01") + entry_with(id="x-2", scope="world", timing="soon"), "  "
    )
    cat = load_catalog([write(tmp_path, text)])
    assert [(p.entry, p.field) for p in cat.problems] == [
        ("x-1", "date"),
        ("x-2", "scope"),
        ("x-2", "timing"),
    ]
    with pytest.raises(CatalogError) as info:
        load_catalog([tmp_path / "bad.yaml"], strict=True)
    assert str(info.value).startswith("3 problems in the events catalog:\n  bad.yaml:7:")
    assert len(info.value.problems) == 3


def test_documents_dir_check(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    path = write(tmp_path, "events:\n" + GOOD)
    found = [str(p) for p in load_catalog([path], documents_dir=tmp_path / "docs").problems]
    assert found == [
        f"bad.yaml:2: entry good-one: field sources: document '001_f2ff1240febe54e4.txt' is "
        f"not in {tmp_path / 'docs'}"
    ]


def test_paths_that_do_not_exist(tmp_path: Path) -> None:
    with pytest.raises(CatalogNotFoundError, match="no such catalog file or folder"):
        load_catalog([tmp_path / "nope.yaml"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatalogNotFoundError, match=r"holds no \.yaml, \.yml or \.csv catalog"):
        load_catalog([tmp_path / "empty"])


def test_filter_errors(repo_root: Path) -> None:
    cat = load_catalog([repo_root / "events"])
    with pytest.raises(UnknownEventError, match="did you mean meta-llama-2"):
        cat.filter(ids=["meta-lama-2"])
    with pytest.raises(KeyError, match="did you mean 'category'"):
        cat.filter(where={"categry": "layoff"})
    assert len(cat.filter(where={"tickers": ["AMZN"], "category": "layoff"})) == 2


# ------------------------------------------------------------------ hypothesis

_fields = st.fixed_dictionaries(
    {
        "date": st.dates(min_value=__import__("datetime").date(1995, 1, 1),
                         max_value=__import__("datetime").date(2026, 6, 30)),
        "timing": st.sampled_from(["before_open", "during", "after_close", "unknown"]),
        "tickers": st.lists(st.sampled_from(["META", "MSFT", "0700.HK", "1024.HK", "SPY"]),
                            min_size=1, max_size=3, unique=True),
        "category": st.sampled_from(["earnings", "layoff", "policy"]),
    }
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entries=st.lists(_fields, min_size=1, max_size=6), broken=st.data())
def test_random_catalogs_round_trip_and_isolate_bad_entries(
    tmp_path: Path, entries: list[dict[str, object]], broken: st.DataObject
) -> None:
    docs = []
    for i, f in enumerate(entries):
        docs.append(
            {
                "id": f"ev-{i}",
                "title": f"Event {i}",
                "description": "Generated.",
                "category": f["category"],
                "scope": "company",
                "date": f["date"].isoformat(),  # type: ignore[attr-defined]
                "timing": f["timing"],
                "tickers": f["tickers"],
                "sources": [{"document": "d.txt", "says": "s"}],
            }
        )
    bad = broken.draw(st.integers(min_value=0, max_value=len(docs) - 1))
    field_name = broken.draw(st.sampled_from(["date", "timing", "scope", "tickers"]))
    docs[bad][field_name] = {"date": "2023-02-29", "timing": "noon", "scope": "x",
                             "tickers": ["bad ticker"]}[field_name]  # fmt: skip
    path = write(tmp_path, yaml.safe_dump({"events": docs}, sort_keys=False), "gen.yaml")
    cat = load_catalog([path])
    assert [(p.entry, p.field) for p in cat.problems] == [(f"ev-{bad}", field_name)]
    assert len(cat) == len(docs) - 1
    for e in cat:
        src = docs[int(e.id.split("-")[1])]
        assert e.date.isoformat() == src["date"]
        assert list(e.tickers) == src["tickers"]
        for t in e.tickers:
            assert e.day0(t).date() >= e.date
