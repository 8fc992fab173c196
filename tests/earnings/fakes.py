"""Stand-ins for yfinance's ``Ticker.get_earnings_dates``, shaped exactly like its output.

The shape was read from yfinance 1.7's ``base.py`` (``_get_earnings_dates_using_scrape``) and is
checked in ``test_shape.py`` by running that very parser on a page laid out like Yahoo's
calendar: a ``DatetimeIndex`` named ``Earnings Date`` in ``America/New_York`` (microsecond
unit under pandas 3), float columns ``EPS Estimate``, ``Reported EPS``, ``Surprise(%)``, NaN
where Yahoo shows ``-``. The frames are built from the saved files in ``../shared/sp500/earnings``
with the csv module only, not with evbt's reader.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

COLUMNS = ["EPS Estimate", "Reported EPS", "Surprise(%)"]


def saved_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def frame_from_rows(rows: Sequence[dict[str, str]]) -> pd.DataFrame:
    """A ``get_earnings_dates()`` frame from saved rows (``EarningsDate`` + the three figures)."""

    def num(text: str) -> float:
        return float(text) if text else math.nan

    stamps = [pd.Timestamp(r["EarningsDate"]).tz_convert("America/New_York") for r in rows]
    index = pd.DatetimeIndex(stamps, name="Earnings Date").as_unit("us")
    return pd.DataFrame({c: [num(r[c]) for r in rows] for c in COLUMNS}, index=index)


def frame_from_saved(path: Path) -> pd.DataFrame:
    return frame_from_rows(saved_rows(path))


def yahoo_page(symbol: str, rows: Sequence[dict[str, str]]) -> str:
    """The calendar table as Yahoo's page lays it out (the part yfinance's scraper reads)."""
    cells = []
    for r in rows:
        stamp = pd.Timestamp(r["EarningsDate"]).tz_convert("America/New_York")
        zone = "EDT" if stamp.dst() else "EST"
        hour = stamp.strftime("%I").lstrip("0")
        day = f"{stamp.strftime('%B')} {stamp.day:02d}, {stamp.year}"
        when = f"{day} at {hour} {stamp.strftime('%p')} {zone}"
        figures = [r[c] or "-" for c in COLUMNS]
        if figures[2] != "-" and not figures[2].startswith("-"):
            figures[2] = "+" + figures[2]
        cells.append(
            "<tr>"
            + "".join(f"<td>{v}</td>" for v in [symbol, "A Company", when, *figures])
            + "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ["Symbol", "Company", "Earnings Date", "EPS Estimate", "Reported EPS",
                  "Surprise (%)"]
    )  # fmt: skip
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(cells)}</tbody></table>"
    return f"<html><body>{table}</body></html>"


class FakeTicker:
    """``yf.Ticker(symbol)`` with a scripted ``get_earnings_dates``: each call takes the next
    outcome (a frame, ``None``, or an exception to raise) and is recorded."""

    def __init__(self, symbol: str, script: list[Any], calls: list[tuple[str, int]]) -> None:
        self.symbol = symbol
        self.script = script
        self.calls = calls

    def get_earnings_dates(self, limit: int = 12, offset: int = 0) -> Any:
        self.calls.append((self.symbol, limit))
        outcome = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(outcome, BaseException):
            raise outcome
        if callable(outcome):
            return outcome()
        return outcome.copy() if isinstance(outcome, pd.DataFrame) else outcome


def factory(scripts: dict[str, list[Any]]) -> tuple[Callable[[str], FakeTicker], list[Any]]:
    """A ``ticker_factory`` for :class:`~backtest.earnings.yahoo.EarningsSource` and its calls."""
    calls: list[tuple[str, int]] = []

    def make(symbol: str) -> FakeTicker:
        return FakeTicker(symbol, scripts[symbol], calls)

    return make, calls
