"""`evbt run`'s inputs read as the user meant them: a confounder calendar that lists a catalog
event is not another event; a bad benchmark names its file and field; the summary says
whether the earnings calendars were fetched."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.cli import cli, main
from tests.conftest import _shared

ONE_EVENT = """\
[catalog]
ids = ["meta-2025q3-results"]
[study]
min_estimation = 60
[strategies]
paths = []
"""


def _events(tmp_path: Path, repo_root: Path, prices: Path, calendar: Path, out: str) -> pd.Series:
    config = tmp_path / "one.toml"
    config.write_text(ONE_EVENT, encoding="utf-8")
    r = CliRunner().invoke(
        cli,
        ["run", "--config", str(config), "--catalog", str(repo_root / "events"),
         "--confounders", str(calendar), "--prices-dir", str(prices),
         "--out", str(tmp_path / out), "--quiet"],
        catch_exceptions=False,
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    table = pd.read_csv(tmp_path / out / "tables" / "events.csv")
    (row,) = [r for _, r in table.iterrows() if r["event_id"] == "meta-2025q3-results"]
    return row


def test_the_calendars_copy_of_a_catalog_event_does_not_confound_it(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path
) -> None:
    """META's earnings calendar lists the catalog's meta-2025q3-results (2025-10-29 after the
    close, day 0 2025-10-30) as meta-2025-10-29-earnings: the same announcement. The only
    other news on META's day 0 is the Busan summit (a market-wide catalog event that day)."""
    calendar = _shared("sp500/earnings") / "META.csv"
    lines = calendar.read_text(encoding="utf-8").splitlines(keepends=True)
    assert sum(x.startswith("2025-10-29") for x in lines) == 1
    others = tmp_path / "META.csv"  # the expectation: the calendar without that row
    others.write_text("".join(x for x in lines if not x.startswith("2025-10-29")), "utf-8")
    with_it = _events(tmp_path, repo_root, shared_prices_dir, calendar, "with")
    without_it = _events(tmp_path, repo_root, shared_prices_dir, others, "without")
    assert with_it["confounded_by"] == "busan-trump-xi-summit"
    assert bool(with_it["confounded"])
    # measured as if the calendar did not list it: the same estimation and the same reaction
    for column in ("confounded_by", "n_est", "alpha", "beta", "sigma", "ar0", "car[-1,+1]"):
        assert with_it[column] == without_it[column], column


@pytest.mark.parametrize(
    ("study", "field", "reason"),
    [
        ('benchmark = "../../etc/passwd"', "study.benchmark", "not a Yahoo ticker"),
        ('benchmarks = { XNYS = "../../etc/passwd" }', "study.benchmarks.XNYS",
         "not a Yahoo ticker"),
        ('benchmarks = { XHKG = "SPY" }', "study.benchmarks.XHKG", "SPY trades on XNYS, not XHKG"),
        ('benchmarks = { NYSE = "SPY" }', "study.benchmarks.NYSE", "unknown market 'NYSE'"),
    ],
)  # fmt: skip
def test_a_bad_benchmark_names_the_file_and_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], study: str, field: str, reason: str
) -> None:
    config = tmp_path / "bench.toml"
    config.write_text(f"[study]\n{study}\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--config", str(config), "--out", str(tmp_path / "out"), "--quiet"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"evbt: error: {config}: field {field}: "), err
    assert reason in err
    assert "passwd" not in "".join(p.name for p in tmp_path.iterdir())
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_a_strategys_bad_benchmark_names_its_file_once(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strategy = tmp_path / "s" / "x.toml"
    strategy.parent.mkdir()
    text = (repo_root / "strategies" / "buy_on_layoffs.toml").read_text(encoding="utf-8")
    strategy.write_text(text + 'benchmark = "../../etc/passwd"\n', encoding="utf-8")
    config = tmp_path / "run.toml"
    config.write_text('[strategies]\npaths = ["s/x.toml"]\n[catalog]\ncategories = ["layoff"]\n')
    with pytest.raises(SystemExit) as exit_:
        main(
            ["run", "--config", str(config), "--catalog", str(repo_root / "events"),
             "--prices-dir", str(shared_prices_dir), "--out", str(tmp_path / "out"), "-q"]
        )  # fmt: skip
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert f"evbt: error: strategy {strategy}: field portfolio.benchmark: ticker " in err
    assert err.count(str(strategy)) == 1


def _cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def test_the_recorded_configuration_writes_where_the_run_wrote(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--out`` is recorded as the report folder: ``evbt run --config <report>/config.toml``
    from another folder, offline, repeats the run into that same folder (it replaces its own
    report, as any rerun does); a folder that is not an evbt report still needs --force."""
    for k in ("EVBT_PRICES_DIR", "EVBT_CACHE_DIR", "EVBT_CATALOG"):
        monkeypatch.delenv(k, raising=False)
    first, elsewhere = tmp_path / "first", tmp_path / "elsewhere"
    first.mkdir()
    elsewhere.mkdir()
    config = first / "one.toml"
    config.write_text(ONE_EVENT, encoding="utf-8")
    monkeypatch.chdir(first)
    code, _, err = _cli(
        "run", "--config", "one.toml", "--catalog", str(repo_root / "events"),
        "--prices-dir", str(shared_prices_dir), "--out", "out/X", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    report = first / "out" / "X"
    recorded = report / "config.toml"
    text = recorded.read_text(encoding="utf-8")
    output = text.split("[output]")[1].split("[")[0]
    assert f'folder = "{report}"' in output  # the destination used, absolute
    before = pd.read_csv(report / "tables" / "events.csv")
    (report / "tables" / "stale.csv").write_text("from the first run", encoding="utf-8")

    monkeypatch.chdir(elsewhere)  # no --out, no --prices-dir: the file says everything
    code, stdout, err = _cli("run", "--config", str(recorded), "--quiet")
    assert code == 0, err
    assert stdout.strip() == f"report: {report / 'index.html'}"
    assert list(elsewhere.iterdir()) == []  # nothing written where the command ran
    assert not (first / "reports").exists()
    assert not (report / "tables" / "stale.csv").exists()  # the report was replaced whole
    pd.testing.assert_frame_equal(pd.read_csv(report / "tables" / "events.csv"), before)
    assert recorded.read_text(encoding="utf-8") == text  # and records the same run again

    # the same --force semantics as before: a folder that is not an evbt report is refused
    copy = elsewhere / "copy.toml"
    copy.write_text(text, encoding="utf-8")
    (report / "run.json").unlink()
    (report / "notes.txt").write_text("precious", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--config", str(copy), "--quiet"])
    assert exit_.value.code == 1
    assert (report / "notes.txt").read_text(encoding="utf-8") == "precious"
    code, _, err = _cli("run", "--config", str(copy), "--quiet", "--force")
    assert code == 0, err
    assert not (report / "notes.txt").exists()
    assert (report / "run.json").is_file()
    # its own record is the one input a report may replace, and only when it is a report
    (report / "run.json").unlink()
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--config", str(recorded), "--quiet", "--force"])
    assert exit_.value.code == 1
    assert recorded.read_text(encoding="utf-8") == text


def test_a_new_name_writes_to_the_output_dir(
    tmp_path: Path, repo_root: Path, shared_prices_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.toml").write_text(ONE_EVENT, encoding="utf-8")
    common = ["--catalog", str(repo_root / "events"), "--prices-dir", str(shared_prices_dir)]
    code, _, err = _cli("run", "--config", "one.toml", *common, "--out", "a/b", "-q")
    assert code == 0, err
    recorded = tmp_path / "a" / "b" / "config.toml"
    code, stdout, err = _cli("run", "--config", str(recorded), "--name", "other", "-q")
    assert code == 0, err
    assert stdout.strip() == f"report: {tmp_path / 'reports' / 'other' / 'index.html'}"
    text = (tmp_path / "reports" / "other" / "config.toml").read_text(encoding="utf-8")
    assert "folder =" not in text.split("[output]")[1].split("[")[0]


class _PricesLoaded(Exception):
    """Raised by the spy in place of the price loader: the run went too far."""


@pytest.fixture
def no_prices(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """A spy in place of the price loader that every run step calls: it records the call and
    stops the run (a configuration problem must be reported before any price is loaded)."""
    import backtest.prices

    calls: list[object] = []

    def spy(tickers: object, *args: object, **kwargs: object) -> None:
        calls.append(tickers)
        raise _PricesLoaded

    monkeypatch.setattr(backtest.prices, "load_prices", spy)
    return calls


def test_bad_files_and_binnings_are_refused_before_any_price_is_loaded(
    tmp_path: Path,
    repo_root: Path,
    shared_prices_dir: Path,
    capsys: pytest.CaptureFixture[str],
    no_prices: list[object],
) -> None:
    """A factor file that does not exist, one that is a folder, a strategy file that does not
    exist, one that is not TOML and binnings that cannot be read: every one is listed, naming
    the field and the file, and the run stops with exit code 1 before loading prices (they
    were found after the prices were loaded, as failed parts of a report)."""
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "broken.toml").write_text("name = \n", encoding="utf-8")
    config = tmp_path / "bad.toml"
    config.write_text(
        '[study]\nmodel = "factor"\nfactors = ["missing.csv", "folder.csv"]\n'
        'group_by = ["all", "surprise_pct:5,0,-5", "sector:quintiles"]\n'
        '[strategies]\npaths = ["nope.toml", "broken.toml"]\n',
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as exit_:
        main(
            ["run", "--config", str(config), "--catalog", str(repo_root / "events"),
             "--prices-dir", str(shared_prices_dir), "--out", str(tmp_path / "out"), "-q"]
        )  # fmt: skip
    assert exit_.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    head = f"{config}: field"
    assert lines[:6] == [
        f"evbt: error: {head} study.group_by: group_by 'surprise_pct:5,0,-5': edges must "
        "increase (5,0,-5)",
        f"{head} study.group_by: group_by 'sector:quintiles': 'quintiles' is not a binning; use "
        "tertile, quartile, quintile, decile, sign or increasing edges such as sector:-5,0,5",
        f"{head} study.factors: {tmp_path / 'missing.csv'}: no such factor file",
        f"{head} study.factors: {tmp_path / 'folder.csv'}: is a folder, not a factor file",
        f"{head} strategies.paths: strategy {tmp_path / 'nope.toml'}: no such strategy file or "
        "folder",
        lines[5],
    ]
    assert lines[5].startswith(
        f"{head} strategies.paths: strategy {tmp_path / 'broken.toml'}: not valid TOML: "
    )
    assert len(lines) == 6
    assert no_prices == []
    assert not (tmp_path / "out").exists()


def test_run_job_checks_the_files_of_a_configuration_built_in_python(
    tmp_path: Path, no_prices: list[object]
) -> None:
    """``run_job`` checks what ``load_config`` checks, on a configuration changed in Python,
    and also the strategy files of the default folder (``<base>/strategies``)."""
    from backtest.job import ConfigError, load_config, run_job

    (tmp_path / "strategies").mkdir()
    broken = tmp_path / "strategies" / "broken.toml"
    broken.write_text("[exit\nhold = [1]\n", encoding="utf-8")
    config = load_config(base=tmp_path).with_updates(
        study={"model": "factor", "factors": ["missing.csv"]}
    )
    with pytest.raises(ConfigError) as info:
        run_job(config)
    lines = str(info.value).splitlines()
    assert lines[0] == (
        f"run configuration: field study.factors: {tmp_path / 'missing.csv'}: no such factor file"
    )
    assert lines[1].startswith(
        f"run configuration: field strategies.paths: strategy {broken}: not valid TOML: "
    )
    assert len(lines) == 2
    assert no_prices == []
