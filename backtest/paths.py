"""Paths as the public functions take them: one path (``str`` or path-like), or several.
Imports nothing heavy: the catalog, the confounders, the calendars and the strategies use it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: One path, or several: what every function reading catalogs, confounders or calendars takes.
PathsLike = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


def path_list(paths: PathsLike, what: str = "paths") -> list[Path]:
    """``paths`` as a list: one ``str`` or path-like is one path (a string is never read as
    its characters), an iterable gives its items.

    Raises
    ------
    TypeError
        ``paths``, or one of its items, is not a path (e.g. ``bytes`` or a number).
    """
    given: Any = paths  # checked at run time: a caller may pass anything
    if isinstance(given, str | os.PathLike):
        items: list[Any] = [given]
    elif isinstance(given, bytes | bytearray) or not isinstance(given, Iterable):
        raise TypeError(
            f"{what}: expected a path (str or pathlib.Path) or a list of paths, "
            f"got {type(given).__name__}"
        )
    else:
        items = list(given)
    out: list[Path] = []
    for item in items:
        if not isinstance(item, str | os.PathLike):
            raise TypeError(
                f"{what}: expected a path (str or pathlib.Path), got {type(item).__name__} {item!r}"
            )
        out.append(Path(item))
    return out
