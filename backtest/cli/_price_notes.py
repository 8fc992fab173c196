"""What ``evbt study``'s text says about the prices' quality warnings of the tickers it
measured: a warning (a split-like jump, a missing session, a zero volume) leaves the rows
usable, so the study measures them; the rows whose reach reads a warned session carry the
``price_warning`` flag, and the text names the warnings so that a number such as +893% is never
printed without a word."""

from __future__ import annotations

from typing import Any

#: warnings listed one a line; more are counted
MAX_LINES = 12


def measured_warnings(result: Any, panel: Any) -> str | None:
    """The paragraph on the quality warnings of the measured rows' tickers and benchmarks
    (``None`` when they have none)."""
    events = result.events
    names = set(events["ticker"].astype(str)) if "ticker" in events else set()
    if "benchmark" in events:
        names |= {str(b) for b in events["benchmark"].dropna()}
    report = getattr(panel, "quality", None)
    warned = [i for i in getattr(report, "warnings", ()) if i.ticker in names]
    if not warned:
        return None
    flagged = int(events["price_warning"].sum()) if "price_warning" in events else 0
    tickers = sorted({i.ticker for i in warned})
    head = (
        f"Price quality warnings ({len(warned)}) on the tickers measured: {flagged} of "
        f"{len(events)} (event, ticker) rows read a warned session of their ticker or "
        f"benchmark (flag price_warning); every date: evbt prices check {' '.join(tickers)}"
    )
    lines = [f"  - {i.ticker}: {i.check}: {i.message}" for i in warned[:MAX_LINES]]
    if len(warned) > MAX_LINES:
        lines.append(f"  - and {len(warned) - MAX_LINES} more")
    return "\n".join([head, *lines])
