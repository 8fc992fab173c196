"""The drop log of a study: every (event, ticker) row left out, with its stage and reason."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
