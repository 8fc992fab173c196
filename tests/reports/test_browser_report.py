"""The real report (shipped catalog and strategies, the shared price files) in headless
Chromium: the main page, a ticker page and a strategy page at a desktop's 1400 x 900 and a
phone's 390 x 844, each with no console error, no failed or external request, every chart
drawn, no sideways scrolling, no chart title over its chart, no label cut at a chart's edge
and no legend over an axis. Load times are recorded (``record_property``), not asserted: speed
targets live in benchmarks/bench_report.py.

``EVBT_SCREENSHOT_DIR`` keeps the screenshots (full page and first screen) for a look.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from backtest.job import load_config, run_job
from backtest.reports import charts as C
from backtest.reports import html as H
from backtest.reports import write_report
from tests.browser import inspect_page, require_chromium

SCREENS = {"desktop": (1400, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def real_run(
    tmp_path_factory: pytest.TempPathFactory, repo_root: Path, shared_prices_dir: Path
) -> tuple[Any, Path]:
    from backtest.prices import open_source

    result = run_job(
        load_config(None, base=repo_root), source=open_source(prices_dir=shared_prices_dir)
    )
    out = tmp_path_factory.mktemp("real") / "report"
    write_report(result, out)
    return result, out


@pytest.fixture(scope="module")
def real_report(real_run: tuple[Any, Path]) -> Path:
    return real_run[1]


@pytest.mark.slow
def test_the_main_page_is_small(real_report: Path) -> None:
    assert (real_report / "index.html").stat().st_size <= 3_000_000
    assert (real_report / "assets" / "plotly.min.js").is_file()
    pages = list((real_report / "tickers").glob("*.html"))
    assert any(p.name == "META.html" for p in pages)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("screen", sorted(SCREENS))
@pytest.mark.parametrize(
    "page", ["index.html", "tickers/META.html", "strategies/buy_on_model_launches.html"]
)
def test_pages_in_a_real_browser(
    real_report: Path,
    tmp_path: Path,
    page: str,
    screen: str,
    record_property: pytest.RecordProperty,
) -> None:
    require_chromium()
    width, height = SCREENS[screen]
    shots = Path(os.environ.get("EVBT_SCREENSHOT_DIR", tmp_path))
    name = page.replace("/", "-").removesuffix(".html")
    report = inspect_page(
        real_report / page,
        shots / f"{name}-{screen}.png",
        width=width,
        height=height,
        timeout=120,
        first_screen=shots / f"{name}-{screen}-first.png",
        phone=screen == "phone",
    )
    record_property("render_seconds", round(report.render_seconds, 2))
    assert report.problems() == [], str(report)
    html = (real_report / page).read_text(encoding="utf-8")
    assert report.chart_count == html.count('<div class="chart" id=') >= 1
    assert report.charts_rendered == report.chart_count
    assert report.screenshot.stat().st_size > 20_000


# where the first screen's answers are: each answer card's question, its number and its
# chart's title, and the caveats, as bounding boxes in CSS px of the window
_FIRST_SCREEN_JS = """
const box = (el) => { const r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, text: el.textContent.trim().slice(0, 60)}; };
return {
    height: innerHeight,
    cards: Array.from(document.querySelectorAll("article.answer")).map((a) => ({
        question: box(a.querySelector("h2")),
        number: a.querySelector(".big") ? box(a.querySelector(".big")) : null,
        chart: a.querySelector("figcaption") ? box(a.querySelector("figcaption")) : null,
    })),
    caveats: document.querySelector("aside.caveats")
        ? box(document.querySelector("aside.caveats")) : null,
};
"""


@pytest.mark.slow
@pytest.mark.browser
def test_the_first_screen_answers_the_three_questions(
    real_report: Path, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    """At 1400 x 900 the caveats, the three questions, their numbers and their charts'
    titles are on the first screen, with no scrolling."""
    require_chromium()
    report = inspect_page(
        real_report / "index.html", tmp_path / "index.png", width=1400, height=900,
        timeout=120, probe=_FIRST_SCREEN_JS,
    )  # fmt: skip
    record_property("render_seconds", round(report.render_seconds, 2))
    record_property("index_bytes", (real_report / "index.html").stat().st_size)
    assert report.problems() == [], str(report)
    seen = report.probe
    assert [c["question"]["text"] for c in seen["cards"]] == [
        "Which kinds of news moved prices?",
        "The strongest reactions",
        "Did the strategies earn anything beyond the market?",
    ]
    assert seen["caveats"] is not None
    assert seen["caveats"]["bottom"] <= seen["height"]
    for card in seen["cards"]:
        for part in ("question", "number", "chart"):
            assert card[part] is not None, card
            assert card[part]["bottom"] <= seen["height"], (part, card)
        assert re.search(r"\d", card["number"]["text"]), card["number"]


# every point label (scatter text) of every chart, with its chart's plot area, in CSS px
_LABELS_JS = """
return Array.from(document.querySelectorAll("div.chart")).map((el) => {
    const bg = el.querySelector("g.cartesianlayer rect.nsewdrag, rect.nsewdrag");
    const p = bg ? bg.getBoundingClientRect() : el.getBoundingClientRect();
    return {
        id: el.id,
        plot: {left: p.left, right: p.right},
        labels: Array.from(el.querySelectorAll("g.textpoint text"))
            .filter((t) => t.textContent.trim())
            .map((t) => { const r = t.getBoundingClientRect();
                return {text: t.textContent, left: r.left, right: r.right,
                        top: r.top, bottom: r.bottom}; }),
    };
});
"""


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("screen", sorted(SCREENS))
@pytest.mark.parametrize("page", ["index.html", "strategies/buy_on_model_launches.html"])
def test_point_labels_never_overlap_nor_are_cut(
    real_report: Path, tmp_path: Path, page: str, screen: str
) -> None:
    """The dot charts' ticker labels (META twice in "layoff" on the shipped catalog): no two
    label boxes overlap, and each lies inside its chart's plot area, at both widths."""
    require_chromium()
    width, height = SCREENS[screen]
    report = inspect_page(
        real_report / page, tmp_path / "page.png", width=width, height=height, timeout=120,
        phone=screen == "phone", probe=_LABELS_JS,
    )  # fmt: skip
    assert report.problems() == [], str(report)
    charts = report.probe
    if page == "index.html":
        (dots,) = [c for c in charts if c["id"].endswith("car-dots")]
        assert len(dots["labels"]) >= 5  # the strongest reactions are labelled
    for chart in charts:
        boxes = chart["labels"]
        for i, a in enumerate(boxes):
            assert chart["plot"]["left"] - 0.5 <= a["left"], (chart["id"], a)
            assert a["right"] <= chart["plot"]["right"] + 0.5, (chart["id"], a)
            for b in boxes[i + 1 :]:
                apart = (
                    a["right"] <= b["left"] or b["right"] <= a["left"]
                    or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]
                )  # fmt: skip
                assert apart, (chart["id"], a, b)


# every chart's traces as plotly holds them once drawn
_DRAWN_JS = """
return Array.from(document.querySelectorAll("div.chart[id]")).map((el) => ({
    id: el.id, traces: (el.data || []).map((t) => ({x: t.x || null, y: t.y || null})),
}));
"""


@pytest.mark.slow
@pytest.mark.browser
def test_ticker_pages_draw_exactly_the_figures_series(
    real_run: tuple[Any, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ticker page stores its long arrays packed, in the page or in the folder's
    assets/series.js (shared with the other pages): once drawn, every trace holds exactly the
    values of the figure as the chart functions made it (rendered here without packing), on
    the first ticker page (it holds its own copy of what later pages share) and on META."""
    require_chromium()
    result, report = real_run
    with monkeypatch.context() as m:
        m.setattr(C.SharedArrays, "pack", lambda self, fig: fig)
        plain = H.render_pages(result)
    first = sorted(p for p in plain if p.startswith("tickers/"))[0]
    series = (report / "assets" / "series.js").read_text(encoding="utf-8")
    assert len(series) > 1000  # the pages share the session dates at least
    for page in (first, "tickers/META.html"):
        want = {
            ident: json.loads(body)["data"]
            for ident, body in re.findall(
                r'<script type="application/json" id="([^"]+)-data">(.*?)</script>',
                plain[page],
                re.S,
            )
        }
        text = (report / page).read_text(encoding="utf-8")
        assert ('src="../assets/series.js"' in text) == (page != first)
        drawn = inspect_page(
            report / page, tmp_path / "page.png", width=1400, height=900, timeout=120,
            probe=_DRAWN_JS,
        )  # fmt: skip
        assert drawn.problems() == [], str(drawn)
        assert sorted(c["id"] for c in drawn.probe) == sorted(want)
        packed = 0
        for chart in drawn.probe:
            spec = want[chart["id"]]
            assert len(chart["traces"]) == len(spec)
            for got, trace in zip(chart["traces"], spec, strict=True):
                for k in ("x", "y"):
                    if isinstance(trace.get(k), list):
                        assert got[k] == trace[k], (page, chart["id"], k)
                        packed += len(trace[k]) >= C.PACK_MIN
        assert packed >= 10, page  # the equity chart's lines were packed


# every metrics table: how far it overflows its scroll container, whether its last column is
# in view before and after scrolling the container to its right end, where its first column
# (the statistic names) is then, and the container's backgrounds (the scroll shadows)
_METRICS_JS = """
return Array.from(document.querySelectorAll("table.metrics")).map((t) => {
    const c = t.closest(".scroll");
    const head = t.querySelectorAll("thead th");
    const last = head[head.length - 1];
    const inside = (r) => r.left >= c.getBoundingClientRect().left - 1
        && r.right <= c.getBoundingClientRect().right + 1;
    const style = getComputedStyle(c);
    const out = {
        columns: head.length, overflow: c.scrollWidth - c.clientWidth,
        last_in_view: inside(last.getBoundingClientRect()),
        images: style.backgroundImage, attachment: style.backgroundAttachment,
    };
    c.scrollLeft = c.scrollWidth;
    out.last_reached = inside(last.getBoundingClientRect());
    out.names_in_view = Array.from(t.querySelectorAll("tr > :first-child")).every(
        (cell) => inside(cell.getBoundingClientRect()));
    c.scrollLeft = 0;
    return out;
});
"""


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_wide_metrics_tables_show_every_column_or_say_there_are_more(
    real_report: Path, tmp_path: Path, width: int
) -> None:
    """META's tables of buy_on_model_launches (six combinations and two buy-and-hold columns)
    and the others: at a laptop's 1280 px each fits its card; at 800 px a table wider than its
    card scrolls, with a shadow at the edge beyond which columns are hidden and the statistic
    names kept in view, and its last column can be reached."""
    require_chromium()
    report = inspect_page(
        real_report / "tickers" / "META.html", tmp_path / "page.png", width=width, height=900,
        timeout=120, probe=_METRICS_JS,
    )  # fmt: skip
    assert report.problems() == [], str(report)
    tables = report.probe
    assert max(t["columns"] for t in tables) == 1 + 6 + 2
    for t in tables:
        assert t["last_reached"], t
        if width >= 1280:
            assert t["overflow"] <= 1, t
            assert t["last_in_view"], t
        elif t["overflow"] > 1:
            assert not t["last_in_view"]
            assert t["names_in_view"], t
            assert t["images"].count("linear-gradient") == 4, t
            assert t["attachment"] == "local, local, scroll, scroll", t
    if width < 1280:
        assert any(t["overflow"] > 1 for t in tables)  # the case above is checked


# the main page's strategy table: how far it overflows its scroll container, and whether its
# first column (the row names) is in view once the container is scrolled to its right end
_OVERVIEW_JS = """
return Array.from(document.querySelectorAll("table.overview")).map((t) => {
    const c = t.closest(".scroll");
    const box = c.getBoundingClientRect();
    const inside = (r) => r.left >= box.left - 1 && r.right <= box.right + 1;
    const out = {
        columns: t.querySelectorAll("thead th").length, overflow: c.scrollWidth - c.clientWidth,
    };
    c.scrollLeft = c.scrollWidth;
    out.names_in_view = Array.from(t.querySelectorAll("tr > :first-child")).every(
        (cell) => inside(cell.getBoundingClientRect()));
    c.scrollLeft = 0;
    return out;
});
"""


@pytest.mark.slow
@pytest.mark.browser
def test_the_main_pages_strategy_table_keeps_its_row_names_in_view(
    real_report: Path, tmp_path: Path
) -> None:
    """At 800 px the strategy table of the main page (one column per strategy) is wider than
    its card and scrolls: its row names stay in view like a metrics table's statistic names
    (they scrolled away with the columns)."""
    require_chromium()
    report = inspect_page(
        real_report / "index.html", tmp_path / "page.png", width=800, height=900,
        timeout=120, probe=_OVERVIEW_JS,
    )  # fmt: skip
    assert report.problems() == [], str(report)
    (table,) = report.probe
    assert table["columns"] >= 4, table
    assert table["overflow"] > 1, table  # the case checked
    assert table["names_in_view"], table
