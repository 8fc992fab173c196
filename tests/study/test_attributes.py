"""Events with attributes: carried into the per-event tables and JSON, grouped by their bins."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.study import SpecError, StudySpec, run_study
from tests.study.synth import Synth, make_market


@pytest.fixture(scope="module")
def market() -> tuple[Synth, pd.DataFrame]:
    """200 events whose day-0 reaction is planted as 0.2% x the surprise (in percent)."""
    m = make_market(n_days=900, n_stocks=40, n_events=200, seed=3, sigma=0.01)
    rng = np.random.default_rng(11)
    surprise = np.round(rng.normal(0.0, 10.0, len(m.events)), 2)
    r = m.returns.copy()
    for (t, d), s in zip(m.events[["ticker", "day0"]].itertuples(index=False), surprise,
                         strict=True):  # fmt: skip
        r.loc[d, t] += 0.002 * s
    close = 100.0 * (1.0 + r.fillna(0.0)).cumprod()
    events = m.events.assign(surprise_pct=surprise, sector=np.where(surprise > 0, "up", "down"))
    events.loc[5, "surprise_pct"] = np.nan  # a row without a value
    return m, events, close  # type: ignore[return-value]


def _quantile_bins(values: pd.Series, q: int) -> list[pd.Series]:
    """The rows with a value in each of ``q`` quantile bins: edges at the sample's quantiles
    (linear interpolation), bins closed on the right, the lowest edge included."""
    v = values.dropna()
    edges = np.quantile(v.to_numpy(), np.linspace(0, 1, q + 1))
    k = np.clip(np.searchsorted(edges, v.to_numpy(), side="left"), 1, q)
    return [v[k == j] for j in range(1, q + 1)]


def _car0(res: object) -> pd.Series:
    w = res.windows  # type: ignore[attr-defined]
    w = w[w["window"] == "[0,0]"]
    return w.set_index(["event_id", "ticker"])["car"]


def test_quintiles_are_equal_count_bins_named_by_their_range(market: tuple) -> None:  # type: ignore[type-arg]
    _, events, close = market
    res = run_study(events, close, StudySpec(group_by=("all", "surprise_pct:quintile")))
    # the bins computed here: rows with a value sorted by surprise, five equal parts
    parts = [events.loc[b.index] for b in _quantile_bins(events["surprise_pct"], 5)]
    assert [len(p) for p in parts] in ([40, 40, 39, 40, 40], [40] * 4 + [39], [39] + [40] * 4)
    car = _car0(res)
    g = res.group_table("surprise_pct:quintile", "CAAR")
    g = g[g["window"] == "[0,0]"].set_index("group")
    names = []
    for k, part in enumerate(parts, 1):
        name = (
            f"surprise_pct Q{k} [{part['surprise_pct'].min():.4g}, "
            f"{part['surprise_pct'].max():.4g}]"
        )
        names.append(name)
        assert g.loc[name, "n"] == len(part)  # events of a ticker are 60 sessions apart
        rows = car.loc[list(zip(part["event_id"], part["ticker"], strict=True))]
        assert g.loc[name, "n_rows"] == len(part)
        assert g.loc[name, "value"] == pytest.approx(rows.mean(), abs=1e-12)
        assert "quintile breakpoints are quantiles of this sample" in g.loc[name, "notes"]
    assert sorted(g.index) == sorted([*names, "surprise_pct missing"])
    # the planted effect: reactions rise with the surprise
    values = [g.loc[n, "value"] for n in names]
    assert values == sorted(values)
    assert values[0] < -0.02 < 0.02 < values[-1]
    # each row's bin is in the per-event table
    e = res.events.set_index("event_id")
    assert e.loc["ev00005", "surprise_pct:quintile"] == "surprise_pct missing"


def test_sign_edges_and_deciles(market: tuple) -> None:  # type: ignore[type-arg]
    _, events, close = market
    spec = StudySpec(
        group_by=("all", "surprise_pct:sign", "surprise_pct:-5,0,5", "surprise_pct:decile"),
        windows=((0, 0),),
    )
    res = run_study(events, close, spec)
    s = events["surprise_pct"]
    sign = res.group_table("surprise_pct:sign", "CAAR").set_index("group")
    assert sign.loc["surprise_pct < 0", "n_rows"] == (s < 0).sum()
    assert sign.loc["surprise_pct > 0", "n_rows"] == (s > 0).sum()
    assert sign.loc["surprise_pct < 0", "value"] < 0 < sign.loc["surprise_pct > 0", "value"]
    edges = res.group_table("surprise_pct:-5,0,5", "CAAR").set_index("group")
    want = {
        "surprise_pct B1 [-inf, -5)": (s < -5).sum(),
        "surprise_pct B2 [-5, 0)": ((s >= -5) & (s < 0)).sum(),
        "surprise_pct B3 [0, 5)": ((s >= 0) & (s < 5)).sum(),
        "surprise_pct B4 [5, +inf]": (s >= 5).sum(),
        "surprise_pct missing": s.isna().sum(),
    }
    assert edges["n_rows"].to_dict() == want
    assert not any("quantiles" in str(x) for x in edges["notes"])  # fixed edges: no note
    dec = res.group_table("surprise_pct:decile", "CAAR")
    labels = [x for x in dec["group"] if x != "surprise_pct missing"]
    assert [x.split()[1] for x in labels] == [f"Q{k:02d}" for k in range(1, 11)]  # in order
    counts = [len(b) for b in _quantile_bins(s, 10)]
    assert dec.loc[dec["group"] != "surprise_pct missing", "n_rows"].tolist() == counts


def test_attributes_are_carried_into_the_tables_and_the_json(market: tuple) -> None:  # type: ignore[type-arg]
    _, events, close = market
    res = run_study(events, close, StudySpec(group_by=("all", "sector")))
    assert {"surprise_pct", "sector", "grp"} <= set(res.attributes)
    frame = res.to_frame()
    row = frame[frame["event_id"] == "ev00000"].iloc[0]
    src = events[events["event_id"] == "ev00000"].iloc[0]
    assert row["surprise_pct"] == src["surprise_pct"]
    assert row["sector"] == src["sector"]
    doc = json.loads(json.dumps(res.to_dict()))
    e = {x["event_id"]: x for x in doc["events"]}
    assert e["ev00000"]["attributes"]["surprise_pct"] == src["surprise_pct"]
    assert e["ev00005"]["attributes"]["surprise_pct"] is None
    assert {g["group"] for g in doc["groups"] if g["group_by"] == "sector"} == {"down", "up"}


@pytest.mark.parametrize(
    ("group_by", "message"),
    [
        ("surprise_pct:quintiles", "'quintiles' is not a binning"),
        ("surprise_pct:5,0", "edges must increase"),
        (":sign", "no column before ':'"),
    ],
)
def test_bad_binnings_are_refused_before_anything_is_computed(
    market: tuple,  # type: ignore[type-arg]
    group_by: str,
    message: str,
) -> None:
    _, events, close = market
    with pytest.raises(SpecError, match=message):
        run_study(events, close.iloc[:0], StudySpec(group_by=("all", group_by)))


def test_binning_a_missing_or_text_column_names_it(market: tuple) -> None:  # type: ignore[type-arg]
    _, events, close = market
    with pytest.raises(SpecError, match="'nope' is not a column"):
        run_study(events, close, StudySpec(group_by=("all", "nope:sign")))
    with pytest.raises(SpecError, match="sector has values that are not numbers"):
        run_study(events, close, StudySpec(group_by=("all", "sector:sign")))


def test_the_command_line_groups_by_bins(market: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    from backtest.cli import cli

    _, events, close = market
    prices = tmp_path / "prices"
    prices.mkdir()
    for t in close.columns:
        c = close[t]
        pd.DataFrame(
            {"date": c.index.date, "open": c, "high": c, "low": c, "close": c, "volume": 1000}
        ).to_csv(prices / f"{t}.csv", index=False)
    csv = tmp_path / "events.csv"
    ev = events.assign(date=events["day0"].dt.date, timing="before_open").drop(columns="day0")
    ev.to_csv(csv, index=False)
    r = CliRunner().invoke(
        cli,
        [
            "study",
            "--events-csv",
            str(csv),
            "--prices-dir",
            str(prices),
            "--group-by",
            "surprise_pct:tertile",
            "--format",
            "json",
            "-q",
        ],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    groups = sorted(g["group"] for g in doc["groups"] if g["group_by"] == "surprise_pct:tertile")
    assert [x.split(" [")[0] for x in groups] == [
        "surprise_pct Q1", "surprise_pct Q2", "surprise_pct Q3", "surprise_pct missing",
    ]  # fmt: skip
    e = doc["events"][0]
    assert e["attributes"]["surprise_pct:tertile"].startswith("surprise_pct Q")


def test_a_run_configuration_groups_by_bins(market: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    from backtest.job import load_config

    _, events, close = market
    path = tmp_path / "run.toml"
    path.write_text('[study]\ngroup_by = ["all", "surprise_pct:sign"]\n', encoding="utf-8")
    spec = load_config(path).study_spec()
    assert spec.group_by == ("all", "surprise_pct:sign")
    res = run_study(events, close, spec)
    groups = set(res.group_table("surprise_pct:sign", "CAAR")["group"])
    assert groups == {"surprise_pct < 0", "surprise_pct > 0", "surprise_pct missing"}


def test_quantiles_of_identical_values_are_one_bin(market: tuple) -> None:  # type: ignore[type-arg]
    """Every value equal collapses the breakpoints: qcut gives no bin (NaN codes), which were
    cast to int64 and named "surprise_pct Q-9223372036854775807 [5, 5]"."""
    _, events, close = market
    same = events.assign(surprise_pct=np.where(events["surprise_pct"].isna(), np.nan, 5.0))
    res = run_study(same, close, StudySpec(group_by=("all", "surprise_pct:quintile")))
    g = res.group_table("surprise_pct:quintile", "CAAR")
    g = g[g["window"] == "[0,0]"].set_index("group")
    assert sorted(g.index) == ["surprise_pct Q1 [5, 5]", "surprise_pct missing"]
    assert g.loc["surprise_pct Q1 [5, 5]", "n_rows"] == same["surprise_pct"].notna().sum()
