"""Where a report may go: checked before anything is computed.

A report folder is refused, with a one-line message naming it, when it

* is the current folder or one of its parents (``--out .``, ``--out x/..``), the root or the
  home folder: replacing it would remove everything in it;
* is an input of the run, holds one, or lies inside one (the catalog, a strategy file, the
  configuration, the price or cache folder): a report is never written into or over its inputs;
* is a file, or a non-empty folder that is not an evbt report (unless ``--force``);
* has a name too long for the file system, or sits where nothing can be written (a read-only
  folder or disk), or on a disk with too little room left.

Writing can still fail later (the disk fills up meanwhile): :func:`describe_os_error` turns
that into the same kind of one-line message.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from backtest.errors import OutputPathError

#: the file every evbt report folder holds (written by :func:`backtest.reports.write_report`)
REPORT_MARKER = "run.json"
#: room a report needs on its disk (the page of the shipped run is about 10 MB)
MIN_FREE_BYTES = 64 * 1024 * 1024
#: longest folder name: 255 bytes less room for the temporary ``.<name>.<random>.tmp`` folder
MAX_NAME_BYTES = 200


def check_report_dir(
    folder: Path, *, inputs: Iterable[Path] = (), force: bool = False, cwd: Path | None = None
) -> Path:
    """``folder`` resolved, if a report may be written there; else :class:`OutputPathError`."""
    shown = str(folder)
    try:
        target = Path(os.path.abspath(folder.expanduser()))
        resolved = target.resolve()
    except (OSError, RuntimeError) as exc:
        raise OutputPathError(shown, f"cannot be used as a report folder ({exc})") from None
    here = (cwd or Path.cwd()).resolve()
    if resolved == here or resolved in here.parents:
        what = "the current folder" if resolved == here else "a parent of the current folder"
        raise OutputPathError(
            shown,
            f"is {what}; a report replaces its folder, so give a folder of its own "
            "(e.g. --out reports/my-run)",
        )
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        raise OutputPathError(shown, "is the root or home folder; give a folder of its own")
    name = resolved.name
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise OutputPathError(
            shown,
            f"the folder name is {len(name)} characters long; use at most {MAX_NAME_BYTES}",
        )
    for path in inputs:
        p = path.resolve()
        if p == resolved or resolved in p.parents:
            raise OutputPathError(
                shown,
                f"would replace {p}, an input of this run; write the report elsewhere",
            )
        if p.is_dir() and p in resolved.parents:
            raise OutputPathError(
                shown,
                f"is inside {p}, an input of this run; write the report elsewhere",
            )
    if resolved.exists():
        if not resolved.is_dir():
            raise OutputPathError(shown, "is a file, not a folder; give a folder for the report")
        if not force and _nonempty(resolved) and not (resolved / REPORT_MARKER).is_file():
            raise OutputPathError(
                shown,
                "is a folder that is not an evbt report and not empty; choose another "
                "folder, or --force to replace it",
            )
    parent = existing_ancestor(resolved.parent)
    if not parent.is_dir():
        raise OutputPathError(shown, f"cannot be created: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(
            shown, f"cannot be written: {parent} is read-only (or not yours); choose another"
        )
    try:
        free = shutil.disk_usage(parent).free
    except OSError:
        free = None
    if free is not None and free < MIN_FREE_BYTES:
        raise OutputPathError(
            shown,
            f"the disk of {parent} has {free / 2**20:.1f} MB free; a report needs about "
            f"{MIN_FREE_BYTES // 2**20} MB",
        )
    return resolved


def own_record_read(config: Any, folder: Path) -> Any:
    """``config`` without its file when that file is the ``config.toml`` an evbt report in
    ``folder`` recorded (``evbt run --config reports/X/config.toml``): read whole before
    anything runs, it is the report's record of itself, not an input the new report could
    destroy, so repeating the run replaces that report as any rerun replaces its own report
    (a folder that is not an evbt report still needs ``--force``). Any other configuration
    file stays an input that a report may never replace."""
    if not config.file:
        return config
    try:
        target = Path(os.path.abspath(folder.expanduser())).resolve()
        own = Path(config.file).resolve() == target / "config.toml"
    except (OSError, RuntimeError):
        return config
    if own and (target / REPORT_MARKER).is_file():
        return config.model_copy(update={"file": ""})
    return config


#: the operating system's reasons a file cannot be written, as the messages word them
_OS_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENAMETOOLONG: "a file name is too long",
}


def check_not_input(out: Path | None, inputs: Iterable[Path | None]) -> None:
    """Refuse ``--out`` (:class:`OutputPathError`) when it is one of the command's ``inputs``
    or lies inside an input folder (the catalog, a calendar, a price file or folder): writing
    it would replace, or add to, what the command reads. ``None`` inputs are skipped."""
    if out is None:
        return
    for path in inputs:
        if path is None or not inside(out, path):
            continue
        if Path(os.path.abspath(out)).resolve() == path.resolve():
            why = "is an input of this command: writing it would replace it"
        else:
            why = f"is inside {path}, an input folder of this command"
        raise OutputPathError(str(out), f"{why}; write the output elsewhere")


def inside(out: Path, read: Path) -> bool:
    """Whether ``out`` is the file ``read``, or inside the folder ``read``."""
    try:
        target, source = out.resolve(), read.resolve()
    except OSError:
        return False
    return target == source or (source.is_dir() and target.is_relative_to(source))


def os_reason(exc: OSError) -> str:
    """Why the operating system refused, in a few words (``the disk is full``)."""
    return _OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))


def describe_os_error(folder: Path, exc: OSError) -> OutputPathError:
    """A failure while writing the report as a one-line message naming the folder."""
    reason = os_reason(exc)
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(folder) else ""
    return OutputPathError(
        str(folder), f"the report could not be written: {reason}{where}; nothing was replaced"
    )


def _nonempty(folder: Path) -> bool:
    with os.scandir(folder) as it:
        return any(True for _ in it)


def existing_ancestor(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
