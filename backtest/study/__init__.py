"""The event-study engine: abnormal returns, CARs, BHARs and the test battery.

>>> from backtest.study import StudySpec, run_study     # doctest: +SKIP
>>> result = run_study(catalog, prices, StudySpec(model="market"))  # doctest: +SKIP
>>> print(result.summary())                              # doctest: +SKIP

The names below are loaded on first use (PEP 562), so that importing
``backtest.study.spec`` (what ``evbt study --help`` needs) imports neither pandas nor NumPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backtest._lazy import lazy_names

if TYPE_CHECKING:
    from backtest.study.engine import StudyDataLossError, run_study
    from backtest.study.inputs import (
        Dropped,
        EventsFileError,
        FactorFileError,
        FactorScaleError,
        check_factor_scale,
        read_events_csv,
        read_factors,
        session_returns,
    )
    from backtest.study.results import Comparison, EventStudyResult, compare
    from backtest.study.spec import MODELS, SpecError, StudySpec, window_label
    from backtest.study.statistics import GROUP_TESTS, TestResult

#: Where each public name lives.
_WHERE = {
    "StudyDataLossError": "engine",
    "run_study": "engine",
    "Dropped": "inputs",
    "EventsFileError": "inputs",
    "FactorFileError": "inputs",
    "FactorScaleError": "inputs",
    "check_factor_scale": "inputs",
    "read_events_csv": "inputs",
    "read_factors": "inputs",
    "session_returns": "inputs",
    "Comparison": "results",
    "EventStudyResult": "results",
    "compare": "results",
    "MODELS": "spec",
    "SpecError": "spec",
    "StudySpec": "spec",
    "window_label": "spec",
    "GROUP_TESTS": "statistics",
    "TestResult": "statistics",
}

__all__ = [
    "GROUP_TESTS",
    "MODELS",
    "Comparison",
    "Dropped",
    "EventStudyResult",
    "EventsFileError",
    "FactorFileError",
    "FactorScaleError",
    "SpecError",
    "StudyDataLossError",
    "StudySpec",
    "TestResult",
    "check_factor_scale",
    "compare",
    "read_events_csv",
    "read_factors",
    "run_study",
    "session_returns",
    "window_label",
]


__getattr__, __dir__ = lazy_names(__name__, {k: f"{__name__}.{m}" for k, m in _WHERE.items()})
