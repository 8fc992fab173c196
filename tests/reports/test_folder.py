"""A report never loses a user's files: where it may go, the swap, signals, permissions.

The race and signal cases run real processes (subprocess, kill), as a user's would.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from backtest.errors import ReportFolderError
from backtest.job import RunResult
from backtest.reports import folder as F
from backtest.reports import write_report

ROOT = Path(__file__).resolve().parents[2]


def tree(path: Path) -> dict[str, str]:
    """Every file under ``path`` with its text."""
    return {
        str(p.relative_to(path)): p.read_text(encoding="utf-8", errors="replace")
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def victim(parent: Path) -> Path:
    v = parent / "victim"
    (v / "sub").mkdir(parents=True)
    (v / "thesis.txt").write_text("precious", encoding="utf-8")
    (v / "sub" / "notes.txt").write_text("more", encoding="utf-8")
    return v


# ------------------------------------------------------------------------------ destination


def test_a_folder_that_is_not_a_report_is_refused(
    plain_result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ReportFolderError) as err:
        write_report(plain_result, "victim")
    assert str(err.value).startswith(
        "victim is not empty and is not an evbt report (it has no run.json written by evbt): "
        "evbt will not replace it. Choose another --out, or pass --force"
    )
    assert err.value.path == "victim"
    assert tree(tmp_path / "victim") == {"sub/notes.txt": "more", "thesis.txt": "precious"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]  # nothing left beside it


def test_force_replaces_it_and_a_report_replaces_a_report(
    plain_result: RunResult, tmp_path: Path
) -> None:
    out = victim(tmp_path)
    write_report(plain_result, out, force=True)
    assert not (out / "thesis.txt").exists()
    assert F.is_report(out)
    (out / "stray.txt").write_text("from the old report", encoding="utf-8")
    write_report(plain_result, out)  # a report: replaced without --force
    assert not (out / "stray.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]


def test_an_empty_or_missing_folder_is_fine_and_a_file_never(
    plain_result: RunResult, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    write_report(plain_result, tmp_path / "empty")
    write_report(plain_result, tmp_path / "new" / "deeper")
    assert F.is_report(tmp_path / "empty")
    assert F.is_report(tmp_path / "new" / "deeper")
    (tmp_path / "file").write_text("mine", encoding="utf-8")
    for force in (False, True):
        with pytest.raises(ReportFolderError, match=r"file is a file, not a folder"):
            write_report(plain_result, tmp_path / "file", force=force)
    assert (tmp_path / "file").read_text(encoding="utf-8") == "mine"


def _report(folder: Path, by: str) -> Path:
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"format": F.FORMAT, "by": by}))
    (folder / "index.html").write_text("page")
    return folder


def test_a_report_swapped_in_by_another_writer_meanwhile_is_not_foreign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before computing runs without the lock: another writer may swap its report
    into the destination at that moment (the old one renamed aside, the new one renamed in).
    A marker read in that instant finds no folder; the destination is still a report, not
    a stranger's files (this once failed the two-process test below)."""
    out = _report(tmp_path / "rep", "a")
    new = _report(tmp_path / ".rep.evbt-tmp-1-x", "b")
    real = F.is_report
    calls = []

    def mid_swap(folder: str | os.PathLike[str]) -> bool:
        calls.append(folder)
        if len(calls) > 1:
            return real(folder)
        old = tmp_path / ".rep.evbt-old-1-x"
        os.rename(out, old)  # the other writer's first rename...
        seen = real(folder)  # ...this read falls between its two renames
        os.rename(new, out)  # ...and its second
        return seen

    monkeypatch.setattr(F, "is_report", mid_swap)
    assert F.check_destination(out) == out.resolve()
    assert len(calls) == 2
    assert json.loads(tree(out)["run.json"])["by"] == "b"


def test_a_strangers_folder_is_read_again_and_still_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v = victim(tmp_path)
    reads = []
    real = F.is_report
    monkeypatch.setattr(F, "is_report", lambda folder: reads.append(folder) or real(folder))
    with pytest.raises(ReportFolderError, match="is not empty and is not an evbt report"):
        F.check_destination(v)
    assert len(reads) > 1  # read again before it is refused
    assert tree(v) == {"sub/notes.txt": "more", "thesis.txt": "precious"}


def test_a_report_of_an_older_evbt_needs_force_once(
    plain_result: RunResult, tmp_path: Path
) -> None:
    out = tmp_path / "old"
    out.mkdir()
    (out / "run.json").write_text('{"name": "evbt-run", "meta": {}}', encoding="utf-8")
    with pytest.raises(ReportFolderError, match="older evbt also needs --force once"):
        write_report(plain_result, out)
    write_report(plain_result, out, force=True)
    assert F.is_report(out)


@pytest.mark.parametrize(
    ("out", "says"),
    [
        ("events", "events is an input of this run ({root}/events): the report would replace it"),
        ("prices", "prices is an input of this run ({root}/prices): the report would replace it"),
        (".", ". holds an input of this run ("),
        ("prices/report", "prices/report lies inside the input folder {root}/prices of this run"),
        ("events/x/y", "events/x/y lies inside the input folder {root}/events of this run"),
        ("run.toml", "run.toml is an input of this run ({root}/run.toml)"),
    ],
)
def test_never_over_or_into_an_input_even_with_force(
    plain_result: RunResult,
    plain_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    out: str,
    says: str,
) -> None:
    before = tree(plain_root)
    monkeypatch.chdir(plain_root)
    for force in (False, True):
        with pytest.raises(ReportFolderError) as err:
            write_report(plain_result, out, force=force)
        assert str(err.value).startswith(says.format(root=plain_root.resolve())), str(err.value)
    assert tree(plain_root) == before


def test_the_inputs_the_command_line_names_are_protected(
    plain_result: RunResult, tmp_path: Path
) -> None:
    from dataclasses import replace

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "META.parquet").write_bytes(b"data")
    # the cli helper adds RunResult.input_paths; until then any object with the attribute works
    result = replace(plain_result)
    object.__setattr__(result, "input_paths", (str(cache),))
    with pytest.raises(ReportFolderError, match="is an input of this run"):
        write_report(result, cache, force=True)
    assert (cache / "META.parquet").read_bytes() == b"data"


def test_folders_get_the_users_normal_permissions(plain_result: RunResult, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_report(plain_result, tmp_path / "r")
    finally:
        os.umask(old)
    for p in [tmp_path / "r", *(q for q in (tmp_path / "r").rglob("*") if q.is_dir())]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o755, p
    assert stat.S_IMODE((tmp_path / "r" / "index.html").stat().st_mode) == 0o644


def test_a_failed_write_keeps_the_old_report(
    plain_result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r"
    write_report(plain_result, out)
    (out / "marker.txt").write_text("previous report", encoding="utf-8")

    def broken(*args: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr("backtest.reports.write._build", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(plain_result, out)
    assert (out / "marker.txt").read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no temporary folder left


def test_an_unwritable_parent_is_a_message(plain_result: RunResult, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    with pytest.raises(ReportFolderError, match=r"cannot create the report folder .*ro/r"):
        write_report(plain_result, ro / "r")


def test_leftovers_of_killed_writers_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    for name in (f".rep.evbt-tmp-{pid}-abc123", f".rep.evbt-old-{pid}-abc124", f".rep.old-{pid}"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x").write_text("x", encoding="utf-8")
    alive = tmp_path / f".rep.evbt-tmp-{os.getpid()}-abc125"  # a writer still at work
    alive.mkdir()
    unrelated = tmp_path / f".other.evbt-tmp-{pid}-abc126"
    unrelated.mkdir()
    F.remove_leftovers(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["rep", alive.name, unrelated.name])


# ------------------------------------------------------------------------------ processes

SWAPPER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from backtest.errors import ReportBusyError
    from backtest.reports import folder as F

    out, tag, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    print("ready", flush=True)
    sys.stdin.readline()  # both start together
    busy = 0
    for i in range(n):
        o = F.check_destination(out)
        tmp = F.make_temporary(o)
        (tmp / "run.json").write_text('{"format": "%s", "by": "%s %d"}' % (F.FORMAT, tag, i))
        (tmp / "index.html").write_text("page")
        try:
            F.swap_into_place(tmp, o, check=lambda: F.check_destination(out), timeout=30)
        except ReportBusyError as exc:
            busy += 1
            print("busy:", exc, file=sys.stderr)
            import shutil
            shutil.rmtree(tmp)
    print("done", busy, flush=True)
    """
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}


@pytest.mark.slow
def test_two_processes_swapping_one_destination(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    pipe = subprocess.PIPE
    command = [sys.executable, "-c", SWAPPER, str(out)]
    procs = [
        subprocess.Popen(
            [*command, tag, "300"], stdin=pipe, stdout=pipe, stderr=pipe, text=True, env=_env()
        )
        for tag in ("a", "b")
    ]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [p.communicate(timeout=300) for p in procs]
    for p, (stdout, stderr) in zip(procs, results, strict=True):
        assert p.returncode == 0, stderr
        # a loser would say so clearly; with the lock nobody loses here
        assert stdout.split()[-2:] == ["done", "0"], (stdout, stderr)
        assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # nothing stale
    assert tree(out)["index.html"] == "page"
    assert F.is_report(out)


WRITER = textwrap.dedent(
    """
    import pickle, sys, time
    from pathlib import Path
    import backtest.reports.write as W

    result = pickle.loads(Path(sys.argv[1]).read_bytes())
    build = W._build

    def slow(result, tmp):
        files = build(result, tmp)
        print("built", flush=True)
        time.sleep(60)
        return files

    W._build = slow
    W.write_report(result, sys.argv[2])
    """
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["TERM", "HUP", "INT"]
)
def test_a_signal_while_writing_cleans_up(
    plain_result: RunResult, plain_pickle: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "rep"
    write_report(plain_result, out)
    before = tree(out)
    p = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(plain_pickle), str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    assert p.stdout is not None
    line = p.stdout.readline()
    assert line.strip() == "built", p.stderr.read() if p.stderr else ""
    assert [q.name for q in tmp_path.iterdir() if ".evbt-tmp-" in q.name]  # it is writing
    p.send_signal(sig)
    _, stderr = p.communicate(timeout=60)
    # the process ends as the signal would have ended it (Python re-raises SIGINT too)
    assert p.returncode == -sig, stderr
    assert sorted(q.name for q in tmp_path.iterdir()) == ["rep"]
    assert tree(out) == before


@pytest.mark.slow
def test_kill_9_leftovers_go_with_the_next_write(
    plain_result: RunResult, plain_pickle: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    p = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(plain_pickle), str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "built"
    p.kill()
    p.wait(timeout=30)
    time.sleep(0.1)
    assert [q.name for q in tmp_path.iterdir() if ".evbt-tmp-" in q.name]
    write_report(plain_result, out)
    assert sorted(q.name for q in tmp_path.iterdir()) == ["rep"]
