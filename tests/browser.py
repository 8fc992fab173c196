"""Open an HTML page in a real headless Chromium and report what a reader would run into.

A helper for tests, not a test file. :func:`inspect_page` loads a local page (the investor report
``reports/<run>/index.html``), waits until every chart container (``div.chart``) has been drawn by
plotly, takes a full-page screenshot and returns a :class:`PageReport`: console errors, uncaught
JavaScript exceptions, failed and external requests, and the state of every chart.
``PageReport.problems()`` lists what is wrong in plain words; empty means the page is fine::

    report = inspect_page(html, tmp_path / "page.png")
    assert not report.problems(), str(report)

Chromium is driven through chromedriver with explicit paths (never selenium-manager, which would
try to download a driver). Debian packages: ``chromium`` and ``chromium-driver``; ``.ci/run``
installs them. :func:`require_chromium` skips a test when they are missing, or fails it when
``EVBT_REQUIRE_BROWSER`` is set (as in CI), like ``EVBT_REQUIRE_SHARED`` in ``conftest.py``.

How things are captured
-----------------------
* Console errors and uncaught exceptions: the ``browser`` log (``goog:loggingPrefs``), level
  ``SEVERE``. chromedriver files ``console.error`` under source ``console-api`` and uncaught
  exceptions (including unhandled promise rejections and syntax errors) under ``javascript``.
  Its ``network`` entries ("Failed to load resource") are left to the performance log below,
  which names the URL and the reason precisely.
* Requests: the ``performance`` log (DevTools ``Network.*`` events) of the page's tab.
  ``Network.loadingFailed`` and responses with HTTP status >= 400 are failed requests; any URL
  whose scheme is not ``file``, ``data``, ``blob`` or ``about`` is an external request. A fresh
  Chromium opens its new-tab page, which loads resources of its own: the tab is first sent to
  ``about:blank`` and both logs are emptied, and requests are counted from the request for the
  page itself, so none of that is blamed on the page.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

if TYPE_CHECKING:
    from selenium.webdriver.chromium.webdriver import ChromiumDriver

#: The flags Chromium is started with, besides ``--user-data-dir`` and ``--window-size``.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
)
#: Seconds a single browser command may take (on a busy machine, a screenshot of a long page).
COMMAND_TIMEOUT = 60
#: URL schemes a self-contained page may load from.
LOCAL_SCHEMES = frozenset({"file", "data", "blob", "about"})
#: What chromium/chromedriver are called on PATH (Debian: /usr/bin/chromium, /usr/bin/chromedriver).
CHROMIUM_NAMES = ("chromium", "chromium-browser")
CHROMEDRIVER_NAME = "chromedriver"
INSTALL_HINT = "install them with `apt-get install chromium chromium-driver`"

# One chart's state, measured in the page: plotly marks the div it drew into with class
# `js-plotly-plot` and puts its drawing in an `svg.main-svg`.
_CHARTS_JS = """
return Array.from(document.querySelectorAll("div.chart")).map((el) => {
    const box = el.getBoundingClientRect();
    return {
        id: el.id,
        rendered: el.classList.contains("js-plotly-plot")
            && el.querySelector("svg.main-svg") !== null,
        width: box.width,
        height: box.height,
    };
});
"""
# What a reader would stumble on in the layout: the page scrolling sideways, a chart's title
# overlapping its chart, any element drawn over a chart's title (a toolbar, a banner, a
# neighbour), a label cut at a chart's edge, a legend over an axis title or label.
_LAYOUT_JS = """
const out = [];
const box = (el) => el.getBoundingClientRect();
const hit = (a, b) => a.width > 0 && b.width > 0 && a.left < b.right - 1 && b.left < a.right - 1
    && a.top < b.bottom - 1 && b.top < a.bottom - 1;
const doc = document.documentElement;
const overflow = doc.scrollWidth - doc.clientWidth;
if (overflow > 1) { out.push(`the page scrolls sideways by ${overflow} px`); }
document.querySelectorAll("figure").forEach((f) => {
    const cap = f.querySelector("figcaption");
    f.querySelectorAll("div.chart").forEach((chart) => {
        if (cap && hit(box(cap), box(chart))) {
            out.push(`chart ${chart.id}: its title overlaps the chart`);
        }
    });
});
// an element drawn over a chart's title: scroll each caption into view and ask the page
// which element is on top at points across its title and subtitle (elementFromPoint sees
// the viewport only)
document.querySelectorAll("figure").forEach((f) => {
    const cap = f.querySelector("figcaption");
    const chart = f.querySelector("div.chart");
    if (!cap || !chart) { return; }
    cap.scrollIntoView({block: "center"});
    const spans = cap.querySelectorAll("span");
    const parts = spans.length ? Array.from(spans) : [cap];
    let covered = null;
    parts.forEach((part) => {
        const r = box(part);
        if (r.width === 0 || r.height === 0) { return; }
        const y = r.top + r.height / 2;
        [r.left + 3, r.left + r.width / 2, r.right - 3].forEach((x) => {
            const top = document.elementFromPoint(x, y);
            if (top && !cap.contains(top) && covered === null) { covered = top; }
        });
    });
    if (covered) {
        const what = covered.tagName.toLowerCase()
            + (covered.className && covered.className.baseVal === undefined
                ? "." + String(covered.className).trim().split(/\\s+/).join(".") : "");
        out.push(`chart ${chart.id}: ${what} covers its title`);
    }
});
window.scrollTo(0, 0);
document.querySelectorAll("div.chart.js-plotly-plot").forEach((el) => {
    const frame = box(el);
    const named = (t) => `"${t.textContent.trim().slice(0, 40)}"`;
    el.querySelectorAll("svg text").forEach((t) => {
        const r = box(t);
        if (!t.textContent.trim() || r.width === 0) { return; }
        if (r.left < frame.left - 1 || r.right > frame.right + 1
            || r.top < frame.top - 1 || r.bottom > frame.bottom + 1) {
            out.push(`chart ${el.id}: label ${named(t)} is cut at the chart's edge`);
        }
    });
    const legend = el.querySelector("g.legend");
    if (legend) {
        const lr = box(legend);
        const near = ".g-xtitle text, .g-ytitle text, .xtick text, .annotation";
        el.querySelectorAll(near).forEach((t) => {
            if (hit(lr, box(t))) { out.push(`chart ${el.id}: the legend covers ${named(t)}`); }
        });
    }
});
return out;
"""
# Has the page at arguments[0] loaded (until a navigation commits, the previous page answers)...
_SHOWS_JS = """
return document.URL === new URL(arguments[0]).href && document.readyState === "complete";
"""
# ... and has plotly rendered every chart?
_ALL_RENDERED_JS = """
return document.URL === new URL(arguments[0]).href
    && document.readyState === "complete"
    && Array.from(document.querySelectorAll("div.chart")).every(
        (el) => el.classList.contains("js-plotly-plot")
            && el.querySelector("svg.main-svg") !== null);
"""
_PAGE_HEIGHT_JS = """
return Math.ceil(Math.max(
    document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0));
"""
# resolves after the next two frames: a resize has been laid out and painted
_TWO_FRAMES_JS = """
const done = arguments[arguments.length - 1];
requestAnimationFrame(() => requestAnimationFrame(() => done(true)));
"""


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ChartState:
    """One ``div.chart`` after waiting: its id, whether plotly drew it, its size in CSS px."""

    id: str
    rendered: bool
    width: float
    height: float

    @property
    def has_size(self) -> bool:
        return self.width > 0 and self.height > 0


@dataclass(frozen=True)
class FailedRequest:
    """A request that failed: ``reason`` is the network error (``net::ERR_FILE_NOT_FOUND``) or
    the HTTP status (``HTTP 404 Not Found``)."""

    url: str
    reason: str


@dataclass(frozen=True)
class PageReport:
    """What :func:`inspect_page` saw on one page.

    Attributes
    ----------
    url : the ``file://`` URL that was opened.
    console_errors : ``SEVERE`` console messages (``console.error`` and other non-network errors),
        as chromedriver words them: ``"<url> <line>:<col> <message>"``.
    js_exceptions : uncaught JavaScript exceptions, same wording (``"... Uncaught Error: ..."``).
    failed_requests : requests that failed or got an HTTP status >= 400.
    external_requests : every requested URL whose scheme is not file/data/blob/about, in order.
    chart_count : number of ``div.chart`` containers.
    charts_rendered : how many of them plotly rendered.
    charts : the state of each container, in document order.
    timed_out : the page did not finish loading, or not every chart rendered, within the timeout.
    render_seconds : seconds from opening the page until it had loaded and every chart was
        rendered (or until the timeout).
    page_height : the document's scroll height in CSS px.
    screenshot : where the full-page PNG screenshot was written.
    layout_problems : what a reader would stumble on in the layout (the page scrolling
        sideways, a chart title overlapping its chart, an element drawn over a chart's title,
        a label cut at a chart's edge, a legend over an axis title or label), measured from
        the elements' bounding boxes and, for what covers a title, the element on top at
        points across it (``document.elementFromPoint``).
    first_screen : where the screenshot of the first screen (the window's size) was written,
        or None.
    probe : what the ``probe`` script returned (None without one).
    """

    url: str
    console_errors: tuple[str, ...]
    js_exceptions: tuple[str, ...]
    failed_requests: tuple[FailedRequest, ...]
    external_requests: tuple[str, ...]
    chart_count: int
    charts_rendered: int
    charts: tuple[ChartState, ...]
    timed_out: bool
    render_seconds: float
    page_height: int
    screenshot: Path
    layout_problems: tuple[str, ...] = ()
    first_screen: Path | None = None
    probe: Any = None

    def problems(self) -> list[str]:
        """Everything wrong with the page, one sentence each; empty when the page is fine."""
        found = [f"console error: {message}" for message in self.console_errors]
        found += [f"uncaught JavaScript exception: {message}" for message in self.js_exceptions]
        found += [f"failed request: {r.url} ({r.reason})" for r in self.failed_requests]
        found += [
            f"external request (a self-contained page makes none): {url}"
            for url in self.external_requests
        ]
        if self.chart_count == 0:
            found.append("no chart containers (div.chart) on the page")
        for number, chart in enumerate(self.charts, start=1):
            name = f"chart {chart.id!r}" if chart.id else "chart without id"
            where = f"{name} (div.chart #{number} of {self.chart_count})"
            if not chart.rendered:
                found.append(f"{where} was not rendered by plotly")
            elif not chart.has_size:
                found.append(f"{where} has zero size ({chart.width:g} x {chart.height:g} px)")
        if self.timed_out:
            found.append("the page did not finish loading and rendering within the timeout")
        found += [f"layout: {message}" for message in self.layout_problems]
        return found

    def __str__(self) -> str:
        problems = self.problems()
        lines = [
            f"{self.url}: {self.charts_rendered} of {self.chart_count} charts rendered, "
            f"{len(problems)} problem(s); screenshot {self.screenshot}"
        ]
        lines += [f"  - {problem}" for problem in problems]
        return "\n".join(lines)


# ---------------------------------------------------------------- finding Chromium


def _major_version(command: str) -> int | str:
    """The major version ``command --version`` prints, or why it could not be read."""
    try:
        done = subprocess.run(
            [command, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`{command} --version` failed: {error}"
    match = re.search(r"\b(\d+)\.\d+\.\d+", done.stdout)
    if done.returncode != 0 or match is None:
        return (
            f"`{command} --version` exited with {done.returncode} and printed "
            f"{(done.stdout + done.stderr).strip()!r}"
        )
    return int(match.group(1))


def _locate() -> tuple[str, str] | str:
    """``(chromium, chromedriver)`` paths, or the reason they cannot be used."""
    chromium = next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)
    driver = shutil.which(CHROMEDRIVER_NAME)
    missing = [
        name for name, path in (("chromium", chromium), (CHROMEDRIVER_NAME, driver)) if path is None
    ]
    if chromium is None or driver is None:
        return f"{' and '.join(missing)} not found on PATH; {INSTALL_HINT}"
    browser_major, driver_major = _major_version(chromium), _major_version(driver)
    for problem in (browser_major, driver_major):
        if isinstance(problem, str):
            return problem
    if browser_major != driver_major:
        return (
            f"{chromium} is version {browser_major} but {driver} is version {driver_major}; "
            f"chromedriver only drives its own Chromium version ({INSTALL_HINT})"
        )
    return chromium, driver


def chromium_available() -> str | None:
    """Why the browser tests cannot run here (Chromium or chromedriver missing, or of different
    versions), or None when they can."""
    located = _locate()
    return located if isinstance(located, str) else None


def require_chromium() -> None:
    """Skip the calling test when Chromium is unusable, or fail it if ``EVBT_REQUIRE_BROWSER``
    is set (``.ci/run`` sets it, so browser tests cannot silently skip in CI)."""
    reason = chromium_available()
    if reason is None:
        return
    if os.environ.get("EVBT_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (EVBT_REQUIRE_BROWSER is set, so this is an error)")
    pytest.skip(reason)


# ---------------------------------------------------------------- the browser


def inspect_page(
    html_path: Path,
    screenshot: Path,
    *,
    width: int = 1400,
    height: int = 2000,
    timeout: float = 60,
    max_screenshot_height: int = 15_000,
    first_screen: Path | None = None,
    phone: bool = False,
    probe: str | None = None,
) -> PageReport:
    """Open ``html_path`` in headless Chromium, wait for its charts, screenshot it, report.

    Parameters
    ----------
    html_path : the local HTML file, opened by its ``file://`` URL.
    screenshot : where to write the full-page PNG (its folder is created).
    width, height : the browser window's size in px while the page loads (headless Chromium
        keeps some of the height for its emulated toolbars, so the page's viewport is shorter).
    timeout : seconds the page has to finish loading and to get every ``div.chart`` rendered by
        plotly. Not rendering in time is reported (``timed_out``, charts not rendered), not raised.
    max_screenshot_height : for the screenshot the window is made as tall as the page, up to
        this many px; a taller page is cut off at the bottom.
    first_screen : where to write a screenshot of the first screen (the window as it is),
        before the window is made as tall as the page.
    phone : emulate a phone whose screen is ``width`` x ``height`` CSS px (DevTools device
        metrics, mobile): a headless window cannot be narrower than about 500 px.
    probe : JavaScript (a function body that returns a JSON-able value) run on the first
        screen once every chart is drawn, before the window grows; its value is
        ``PageReport.probe`` (e.g. where the first screen's elements are).

    Raises
    ------
    FileNotFoundError : ``html_path`` does not exist, or Chromium/chromedriver are not usable
        (the message says why).
    TimeoutError : the page's JavaScript hangs (after the timeout, a script could not run in
        the page for another ``timeout`` seconds), or the browser did not even open
        ``about:blank`` within ``COMMAND_TIMEOUT``.
    selenium.common.exceptions.WebDriverException : Chromium could not be started or driven.
    """
    html_path = Path(html_path).resolve()
    if not html_path.is_file():
        raise FileNotFoundError(f"inspect_page: page {html_path} does not exist")
    located = _locate()
    if isinstance(located, str):
        raise FileNotFoundError(f"inspect_page: cannot start Chromium: {located}")
    chromium, chromedriver = located
    url = html_path.as_uri()
    screenshot = Path(screenshot)
    screenshot.parent.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(
        prefix="evbt-chromium-", ignore_cleanup_errors=True
    ) as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.page_load_strategy = "none"
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        driver = webdriver.Chrome(
            service=Service(executable_path=chromedriver, log_output=subprocess.DEVNULL),
            options=options,
        )
        try:
            # a script (and so every check below) may take as long as the page may
            driver.set_script_timeout(timeout)
            driver.set_page_load_timeout(max(timeout, COMMAND_TIMEOUT))
            # A fresh Chromium shows its new-tab page, which may still be loading when the page
            # is opened: leave it for an empty page first, then forget what it logged.
            driver.get("about:blank")
            if not _wait_until(driver, _SHOWS_JS, "about:blank", timeout=COMMAND_TIMEOUT):
                raise TimeoutError(
                    f"inspect_page: Chromium did not open about:blank in {COMMAND_TIMEOUT} s"
                )
            if phone:
                _emulate(driver, width, height)
            _log(driver, "browser")
            _log(driver, "performance")
            started = time.monotonic()
            # page_load_strategy "none": get() returns at once; the wait for the load event and
            # the charts is ours, with our timeout, and after it the page is inspected as it is
            driver.get(url)
            timed_out = not _wait_until(driver, _ALL_RENDERED_JS, url, timeout=timeout)
            if timed_out:
                try:
                    driver.execute_script("window.stop();")
                except TimeoutException as error:
                    raise TimeoutError(
                        f"inspect_page: {url} did not answer a script within {timeout:g} s "
                        "after the timeout: its JavaScript hangs (an endless loop?)"
                    ) from error
            # generous limits from here on: a busy machine must not fail the collection
            driver.set_script_timeout(max(timeout, COMMAND_TIMEOUT))
            render_seconds = time.monotonic() - started
            charts = tuple(
                ChartState(
                    id=str(chart["id"]),
                    rendered=bool(chart["rendered"]),
                    width=float(chart["width"]),
                    height=float(chart["height"]),
                )
                for chart in driver.execute_script(_CHARTS_JS)
            )

            layout_problems = tuple(str(m) for m in driver.execute_script(_LAYOUT_JS))
            probed = driver.execute_script(probe) if probe else None
            if first_screen is not None:
                Path(first_screen).parent.mkdir(parents=True, exist_ok=True)
                if not driver.save_screenshot(str(first_screen)):
                    raise OSError(f"inspect_page: could not write the screenshot {first_screen}")
            page_height = int(driver.execute_script(_PAGE_HEIGHT_JS))
            if phone:
                _emulate(driver, width, max(min(page_height, max_screenshot_height), height))
            else:
                chrome_height = int(driver.execute_script("return outerHeight - innerHeight;"))
                driver.set_window_size(
                    width, max(min(page_height, max_screenshot_height) + chrome_height, height)
                )
            driver.execute_async_script(_TWO_FRAMES_JS)
            if not driver.save_screenshot(str(screenshot)):
                raise OSError(f"inspect_page: could not write the screenshot {screenshot}")

            console_errors, js_exceptions = _console(_log(driver, "browser"))
            failed, external = _network(_log(driver, "performance"), url)
        finally:
            driver.quit()

    return PageReport(
        url=url,
        console_errors=console_errors,
        js_exceptions=js_exceptions,
        failed_requests=failed,
        external_requests=external,
        chart_count=len(charts),
        charts_rendered=sum(chart.rendered for chart in charts),
        charts=charts,
        timed_out=timed_out,
        render_seconds=render_seconds,
        page_height=page_height,
        screenshot=screenshot,
        layout_problems=layout_problems,
        first_screen=first_screen,
        probe=probed,
    )


def _emulate(driver: ChromiumDriver, width: int, height: int) -> None:
    """Show pages as a phone's screen of ``width`` x ``height`` CSS px would."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
    )


def _wait_until(driver: ChromiumDriver, script: str, url: str, *, timeout: float) -> bool:
    """Whether ``script`` (given ``url``) returned true within ``timeout`` seconds."""
    try:
        WebDriverWait(
            driver,
            timeout,
            poll_frequency=0.1,
            # while a navigation commits, a script may find no page to run in
            ignored_exceptions=(WebDriverException,),
        ).until(lambda d: d.execute_script(script, url) is True)
    except TimeoutException:
        return False
    return True


def _log(driver: ChromiumDriver, kind: str) -> list[dict[str, Any]]:
    """The ``kind`` log's entries since it was last read (reading empties it)."""
    entries: list[dict[str, Any]] = driver.get_log(kind)  # type: ignore[no-untyped-call]
    return entries


def _console(entries: list[dict[str, Any]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(console errors, uncaught exceptions) from the ``browser`` log."""
    errors: list[str] = []
    exceptions: list[str] = []
    for entry in entries:
        if entry.get("level") != "SEVERE":
            continue
        source = entry.get("source")
        if source == "network":  # the performance log reports these with URL and reason
            continue
        (exceptions if source == "javascript" else errors).append(str(entry.get("message", "")))
    return tuple(errors), tuple(exceptions)


def _network(
    entries: list[dict[str, Any]], page_url: str
) -> tuple[tuple[FailedRequest, ...], tuple[str, ...]]:
    """(failed requests, external URLs) from the ``performance`` log.

    Counting starts at the request for the page itself, so that what the fresh browser loaded
    before (its start page) is not blamed on the page. Should that request not be found as
    expected, counting starts at the first ``file:`` document, else at the first event: better a
    false alarm than a missed failure.
    """
    events = [json.loads(entry["message"])["message"] for entry in entries]
    documents = [
        (index, str(event["params"]["request"]["url"]))
        for index, event in enumerate(events)
        if event.get("method") == "Network.requestWillBeSent"
        and event["params"].get("type") == "Document"
    ]
    start = next((index for index, url in documents if url == page_url), None)
    if start is None:
        start = next((index for index, url in documents if url.startswith("file:")), 0)

    urls: dict[str, str] = {}  # requestId -> URL, for requests made by the page
    failed: list[FailedRequest] = []
    external: list[str] = []
    for event in events[start:]:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            request_url = str(params["request"]["url"])
            urls[params["requestId"]] = request_url
            if request_url.split(":", 1)[0].lower() not in LOCAL_SCHEMES:
                external.append(request_url)
        elif method == "Network.webSocketCreated":
            external.append(str(params["url"]))
        elif method == "Network.loadingFailed" and params.get("requestId") in urls:
            reason = str(params.get("errorText") or "failed")
            if params.get("blockedReason"):
                reason += f", blocked: {params['blockedReason']}"
            if params.get("canceled"):
                reason += ", canceled"
            failed.append(FailedRequest(urls[params["requestId"]], reason))
        elif method == "Network.responseReceived" and params.get("requestId") in urls:
            status = int(params["response"].get("status") or 0)
            if status >= 400:
                reason = f"HTTP {status} {params['response'].get('statusText', '')}".rstrip()
                failed.append(FailedRequest(urls[params["requestId"]], reason))
    return tuple(failed), tuple(external)
