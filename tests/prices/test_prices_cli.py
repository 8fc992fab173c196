"""``evbt prices``: show, check and fetch, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from prices_fakes import FakeYahooDownload

from backtest.cli import cli, main


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_show_meta_from_the_prices_dir(shared_prices_dir: Path) -> None:
    code, out = run("prices", "show", "META", "--prices-dir", str(shared_prices_dir))
    assert code == 0
    lines = dict(line.split(None, 1) for line in out.splitlines() if not line.startswith(" "))
    assert lines["ticker"] == "META"
    assert lines["market"] == "XNYS (New York (NYSE, Nasdaq))"
    assert lines["range"] == "2020-01-02 to 2026-08-21"
    assert lines["rows"] == "1668"
    assert lines["source"] == f"csv:{shared_prices_dir.resolve() / 'META.csv'}"
    assert lines["adjustment"].startswith("as provided by the file")
    assert lines["quality"] == "clean"
    assert "549.9000 on 2026-08-21" in out


def test_show_reads_the_env_variable_and_reports_issues(shared_prices_dir: Path) -> None:
    code, out = run("prices", "show", "0700.HK", env={"EVBT_PRICES_DIR": str(shared_prices_dir)})
    assert code == 0
    assert "0 error(s), 2 warning(s)" in out
    assert "missing_session: 2 XHKG sessions (2023-09-01, 2023-09-08)" in out


def test_show_never_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import backtest.prices.yahoo as yahoo

    fake = FakeYahooDownload({})
    monkeypatch.setattr(yahoo, "_real_download", lambda: fake)
    monkeypatch.delenv("EVBT_PRICES_DIR", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["prices", "show", "META", "--cache-dir", str(tmp_path)])
    assert exit_info.value.code == 1
    # an empty cache is reported as such (exit 1 alone could be any error), and Yahoo is not asked
    err = capsys.readouterr().err
    assert err.startswith(f"evbt: error: META: no prices: not in the price cache {tmp_path}")
    assert "run `evbt prices fetch META` first" in err
    assert not fake.calls


def test_check_the_shared_files(shared_prices_dir: Path) -> None:
    code, out = run("prices", "check", "--prices-dir", str(shared_prices_dir))
    assert code == 0  # warnings only
    assert "20 ticker(s) checked, 0 error(s), 8 warning(s)" in out
    code, out = run(
        "prices",
        "check",
        "^GSPC",
        "META",
        "--prices-dir",
        str(shared_prices_dir),
        "--format",
        "json",
    )
    payload = json.loads(out)
    assert payload["tickers"] == ["^GSPC", "META"]
    assert payload["issues"] == [
        {
            "ticker": "^GSPC",
            "check": "zero_volume",
            "severity": "warning",
            "dates": ["2023-05-24"],
            "message": "1 row (2023-05-24): zero volume",
        }
    ]
    code, out = run(
        "prices", "check", "^GSPC", "--prices-dir", str(shared_prices_dir), "--format", "csv"
    )
    assert out.splitlines() == [
        "ticker,check,severity,date,message",
        "^GSPC,zero_volume,warning,2023-05-24,1 row (2023-05-24): zero volume",
    ]


def test_check_exits_1_on_errors_and_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "AAA.csv").write_text("date,open,high,low,close,volume\n2024-03-01,10,9,11,10,1\n")
    (tmp_path / "BBB.csv").write_text("date,open\n")
    code, out = run("prices", "check", "--prices-dir", str(tmp_path))
    assert code == 1
    assert "high_below_low" in out
    assert "missing column(s)" in out


def test_check_names_a_file_of_a_share_class_spelt_with_a_dot_and_checks_the_others(
    tmp_path: Path, shared_prices_dir: Path
) -> None:
    """Review: ``prices check`` aborted on ``BRK.B.csv`` (no exchange is known for '.B')
    without naming the file, and checked none of the good files."""
    meta = (shared_prices_dir / "META.csv").read_text()
    for name in ("BRK.B", "RDS.A", "META"):
        (tmp_path / f"{name}.csv").write_text(meta)
    code, out = run("prices", "check", "--prices-dir", str(tmp_path), "--format", "json")
    assert code == 1
    payload = json.loads(out)
    assert payload["tickers"] == ["META"]  # the good file is checked
    assert sorted(payload["failed"]) == ["BRK.B", "RDS.A"]
    assert payload["failed"]["BRK.B"].startswith(
        f"error: BRK.B.csv in {tmp_path.resolve()}: its ticker 'BRK.B' cannot be placed on an "
        "exchange: unknown exchange suffix '.B'"
    )
    assert payload["failed"]["BRK.B"].endswith(
        "(Yahoo spells a share class with '-': BRK-B (rename the file BRK-B.csv))"
    )
    assert "rename the file RDS-A.csv" in payload["failed"]["RDS.A"]
    code, out = run("prices", "check", "BRK.B", "META", "--prices-dir", str(tmp_path))
    assert code == 1  # named on the command line: the same problem, not an abort
    assert "Price quality: 1 ticker(s) checked" in out
    assert "Could not be read" in out


def test_show_names_the_spelling_of_a_share_class(
    tmp_path: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "BRK.B.csv").write_text((shared_prices_dir / "META.csv").read_text())
    with pytest.raises(SystemExit) as exit_info:
        main(["prices", "show", "BRK.B", "--prices-dir", str(tmp_path)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"evbt: error: BRK.B: no prices: BRK.B.csv in {tmp_path.resolve()}: its ticker 'BRK.B' "
        "cannot be placed on an exchange: unknown exchange suffix '.B'"
    )
    assert err.rstrip().endswith(
        "(Yahoo spells a share class with '-': BRK-B (rename the file BRK-B.csv))"
    )


def test_errors_are_messages_not_tracebacks(
    shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["prices", "show", "METAA", "--prices-dir", str(shared_prices_dir)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("evbt: error: METAA: no prices")
    assert "did you mean META" in err
    assert "Traceback" not in err


def test_fetch_reports_what_came_from_where(
    tmp_path: Path, shared_frames: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import backtest.prices.yahoo as yahoo

    fake = FakeYahooDownload(shared_frames)
    monkeypatch.setattr(yahoo, "_real_download", lambda: fake)
    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda: True)
    args = ["prices", "fetch", "META", "SPY", "--start", "2024-01-01", "--end", "2024-01-31"]
    code, out = run(*args, "--cache-dir", str(tmp_path))
    assert code == 0
    assert "2 of 2 ticker(s) ready: 0 served from the cache, 2 fetched from Yahoo\n" in out
    code, out = run(*args, "ZZZZ", "--cache-dir", str(tmp_path))
    assert code == 1  # one failed
    assert (
        "2 of 3 ticker(s) ready: 2 served from the cache, 0 fetched from Yahoo; "
        "1 failed (1 unknown_ticker)\n"
    ) in out
    assert "unknown_ticker" in out
    code, out = run("prices", "show", "SPY", "--cache-dir", str(tmp_path))
    assert code == 0
    assert "covered     2024-01-01 to 2024-01-31" in out
    assert "yahoo (yfinance" in out


def test_fetch_offline_with_an_empty_cache_says_nothing_was_served(tmp_path: Path) -> None:
    """Review: with an empty cache and no network, fetch said "3 served from the cache" (and
    "from cache" in each row) when nothing was served. The suite's guard blocks the network."""
    code, out = run(
        "prices", "fetch", "META", "SPY", "0700.HK", "--cache-dir", str(tmp_path),
        env={"COLUMNS": "250"},
    )  # fmt: skip
    assert code == 1
    assert out.endswith(
        "0 of 3 ticker(s) ready: 0 served from the cache, 0 fetched from Yahoo; "
        "3 failed (3 offline)\n"
    )
    rows = [line.split("│") for line in out.splitlines() if line.startswith("│ ")]
    cells = {r[1].strip(): [c.strip() for c in r[2:-1]] for r in rows if r[1].strip()}
    assert sorted(cells) == ["0700.HK", "META", "SPY"]
    for status, n, _first, _last, fetched, detail in cells.values():
        assert (status, n, fetched) == ("failed", "0", "not asked")
        assert detail.startswith("offline: Yahoo Finance cannot be reached")
    assert "from cache" not in out


def test_fetch_counts_a_ticker_the_cache_served_in_part(
    tmp_path: Path, shared_frames: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import backtest.prices.yahoo as yahoo

    fake = FakeYahooDownload(shared_frames)
    monkeypatch.setattr(yahoo, "_real_download", lambda: fake)
    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda: True)
    code, _ = run("prices", "fetch", "META", "--start", "2024-01-01", "--end", "2024-01-31",
                  "--cache-dir", str(tmp_path))  # fmt: skip
    assert code == 0
    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda: False)  # then the network goes
    code, out = run("prices", "fetch", "META", "SPY", "--start", "2024-01-01", "--end",
                    "2024-02-29", "--cache-dir", str(tmp_path))  # fmt: skip
    assert code == 1
    assert out.endswith(
        "1 of 2 ticker(s) ready: 0 served from the cache, 0 fetched from Yahoo, 1 in part only "
        "(the rest could not be fetched); 1 failed (1 offline)\n"
    )


def test_fetch_refuses_a_reversed_range_before_asking_yahoo(
    tmp_path: Path,
    shared_frames: dict,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import backtest.prices.yahoo as yahoo

    fake = FakeYahooDownload(shared_frames)
    monkeypatch.setattr(yahoo, "_real_download", lambda: fake)
    args = ["prices", "fetch", "META", "--start", "2024-03-01", "--end", "2024-02-01"]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--cache-dir", str(tmp_path)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("evbt: error: --start '2024-03-01' is after --end 2024-02-01")
    assert not fake.calls


def test_check_lists_the_sessions_that_may_not_be_total_returns() -> None:
    """MMM's file books the Solventum spin-off (2024-04-01) as a 1.196 "Stock Splits": the
    quality report warns about that session with its reason, as the panel's return_flags
    flag it; the file's other sessions have no split at all (read here with pandas)."""
    import pandas as pd

    from tests.conftest import _shared

    prices = _shared("sp500/prices")
    raw = pd.read_csv(prices / "MMM.csv")
    splits = raw[raw["Stock Splits"] != 0]
    assert [d[:10] for d in splits["Date"]] == ["2024-04-01"]
    assert list(splits["Stock Splits"]) == [1.196]
    code, out = run("prices", "check", "MMM", "--prices-dir", str(prices), "--format", "json")
    assert code == 0  # a warning, not an error
    payload = json.loads(out)
    assert (payload["errors"], payload["warnings"]) == (0, 1)
    (issue,) = payload["issues"]
    assert issue["check"] == "not_total_return"
    assert issue["severity"] == "warning"
    assert issue["dates"] == ["2024-04-01"]
    assert "1.196" in issue["message"]
    assert "may not be a total return" in issue["message"]
    code, out = run("prices", "check", "MMM", "--prices-dir", str(prices))
    assert "MMM: clean" not in out
    assert "warning not_total_return: Stock Splits 1.196 on 2024-04-01" in out
    code, out = run("prices", "show", "MMM", "--prices-dir", str(prices))
    assert "0 error(s), 1 warning(s)" in out
    # the panel flags the same session, with the same reason
    from backtest.prices import load_prices, open_source

    panel = load_prices(["MMM"], source=open_source(prices_dir=prices))
    flags = panel.return_flags
    assert [str(d.date()) for d in flags["date"]] == issue["dates"]
    assert list(flags["reason"]) == [issue["message"]]
    (found,) = panel.quality.issues
    assert (found.check, found.message) == ("not_total_return", issue["message"])
