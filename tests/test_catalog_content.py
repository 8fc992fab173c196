"""The shipped catalog holds every documented moment, dated, sourced and mapped to sessions.

The expected rows below are typed from the issue's table (dates checked against the seed texts
and the public record), not read from the catalog.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from backtest.catalog import Catalog, load_catalog

D = dt.date

SEED = {
    "000": "000_c2e859ef5828954b.txt",
    "001": "001_f2ff1240febe54e4.txt",
    "002": "002_a039f21b21562e75.txt",
    "003": "003_eb431bd16ef13238.txt",
    "004": "004_dbb6ea3955af6193.txt",
}

# id, date, timing, tickers, seeds, category
EXPECTED = [
    ("meta-2022q1-results", D(2022, 4, 27), "after_close", ["META"], ["001"], "earnings"),
    ("meta-2022q3-results", D(2022, 10, 26), "after_close", ["META"], ["002"], "earnings"),
    ("meta-2022q4-results", D(2023, 2, 1), "after_close", ["META"], ["004"], "earnings"),
    ("meta-2023q1-results", D(2023, 4, 26), "after_close", ["META"], ["001"], "earnings"),
    ("meta-2023q2-results", D(2023, 7, 26), "after_close", ["META"], ["001", "004"], "earnings"),
    ("meta-2023q3-results", D(2023, 10, 25), "after_close", ["META"], ["002"], "earnings"),
    ("meta-2024q1-results", D(2024, 4, 24), "after_close", ["META"], ["001"], "earnings"),
    ("meta-2025q3-results", D(2025, 10, 29), "after_close", ["META"], ["000"], "earnings"),
    ("msft-fy26q1-results", D(2025, 10, 29), "after_close", ["MSFT"], ["000"], "earnings"),
    ("googl-2025q3-results", D(2025, 10, 29), "after_close", ["GOOGL"], ["000"], "earnings"),
    ("kuaishou-2024-interim-results", D(2024, 8, 20), "after_close", ["1024.HK"], ["003"],
     "earnings"),
    ("kuaishou-2024q3-results", D(2024, 11, 20), "after_close", ["1024.HK"], ["003"],
     "earnings"),
    ("meta-2022-11-layoffs", D(2022, 11, 9), "before_open", ["META"], ["002"], "layoff"),
    ("meta-2023-03-layoffs", D(2023, 3, 14), "before_open", ["META"], ["002"], "layoff"),
    ("meta-2025-10-ai-layoffs", D(2025, 10, 22), "during", ["META"], ["000"], "layoff"),
    ("amzn-2025-10-layoffs-report", D(2025, 10, 27), "during", ["AMZN"], ["000"], "layoff"),
    ("amzn-2025-10-layoffs", D(2025, 10, 28), "before_open", ["AMZN"], ["000"], "layoff"),
    ("meta-make-a-video", D(2022, 9, 29), "during", ["META"], ["002"], "model_launch"),
    ("meta-llama", D(2023, 2, 24), "during", ["META"], ["002", "004"], "model_launch"),
    ("openai-gpt-4", D(2023, 3, 14), "during", ["MSFT"], ["001"], "model_launch"),
    ("meta-segment-anything", D(2023, 4, 5), "during", ["META"], ["002"], "model_launch"),
    ("meta-dinov2", D(2023, 4, 17), "during", ["META"], ["002"], "model_launch"),
    ("meta-llama-2", D(2023, 7, 18), "during", ["META", "MSFT"], ["001", "002", "004"],
     "model_launch"),
    ("meta-threads", D(2023, 7, 5), "19:00 America/New_York", ["META"], ["004"],
     "product_launch"),
    ("meta-quest-3", D(2023, 9, 27), "during", ["META"], ["001", "002"], "product_launch"),
    ("openai-sora-preview", D(2024, 2, 15), "during", ["MSFT"], ["003"], "model_launch"),
    ("meta-llama-3", D(2024, 4, 18), "during", ["META"], ["001"], "model_launch"),
    ("kuaishou-kling", D(2024, 6, 6), "during", ["1024.HK"], ["003"], "model_launch"),
    ("tencent-hunyuan-video", D(2024, 12, 3), "during", ["0700.HK"], ["003"], "model_launch"),
    ("google-veo-3", D(2025, 5, 20), "during", ["GOOGL"], ["000"], "model_launch"),
    ("google-nano-banana", D(2025, 8, 26), "during", ["GOOGL"], ["000"], "model_launch"),
    ("meta-vibes", D(2025, 9, 25), "during", ["META"], ["000"], "product_launch"),
    ("openai-sora-2", D(2025, 9, 30), "during", ["MSFT"], ["000"], "model_launch"),
    ("oracle-openai-compute", D(2025, 9, 10), "during", ["ORCL"], ["000"], "partnership"),
    ("nvidia-openai-investment", D(2025, 9, 22), "during", ["NVDA"], ["000"], "partnership"),
    ("amd-openai-deal", D(2025, 10, 6), "before_open", ["AMD"], ["000"], "partnership"),
    ("apple-att-ios-14-5", D(2021, 4, 26), "during", ["META"], ["001"], "policy"),
    ("facebook-renamed-meta", D(2021, 10, 28), "during", ["META"], ["002", "004"], "corporate"),
    ("white-house-ai-meeting", D(2023, 5, 4), "during", ["META", "GOOGL", "MSFT"], ["001"],
     "policy"),
    ("obbb-signed", D(2025, 7, 4), "during", ["META", "MSFT", "GOOGL", "AMZN"], ["000"],
     "policy"),
    ("busan-trump-xi-summit", D(2025, 10, 30), "11:00 Asia/Seoul",
     ["SPY", "QQQ", "DIA", "META", "MSFT", "GOOGL", "AMZN", "NVDA", "TSLA", "AAPL",
      "0700.HK", "9988.HK", "1024.HK"], ["000"], "trade_summit"),
]  # fmt: skip

# Moments the seeds document beyond the table (see the README).
ADDED = [
    ("meta-2021q4-results", D(2022, 2, 2), "after_close", ["META"], ["001"], "earnings"),
    ("kuaishou-2023-annual-results", D(2024, 3, 20), "after_close", ["1024.HK"], ["003"],
     "earnings"),
    ("alibaba-qwen-open-source", D(2023, 8, 3), "unknown", ["9988.HK"], ["003"], "model_launch"),
    ("broadcom-openai-chips", D(2025, 10, 13), "before_open", ["AVGO"], ["000"], "partnership"),
    ("facebook-apple-newspaper-ads", D(2020, 12, 16), "before_open", ["META"], ["001"],
     "corporate"),
]  # fmt: skip


@pytest.fixture(scope="module")
def catalog(repo_root: Path) -> Catalog:
    return load_catalog([repo_root / "events"], strict=True)


def test_catalog_is_clean_and_its_documents_exist(repo_root: Path, shared_seeds_dir: Path) -> None:
    cat = load_catalog([repo_root / "events"], documents_dir=shared_seeds_dir)
    assert cat.problems == ()
    assert len(cat) == len(EXPECTED) + len(ADDED)


@pytest.mark.parametrize("row", EXPECTED + ADDED, ids=lambda r: r[0])
def test_every_moment(catalog: Catalog, row: tuple) -> None:  # type: ignore[type-arg]
    event_id, date, timing, tickers, seeds, category = row
    e = catalog.get(event_id)
    assert e.date == date
    assert e.timing_label == timing
    assert list(e.tickers) == tickers
    assert e.category == category
    assert {s.document for s in e.sources} == {SEED[s] for s in seeds}
    assert all(len(s.says) > 40 for s in e.sources), "sources say something specific"
    assert e.description
    assert e.title


def test_scopes(catalog: Catalog) -> None:
    market = {e.id for e in catalog if e.scope == "market"}
    assert market == {"busan-trump-xi-summit", "obbb-signed"}


def test_seed_dates_that_differ_are_noted(catalog: Catalog) -> None:
    # seed 002 places DINOv2 in May 2023; the real release was 2023-04-17
    note = catalog.get("meta-dinov2").sources[0].note
    assert note is not None
    assert "May 2023" in note
    assert "2023-04-17" in note
    # seed 004 places LLaMA in early March 2023 and Llama 2 on July 19 (Asian time)
    llama = {s.document: s.note for s in catalog.get("meta-llama").sources}
    assert "early March" in (llama[SEED["004"]] or "")
    llama2 = {s.document: s.note for s in catalog.get("meta-llama-2").sources}
    assert "July 19" in (llama2[SEED["004"]] or "")
    # seed 000 names Qualcomm where the deal was Broadcom's
    assert "Qualcomm" in (catalog.get("broadcom-openai-chips").sources[0].note or "")


@pytest.mark.parametrize(
    ("event_id", "ticker", "day0"),
    [
        ("obbb-signed", "META", D(2025, 7, 7)),  # signed on the 4 July holiday
        ("meta-threads", "META", D(2023, 7, 6)),  # 19:00 New York, after the close
        ("busan-trump-xi-summit", "SPY", D(2025, 10, 30)),  # evening of 10-29 in New York
        ("busan-trump-xi-summit", "0700.HK", D(2025, 10, 30)),  # during the HK morning
        ("kuaishou-2024q3-results", "1024.HK", D(2024, 11, 21)),  # after the HK close
        ("meta-2025q3-results", "META", D(2025, 10, 30)),
        ("meta-2022-11-layoffs", "META", D(2022, 11, 9)),  # before the open
    ],
)
def test_sessions(catalog: Catalog, event_id: str, ticker: str, day0: dt.date) -> None:
    assert catalog.get(event_id).day0(ticker).date() == day0


def test_claims(catalog: Catalog) -> None:
    claims = {
        (c.ticker, c.measure, c.value, c.direction)
        for e in catalog
        for c in e.claims
        if e.day0(c.ticker).date() == D(2025, 10, 30) or c.date == D(2025, 10, 30)
    }
    for expected in [
        ("META", "intraday_low", -0.13, None),
        ("MSFT", "close_to_close", -0.029, None),
        ("GOOGL", "close_to_close", 0.025, None),
        ("^IXIC", "close_to_close", -0.016, None),
        ("^GSPC", "close_to_close", -0.01, None),
        ("^DJI", "close_to_close", -0.002, None),
    ]:
        assert expected in claims
    value_loss = catalog.get("meta-2024q1-results").claims[0]
    assert (value_loss.measure, value_loss.value) == ("market_value_change", -200e9)
    assert value_loss.source == SEED["001"]
    # claim sessions: the index claims of the summit are read on the New York calendar
    busan = catalog.get("busan-trump-xi-summit")
    assert {busan.day0(c.ticker).date() for c in busan.claims} == {D(2025, 10, 30)}


def test_to_frame_one_row_per_event_ticker(catalog: Catalog) -> None:
    frame = catalog.to_frame()
    assert len(frame) == sum(len(e.tickers) for e in catalog)
    busan = frame[frame.event_id == "busan-trump-xi-summit"].set_index("ticker")
    assert busan.loc["0700.HK", "market"] == "XHKG"
    assert busan.loc["SPY", "market"] == "XNYS"
    assert busan["is_primary"].sum() == 1
    assert busan.loc["SPY", "is_primary"]
    assert frame["day0"].notna().all()
