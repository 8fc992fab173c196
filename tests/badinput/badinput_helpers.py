"""Helpers of the bad-input corpus tests (a module with a unique name, importable from them)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path


def refused_without_hanging(read: Callable[[Path], object], path: Path) -> str:
    """The message of the error ``read(path)`` raises, failing if it has not within 10 s (a
    reader that opens a FIFO waits for a writer forever)."""
    out: list[str] = []

    def run() -> None:
        try:
            read(path)
        except Exception as exc:  # the test compares the message and its class name
            out.append(f"{type(exc).__name__}: {exc}")
        else:
            out.append("no error")

    reader = threading.Thread(target=run, daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), f"reading {path} hung"
    return out[0]
