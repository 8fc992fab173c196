"""Bad report destinations: one small run configuration per case in ``output/`` (its first
line, ``# args: ...``, gives the command-line arguments), each refused with the exact one-line
message before anything is computed: the run reads an empty prices folder, so a run that got
as far as computing would fail with another message."""

from __future__ import annotations

import errno
import os
import shlex
import shutil
from collections import namedtuple
from pathlib import Path

import pytest

from backtest.cli import main

CASES = Path(__file__).parent / "output"
B300 = "b" * 300
A300 = "a" * 300
FORCE = "choose another folder, or --force to replace it"
INPUT = "an input of this run; write the report elsewhere"
OWN = "a report replaces its folder, so give a folder of its own (e.g. --out reports/my-run)"

EXPECTED: dict[str, str] = {
    "out-dot.toml": f".: is the current folder; {OWN}",
    "out-parent.toml": f"x/..: is the current folder; {OWN}",
    "out-above.toml": f"{{cwd}}/..: is a parent of the current folder; {OWN}",
    "name-300.toml": (
        "{case}: field --name: a run name of 300 characters is too long for a folder name: "
        "use at most 200"
    ),
    "name-newline.toml": (
        "{case}: field --name: 'abc\\n' cannot name a report folder: use letters, digits, '.', "
        "'_', '-' (starting with a letter or digit)"
    ),
    "out-300.toml": f"{B300}: the folder name is 300 characters long; use at most 200",
    "not-a-report.toml": f"victim: is a folder that is not an evbt report and not empty; {FORCE}",
    "out-is-a-file.toml": "afile: is a file, not a folder; give a folder for the report",
    "over-the-catalog.toml": f"events: would replace {{cwd}}/events, {INPUT}",
    "inside-the-catalog.toml": f"events/report: is inside {{cwd}}/events, {INPUT}",
    "events.toml": f"{{cwd}}/events: would replace {{cwd}}/events, {INPUT}",
    "over-the-config.toml": f"{{case}}: would replace {{case}}, {INPUT}",
    "read-only.toml": (
        "readonly/report: cannot be written: {cwd}/readonly is read-only (or not yours); "
        "choose another"
    ),
    "disk-full.toml": (
        "full/report: the disk of {cwd}/full has 1.0 MB free; a report needs about 64 MB"
    ),
}


@pytest.fixture
def workplace(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a catalog, a folder that is not a report, a file, a read-only folder and
    a folder on a full disk."""
    (tmp_path / "events").mkdir()
    shutil.copy(repo_root / "events" / "layoffs.yaml", tmp_path / "events")
    (tmp_path / "victim" / "sub").mkdir(parents=True)
    (tmp_path / "victim" / "thesis.txt").write_text("precious\n", encoding="utf-8")
    (tmp_path / "afile").write_text("not a folder\n", encoding="utf-8")
    (tmp_path / "x").mkdir()
    (tmp_path / "readonly").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "no-prices").mkdir()
    from backtest.cli import _outdir

    real_access, real_usage = os.access, shutil.disk_usage

    def access(path: str | os.PathLike[str], mode: int) -> bool:
        if Path(path) == tmp_path / "readonly" and mode & os.W_OK:
            return False  # as a read-only disk answers (root passes permission bits)
        return real_access(path, mode)

    def disk_usage(path: str | os.PathLike[str]) -> object:
        if Path(path) == tmp_path / "full":
            return namedtuple("usage", "total used free")(10 << 20, 9 << 20, 1 << 20)
        return real_usage(path)

    monkeypatch.setattr(_outdir.os, "access", access)
    monkeypatch.setattr(_outdir.shutil, "disk_usage", disk_usage)
    monkeypatch.chdir(tmp_path)
    for k in ("EVBT_CATALOG", "EVBT_PRICES_DIR", "EVBT_CACHE_DIR"):
        monkeypatch.delenv(k, raising=False)
    return tmp_path


def run_case(name: str, where: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    case = where / name
    shutil.copy(CASES / name, case)
    header = (CASES / name).read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("# args:"), name
    text = header.removeprefix("# args:").replace("{cwd}", str(where)).replace("{case}", str(case))
    args = [a.replace("{nl}", "\n") for a in shlex.split(text)]
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", str(case), "--prices-dir", str(where / "no-prices"), "-q", *args])
    return int(info.value.code or 0), capsys.readouterr().err


def test_every_case_file_has_its_expected_message() -> None:
    assert {p.name for p in CASES.glob("*.toml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_destination(name: str, workplace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_case(name, workplace, capsys)
    expected = EXPECTED[name].replace("{cwd}", str(workplace))
    expected = expected.replace("{case}", str(workplace / name))
    assert code == 1
    assert err == f"evbt: error: {expected}\n"
    # nothing was touched
    assert (workplace / "victim" / "thesis.txt").read_text(encoding="utf-8") == "precious\n"
    assert (workplace / "events" / "layoffs.yaml").is_file()
    assert sorted(p.name for p in workplace.iterdir() if p.name.startswith(".")) == []


def test_force_replaces_a_folder_that_is_not_a_report(workplace: Path) -> None:
    from backtest.cli._outdir import check_report_dir

    assert check_report_dir(Path("victim"), force=True) == workplace / "victim"
    # but never the current folder, nor an input, even with --force
    from backtest.errors import OutputPathError

    with pytest.raises(OutputPathError, match="is the current folder"):
        check_report_dir(Path("."), force=True)
    with pytest.raises(OutputPathError, match="an input of this run"):
        check_report_dir(Path("events"), inputs=[workplace / "events"], force=True)


def test_an_earlier_report_may_be_replaced(workplace: Path) -> None:
    from backtest.cli._outdir import check_report_dir

    (workplace / "old").mkdir()
    (workplace / "old" / "run.json").write_text("{}", encoding="utf-8")
    assert check_report_dir(Path("old")) == workplace / "old"


@pytest.mark.slow
def test_a_disk_that_fills_while_writing_gives_one_line(
    workplace: Path,
    shared_prices_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import backtest.reports

    def full(result: object, out_dir: Path, *, force: bool) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(out_dir / "index.html"))

    monkeypatch.setattr(backtest.reports, "write_report", full)
    (workplace / "run.toml").write_text(
        '[catalog]\npaths = ["events"]\n[strategies]\npaths = []\n', encoding="utf-8"
    )
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", "run.toml", "--prices-dir", str(shared_prices_dir),
              "--out", "report", "-q"])  # fmt: skip
    assert info.value.code == 1
    assert capsys.readouterr().err == (
        f"evbt: error: {workplace / 'report'}: the report could not be written: the disk is "
        f"full ({workplace / 'report' / 'index.html'}); nothing was replaced\n"
    )
