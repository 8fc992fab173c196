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
