"""Lazy public names for a package (PEP 562), so that importing it costs nothing until a name
is used: ``evbt --help`` and ``evbt study --help`` import neither pandas nor NumPy.

>>> get, names = lazy_names("demo", {"dumps": "json"})
>>> get("dumps").__name__, names()[-1]
('dumps', 'dumps')
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: each name of ``where`` (name ->
    the module that defines it, absolute) is imported on first use and then stored in the
    package, so later uses skip the lookup; an unknown name is the usual AttributeError."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        if package in sys.modules:
            setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        known = vars(sys.modules[package]) if package in sys.modules else {}
        return sorted({*known, *where})

    return __getattr__, __dir__
