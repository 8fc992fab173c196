"""``evbt backtest``: run strategy files on the catalog's events."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import click

from backtest.cli._options import (
    cache_dir_option,
    catalog_option,
    load_catalog_or_warn,
    prices_dir_option,
)
from backtest.cli._output import emit, format_option, out_option, to_json


@click.command("backtest")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@catalog_option
@prices_dir_option
@cache_dir_option
@format_option
@out_option
def backtest(
    files: tuple[Path, ...],
    catalog_paths: tuple[Path, ...],
    prices_dir: Path | None,
    cache_dir: Path | None,
    fmt: str,
    out: Path | None,
) -> None:
    """Backtest event-driven strategies (default: every file in strategies/).

    Each strategy runs per ticker and pooled (shared cash), against buy-and-hold of the ticker
    and of the benchmark, over its whole parameter grid. A bad strategy file is reported and
    the others still run; the exit code is then 1.
    """
    from backtest.errors import EvbtError
    from backtest.portfolio import (
        default_strategy_dir,
        load_strategy,
        run_strategy,
        strategy_files,
    )
    from backtest.prices import PriceCache, resolve_source

    paths = strategy_files(list(files) or [default_strategy_dir()])
    catalog = load_catalog_or_warn(catalog_paths)
    cache = PriceCache(cache_dir) if cache_dir else None
    # one price source, built here at the edge
    source = resolve_source(prices_dir=str(prices_dir) if prices_dir else None, cache=cache)
    results: list[Any] = []
    failures = 0
    show = fmt == "table" and out is None
    for path in paths:
        try:
            strategy = load_strategy(path)
            results.append(
                run_strategy(
                    strategy,
                    catalog,
                    source=source,
                    progress=_status(strategy.name) if show else None,
                )
            )
        except EvbtError as exc:
            failures += 1
            click.echo(f"evbt: error: {exc}", err=True)
    if fmt == "json":
        emit(to_json([r.to_dict() for r in results]), out)
    elif fmt == "csv":
        import pandas as pd

        frames = [r.to_frame().assign(strategy=r.strategy.name) for r in results]
        buf = io.StringIO()
        if frames:
            pd.concat(frames, ignore_index=True).to_csv(buf, index=False)
        emit(buf.getvalue(), out)
    else:
        emit("\n".join(str(r.summary()) for r in results), out)
    if failures:
        raise SystemExit(1)


def _status(name: str) -> Any:
    """A ``progress(done, total)`` callback writing one status line to standard error."""

    def update(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        click.echo(f"\rbacktest {name}: step {done}/{total}", err=True, nl=False)
        if end:
            click.echo("", err=True)

    return update
