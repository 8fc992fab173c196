"""Factor returns that are not daily decimal returns are refused on every way into a study.

The factor frame of ``run_study(factors=...)``, the ``--factors`` files of ``evbt study`` and
the ``[study] factors`` files of ``evbt run``: percent (Ken French's values as printed) and
values 100 times too small (decimals in a file of French's percent format) are refused with
the source, the columns, their sizes and the fix. Real decimal factors of the 1987 and 2020
crashes pass. Expected sizes are the raw French file's figures (medians worked out with
``statistics`` from the plain text parse of ``test_input_files``); the planted factor
loadings and abnormal return are known by construction.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.cli import main
from backtest.prices import load_prices
from backtest.study import FactorScaleError, StudySpec, check_factor_scale, read_factors, run_study
from tests.conftest import _shared
from tests.study.synth import prices_from_returns, sessions
from tests.study.test_input_files import FF3, plain_parse


@pytest.fixture(scope="module")
def ff3() -> pd.DataFrame:
    """French's three factors in decimal, parsed from the raw text (not by read_factors)."""
    return plain_parse(_shared("factors") / FF3)


@pytest.fixture(scope="module")
def prices(shared_prices_dir: Path) -> object:
    return load_prices(["AAPL", "SPY"], "2023-01-01", "2024-12-31", prices_dir=shared_prices_dir)


EVENT = pd.DataFrame(
    {"event_id": ["aapl"], "ticker": ["AAPL"], "day0": [pd.Timestamp("2024-08-05")]}
)
SPEC = StudySpec(model="factor", windows=((0, 0),))


def test_the_raw_figures_the_messages_quote(ff3: pd.DataFrame) -> None:
    rows = ff3.loc["2023":"2024"]
    assert len(rows) == 502  # the sessions of 2023 and 2024, as the price files have them
    medians = {c: statistics.median(abs(x) * 100 for x in rows[c]) for c in rows}
    largest = {c: max(abs(x) * 100 for x in rows[c]) for c in rows}
    assert medians == pytest.approx({"Mkt-RF": 0.49, "SMB": 0.465, "HML": 0.52, "RF": 0.02})
    assert largest == pytest.approx({"Mkt-RF": 3.17, "SMB": 3.6, "HML": 3.6, "RF": 0.02})


def test_a_frame_in_percent_is_refused(ff3: pd.DataFrame, prices: object) -> None:
    percent = ff3.loc["2023":"2024"] * 100  # the values as French prints them
    with pytest.raises(FactorScaleError) as info:
        run_study(EVENT, prices, SPEC, factors=percent)
    assert str(info.value) == (
        "the factor frame (factors=): the factor returns look like percent, not daily decimal "
        "returns (absolute values over 502 days: Mkt-RF: median 0.49, largest 3.17; SMB: "
        "median 0.465, largest 3.6; HML: median 0.52, largest 3.6; RF: median 0.02, largest "
        "0.02; daily decimal factors have a median about 0.005 and never reach 0.5, a daily "
        "risk-free rate is below 0.001); divide them by 100, or read Ken French's CSV file "
        "with read_factors (--factors FILE), which converts its percent"
    )


def test_only_the_rows_on_the_price_dates_are_looked_at(ff3: pd.DataFrame, prices: object) -> None:
    # decades of decimal rows before the prices start do not hide percent rows of the study
    mixed = pd.concat([ff3.loc["1990":"2022"], ff3.loc["2023":"2024"] * 100])
    with pytest.raises(FactorScaleError, match=r"look like percent, .*over 502 days: Mkt-RF"):
        run_study(EVENT, prices, SPEC, factors=mixed)


def test_a_risk_free_rate_in_percent_alone_is_refused(ff3: pd.DataFrame, prices: object) -> None:
    # the factors' scale does not change the OLS abnormal return, the risk-free rate's does
    rows = ff3.loc["2023":"2024"]
    with pytest.raises(FactorScaleError) as info:
        run_study(EVENT, prices, SPEC, factors=rows.assign(RF=rows["RF"] * 100))
    assert "(absolute values over 502 days: RF: median 0.02, largest 0.02; daily" in str(info.value)


def test_decimals_divided_by_100_again_are_refused(ff3: pd.DataFrame, prices: object) -> None:
    with pytest.raises(FactorScaleError) as info:
        run_study(EVENT, prices, SPEC, factors=ff3.loc["2023":"2024"] / 100)
    assert str(info.value) == (
        "the factor frame (factors=): the factor returns are 100 times too small for daily "
        "decimal returns (absolute values over 502 days: Mkt-RF: median 4.9e-05, largest "
        "0.000317; SMB: median 4.65e-05, largest 0.00036; HML: median 5.2e-05, largest "
        "0.00036; daily decimal factors have a median about 0.005); were they divided by 100 "
        "twice? read_factors already gives decimals"
    )


def test_decimal_factors_give_the_study(ff3: pd.DataFrame, prices: object) -> None:
    res = run_study(EVENT, prices, SPEC, factors=ff3.loc["2023":"2024"])
    assert res.dropped.empty
    assert np.isfinite(res.windows["car"]).all()


# ----------------------------------------------------------------------------- crash days


@pytest.mark.parametrize(
    "rows",
    [("1987-10-19", "1987-10-19"), ("2020-03-16", "2020-03-16"), ("1987-10-01", "1987-10-31"),
     ("2020-03-01", "2020-03-31"), ("2020-02-15", "2020-04-15"), ("1929-09-01", "1933-12-31")],
)  # fmt: skip
def test_real_decimal_crash_days_are_accepted(ff3: pd.DataFrame, rows: tuple[str, str]) -> None:
    days = ff3.loc[rows[0] : rows[1]]
    assert len(days)
    check_factor_scale(days, "crash days")  # no error
    check_factor_scale(pd.concat([ff3.loc["1987-10"], ff3.loc["2020-03"]]), "both crashes")


def test_the_crash_figures(ff3: pd.DataFrame) -> None:
    # the real sizes the thresholds must stay clear of (PROVENANCE.md: -17.44 and -12.01)
    assert ff3.loc["1987-10-19", "Mkt-RF"] == pytest.approx(-0.1744)
    assert ff3.loc["2020-03-16", "Mkt-RF"] == pytest.approx(-0.1201)
    march = statistics.median(abs(x) for x in ff3.loc["2020-03", "Mkt-RF"])
    assert march == pytest.approx(0.0423)  # 22 sessions: a median far above a calm year's


def test_a_study_on_the_2020_crash_runs(ff3: pd.DataFrame, shared_prices_dir: Path) -> None:
    # prices of January to April 2020 only: the rows looked at are the crash's
    panel = load_prices(["AAPL", "SPY"], "2020-01-01", "2020-04-30", prices_dir=shared_prices_dir)
    event = pd.DataFrame(
        {"event_id": ["aapl"], "ticker": ["AAPL"], "day0": [pd.Timestamp("2020-04-01")]}
    )
    spec = StudySpec(model="factor", estimation=(-50, -2), min_estimation=40, windows=((0, 0),),
                     path=(0, 0))  # fmt: skip
    res = run_study(event, panel, spec, factors=ff3.loc["2019":"2020"])
    assert res.dropped.empty
    assert np.isfinite(res.windows["car"]).all()


# ----------------------------------------------------------------------------- planted effect


def test_the_decimal_factor_model_recovers_a_planted_abnormal_return() -> None:
    rng = np.random.default_rng(7)
    idx = sessions(400)
    f = pd.DataFrame(
        {"Mkt-RF": rng.normal(0.0003, 0.01, 400), "SMB": rng.normal(0, 0.005, 400),
         "HML": rng.normal(0, 0.005, 400), "RF": np.linspace(0.0, 0.0002, 400)},
        index=idx,
    )  # fmt: skip
    eps = rng.normal(0, 0.002, 400)
    excess = 0.0002 + 1.2 * f["Mkt-RF"] + 0.5 * f["SMB"] - 0.3 * f["HML"] + eps
    excess.iloc[300] += 0.04  # the planted abnormal return on day 0
    returns = pd.DataFrame({"S0000": f["RF"] + excess, "SPY": f["RF"] + f["Mkt-RF"]})
    returns.iloc[0] = np.nan
    event = pd.DataFrame({"event_id": ["e"], "ticker": ["S0000"], "day0": [idx[300]]})
    res = run_study(event, prices_from_returns(returns), SPEC, factors=f)
    ar = res.windows.set_index("window")["car"]["[0,0]"]
    assert ar == pytest.approx(0.04 + eps[300], abs=0.001)
    row = res.events.iloc[0]
    assert (row["b_Mkt-RF"], row["b_SMB"], row["b_HML"]) == pytest.approx(
        (1.2, 0.5, -0.3), abs=0.05
    )


# ----------------------------------------------------------------------------- files


def _french_layout(path: Path, frame: pd.DataFrame) -> Path:
    """``frame``'s values written as they are in Ken French's layout (rows YYYYMMDD, ...)."""
    lines = ["my factors", "", "," + ",".join(frame.columns)]
    lines += [f"{d:%Y%m%d}," + ",".join(f"{v:.6f}" for v in row) for d, row in frame.iterrows()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _decimal_file_message(path: Path) -> str:
    return (
        f"{path}: the values look like decimal returns, but Ken French's format is in percent "
        "(1.23 for 1.23 %) and is divided by 100 (absolute values once divided, over 502 days: "
        "Mkt-RF: median 4.9e-05, largest 0.000317; SMB: median 4.65e-05, largest 0.00036; "
        "HML: median 5.2e-05, largest 0.00036); write the file in percent (the values times 100)"
    )


def test_a_file_of_decimals_is_refused(ff3: pd.DataFrame, tmp_path: Path) -> None:
    path = _french_layout(tmp_path / "ff.csv", ff3.loc["2023":"2024"])
    with pytest.raises(FactorScaleError) as info:
        read_factors(path)
    assert str(info.value) == _decimal_file_message(path)


def test_a_file_100_times_percent_is_refused(ff3: pd.DataFrame, tmp_path: Path) -> None:
    path = _french_layout(tmp_path / "ff.csv", ff3.loc["2023":"2024"] * 10_000)
    with pytest.raises(FactorScaleError) as info:
        read_factors(path)
    assert str(info.value) == (
        f"{path}: the values divided by 100 (Ken French's format is in percent) are still too "
        "large for daily returns (absolute values over 502 days: Mkt-RF: median 0.49, largest "
        "3.17; SMB: median 0.465, largest 3.6; HML: median 0.52, largest 3.6; RF: median 0.02, "
        "largest 0.02); write the file in percent (1.23 for 1.23 %)"
    )


def test_evbt_study_says_so_in_one_line(
    ff3: pd.DataFrame, tmp_path: Path, shared_prices_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _french_layout(tmp_path / "ff.csv", ff3.loc["2023":"2024"])
    (tmp_path / "ev.csv").write_text("event_id,ticker,date\naapl,AAPL,2024-08-05\n")
    with pytest.raises(SystemExit) as info:
        main(["study", "--events-csv", str(tmp_path / "ev.csv"), "--model", "factor", "--factors",
              str(path), "--prices-dir", str(shared_prices_dir), "--quiet"])  # fmt: skip
    assert info.value.code == 1
    assert capsys.readouterr().err == (
        f"evbt: error: option --factors: {_decimal_file_message(path)}\n"
    )


def test_evbt_run_says_so(
    ff3: pd.DataFrame,
    tmp_path: Path,
    repo_root: Path,
    shared_prices_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _french_layout(tmp_path / "ff.csv", ff3.loc["2023":"2024"])
    (tmp_path / "run.toml").write_text(
        f"""name = "factors"
[catalog]
paths = ["{repo_root / "events"}"]
categories = ["layoff"]
[study]
model = "factor"
factors = ["ff.csv"]
[strategies]
paths = []
""",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", str(tmp_path / "run.toml"), "--prices-dir",
              str(shared_prices_dir), "--out", str(tmp_path / "out"), "--quiet"])  # fmt: skip
    assert info.value.code == 1
    err = capsys.readouterr().err.splitlines()
    # refused with the configuration's other problems, before any price is loaded
    config = tmp_path / "run.toml"
    assert err == [f"evbt: error: {config}: field study.factors: {_decimal_file_message(path)}"]
    assert not (tmp_path / "out").exists()


def test_the_french_file_itself_passes() -> None:
    for name in (FF3, "F-F_Momentum_Factor_daily.csv", "F-F_Research_Data_5_Factors_2x3_daily.csv"):
        assert len(read_factors(_shared("factors") / name))  # no FactorScaleError


def test_evbt_run_checks_the_factor_files_under_any_model(
    ff3: pd.DataFrame, tmp_path: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The run reads ``[study] factors`` whenever given (an event may ask for the factor
    model), so they are checked under the market model too."""
    path = _french_layout(tmp_path / "ff.csv", ff3.loc["2023":"2024"])
    config = tmp_path / "run.toml"
    config.write_text(
        f'[catalog]\npaths = ["{repo_root / "events"}"]\n[study]\nmodel = "market"\n'
        'factors = ["ff.csv"]\n[strategies]\npaths = []\n',
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", str(config), "--out", str(tmp_path / "out"), "--quiet"])
    assert info.value.code == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"evbt: error: {config}: field study.factors: {_decimal_file_message(path)}"]


def test_odd_frames_are_judged_on_their_number_columns(ff3: pd.DataFrame) -> None:
    """Review of stop 25: a column name used twice, a text column and a flag column crashed
    the check (pandas' "truth value of a Series is ambiguous", Arrow's abs of strings) or
    read a flag as percent ("flag: median 1")."""
    decimal = ff3.loc["2023":"2024"]
    check_factor_scale(pd.concat([decimal, decimal[["SMB"]]], axis=1), "x")
    check_factor_scale(decimal.assign(note="x", flag=True), "x")
    with pytest.raises(FactorScaleError, match=r"x: the factor returns look like percent"):
        check_factor_scale(pd.concat([decimal, decimal[["SMB"]] * 100], axis=1), "x")


# ------------------------------------------------------------------ short calm stretches


@pytest.mark.parametrize(("end", "days"), [("1965-08-30", 20), ("1994-01-26", 10)])
def test_a_short_calm_stretch_in_percent_is_refused(ff3: pd.DataFrame, end: str, days: int) -> None:
    """Review: over calm sessions no factor in percent reaches 0.5, so a median of 0.05 was
    not enough and the frame passed (without a risk-free rate, or with one in decimal); its
    median alone is now far above any decimal one over as many days
    (:data:`~backtest.study.inputs.PERCENT_MEDIAN_BY_DAYS`)."""
    stretch = ff3.loc[:end].iloc[-days:]
    percent = stretch.drop(columns="RF") * 100
    assert percent.abs().max().max() < 0.5  # the old rule's blind spot
    for frame in (percent, percent.assign(RF=stretch["RF"])):
        with pytest.raises(FactorScaleError) as info:
            check_factor_scale(frame, "x")
        assert str(info.value).startswith(
            f"x: the factor returns look like percent, not daily decimal returns (absolute "
            f"values over {days} days: "
        )
        assert str(info.value).endswith(
            "daily decimal factors have a median about 0.005 and never reach 0.5, a daily "
            "risk-free rate is below 0.001); divide them by 100, or read Ken French's CSV file "
            "with read_factors (--factors FILE), which converts its percent"
        )


#: the decimal stretches with the largest median of their length (or longer) in French's
#: files (benchmarks/factor_scale_calibration.py): (file, last day, sessions, largest median)
WORST_DECIMAL = [
    (FF3, "1929-10-30", 5, 0.1120),
    (FF3, "1929-11-15", 13, 0.0593),
    (FF3, "2020-04-06", 26, 0.0423),
    (FF3, "2008-12-08", 60, 0.0378),
    (FF3, "2009-01-29", 100, 0.0245),
    (FF3, "1932-09-15", 300, 0.01745),
]


@pytest.mark.parametrize(("name", "end", "days", "median"), WORST_DECIMAL)
def test_the_largest_decimal_medians_of_each_length_pass(
    name: str, end: str, days: int, median: float
) -> None:
    from backtest.study.inputs import percent_median

    decimal = plain_parse(_shared("factors") / name)
    stretch = decimal.loc[:end].iloc[-days:]
    top = max(statistics.median(abs(x) for x in stretch[c]) for c in stretch if c != "RF")
    assert top == pytest.approx(median, abs=5e-5)
    assert percent_median(days) >= 1.25 * top  # the margin the calibration keeps
    check_factor_scale(stretch, "x")  # no error


# ------------------------------------------------------------------ files whose units change


def test_a_file_whose_units_change_partway_is_named(
    ff3: pd.DataFrame, prices: object, tmp_path: Path
) -> None:
    """Review: a file in percent up to 2022 and in decimal after passes as a whole, and the
    study's check of the rows it uses (2023-2024) named it ``the factor frame (factors=)``
    and said to divide by 100."""
    path = _french_layout(
        tmp_path / "ff.csv", pd.concat([ff3.loc["2000":"2022"] * 100, ff3.loc["2023":"2024"]])
    )
    factors = read_factors(path)  # as a whole, in percent
    with pytest.raises(FactorScaleError) as info:
        run_study(EVENT, prices, SPEC, factors=factors)
    rows = "its rows on the price data's dates, 2023-01-03 to 2024-12-31"
    assert str(info.value) == _decimal_file_message(path).replace(f"{path}:", f"{path} ({rows}):")


def test_the_file_of_the_columns_whose_units_change_is_named(
    ff3: pd.DataFrame, prices: object, tmp_path: Path
) -> None:
    good = _french_layout(tmp_path / "ff3.csv", ff3.loc["2000":"2024"] * 100)
    mom = ff3.loc["2000":"2024", ["SMB"]].rename(columns={"SMB": "Mom"})
    changing = _french_layout(
        tmp_path / "mom.csv", pd.concat([mom.loc[:"2022"] * 100, mom.loc["2023":] * 10_000])
    )  # percent, then 100 times percent
    factors = read_factors([good, changing])
    with pytest.raises(FactorScaleError) as info:
        run_study(EVENT, prices, SPEC, factors=factors)
    assert str(info.value).startswith(
        f"{changing} (its rows on the price data's dates, 2023-01-03 to 2024-12-31): the values "
        "divided by 100 (Ken French's format is in percent) are still too large for daily "
        "returns (absolute values over 502 days: Mom: median 0.465, largest 3.6); write the "
        "file in percent"
    )
    # a frame of the caller's own is still named as such
    with pytest.raises(FactorScaleError, match=r"^the factor frame \(factors=\): .* percent"):
        run_study(EVENT, prices, SPEC, factors=ff3.loc["2023":"2024"] * 100)
