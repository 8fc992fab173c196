"""``evbt run --pdf``: the main page printed by headless Chromium, never required by the job.

Without Chromium on PATH (a PATH holding none) the report is written, the run succeeds and a
warning says why there is no PDF; a Chromium that fails is an error naming what it said; a
real Chromium (browser marker) prints a real PDF."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from backtest.reports.pdf import find_chromium
from tests.clirun import run_main


def small_run(tmp_path: Path, repo_root: Path, prices: Path) -> Path:
    """One event, no strategy: the quickest whole job."""
    config = tmp_path / "run.toml"
    config.write_text(
        f'name = "pdf"\n[catalog]\npaths = ["{repo_root / "events"}"]\n'
        'ids = ["meta-2025q3-results"]\n[strategies]\npaths = []\n'
        f'[prices]\ndir = "{prices}"\n',
        encoding="utf-8",
    )
    return config


def test_without_chromium_the_report_is_written_and_a_warning_says_why(
    tmp_path: Path,
    repo_root: Path,
    shared_prices_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no chromium, chromium-browser, google-chrome
    assert find_chromium() is None
    out = tmp_path / "report"
    config = small_run(tmp_path, repo_root, shared_prices_dir)
    code, stdout, stderr = run_main(
        ["run", "--config", str(config), "--out", str(out), "--pdf", "-q"], capsys
    )
    assert code == 0, stderr
    assert stdout == f"report: {out / 'index.html'}\n"
    assert stderr == (
        "evbt: warning: --pdf: no Chromium found on PATH (looked for chromium, chromium-browser, "
        "google-chrome, google-chrome-stable); the report was written without index.pdf. "
        "Install Chromium (e.g. `apt-get install chromium`) to get the PDF.\n"
    )
    assert (out / "index.html").is_file()
    assert not (out / "index.pdf").exists()


def test_a_chromium_that_fails_is_an_error_and_the_report_stays(
    tmp_path: Path,
    repo_root: Path,
    shared_prices_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    fake = bin_ / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 7\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_}{os.pathsep}/usr/bin{os.pathsep}/bin")
    out = tmp_path / "report"
    config = small_run(tmp_path, repo_root, shared_prices_dir)
    code, _, stderr = run_main(
        ["run", "--config", str(config), "--out", str(out), "--pdf", "-q"], capsys
    )
    assert code == 1
    assert stderr == (
        f"evbt: error: --pdf: Chromium could not print {out / 'index.html'} to PDF (exit 7): "
        "cannot open display; the report was written without index.pdf\n"
    )
    assert (out / "index.html").is_file()
    assert not (out / "index.pdf").exists()


@pytest.mark.browser
def test_a_real_chromium_prints_the_main_page(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if find_chromium() is None:
        message = "no Chromium on PATH (apt-get install chromium)"
        if os.environ.get("EVBT_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path / "report"
    config = small_run(tmp_path, repo_root, shared_prices_dir)
    code, stdout, stderr = run_main(
        ["run", "--config", str(config), "--out", str(out), "--pdf", "-q"], capsys
    )
    assert code == 0, stderr
    pdf = out / "index.pdf"
    assert stdout == f"report: {out / 'index.html'}\npdf: {pdf}\n"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 1  # at least one page
