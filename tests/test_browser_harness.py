"""The browser harness (``tests/browser.py``) finds what it should, on small pages written here.

Each browser test starts one headless Chromium (about two seconds). They are skipped when
Chromium is missing, and fail instead when ``EVBT_REQUIRE_BROWSER`` is set (CI).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import plotly.graph_objects as go
import plotly.offline
import pytest

from tests.browser import (
    ChartState,
    FailedRequest,
    PageReport,
    chromium_available,
    inspect_page,
    require_chromium,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def plotly_js() -> str:
    return str(plotly.offline.get_plotlyjs())


@pytest.fixture
def chromium() -> None:
    require_chromium()


def _figure(kind: str) -> go.Figure:
    days = list(range(-5, 11))
    if kind == "line":
        trace = go.Scatter(x=days, y=[0.1 * day for day in days], name="CAR")
    else:
        trace = go.Bar(x=days, y=[(-1) ** day * 0.5 for day in days], name="AR")
    return go.Figure(trace, layout={"title": {"text": f"a {kind} chart"}, "height": 400})


def _chart(div_id: str, figure: go.Figure | None) -> str:
    """A chart container and, unless ``figure`` is None, the script that renders it."""
    div = f'<div class="chart" id="{div_id}"></div>'
    if figure is None:
        return div
    spec = json.loads(figure.to_json())
    data, layout = json.dumps(spec["data"]), json.dumps(spec["layout"])
    config = '{"responsive": true}'  # as the report draws: the chart follows the page's width
    return f'{div}\n<script>Plotly.newPlot("{div_id}", {data}, {layout}, {config});</script>'


def _page(
    tmp_path: Path, plotly_js: str, body: str, *, head: str = "", name: str = "index.html"
) -> Path:
    """A page with plotly.js inlined once, like the investor report."""
    page = tmp_path / name
    page.write_text(
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>test page</title>\n"
        # the scroll bar from the start: a chart drawn before it appears would be 7 px too wide
        "<style>html { overflow-y: scroll; }</style>\n"
        f"<script>{plotly_js}</script>\n{head}</head>\n<body>\n{body}\n</body></html>\n",
        encoding="utf-8",
    )
    return page


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# ---------------------------------------------------------------- with a browser


@pytest.mark.browser
@pytest.mark.usefixtures("chromium")
def test_a_good_self_contained_page_has_no_problems(tmp_path: Path, plotly_js: str) -> None:
    body = "<h1>Report</h1>\n" + "\n".join(
        [_chart("car", _figure("line")), _chart("ar", _figure("bar"))]
    )
    shot = tmp_path / "shots" / "good.png"

    report = inspect_page(_page(tmp_path, plotly_js, body), shot, width=1200, height=700)

    assert report.problems() == [], str(report)
    assert (report.chart_count, report.charts_rendered) == (2, 2)
    assert [chart.id for chart in report.charts] == ["car", "ar"]
    assert all(chart.rendered and chart.has_size for chart in report.charts)
    assert report.url.startswith("file://")
    assert report.screenshot == shot
    # the whole page is in the screenshot: the window was made as tall as the page (two
    # 400 px charts and a heading do not fit in 700 px)
    width, height = _png_size(shot)
    assert width == 1200
    assert report.page_height > 800
    assert height >= report.page_height
    # two drawn charts, not a blank page (a blank 1200 x 900 PNG is about 5 kB)
    assert shot.stat().st_size > 20_000


@pytest.mark.browser
@pytest.mark.usefixtures("chromium")
def test_console_errors_and_uncaught_exceptions_are_reported(
    tmp_path: Path, plotly_js: str
) -> None:
    body = "\n".join(
        [
            _chart("car", _figure("line")),
            "<script>console.warn('only a warning'); console.error('boom: no data');</script>",
            "<script>throw new Error('kaboom');</script>",
        ]
    )

    report = inspect_page(_page(tmp_path, plotly_js, body), tmp_path / "errors.png")

    assert len(report.console_errors) == 1, report.console_errors
    assert "boom: no data" in report.console_errors[0]
    assert len(report.js_exceptions) == 1, report.js_exceptions
    assert "Uncaught Error: kaboom" in report.js_exceptions[0]
    problems = report.problems()
    assert len(problems) == 2, problems
    assert problems[0].startswith("console error:")
    assert "boom: no data" in problems[0]
    assert problems[1].startswith("uncaught JavaScript exception:")
    assert "kaboom" in problems[1]
    assert report.charts_rendered == 1


@pytest.mark.browser
@pytest.mark.usefixtures("chromium")
def test_external_and_failed_requests_are_reported(tmp_path: Path, plotly_js: str) -> None:
    external = "https://cdn.example.invalid/x.js"
    body = "\n".join([_chart("car", _figure("line")), '<img src="missing.png" alt="missing">'])
    page = _page(tmp_path, plotly_js, body, head=f'<script src="{external}"></script>\n')

    report = inspect_page(page, tmp_path / "requests.png")

    assert report.external_requests == (external,)
    missing = (tmp_path / "missing.png").as_uri()
    failed_urls = [request.url for request in report.failed_requests]
    assert missing in failed_urls
    assert "FILE_NOT_FOUND" in report.failed_requests[failed_urls.index(missing)].reason
    # without a network here the CDN script fails too; with one, it might load: either way the
    # external request is reported
    assert set(failed_urls) <= {missing, external}
    problems = report.problems()
    assert f"external request (a self-contained page makes none): {external}" in problems
    assert any(p.startswith(f"failed request: {missing} (") for p in problems), problems
    # failures are reported once, from the network log, not again as console errors
    assert report.console_errors == ()
    assert report.js_exceptions == ()
    assert report.charts_rendered == 1


@pytest.mark.browser
@pytest.mark.usefixtures("chromium")
def test_a_chart_that_is_never_rendered_is_reported(tmp_path: Path, plotly_js: str) -> None:
    body = "\n".join([_chart("car", _figure("line")), _chart("never", None)])

    # the wait ends at the timeout: keep it short (the drawn chart needs well under a second)
    report = inspect_page(_page(tmp_path, plotly_js, body), tmp_path / "never.png", timeout=5)

    assert (report.chart_count, report.charts_rendered) == (2, 1)
    assert [(chart.id, chart.rendered) for chart in report.charts] == [
        ("car", True),
        ("never", False),
    ]
    assert report.timed_out
    assert report.problems() == [
        "chart 'never' (div.chart #2 of 2) was not rendered by plotly",
        "the page did not finish loading and rendering within the timeout",
    ]
    assert _png_size(tmp_path / "never.png")[0] == 1400


@pytest.mark.browser
@pytest.mark.usefixtures("chromium")
def test_a_page_whose_javascript_hangs_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "hang.html"
    page.write_text(
        "<!doctype html><html><body><div class='chart' id='car'></div>\n"
        "<script>setTimeout(() => { while (true) {} }, 10);</script></body></html>\n",
        encoding="utf-8",
    )
    with pytest.raises(TimeoutError, match=r"hang\.html did not answer a script within 2 s"):
        inspect_page(page, tmp_path / "hang.png", timeout=2)


def test_a_missing_page_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.html does not exist"):
        inspect_page(tmp_path / "nothing.html", tmp_path / "shot.png")


# ---------------------------------------------------------------- finding Chromium


def _fake(folder: Path, name: str, version: str) -> None:
    script = folder / name
    script.write_text(f"#!/bin/sh\necho '{version}'\n", encoding="utf-8")
    script.chmod(0o755)


def test_chromium_available_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = chromium_available()
    assert reason is not None
    assert reason.startswith("chromium and chromedriver not found on PATH")
    _fake(tmp_path, "chromium", "Chromium 156.0.8078.79 built on Debian GNU/Linux 12 (bookworm)")
    assert chromium_available() == (
        "chromedriver not found on PATH; install them with "
        "`apt-get install chromium chromium-driver`"
    )


def test_chromium_available_refuses_a_driver_of_another_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    _fake(tmp_path, "chromium", "Chromium 156.0.8078.79 built on Debian GNU/Linux 12 (bookworm)")
    _fake(tmp_path, "chromedriver", "ChromeDriver 155.0.7000.1 (abc)")
    reason = chromium_available()
    assert reason is not None
    assert "is version 156 but" in reason
    assert "is version 155" in reason
    _fake(tmp_path, "chromedriver", "ChromeDriver 156.0.8078.79 (a21ce95c)")
    assert chromium_available() is None


# ---------------------------------------------------------------- problems() alone


def _report(**changes: object) -> PageReport:
    fields: dict[str, object] = {
        "url": "file:///tmp/index.html",
        "console_errors": (),
        "js_exceptions": (),
        "failed_requests": (),
        "external_requests": (),
        "chart_count": 1,
        "charts_rendered": 1,
        "charts": (ChartState("car", rendered=True, width=800, height=400),),
        "timed_out": False,
        "render_seconds": 0.5,
        "page_height": 600,
        "screenshot": Path("/tmp/index.png"),
    }
    fields.update(changes)
    return PageReport(**fields)  # type: ignore[arg-type]


def test_problems_of_a_good_report_are_empty() -> None:
    report = _report()
    assert report.problems() == []
    assert str(report) == (
        "file:///tmp/index.html: 1 of 1 charts rendered, 0 problem(s); screenshot /tmp/index.png"
    )


def test_problems_name_a_page_without_charts_and_a_chart_without_size() -> None:
    assert _report(chart_count=0, charts_rendered=0, charts=()).problems() == [
        "no chart containers (div.chart) on the page"
    ]
    hidden = ChartState("", rendered=True, width=0, height=450)
    assert _report(charts=(hidden,)).problems() == [
        "chart without id (div.chart #1 of 1) has zero size (0 x 450 px)"
    ]


def test_problems_list_every_finding_once() -> None:
    report = _report(
        console_errors=("x.html 1:1 boom",),
        js_exceptions=("x.html 2:1 Uncaught Error: kaboom",),
        failed_requests=(FailedRequest("file:///tmp/a.png", "net::ERR_FILE_NOT_FOUND"),),
        external_requests=("https://cdn.example.invalid/x.js",),
    )
    assert report.problems() == [
        "console error: x.html 1:1 boom",
        "uncaught JavaScript exception: x.html 2:1 Uncaught Error: kaboom",
        "failed request: file:///tmp/a.png (net::ERR_FILE_NOT_FOUND)",
        "external request (a self-contained page makes none): https://cdn.example.invalid/x.js",
    ]
    assert str(report).count("\n  - ") == 4


@pytest.mark.browser
@pytest.mark.usefixtures("chromium")
def test_layout_problems_are_reported_on_a_phone(tmp_path: Path, plotly_js: str) -> None:
    # a table wider than the phone, and a caption pulled down over its chart
    body = "\n".join(
        [
            '<div style="width: 900px">a wide table</div>',
            '<figure><figcaption style="margin-bottom: -60px">A title</figcaption>',
            _chart("car", _figure("line")),
            "</figure>",
        ]
    )
    first = tmp_path / "first.png"
    viewport = '<meta name="viewport" content="width=device-width, initial-scale=1">'
    report = inspect_page(
        _page(tmp_path, plotly_js, body, head=viewport), tmp_path / "phone.png", width=390,
        height=844, phone=True, first_screen=first,
    )  # fmt: skip
    assert report.charts_rendered == 1
    assert _png_size(first) == (390, 844)
    problems = report.layout_problems
    assert any(p.startswith("the page scrolls sideways by ") for p in problems), problems
    assert "chart car: its title overlaps the chart" in problems
    assert [p for p in report.problems() if p.startswith("layout: ")] == [
        f"layout: {p}" for p in problems
    ]


@pytest.mark.browser
@pytest.mark.usefixtures("chromium")
def test_an_element_over_a_chart_title_is_reported(tmp_path: Path, plotly_js: str) -> None:
    """A toolbar-like box drawn over the second chart's title (far down the page, out of the
    first screen) is found; the first chart's title is free."""
    body = "\n".join(
        [
            '<figure><figcaption><span class="ftitle">Free title</span></figcaption>',
            _chart("free", _figure("line")),
            "</figure>",
            '<div style="height: 1500px"></div>',
            '<figure style="position: relative"><figcaption><span class="ftitle">'
            "A title under a toolbar</span></figcaption>",
            '<div class="modebar" style="position: absolute; top: 0; left: 0; width: 100%;'
            ' height: 40px; background: #eee"></div>',
            _chart("covered", _figure("bar")),
            "</figure>",
        ]
    )
    report = inspect_page(_page(tmp_path, plotly_js, body), tmp_path / "page.png")
    assert report.charts_rendered == 2
    assert report.layout_problems == ("chart covered: div.modebar covers its title",)
