"""Write a run's report folder: ``index.html``, ``summary.md``, the tables, the configuration and
the data provenance.

The folder is built beside its destination and moved into place only when complete, so a
reader never sees half a report, and a failed run leaves the previous report as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from backtest.jsonio import dumps, jsonable
from backtest.reports import tables as T


def table_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON-ready records: dates as ISO text, NaN as null."""
    return [jsonable(r) for r in df.to_dict("records")]


def _csv_ready(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            normalized = s.dropna()
            if len(normalized) == 0 or (normalized == normalized.dt.normalize()).all():
                out[c] = s.dt.strftime("%Y-%m-%d")
    return out


def _dump(obj: Any) -> str:
    return dumps(obj) + "\n"


def write_report(result: Any, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the report of ``result`` into ``out_dir`` (replacing what was there).

    Returns the files written, relative to ``out_dir``.
    """
    from backtest.reports.html import render_html
    from backtest.reports.markdown import render_markdown

    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        files: list[str] = []

        def put(name: str, text: str) -> None:
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            files.append(name)

        for name, df in T.all_tables(result).items():
            put(f"tables/{name}.csv", _csv_ready(df).to_csv(index=False))
            put(f"tables/{name}.json", _dump(table_records(df)))
        put("config.toml", result.config.to_toml())
        put(
            "provenance.json",
            _dump(
                {
                    "prices": table_records(result.prices),
                    "quality": table_records(result.quality),
                    "catalog_files": sorted({o.file for o in result.catalog.origins.values()}),
                    "catalog_problems": table_records(result.catalog_problems),
                    "range": {
                        "first": result.meta.get("data_first"),
                        "last": result.meta.get("data_last"),
                    },
                }
            ),
        )
        put(
            "run.json",
            _dump(
                {
                    "name": result.config.name,
                    "config": result.config.absolute().describe(),
                    "meta": result.meta,
                    "timings": result.timings,
                    "failures": result.failures,
                    "counts": _counts(result),
                    "study": result.study.data if result.study is not None else None,
                    "strategies": [
                        {"name": r.strategy.name, "file": r.strategy.file, "data": dict(r.data)}
                        for r in result.backtests
                    ],
                }
            ),
        )
        listed = sorted([*files, "summary.md", "index.html"])
        put("summary.md", render_markdown(result, listed))
        put("index.html", render_html(result, listed))
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [Path(f) for f in sorted(files)]


def _counts(result: Any) -> dict[str, Any]:
    study = result.study
    return {
        "events": len(result.catalog),
        "measured": len(study.events) if study is not None else 0,
        "dropped": len(study.dropped) if study is not None else None,
        "strategies": len(result.backtests),
        "strategy_errors": len(result.strategy_errors),
        "claims": len(result.claims),
        "quality_findings": len(result.quality),
    }


def _swap(tmp: Path, out: Path) -> None:
    """Move the finished folder into place; the old one goes only once the new one is in."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    try:
        tmp.rename(out)
    except BaseException:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
