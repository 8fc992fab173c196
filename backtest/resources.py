"""Where the shipped catalog and strategies are, in a checkout and in an installed package.

The repository keeps them where users and the docs expect them, at its root: ``events/`` (the
catalog) and ``strategies/`` (the strategy files). Building a wheel copies both into the package
as ``backtest/_shipped/events`` and ``backtest/_shipped/strategies`` (``setup.py``), so an
installed evbt finds them wherever it is; a source checkout (or an editable install) reads the
root folders themselves, so an edit there is seen at once.

These are the *defaults of the library*. The command line adds the user's own places before
them (``--catalog``, ``$EVBT_CATALOG``, ``./events``, ``./strategies``; see
:mod:`backtest.cli._env`); library calls never look at the environment or the working folder.

>>> shipped_dir("events").name
'events'
>>> shipped_dir("strategies").is_dir()
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Shipped = Literal["events", "strategies"]

_PACKAGE = Path(__file__).resolve().parent


def shipped_dir(kind: Shipped) -> Path:
    """The folder of the shipped ``events`` catalog or ``strategies``.

    Raises
    ------
    ShippedDataMissingError
        Neither the package nor a checkout around it has the folder (a broken install).
    """
    if kind not in ("events", "strategies"):
        raise ValueError(f"kind must be 'events' or 'strategies', not {kind!r}")
    inside = _PACKAGE / "_shipped" / kind  # an installed wheel
    if inside.is_dir():
        return inside
    checkout = _PACKAGE.parent / kind  # a source checkout or an editable install
    if checkout.is_dir() and (_PACKAGE.parent / "pyproject.toml").is_file():
        return checkout
    from backtest.errors import ShippedDataMissingError

    raise ShippedDataMissingError(
        f"the shipped {kind}/ folder is missing from this evbt installation ({_PACKAGE}); "
        "reinstall evbt, or pass your own with "
        + ("--catalog PATH" if kind == "events" else "the strategy files as arguments")
    )
