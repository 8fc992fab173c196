"""The drop log of a study: every (event, ticker) row left out, with its stage and reason."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from backtest.study.inputs import Dropped, dropped_frame


class DropLog:
    """Which rows of the event table are still kept, and why the others were dropped.

    Rows dropped before the table was built (``given``: bad lines of an events file,
    duplicate rows) come first in :meth:`frame`, then the rows dropped here, in the order
    they were dropped. Reasons are only built for dropped rows (a text, or a function of the
    row called for those rows alone): the cost is the report's, never the measurement's.
    """

    def __init__(self, table: pd.DataFrame, given: Sequence[Dropped] = ()) -> None:
        self.keep = np.ones(len(table), dtype=bool)
        self._ids = table["event_id"]
        self._tickers = table["ticker"]
        self._given = list(given)
        self._rows: list[np.ndarray] = []
        self._stages: list[str] = []
        self._reasons: list[list[str]] = []

    def drop(self, mask: np.ndarray, stage: str, reason: str | Callable[[int], str]) -> None:
        """Drop the rows of ``mask`` that are still kept, for ``reason``."""
        mask = mask & self.keep
        if not mask.any():
            return
        rows = np.flatnonzero(mask)
        whys = [reason if isinstance(reason, str) else reason(int(i)) for i in rows]
        self.record(rows, [stage] * len(rows), whys)

    def record(self, rows: np.ndarray, stages: Sequence[str], reasons: Sequence[str]) -> None:
        """Drop ``rows`` (still kept) with a stage and a reason each."""
        if not len(rows):
            return
        self.keep[rows] = False
        self._rows.append(np.asarray(rows, dtype=np.int64))
        self._stages += list(stages)
        self._reasons.append(list(reasons))

    def __len__(self) -> int:
        return len(self._given) + sum(len(r) for r in self._rows)

    def frame(self) -> pd.DataFrame:
        """``event_id, ticker, stage, reason`` of every dropped row."""
        given = dropped_frame(self._given)
        if not self._rows:
            return given
        rows = np.concatenate(self._rows)
        here = pd.DataFrame(
            {
                "event_id": self._ids.iloc[rows].astype(str).to_numpy(),
                "ticker": self._tickers.iloc[rows].astype(str).to_numpy(),
                "stage": self._stages,
                "reason": [r for chunk in self._reasons for r in chunk],
            }
        )
        return here if given.empty else pd.concat([given, here], ignore_index=True)


class ReturnGaps:
    """Why a return a study reads is missing: from the closes and the prices' quality report.

    The return of a session is its close over the close of the session before, so it is
    missing when either close is: :meth:`why` names which, and why that close is missing
    (past the end or before the start of the ticker's prices, a session with no row for it,
    a row the quality checks masked, or no session before it in the price data). Texts are
    only formed for the rows and windows that need one.
    """

    def __init__(self, close: pd.DataFrame, quality: Any = None) -> None:
        self._close = close
        self._ends: dict[str, tuple[pd.Timestamp, pd.Timestamp] | None] = {}
        self._masked = masked_rows(quality)
        self._no_row = {
            (i.ticker, pd.Timestamp(d))
            for i in getattr(quality, "issues", ()) or ()
            if i.check == "missing_session"
            for d in i.dates
        }

    def ends(self, name: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The first and last dates on which ``name`` has a close (None: never)."""
        if name not in self._ends:
            span = None
            if name in self._close.columns:
                valid = self._close[name].dropna().index
                if len(valid):
                    span = (valid[0], valid[-1])
            self._ends[name] = span
        return self._ends[name]

    def masked(self, name: str, day: pd.Timestamp) -> str | None:
        """The quality check that masked ``name``'s row of ``day`` (with its message), or None."""
        return self._masked.get((name, pd.Timestamp(day).normalize()))

    def close_missing(self, name: str, day: pd.Timestamp) -> str:
        """Why ``name`` has no close on the session ``day``."""
        found = self.masked(name, day)
        if found is not None:
            return (
                f"the {name} price of {day.date()} is in the data but the quality checks "
                f"masked it ({found})"
            )
        span = self.ends(name)
        if span is None:
            return f"{name} has no prices"
        if day > span[1]:
            return f"past the end of {name}'s prices (last {span[1].date()})"
        if day < span[0]:
            return f"before {name}'s first price ({span[0].date()})"
        if (name, day) in self._no_row:
            return (
                f"{name} has no row for the session {day.date()} (missing_session in the "
                "quality report)"
            )
        return f"{name} has no price on {day.date()}, a session inside its prices"

    def why(self, name: str, sessions: pd.DatetimeIndex, s: int) -> str:
        """Why ``name`` has no return on ``sessions[s]`` (``s`` may lie outside them)."""
        if not len(sessions):
            return "no sessions in the price data"
        if s < 0:
            return f"before the first session of the price data ({sessions[0].date()})"
        if s >= len(sessions):
            return f"after the last session of the price data ({sessions[-1].date()})"
        day = sessions[s]
        close = self._close[name] if name in self._close.columns else None
        here = close.get(day) if close is not None else None
        if here is None or not np.isfinite(here):
            return self.close_missing(name, day)
        if s == 0:
            return f"{day.date()} is the first session of the price data (no close before it)"
        prev = sessions[s - 1]
        return f"no close on the session before ({prev.date()}): " + self.close_missing(name, prev)


def masked_rows(quality: Any) -> dict[tuple[str, pd.Timestamp], str]:
    """Per (ticker, date) masked by a quality error, ``check: what it means`` (``
    conflicting_duplicate: date repeated with different values``; empty without a
    report)."""
    from backtest.prices.quality import CHECKS

    meaning = {c.name: c.meaning.removesuffix(" (masked)") for c in CHECKS}
    out: dict[tuple[str, pd.Timestamp], str] = {}
    for issue in getattr(quality, "errors", ()) or ():
        what = f"{issue.check}: {meaning.get(issue.check, issue.message)}"
        for d in issue.dates:
            out.setdefault((issue.ticker, pd.Timestamp(d)), what)
    return out


def window_gaps(
    windows: Sequence[tuple[int, int]],
    incomplete: np.ndarray,
    rows: np.ndarray,
    series: Callable[[int], list[Series]],
    sessions_of: Callable[[int], tuple[pd.DatetimeIndex, int]],
    gaps: ReturnGaps,
) -> np.ndarray:
    """Per measured row and window (``incomplete``: rows x windows, True where the window has
    no value) why it has none, "" where it has one: the first day whose return is missing,
    whose (the stock's, the benchmark's, a factor's) and why, and how many are missing.

    ``series(row)``: the series the row reads (:data:`Series`); ``sessions_of(row)``: its
    block's sessions and left pad. A loop over the incomplete cells only: the report's cost,
    never the measurement's."""
    out = np.full(incomplete.shape, "", dtype=object)
    for i, j in zip(*np.nonzero(incomplete), strict=True):
        row = int(rows[i])
        a, b = windows[j]
        sessions, pad = sessions_of(row)
        days = np.arange(a, b + 1)
        read = series(row)
        missing = np.zeros((len(read), len(days)), dtype=bool)
        for k, (_, _, returns, t0) in enumerate(read):
            at = t0 + days
            inside = (at >= 0) & (at < len(returns))
            missing[k] = ~inside
            missing[k, inside] = np.isnan(returns[at[inside]])
        any_day = missing.any(axis=0)
        if not any_day.any():
            out[i, j] = "no value, though no return in the window is missing"
            continue
        d = int(np.argmax(any_day))
        label, name, _, t0 = read[int(np.argmax(missing[:, d]))]
        s = t0 + int(days[d]) - pad
        date = f" ({sessions[s].date()})" if 0 <= s < len(sessions) else ""
        cause = (
            gaps.why(name, sessions, s)
            if name is not None
            else "the factor file has no value for that day"
        )
        text = f"no {label} return on day {int(days[d]):+d}{date}: {cause}"
        n_missing = int(any_day.sum())
        if n_missing > 1:
            text += f" ({n_missing} of the window's {len(days)} days lack a return)"
        out[i, j] = text
    return out


#: A series a row reads: its label in a reason ("META", "benchmark SPY", "factor SMB"), its
#: ticker in the closes (None for a factor or the risk-free rate), its returns on the padded
#: sessions of its market block, and the padded column of the row's day 0.
Series = tuple[str, str | None, np.ndarray, int]
