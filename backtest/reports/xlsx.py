"""``tables.xlsx``: every table of ``tables/`` as one sheet of an Excel workbook.

Columns keep their types (numbers as numbers, dates as dates, flags as TRUE/FALSE, text as
text); returns and other fractions carry a percent format (the cell holds the fraction, so a
formula on it works); the header row is frozen and filtered; column widths follow the content.
Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) is
written neutralised with a leading ``'`` (:func:`backtest.reports.write.neutralise`) and always
as a string, never a formula. Written with XlsxWriter, imported only here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Columns that hold fractions (returns, shares, rates): shown as percentages.
PERCENT_COLUMNS: frozenset[str] = frozenset(
    {
        "ar0", "caar", "aar", "value", "lo", "hi", "car", "bhar", "car_se", "caar_se",
        "total_return", "cagr", "annual_volatility", "max_drawdown", "win_rate",
        "avg_trade_return", "median_trade_return", "exposure", "alpha", "bench_total_return",
        "excess_return", "return", "measured", "difference", "positive", "return_min",
        "return_max", "benchmark_return", "hold_return", "mean_trade_return", "trade_lo",
        "trade_hi", "mean_excess_return", "excess_lo", "excess_hi", "return_while_invested",
        "bench_while_invested", "matched_total_return", "matched_cagr",
        "matched_annual_volatility", "matched_max_drawdown", "max_drawdown_duration_depth",
        "surprise", "car_m1_p1", "drift_p2_p20", "mean_abs_ar0", "share_up",
        "mean_drift_pos", "mean_drift_neg", "fees", "slippage", "sigma", "rbar",
    }
)  # fmt: skip
#: Column name patterns of per-window fractions: ``car[-1,+1]``, ``bhar[0,+5]``.
PERCENT_PATTERN = re.compile(r"^(car|bhar|ar)\[")
#: Widest a column is made, in characters.
MAX_WIDTH = 60


def is_percent(column: str) -> bool:
    """Whether a column holds fractions shown as percentages.

    >>> is_percent("car[-1,+1]"), is_percent("t[-1,+1]"), is_percent("total_return")
    (True, False, True)
    """
    return column in PERCENT_COLUMNS or bool(PERCENT_PATTERN.match(column))


def _sheet_names(names: list[str]) -> list[str]:
    """Excel sheet names: at most 31 characters, none of ``[]:*?/\\``, unique."""
    out: list[str] = []
    for n in names:
        base = re.sub(r"[\[\]:*?/\\]", "_", n)[:31] or "sheet"
        name, k = base, 2
        while name.lower() in {o.lower() for o in out}:
            suffix = f"~{k}"
            name, k = base[: 31 - len(suffix)] + suffix, k + 1
        out.append(name)
    return out


def write_workbook(
    tables: Mapping[str, pd.DataFrame], path: str | Path, *, fast: bool = True
) -> None:
    """Write ``tables`` (name -> frame, in order) to the workbook ``path``. ``fast``: write
    the rows as XML text (:func:`_rows_xml`; the same file as cell by cell, which is what
    ``fast=False`` does: 20 s for the S&P 500's 3.8 million cells)."""
    import xlsxwriter  # type: ignore[import-untyped]  # (no type information)

    from backtest.reports.write import neutralise

    wb = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
         "nan_inf_to_errors": False},
    )  # fmt: skip
    header = wb.add_format({"bold": True, "bg_color": "#EEF0F3", "bottom": 1, "text_wrap": True})
    pct = wb.add_format({"num_format": "0.00%"})
    num = wb.add_format({"num_format": "0.0000"})
    integer = wb.add_format({"num_format": "0"})
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    stamp = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    # the styles' numbers fixed now, in this order (XlsxWriter numbers them as cells first use
    # them): the rows that _rows_xml writes as text name them before the cells are written
    for f in (header, pct, num, integer, date, stamp):
        if hasattr(f, "_get_xf_index"):
            f._get_xf_index()
    try:
        for name, df in zip(_sheet_names(list(tables)), tables.values(), strict=True):
            ws = wb.add_worksheet(name)
            columns = [str(c) for c in df.columns]
            kinds = [_kind(df[c]) for c in df.columns]
            widths = [min(max(len(c), 6), MAX_WIDTH) for c in columns]
            formats = []
            for c, k in zip(columns, kinds, strict=True):
                if k == "number":
                    formats.append(pct if is_percent(c) else num)
                elif k == "int":
                    formats.append(integer)
                elif k == "date":
                    formats.append(date)
                elif k == "datetime":
                    formats.append(stamp)
                else:
                    formats.append(None)
            for j, c in enumerate(columns):
                ws.write_string(0, j, str(neutralise(c)), header)
            # each column once as plain values and the writer its type needs (the cells are
            # still written row by row: constant_memory flushes a row once the next starts)
            plan = [
                _column(ws, df[c], k, f) for c, k, f in zip(df.columns, kinds, formats, strict=True)
            ]
            for j, (_, _, w) in enumerate(plan):
                widths[j] = max(widths[j], w)
            cells = [(j, values, put) for j, (values, put, _) in enumerate(plan)]
            # all rows but the last as XML text at once (the same XML as cell by cell, see
            # _rows_xml); the last through XlsxWriter, which so knows the sheet's extent
            done = _rows_xml(ws, plan, kinds, formats, widths) if fast else 0
            for i in range(done, len(df)):
                row = i + 1
                for j, values, put in cells:
                    v = values[i]
                    if v is not None:
                        w = put(row, j, v)
                        if w is not None and w > widths[j]:
                            widths[j] = w
            for j, w in enumerate(widths):
                ws.set_column(j, j, min(w + 2, MAX_WIDTH))
            ws.freeze_panes(1, 0)
            if len(columns):
                ws.autofilter(0, 0, max(len(df), 1), len(columns) - 1)
    finally:
        wb.close()


#: The XlsxWriter internals :func:`_rows_xml` writes through (constant_memory mode).
_INTERNALS = ("fh", "previous_row", "table", "_write_single_row", "_escape_control_characters",
              "_escape_data", "_convert_date_time")  # fmt: skip
_WHITESPACE_ENDS = re.compile(r"^\s|\s$")
#: Longest text XlsxWriter writes without cutting it (its check counts UTF-16 units).
_STRMAX = 32767 // 2


def _rows_xml(
    ws: Any, plan: list[tuple[list[Any], Any, int]], kinds: list[str], formats: list[Any],
    widths: list[int],
) -> int:  # fmt: skip
    """Write the data rows but the last of a sheet straight into XlsxWriter's row file
    (constant_memory mode), as the XML it writes for the same cells one by one: numbers with
    17 significant digits and their format, dates as Excel serial numbers, text inline
    (neutralised, escaped), flags as booleans, ``inf`` as text, empty cells left out. Builds
    the text column by column, a distinct text once. Returns how many rows it wrote (0: none,
    the caller writes them all: a one-row sheet, a cell it does not know how to write, or an
    XlsxWriter without these internals); widens ``widths`` as the cells would."""
    from xlsxwriter.utility import xl_col_to_name  # type: ignore[import-untyped]

    from backtest.reports.write import neutralise

    n = len(plan[0][0]) if plan else 0
    if n < 2 or not all(hasattr(ws, a) for a in _INTERNALS) or ws.previous_row != 0:
        return 0
    rows = [str(i + 2) for i in range(n - 1)]
    columns: list[list[str]] = []
    grown = list(widths)
    for j, ((values, put, _), kind, cell_format) in enumerate(
        zip(plan, kinds, formats, strict=True)
    ):
        style = f' s="{cell_format._get_xf_index()}"' if cell_format is not None else ""
        head = f'<c r="{xl_col_to_name(j)}'
        body = values[: n - 1]
        cells: list[str]
        if put.__name__ == "put_number":  # floats or None (NaN)
            cells = [
                "" if v is None else f'{head}{r}"{style}><v>{v:.16G}</v></c>'
                for r, v in zip(rows, body, strict=True)
            ]
            for i, v in enumerate(body):
                if v is not None and not math.isfinite(v):
                    word = "inf" if v > 0 else "-inf"
                    cells[i] = f'{head}{rows[i]}" t="inlineStr"><is><t>{word}</t></is></c>'
        elif put.__name__ == "put_date":  # naive datetimes or None
            serial = ws._convert_date_time
            cells = [
                "" if v is None else f'{head}{r}"{style}><v>{serial(v):.16G}</v></c>'
                for r, v in zip(rows, body, strict=True)
            ]
        else:  # as _write writes them: text, flags, numbers; a distinct value once
            rests: dict[Any, str] = {}
            cells = []
            for r, v in zip(rows, body, strict=True):
                if v is None:
                    cells.append("")
                    continue
                key = (type(v), v) if not isinstance(v, list | tuple) else None
                rest = rests.get(key) if key is not None else None
                if rest is None:
                    rest, width = _cell_xml(ws, v, kind, style, neutralise)
                    if rest is None:
                        return 0
                    if key is not None:
                        rests[key] = rest
                    grown[j] = max(grown[j], width)
                cells.append(f'{head}{r}"{rest}')
        columns.append(cells)
    ws._write_single_row(n)  # row 1 (the header) out; XlsxWriter's next row is the last
    write = ws.fh.write
    for r, row_cells in zip(rows, zip(*columns, strict=True), strict=True):
        text = "".join(row_cells)
        if text:
            write(f'<row r="{r}">{text}</row>')
    widths[:] = grown
    return n - 1


def _cell_xml(ws: Any, v: Any, kind: str, style: str, neutralise: Any) -> tuple[str | None, int]:
    """What follows ``<c r="A2"`` in the XML of a cell :func:`_write` writes, and the width it
    returns; (None, 0) for a value :func:`_rows_xml` leaves to :func:`_write`."""
    if isinstance(v, str | list | tuple):
        text = str(neutralise(v if isinstance(v, str) else _text(v)))
        if len(text) > _STRMAX or text.startswith("<r>"):
            return None, 0
        t = ws._escape_data(ws._escape_control_characters(text))
        keep = ' xml:space="preserve"' if _WHITESPACE_ENDS.search(text) else ""
        return f' t="inlineStr"><is><t{keep}>{t}</t></is></c>', min(len(text), MAX_WIDTH)
    if isinstance(v, bool | np.bool_):
        return f' t="b"><v>{1 if v else 0}</v></c>', 5
    if isinstance(v, pd.Timestamp | dt.datetime | dt.date):
        if not style and getattr(ws, "default_date_format", None) is not None:
            return None, 0
        stamp = pd.Timestamp(v)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        serial = ws._convert_date_time(stamp.to_pydatetime())
        return f"{style}><v>{serial:.16G}</v></c>", 16 if kind == "datetime" else 10
    if isinstance(v, int | float | np.integer | np.floating):
        x = float(v)
        if not math.isfinite(x):
            return f' t="inlineStr"><is><t>{"inf" if x > 0 else "-inf"}</t></is></c>', 4
        return f"{style}><v>{x:.16G}</v></c>", 10 if kind != "int" else len(str(int(x)))
    return None, 0


def _kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(s):
        d = s.dropna()
        midnight = len(d) == 0 or bool((d == d.dt.normalize()).all())
        return "date" if midnight else "datetime"
    if pd.api.types.is_integer_dtype(s):
        return "int"
    if pd.api.types.is_float_dtype(s):
        return "number"
    return "text"


def _column(ws: Any, s: pd.Series, kind: str, cell_format: Any) -> tuple[list[Any], Any, int]:
    """A column prepared for writing: its values (``None`` for an empty cell), the function
    that writes one (row, col, value) and returns a width when it is not known beforehand,
    and the width known beforehand. Cells are written as :func:`_write` would write them."""
    if kind in ("number", "int") and s.dtype.kind in "fiu":
        x = s.to_numpy(dtype=np.float64)
        finite = np.isfinite(x)
        values: list[Any] = [None if v != v else v for v in x.tolist()]  # NaN: empty
        infinite = bool((~finite & ~np.isnan(x)).any())
        if kind == "int":
            shown = x[finite]
            width = max((len(str(int(v))) for v in shown), default=0) if shown.size else 0
        else:
            width = 10 if finite.any() else 0
        if infinite:
            width = max(width, 4)
        write_number, write_string = ws.write_number, ws.write_string

        def put_number(row: int, col: int, v: float) -> None:
            if v == v and abs(v) != math.inf:
                write_number(row, col, v, cell_format)
            else:
                write_string(row, col, "inf" if v > 0 else "-inf")

        return values, put_number, width
    if kind in ("date", "datetime") and pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dtype, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        missing = s.isna().to_numpy()
        stamps = s.dt.to_pydatetime()
        values = [None if m else v for v, m in zip(stamps, missing, strict=True)]
        width = (16 if kind == "datetime" else 10) if not missing.all() else 0
        write_datetime = ws.write_datetime

        def put_date(row: int, col: int, v: Any) -> None:
            write_datetime(row, col, v, cell_format)

        return values, put_date, width
    values = [None if _empty(v) else v for v in s.tolist()]

    def put_any(row: int, col: int, v: Any) -> int:
        return _write(ws, row, col, v, kind, cell_format)

    return values, put_any, 0


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT or v is pd.NA


def _write(ws: Any, row: int, col: int, v: Any, kind: str, cell_format: Any) -> int:
    """Write one cell with its type; returns its width in characters."""
    from backtest.reports.write import neutralise

    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT or v is pd.NA:
        return 0
    if isinstance(v, bool | np.bool_):
        ws.write_boolean(row, col, bool(v))
        return 5
    if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
        x = float(v)
        if not math.isfinite(x):
            ws.write_string(row, col, "inf" if x > 0 else "-inf")
            return 4
        ws.write_number(row, col, x, cell_format)
        return 10 if kind != "int" else len(str(int(x)))
    if isinstance(v, pd.Timestamp | dt.datetime | dt.date):
        stamp = pd.Timestamp(v)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        ws.write_datetime(row, col, stamp.to_pydatetime(), cell_format)
        return 16 if kind == "datetime" else 10
    text = str(neutralise(v if isinstance(v, str) else _text(v)))
    ws.write_string(row, col, text)
    return min(len(text), MAX_WIDTH)


def _text(v: Any) -> str:
    if isinstance(v, list | tuple):
        return ", ".join(str(x) for x in v)
    return str(v)
