"""``same_news_as`` (alias ``follows``) joins two entries that are one piece of news; ``model``
asks for a normal-return model per event. Both reach the event table."""

from __future__ import annotations

from pathlib import Path

import pytest

from backtest.catalog import MODELS, load_catalog


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def entry(id_: str, date: str, tickers: str = "[AMZN]", extra: str = "") -> str:
    return (
        f"  - id: {id_}\n    title: T\n    description: D\n    category: layoff\n"
        f"    scope: company\n    date: {date}\n    timing: during\n    tickers: {tickers}\n"
        "    sources: [{document: d, says: s}]\n" + extra
    )


def test_the_shipped_amazon_layoff_entries_are_one_piece_of_news(repo_root: Path) -> None:
    cat = load_catalog([repo_root / "events"])
    assert cat.get("amzn-2025-10-layoffs").same_news_as == "amzn-2025-10-layoffs-report"
    assert cat.get("amzn-2025-10-layoffs-report").same_news_as is None
    frame = cat.to_frame().set_index("event_id")
    assert frame.loc["amzn-2025-10-layoffs", "same_news_as"] == "amzn-2025-10-layoffs-report"
    assert frame["same_news_as"].notna().sum() == 1
    assert frame["model"].isna().all()


@pytest.mark.parametrize("key", ["same_news_as", "follows"])
def test_same_news_as_and_its_alias(key: str) -> None:
    text = (
        "events:\n"
        + entry("report", "2025-10-27")
        + entry("news", "2025-10-28", extra=f"    {key}: report\n")
    )
    Path("c.yaml").write_text(text)
    cat = load_catalog(["c.yaml"], strict=True)
    assert cat.get("news").same_news_as == "report"
    assert cat.to_frame()["same_news_as"].tolist()[1] == "report"
    assert cat.to_records()[1]["same_news_as"] == "report"


def test_the_target_may_be_in_another_file_and_share_one_of_several_tickers() -> None:
    Path("a.yaml").write_text("events:\n" + entry("report", "2025-10-27", "[AMZN, MSFT]"))
    Path("b.yaml").write_text(
        "events:\n" + entry("news", "2025-10-27", "[MSFT]", "    follows: report\n")
    )
    assert load_catalog(["a.yaml", "b.yaml"], strict=True).get("news").same_news_as == "report"
    # loaded alone, the target is missing
    assert [str(p) for p in load_catalog(["b.yaml"]).problems] == [
        "b.yaml:11: entry news: field follows: 'report' is not an id in the loaded catalog; "
        "name the earlier entry this one repeats (load its file too)"
    ]


def test_a_chain_is_fine_and_dropping_its_head_drops_the_rest() -> None:
    good = (
        "events:\n"
        + entry("a", "2025-10-27")
        + entry("b", "2025-10-28", extra="    same_news_as: a\n")
        + entry("c", "2025-10-29", extra="    same_news_as: b\n")
    )
    Path("chain.yaml").write_text(good)
    assert len(load_catalog(["chain.yaml"], strict=True)) == 3
    Path("chain.yaml").write_text(good.replace("date: 2025-10-27", "date: 2025-10-32"))
    cat = load_catalog(["chain.yaml"])
    assert len(cat) == 0
    assert [(p.entry, p.field) for p in cat.problems] == [
        ("a", "date"),
        ("b", "same_news_as"),
        ("c", "same_news_as"),
    ]


@pytest.mark.parametrize("model", MODELS)
def test_each_model_name_is_accepted_and_carried(model: str) -> None:
    Path("m.yaml").write_text("events:\n" + entry("x", "2025-10-27", extra=f"    model: {model}\n"))
    cat = load_catalog(["m.yaml"], strict=True)
    assert cat.get("x").model == model
    assert cat.to_frame()["model"].tolist() == [model]


def test_models_are_the_studys_names() -> None:
    assert MODELS == ("market", "market_adjusted", "constant_mean", "raw", "factor")
