"""Plotly figures for the investor report, built from result objects.

Every function takes a result object as it is (:class:`~backtest.study.results.EventStudyResult`,
:class:`~backtest.portfolio.results.BacktestResult`, or the claims table) and returns a
:class:`plotly.graph_objects.Figure`; none computes a statistic the results do not hold (the
95% intervals are the results' standard errors times a t quantile), none fetches anything, and
none raises on empty or degenerate input: it returns a figure whose annotation says what is
missing, or ``None`` where documented.

The report embeds the figures as JSON (:func:`figure_json`) and draws them with plotly.js and
:data:`PLOTLY_CONFIG`. One look for every figure: :data:`TEMPLATE` (white background, light grid,
the system font stack, the Okabe-Ito colour-blind-safe palette :data:`OKABE_ITO`, bluish green
for gains and vermillion for losses, compact margins). Returns and abnormal returns are kept as
fractions in the figures' data and shown as percentages by the axes' and hovers' formats.

Text from the catalog (titles, claims, ids) is HTML-escaped before it reaches a figure, and put
in hovers through ``customdata`` or ``meta``, never into a hover template itself, so neither
markup nor a ``%{...}`` in a title can change what a figure shows.

References
----------
Okabe, M., Ito, K. (2008). Color Universal Design (CUD): how to make figures and presentations
that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from backtest.portfolio.metrics import METRICS, Metric, format_metric
from backtest.reports import fmt
from backtest.reports.tables import category_table, t_half_width
from backtest.study.results import stars
from backtest.study.spec import Window, window_label

if TYPE_CHECKING:
    from backtest.portfolio.results import BacktestResult
    from backtest.study.results import EventStudyResult

__all__ = [
    "DOWN",
    "FONT_FAMILY",
    "OKABE_ITO",
    "PLOTLY_CONFIG",
    "TEMPLATE",
    "UP",
    "ar_paths",
    "caar_figure",
    "category_bars",
    "claims_figure",
    "equity_figure",
    "figure_json",
    "sweep_heatmap",
]

FloatArray = npt.NDArray[np.float64]

# ----------------------------------------------------------------------------- the look

#: The system font stack: the reader's own interface font, nothing downloaded.
FONT_FAMILY: Final[str] = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
)

#: The Okabe-Ito palette (Okabe and Ito 2008), distinguishable with every common colour-vision
#: deficiency.
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

#: A gain, a positive abnormal return, an agreeing claim.
UP: Final[str] = OKABE_ITO["bluish_green"]
#: A loss, a negative abnormal return, a disagreeing claim.
DOWN: Final[str] = OKABE_ITO["vermillion"]
#: The main series of a figure when its sign carries no meaning.
MAIN: Final[str] = OKABE_ITO["blue"]
#: Text.
INK: Final[str] = "#222222"
#: Secondary text, reference lines, neutral marks.
MUTED: Final[str] = "#767676"
#: Grid lines.
GRID: Final[str] = "#E8E8E8"
#: Axis lines and ticks.
AXIS: Final[str] = "#B5B5B5"
#: Comparison series (buy-and-hold): darker and lighter grey.
GREYS: Final[tuple[str, ...]] = ("#6E6E6E", "#ABABAB", "#CACACA")
#: Series colours in order. Yellow is left out: it is too light on white.
COLORWAY: Final[tuple[str, ...]] = (
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["black"],
)
#: Line dashes cycled after the colours, so that up to 28 lines stay distinct.
DASHES: Final[tuple[str, ...]] = ("solid", "dash", "dot", "dashdot")
#: Colour of each claim verdict.
VERDICT_COLORS: Final[Mapping[str, str]] = MappingProxyType(
    {"agrees": UP, "roughly": OKABE_ITO["orange"], "disagrees": DOWN}
)

#: Default figure height in pixels (the width follows the page: ``autosize``).
HEIGHT: Final[int] = 380
#: d3 formats: percentage axes (trailing zeros trimmed) and exact percentages in hovers.
PCT_AXIS: Final[str] = ".1~%"
PCT_HOVER: Final[str] = ".2%"

_AXIS_STYLE: dict[str, Any] = {
    "showgrid": True,
    "gridcolor": GRID,
    "gridwidth": 1,
    "zeroline": True,
    "zerolinecolor": MUTED,
    "zerolinewidth": 1,
    "showline": True,
    "linecolor": AXIS,
    "linewidth": 1,
    "ticks": "outside",
    "tickcolor": AXIS,
    "ticklen": 4,
    "automargin": True,
    "title": {"font": {"size": 12, "color": INK}, "standoff": 8},
    "tickfont": {"size": 11, "color": INK},
}

#: The one template every figure uses (assigned per figure; plotly's global default is left
#: alone).
TEMPLATE: Final[go.layout.Template] = go.layout.Template(
    layout={
        "font": {"family": FONT_FAMILY, "size": 13, "color": INK},
        "title": {
            "x": 0.0,
            "xanchor": "left",
            "xref": "container",
            "pad": {"l": 16},
            "font": {"size": 16, "color": INK},
            "subtitle": {"font": {"size": 12, "color": MUTED}},
        },
        "paper_bgcolor": "#FFFFFF",
        "plot_bgcolor": "#FFFFFF",
        "colorway": list(COLORWAY),
        "margin": {"l": 16, "r": 24, "t": 64, "b": 16, "pad": 0, "autoexpand": True},
        "xaxis": _AXIS_STYLE,
        "yaxis": _AXIS_STYLE,
        "legend": {
            "font": {"size": 12, "color": INK},
            "bgcolor": "rgba(255,255,255,0)",
            "itemclick": "toggle",
            "itemdoubleclick": "toggleothers",
        },
        "hoverlabel": {
            "font": {"family": FONT_FAMILY, "size": 12, "color": INK},
            "bgcolor": "#FFFFFF",
            "bordercolor": AXIS,
            "align": "left",
        },
        "hovermode": "closest",
        "autosize": True,
    }
)

#: plotly.js configuration for :func:`Plotly.newPlot`: no logo, resizes with the page, a
#: modebar that keeps only zoom, pan, reset and the PNG download. Treat it as read-only.
PLOTLY_CONFIG: Final[dict[str, Any]] = {
    "displaylogo": False,
    "responsive": True,
    "displayModeBar": "hover",
    "scrollZoom": False,
    "modeBarButtonsToRemove": [
        "select2d",
        "lasso2d",
        "autoScale2d",
        "toggleSpikelines",
        "hoverClosestCartesian",
        "hoverCompareCartesian",
    ],
    "toImageButtonOptions": {"format": "png", "filename": "evbt-chart", "scale": 2},
}

# ----------------------------------------------------------------------------- small helpers


def _esc(text: Any) -> str:
    """Catalog text as plotly's HTML-like text: ``<``, ``>``, ``&`` and ``$`` as entities.

    ``$`` too: plotly.js reads text between two dollar signs as LaTeX when MathJax is on the
    page ("$15.93B ... $200B" would turn into maths); the entity shows a plain dollar sign.
    """
    return html.escape(str(text), quote=False).replace("$", "&#36;")


def _shorten(text: str, width: int = 40) -> str:
    """At most ``width`` characters, ending with an ellipsis when cut."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _rgba(hex_colour: str, alpha: float) -> str:
    """``#RRGGBB`` with an opacity, as ``rgba(r,g,b,a)`` (integers, as CSS wants them)."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"


def _sign_colours(values: npt.ArrayLike) -> list[str]:
    """:data:`UP` for positive, :data:`DOWN` for negative, grey for zero or missing."""
    v = np.asarray(values, dtype=np.float64)
    return np.select([v > 0, v < 0], [UP, DOWN], default=MUTED).tolist()


def _date(value: Any) -> str:
    stamp = pd.to_datetime(value, errors="coerce")
    return "" if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")


def _style(
    fig: go.Figure,
    title: str,
    *,
    subtitle: str | None = None,
    height: int = HEIGHT,
    legend: str = "top",
    legend_rows: int = 1,
    legend_gap: int = 60,
    panel_titles: bool = False,
) -> go.Figure:
    """Apply the template, the title (escaped), the height and the legend position.

    Parameters
    ----------
    legend:
        ``"top"``: one horizontal row between the title and the plot (for a few short
        entries); ``"below"``: horizontal rows under the x axis title (``legend_rows`` is the
        expected number of rows, ``legend_gap`` the pixels between the plot and the legend,
        room for the x axis' ticks and title); ``"right"``: a column right of the plot;
        ``"none"``.
    panel_titles:
        Leave room above the plot for make_subplots' panel titles.
    """
    title_spec: dict[str, Any] = {
        "text": _esc(title),
        "y": 1.0,
        "yref": "container",
        "yanchor": "top",
        "pad": {"t": 14, "l": 16},
    }
    if subtitle:
        title_spec["subtitle"] = {"text": _esc(subtitle)}
    block = 38 + (20 if subtitle else 0)  # pixels from the top to below the (sub)title
    top = block + 14
    layout: dict[str, Any] = {
        "template": TEMPLATE,
        "title": title_spec,
        "height": height,
        "autosize": True,
        "showlegend": legend != "none",
    }
    horizontal = {"orientation": "h", "x": 0.0, "xanchor": "left", "traceorder": "normal"}
    if legend == "top":
        layout["legend"] = {
            **horizontal,
            "yref": "container",
            "y": 1.0 - (block + 2) / height,
            "yanchor": "top",
        }
        top = block + 34
    elif legend == "below":
        top += 22 if panel_titles else 0
        plot_px = max(height - top - legend_gap - 22 * legend_rows, 80)
        layout["legend"] = {
            **horizontal,
            "yref": "paper",
            "y": -legend_gap / plot_px,
            "yanchor": "top",
        }
    elif legend == "right":
        layout["legend"] = {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1.0}
    if panel_titles and legend != "below":
        top += 22
    layout["margin"] = {"t": top}
    fig.update_layout(**layout)
    return fig


def _message_figure(title: str, message: str, *, height: int = 260) -> go.Figure:
    """A figure with no data and a sentence saying why (instead of raising mid-report)."""
    fig = go.Figure()
    _style(fig, title, height=height, legend="none")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(
        text=_esc(message),
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 14, "color": MUTED},
    )
    return fig


def _day0_line(fig: go.Figure, **where: Any) -> None:
    """A dashed vertical line at day 0, labelled."""
    fig.add_vline(
        x=0,
        line={"color": INK, "width": 1, "dash": "dash"},
        opacity=0.6,
        annotation={"text": "day 0", "font": {"size": 11, "color": MUTED}},
        annotation_position="top right",
        exclude_empty_subplots=False,
        **where,
    )


# ----------------------------------------------------------------------------- event study


def category_bars(study: EventStudyResult, window: Window = (-1, 1)) -> go.Figure:
    """The CAAR of each event category over one window, with 95% intervals and stars.

    A forest plot: one horizontal bar per row of
    :func:`backtest.reports.tables.category_table`, green when positive and red when
    negative, sorted by CAAR (the largest at the top). The whisker is the table's 95% interval
    ``CAAR ± t_{0.975, n-1} * SE`` with the cross-sectional standard error ``SE = CAAR / t``
    (no whisker when ``t`` is 0 or missing, or n < 2). The label beside each bar, e.g.
    ``+1.23% **  (n=11)``, carries the stars of the table's headline p.
    The labels are a column at the right edge (not at the bars' ends) so that whiskers never
    cross them.

    Parameters
    ----------
    study : EventStudyResult
        The event study (grouped by ``category``).
    window : (int, int), default (-1, 1)
        One of the study's event windows.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace (``x`` the CAAR as a fraction, ``y`` the category, ``text`` the labels,
        ``error_x.array`` the interval half-widths); a message figure when the study has no
        category CAAR for the window.
    """
    label = window_label(window)
    title = f"Mean cumulative abnormal return CAR{label} by category"
    g = study.groups
    needed = {"group_by", "measure", "window", "group", "value", "n", "t"}
    if g.empty or not needed <= set(g.columns):
        return _message_figure(title, "The study has no group statistics.")
    rows = category_table(study, window)
    rows = rows[np.isfinite(rows["caar"].to_numpy(dtype=np.float64))]
    if rows.empty:
        return _message_figure(
            title,
            f"No category has a CAAR over {label}: the study was not grouped by category "
            "or did not measure that window.",
        )
    rows = rows.sort_values("caar", kind="stable")  # plotly draws the first bar at the bottom
    value = rows["caar"].to_numpy(dtype=np.float64)
    lo = rows["lo"].to_numpy(dtype=np.float64)
    hi = rows["hi"].to_numpy(dtype=np.float64)
    n = rows["n"].to_numpy(dtype=np.int64)
    t = rows["t"].to_numpy(dtype=np.float64)
    p = rows["p"].to_numpy(dtype=np.float64)
    test = rows["test"].fillna("").to_numpy(dtype=object)
    cats = [_esc(c.replace("_", " ")) for c in rows["category"].astype(str)]
    text = [
        f"{v:+.2%} {s}  (n={k})" if s else f"{v:+.2%}  (n={k})"
        for v, s, k in zip(value, (stars(x) for x in p), n, strict=True)
    ]
    half = hi - value
    interval = [
        f"{a:+.2%} to {b:+.2%}" if math.isfinite(a) else "not available (n < 2 or no t)"
        for a, b in zip(lo, hi, strict=True)
    ]
    p_text = [
        f"{name} p = {x:.3f}" if math.isfinite(x) else "no test computable"
        for x, name in zip(p, test, strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=value,
            y=cats,
            orientation="h",
            marker={"color": _sign_colours(value), "line": {"width": 0}},
            error_x={
                "type": "data",
                "array": np.where(np.isfinite(half), half, np.nan),
                "visible": True,
                "color": INK,
                "thickness": 1.2,
                "width": 5,
            },
            text=text,
            textposition="none",
            customdata=np.column_stack([interval, n, p_text, t]),
            hovertemplate=(
                "<b>%{y}</b><br>CAAR" + label + " %{x:+.2%}<br>95% interval %{customdata[0]}<br>"
                "n = %{customdata[1]} events<br>%{customdata[2]}<extra></extra>"
            ),
            name="CAAR",
            width=0.62,
        )
    )
    # the labels: a column right of the plot, one per bar
    longest = max(len(s) for s in text)
    for cat, s in zip(cats, text, strict=True):
        fig.add_annotation(
            x=1.0,
            xref="paper",
            xanchor="left",
            xshift=10,
            y=cat,
            yref="y",
            text=s,
            showarrow=False,
            font={"size": 12, "color": INK},
            align="left",
        )
    _style(
        fig,
        title,
        subtitle="Whiskers: 95% interval · * p < 0.10, ** p < 0.05, *** p < 0.01",
        height=int(np.clip(130 + 32 * len(cats), 300, 720)),
        legend="none",
    )
    fig.update_layout(margin={"r": int(24 + 7.2 * longest), "l": 16, "b": 16})
    fig.update_xaxes(
        title_text=f"mean cumulative abnormal return over sessions {label} (%)",
        tickformat=PCT_AXIS,
        hoverformat=PCT_HOVER,
    )
    fig.update_yaxes(showgrid=False, zeroline=False, ticks="", showline=False)
    return fig


def _group_members(study: EventStudyResult, group_by: str, group: Any) -> pd.DataFrame:
    """(event_id, ticker, title, day0) of the measured rows of one group."""
    ev = study.events
    if not {"event_id", "ticker"} <= set(ev.columns):
        return pd.DataFrame(columns=["event_id", "ticker", "title", "day0"])
    cols = [c for c in ("event_id", "ticker", "title", "day0") if c in ev.columns]
    if group_by == "all":
        sel = ev[cols]
    elif group_by in ev.columns:
        sel = ev.loc[ev[group_by].astype(str) == str(group), cols]
    else:
        sel = ev.iloc[0:0][cols]
    out = sel.astype({"event_id": str, "ticker": str})
    if "title" not in out.columns:
        out = out.assign(title=out["event_id"])
    if "day0" not in out.columns:
        out = out.assign(day0=pd.NaT)
    return out


def caar_figure(
    study: EventStudyResult, group_by: str, group: str, window: Window = (-1, 1)
) -> go.Figure:
    """One group's CAAR path with its 95% band, beside each event's CAR over a window.

    Left (62% of the width): the CAAR over the spec's path days (``study.paths``), a band
    ``CAAR ± t_{0.975, n-1} * caar_se`` (none on days with n < 2), the zero line, a dashed line
    at day 0 and the window shaded. Right: every event's CAR over ``window`` (``study.windows``)
    as points spread sideways over a box plot, green when positive, red when negative; the
    hover gives the event id, ticker, title, day 0, CAR and its t.

    Parameters
    ----------
    study : EventStudyResult
        The event study.
    group_by : str
        A grouping of the study: ``"all"``, ``"category"``, ``"ticker"`` or another event field.
    group : str
        The group (``"all"`` for ``group_by="all"``).
    window : (int, int), default (-1, 1)
        The event window of the right panel.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces in order: the band (one filled polygon per run of days with n >= 2; name
        ``95% interval``), ``CAAR``, the box, then the event points (``CAR > 0`` and
        ``CAR ≤ 0``); a message figure when the group has neither a path nor events.
    """
    label = window_label(window)
    path_label = window_label(study.spec.path)
    p = study.paths
    if p.empty or not {"group_by", "group", "day", "caar"} <= set(p.columns):
        path = pd.DataFrame(columns=["day", "n", "aar", "caar", "caar_se"])
    else:
        path = p[(p["group_by"] == group_by) & (p["group"].astype(str) == str(group))]
        path = path.sort_values("day")
    w = study.windows
    members = _group_members(study, group_by, group)
    if w.empty:
        per_event = members.iloc[0:0].assign(car=np.nan, t=np.nan)
    else:
        win = w.loc[w["window"] == label, ["event_id", "ticker", "car", "t"]].astype(
            {"event_id": str, "ticker": str}
        )
        per_event = win.merge(members, on=["event_id", "ticker"], how="inner")
    per_event = per_event[np.isfinite(per_event["car"].to_numpy(dtype=np.float64))]
    n_events = len(per_event) if len(per_event) else int(path["n"].max()) if len(path) else 0
    title = f"{group}: CAAR over {path_label} and CAR{label} per event (n = {n_events})"
    if path.empty and per_event.empty:
        return _message_figure(
            title, f"The study has no measured event for {group_by} = {group!r}."
        )

    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.62, 0.38],
        horizontal_spacing=0.09,
        subplot_titles=(
            "Mean cumulative abnormal return (CAAR) with its 95% band",
            f"Each event's CAR{label}",
        ),
    )
    # the event window on the path
    fig.add_vrect(
        x0=window[0] - 0.5,
        x1=window[1] + 0.5,
        fillcolor="rgba(0,0,0,0.07)",
        line_width=0,
        layer="above",
        row=1,
        col=1,
        exclude_empty_subplots=False,
    )
    if len(path):
        day = path["day"].to_numpy(dtype=np.float64)
        caar = path["caar"].to_numpy(dtype=np.float64)
        n = path["n"].to_numpy(dtype=np.float64)
        half = t_half_width(path["caar_se"].to_numpy(dtype=np.float64), n)
        lo, hi = caar - half, caar + half
        ok = np.isfinite(lo) & np.isfinite(hi)
        runs = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
        for k, (a, b) in enumerate(zip(runs[::2], runs[1::2], strict=True)):
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([day[a:b], day[a:b][::-1]]),
                    y=np.concatenate([hi[a:b], lo[a:b][::-1]]),
                    fill="toself",
                    fillcolor=_rgba(MAIN, 0.16),
                    line={"width": 0},
                    mode="lines",
                    name="95% interval",
                    legendgroup="band",
                    showlegend=k == 0,
                    hoverinfo="skip",
                ),
                row=1,
                col=1,
            )
        band = [
            f"{a:+.2%} to {b:+.2%}" if math.isfinite(a) and math.isfinite(b) else "n < 2"
            for a, b in zip(lo, hi, strict=True)
        ]
        aar = path["aar"].to_numpy(dtype=np.float64) if "aar" in path else np.full_like(day, np.nan)
        fig.add_trace(
            go.Scatter(
                x=day,
                y=caar,
                mode="lines+markers",
                line={"color": MAIN, "width": 2},
                marker={"size": 4, "color": MAIN},
                name="CAAR",
                customdata=np.column_stack([band, n.astype(np.int64), aar]),
                hovertemplate=(
                    "day %{x:+d}<br>CAAR %{y:+.2%}<br>95% interval %{customdata[0]}"
                    "<br>AAR that day %{customdata[2]:+.2%}<br>n = %{customdata[1]}"
                    "<extra></extra>"
                ),
            ),
            row=1,
            col=1,
        )
    _day0_line(fig, row=1, col=1)
    fig.add_annotation(
        x=(window[0] + window[1]) / 2,
        y=0.0,
        xref="x",
        yref="y domain",
        yanchor="bottom",
        text=f"CAR{label}",
        showarrow=False,
        font={"size": 10, "color": MUTED},
    )

    # right: each event
    car = per_event["car"].to_numpy(dtype=np.float64)
    if len(car):
        fig.add_trace(
            go.Box(
                y=car,
                x=np.zeros(len(car)),
                width=0.56,
                boxpoints=False,
                fillcolor="#F1F1F1",
                line={"color": MUTED, "width": 1},
                name="median and quartiles",
                showlegend=False,
                hoverinfo="y",
                yhoverformat=PCT_HOVER,
            ),
            row=1,
            col=2,
        )
        x = _jitter(car, 0.4)
        custom = np.column_stack(
            [
                per_event["event_id"].map(_esc),
                per_event["ticker"].map(_esc),
                per_event["title"].fillna(per_event["event_id"]).map(_esc),
                per_event["day0"].map(_date),
                per_event["t"].map(fmt.num),
            ]
        )
        for name, mask, colour in (
            ("event CAR > 0", car > 0, UP),
            ("event CAR ≤ 0", car <= 0, DOWN),
        ):
            fig.add_trace(
                go.Scatter(
                    x=x[mask],
                    y=car[mask],
                    mode="markers",
                    marker={
                        "color": colour,
                        "size": 9,
                        "opacity": 0.9,
                        "line": {"color": "#FFFFFF", "width": 1},
                    },
                    name=name,
                    customdata=custom[mask],
                    hovertemplate=(
                        "<b>%{customdata[2]}</b><br>%{customdata[0]} · %{customdata[1]}"
                        "<br>day 0 %{customdata[3]}<br>CAR"
                        + label
                        + " %{y:+.2%} (t = %{customdata[4]})<extra></extra>"
                    ),
                ),
                row=1,
                col=2,
            )
    else:
        fig.add_annotation(
            text=f"no event has a CAR{label}",
            x=0.5,
            y=0.5,
            xref="x2 domain",
            yref="y2 domain",
            showarrow=False,
            font={"color": MUTED},
        )
    _style(fig, title, height=420, legend="top", panel_titles=True)
    _subplot_titles(fig)
    fig.update_xaxes(title_text="trading days relative to day 0", row=1, col=1)
    fig.update_xaxes(
        title_text="events (spread sideways)",
        range=[-0.5, 0.5],
        showticklabels=False,
        showgrid=False,
        zeroline=False,
        ticks="",
        row=1,
        col=2,
    )
    fig.update_yaxes(
        title_text="CAAR (%)", tickformat=PCT_AXIS, hoverformat=PCT_HOVER, row=1, col=1
    )
    fig.update_yaxes(
        title_text=f"CAR{label} (%)", tickformat=PCT_AXIS, hoverformat=PCT_HOVER, row=1, col=2
    )
    if len(car) and np.ptp(car) < 0.01:
        # one event (or identical CARs): plotly would pick a range of +-100%; show +-2 points
        lo, hi = min(float(car.min()), 0.0), max(float(car.max()), 0.0)
        fig.update_yaxes(range=[lo - 0.02, hi + 0.02], row=1, col=2)
    return fig


def _jitter(values: FloatArray, width: float) -> FloatArray:
    """Deterministic sideways offsets in ``[-width/2, width/2)``: golden-ratio steps over the
    values' ranks, so neighbours in value land apart."""
    ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable").astype(np.float64)
    return ((ranks * 0.6180339887498949) % 1.0 - 0.5) * width


def _subplot_titles(fig: go.Figure) -> None:
    """make_subplots' panel titles at the size of axis titles rather than plotly's 16 px."""
    for ann in fig.layout.annotations:
        if ann.yref == "paper" and ann.xref == "paper" and ann.yanchor == "bottom":
            ann.update(font={"size": 13, "color": INK})


def ar_paths(study: EventStudyResult, ticker: str) -> go.Figure:
    """The cumulative abnormal return path of each event of one ticker.

    One line per (event, ``ticker``) row of ``study.ar``: the cumulative sum of its abnormal
    returns over the path days (a missing day is a gap and adds nothing), labelled in the
    legend by the event's title (cut to 40 characters), in day-0 order; zero line, dashed day-0
    line. With more than six events the legend goes below the plot.

    Parameters
    ----------
    study : EventStudyResult
        The event study.
    ticker : str
        The ticker, e.g. ``"META"``.

    Returns
    -------
    plotly.graph_objects.Figure
        One line trace per event (``meta``: title, event id, day 0); a message figure when the
        ticker has no measured event.
    """
    ar = study.ar
    title = f"{ticker}: cumulative abnormal return around each event"
    if ar.empty or "ticker" not in (ar.index.names or []):
        return _message_figure(title, f"The study measured no event of {ticker}.")
    rows = ar[ar.index.get_level_values("ticker").astype(str) == str(ticker)]
    if rows.empty:
        return _message_figure(title, f"The study measured no event of {ticker}.")
    ids = rows.index.get_level_values("event_id").astype(str)
    ev = study.events
    info = pd.DataFrame({"event_id": ids})
    if {"event_id", "ticker"} <= set(ev.columns):
        keep = [c for c in ("title", "day0") if c in ev.columns]
        sub = ev.loc[ev["ticker"].astype(str) == str(ticker), ["event_id", *keep]]
        info = info.merge(
            sub.astype({"event_id": str}).drop_duplicates("event_id"), on="event_id", how="left"
        )
    if "title" not in info.columns:
        info["title"] = info["event_id"]
    if "day0" not in info.columns:
        info["day0"] = pd.NaT
    info["title"] = info["title"].fillna(info["event_id"]).astype(str)
    order = np.argsort(pd.to_datetime(info["day0"]).to_numpy(), kind="stable")
    days = rows.columns.to_numpy(dtype=np.float64)
    values = rows.to_numpy(dtype=np.float64)
    cum = np.nancumsum(values, axis=1)
    cum[np.isnan(values)] = np.nan  # a missing day is a gap in the line, and adds nothing

    fig = go.Figure()
    n = len(rows)
    for i, j in enumerate(order):
        full = info.at[j, "title"]
        fig.add_trace(
            go.Scatter(
                x=days,
                y=cum[j],
                mode="lines",
                line={
                    "color": COLORWAY[i % len(COLORWAY)],
                    "dash": DASHES[(i // len(COLORWAY)) % len(DASHES)],
                    "width": 1.8,
                },
                name=_esc(_shorten(full, 40)),
                meta=[_esc(full), _esc(info.at[j, "event_id"]), _date(info.at[j, "day0"])],
                customdata=values[j],
                hovertemplate=(
                    "<b>%{meta[0]}</b><br>%{meta[1]}, day 0 %{meta[2]}<br>day %{x:+d}: "
                    "AR %{customdata:+.2%}, CAR %{y:+.2%}<extra></extra>"
                ),
            )
        )
    _day0_line(fig)
    below = n > 6
    legend_rows = math.ceil(n / 3) if below else 0
    _style(
        fig,
        f"{title} ({n} event{'s' if n != 1 else ''})",
        height=HEIGHT + 22 * legend_rows,
        legend="below" if below else "right",
        legend_rows=legend_rows,
    )
    if below:
        fig.update_layout(
            legend={"entrywidth": 240, "entrywidthmode": "pixels", "font": {"size": 11}}
        )
    fig.update_xaxes(title_text="trading days relative to day 0", zeroline=False)
    fig.update_yaxes(
        title_text="cumulative abnormal return (%)", tickformat=PCT_AXIS, hoverformat=PCT_HOVER
    )
    return fig


# ----------------------------------------------------------------------------- strategies

#: The currency of each market's prices (portfolio values are in price units).
CURRENCIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "XNYS": "USD",
        "XHKG": "HKD",
        "XTKS": "JPY",
        "XLON": "GBp",
        "XSHG": "CNY",
        "XETR": "EUR",
        "XTSE": "CAD",
    }
)


def _currency(backtest: BacktestResult, portfolio: str) -> str:
    m = backtest.metrics
    if m.empty or not {"portfolio", "market"} <= set(m.columns):
        return "currency units"
    markets = m.loc[m["portfolio"].astype(str) == portfolio, "market"]
    return (
        CURRENCIES.get(str(markets.iloc[0]), "currency units")
        if len(markets)
        else ("currency units")
    )


def equity_figure(backtest: BacktestResult, portfolio: str) -> go.Figure:
    """A portfolio's value and drawdown for every parameter combination, with buy-and-hold.

    Top (68% of the height): the portfolio value of each combination (legend: its label, or
    ``strategy`` when nothing is swept) and the buy-and-hold series of the first combination
    (the same sessions for all), dashed grey; a dotted line at the initial capital. Bottom:
    each combination's drawdown ``value / running maximum - 1``, filled to zero. The x axis is
    shared; the hover shows every series at the date.

    Parameters
    ----------
    backtest : BacktestResult
        The strategy backtest.
    portfolio : str
        A ticker or a pooled portfolio (``"pooled XNYS"``).

    Returns
    -------
    plotly.graph_objects.Figure
        Strategy value traces (legend group = label), buy-and-hold traces, then the drawdown
        traces (name ``drawdown <label>``); a message figure when there is no equity for the
        portfolio.
    """
    name = backtest.strategy.name
    title = f"{name} — {portfolio}: value and drawdown"
    eq = backtest.equity
    if eq.empty or eq.columns.nlevels != 3:
        return _message_figure(title, "The backtest has no equity curve (no trade was made).")
    in_portfolio = eq.columns.get_level_values(1).astype(str) == str(portfolio)
    sub = eq.loc[:, in_portfolio].dropna(how="all")
    if sub.empty:
        known = ", ".join(sorted(set(eq.columns.get_level_values(1).astype(str))))
        return _message_figure(title, f"No portfolio {portfolio!r} in the backtest ({known}).")
    series = sub.columns.get_level_values(2).astype(str)
    combo_of = sub.columns.get_level_values(0)
    combos = backtest.combos
    labels = (
        dict(zip(combos["combo"], combos["label"].astype(str), strict=True))
        if {"combo", "label"} <= set(combos.columns)
        else {}
    )
    single = len(combos) <= 1 or not backtest.strategy.swept
    strat = sub.loc[:, series == "strategy"]
    first = combo_of[0] if len(combo_of) else None
    holds = sub.loc[:, (series.str.startswith("buy & hold")) & (combo_of == first)]
    drawdown = strat / strat.cummax() - 1.0
    currency = _currency(backtest, str(portfolio))

    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.05
    )
    dates = sub.index
    # buy-and-hold first, so that the strategy lines are drawn over them
    for k, col in enumerate(holds.columns):
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=holds[col],
                mode="lines",
                line={"color": GREYS[k % len(GREYS)], "width": 1.2},
                name=_esc(col[2]),
                legendrank=1000 + k,
                hovertemplate="%{y:,.0f} " + currency + "<extra>%{fullData.name}</extra>",
            ),
            row=1,
            col=1,
        )
    for i, col in enumerate(strat.columns):
        label = "strategy" if single else labels.get(col[0], f"combination {col[0]}")
        colour = COLORWAY[i % len(COLORWAY)]
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=strat[col],
                mode="lines",
                line={"color": colour, "width": 2},
                name=_esc(label),
                legendgroup=f"c{i}",
                legendrank=100 + i,
                hovertemplate="%{y:,.0f} " + currency + "<extra>%{fullData.name}</extra>",
            ),
            row=1,
            col=1,
        )
    for i, col in enumerate(drawdown.columns):
        label = "strategy" if single else labels.get(col[0], f"combination {col[0]}")
        colour = COLORWAY[i % len(COLORWAY)]
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=drawdown[col],
                mode="lines",
                line={"color": colour, "width": 1},
                fill="tozeroy",
                fillcolor=_rgba(colour, 0.14),
                name=_esc(f"drawdown {label}"),
                legendgroup=f"c{i}",
                showlegend=False,
                hovertemplate="%{y:.2%}<extra>%{fullData.name}</extra>",
            ),
            row=2,
            col=1,
        )
    if strat.shape[1]:
        start = strat.bfill().iloc[0].to_numpy(dtype=np.float64)
        if np.isfinite(start[0]):
            fig.add_hline(
                y=float(start[0]),
                line={"color": MUTED, "width": 1, "dash": "dot"},
                row=1,
                col=1,
            )
    entries = strat.shape[1] + holds.shape[1]
    rows = math.ceil(entries / 4)
    _style(
        fig,
        title,
        height=HEIGHT + 30 + 22 * rows,
        legend="below",
        legend_rows=rows,
        legend_gap=34,
    )
    fig.update_layout(hovermode="x unified")
    fig.update_xaxes(zeroline=False)
    fig.update_yaxes(
        title_text=f"value ({currency})", tickformat=",.0f", zeroline=False, row=1, col=1
    )
    fig.update_yaxes(
        title_text="drawdown (%)", tickformat=PCT_AXIS, rangemode="tozero", row=2, col=1
    )
    return fig


#: Axis titles of swept parameters: the short name and its unit.
PARAM_TITLES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "exit.hold": "hold (sessions)",
        "entry.lag": "lag (sessions)",
        "condition.below": "below (AR threshold)",
        "condition.above": "above (AR threshold)",
    }
)
#: Parameters that are fractions, shown as percentages in tick labels.
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
#: Metrics that are never negative: a one-sided colour scale. Every other one diverges at 0.
_NONNEGATIVE: Final[frozenset[str]] = frozenset(
    {
        "sessions",
        "periods_per_year",
        "annual_volatility",
        "max_drawdown_duration",
        "max_drawdown_duration_sessions",
        "n_trades",
        "win_rate",
        "profit_factor",
        "exposure",
    }
)
_DIVERGING: Final[list[list[Any]]] = [[0.0, DOWN], [0.5, "#F7F7F7"], [1.0, UP]]
_SEQUENTIAL: Final[list[list[Any]]] = [[0.0, "#F7F7F7"], [1.0, MAIN]]


def _param_title(key: str) -> str:
    return PARAM_TITLES.get(key, key.split(".")[-1])


def _param_value(key: str, value: Any) -> str:
    """A parameter value as a tick label: fractions in %, counts and sizes whole."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return "—"
    if key in _FRACTION_PARAMS:
        return f"{x * 100:g}%"
    return f"{x:,.0f}" if x.is_integer() else f"{x:g}"


def sweep_heatmap(
    backtest: BacktestResult, metric: str = "sharpe", portfolio: str | None = None
) -> go.Figure | None:
    """One metric over the swept parameter grid, as a heatmap with the values written in.

    One swept parameter: a one-row heatmap over its values. Two: x the first swept parameter,
    y the second. More: one panel per combination of the others (at most six; the subtitle
    names what was left out). Cells hold :func:`~backtest.portfolio.metrics.format_metric`
    text; the colour scale diverges at 0 (red below, green above) for metrics that can be
    negative, and runs white to blue for the others. Parameter values are sorted.

    Parameters
    ----------
    backtest : BacktestResult
        The strategy backtest.
    metric : str, default "sharpe"
        A name of :data:`~backtest.portfolio.metrics.METRICS` (not a date).
    portfolio : str, optional
        The portfolio; default :meth:`BacktestResult.grid_portfolio`.

    Returns
    -------
    plotly.graph_objects.Figure or None
        ``None`` when the strategy sweeps nothing or has no metrics. Heatmap traces share one
        colour axis; ``z`` rows follow ``y`` (the second parameter's values, ascending) and
        columns follow ``x``.

    Raises
    ------
    ValueError
        ``metric`` is not a metric, or is a date.
    """
    known = {m.name: m for m in METRICS}
    if metric not in known:
        raise ValueError(f"sweep_heatmap: unknown metric {metric!r} (known: {', '.join(known)})")
    spec: Metric = known[metric]
    if spec.fmt == "date":
        raise ValueError(f"sweep_heatmap: {metric!r} is a date; choose a numeric metric")
    swept = tuple(backtest.strategy.swept)
    m = backtest.metrics
    if not swept or m.empty or not (m.get("kind", pd.Series(dtype=str)) == "strategy").any():
        return None
    portfolio = portfolio if portfolio is not None else backtest.grid_portfolio()
    name = backtest.strategy.name
    title = f"{name}: {spec.title} over the grid ({portfolio})"
    grid = backtest.grid(metric, portfolio)
    if grid.empty or not set(swept) <= set(grid.columns):
        return _message_figure(title, f"No metrics for the portfolio {portfolio!r}.")
    grid = grid.assign(**{metric: pd.to_numeric(grid[metric], errors="coerce")})
    xk = swept[0]
    yk = swept[1] if len(swept) > 1 else None
    rest = list(swept[2:])
    xs = np.sort(grid[xk].dropna().unique())
    ys = np.sort(grid[yk].dropna().unique()) if yk else np.array([])
    panels: list[tuple[str, pd.DataFrame]] = []
    left_out: list[str] = []
    if rest:
        for key, block in grid.groupby(rest, sort=True):
            values = key if isinstance(key, tuple) else (key,)
            label = ", ".join(
                f"{k.split('.')[-1]}={_param_value(k, v)}"
                for k, v in zip(rest, values, strict=True)
            )
            if len(panels) < 6:
                panels.append((label, block))
            else:
                left_out.append(label)
    else:
        panels.append(("", grid))

    diverging = metric not in _NONNEGATIVE
    xlab = [_param_value(xk, v) for v in xs]
    ylab = [_param_value(yk, v) for v in ys] if yk else [spec.title]
    cols = min(len(panels), 3)
    nrows = math.ceil(len(panels) / cols)
    fig = make_subplots(
        rows=nrows,
        cols=cols,
        subplot_titles=[p[0] for p in panels] if rest else None,
        horizontal_spacing=0.08,
        vertical_spacing=0.16 if nrows > 1 else 0.1,
    )
    hover_y = f"<br>{_param_title(yk)}: %{{y}}" if yk else ""
    for i, (_, block) in enumerate(panels):
        block = block.drop_duplicates(subset=[xk, yk] if yk else [xk])
        if yk:
            z = block.set_index([yk, xk])[metric].unstack(xk).reindex(index=ys, columns=xs)
            zv = z.to_numpy(dtype=np.float64)
        else:
            zv = block.set_index(xk)[metric].reindex(xs).to_numpy(dtype=np.float64)[None, :]
        text = [[format_metric(spec, v) for v in row] for row in zv]
        fig.add_trace(
            go.Heatmap(
                x=xlab,
                y=ylab,
                z=zv,
                text=text,
                texttemplate="%{text}",
                textfont={"size": 13},
                coloraxis="coloraxis",
                xgap=2,
                ygap=2,
                hovertemplate=(
                    f"{_param_title(xk)}: %{{x}}{hover_y}<br>{spec.title}: %{{text}}<extra></extra>"
                ),
                name=spec.title,
            ),
            row=i // cols + 1,
            col=i % cols + 1,
        )
    finite = np.concatenate([np.asarray(t.z, dtype=np.float64).ravel() for t in fig.data])
    finite = finite[np.isfinite(finite)]
    colorbar: dict[str, Any] = {
        "title": {"text": spec.title, "side": "right", "font": {"size": 12}},
        "thickness": 12,
        "outlinewidth": 0,
    }
    if spec.fmt == "pct":
        colorbar["tickformat"] = PCT_AXIS
    coloraxis: dict[str, Any] = {
        "colorscale": _DIVERGING if diverging else _SEQUENTIAL,
        "colorbar": colorbar,
    }
    if diverging:
        bound = float(np.abs(finite).max()) if finite.size else 1.0
        bound = bound if bound > 0 else 1.0
        coloraxis.update(cmin=-bound, cmax=bound, cmid=0.0)
    else:
        top = float(finite.max()) if finite.size else 1.0
        coloraxis.update(cmin=0.0, cmax=top if top > 0 else 1.0)
    subtitle = None
    if rest:
        subtitle = f"One panel per {', '.join(k.split('.')[-1] for k in rest)}"
        if left_out:
            subtitle += f"; not shown: {'; '.join(left_out)}"
    height = 250 if not yk else int(np.clip(150 + nrows * (70 + 44 * len(ys)), 340, 900))
    _style(fig, title, subtitle=subtitle, height=height, legend="none", panel_titles=bool(rest))
    fig.update_layout(coloraxis=coloraxis)
    fig.update_xaxes(showgrid=False, zeroline=False, showline=False, ticks="", type="category")
    fig.update_yaxes(showgrid=False, zeroline=False, showline=False, ticks="", type="category")
    for c in range(1, cols + 1):
        fig.update_xaxes(title_text=_param_title(xk), row=nrows, col=c)
    for r in range(1, nrows + 1):
        fig.update_yaxes(title_text=_param_title(yk) if yk else "", row=r, col=1)
    if rest:
        _subplot_titles(fig)
    return fig


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


def claims_figure(claims: pd.DataFrame) -> go.Figure | None:
    """What the sources claimed against what the prices say: a dumbbell chart.

    One row per claim with a numeric ``claimed`` return and a finite ``measured`` one (claims
    of ``market_value_change``, in dollars, are left out): an open grey diamond at the claim, a
    dot at the measurement coloured by the verdict (``agrees`` green, ``roughly`` orange,
    ``disagrees`` red), joined by a line. Rows are labelled ``TICKER measure date`` and keep the
    table's order, top to bottom. The hover quotes the source (``says``).

    Parameters
    ----------
    claims : pandas.DataFrame
        One row per claim with columns ``event_id, ticker, measure, date, claimed, measured,
        verdict, says`` (returns as fractions).

    Returns
    -------
    plotly.graph_objects.Figure or None
        Traces: the connecting lines, ``claimed by the source``, then one ``measured: <verdict>``
        trace per verdict present; ``None`` when no row qualifies.

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
    label = label.where(~dup, label + " (" + c["event_id"].astype(str) + ")")
    label = label.map(_esc)
    claimed = c["claimed"].to_numpy(dtype=np.float64)
    measured = c["measured"].to_numpy(dtype=np.float64)
    verdict = c["verdict"].astype(str)
    custom = np.column_stack(
        [
            c["says"].astype(str).map(_esc),
            [f"{x:+.2%}" for x in claimed],
            [f"{x:+.2%}" for x in measured],
            verdict.map(_esc),
            c["event_id"].astype(str).map(_esc),
        ]
    )
    hover = (
        "<b>%{y}</b><br>“%{customdata[0]}”<br>claimed %{customdata[1]}, measured "
        "%{customdata[2]}: %{customdata[3]}<br>%{customdata[4]}<extra></extra>"
    )
    n = len(c)
    gaps = np.full(n, None, dtype=object)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=np.column_stack([claimed, measured, gaps]).ravel(),
            y=np.column_stack([label, label, gaps]).ravel(),
            mode="lines",
            line={"color": "#CFCFCF", "width": 3},
            hoverinfo="skip",
            showlegend=False,
            name="gap",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=claimed,
            y=label,
            mode="markers",
            marker={"symbol": "diamond-open", "size": 12, "color": INK, "line": {"width": 2}},
            name="claimed by the source",
            customdata=custom,
            hovertemplate=hover,
        )
    )
    order = [v for v in VERDICT_COLORS if v in set(verdict)] + sorted(
        set(verdict) - set(VERDICT_COLORS)
    )
    for v in order:
        mask = (verdict == v).to_numpy()
        fig.add_trace(
            go.Scatter(
                x=measured[mask],
                y=label[mask],
                mode="markers",
                marker={
                    "symbol": "circle",
                    "size": 12,
                    "color": VERDICT_COLORS.get(v, MUTED),
                    "line": {"color": "#FFFFFF", "width": 1},
                },
                name=_esc(f"measured: {v}"),
                customdata=custom[mask],
                hovertemplate=hover,
            )
        )
    _style(
        fig,
        "Claims in the sources against the measured moves",
        height=int(np.clip(140 + 40 * n, 300, 900)),
        legend="top",
    )
    fig.update_xaxes(
        title_text="price move on the day (%)", tickformat=PCT_AXIS, hoverformat=PCT_HOVER
    )
    fig.update_yaxes(
        autorange="reversed", showgrid=False, zeroline=False, ticks="", type="category"
    )
    return fig


# ----------------------------------------------------------------------------- embedding


def figure_json(fig: go.Figure) -> str:
    """A figure as JSON that is safe inside an HTML ``<script type="application/json">``.

    ``plotly.io.to_json(fig, validate=False)`` with every ``<``, ``>`` and ``&`` written as
    ``\\u003c``, ``\\u003e`` and ``\\u0026``: the same JSON value, but a catalog title holding
    ``</script>`` cannot close the script element.

    Examples
    --------
    >>> import json, plotly.graph_objects as go
    >>> text = figure_json(go.Figure(layout={"title": {"text": "</script>"}}))
    >>> "<" in text, json.loads(text)["layout"]["title"]["text"]
    (False, '</script>')
    """
    import json

    # 7 significant digits are far beyond what a chart shows, and halve the page's size
    value = json.loads(pio.to_json(fig, validate=False), parse_float=_short_float)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # session dates: "2025-10-30", not "2025-10-30T00:00:00.000000000"
    text = _MIDNIGHT.sub(r'"\1"', text)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_MIDNIGHT = re.compile(r'"(\d{4}-\d{2}-\d{2})T00:00:00(?:\.0+)?"')


def _short_float(s: str) -> float:
    return float(f"{float(s):.7g}")
