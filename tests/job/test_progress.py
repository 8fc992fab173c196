"""Progress: the event study names its stages; a step's line shows the stage it is in."""

from __future__ import annotations

from typing import Any

from backtest.job.progress import Steps, StepUpdate
from backtest.study import StudySpec, run_study
from backtest.study.engine import STAGES
from tests.study.test_earnings_history import _events, _market


class _FakeProgress:
    """Records what a rich ``Progress`` is told."""

    def __init__(self) -> None:
        self.descriptions: list[str] = []
        self.tasks: dict[int, Any] = {}

    def add_task(self, description: str, total: int | None = None) -> int:
        self.descriptions.append(description)
        self.tasks[0] = type("T", (), {"total": total})()
        return 0

    def update(self, task: int, **kw: Any) -> None:
        if "description" in kw:
            self.descriptions.append(kw["description"])
        if "total" in kw:
            self.tasks[task].total = kw["total"]


def test_run_study_names_its_stages_in_order() -> None:
    _, close, _ = _market()
    events = _events(close)
    stages: list[str] = []
    ticks: list[tuple[int, int]] = []
    res = run_study(
        events,
        close,
        StudySpec(model="market_adjusted", estimation=(-120, -11), min_estimation=60),
        progress=lambda d, t: ticks.append((d, t)),
        stage=stages.append,
    )
    assert stages == [*STAGES, "earnings history"]
    assert stages[0] == "aligning with prices"
    # the bar counts both passes (fit, measure) over the rows kept after aligning, and grows
    assert ticks
    assert len({t for _, t in ticks}) == 1
    assert ticks[-1][0] <= ticks[-1][1] == 2 * (len(res.events) + len(res.dropped))
    assert [d for d, _ in ticks] == sorted(d for d, _ in ticks)


def test_no_earnings_no_earnings_stage() -> None:
    _, close, _ = _market()
    events = _events(close)
    events = events[events["category"] != "earnings"]
    stages: list[str] = []
    run_study(
        events,
        close,
        StudySpec(model="market_adjusted", estimation=(-120, -11), min_estimation=60),
        stage=stages.append,
    )
    assert stages == list(STAGES)


def test_a_step_line_shows_its_stage_then_its_name_again() -> None:
    fake = _FakeProgress()
    update = StepUpdate("event study", fake, None)
    update.stage("test battery")
    update(3, 10)
    update.finish()
    assert fake.descriptions == ["event study", "event study: test battery", "event study"]
    assert update.stages == ["test battery"]


def test_disabled_steps_still_time_and_take_stages() -> None:
    with Steps(enabled=False) as steps, steps.step("event study") as update:
        update.stage("fitting and measuring")
        update(1, 2)
    assert update.stages == ["fitting and measuring"]
    assert isinstance(steps.timings["event study"], float)


def test_enabled_steps_show_the_step_on_stderr(capsys: Any) -> None:
    with Steps(enabled=True) as steps, steps.step("event study") as update:
        update.stage("test battery")
    assert "event study" in capsys.readouterr().err
    assert steps.timings["event study"] >= 0
