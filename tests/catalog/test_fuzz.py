"""Hypothesis fuzzing of the catalog parsers: no input, however broken, ends in an internal error.

Every generated file must load into a :class:`~backtest.catalog.Catalog` whose problems are the
project's own (``CatalogProblem``: file, line, entry, field, message), whose events give an
event table, and in which a good entry next to the bad input still loads.
"""

from __future__ import annotations

import csv
import io
import string
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest.catalog import Catalog, load_catalog
from backtest.earnings import read_calendar_text
from backtest.errors import CatalogProblem
from tests.test_catalog_errors import GOOD

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# pieces of YAML that make parsers stumble: tags, anchors, aliases, flow brackets, quotes,
# directives, document markers, tabs, a BOM, control characters, merge keys, odd scalars
_YAML_TOKENS = [
    "events:", "\n", "  ", "- ", "id: ", "title: ", "date: ", "tickers: ", "timing: ",
    "attributes: ", "same_news_as: ", "!!int ", "!!binary ", "!foo ", "!!timestamp ", "!!str ",
    "!!python/name:os.system ", "!!set ", "&a ", "*a", "*b", "<<: ", "[", "]", "{", "}", ",",
    ": ", "? ", "'", '"', "#", "---", "...", "%YAML 1.2\n", "%TAG ! tag:x,2000:\n", "\t",
    "\ufeff", "\x07", "\x00", "META", "meta", "2023-02-30", "2024-04-24", "19:00", "~", ".nan",
    "-.inf", "0x1F", "1e999", "ON", "true", "|\n", ">-\n", "é", "\u2028", "A" * 300,
]  # fmt: skip


GOOD_ENTRY = yaml.safe_load("events:\n" + GOOD)["events"][0]


def _check(catalog: Catalog) -> None:
    assert isinstance(catalog, Catalog)
    for p in catalog.problems:
        assert isinstance(p, CatalogProblem)
        assert p.line >= 1
        assert str(p).startswith(f"{p.file}:{p.line}: ")
    catalog.to_frame()
    catalog.to_records()
    catalog.attributes()


def _load(tmp_path: Path, name: str, data: str | bytes) -> Catalog:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", errors="surrogatepass")
    catalog = load_catalog([path])
    _check(catalog)
    return catalog


@FUZZ
@given(st.lists(st.sampled_from(_YAML_TOKENS), max_size=60))
def test_token_soup_yaml(tmp_path: Path, tokens: list[str]) -> None:
    _load(tmp_path, "soup.yaml", "".join(tokens))


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_yaml_and_csv(tmp_path: Path, data: bytes) -> None:
    _load(tmp_path, "bytes.yaml", data)
    _load(tmp_path, "bytes.csv", data)


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_as_yaml_and_csv(tmp_path: Path, text: str) -> None:
    _load(tmp_path, "text.yaml", text.encode("utf-8", "surrogatepass"))
    _load(tmp_path, "text.csv", text.encode("utf-8", "surrogatepass"))


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["META", "2023-02-30", "19:00", "after_close", "earnings", "x-1", ""]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=10), inner, max_size=4),
    ),
    max_leaves=12,
)
_FIELDS = [
    "id", "title", "description", "category", "scope", "date", "timing", "time", "timezone",
    "tickers", "sources", "claims", "tags", "same_news_as", "follows", "model", "attributes",
    "tikers", "<<",
]  # fmt: skip
_TAGS = ["", "", "", "!!int ", "!!binary ", "!foo ", "!!str ", "!!float ", "!!null "]


@FUZZ
@given(
    entries=st.lists(
        st.dictionaries(st.sampled_from(_FIELDS), _values, min_size=1, max_size=8), max_size=4
    ),
    tags=st.lists(st.sampled_from(_TAGS), min_size=1, max_size=6),
)
def test_entries_with_random_fields_and_tags(
    tmp_path: Path, entries: list[dict[str, Any]], tags: list[str]
) -> None:
    text = yaml.safe_dump({"events": entries}, sort_keys=False, allow_unicode=True)
    lines = text.splitlines(keepends=True)
    for i, tag in enumerate(tags):  # put tags in front of some values
        k = (i * 7) % len(lines)
        if ": " in lines[k] and tag:
            key, rest = lines[k].split(": ", 1)
            lines[k] = f"{key}: {tag}{rest}"
    body = "".join(lines)
    if entries:  # the good entry, in the dumper's own layout, after the bad ones
        body += yaml.safe_dump([GOOD_ENTRY], sort_keys=False)
    catalog = _load(tmp_path, "fields.yaml", body)
    if entries and not [p for p in catalog.problems if not p.entry]:
        # whatever the entries before it hold, the good entry loads, unless one of them took
        # its id (a duplicate id is then the problem)
        assert "good-one" in catalog or any(p.entry == "good-one" for p in catalog.problems)


_cells = st.one_of(
    st.text(alphabet=string.printable, max_size=20),
    st.sampled_from(["META", "meta", "2025-10-29", "2025-02-30", "after_close", "earnings",
                     "8.66", "nan", "inf", "", '"', "a,b", "x\ny", "\ufeff", "1_000"]),
)  # fmt: skip
_COLUMNS = [
    "id", "event_id", "ticker", "tickers", "date", "timing", "time", "timezone", "category",
    "title", "description", "scope", "source", "tags", "same_news_as", "follows", "model",
    "surprise_pct", "sector", "EPS Estimate", "day0", "catgory", "", "Reported EPS",
    "EarningsDate",
]  # fmt: skip


@FUZZ
@given(
    header=st.lists(st.sampled_from(_COLUMNS), min_size=1, max_size=9),
    rows=st.lists(st.lists(_cells, max_size=10), max_size=6),
)
def test_csv_catalogs_with_random_columns_and_cells(
    tmp_path: Path, header: list[str], rows: list[list[str]]
) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    _load(tmp_path, "random.csv", buf.getvalue())


@FUZZ
@given(
    header=st.lists(
        st.sampled_from(
            ["EarningsDate", "Earnings Date", "EPS Estimate", "Reported EPS", "Surprise(%)",
             "Symbol", "Event Type", "Date", "x"]
        ),
        min_size=1,
        max_size=6,
    ),
    rows=st.lists(
        st.lists(
            st.one_of(
                _cells,
                st.sampled_from(["2025-10-29 16:00:00-04:00", "2025-10-29", "2300-01-01",
                                 "2025-13-01 16:00", "Earnings", "Call"]),
            ),
            max_size=7,
        ),
        max_size=6,
    ),
)  # fmt: skip
def test_earnings_calendars_with_random_cells(header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    read = read_calendar_text(buf.getvalue(), "fuzz.csv", default_ticker="META")
    for p in read.problems:
        assert isinstance(p, CatalogProblem)
        assert p.file == "fuzz.csv"
    from backtest.earnings import build_events

    result = build_events(read.rows, include_scheduled=True)
    result.to_csv()
    result.to_yaml()
    result.table()
