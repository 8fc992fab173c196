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
