"""Progress on standard error: one line per step, with a bar when the step knows its size.

Every wait of more than a moment shows something (``--quiet`` silences it all): a step that
reports ``(done, total)`` gets a bar, one that does not gets a status line with the time it
has taken so far. Standard output stays for results.

>>> with Steps(enabled=False) as steps:
...     with steps.step("catalog") as update:
...         update(1, 1)
>>> sorted(steps.timings)
['catalog']
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: a step's progress callback: ``update(done, total)``
Update = Callable[[int, int], None]


class Steps:
    """Progress of a command's steps on standard error (a no-op when not ``enabled``).

    Parameters
    ----------
    enabled:
        Show the steps; ``False`` only times them.
    transient:
        Clear the lines when done (for commands whose output follows on the terminal).
    """

    def __init__(self, *, enabled: bool, transient: bool = False) -> None:
        self.enabled = enabled
        self.transient = transient
        self.timings: dict[str, float] = {}
        self._progress: Any = None

    def __enter__(self) -> Steps:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(finished_text="-"),
                TextColumn("{task.description:<32}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=self.transient,
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
            self._progress = None

    @contextmanager
    def step(self, name: str, total: int | None = None) -> Iterator[Update]:
        """Time a step; the callback ``(done, total)`` advances its bar."""
        t0 = time.perf_counter()
        progress = self._progress
        task = progress.add_task(name, total=total) if progress is not None else None

        def update(done: int, total_: int) -> None:
            if task is not None:
                progress.update(task, completed=done, total=total_)

        try:
            yield update
        finally:
            self.timings[name] = round(time.perf_counter() - t0, 3)
            if task is not None:
                t = progress.tasks[task]
                progress.update(task, completed=t.total or 1, total=t.total or 1)
