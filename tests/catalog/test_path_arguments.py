"""One path given as a ``str`` or ``Path`` is one path, in every function that reads catalogs,
confounders or calendars: a string was once iterated character by character (and ``'/'`` made
the catalog walk the whole filesystem), a ``Path`` raised ``TypeError: not iterable``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backtest import load_catalog
from backtest.catalog import catalog_files, load_confounders
from backtest.earnings import import_earnings, read_calendar_files
from backtest.earnings.calendar import calendar_files
from backtest.errors import CatalogNotFoundError

CATALOG = (
    "id,ticker,date,timing,category\nmeta-2023-03-14-layoffs,META,2023-03-14,before_open,layoff\n"
)
CALENDAR = (
    "Earnings Date,EPS Estimate,Reported EPS,Surprise(%)\n"
    "2025-10-29 16:00:00-04:00,6.67,7.25,8.66\n"
)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.chdir(tmp_path)  # relative paths: the old code read "cat/..." as "c", "a", ...
    catalog = Path("cat") / "events.csv"
    catalog.parent.mkdir()
    catalog.write_text(CATALOG, encoding="utf-8")
    calendar = Path("cal") / "META.csv"
    calendar.parent.mkdir()
    calendar.write_text(CALENDAR, encoding="utf-8")
    return catalog, calendar


def forms(path: Path) -> list[object]:
    """One path as a str, a Path, and in a list and a tuple."""
    return [str(path), path, [str(path)], (path,)]


def test_load_catalog_takes_one_file_or_folder(files: tuple[Path, Path]) -> None:
    catalog, _ = files
    for given in [*forms(catalog), *forms(catalog.parent)]:
        got = load_catalog(given)  # type: ignore[arg-type]
        assert [e.id for e in got] == ["meta-2023-03-14-layoffs"], given
        assert catalog_files(given) == [catalog]  # type: ignore[arg-type]


def test_load_confounders_takes_one_file_or_folder(files: tuple[Path, Path]) -> None:
    catalog, calendar = files
    for given in [*forms(catalog), *forms(calendar), *forms(calendar.parent)]:
        frame = load_confounders(given)  # type: ignore[arg-type]
        assert len(frame) == 1, given
    assert load_confounders(str(calendar))["event_id"].tolist() == ["meta-2025-10-29-earnings"]


def test_calendar_readers_take_one_file_or_folder(files: tuple[Path, Path]) -> None:
    _, calendar = files
    for given in [*forms(calendar), *forms(calendar.parent)]:
        assert calendar_files(given) == [calendar]  # type: ignore[arg-type]
        assert [r.ticker for r in read_calendar_files(given).rows] == ["META"]  # type: ignore[arg-type]
        result = import_earnings(from_paths=given)  # type: ignore[arg-type]
        assert [e.id for e in result.events] == ["meta-2025-10-29-earnings"], given


def test_one_ticker_as_a_str_is_one_ticker(files: tuple[Path, Path]) -> None:
    _, calendar = files
    assert [r.ticker for r in read_calendar_files(calendar, tickers="META").rows] == ["META"]
    result = import_earnings("META", from_paths=calendar)
    assert [e.id for e in result.events] == ["meta-2025-10-29-earnings"]
    assert result.failed == {}


def test_a_missing_str_path_is_named_whole(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere")  # (absolute: the old code walked "/", the whole disk)
    with pytest.raises(CatalogNotFoundError, match="nowhere: no such catalog file or folder"):
        load_catalog(missing)
    with pytest.raises(CatalogNotFoundError, match="nowhere: no such"):
        load_confounders(missing)


def test_what_is_not_a_path_is_refused_clearly() -> None:
    from backtest.catalog._read import path_list

    with pytest.raises(TypeError, match=r"expected a path .* got int"):
        load_catalog(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"expected a path .* got bytes"):
        load_catalog(b"events")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"expected a path .* got NoneType"):
        load_confounders([None])  # type: ignore[list-item]
    assert path_list(os.curdir) == [Path(".")]


def test_strategy_files_take_one_path_as_one_path(repo_root: Path) -> None:
    from backtest.portfolio import strategy_files

    folder = repo_root / "strategies"
    want = sorted(folder.glob("*.toml"))
    assert strategy_files(str(folder)) == want
    assert strategy_files(folder) == want
    assert strategy_files([folder]) == want
    with pytest.raises(TypeError, match="strategy paths: expected a path"):
        strategy_files(3)  # type: ignore[arg-type]
