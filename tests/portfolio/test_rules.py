"""The counting and selection rules of strategies: one position per ticker and entry session,
the run's own study behind a condition, conditions on event attributes, and the shipped
post-earnings-drift strategy on real S&P 500 announcements."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from backtest.catalog import Catalog, load_catalog
from backtest.markets import get_calendar
from backtest.portfolio import (
    BacktestResult,
    MissingAttributeError,
    StrategyError,
    load_strategy,
    run_strategy,
    select_events,
)
from backtest.portfolio.run import _condition_values
from backtest.prices import CsvDirSource, load_prices
from backtest.study import StudySpec, run_study
from backtest.summary import Summary
from tests.portfolio.tables import event_table

LAYOFFS = """\
name = "layoffs"
[events]
categories = ["layoff"]
[exit]
hold = 5
[position]
{position}
"""


@pytest.fixture(scope="module")
def catalog(repo_root: Path) -> Catalog:
    return load_catalog([repo_root / "events"])


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- stacking


def test_one_position_per_ticker_and_entry_session(
    tmp_path: Path, catalog: Catalog, shared_prices_dir: Path
) -> None:
    """Amazon's press report (2025-10-27, during the session) and announcement (2025-10-28,
    before the open) both reach the 2025-10-28 open first: one position, the earlier entry's."""
    source = CsvDirSource(shared_prices_dir)
    once = run_strategy(
        load_strategy(write(tmp_path, LAYOFFS.format(position="size = 10000"))),
        catalog,
        source=source,
    )
    amzn = once.trades[once.trades["ticker"] == "AMZN"]
    assert amzn["event_id"].tolist() == ["amzn-2025-10-layoffs-report"]
    assert amzn["entry_date"].tolist() == [pd.Timestamp("2025-10-28")]
    reasons = once.skipped.set_index("event_id")["reason"]
    assert reasons["amzn-2025-10-layoffs"] == (
        "AMZN already enters on 2025-10-28 for amzn-2025-10-layoffs-report (one position per "
        "ticker and entry session; set position.stack = true to trade both)"
    )
    stacked = run_strategy(
        load_strategy(write(tmp_path, LAYOFFS.format(position="stack = true"), "t.toml")),
        catalog,
        source=source,
    )
    both = stacked.trades[stacked.trades["ticker"] == "AMZN"].set_index("event_id")
    assert set(both.index) == {"amzn-2025-10-layoffs-report", "amzn-2025-10-layoffs"}
    # the same open, the same exit: the same trade twice (what stacking asks for)
    a, b = both.loc["amzn-2025-10-layoffs-report"], both.loc["amzn-2025-10-layoffs"]
    assert (a["entry_date"], a["exit_date"]) == (b["entry_date"], b["exit_date"])
    assert a["pnl"] == pytest.approx(b["pnl"], rel=1e-12)
    assert "amzn-2025-10-layoffs" not in set(stacked.skipped["event_id"])

    # per-ticker results count it once unless stacked
    def n_trades(r: object, who: str) -> int:
        m = r.metrics  # type: ignore[attr-defined]
        return int(m[(m["portfolio"] == who) & (m["kind"] == "strategy")]["n_trades"].iloc[0])

    assert n_trades(stacked, "AMZN") == n_trades(once, "AMZN") + 1


def test_the_kept_event_is_the_one_the_other_repeats() -> None:
    """``same_news_as`` on the earlier entry: it repeats the later one, which is kept."""
    day0 = pd.Timestamp("2024-03-05")
    table = event_table(
        ["early-report", "announcement"],
        ["AAA", "AAA"],
        [day0, day0],
        date=[pd.Timestamp("2024-03-04"), day0],
        timing=["after_close", "before_open"],
        same_news_as=["announcement", None],
    )
    sessions = get_calendar("XNYS").sessions
    idx = sessions[(sessions >= "2024-01-02") & (sessions <= "2024-06-28")]
    px = pd.DataFrame({"AAA": np.linspace(10, 12, len(idx)), "SPY": 100.0}, index=idx)
    panel = SimpleNamespace(open=px, close=px, high=px, low=px)
    path = Path(__file__).with_name("unused.toml")
    strategy = load_strategy_text('name = "x"\n[events]\ncategories = ["news"]\n', path)
    r = run_strategy(strategy, table, prices=panel)
    assert r.trades["event_id"].tolist() == ["announcement"]
    assert r.skipped["reason"].iloc[0].startswith("AAA already enters on 2024-03-05 for announ")


def load_strategy_text(text: str, path: Path) -> object:
    """A strategy parsed from ``text`` (written beside ``path`` in a temporary folder)."""
    import tempfile

    folder = Path(tempfile.mkdtemp())
    return load_strategy(write(folder, text, path.name))


# ----------------------------------------------------------------------------- condition


SHORT = """\
name = "short"
[events]
categories = ["earnings"]
[condition]
day = 0
below = -0.03
model = "{model}"
[exit]
hold = 5
[position]
direction = "short"
"""


@pytest.fixture(scope="module")
def earnings_setup(catalog: Catalog, shared_prices_dir: Path) -> SimpleNamespace:
    table = catalog.to_frame()
    earnings = table[table["category"] == "earnings"].reset_index(drop=True)
    tickers = sorted({*table["ticker"], "SPY", "^HSI"})
    panel = load_prices(tickers, source=CsvDirSource(shared_prices_dir))
    spec = StudySpec(model="market", windows=((0, 0), (-1, 1)), path=(-5, 5))
    study = run_study(earnings, panel, spec, context=catalog)
    return SimpleNamespace(earnings=earnings, panel=panel, study=study)


def test_a_condition_reads_the_runs_study(
    tmp_path: Path, catalog: Catalog, earnings_setup: SimpleNamespace
) -> None:
    s = earnings_setup
    strategy = load_strategy(write(tmp_path, SHORT.format(model="market")))
    table = select_events(strategy, catalog)
    ar, _skipped = _condition_values(strategy, table, s.panel, catalog, s.study)
    want = s.study.ar[0].reindex(ar.index)
    np.testing.assert_array_equal(ar.to_numpy(), want.to_numpy())  # the study's own numbers
    # an event the study dropped cannot be traded on a measured condition
    row = s.study.events.iloc[0]
    gone = pd.DataFrame(
        [{"event_id": row["event_id"], "ticker": row["ticker"], "stage": "estimation",
          "reason": "only 12 estimation returns (120 needed)"}]
    )  # fmt: skip
    key = (row["event_id"], row["ticker"])
    dropped = dataclasses.replace(
        s.study,
        events=s.study.events.iloc[1:],
        ar=s.study.ar.drop(index=[key]),
        dropped=pd.concat([s.study.dropped, gone], ignore_index=True),
    )
    r = run_strategy(strategy, catalog, prices=s.panel, study=dropped)
    reasons = r.skipped.set_index(["event_id", "ticker"])["reason"]
    assert reasons[key] == (
        "condition not measurable (the run's event study): only 12 estimation returns (120 needed)"
    )
    assert key[0] not in set(r.trades["event_id"])


def test_without_a_study_the_condition_is_measured_with_the_whole_catalog(
    tmp_path: Path, catalog: Catalog, earnings_setup: SimpleNamespace
) -> None:
    """Other categories' events are kept out of the estimation windows: META's 2023 results
    measure differently with the earnings alone as context, and the strategy must not."""
    s = earnings_setup
    strategy = load_strategy(write(tmp_path, SHORT.format(model="market")))
    table = select_events(strategy, catalog)
    ar, _ = _condition_values(strategy, table, s.panel, catalog, None)
    spec = StudySpec(model="market", windows=((0, 0),), path=(-1, 1), max_loss=1.0)
    full = run_study(table, s.panel, spec, context=catalog).ar[0]
    alone = run_study(table, s.panel, spec).ar[0]
    key = ("meta-2023q3-results", "META")
    assert ar[key] == full[key]
    assert abs(ar[key] - alone[key]) > 1e-4  # the selection alone would measure it otherwise
    # a study of another model is not used: the condition is measured here
    other = load_strategy(write(tmp_path, SHORT.format(model="constant_mean"), "c.toml"))
    ar_c, _ = _condition_values(other, table, s.panel, catalog, s.study)
    own, _ = _condition_values(other, table, s.panel, catalog, None)
    np.testing.assert_array_equal(ar_c.to_numpy(), own.to_numpy())


# ----------------------------------------------------------------------------- attributes


def attribute_table() -> pd.DataFrame:
    """Six earnings events of two tickers with a surprise (one missing) and a sector."""
    dates = pd.to_datetime(
        ["2024-02-01", "2024-02-08", "2024-03-01", "2024-03-08", "2024-04-01", "2024-04-08"]
    )
    return event_table(
        [f"e{i}" for i in range(6)],
        ["AAA", "BBB"] * 3,
        dates,
        category="earnings",
        surprise_pct=[12.0, -8.0, 5.0, np.nan, 0.5, -5.5],
        sector=["Tech", "Energy", "Tech", "Energy", "Tech", "Energy"],
    )


@pytest.mark.parametrize(
    ("where", "ids"),
    [
        ("{ surprise_pct = { above = 5 } }", ["e0"]),  # strict: 5.0 is not above 5
        ("{ surprise_pct = { below = -5 } }", ["e1", "e5"]),
        ("{ surprise_pct = { above = -6, below = 6 } }", ["e2", "e4", "e5"]),
        ("{ surprise_pct = { equals = 5 } }", ["e2"]),
        ("{ surprise_pct = { in = [0.5, 12] } }", ["e0", "e4"]),
        ('{ sector = "Energy" }', ["e1", "e3", "e5"]),
        ('{ sector = ["Tech"], surprise_pct = { above = 1 } }', ["e0", "e2"]),
    ],
)
def test_where_on_event_attributes(tmp_path: Path, where: str, ids: list[str]) -> None:
    text = f'name = "w"\n[events]\ncategories = ["earnings"]\nwhere = {where}\n'
    chosen = select_events(load_strategy(write(tmp_path, text)), attribute_table())
    assert chosen["event_id"].tolist() == ids  # the missing surprise (e3) never matches


@pytest.mark.parametrize(
    ("period", "ids"),
    [
        ("start = 2024-03-01", ["e2", "e3", "e4", "e5"]),  # both ends inclusive
        ("end = 2024-03-01", ["e0", "e1", "e2"]),
        ("start = 2024-03-01\nend = 2024-04-01", ["e2", "e3", "e4"]),
    ],
)
def test_events_start_and_end_select_by_date(tmp_path: Path, period: str, ids: list[str]) -> None:
    """``[events] start``/``end`` (dates of ``attribute_table``: 02-01, 02-08, 03-01, 03-08,
    04-01, 04-08 of 2024) once crashed with an AttributeError in every strategy using them."""
    text = f'name = "p"\n[events]\ncategories = ["earnings"]\n{period}\n'
    chosen = select_events(load_strategy(write(tmp_path, text)), attribute_table())
    assert chosen["event_id"].tolist() == ids


def test_a_period_matching_no_event_says_so_with_its_dates(tmp_path: Path) -> None:
    text = 'name = "p"\n[events]\ncategories = ["earnings"]\nstart = 2025-01-01\n'
    with pytest.raises(StrategyError, match=r"field events: matches no catalog event \(\{"
                       r"'categories': \('earnings',\), 'start': '2025-01-01'\}"):  # fmt: skip
        select_events(load_strategy(write(tmp_path, text)), attribute_table())


def test_long_when_and_short_when_choose_each_events_direction(tmp_path: Path) -> None:
    text = (
        'name = "d"\n[events]\ncategories = ["earnings"]\n[position]\n'
        "long_when = { surprise_pct = { above = 4 } }\n"
        "short_when = { surprise_pct = { below = -5 } }\n"
    )
    chosen = select_events(load_strategy(write(tmp_path, text)), attribute_table())
    assert dict(zip(chosen["event_id"], chosen["direction"], strict=True)) == {
        "e0": 1, "e1": -1, "e2": 1, "e5": -1,
    }  # fmt: skip
    overlap = text.replace("below = -5", "below = 6")  # e2 (+5) and e4 (+0.5) ... e2 meets both
    both = select_events(load_strategy(write(tmp_path, overlap, "o.toml")), attribute_table())
    assert both.set_index("event_id")["direction"]["e2"] == 0  # skipped by run_strategy


def test_the_rules_line_names_each_direction_and_its_condition(tmp_path: Path) -> None:
    text = (
        'name = "d"\n[events]\ncategories = ["earnings"]\n[position]\n'
        "long_when = { surprise_pct = { above = 4 } }\n"
        "short_when = { surprise_pct = { below = -5 }, sector = ['Energy', 'Utilities'] }\n"
    )
    rules = BacktestResult.rules  # it reads only the strategy
    line = rules(SimpleNamespace(strategy=load_strategy(write(tmp_path, text))))  # type: ignore[arg-type]
    assert line.startswith(
        "long when surprise_pct above 4, short when surprise_pct below -5 and sector in "
        "(Energy, Utilities); 10,000 per trade; entry at the next open"
    )
    plain = 'name = "p"\n[events]\ncategories = ["earnings"]\n[position]\ndirection = "short"\n'
    line = rules(SimpleNamespace(strategy=load_strategy(write(tmp_path, plain, "p.toml"))))  # type: ignore[arg-type]
    assert line.startswith("short 10,000 per trade; entry at the next open")


def test_an_attribute_known_after_the_event_is_refused(tmp_path: Path) -> None:
    table = attribute_table()
    table.attrs["attributes"] = {"surprise_pct": "after", "sector": "before"}
    text = 'name = "w"\n[position]\nlong_when = { surprise_pct = { above = 5 } }\n'
    with pytest.raises(StrategyError, match=r"field position\.long_when\.surprise_pct: "
                       r"'surprise_pct' is known only after the event"):  # fmt: skip
        select_events(load_strategy(write(tmp_path, text)), table)
    ok = 'name = "w"\n[events]\nwhere = { sector = "Tech" }\n'
    assert len(select_events(load_strategy(write(tmp_path, ok, "ok.toml")), table)) == 3


def test_a_text_attribute_has_no_above(tmp_path: Path) -> None:
    text = 'name = "w"\n[events]\nwhere = { sector = { above = 1 } }\n'
    with pytest.raises(StrategyError, match="'sector' is not a number attribute"):
        select_events(load_strategy(write(tmp_path, text)), attribute_table())


def test_the_drift_strategy_on_a_catalog_without_surprises_says_so(
    repo_root: Path, catalog: Catalog
) -> None:
    strategy = load_strategy(repo_root / "strategies" / "post_earnings_drift.toml")
    with pytest.raises(MissingAttributeError, match="no event attribute 'surprise_pct'"):
        select_events(strategy, catalog)


# ----------------------------------------------------------------------------- S&P 500


def sp500_events(folder: Path, tickers: list[str]) -> pd.DataFrame:
    """Reported earnings rows of ``tickers`` from 2024 on, read here from the raw CSVs: day 0 is
    the next session after a 16:00 stamp, the same session before 09:30 (else unknown)."""
    sessions = get_calendar("XNYS").sessions
    rows = []
    for t in tickers:
        raw = pd.read_csv(folder / "earnings" / f"{t}.csv", dtype=str)
        for stamp, surprise in zip(raw["EarningsDate"], raw["Surprise(%)"], strict=True):
            if pd.isna(surprise) or stamp[:10] < "2024-01-01":
                continue
            date = pd.Timestamp(stamp[:10])
            clock = stamp[11:16]
            timing = "after_close" if clock >= "16:00" else (
                "before_open" if clock < "09:30" else "unknown"
            )  # fmt: skip
            pos = sessions.searchsorted(date) + (timing == "after_close")
            rows.append(
                {"event_id": f"{t.lower()}-{stamp[:10]}-earnings", "ticker": t,
                 "is_primary": True, "market": "XNYS", "day0": sessions[pos], "date": date,
                 "timing": timing, "time": None, "timezone": None, "category": "earnings",
                 "scope": "company", "title": f"{t} earnings", "n_tickers": 1, "tags": "",
                 "file": None, "surprise_pct": float(surprise)}
            )  # fmt: skip
    return pd.DataFrame(rows)


def sp500_panel(folder: Path, tickers: list[str]) -> SimpleNamespace:
    frames = {}
    for t in tickers:
        raw = pd.read_csv(folder / "prices" / f"{t}.csv", dtype={"Date": str})
        raw.index = pd.DatetimeIndex(pd.to_datetime(raw["Date"].str[:10]))
        if "Adj Close" in raw:  # SPY: adjusted, and opens scaled by Adj Close / Close
            scale = raw["Adj Close"] / raw["Close"]
            raw = raw.assign(Open=raw["Open"] * scale, High=raw["High"] * scale,
                             Low=raw["Low"] * scale, Close=raw["Adj Close"])  # fmt: skip
        frames[t] = raw

    def wide(col: str) -> pd.DataFrame:
        return pd.DataFrame({t: f[col] for t, f in frames.items()}).sort_index()

    return SimpleNamespace(open=wide("Open"), high=wide("High"), low=wide("Low"),
                           close=wide("Close"))  # fmt: skip


@pytest.mark.slow
def test_post_earnings_drift_on_sp500_announcements(repo_root: Path, sp500_dir: Path) -> None:
    tickers = ["META", "AAPL", "NFLX", "INTC"]
    events = sp500_events(sp500_dir, tickers)
    panel = sp500_panel(sp500_dir, [*tickers, "SPY"])
    strategy = load_strategy(repo_root / "strategies" / "post_earnings_drift.toml")
    r = run_strategy(strategy, events, prices=panel)
    t = r.trades[r.trades["combo"] == 0]  # hold 1
    surprise = events.set_index("event_id")["surprise_pct"]
    for _, trade in t.iterrows():
        s = surprise[trade["event_id"]]
        assert trade["direction"] == (1 if s > 5 else -1)
        assert abs(s) > 5
    traded = set(t["event_id"]) | set(r.skipped["event_id"])
    assert traded == set(surprise.index[(surprise > 5) | (surprise < -5)])
    # Meta's 2025-10-29 results (16:00, after the close; surprise +8.66%): long at the open of
    # 2025-10-30, out at the next open, 5 bps slippage each side
    meta = t.set_index("event_id").loc["meta-2025-10-29-earnings"]
    assert surprise["meta-2025-10-29-earnings"] == pytest.approx(8.66)
    assert meta["direction"] == 1
    assert meta["entry_date"] == pd.Timestamp("2025-10-30")
    assert meta["exit_date"] == pd.Timestamp("2025-10-31")
    opens = panel.open["META"]
    assert meta["entry_price"] == pytest.approx(opens["2025-10-30"] * 1.0005, rel=1e-12)
    assert meta["exit_price"] == pytest.approx(opens["2025-10-31"] * 0.9995, rel=1e-12)
    # hold 60 from 2025-10-30 runs past the files (to 2025-11-21): skipped with the reason
    late = r.skipped[
        (r.skipped["event_id"] == "meta-2025-10-29-earnings") & (r.skipped["combo"] == 3)
    ]
    assert late["reason"].iloc[0].startswith("needs prices to 2026-")
    assert late["reason"].iloc[0].endswith("for a 60-session hold; the data ends 2025-11-21")
    assert isinstance(r.summary(), Summary)
    assert len(r.trade_stats) == 4
    assert set(r.trade_stats["warning"]) <= {
        "too few trades to judge",
        "",
    }


# ----------------------------------------------------------------------------- primary tickers

NOT_PRIMARY = (
    "not the event's primary ticker (set [events] primary_only = false to trade every ticker)"
)


def primary_table() -> pd.DataFrame:
    """e1 concerns AAA (its primary), BBB and CCC; e2 only DDD."""
    return event_table(
        ["e1", "e1", "e1", "e2"],
        ["AAA", "BBB", "CCC", "DDD"],
        pd.to_datetime(["2024-03-05"] * 3 + ["2024-03-12"]),
        is_primary=[True, False, False, True],
        n_tickers=[3, 3, 3, 1],
    )


def primary_panel() -> SimpleNamespace:
    sessions = get_calendar("XNYS").sessions
    idx = sessions[(sessions >= "2024-01-02") & (sessions <= "2024-06-28")]
    px = pd.DataFrame(dict.fromkeys(["AAA", "BBB", "CCC", "DDD", "SPY"], 10.0), index=idx)
    return SimpleNamespace(open=px, close=px, high=px, low=px)


def primary_strategy(tmp_path: Path, events: str) -> object:
    text = f'name = "p"\n[events]\n{events}\n[exit]\nhold = 5\n[position]\nsize = 1000\n'
    return load_strategy(write(tmp_path, text))


def test_an_events_other_tickers_are_skipped_with_the_reason(tmp_path: Path) -> None:
    """By default only each event's primary ticker trades; the other tickers the filters
    select are listed in skipped, with how to trade them, after the other skips."""
    r = run_strategy(
        primary_strategy(tmp_path, 'categories = ["news"]'), primary_table(), prices=primary_panel()
    )
    assert sorted(r.trades["ticker"]) == ["AAA", "DDD"]
    assert r.skipped[["event_id", "ticker", "reason"]].values.tolist() == [
        ["e1", "BBB", NOT_PRIMARY],
        ["e1", "CCC", NOT_PRIMARY],
    ]
    assert r.skipped_table()["combinations"].tolist() == ["all", "all"]
    # the summary lists an event's tickers of one reason on one line
    assert f"- e1 BBB, CCC: {NOT_PRIMARY}" in str(r)
    assert r.skipped_lines(max_rows=1) == [f"e1 BBB, CCC: {NOT_PRIMARY}"]
    assert r.skipped_lines(max_rows=0) == ["... and 2 more (see .skipped)"]


def test_only_the_rows_the_other_criteria_select_are_listed(tmp_path: Path) -> None:
    strategy = primary_strategy(tmp_path, 'tickers = ["AAA", "BBB", "DDD"]')
    r = run_strategy(strategy, primary_table(), prices=primary_panel())
    assert r.skipped[["event_id", "ticker"]].values.tolist() == [["e1", "BBB"]]
    assert select_events(strategy, primary_table())["ticker"].tolist() == ["AAA", "DDD"]


def test_primary_only_false_trades_every_ticker(tmp_path: Path) -> None:
    strategy = primary_strategy(tmp_path, 'categories = ["news"]\nprimary_only = false')
    r = run_strategy(strategy, primary_table(), prices=primary_panel())
    assert sorted(r.trades["ticker"]) == ["AAA", "BBB", "CCC", "DDD"]
    assert r.skipped.empty


def test_a_filter_selecting_only_other_tickers_says_how_to_trade_them(tmp_path: Path) -> None:
    strategy = primary_strategy(tmp_path, 'tickers = ["BBB", "CCC"]')
    with pytest.raises(StrategyError) as info:
        select_events(strategy, primary_table())
    assert info.value.problems[0][0] == "events"
    message = info.value.problems[0][1]
    assert "matches only tickers that are not their event's primary" in message
    assert "2 rows, e.g. e1 BBB" in message
    assert "set [events] primary_only = false" in message


def test_the_busan_summit_trades_spy_and_lists_its_twelve_other_tickers(
    tmp_path: Path, catalog: Catalog, shared_prices_dir: Path
) -> None:
    """The review's case: an event of 13 tickers, the strategy trades its primary (SPY)."""
    strategy = primary_strategy(tmp_path, 'ids = ["busan-trump-xi-summit"]')
    r = run_strategy(strategy, catalog, source=CsvDirSource(shared_prices_dir))
    rows = catalog.to_frame()
    rows = rows[rows["event_id"] == "busan-trump-xi-summit"]
    assert len(rows) == 13
    assert r.trades["ticker"].tolist() == ["SPY"]
    others = rows.loc[~rows["is_primary"], "ticker"].tolist()
    assert r.skipped["ticker"].tolist() == others
    assert set(r.skipped["reason"]) == {NOT_PRIMARY}


# ----------------------------------------------------------------------------- progress


def test_progress_reports_every_step(
    tmp_path: Path, catalog: Catalog, shared_prices_dir: Path
) -> None:
    seen: list[tuple[int, int]] = []
    text = LAYOFFS.format(position="size = 10000").replace("hold = 5", "hold = [1, 5]")
    run_strategy(
        load_strategy(write(tmp_path, text)),
        catalog,
        source=CsvDirSource(shared_prices_dir),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(k, 5) for k in range(1, 6)]  # 2 combinations, 2 simulations, measuring
