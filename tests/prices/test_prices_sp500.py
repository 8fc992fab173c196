"""The S&P 500 folder as yfinance users save it (``../shared/sp500/prices``).

Independent expectations: the returns ``../shared/sp500/PROVENANCE.md`` lists as checked, and
figures recomputed here from the files' text with the ``csv`` module (never through evbt's
readers).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.prices import CsvDirSource, PricePanel, load_prices
from backtest.prices.base import ADJUSTMENT_ADJ_CLOSE, ADJUSTMENT_HISTORY

D = dt.date

#: Spin-offs Yahoo booked as fractional splits, as PROVENANCE.md lists them.
PROVENANCE_SPIN_OFFS = {
    ("MMM", "2024-04-01"), ("GE", "2023-01-04"), ("GE", "2024-04-02"), ("DHR", "2023-10-02"),
    ("K", "2023-10-02"), ("T", "2022-04-11"), ("RTX", "2020-04-03"), ("IBM", "2021-11-04"),
    ("PFE", "2020-11-17"), ("WDC", "2025-02-24"), ("HON", "2025-10-30"),
}  # fmt: skip
#: Plain splits (ratios of small whole numbers) among the files' Stock Splits values.
PLAIN = {0.125, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 10.0, 15.0, 20.0, 50.0}
SOME = ["META", "SPY", "^GSPC", "NVDA", "AAPL", "NFLX", "FISV", "MMM", "SW", "AMCR", "BKR"]


def raw_rows(folder: Path, ticker: str) -> list[dict[str, str]]:
    with open(folder / "prices" / f"{ticker}.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def raw_return(folder: Path, ticker: str, day: str, column: str = "Close") -> float:
    rows = raw_rows(folder, ticker)
    i = next(i for i, r in enumerate(rows) if r["Date"][:10] == day)
    return float(rows[i][column]) / float(rows[i - 1][column]) - 1


@pytest.fixture(scope="module")
def some(shared_sp500_dir: Path) -> PricePanel:
    return load_prices(SOME, source=CsvDirSource(shared_sp500_dir / "prices"))


def day_return(panel: PricePanel, ticker: str, day: str) -> float:
    close = panel.close[ticker].dropna()
    i = close.index.get_loc(pd.Timestamp(day))
    return float(close.iloc[i] / close.iloc[i - 1] - 1)


@pytest.mark.parametrize(
    ("ticker", "day", "pct"),
    [
        ("META", "2025-10-30", "-11.33"),
        ("META", "2022-02-03", "-26.39"),
        ("NFLX", "2022-04-20", "-35.1"),
        ("^GSPC", "2020-03-16", "-11.98"),
        ("SPY", "2020-03-16", "-10.94"),  # from Adj Close
        ("SPY", "2025-10-30", "-1.10"),
        ("NVDA", "2024-06-10", "0.75"),  # the 10:1 split day: absorbed
        ("AAPL", "2020-08-31", "3.39"),  # the 4:1 split day
    ],
)
def test_the_checked_returns_of_the_provenance(
    some: PricePanel, shared_sp500_dir: Path, ticker: str, day: str, pct: str
) -> None:
    got = day_return(some, ticker, day)
    decimals = len(pct.split(".")[1])
    assert 100 * got == pytest.approx(float(pct), abs=0.5 * 10**-decimals)  # as rounded there
    column = "Adj Close" if ticker == "SPY" else "Close"
    assert got == pytest.approx(raw_return(shared_sp500_dir, ticker, day, column), rel=1e-12)


def test_spy_fills_are_on_the_adj_close_basis(some: PricePanel, shared_sp500_dir: Path) -> None:
    row = next(r for r in raw_rows(shared_sp500_dir, "SPY") if r["Date"] == "2025-10-30")
    factor = float(row["Adj Close"]) / float(row["Close"])
    stamp = pd.Timestamp("2025-10-30")
    assert some.close.at[stamp, "SPY"] == float(row["Adj Close"])
    for field, column in (("open", "Open"), ("high", "High"), ("low", "Low")):
        assert some.field(field).at[stamp, "SPY"] == pytest.approx(
            float(row[column]) * factor, rel=1e-15
        )
    assert some.volume.at[stamp, "SPY"] == float(row["Volume"])
    assert some.provenance["SPY"].adjustment == ADJUSTMENT_ADJ_CLOSE
    assert some.provenance["META"].adjustment == ADJUSTMENT_HISTORY
    assert some.provenance["^GSPC"].source.endswith("/^GSPC.csv")


def test_fisv_misses_one_session(some: PricePanel) -> None:
    missing = [i for i in some.quality.issues if i.check == "missing_session"]
    assert [(i.ticker, i.dates) for i in missing] == [("FISV", (D(2025, 11, 12),))]
    fisv = some.close["FISV"]
    assert np.isnan(fisv[pd.Timestamp("2025-11-12")])
    assert fisv[pd.Timestamp("2025-11-11") : pd.Timestamp("2025-11-13")].notna().sum() == 2


def test_placeholder_history_before_a_listing_is_left_out(
    some: PricePanel, shared_sp500_dir: Path
) -> None:
    # SW trades from 2024-07-08 and AMCR from 2019-06-11 (PROVENANCE.md)
    assert some.close["SW"].first_valid_index() == pd.Timestamp("2024-07-08")
    assert some.close["AMCR"].first_valid_index() == pd.Timestamp("2019-06-11")
    found = {i.ticker: i for i in some.quality.issues if i.check == "placeholder_history"}
    assert set(found) == {"SW", "AMCR"}
    before_sw = [r for r in raw_rows(shared_sp500_dir, "SW") if r["Date"][:10] < "2024-07-08"]
    assert len(found["SW"].dates) == len(before_sw)
    assert found["SW"].dates[-1] == D(2024, 7, 5)
    # a single placeholder day inside a trading series stays, as a warning
    bkr = [i for i in some.quality.issues if i.ticker == "BKR"]
    assert [(i.check, i.dates) for i in bkr] == [("stale_bar", (D(2019, 10, 18),))]
    assert some.close.at[pd.Timestamp("2019-10-18"), "BKR"] > 0


def test_placeholder_history_is_decided_on_the_whole_file(shared_sp500_dir: Path) -> None:
    src = CsvDirSource(shared_sp500_dir / "prices")
    first = raw_rows(shared_sp500_dir, "SW")[0]["Date"][:10]
    # a range from inside SW's placeholder history: its part of it is left out, and the
    # message names the file's
    mid = load_prices(["SW"], "2024-06-01", "2024-07-31", source=src)
    assert mid.close["SW"].first_valid_index() == pd.Timestamp("2024-07-08")
    issue = next(i for i in mid.quality.issues if i.check == "placeholder_history")
    assert (issue.dates[0], issue.dates[-1]) == (D(2024, 6, 3), D(2024, 7, 5))
    assert f"the source's from {first} to 2024-07-05" in issue.message
    # a range that ends before the listing has no trading day in it, and says so: decided on
    # its rows alone, its last flat bar (07-03) was kept as if trading had started
    before = load_prices(["SW"], "2024-06-01", "2024-07-03", source=src)
    assert before.failed["SW"].reason.startswith("the range holds only placeholder history")
    assert "SW" not in before.close.columns


def test_a_spin_off_day_is_flagged(some: PricePanel) -> None:
    flags = some.return_flags
    assert flags[["ticker", "date"]].to_dict("records") == [
        {"ticker": "MMM", "date": pd.Timestamp("2024-04-01")}
    ]
    # the day's adjusted return (+6.0%, PROVENANCE.md) is kept, and said to be doubtful
    assert 100 * day_return(some, "MMM", "2024-04-01") == pytest.approx(6.0, abs=0.02)


@pytest.mark.slow
def test_the_whole_folder(shared_sp500_dir: Path) -> None:
    src = CsvDirSource(shared_sp500_dir / "prices")
    tickers = src.tickers()
    assert len(tickers) == 505  # 503 stocks, SPY and ^GSPC
    panel = load_prices(tickers, source=src)
    assert not panel.failed
    assert panel.tickers == tickers
    # SPY (Adj Close) runs to 2026-05-27, the stocks to 2025-11-21, ^GSPC to 2025-12-12
    assert (panel.dates[0], panel.dates[-1]) == (
        pd.Timestamp("2017-01-03"),
        pd.Timestamp("2026-05-27"),
    )

    # every non-zero Stock Splits value in the files: plain splits pass, the rest are flagged
    events: set[tuple[str, str]] = set()
    plain: set[tuple[str, str]] = set()
    for ticker in tickers:
        if ticker == "SPY":
            continue
        for r in raw_rows(shared_sp500_dir, ticker):
            ratio = float(r["Stock Splits"])
            if ratio:
                (plain if ratio in PLAIN else events).add((ticker, r["Date"][:10]))
    flagged = {
        (t, f"{d:%Y-%m-%d}")
        for t, d in zip(panel.return_flags["ticker"], panel.return_flags["date"], strict=True)
    }
    assert flagged >= PROVENANCE_SPIN_OFFS
    assert flagged == events
    assert not flagged & plain
    assert (len(flagged), len(plain)) == (44, 70)

    # the only quality errors are the preliminary last bars PROVENANCE.md names (and HUBB's)
    errors = {(i.ticker, i.check) for i in panel.quality.errors}
    assert {t for t, _ in errors} == {"APTV", "CLX", "FICO", "HUBB", "LHX", "WAT"}
    assert {c for _, c in errors} == {"outside_range"}


def test_a_spin_off_outside_the_range_loaded_is_no_warning(shared_sp500_dir: Path) -> None:
    # MMM's spin-off day (2024-04-01) is in the file but not in a 2025 load: no flag, no
    # not_total_return warning (the file's flags were given whatever the range)
    panel = load_prices(
        ["MMM"], "2025-01-01", "2025-06-30", source=CsvDirSource(shared_sp500_dir / "prices")
    )
    assert len(panel.return_flags) == 0
    assert not [i for i in panel.quality.issues if i.check == "not_total_return"]
    whole = load_prices(
        ["MMM"], "2024-03-01", "2024-04-30", source=CsvDirSource(shared_sp500_dir / "prices")
    )
    assert [i for i in whole.quality.issues if i.check == "not_total_return"]


def test_a_split_like_jump_reads_well(shared_sp500_dir: Path) -> None:
    panel = load_prices(
        ["OXY"], "2020-03-01", "2020-03-31", source=CsvDirSource(shared_sp500_dir / "prices")
    )
    msg = next(i.message for i in panel.quality.issues if i.check == "split_like_jump")
    assert msg.endswith("looks like an unadjusted 2-for-1 split")
