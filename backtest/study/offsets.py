"""The offsets of a study, derived once from its spec.

Every (event, ticker) row reads the sessions from ``spec.reach[0]`` to ``spec.reach[1]``
relative to its day 0: its *reach*. The kernels address a row's sessions by their column in
the reach (column 0 is relative day ``reach[0]``); :class:`Offsets` holds every column range
the engine needs, half-open, so that nothing is re-derived elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backtest.study.spec import StudySpec, Window


@dataclass(frozen=True, eq=False)
class Offsets:
    """Columns of a row's reach, from a :class:`~backtest.study.spec.StudySpec`.

    Attributes
    ----------
    first:
        The relative day of column 0 (``spec.reach[0]``).
    length:
        Columns in the reach.
    pad:
        Sessions of NaN padding before and after a market's returns, so that every row's
        reach lies inside the padded return matrix.
    est, path:
        Half-open column ranges of the estimation window and of the AR path.
    day0:
        The column of day 0.
    win_a, win_b:
        Half-open column ranges of the event windows (int64 arrays, one entry per window).
    windows, span:
        The windows and their union (relative days, inclusive).
    in_window:
        uint8 per column: 1 on the days of some event window. The rank test ranks the
        estimation days used and these days (never the rest of the path).
    lengths:
        Per statistic, the largest distance between the day 0 of two rows of one ticker whose
        measured days overlap: 0 for a day's AAR (the same session), ``b - a`` for the CAAR of
        window ``[a, b]``. Statistic 0 is the days', statistic ``1 + w`` window ``w``'s.
    rank_columns, rank_position:
        The columns of the rank sample (the estimation window's and the event windows'), and
        each column's position among them (``len(rank_columns)`` for the others): the rank
        test reads only these, so that the path does not change it.
    rank_bits:
        Low bits of a rank key holding its column: from the largest reach the spec allows
        (``max_offset``), not the reach itself, so that ties are decided the same way
        whatever the path.
    """

    first: int
    length: int
    pad: tuple[int, int]
    est: tuple[int, int]
    day0: int
    path: tuple[int, int]
    win_a: np.ndarray
    win_b: np.ndarray
    windows: tuple[Window, ...]
    span: Window
    in_window: np.ndarray
    lengths: np.ndarray
    rank_columns: np.ndarray
    rank_position: np.ndarray
    rank_bits: int

    @classmethod
    def of(cls, spec: StudySpec) -> Offsets:
        r0, r1 = spec.reach
        length = r1 - r0 + 1
        in_window = np.zeros(length, dtype=np.uint8)
        for a, b in spec.windows:
            in_window[a - r0 : b - r0 + 1] = 1
        ranked = in_window.astype(bool)
        ranked[spec.estimation[0] - r0 : spec.estimation[1] - r0 + 1] = True
        rank_columns = np.flatnonzero(ranked)
        rank_position = np.full(length, len(rank_columns), dtype=np.int64)
        rank_position[rank_columns] = np.arange(len(rank_columns))
        return cls(
            first=r0,
            length=length,
            pad=(max(0, -r0), max(0, r1)),
            est=(spec.estimation[0] - r0, spec.estimation[1] - r0 + 1),
            day0=-r0,
            path=(spec.path[0] - r0, spec.path[1] - r0 + 1),
            win_a=np.array([a - r0 for a, _ in spec.windows], dtype=np.int64),
            win_b=np.array([b - r0 + 1 for _, b in spec.windows], dtype=np.int64),
            windows=spec.windows,
            span=spec.span,
            in_window=in_window,
            lengths=np.array([0, *(b - a for a, b in spec.windows)], dtype=np.int64),
            rank_columns=rank_columns,
            rank_position=rank_position,
            rank_bits=max(1, int(2 * spec.max_offset).bit_length()),
        )

    @property
    def path_days(self) -> np.ndarray:
        """The relative days of the AR path."""
        return np.arange(self.path[0], self.path[1]) + self.first

    @property
    def n_stats(self) -> int:
        """Statistics with their own observations: the days (0) and each window (1 + w)."""
        return len(self.lengths)

    def column(self, day: int) -> int:
        """The column of relative day ``day``."""
        return day - self.first
