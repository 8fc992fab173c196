"""Fakes for the price layer's tests (see ``conftest.py`` for how the shape was established).

Kept in a module with a unique name (not in ``conftest.py``) so that tests can import them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SHARED_PRICES = Path(__file__).resolve().parents[2].parent / "shared" / "prices"


def read_shared(ticker: str, prices_dir: Path = SHARED_PRICES) -> pd.DataFrame:
    """A file of ``../shared/prices`` as a frame indexed by date (floats)."""
    stem = "_" + ticker[1:] if ticker.startswith("^") else ticker
    frame = pd.read_csv(prices_dir / f"{stem}.csv", index_col="date", parse_dates=["date"])
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
    return frame.astype("float64")


# ----------------------------------------------------------------------------- fake yf.download

RATE_LIMIT_REPR = "YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')"
DNS_REPR = (
    "DNSError('Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com. "
    "See https://curl.se/libcurl/c/libcurl-errors.html first for more details.')"
)


class FakeYahooDownload:
    """Stands in for ``yfinance.download`` (keywords as in yfinance 1.7).

    Parameters
    ----------
    frames:
        Ticker -> rows (lower-case columns ``open..volume``, optionally ``stock splits``; date
        index), what "Yahoo" has.
    outcomes:
        What each successive call does: ``"ok"``, ``"raise_rate_limit"`` (the call raises
        ``YFRateLimitError``), ``"rate_limit"`` (every ticker fails with it, as yfinance
        reports it), ``"offline"`` (transport errors, as when yfinance sees them),
        ``"offline_quiet"`` (the outage reads as "no price data found", as when yfinance's
        timezone cache is warm). ``"rate_limit:T1,T2"`` rate-limits only those tickers and
        answers for the others. Calls beyond the list are ``"ok"``.
    transform:
        Applied to each ticker's rows before answering (e.g. to simulate a re-adjustment).
    """

    def __init__(
        self,
        frames: dict[str, pd.DataFrame],
        outcomes: list[str] | None = None,
        transform: Any = None,
    ) -> None:
        self.frames = frames
        self.outcomes = list(outcomes or [])
        self.transform = transform
        self.calls: list[dict[str, Any]] = []

    @property
    def ranges(self) -> list[tuple[tuple[str, ...], str, str]]:
        """``(tickers, start, end)`` of every call (yfinance's exclusive end)."""
        return [(tuple(sorted(c["tickers"])), c["start"], c["end"]) for c in self.calls]

    def __call__(self, **kwargs: Any) -> pd.DataFrame:
        self.calls.append(kwargs)
        assert kwargs["auto_adjust"] is True
        assert kwargs["actions"] is True
        assert kwargs["group_by"] == "column"
        assert kwargs["multi_level_index"] is True
        assert kwargs["ignore_tz"] is True
        assert kwargs["progress"] is False
        outcome = (
            self.outcomes[len(self.calls) - 1] if len(self.calls) <= len(self.outcomes) else "ok"
        )
        outcome, _, only = outcome.partition(":")
        limited = set(only.split(",")) if only else None  # None: every ticker
        if outcome == "raise_rate_limit":
            from yfinance.exceptions import YFRateLimitError

            raise YFRateLimitError()
        log = logging.getLogger("yfinance")
        tickers = list({t.upper() for t in kwargs["tickers"]})
        start, end = pd.Timestamp(kwargs["start"]), pd.Timestamp(kwargs["end"])
        dfs: dict[str, pd.DataFrame] = {}
        errors: dict[str, str] = {}
        if outcome == "offline":
            log.warning("Cookie/crumb fetch failed (DNSError), continuing without crumb")
        for t in tickers:
            rows = self._rows(t, start, end)
            if outcome == "rate_limit" and (limited is None or t in limited):
                errors[t] = RATE_LIMIT_REPR
            elif outcome == "offline":
                log.error(f"Failed to get ticker '{t}' reason: {DNS_REPR[10:-2]}")
                errors[t] = DNS_REPR
            elif t not in self.frames:
                errors[t] = "possibly delisted; no timezone found"
                log.error(f"${t}: {errors[t]}")
            elif outcome == "offline_quiet" or rows is None:
                errors[t] = (
                    f"possibly delisted; no price data found  "
                    f"(1d {kwargs['start']} -> {kwargs['end']})"
                )
                log.error(f"${t}: {errors[t]}")
            if t in errors:
                dfs[t] = _empty_df()
            else:
                assert rows is not None
                dfs[t] = rows
        return _assemble(dfs, errors)

    def _rows(self, t: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame | None:
        """What ``Ticker.history`` returns for one ticker (tz-naive after ignore_tz)."""
        src = self.frames.get(t)
        if src is None:
            return None
        sel = src[(src.index >= start) & (src.index < end)]
        if self.transform is not None:
            sel = self.transform(t, sel)
        if sel.empty:
            return None
        index = pd.DatetimeIndex(pd.to_datetime(sel.index.date), name="Date")
        splits = sel["stock splits"] if "stock splits" in sel.columns else 0.0
        return pd.DataFrame(
            {
                "Open": sel["open"].to_numpy(dtype="float64"),
                "High": sel["high"].to_numpy(dtype="float64"),
                "Low": sel["low"].to_numpy(dtype="float64"),
                "Close": sel["close"].to_numpy(dtype="float64"),
                "Volume": sel["volume"].fillna(0).to_numpy().astype(np.int64),
                # actions=True: the event columns, 0.0 on days without one
                "Dividends": np.zeros(len(sel)),
                "Stock Splits": np.broadcast_to(np.asarray(splits, dtype="float64"), len(sel)),
            },
            index=index,
        )


def _empty_df() -> pd.DataFrame:
    """yfinance's ``utils.empty_df()``: what a failed ticker becomes."""
    cols = ("Open", "High", "Low", "Close", "Adj Close", "Volume")
    empty = pd.DataFrame(index=[], data=dict.fromkeys(cols, np.nan))
    empty.index.name = "Date"
    return empty


def _assemble(dfs: dict[str, pd.DataFrame], errors: dict[str, str]) -> pd.DataFrame:
    """The end of yfinance's ``download``: log failures, align, concatenate, group by column."""
    log = logging.getLogger("yfinance")
    if errors:
        log.error(f"\n{len(errors)} Failed download{'s' if len(errors) > 1 else ''}:")
        grouped: dict[str, list[str]] = {}
        for t, err in errors.items():
            grouped.setdefault(err, []).append(t)
        for err, syms in grouped.items():
            log.error(f"{syms}: " + err)
    idx = None
    for df in dfs.values():
        if not df.empty:
            idx = df.index if idx is None else idx.union(df.index)
    if idx is None:
        idx = pd.DatetimeIndex([])
    dfs = {t: df.reindex(idx) for t, df in dfs.items()}
    data = pd.concat(dfs.values(), axis=1, sort=True, keys=dfs.keys(), names=["Ticker", "Price"])
    data.columns = data.columns.swaplevel(0, 1)
    return data.sort_index(level=0, axis=1)


# ----------------------------------------------------------------------------- emulated Yahoo


class _Response:
    def __init__(self, status: int, body: object, url: str) -> None:
        self.status_code = status
        self.url = url
        self.text = body if isinstance(body, str) else json.dumps(body)
        self.content = self.text.encode()

    def json(self) -> Any:
        return json.loads(self.text)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            from curl_cffi.requests.exceptions import HTTPError

            raise HTTPError(f"HTTP Error {self.status_code}", response=self)


def _yahoo_session_base() -> type:
    import requests

    return requests.Session


class EmulatedYahoo(_yahoo_session_base()):  # type: ignore[misc]
    """An HTTP session answering like Yahoo: chart data from ``frames``, 404 for others.

    ``mode``: ``"ok"``, ``"offline"`` (every request raises curl's DNSError, as with no
    network) or ``"rate_limited"`` (every request answers HTTP 429).
    """

    def __init__(self, frames: dict[str, pd.DataFrame], mode: str = "ok") -> None:
        super().__init__()
        self.frames = frames
        self.mode = mode
        self.urls: list[str] = []

    def get(self, url: str, params: dict[str, Any] | None = None, **kwargs: Any) -> _Response:
        self.urls.append(url)
        if self.mode == "offline":
            from curl_cffi.requests.exceptions import DNSError

            raise DNSError(
                "Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com",
                6,
            )
        if self.mode == "rate_limited":
            return _Response(429, "Too Many Requests", url)
        if "getcrumb" in url:
            return _Response(200, "crumb", url)
        if "/v8/finance/chart/" in url:
            return self._chart(url.rsplit("/", 1)[1], params or {}, url)
        not_found = {"code": "Not Found", "description": "Quote not found for symbol"}
        if "quoteSummary" in url:
            return _Response(404, {"quoteSummary": {"result": None, "error": not_found}}, url)
        if "/v7/finance/quote" in url:
            return _Response(404, {"quoteResponse": {"result": [], "error": not_found}}, url)
        return _Response(404, "<html>not found</html>", url)

    def post(self, url: str, **kwargs: Any) -> _Response:
        self.urls.append(url)
        return self.get(url)

    def _chart(self, symbol: str, params: dict[str, Any], url: str) -> _Response:
        frame = self.frames.get(symbol)
        if frame is None:
            error = {"code": "Not Found", "description": "No data found, symbol may be delisted"}
            return _Response(404, {"chart": {"result": None, "error": error}}, url)
        tz = "Asia/Hong_Kong" if symbol.endswith(".HK") or symbol == "^HSI" else "America/New_York"
        opens = frame.index.tz_localize(tz) + pd.Timedelta(hours=9, minutes=30)
        if "range" in params:
            keep = np.zeros(len(frame), dtype=bool)
            keep[-1:] = True
        else:
            lo = pd.Timestamp(params["period1"], unit="s", tz="UTC")
            hi = pd.Timestamp(params["period2"], unit="s", tz="UTC")
            keep = np.asarray((opens >= lo) & (opens < hi))
        sel, stamps = frame[keep], opens[keep]
        meta = {
            "currency": "HKD" if tz == "Asia/Hong_Kong" else "USD",
            "symbol": symbol,
            "instrumentType": "EQUITY",
            "exchangeTimezoneName": tz,
            "priceHint": 2,
            "dataGranularity": "1d",
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "5y", "max"],
        }
        if sel.empty:
            result: dict[str, Any] = {"meta": meta, "indicators": {"quote": [{}]}}
        else:
            quote = {c: sel[c].tolist() for c in ("open", "high", "low", "close")}
            quote["volume"] = sel["volume"].astype("int64").tolist()
            result = {
                "meta": meta,
                "timestamp": [int(s.timestamp()) for s in stamps],
                "indicators": {"quote": [quote], "adjclose": [{"adjclose": quote["close"]}]},
            }
            if "stock splits" in sel.columns:  # Yahoo's split events, as ratios of integers
                events = {}
                for stamp, ratio in zip(stamps, sel["stock splits"], strict=True):
                    if ratio:
                        key = str(int(stamp.timestamp()))
                        num = round(ratio * 1000)
                        events[key] = {
                            "date": int(stamp.timestamp()),
                            "numerator": num,
                            "denominator": 1000,
                            "splitRatio": f"{num}:1000",
                        }
                result["events"] = {"splits": events}
        return _Response(200, {"chart": {"result": [result], "error": None}}, url)
