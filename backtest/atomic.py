"""Atomic file writes: a reader sees the old file or the new one, never half of either.

The data goes to a temporary file in the destination's folder, is flushed and fsync'ed, then
moved over the destination with :func:`os.replace` (atomic on POSIX and Windows), and the folder
is fsync'ed so the rename itself survives a crash. A writer that fails or is interrupted removes
its temporary file; one killed outright leaves a ``.<name>.tmp-*`` file that
:func:`remove_stale_temporaries` clears.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def temporary_name(path: Path) -> Path:
    """A fresh temporary path beside ``path`` (``.<name>.tmp-<pid>-<random>``)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], *, fsync: bool = True) -> Iterator[IO[bytes]]:
    """A binary file handle whose content replaces ``path`` when the block ends without error.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
    >>> with atomic_writer(p) as fh:
    ...     _ = fh.write(b"data")
    >>> p.read_bytes()
    b'data'
    """
    target = Path(path)
    tmp = temporary_name(target)
    try:
        with open(tmp, "wb") as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        fsync_directory(target.parent)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_writer(path, fsync=fsync) as fh:
        fh.write(data)


def write_text(path: str | os.PathLike[str], text: str, *, fsync: bool = True) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically."""
    write_bytes(path, text.encode("utf-8"), fsync=fsync)


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Flush a folder's entries to disk (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(path: str | os.PathLike[str]) -> None:
    """Remove the temporary files of ``path`` left by killed writers (call under its lock)."""
    p = Path(path)
    for tmp in p.parent.glob(f".{p.name}.tmp-*"):
        tmp.unlink(missing_ok=True)
