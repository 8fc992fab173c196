"""Known events that are not studied but count as confounders.

A study flags an event as confounded when another event of the same ticker falls inside its
window, and keeps other events' windows out of estimation windows. Those other events can be
any the run knows: the whole catalog, and **confounder files** — catalogs (YAML or CSV) and the
earnings calendars yfinance users save (``get_earnings_dates()`` CSVs, e.g.
``../shared/sp500/earnings``), read by :func:`load_confounders` into one event table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from backtest.catalog._read import PathsLike, read_text
from backtest.catalog.catalog import catalog_files, load_catalog
from backtest.errors import CatalogError, CatalogNotFoundError, CatalogProblem

#: The columns of a confounder table.
CONFOUNDER_COLUMNS: tuple[str, ...] = (
    "event_id", "ticker", "market", "day0", "category", "date", "timing", "file",
)  # fmt: skip


def is_earnings_calendar(path: Path) -> bool:
    """Whether ``path`` is a CSV saved from yfinance's ``get_earnings_dates()``, judged by its
    header (an earnings date column and ``Reported EPS``)."""
    if path.suffix.lower() != ".csv":
        return False
    text = read_text(path, by_row=True).text
    if not text:
        return False
    header = text.split("\n", 1)[0].lower()
    names = [h.strip().strip('"') for h in header.split(",")]
    dated = any(n in ("earnings date", "earningsdate") for n in names) or "date" in names
    return dated and "reported eps" in names


def load_confounders(paths: PathsLike, *, strict: bool = True) -> pd.DataFrame:
    """The events of ``paths`` as an event table of confounders.

    Parameters
    ----------
    paths:
        A file or folder, or a list of them: catalogs (``.yaml``, ``.yml``, ``.csv``) and
        earnings calendars saved from ``get_earnings_dates()`` (told apart by their header).
        Of a calendar, the reported announcements count (scheduled rows do not), by the
        import's rules
        (:mod:`backtest.earnings.events`).
    strict:
        Raise :class:`~backtest.errors.CatalogError` listing every problem (a malformed row, a
        bad catalog entry) when there is any; with ``False``, leave those rows out and list the
        problems in ``frame.attrs["problems"]``.

    Returns
    -------
    pandas.DataFrame
        ``event_id, ticker, market, day0, category, date, timing, file``: one row per (event,
        ticker), ``file`` saying where it was read (``file:line``).

    Raises
    ------
    CatalogNotFoundError
        A path does not exist, or a folder holds no catalog or calendar file.
    CatalogError
        With ``strict``, when any row has a problem.
    """
    files = catalog_files(paths)
    calendars = [f for f in files if is_earnings_calendar(f)]
    catalogs = [f for f in files if f not in calendars]
    frames: list[pd.DataFrame] = []
    problems: list[CatalogProblem] = []
    if catalogs:
        catalog = load_catalog(catalogs)
        problems.extend(catalog.problems)
        frames.append(catalog.to_frame().loc[:, list(CONFOUNDER_COLUMNS)])
    if calendars:
        from backtest.earnings import read_calendar_files
        from backtest.earnings.events import build_events

        read = read_calendar_files(calendars)
        result = build_events(read.rows)
        problems.extend([*read.problems, *result.problems])
        frames.append(result.table().loc[:, list(CONFOUNDER_COLUMNS)])
    if not frames:  # pragma: no cover - catalog_files found at least one file
        raise CatalogNotFoundError("no confounder files found")
    if strict and problems:
        raise CatalogError(problems)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.reset_index(drop=True)
    frame.attrs["problems"] = tuple(problems)
    return frame
