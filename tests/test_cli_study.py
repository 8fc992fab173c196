"""`evbt study`'s options come from StudySpec's fields; what is filtered does not change how an
event is measured; the event filters of `events list` (--ticker, --start, --end); bad options
are refused before anything is computed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import click
import pytest
from click.testing import CliRunner

from backtest.cli import cli
from backtest.study.spec import MODELS, StudySpec


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def options_of(command: click.Command) -> dict[str, click.Option]:
    return {o: p for p in command.params if isinstance(p, click.Option) for o in p.opts}


# ------------------------------------------------------------------ one declaration


def test_every_spec_field_is_an_option_with_its_default_and_help() -> None:
    from backtest.cli.study import study

    opts = options_of(study)
    expected_names = {
        "model": "--model", "returns": "--returns", "estimation": "--estimation",
        "min_estimation": "--min-estimation", "windows": "--window", "path": "--path",
        "benchmarks": "--benchmark", "exclude_confounded": "--exclude-confounded",
        "max_loss": "--max-loss", "group_by": "--group-by", "chunk_size": "--chunk-size",
    }  # fmt: skip
    for f in dataclasses.fields(StudySpec):
        flag = expected_names.get(f.name, "--" + f.name.replace("_", "-"))
        assert flag in opts, f"StudySpec.{f.name} has no option {flag}"
        option = opts[flag]
        assert (option.help or "").startswith(f.metadata["help"])
        if f.default is not dataclasses.MISSING:
            assert option.default == f.default, f.name
    assert options_of(study)["--model"].type.choices == MODELS  # type: ignore[attr-defined]
    assert "market" in MODELS


@dataclass(frozen=True)
class _Extended(StudySpec):
    """StudySpec with a field the study part might add next."""

    market_model: Literal["constant_mean", "raw"] = field(
        default="constant_mean", metadata={"help": "Model for market-wide events."}
    )
    min_events: int = field(default=3, metadata={"help": "Smallest group tested."})


def test_a_new_spec_field_appears_in_the_options_and_the_configuration() -> None:
    from backtest.cli._spec_options import spec_from_options, study_spec_options
    from backtest.job.config import study_section

    @click.command()
    @study_spec_options(spec_class=_Extended)
    def cmd(**options: Any) -> None:
        spec = spec_from_options(options, spec_class=_Extended)
        click.echo(f"{spec.market_model} {spec.min_events} {spec.estimation}")

    r = CliRunner().invoke(cmd, ["--market-model", "raw", "--min-events", "5"])
    assert r.exit_code == 0, r.output
    assert r.output == "raw 5 (-250, -11)\n"
    bad = CliRunner().invoke(cmd, ["--market-model", "market"])
    assert bad.exit_code == 2
    assert "'market' is not one of 'constant_mean', 'raw'" in bad.output

    section = study_section(_Extended)
    assert section().market_model == "constant_mean"  # type: ignore[attr-defined]
    assert section(market_model="raw").min_events == 3  # type: ignore[attr-defined]
    assert section.model_fields["market_model"].description == "Model for market-wide events."


@dataclass(frozen=True)
class _WithMapping(StudySpec):
    """StudySpec with a mapping setting other than benchmarks (``--label KEY=VALUE``)."""

    label: Mapping[str, str] = field(default_factory=dict, metadata={"help": "Labels."})


def test_a_mapping_value_that_is_not_key_value_is_listed_with_the_other_problems() -> None:
    from backtest.cli._spec_options import spec_from_options, study_spec_options

    @click.command()
    @study_spec_options(spec_class=_WithMapping)
    def cmd(**options: Any) -> None:
        click.echo(spec_from_options(options, spec_class=_WithMapping).label)

    ok = CliRunner().invoke(cmd, ["--label", "a = b"])
    assert (ok.exit_code, ok.output) == (0, "{'a': 'b'}\n")
    r = CliRunner().invoke(cmd, ["--label", "ab", "--label", "=c", "--max-loss", "3"])
    assert str(r.exception) == (
        "option --max-loss: max_loss must be a fraction between 0 and 1, not 3.0\n"
        "option --label: 'ab' is not KEY=VALUE\n"
        "option --label: '=c' is not KEY=VALUE"
    )


def test_a_field_without_help_or_with_an_unknown_type_is_refused() -> None:
    from backtest.job.spec_fields import spec_fields

    @dataclass(frozen=True)
    class NoHelp:
        x: int = 1

    @dataclass(frozen=True)
    class OddType:
        x: complex = field(default=1j, metadata={"help": "?"})

    with pytest.raises(TypeError, match="NoHelp field 'x' has no metadata"):
        spec_fields(NoHelp)
    with pytest.raises(TypeError, match="has no command-line or configuration form"):
        spec_fields(OddType)


# ------------------------------------------------------------------ refused before computing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-loss", "nan"], "Invalid value for '--max-loss': 'nan' is not a finite number"),
        (["--max-loss", "inf"], "Invalid value for '--max-loss': 'inf' is not a finite number"),
        (["--category", "earnigs"],
         "Invalid value for '--category': 'earnigs' is not a known category (known: corporate, "
         "earnings, layoff, model_launch, partnership, policy, product_launch, trade_summit); "
         "did you mean 'earnings'?"),
    ],
    ids=["nan", "inf", "category"],
)  # fmt: skip
def test_bad_options_are_refused_with_the_reason(
    args: list[str], message: str, repo_root: Path, tmp_path: Path
) -> None:
    # an empty prices folder: nothing could be measured, so the refusal must come first
    code, _, err = run("study", "--catalog", str(repo_root / "events"), *args,
                         "--prices-dir", str(tmp_path), "-q")  # fmt: skip
    assert code == 2
    assert err.strip().splitlines()[-1] == f"Error: {message}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window", "0", "5000"],
         "option --window: windows[0] (0, 5000) reaches 5000 sessions from day 0, more than the "
         "limit of 1000 (max_offset); use a shorter window or raise max_offset"),
        (["--path", "-100000", "100000"],
         "option --path: path (-100000, 100000) reaches 100000 sessions from day 0, more than "
         "the limit of 1000 (max_offset); use a shorter window or raise max_offset"),
    ],
    ids=["window", "path"],
)  # fmt: skip
def test_windows_beyond_the_session_limit_are_refused_before_prices_are_read(
    args: list[str],
    message: str,
    repo_root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from backtest.cli import main

    # an empty prices folder: nothing could be measured, so the refusal must come first
    with pytest.raises(SystemExit) as info:
        main(["study", "--catalog", str(repo_root / "events"), *args,
              "--prices-dir", str(tmp_path), "-q"])  # fmt: skip
    assert info.value.code == 1
    assert capsys.readouterr().err == f"evbt: error: {message}\n"


def test_the_factor_model_without_factors_is_refused_before_prices_are_read(
    repo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from backtest.cli import main

    with pytest.raises(SystemExit) as info:
        main(["study", "--catalog", str(repo_root / "events"), "--model", "factor",
              "--prices-dir", str(tmp_path), "-q"])  # fmt: skip
    assert info.value.code == 1
    assert capsys.readouterr().err == (
        "evbt: error: option --factors: --model factor needs --factors FILE (Ken French's daily "
        "CSV format)\n"
    )


#: a factor file with a short row (tests/badinput/factors)
RAGGED = Path(__file__).resolve().parent / "badinput" / "factors" / "ragged.csv"


@pytest.fixture
def nothing_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the command read of the catalog and the prices (a spy on each reader)."""
    import backtest.cli._env
    import backtest.cli._options
    import backtest.prices

    calls: list[str] = []
    for module, name in [
        (backtest.cli._options, "load_catalog_or_warn"),
        (backtest.cli._env, "open_price_source"),
        (backtest.prices, "load_prices"),
    ]:
        monkeypatch.setattr(module, name, lambda *a, _n=name, **k: calls.append(_n))
    return calls


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (["--estimation", "-10", "-250", "--window", "2", "-2", "--min-estimation", "1",
          "--max-loss", "3", "--model", "factor"],
         ["option --estimation: estimation (-10, -250) starts after it ends: write (-250, -10)",
          "option --min-estimation: min_estimation must be a whole number >= 3, not 1",
          "option --window: windows[0] (2, -2) starts after it ends: write (-2, 2)",
          "option --max-loss: max_loss must be a fraction between 0 and 1, not 3.0",
          "option --factors: --model factor needs --factors FILE (Ken French's daily CSV "
          "format)"]),
        (["--window", "-20", "0", "--window", "0", "3000", "--path", "-2500", "0",
          "--benchmark", "SPY.XX", "--max-offset", "2000", "--max-windows", "1"],
         ["option --estimation: the estimation window (-250, -11) must end before the first "
          "event window starts (day -20); e.g. estimation=(-260, -21)",
          "option --window: 2 event windows asked for, more than the limit of 1 (max_windows); "
          "give fewer windows or raise max_windows",
          "option --window: windows[1] (0, 3000) reaches 3000 sessions from day 0, more than "
          "the limit of 2000 (max_offset); use a shorter window or raise max_offset",
          "option --path: path (-2500, 0) reaches 2500 sessions from day 0, more than the "
          "limit of 2000 (max_offset); use a shorter window or raise max_offset",
          "option --benchmark: ticker 'SPY.XX': unknown exchange suffix '.XX' (supported: (no "
          "suffix) -> XNYS, .DE -> XETR, .HK -> XHKG, .L -> XLON, .SS -> XSHG, .SZ -> XSHG, "
          ".T -> XTKS, .TO -> XTSE)"]),
        (["--factors", str(RAGGED), "--max-loss", "3"],
         ["option --max-loss: max_loss must be a fraction between 0 and 1, not 3.0",
          f"option --factors: {RAGGED}:6: 3 values, but the header names 4 columns"]),
        (["--group-by", "surprise_pct:quintiles", "--group-by", "surprise_pct:5,0",
          "--max-loss", "3", "--factors", str(RAGGED)],
         ["option --max-loss: max_loss must be a fraction between 0 and 1, not 3.0",
          "option --group-by: group_by 'surprise_pct:quintiles': 'quintiles' is not a binning; "
          "use tertile, quartile, quintile, decile, sign or increasing edges such as "
          "surprise_pct:-5,0,5",
          "option --group-by: group_by 'surprise_pct:5,0': edges must increase (5,0)",
          f"option --factors: {RAGGED}:6: 3 values, but the header names 4 columns"]),
    ],
    ids=["settings-and-factors", "limits-and-benchmark", "factor-file", "binnings"],
)  # fmt: skip
def test_every_option_problem_is_listed_at_once_before_anything_is_read(
    args: list[str],
    lines: list[str],
    repo_root: Path,
    shared_prices_dir: Path,
    nothing_read: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One run lists every problem of the study options, each named by the option typed, in
    the order of the settings, then the command's own (--factors); the catalog and the prices
    are not touched."""
    from backtest.cli import main

    with pytest.raises(SystemExit) as info:
        main(["study", "--catalog", str(repo_root / "events"), *args,
              "--prices-dir", str(shared_prices_dir), "-q"])  # fmt: skip
    assert info.value.code == 1
    assert capsys.readouterr().err == "evbt: error: " + "\n".join(lines) + "\n"
    assert nothing_read == []


def test_a_binning_that_cannot_be_read_is_refused_before_the_events_file_is_read(
    tmp_path: Path, nothing_read: list[str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """It was found only once the events had been read (the catalog or --events-csv)."""
    import backtest.study.inputs
    from backtest.cli import main

    monkeypatch.setattr(
        backtest.study.inputs, "read_events_csv", lambda *a, **k: nothing_read.append("csv")
    )
    events = tmp_path / "events.csv"
    events.write_text("event_id,ticker,date,surprise_pct\na,AAPL,2024-08-05,1.5\n")
    with pytest.raises(SystemExit) as info:
        main(["study", "--events-csv", str(events), "--group-by", "surprise_pct:quintiles",
              "--prices-dir", str(tmp_path), "-q"])  # fmt: skip
    assert info.value.code == 1
    assert capsys.readouterr().err == (
        "evbt: error: option --group-by: group_by 'surprise_pct:quintiles': 'quintiles' is not "
        "a binning; use tertile, quartile, quintile, decile, sign or increasing edges such as "
        "surprise_pct:-5,0,5\n"
    )
    assert nothing_read == []


# ------------------------------------------------------------------ on the real catalog


def study_json(repo_root: Path, prices: Path, *args: str) -> dict[str, Any]:
    code, out, err = run(
        "study", "--catalog", str(repo_root / "events"), *args, "--prices-dir", str(prices),
        "--format", "json", "--max-loss", "0.5", "-q",
    )  # fmt: skip
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def measured(doc: dict[str, Any], event_id: str, ticker: str) -> dict[str, Any]:
    """What the study measured for one row: parameters, ARs, windows, confounding."""
    row = next(e for e in doc["events"] if (e["event_id"], e["ticker"]) == (event_id, ticker))
    return {
        "params": row["params"],
        "ar": row["ar"],
        "windows": row["windows"],
        "confounded_by": row["flags"]["confounded_by"],
    }


def meta_q3(repo_root: Path, prices: Path, *selection: str) -> dict[str, Any]:
    """What a study of ``selection`` (default: the whole catalog) measures for META's Q3 2025
    results."""
    return measured(study_json(repo_root, prices, *selection), "meta-2025q3-results", "META")


@pytest.mark.slow
def test_what_is_filtered_does_not_change_how_an_event_is_measured(
    repo_root: Path, shared_prices_dir: Path
) -> None:
    full = meta_q3(repo_root, shared_prices_dir)
    assert meta_q3(repo_root, shared_prices_dir, "--category", "earnings") == full
    # the Busan summit (not an earnings event) still confounds it, and its window stays out of
    # the estimation window: 240 days less the summit's other windows
    assert full["confounded_by"] == ["busan-trump-xi-summit"]
    assert full["params"]["n"] < 240


@pytest.mark.slow
def test_an_event_studied_alone_is_measured_as_in_the_whole_catalog(
    repo_root: Path, shared_prices_dir: Path
) -> None:
    alone = meta_q3(repo_root, shared_prices_dir, "--ids", "meta-2025q3-results")
    assert alone == meta_q3(repo_root, shared_prices_dir)


@pytest.mark.slow
def test_ticker_start_and_end_select_as_events_list_does(
    repo_root: Path, shared_prices_dir: Path
) -> None:
    import yaml

    # the expectation from the catalog files themselves: META events dated in 2025
    wanted = set()
    for f in sorted((repo_root / "events").glob("*.yaml")):
        for e in yaml.safe_load(f.read_text(encoding="utf-8"))["events"]:
            if "META" in e["tickers"] and "2025-01-01" <= str(e["date"]) <= "2025-12-31":
                wanted.add(e["id"])
    assert len(wanted) >= 2
    doc = study_json(
        repo_root, shared_prices_dir,
        "--ticker", "META", "--start", "2025-01-01", "--end", "2025-12-31", "--path", "0", "4",
    )  # fmt: skip
    studied = {e["event_id"] for e in doc["events"]} | {d["event_id"] for d in doc["dropped"]}
    assert studied == wanted
    # --path sets the AR path kept per event, and nothing else
    assert doc["spec"]["path"] == [0, 4]
    row = doc["events"][0]
    assert sorted(int(k) for k in row["ar"]) == [0, 1, 2, 3, 4]


def test_the_text_is_the_study_summary_and_the_price_source(
    repo_root: Path, shared_prices_dir: Path
) -> None:
    code, out, _ = run(
        "study", "--catalog", str(repo_root / "events"), "--ids", "meta-2025q3-results",
        "--prices-dir", str(shared_prices_dir), "-q",
    )  # fmt: skip
    assert code == 0
    assert "meta-2025q3-results" in out
    assert out.rstrip().endswith("price source: csv")


def test_ticker_studies_only_that_tickers_rows(repo_root: Path, shared_prices_dir: Path) -> None:
    """`--ticker AMZN` studies AMZN's rows only: the Busan summit (13 tickers) gives its AMZN
    row, not all 13; the expected events are read from the catalog YAML here."""
    import yaml

    expected = set()
    for f in (repo_root / "events").glob("*.yaml"):
        for e in yaml.safe_load(f.read_text(encoding="utf-8")).get("events", []):
            if "AMZN" in e.get("tickers", []):
                expected.add(e["id"])
    code, out, err = run(
        "study", "--ticker", "AMZN", "--prices-dir", str(shared_prices_dir), "--format",
        "json", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out[out.index("{") :])
    rows = {(e["event_id"], e["ticker"]) for e in doc["events"]}
    rows |= {(d["event_id"], d["ticker"]) for d in doc["dropped"]}
    assert {t for _, t in rows} == {"AMZN"}
    assert {i for i, _ in rows} == expected
    assert "busan-trump-xi-summit" in expected


def test_a_share_class_file_spelt_with_a_dot_does_not_stop_a_study(
    tmp_path: Path, shared_prices_dir: Path
) -> None:
    """Review: ``prices check`` aborted on a folder holding ``BRK.B.csv``; a study reads only
    the files of its tickers, and gives the same result with or without such a file."""
    for f in shared_prices_dir.glob("*.csv"):
        (tmp_path / f.name).symlink_to(f)
    args = ("study", "--ids", "meta-2025q3-results", "--format", "json", "--quiet")
    code, before, err = run(*args, "--prices-dir", str(tmp_path))
    assert code == 0, err
    (tmp_path / "BRK.B.csv").write_text((shared_prices_dir / "META.csv").read_text())
    (tmp_path / "RDS.A.csv").write_text((shared_prices_dir / "META.csv").read_text())
    code, after, err = run(*args, "--prices-dir", str(tmp_path))
    assert code == 0, err
    assert (
        json.loads(after[after.index("{") :])["events"]
        == (json.loads(before[before.index("{") :])["events"])
    )
    assert json.loads(after[after.index("{") :])["events"]


def test_a_bad_benchmark_is_named_by_its_option_or_its_line(
    tmp_path: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--benchmark ../../etc/passwd` names the option (listed with the other option
    problems); the same value in an events file's benchmark cell leaves out that row only,
    with the file, line and column."""
    from backtest.cli import main

    with pytest.raises(SystemExit) as info:
        main(["study", "--ids", "meta-2025q3-results", "--benchmark", "../../etc/passwd",
              "--prices-dir", str(shared_prices_dir), "--quiet"])  # fmt: skip
    assert info.value.code == 1
    assert capsys.readouterr().err.startswith(
        "evbt: error: option --benchmark: ticker '../../etc/passwd': not a Yahoo ticker"
    )
    from backtest.study.inputs import read_events_csv

    f = tmp_path / "ev.csv"
    f.write_text(
        "event_id,ticker,date,benchmark\nx,META,2024-03-01,../../etc/passwd\n"
        "y,META,2024-05-01,SPY\nz,META,2024-07-01,\n",
        encoding="utf-8",
    )
    table, dropped = read_events_csv(f)
    assert table["event_id"].tolist() == ["y", "z"]
    (d,) = dropped
    assert d.reason.startswith("ev.csv line 2: column benchmark: ticker '../../etc/passwd'")
