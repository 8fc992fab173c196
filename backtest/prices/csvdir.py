"""Prices from a directory of CSV files, one per ticker (offline work, data you already have).

File names
----------
Each file is named after the ticker as Yahoo spells it: ``META.csv``, ``0700.HK.csv``, and for
an index either ``^GSPC.csv`` (Yahoo's spelling, what yfinance users save) or ``_GSPC.csv``
(for file systems and shells that dislike ``^``). A folder holding both spellings of one ticker
is refused for that ticker (which one is meant cannot be known).

Shapes (detected per file from its header)
------------------------------------------
Header names are compared without regard to case, spaces, underscores or other punctuation
(``Close``, ``close`` and ``Close*`` are one column; see :func:`column_name`).

``evbt``
    ``date,open,high,low,close,volume`` with ISO dates: evbt's own files. Their adjustment for
    splits and dividends cannot be read from the file: it is recorded as the user declares it
    (``adjustment=``), by default :data:`~backtest.prices.base.ADJUSTMENT_CSV_DEFAULT`.
``history``
    ``Date,Open,High,Low,Close,Volume,Dividends,Stock Splits``: ``yf.Ticker(t).history()``
    saved with ``to_csv`` (``auto_adjust=True``: prices already split- and dividend-adjusted,
    :data:`~backtest.prices.base.ADJUSTMENT_HISTORY`). ``Date`` is the exchange's local
    midnight with its offset, ``2025-11-21 00:00:00-05:00``: the session is the local date, the
    first ten characters. A ``Stock Splits`` value that is not a plain split (a ratio of small
    whole numbers such as 2, 3/2 or 1/8) is a spin-off or another distribution booked as a
    split: that session's return may not be a total return, and the series carries a
    :class:`~backtest.prices.base.ReturnFlag` for it (see
    :func:`~backtest.prices.quality.is_plain_split`).
``adj_close``
    A header with ``Adj Close`` (``yf.download(..., auto_adjust=False)`` or
    ``history(auto_adjust=False)``): ``Open, High, Low, Close`` are as traded (split-adjusted
    only) and ``Adj Close`` is also dividend-adjusted. evbt takes returns from ``Adj Close``
    (it becomes the close) and scales ``Open, High, Low`` by ``Adj Close / Close`` of the same
    day, so that fills and returns are on one basis
    (:data:`~backtest.prices.base.ADJUSTMENT_ADJ_CLOSE`); a row whose ``Close`` is missing,
    infinite, zero or negative is kept as written, that ``Close`` included, for the quality
    checks to name and mask. ``Stock Splits``, when present, is read
    as for ``history``. The column is read under any of the spellings ``Adj Close``,
    ``adj_close``, ``AdjClose``, ``Adjusted Close``, ``adjusted_close`` (or ``Adj. Close``...); a
    column that looks like an adjusted close under another name (``Adj Close Price``,
    ``close_adj``) is refused, not ignored: evbt would otherwise take ``Close`` as it is.

A ``yf.download`` frame saved as it is has three header lines (``Price,...``, ``Ticker,...``,
``Date,,,...``; the first two the other way round with ``group_by='ticker'``), and two after
``reset_index()`` and ``to_csv(index=False)`` (``Date,Close,...`` over ``,META,...``): it is
read too, in whichever of the shapes above its columns say, and its ``Ticker`` line must name
the file's ticker alone (one file per ticker). Without ``Adj Close`` its prices are Yahoo's
``auto_adjust=True`` ones (yfinance 1.x's default), recorded as
:data:`~backtest.prices.base.ADJUSTMENT_YAHOO`. A frame saved with ``to_csv(index=False)``
has lost its dates (they are its index): it is refused, saying so. Other columns
(``Capital Gains``, ``Repaired?``...) are ignored, but a column naming each row's ticker
(``Symbol``, ``Ticker``, any case) is checked: every row must name the file's ticker (``BRK.B``
and ``brk-b`` name ``BRK-B``; an empty cell names none), and a file of another ticker's rows or
of several tickers' (a long table, dates repeated) is refused, naming them. Intraday bars
(a ``Datetime`` column, or a time of day other than midnight) are refused: evbt needs daily
bars.

The name must be spelled exactly: ``ko.csv`` or ``KO.CSV`` is not read as ``KO``, on any file
system (a case-insensitive one, macOS's or Windows', would open it, a case-sensitive one would
not: evbt refuses it on both, so that a folder reads the same everywhere). A ticker without its
file is reported naming the file whose name differs only in case ("ko.csv is there: rename it
KO.csv"), and :meth:`CsvDirSource.not_tickers` lists every ``.csv`` file of the folder that is
not read as a ticker, with why (``evbt prices check`` of the folder prints them).

Files are read as they are, never cached nor modified, and never opened unless they are regular
files (a FIFO or a folder named ``META.csv`` is reported, not read).

Speed: a clean file is parsed by Arrow's CSV reader; a file it refuses is read again by a
careful line-by-line reader that names the first bad line and field. Both take the same numbers:
plain decimals (ASCII digits, one ``.``, an optional sign and exponent, ASCII spaces or tabs
around), ``inf`` and ``nan``, or an empty or missing-value cell (``NA``, ``null``...); ``2_90``,
other scripts' digits or a non-breaking space are the problem of their line and column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
import stat
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from backtest.errors import InvalidTickerError, PricesDirError
from backtest.markets import check_ticker
from backtest.prices.base import (
    ADJUSTMENT_ADJ_CLOSE,
    ADJUSTMENT_CSV_DEFAULT,
    ADJUSTMENT_HISTORY,
    ADJUSTMENT_YAHOO,
    FIELDS,
    FetchFailure,
    FetchResult,
    PriceSeries,
    ProgressCallback,
    ReturnFlag,
    SeriesInfo,
    between,
    file_stem,
    ticker_of_stem,
)
from backtest.prices.quality import source_history, split_flags
from backtest.text import did_you_mean

_COLUMNS = ("date", *FIELDS)
_MAX_THREADS = 4  # files parsed at once
_ADJ = "adj close"
_SPLITS = "stock splits"
_DIVIDENDS = "dividends"
#: Spellings of the adjusted close that are read (as :func:`column_name` compares them).
_ADJ_SPELLINGS = ("Adj Close", "adj_close", "AdjClose", "Adjusted Close", "adjusted_close")
#: Column names as :func:`column_name` reduces them -> our name.
_KNOWN = {
    **{c: c for c in (*_COLUMNS, _DIVIDENDS, "datetime")},
    "adjclose": _ADJ,
    "adjustedclose": _ADJ,
    "stocksplits": _SPLITS,
}
Shape = Literal["evbt", "history", "adj_close"]

#: A date cell: the ISO date, then optionally midnight and an offset (``history()`` output).
_DATE_CELL = re.compile(
    r"(?P<day>\d{4}-\d{2}-\d{2})(?:[ T](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?)?"
)
_MIDNIGHT = re.compile(r"00:00(?::00(?:\.0+)?)?")
#: Missing-value cells: ours, and those Arrow's reader takes for missing (lower-cased).
_MISSING = frozenset(
    {"", "nan", "-nan", "null", "na", "n/a", "#n/a", "none"}
    | {"#n/a n/a", "#na", "-1.#ind", "-1.#qnan", "1.#ind", "1.#qnan"}
)
#: A number cell (see :func:`_parse_number`), once stripped of :data:`_SPACES`.
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE
)
_SPACES = " \t"


@dataclass(frozen=True)
class FileLayout:
    """What a price file's header says.

    Attributes
    ----------
    shape:
        ``evbt``, ``history`` or ``adj_close`` (see the module docstring).
    header_lines:
        Lines before the first row (1, or 3 for a saved ``yf.download`` frame).
    names:
        The column names as written.
    position:
        Our name (``date``, ``open`` ... ``volume``, ``adj close``, ``stock splits``) -> the
        column's position.
    ticker:
        The ticker a ``yf.download`` header names, else ``None``.
    symbols:
        The positions of the columns that name each row's ticker (``Symbol``, ``Ticker``).
    """

    shape: Shape
    header_lines: int
    names: tuple[str, ...]
    position: Mapping[str, int]
    ticker: str | None = None
    symbols: tuple[int, ...] = ()


@dataclass(frozen=True)
class PriceFile:
    """One file read: its rows (the standard frame), how they are adjusted, and the flags."""

    frame: pd.DataFrame
    layout: FileLayout
    adjustment: str
    flags: tuple[ReturnFlag, ...]


class CsvDirSource:
    """A :class:`~backtest.prices.base.PriceSource` reading ``<directory>/<ticker>.csv``.

    Parameters
    ----------
    directory:
        The folder holding the files.
    adjustment:
        How evbt-shaped files' prices are adjusted, recorded in their series' provenance (files
        saved from yfinance record their own policy, see the module docstring).

    Raises
    ------
    PricesDirError
        ``directory`` does not exist or is not a folder.

    Examples
    --------
    >>> src = CsvDirSource("../shared/sp500/prices")  # doctest: +SKIP
    >>> src.fetch(["META", "^GSPC"], None, None).series["META"].info.adjustment  # doctest: +SKIP
    'split- and dividend-adjusted by Yahoo (Ticker.history(), auto_adjust=True) ...'
    """

    def __init__(self, directory: str | Path, *, adjustment: str = ADJUSTMENT_CSV_DEFAULT) -> None:
        path = Path(directory).expanduser().resolve()
        if not path.exists():
            raise PricesDirError(path, "does not exist (check --prices-dir or EVBT_PRICES_DIR)")
        if not path.is_dir():
            raise PricesDirError(path, "is not a directory")
        self.directory = path
        self.adjustment = adjustment
        self.name = f"csv:{path}"

    def __repr__(self) -> str:
        return f"CsvDirSource({str(self.directory)!r})"

    def candidates(self, ticker: str) -> tuple[Path, ...]:
        """The file names that may hold ``ticker`` (``^GSPC``: ``_GSPC.csv``, ``^GSPC.csv``).

        Raises
        ------
        InvalidTickerError
            ``ticker`` is not spelled like a Yahoo ticker (nothing outside the folder can be
            named, e.g. ``../../etc/passwd``).
        """
        stem = file_stem(ticker)
        names = [f"{stem}.csv"]
        if ticker.startswith("^"):
            names.append(f"{ticker}.csv")
        return tuple(self.directory / n for n in names)

    def path_for(self, ticker: str) -> Path:
        """The file that holds ``ticker``'s prices (the first spelling that exists)."""
        paths = self.candidates(ticker)
        return next((p for p in paths if os.path.lexists(p)), paths[0])

    def tickers(self) -> tuple[str, ...]:
        """The tickers that have a regular file here (other names and files are ignored)."""
        found: dict[str, None] = {}
        with os.scandir(self.directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if not entry.name.endswith(".csv") or not entry.is_file():
                    continue
                ticker = ticker_of_stem(entry.name[: -len(".csv")])
                try:
                    check_ticker(ticker)
                except ValueError:
                    continue
                found[ticker] = None
        return tuple(sorted(found))

    def not_tickers(self) -> tuple[tuple[str, str], ...]:
        """The entries of the folder named like price files (``*.csv``, in any case) that are
        not read as any ticker's, each with why and what to do, by name: a name that is not a
        ticker (``JPM_empty.csv``, ``ko.csv``), an extension in another case (``KO.CSV``), a
        folder or another entry that is not a regular file. Other files (``README.md``) are not
        price files and not listed."""
        out: list[tuple[str, str]] = []
        with os.scandir(self.directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                why = _not_a_ticker_file(entry)
                if why is not None:
                    out.append((entry.name, why))
        return tuple(out)

    def fetch(
        self,
        tickers: Sequence[str],
        start: dt.date | None,
        end: dt.date | None,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> FetchResult:
        """Read the files of ``tickers`` and keep the rows from ``start`` to ``end`` (inclusive).

        Files are parsed by a few threads at once (Arrow's parser releases the GIL); results
        and progress come in the order asked.

        Raises
        ------
        InvalidTickerError
            A ticker is not spelled like a Yahoo ticker (before any file is read).
        """
        names = list(dict.fromkeys(tickers))
        for ticker in names:
            file_stem(ticker)  # every ticker is checked before any file is opened
        series: dict[str, PriceSeries] = {}
        failed: dict[str, FetchFailure] = {}
        workers = min(len(names), os.cpu_count() or 1, _MAX_THREADS)
        with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
            results = pool.map(lambda t: self.read(t, start, end), names)
            for ticker, got in zip(names, results, strict=True):
                if isinstance(got, FetchFailure):
                    failed[ticker] = got
                else:
                    series[ticker] = got
                if on_progress is not None:
                    on_progress(1)
        return FetchResult(series=series, failed=failed)

    def read(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> PriceSeries | FetchFailure:
        """One ticker's rows from ``start`` to ``end``, or why they cannot be had.

        Raises
        ------
        InvalidTickerError
            ``ticker`` is not spelled like a Yahoo ticker.
        """

        def failure(kind: str, reason: str, hint: str) -> FetchFailure:
            return FetchFailure(ticker, start, end, kind, reason, hint)  # type: ignore[arg-type]

        found = [(p, _stat(p)) for p in self.candidates(ticker)]
        present = [(p, st) for p, st in found if st is not None]
        if len(present) > 1:
            both = " and ".join(p.name for p, _ in present)
            return failure(
                "error",
                f"both {both} are in {self.directory}",
                "keep one of the two spellings of the ticker's file",
            )
        if not present:
            return self._missing(ticker, found[0][0], failure)
        path, st = present[0]
        if not _spelled_exactly(path):  # a case-insensitive file system found ko.csv
            return self._missing(ticker, path, failure)
        if not stat.S_ISREG(st.st_mode):
            what = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a FIFO?)"
            return failure(
                "error",
                f"{path.name} in {self.directory} is {what}, not a price file",
                f"replace it with the ticker's CSV file (columns {','.join(_COLUMNS)})",
            )
        try:
            read = read_price_file(path, ticker, adjustment=self.adjustment)
        except ValueError as exc:
            return failure("error", f"{path}: {exc}", "fix the file")
        except OSError as exc:
            return failure("error", f"{path}: cannot be read ({exc.strerror or exc})", "check it")
        frame = read.frame
        info_first = frame.index.min() if len(frame) else None
        info_last = frame.index.max() if len(frame) else None
        frame = between(frame, start, end)
        if frame.empty:
            if info_first is None or info_last is None:
                return failure("empty", f"{path.name} has no rows", "add rows to the file")
            return failure(
                "empty",
                f"{path.name} has rows from {info_first.date()} to {info_last.date()} only",
                "ask for a range inside the file's, or add rows",
            )
        first, last = frame.index.min().date(), frame.index.max().date()
        info = SeriesInfo(
            ticker=ticker,
            source=f"csv:{path}",
            fetched_at=dt.datetime.fromtimestamp(st.st_mtime, tz=dt.UTC),
            adjustment=read.adjustment,
            first=first,
            last=last,
            rows=len(frame),
        )
        # the file's flags on the rows given only (a spin-off outside the range is no warning)
        flags = tuple(f for f in read.flags if first <= f.date <= last)
        # the placeholder history before a listing is decided on the whole file, not the range
        history = source_history(ticker, read.frame)
        return PriceSeries(ticker, frame, info, flags=flags, history=history)

    def _missing(self, ticker: str, path: Path, failure: object) -> FetchFailure:
        known = self.tickers()
        near = _same_but_case(self.directory, [p.name for p in self.candidates(ticker)])
        if near is None:  # BRK.B.csv for BRK-B: the same ticker spelt another way
            near = _spelt_otherwise(self.directory, ticker, path.name)
        # an index is suggested an index, a stock a stock (^HSI is not HSIC)
        alike = [k for k in known if k.startswith("^") == ticker.startswith("^")]
        hint = (
            (f"{near[0]} is there: rename it {near[1]}" if near else "")
            or did_you_mean(ticker, alike, n=3, prefix="")
            or f"add {path.name} (columns {','.join(_COLUMNS)}, or a CSV saved from yfinance); "
            f"{len(known)} ticker file(s) are there"
        )
        return FetchFailure(
            ticker, None, None, "unknown_ticker", f"no file {path.name} in {self.directory}", hint
        )


def _spelled_exactly(path: Path) -> bool:
    """Whether the folder's entry found at ``path`` has ``path``'s name in the same case. On a
    case-sensitive file system it always has (one ``stat`` to learn so); on a case-insensitive
    one (where the name in the other case opens the same file) the folder is listed."""
    twin = path.with_name(path.name.swapcase())
    try:
        if not os.path.samefile(twin, path):
            return True
    except OSError:  # no such twin: a case-sensitive file system
        return True
    return path.name in os.listdir(path.parent)


def _spelt_otherwise(directory: Path, ticker: str, name: str) -> tuple[str, str] | None:
    """``(entry, name)``: a ``.csv`` entry of ``directory`` for ``ticker`` spelt another way
    (:func:`ticker_key`: ``BRK.B.csv`` or ``brk-b.csv`` for ``BRK-B``); ``None`` when none."""
    key = ticker_key(ticker)
    try:
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                stem, dot, ext = entry.name.rpartition(".")
                same = dot and ext.lower() == "csv" and ticker_key(ticker_of_stem(stem)) == key
                if same and entry.name != name:
                    return entry.name, name
    except OSError:
        return None
    return None


def _same_but_case(directory: Path, names: Sequence[str]) -> tuple[str, str] | None:
    """``(entry, name)``: an entry of ``directory`` whose name differs from one of ``names``
    in case only (``ko.csv`` for ``KO.csv``); ``None`` when there is none."""
    wanted = {n.casefold(): n for n in names}
    try:
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                name = wanted.get(entry.name.casefold())
                if name is not None and entry.name != name:
                    return entry.name, name
    except OSError:
        return None
    return None


def _not_a_ticker_file(entry: os.DirEntry[str]) -> str | None:
    """Why ``entry``, named like a price file, is not read as a ticker's (``None``: it is, or
    it is not named like one)."""
    name = entry.name
    if name.startswith(".") or not name.casefold().endswith(".csv"):
        return None
    stem = name[: -len(".csv")]
    ticker = ticker_of_stem(stem)
    try:
        check_ticker(ticker)
    except InvalidTickerError as exc:
        upper = ticker.upper()
        try:
            right = f"{file_stem(upper)}.csv"
        except InvalidTickerError:
            return f"{stem!r} is not a ticker ({exc.reason}): name the file <TICKER>.csv"
        return f"tickers are upper case: rename it {right} to read it as {upper}"
    if not name.endswith(".csv"):
        return f"the extension is {name[-4:]}: rename it {stem}.csv to read it as {ticker}"
    try:
        if not entry.is_file():
            what = "a folder" if entry.is_dir() else "not a regular file"
            return f"is {what}, not a price file"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return None


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError:  # a dangling link, a name too long...: reported when it is read
        return None


# ----------------------------------------------------------------------------- one file


def read_price_file(
    path: str | os.PathLike[str], ticker: str | None = None, *, adjustment: str = ""
) -> PriceFile:
    """Read one price file in any of the shapes of the module docstring.

    Parameters
    ----------
    path:
        The file (a regular file: the caller checks).
    ticker:
        The ticker the file is for; a ``yf.download`` header naming another one is an error.
    adjustment:
        The adjustment recorded for an evbt-shaped file (default
        :data:`~backtest.prices.base.ADJUSTMENT_CSV_DEFAULT`).

    Raises
    ------
    ValueError
        The file cannot be used: the message names the line and the field of the first bad
        value, or what is wrong with the header.
    OSError
        The file cannot be read.
    """
    p = Path(path)
    with open(p, "rb") as fh:
        data = fh.read()
    layout = read_layout(data, ticker)
    if layout.symbols:
        check_symbols(data, layout, ticker)
    columns = _parse_fast(data, layout)
    if columns is None:
        columns = _parse_careful(data, layout)
    return _assemble(columns, layout, adjustment or ADJUSTMENT_CSV_DEFAULT)


def read_layout(data: bytes, ticker: str | None = None) -> FileLayout:
    """The :class:`FileLayout` of a file's bytes (only its first lines are looked at).

    Raises
    ------
    ValueError
        No usable header: empty file, missing columns, intraday bars, another ticker's file.
    """
    if b"\x00" in data[:4096]:
        raise ValueError("holds NUL bytes: not a text CSV file")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data[:8192].decode("utf-8", errors="replace").splitlines()
    if not head or not head[0].strip():
        raise ValueError(f"is empty; a price file starts with the header {','.join(_COLUMNS)}")
    rows = [[c.strip() for c in row] for row in csv.reader(head[:3])]
    names, header_lines, tickers, ticker_line = _two_levels(rows) or (tuple(rows[0]), 1, (), 0)
    if len(set(tickers)) > 1:
        raise ValueError(
            f"holds several tickers ({', '.join(sorted(set(tickers)))}); save one file per "
            "ticker (e.g. df.xs('META', axis=1, level='Ticker').to_csv('META.csv'))"
        )
    file_ticker = tickers[0] if tickers else None
    if ticker is not None and file_ticker is not None and file_ticker != ticker:
        raise ValueError(f"line {ticker_line}: the file holds {file_ticker}, not {ticker}")
    ours = [column_name(n) for n in names]
    if "datetime" in ours and "date" not in ours:
        raise ValueError(
            "line 1: column Datetime: intraday bars; evbt needs daily bars (interval='1d')"
        )
    if "date" not in ours and {"open", "high", "low", "close"} <= set(ours):
        raise ValueError(
            "line 1: no Date column: the dates of a frame from yfinance are its index, which "
            "to_csv(index=False) leaves out; save it with df.to_csv(path) (or "
            "df.reset_index().to_csv(path, index=False))"
        )
    position: dict[str, int] = {}
    for i, name in enumerate(ours):
        if name in position:
            first = names[position[name]]
            if first.lower() == names[i].lower():
                raise ValueError(f"line 1: column {names[i]!r} appears twice")
            raise ValueError(
                f"line 1: columns {first!r} and {names[i]!r} are both {name}: keep one"
            )
        if _looks_adjusted(name):
            raise ValueError(
                f"line 1: column {names[i]!r} looks like an adjusted close, but evbt reads one "
                f"only as {', '.join(_ADJ_SPELLINGS)} (case and punctuation aside): rename it "
                "Adj Close, or remove it to take Close as it is"
            )
        position[name] = i
    missing = [c for c in _COLUMNS if c not in position]
    if missing:
        raise ValueError(
            f"missing column(s) {', '.join(missing)}; the header must be {','.join(_COLUMNS)} "
            "(or a CSV saved from yfinance: Date,Open,High,Low,Close,[Adj Close,]Volume,...)"
        )
    shape: Shape = (
        "adj_close"
        if _ADJ in position
        else "history"
        if _SPLITS in position or _DIVIDENDS in position
        else "evbt"
    )
    keep = {k: position[k] for k in (*_COLUMNS, _ADJ, _SPLITS) if k in position}
    symbols = tuple(i for i, n in enumerate(names) if _is_symbol_column(n))
    return FileLayout(shape, header_lines, names, keep, file_ticker, symbols)


#: Column names (as :func:`_is_symbol_column` reduces them) that name each row's ticker.
_SYMBOL_COLUMNS = frozenset({"symbol", "ticker", "tickersymbol", "stocksymbol"})


def _is_symbol_column(name: str) -> bool:
    """Whether a header cell names a column of tickers (``Symbol``, ``Ticker_Symbol``)."""
    return re.sub(r"[^0-9a-z]+", "", name.lower()) in _SYMBOL_COLUMNS


def ticker_key(ticker: str) -> str:
    """A ticker as compared with a file's ``Symbol`` column: case, an index's ``^`` (or ``_``)
    and the separator of a share class (``BRK-B``, ``BRK.B``, ``BRK/B``, ``BRK B``) do not
    matter.

    >>> ticker_key("brk.b") == ticker_key("BRK-B"), ticker_key("GSPC") == ticker_key("^GSPC")
    (True, True)
    """
    key = ticker.strip().upper().lstrip("^_")
    return re.sub(r"[.\-/ ]+", "-", key)


def check_symbols(data: bytes, layout: FileLayout, ticker: str | None) -> None:
    """Check a file's ``Symbol``/``Ticker`` column(s): every row names ``ticker`` (or, without
    one, the same ticker). A row with an empty cell names none and is not counted.

    Raises
    ------
    ValueError
        The file holds another ticker's rows, or several tickers' (each named, with its rows).
    """
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text))
    for _ in range(layout.header_lines):
        next(reader, None)
    counts: dict[str, dict[str, int]] = {}  # key -> spelling as written -> rows
    for row in reader:
        for i in layout.symbols:
            cell = row[i].strip() if i < len(row) else ""
            if cell:
                spelled = counts.setdefault(ticker_key(cell), {})
                spelled[cell] = spelled.get(cell, 0) + 1
    if not counts:
        return
    columns = " and ".join(repr(layout.names[i]) for i in layout.symbols)
    held = sorted(
        ((max(v, key=v.__getitem__), sum(v.values())) for v in counts.values()),
        key=lambda t: (-t[1], t[0]),
    )
    listed = ", ".join(f"{t} ({n} row{'s' if n != 1 else ''})" for t, n in held)
    if len(held) > 1:
        raise ValueError(
            f"column {columns}: the file holds several tickers: {listed}; a price file holds "
            "one ticker's rows: save one file per ticker, named after it (e.g. "
            f"df[df[{layout.names[layout.symbols[0]]!r}] == {held[0][0]!r}].to_csv("
            f"'{held[0][0]}.csv', index=False))"
        )
    if ticker is not None and ticker_key(ticker) not in counts:
        other = held[0][0]
        try:
            rename = f"rename it {file_stem(other.upper())}.csv"
        except ValueError:
            rename = "rename it after the ticker its rows name"
        raise ValueError(
            f"column {columns}: the file holds {listed}, not {ticker}: it is another ticker's "
            f"file; {rename}, or save {ticker}'s prices in it (or, if {other} is {ticker} "
            "under another name, remove the column)"
        )


def _two_levels(rows: list[list[str]]) -> tuple[tuple[str, ...], int, tuple[str, ...], int] | None:
    """The header of a saved frame with yfinance's two column levels (``Price``: the fields,
    ``Ticker``: the tickers), as ``(names, header lines, tickers, the tickers' line)``;
    ``None`` for a one-line header.

    ``yf.download`` frames saved as they are (``group_by='column'`` or ``'ticker'``):
    ``Price,Close,...`` / ``Ticker,META,...`` / ``Date,,,...`` (the first two lines either way
    round); after ``reset_index()`` and ``to_csv(index=False)``: ``Date,Close,...`` /
    ``,META,...`` (or ``Date,META,...`` / ``,Close,...``); with ``to_csv(index=False)``, no
    date at all: ``Close,High,...`` / ``META,META,...`` (the names returned have no date).
    """
    if len(rows) < 2 or len(rows[0]) < 2 or len(rows[1]) != len(rows[0]):
        return None
    labels = [r[0].lower() for r in rows[:2]]
    if sorted(labels) == ["price", "ticker"] and len(rows) >= 3:
        third = rows[2]
        if third and third[0] and not any(third[1:]):
            fields, tickers = (rows[0], rows[1]) if labels[0] == "price" else (rows[1], rows[0])
            named = tuple(t for t in tickers[1:] if t)
            return (third[0], *fields[1:]), 3, named, labels.index("ticker") + 1
        return None
    if not all(rows[1][1:]) or any(_is_number(c) for c in rows[1][1:]):
        return None  # the second line is a row of data
    counts = [_field_count(r[1:]) for r in rows[:2]]
    if max(counts) < 2 or min(counts) > 0:
        return None  # not one line of fields over one of tickers
    upper = counts[0] > counts[1]  # whether the first line holds the fields
    fields, tickers = (rows[0], rows[1]) if upper else (rows[1], rows[0])
    if rows[1][0] == "" and rows[0][0]:  # reset_index(): the date's name over an empty cell
        if _ticker_level(fields[1:], tickers[1:]):
            return (rows[0][0], *fields[1:]), 2, tuple(tickers[1:]), 2 if upper else 1
    elif (
        all(rows[0])
        and all(rows[1])
        and "date" not in map(column_name, fields)
        and _ticker_level(fields, tickers)
    ):  # to_csv(index=False): no date
        return tuple(fields), 2, tuple(tickers), 2 if upper else 1
    return None


def _ticker_level(fields: Sequence[str], tickers: Sequence[str]) -> bool:
    """Whether ``tickers`` is yfinance's ``Ticker`` level over ``fields``: Yahoo tickers, each
    over the same fields, once each (not a first row of data that holds words)."""
    for t in tickers:
        try:
            check_ticker(t)
        except ValueError:
            return False
    by_ticker: dict[str, list[str]] = {}
    for f, t in zip(fields, tickers, strict=True):
        by_ticker.setdefault(t, []).append(column_name(f))
    sets = [sorted(v) for v in by_ticker.values()]
    return all(len(set(v)) == len(v) for v in sets) and all(v == sets[0] for v in sets)


def _field_count(cells: Sequence[str]) -> int:
    """How many of ``cells`` are price fields (``Open``, ``Adj Close``, ``Volume``...)."""
    return sum(column_name(c) in (*FIELDS, _ADJ, _SPLITS, _DIVIDENDS) for c in cells)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return cell.lower() in _MISSING
    return True


def column_name(name: str) -> str:
    """Our name for a header cell: case, spaces, underscores and other punctuation do not
    matter (``Adj Close``, ``adj_close``, ``AdjClose``, ``Adjusted_Close`` and ``Adj. Close``
    are all ``adj close``; ``Stock_Splits`` is ``stock splits``); a column evbt does not read
    keeps its name in lower case.

    >>> [column_name(n) for n in ("Close", "Adj Close", "adj_close", "adjusted close", "Foo_Bar")]
    ['close', 'adj close', 'adj close', 'adj close', 'foo_bar']
    """
    lower = name.lower()
    return _KNOWN.get(re.sub(r"[^0-9a-z]+", "", lower), lower)


def _looks_adjusted(name: str) -> bool:
    """Whether a column evbt does not read looks like an adjusted close (``Adj Close Price``,
    ``close_adj``): refused, not ignored (evbt would take the unadjusted Close without a word)."""
    key = re.sub(r"[^0-9a-z]+", "", name)
    return name != _ADJ and "adj" in key and "close" in key and "unadj" not in key


_Columns = dict[str, np.ndarray]  # "date": datetime64[D]; the others float64


def _parse_fast(data: bytes, layout: FileLayout) -> _Columns | None:
    """Arrow's reader, for clean files; ``None`` when it refuses anything (the careful reader
    then finds and names the problem)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(len(layout.names))]
    wanted = {k: f"c{i}" for k, i in layout.position.items()}
    types = {col: pa.float64() for k, col in wanted.items() if k != "date"}
    types[wanted["date"]] = pa.string()
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        table = pacsv.read_csv(
            io.BytesIO(data[start:]),
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=layout.header_lines, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=list(wanted.values()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    text = table.column(wanted["date"])
    if len(text) == 0:
        return {
            k: np.array([], dtype="datetime64[D]" if k == "date" else "float64") for k in wanted
        }
    tails = pc.unique(pc.utf8_slice_codeunits(text, 10, 64)).to_pylist()
    if not all(_good_tail(t) for t in tails):
        return None
    try:
        days = pc.cast(pc.utf8_slice_codeunits(text, 0, 10), pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if days.null_count:
        return None
    out: _Columns = {"date": days.to_numpy(zero_copy_only=False).astype("datetime64[D]")}
    for k, col in wanted.items():
        if k != "date":
            out[k] = table.column(col).to_numpy(zero_copy_only=False).astype("float64")
    return out


def _good_tail(tail: str) -> bool:
    """Whether what follows the first ten characters of a date cell is a midnight stamp."""
    if not tail:
        return True
    m = _DATE_CELL.fullmatch("2000-01-01" + tail)
    return m is not None and m["time"] is not None and _MIDNIGHT.fullmatch(m["time"]) is not None


def _parse_careful(data: bytes, layout: FileLayout) -> _Columns:
    """Read every line with the ``csv`` module, naming the line and field of the first problem."""
    text = data.decode("utf-8-sig", errors="strict") if _utf8(data) else None
    if text is None:
        raise ValueError("is not UTF-8 text")
    reader = csv.reader(io.StringIO(text))
    for _ in range(layout.header_lines):
        next(reader, None)
    width = len(layout.names)
    pos = layout.position
    days: list[np.datetime64] = []
    values: dict[str, list[float]] = {k: [] for k in pos if k != "date"}
    for row in reader:
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line (a trailing newline) is no row
        if "\x00" in "".join(row):
            raise ValueError(f"line {line}: holds NUL bytes")
        if len(row) != width:
            raise ValueError(f"line {line}: {len(row)} values, but the header has {width} columns")
        days.append(_parse_day(row[pos["date"]], line))
        for k, v in values.items():
            v.append(_parse_number(row[pos[k]], line, k))
    out: _Columns = {"date": np.array(days, dtype="datetime64[D]")}
    for k, v in values.items():
        out[k] = np.array(v, dtype="float64")
    return out


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parse_day(cell: str, line: int) -> np.datetime64:
    text = cell.strip()
    m = _DATE_CELL.fullmatch(text)
    if m is None:
        raise ValueError(f"line {line}: date {text!r} is not YYYY-MM-DD")
    if m["time"] is not None and not _MIDNIGHT.fullmatch(m["time"]):
        raise ValueError(
            f"line {line}: date {text!r} has a time of day: intraday bars; evbt needs daily "
            "bars stamped with the session's date (or its local midnight)"
        )
    try:
        day = dt.date.fromisoformat(m["day"])
    except ValueError:
        raise ValueError(f"line {line}: date {text!r} is not a valid date") from None
    return np.datetime64(day, "D")


def _parse_number(cell: str, line: int, column: str) -> float:
    """A number cell as Arrow's reader (:func:`_parse_fast`) reads it: a plain decimal (ASCII
    digits, one ``.``, an optional sign and exponent; ``inf`` and ``nan`` too, for the quality
    checks to name) between ASCII spaces or tabs, or a missing value. Python's ``float`` also
    takes ``2_90``, other scripts' digits and Unicode spaces: they are refused, as Arrow does."""
    text = cell.strip(_SPACES)
    if text.lower() in _MISSING:
        return math.nan
    if _NUMBER.fullmatch(text) is None:
        why = ""
        try:
            float(text)
        except ValueError:
            pass
        else:  # a number to Python, not to a CSV reader
            why = " (write plain decimal digits, such as 290.5 or 2.905e2)"
        raise ValueError(f"line {line}: {column} {text!r} is not a number{why}")
    return float(text)


def _assemble(columns: _Columns, layout: FileLayout, adjustment: str) -> PriceFile:
    """The standard frame, adjustment policy and return flags of a file's parsed columns."""
    day = columns["date"]
    data = {f: columns[f] for f in FIELDS}
    if layout.shape == "adj_close":
        adj, close = columns[_ADJ], data["close"]
        # a Close that is missing, infinite, zero or negative puts no row on Adj Close's basis:
        # the row stays as written, that Close included, and the quality checks name it
        scalable = np.isfinite(close) & (close > 0)
        factor = np.divide(adj, close, out=np.ones_like(adj), where=scalable)
        factor[~np.isfinite(factor)] = np.nan  # an Adj Close missing or infinite
        data = {
            "open": data["open"] * factor,
            "high": data["high"] * factor,
            "low": data["low"] * factor,
            "close": np.where(scalable, adj, close),
            "volume": data["volume"],
        }
        policy = ADJUSTMENT_ADJ_CLOSE
    elif layout.ticker is not None:  # yf.download's two column levels, no Adj Close
        policy = ADJUSTMENT_YAHOO
    elif layout.shape == "history":
        policy = ADJUSTMENT_HISTORY
    else:
        policy = adjustment
    flags = split_flags(day, columns[_SPLITS]) if _SPLITS in columns else ()
    index = pd.DatetimeIndex(day.astype("datetime64[ns]"), name="date")
    values = np.column_stack([data[f] for f in FIELDS]) if len(day) else np.empty((0, 5))
    frame = pd.DataFrame(values, index=index, columns=list(FIELDS), copy=False)
    return PriceFile(frame, layout, policy, flags)
