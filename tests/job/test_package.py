"""A package that works anywhere: the wheel built from the sdist carries the catalog, the
strategies and the report templates; installed (not editable) in a fresh virtual environment,
`evbt` finds them from any folder; `twine check` accepts both distributions.

Offline: the fresh environment reaches evbt's dependencies through a ``.pth`` line naming this
environment's site-packages (a ``.pth`` file there, such as the editable install's hook, is not
run that way), and the wheel is installed with ``--no-deps --no-index``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def sh(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    r = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, f"{args}\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def dists(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    # the sdist first, then the wheel from the unpacked sdist (what an installer does)
    sh(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, repo_root)
    wheel = next(out.glob("evbt-*.whl"))
    sdist = next(out.glob("evbt-*.tar.gz"))
    return {"wheel": wheel, "sdist": sdist}


def test_twine_accepts_the_wheel_and_the_sdist(dists: dict[str, Path]) -> None:
    pytest.importorskip("twine")
    out = sh(sys.executable, "-m", "twine", "check", "--strict", dists["wheel"], dists["sdist"])
    assert out.count("PASSED") == 2, out


def test_the_wheel_carries_the_shipped_data(dists: dict[str, Path], repo_root: Path) -> None:
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    for kind, pattern in (("events", "*.yaml"), ("strategies", "*.toml")):
        shipped = {f"backtest/_shipped/{kind}/{f.name}" for f in (repo_root / kind).glob(pattern)}
        assert shipped, kind
        assert shipped <= names, sorted(shipped - names)
    templates = {
        f"backtest/reports/templates/{f.name}"
        for f in (repo_root / "backtest/reports/templates").iterdir()
    }
    assert templates <= names, sorted(templates - names)
    assert "backtest/py.typed" in names
    assert not any(n.startswith("tests/") for n in names)


@pytest.fixture(scope="module")
def installed(dists: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed (not editable)."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(sh(python, "-c", purelib).strip())
    (site / "_evbt_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    sh(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
       "--no-index", dists["wheel"])  # fmt: skip
    return env_dir


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBT_")}
    env.pop("PYTHONPATH", None)
    return env


def test_the_installed_package_finds_its_catalog_from_any_folder(
    installed: Path, tmp_path: Path
) -> None:
    evbt = installed / "bin" / "evbt"
    where = sh(installed / "bin" / "python", "-c", "import backtest; print(backtest.__file__)",
               cwd=tmp_path, env=clean_env())  # fmt: skip
    assert Path(where.strip()).is_relative_to(installed)  # the wheel, not the checkout
    listed = json.loads(sh(evbt, "events", "list", "--format", "json", cwd=tmp_path,
                           env=clean_env()))  # fmt: skip
    assert len(listed) == 46
    assert "meta-2025q3-results" in {e["id"] for e in listed}
    ok = sh(evbt, "events", "validate", cwd=tmp_path, env=clean_env())
    assert ok.startswith("ok: 46 events in 5 file(s)")
    # the shipped strategies are found too (the configuration the run would use names them)
    shown = sh(evbt, "run", "--show-config", "--prices-dir", tmp_path, cwd=tmp_path,
               env=clean_env())  # fmt: skip
    assert str(installed) in shown
    assert "_shipped/strategies" in shown
    assert "_shipped/events" in shown


def test_a_users_own_catalog_wins(installed: Path, tmp_path: Path, repo_root: Path) -> None:
    (tmp_path / "events").mkdir()
    source = (repo_root / "events" / "layoffs.yaml").read_text(encoding="utf-8")
    (tmp_path / "events" / "mine.yaml").write_text(source, encoding="utf-8")
    listed = json.loads(sh(installed / "bin" / "evbt", "events", "list", "--format", "json",
                           cwd=tmp_path, env=clean_env()))  # fmt: skip
    assert {e["category"] for e in listed} == {"layoff"}


def test_the_installed_package_runs_a_study(
    installed: Path, tmp_path: Path, shared_prices_dir: Path
) -> None:
    env = clean_env()
    out = sh(installed / "bin" / "evbt", "study", "--ids", "meta-2025q3-results",
             "--prices-dir", shared_prices_dir, "--format", "json", "-q",
             cwd=tmp_path, env=env)  # fmt: skip
    doc = json.loads(out)
    assert [e["event_id"] for e in doc["events"]] == ["meta-2025q3-results"]


def test_the_job_package_loads_its_names_on_first_use() -> None:
    """``import backtest.job`` (and its spec fields, what ``evbt study --help`` reads) loads
    neither pandas, NumPy nor pydantic; the names still resolve when used."""
    code = (
        "import sys\n"
        "import backtest.job, backtest.job.spec_fields\n"
        "print(sorted(m for m in ('pandas', 'numpy', 'pydantic') if m in sys.modules))\n"
        "from backtest.job import RunResult, load_config, run_job\n"
        "print(callable(run_job), RunResult.__name__, 'pandas' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[]", "True RunResult True"]
