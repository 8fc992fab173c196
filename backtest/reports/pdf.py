"""An optional PDF of the report's main page, printed by headless Chromium.

Never required: :func:`write_pdf` returns ``None`` (and writes nothing) when no Chromium is
installed; the command line's ``evbt run --pdf`` says so. The page is given time to draw its
charts (``--virtual-time-budget``) before it is printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from backtest.errors import ReportPdfError

#: Names Chromium goes by on PATH, tried in order.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) on PATH, or None."""
    return next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None)


def write_pdf(
    report_dir: str | os.PathLike[str], *, chromium: str | None = None, timeout: float = 120
) -> Path | None:
    """Print ``report_dir/index.html`` to ``report_dir/index.pdf``; the PDF's path, or
    ``None`` when no Chromium is available.

    Raises
    ------
    ReportPdfError
        Chromium failed, timed out or wrote no PDF (the message gives its output).
    FileNotFoundError
        ``report_dir`` holds no ``index.html``.
    """
    folder = Path(report_dir)
    page = folder / "index.html"
    if not page.is_file():
        raise FileNotFoundError(f"write_pdf: {page} does not exist; write the report first")
    browser = chromium or find_chromium()
    if browser is None:
        return None
    out = folder / "index.pdf"
    with tempfile.TemporaryDirectory(prefix="evbt-pdf-") as profile:
        tmp = Path(profile) / "index.pdf"
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", f"--user-data-dir={profile}/user",
            "--no-pdf-header-footer", "--virtual-time-budget=15000",
            f"--print-to-pdf={tmp}", page.resolve().as_uri(),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise ReportPdfError(
                f"Chromium did not print {page} to PDF within {timeout:g} s"
            ) from None
        except OSError as exc:
            raise ReportPdfError(f"could not start Chromium ({browser}): {exc}") from None
        if done.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            said = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise ReportPdfError(
                f"Chromium could not print {page} to PDF (exit {done.returncode}): "
                + " / ".join(said)
            )
        shutil.move(str(tmp), out)
    return out
