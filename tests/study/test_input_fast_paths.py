"""The faster ways in which the event table is checked and aligned give what the plain ones
give: the same tables, codes, dropped rows and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backtest.study import align as A
from backtest.study import inputs

NAMES = st.lists(st.sampled_from(["AAPL", "MSFT", "SPY", "7203.T", "", None]), max_size=30)


@given(parts=st.lists(NAMES, min_size=1, max_size=4), dtype=st.sampled_from(["str", "object"]))
def test_parts_factorized_together_as_one_column(parts: list[list[str | None]], dtype: str) -> None:
    series = [pd.Series(p, dtype=dtype) for p in parts]
    codes, uniques = pd.factorize(pd.concat(series, ignore_index=True))
    names, mine = A._factorized_together([A._coded(p) for p in series])
    pd.testing.assert_index_equal(names, pd.Index(uniques), exact=True)
    np.testing.assert_array_equal(np.concatenate(mine), codes, strict=True)
    assert [len(m) for m in mine] == [len(p) for p in parts]


MARKETS = st.lists(st.sampled_from(["XNYS", "XTKS", "XLON", "XHKG", None]), max_size=30)


@given(markets=MARKETS, shared=st.booleans())
def test_the_benchmarks_coded_from_the_markets_as_from_their_rows(
    markets: list[str | None], shared: bool
) -> None:
    from backtest.study import StudySpec

    table = pd.DataFrame({"market": pd.Series(markets, dtype="str")})
    # two markets may share a benchmark (the spec's)
    spec = StudySpec(benchmarks={"XTKS": "SPY", "XLON": "SPY"} if shared else {})
    market_code, market_names = pd.factorize(table["market"], sort=True)
    benchmark, coded = A._benchmarks(table, spec, market_code, market_names)
    assert coded is not None
    codes, uniques = pd.factorize(benchmark)
    np.testing.assert_array_equal(coded[0], codes, strict=True)
    pd.testing.assert_series_equal(coded[1], pd.Series(uniques, dtype=benchmark.dtype))
    # with a column of their own, the rows are factorized (in _names)
    own = table.assign(benchmark=["QQQ" if i % 2 else "" for i in range(len(table))])
    assert A._benchmarks(own, spec, market_code, market_names)[1] is None


def _table(day0: pd.Series) -> pd.DataFrame:
    n = len(day0)
    return pd.DataFrame(
        {
            "event_id": [f"e{i % 7}" for i in range(n)],  # ids repeat: duplicates, or not
            "ticker": [["AAPL", "MSFT", "lower", "7203.T"][i % 4] for i in range(n)],
            "day0": day0,
            "note": np.arange(n),
        }
    )


def _plain(monkeypatch: pytest.MonkeyPatch, events: pd.DataFrame) -> tuple:  # type: ignore[type-arg]
    """normalize_event_table_codes without its fast paths: dates normalized again, every
    factorization in line."""
    with monkeypatch.context() as m:
        m.setattr(inputs, "_normalized_dates", lambda day0: False)
        m.setattr(inputs, "ALONGSIDE_ROWS", 10**12)
        return inputs.normalize_event_table_codes(events)


def _same(a: tuple, b: tuple) -> None:  # type: ignore[type-arg]
    pd.testing.assert_frame_equal(a[0], b[0], check_exact=True)
    assert a[1] == b[1]
    np.testing.assert_array_equal(a[2], b[2], strict=True)
    pd.testing.assert_index_equal(a[3], b[3], exact=True)


DAYS = pd.Series(pd.date_range("2024-01-02", periods=40, freq="D"))


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize(
    "day0",
    [
        DAYS,  # at midnight: the fast path
        DAYS.where(DAYS.index % 5 != 0),  # NaT among them
        DAYS + pd.Timedelta(hours=15, minutes=30),  # a time of day: normalized
    ],
)
@pytest.mark.parametrize("threaded", [False, True])
def test_fast_paths_give_the_plain_table(
    monkeypatch: pytest.MonkeyPatch, day0: pd.Series, unit: str, threaded: bool
) -> None:
    events = _table(day0.astype(f"datetime64[{unit}]"))
    plain = _plain(monkeypatch, events)
    if threaded:  # the event ids' factorization on a thread, however small the table
        monkeypatch.setattr(inputs, "ALONGSIDE_ROWS", 0)
    fast = inputs.normalize_event_table_codes(events)
    _same(fast, plain)
    # the rows of a ticker without a market, then the duplicates, are dropped with a reason
    reasons = [d.reason for d in fast[1]]
    assert any("lower" in r for r in reasons)
    assert "duplicate (event_id, ticker) row" in reasons
    day = fast[0]["day0"].dropna()
    assert (day == day.dt.normalize()).all()
    assert fast[0]["day0"].dtype == events["day0"].dtype


@pytest.mark.parametrize("threaded", [False, True])
def test_fast_paths_with_a_market_column_and_no_duplicates(
    monkeypatch: pytest.MonkeyPatch, threaded: bool
) -> None:
    events = _table(DAYS).assign(event_id=[f"e{i}" for i in range(len(DAYS))], market="XNYS")
    plain = _plain(monkeypatch, events)
    if threaded:
        monkeypatch.setattr(inputs, "ALONGSIDE_ROWS", 0)
    fast = inputs.normalize_event_table_codes(events)
    _same(fast, plain)
    assert fast[1] == []
    pd.testing.assert_series_equal(fast[0]["day0"], events["day0"])


@pytest.mark.parametrize(
    "day0", [pd.Series(["2024-01-02", "2024-01-03 10:00"]), pd.Series(["2024-01-02", None])]
)
def test_dates_given_as_text_take_the_plain_way(day0: pd.Series) -> None:
    assert not inputs._normalized_dates(day0)
    dates = pd.to_datetime(day0, format="ISO8601").dt.normalize()
    assert inputs._normalized_dates(dates)
    assert not inputs._normalized_dates(dates.dt.tz_localize("UTC"))  # a time zone


def test_an_error_of_the_work_on_a_thread_is_raised_by_its_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fails() -> None:
        raise ValueError("the work's own error")

    monkeypatch.setattr(inputs, "ALONGSIDE_ROWS", 0)
    result = inputs.alongside(fails, 1)
    with pytest.raises(ValueError, match="the work's own error"):
        result()
    assert inputs.alongside(lambda: 42, 1)() == 42


def test_the_row_arrays_are_those_of_a_row_dropped() -> None:
    arrays = A._row_arrays(3)
    assert [a.tolist() for a in arrays] == [[-1] * 3] * 3 + [[0] * 3] * 2 + [[-1] * 3] + [
        [False] * 3
    ]
    assert [a.dtype for a in arrays] == [np.dtype(np.int64)] * 6 + [np.dtype(bool)]


@pytest.mark.parametrize("own_benchmark", [False, True])
def test_a_study_is_the_same_with_its_inputs_aligned_on_threads(
    monkeypatch: pytest.MonkeyPatch, own_benchmark: bool
) -> None:
    from backtest.study import StudySpec, run_study
    from tests.study.synth import make_market

    syn = make_market(n_days=1200, n_stocks=20, n_events=60, seed=3, n_groups=2)
    events = syn.events.copy()
    extra = pd.DataFrame(
        {
            "event_id": ["dup", "dup", "no-market", "e-late"],
            "ticker": ["S0001", "S0001", "lower", "S0002"],
            "day0": [syn.close.index[400]] * 3 + [syn.close.index[-1] + pd.Timedelta(days=40)],
            "grp": "g000",
        }
    )
    events = pd.concat([events, extra], ignore_index=True)
    if own_benchmark:
        events["benchmark"] = np.where(np.arange(len(events)) % 3 == 0, "S0000", "")
    spec = StudySpec(group_by=("all", "grp"), max_loss=1.0)
    plain = run_study(events, syn.close, spec)
    monkeypatch.setattr(inputs, "ALONGSIDE_ROWS", 0)  # every alongside() on a thread
    threaded = run_study(events, syn.close, spec)
    for name in ["events", "ar", "windows", "groups", "paths", "clusters", "dropped"]:
        pd.testing.assert_frame_equal(
            getattr(threaded, name), getattr(plain, name), check_exact=True
        )
    reasons = plain.dropped["reason"].tolist()
    assert "duplicate (event_id, ticker) row" in reasons
    assert any("lower" in r for r in reasons)
