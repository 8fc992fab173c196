"""The Parquet cache and the cached source: incremental fetches, atomicity, corruption."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prices_fakes import FakeYahooDownload

from backtest.errors import CacheCorruptWarning, PriceCacheError, PriceCacheWarning
from backtest.prices import load_prices
from backtest.prices.base import ADJUSTMENT_YAHOO, SourceHistory
from backtest.prices.cached import CachedSource
from backtest.prices.store import PriceCache, merge_ranges, missing_ranges
from backtest.prices.yahoo import YahooSource

D = dt.date
LATER = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)


def cached_source(
    cache_dir: Path,
    fake: FakeYahooDownload,
    clock: dt.datetime = LATER,
    tail_grace: dt.timedelta | None = None,
) -> CachedSource:
    upstream = YahooSource(
        download=fake, sleep=lambda s: None, reachable=lambda: True, clock=lambda: clock
    )
    return CachedSource(upstream, PriceCache(cache_dir), clock=lambda: clock, tail_grace=tail_grace)


#: The opt-in rule of CachedSource for a source whose answers are complete (a delisting).
WEEK = dt.timedelta(days=7)


def expected(frames: dict, ticker: str, a: str, b: str) -> pd.DataFrame:
    return frames[ticker].loc[a:b].rename_axis("date")


# ----------------------------------------------------------------------------- ranges


def test_range_arithmetic() -> None:
    jan = (D(2024, 1, 1), D(2024, 1, 31))
    assert missing_ranges(jan, []) == [jan]
    assert missing_ranges(jan, [jan]) == []
    assert missing_ranges(jan, [(D(2023, 1, 1), D(2024, 1, 15))]) == [
        (D(2024, 1, 16), D(2024, 1, 31))
    ]
    assert merge_ranges([(D(2024, 1, 1), D(2024, 1, 3)), (D(2024, 1, 4), D(2024, 1, 9))]) == (
        (D(2024, 1, 1), D(2024, 1, 9)),
    )


# ----------------------------------------------------------------------------- incremental


def test_incremental_fetch_asks_only_for_the_missing_range(
    tmp_path: Path, shared_frames: dict
) -> None:
    fake = FakeYahooDownload(shared_frames)
    src = cached_source(tmp_path, fake)

    first = src.fetch(["META"], D(2023, 1, 1), D(2023, 6, 30))
    # 2023-01-01 is a Sunday and 01-02 a holiday: only sessions are asked (yfinance's end is
    # exclusive, hence 07-01)
    assert fake.ranges == [(("META",), "2023-01-03", "2023-07-01")]
    pd.testing.assert_frame_equal(
        first.series["META"].frame, expected(shared_frames, "META", "2023-01-03", "2023-06-30")
    )
    assert first.downloaded == {"META": ((D(2023, 1, 3), D(2023, 6, 30)),)}

    # extending: the missing half plus one cached session (06-30) to check the adjustment basis
    second = src.fetch(["META"], D(2023, 1, 1), D(2023, 12, 31))
    assert fake.ranges[1:] == [(("META",), "2023-06-30", "2023-12-30")]
    pd.testing.assert_frame_equal(
        second.series["META"].frame, expected(shared_frames, "META", "2023-01-03", "2023-12-29")
    )

    # all covered (including the holiday and weekend ends): nothing is asked
    third = src.fetch(["META"], D(2023, 1, 1), D(2023, 12, 31))
    assert len(fake.calls) == 2
    assert third.downloaded == {"META": ()}
    info = third.series["META"].info
    assert info.covered == ((D(2023, 1, 1), D(2023, 12, 31)),)
    assert info.adjustment == ADJUSTMENT_YAHOO

    # earlier range for META (anchor: first cached session after the gap), SPY cold
    src.fetch(["META", "SPY"], D(2022, 12, 1), D(2023, 12, 31))
    assert fake.ranges[2:] == [
        (("META",), "2022-12-01", "2023-01-04"),
        (("SPY",), "2022-12-01", "2023-12-30"),
    ]


def test_a_cached_series_is_served_without_network(tmp_path: Path, shared_frames: dict) -> None:
    src = cached_source(tmp_path, FakeYahooDownload(shared_frames))
    src.fetch(["META", "0700.HK"], D(2024, 1, 1), D(2024, 3, 31))
    never = FakeYahooDownload({}, outcomes=["offline"] * 9)
    res = cached_source(tmp_path, never).fetch(["META", "0700.HK"], D(2024, 2, 1), D(2024, 2, 29))
    assert not never.calls
    assert res.series["META"].info.first == D(2024, 2, 1)
    assert res.series["0700.HK"].info.last == D(2024, 2, 29)


def test_sessions_not_yet_closed_are_never_covered(tmp_path: Path, shared_frames: dict) -> None:
    fake = FakeYahooDownload(shared_frames)
    # 2023-06-30 16:30 New York: the session closed 30 minutes ago, within the settling margin
    just_after_close = dt.datetime(2023, 6, 30, 20, 30, tzinfo=dt.UTC)
    res = cached_source(tmp_path, fake, just_after_close).fetch(
        ["META"], D(2023, 6, 1), D(2023, 6, 30)
    )
    assert res.series["META"].info.last == D(2023, 6, 29)
    assert res.series["META"].info.covered == ((D(2023, 6, 1), D(2023, 6, 29)),)
    # the next day the session is final: only it is asked (with the anchor session before it)
    cached_source(tmp_path, fake, dt.datetime(2023, 7, 1, tzinfo=dt.UTC)).fetch(
        ["META"], D(2023, 6, 1), D(2023, 6, 30)
    )
    assert fake.ranges[1:] == [(("META",), "2023-06-29", "2023-07-01")]


def test_weekend_only_request_asks_nothing(tmp_path: Path, shared_frames: dict) -> None:
    fake = FakeYahooDownload(shared_frames)
    res = cached_source(tmp_path, fake).fetch(["META"], D(2023, 7, 1), D(2023, 7, 2))
    assert not fake.calls
    assert res.failed["META"].kind == "empty"


def test_adjustment_change_refetches_everything_instead_of_a_seam(
    tmp_path: Path, shared_frames: dict
) -> None:
    cached_source(tmp_path, FakeYahooDownload(shared_frames)).fetch(
        ["META"], D(2023, 1, 1), D(2023, 6, 30)
    )

    def new_dividend(ticker: str, rows: pd.DataFrame) -> pd.DataFrame:
        out = rows.copy()
        out[["open", "high", "low", "close"]] *= 0.99  # every past price rescaled
        return out

    fake = FakeYahooDownload(shared_frames, transform=new_dividend)
    res = cached_source(tmp_path, fake).fetch(["META"], D(2023, 1, 1), D(2023, 12, 31))
    assert fake.ranges == [
        (("META",), "2023-06-30", "2023-12-30"),  # the gap: the anchor close differs by 1%
        (("META",), "2023-01-01", "2024-01-01"),  # so the whole range again
    ]
    got = res.series["META"].frame["close"]
    want = shared_frames["META"].loc["2023-01-03":"2023-12-29", "close"] * 0.99
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
    assert PriceCache(tmp_path).read("META").covered == ((D(2023, 1, 1), D(2023, 12, 31)),)


def test_offline_serves_the_cache_and_says_what_is_missing(
    tmp_path: Path, shared_frames: dict
) -> None:
    cached_source(tmp_path, FakeYahooDownload(shared_frames)).fetch(
        ["META"], D(2023, 1, 1), D(2023, 6, 30)
    )
    fake = FakeYahooDownload(shared_frames, outcomes=["offline"] * 3)
    src = cached_source(tmp_path, fake)
    panel = load_prices(["META"], "2023-01-01", "2023-12-31", source=src)
    assert panel.close["META"].last_valid_index() == pd.Timestamp("2023-06-30")
    assert panel.partial["META"].kind == "offline"
    assert not panel.failed
    # nothing new was marked as covered
    assert PriceCache(tmp_path).read("META").covered == ((D(2023, 1, 1), D(2023, 6, 30)),)


def test_unknown_ticker_leaves_no_file(tmp_path: Path, shared_frames: dict) -> None:
    res = cached_source(tmp_path, FakeYahooDownload(shared_frames)).fetch(
        ["ZZZZ"], D(2023, 1, 1), D(2023, 1, 31)
    )
    assert res.failed["ZZZZ"].kind == "unknown_ticker"
    assert PriceCache(tmp_path).tickers() == ()


# ----------------------------------------------------------------------------- the file


def _store(cache: PriceCache, ticker: str, frame: pd.DataFrame, a: D, b: D) -> None:
    cache.store(
        ticker,
        frame,
        covered=[(a, b)],
        source="test",
        adjustment="none",
        fetched_at=LATER,
    )


def test_file_round_trip_keeps_data_and_provenance(tmp_path: Path, shared_frames: dict) -> None:
    cache = PriceCache(tmp_path)
    rows = expected(shared_frames, "^GSPC", "2023-01-01", "2023-03-31")
    _store(cache, "^GSPC", rows, D(2023, 1, 1), D(2023, 3, 31))
    assert (tmp_path / "_GSPC.parquet").is_file()
    assert cache.tickers() == ("^GSPC",)
    back = cache.read("^GSPC")
    assert back is not None
    pd.testing.assert_frame_equal(back.frame, rows)
    assert (back.source, back.adjustment, back.fetched_at) == ("test", "none", LATER)
    meta = pq.read_schema(tmp_path / "_GSPC.parquet").metadata[b"evbt.prices"]
    assert b'"covered": [["2023-01-01", "2023-03-31"]]' in meta


def test_the_library_reads_no_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the command line maps $EVBT_CACHE_DIR to --cache-dir; the library only takes arguments
    import platformdirs

    monkeypatch.setenv("EVBT_CACHE_DIR", str(tmp_path / "c"))
    expected = Path(platformdirs.user_cache_dir("evbt")) / "prices"
    assert PriceCache().directory == expected
    assert PriceCache(tmp_path / "d").directory == tmp_path / "d"


def test_truncated_file_is_detected_moved_aside_and_fetched_again(
    tmp_path: Path, shared_frames: dict
) -> None:
    fake = FakeYahooDownload(shared_frames)
    src = cached_source(tmp_path, fake)
    src.fetch(["META"], D(2023, 1, 1), D(2023, 6, 30))
    path = tmp_path / "META.parquet"
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    with pytest.warns(CacheCorruptWarning, match="META") as caught:
        res = src.fetch(["META"], D(2023, 1, 1), D(2023, 6, 30))
    warning = caught[0].message
    assert isinstance(warning, CacheCorruptWarning)
    assert Path(warning.moved_to).is_file()
    assert fake.ranges[1] == (("META",), "2023-01-03", "2023-07-01")  # fetched again, whole
    assert len(res.series["META"].frame) == 124
    assert PriceCache(tmp_path).read("META") is not None


@pytest.mark.parametrize("damage", ["no-metadata", "other-ticker", "garbage"])
def test_corrupt_files_are_reported(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "META.parquet"
    table = pa.table({"date": pa.array([D(2024, 1, 2)]), "close": [1.0]})
    if damage == "no-metadata":
        pq.write_table(table, path)
    elif damage == "other-ticker":
        cache = PriceCache(tmp_path)
        frame = pd.DataFrame(
            {f: [1.0] for f in ("open", "high", "low", "close", "volume")},
            index=pd.DatetimeIndex(["2024-01-02"], name="date"),
        )
        _store(cache, "AAPL", frame, D(2024, 1, 2), D(2024, 1, 2))
        os.replace(tmp_path / "AAPL.parquet", path)
    else:
        path.write_bytes(b"not parquet at all")
    with pytest.warns(CacheCorruptWarning):
        assert PriceCache(tmp_path).read("META") is None
    assert not path.exists()


# ----------------------------------------------------------------------------- processes

_WRITER = textwrap.dedent(
    """
    import datetime as dt, os, sys, time
    import numpy as np, pandas as pd
    from backtest.prices.store import PriceCache

    cache_dir, ready, mode = sys.argv[1], sys.argv[2], sys.argv[3]

    def hang(*args, **kwargs):
        open(ready, "w").close()
        time.sleep(60)

    if mode == "before-replace":  # data written and fsync'ed, killed before the rename
        os.replace = hang
    elif mode == "mid-write":  # killed with half a Parquet file written
        import pyarrow.parquet as pq
        def half(table, where, **kwargs):
            where.write(b"PAR1" + b"x" * 4096)
            where.flush()
            hang()
        pq.write_table = half
    n = 50_000
    index = pd.DatetimeIndex(pd.date_range("1990-01-01", periods=n, freq="D"), name="date")
    frame = pd.DataFrame({f: np.full(n, 2.0) for f in ("open", "high", "low", "close", "volume")},
                         index=index)
    covered = [(dt.date(1990, 1, 1), dt.date(2126, 1, 1))]
    PriceCache(cache_dir).store("META", frame, covered=covered, source="killed",
                                adjustment="none", fetched_at=dt.datetime.now(dt.UTC))
    """
)


@pytest.mark.parametrize("mode", ["before-replace", "mid-write"])
def test_killed_writer_leaves_the_previous_cache_readable(
    tmp_path: Path, shared_frames: dict, mode: str
) -> None:
    cache = PriceCache(tmp_path)
    before = expected(shared_frames, "META", "2023-01-01", "2023-03-31")
    _store(cache, "META", before, D(2023, 1, 1), D(2023, 3, 31))
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), str(ready), mode])
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None, "the writer ended before it could be killed"
            assert time.monotonic() < deadline, "the writer never got going"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    left = list(tmp_path.glob(".META.parquet.tmp-*"))
    assert left, "the killed writer should have left its temporary file"
    after = cache.read("META")
    assert after is not None
    pd.testing.assert_frame_equal(after.frame, before)
    assert after.source == "test"
    # the next write (under the lock) removes the stale temporary file
    _store(cache, "META", before.iloc[:1], D(2023, 1, 1), D(2023, 1, 3))
    assert not list(tmp_path.glob(".META.parquet.tmp-*"))


_CONCURRENT = textwrap.dedent(
    """
    import datetime as dt, sys
    import numpy as np, pandas as pd
    from backtest.prices.store import PriceCache

    cache_dir, offset = sys.argv[1], int(sys.argv[2])
    cache = PriceCache(cache_dir)
    for k in range(15):
        day = dt.date(2020, 1, 1) + dt.timedelta(days=2 * k + offset)
        index = pd.DatetimeIndex([pd.Timestamp(day)], name="date")
        frame = pd.DataFrame({f: [float(k)] for f in ("open", "high", "low", "close", "volume")},
                             index=index)
        cache.store("META", frame, covered=[(day, day)], source=f"writer{offset}",
                    adjustment="none", fetched_at=dt.datetime.now(dt.UTC))
    """
)


def test_two_processes_writing_the_same_ticker(tmp_path: Path) -> None:
    script = tmp_path / "two_writers.py"
    script.write_text(_CONCURRENT)
    procs = [
        subprocess.Popen([sys.executable, str(script), str(tmp_path), str(offset)])
        for offset in (0, 1)
    ]
    for p in procs:
        assert p.wait(timeout=60) == 0
    final = PriceCache(tmp_path).read("META")
    assert final is not None
    # every row of both writers is there: each write re-read the file under the lock
    assert len(final.frame) == 30
    assert final.covered == ((D(2020, 1, 1), D(2020, 1, 30)),)


def test_closed_through_follows_the_calendar() -> None:
    from backtest.markets import get_calendar
    from backtest.prices.base import closed_through

    xnys = get_calendar("XNYS")
    # Saturday 2023-06-24: Friday's session has closed, Monday's has not: through Sunday
    assert closed_through(xnys, dt.datetime(2023, 6, 24, 12, tzinfo=dt.UTC)) == D(2023, 6, 25)
    # Wednesday 2023-06-28 13:00 in New York (17:00 UTC), session open: through Tuesday
    assert closed_through(xnys, dt.datetime(2023, 6, 28, 17, tzinfo=dt.UTC)) == D(2023, 6, 27)
    # the same day at 16:30 in New York (20:30 UTC), after the 16:00 close: through Wednesday
    assert closed_through(xnys, dt.datetime(2023, 6, 28, 20, 30, tzinfo=dt.UTC)) == D(2023, 6, 28)


# ----------------------------------------------------------------------------- faults
# The suite runs as root, for whom permission bits do not apply, so the refusals of a read-only
# folder and of a full disk are injected where the operating system would raise them.


def test_a_corrupt_file_in_a_read_only_cache_is_a_cache_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import filelock

    (tmp_path / "META.parquet").write_bytes(b"not parquet at all")

    def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(filelock.FileLock, "acquire", refuse)
    with pytest.raises(PriceCacheError) as caught:
        PriceCache(tmp_path).read("META")
    assert str(caught.value) == (
        f"price cache {tmp_path}: META.parquet is unreadable (not a readable Parquet file: "
        "Parquet magic bytes not found in footer. Either the file is corrupted or this is "
        "not a parquet file.) and cannot be moved aside: cannot create the lock file of META: "
        "Permission denied (delete the file or make the folder writable, or choose another "
        "cache folder with --cache-dir)"
    )
    assert (tmp_path / "META.parquet").exists()  # nothing lost


def test_a_corrupt_file_that_cannot_be_moved_is_a_cache_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    (tmp_path / "META.parquet").write_bytes(b"not parquet at all")
    real = os.replace

    def read_only(src: object, dst: object) -> None:
        if str(src).endswith("META.parquet"):
            raise OSError(errno.EROFS, "Read-only file system")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", read_only)
    with pytest.raises(PriceCacheError, match="cannot be moved aside: Read-only file system"):
        PriceCache(tmp_path).read("META")


class FullDisk:
    """Stands in for :func:`backtest.atomic.atomic_writer` on a disk with ``room`` bytes free:
    a write beyond it fails with ENOSPC, as the real file system's would (and the writer's
    temporary file is removed, as the real writer does)."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.written = 0

    def __call__(self, path: object) -> object:
        import contextlib
        import errno

        from backtest.atomic import atomic_writer

        disk = self

        class Handle:
            def __init__(self, fh: object) -> None:
                self.fh = fh

            def write(self, data: bytes) -> int:
                if disk.written + len(data) > disk.room:
                    raise OSError(errno.ENOSPC, "No space left on device")
                disk.written += len(data)
                return self.fh.write(data)  # type: ignore[attr-defined]

            def __getattr__(self, name: str) -> object:
                return getattr(self.fh, name)

        @contextlib.contextmanager
        def writer() -> object:
            with atomic_writer(path) as fh:  # type: ignore[arg-type]
                yield Handle(fh)

        return writer()


def test_a_full_disk_keeps_what_was_stored_and_serves_the_rest(
    tmp_path: Path, shared_frames: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import backtest.prices.store as store

    fake = FakeYahooDownload(shared_frames)
    src = cached_source(tmp_path, fake)
    src.fetch(["META"], D(2023, 1, 1), D(2023, 3, 31))
    meta_before = (tmp_path / "META.parquet").read_bytes()
    one_file = len(meta_before)

    # room for one more file of twice the rows: META's extension fits, the others do not
    disk = FullDisk(room=int(one_file * 2.5))
    monkeypatch.setattr(store, "atomic_writer", disk)
    with pytest.warns(PriceCacheWarning) as caught:
        res = src.fetch(["META", "AAPL", "SPY"], D(2023, 1, 1), D(2023, 6, 30))
    # never aborted: every ticker is served in full from this download
    for t in ("META", "AAPL", "SPY"):
        pd.testing.assert_frame_equal(
            res.series[t].frame, expected(shared_frames, t, "2023-01-03", "2023-06-30")
        )
    assert not res.failed
    assert set(res.uncached) == {"AAPL", "SPY"}
    assert set(res.uncached.values()) == {
        "cannot write AAPL.parquet: No space left on device",
        "cannot write SPY.parquet: No space left on device",
    }
    message = str(caught[0].message)
    assert message == (
        f"price cache {tmp_path}: the prices of AAPL, SPY could not be stored (cannot write "
        "AAPL.parquet: No space left on device; cannot write SPY.parquet: No space left on "
        "device); they were served from this download and will be fetched again next time"
    )
    # what was stored stays stored; nothing half-written is left
    assert PriceCache(tmp_path).read("META").covered == ((D(2023, 1, 1), D(2023, 6, 30)),)  # type: ignore[union-attr]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "META.parquet"
    ]
    assert not list(tmp_path.glob(".*.tmp-*"))

    # space again: the next run fetches only what was not stored
    monkeypatch.undo()
    again = src.fetch(["META", "AAPL", "SPY"], D(2023, 1, 1), D(2023, 6, 30))
    assert again.downloaded["META"] == ()
    assert again.downloaded["AAPL"]
    assert again.downloaded["SPY"]
    assert not again.uncached


def test_return_flags_are_kept_with_the_cached_rows(tmp_path: Path, shared_frames: dict) -> None:
    frames = dict(shared_frames)
    meta = frames["META"].copy()
    meta["stock splits"] = 0.0
    meta.loc["2023-03-15", "stock splits"] = 1.196  # a spin-off booked as a split
    meta.loc["2023-08-15", "stock splits"] = 2.0  # a plain split: no flag
    frames["META"] = meta
    fake = FakeYahooDownload(frames)
    src = cached_source(tmp_path, fake)
    first = src.fetch(["META"], D(2023, 1, 1), D(2023, 6, 30))
    assert [f.date for f in first.series["META"].flags] == [D(2023, 3, 15)]
    # served from the file, by another source object: the flag was stored with the rows
    never = FakeYahooDownload({}, outcomes=["offline"] * 9)
    again = cached_source(tmp_path, never).fetch(["META"], D(2023, 3, 1), D(2023, 3, 31))
    assert not never.calls
    assert [f.date for f in again.series["META"].flags] == [D(2023, 3, 15)]
    assert again.series["META"].flags[0].reason.startswith("Stock Splits 1.196 on 2023-03-15")
    # outside the range asked: not served; extending the file keeps it
    assert (
        cached_source(tmp_path, never)
        .fetch(["META"], D(2023, 4, 1), D(2023, 4, 30))
        .series["META"]
        .flags
        == ()
    )
    src.fetch(["META"], D(2023, 1, 1), D(2023, 12, 31))
    stored = PriceCache(tmp_path).read("META")
    assert stored is not None
    assert [f.date for f in stored.flags] == [D(2023, 3, 15)]
    panel = load_prices(["META"], "2023-01-01", "2023-12-31", source=src)
    assert panel.return_flags["date"].tolist() == [pd.Timestamp("2023-03-15")]


def test_placeholder_history_is_decided_on_everything_cached(
    tmp_path: Path, shared_frames: dict
) -> None:
    frames = dict(shared_frames)
    meta = frames["META"].loc["2023-01-01":"2023-12-31"].copy()
    meta.iloc[:30, :4] = 120.0  # 30 flat bars before the "listing" on the 31st session
    meta.iloc[:30:3, 4] = 0.0  # some with zero volume
    frames["META"] = meta
    listing = meta.index[30]
    cached_source(tmp_path, FakeYahooDownload(frames)).fetch(
        ["0700.HK", "META"], D(2023, 1, 1), D(2025, 6, 30)
    )
    never = FakeYahooDownload({}, outcomes=["offline"] * 9)
    src = cached_source(tmp_path, never)
    # 0700.HK from its flat half day 2024-12-24: decided on everything cached, no placeholder
    got = src.fetch(["0700.HK"], D(2024, 12, 24), D(2025, 1, 31)).series["0700.HK"]
    assert got.history == SourceHistory(first=D(2023, 1, 3), placeholder_until=None)
    hk = load_prices(["0700.HK"], "2024-12-24", "2025-01-31", source=src)
    raw = shared_frames["0700.HK"]["close"]
    for d in ("2024-12-24", "2024-12-27", "2024-12-30"):
        assert hk.close.at[pd.Timestamp(d), "0700.HK"] == raw[pd.Timestamp(d)]
    assert "placeholder_history" not in {i.check for i in hk.quality.issues}
    # META from inside its placeholder history: the range's part of it is left out
    panel = load_prices(["META"], "2023-01-20", "2023-03-31", source=src)
    assert panel.close["META"].first_valid_index() == listing
    issue = next(i for i in panel.quality.issues if i.check == "placeholder_history")
    assert issue.dates[0] == D(2023, 1, 20)
    assert issue.dates[-1] == meta.index[29].date()
    assert "the source's from 2023-01-03 to " in issue.message
    assert not never.calls


# ----------------------------------------------------------------------------- what is covered


def test_no_rows_inside_the_series_life_is_not_covered(tmp_path: Path, shared_frames: dict) -> None:
    # May is cached; then June's answer is "no price data found", as a transient error that
    # yfinance swallows (HTTP 502, a timeout) reads too
    cached_source(tmp_path, FakeYahooDownload(shared_frames)).fetch(
        ["META"], D(2024, 5, 1), D(2024, 5, 31)
    )
    fake = FakeYahooDownload(shared_frames, outcomes=["offline_quiet"])
    res = cached_source(tmp_path, fake).fetch(["META"], D(2024, 5, 1), D(2024, 6, 28))
    assert fake.ranges == [(("META",), "2024-05-31", "2024-06-29")]
    assert res.series["META"].info.last == D(2024, 5, 31)
    assert res.partial["META"].kind == "empty"
    assert res.partial["META"].reason == (
        "no rows from 2024-06-03 to 2024-06-28 although those sessions have closed (Yahoo "
        "said: possibly delisted; no price data found (1d 2024-05-31 -> 2024-06-29)); they "
        "are not cached and will be asked for again next time"
    )
    # June stays uncovered: the next run asks for it again and gets it
    assert PriceCache(tmp_path).read("META").covered == ((D(2024, 5, 1), D(2024, 5, 31)),)  # type: ignore[union-attr]
    fake = FakeYahooDownload(shared_frames)
    res = cached_source(tmp_path, fake).fetch(["META"], D(2024, 5, 1), D(2024, 6, 28))
    assert fake.ranges == [(("META",), "2024-05-31", "2024-06-29")]
    assert res.series["META"].info.last == D(2024, 6, 28)
    assert not res.partial
    assert PriceCache(tmp_path).read("META").covered == ((D(2024, 5, 1), D(2024, 6, 28)),)  # type: ignore[union-attr]


def test_days_before_the_first_row_ever_are_covered(tmp_path: Path, shared_frames: dict) -> None:
    listed = {"META": shared_frames["META"].loc["2023-03-01":]}  # "listed" on 2023-03-01
    cached_source(tmp_path, FakeYahooDownload(listed)).fetch(
        ["META"], D(2023, 3, 1), D(2023, 3, 31)
    )
    fake = FakeYahooDownload(listed)
    res = cached_source(tmp_path, fake).fetch(["META"], D(2023, 1, 1), D(2023, 3, 31))
    # the gap before the first cached row, with that row as the anchor
    assert fake.ranges == [(("META",), "2023-01-03", "2023-03-02")]
    assert not res.partial
    assert PriceCache(tmp_path).read("META").covered == ((D(2023, 1, 1), D(2023, 3, 31)),)  # type: ignore[union-attr]
    cached_source(tmp_path, fake).fetch(["META"], D(2023, 1, 1), D(2023, 3, 31))
    assert len(fake.calls) == 1  # never asked again


def test_sessions_missing_at_the_end_of_an_answer_are_not_covered(
    tmp_path: Path, shared_frames: dict
) -> None:
    state = {"late": True}

    def late_bar(ticker: str, rows: pd.DataFrame) -> pd.DataFrame:
        # Yahoo has not published the bar of 2024-06-28 yet
        return rows[rows.index < "2024-06-28"] if state["late"] else rows

    fake = FakeYahooDownload(shared_frames, transform=late_bar)
    saturday = dt.datetime(2024, 6, 29, 12, tzinfo=dt.UTC)  # Friday 06-28 closed long ago
    res = cached_source(tmp_path, fake, saturday).fetch(["META"], D(2024, 6, 1), D(2024, 6, 28))
    assert res.series["META"].info.last == D(2024, 6, 27)
    assert res.partial["META"].reason == (
        "no rows from 2024-06-28 to 2024-06-28 although those sessions have closed; they are "
        "not cached and will be asked for again next time"
    )
    assert PriceCache(tmp_path).read("META").covered == ((D(2024, 6, 1), D(2024, 6, 27)),)  # type: ignore[union-attr]

    state["late"] = False
    res = cached_source(tmp_path, fake, saturday).fetch(["META"], D(2024, 6, 1), D(2024, 6, 28))
    assert fake.ranges[1:] == [(("META",), "2024-06-27", "2024-06-29")]  # anchor + the late bar
    assert res.series["META"].info.last == D(2024, 6, 28)
    assert not res.partial
    assert PriceCache(tmp_path).read("META").covered == ((D(2024, 6, 1), D(2024, 6, 28)),)  # type: ignore[union-attr]


def test_sessions_long_after_a_delisted_tickers_last_row_are_covered(
    tmp_path: Path, shared_frames: dict
) -> None:
    # "delisted" after 2023-06-30: Yahoo's answers stop there (and the ask includes a cached
    # row, so the answer is never empty: a swallowed HTTP error would give no row at all)
    delisted = {"META": shared_frames["META"].loc[:"2023-06-30"]}
    cached_source(tmp_path, FakeYahooDownload(delisted), tail_grace=WEEK).fetch(
        ["META"], D(2023, 6, 1), D(2023, 6, 30)
    )
    fake = FakeYahooDownload(delisted)
    res = cached_source(tmp_path, fake, tail_grace=WEEK).fetch(
        ["META"], D(2023, 6, 1), D(2023, 12, 29)
    )
    assert fake.ranges == [(("META",), "2023-06-30", "2023-12-30")]  # the anchor and the gap
    assert res.series["META"].info.last == D(2023, 6, 30)
    # its sessions closed years before the answer: the end of its data, not a late bar
    assert not res.partial
    assert PriceCache(tmp_path).read("META").covered == ((D(2023, 6, 1), D(2023, 12, 29)),)  # type: ignore[union-attr]
    res = cached_source(tmp_path, fake, tail_grace=WEEK).fetch(
        ["META"], D(2023, 6, 1), D(2023, 12, 29)
    )
    assert len(fake.calls) == 1  # never asked again
    assert res.series["META"].info.last == D(2023, 6, 30)
    assert not res.partial
    assert not res.failed


def test_sessions_shortly_after_the_last_row_are_asked_again(
    tmp_path: Path, shared_frames: dict
) -> None:
    # the rows stop on Thursday 2024-06-20; a week and a half later (Wednesday 2024-07-03,
    # 12:00 UTC) the sessions that closed 7 days before or earlier (to Tuesday 06-25) are
    # covered, the later ones (06-26 to 07-02) may still be a late bar: asked again
    stopped = {"META": shared_frames["META"].loc[:"2024-06-20"]}
    cached_source(tmp_path, FakeYahooDownload(stopped), tail_grace=WEEK).fetch(
        ["META"], D(2024, 6, 3), D(2024, 6, 20)
    )
    now = dt.datetime(2024, 7, 3, 12, tzinfo=dt.UTC)
    fake = FakeYahooDownload(stopped)
    res = cached_source(tmp_path, fake, now, WEEK).fetch(["META"], D(2024, 6, 3), D(2024, 7, 2))
    assert fake.ranges == [(("META",), "2024-06-20", "2024-07-03")]
    assert res.partial["META"].reason == (
        "no rows from 2024-06-26 to 2024-07-02 although those sessions have closed; they are "
        "not cached and will be asked for again next time (the answer's last row is "
        "2024-06-20; sessions still without rows 7 days after their close are cached as "
        "having none, as for a delisted ticker)"
    )
    assert PriceCache(tmp_path).read("META").covered == ((D(2024, 6, 3), D(2024, 6, 25)),)  # type: ignore[union-attr]
    res = cached_source(tmp_path, fake, now, WEEK).fetch(["META"], D(2024, 6, 3), D(2024, 7, 2))
    assert fake.ranges[1:] == [(("META",), "2024-06-20", "2024-07-03")]  # anchor + the rest


@pytest.mark.parametrize(
    ("kept", "covered", "missing"),
    [
        (
            ("2023-03-01", None),
            (D(2023, 3, 1), D(2023, 12, 31)),
            "2023-01-03 to 2023-02-28 (the cache had rows from 2023-01-03 to 2023-02-28)",
        ),
        (
            (None, "2023-04-28"),
            (D(2023, 1, 1), D(2023, 4, 28)),
            "2023-05-01 to 2023-12-29 (the cache had rows from 2023-05-01 to 2023-06-30)",
        ),
    ],
)
def test_a_refetch_that_comes_back_short_asks_again_for_the_rest(
    tmp_path: Path,
    shared_frames: dict,
    kept: tuple[str | None, str | None],
    covered: tuple[D, D],
    missing: str,
) -> None:
    # cached: 2023-01-03 to 2023-06-30; then a dividend rescales the past, and the re-fetch of
    # the whole range comes back without rows the cache had (its start or its end)
    cached_source(tmp_path, FakeYahooDownload(shared_frames), tail_grace=WEEK).fetch(
        ["META"], D(2023, 1, 1), D(2023, 6, 30)
    )
    state = {"calls": 0}

    def new_dividend(ticker: str, rows: pd.DataFrame) -> pd.DataFrame:
        state["calls"] += 1
        out = rows.copy()
        out[["open", "high", "low", "close"]] *= 0.99
        if state["calls"] == 2:  # the re-fetch
            out = out.loc[kept[0] : kept[1]]
        return out

    fake = FakeYahooDownload(shared_frames, transform=new_dividend)
    res = cached_source(tmp_path, fake, tail_grace=WEEK).fetch(
        ["META"], D(2023, 1, 1), D(2023, 12, 31)
    )
    assert fake.ranges[1] == (("META",), "2023-01-01", "2024-01-01")  # the re-fetch
    frame = shared_frames["META"]
    first = kept[0] or "2023-01-03"
    last = kept[1] or "2023-12-29"
    assert res.series["META"].info.first == D.fromisoformat(first)
    assert res.series["META"].info.last == D.fromisoformat(last)
    assert res.partial["META"].reason == (
        "the prices were fetched again (the adjustment changed since they were cached) and "
        f"the answer has rows from {first} to {last} only: {missing} are not cached and will "
        "be asked for again next time"
    )
    # the rows of the old basis are gone, but so is their coverage: asked again, not lost
    assert PriceCache(tmp_path).read("META").covered == (covered,)  # type: ignore[union-attr]
    state["calls"] = 10  # every answer whole again (on the new basis)
    res = cached_source(tmp_path, fake, tail_grace=WEEK).fetch(
        ["META"], D(2023, 1, 1), D(2023, 12, 31)
    )
    assert len(fake.calls) == 3
    assert not res.partial
    got = res.series["META"].frame["close"]
    want = frame.loc["2023-01-03":"2023-12-29", "close"] * 0.99
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
    assert PriceCache(tmp_path).read("META").covered == ((D(2023, 1, 1), D(2023, 12, 31)),)  # type: ignore[union-attr]


def _refetched_short(
    tmp_path: Path, shared_frames: dict, cached: tuple[D, D], kept: tuple[str | None, str | None]
) -> FakeYahooDownload:
    """The cache holds ``cached``; then a dividend rescales the past, and the re-fetch of the
    whole range (the second call) keeps only the rows of ``kept``; later answers are whole."""
    cached_source(tmp_path, FakeYahooDownload(shared_frames), tail_grace=WEEK).fetch(
        ["META"], *cached
    )
    state = {"calls": 0}

    def new_dividend(ticker: str, rows: pd.DataFrame) -> pd.DataFrame:
        state["calls"] += 1
        out = rows.copy()
        out[["open", "high", "low", "close"]] *= 0.99
        return out.loc[kept[0] : kept[1]] if state["calls"] == 2 else out

    return FakeYahooDownload(shared_frames, transform=new_dividend)


@pytest.mark.parametrize(
    ("cached", "asked", "kept", "covered", "later", "ask"),
    [
        # the answer starts after the cache's first row, but the range asked starts later still
        (
            (D(2023, 1, 1), D(2023, 6, 30)),
            (D(2023, 5, 1), D(2023, 12, 31)),
            ("2023-03-01", None),
            (D(2023, 3, 1), D(2023, 12, 31)),
            (D(2023, 1, 1), D(2023, 12, 31)),
            ("2023-01-03", "2023-03-02"),  # the lost rows, anchored on the answer's first
        ),
        # the answer ends before the cache's last row, but the range asked ends earlier still
        (
            (D(2023, 1, 1), D(2023, 12, 31)),
            (D(2022, 6, 1), D(2023, 3, 31)),
            (None, "2023-04-28"),
            (D(2022, 6, 1), D(2023, 4, 28)),
            (D(2023, 1, 1), D(2023, 12, 31)),
            ("2023-04-28", "2023-12-30"),  # the lost rows, anchored on the answer's last
        ),
    ],
)
def test_a_short_refetch_that_serves_the_range_asked_is_no_failure(
    tmp_path: Path,
    shared_frames: dict,
    cached: tuple[D, D],
    asked: tuple[D, D],
    kept: tuple[str | None, str | None],
    covered: tuple[D, D],
    later: tuple[D, D],
    ask: tuple[str, str],
) -> None:
    """Review: a re-fetch that came back without cached rows outside the range asked reported
    a partial failure naming the cache's whole span, although every row asked was served."""
    fake = _refetched_short(tmp_path, shared_frames, cached, kept)
    res = cached_source(tmp_path, fake, tail_grace=WEEK).fetch(["META"], *asked)
    assert len(fake.calls) == 2  # the gap, then the whole range again
    assert not res.partial
    assert not res.failed
    frame = shared_frames["META"]
    want = frame.loc[str(asked[0]) : str(asked[1]), "close"] * 0.99
    got = res.series["META"].frame["close"]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
    # the old rows this answer left out are not covered as having none: asked for again
    assert PriceCache(tmp_path).read("META").covered == (covered,)  # type: ignore[union-attr]
    res = cached_source(tmp_path, fake, tail_grace=WEEK).fetch(["META"], *later)
    assert fake.ranges[2:] == [(("META",), *ask)]
    assert not res.partial
    want = frame.loc[str(later[0]) : str(later[1]), "close"] * 0.99
    got = res.series["META"].frame["close"]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("cached", "asked", "kept", "missing"),
    [
        (
            (D(2023, 1, 1), D(2023, 6, 30)),
            (D(2023, 2, 1), D(2023, 12, 31)),
            ("2023-03-01", None),
            "2023-02-01 to 2023-02-28 (the cache had rows from 2023-02-01 to 2023-02-28)",
        ),
        (
            (D(2023, 1, 1), D(2023, 12, 31)),
            (D(2022, 6, 1), D(2023, 5, 31)),
            (None, "2023-04-28"),
            "2023-05-01 to 2023-05-31 (the cache had rows from 2023-05-01 to 2023-05-31)",
        ),
        (
            (D(2023, 1, 1), D(2023, 12, 31)),
            (D(2022, 6, 1), D(2023, 5, 31)),
            ("2023-03-01", "2023-04-28"),
            "2022-06-01 to 2023-02-28 (the cache had rows from 2023-01-03 to 2023-02-28) and "
            "2023-05-01 to 2023-05-31 (the cache had rows from 2023-05-01 to 2023-05-31)",
        ),
    ],
)
def test_a_short_refetch_names_what_is_missing_of_the_range_asked(
    tmp_path: Path,
    shared_frames: dict,
    cached: tuple[D, D],
    asked: tuple[D, D],
    kept: tuple[str, str],
    missing: str,
) -> None:
    """Review: the failure named the cache's whole span and sessions outside the range asked."""
    fake = _refetched_short(tmp_path, shared_frames, cached, kept)
    res = cached_source(tmp_path, fake, tail_grace=WEEK).fetch(["META"], *asked)
    first = res.series["META"].frame.index.min().date()
    last = res.series["META"].frame.index.max().date()
    assert res.partial["META"].reason == (
        "the prices were fetched again (the adjustment changed since they were cached) and "
        f"the answer has rows from {kept[0] or first} to {kept[1] or last} only: {missing} are "
        "not cached and will be asked for again next time"
    )
    assert (res.partial["META"].start, res.partial["META"].end) == asked


def test_a_short_refetch_names_both_the_lost_rows_and_the_sessions_after_its_last_row(
    tmp_path: Path, shared_frames: dict
) -> None:
    # by default sessions after an answer's last row are not vouched for: both are missing
    fake = _refetched_short(
        tmp_path, shared_frames, (D(2023, 1, 1), D(2023, 6, 30)), ("2023-03-01", "2023-12-15")
    )
    res = cached_source(tmp_path, fake).fetch(["META"], D(2023, 2, 1), D(2023, 12, 31))
    assert res.partial["META"].reason == (
        "the prices were fetched again (the adjustment changed since they were cached) and "
        "the answer has rows from 2023-03-01 to 2023-12-15 only: 2023-02-01 to 2023-02-28 (the "
        "cache had rows from 2023-02-01 to 2023-02-28) are not cached and will be asked for "
        "again next time; no rows from 2023-12-18 to 2023-12-29 although those sessions have "
        "closed; they are not cached and will be asked for again next time"
    )
    assert PriceCache(tmp_path).read("META").covered == ((D(2023, 3, 1), D(2023, 12, 15)),)  # type: ignore[union-attr]


def test_a_short_refetch_with_no_row_of_the_range_asked_says_where_the_cache_had_rows(
    tmp_path: Path, shared_frames: dict
) -> None:
    fake = _refetched_short(
        tmp_path, shared_frames, (D(2023, 1, 1), D(2023, 6, 30)), (None, "2023-04-28")
    )
    res = cached_source(tmp_path, fake, tail_grace=WEEK).fetch(
        ["META"], D(2023, 7, 1), D(2023, 12, 31)
    )
    assert "META" not in res.series
    assert res.failed["META"].reason == (
        "the prices were fetched again (the adjustment changed since they were cached) and "
        "the answer has rows from 2023-01-03 to 2023-04-28 only: 2023-07-03 to 2023-12-29 (the "
        "cache had rows to 2023-06-30, after its last row) are not cached and will be asked for "
        "again next time"
    )


def test_a_ticker_without_a_calendar_covers_only_what_its_answer_vouches_for(
    tmp_path: Path, shared_frames: dict
) -> None:
    # '.AX' (Sydney) is no market evbt knows: no exchange calendar, so every day may be a
    # session. The answer's rows (META's, as a stand-in) stop on 2024-06-20; on 2024-07-03 the
    # days that ended 7 days before or earlier are covered, the later ones asked again
    from backtest.prices.base import calendar_of

    assert calendar_of("BHP.AX") is None
    stopped = {"BHP.AX": shared_frames["META"].loc[:"2024-06-20"]}
    now = dt.datetime(2024, 7, 3, 12, tzinfo=dt.UTC)
    fake = FakeYahooDownload(stopped)
    res = cached_source(tmp_path, fake, now, WEEK).fetch(["BHP.AX"], D(2024, 6, 3), D(2024, 7, 2))
    assert fake.ranges == [(("BHP.AX",), "2024-06-03", "2024-07-03")]
    assert res.series["BHP.AX"].info.last == D(2024, 6, 20)
    assert res.partial["BHP.AX"].reason == (
        "no rows from 2024-06-26 to 2024-07-02 although those sessions have closed; they are "
        "not cached and will be asked for again next time (the answer's last row is "
        "2024-06-20; sessions still without rows 7 days after their close are cached as "
        "having none, as for a delisted ticker; BHP.AX's market has no exchange calendar in "
        "evbt, so every day counts as a session)"
    )
    assert PriceCache(tmp_path).read("BHP.AX").covered == ((D(2024, 6, 3), D(2024, 6, 25)),)  # type: ignore[union-attr]
    res = cached_source(tmp_path, fake, now, WEEK).fetch(["BHP.AX"], D(2024, 6, 3), D(2024, 7, 2))
    assert fake.ranges[1:] == [(("BHP.AX",), "2024-06-20", "2024-07-03")]  # anchor + the rest
    assert res.series["BHP.AX"].info.last == D(2024, 6, 20)


def test_offline_reports_nothing_downloaded(tmp_path: Path, shared_frames: dict) -> None:
    cached_source(tmp_path, FakeYahooDownload(shared_frames)).fetch(
        ["META"], D(2024, 5, 1), D(2024, 5, 31)
    )
    fake = FakeYahooDownload(shared_frames)
    upstream = YahooSource(
        download=fake, sleep=lambda s: None, reachable=lambda: False, clock=lambda: LATER
    )
    res = CachedSource(upstream, PriceCache(tmp_path), clock=lambda: LATER).fetch(
        ["META"], D(2024, 5, 1), D(2024, 6, 28)
    )
    assert not fake.calls
    assert res.downloaded == {"META": ()}
    assert res.partial["META"].kind == "offline"


def test_an_answer_cut_short_after_its_anchor_is_asked_again_by_default(
    tmp_path: Path, shared_frames: dict
) -> None:
    """Review of stop 25: an answer holding only the anchor row looks like a delisting; with
    the 7-day rule on by default its later sessions were covered and never asked again,
    although the source has their rows."""
    meta = {"META": shared_frames["META"]}
    cached_source(tmp_path, FakeYahooDownload(meta)).fetch(["META"], D(2023, 6, 1), D(2023, 6, 30))
    state = {"cut": True}

    def cut(ticker: str, rows: pd.DataFrame) -> pd.DataFrame:
        return rows.iloc[:1] if state["cut"] else rows  # the anchor row only

    fake = FakeYahooDownload(meta, transform=cut)
    res = cached_source(tmp_path, fake).fetch(["META"], D(2023, 6, 1), D(2023, 12, 29))
    assert res.partial["META"].reason.startswith("no rows from 2023-07-03 to 2023-12-29")
    state["cut"] = False
    res = cached_source(tmp_path, fake).fetch(["META"], D(2023, 6, 1), D(2023, 12, 29))
    assert not res.partial
    assert res.series["META"].info.last == D(2023, 12, 29)
    pd.testing.assert_frame_equal(
        res.series["META"].frame, expected(meta, "META", "2023-06-01", "2023-12-29")
    )
