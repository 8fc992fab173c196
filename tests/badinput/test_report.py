"""Bad input for the report, one file per case in ``tests/badinput/report/``.

``*.toml``: a destination a user may give ``--out`` (``out``, ``force``, and the ``files`` found
there beforehand), run from the folder of a small run (``events/``, ``prices/``, ``run.toml``);
the exact message or outcome of each is below. ``*.yaml``: a catalog entry whose text tries to
inject Markdown, HTML or a spreadsheet formula; the report must show it as text.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from backtest.errors import ReportFolderError
from backtest.job import RunResult, load_config, run_job
from backtest.reports import write_report
from backtest.reports.folder import is_report
from backtest.summary import md_escape
from tests.reports.world import build

CASES = Path(__file__).parent / "report"

NOT_A_REPORT = (
    "victim is not empty and is not an evbt report (it has no run.json written by evbt): evbt "
    "will not replace it. Choose another --out, or pass --force to replace the folder and "
    "everything in it (a report written by an older evbt also needs --force once)"
)
#: case -> the exact message ({root}: the run's folder), or "written" (a report replaced it)
EXPECTED = {
    "not_a_report": NOT_A_REPORT,
    "not_a_report_forced": "written",
    "file_at_destination": (
        "notes.txt is a file, not a folder: evbt will not replace it; choose another --out"
    ),
    "older_report": NOT_A_REPORT.replace("victim", "reports/evbt-run"),
    "catalog_folder": (
        "events is an input of this run ({root}/events): the report would replace it; "
        "choose another --out (or another run name)"
    ),
    "holds_inputs": (
        ". holds an input of this run ({root}/run.toml): writing the report there would delete "
        "it; choose another --out (or another run name)"
    ),
    "inside_price_folder": (
        "prices/report lies inside the input folder {root}/prices of this run: the report's "
        "files would mix with the inputs; choose another --out"
    ),
    "config_file": (
        "run.toml is an input of this run ({root}/run.toml): the report would replace it; "
        "choose another --out (or another run name)"
    ),
}


def test_every_case_has_an_expectation() -> None:
    assert {p.stem for p in CASES.glob("*.toml")} == set(EXPECTED)
    assert {p.stem for p in CASES.glob("*.yaml")} == set(TEXT_CASES)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult]:
    root = tmp_path_factory.mktemp("world")
    build(root, strategies=False)
    return root, run_job(load_config(root / "run.toml"))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_destination(
    case: str,
    world: tuple[Path, RunResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, result = world
    root = tmp_path / "run"
    shutil.copytree(base, root)
    # the result names its inputs by absolute path: a copy of the world with the same result
    # would not be protected, so the copy's result is the same run re-based on the copy
    result = run_job(load_config(root / "run.toml")) if case in PROTECTED else result
    spec = tomllib.loads((CASES / f"{case}.toml").read_text(encoding="utf-8"))
    for name, text in spec.get("files", {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(root)
    before = _snapshot(root)
    expected = EXPECTED[case].format(root=root.resolve())
    if expected == "written":
        write_report(result, spec["out"], force=spec.get("force", False))
        assert is_report(root / spec["out"])
        return
    with pytest.raises(ReportFolderError) as err:
        write_report(result, spec["out"], force=spec.get("force", False))
    assert str(err.value) == expected
    assert _snapshot(root) == before  # nothing lost, nothing added
    assert not list(root.rglob(".*evbt-*"))


PROTECTED = {"catalog_folder", "holds_inputs", "inside_price_folder", "config_file"}


# ------------------------------------------------------------------------------ catalog text

#: case -> the event id it adds
TEXT_CASES = {
    "markdown_link_title": "aaa-md-link",
    "markdown_image_title": "aaa-md-image",
    "formula_title": "aaa-formula",
    "formula_in_claim": "aaa-formula-claim",
    "formula_after_tab": "aaa-formula-tab",
}


@pytest.fixture(scope="module", params=sorted(TEXT_CASES))
def text_report(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, RunResult, Path]:
    case = str(request.param)
    root = tmp_path_factory.mktemp(case)
    build(root, strategies=False, catalog=(CASES / f"{case}.yaml").read_text(encoding="utf-8"))
    result = run_job(load_config(root / "run.toml"))
    out = root / "report"
    write_report(result, out)
    return case, result, out


def _csv_cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


@pytest.mark.slow
def test_catalog_text_is_text_in_markdown(text_report: tuple[str, RunResult, Path]) -> None:
    case, result, out = text_report
    event = result.catalog.get(TEXT_CASES[case])
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert md_escape(event.title) in md  # in the strongest reactions: five events, top six
    # no link, image, tag or code span survives: each opening character is escaped
    for raw in (r"\]\(javascript:", r"!\[pixel", r"<img", r"`details"):
        assert not re.search(r"(?<!\\)" + raw, md), raw


@pytest.mark.slow
def test_formulas_are_neutralised_in_every_csv(text_report: tuple[str, RunResult, Path]) -> None:
    case, result, out = text_report
    starts = ("=", "+", "-", "@", "\t", "\r")
    for path in sorted((out / "tables").glob("*.csv")):
        for cell in _csv_cells(path):
            if cell.startswith(starts):
                # a number stays a number (a negative return is not text)
                float(cell)
    event = result.catalog.get(TEXT_CASES[case])
    titles = set(_csv_cells(out / "tables" / "events.csv"))
    assert (("'" + event.title) if event.title.startswith(starts) else event.title) in titles
    # the JSON tables keep the text exactly
    records = json.loads((out / "tables" / "events.json").read_text(encoding="utf-8"))
    assert event.title in {r["title"] for r in records}
