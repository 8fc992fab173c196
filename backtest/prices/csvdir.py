"""Prices from a directory of CSV files, one per ticker (offline work, data you already have).

Each file is named after the ticker as Yahoo spells it, with ``^`` written ``_`` (``META.csv``,
``0700.HK.csv``, ``_GSPC.csv`` for ``^GSPC``), and has the header
``date,open,high,low,close,volume`` (header case does not matter; extra columns are ignored),
ISO dates and one row per session. Files are read as they are, never cached nor modified. Their
adjustment for splits and dividends cannot be read from the file: it is recorded as the user
declares it (``adjustment=``), by default :data:`~backtest.prices.base.ADJUSTMENT_CSV_DEFAULT`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.errors import PricesDirError
from backtest.markets import check_ticker
from backtest.prices.base import (
    ADJUSTMENT_CSV_DEFAULT,
    FIELDS,
    FetchFailure,
    FetchResult,
    PriceSeries,
    ProgressCallback,
    SeriesInfo,
    between,
    file_stem,
    ticker_of_stem,
)
from backtest.text import did_you_mean

_COLUMNS = ("date", *FIELDS)


class CsvDirSource:
    """A :class:`~backtest.prices.base.PriceSource` reading ``<directory>/<ticker>.csv``.

    Parameters
    ----------
    directory:
        The folder holding the files.
    adjustment:
        How the files' prices are adjusted, recorded in every series' provenance.

    Raises
    ------
    PricesDirError
        ``directory`` does not exist or is not a folder.

    Examples
    --------
    >>> src = CsvDirSource("../shared/prices")  # doctest: +SKIP
    >>> src.fetch(["META", "^GSPC"], None, None).series["META"].info.rows  # doctest: +SKIP
    1668
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

    def path_for(self, ticker: str) -> Path:
        """The file that holds ``ticker``'s prices."""
        return self.directory / f"{file_stem(ticker)}.csv"

    def tickers(self) -> tuple[str, ...]:
        """The tickers that have a file here (files whose name is not a ticker are ignored)."""
        found = []
        for p in sorted(self.directory.glob("*.csv")):
            ticker = ticker_of_stem(p.stem)
            try:
                check_ticker(ticker)
            except ValueError:
                continue
            found.append(ticker)
        return tuple(found)

    def fetch(
        self,
        tickers: Sequence[str],
        start: dt.date | None,
        end: dt.date | None,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> FetchResult:
        """Read the files of ``tickers`` and keep the rows from ``start`` to ``end`` (inclusive)."""
        series: dict[str, PriceSeries] = {}
        failed: dict[str, FetchFailure] = {}
        for ticker in dict.fromkeys(tickers):
            got = self.read(ticker, start, end)
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
        """One ticker's rows from ``start`` to ``end``, or why they cannot be had."""
        path = self.path_for(ticker)

        def failure(kind: str, reason: str, hint: str) -> FetchFailure:
            return FetchFailure(ticker, start, end, kind, reason, hint)  # type: ignore[arg-type]

        if not path.is_file():
            known = self.tickers()
            hint = (
                did_you_mean(ticker, known, n=3, prefix="")
                or f"add {path.name} (columns {','.join(_COLUMNS)}); "
                f"{len(known)} ticker file(s) are there"
            )
            return failure("unknown_ticker", f"no file {path.name} in {self.directory}", hint)
        try:
            frame = _read_csv(path)
        except ValueError as exc:
            return failure("error", f"{path}: {exc}", "fix the file")
        except OSError as exc:
            return failure("error", f"{path}: cannot be read ({exc})", "check the file")
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
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
        info = SeriesInfo(
            ticker=ticker,
            source=f"csv:{path}",
            fetched_at=mtime,
            adjustment=self.adjustment,
            first=frame.index.min().date(),
            last=frame.index.max().date(),
            rows=len(frame),
        )
        return PriceSeries(ticker, frame, info)


def _read_csv(path: Path) -> pd.DataFrame:
    """Read one price file; ValueError names the line and field of the first bad value."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in _COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(
            f"missing column(s) {', '.join(missing)}; the header must be {','.join(_COLUMNS)}"
        )
    text = raw["date"].str.strip()
    dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"line {i + 2}: date {text.iloc[i]!r} is not YYYY-MM-DD")
    data = {}
    for col in FIELDS:
        cells = raw[col].str.strip()
        numbers = pd.to_numeric(cells.replace("", np.nan), errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy() & (cells != "").to_numpy())
        bad = bad[
            ~cells.iloc[bad].str.lower().isin(["nan", "inf", "-inf", "null", "na"]).to_numpy()
        ]
        if len(bad):
            i = int(bad[0])
            raise ValueError(f"line {i + 2}: {col} {cells.iloc[i]!r} is not a number")
        data[col] = numbers.to_numpy(dtype="float64", na_value=np.nan)
    index = pd.DatetimeIndex(dates, name="date").as_unit("ns")
    return pd.DataFrame(data, index=index)
