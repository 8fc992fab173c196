"""YahooSource against the fake ``yf.download``: batches, failures, retries, offline."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time

import pandas as pd
import pytest
from prices_fakes import FakeYahooDownload

from backtest.errors import PriceSourceOfflineError, RateLimitedError, UnknownTickerError
from backtest.prices.base import ADJUSTMENT_YAHOO, OFFLINE_HINT, summarize_failures
from backtest.prices.yahoo import (
    YahooSource,
    _yfinance_messages,
    bounded_probe,
    classify,
    parse_log,
    split_download_frame,
    yahoo_reachable,
)
from tests.netguard import NetworkBlocked

START, END = dt.date(2023, 5, 1), dt.date(2023, 5, 31)
LATER = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)  # long after every session asked for


class Recorder:
    """Stands in for ``time.sleep`` and the offline probe, recording calls.

    ``reachable``: the probe's answer, or its answers in turn (the last one repeats).
    """

    def __init__(self, reachable: bool | list[bool] = True) -> None:
        self.sleeps: list[float] = []
        self.probes = 0
        self._answers = reachable if isinstance(reachable, list) else [reachable]

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def reachable(self) -> bool:
        self.probes += 1
        return self._answers[min(self.probes, len(self._answers)) - 1]


def source(fake: FakeYahooDownload, rec: Recorder, **kw: object) -> YahooSource:
    return YahooSource(
        download=fake, sleep=rec.sleep, reachable=rec.reachable, clock=lambda: LATER, **kw
    )


def test_clean_batch(fake_download: FakeYahooDownload, shared_frames: dict) -> None:
    rec = Recorder()
    res = source(fake_download, rec).fetch(["META", "AAPL", "0700.HK"], START, END)
    assert set(res.series) == {"META", "AAPL", "0700.HK"}
    assert not res.failed
    assert not rec.sleeps
    # one call, with everything we rely on passed explicitly; yfinance's end is exclusive
    (call,) = fake_download.calls
    assert (call["start"], call["end"]) == ("2023-05-01", "2023-06-01")
    assert call["threads"] == 4
    assert call["repair"] is False
    meta = res.series["META"]
    expected = shared_frames["META"].loc["2023-05-01":"2023-05-31"]
    pd.testing.assert_frame_equal(meta.frame, expected.rename_axis("date"), check_freq=False)
    assert meta.info.adjustment == ADJUSTMENT_YAHOO
    assert meta.info.source.startswith("yahoo (yfinance ")
    assert meta.info.fetched_at == LATER
    assert (meta.info.first, meta.info.last, meta.info.rows) == (
        dt.date(2023, 5, 1),
        dt.date(2023, 5, 31),
        22,
    )
    # 0700.HK has no row on US-only sessions: the NaN padding of the batch is not data
    hk = res.series["0700.HK"].frame
    assert hk["close"].notna().all()
    assert len(hk) == len(shared_frames["0700.HK"].loc["2023-05-01":"2023-05-31"])


def test_partial_batch_with_unknown_ticker(fake_download: FakeYahooDownload) -> None:
    rec = Recorder()
    res = source(fake_download, rec).fetch(["META", "ZZZZ", "SPY"], START, END)
    assert set(res.series) == {"META", "SPY"}
    failure = res.failed["ZZZZ"]
    assert failure.kind == "unknown_ticker"
    assert "no timezone found" in failure.reason
    assert "spells" in failure.hint
    assert (failure.start, failure.end, failure.attempts) == (START, END, 1)
    assert isinstance(failure.to_error(), UnknownTickerError)
    assert isinstance(failure.to_error(), LookupError)
    assert len(fake_download.calls) == 1  # an unknown ticker is not retried
    assert rec.probes == 1  # the probe before the download; some loaded: not asked again


def test_empty_answer(fake_download: FakeYahooDownload) -> None:
    rec = Recorder(reachable=True)
    res = source(fake_download, rec).fetch(
        ["META", "AAPL"], dt.date(2010, 1, 1), dt.date(2010, 12, 31)
    )
    assert not res.series
    assert {f.kind for f in res.failed.values()} == {"empty"}
    assert "no price data found" in res.failed["META"].reason
    assert rec.probes == 2  # first, and again when everything failed (it is reachable)
    assert len(fake_download.calls) == 1


def test_raised_rate_limit_then_success_on_retry(shared_frames: dict) -> None:
    fake = FakeYahooDownload(shared_frames, outcomes=["raise_rate_limit"])
    rec = Recorder()
    res = source(fake, rec).fetch(["META", "SPY"], START, END)
    assert set(res.series) == {"META", "SPY"}
    assert not res.failed
    assert rec.sleeps == [2.0]
    assert len(fake.calls) == 2


def test_logged_rate_limit_retries_only_the_limited_tickers(shared_frames: dict) -> None:
    fake = FakeYahooDownload(shared_frames, outcomes=["rate_limit"])
    rec = Recorder()
    res = source(fake, rec).fetch(["META", "ZZZZ"], START, END)
    assert set(res.series) == {"META"}
    assert res.failed["ZZZZ"].kind == "unknown_ticker"
    assert fake.ranges[1][0] == ("META", "ZZZZ")  # both were rate-limited in the first call
    assert rec.sleeps == [2.0]

    # one call in which META is limited, SPY answers and ZZZZ is unknown: only META is asked again
    fake = FakeYahooDownload(shared_frames, outcomes=["rate_limit:META"])
    res = source(fake, Recorder()).fetch(["META", "SPY", "ZZZZ"], START, END)
    assert [r[0] for r in fake.ranges] == [("META", "SPY", "ZZZZ"), ("META",)]
    assert set(res.series) == {"META", "SPY"}
    assert res.failed["ZZZZ"].kind == "unknown_ticker"
    assert res.failed["ZZZZ"].attempts == 1


def test_retries_exhausted(shared_frames: dict) -> None:
    fake = FakeYahooDownload(shared_frames, outcomes=["rate_limit"] * 5)
    rec = Recorder()
    res = source(fake, rec, backoff=0.5).fetch(["META"], START, END)
    failure = res.failed["META"]
    assert failure.kind == "rate_limited"
    assert failure.attempts == 3
    assert "after 3 attempts" in failure.reason
    assert rec.sleeps == [0.5, 1.0]  # exponential backoff, no sleep after the last attempt
    assert len(fake.calls) == 3
    assert isinstance(failure.to_error(), RateLimitedError)


def test_offline_with_transport_errors(shared_frames: dict) -> None:
    # the probe got through, then the downloads failed with curl's words (a flaky network)
    fake = FakeYahooDownload(shared_frames, outcomes=["offline"] * 3)
    rec = Recorder(reachable=[True, False])
    res = source(fake, rec, max_attempts=2).fetch(["META", "SPY"], START, END)
    assert not res.series
    assert {f.kind for f in res.failed.values()} == {"offline"}
    assert "--prices-dir" in res.failed["META"].hint
    # a clean reason; curl's text only in the detail
    assert res.failed["META"].reason == (
        "Yahoo Finance cannot be reached: the host name could not be resolved (after 2 attempts)"
    )
    assert "curl" not in res.failed["META"].reason
    assert "Could not resolve host" in res.failed["META"].detail
    err = res.failed["META"].to_error()
    assert isinstance(err, PriceSourceOfflineError)
    assert isinstance(err, ConnectionError)
    assert "META" in str(err)
    assert "2023-05-01" in str(err)
    assert rec.sleeps == [2.0]


def test_offline_that_yfinance_reports_as_missing_prices(shared_frames: dict) -> None:
    # With its timezone cache warm, yfinance words an outage "no price data found": only the
    # probe can tell it from an empty range.
    fake = FakeYahooDownload(shared_frames, outcomes=["offline_quiet"] * 3)
    rec = Recorder(reachable=[True, False])  # the network went down after the first probe
    res = source(fake, rec).fetch(["META"], START, END)
    assert res.failed["META"].kind == "offline"
    assert res.failed["META"].attempts == 3
    assert rec.probes == 4  # first, then once after each attempt in which everything failed


def test_offline_is_told_at_once_without_downloading(shared_frames: dict) -> None:
    fake = FakeYahooDownload(shared_frames)
    rec = Recorder(reachable=False)
    src = source(fake, rec)
    done: list[int] = []
    res = src.fetch(["META", "SPY", "AAPL"], START, END, on_progress=done.append)
    assert not fake.calls  # nothing asked of yfinance: no retries, no waiting
    assert not rec.sleeps
    assert done == [3]
    assert set(res.failed) == {"META", "SPY", "AAPL"}
    for f in res.failed.values():
        assert (f.kind, f.attempts) == ("offline", 0)
        assert (
            f.reason
            == "Yahoo Finance cannot be reached (no connection to query2.finance.yahoo.com)"
        )
        assert f.hint == OFFLINE_HINT
    assert res.downloaded == {"META": (), "SPY": (), "AAPL": ()}
    # one message for all of them, the advice once
    assert summarize_failures(res.failed) == (
        "META, SPY, AAPL: Yahoo Finance cannot be reached (no connection to "
        "query2.finance.yahoo.com). To fix: check the network connection, or work offline "
        "from CSV files with --prices-dir DIR (one file per ticker)."
    )
    # the answer is remembered: a request split into many calls probes once
    src.fetch(["MSFT"], START, END)
    assert rec.probes == 1


def test_a_probe_that_hangs_is_cut_short() -> None:
    # no resolver reachable: a name lookup can hang far longer than the connect timeout
    never = threading.Event()
    calls: list[object] = []
    src = YahooSource(
        download=lambda **kw: calls.append(kw),
        reachable=lambda: never.wait(30),
        probe_timeout=0.2,
        clock=lambda: LATER,
    )
    t0 = time.monotonic()
    res = src.fetch(["META"], START, END)
    assert time.monotonic() - t0 < 2.0
    assert res.failed["META"].kind == "offline"
    assert not calls
    never.set()


def test_a_probe_that_raises_means_unreachable() -> None:
    def broken() -> bool:
        raise RuntimeError("boom")

    assert bounded_probe(broken, 1.0) is False
    assert bounded_probe(lambda: True, 1.0) is True


def test_single_unknown_ticker_online(fake_download: FakeYahooDownload) -> None:
    rec = Recorder(reachable=True)
    res = source(fake_download, rec).fetch(["ZZZZ"], START, END)
    assert res.failed["ZZZZ"].kind == "unknown_ticker"
    assert rec.probes == 2


def test_bar_of_a_session_still_open_is_left_out(fake_download: FakeYahooDownload) -> None:
    during = dt.datetime(2023, 5, 31, 17, 0, tzinfo=dt.UTC)  # 13:00 in New York
    src = YahooSource(download=fake_download, clock=lambda: during, reachable=lambda: True)
    res = src.fetch(["META"], START, END)
    assert res.series["META"].info.last == dt.date(2023, 5, 30)


def test_batches_and_progress(fake_download: FakeYahooDownload) -> None:
    done: list[int] = []
    res = source(fake_download, Recorder(), batch_size=2).fetch(
        ["META", "AAPL", "SPY"], START, END, on_progress=done.append
    )
    assert len(res.series) == 3
    assert done == [2, 1]
    assert [r[0] for r in fake_download.ranges] == [("AAPL", "META"), ("SPY",)]


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')", "rate_limited"),
        ("possibly delisted; no timezone found", "unknown_ticker"),
        ("No data found, symbol may be delisted", "unknown_ticker"),
        ("possibly delisted; no price data found  (1d 2010-01-01 -> 2010-02-01)", "empty"),
        ("Data doesn't exist for startDate = 1262322000, endDate = 1264986000", "empty"),
        ("DNSError('Failed to perform, curl: (6) Could not resolve host: x')", "offline"),
        ("ConnectTimeout('timed out')", "offline"),
        ("KeyError('chart')", "error"),
    ],
)
def test_classify(message: str, kind: str) -> None:
    assert classify(message) == kind


def test_parse_log_reads_yfinance_formats() -> None:
    per, general = parse_log(
        [
            "\n2 Failed downloads:",
            "['AAA', 'BBB']: possibly delisted; no timezone found",
            "$CCC: possibly delisted; no price data found  (1d x -> y)",
            "Failed to get ticker 'DDD' reason: Failed to perform, curl: (6) x",
            "Cookie/crumb fetch failed (DNSError), continuing without crumb",
        ]
    )
    assert per == {
        "AAA": ["possibly delisted; no timezone found"],
        "BBB": ["possibly delisted; no timezone found"],
        "CCC": ["possibly delisted; no price data found  (1d x -> y)"],
        "DDD": ["Failed to perform, curl: (6) x"],
    }
    assert general == ["Cookie/crumb fetch failed (DNSError), continuing without crumb"]


def test_unexpected_answer_shape_is_an_error_for_every_ticker() -> None:
    def flat_download(**kwargs: object) -> pd.DataFrame:
        return pd.DataFrame({"Close": [1.0]}, index=pd.DatetimeIndex(["2023-05-01"]))

    src = YahooSource(download=flat_download, reachable=lambda: True, clock=lambda: LATER)
    res = src.fetch(["META", "SPY"], START, END)
    assert {f.kind for f in res.failed.values()} == {"error"}
    assert "unexpected answer" in res.failed["SPY"].reason
    with pytest.raises(ValueError, match="Price"):
        split_download_frame(pd.DataFrame({"Close": [1.0]}), ["META"])


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        YahooSource(max_attempts=0)


def test_the_network_guard_holds() -> None:
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("example.com", 443), timeout=1)
    # the real probe treats a refused connection as offline only for OSError: the guard is
    # an AssertionError, so a test that forgot to inject the probe fails loudly
    with pytest.raises(NetworkBlocked):
        yahoo_reachable()


def test_yfinance_messages_are_scoped_to_the_call_and_its_thread() -> None:
    logger = logging.getLogger("yfinance")
    before = list(logger.handlers)
    got: dict[str, list[str]] = {}
    barrier = threading.Barrier(2)

    def call(name: str, ticker: str) -> None:
        with _yfinance_messages([ticker]) as messages:
            barrier.wait()  # both calls collect at the same time
            logger.error(f"['{ticker}']: possibly delisted; no timezone found")
            logger.error("Cookie/crumb fetch failed (DNSError)")
            barrier.wait()
        got[name] = list(messages)

    def worker_of_a() -> None:  # a yfinance worker thread of call a, naming a's ticker
        logger.error("$AAA: possibly delisted; no price data found")

    threads = [
        threading.Thread(target=call, args=("a", "AAA")),
        threading.Thread(target=call, args=("b", "BBB")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got["a"] == [
        "['AAA']: possibly delisted; no timezone found",
        "Cookie/crumb fetch failed (DNSError)",
    ]
    assert got["b"] == [
        "['BBB']: possibly delisted; no timezone found",
        "Cookie/crumb fetch failed (DNSError)",
    ]
    with _yfinance_messages(["AAA"]) as messages:
        helper = threading.Thread(target=worker_of_a)
        helper.start()
        helper.join()
        other = threading.Thread(target=lambda: logger.error("$ZZZ: not ours"))
        other.start()
        other.join()
    assert messages == ["$AAA: possibly delisted; no price data found"]
    assert logger.handlers == before  # nothing left on the process-wide logger
    try:
        with _yfinance_messages(["AAA"]):
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert logger.handlers == before


@pytest.mark.parametrize("silence", ["level", "disabled"])
def test_failures_are_read_with_the_yfinance_logger_silenced(
    shared_frames: dict, silence: str
) -> None:
    logger = logging.getLogger("yfinance")
    saved = (logger.level, logger.disabled, list(logger.filters))
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    user = Keep(level=logging.DEBUG)
    logger.addHandler(user)
    try:
        if silence == "level":
            logger.setLevel(logging.CRITICAL)  # a common recipe to quiet yfinance
        else:
            logger.disabled = True
        fake = FakeYahooDownload(shared_frames, outcomes=["rate_limit"] * 3)
        res = source(fake, Recorder()).fetch(["META"], START, END)
        assert res.failed["META"].kind == "rate_limited"
        assert len(fake.calls) == 3  # retried as a rate limit, not taken as an empty range
        # the user's setting holds: their handler saw nothing, and everything is restored
        assert seen == []
        want = (logging.CRITICAL, False) if silence == "level" else (saved[0], True)
        assert (logger.level, logger.disabled) == want
        assert logger.filters == saved[2]
    finally:
        logger.removeHandler(user)
        logger.setLevel(saved[0])
        logger.disabled = saved[1]
