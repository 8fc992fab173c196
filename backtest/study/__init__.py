"""The event-study engine: abnormal returns, CARs, BHARs and the test battery.

>>> from backtest.study import StudySpec, run_study     # doctest: +SKIP
>>> result = run_study(catalog, prices, StudySpec(model="market"))  # doctest: +SKIP
>>> print(result.summary())                              # doctest: +SKIP
"""

from backtest.study.engine import StudyDataLossError, run_study
from backtest.study.inputs import (
    Dropped,
    EventsFileError,
    FactorFileError,
    read_events_csv,
    read_factors,
    session_returns,
)
from backtest.study.results import EventStudyResult
from backtest.study.spec import MODELS, SpecError, StudySpec, window_label
from backtest.study.statistics import GROUP_TESTS, TestResult

__all__ = [
    "GROUP_TESTS",
    "MODELS",
    "Dropped",
    "EventStudyResult",
    "EventsFileError",
    "FactorFileError",
    "SpecError",
    "StudyDataLossError",
    "StudySpec",
    "TestResult",
    "read_events_csv",
    "read_factors",
    "run_study",
    "session_returns",
    "window_label",
]
