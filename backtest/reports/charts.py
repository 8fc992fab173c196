"""The report's figures, as plotly figure specifications built from result tables.

Every function takes a result (or a table the report built from one: :mod:`backtest.reports.
tables`) and returns a figure as a plain ``{"data": [...], "layout": {...}}`` mapping, the form
plotly.js draws and ``plotly.graph_objects.Figure(spec)`` accepts. Building plain mappings
rather than plotly's Python objects keeps writing a report fast (no validation of thousands of
properties, one JSON encoding, see :func:`figure_json`); the tests validate every spec with
plotly. None computes a statistic the results do not hold, none fetches anything, and none
raises on empty input: it returns a figure whose annotation says what is missing, or ``None``
where documented.

One look for every figure: white background, light grid, the system font stack, the Okabe-Ito
colour-blind-safe palette :data:`OKABE_ITO`, bluish green for gains and vermillion for losses.
Returns are fractions in the data and percentages on the axes. Every axis has a title with its
unit. The title of a figure is in ``layout.title`` (for a figure shown on its own); the report
page shows it as HTML above the chart (where it wraps on a phone) and draws the chart without.

Text from the catalog (titles, claims, ids) is escaped before it reaches a figure
(:func:`esc`), and put in hovers through ``customdata``, never into a hover template, so neither
markup nor a ``%{...}`` in a title can change what a figure shows.

References
----------
Okabe, M., Ito, K. (2008). Color Universal Design (CUD): how to make figures and presentations
that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from backtest.reports import fmt
from backtest.reports import tables as T
from backtest.study.results import stars
from backtest.study.spec import Window, window_label
from backtest.text import finite

if TYPE_CHECKING:
    from backtest.portfolio.results import BacktestResult
    from backtest.study.results import EventStudyResult

Figure = dict[str, Any]
FloatArray = npt.NDArray[np.float64]

__all__ = [
    "DOWN",
    "FONT_FAMILY",
    "OKABE_ITO",
    "PLOTLY_CONFIG",
    "UP",
    "Figure",
    "caar_panels",
    "car_dots",
    "category_forest",
    "claims_figure",
    "earnings_history",
    "equity_figure",
    "figure_json",
    "strategy_forest",
    "sweep_heatmap",
    "ticker_paths",
    "top_reactions",
    "trade_dots",
    "undefined_reason",
]

# ----------------------------------------------------------------------------- the look

#: The system font stack: the reader's own interface font, nothing downloaded.
FONT_FAMILY: Final[str] = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
)
#: The Okabe-Ito palette (Okabe and Ito 2008).
OKABE_ITO: Final[Mapping[str, str]] = MappingProxyType(
    {
        "orange": "#E69F00",
        "sky_blue": "#56B4E9",
        "bluish_green": "#009E73",
        "yellow": "#F0E442",
        "blue": "#0072B2",
        "vermillion": "#D55E00",
        "reddish_purple": "#CC79A7",
        "black": "#000000",
    }
)
UP: Final[str] = OKABE_ITO["bluish_green"]
DOWN: Final[str] = OKABE_ITO["vermillion"]
MAIN: Final[str] = OKABE_ITO["blue"]
INK: Final[str] = "#222222"
MUTED: Final[str] = "#767676"
FAINT: Final[str] = "#C8C8C8"
GRID: Final[str] = "#E8E8E8"
AXIS: Final[str] = "#B5B5B5"
GREYS: Final[tuple[str, ...]] = ("#6E6E6E", "#9A9A9A", "#BDBDBD")
#: Series colours in order (yellow is too light on white).
COLORWAY: Final[tuple[str, ...]] = (
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["black"],
)
VERDICT_COLORS: Final[Mapping[str, str]] = MappingProxyType(
    {"agrees": UP, "direction agrees": UP, "roughly": OKABE_ITO["orange"], "disagrees": DOWN}
)
#: d3 formats: percentage axes (trailing zeros trimmed) and percentages in hovers.
PCT_AXIS: Final[str] = ".1~%"
PCT_HOVER: Final[str] = "+.2%"

#: plotly.js configuration: no toolbar (it would sit over the text), no logo, resizes with the
#: page. Treat it as read-only.
PLOTLY_CONFIG: Final[dict[str, Any]] = {
    "displaylogo": False,
    "displayModeBar": False,
    "responsive": True,
    "scrollZoom": False,
}

_AXIS: Final[dict[str, Any]] = {
    "showgrid": True,
    "gridcolor": GRID,
    "zeroline": True,
    "zerolinecolor": MUTED,
    "zerolinewidth": 1,
    "showline": True,
    "linecolor": AXIS,
    "ticks": "outside",
    "tickcolor": AXIS,
    "ticklen": 4,
    "automargin": True,
    "tickfont": {"size": 11, "color": INK},
    "title": {"font": {"size": 12, "color": INK}, "standoff": 6},
}


def esc(text: Any) -> str:
    """Catalog text as plotly's HTML-like text: ``<``, ``>``, ``&`` and ``$`` as entities
    (``$``: plotly.js reads text between two dollar signs as LaTeX when MathJax is loaded).

    >>> esc("<b>R&D</b> $5")
    '&lt;b&gt;R&amp;D&lt;/b&gt; &#36;5'
    """
    return html.escape(str(text), quote=False).replace("$", "&#36;")


def shorten(text: Any, width: int = 48) -> str:
    """At most ``width`` characters, ending with an ellipsis when cut.

    >>> shorten("Meta Q3 2022 results (the 2022 slide)", 20)
    'Meta Q3 2022 result…'
    """
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def axis(title: str, **more: Any) -> dict[str, Any]:
    """An axis in the report's look, titled (with its unit)."""
    out = {**_AXIS, **more}
    out["title"] = {**_AXIS["title"], "text": title}
    return out


def layout(title: str, *, height: int, subtitle: str | None = None, **more: Any) -> dict[str, Any]:
    """The layout every figure starts from: the look, the (escaped) title and the height."""
    t: dict[str, Any] = {"text": esc(title), "x": 0, "xanchor": "left", "font": {"size": 15}}
    if subtitle:
        t["subtitle"] = {"text": esc(subtitle), "font": {"size": 12, "color": MUTED}}
    out: dict[str, Any] = {
        "title": t,
        "height": height,
        "autosize": True,
        "font": {"family": FONT_FAMILY, "size": 12, "color": INK},
        "paper_bgcolor": "#FFFFFF",
        "plot_bgcolor": "#FFFFFF",
        "colorway": list(COLORWAY),
        "margin": {"l": 8, "r": 16, "t": 70 if subtitle else 50, "b": 8, "autoexpand": True},
        "hovermode": "closest",
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": 12}, "align": "left"},
        "showlegend": False,
    }
    out.update(more)
    return out


#: A legend above the plot, left-aligned, wrapping into rows on a narrow screen (it pushes the
#: top margin, so it never covers the plot or an axis title).
LEGEND_TOP: Final[dict[str, Any]] = {
    "orientation": "h",
    "x": 0,
    "xanchor": "left",
    "y": 1.0,
    "yanchor": "bottom",
    "yref": "paper",
    "font": {"size": 12},
    "traceorder": "normal",
}


def message_figure(title: str, message: str, *, height: int = 200) -> Figure:
    """A figure with no data and a sentence saying why (instead of raising mid-report)."""
    return {
        "data": [],
        "layout": layout(
            title,
            height=height,
            xaxis={"visible": False},
            yaxis={"visible": False},
            annotations=[
                {
                    "text": esc(message),
                    "x": 0.5,
                    "y": 0.5,
                    "xref": "paper",
                    "yref": "paper",
                    "showarrow": False,
                    "font": {"size": 13, "color": MUTED},
                }
            ],
        ),
    }


def is_message(fig: Figure) -> bool:
    """Whether ``fig`` is a :func:`message_figure` (no data, one annotation)."""
    return not fig["data"] and len(fig["layout"].get("annotations", ())) == 1


def floats(values: Any, digits: int = 7, *, decimals: int | None = None) -> list[float | None]:
    """Numbers for a figure: ``digits`` significant digits (far beyond what a chart shows,
    and a much smaller page), or ``decimals`` decimals when given; NaN and infinities as
    ``None`` (a gap)."""
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return []
    ok = np.isfinite(a)
    if decimals is None:
        top = float(np.abs(a[ok]).max()) if ok.any() else 0.0
        decimals = digits - 1 - (math.floor(math.log10(top)) if top > 0 else 0)
    r = np.asarray(np.round(np.where(ok, a, 0.0), max(decimals, 0)), dtype=np.float64)
    if ok.all():
        out = Floats(r.tolist())
        out.array = r
    else:
        held = r.astype(object)
        held[~ok] = None
        out = Floats(held.tolist())
        out.array = np.where(ok, r, np.nan)
    return out


class Floats(list):  # type: ignore[type-arg]
    """The list :func:`floats` gives, which keeps its numbers as an array too (NaN for a
    gap), so that :func:`pack_array` need not read them back from the list."""

    array: npt.NDArray[np.float64]


def dates(values: Any) -> list[str]:
    """Session dates as ``YYYY-MM-DD`` text (the same sessions written once per process: a
    report of 500 ticker pages asks for the same 1,586 dates on every page)."""
    index = pd.DatetimeIndex(values)
    if index.tz is not None or index.dtype != "datetime64[ns]":
        return [str(d) for d in index.strftime("%Y-%m-%d")]
    return list(_dates_text(index.asi8.tobytes()))


@functools.lru_cache(maxsize=8)
def _dates_text(stamps: bytes) -> tuple[str, ...]:
    index = pd.DatetimeIndex(np.frombuffer(stamps, dtype="datetime64[ns]"))
    return tuple(str(d) for d in index.strftime("%Y-%m-%d"))


def _date(value: Any) -> str:
    stamp = pd.to_datetime(value, errors="coerce")
    return "" if pd.isna(stamp) else str(stamp.strftime("%Y-%m-%d"))


def _sign_colours(values: Any) -> list[str]:
    v = np.asarray(values, dtype=np.float64)
    return [str(c) for c in np.select([v > 0, v < 0], [UP, DOWN], default=MUTED)]


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"


def _grid(n: int, cols: int, *, gap_x: float = 0.07, gap_y: float = 0.16) -> list[dict[str, Any]]:
    """Axis domains of ``n`` panels on a grid of ``cols`` columns, row by row from the top."""
    rows = math.ceil(n / cols)
    w = (1 - gap_x * (cols - 1)) / cols
    h = (1 - gap_y * (rows - 1)) / rows
    out = []
    for k in range(n):
        r, c = divmod(k, cols)
        x0 = c * (w + gap_x)
        y1 = 1 - r * (h + gap_y)
        x = [round(max(x0, 0.0), 6), round(min(x0 + w, 1.0), 6)]
        y = [round(max(y1 - h, 0.0), 6), round(min(y1, 1.0), 6)]
        out.append({"x": x, "y": y, "row": r, "col": c})
    return out


def _right_labels(
    ys: list[Any], texts: list[str], *, size: int = 12, colours: list[str] | None = None
) -> list[dict[str, Any]]:
    """One label per row, in a column right of the plot (never over a bar or a whisker)."""
    return [
        {
            "x": 1.0,
            "xref": "paper",
            "xanchor": "left",
            "xshift": 8,
            "y": y,
            "yref": "y",
            "text": t,
            "showarrow": False,
            "font": {"size": size, "color": colours[k] if colours else INK},
            "align": "left",
        }
        for k, (y, t) in enumerate(zip(ys, texts, strict=True))
    ]


def _whiskers(value: FloatArray, lo: FloatArray, hi: FloatArray) -> dict[str, Any]:
    """Horizontal error bars from ``value`` to ``lo`` and to ``hi`` (none where missing)."""
    return {
        "type": "data",
        "symmetric": False,
        "array": floats(hi - value),
        "arrayminus": floats(value - lo),
        "color": INK,
        "thickness": 1.2,
        "width": 4,
    }


# ----------------------------------------------------------------------------- event study


def category_forest(table: pd.DataFrame, window: Window = (-1, 1)) -> Figure:
    """The CAAR of each event category over one window with the headline test's 95% interval.

    One horizontal bar per row of :func:`backtest.reports.tables.category_table` (largest CAAR
    at the top), green when positive and red when negative, the whisker the row's ``lo`` to
    ``hi``; the label right of the plot gives the CAAR, the stars of the headline p and ``n``
    (observations), e.g. ``+1.23% **  n=11``. The hover names the test, its statistic and p.
    """
    label = window_label(window)
    title = f"Mean abnormal return CAR{label} by kind of news"
    rows = table[np.isfinite(table["caar"].to_numpy(dtype=np.float64))]
    if rows.empty:
        return message_figure(title, f"No category has a CAAR over {label}.")
    rows = rows.iloc[::-1]  # plotly draws the first bar at the bottom
    value = rows["caar"].to_numpy(dtype=np.float64)
    lo = rows["lo"].to_numpy(dtype=np.float64)
    hi = rows["hi"].to_numpy(dtype=np.float64)
    p = rows["p"].to_numpy(dtype=np.float64)
    n = rows["n"].to_numpy()
    cats = [esc(str(c).replace("_", " ")) for c in rows["category"]]
    text = [
        f"{fmt.pct(v, 1)} {stars(x) if math.isfinite(x) else ''}".rstrip()
        + f"  n={k}"
        + (" †" if fmt.unbounded(a, b) else "")
        for v, x, k, a, b in zip(value, p, n, lo, hi, strict=True)
    ]
    hover = [
        fmt.interval(a, b) if fmt.interval(a, b) != fmt.DASH else "no interval (no test)"
        for a, b in zip(lo, hi, strict=True)
    ]
    tests = [
        f"{esc(t)} {fmt.num(s)}, p {fmt.pval(x)}" if str(t) else "no test computable"
        for t, s, x in zip(rows["test"].fillna(""), rows["stat"], p, strict=True)
    ]
    longest = max(len(s) for s in text)
    fig_layout = layout(
        title,
        subtitle="Whiskers: 95% interval of the headline test · * p<0.10 ** p<0.05 *** p<0.01"
        + (" · † interval not bounded" if any(t.endswith("†") for t in text) else ""),
        height=int(np.clip(110 + 30 * len(rows), 240, 560)),
        xaxis=axis(f"CAAR{label}, %", tickformat=PCT_AXIS),
        yaxis={**_AXIS, "showgrid": False, "zeroline": False, "ticks": "", "showline": False},
        annotations=_right_labels(cats, text),
    )
    fig_layout["margin"]["r"] = int(20 + 7.2 * longest)
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": floats(value),
                "y": cats,
                "marker": {"color": _sign_colours(value)},
                "error_x": _whiskers(value, lo, hi),
                "width": 0.6,
                "name": "CAAR",
                "customdata": [list(r) for r in zip(hover, tests, n.tolist(), strict=True)],
                "hovertemplate": (
                    "<b>%{y}</b><br>CAAR " + label + " %{x:+.2%}<br>95% interval "
                    "%{customdata[0]}<br>%{customdata[1]}<br>n = %{customdata[2]}<extra></extra>"
                ),
            }
        ],
        "layout": fig_layout,
    }


def top_reactions(table: pd.DataFrame, window: Window = (-1, 1)) -> Figure:
    """The strongest single reactions: one bar per row of
    :func:`backtest.reports.tables.top_reactions` (largest |CAR| at the top), labelled
    ``TICKER date`` with the CAR and its stars at the bar's end; the hover gives the title."""
    label = window_label(window)
    title = f"The strongest single reactions, CAR{label}"
    rows = table[np.isfinite(table["car"].to_numpy(dtype=np.float64))]
    if rows.empty:
        return message_figure(title, "The study measured no reaction.")
    rows = rows.iloc[::-1]
    car = rows["car"].to_numpy(dtype=np.float64)
    names = [f"{esc(t)} {_date(d)}" for t, d in zip(rows["ticker"], rows["day0"], strict=True)]
    text = [
        f"{fmt.pct(v, 1)}{stars(x) if math.isfinite(x) else ''}"
        for v, x in zip(car, rows["p"].to_numpy(dtype=np.float64), strict=True)
    ]
    fig_layout = layout(
        title,
        subtitle="Stars: the event's own t-test · * p<0.10 ** p<0.05 *** p<0.01",
        height=int(np.clip(110 + 30 * len(rows), 240, 560)),
        xaxis=axis(f"CAR{label}, %", tickformat=PCT_AXIS),
        yaxis={**_AXIS, "showgrid": False, "zeroline": False, "ticks": "", "showline": False},
        annotations=_right_labels(names, text),
    )
    fig_layout["margin"]["r"] = int(20 + 7.2 * max(len(t) for t in text))
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": floats(car),
                "y": names,
                "marker": {"color": _sign_colours(car)},
                "width": 0.6,
                "name": f"CAR{label}",
                "customdata": [
                    [esc(shorten(t, 70)), esc(c).replace("_", " "), fmt.num(s)]
                    for t, c, s in zip(rows["title"], rows["category"], rows["t"], strict=True)
                ],
                "hovertemplate": (
                    "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>CAR" + label + " %{x:+.2%}"
                    " (t = %{customdata[2]})<extra></extra>"
                ),
            }
        ],
        "layout": fig_layout,
    }


def caar_panels(study: EventStudyResult, window: Window = (-1, 1), cols: int = 2) -> Figure:
    """Small multiples: each category's CAAR path over the study's path days with its 95%
    band (``CAAR ± t_{0.975,n-1} · caar_se``, none where n < 2), on one shared y axis so that
    panels compare, the window shaded and day 0 marked. Panels are titled ``category (n)``
    and ordered as the category table (largest CAAR over ``window`` first)."""
    from backtest.reports.tables import category_table, t_half_width

    title = "Average abnormal return path by kind of news (CAAR, with 95% band)"
    p = study.paths
    if p.empty or not {"group_by", "group", "day", "caar"} <= set(p.columns):
        return message_figure(title, "The study has no CAAR paths.")
    p = p[p["group_by"] == "category"]
    order = [c for c in category_table(study, window)["category"] if c in set(p["group"])]
    if not order:
        return message_figure(title, "The study was not grouped by category.")
    n_rows = math.ceil(len(order) / min(cols, len(order)))
    cells = _grid(len(order), min(cols, len(order)), gap_y=min(0.22, 0.35 / n_rows))
    data: list[dict[str, Any]] = []
    lay: dict[str, Any] = {}
    annotations: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    lows, highs = [], []
    for k, (cat, cell) in enumerate(zip(order, cells, strict=True)):
        path = p[p["group"] == cat].sort_values("day")
        day = path["day"].to_numpy(dtype=np.float64)
        caar = path["caar"].to_numpy(dtype=np.float64)
        half = t_half_width(path["caar_se"].to_numpy(dtype=np.float64), path["n"].to_numpy())
        lo, hi = caar - half, caar + half
        lows.append(np.nanmin(np.r_[lo, caar]))
        highs.append(np.nanmax(np.r_[hi, caar]))
        ax = "" if k == 0 else str(k + 1)
        xa, ya = f"x{ax}", f"y{ax}"
        ok = np.isfinite(lo) & np.isfinite(hi)
        if ok.any():
            data.append(
                {
                    "type": "scatter",
                    "x": floats(np.r_[day[ok], day[ok][::-1]]),
                    "y": floats(np.r_[hi[ok], lo[ok][::-1]]),
                    "fill": "toself",
                    "fillcolor": _rgba(MAIN, 0.16),
                    "line": {"width": 0},
                    "mode": "lines",
                    "hoverinfo": "skip",
                    "name": "95% band",
                    "xaxis": xa,
                    "yaxis": ya,
                }
            )
        data.append(
            {
                "type": "scatter",
                "x": floats(day),
                "y": floats(caar),
                "mode": "lines",
                "line": {"color": MAIN, "width": 2},
                "name": esc(str(cat).replace("_", " ")),
                "customdata": path["n"].tolist(),
                "hovertemplate": "day %{x:+d}: CAAR %{y:+.2%} (n = %{customdata})<extra></extra>",
                "xaxis": xa,
                "yaxis": ya,
            }
        )
        n = int(path["n"].max()) if len(path) else 0
        bottom = cell["row"] == max(c["row"] for c in cells)
        lay[f"xaxis{ax}"] = axis(
            "trading days from day 0" if bottom and cell["col"] == 0 else "",
            domain=cell["x"],
            anchor=ya,
            zeroline=False,
            dtick=10,
            matches="x" if k else None,
        )
        lay[f"yaxis{ax}"] = axis(
            "CAAR, %" if cell["col"] == 0 else "",
            domain=cell["y"],
            anchor=xa,
            tickformat=PCT_AXIS,
            matches="y" if k else None,
            showticklabels=cell["col"] == 0,
        )
        annotations.append(
            {
                "text": f"{esc(str(cat).replace('_', ' '))} (n={n})",
                "x": (cell["x"][0] + cell["x"][1]) / 2,
                "y": cell["y"][1],
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "yshift": 2,
                "showarrow": False,
                "font": {"size": 12},
            }
        )
        shapes.append(
            {
                "type": "rect",
                "x0": window[0] - 0.5,
                "x1": window[1] + 0.5,
                "y0": 0,
                "y1": 1,
                "xref": xa,
                "yref": f"{ya} domain",
                "fillcolor": "rgba(0,0,0,0.06)",
                "line": {"width": 0},
                "layer": "below",
            }
        )
    for key in list(lay):
        lay[key] = {k: v for k, v in lay[key].items() if v is not None}
    lo_all, hi_all = float(np.nanmin(lows)), float(np.nanmax(highs))
    pad = 0.05 * (hi_all - lo_all or 0.02)
    lay["yaxis"]["range"] = [lo_all - pad, hi_all + pad]
    rows = max(c["row"] for c in cells) + 1
    return {
        "data": data,
        "layout": layout(
            title,
            subtitle=f"Shaded: the window {window_label(window)}; one y axis for every panel",
            height=110 + 190 * rows,
            annotations=annotations,
            shapes=shapes,
            **lay,
        ),
    }


#: Label placement of the dot charts: the narrowest plot area a page gives them (a phone's
#: 390 px screen, minus the category names), a label's height and its width per character
#: (11 px text), in px. Labels placed without overlap at this width cannot overlap wider.
LABEL_MIN_PLOT_PX: Final[float] = 210.0
LABEL_CHAR_PX: Final[float] = 7.5
LABEL_PAD_PX: Final[float] = 4.0


def label_lanes(x: Any, text: Sequence[str], span: float, *, most: int) -> list[str]:
    """Where each point's label goes: ``"top center"``, ``"bottom center"`` or ``""`` (no
    label). The strongest ``|x|`` first take the lane above, else the one below, where their
    box (at :data:`LABEL_MIN_PLOT_PX` across ``span`` of x) overlaps no label already in it;
    at most ``most`` labels.

    >>> label_lanes([0.0, 0.001, 0.002, 0.5], ["A", "B", "C", "D"], 1.0, most=6)
    ['', 'bottom center', 'top center', 'top center']
    """
    xs = np.asarray(x, dtype=np.float64)
    px = LABEL_MIN_PLOT_PX / span if span > 0 else 0.0
    out = [""] * len(xs)
    placed: dict[str, list[tuple[float, float]]] = {"top center": [], "bottom center": []}
    order = np.argsort(-np.abs(xs), kind="stable")
    n = 0
    for i in map(int, order):
        if n >= most:
            break
        half = (LABEL_CHAR_PX * len(str(text[i])) + LABEL_PAD_PX) / 2
        lo, hi = xs[i] * px - half, xs[i] * px + half
        for lane, boxes in placed.items():
            if all(hi <= a or lo >= b for a, b in boxes):
                boxes.append((lo, hi))
                out[i] = lane
                n += 1
                break
    return out


def labelled_range(values: Any, text: Sequence[str]) -> list[float]:
    """An x range (with zero) wide enough that a label centred on the outermost point is not
    cut at :data:`LABEL_MIN_PLOT_PX`."""
    v = np.asarray(values, dtype=np.float64)
    lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
    span = (hi - lo) or 0.01
    half = (LABEL_CHAR_PX * max((len(str(t)) for t in text), default=4) + LABEL_PAD_PX) / 2
    frac = min(half / LABEL_MIN_PLOT_PX + 0.02, 0.3)  # of the plot's width, on each side
    pad = span * frac / (1 - 2 * frac)
    return [lo - pad, hi + pad]


def car_dots(study: EventStudyResult, window: Window = (-1, 1)) -> Figure:
    """Every event's CAR over ``window`` by category, one dot each (green up, red down):
    a distribution of few points shown as the points themselves. The strongest reactions
    are labelled with the ticker (at most :data:`LABEL_MAX` per category) where a label has
    room, above or below its dot (:func:`label_lanes`), so that no two labels overlap and no
    label is cut, even at a phone's width; the hover names every event."""
    from backtest.reports.tables import category_table

    label = window_label(window)
    title = f"Each event's CAR{label}, by kind of news"
    w = study.windows
    ev = study.events
    if w.empty or ev.empty or "category" not in ev.columns:
        return message_figure(title, "The study measured no event.")
    w = w[w["window"] == label][["event_id", "ticker", "car", "t"]]
    cols = [c for c in ("event_id", "ticker", "category", "title", "day0") if c in ev.columns]
    rows = w.merge(ev[cols], on=["event_id", "ticker"], how="inner")
    rows = rows[np.isfinite(rows["car"].to_numpy(dtype=np.float64))]
    if rows.empty:
        return message_figure(title, f"No event has a CAR over {label}.")
    order = [c for c in category_table(study, window)["category"] if c in set(rows["category"])]
    names = [esc(str(c).replace("_", " ")) for c in order]
    tickers = [str(t) for t in rows["ticker"]]
    xrange = labelled_range(rows["car"], tickers)
    data: list[dict[str, Any]] = []
    boxed = False
    for cat, name in zip(order, names, strict=True):
        g = rows[rows["category"] == cat].sort_values("car")
        g, car, boxed_here = _boxed(g, g["car"].to_numpy(dtype=np.float64), name, data)
        boxed = boxed or boxed_here
        if not len(g):
            continue
        text = [str(t) for t in g["ticker"]]
        lanes = label_lanes(car, text, xrange[1] - xrange[0], most=LABEL_MAX)
        labelled = any(lanes)
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text" if labelled else "markers",
                "x": floats(car),
                "y": [name] * len(g),
                "text": [esc(t) if lane else "" for t, lane in zip(text, lanes, strict=True)]
                if labelled
                else None,
                "textposition": [lane or "top center" for lane in lanes] if labelled else None,
                "textfont": {"size": 10, "color": MUTED},
                "marker": {
                    "color": _sign_colours(car),
                    "size": 9,
                    "opacity": 0.85,
                    "line": {"color": "#FFFFFF", "width": 1},
                },
                "name": name,
                "customdata": [
                    [esc(shorten(t, 70)), esc(k), _date(d), fmt.num(s)]
                    for t, k, d, s in zip(
                        g.get("title", g["event_id"]), g["ticker"], g["day0"], g["t"], strict=True
                    )
                ],
                "hovertemplate": (
                    "<b>%{customdata[0]}</b><br>%{customdata[1]}, day 0 %{customdata[2]}<br>CAR"
                    + label
                    + " %{x:+.2%} (t = %{customdata[3]})<extra></extra>"
                ),
            }
        )
    for d in data:
        for k in [k for k, v in d.items() if v is None]:
            del d[k]
    return {
        "data": data,
        "layout": layout(
            title,
            subtitle=(
                "Labels: the ticker of the strongest reactions, where there is room"
                + (
                    f". More than {DOTS_MAX:,} events: a box (quartiles, median, mean dashed, "
                    f"whiskers to 1.5× the box's width) and the {OUTLIERS_MAX} most extreme "
                    "beyond each whisker as dots"
                    if boxed
                    else ""
                )
            ),
            height=int(np.clip(110 + 44 * len(order), 260, 620)),
            xaxis=axis(f"CAR{label}, %", tickformat=PCT_AXIS, range=floats(xrange)),
            yaxis={
                **_AXIS,
                "type": "category",
                "autorange": "reversed",
                "zeroline": False,
                "ticks": "",
                "showline": False,
            },
        ),
    }


#: Distributions of at most this many points have each point labelled (trade dots); the CAR
#: dots label at most this many per category.
LABEL_MAX: Final[int] = 6


def ticker_paths(
    study: EventStudyResult, ticker: str, window: Window = (-1, 1), highlight: int = 5
) -> Figure:
    """Each event of one ticker: its cumulative abnormal return over the path days.

    The ``highlight`` strongest reactions (largest |CAR| over ``window``) are coloured and in
    the legend as ``date · title`` (one row each, never cut by the chart); the others are faint
    grey lines, one legend entry for all. A missing day is a gap and adds nothing.
    """
    title = f"{ticker}: cumulative abnormal return around each event"
    ar = study.ar
    if ar.empty or "ticker" not in (ar.index.names or []):
        return message_figure(title, f"The study measured no event of {ticker}.")
    rows = T.ticker_rows(ar, str(ticker))
    if rows.empty:
        return message_figure(title, f"The study measured no event of {ticker}.")
    ids = [str(i) for i in rows.index.get_level_values("event_id")]
    ev = study.events
    ev = T.ticker_rows(ev, str(ticker)).drop_duplicates("event_id")
    info = ev.set_index(ev["event_id"].astype(str))
    label = window_label(window)
    w = T.ticker_rows(study.windows, str(ticker))
    car = (
        w[w["window"] == label].set_index("event_id")["car"].reindex(ids).to_numpy(dtype=np.float64)
    )
    strength = np.where(np.isfinite(car), np.abs(car), -1.0)
    top = set(np.argsort(-strength, kind="stable")[:highlight].tolist())
    days = rows.columns.to_numpy(dtype=np.float64)
    values = rows.to_numpy(dtype=np.float64)
    cum = np.nancumsum(values, axis=1)
    cum[np.isnan(values)] = np.nan
    d0 = info.get("day0")
    day0 = [_date(d0.get(i)) for i in ids] if d0 is not None else [""] * len(ids)
    t0 = info.get("title")
    titles = [str(t0.get(i, i)) for i in ids] if t0 is not None else list(ids)
    by_date = sorted(range(len(ids)), key=lambda j: day0[j])
    data: list[dict[str, Any]] = []
    faint_shown = False
    n_faint = len(ids) - len(top)
    for j in by_date:  # the faint ones first: drawn below
        if j in top:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": floats(days),
                "y": floats(cum[j], decimals=PATH_DECIMALS),
                "line": {"color": FAINT, "width": 1},
                "name": f"the other {n_faint} events",
                "legendgroup": "faint",
                "showlegend": not faint_shown,
                "legendrank": 1000,
                "customdata": [esc(shorten(titles[j], 70)), day0[j]],
                "hovertemplate": (
                    "<b>%{customdata[0]}</b> (day 0 %{customdata[1]})<br>day %{x:+d}: "
                    "CAR %{y:+.2%}<extra></extra>"
                ),
            }
        )
        faint_shown = True
    for rank, j in enumerate(j for j in by_date if j in top):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": floats(days),
                "y": floats(cum[j], decimals=PATH_DECIMALS),
                "line": {"color": COLORWAY[rank % len(COLORWAY)], "width": 2.2},
                # two short lines: a phone's width holds them, nothing is cut
                "name": wrap(esc(f"{day0[j]} · {shorten(titles[j], 60)}"), 36),
                "legendrank": rank,
                "customdata": [esc(shorten(titles[j], 70)), day0[j]],
                "hovertemplate": (
                    "<b>%{customdata[0]}</b> (day 0 %{customdata[1]})<br>day %{x:+d}: "
                    "CAR %{y:+.2%}<extra></extra>"
                ),
            }
        )
    entries = len(top) + (1 if n_faint else 0)
    return {
        "data": data,
        "layout": layout(
            title,
            subtitle=(
                f"Coloured: the {len(top)} strongest reactions by |CAR{label}|"
                + (f"; grey: the other {n_faint}" if n_faint else "")
            ),
            height=380 + 36 * entries,
            showlegend=True,
            legend={**LEGEND_TOP, "orientation": "v", "y": -0.16, "yanchor": "top"},
            xaxis=axis("trading days from day 0", zeroline=False),
            yaxis=axis("cumulative abnormal return, %", tickformat=PCT_AXIS),
            shapes=[_day0_shape()],
        ),
    }


def _day0_shape() -> dict[str, Any]:
    return {
        "type": "line",
        "x0": 0,
        "x1": 0,
        "y0": 0,
        "y1": 1,
        "xref": "x",
        "yref": "paper",
        "line": {"color": MUTED, "width": 1, "dash": "dash"},
    }


def zero_aligned(*series: Any, pad: float = 0.06) -> list[list[float]] | None:
    """Axis ranges, one per series, that hold all of its values and 0 and put 0 at the same
    height on every axis (two y axes over one chart); None when no such ranges exist (a
    series wholly below 0 beside one wholly above it, or no values).

    >>> zero_aligned([-0.05, 0.10], [0.0, 0.25])
    [[-0.053, 0.106], [-0.1325, 0.265]]
    """
    ends = []
    for values in series:
        a = np.asarray(values, dtype=np.float64)
        a = a[np.isfinite(a)]
        if not a.size:
            return None
        ends.append((max(-float(a.min()), 0.0), max(float(a.max()), 0.0)))
    ratios = [n / p for n, p in ends if p > 0]
    if not ratios or any(n == 0 and p == 0 for n, p in ends):
        return None
    r = max(ratios)  # below zero per unit above it, the most any series needs
    if r == 0 and any(p == 0 for _, p in ends):
        return None
    out = []
    for n, p in ends:
        below, above = (r * p, p) if p > 0 else (n, n / r)
        out.append([round(-below * (1 + pad), 12), round(above * (1 + pad), 12)])
    return out


def earnings_history(rows: pd.DataFrame, ticker: str) -> Figure:
    """Earnings reaction history: the abnormal return on day 0 of each quarter's results
    (``ar0``, bars green up and red down), in order, with the earnings surprise
    (``surprise_pct``, diamonds on a second axis) where the history has it. Quarters are
    labelled by ``quarter`` when given, else by day 0."""
    title = f"{ticker}: earnings reaction history"
    if rows.empty or "ar0" not in rows.columns:
        return message_figure(title, "No earnings reaction was measured.")
    when = "date" if "date" in rows.columns else "day0" if "day0" in rows.columns else None
    rows = rows.sort_values(when, kind="stable") if when else rows
    names = (
        [esc(q) for q in rows["quarter"].astype(str)]
        if "quarter" in rows.columns
        else [_date(d) for d in rows[when]]
        if when
        else [str(k + 1) for k in range(len(rows))]
    )
    if len(set(names)) < len(names):  # two announcements in one quarter: tell them apart
        seen: dict[str, int] = {}
        unique = []
        for nm in names:
            seen[nm] = seen.get(nm, 0) + 1
            unique.append(nm if seen[nm] == 1 else f"{nm} ({seen[nm]})")
        names = unique
    ar0 = rows["ar0"].to_numpy(dtype=np.float64)
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "x": names,
            "y": floats(ar0),
            "marker": {"color": _sign_colours(ar0)},
            "name": "AR(0)",
            "hovertemplate": "%{x}: AR(0) %{y:+.2%}<extra></extra>",
        }
    ]
    more: dict[str, Any] = {}
    left: dict[str, Any] = {}
    if "surprise_pct" in rows.columns and rows["surprise_pct"].notna().any():
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": names,
                "y": floats(rows["surprise_pct"].to_numpy(dtype=np.float64) / 100.0),
                "yaxis": "y2",
                "marker": {"symbol": "diamond", "size": 9, "color": INK},
                "name": "earnings surprise",
                "hovertemplate": "%{x}: surprise %{y:+.1%}<extra></extra>",
            }
        )
        # tickmode "auto": plotly's default for an overlaying axis is "sync", ticks at the
        # left axis's grid lines, which gave the right axis 4.8%, 9.6%, 14.4%; the two
        # ranges put 0% at the same height, so that a diamond on the zero line is no surprise
        ranges = zero_aligned(ar0, rows["surprise_pct"].to_numpy(dtype=np.float64) / 100.0)
        more["yaxis2"] = axis(
            "earnings surprise, %", overlaying="y", side="right", tickformat=PCT_AXIS,
            showgrid=False, tickmode="auto",
            **({"range": ranges[1]} if ranges else {"rangemode": "tozero"}),
        )  # fmt: skip
        if ranges:
            left["range"] = ranges[0]
    return {
        "data": data,
        "layout": layout(
            title,
            subtitle="Bars: abnormal return on day 0 of each quarter's results"
            + ("; diamonds: the earnings surprise (right axis)" if more else ""),
            height=340,
            showlegend=len(data) > 1,
            legend=LEGEND_TOP,
            xaxis=axis("quarter", type="category"),
            yaxis=axis("AR(0), %", tickformat=PCT_AXIS, **left),
            **more,
        ),
    }


# ----------------------------------------------------------------------------- strategies


def wrap(text: str, width: int = 20) -> str:
    """Text broken into lines of about ``width`` characters with ``<br>`` (plotly labels).

    >>> wrap("short after negative earnings", 14)
    'short after<br>negative<br>earnings'
    """
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def strategy_forest(table: pd.DataFrame, *, excess: bool) -> Figure:
    """Per strategy, one row: the mean trade return of every parameter combination (``excess``:
    in excess of the benchmark held over the same sessions) as a dot, with its 95% interval
    where the backtest gives one, spread a little apart within the row so that none hides
    another; the number of trades at the right, marked "too few" under :data:`MIN_TRADES`.
    No combination is singled out: the best of a sweep, picked afterwards, overstates.

    ``table``: rows ``strategy, label, value, lo, hi, n_trades`` (see
    :func:`backtest.reports.html.strategy_rows`).
    """
    what = "mean return per trade beyond the benchmark" if excess else "mean return per trade"
    title = "Mean return per trade" + (", beyond the market" if excess else "")
    rows = table[np.isfinite(table["value"].to_numpy(dtype=np.float64))]
    if rows.empty:
        return message_figure(title, "No strategy made a trade.")
    order = list(dict.fromkeys(rows["strategy"]))
    ys, xs, lo, hi, custom, colours = [], [], [], [], [], []
    for i, name in enumerate(order):
        g = rows[rows["strategy"] == name]
        k = len(g)
        offsets = np.linspace(-0.28, 0.28, k) if k > 1 else np.zeros(1)
        for off, r in zip(offsets, g.itertuples(index=False), strict=True):
            ys.append(i + float(off))
            xs.append(float(r.value))
            lo.append(float(r.lo))
            hi.append(float(r.hi))
            custom.append([esc(name), esc(r.label or "base"), fmt.integer(r.n_trades)])
    v, lo_a, hi_a = np.array(xs), np.array(lo), np.array(hi)
    error = _whiskers(v, lo_a, hi_a) if np.isfinite(lo_a).any() else {"visible": False}
    trades = rows.groupby("strategy", sort=False)["n_trades"].max()
    notes = [
        f"n={int(trades[nm])}" + (" too few" if trades[nm] < MIN_TRADES else "") for nm in order
    ]
    colours = _sign_colours(v)
    fig_layout = layout(
        title,
        subtitle=(
            "One dot per parameter combination"
            + (", whiskers its 95% interval" if np.isfinite(lo_a).any() else "")
            + f" · n: trades; fewer than {MIN_TRADES} are too few to judge"
        ),
        height=int(np.clip(120 + 62 * len(order), 260, 560)),
        xaxis=axis(f"{what}, %", tickformat=PCT_AXIS),
        yaxis={
            **_AXIS,
            "tickvals": list(range(len(order))),
            "ticktext": [wrap(esc(str(nm).replace("_", " ")), 18) for nm in order],
            "range": [len(order) - 0.5, -0.5],
            "showgrid": False,
            "zeroline": False,
            "ticks": "",
            "showline": False,
        },
        shapes=[{**_day0_shape(), "line": {"color": MUTED, "width": 1}}],
        annotations=_right_labels(
            list(range(len(order))),
            notes,
            size=11,
            colours=[DOWN if "few" in note else MUTED for note in notes],
        ),
    )
    fig_layout["margin"]["r"] = int(16 + 6.6 * max(len(t) for t in notes))
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "x": floats(v),
                "y": floats(ys),
                "error_x": error,
                "marker": {"color": colours, "size": 9, "line": {"color": "#FFFFFF", "width": 1}},
                "name": what,
                "customdata": custom,
                "hovertemplate": (
                    "<b>%{customdata[0]}</b> %{customdata[1]}<br>%{x:+.2%} per trade, "
                    "%{customdata[2]} trades<extra></extra>"
                ),
            }
        ],
        "layout": fig_layout,
    }


#: Fewer trades than this are too few to judge a strategy by.
MIN_TRADES: Final[int] = 10

#: The currency of each market's prices.
CURRENCIES: Final[Mapping[str, str]] = MappingProxyType(
    {"XNYS": "USD", "XHKG": "HKD", "XTKS": "JPY", "XLON": "GBp", "XSHG": "CNY", "XETR": "EUR"}
)


#: Decimals of the cumulative-return and drawdown paths: 0.01 percentage points, the precision
#: their hover shows (``+.2%``) and finer than any screen draws; whole numbers of 0.0001 pack
#: small (:func:`pack_array`: a run over 500 tickers draws thousands of these paths).
EQUITY_DECIMALS = 4
#: Decimals of a ticker's event paths (CAR, hover ``+.2%``): the same rule.
PATH_DECIMALS = 4
#: The bottom of the drawdown axis when no series drawn falls below its peak.
DRAWDOWN_FLOOR = -0.01
#: How the backtest names the benchmark held at a strategy's exposure (``<bench>`` + this).
MATCHED_SUFFIX = " at the strategy's exposure"


def equity_figure(
    backtest: BacktestResult,
    portfolio: str,
    *,
    max_combos: int = 6,
    equity: pd.DataFrame | None = None,
) -> Figure:
    """A portfolio's cumulative return and drawdown, every combination beside buy-and-hold.

    Top: each combination's cumulative return ``value / value[0] - 1`` in percent (at most
    ``max_combos`` of them, the subtitle says how many are left out) and the buy-and-hold series
    over the same sessions (grey), on one axis, so that a strategy invested a small part of the
    time and a fully invested buy-and-hold compare as returns, not as dollar amounts. Bottom:
    the drawdown ``value / running maximum - 1`` of every series, on an axis from 0 down to the
    deepest series drawn (a hidden one, once shown from the legend, extends it). ``equity``: the
    portfolio's columns of ``backtest.equity`` when the caller has them (a report of 500 ticker
    pages).
    """
    name = backtest.strategy.name
    title = f"{name} · {portfolio}: cumulative return and drawdown"
    eq = backtest.equity
    if eq.empty or eq.columns.nlevels != 3:
        return message_figure(title, "The backtest has no equity curve (no trade was made).")
    if equity is None:  # else: the caller picked the portfolio's columns (many pages)
        equity = eq.loc[:, eq.columns.get_level_values(1).astype(str) == str(portfolio)]
    sub = equity.dropna(how="all")
    if sub.empty:
        return message_figure(title, f"No portfolio {portfolio!r} in the backtest.")
    series = sub.columns.get_level_values(2).astype(str)
    combo_of = sub.columns.get_level_values(0)
    labels = dict(zip(backtest.combos["combo"], backtest.combos["label"].astype(str), strict=True))
    single = len(backtest.combos) <= 1 or not backtest.strategy.swept
    strat = sub.loc[:, series == "strategy"]
    shown = strat.iloc[:, :max_combos]
    holds = sub.loc[:, series.str.startswith("buy & hold") & (combo_of == combo_of[0])]
    # the benchmark held over the same sessions as each shown combination's trades (dotted)
    shown_combos = set(shown.columns.get_level_values(0))
    matched = sub.loc[
        :, series.str.endswith(MATCHED_SUFFIX) & np.isin(combo_of, list(shown_combos))
    ]
    x = dates(sub.index)
    data: list[dict[str, Any]] = []
    every = pd.concat([holds, shown, matched], axis=1)
    value = every.to_numpy(dtype=np.float64)
    first = np.array([s[np.isfinite(s)][0] if np.isfinite(s).any() else np.nan for s in value.T])
    cum = value / first - 1.0
    dd = value / np.fmax.accumulate(np.where(np.isfinite(value), value, -np.inf), axis=0) - 1.0
    names: list[str] = []
    colours: list[str] = []
    for k, col in enumerate(holds.columns):
        names.append(esc(col[2]))
        colours.append(GREYS[k % len(GREYS)])
    colour_of: dict[Any, str] = {}
    for i, col in enumerate(shown.columns):
        names.append(esc("strategy" if single else labels.get(col[0], f"combination {col[0]}")))
        colours.append(COLORWAY[i % len(COLORWAY)])
        colour_of[col[0]] = colours[-1]
    for col in matched.columns:
        bench = str(col[2]).removesuffix(MATCHED_SUFFIX).strip()
        who = "" if single else f"{labels.get(col[0], col[0])}: "
        names.append(esc(f"{who}{bench}, same sessions"))
        colours.append(colour_of.get(col[0], INK))
    n_solid = holds.shape[1] + shown.shape[1]
    groups = (
        [f"h{k}" for k in range(holds.shape[1])]
        + [f"c{col[0]}" for col in shown.columns]
        + [f"c{col[0]}" for col in matched.columns]
    )
    # like with like: with the benchmark at each combination's exposure drawn, the fully
    # invested buy-and-hold lines start hidden (a click on the legend shows them), so the
    # axis fits the strategies and what the same sessions in the benchmark earned
    hide_holds = matched.shape[1] > 0
    for j, (nm, colour) in enumerate(zip(names, colours, strict=True)):
        hold = j < holds.shape[1]
        line: dict[str, Any] = {"color": colour, "width": 1.3 if hold or j >= n_solid else 2}
        if j >= n_solid:
            line["dash"] = "dot"
        common: dict[str, Any] = {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "name": nm,
            "legendgroup": groups[j],
            "line": line,
        }
        if hold and hide_holds:
            common["visible"] = "legendonly"
        data.append(
            {
                **common,
                "y": floats(cum[:, j], decimals=EQUITY_DECIMALS),
                "showlegend": j < n_solid,
                "hovertemplate": "%{y:+.2%}<extra>%{fullData.name}</extra>",
            }
        )
        data.append(
            {
                **common,
                "y": floats(dd[:, j], decimals=EQUITY_DECIMALS),
                "xaxis": "x",
                "yaxis": "y2",
                "showlegend": False,
                "line": {**line, "width": 1},
                "hovertemplate": "drawdown %{y:.2%}<extra>%{fullData.name}</extra>",
            }
        )
    left_out = strat.shape[1] - shown.shape[1]
    # the drawdown axis: top at 0, and plotly fits the bottom to the series shown (a range
    # fixed here would follow the hidden buy-and-hold lines, or not follow a click that shows
    # them); when none drawn falls below its peak, plotly would draw 0 to -100%: the floor
    drawn = dd[:, holds.shape[1] :] if hide_holds else dd
    drawdown_range: dict[str, Any] = (
        {"autorange": True, "autorangeoptions": {"maxallowed": 0.0}}
        if (drawn < 0).any()
        else {"range": [DRAWDOWN_FLOOR, 0.0]}
    )
    return {
        "data": data,
        "layout": layout(
            title,
            subtitle=(
                "Same sessions for every series; "
                + (
                    "dotted: the benchmark held over each combination's trade sessions; "
                    "grey (click to show): buy-and-hold, fully invested"
                    if hide_holds
                    else "grey: buy-and-hold, fully invested"
                )
                + (f"; {left_out} more combinations in the tables" if left_out > 0 else "")
            ),
            height=520,
            showlegend=True,
            legend=LEGEND_TOP,
            hovermode="x unified",
            xaxis=axis("", anchor="y2", zeroline=False),
            yaxis=axis("cumulative return, %", domain=[0.36, 1.0], tickformat=PCT_AXIS),
            yaxis2=axis(
                "drawdown, %",
                domain=[0.0, 0.28],
                tickformat=PCT_AXIS,
                anchor="x",
                **drawdown_range,
            ),
        ),
    }


def trade_dots(backtest: BacktestResult, portfolio: str | None = None) -> Figure:
    """Every trade's return per parameter combination as dots (green gains, red losses), each
    labelled with its ticker when a combination has at most :data:`LABEL_MAX` trades; the hover
    names the event and the dates. ``portfolio``: the trades of one ticker (default: all)."""
    name = backtest.strategy.name
    title = f"{name}: the return of every trade"
    t = backtest.trades
    if t.empty:
        return message_figure(title, "No trade was made.")
    t = t[t["leg"] == "position"] if "leg" in t.columns else t
    if portfolio is not None and not str(portfolio).startswith("pooled"):
        t = t[t["ticker"].astype(str) == str(portfolio)]
    if t.empty:
        return message_figure(title, "No trade was made.")
    labels = dict(zip(backtest.combos["combo"], backtest.combos["label"].astype(str), strict=True))
    data: list[dict[str, Any]] = []
    boxed = False
    for combo, g in t.groupby("combo", sort=True):
        g = g.sort_values("return")
        lab = esc(labels.get(combo, str(combo)))
        g, r, boxed_here = _boxed(g, g["return"].to_numpy(dtype=np.float64), lab, data)
        boxed = boxed or boxed_here
        if not len(g):
            continue
        labelled = len(g) <= LABEL_MAX
        trace: dict[str, Any] = {
            "type": "scatter",
            "mode": "markers+text" if labelled else "markers",
            "x": floats(r),
            "y": [lab] * len(g),
            "marker": {"color": _sign_colours(r), "size": 9, "line": {"color": "#FFF", "width": 1}},
            "name": lab,
            "showlegend": False,
            "customdata": [
                [esc(e), esc(k), _date(a), _date(b)]
                for e, k, a, b in zip(
                    g["event_id"], g["ticker"], g["entry_date"], g["exit_date"], strict=True
                )
            ],
            "hovertemplate": (
                "<b>%{customdata[0]}</b> (%{customdata[1]})<br>%{customdata[2]} to "
                "%{customdata[3]}: %{x:+.2%}<extra></extra>"
            ),
        }
        if labelled:
            trace["text"] = [esc(k) for k in g["ticker"]]
            trace["textposition"] = ["top center", "bottom center"] * (len(g) // 2 + 1)
            trace["textfont"] = {"size": 10, "color": MUTED}
        data.append(trace)
    return {
        "data": data,
        "layout": layout(
            title,
            subtitle=(
                f"Net of fees and slippage. More than {DOTS_MAX:,} trades: a box (quartiles, "
                "median, mean dashed, whiskers to 1.5× the box's width) and, as dots, the "
                f"{OUTLIERS_MAX} most extreme trades beyond each whisker"
                if boxed
                else "One dot per trade, net of fees and slippage"
            ),
            height=int(np.clip(110 + 46 * t["combo"].nunique(), 240, 640)),
            xaxis=axis("trade return, %", tickformat=PCT_AXIS),
            yaxis={
                **_AXIS,
                "type": "category",
                "autorange": "reversed",
                "zeroline": False,
                "ticks": "",
                "showline": False,
            },
        ),
    }


#: A combination with more trades than this shows them as a box plus the extremes as dots.
DOTS_MAX: Final[int] = 300
#: The most extreme trades drawn as dots beside a box, on each side.
OUTLIERS_MAX: Final[int] = 40


def _boxed(
    g: pd.DataFrame, r: FloatArray, name: str, data: list[dict[str, Any]]
) -> tuple[pd.DataFrame, FloatArray, bool]:
    """The rows ``g`` (sorted by ``r``) to draw as dots: all of them, or beyond
    :data:`DOTS_MAX` (thousands of SVG dots take seconds to draw) a box of ``r`` appended to
    ``data`` and only its extremes; and whether a box was drawn."""
    if len(g) <= DOTS_MAX:
        return g, r, False
    box, keep = _trade_box(r, name)
    data.append(box)
    return g.iloc[keep], r[keep], True


def _trade_box(r: FloatArray, name: str) -> tuple[dict[str, Any], npt.NDArray[np.intp]]:
    """A horizontal box of the sorted returns ``r`` (of trades, or events' CARs): quartiles,
    mean, Tukey whiskers (the most extreme returns within 1.5 interquartile ranges of the
    box) computed here; and the positions in ``r`` of those beyond the whiskers to draw as
    dots: at most :data:`OUTLIERS_MAX` of the most extreme on each side."""
    q1, med, q3 = (float(v) for v in np.quantile(r, [0.25, 0.5, 0.75]))
    iqr = q3 - q1
    inside = r[(r >= q1 - 1.5 * iqr) & (r <= q3 + 1.5 * iqr)]
    lo, hi = float(inside.min()), float(inside.max())
    below = np.flatnonzero(r < lo)[:OUTLIERS_MAX]
    above = np.flatnonzero(r > hi)
    above = above[max(len(above) - OUTLIERS_MAX, 0) :]
    box = {
        "type": "box",
        "orientation": "h",
        "y": [name],
        "q1": floats([q1]),
        "median": floats([med]),
        "q3": floats([q3]),
        "lowerfence": floats([lo]),
        "upperfence": floats([hi]),
        "mean": floats([float(r.mean())]),
        "boxpoints": False,
        "name": name,
        "showlegend": False,
        "fillcolor": _rgba(MAIN, 0.15),
        "line": {"color": MAIN, "width": 1.5},
        "boxmean": True,
    }
    return box, np.concatenate([below, above])


#: Axis titles of swept parameters, with their units.
PARAM_TITLES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "exit.hold": "hold (sessions)",
        "entry.lag": "lag (sessions)",
        "condition.below": "below (AR threshold, %)",
        "condition.above": "above (AR threshold, %)",
        "exit.stop_loss": "stop loss (%)",
        "exit.take_profit": "take profit (%)",
    }
)
_FRACTION_PARAMS: Final[frozenset[str]] = frozenset(
    {
        "condition.below",
        "condition.above",
        "exit.stop_loss",
        "exit.take_profit",
        "costs.fees",
        "costs.slippage",
    }
)
_NONNEGATIVE: Final[frozenset[str]] = frozenset(
    {"annual_volatility", "n_trades", "win_rate", "profit_factor", "exposure"}
)


def _param_title(key: str) -> str:
    return PARAM_TITLES.get(key, key.split(".")[-1])


def _param_value(key: str, value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return fmt.DASH
    if key in _FRACTION_PARAMS:
        return f"{x * 100:g}%"
    return f"{x:,.0f}" if x.is_integer() else f"{x:g}"


def undefined_reason(ruined_on: Any, n_trades: Any) -> str:
    """Why a strategy's figure is not defined, in a word or two: ``"ruined 2024-08-09"`` (its
    value reached zero: returns after that are not returns), ``"no trades"``, else
    ``"not defined"`` (e.g. returns that never vary).

    >>> undefined_reason("2024-08-09", 120), undefined_reason(None, 0), undefined_reason("", 3)
    ('ruined 2024-08-09', 'no trades', 'not defined')
    """
    if isinstance(ruined_on, str) and ruined_on:
        return f"ruined {ruined_on}"
    n = finite(n_trades)
    if n is not None and n == 0:
        return "no trades"
    return "not defined"


def _undefined_reasons(backtest: BacktestResult, portfolio: str, n: int) -> list[str]:
    """:func:`undefined_reason` of each strategy row of ``portfolio``, in the order of
    :meth:`BacktestResult.grid` (the metrics' own order)."""
    m = backtest.metrics
    rows = m[(m["kind"] == "strategy") & (m["portfolio"] == portfolio)]
    ruined = backtest.ruined()
    trades = rows["n_trades"] if "n_trades" in rows.columns else pd.Series(np.nan, index=rows.index)
    out = [
        undefined_reason(ruined.get((int(c), str(portfolio))), t)
        for c, t in zip(rows["combo"], trades, strict=True)
    ]
    return out if len(out) == n else ["not defined"] * n


def sweep_heatmap(
    backtest: BacktestResult, metric: str = "sharpe", portfolio: str | None = None
) -> Figure | None:
    """One metric over the swept parameter grid, as a heatmap with the values written in.

    One swept parameter: one row; two: x the first, y the second; more: one panel per value of
    the others (at most six; the subtitle names what was left out). Cells hold
    :func:`~backtest.portfolio.metrics.format_metric` text; the colours diverge at 0 for metrics
    that can be negative. ``None`` when the strategy sweeps nothing or has no metrics.

    Raises
    ------
    ValueError
        ``metric`` is not a metric of :data:`~backtest.portfolio.metrics.METRICS`, or a date.
    """
    from backtest.portfolio.metrics import METRICS, format_metric

    known = {m.name: m for m in METRICS}
    if metric not in known:
        raise ValueError(f"sweep_heatmap: unknown metric {metric!r} (known: {', '.join(known)})")
    spec = known[metric]
    if spec.fmt == "date":
        raise ValueError(f"sweep_heatmap: {metric!r} is a date; choose a numeric metric")
    swept = tuple(backtest.strategy.swept)
    m = backtest.metrics
    if not swept or m.empty or not (m.get("kind", pd.Series(dtype=str)) == "strategy").any():
        return None
    portfolio = portfolio if portfolio is not None else backtest.grid_portfolio()
    title = f"{backtest.strategy.name}: {spec.title} over the parameter grid ({portfolio})"
    grid = backtest.grid(metric, portfolio)
    if grid.empty or not set(swept) <= set(grid.columns):
        return message_figure(title, f"No metrics for the portfolio {portfolio!r}.")
    grid = grid.assign(
        **{metric: pd.to_numeric(grid[metric], errors="coerce")},
        _why=_undefined_reasons(backtest, portfolio, len(grid)),
    )
    xk, yk, rest = swept[0], (swept[1] if len(swept) > 1 else None), list(swept[2:])
    xs = np.sort(grid[xk].dropna().unique())
    ys = np.sort(grid[yk].dropna().unique()) if yk else np.array([])
    panels: list[tuple[str, pd.DataFrame]] = []
    left_out: list[str] = []
    if rest:
        for key, block in grid.groupby(rest, sort=True):
            values = key if isinstance(key, tuple) else (key,)
            lab = ", ".join(
                f"{k.split('.')[-1]}={_param_value(k, v)}"
                for k, v in zip(rest, values, strict=True)
            )
            if len(panels) < 6:
                panels.append((lab, block))
            else:
                left_out.append(lab)
    else:
        panels.append(("", grid))
    xlab = [_param_value(xk, v) for v in xs]
    ylab = [_param_value(yk, v) for v in ys] if yk else [spec.title]
    cols = min(len(panels), 3)
    cells = _grid(len(panels), cols, gap_x=0.08, gap_y=0.2)
    nrows = max(c["row"] for c in cells) + 1
    data, lay, annotations, zs = [], {}, [], []
    for k, ((lab, block), cell) in enumerate(zip(panels, cells, strict=True)):
        block = block.drop_duplicates(subset=[xk, yk] if yk else [xk])
        if yk:
            z = block.set_index([yk, xk])[metric].unstack(xk).reindex(index=ys, columns=xs)
            zv = z.to_numpy(dtype=np.float64)
            why = block.set_index([yk, xk])["_why"].unstack(xk).reindex(index=ys, columns=xs)
            wv = why.to_numpy(dtype=object)
        else:
            zv = block.set_index(xk)[metric].reindex(xs).to_numpy(dtype=np.float64)[None, :]
            wv = block.set_index(xk)["_why"].reindex(xs).to_numpy(dtype=object)[None, :]
        zs.append(zv)
        text = [
            [
                format_metric(spec, v)
                if math.isfinite(v)
                else (w if isinstance(w, str) else "no run")
                for v, w in zip(zr, wr, strict=True)
            ]
            for zr, wr in zip(zv, wv, strict=True)
        ]
        ax = "" if k == 0 else str(k + 1)
        data.append(
            {
                "type": "heatmap",
                "x": xlab,
                "y": ylab,
                "z": [floats(r) for r in zv],
                "text": text,
                "texttemplate": "%{text}",
                "textfont": {"size": 13},
                "coloraxis": "coloraxis",
                "xgap": 2,
                "ygap": 2,
                "xaxis": f"x{ax}",
                "yaxis": f"y{ax}",
                "hovertemplate": (
                    f"{_param_title(xk)}: %{{x}}"
                    + (f"<br>{_param_title(yk)}: %{{y}}" if yk else "")
                    + f"<br>{spec.title}: %{{text}}<extra></extra>"
                ),
                "name": spec.title,
            }
        )
        bare = {"showgrid": False, "zeroline": False, "showline": False, "ticks": ""}
        lay[f"xaxis{ax}"] = axis(
            _param_title(xk) if cell["row"] == nrows - 1 else "",
            domain=cell["x"],
            anchor=f"y{ax}",
            type="category",
            **bare,
        )
        lay[f"yaxis{ax}"] = axis(
            (_param_title(yk) if yk else "") if cell["col"] == 0 else "",
            domain=cell["y"],
            anchor=f"x{ax}",
            type="category",
            **bare,
        )
        if lab:
            annotations.append(
                {
                    "text": esc(lab),
                    "x": (cell["x"][0] + cell["x"][1]) / 2,
                    "y": cell["y"][1],
                    "xref": "paper",
                    "yref": "paper",
                    "yanchor": "bottom",
                    "showarrow": False,
                    "font": {"size": 12},
                }
            )
    shown = np.concatenate([z.ravel() for z in zs])
    shown = shown[np.isfinite(shown)]
    colorbar: dict[str, Any] = {"title": {"text": spec.title, "side": "right"}, "thickness": 12}
    if spec.fmt == "pct":
        colorbar["tickformat"] = PCT_AXIS
    if metric not in _NONNEGATIVE:
        bound = float(np.abs(shown).max()) if shown.size else 1.0
        coloraxis = {
            "colorscale": [[0.0, DOWN], [0.5, "#F7F7F7"], [1.0, UP]],
            "cmin": -(bound or 1.0),
            "cmax": bound or 1.0,
            "cmid": 0.0,
        }
    else:
        top = float(shown.max()) if shown.size else 1.0
        coloraxis = {
            "colorscale": [[0.0, "#F7F7F7"], [1.0, MAIN]],
            "cmin": 0.0,
            "cmax": top if top > 0 else 1.0,
        }
    coloraxis["colorbar"] = colorbar
    subtitle = None
    if rest:
        subtitle = f"One panel per {', '.join(k.split('.')[-1] for k in rest)}"
        if left_out:
            subtitle += f"; not shown: {'; '.join(left_out)}"
    height = 230 if not yk else int(np.clip(140 + nrows * (80 + 40 * len(ys)), 320, 900))
    return {
        "data": data,
        "layout": layout(
            title,
            subtitle=subtitle,
            height=height,
            coloraxis=coloraxis,
            annotations=annotations,
            **lay,
        ),
    }


# ----------------------------------------------------------------------------- claims

_CLAIM_COLUMNS: Final[tuple[str, ...]] = (
    "event_id",
    "ticker",
    "measure",
    "date",
    "claimed",
    "measured",
    "verdict",
    "says",
)


def claims_figure(claims: pd.DataFrame) -> Figure | None:
    """What the sources claimed against what the prices say: a dumbbell chart.

    One row per claim with a numeric ``claimed`` return and a finite ``measured`` one (claims in
    dollars are left out): an open diamond at the claim, a dot at the measurement coloured by
    the verdict, joined by a line. Rows are labelled ``TICKER measure date`` in the table's
    order. ``None`` when no row qualifies.

    Raises
    ------
    ValueError
        A non-empty table lacks one of the columns.
    """
    if claims is None or claims.empty:
        return None
    missing = [c for c in _CLAIM_COLUMNS if c not in claims.columns]
    if missing:
        raise ValueError(
            f"claims_figure: the claims table lacks column(s) {missing}; it needs "
            f"{', '.join(_CLAIM_COLUMNS)} (see backtest.claims)"
        )
    c = claims.assign(
        claimed=pd.to_numeric(claims["claimed"], errors="coerce"),
        measured=pd.to_numeric(claims["measured"], errors="coerce"),
    )
    keep = (
        (c["measure"].astype(str) != "market_value_change")
        & np.isfinite(c["claimed"].to_numpy(dtype=np.float64))
        & np.isfinite(c["measured"].to_numpy(dtype=np.float64))
    )
    c = c[keep].reset_index(drop=True)
    if c.empty:
        return None
    label = (
        c["ticker"].astype(str)
        + " "
        + c["measure"].astype(str).str.replace("_", " ")
        + " "
        + c["date"].map(_date)
    ).str.strip()
    dup = label.duplicated(keep=False)
    label = label.where(~dup, label + " (" + c["event_id"].astype(str) + ")").map(esc).tolist()
    claimed = c["claimed"].to_numpy(dtype=np.float64)
    measured = c["measured"].to_numpy(dtype=np.float64)
    verdict = c["verdict"].astype(str)
    custom = [
        [esc(s), fmt.pct(a), fmt.pct(b), esc(v)]
        for s, a, b, v in zip(c["says"].astype(str), claimed, measured, verdict, strict=True)
    ]
    hover = (
        "<b>%{y}</b><br>“%{customdata[0]}”<br>claimed %{customdata[1]}, measured "
        "%{customdata[2]}: %{customdata[3]}<extra></extra>"
    )
    gx: list[float | None] = []
    gy: list[str | None] = []
    for a, b, lab in zip(claimed, measured, label, strict=True):
        gx += [float(a), float(b), None]
        gy += [lab, lab, None]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": gx,
            "y": gy,
            "line": {"color": "#CFCFCF", "width": 3},
            "hoverinfo": "skip",
            "showlegend": False,
            "name": "gap",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "x": floats(claimed),
            "y": label,
            "marker": {"symbol": "diamond-open", "size": 11, "color": INK, "line": {"width": 2}},
            "name": "claimed by the source",
            "customdata": custom,
            "hovertemplate": hover,
        },
    ]
    order = [v for v in VERDICT_COLORS if v in set(verdict)] + sorted(
        set(verdict) - set(VERDICT_COLORS)
    )
    for v in order:
        mask = (verdict == v).to_numpy()
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": floats(measured[mask]),
                "y": [lab for lab, k in zip(label, mask, strict=True) if k],
                "marker": {"size": 11, "color": VERDICT_COLORS.get(v, MUTED)},
                "name": esc(f"measured: {v}"),
                "customdata": [cd for cd, k in zip(custom, mask, strict=True) if k],
                "hovertemplate": hover,
            }
        )
    return {
        "data": data,
        "layout": layout(
            "What the sources claimed, and what the prices show",
            height=int(np.clip(150 + 34 * len(c), 280, 800)),
            showlegend=True,
            legend=LEGEND_TOP,
            xaxis=axis("price move on the day, %", tickformat=PCT_AXIS),
            yaxis={
                **_AXIS,
                "type": "category",
                "autorange": "reversed",
                "showgrid": False,
                "zeroline": False,
                "ticks": "",
            },
        ),
    }


# ----------------------------------------------------------------------------- embedding


def figure_json(fig: Figure) -> str:
    """A figure as JSON that is safe inside an HTML ``<script type="application/json">``.

    One ``json.dumps`` of the spec (its numbers are already plain floats, see
    :func:`floats`), with every ``<``, ``>`` and ``&`` written as ``\\u003c``, ``\\u003e``
    and ``\\u0026``: the same JSON value, but a catalog title holding ``</script>`` cannot
    close the script element.

    >>> text = figure_json({"data": [], "layout": {"title": {"text": "</script>"}}})
    >>> "<" in text, json.loads(text)["layout"]["title"]["text"]
    (False, '</script>')
    """
    text = json.dumps(
        fig, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_plain
    )
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: Arrays of a trace with at least this many values are packed by :class:`SharedArrays`.
PACK_MIN = 32
#: Keys of a trace whose arrays are packed.
PACKED_KEYS = ("x", "y")
#: The most decimals :func:`pack_array` looks for; a series with more is kept as it is.
PACK_DECIMALS = 6
_NUMBERS = frozenset({float, int, type(None)})


def pack_array(values: Sequence[Any]) -> dict[str, Any]:
    """A trace's array in the page's packed form, which the page's script unpacks before
    drawing (:data:`UNPACK_JS`; :func:`unpack_array` is the same in Python):

    * numbers that are whole at ``e`` decimals (``e`` at most :data:`PACK_DECIMALS`):
      ``{"e": e, "d": [...]}``, the differences of ``round(v * 10**e)`` from one value to
      the next, ``null`` for a gap (the difference then continues from the value before
      it), and three or more zero differences in a row as ``[k]`` (a flat stretch of ``k``
      sessions). The unpacked value ``k / 10**e`` is the same float as the rounded one.
    * anything else (dates, names, numbers at full precision): ``{"v": [...]}`` as given.

    >>> pack_array([0.0, 0.0125, 0.0125, 0.0125, 0.0125, None, 0.0100])
    {'e': 4, 'd': [0, 125, [3], None, -25]}
    >>> pack_array(["2024-01-02", "2024-01-03"])
    {'v': ['2024-01-02', '2024-01-03']}
    """
    if isinstance(values, Floats) and len(getattr(values, "array", ())) == len(values):
        a = values.array
    elif set(map(type, values)) <= _NUMBERS:  # (a bool is no number here)
        a = np.array(values, dtype=np.float64)  # None: NaN
    else:
        return {"v": list(values)}
    ok = np.isfinite(a)
    if not ok.any() or (~ok & ~np.isnan(a)).any():
        return {"v": list(values)}
    x = a[ok]
    for e in range(PACK_DECIMALS + 1):
        q = np.round(x * 10.0**e)
        if np.abs(q).max() < 2**52 and np.array_equal(q / 10.0**e, x):
            break
    else:
        return {"v": list(values)}
    steps = np.diff(q, prepend=0.0).astype(np.int64)
    full = np.zeros(a.size, dtype=np.int64)
    full[ok] = steps
    tokens: list[Any] = full.tolist()
    for i in np.flatnonzero(~ok).tolist():
        tokens[i] = None
    # runs of zero differences (not gaps) of three or more: [k], from the end backwards
    zero = np.concatenate(([False], ok & (full == 0), [False]))
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    for start, stop in reversed(list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))):
        if stop - start >= 3:
            tokens[start:stop] = [[stop - start]]
    return {"e": e, "d": tokens}


def unpack_array(packed: Mapping[str, Any]) -> list[Any]:
    """The values of :func:`pack_array`'s packed form (what :data:`UNPACK_JS` does in the page).

    >>> unpack_array({"e": 4, "d": [0, 125, [3], None, -25]})
    [0.0, 0.0125, 0.0125, 0.0125, 0.0125, None, 0.01]
    """
    if "v" in packed:
        return list(packed["v"])
    scale, acc = 10.0 ** packed["e"], 0
    out: list[Any] = []
    for d in packed["d"]:
        if d is None:
            out.append(None)
        elif isinstance(d, list):
            out.extend([acc / scale] * d[0])
        else:
            acc += d
            out.append(acc / scale)
    return out


#: The page's unpacking of :class:`SharedArrays` references (run before each ``newPlot``):
#: ``{"evbt": key}`` in a trace's x or y is the array ``key`` of the page's own arrays or,
#: when not there, of the folder's ``assets/series.js``.
UNPACK_JS = """function evbtUnpack(p) {
    if (p.v) { return p.v; }
    var s = Math.pow(10, p.e), acc = 0, out = [], d, i, k;
    for (i = 0; i < p.d.length; i++) {
      d = p.d[i];
      if (d === null) { out.push(null); }
      else if (Array.isArray(d)) { for (k = 0; k < d[0]; k++) { out.push(acc / s); } }
      else { acc += d; out.push(acc / s); }
    }
    return out;
  }
  function evbtArrays(fig, own) {
    var shared = window.EVBT_SERIES || {}, keys = ["x", "y"], cache = {};
    fig.data.forEach(function (t) {
      keys.forEach(function (k) {
        var r = t[k];
        if (r && typeof r === "object" && !Array.isArray(r) && r.evbt) {
          if (!cache[r.evbt]) { cache[r.evbt] = evbtUnpack(own[r.evbt] || shared[r.evbt]); }
          t[k] = cache[r.evbt].slice();
        }
      });
    });
    return fig;
  }"""


@dataclass
class SharedArrays:
    """The long arrays of a folder's pages, each stored once: a page holds the arrays only it
    has (:meth:`page_arrays`), and an array that a second page needs too goes into the folder's
    ``assets/series.js`` (:meth:`folder_script`), which the later pages load instead of
    repeating it (the S&P 500 report: the session dates and the benchmark's buy-and-hold, the
    same on ~500 ticker pages). The first page keeps its own copy, so every page reads all it
    needs from itself or that file. Traces refer to their arrays as ``{"evbt": key}``, the key
    a hash of the packed array (:func:`pack_array`)."""

    #: key -> the page that first held it
    first: dict[str, str] = field(default_factory=dict)
    #: key -> packed array, in assets/series.js
    folder: dict[str, Any] = field(default_factory=dict)
    #: the page being rendered, its own arrays, and whether it needs assets/series.js
    page: str = ""
    own: dict[str, Any] = field(default_factory=dict)
    uses_folder: bool = False
    _by_id: dict[int, tuple[Any, str]] = field(default_factory=dict)

    def start(self, page: str) -> None:
        """Begin the arrays of ``page``."""
        self.page, self.own, self.uses_folder, self._by_id = page, {}, False, {}

    def ref(self, values: Sequence[Any]) -> dict[str, str]:
        """The reference a trace holds for ``values``."""
        seen = self._by_id.get(id(values))
        if seen is not None and seen[0] is values:  # the same list in several traces
            return {"evbt": seen[1]}
        packed: dict[str, Any] | None = None
        if isinstance(values, Floats) and len(getattr(values, "array", ())) == len(values):
            # the same numbers, the same bytes: packed only when first needed
            digest = hashlib.blake2b(values.array.tobytes(), digest_size=8).hexdigest()
            key = "f" + digest
        else:
            packed = pack_array(values)
            text = json.dumps(packed, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            key = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
        self._by_id[id(values)] = (values, key)
        if key in self.own:
            pass
        elif key in self.folder:
            self.uses_folder = True
        elif self.first.setdefault(key, self.page) == self.page:
            self.own[key] = packed if packed is not None else pack_array(values)
        else:
            self.folder[key] = packed if packed is not None else pack_array(values)
            self.uses_folder = True
        return {"evbt": key}

    def pack(self, fig: Figure) -> Figure:
        """``fig`` with its traces' long arrays as references (the arrays kept here)."""
        data = []
        for trace in fig["data"]:
            t = dict(trace)
            for k in PACKED_KEYS:
                v = t.get(k)
                if isinstance(v, list) and len(v) >= PACK_MIN:
                    t[k] = self.ref(v)
            data.append(t)
        return {**fig, "data": data}

    def page_arrays(self) -> str:
        """The arrays of the current page as JSON for a ``<script type="application/json">``."""
        return figure_json(self.own)

    def folder_script(self) -> str:
        """``assets/series.js``: the arrays several pages share."""
        return "window.EVBT_SERIES = " + figure_json(self.folder) + ";\n"


def _plain(v: Any) -> Any:
    """numpy scalars and arrays that slipped into a spec, as plain JSON values."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"figure_json: {type(v).__name__} is not JSON")


def caption(fig: Figure) -> tuple[Figure, str, str]:
    """``fig`` without its title, and the title and subtitle as plain text: the page shows
    them as HTML above the chart (they wrap on a narrow screen) and draws the rest."""
    lay = dict(fig["layout"])
    t = lay.pop("title", {}) or {}
    title = html.unescape(str(t.get("text", "")))
    subtitle = html.unescape(str((t.get("subtitle") or {}).get("text", "")))
    margin = dict(lay.get("margin", {}))
    # room above the plot for panel titles (annotations at the top of the paper)
    tops = [
        a for a in lay.get("annotations", ()) if a.get("yref") == "paper" and a.get("y", 0) >= 1
    ]
    margin["t"] = 30 if tops else 8
    lay["margin"] = margin
    return {"data": fig["data"], "layout": lay}, title, subtitle
