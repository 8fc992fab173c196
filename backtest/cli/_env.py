"""The environment, read once at the edge: the command line's default places.

Library calls take explicit paths and a price source; only the command line looks at the
environment variables and the working folder, here:

==================  ==========================================================================
catalog             ``--catalog`` paths, else ``$EVBT_CATALOG`` (paths separated by the OS
                    path separator), else ``./events`` when it exists, else the catalog shipped
                    with evbt (:func:`backtest.resources.shipped_dir`)
strategies          the files given, else ``./strategies`` when it exists, else the shipped ones
prices folder       ``--prices-dir``, else ``$EVBT_PRICES_DIR`` (click reads it), else none
cache folder        ``--cache-dir``, else ``$EVBT_CACHE_DIR`` (click reads it), else the user
                    cache folder (``platformdirs``)
==================  ==========================================================================

``evbt run --config FILE`` puts the file between the command line and the environment: an
option typed wins over the file, the file over ``$EVBT_CATALOG`` (when it has ``[catalog]
paths``) and over ``$EVBT_PRICES_DIR`` / ``$EVBT_CACHE_DIR`` (when its ``[prices]`` names
``dir`` or ``cache_dir``: where the run's prices come from, as a report's recorded
configuration writes it).

A user's own ``./events`` and ``./strategies`` win over the shipped ones, so a project folder
with its own catalog behaves as before; from any other folder the shipped ones are used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

CATALOG_ENV = "EVBT_CATALOG"
PRICES_DIR_ENV = "EVBT_PRICES_DIR"
CACHE_DIR_ENV = "EVBT_CACHE_DIR"


def catalog_paths(
    given: Sequence[str | os.PathLike[str]] = (),
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> list[Path]:
    """The catalog files or folders to read (see the module docstring for the order)."""
    if given:
        return [Path(p) for p in given]
    from_env = catalog_from_env(environ)
    if from_env:
        return from_env
    here = (cwd or Path.cwd()) / "events"
    if here.is_dir():
        return [here]
    from backtest.resources import shipped_dir

    return [shipped_dir("events")]


def catalog_from_env(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The paths of ``$EVBT_CATALOG`` (separated by the OS path separator); empty if unset."""
    env = (os.environ if environ is None else environ).get(CATALOG_ENV, "")
    return [Path(p) for p in env.split(os.pathsep) if p.strip()]


def strategy_paths(
    given: Sequence[str | os.PathLike[str]] = (), *, cwd: Path | None = None
) -> list[Path]:
    """The strategy files or folders to run: those given, ``./strategies``, or the shipped."""
    if given:
        return [Path(p) for p in given]
    here = (cwd or Path.cwd()) / "strategies"
    if here.is_dir():
        return [here]
    from backtest.resources import shipped_dir

    return [shipped_dir("strategies")]


def expand(path: str | os.PathLike[str], option: str) -> Path:
    """``path`` with ``~`` expanded; a usage error naming ``option`` for an unknown user."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        import click

        message = f"{str(path)!r}: no such user's home folder"
        raise click.BadParameter(message, param_hint=option) from None


def cache_dir(given: str | os.PathLike[str] | None) -> Path:
    """The price cache folder: ``given`` (the option or ``$EVBT_CACHE_DIR``), else the user's."""
    if given:
        return expand(given, "'--cache-dir'")
    import platformdirs

    return Path(platformdirs.user_cache_dir("evbt")) / "prices"


def open_price_source(
    *,
    prices_dir: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str] | None,
    prices_dir_from: str = f"--prices-dir or {PRICES_DIR_ENV}",
) -> Any:
    """The one :class:`~backtest.prices.PriceSource` of a command: the CSV folder when one is
    given, else Yahoo behind the cache (:func:`backtest.prices.open_source`). A prices folder
    that does not exist is reported naming ``prices_dir_from``, where it was given."""
    from backtest.prices import open_source

    if prices_dir and not Path(prices_dir).expanduser().resolve().exists():
        from backtest.errors import PricesDirError

        path = Path(prices_dir).expanduser().resolve()
        raise PricesDirError(path, f"does not exist (check {prices_dir_from})")
    return open_source(
        prices_dir=Path(prices_dir) if prices_dir else None,
        cache_dir=Path(cache_dir) if cache_dir else None,
    )
