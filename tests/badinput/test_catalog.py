# ruff: noqa: E501  (the expected messages are kept whole, as a user reads them)
"""Bad catalog files: one small file per case in ``tests/badinput/catalog``, the exact outcome.

Each case gives the ids that still load and every problem as ``evbt events validate`` prints
it (``file:line: entry <id>: field <name>: what is wrong and how to fix it``). Bad entries never
stop the good ones (most files end with a good entry, ``good-one``), and nothing ends in an
internal error. The FIFO, the folder holding a FIFO and the 20,000 nested brackets are made at
run time (git keeps none of them, and the brackets would not be a small file).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from backtest.catalog import load_catalog
from backtest.catalog._yaml import BadValue, load_yaml_with_lines
from backtest.errors import CatalogNotFoundError
from backtest.markets import get_calendar

HERE = Path(__file__).resolve().parent / "catalog"


def _xnys() -> str:
    sessions = get_calendar("XNYS").sessions
    return f"{sessions[0].date()} to {sessions[-1].date()}"


# file: (ids that load, problems in order)
CASES: dict[str, tuple[list[str], list[str]]] = {
    "alias.yaml": (
        ["x-1", "good-one"],
        [
            "alias.yaml:20: entry x-2: field tickers: the YAML alias *t is not allowed in a catalog: write the value out in full (aliases can expand a small file into an enormous one)",
        ],
    ),
    "alias_bomb.yaml": (
        [],
        [
            "alias_bomb.yaml:1: field a: unknown top-level key (allowed: events, categories, attributes)",
            "alias_bomb.yaml:2: field b: unknown top-level key (allowed: events, categories, attributes)",
            "alias_bomb.yaml:3: field c: unknown top-level key (allowed: events, categories, attributes)",
            "alias_bomb.yaml:4: field d: unknown top-level key (allowed: events, categories, attributes)",
            "alias_bomb.yaml:5: field e: unknown top-level key (allowed: events, categories, attributes)",
            "alias_bomb.yaml:6: field f: unknown top-level key (allowed: events, categories, attributes)",
            "alias_bomb.yaml:7: field g: unknown top-level key (allowed: events, categories, attributes)",
            "alias_bomb.yaml:8: field h: unknown top-level key (allowed: events, categories, attributes)",
            "alias_bomb.yaml:9: field i: unknown top-level key (allowed: events, categories, attributes)",
            "alias_bomb.yaml:10: field events: the YAML alias *i is not allowed in a catalog: write the value out in full (aliases can expand a small file into an enormous one)",
        ],
    ),
    "attribute_bad_name.yaml": (
        ["good-one"],
        [
            "attribute_bad_name.yaml:13: entry x-1: field attributes.Surprise %: 'Surprise %' is not an attribute name (lower-case letters, digits and underscores, starting with a letter, e.g. 'surprise')",
        ],
    ),
    "attribute_list_value.yaml": (
        ["good-one"],
        [
            "attribute_list_value.yaml:13: entry x-1: field attributes.analysts: expected a number or a text, got a list",
        ],
    ),
    "attribute_nan.yaml": (
        ["good-one"],
        [
            "attribute_nan.yaml:13: entry x-1: field attributes.surprise_pct: nan is not a finite number (NaN or infinite): write a number, or leave the value out when it is not known",
        ],
    ),
    "attribute_reserved_name.yaml": (
        ["good-one"],
        [
            "attribute_reserved_name.yaml:13: entry x-1: field attributes.benchmark: 'benchmark' is a standard field or column of evbt, not an attribute: give the attribute another name",
        ],
    ),
    "attribute_text_for_number.yaml": (
        ["good-one"],
        [
            "attribute_text_for_number.yaml:13: entry x-1: field attributes.surprise_pct: 'n/a' is not a number, and surprise_pct holds numbers: write a number, or leave the value out when it is not known",
        ],
    ),
    "attribute_yes_no.yaml": (
        ["good-one"],
        [
            "attribute_yes_no.yaml:13: entry x-1: field attributes.guided_down: 'true' is a yes/no value; attributes are numbers or text: write it as text (e.g. 'yes') or as 1/0",
        ],
    ),
    "attributes_not_a_mapping.yaml": (
        ["good-one"],
        [
            "attributes_not_a_mapping.yaml:13: entry x-1: field attributes: expected a mapping of attribute names to values (e.g. {surprise_pct: 8.66}), got [8.66]",
        ],
    ),
    "bad_timezone.yaml": (
        ["good-one"],
        [
            "bad_timezone.yaml:13: entry x-1: field timezone: 'Asia/Seol' is not a known IANA timezone (e.g. 'America/New_York', 'Asia/Seoul'); did you mean 'Asia/Seoul'?",
        ],
    ),
    "bom.yaml": (
        ["good-one"],
        [],
    ),
    "comments_only.yaml": (
        [],
        [
            "comments_only.yaml:1: file is empty: expected a mapping with an 'events:' list",
        ],
    ),
    "complex_key.yaml": (
        ["good-one"],
        [
            "complex_key.yaml:13: entry x-1: a key must be plain text (found a list or mapping used as a key)",
        ],
    ),
    "control_character.yaml": (
        [],
        [
            "control_character.yaml:3: YAML error: the character '\\x07' (code 7) is not allowed in a YAML file (control characters other than tab and newline): remove it",
        ],
    ),
    "csv_bad_attribute_column.csv": (
        ["a"],
        [
            "csv_bad_attribute_column.csv:1: field EPS Estimate: 'EPS Estimate' is not an attribute name (lower-case letters, digits and underscores, starting with a letter, e.g. 'eps_estimate'); the column is left out",
            "csv_bad_attribute_column.csv:1: field day0: is computed by evbt (from the date, timing and tickers), not read: remove the column",
            "csv_bad_attribute_column.csv:1: field catgory: is not a catalog column; did you mean 'category'? (every other column is an attribute, but this one looks like a misspelt field: rename it)",
        ],
    ),
    "csv_bom.csv": (
        ["a"],
        [],
    ),
    "csv_duplicate_column.csv": (
        [],
        [
            "csv_duplicate_column.csv:1: column(s) tickers appear twice in the header (an alias such as ticker/tickers or id/event_id counts as the same column): keep one",
        ],
    ),
    "csv_earnings_calendar.csv": (
        [],
        [
            "csv_earnings_calendar.csv:1: this is an earnings calendar saved from yfinance (get_earnings_dates), not a catalog: import it with `evbt events import earnings --from FILE --out earnings.csv`, or pass it as confounders",
        ],
    ),
    "csv_empty.csv": (
        [],
        [
            "csv_empty.csv:1: file is empty: a CSV catalog needs the columns id, ticker (or tickers), date, timing (or time and timezone) and category, and may add title, description, scope, source, tags, same_news_as, model and attribute columns",
        ],
    ),
    "csv_exact_time.csv": (
        ["a"],
        [
            "csv_exact_time.csv:3: entry b: an exact time needs both time and timezone: add timezone",
        ],
    ),
    "csv_follows.csv": (
        ["report", "news"],
        [
            "csv_follows.csv:4: entry wrong: field follows: 'report' shares no ticker with this entry (AMZN vs META): same_news_as joins two entries about one company's news",
        ],
    ),
    "csv_good_and_bad_rows.csv": (
        ["ok-1", "ok-2"],
        [
            "csv_good_and_bad_rows.csv:3: entry bad-1: field ticker: tickers[0] 'meta': tickers are upper case as Yahoo spells them: write 'META'",
            "csv_good_and_bad_rows.csv:3: entry bad-1: field surprise_pct: 'n/a' is not a number, and surprise_pct holds numbers: write a number, or leave the value out when it is not known",
            "csv_good_and_bad_rows.csv:4: entry bad-2: field date: '2025-02-30' is not a valid date (expected YYYY-MM-DD)",
            "csv_good_and_bad_rows.csv:4: entry bad-2: field timing: 'soon' is not a timing (use one of before_open, during, after_close, unknown, or give an exact time: and timezone:)",
        ],
    ),
    "csv_header_only.csv": (
        [],
        [],
    ),
    "csv_long_ticker.csv": (
        [],
        [
            "csv_long_ticker.csv:2: entry a: field ticker: tickers[0] 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...' (252 chars): is 252 characters long; Yahoo tickers have at most 20 (e.g. 'META', 'BRK-B', '0700.HK', '^GSPC')",
        ],
    ),
    "csv_missing_columns.csv": (
        [],
        [
            "csv_missing_columns.csv:1: missing column(s) date, category: a CSV catalog needs the columns id, ticker (or tickers), date, timing (or time and timezone) and category, and may add title, description, scope, source, tags, same_news_as, model and attribute columns",
        ],
    ),
    "csv_multiline_cell.csv": (
        ["a"],
        [
            "csv_multiline_cell.csv:4: entry b: field date: '2025-13-01' is not a valid date (expected YYYY-MM-DD)",
        ],
    ),
    # a NUL or a byte that is not UTF-8 is a problem of its row, not of the file (once: "csv_nul.csv:3:
    # contains a NUL character: this is not a text CSV file", and no entry loaded)
    "csv_nul.csv": (
        ["a"],
        [
            "csv_nul.csv:3: entry #2: field id: contains a NUL character: remove it (a CSV file is text)",
        ],
    ),
    "csv_nul_in_a_cell.csv": (
        ["a", "c"],
        [
            "csv_nul_in_a_cell.csv:3: entry b: field ticker: contains a NUL character: remove it (a CSV file is text)",
        ],
    ),
    "csv_not_utf8_row.csv": (
        ["a", "c"],
        [
            "csv_not_utf8_row.csv:3: entry b: field title: not UTF-8 text (byte 0xe9); save the file as UTF-8",
        ],
    ),
    # a spreadsheet's semicolons or tabs: said as such (once "missing column(s) id, ticker, ...")
    "csv_semicolons.csv": (
        [],
        [
            'csv_semicolons.csv:1: the header\'s columns are separated by semicolons (;), but evbt reads comma-separated CSV: save the file with commas between the cells (in a spreadsheet, export "CSV UTF-8 (comma delimited)")',
        ],
    ),
    "csv_semicolons_quoted.csv": (
        [],
        [
            'csv_semicolons_quoted.csv:1: the header\'s columns are separated by semicolons (;), but evbt reads comma-separated CSV: save the file with commas between the cells (in a spreadsheet, export "CSV UTF-8 (comma delimited)")',
        ],
    ),
    "csv_tabs.csv": (
        [],
        [
            'csv_tabs.csv:1: the header\'s columns are separated by tabs, but evbt reads comma-separated CSV: save the file with commas between the cells (in a spreadsheet, export "CSV UTF-8 (comma delimited)")',
        ],
    ),
    "csv_not_utf8_header.csv": (
        [],
        [
            "csv_not_utf8_header.csv:1: column 5 of the header: not UTF-8 text (byte 0xe9); save the file as UTF-8",
        ],
    ),
    "csv_ragged_row.csv": (
        ["c"],
        [
            "csv_ragged_row.csv:2: entry a: has 4 cells, but the header has 5 columns: check for a missing or extra comma (quote a cell that holds a comma)",
            "csv_ragged_row.csv:3: entry b: has 6 cells, but the header has 5 columns: check for a missing or extra comma (quote a cell that holds a comma)",
        ],
    ),
    "csv_tickers_and_tags.csv": (
        ["a"],
        [],
    ),
    # a row that is not CSV costs that row only: reading goes on from the next line (once "this
    # row and the rows after it are not read", and c was lost)
    "csv_unclosed_quote.csv": (
        ["a", "c"],
        [
            "csv_unclosed_quote.csv:3: entry b: not a readable CSV row (a quote opened on this line is never closed): check its quotes (a quoted cell must be closed with a quote); the next line is read as the next row",
        ],
    ),
    "csv_text_after_quote.csv": (
        ["a", "c", "d"],
        [
            "csv_text_after_quote.csv:3: entry b: not a readable CSV row (',' expected after '\"'): check its quotes (a quoted cell must be closed with a quote); the next line is read as the next row",
        ],
    ),
    "date_outside_calendar.yaml": (
        ["good-one"],
        [
            "date_outside_calendar.yaml:7: entry x-1: field date: for META: 1985-01-02 is outside the XNYS calendar, which covers {xnys}; events must fall inside that range",
        ],
    ),
    "declaration_bad_known.yaml": (
        ["good-one"],
        [
            "declaration_bad_known.yaml:2: field attributes.analyst_count.known: 'later' is not when the value is known (use before, at_event or after); did you mean 'after'?",
        ],
    ),
    "declaration_unknown_key.yaml": (
        ["good-one"],
        [
            "declaration_unknown_key.yaml:2: field attributes.analyst_count.when: is not a known field (known: kind, known, description)",
        ],
    ),
    "declared_number_gets_text.yaml": (
        ["good-one"],
        [
            "declared_number_gets_text.yaml:15: entry x-1: field attributes.analyst_count: 'many' is not a number, and analyst_count holds numbers: write a number, or leave the value out when it is not known",
        ],
    ),
    "duplicate_key.yaml": (
        ["good-one"],
        [
            "duplicate_key.yaml:13: entry x-1: field scope: appears twice in this entry",
        ],
    ),
    "empty.yaml": (
        [],
        [
            "empty.yaml:1: file is empty: expected a mapping with an 'events:' list",
        ],
    ),
    "entry_not_a_mapping.yaml": (
        ["good-one"],
        [
            "entry_not_a_mapping.yaml:2: entry #1: expected a mapping of fields, got 'just text'",
        ],
    ),
    "events_not_a_list.yaml": (
        [],
        [
            "events_not_a_list.yaml:1: field events: expected a list of entries (- id: ...)",
        ],
    ),
    "impossible_date.yaml": (
        ["good-one"],
        [
            "impossible_date.yaml:7: entry x-1: field date: '2023-02-30' is not a valid date (expected YYYY-MM-DD)",
        ],
    ),
    "long_ticker.yaml": (
        ["good-one"],
        [
            "long_ticker.yaml:9: entry x-1: field tickers: tickers[0] 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...' (252 chars): is 252 characters long; Yahoo tickers have at most 20 (e.g. 'META', 'BRK-B', '0700.HK', '^GSPC')",
        ],
    ),
    "merge_key.yaml": (
        ["x-1", "good-one"],
        [
            "merge_key.yaml:14: entry x-2: field <<: YAML merge keys (<<) are not supported in a catalog: write the entry's fields out in full",
        ],
    ),
    "misspelt_field.yaml": (
        ["good-one"],
        [
            "misspelt_field.yaml:13: entry x-1: field tikers: is not a known field (known: id, title, description, category, scope, date, timing, time, timezone, tickers, sources, claims, tags, same_news_as, model, attributes); did you mean 'tickers'?",
        ],
    ),
    "model_unknown.yaml": (
        ["good-one"],
        [
            "model_unknown.yaml:13: entry x-1: field model: 'market_model' is not a normal-return model (use one of market, market_adjusted, constant_mean, raw, factor); did you mean 'market_adjusted'?",
        ],
    ),
    "multi_document.yaml": (
        [],
        [
            "multi_document.yaml:13: a catalog file holds one YAML document, but another starts here (---): put every entry under the one events: list, or split the file",
        ],
    ),
    "not_utf8.yaml": (
        [],
        [
            # byte 19 is on line 2 ("  - id: caf\xe9"; once said to be on line 1)
            "not_utf8.yaml:2: not UTF-8 text (invalid continuation byte at byte 19); save as UTF-8",
        ],
    ),
    "not_utf8_later_line.yaml": (  # a YAML file that cannot be decoded is not read at all
        [],
        [
            "not_utf8_later_line.yaml:10: not UTF-8 text (invalid continuation byte at byte 212); save as UTF-8",
        ],
    ),
    "same_news_and_follows.yaml": (
        ["x-1", "good-one"],
        [
            "same_news_and_follows.yaml:25: entry x-2: field follows: give same_news_as or follows (two names of one field), not both",
        ],
    ),
    "same_news_bad_target.yaml": (
        ["good-one"],
        [
            "same_news_bad_target.yaml:6: entry x-1: field scope: 'global' is not a scope: use 'company' for an announcement by or about a company, 'market' for a market-wide event such as a summit",
            "same_news_bad_target.yaml:24: entry x-2: field follows: 'x-1' (same_news_bad_target.yaml:2) is left out because of its own problems: fix it first",
        ],
    ),
    "same_news_circle.yaml": (
        ["good-one"],
        [
            "same_news_circle.yaml:13: entry x-1: field same_news_as: same_news_as entries name each other in a circle (x-1 -> x-2 -> x-1): the earlier entry names no other",
            "same_news_circle.yaml:25: entry x-2: field same_news_as: same_news_as entries name each other in a circle (x-2 -> x-1 -> x-2): the earlier entry names no other",
        ],
    ),
    "same_news_itself.yaml": (
        ["good-one"],
        [
            "same_news_itself.yaml:2: entry x-1: same_news_as names this entry itself ('x-1'): name the earlier entry that is the same piece of news",
        ],
    ),
    "same_news_later.yaml": (
        ["x-2", "good-one"],
        [
            "same_news_later.yaml:13: entry x-1: field same_news_as: 'x-2' (2023-03-15) is later than this entry (2023-03-14): put same_news_as on the later entry, naming the earlier one",
        ],
    ),
    "same_news_other_ticker.yaml": (
        ["x-1", "good-one"],
        [
            "same_news_other_ticker.yaml:24: entry x-2: field same_news_as: 'x-1' shares no ticker with this entry (META vs MSFT): same_news_as joins two entries about one company's news",
        ],
    ),
    "same_news_unknown_id.yaml": (
        ["good-one"],
        [
            "same_news_unknown_id.yaml:13: entry x-1: field same_news_as: 'x-9' is not an id in the loaded catalog; name the earlier entry this one repeats (load its file too)",
        ],
    ),
    "syntax_error.yaml": (
        [],
        [
            "syntax_error.yaml:4: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)",
        ],
    ),
    "tag_binary.yaml": (
        ["good-one"],
        [
            "tag_binary.yaml:4: entry x-1: field description: the YAML tag !!binary is not allowed in a catalog (values are plain text, numbers, lists and mappings): remove the tag and write the value as plain text",
        ],
    ),
    "tag_int_on_text.yaml": (
        ["good-one"],
        [
            "tag_int_on_text.yaml:3: entry x-1: field title: the YAML tag !!int is not allowed in a catalog (values are plain text, numbers, lists and mappings): remove the tag and write the value as plain text",
        ],
    ),
    "tag_local.yaml": (
        ["good-one"],
        [
            "tag_local.yaml:3: entry x-1: field title: the YAML tag !foo is not allowed in a catalog (values are plain text, numbers, lists and mappings): remove the tag and write the value as plain text",
        ],
    ),
    "tag_on_key.yaml": (
        ["good-one"],
        [
            "tag_on_key.yaml:13: entry x-1: field dGFncw==: the YAML tag !!binary is not allowed in a catalog (values are plain text, numbers, lists and mappings): remove the tag and write the value as plain text",
        ],
    ),
    "tag_on_list.yaml": (
        ["good-one"],
        [
            "tag_on_list.yaml:9: entry x-1: field tickers: the YAML tag !!set is not allowed in a catalog (values are plain text, numbers, lists and mappings): remove the tag and write the value as plain text",
        ],
    ),
    "tag_python_name.yaml": (
        ["good-one"],
        [
            "tag_python_name.yaml:5: entry x-1: field category: the YAML tag !!python/name:os.system is not allowed in a catalog (values are plain text, numbers, lists and mappings): remove the tag and write the value as plain text",
        ],
    ),
    "tag_str_is_text.yaml": (
        ["x-1", "good-one"],
        [],
    ),
    "tag_timestamp.yaml": (
        ["good-one"],
        [
            "tag_timestamp.yaml:7: entry x-1: field date: the YAML tag !!timestamp is not allowed in a catalog (values are plain text, numbers, lists and mappings): remove the tag and write the value as plain text",
        ],
    ),
    "tags_in_one_text.yaml": (
        ["good-one"],
        [
            "tags_in_one_text.yaml:13: entry x-1: field tags: 'meta, ai' holds several tags in one text: write them as a list, e.g. [meta, ai]",
        ],
    ),
    "ticker_as_text.yaml": (
        ["x-1"],
        [],
    ),
    "tickers_in_one_text.yaml": (
        ["good-one"],
        [
            "tickers_in_one_text.yaml:9: entry x-1: field tickers: 'META, MSFT' holds several tickers in one text: write them as a list, e.g. [META, MSFT]",
        ],
    ),
    "top_level_list.yaml": (
        [],
        [
            "top_level_list.yaml:1: top level must be a mapping with an 'events:' list",
        ],
    ),
    "unknown_field.yaml": (
        ["good-one"],
        [
            "unknown_field.yaml:13: entry x-1: field sector: is not a known field (known: id, title, description, category, scope, date, timing, time, timezone, tickers, sources, claims, tags, same_news_as, model, attributes); to record a fact of your own, put it under attributes:",
        ],
    ),
    "unknown_top_level.yaml": (
        [],
        [
            "unknown_top_level.yaml:1: field event: unknown top-level key (allowed: events, categories, attributes); did you mean 'events'?",
            "unknown_top_level.yaml:1: field events: is missing: add an 'events:' list of entries",
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_bad_file_gives_its_exact_messages(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    ids, expected = CASES[name]
    catalog = load_catalog([name])
    assert [e.id for e in catalog] == ids
    assert [str(p) for p in catalog.problems] == [m.replace("{xnys}", _xnys()) for m in expected]
    catalog.to_frame()  # what loaded is usable


def test_the_corpus_and_the_cases_match() -> None:
    assert sorted(os.listdir(HERE)) == sorted(CASES)


def test_the_alias_bomb_is_353_bytes_and_never_expanded() -> None:
    text = (HERE / "alias_bomb.yaml").read_text(encoding="utf-8")
    assert len(text.encode()) == 353
    doc = load_yaml_with_lines(text)
    # nine levels of nine aliases would be 9**9 (387 million) strings; here each alias is one
    # refused value and nothing is built from it
    assert len(doc.data["i"]) == 9
    assert all(isinstance(v, BadValue) for v in doc.data["i"])
    assert isinstance(doc.data["events"], BadValue)
    assert len(doc.bad_values) == 8 * 9 + 1


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("events: " + "[" * 20_000 + "]" * 20_000 + "\n", 1),
        ("events:\n" + "".join(" " * (2 * i) + "-\n" for i in range(20_000)), 65),
        ("events: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n", 1),
    ],
    ids=["flow lists", "block lists", "flow mappings"],
)
def test_deep_nesting_is_one_problem_not_a_recursion_error(
    text: str, line: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("deep.yaml").write_text(text, encoding="utf-8")
    catalog = load_catalog(["deep.yaml"])
    assert [str(p) for p in catalog.problems] == [
        f"deep.yaml:{line}: lists and mappings are nested more than 64 levels deep here; a "
        "catalog needs no more than a few levels"
    ]


def _in_time(target: object, seconds: float = 20.0) -> object:
    """``target()`` in a thread; fail (instead of hanging the suite) if it does not return."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(_call(target)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "reading the catalog hung"
    return result[0]


def _call(target: object) -> object:
    try:
        return target()  # type: ignore[operator]
    except Exception as exc:
        return exc


def test_a_fifo_named_as_a_catalog_is_refused_without_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkfifo("events.yaml")
    outcome = _in_time(lambda: load_catalog(["events.yaml"]))
    assert isinstance(outcome, CatalogNotFoundError)
    assert str(outcome) == (
        "events.yaml: is not a regular file (a FIFO, device or socket): pass a catalog file or "
        "folder"
    )


def test_a_fifo_inside_a_catalog_folder_is_a_problem_and_the_rest_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("events").mkdir()
    os.mkfifo("events/pipe.csv")
    Path("events/good.yaml").write_bytes((HERE / "bom.yaml").read_bytes())
    outcome = _in_time(lambda: load_catalog(["events"]))
    assert not isinstance(outcome, Exception), outcome
    assert [e.id for e in outcome] == ["good-one"]  # type: ignore[attr-defined]
    assert [str(p) for p in outcome.problems] == [  # type: ignore[attr-defined]
        "events/pipe.csv:1: is not a regular file (a FIFO, device, socket or folder): a catalog "
        "must be a file"
    ]
