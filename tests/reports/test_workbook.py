"""``tables.xlsx`` read back with an independent reader (openpyxl): one sheet per table, typed
cells, percent formats, a frozen header, widths, and no formula from catalog text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.job import RunResult
from backtest.reports import tables as T
from backtest.reports import write_report
from backtest.reports.xlsx import write_workbook

openpyxl = pytest.importorskip("openpyxl")


def test_cells_keep_their_types_and_formulas_stay_text(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "event_id": ['=HYPERLINK("http://x")', "+cmd", "plain", "@SUM(1)"],
            "car[-1,+1]": [0.0123, -0.5, np.nan, 0.0],
            "t[-1,+1]": [1.5, -2.25, 0.0, np.inf],
            "n": [1, 2, 3, 4],
            "day0": pd.to_datetime(["2025-10-30", "2024-01-02", "2023-06-06", "2022-02-03"]),
            "confounded": [True, False, True, False],
        }
    )
    path = tmp_path / "t.xlsx"
    write_workbook({"events": df, "a/long:name[with]*bad?chars-and-more-than-31": df}, path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["events", "a_long_name_with__bad_chars-and"]
    ws = wb["events"]
    assert [c.value for c in ws[1]] == list(df.columns)
    assert ws.freeze_panes == "A2"
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == ['\'=HYPERLINK("http://x")', "'+cmd", "plain", "'@SUM(1)"]
    assert all(ws.cell(row=i, column=1).data_type == "s" for i in range(2, 6))  # no formula
    assert [r[1] for r in rows] == [0.0123, -0.5, None, 0.0]  # numbers stay numbers
    assert ws.cell(row=2, column=2).number_format == "0.00%"
    assert ws.cell(row=2, column=3).number_format != "0.00%"  # a t statistic is no percent
    assert rows[3][2] == "inf"
    assert [r[3] for r in rows] == [1, 2, 3, 4]
    assert rows[0][4] == dt.datetime(2025, 10, 30)
    assert ws.cell(row=2, column=5).number_format == "yyyy-mm-dd"
    assert [r[5] for r in rows] == [True, False, True, False]
    assert ws.column_dimensions["A"].width >= len('\'=HYPERLINK("http://x")')


@pytest.mark.slow
def test_the_report_workbook_holds_every_table(toy_result: RunResult, tmp_path: Path) -> None:
    out = tmp_path / "r"
    write_report(toy_result, out)
    wb = openpyxl.load_workbook(out / "tables.xlsx", read_only=True)
    tables = T.all_tables(toy_result)
    assert wb.sheetnames == list(tables)
    csvs = sorted(p.stem for p in (out / "tables").glob("*.csv"))
    assert sorted(wb.sheetnames) == csvs
    events = tables["events"]
    ws = wb["events"]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    assert header == list(events.columns)
    col = header.index("car[-1,+1]")
    assert [r[col] for r in rows[1:]] == pytest.approx(list(events["car[-1,+1]"]))


@pytest.mark.slow
def test_the_trade_statistics_sheet_has_percent_formats(
    toy_result: RunResult, tmp_path: Path
) -> None:
    """The strategies' trade statistics are a sheet of their own: one row per strategy,
    combination and pooled portfolio; returns and intervals as percentages, t as a number."""
    out = tmp_path / "r"
    write_report(toy_result, out)
    wb = openpyxl.load_workbook(out / "tables.xlsx")
    ws = wb["trade_stats"]
    header = [c.value for c in ws[1]]
    (bt,) = toy_result.backtests
    assert ws.max_row - 1 == len(bt.trade_stats)
    assert header[:3] == ["strategy", "label", "portfolio"]
    for name in ("mean_trade_return", "trade_lo", "trade_hi", "mean_excess_return", "exposure"):
        assert ws.cell(row=2, column=header.index(name) + 1).number_format == "0.00%", name
    assert ws.cell(row=2, column=header.index("trade_t") + 1).number_format != "0.00%"
    col = header.index("mean_trade_return") + 1
    assert [ws.cell(row=k + 2, column=col).value for k in range(len(bt.trade_stats))] == (
        pytest.approx(list(bt.trade_stats["mean_trade_return"]))
    )


def _sheets(path: Path) -> dict[str, bytes]:
    """Every part of a workbook but its creation time (docProps/core.xml)."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def test_rows_written_as_xml_are_the_cells_xlsxwriter_writes(
    toy_result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path (rows as XML text) gives the very file that XlsxWriter's cell-by-cell
    writing gives: every sheet of the toy report, and a sheet of awkward values (formulas to
    neutralise, markup, control characters, spaces at the ends, lists, flags, infinities,
    empty cells and an empty row, dates with a time, nullable integers, a mixed column)."""
    with T.reuse():
        tables = dict(T.all_tables(toy_result))
    odd = pd.DataFrame(
        {
            "event_id": ["=1+1", " lead", "trail ", "a<b>&c", "tab\there", "_x0000_", None],
            "tickers": [["A", "B"], ("C",), [], ["=X"], None, ["D"], ["E"]],
            "ar0": [0.1, np.inf, -np.inf, np.nan, -0.0, 1e-300, 123456789.123456789],
            "n": pd.array([1, None, 3, 4, 5, 6, 7], dtype="Int64"),
            "stamp": pd.to_datetime(
                ["2024-01-02 09:30", None, "2024-01-03 16:00", None, None, None, "2024-01-04 00:00"]
            ),
            "flag": [True, False, None, True, False, True, None],
            "mixed": ["x", 1, 2.5, True, None, "\x01", np.nan],
            "dates": [
                dt.date(2024, 1, 2),
                None,
                pd.Timestamp("2024-01-03 10:00", tz="UTC"),
                dt.datetime(2024, 1, 4, 12),
                None,
                None,
                dt.date(2024, 1, 5),
            ],
        }
    )
    odd.loc[4, ["ar0"]] = np.nan
    tables["odd"] = odd
    tables["one_row"] = odd.iloc[:1]
    tables["empty"] = odd.iloc[:0]
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    from backtest.reports import xlsx as X

    written: list[int] = []
    real = X._rows_xml

    def counted(*args: object) -> int:
        written.append(real(*args))
        return written[-1]

    monkeypatch.setattr(X, "_rows_xml", counted)
    write_workbook(tables, fast)
    # every sheet of two rows or more went the fast way
    assert written == [max(len(df) - 1, 0) if len(df) >= 2 else 0 for df in tables.values()]
    write_workbook(tables, slow, fast=False)
    a, b = _sheets(fast), _sheets(slow)
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name] == b[name], name
    assert len(a["xl/worksheets/sheet1.xml"]) > 1000
