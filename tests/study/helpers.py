"""Helpers of the event-study tests."""

from __future__ import annotations

import pandas as pd

from backtest.study import StudySpec
from backtest.study.inputs import normalize_event_table, price_needs


def loaded(close: pd.DataFrame, events: pd.DataFrame, spec: StudySpec) -> pd.DataFrame:
    """The prices a caller loads for a study of ``events`` (the range of ``price_needs``),
    as a price source would return them from the full history ``close``."""
    table, _ = normalize_event_table(events)
    _, start, end = price_needs(table, reach=spec.reach, benchmarks=dict(spec.benchmarks))
    return close.loc[start:end]
