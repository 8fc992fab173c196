"""``evbt run`` and ``evbt events import earnings`` keep the earnings calendars in one folder:
``earnings/`` inside the price cache folder, however that folder is named (``--cache-dir``,
``$EVBT_CACHE_DIR``, a run's ``[prices] cache_dir``, or none: the user cache folder's
``prices/``). Both commands run in-process with yfinance replaced at its own calls by fakes
shaped like the installed yfinance's output (``fakes.py``, checked in ``test_shape.py``);
``platformdirs`` finds the user cache folder through ``$XDG_CACHE_HOME``, pointed at a
temporary folder; nothing reaches the network."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.clirun import run_main
from tests.earnings.fakes import FakeTicker, frame_from_saved
from tests.prices.prices_fakes import FakeYahooDownload, read_shared

pytestmark = [
    pytest.mark.slow,  # a whole (small) run per case
    pytest.mark.skipif(sys.platform != "linux", reason="$XDG_CACHE_HOME is read on Linux"),
]

# one event: the catalog's only ticker is META (its benchmark comes from the fake download)
CATALOG = """\
events:
  - id: meta-2024q4-results
    title: Meta Q4 2024 results
    category: earnings
    scope: company
    date: 2025-01-29
    timing: after_close
    tickers: [META]
    description: Meta's fourth-quarter 2024 results, reported after the New York close.
    sources:
      - document: 001_f2ff1240febe54e4.txt
        says: The results (a test event).
"""


@pytest.fixture
def online(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    shared_prices_dir: Path,
    shared_sp500_earnings: Path,
) -> list[tuple[str, int]]:
    """Yahoo through the fakes; the user cache folder under ``tmp_path/xdg``."""
    import yfinance

    import backtest.earnings.yahoo
    import backtest.prices.yahoo

    frames = {t: read_shared(t, shared_prices_dir) for t in ("META", "SPY", "^GSPC")}
    calls: list[tuple[str, int]] = []

    def ticker(symbol: str) -> FakeTicker:
        saved = shared_sp500_earnings / f"{symbol}.csv"
        return FakeTicker(symbol, [frame_from_saved(saved) if saved.is_file() else None], calls)

    monkeypatch.setattr(yfinance, "download", FakeYahooDownload(frames))
    monkeypatch.setattr(yfinance, "Ticker", ticker)
    for module in (backtest.prices.yahoo, backtest.earnings.yahoo):
        monkeypatch.setattr(module, "yahoo_reachable", lambda timeout=3.0: True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    for name in ("EVBT_CACHE_DIR", "EVBT_PRICES_DIR", "EVBT_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "results.yaml").write_text(CATALOG, encoding="utf-8")
    return calls


def _calendars(root: Path) -> list[str]:
    """Where META's calendar was written under ``root`` (relative paths)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("META.json"))


@pytest.mark.parametrize("naming", ["none", "EVBT_CACHE_DIR", "--cache-dir", "[prices]"])
def test_run_and_import_keep_the_calendars_in_the_same_folder(
    naming: str,
    tmp_path: Path,
    online: list[tuple[str, int]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # two windows: with one, the report writer fails (a separate bug, reported)
    config = "[study]\nwindows = [[0, 0], [0, 1]]\n[strategies]\npaths = []\n"
    run_args: list[str] = []
    import_args: list[str] = []
    if naming == "EVBT_CACHE_DIR":
        monkeypatch.setenv("EVBT_CACHE_DIR", str(tmp_path / "mine"))
    elif naming == "--cache-dir":
        run_args = import_args = ["--cache-dir", str(tmp_path / "mine")]
    elif naming == "[prices]":  # the import has no configuration file: its option names it
        config += f"[prices]\ncache_dir = '{(tmp_path / 'mine').as_posix()}'\n"
        import_args = ["--cache-dir", str(tmp_path / "mine")]
    (tmp_path / "run.toml").write_text(config, encoding="utf-8")
    expected = (
        ["xdg/evbt/prices/earnings/META.json"] if naming == "none" else ["mine/earnings/META.json"]
    )

    code, out, err = run_main(
        ["run", "--config", "run.toml", "--out", "report", "--quiet", *run_args], capsys
    )
    assert code == 0, err + out
    assert online == [("META", 100)]
    assert _calendars(tmp_path) == expected

    # the import finds the run's calendar fresh in the same folder: no second call
    code, out, err = run_main(
        ["events", "import", "earnings", "META", "--out", "meta.csv", "--quiet", *import_args],
        capsys,
    )
    assert code == 0, err + out
    assert online == [("META", 100)]
    for stale in tmp_path.rglob("META.json"):
        stale.unlink()
    code, out, err = run_main(
        ["events", "import", "earnings", "META", "--out", "meta.csv", "--quiet", *import_args],
        capsys,
    )
    assert code == 0, err + out
    assert _calendars(tmp_path) == expected


def test_the_library_defaults_use_the_same_folder(
    tmp_path: Path, online: list[tuple[str, int]]
) -> None:
    """``import_earnings`` and ``earnings_confounders`` without a cache folder keep the
    calendars where ``evbt run`` does without one."""
    from backtest.earnings import earnings_confounders, import_earnings

    import_earnings(["META"])
    assert _calendars(tmp_path) == ["xdg/evbt/prices/earnings/META.json"]
    (tmp_path / "xdg/evbt/prices/earnings/META.json").unlink()
    earnings_confounders(["META"])
    assert _calendars(tmp_path) == ["xdg/evbt/prices/earnings/META.json"]
