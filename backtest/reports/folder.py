"""Where a report may go, and how it gets there without losing anyone's files.

Rules (:func:`check_destination`):

* a report only replaces a folder that is an evbt report: one holding ``run.json`` whose
  first key is ``"format": "evbt-report/<n>"`` (:data:`FORMAT`, written by every report);
* an empty folder, or none, is fine; a non-empty folder that is not a report is refused with
  a message naming it, unless ``force`` (then it is replaced anyway);
* a file at the destination is refused, ``force`` or not;
* a report is never written over an input of the run (the destination is an input, or holds
  one) nor into one (the destination lies inside an input folder), ``force`` or not.

The report is built in a temporary folder beside its destination (``.<name>.evbt-tmp-<pid>-*``,
created with the user's normal permissions) and swapped into place by two renames while the
parent folder is locked (``flock`` on the folder itself, so no lock file is left behind): of two
processes writing the same destination, one swaps after the other, and a process that cannot get
the lock within :data:`LOCK_TIMEOUT` seconds fails with :class:`~backtest.errors.ReportBusyError`.
A write that fails, or is stopped by SIGTERM, SIGHUP or Ctrl-C, removes its temporary folder
and leaves the previous report as it was; the leftovers of a writer killed outright
(``kill -9``) are removed by the next write to the same destination.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from backtest.errors import ReportBusyError, ReportFolderError

#: The format id of a report folder, written as the first key of its ``run.json``.
FORMAT = "evbt-report/1"
#: The marker file of a report folder.
MARKER = "run.json"
#: Seconds a writer waits for another one to finish swapping the same parent folder.
LOCK_TIMEOUT = 60.0

_FORMAT_RE = re.compile(rb'\A\s*\{\s*"format"\s*:\s*"evbt-report/\d+"')
# after ".<name>": ours, and the ".old-<pid>" folders of evbt before the lock
_LEFTOVER_RE = re.compile(r"\A\.(?:evbt-(?:tmp|old)-(\d+)-[0-9a-f]+|old-(\d+))\Z")


def is_report(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds the marker of an evbt report (``run.json`` with the format id).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> is_report(d)
    False
    >>> _ = (d / "run.json").write_text('{"format": "evbt-report/1", "name": "x"}')
    >>> is_report(d)
    True
    """
    marker = Path(folder) / MARKER
    try:
        with open(marker, "rb") as fh:
            head = fh.read(256)
    except OSError:
        return False
    return bool(_FORMAT_RE.match(head))


def _resolved(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(Path(path).expanduser())).resolve()


def check_destination(
    out_dir: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    force: bool = False,
) -> Path:
    """The destination ``out_dir``, resolved, once it is known to be safe to (re)place.

    Call it before computing (the command line does) and again right before swapping (the
    writer does, under the lock).

    Raises
    ------
    ReportFolderError
        The destination is a file, an input of the run, inside an input folder, a folder
        holding an input, or a non-empty folder that is not an evbt report (and not ``force``).
    """
    out = _resolved(out_dir)
    shown = str(out_dir)
    if out == Path(out.anchor):
        raise ReportFolderError(shown, f"{shown}: a report cannot replace the root folder")
    for given in inputs:
        p = _resolved(given)
        if out == p:
            raise ReportFolderError(
                shown,
                f"{shown} is an input of this run ({given}): the report would replace it; "
                "choose another --out (or another run name)",
            )
        if out in p.parents:
            raise ReportFolderError(
                shown,
                f"{shown} holds an input of this run ({given}): writing the report there would "
                "delete it; choose another --out (or another run name)",
            )
        if p in out.parents and p.is_dir():
            raise ReportFolderError(
                shown,
                f"{shown} lies inside the input folder {given} of this run: the report's files "
                "would mix with the inputs; choose another --out",
            )
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ReportFolderError(
            shown,
            f"{shown} is a file, not a folder: evbt will not replace it; choose another --out",
        )
    if out.is_dir() and not force and _foreign(out, shown):
        raise ReportFolderError(
            shown,
            f"{shown} is not empty and is not an evbt report (it has no {MARKER} written by "
            "evbt): evbt will not replace it. Choose another --out, or pass --force to "
            "replace the folder and everything in it (a report written by an older evbt "
            "also needs --force once)",
        )
    return out


#: Reads of a folder that looks foreign before :func:`check_destination` believes it.
_FOREIGN_READS = 3


def _foreign(out: Path, shown: str) -> bool:
    """Is ``out`` a folder with files in it but no report marker?

    Another evbt process may be swapping a report into ``out`` meanwhile (its old report
    renamed aside, the new one renamed in: for an instant there is no ``out``), so a folder
    listed with files and then found without a marker is read again after a moment, and only
    called foreign when every read says so. A folder that vanishes is not foreign."""
    for attempt in range(_FOREIGN_READS):
        if attempt:
            time.sleep(0.002)
        try:
            empty = next(out.iterdir(), None) is None
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise ReportFolderError(
                shown, f"{shown}: cannot read the folder ({exc.strerror})"
            ) from None
        if empty or is_report(out):
            return False
    return True


# ---------------------------------------------------------------------------------- building


def make_temporary(out: Path) -> Path:
    """A new empty folder beside ``out`` for building the report, with the user's normal
    permissions (``0o777`` less the umask, as ``mkdir`` gives)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.evbt-tmp-{os.getpid()}-{uuid.uuid4().hex[:10]}")
        tmp.mkdir()
    except OSError as exc:
        raise ReportFolderError(
            str(out), f"cannot create the report folder {out}: {exc.strerror or exc}"
        ) from None
    return tmp


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_leftovers(out: Path) -> None:
    """Remove the temporary and old folders of ``out`` left by writers that no longer run
    (killed outright); call it under the lock."""
    prefix = f".{out.name}."
    try:
        entries = list(out.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        m = _LEFTOVER_RE.match(entry.name[len(prefix) - 1 :])
        if m and not _alive(int(m.group(1) or m.group(2))):
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def locked(parent: Path, *, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive lock on the folder ``parent`` (``flock``; a lock file elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        from filelock import FileLock, Timeout

        try:
            with FileLock(str(parent / ".evbt-report.lock"), timeout=timeout):
                yield
        except Timeout:
            raise _busy(parent, timeout) from None
        return
    fd = os.open(parent, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _busy(parent, timeout) from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _busy(parent: Path, timeout: float) -> ReportBusyError:
    return ReportBusyError(
        str(parent),
        f"another evbt process kept {parent} locked for {timeout:g} s while writing a report "
        "there; try again when it has finished, or choose another --out",
    )


def swap_into_place(
    tmp: Path, out: Path, *, check: Callable[[], object], timeout: float = LOCK_TIMEOUT
) -> None:
    """Replace ``out`` by the finished folder ``tmp``: under the parent's lock, ``check()``
    (which raises when ``out`` may no longer be replaced), then ``out`` is renamed aside,
    ``tmp`` renamed to ``out`` and the old folder removed. On any failure ``out`` is as it was
    and ``tmp`` is left for the caller to remove."""
    with locked(out.parent, timeout=timeout):
        remove_leftovers(out)
        check()
        old: Path | None = None
        if out.exists():
            old = out.with_name(f".{out.name}.evbt-old-{os.getpid()}-{uuid.uuid4().hex[:10]}")
            os.rename(out, old)
        try:
            os.rename(tmp, out)
        except BaseException:
            if old is not None:
                os.rename(old, out)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------------- signals


class Terminated(BaseException):
    """Raised in the writing thread when the process is asked to stop (SIGTERM, SIGHUP), so
    that the temporary folder is removed before the process ends."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by signal {signum}")


_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` (main thread only; a
    no-op elsewhere). After the block the previous handlers are back; a :class:`Terminated`
    that leaves the block is delivered again to them, so the process ends as it would have."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated(signum)

    previous: dict[int, Any] = {}
    for s in _SIGNALS:
        previous[s] = signal.signal(s, handler)
    try:
        yield
    except Terminated as stop:
        _restore(previous)
        previous = {}
        signal.raise_signal(stop.signum)  # the previous handler (default: the process ends)
        raise SystemExit(128 + stop.signum) from None
    finally:
        _restore(previous)


def _restore(previous: dict[int, Any]) -> None:
    for s, h in previous.items():
        signal.signal(s, h if h is not None else signal.SIG_DFL)
