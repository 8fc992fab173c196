"""The catalog's YAML reader: lines, duplicate keys, YAML 1.2 scalars, refused tags and aliases.

Expectations are written out by hand from the YAML 1.2 core schema (yaml.org/spec/1.2.2,
section 10.3) and from the file texts; the libyaml and the pure-Python event parsers must give
exactly the same result (hypothesis, on documents PyYAML itself writes).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.catalog import _yaml
from backtest.catalog._yaml import BadValue, YamlSyntaxError, load_yaml_with_lines, plain_scalar


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("19:00", "19:00"),  # YAML 1.1 reads 1140 (base 60)
        ("ON", "ON"),  # YAML 1.1 reads True
        ("NO", "NO"),
        ("yes", "yes"),
        ("2023-02-30", "2023-02-30"),  # YAML 1.1 fails on an impossible timestamp
        ("2024-04-24", "2024-04-24"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("42", 42),
        ("-7", -7),
        ("0o17", 15),
        ("0x1F", 31),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("-.inf", -math.inf),
        ("0777", 777),  # YAML 1.2: decimal, not octal
        ("1_000", "1_000"),  # YAML 1.1 reads 1000
        ("+", "+"),
        ("nan", "nan"),
    ],
)
def test_plain_scalars_follow_the_yaml_1_2_core_schema(text: str, value: object) -> None:
    assert plain_scalar(text) == value
    assert type(plain_scalar(text)) is type(value)


def test_nan_is_a_float() -> None:
    assert math.isnan(plain_scalar(".nan"))


def test_quoted_scalars_stay_text() -> None:
    doc = load_yaml_with_lines("a: '42'\nb: \"true\"\nc: |\n  19:00\n")
    assert doc.data == {"a": "42", "b": "true", "c": "19:00\n"}


def test_lines_of_keys_and_items() -> None:
    text = (
        "events:\n"  # 1
        "  - id: a\n"  # 2
        "    tickers:\n"  # 3
        "      - META\n"  # 4
        "      - MSFT\n"  # 5
        "    sources: [{document: d,\n"  # 6
        "               says: s}]\n"  # 7
    )
    doc = load_yaml_with_lines(text)
    assert doc.lines[("events",)] == 1
    assert doc.lines[("events", 0)] == 2
    assert doc.lines[("events", 0, "id")] == 2
    assert doc.lines[("events", 0, "tickers")] == 3
    assert doc.lines[("events", 0, "tickers", 1)] == 5
    assert doc.lines[("events", 0, "sources", 0, "says")] == 7
    assert doc.line(("events", 0, "tickers", 1, "nothing")) == 5  # the nearest ancestor


def test_duplicate_keys_are_listed_and_the_last_value_kept() -> None:
    doc = load_yaml_with_lines("a: 1\nb:\n  c: 2\n  c: 3\na: 4\n")
    assert doc.duplicate_keys == [(("b", "c"), 4), (("a",), 5)]
    assert doc.data == {"a": 4, "b": {"c": 3}}


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("v: !foo x\n", "!foo"),
        ("v: !!binary aGk=\n", "!!binary"),
        ("v: !!int abc\n", "!!int"),
        ("v: !!int 5\n", "!!int"),  # even where the tag would change nothing but the type
        ("v: !!timestamp 2023-02-30\n", "!!timestamp"),
        ("v: !!python/name:os.system\n", "!!python/name:os.system"),
        ("v: !!python/object/apply:os.system [ls]\n", "!!python/object/apply:os.system"),
        ("v: !!set {a: null}\n", "!!set"),
        ("v: !!omap [a: 1]\n", "!!omap"),
        ("v: !<tag:example.com,2000:x> 1\n", "tag:example.com,2000:x"),
    ],
)
def test_tagged_values_are_refused_not_constructed(text: str, tag: str) -> None:
    doc = load_yaml_with_lines(text)
    assert isinstance(doc.data["v"], BadValue)
    assert doc.bad_values == [
        (
            ("v",),
            1,
            f"the YAML tag {tag} is not allowed in a catalog (values are plain text, numbers, "
            "lists and mappings): remove the tag and write the value as plain text",
        )
    ]


def test_text_tags_are_accepted() -> None:
    doc = load_yaml_with_lines("a: !!str 2023\nb: ! 12\nc: !!map {x: 1}\nd: !!seq [1]\n")
    assert doc.data == {"a": "2023", "b": "12", "c": {"x": 1}, "d": [1]}
    assert doc.bad_values == []


def test_aliases_are_refused_where_they_stand() -> None:
    doc = load_yaml_with_lines("a: &x [1, 2]\nb:\n  - *x\n  - 3\n")
    assert doc.data["a"] == [1, 2]  # an anchor alone is harmless
    assert isinstance(doc.data["b"][0], BadValue)
    assert doc.data["b"][1] == 3
    assert [(p, line) for p, line, _ in doc.bad_values] == [(("b", 0), 3)]


def test_keys_that_are_not_text() -> None:
    doc = load_yaml_with_lines("? [a, b]\n: 1\n2024: x\n*k : y\nz: 1\n")
    assert doc.data == {2024: "x", "z": 1}
    assert [line for _, line, _ in doc.bad_values] == [1, 4]


def test_one_document_per_file() -> None:
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml_with_lines("a: 1\n---\nb: 2\n")
    assert info.value.line == 2


def test_nesting_is_capped_at_the_line_where_it_passes_the_limit() -> None:
    text = "a:\n" + "".join(" " * (i + 1) + "- \n" for i in range(100))
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml_with_lines(text)
    assert info.value.line == 65  # the root mapping, then 63 lists on lines 2..64 are allowed
    load_yaml_with_lines("a: " + "[" * 63 + "]" * 63 + "\n")  # 64 levels with the root: fine


def test_a_reader_error_names_its_line() -> None:
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml_with_lines("a: 1\nb: é ok\nc: \x01\n")
    assert info.value.line == 3


# ------------------------------------------------------------------ both parsers agree

_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=True),
    st.text(max_size=12),
)
_doc = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def _read(text: str, parser: Any) -> Any:
    old = _yaml._make_parser
    _yaml._make_parser = parser
    try:
        return load_yaml_with_lines(text)
    finally:
        _yaml._make_parser = old


@settings(max_examples=200, deadline=None)
@given(doc=_doc, flow=st.booleans())
def test_libyaml_and_python_parsers_give_the_same_data_and_lines(doc: Any, flow: bool) -> None:
    text = yaml.safe_dump({"root": doc}, default_flow_style=flow, allow_unicode=True)
    from yaml._yaml import CParser

    fast, slow = _read(text, CParser), _read(text, _yaml._PyParser)
    assert fast.data == slow.data
    assert fast.lines == slow.lines
    assert fast.duplicate_keys == slow.duplicate_keys
