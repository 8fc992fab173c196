"""Quality checks: each fires on a crafted series; on the real files, exactly the real issues."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prices_fakes import read_shared

from backtest.markets import get_calendar, market_of
from backtest.prices.base import FetchFailure, PriceSeries, SourceHistory
from backtest.prices.csvdir import CsvDirSource
from backtest.prices.quality import CHECKS, QualityReport, check_series, split_like_jumps

XNYS = get_calendar("XNYS")
D = dt.date


def clean_series(n: int = 12) -> pd.DataFrame:
    """n consecutive XNYS sessions from 2024-03-01 of well-formed bars."""
    days = XNYS.sessions_in_range("2024-03-01", "2024-04-30")[:n]
    close = 100.0 + np.arange(n)
    return pd.DataFrame(
        {
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": 1000.0 + np.arange(n),
        },
        index=pd.DatetimeIndex(days.to_numpy(dtype="datetime64[ns]"), name="date"),
    )


def day(i: int) -> dt.date:
    return clean_series().index[i].date()


def test_clean_series_is_clean() -> None:
    checked = check_series("T", clean_series(), XNYS)
    assert checked.report.issues == ()
    pd.testing.assert_frame_equal(checked.frame, clean_series())


def _with(mutate: object) -> pd.DataFrame:
    frame = clean_series()
    mutate(frame)  # type: ignore[operator]
    return frame


def _set(i: int, **values: float) -> object:
    def mutate(frame: pd.DataFrame) -> None:
        for k, v in values.items():
            frame.iloc[i, frame.columns.get_loc(k)] = v

    return mutate


def _rows(*positions: int) -> pd.DataFrame:
    return clean_series().iloc[list(positions)]


def _conflicting() -> pd.DataFrame:
    base = clean_series()
    return pd.concat([base.iloc[:2], base.iloc[[1]] * 1.01, base.iloc[2:]])


def _sunday() -> pd.DataFrame:
    base = clean_series()
    sunday = base.iloc[[0]].set_axis(pd.DatetimeIndex(["2024-03-03"], name="date"))
    return pd.concat([base.iloc[:1], sunday, base.iloc[1:]])


def _halved() -> pd.DataFrame:
    frame = clean_series()
    frame.iloc[6:, :4] = frame.iloc[6:, :4] / 2  # a 2-for-1 split, not adjusted
    return frame


def _copied() -> pd.DataFrame:
    frame = clean_series()
    frame.iloc[9] = frame.iloc[8]  # the previous session's bar copied forward
    return frame


def _placeholder() -> pd.DataFrame:
    frame = clean_series()
    for i, (price, volume) in enumerate([(90.0, 0.0), (90.0, 100.0), (91.0, 0.0)]):
        frame.iloc[i] = [price, price, price, price, volume]  # flat bars before the listing
    return frame


CRAFTED = {
    # check: (series, dates expected, rows masked in the clean frame)
    "unsorted_dates": (lambda: _rows(0, 1, 3, 2, 4, 5), [day(2)], []),
    "duplicate_date": (lambda: _rows(0, 1, 1, 2, 3), [day(1)], []),
    "conflicting_duplicate": (_conflicting, [day(1)], [day(1)]),
    "non_session": (_sunday, [D(2024, 3, 3)], []),  # a Sunday
    "placeholder_history": (_placeholder, [day(0), day(1), day(2)], []),
    "missing_session": (lambda: _rows(0, 1, 2, 5, 6), [day(3), day(4)], []),
    "non_finite_price": (lambda: _with(_set(2, open=np.nan)), [day(2)], [day(2)]),
    "non_positive_price": (lambda: _with(_set(2, low=0.0)), [day(2)], [day(2)]),
    "high_below_low": (lambda: _with(_set(4, high=90.0)), [day(4)], [day(4)]),
    "outside_range": (lambda: _with(_set(5, close=120.0)), [day(5)], [day(5)]),
    "bad_volume": (lambda: _with(_set(6, volume=-5.0)), [day(6)], []),
    "stale_bar": (
        lambda: _with(_set(7, open=107.0, high=107.0, low=107.0, close=107.0, volume=0.0)),
        [day(7)],
        [],
    ),
    "zero_volume": (lambda: _with(_set(8, volume=0.0)), [day(8)], []),
    "repeated_bar": (_copied, [day(9)], []),
    "split_like_jump": (_halved, [day(6)], []),
}


def test_every_check_has_a_crafted_case() -> None:
    # not_total_return comes from the source's flags, not the rows: its own test below
    assert set(CRAFTED) | {"not_total_return"} == {c.name for c in CHECKS}


def test_a_flagged_session_is_a_warning_with_its_date_and_reason() -> None:
    from backtest.prices.base import ReturnFlag

    flags = (ReturnFlag(day(5), "a spin-off"), ReturnFlag(day(2), "another one"))
    checked = check_series("T", clean_series(), XNYS, flags)
    assert [(i.check, i.severity, i.dates, i.message) for i in checked.report.issues] == [
        ("not_total_return", "warning", (day(2),), "another one"),
        ("not_total_return", "warning", (day(5),), "a spin-off"),
    ]
    assert checked.report.ok  # warnings only
    pd.testing.assert_frame_equal(checked.frame, clean_series())  # the rows are unchanged


@pytest.mark.parametrize("check", list(CRAFTED))
def test_each_check_fires_on_a_crafted_series(check: str) -> None:
    make, dates, masked = CRAFTED[check]
    frame = make()
    checked = check_series("T", frame, XNYS)
    fired = [i for i in checked.report.issues if i.check == check]
    assert len(fired) == 1, checked.report.summary()
    issue = fired[0]
    assert list(issue.dates) == dates
    severity = {c.name: c.severity for c in CHECKS}[check]
    assert issue.severity == severity
    # only this check fires (the crafted series differ from the clean one in one way)
    assert {i.check for i in checked.report.issues} == {check}
    # error rows are masked, never dropped; the clean frame is sorted and unique
    clean = checked.frame
    assert clean.index.is_monotonic_increasing
    assert clean.index.is_unique
    for d in masked:
        assert clean.loc[pd.Timestamp(d)].isna().all()
    rest = clean.drop(index=[pd.Timestamp(d) for d in masked])
    assert rest[["open", "high", "low", "close"]].notna().all().all()


def test_a_zero_or_negative_close_is_named_as_such_not_as_missing() -> None:
    frame = _with(_set(2, close=0.0))
    frame.iloc[4, frame.columns.get_loc("close")] = -1.5
    frame.iloc[6, frame.columns.get_loc("open")] = np.nan
    checked = check_series("T", frame, XNYS)
    assert [(i.check, i.dates, i.message) for i in checked.report.issues] == [
        ("non_finite_price", (day(6),), f"1 row ({day(6)}): open missing or infinite: masked"),
        (
            "non_positive_price",
            (day(2), day(4)),
            f"2 rows ({day(2)}, {day(4)}): close zero or negative: masked",
        ),
    ]
    for i in (2, 4, 6):  # masked as before
        assert checked.frame.iloc[i].isna().all()


def test_a_zero_or_negative_close_in_an_adj_close_file_is_named_as_such(tmp_path: Path) -> None:
    """Close 0 (or below) cannot put the row on Adj Close's basis: the row is kept as written
    and the check names its Close, not open, high and low as missing."""
    (tmp_path / "T.csv").write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-03-01,100,110,90,100,50,10\n"
        "2024-03-04,100,110,90,0,50,10\n"
        "2024-03-05,100,110,90,0,0,10\n"
        "2024-03-06,100,110,90,-2,-1,10\n"
        "2024-03-07,100,110,90,100,50,10\n"
    )
    got = CsvDirSource(tmp_path).read("T")
    assert isinstance(got, PriceSeries), got
    assert got.frame["close"].tolist() == [50.0, 0.0, 0.0, -2.0, 50.0]
    assert got.frame["open"].tolist() == [50.0, 100.0, 100.0, 100.0, 50.0]
    checked = check_series("T", got.frame, XNYS)
    assert [(i.check, i.dates, i.message) for i in checked.report.issues] == [
        (
            "non_positive_price",
            (D(2024, 3, 4), D(2024, 3, 5), D(2024, 3, 6)),
            "3 rows (2024-03-04, 2024-03-05, 2024-03-06): close zero or negative: masked",
        ),
    ]
    assert checked.frame["close"].isna().tolist() == [False, True, True, True, False]
    assert checked.frame["open"].isna().tolist() == [False, True, True, True, False]


def test_split_messages_name_the_ratio() -> None:
    frame = clean_series()
    frame.iloc[6:, :4] *= 3.0  # a 1-for-3 reverse split, unadjusted
    (issue,) = check_series("T", frame, XNYS).report.issues
    assert "reverse split" in issue.message
    frame = clean_series()
    frame.iloc[6:, :4] *= 2.6  # no split factor, but beyond x2.5
    (issue,) = check_series("T", frame, XNYS).report.issues
    assert "beyond x2.5" in issue.message


def test_split_detection_ignores_ordinary_moves_and_scale() -> None:
    rng = np.random.default_rng(3)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.03, 2000)))
    assert len(split_like_jumps(close)[0]) == 0
    jumped = close.copy()
    jumped[1000:] /= 4
    rows, prev, _ = split_like_jumps(jumped)
    assert list(rows) == [1000]
    assert list(prev) == [999]
    # scale invariance: the same findings in cents
    assert list(split_like_jumps(jumped * 100)[0]) == [1000]


def test_zero_volume_is_skipped_for_series_without_volume() -> None:
    frame = clean_series()
    frame["volume"] = 0.0
    assert check_series("^T", frame, XNYS).report.issues == ()


def test_report_views() -> None:
    frame = _with(_set(4, high=90.0))
    frame.iloc[8, frame.columns.get_loc("volume")] = 0.0
    report = QualityReport.combine(
        [check_series("A", frame, XNYS).report, check_series("B", clean_series(), XNYS).report]
    )
    assert report.tickers == ("A", "B")
    assert [i.check for i in report.errors] == ["high_below_low"]
    assert [i.check for i in report.warnings] == ["zero_volume"]
    assert not report.ok
    assert report.for_ticker("B").issues == ()
    long = report.to_frame(per_date=True)
    assert list(long.columns) == ["ticker", "check", "severity", "date", "message"]
    assert long["date"].tolist() == [pd.Timestamp(day(4)), pd.Timestamp(day(8))]
    assert report.to_frame()["n"].tolist() == [1, 1]
    text = str(report)
    assert "B: clean" in text
    assert "1 error(s), 1 warning(s)" in text


@settings(max_examples=60, deadline=None)
@given(
    order=st.permutations(list(range(12))),
    dups=st.lists(st.integers(0, 11), max_size=4),
)
def test_order_and_duplicates_never_change_the_clean_series(
    order: list[int], dups: list[int]
) -> None:
    base = clean_series()
    shuffled = base.iloc[order + dups]
    checked = check_series("T", shuffled, XNYS)
    pd.testing.assert_frame_equal(checked.frame, base)
    found = {i.check for i in checked.report.issues}
    assert ("duplicate_date" in found) == bool(dups)
    assert ("unsorted_dates" in found) == (order + dups != sorted(order + dups))
    assert found <= {"duplicate_date", "unsorted_dates"}
    assert shuffled.equals(base.iloc[order + dups])  # input not mutated


# ----------------------------------------------------------------------------- real files

HK_MISSING = (D(2023, 9, 1), D(2023, 9, 8))
REAL_FINDINGS = {
    # Hong Kong cancelled trading on 2023-09-01 (typhoon Saola, signal No. 8) and on
    # 2023-09-08 (black rainstorm warning); exchange_calendars cannot know ad-hoc closures, so
    # against XHKG these sessions are missing in every HK series. A real gap, not a data error.
    "^HSI": {("missing_session", HK_MISSING)},
    # Yahoo writes half-day sessions (Lunar New Year's, Christmas and New Year's eves) as
    # flat bars with zero volume (PROVENANCE.md); all of these dates are XHKG early closes.
    "0700.HK": {
        ("missing_session", HK_MISSING),
        (
            "stale_bar",
            (
                D(2021, 2, 11), D(2022, 1, 31), D(2024, 12, 24), D(2024, 12, 31), D(2025, 1, 28),
                D(2025, 12, 24), D(2025, 12, 31), D(2026, 2, 16),
            ),
        ),
    },
    "9988.HK": {
        ("missing_session", HK_MISSING),
        (
            "stale_bar",
            (
                D(2020, 12, 24), D(2020, 12, 31), D(2021, 2, 11), D(2022, 1, 31), D(2024, 12, 24),
                D(2024, 12, 31), D(2025, 1, 28), D(2025, 12, 24), D(2026, 2, 16),
            ),
        ),
    },
    # 1024.HK (Kuaishou) also has flat zero-volume bars on two full sessions, 2022-03-14 and
    # 2024-01-15: placeholder rows from Yahoo, reported as they are.
    "1024.HK": {
        ("missing_session", HK_MISSING),
        (
            "stale_bar",
            (
                D(2021, 2, 11), D(2021, 12, 24), D(2021, 12, 31), D(2022, 1, 31), D(2022, 3, 14),
                D(2024, 1, 15), D(2024, 2, 9), D(2024, 12, 24), D(2024, 12, 31), D(2025, 1, 28),
                D(2025, 12, 24), D(2025, 12, 31), D(2026, 2, 16),
            ),
        ),
    },
    # Yahoo's ^GSPC volume is 0 on 2023-05-24 (PROVENANCE.md), the only zero in the series.
    "^GSPC": {("zero_volume", (D(2023, 5, 24),))},
}  # fmt: skip
# Every other file is clean: the US files have exactly the XNYS sessions, and the dividend
# seams and the NVDA blip listed in PROVENANCE.md (0.03%-0.35% return artefacts) and the
# unadjusted last row of 9988.HK (a 0.1% basis difference) are below anything a check can
# tell from an ordinary return.


def test_real_files_report_exactly_the_known_issues(shared_prices_dir: Path) -> None:
    src = CsvDirSource(shared_prices_dir)
    tickers = src.tickers()
    assert len(tickers) == 20
    for ticker in tickers:
        frame = read_shared(ticker, shared_prices_dir)
        report = check_series(ticker, frame, get_calendar(market_of(ticker).code)).report
        found = {(i.check, i.dates) for i in report.issues}
        assert found == REAL_FINDINGS.get(ticker, set()), (ticker, report.summary())
        assert report.ok


def test_rows_on_non_sessions_are_named_by_date() -> None:
    from backtest.markets import get_calendar
    from backtest.prices import check_series

    idx = pd.DatetimeIndex(["2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08"], name="date")
    frame = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 5.0},
                         index=idx)  # fmt: skip
    frame.loc["2024-01-08", ["high", "close"]] = 1.1
    report = check_series("META", frame, get_calendar("XNYS")).report
    issue = next(i for i in report.issues if i.check == "non_session")
    assert issue.message.startswith("2 rows (2024-01-06, 2024-01-07) on dates that are not XNYS")


# ----------------------------------------------------------------------------- whole history


def test_a_range_from_a_flat_half_day_keeps_the_real_sessions_after_it(
    shared_prices_dir: Path,
) -> None:
    # 0700.HK's half day 2024-12-24 and its 12-31 are flat bars with zero volume, 12-27 and
    # 12-30 trade: from 12-24 a range's first four rows are half flat, as placeholder history
    # before a listing looks. It is decided on the whole file, where these are no such thing.
    import csv

    from backtest.prices import load_prices

    with open(shared_prices_dir / "0700.HK.csv", newline="") as fh:
        raw = {r["date"]: float(r["close"]) for r in csv.DictReader(fh)}
    src = CsvDirSource(shared_prices_dir)
    got = src.read("0700.HK", D(2024, 12, 24), D(2025, 1, 31))
    assert not isinstance(got, FetchFailure)
    assert got.history == SourceHistory(first=D(2021, 1, 4), placeholder_until=None)
    panel = load_prices(["0700.HK"], "2024-12-24", "2025-01-31", source=src)
    close = panel.close["0700.HK"]
    for d in ("2024-12-24", "2024-12-27", "2024-12-30", "2024-12-31", "2025-01-02"):
        assert close[pd.Timestamp(d)] == raw[d]
    assert "placeholder_history" not in {i.check for i in panel.quality.issues}


def test_the_source_s_placeholder_history_decides_which_rows_are_left_out() -> None:
    frame = _placeholder()  # three flat bars, one with zero volume, before the listing
    # decided on these rows alone (no history): the three rows
    alone = check_series("T", frame, XNYS).report.issues
    assert [(i.check, i.dates) for i in alone] == [
        ("placeholder_history", (day(0), day(1), day(2)))
    ]
    # a source that holds more says where its placeholder history ends: that decides
    none = check_series("T", frame, XNYS, history=SourceHistory(D(2023, 1, 3), None))
    assert "placeholder_history" not in {i.check for i in none.report.issues}
    assert none.frame.index[0].date() == day(0)
    one = check_series("T", frame, XNYS, history=SourceHistory(D(2023, 1, 3), day(0)))
    issue = next(i for i in one.report.issues if i.check == "placeholder_history")
    assert issue.dates == (day(0),)
    assert issue.message == (
        "1 row from 2024-03-01 to 2024-03-01, before trading starts on 2024-03-04: mostly flat "
        "bars, some with zero volume (placeholder history before the listing, the source's "
        "from 2023-01-03 to 2024-03-01): left out"
    )
    assert one.frame.index[0].date() == day(1)
    # a range wholly inside the placeholder history: every row, and said so
    later = check_series("T", frame, XNYS, history=SourceHistory(D(2023, 1, 3), D(2024, 6, 28)))
    issue = next(i for i in later.report.issues if i.check == "placeholder_history")
    assert len(issue.dates) == len(frame)
    assert "the whole range (trading starts after 2024-06-28)" in issue.message
    assert later.frame.empty
