"""Every event of the catalog is accounted for on the pages that show it: a ticker's and a
category's counts say how many events there were, how many the study measured, how many it
merged into one observation and how many it dropped (with the reason, on the ticker's page);
a ticker or category whose every event was dropped still has its page and its rows; the
catalog entries left out are counted as entries, their problems listed one a row.

The synthetic world of world.py with five more catalog entries: a second entry of AAA's layoff
news on the same day (merged into one observation with it), an AAA event too early to have an
estimation window, an event of CCC (no price file: a ticker and a category, ``partnership``,
whose only event is dropped), an entry with two problems and one with one problem. The
expected counts are written out by hand from that catalog.
"""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from backtest.job import RunResult, load_config, run_job
from backtest.reports import fmt, write_report
from backtest.reports import tables as T
from tests.reports.world import build

EXTRA = """\
  - id: aaa-layoff-report
    title: Report of AAA's job cuts
    description: A second entry of the same news on the same day.
    category: layoff
    scope: company
    date: 2023-06-06
    timing: before_open
    tickers: [AAA]
    sources:
      - document: toy.txt
        says: AAA cut jobs.
  - id: aaa-early
    title: AAA news too early to measure
    description: An event before the prices give it an estimation window.
    category: layoff
    scope: company
    date: 2022-02-01
    timing: before_open
    tickers: [AAA]
    sources:
      - document: toy.txt
        says: AAA said something.
  - id: ccc-deal
    title: CCC signs a deal
    description: The only event of a ticker without a price file.
    category: partnership
    scope: company
    date: 2023-07-12
    timing: before_open
    tickers: [CCC]
    sources:
      - document: toy.txt
        says: CCC signed.
  - id: bad-two
    title: An entry with two problems
    description: A date that does not exist and a timing that is none.
    category: layoff
    scope: company
    date: 2023-02-30
    timing: sometime
    tickers: [AAA]
    sources:
      - document: toy.txt
        says: Nothing.
  - id: bad-one
    title: An entry with one problem
    description: A timing that is none.
    category: layoff
    scope: company
    date: 2023-03-01
    timing: whenever
    tickers: [BBB]
    sources:
      - document: toy.txt
        says: Nothing.
"""

EARLY_REASON = "only 9 valid estimation-window returns, 100 required"


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    root = tmp_path_factory.mktemp("left_out")
    build(root, strategies=False, catalog=EXTRA)
    return run_job(load_config(root / "run.toml"))


@pytest.fixture(scope="module")
def report(result: RunResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("left_out_report") / "toy"
    write_report(result, out)
    return out


def read(report: Path, name: str) -> str:
    return (report / name).read_text(encoding="utf-8")


def sub_line(page: str) -> str:
    (line,) = re.findall(r'<p class="sub">(.*?)</p>', page, re.S)
    return line


def test_the_world_is_as_described(result: RunResult) -> None:
    """The inputs the other tests rely on: what was measured, merged and dropped."""
    study = result.study
    assert sorted(study.events["event_id"]) == [
        "aaa-launch", "aaa-layoff", "aaa-layoff-report", "bbb-layoff", "bbb-results",
    ]  # fmt: skip
    dropped = study.dropped.set_index("event_id")
    assert sorted(dropped.index) == ["aaa-early", "ccc-deal"]
    assert dropped.loc["aaa-early", "reason"] == EARLY_REASON
    assert dropped.loc["ccc-deal", "stage"] == "prices"
    aaa = study.group_table("ticker").set_index(["group", "window"]).loc[("AAA", "[-1,+1]")]
    assert (aaa["n"], aaa["n_rows"], aaa["merged"]) == (2, 3, 1)
    cp = result.catalog_problems
    assert sorted(zip(cp["entry"], cp["field"], strict=True)) == [
        ("bad-one", "timing"), ("bad-two", "date"), ("bad-two", "timing"),
    ]  # fmt: skip


# ------------------------------------------------------------------------------ A: counts


def test_a_ticker_page_says_events_measured_observations_and_positive(
    result: RunResult, report: Path
) -> None:
    """AAA: 4 catalog events, 3 measured (one dropped), two of them one observation, so the
    CAAR is over 2 observations while all 3 measured CARs are counted for "positive". The old
    page said "2 events measured · 100% of reactions positive"."""
    study = result.study
    g = study.group_table("ticker").set_index(["group", "window"]).loc[("AAA", "[-1,+1]")]
    w = study.windows
    cars = w[(w["ticker"] == "AAA") & (w["window"] == "[-1,+1]")]["car"]
    assert len(cars) == 3
    up = int((cars > 0).sum())
    assert sub_line(read(report, "tickers/AAA.html")) == (
        '4 events: 3 measured, <a href="#dropped">1 dropped</a> · 2 observations (events whose '
        f"windows overlap count once) · CAAR[-1,+1] {fmt.pct(g['value'])}"
        f"{fmt.stars(g['headline_p'])} ({g['headline']}, p {fmt.pval(g['headline_p'])}) · "
        f"{up} of 3 reactions positive "
        "(CAR[-1,+1])"
    )
    # a ticker without merges or drops: no observation count, "0 dropped"
    bbb = sub_line(read(report, "tickers/BBB.html"))
    assert bbb.startswith("2 events: 2 measured, 0 dropped · CAAR[-1,+1] ")
    assert "observation" not in bbb


def test_the_ticker_table_counts_events_measured_dropped_and_positive(
    result: RunResult, report: Path
) -> None:
    t = pd.read_csv(report / "tables" / "tickers.csv").set_index("ticker")
    cols = ["events", "measured", "dropped", "n", "n_rows"]
    assert t.loc["AAA", cols].tolist() == [4, 3, 1, 2, 3]
    assert t.loc["BBB", cols].tolist() == [2, 2, 0, 2, 2]
    w = result.study.windows
    w = w[w["window"] == "[-1,+1]"]
    for ticker in ("AAA", "BBB"):
        cars = w[w["ticker"] == ticker]["car"]
        assert t.loc[ticker, "n_positive"] == (cars > 0).sum()
        assert t.loc[ticker, "positive"] == pytest.approx((cars > 0).sum() / len(cars))
    page = read(report, "index.html")
    row = re.search(r'<tr><td><a href="tickers/AAA.html">AAA</a></td>(.*?)</tr>', page, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert cells[:4] == ["4", "3", "1", "2"]  # events, measured, dropped, n
    up = int((w[w["ticker"] == "AAA"]["car"] > 0).sum())
    assert cells[6] == f"{up} of 3"


# ------------------------------------------------------------------------------ B: catalog


def test_catalog_entries_left_out_are_counted_as_entries(result: RunResult, report: Path) -> None:
    """Three problems in two entries: the report says 2 entries left out, 3 problems."""
    counts = json.loads(read(report, "run.json"))["counts"]
    assert (counts["catalog_entries"], counts["catalog_problems"]) == (2, 3)
    md = read(report, "summary.md")
    assert "; 2 catalog entries (3 problems) and 1 ticker left out (`tables/dropped.csv`" in md
    page = read(report, "index.html")
    assert "<h3>Catalog entries left out (2)</h3>" in page
    assert (
        '<p class="note">3 problems in all, one a row: an entry with several problems has a row '
        "for each.</p>"
    ) in page
    dropped = pd.read_csv(report / "tables" / "dropped.csv")
    assert sorted(dropped[dropped["part"] == "catalog"]["event_id"]) == [
        "bad-one", "bad-two", "bad-two",
    ]  # fmt: skip


def test_catalog_entries_counts_distinct_entries() -> None:
    problems = pd.DataFrame(
        {
            "file": ["a.yaml", "a.yaml", "a.yaml", "b.yaml", "b.yaml"],
            "line": [3, 4, 9, 1, 2],
            "entry": ["x", "x", "y", "x", ""],  # b.yaml's x is another entry; "" a whole file
            "field": ["date", "timing", "id", "date", ""],
            "message": ["m"] * 5,
            "entry_line": [2, 2, 9, 1, 0],
        }
    )
    assert T.catalog_entries(problems) == 3
    assert T.catalog_entries(problems.iloc[:0]) == 0


SHARED_ID = """\
  - id: ddd-twice
    title: The first entry of a shared id, with a problem of its own
    description: A timing that is none.
    category: layoff
    scope: company
    date: 2023-04-03
    timing: sometime
    tickers: [AAA]
    sources:
      - document: toy.txt
        says: Nothing.
  - id: ddd-twice
    title: The second entry of the shared id
    description: Otherwise a good entry.
    category: layoff
    scope: company
    date: 2023-04-04
    timing: before_open
    tickers: [AAA]
    sources:
      - document: toy.txt
        says: Nothing.
  - id: eee-two
    title: An entry with two problems
    description: A date that does not exist and a timing that is none.
    category: layoff
    scope: company
    date: 2023-02-30
    timing: sometime
    tickers: [BBB]
    sources:
      - document: toy.txt
        says: Nothing.
"""


def test_two_entries_sharing_an_id_are_two_entries_left_out(tmp_path: Path) -> None:
    """Both entries of ``ddd-twice`` are left out (the first for its timing, the second as
    a duplicate) and ``eee-two`` has two problems, beside the world's good entries: 3
    entries, 4 problems. The old count merged the two ``ddd-twice`` and said 2."""
    build(tmp_path, strategies=False, catalog=SHARED_ID)
    result = run_job(load_config(tmp_path / "run.toml"))
    cp = result.catalog_problems
    assert sorted(zip(cp["entry"], cp["field"], strict=True)) == [
        ("ddd-twice", "id"), ("ddd-twice", "timing"), ("eee-two", "date"), ("eee-two", "timing"),
    ]  # fmt: skip
    assert "aaa-layoff" in result.catalog  # the good entries are in
    out = tmp_path / "report"
    write_report(result, out)
    counts = json.loads(read(out, "run.json"))["counts"]
    assert (counts["catalog_entries"], counts["catalog_problems"]) == (3, 4)
    assert "; 3 catalog entries (4 problems) and " in read(out, "summary.md")
    assert "<h3>Catalog entries left out (3)</h3>" in read(out, "index.html")


# ------------------------------------------------------------------------------ untraded


def test_a_ticker_page_lists_the_measured_events_no_strategy_traded(tmp_path: Path) -> None:
    """The world's layoff strategy with the second entry of AAA's layoff news: AAA's page
    lists that entry (skipped: one position per entry session) and the product launch (not
    a layoff: the strategy does not select it), not the layoff it traded; BBB's lists its
    results. The old page listed none of them."""
    build(tmp_path, catalog=EXTRA.split("  - id: aaa-early")[0])
    result = run_job(load_config(tmp_path / "run.toml"))
    out = tmp_path / "report"
    write_report(result, out)
    page = read(out, "tickers/AAA.html")
    (section,) = re.findall(r'<section id="untraded">(.*?)</section>', page, re.S)
    assert "<h2>Measured, but traded by no strategy (2)</h2>" in section
    rows = re.findall(r"<tr><td>(.*?)</tr>", section, re.S)
    assert [re.search(r"· ([\w-]+)</div>", r).group(1) for r in rows] == [  # type: ignore[union-attr]
        "aaa-layoff-report", "aaa-launch",
    ]  # fmt: skip
    link = '<a href="../strategies/toy_buy_on_layoffs.html">toy_buy_on_layoffs</a>'
    assert (
        f"<div>{link}: AAA already enters on 2023-06-06 for aaa-layoff (one position per ticker "
        "and entry session; set position.stack = true to trade both)</div>"
    ) in rows[0]
    assert '<td class="nowrap">2023-06-06</td>' in rows[0]
    assert (
        f"<div>not among the events of {link} (its [events] filters or position conditions "
        "leave it out)</div>"
    ) in rows[1]
    bbb = read(out, "tickers/BBB.html")
    (section,) = re.findall(r'<section id="untraded">(.*?)</section>', bbb, re.S)
    assert "<h2>Measured, but traded by no strategy (1)</h2>" in section
    assert "earnings · bbb-results</div>" in section


def test_the_untraded_events_are_listed_when_the_study_failed(tmp_path: Path) -> None:
    """The world's catalog with AAA's second layoff entry, its too-early event and CCC's
    deal, and ``max_loss = 0``: the study fails (2 of 7 rows dropped) while the strategy
    runs. AAA's page still lists the entry the strategy skipped, with its reason, and the
    launch it does not select; the index links the skipped row to AAA's page. The old page
    listed nothing when the study failed."""
    build(tmp_path, catalog=EXTRA.split("  - id: bad-two")[0])
    config = tmp_path / "run.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("[study]\n", "[study]\nmax_loss = 0.0\n"),
        encoding="utf-8",
    )
    result = run_job(load_config(config))
    assert result.study is None
    assert "more than max_loss=0%" in (result.study_error or "")
    out = tmp_path / "report"
    write_report(result, out)
    page = read(out, "tickers/AAA.html")
    (section,) = re.findall(r'<section id="untraded">(.*?)</section>', page, re.S)
    assert "<h2>Traded by no strategy (2)</h2>" in section
    assert "the event study did not run: none was measured" in section
    rows = re.findall(r"<tr><td>(.*?)</tr>", section, re.S)
    assert [re.search(r"· ([\w-]+)</div>", r).group(1) for r in rows] == [  # type: ignore[union-attr]
        "aaa-layoff-report", "aaa-launch",
    ]  # fmt: skip
    link = '<a href="../strategies/toy_buy_on_layoffs.html">toy_buy_on_layoffs</a>'
    assert (
        f"<div>{link}: AAA already enters on 2023-06-06 for aaa-layoff (one position per ticker "
        "and entry session; set position.stack = true to trade both)</div>"
    ) in rows[0]
    assert '<td class="nowrap">2023-06-06</td>' in rows[0]
    assert "aaa-early" not in section  # traded: the study's drop does not matter here
    bbb = read(out, "tickers/BBB.html")
    (section,) = re.findall(r'<section id="untraded">(.*?)</section>', bbb, re.S)
    assert "earnings · bbb-results</div>" in section
    index = read(out, "index.html")
    assert (
        "<tr><td>toy_buy_on_layoffs</td><td>aaa-layoff-report</td>"
        '<td><a href="tickers/AAA.html">AAA</a></td>'
    ) in index


# ------------------------------------------------------------------------------ C: dropped


def test_a_ticker_whose_only_event_was_dropped_has_its_page_and_row(report: Path) -> None:
    page = read(report, "tickers/CCC.html")
    assert sub_line(page) == '1 event: 0 measured, <a href="#dropped">1 dropped</a>'
    assert "<h2>Dropped by the event study (1)</h2>" in page
    row = re.search(r"<tr><td>CCC signs a deal(.*?)</tr>", page, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    assert cells[1:3] == ["2023-07-12", "prices"]
    assert htmllib.unescape(cells[3]).startswith("no prices for CCC: no file CCC.csv in ")
    t = pd.read_csv(report / "tables" / "tickers.csv").set_index("ticker")
    cols = ["events", "measured", "dropped", "n", "n_rows"]
    assert t.loc["CCC", cols].tolist() == [1, 0, 1, 0, 0]
    assert pd.isna(t.loc["CCC", "caar"])
    index = read(report, "index.html")
    assert '<tr><td><a href="tickers/CCC.html">CCC</a></td><td class="num">1</td>' in index
    assert "CCC.html" in read(report, "summary.md")  # listed among the files


def test_a_ticker_page_lists_its_dropped_events(report: Path) -> None:
    page = read(report, "tickers/AAA.html")
    assert '<section id="dropped">' in page
    assert "<h2>Dropped by the event study (1)</h2>" in page
    assert (
        '<tr><td>AAA news too early to measure<div class="muted">layoff · aaa-early</div></td>'
        f'<td class="nowrap">2022-02-01</td><td>estimation</td><td>{EARLY_REASON}</td></tr>'
    ) in page
    assert 'id="dropped"' not in read(report, "tickers/BBB.html")  # nothing dropped there


def test_a_category_whose_only_event_was_dropped_has_its_row(report: Path) -> None:
    cats = pd.read_csv(report / "tables" / "categories.csv").set_index("category")
    assert cats.loc["partnership", ["n", "n_rows", "measured", "dropped"]].tolist() == [0, 0, 0, 1]
    assert pd.isna(cats.loc["partnership", "caar"])
    assert cats.loc["layoff", ["n", "n_rows", "merged", "measured", "dropped"]].tolist() == [
        2, 3, 1, 3, 1,
    ]  # fmt: skip
    assert cats.index[-1] == "partnership"  # after the measured ones
    page = read(report, "index.html")
    assert (
        '<tr><td>partnership <span class="muted nowrap">(0 measured, 1 dropped)</span>\n'
        '<div class="muted">ccc-deal (CCC): no prices for CCC: no file CCC.csv in '
    ) in page
    assert '<tr><td>layoff <span class="muted nowrap">(3 rows, 1 merged, 1 dropped)</span>' in page
    # the first screen counts the kinds measured: 3, not the 4 rows of the table
    assert re.search(r'<p class="big">\d of 3 <span>kinds of news', page)
    md = read(report, "summary.md")
    assert "| partnership | 0 | — | — | — | — | — | 0 | 1 |" in md
    # the dropped rows under "Left out" say their kind and date
    assert (
        '<tr><td>aaa-early</td><td class="nowrap">2022-02-01</td><td>layoff</td>'
        '<td><a href="tickers/AAA.html">AAA</a></td><td>estimation</td>'
        f"<td>{EARLY_REASON}</td></tr>"
    ) in page
