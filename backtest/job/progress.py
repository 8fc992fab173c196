"""Progress on standard error: one line per step, with a bar when the step knows its size.

Every wait of more than a moment shows something (``--quiet`` silences it all): a step that
reports ``(done, total)`` gets a bar, one that does not gets a status line with the time it
has taken so far. Standard output stays for results.

>>> with Steps(enabled=False) as steps:
...     with steps.step("catalog") as update:
...         update(1, 1)
...         update.stage("reading")
>>> sorted(steps.timings)
['catalog']
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


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
                TextColumn("{task.description:<40}"),
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
    def step(self, name: str, total: int | None = None) -> Iterator[StepUpdate]:
        """Time a step; the callback ``(done, total)`` advances its bar and its ``stage(text)``
        names the stage the step is in (``event study: test battery``)."""
        t0 = time.perf_counter()
        update = StepUpdate(name, self._progress, total)
        try:
            yield update
        finally:
            self.timings[name] = round(time.perf_counter() - t0, 3)
            update.finish()


class StepUpdate:
    """A step's progress callback: ``update(done, total)`` advances the bar,
    ``update.stage(text)`` shows which stage the step is in, ``update.stages`` lists them."""

    def __init__(self, name: str, progress: Any, total: int | None) -> None:
        self.name = name
        self.stages: list[str] = []
        self._progress = progress
        self._task = progress.add_task(name, total=total) if progress is not None else None

    def __call__(self, done: int, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=done, total=total)

    def stage(self, text: str) -> None:
        """Name the stage the step has reached (the line reads ``step: stage``)."""
        self.stages.append(text)
        if self._task is not None:
            self._progress.update(self._task, description=f"{self.name}: {text}")

    def finish(self) -> None:
        """Fill the bar and give the line back its step's name."""
        if self._task is not None:
            t = self._progress.tasks[self._task]
            done = t.total or 1
            self._progress.update(self._task, completed=done, total=done, description=self.name)
