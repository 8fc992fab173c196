"""Pausing Python's cyclic garbage collector around work that makes many objects but no cycles.

A collection walks every tracked object of the process, so one that starts in the middle of a
large job costs in proportion to everything the process holds (a pandas session holds
millions), and finds nothing to free when the job's objects form no cycle. Reference counting
still frees every object as usual while the collector is paused; cycles made meanwhile are
collected by the first collection after it.

>>> import gc
>>> with collector_paused():
...     gc.isenabled()
False
>>> gc.isenabled()
True
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector inside the block, then restore its prior state.

    The switch is process-wide: blocks on several threads at once share it, and the state found
    by the first to enter is restored when the last leaves.
    """
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
