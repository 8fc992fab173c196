"""The real report (shipped catalog and strategies, the shared price files) in headless
Chromium: the main page, a ticker page and a strategy page at a desktop's 1400 x 900 and a
phone's 390 x 844, each with no console error, no failed or external request, every chart
drawn, no sideways scrolling, no chart title over its chart, no label cut at a chart's edge
and no legend over an axis. Load times are recorded (``record_property``), not asserted: speed
targets live in benchmarks/bench_report.py.

``EVBT_SCREENSHOT_DIR`` keeps the screenshots (full page and first screen) for a look.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backtest.job import load_config, run_job
from backtest.reports import write_report
from tests.browser import inspect_page, require_chromium

SCREENS = {"desktop": (1400, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def real_report(
    tmp_path_factory: pytest.TempPathFactory, repo_root: Path, shared_prices_dir: Path
) -> Path:
    from backtest.prices import open_source

    result = run_job(
        load_config(None, base=repo_root), source=open_source(prices_dir=shared_prices_dir)
    )
    out = tmp_path_factory.mktemp("real") / "report"
    write_report(result, out)
    return out


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
