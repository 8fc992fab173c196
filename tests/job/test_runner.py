"""The job's plumbing on the real catalog and prices: the study and the strategies see the whole
catalog whatever is selected, the run's study is handed to the strategies, every input is
recorded, limits are enforced before anything runs, and the result reads well."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backtest.job import load_config, run_job
from backtest.reports import write_report
from backtest.summary import Summary

pytestmark = pytest.mark.slow  # each runs the job on the real catalog (2-3 s)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def layoff_run(tmp_path: Path, repo_root: Path, shared_prices_dir: Path) -> Path:
    (tmp_path / "strategies").mkdir()
    write(
        tmp_path / "strategies" / "layoffs.toml",
        'name = "layoffs"\n[events]\ncategories = ["layoff"]\n[exit]\nhold = [1, 5]\n',
    )
    return write(
        tmp_path / "run.toml",
        f'name = "layoffs"\n[catalog]\npaths = ["{repo_root / "events"}"]\n'
        'categories = ["layoff"]\n[study]\nmax_loss = 0.5\n[strategies]\npaths = ["strategies"]\n'
        f'[prices]\ndir = "{shared_prices_dir}"\n',
    )


def test_the_study_and_the_strategies_see_the_whole_catalog(
    layoff_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import backtest.portfolio
    import backtest.study

    seen: dict[str, Any] = {}
    real_study, real_strategy = backtest.study.run_study, backtest.portfolio.run_strategy

    def spy_study(events: Any, prices: Any, spec: Any, **kw: Any) -> Any:
        seen["studied"] = set(events["event_id"])
        seen["context"] = kw["context"]
        seen["study"] = real_study(events, prices, spec, **kw)
        return seen["study"]

    def spy_strategy(
        strategy: Any, catalog: Any, *, prices: Any = None, study: Any = None, **kw: Any
    ) -> Any:
        seen["strategy_catalog"] = catalog
        seen["strategy_context"] = kw.get("context")
        seen["strategy_study"] = study
        seen["traded_ids"] = strategy.events.ids
        return real_strategy(strategy, catalog, prices=prices)

    monkeypatch.setattr(backtest.study, "run_study", spy_study)
    monkeypatch.setattr(backtest.portfolio, "run_strategy", spy_strategy)
    result = run_job(load_config(layoff_run))
    assert len(result.catalog) == 5  # the selection: the five layoff events
    layoff_ids = {e.id for e in result.catalog}
    assert seen["studied"] == layoff_ids
    # the whole catalog as the study's context and the strategies' catalog, never the selection
    assert len(seen["context"]) == 46
    assert len(seen["strategy_catalog"]) == 46
    assert seen["strategy_context"] is seen["context"]  # the study's context, confounders and all
    assert result.context is not None
    assert len(result.context) == 46
    # the strategy trades only the run's selection, and gets the run's own study
    assert set(seen["traded_ids"]) == layoff_ids
    assert seen["strategy_study"] is seen["study"] is result.study


def test_a_sweep_over_the_limit_is_refused_before_it_runs(
    layoff_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import backtest.portfolio

    strategies = layoff_run.parent / "strategies"
    holds = ", ".join(str(h) for h in range(1, 201))
    lags = ", ".join(str(x) for x in range(100))
    write(strategies / "huge.toml", f'name = "huge"\n[exit]\nhold = [{holds}]\n'
          f"[entry]\nlag = [{lags}]\n")  # fmt: skip
    ran: list[str] = []
    real = backtest.portfolio.run_strategy
    monkeypatch.setattr(
        backtest.portfolio,
        "run_strategy",
        lambda s, c, **kw: ran.append(s.name) or real(s, c, prices=kw["prices"]),
    )
    result = run_job(load_config(layoff_run))
    assert ran == ["layoffs"]
    ((file, message),) = result.strategy_errors
    assert file == str(strategies / "huge.toml")
    assert message.startswith(f"{strategies / 'huge.toml'}: ")
    assert message == (
        f"{strategies / 'huge.toml'}: at most 10,000 parameter combinations of a sweep, asked "
        "for 20,000 (100 entry.lag x 200 exit.hold); raise [limits] combinations in the run "
        "configuration"
    )
    # the limit is the run configuration's
    text = layoff_run.read_text(encoding="utf-8") + "[limits]\ncombinations = 20000\n"
    write(layoff_run, text)
    assert load_config(layoff_run).limits.combinations == 20_000
    assert load_config(layoff_run).strategy_limits().max_combinations == 20_000


def test_inputs_are_recorded_and_the_result_reads_well(
    layoff_run: Path, repo_root: Path, shared_prices_dir: Path
) -> None:
    result = run_job(load_config(layoff_run))
    assert set(result.input_paths) == {
        (repo_root / "events").resolve(),
        (layoff_run.parent / "strategies").resolve(),
        shared_prices_dir.resolve(),
        layoff_run.resolve(),
    }
    text = repr(result)
    assert len(text) < 200  # fits a screen (it was 94 kB)
    assert text.startswith("<RunResult 'layoffs': 5 events; study ")
    summary = result.summary()
    assert isinstance(summary, Summary)
    assert str(result) == summary.as_text()
    assert "<table" in result._repr_html_()
    (strategy_row,) = list(summary.blocks[1].rows)  # type: ignore[union-attr]
    assert strategy_row[0] == "layoffs"
    assert strategy_row[2] == "2"  # two combinations: hold 1 and 5
    assert " to " in strategy_row[4]  # a range, not a best point
    # offline from a CSV folder: the earnings calendars are not fetched, and the notes say so
    assert any("not fetched" in n for n in result.notes)
    # ... and so does the printed summary, every note in full under "Notes"
    text = str(summary)
    assert "Notes" in text
    flat = " ".join(text.split())
    for note in result.notes:
        assert " ".join(note.split()) in flat, note
    assert "Earnings calendars were not fetched as confounders: the run read prices" in flat


def test_the_source_given_is_recorded(layoff_run: Path, shared_prices_dir: Path) -> None:
    from backtest.prices import CsvDirSource

    text = layoff_run.read_text(encoding="utf-8").replace(f'dir = "{shared_prices_dir}"\n', "")
    write(layoff_run, text)
    result = run_job(load_config(layoff_run), source=CsvDirSource(shared_prices_dir))
    assert result.config.prices.dir == str(shared_prices_dir.resolve())
    assert f'dir = "{shared_prices_dir.resolve()}"' in result.config.to_toml()


def test_a_strategy_matching_no_event_of_the_catalog_is_a_note_not_a_failure(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path
) -> None:
    """The shipped layoff strategy on a catalog with earnings only (an import, say) has
    nothing to trade: the run says so as a note; it is not a failed part of the run."""
    (tmp_path / "strategies").mkdir()
    write(
        tmp_path / "strategies" / "layoffs.toml",
        'name = "layoffs"\n[events]\ncategories = ["layoff"]\n[exit]\nhold = [1]\n',
    )
    write(
        tmp_path / "strategies" / "earnings.toml",
        'name = "earnings"\n[events]\ncategories = ["earnings"]\n[exit]\nhold = [1]\n',
    )
    catalog = write(
        tmp_path / "earnings.csv",
        "id,ticker,date,timing,category,title\n"
        "meta-2025-10-29-earnings,META,2025-10-29,after_close,earnings,META Q3 2025\n",
    )
    config = write(
        tmp_path / "run.toml",
        f'name = "e"\n[catalog]\npaths = ["{catalog}"]\n[study]\nmin_estimation = 100\n'
        f'[strategies]\npaths = ["strategies"]\n[prices]\ndir = "{shared_prices_dir}"\n',
    )
    result = run_job(load_config(config))
    assert list(result.failures) == []
    assert [b.strategy.name for b in result.backtests] == ["earnings"]
    notes = dict(result.strategy_notes)
    (layoff_note,) = [m for f, m in notes.items() if f.endswith("layoffs.toml")]
    assert layoff_note.startswith("not run: ")
    # and every output says so, not the HTML page alone: the printed summary, summary.md and
    # run.json (a script or a reader of the terminal would not learn it otherwise)
    reason = layoff_note.removeprefix("not run: ")
    text = str(result.summary())
    assert f"Strategies not run\n------------------\n- layoffs.toml: {reason}" in text
    out = tmp_path / "report"
    write_report(result, out)
    assert f"- `layoffs.toml`: {reason}" in (out / "summary.md").read_text(encoding="utf-8")
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    (entry,) = record["strategies_not_run"]
    assert entry["file"].endswith("layoffs.toml")
    assert entry["reason"] == layoff_note
    assert record["counts"]["strategies_not_run"] == 1
    assert record["failures"] == []
    assert record["counts"]["strategy_errors"] == 0


def test_an_event_asking_for_the_factor_model_gets_the_run_s_factor_files(
    tmp_path: Path, shared_prices_dir: Path
) -> None:
    """``[study] factors`` were read only when the run's model was "factor", so an event whose
    own model is "factor" was dropped ("needs daily factors") although the files were given
    (``evbt study --factors`` reads them whatever the model)."""
    catalog = write(
        tmp_path / "events.csv",
        "id,ticker,date,timing,category,title,model\n"
        "meta-2023-02-01-earnings,META,2023-02-01,after_close,earnings,META Q4 2022,factor\n"
        "meta-2023-04-26-earnings,META,2023-04-26,after_close,earnings,META Q1 2023,\n",
    )
    factors = shared_prices_dir.parent / "factors" / "F-F_Research_Data_Factors_daily.csv"
    config = write(
        tmp_path / "run.toml",
        f'name = "f"\n[catalog]\npaths = ["{catalog}"]\n[study]\nmodel = "market"\n'
        f'factors = ["{factors}"]\n[strategies]\npaths = []\n'
        f'[prices]\ndir = "{shared_prices_dir}"\n',
    )
    result = run_job(load_config(config))
    events = result.study.events.set_index("event_id")
    assert len(result.study.dropped) == 0
    assert events.loc["meta-2023-02-01-earnings", "model"] == "factor"
    assert events.loc["meta-2023-04-26-earnings", "model"] == "market"


def test_a_run_parses_each_factor_file_once(
    tmp_path: Path, shared_prices_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: the check before the prices load (factor_problems) and the study each parsed
    every ``[study] factors`` file."""
    import backtest.study.inputs as inputs

    parsed: list[str] = []
    real = inputs._read_factor_file
    monkeypatch.setattr(
        inputs, "_read_factor_file", lambda p: parsed.append(Path(p).name) or real(p)
    )
    catalog = write(
        tmp_path / "events.csv",
        "id,ticker,date,timing,category,title\n"
        "meta-2023-02-01-earnings,META,2023-02-01,after_close,earnings,META Q4 2022\n",
    )
    folder = shared_prices_dir.parent / "factors"
    ff5 = folder / "F-F_Research_Data_5_Factors_2x3_daily.csv"
    mom = folder / "F-F_Momentum_Factor_daily.csv"
    config = write(
        tmp_path / "run.toml",
        f'name = "f"\n[catalog]\npaths = ["{catalog}"]\n[study]\nmodel = "factor"\n'
        f'factors = ["{ff5}", "{mom}"]\n[strategies]\npaths = []\n'
        f'[prices]\ndir = "{shared_prices_dir}"\n',
    )
    result = run_job(load_config(config))
    assert result.study_error is None
    assert list(result.study.events["model"]) == ["factor"]
    assert parsed == [ff5.name, mom.name]
