"""CSV catalogs: the same events and the same ``file:line: entry: field`` messages as YAML."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from backtest.catalog import load_catalog


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def write(name: str, text: str, *, newline: str = "\n") -> Path:
    path = Path(name)
    path.write_text(textwrap.dedent(text).replace("\n", newline), encoding="utf-8", newline="")
    return path


def test_a_csv_catalog_reads_every_standard_column_and_attributes() -> None:
    header = (
        "id,ticker,date,timing,time,timezone,category,title,description,scope,source,tags,"
        "eps_estimate,surprise_pct"
    )
    meta = (
        "meta-2025-10-29-earnings,META,2025-10-29,after_close,,,earnings,,,,"
        "Yahoo earnings calendar,,6.67,8.66"
    )
    busan = (
        'busan,"SPY 9988.HK",2025-10-30,,11:00,Asia/Seoul,trade_summit,Busan summit,'
        'Trump and Xi meet.,market,,"trade; china",,'
    )
    csv_path = write("cat.csv", f"{header}\n{meta}\n{busan}\n")
    cat = load_catalog([csv_path])
    assert cat.problems == ()
    summit = cat.get("busan")
    assert summit.tickers == ("SPY", "9988.HK")
    assert summit.tags == ("trade", "china")
    assert summit.time == dt.time(11, 0)
    assert summit.timezone == "Asia/Seoul"
    assert summit.description == "Trump and Xi meet."
    assert summit.sources == ()  # a CSV row may cite no source
    e = cat.get("meta-2025-10-29-earnings")
    assert e.title == "META earnings"  # made from the ticker and the category
    assert e.scope == "company"  # a CSV row's default
    assert e.description == ""
    assert e.sources[0].document == "Yahoo earnings calendar"
    assert e.sources[0].says is None
    assert e.attributes == {"eps_estimate": 6.67, "surprise_pct": 8.66}
    frame = cat.to_frame()
    assert frame[["event_id", "ticker", "market", "timing"]].values.tolist() == [
        ["meta-2025-10-29-earnings", "META", "XNYS", "after_close"],
        ["busan", "SPY", "XNYS", "exact"],
        ["busan", "9988.HK", "XHKG", "exact"],
    ]
    assert frame["time"].isna().tolist() == [True, False, False]
    assert frame["time"].iloc[1] == "11:00"
    # Threads-style reading of the instant: 11:00 in Seoul is 22:00 the day before in New
    # York (after the close: the next session) and 10:00 in Hong Kong (during the session)
    assert frame["day0"].dt.date.astype(str).tolist() == ["2025-10-30"] * 3
    assert frame["surprise_pct"].isna().tolist() == [False, True, True]
    assert frame["eps_estimate"].iloc[0] == 6.67


def test_yaml_requires_what_a_csv_row_may_leave_out() -> None:
    path = write(
        "strict.yaml",
        """\
        events:
          - id: x
            title: T
            category: earnings
            date: 2025-10-29
            timing: unknown
            tickers: [META]
            sources: [{document: d}]
        """,
    )
    assert [str(p) for p in load_catalog([path]).problems] == [
        "strict.yaml:2: entry x: field description: is missing: add an English description in "
        "your own words",
        "strict.yaml:2: entry x: field scope: is missing: add company or market",
        "strict.yaml:8: entry x: field sources[0].says: is missing: add what the source says "
        "(English paraphrase)",
    ]


def test_the_same_event_in_csv_and_yaml_has_the_same_table_row() -> None:
    a = write(
        "a.csv",
        """\
        id,tickers,date,timing,category,title,description,scope,source,tags
        x-1,META MSFT,2025-07-04,during,policy,Bill signed,The bill was signed.,market,doc.txt,"a,b"
        """,
    )
    b = write(
        "b.yaml",
        """\
        events:
          - id: x-1
            title: Bill signed
            description: The bill was signed.
            category: policy
            scope: market
            date: 2025-07-04
            timing: during
            tickers: [META, MSFT]
            tags: [a, b]
            sources: [{document: doc.txt, says: S}]
        """,
    )
    fa = load_catalog([a]).to_frame().drop(columns="file")
    fb = load_catalog([b]).to_frame().drop(columns="file")
    pd.testing.assert_frame_equal(fa, fb)
    assert fa["day0"].dt.date.astype(str).tolist() == ["2025-07-07", "2025-07-07"]  # 4 July


def test_headers_ignore_case_and_accept_aliases_and_a_bom_and_crlf() -> None:
    path = write(
        "odd.csv",
        "\ufeffEvent_ID,Ticker,DATE,Timing,Category,follows\n"
        "a,AMZN,2025-10-27,during,layoff,\n"
        "b,AMZN,2025-10-28,before_open,layoff,a\n",
        newline="\r\n",
    )
    cat = load_catalog([path])
    assert cat.problems == ()
    assert cat.get("b").same_news_as == "a"


def test_problems_name_the_row_line_even_after_a_multiline_cell() -> None:
    path = write(
        "ml.csv",
        "id,ticker,date,timing,category,description\n"
        'a,META,2025-10-29,unknown,earnings,"line one\nline two\nline three"\n'
        "\n"
        "b,META,2025-10-29,noon,earnings,x\n",
    )
    assert [str(p) for p in load_catalog([path]).problems] == [
        "ml.csv:6: entry b: field timing: 'noon' is not a timing (use one of before_open, "
        "during, after_close, unknown, or give an exact time: and timezone:)"
    ]


def test_a_folder_reads_yaml_and_csv_and_declarations_apply_to_both() -> None:
    Path("cat").mkdir()
    write(
        "cat/declare.yaml",
        """\
        categories: [fda_approval]
        attributes:
          phase: {kind: text, known: before, description: trial phase}
        """,
    )
    write(
        "cat/rows.csv",
        """\
        id,ticker,date,timing,category,phase
        a,MRNA,2024-05-31,before_open,fda_approval,3
        """,
    )
    cat = load_catalog(["cat"])
    assert cat.problems == ()
    assert cat.get("a").attributes == {"phase": "3"}  # declared text: '3' stays text
    assert cat.attributes()["phase"].known == "before"
    assert cat.files == ("cat/declare.yaml", "cat/rows.csv")


def test_one_bad_row_never_stops_the_others() -> None:
    rows = "\n".join(
        f"e-{i},META,2024-01-{i + 1:02d},{'soon' if i % 3 == 0 else 'unknown'},earnings"
        for i in range(9)
    )
    path = write("many.csv", "id,ticker,date,timing,category\n" + rows + "\n")
    cat = load_catalog([path])
    assert [e.id for e in cat] == ["e-1", "e-2", "e-4", "e-5", "e-7", "e-8"]
    assert [(p.line, p.entry, p.field) for p in cat.problems] == [
        (2, "e-0", "timing"),
        (5, "e-3", "timing"),
        (8, "e-6", "timing"),
    ]


def test_duplicate_ids_across_yaml_and_csv() -> None:
    a = write("a.csv", "id,ticker,date,timing,category\nx,META,2024-01-02,unknown,earnings\n")
    b = write("b.csv", "id,ticker,date,timing,category\nx,MSFT,2024-01-03,unknown,earnings\n")
    assert [str(p) for p in load_catalog([a, b]).problems] == [
        "b.csv:2: entry x: field id: duplicate id: 'x' is already defined at a.csv:2; ids must "
        "be unique across all catalog files"
    ]


def test_duplicate_id_of_a_row_left_out_is_still_a_duplicate() -> None:
    path = write(
        "rows.csv",
        "id,ticker,date,timing,category\n"
        "x,META,2024-02-30,unknown,earnings\n"
        "x,MSFT,2024-01-03,unknown,earnings\n",
    )
    cat = load_catalog([path])
    assert [str(p) for p in cat.problems] == [
        "rows.csv:2: entry x: field date: '2024-02-30' is not a valid date (expected YYYY-MM-DD)",
        "rows.csv:3: entry x: field id: duplicate id: 'x' is already defined at rows.csv:2; ids "
        "must be unique across all catalog files",
    ]
    assert len(cat) == 0
