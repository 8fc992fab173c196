"""Results that read well: summary() is a Summary with real tables, repr() fits a screen,
compare() sets studies side by side; importing the study's spec loads no heavy module."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import pandas as pd
import pytest

from backtest.errors import UnknownGroupError
from backtest.jsonio import dumps
from backtest.study import EventStudyResult, StudySpec, compare, run_study
from backtest.summary import Summary, Table
from tests.study.synth import make_market


@pytest.fixture(scope="module")
def two() -> tuple[EventStudyResult, EventStudyResult]:
    m = make_market(n_days=900, n_stocks=30, n_events=150, seed=21, jump=0.01)
    market = run_study(m.events, m.close, StudySpec(group_by=("all", "grp")))
    adjusted = run_study(
        m.events, m.close, StudySpec(model="market_adjusted", windows=((0, 0), (0, 5)))
    )
    return market, adjusted


def test_summary_is_a_summary_whose_text_is_str(two: tuple) -> None:  # type: ignore[type-arg]
    res, _ = two
    s = res.summary()
    assert isinstance(s, Summary)
    assert str(res) == str(s) == s.as_text()
    text = str(s)
    assert text.startswith("Event study\n===========\n")
    caar = next(b for b in s.blocks if isinstance(b, Table) and "CAAR" in b.title)
    # the table's cells are the group table's numbers, formatted
    g = res.group_table("all", "CAAR")
    assert [r[0] for r in caar.rows] == list(g["window"])
    assert [r[2] for r in caar.rows] == [str(n) for n in g["n"]]
    assert caar.rows[0][3] == f"{g['value'].iloc[0] * 100:+.2f}%"
    assert "Strongest single-event reactions" in text
    by = next(b for b in s.blocks if isinstance(b, Table) and b.title.startswith("By grp"))
    gg = res.group_table("grp", "CAAR")
    gg = gg[gg["window"] == "[0,0]"]
    assert [r[:3] for r in by.rows] == [
        [str(x.group), str(x.n), f"{x.value * 100:+.2f}%"] for x in gg.itertuples()
    ]
    assert by.rows[0][4].startswith("<0.001")  # the planted +1% jump: a p below 0.001
    html = res._repr_html_()
    assert html.count("<table") >= 2
    assert "<pre>" not in html
    assert "| window |" in s.as_markdown()


def test_repr_fits_a_screen(two: tuple) -> None:  # type: ignore[type-arg]
    res, _ = two
    text = repr(res)
    assert len(text) < 2000
    assert text.startswith("<EventStudyResult: 150 rows measured, 0 dropped; model market")
    g = res.group_table("all", "CAAR").iloc[0]
    assert f"CAAR{g['window']} {g['value'] * 100:+.2f}%" in text


def test_compare_sets_studies_side_by_side(two: tuple) -> None:  # type: ignore[type-arg]
    a, b = two
    c = compare(a, b, names=["market model", "market-adjusted"])
    f = c.to_frame()
    assert list(f.columns) == [
        "study", "window", "n_rows", "n", "caar", "headline", "stat", "p", "lo", "hi",
    ]  # fmt: skip
    for name, res in (("market model", a), ("market-adjusted", b)):
        mine = f[f["study"] == name].set_index("window")
        g = res.group_table("all", "CAAR").set_index("window")
        assert list(mine.index) == [str(w) for w in g.index]
        pd.testing.assert_series_equal(mine["caar"], g["value"], check_names=False)
        pd.testing.assert_series_equal(mine["p"], g["headline_p"], check_names=False)
        assert (mine["n"] == g["n"]).all()
    s = c.summary()
    assert isinstance(s, Summary)
    table = s.blocks[1]
    assert isinstance(table, Table)
    assert list(table.header) == ["", "market model", "market-adjusted"]
    labels = [r[0] for r in table.rows]
    # windows of both, in order: [0,0] and [0,+5] in both, [-1,+1] and [-5,+20] only in one
    assert labels[0::4] == ["CAAR[0,0]", "CAAR[-1,+1]", "CAAR[0,+5]", "CAAR[-5,+20]"]
    row = dict(zip(labels, table.rows, strict=True))
    assert row["CAAR[-1,+1]"][2] == ""  # the market-adjusted study has no [-1,+1]
    assert str(c).startswith("Event studies compared")
    assert "<table" in c._repr_html_()
    # a mapping names the columns; a group of a grouping
    by = compare({"A": a, "B": a}, group_by="grp", group="g000")
    assert by.names == ("A", "B")
    with pytest.raises(UnknownGroupError, match="no group grp='g000'"):
        compare(a, b, group_by="grp", group="g000")


def test_every_caller_of_summary_still_gets_text(two: tuple) -> None:  # type: ignore[type-arg]
    res, _ = two
    assert "Event study" in f"{res.summary()}"
    assert isinstance(res.to_dict()["groups"], list)
    json.dumps(res.to_dict())


def test_an_unbounded_interval_end_is_inf_in_the_json_not_null(two: tuple) -> None:  # type: ignore[type-arg]
    """An inverted BMP/KP test that rejects no value gives (-inf, inf): the JSON says "-inf"
    and "inf" (a number not bounded), not null (a number not computed, which stays null)."""
    res, _ = two
    g = res.groups.copy()
    caar = g.index[g["measure"] == "CAAR"]
    g.loc[caar[0], ["lo", "hi"]] = [-math.inf, math.inf]
    g.loc[caar[1], ["lo", "hi"]] = [0.01, math.inf]
    g.loc[caar[2], ["lo", "hi"]] = [math.nan, math.nan]
    doc = json.loads(dumps(dataclasses.replace(res, groups=g).to_dict()))
    first, second, third = (g.loc[i] for i in caar[:3])
    items = {
        (e["group_by"], e["group"], w): (v["lo"], v["hi"])
        for e in doc["groups"]
        for w, v in e["CAAR"].items()
    }
    assert items[(first.group_by, first.group, first.window)] == ("-inf", "inf")
    assert items[(second.group_by, second.group, second.window)] == (0.01, "inf")
    assert items[(third.group_by, third.group, third.window)] == (None, None)
    assert float("-inf") == float(items[(first.group_by, first.group, first.window)][0])


def test_an_unbounded_interval_reads_in_words_in_the_text_summary(two: tuple) -> None:  # type: ignore[type-arg]
    """The text ``evbt study`` prints once showed an interval with an infinite end as
    ``[-6.62%, ]`` and one with two as an empty cell; it says what the report says."""
    res, _ = two
    g = res.groups.copy()
    rows = g.index[(g["group_by"] == "all") & (g["measure"] == "CAAR")]
    g.loc[rows[0], ["lo", "hi"]] = [-math.inf, math.inf]
    g.loc[rows[1], ["lo", "hi"]] = [-0.0662, math.inf]
    g.loc[rows[2], ["lo", "hi"]] = [-math.inf, 0.0123]
    s = dataclasses.replace(res, groups=g).summary()
    caar = next(b for b in s.blocks if isinstance(b, Table) and "CAAR by window" in b.title)
    cells = [r[4] for r in caar.rows]
    assert cells[:3] == ["not bounded", "above -6.62%", "below +1.23%"]
    lo, hi = g.loc[rows[3], ["lo", "hi"]]
    assert cells[3] == f"[{lo * 100:+.2f}%, {hi * 100:+.2f}%]"


def _loaded(code: str) -> dict[str, bool]:
    probe = (
        f"{code}\nimport json, sys\n"
        "print(json.dumps({m: m in sys.modules for m in ('pandas', 'numpy', 'scipy')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_study_package_and_its_spec_import_no_heavy_module() -> None:
    assert not any(_loaded("import backtest.study").values())
    loaded = _loaded("from backtest.study import StudySpec\nStudySpec(group_by=('all', 'x:sign'))")
    assert not any(loaded.values()), loaded
    assert _loaded("from backtest.study import run_study")["pandas"]  # loaded on first use


def test_evbt_study_help_imports_no_pandas() -> None:
    code = (
        "import contextlib, io\n"
        "from backtest.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['study', '--help'])\n"
    )
    loaded = _loaded(code)
    assert not loaded["pandas"], loaded
    assert not loaded["numpy"], loaded
