"""Run configurations: defaults without a file, every problem named by file and field, paths
relative to the file, and a written-back configuration that repeats the run."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from backtest.job import ConfigError, load_config
from backtest.study import MODELS, StudySpec


def write(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value).splitlines()


def test_defaults_need_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    c = load_config()
    assert c.name == "evbt-run"
    assert c.base == str(tmp_path)
    assert c.study_spec() == StudySpec()
    assert c.resolve(c.output.dir) == tmp_path / "reports"


def test_a_full_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
name = "earnings"
[catalog]
paths = ["cat"]
categories = ["earnings"]
start = 2022-01-01
[study]
model = "market_adjusted"
windows = [[0, 0], [-2, 2]]
benchmark = "QQQ"
[strategies]
paths = []
[prices]
dir = "../prices"
[output]
dir = "out"
""",
    )
    c = load_config(path)
    assert c.name == "earnings"
    assert c.catalog.categories == ("earnings",)
    assert str(c.catalog.start) == "2022-01-01"
    assert c.resolve(c.catalog.paths[0]) == tmp_path / "cat"  # relative to the file
    assert c.resolve(c.prices.dir) == tmp_path / "../prices"
    spec = c.study_spec()
    assert spec.model == "market_adjusted"
    assert spec.windows == ((0, 0), (-2, 2))
    assert dict(spec.benchmarks) == {"XNYS": "QQQ"}
    assert c.strategies.paths == ()


def test_the_name_defaults_to_the_file_name(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "", "weekly-check.toml")).name == "weekly-check"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nmae = 'x'\n", "field nmae: unknown section or field (known: name, catalog, study, "
         "strategies, prices, output, limits); did you mean 'name'?"),
        ("[study]\nmodel = 'capm'\n", "field study.model: 'capm' is not allowed (use "
         + ", ".join(repr(m) for m in MODELS[:-1]) + f" or {MODELS[-1]!r})"),
        ("[study]\nmodel = 'factor'\n", "field study.factors: model = \"factor\" needs "
         "factors = [\"file.CSV\", ...]"),
        ("[study]\nwindows = [[2, -2]]\n", "field study.windows: windows[0] (2, -2) starts "
         "after it ends: write (-2, 2)"),
        ("[catalog]\ncategory = ['earnings']\n", "field catalog.category: unknown field (known: "
         "paths, categories, ids, tickers, start, end, confounders, earnings_confounders); did you "
         "mean 'categories'?"),
        ("name = 'a/b'\n", "field name: Value error, 'a/b' cannot name a report folder"),
        ("[catalog]\nstart = 'soon'\n", "field catalog.start: Value error, expected a date such "
         "as 2024-01-31, got 'soon'"),
        ("study = 3\n", "field study: expected a [study] table, got 3"),
        ("name = \n", "not valid TOML"),
    ],
    ids=lambda v: str(v)[:24],
)  # fmt: skip
def test_problems_name_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    found = problems(path)
    assert found[0].startswith(f"{path}: "), found
    assert expected.replace("Value error, ", "") in found[0].replace("Value error, ", ""), found


def test_every_problem_is_listed(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "[study]\nmodel = 'capm'\nmin_estimation = 'x'\n"))
    assert len(found) == 2


def test_every_study_problem_is_listed_at_once_with_its_field(tmp_path: Path) -> None:
    """A bad estimation window, bad windows, a bad min_estimation and max_loss: one message
    each, named by its field, in StudySpec's own words (they were reported one per run, as
    "field study: ...")."""
    path = write(
        tmp_path,
        "[study]\nestimation = [-10, -250]\nmin_estimation = 1\nwindows = [[0, 1], [2, -2]]\n"
        "max_loss = 3.0\n",
    )
    assert problems(path) == [
        f"{path}: field study.estimation: estimation (-10, -250) starts after it ends: "
        "write (-250, -10)",
        f"{path}: field study.min_estimation: min_estimation must be a whole number >= 3, not 1",
        f"{path}: field study.windows: windows[1] (2, -2) starts after it ends: write (-2, 2)",
        f"{path}: field study.max_loss: max_loss must be a fraction between 0 and 1, not 3.0",
    ]


def test_a_rule_between_settings_is_checked_with_the_defaults(tmp_path: Path) -> None:
    """The estimation window must end before the first of the default windows (day -5), and
    min_estimation must fit in it; a window beyond [limits] keeps the limits' message."""
    path = write(
        tmp_path,
        "[study]\nestimation = [-100, -5]\nmin_estimation = 200\nconfounder_window = [-1500, 1]\n",
    )
    assert problems(path) == [
        f"{path}: field study.estimation: the estimation window (-100, -5) must end before the "
        "first event window starts (day -5); e.g. estimation=(-205, -6)",
        f"{path}: field study.min_estimation: min_estimation=200 is more than the 96 days of "
        "the estimation window (-100, -5)",
        f"{path}: field study.confounder_window: at most 1,000 sessions from day 0, asked for "
        "1,500 (-1500, 1); raise [limits] sessions in the run configuration",
    ]


def test_settings_of_the_wrong_type_and_bad_values_are_listed_together(tmp_path: Path) -> None:
    """A model that is not one and a min_estimation that is not a number (refused by their
    types) do not hide the windows' problem; the estimation window is not compared with the
    refused windows, nor with the default ones (it ends on day 0, fine on its own)."""
    path = write(
        tmp_path, "[study]\nmodel = 'capm'\nwindows = [[2, -2]]\nmin_estimation = 'x'\n"
        "estimation = [-250, 0]\ngroup_by = ['all', 'x:sign', 'x:quintiles']\n",
    )  # fmt: skip
    found = problems(path)
    assert [line.split(": ")[1] for line in found] == [
        "field study.model",
        "field study.min_estimation",
        "field study.windows",
        "field study.group_by",
    ]
    assert found[2:] == [
        f"{path}: field study.windows: windows[0] (2, -2) starts after it ends: write (-2, 2)",
        f"{path}: field study.group_by: group_by 'x:quintiles': 'quintiles' is not a binning; "
        "use tertile, quartile, quintile, decile, sign or increasing edges such as x:-5,0,5",
    ]


def test_a_refused_file_also_lists_what_the_run_would_refuse(tmp_path: Path) -> None:
    """With a bad setting, the problems a run checks when it starts (a binning, a strategy
    path) are listed too: one run shows them all."""
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "broken.toml").write_text("[exit\n", encoding="utf-8")
    path = write(
        tmp_path,
        "[study]\nwindows = [[2, -2]]\ngroup_by = ['all', 'x:5,0']\n"
        "[strategies]\npaths = ['nope.toml', 's', 's/broken.toml']\n",
    )
    found = problems(path)
    assert found[:3] == [
        f"{path}: field study.windows: windows[0] (2, -2) starts after it ends: write (-2, 2)",
        f"{path}: field study.group_by: group_by 'x:5,0': edges must increase (5,0)",
        f"{path}: field strategies.paths: strategy {tmp_path / 'nope.toml'}: no such strategy "
        "file or folder",
    ]
    # named twice (in its folder, then itself), reported once
    (last,) = found[3:]
    assert last.startswith(
        f"{path}: field strategies.paths: strategy {tmp_path / 's' / 'broken.toml'}: not valid "
        "TOML: "
    )


def test_missing_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.toml") == [
        f"{tmp_path / 'nope.toml'}: no such run configuration file"
    ]


def test_written_back_configuration_repeats_the_run(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    c = load_config(
        write(
            tmp_path / "sub", "name = 'x'\n[catalog]\npaths = ['../events']\nstart = 2023-01-01\n"
        )
    )
    text = c.to_toml()
    data = tomllib.loads(text)
    assert data["catalog"]["paths"] == [str((tmp_path / "events").resolve())]
    assert str(data["catalog"]["start"]) == "2023-01-01"
    # loaded again from another folder, it is the same configuration
    again = load_config(write(tmp_path, text, "copy.toml"))
    assert again.absolute().describe() | {"base": "", "file": ""} == c.absolute().describe() | {
        "base": "",
        "file": "",
    }


@pytest.mark.parametrize(
    ("estimation", "hint"),
    [("[-90, 0]", "; e.g. estimation=(-96, -6)"),  # 91 days ending at day -6: within 100
     ("[-100, 0]", "")],  # 101 days ending at day -6 reach day -106: none fits
)  # fmt: skip
def test_the_suggested_estimation_window_stays_within_the_limits(
    tmp_path: Path, estimation: str, hint: str
) -> None:
    """With [limits] sessions = 100, the window suggested stays within 100 sessions of day 0
    (it was (-100, -6), shorter than the window, whatever the limit)."""
    path = write(
        tmp_path,
        f"[study]\nestimation = {estimation}\nmin_estimation = 50\n[limits]\nsessions = 100\n",
    )
    assert problems(path) == [
        f"{path}: field study.estimation: the estimation window ({estimation[1:-1]}) must end "
        f"before the first event window starts (day -5){hint}",
    ]
