"""The vectorbt simulation against arithmetic written here and a plain loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest.portfolio.simulate import simulate

IDX = pd.bdate_range("2024-01-01", periods=12)


def prices() -> dict[str, pd.DataFrame]:
    o = pd.DataFrame(
        {
            "AAA": [100, 101, 102, 103, 104, 110, 108, 106, 104, 100, 99, 98.0],
            "BBB": [50, 50.5, 51, 52, 51.5, 51, 50, 49, 48, 48.5, 49, 50.0],
        },
        index=IDX,
    )
    c = o + pd.DataFrame({"AAA": 0.5, "BBB": -0.25}, index=IDX)
    return {"open_": o, "close": c, "high": np.maximum(o, c) + 1, "low": np.minimum(o, c) - 1}


def legs(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {
        "fill": "open",
        "size": 10_000.0,
        "fees": 0.001,
        "slippage": 0.002,
        "stop_loss": np.nan,
        "take_profit": np.nan,
        "group": "g",
    }
    return pd.DataFrame([{**base, **r} for r in rows])


def test_two_trades_with_fees_and_slippage_to_the_cent() -> None:
    """Long AAA open(d1) -> open(d5); short BBB close(d6) -> close(d9). Costs 10 bps fees and
    20 bps slippage per side. vectorbt buys size/price shares at the unslipped price."""
    p = prices()
    trades = legs(
        [
            {"underlying": "AAA", "direction": 1, "entry_date": IDX[1], "exit_date": IDX[5]},
            {
                "underlying": "BBB",
                "direction": -1,
                "fill": "close",
                "entry_date": IDX[6],
                "exit_date": IDX[9],
            },
        ]
    )
    sim = simulate(trades, index=IDX, init_cash=100_000.0, **p)
    # trade 1: open 101 -> buy 10000/101 = 99.00990099 shares at 101 * 1.002 = 101.202,
    # entry fee 0.1% of 99.00990099 * 101.202 = 10.02; exit at open 110 * 0.998 = 109.78,
    # exit fee 0.1% of 99.00990099 * 109.78 = 10.8693069
    shares1 = 10_000 / 101
    pnl1 = shares1 * (110 * 0.998 - 101 * 1.002) - 0.001 * shares1 * (101 * 1.002 + 110 * 0.998)
    # trade 2: short at close 49.75 (open 50 - 0.25) receiving 49.75 * 0.998, cover at close
    # 48.25 (open 48.5 - 0.25) paying 48.25 * 1.002
    shares2 = 10_000 / 49.75
    pnl2 = shares2 * (49.75 * 0.998 - 48.25 * 1.002) - 0.001 * shares2 * (
        49.75 * 0.998 + 48.25 * 1.002
    )
    got = sim.legs
    assert got["pnl"].iloc[0] == pytest.approx(pnl1, abs=0.005)
    assert got["pnl"].iloc[1] == pytest.approx(pnl2, abs=0.005)
    assert round(pnl1, 2) == 828.42  # 99.00990 x 8.578 - 20.8893, worked by hand
    assert round(pnl2, 2) == 242.41  # 201.00503 x 1.3040 - 19.6982
    assert sim.value["g"].iloc[-1] == pytest.approx(100_000 + pnl1 + pnl2, abs=0.01)
    assert got["entry_price"].iloc[0] == pytest.approx(101 * 1.002)
    assert got["exit_price"].iloc[1] == pytest.approx(48.25 * 1.002)
    assert list(got["exit_reason"]) == ["time", "time"]
    # held at the closes of [entry, exit)
    assert sim.exposure["g"].tolist() == [
        False,
        True,
        True,
        True,
        True,
        False,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_overlapping_trades_of_one_ticker_exit_on_their_own_sessions() -> None:
    """Entries on sessions 1 and 3, each held 4 sessions: exits on 5 and 7. (One position
    per ticker with shifted exit signals would ignore the second entry or exit it at 5.)"""
    p = prices()
    trades = legs(
        [
            {"underlying": "AAA", "direction": 1, "entry_date": IDX[1], "exit_date": IDX[5]},
            {"underlying": "AAA", "direction": 1, "entry_date": IDX[3], "exit_date": IDX[7]},
        ]
    )
    sim = simulate(trades, index=IDX, init_cash=100_000.0, **p)
    assert list(sim.legs["exit_date"]) == [IDX[5], IDX[7]]
    assert list(sim.legs["status"]) == ["closed", "closed"]
    assert sim.legs["entry_price"].tolist() == pytest.approx([101 * 1.002, 103 * 1.002])


def test_hedged_position_returns_stock_minus_benchmark() -> None:
    p = prices()
    both = legs(
        [
            {"underlying": "AAA", "direction": 1, "entry_date": IDX[1], "exit_date": IDX[5]},
            {"underlying": "BBB", "direction": -1, "entry_date": IDX[1], "exit_date": IDX[5]},
        ]
    ).assign(fees=0.0, slippage=0.0)
    sim = simulate(both, index=IDX, init_cash=100_000.0, **p)
    net = sim.legs["pnl"].sum() / 10_000
    stock = 110 / 101 - 1
    bench = 51 / 50.5 - 1
    assert net == pytest.approx(stock - bench, abs=1e-12)
    # with costs, the net is the two legs' own arithmetic
    costly = simulate(both.assign(fees=0.001, slippage=0.002), index=IDX, init_cash=1e5, **p)
    s1, s2 = 10_000 / 101, 10_000 / 50.5
    leg1 = s1 * (110 * 0.998 - 101 * 1.002) - 0.001 * s1 * (101 * 1.002 + 110 * 0.998)
    leg2 = s2 * (50.5 * 0.998 - 51 * 1.002) - 0.001 * s2 * (50.5 * 0.998 + 51 * 1.002)
    assert costly.legs["pnl"].sum() == pytest.approx(leg1 + leg2, abs=0.005)


@pytest.mark.slow
def test_stops_fire_from_the_session_after_entry() -> None:
    p = prices()
    trade = legs(
        [
            {
                "underlying": "AAA",
                "direction": 1,
                "entry_date": IDX[5],
                "exit_date": IDX[11],
                "stop_loss": 0.05,
            }
        ]
    ).assign(slippage=0.0)
    sim = simulate(trade, index=IDX, init_cash=100_000.0, **p)
    # entry at open 110; stop at 104.5 (5% below); session 8 opens at 104 below the stop
    # (gap), low 103: the stop fills at that open
    t = sim.legs.iloc[0]
    assert t["exit_reason"] == "stop_loss"
    assert t["exit_date"] == IDX[8]
    assert t["exit_price"] == pytest.approx(104.0, rel=1e-12)  # not the level 104.5
    # entry at open 101; take profit 1% at 102.01. The entry session's own high (103.5) is
    # above it but is not checked; session 2 opens at 102 (below it) and trades up to 103.5:
    # the stop fills at its level, 102.01
    tp = legs(
        [
            {
                "underlying": "AAA",
                "direction": 1,
                "entry_date": IDX[1],
                "exit_date": IDX[5],
                "take_profit": 0.01,
            }
        ]
    ).assign(slippage=0.0)
    t = simulate(tp, index=IDX, init_cash=100_000.0, **p).legs.iloc[0]
    assert t["exit_reason"] == "take_profit"
    assert t["exit_date"] == IDX[2]
    assert t["exit_price"] == pytest.approx(101 * 1.01, rel=1e-12)


def test_a_leg_filled_at_opens_leaves_at_its_exit_open_before_that_sessions_low() -> None:
    # long AAA from the open of session 1 (101) to the open of session 5 (110), stop 5% at
    # 95.95. Session 5 opens at 110, then trades down to 90: the position left at that open
    # (a time exit, 110 less 0.2% slippage), not at the stop after it
    p = prices()
    p["low"] = p["low"].copy()
    p["low"].iloc[5, 0] = 90.0
    leg = {"underlying": "AAA", "direction": 1, "entry_date": IDX[1], "exit_date": IDX[5],
           "stop_loss": 0.05}  # fmt: skip
    t = simulate(legs([leg]), index=IDX, init_cash=100_000.0, **p).legs.iloc[0]
    assert t["exit_reason"] == "time"
    assert t["exit_date"] == IDX[5]
    assert t["exit_price"] == 110 * (1 - 0.002)
    # the same leg filled at closes holds through session 5 until its close: the stop, at
    # 101.5 * 0.95 = 96.425, fills first, and is named as a stop
    at_close = {**leg, "fill": "close"}
    t = simulate(legs([at_close]), index=IDX, init_cash=100_000.0, **p).legs.iloc[0]
    assert t["exit_date"] == IDX[5]
    assert t["exit_price"] == pytest.approx(101.5 * 0.95, rel=1e-12)
    assert t["exit_reason"] == "stop_loss"
    # and a take profit on the planned session of a close-filled leg: session 5's high is 111.5
    tp = {**at_close, "stop_loss": np.nan, "take_profit": 0.09}
    t = simulate(legs([tp]), index=IDX, init_cash=100_000.0, **p).legs.iloc[0]
    assert t["exit_date"] == IDX[5]
    assert t["exit_price"] == pytest.approx(101.5 * 1.09, rel=1e-12)
    assert t["exit_reason"] == "take_profit"


def test_a_stop_at_a_gap_on_the_exit_open_fills_at_that_open_and_is_named() -> None:
    # long AAA from the open of session 1 (101), stop 5% at 95.95; session 5 opens at 94,
    # through it: the stop fills at that open without slippage (vectorbt's rule for stops)
    p = prices()
    p["open_"] = p["open_"].copy()
    p["open_"].iloc[5, 0] = 94.0
    p["low"] = np.minimum(p["open_"], p["close"]) - 1
    p["high"] = np.maximum(p["open_"], p["close"]) + 1
    leg = {"underlying": "AAA", "direction": 1, "entry_date": IDX[1], "exit_date": IDX[5],
           "stop_loss": 0.05}  # fmt: skip
    t = simulate(legs([leg]), index=IDX, init_cash=100_000.0, **p).legs.iloc[0]
    assert t["exit_date"] == IDX[5]
    assert t["exit_price"] == 94.0
    assert t["exit_reason"] == "stop_loss"


@pytest.mark.parametrize(
    ("underlying", "direction", "entry", "slippage", "level", "exit_at", "fill_at"),
    [
        # long AAA at the open of session 1 (101); take profit 0.5% -> 101.505; session 2
        # opens at 102, through the level: sold at that open. Bought at 101 * 1.01 = 102.01.
        ("AAA", 1, 1, 0.01, 101.0, 2, 102.0),
        # short BBB at the open of session 5 (51); take profit 0.5% -> 50.745; session 6 opens
        # at 50, through the level: covered at that open. Sold at 51 * 0.97 = 49.47.
        ("BBB", -1, 5, 0.03, 51.0, 6, 50.0),
    ],
    ids=["long", "short"],
)
def test_a_take_profit_is_one_even_when_costs_make_the_trade_lose(
    underlying: str,
    direction: int,
    entry: int,
    slippage: float,
    level: float,
    exit_at: int,
    fill_at: float,
) -> None:
    """The price moved the trade's way by more than the take-profit fraction, so the exit is a
    take profit; the entry's slippage and the fees turn its P&L negative all the same."""
    p = prices()
    trade = legs(
        [
            {
                "underlying": underlying,
                "direction": direction,
                "entry_date": IDX[entry],
                "exit_date": IDX[entry + 4],
                "take_profit": 0.005,
            }
        ]
    ).assign(slippage=slippage)
    t = simulate(trade, index=IDX, init_cash=100_000.0, **p).legs.iloc[0]
    shares = 10_000 / level
    paid = level * (1 + direction * slippage)
    # a stop exit fills at its level or the open, without slippage (vectorbt's "stoplimit")
    pnl = direction * shares * (fill_at - paid) - 0.001 * shares * (paid + fill_at)
    assert pnl < 0  # long: 99.0099 x -0.01 - 20.20; short: 196.08 x -0.53 - 19.51
    assert t["exit_date"] == IDX[exit_at]
    assert t["exit_price"] == pytest.approx(fill_at, rel=1e-12)
    assert t["pnl"] == pytest.approx(pnl, abs=0.005)
    assert t["exit_reason"] == "take_profit"


def _oracle_value(trades: pd.DataFrame, p: dict[str, pd.DataFrame], init: float) -> np.ndarray:
    """Portfolio value at each close, by hand: each leg marked to the close while open,
    its realized P&L afterwards (vectorbt's sizing and cost conventions)."""
    value = np.full(len(IDX), init)
    for t in trades.itertuples(index=False):
        px = p["open_"] if t.fill == "open" else p["close"]
        e, x = IDX.get_loc(t.entry_date), IDX.get_loc(t.exit_date)
        d = t.direction
        shares = t.size / px[t.underlying].iloc[e]
        fill_in = px[t.underlying].iloc[e] * (1 + d * t.slippage)
        fill_out = px[t.underlying].iloc[x] * (1 - d * t.slippage)
        fee_in = shares * fill_in * t.fees
        fee_out = shares * fill_out * t.fees
        close = p["close"][t.underlying].to_numpy()
        value[e:x] += d * shares * (close[e:x] - fill_in) - fee_in
        value[x:] += d * shares * (fill_out - fill_in) - fee_in - fee_out
    return value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_vectorbt_agrees_with_a_plain_loop(data: st.DataObject) -> None:
    p = prices()
    n = data.draw(st.integers(1, 6))
    rows = []
    for _ in range(n):
        e = data.draw(st.integers(0, 9))
        x = data.draw(st.integers(e + 1, 11))
        rows.append(
            {
                "underlying": data.draw(st.sampled_from(["AAA", "BBB"])),
                "direction": data.draw(st.sampled_from([1, -1])),
                "fill": data.draw(st.sampled_from(["open", "close"])),
                "entry_date": IDX[e],
                "exit_date": IDX[x],
                "size": data.draw(st.sampled_from([1_000.0, 5_000.0])),
                "fees": data.draw(st.sampled_from([0.0, 0.0005, 0.002])),
                "slippage": data.draw(st.sampled_from([0.0, 0.0005, 0.003])),
            }
        )
    trades = legs(rows)
    sim = simulate(trades, index=IDX, init_cash=1_000_000.0, **p)
    np.testing.assert_allclose(
        sim.value["g"].to_numpy(), _oracle_value(trades, p, 1_000_000.0), rtol=0, atol=1e-6
    )


def _random_legs(data: st.DataObject, n_max: int) -> pd.DataFrame:
    rows = []
    for _ in range(data.draw(st.integers(1, n_max))):
        e = data.draw(st.integers(0, 9))
        x = data.draw(st.integers(e + 1, 11))
        rows.append(
            {
                "underlying": data.draw(st.sampled_from(["AAA", "BBB"])),
                "direction": data.draw(st.sampled_from([1, -1])),
                "fill": data.draw(st.sampled_from(["open", "close"])),
                "entry_date": IDX[e],
                "exit_date": IDX[x],
                "size": data.draw(st.sampled_from([2_000.0, 5_000.0])),
                "fees": data.draw(st.sampled_from([0.0, 0.002])),
                "slippage": data.draw(st.sampled_from([0.0, 0.003])),
                "stop_loss": data.draw(st.sampled_from([np.nan, 0.02])),
                "take_profit": data.draw(st.sampled_from([np.nan, 0.03])),
                "group": data.draw(st.sampled_from(["g1", "g2"])),
            }
        )
    return pd.DataFrame(rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_legs_sharing_a_column_equal_legs_apart(data: st.DataObject) -> None:
    """Packing legs that do not overlap into one column changes nothing: values, fills, exits
    and the orders refused for want of cash (capital of 1 to 3 legs' worth per group), against
    the same legs with a column each (the one-column-per-leg simulation as the oracle)."""
    p = prices()
    trades = _random_legs(data, 12)
    cash = data.draw(st.sampled_from([3_000.0, 8_000.0, 1_000_000.0]))
    packed = simulate(trades, index=IDX, init_cash=cash, **p)
    apart = simulate(trades, index=IDX, init_cash=cash, pack=False, **p)
    pd.testing.assert_frame_equal(packed.value, apart.value, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(packed.exposure, apart.exposure)
    pd.testing.assert_frame_equal(packed.legs, apart.legs, check_exact=False, rtol=1e-12)


def test_many_overlapping_legs_share_few_columns() -> None:
    """Ten legs of one ticker, each held two sessions, entering every session: at most two
    are open at once... but an exit and an entry on one session cannot share a column, so
    three columns hold them; the result equals one column per leg."""
    p = prices()
    rows = [
        {"underlying": "AAA", "direction": 1, "entry_date": IDX[i], "exit_date": IDX[i + 2]}
        for i in range(9)
    ]
    trades = legs(rows)
    packed = simulate(trades, index=IDX, init_cash=1e6, **p)
    apart = simulate(trades, index=IDX, init_cash=1e6, pack=False, **p)
    pd.testing.assert_frame_equal(packed.legs, apart.legs, check_exact=False, rtol=1e-12)
    assert list(packed.legs["exit_date"]) == [IDX[i + 2] for i in range(9)]
    from backtest.portfolio.simulate import _assign_lanes

    lanes = _assign_lanes(np.zeros(9, dtype=np.int64), np.arange(9), np.arange(9) + 2)
    assert lanes.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_accounting_equals_vectorbts_portfolio(data: st.DataObject) -> None:
    """Values, positions and exit trades computed from order records the way simulate does
    equal what vectorbt's own Portfolio object gives for the same orders."""
    import vectorbt as vbt

    from backtest.portfolio.simulate import _accounting

    n_rows, n_cols = 12, data.draw(st.integers(1, 5))
    groups = sorted(data.draw(st.lists(st.integers(0, 2), min_size=n_cols, max_size=n_cols)))
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    close = 100 * np.cumprod(1 + rng.normal(0, 0.02, (n_rows, n_cols)), axis=0)
    size = np.where(rng.random((n_rows, n_cols)) < 0.3, rng.normal(0, 5, (n_rows, n_cols)), np.nan)
    pf = vbt.Portfolio.from_orders(
        close, size, fees=0.001, init_cash=10_000.0, cash_sharing=True, group_by=groups,
        freq="1D",
    )  # fmt: skip
    group_lens = np.bincount(np.unique(groups, return_inverse=True)[1]).astype(np.int64)
    value, assets, trades = _accounting(pf.order_records, close, group_lens, 10_000.0)
    np.testing.assert_allclose(value, np.asarray(pf.value()).reshape(n_rows, -1), rtol=1e-12)
    np.testing.assert_allclose(assets, np.asarray(pf.assets()).reshape(n_rows, -1), rtol=1e-12)
    theirs = pf.trades.values
    assert len(trades) == len(theirs)
    for field in ("col", "entry_idx", "exit_idx", "size", "entry_price", "exit_price", "pnl"):
        np.testing.assert_allclose(trades[field], theirs[field], rtol=1e-12)
