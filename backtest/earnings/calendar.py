"""Earnings calendars as yfinance gives them: ``Ticker.get_earnings_dates()`` frames and the CSV
files people save from them.

The shape (established by reading yfinance 1.7's ``base.py``, ``_get_earnings_dates_using_scrape``,
and by running that parser on a page shaped like Yahoo's; ``tests/earnings`` keeps that check):

* a ``DatetimeIndex`` named ``Earnings Date``, tz-aware (``America/New_York`` for US tickers;
  yfinance reads Yahoo's ``EDT``/``EST`` as that zone), one stamp per announcement, newest
  first, the last one or two in the future;
* float columns ``EPS Estimate``, ``Reported EPS`` and ``Surprise(%)``, ``NaN`` where Yahoo shows
  ``-``. A row with neither a reported EPS nor a surprise is *scheduled*, not yet reported.
  yfinance also turns every figure of exactly 0 into ``NaN`` (``.replace(0.0, np.nan)`` in
  ``get_earnings_dates``), so an announcement that reported EPS 0.00 has an empty ``Reported
  EPS`` but a ``Surprise(%)`` (DOW 2025-01-30: estimate 0.24, surprise -100%): a row with a
  surprise has been reported. Yahoo's surprise is (reported - estimate) / |estimate| x 100, so
  a surprise of exactly -100% (estimate above 0) or +100% (estimate below 0) means a reported
  EPS of exactly 0, whatever the estimate's rounding; the import fills that EPS in
  (:func:`reported_eps`). Any other surprise with an empty ``Reported EPS`` depends on the
  unrounded estimate, and the EPS is left missing.

Saved with ``frame.reset_index().to_csv(path, index=False)`` this gives
``Earnings Date,EPS Estimate,Reported EPS,Surprise(%)`` with stamps such as
``2025-10-29 16:00:00-04:00``; files saved by older versions name the first column
``EarningsDate`` (the S&P 500 set in ``../shared/sp500/earnings``) or ``Date``. A file may have a
``Symbol`` or ``Ticker`` column; otherwise the ticker is the file name's stem (``BRK-B.csv``,
``_GSPC.csv`` for ``^GSPC``). Screener-style files with an ``Event Type`` column keep only
``Earnings`` rows.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from backtest.catalog._read import (
    CsvRowError,
    PathsLike,
    csv_rows,
    has_odd_text,
    path_list,
    read_text,
    row_text_problem,
    separator_hint,
)
from backtest.catalog.attributes import parse_number
from backtest.errors import CatalogProblem, InvalidTickerError, UnknownMarketError
from backtest.markets import market_of
from backtest.prices.base import ticker_of_stem

DATE_COLUMNS = ("earnings date", "earningsdate", "date")
ESTIMATE_COLUMNS = ("eps estimate",)
REPORTED_COLUMNS = ("reported eps",)
SURPRISE_COLUMNS = ("surprise(%)", "surprise (%)")
TICKER_COLUMNS = ("symbol", "ticker")
TYPE_COLUMNS = ("event type",)

FILE_FORMAT = (
    "an earnings calendar saved from yfinance's get_earnings_dates() has the columns "
    "Earnings Date (or EarningsDate), EPS Estimate, Reported EPS and Surprise(%)"
)

#: How an event's source names the calendar.
SOURCE_NAME = "Yahoo Finance earnings calendar"

_STAMP_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


@dataclass(frozen=True)
class EarningsRow:
    """One row of an earnings calendar.

    Attributes
    ----------
    ticker:
        The Yahoo ticker.
    stamp:
        The announcement's time stamp: tz-aware when the source gave an offset or zone; naive
        when it gave a local time without one (read in the exchange's zone); ``None`` time of
        day when it gave only a date (``has_time`` is then False).
    has_time:
        Whether the stamp carries a time of day.
    eps_estimate, eps_reported, surprise_pct:
        The figures, ``None`` where the source has none.
    file, line:
        Where the row is: the file and its line, or ``TICKER (Yahoo)`` and the row's position
        in a fetched calendar.
    source:
        The row's provenance as an event's source says it (the calendar, and the file and line
        or the fetch date and yfinance version).
    """

    ticker: str
    stamp: pd.Timestamp
    has_time: bool
    eps_estimate: float | None
    eps_reported: float | None
    surprise_pct: float | None
    file: str
    line: int
    source: str

    @property
    def origin(self) -> str:
        """``file:line``."""
        return f"{self.file}:{self.line}"

    @property
    def scheduled(self) -> bool:
        """True when the row reports neither an EPS nor a surprise (an announcement still to
        come); a surprise without an EPS is a reported EPS of 0 yfinance blanked."""
        return self.eps_reported is None and self.surprise_pct is None


def reported_eps(
    estimate: float | None, reported: float | None, surprise: float | None
) -> tuple[float | None, bool]:
    """The reported EPS, and whether it was derived: an empty ``Reported EPS`` with a surprise
    of exactly -100% against an estimate above 0 (or +100% against one below 0) is 0."""
    if reported is not None or surprise is None or not estimate:
        return reported, False
    if surprise == (-100.0 if estimate > 0 else 100.0):
        return 0.0, True
    return None, False


@dataclass
class CalendarRead:
    """The rows read from earnings calendars, and the problems met (``file:line: ...``)."""

    rows: list[EarningsRow] = field(default_factory=list)
    problems: list[CatalogProblem] = field(default_factory=list)
    not_earnings: int = 0  # rows of another event type (calls, meetings), left out
    files: list[str] = field(default_factory=list)

    def problem(self, file: str, line: int, message: str) -> None:
        self.problems.append(CatalogProblem(file, line, "", "", message))

    def extend(self, other: CalendarRead) -> None:
        self.rows.extend(other.rows)
        self.problems.extend(other.problems)
        self.not_earnings += other.not_earnings
        self.files.extend(other.files)


def calendar_files(paths: PathsLike) -> list[Path]:
    """The ``.csv`` files named by ``paths`` (a file or folder, or a list of them; folders are
    searched, not recursively).

    Raises
    ------
    FileNotFoundError
        A path does not exist, or a folder holds no ``.csv`` file.
    """
    return [path for path, _ in _calendar_files(paths)]


def _calendar_files(paths: PathsLike) -> list[tuple[Path, bool]]:
    """:func:`calendar_files`, each with whether it was found in a folder (not named)."""
    out: list[tuple[Path, bool]] = []
    for p in path_list(paths):
        if p.is_dir():
            found = sorted(
                f for f in p.iterdir() if f.suffix.lower() == ".csv" and not f.name.startswith(".")
            )
            if not found:
                raise FileNotFoundError(f"{p}: folder holds no .csv earnings calendar")
            out.extend((f, True) for f in found)
        elif p.exists():
            out.append((p, False))
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return out


def _has_ticker_column(path: Path) -> bool:
    """Whether the file's header names a Symbol or Ticker column (True when unreadable, so
    that reading it reports why)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            first = fh.readline()
    except OSError:
        return True
    cells = next(csv.reader([first]), [])
    return any(c.strip().lower() in TICKER_COLUMNS for c in cells)


def ticker_from_name(path: Path) -> str:
    """The ticker a calendar file is named after (``BRK-B.csv``, ``_GSPC.csv`` -> ``^GSPC``)."""
    return ticker_of_stem(path.stem)


def _number(text: str) -> float | str | None:
    """A cell as a number, ``None`` when empty (or yfinance's ``-``), or the text when bad."""
    t = text.strip()
    if not t or t == "-" or t.lower() == "nan":
        return None
    value = parse_number(t)
    return t if value is None else value


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for i, h in enumerate(header):
        if h in names:
            return i
    return None


def read_calendar_text(text: str, display: str, *, default_ticker: str | None) -> CalendarRead:
    """Read one saved ``get_earnings_dates`` CSV (its text); bad rows become problems."""
    out = CalendarRead(files=[display])
    header: list[str] | None = None
    names: list[str] = []
    cols: dict[str, int | None] = {}
    odd_text = has_odd_text(text)  # rows are searched for a NUL or a bad byte only then
    for start, cells in csv_rows(text):
        if isinstance(cells, CsvRowError):
            if header is None:
                known = (*DATE_COLUMNS, *ESTIMATE_COLUMNS, *REPORTED_COLUMNS, *SURPRISE_COLUMNS)
                hint = separator_hint([text.split("\n", 1)[0]], known)
                why = f"the header is not a readable CSV row ({cells.reason}): check its quotes"
                out.problem(display, start, hint or why)
                return out
            out.problem(
                display,
                start,
                f"not a readable CSV row ({cells.reason}): check its quotes; the next line is "
                "read as the next row",
            )
            continue
        bad_text = row_text_problem(cells) if odd_text else None
        if header is None and bad_text is not None:
            out.problem(display, start, f"column {bad_text[0] + 1} of the header: {bad_text[1]}")
            return out
        if bad_text is not None:  # a NUL or a byte that is not UTF-8: that row only
            k, why = bad_text
            out.problem(display, start, f"column {_name(names, k)}: {why}")
            continue
        if header is None:
            names = [c.strip() for c in cells]
            header = [n.lower() for n in names]
            cols = {
                "date": _column(header, DATE_COLUMNS),
                "estimate": _column(header, ESTIMATE_COLUMNS),
                "reported": _column(header, REPORTED_COLUMNS),
                "surprise": _column(header, SURPRISE_COLUMNS),
                "ticker": _column(header, TICKER_COLUMNS),
                "type": _column(header, TYPE_COLUMNS),
            }
            missing = [
                name
                for key, name in (("date", "Earnings Date"), ("reported", "Reported EPS"))
                if cols[key] is None
            ]
            if missing:
                known = (*DATE_COLUMNS, *ESTIMATE_COLUMNS, *REPORTED_COLUMNS, *SURPRISE_COLUMNS)
                hint = separator_hint(names, (*known, *TICKER_COLUMNS, *TYPE_COLUMNS))
                why = hint or f"missing column(s) {', '.join(missing)}: {FILE_FORMAT}"
                out.problem(display, start, why)
                return out
            if cols["ticker"] is None and default_ticker is None:
                out.problem(
                    display,
                    start,
                    "no Symbol or Ticker column, and the file name names no ticker: name "
                    "the file after the ticker (e.g. META.csv)",
                )
                return out
            continue
        _read_row(cells, start, names, cols, display, default_ticker, out)
    if header is None:
        out.problem(display, 1, f"file is empty: {FILE_FORMAT}")
    return out


def _read_row(
    cells: list[str],
    line: int,
    header: list[str],
    cols: dict[str, int | None],
    display: str,
    default_ticker: str | None,
    out: CalendarRead,
) -> None:
    if len(cells) != len(header):
        out.problem(
            display, line, f"has {len(cells)} cells, but the header has {len(header)} columns"
        )
        return
    if cols["type"] is not None and cells[cols["type"]].strip().lower() not in ("earnings", ""):
        out.not_earnings += 1
        return
    ticker = default_ticker
    ticker_col = cols["ticker"]
    if ticker_col is not None and cells[ticker_col].strip():
        ticker = cells[ticker_col].strip()
    if ticker is None:  # an empty Symbol cell in a file not named after a ticker
        out.problem(
            display,
            line,
            f"column {_name(header, ticker_col)}: empty: give the row's ticker (the file "
            "name names none to fall back on)",
        )
        return
    try:
        market_of(ticker)
    except (InvalidTickerError, UnknownMarketError) as exc:
        out.problem(display, line, str(exc))
        return
    date_col = cols["date"]
    raw_stamp = cells[date_col].strip() if date_col is not None else ""
    stamp = _stamp(raw_stamp)
    if stamp is None:
        out.problem(
            display,
            line,
            f"column {_name(header, date_col)}: {raw_stamp!r} is not a date and time "
            "(expected e.g. 2025-10-29 16:00:00-04:00)",
        )
        return
    figures: dict[str, float | None] = {}
    for key in ("estimate", "reported", "surprise"):
        i = cols[key]
        value = _number(cells[i]) if i is not None else None
        if isinstance(value, str):
            out.problem(
                display,
                line,
                f"column {_name(header, i)}: {value!r} is not a number (leave the cell empty "
                "when there is none)",
            )
            return
        figures[key] = value
    out.rows.append(
        EarningsRow(
            ticker=ticker,
            stamp=stamp,
            has_time=len(raw_stamp) > 10,
            eps_estimate=figures["estimate"],
            eps_reported=figures["reported"],
            surprise_pct=figures["surprise"],
            file=display,
            line=line,
            source=f"{SOURCE_NAME}, saved from yfinance get_earnings_dates: {display} line {line}",
        )
    )


def _name(header: list[str], i: int | None) -> str:
    if i is None:
        return "?"
    return header[i] if i < len(header) else str(i + 1)


def _stamp(text: str) -> pd.Timestamp | None:
    if not _STAMP_RE.match(text):
        return None
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, OverflowError):  # an impossible date, or beyond pandas' range
        return None
    return None if pd.isna(stamp) else stamp


def read_calendar_files(
    paths: PathsLike, *, tickers: str | Iterable[str] | None = None
) -> CalendarRead:
    """Read saved ``get_earnings_dates`` CSV files (a file or folder, or a list of them).

    With ``tickers``, only the rows of those tickers are kept; of the files found in a folder,
    those named after another ticker (``AMZN.csv``) are not read unless they have a ``Symbol``
    or ``Ticker`` column. A file named explicitly is always read.
    """
    wanted = None if tickers is None else {tickers} if isinstance(tickers, str) else set(tickers)
    out = CalendarRead()
    for path, in_folder in _calendar_files(paths):
        named = ticker_from_name(path)
        try:
            market_of(named)
            default: str | None = named
        except (InvalidTickerError, UnknownMarketError):
            default = None
        if (
            wanted is not None
            and in_folder
            and default is not None
            and default not in wanted
            and not _has_ticker_column(path)
        ):
            continue
        display = str(path)
        text, why_not, line = read_text(path, by_row=True)  # a row's bytes are its own
        if text is None:
            out.problem(display, line, why_not or "cannot be read")
            out.files.append(display)
            continue
        got = read_calendar_text(text, display, default_ticker=default)
        if wanted is not None:
            got.rows = [r for r in got.rows if r.ticker in wanted]
        out.extend(got)
    return out


def rows_from_frame(
    frame: Any, ticker: str, source: str, problems: list[CatalogProblem] | None = None
) -> list[EarningsRow]:
    """The rows of a ``get_earnings_dates()`` frame (see the module docstring for its shape);
    ``source`` is their provenance (what was called, and when).

    A row without a time stamp, or with a figure that is not a number, is left out, as in a
    saved file, and said in ``problems`` (``TICKER (Yahoo)``, the row's position, the column).

    Raises
    ------
    ValueError
        The frame is not shaped like yfinance's (no tz-aware stamps, no ``Reported EPS``).
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"expected a DataFrame, got {type(frame).__name__}")
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(f"expected time stamps as the index, got {type(index).__name__}")
    columns = {str(c).strip().lower(): c for c in frame.columns}
    if "reported eps" not in columns:
        raise ValueError(
            f"no 'Reported EPS' column (columns: {', '.join(map(str, frame.columns))})"
        )
    display = f"{ticker} (Yahoo)"
    bad: dict[int, str] = {}  # row -> the first problem met in it

    def figures(names: tuple[str, ...]) -> list[float | None]:
        name = next((columns[n] for n in names if n in columns), None)
        if name is None:
            return [None] * len(frame)
        out: list[float | None] = []
        for i, cell in enumerate(frame[name].tolist()):
            value = _cell_number(cell)
            if isinstance(value, str):
                bad.setdefault(
                    i,
                    f"column {name}: {value!r} is not a number (Yahoo's calendar should give "
                    "a number or nothing)",
                )
                value = None
            out.append(value)
        return out

    for i, stamp in enumerate(index):
        if pd.isna(stamp):
            bad[i] = (
                f"column {index.name or 'Earnings Date'}: no date and time (NaT): the row "
                "cannot be placed"
            )
    est, rep, sur = figures(ESTIMATE_COLUMNS), figures(REPORTED_COLUMNS), figures(SURPRISE_COLUMNS)
    if problems is not None:
        problems.extend(
            CatalogProblem(display, i + 1, "", "", message) for i, message in sorted(bad.items())
        )
    rows = []
    for i, stamp in enumerate(index):
        if i in bad:
            continue
        rows.append(
            EarningsRow(
                ticker=ticker,
                stamp=pd.Timestamp(stamp),
                has_time=True,
                eps_estimate=est[i],
                eps_reported=rep[i],
                surprise_pct=sur[i],
                file=display,
                line=i + 1,
                source=source,
            )
        )
    return rows


def _cell_number(cell: Any) -> float | str | None:
    """A frame's cell as :func:`_number` reads a file's: ``None`` when missing, the cell as
    text when it is not a number."""
    if isinstance(cell, str):
        return _number(cell)
    if cell is None or (not isinstance(cell, bool) and _isna(cell)):
        return None
    if isinstance(cell, bool):
        return str(cell)
    try:
        value = float(cell)
    except (TypeError, ValueError):
        return str(cell)
    return _number(repr(value))


def _isna(cell: Any) -> bool:
    try:
        return bool(pd.isna(cell))
    except (TypeError, ValueError):  # not a scalar
        return False
