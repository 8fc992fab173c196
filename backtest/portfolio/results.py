"""The result of a strategy backtest: metrics, trades, equity curves, and what was skipped."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from backtest.jsonio import number
from backtest.portfolio.metrics import METRICS, format_metric
from backtest.portfolio.strategy import Strategy
from backtest.summary import Summary, Table, Text
from backtest.text import DASH, money, num, pct

#: The metrics the text summary shows, in order, with their short column headers.
SUMMARY_METRICS = {
    "total_return": "Return",
    "cagr": "CAGR",
    "sharpe": "Sharpe",
    "max_drawdown": "Max DD",
    "n_trades": "Trades",
    "win_rate": "Win rate",
    "avg_trade_return": "Avg trade",
    "exposure": "Exposure",
}


#: The columns of :attr:`BacktestResult.metrics` (those of a result without a trade too).
METRIC_COLUMNS = [
    "combo", "portfolio", "market", "kind", "subject", "start", "end", "sessions",
    "periods_per_year", "total_return", "cagr", "annual_volatility", "sharpe", "sortino",
    "calmar", "max_drawdown", "max_drawdown_peak", "max_drawdown_trough",
    "max_drawdown_recovery", "max_drawdown_duration", "max_drawdown_duration_sessions",
    "max_drawdown_duration_start", "max_drawdown_duration_end", "max_drawdown_duration_depth",
    "n_trades", "win_rate", "avg_trade_return", "median_trade_return", "trade_t",
    "profit_factor", "exposure", "alpha", "beta", "bench_total_return", "excess_return",
    "warning", "matched_total_return", "matched_cagr", "matched_annual_volatility",
    "matched_sharpe", "matched_max_drawdown",
]  # fmt: skip
#: The columns of :attr:`BacktestResult.pooled_trades` (``trades`` adds the ``label``).
LEG_COLUMNS = [
    "event_id", "ticker", "market", "leg", "direction", "underlying", "day0", "fill",
    "entry_date", "exit_date", "planned_exit_date", "size", "fees", "slippage", "stop_loss",
    "take_profit", "combo", "shares", "entry_price", "exit_price", "entry_fees", "exit_fees",
    "pnl", "return", "status", "exit_reason",
]  # fmt: skip
#: The columns of :attr:`BacktestResult.trade_stats`.
TRADE_STATS_COLUMNS = [
    "combo", "portfolio", "market", "n_trades", "mean_trade_return", "median_trade_return",
    "trade_t", "trade_lo", "trade_hi", "mean_excess_return", "excess_t", "excess_lo",
    "excess_hi", "return_while_invested", "bench_while_invested", "warning", "exposure",
]  # fmt: skip


@dataclass(frozen=True)
class BacktestResult:
    """A strategy's backtest over its whole parameter grid.

    Attributes
    ----------
    strategy:
        The validated strategy (its file, filter, rules, costs).
    combos:
        One row per parameter combination: ``combo``, ``label`` and the parameter values.
    metrics:
        One row per (combo, portfolio, kind, subject): ``kind`` is ``strategy`` or
        ``buy_and_hold``; ``portfolio`` a ticker or ``pooled XNYS``; ``subject`` the ticker,
        the benchmark or the equal-weight basket for buy-and-hold rows; then every metric of
        :data:`backtest.portfolio.metrics.METRICS`.
    trades:
        Every leg of every trade of the per-ticker portfolios: event, ticker, leg, direction,
        entry/exit dates and prices, shares, fees, P&L, return, exit reason.
    pooled_trades:
        The same for the pooled portfolios (where shared cash can leave an order unfilled).
    equity:
        Portfolio values per session; columns (combo, portfolio, series).
    skipped:
        Events not traded, with the reason (and the combo, for parameter-dependent reasons).
    benchmarks:
        Benchmark per market.
    trade_stats:
        One row per combination and pooled portfolio (market): the trade-level statistics of
        :func:`~backtest.portfolio.metrics.trade_statistics` over the closed trades the pooled
        portfolio made, at the sizes it filled them (not the trades its capital skipped, which
        the per-ticker portfolios made) -- mean and median trade return, its
        t-statistic and bootstrap 95% interval, the same for the return in excess of the
        benchmark over the same sessions, the return while invested against the benchmark's
        over the same sessions, the warning -- and the pooled portfolio's ``exposure``.
    data:
        Date range and price sources.
    """

    strategy: Strategy
    combos: pd.DataFrame
    metrics: pd.DataFrame
    trades: pd.DataFrame
    pooled_trades: pd.DataFrame
    equity: pd.DataFrame
    skipped: pd.DataFrame
    benchmarks: Mapping[str, str]
    trade_stats: pd.DataFrame = field(default_factory=pd.DataFrame)
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(
        cls,
        strategy: Strategy,
        combos: pd.DataFrame,
        skipped: pd.DataFrame,
        benchmarks: Mapping[str, str],
    ) -> BacktestResult:
        """A result with no trade (every event skipped); ``skipped`` says why."""
        return cls(
            strategy=strategy,
            combos=combos,
            metrics=pd.DataFrame(columns=METRIC_COLUMNS),
            trades=pd.DataFrame(columns=[*LEG_COLUMNS, "label"]),
            pooled_trades=pd.DataFrame(columns=LEG_COLUMNS),
            equity=pd.DataFrame(),
            skipped=skipped,
            benchmarks=benchmarks,
            trade_stats=pd.DataFrame(columns=TRADE_STATS_COLUMNS),
            data={"first": None, "last": None, "sessions": 0},
        )

    # ------------------------------------------------------------------ tables
    def to_frame(self, *, every_combination: bool = False) -> pd.DataFrame:
        """The metrics table with the combination's parameters (tidy: one row per portfolio).

        A strategy that traded nothing has every column, with the combination's parameters,
        and no row; with ``every_combination`` one row per parameter combination (``kind``
        ``strategy``, ``n_trades`` 0, every metric NaN), so that a table of several strategies
        still says what was tried."""
        if self.metrics.empty:  # no trade: every column, with the combination's parameters
            params = [c for c in self.combos.columns if c not in self.metrics.columns]
            frame = self.metrics.reindex(columns=[*self.metrics.columns, *params])
            if not every_combination or self.combos.empty:
                return frame
            rows = self.combos.assign(kind="strategy", n_trades=0)
            return rows.reindex(columns=frame.columns).reset_index(drop=True)
        return self.metrics.merge(self.combos, on="combo", how="left")

    def grid(self, metric: str = "sharpe", portfolio: str | None = None) -> pd.DataFrame:
        """A metric over the swept parameters (rows: combinations) for one portfolio
        (default: the first pooled one)."""
        m = self.to_frame()
        if m.empty:
            return m
        strat = m[m["kind"] == "strategy"]
        if portfolio is None:
            portfolio = self.grid_portfolio()
        cols = [c for c in self.combos.columns if c not in ("combo", "label")]
        return strat[strat["portfolio"] == portfolio][[*cols, metric]].reset_index(drop=True)

    # ------------------------------------------------------------------ rendering
    def summary(
        self,
        *,
        max_combos: int = 4,
        max_skipped: int = 12,
        more_combos: str = "in .metrics",
        more_skipped: str = "see .skipped",
    ) -> Summary:
        """Summary: settings, the sweep (every combination, never only the best), the trade
        statistics, per-ticker and pooled results against buy-and-hold of the first
        ``max_combos`` combinations in grid order, and the skipped events.

        ``more_combos`` and ``more_skipped`` say where the combinations and skipped events
        left out are listed (default: this object's attributes; the command line names its
        options instead)."""
        s = self.strategy
        title = f"Strategy {s.name}" + (f" ({s.file})" if s.file else "")
        head = [s.description.strip()] if s.description else []
        first, last = self.data.get("first"), self.data.get("last")
        head += [
            self.rules(),
            f"benchmarks: {', '.join(f'{m} {b}' for m, b in self.benchmarks.items())}; "
            + (f"sessions {first} to {last}" if first else "no session simulated"),
        ]
        blocks: list[Table | Text] = [Text(head)]
        if self.metrics.empty:
            blocks.append(Text("No trade: every event was skipped."))
        else:
            table = self.to_frame()
            if self.strategy.swept:
                blocks.append(self._grid_table())
            if len(self.trade_stats):
                blocks.append(self._stats_table())
            shown = self.combos["combo"].tolist()[:max_combos]
            for combo in shown:
                label = self.combos.loc[self.combos["combo"] == combo, "label"].iloc[0]
                name = f"Results ({label}):" if label != "base" else "Results:"
                blocks.append(self._metrics_table(table[table["combo"] == combo], name))
            if len(self.combos) > len(shown):
                blocks.append(
                    Text(
                        f"{len(self.combos) - len(shown)} more combinations {more_combos} "
                        "(shown: the first in grid order)"
                    )
                )
        if len(self.skipped):
            blocks.append(self._skipped_block(max_skipped, more_skipped))
        return Summary(title, blocks)

    def rules(self) -> str:
        """The strategy's rules and costs in one line (lists are the swept values)."""
        s = self.strategy
        costs = f"fees {_bps(s.costs.fees)}, slippage {_bps(s.costs.slippage)} per side"
        cond = ""
        if s.condition is not None:
            c = s.condition
            bounds = [
                f"below {_list(c.below)}" if c.below else "",
                f"above {_list(c.above)}" if c.above else "",
            ]
            cond = f"; only when AR({c.day:+d}) is {' and '.join(b for b in bounds if b)}"
        sides = s.position.directions()
        held = ", ".join(side if when is None else f"{side} when {_where_text(when)}"
                         for side, when in sides.items())  # fmt: skip
        return (
            f"{held}{'; ' if None not in sides.values() else ' '}"
            f"{_list(s.position.size)} per trade"
            + (" hedged with the benchmark" if s.position.hedge else "")
            + f"; entry at the {'next open' if s.entry.fill == 'next_open' else 'close'}"
            + f" + {_list(s.entry.lag)} sessions; hold {_list(s.exit.hold)} sessions"
            + (f"; stop loss {_list(s.exit.stop_loss)}" if s.exit.stop_loss else "")
            + (f"; take profit {_list(s.exit.take_profit)}" if s.exit.take_profit else "")
            + cond
            + f"; {costs}; capital {money(s.portfolio.init_cash)} per portfolio"
            + f", at most {s.portfolio.leverage:g}x its value in positions"
        )

    def skipped_table(self) -> pd.DataFrame:
        """One row per skipped (event, ticker, reason) with the combinations it concerns
        (``all`` when every one)."""
        sk = self.skipped
        cols = ["event_id", "ticker", "reason", "combinations"]
        if not len(sk):
            return pd.DataFrame(columns=cols)
        labels = self.combos.set_index("combo")["label"]
        n = len(self.combos)

        def which(c: pd.Series) -> str:
            if "combo" not in sk.columns or c.isna().any() or c.nunique() >= n:
                return "all"
            return "; ".join(str(labels[int(x)]) for x in sorted(c.dropna().unique()))

        combo = sk["combo"] if "combo" in sk.columns else pd.Series(float("nan"), index=sk.index)
        g = sk.assign(combo=combo).groupby(["event_id", "ticker", "reason"], sort=False)["combo"]
        return g.agg(which).rename("combinations").reset_index()[cols]

    def _skipped_block(self, max_rows: int, more: str) -> Text:
        """One line per skipped (event, ticker, reason), with the combinations it concerns
        when the reason depends on the parameters."""
        table = self.skipped_table()
        return Text(
            self.skipped_lines(max_rows, more=more),
            title=f"Skipped ({len(table)} event-ticker reasons):",
            bullets=True,
        )

    def skipped_lines(self, max_rows: int = 12, *, more: str = "see .skipped") -> list[str]:
        """The rows of :meth:`skipped_table` as lines (``event tickers: reason
        [combinations]``; the tickers of one event with the same reason and combinations on
        one line, e.g. an event's tickers other than its primary), the first ``max_rows``
        lines, and how many rows more (``more``: where they are)."""
        table = self.skipped_table()
        lines: list[str] = []
        shown = 0
        groups = table.groupby(["event_id", "reason", "combinations"], sort=False, dropna=False)
        for (event, reason, combos), tickers in groups["ticker"]:
            if len(lines) == max_rows:
                break
            where = "" if combos == "all" else f" [{combos}]"
            lines.append(f"{event} {', '.join(map(str, tickers))}: {reason}{where}")
            shown += len(tickers)
        if len(table) > shown:
            lines.append(f"... and {len(table) - shown} more ({more})")
        return lines

    def _metrics_table(self, rows: pd.DataFrame, title: str) -> Table:
        metric = {m.name: m for m in METRICS}
        ruined = self.ruined()
        out = []
        for r in rows.to_dict("records"):
            who = r["portfolio"] if r["kind"] == "strategy" else ""
            if r["kind"] == "strategy":
                vs = "strategy"
            elif r["subject"] == "equal-weight basket":
                vs = "buy & hold basket"
            else:
                vs = f"buy & hold {r['subject']}"
            cells = [format_metric(metric[k], r.get(k)) for k in SUMMARY_METRICS]
            ruin = ruined.get((int(r["combo"]), str(r["portfolio"])))
            if r["kind"] == "strategy" and ruin:
                cells[0] = f"ruined on {ruin}"
            out.append([who, vs, *cells])
        header = ["portfolio", "", *SUMMARY_METRICS.values()]
        return Table(header, out, title=title, numeric=tuple(range(2, len(header))))

    def pooled_portfolios(self) -> list[str]:
        """Every pooled portfolio (one per market: ``pooled XNYS``, ``pooled XHKG``), by name."""
        if self.metrics.empty:
            return []
        strat = self.metrics[self.metrics["kind"] == "strategy"]
        names = strat["portfolio"].astype(str)
        return sorted(set(names[names.str.startswith("pooled")]))

    def ruined(self) -> dict[tuple[int, str], str]:
        """``{(combo, portfolio): date}`` of every strategy portfolio whose value reached zero
        or less (a short can lose more than the capital): the first such session."""
        out: dict[tuple[int, str], str] = {}
        eq = self.equity
        if eq.empty or not isinstance(eq.columns, pd.MultiIndex):
            return out
        strat = eq.loc[:, eq.columns.get_level_values("series") == "strategy"]
        hit = (strat <= 0).to_numpy()
        for j in map(int, hit.any(axis=0).nonzero()[0]):
            combo, portfolio, _ = strat.columns[j]
            first = strat.index[int(hit[:, j].argmax())]
            out[(int(combo), str(portfolio))] = pd.Timestamp(first).date().isoformat()
        return out

    def pooled_overview(self) -> pd.DataFrame:
        """One row per pooled portfolio (market) and combination: its own trades, legs,
        Sharpe, total return, and the date it was ruined (empty if never)."""
        cols = ["portfolio", "market", "combo", "label", "trades", "legs", "sharpe",
                "total_return", "ruined_on"]  # fmt: skip
        if self.metrics.empty:
            return pd.DataFrame(columns=cols)
        strat = self.metrics[self.metrics["kind"] == "strategy"]
        labels = self.combos.set_index("combo")["label"]
        ruined = self.ruined()
        pt = self.pooled_trades
        rows = []
        for name in self.pooled_portfolios():
            market = name.removeprefix("pooled ").strip()
            for r in strat[strat["portfolio"] == name].to_dict("records"):
                combo = int(r["combo"])
                legs = 0
                if len(pt) and "market" in pt.columns:
                    legs = int(
                        ((pt["combo"] == combo) & (pt["market"] == market)
                         & (pt["status"] != "not filled")).sum()
                    )  # fmt: skip
                rows.append(
                    {
                        "portfolio": name,
                        "market": market,
                        "combo": combo,
                        "label": str(labels[combo]),
                        "trades": r["n_trades"],
                        "legs": legs,
                        "sharpe": r["sharpe"],
                        "total_return": r["total_return"],
                        "ruined_on": ruined.get((combo, name), ""),
                    }
                )
        return pd.DataFrame(rows, columns=cols)

    def _grid_table(self) -> Table:
        swept = list(self.strategy.swept)
        metric = {m.name: m for m in METRICS}
        ruined = self.ruined()
        rows = []
        portfolios = self.pooled_portfolios() or [self.grid_portfolio()]
        for portfolio in portfolios:
            g = self.grid("sharpe", portfolio)
            t = self.grid("total_return", portfolio)
            n = self.grid("n_trades", portfolio)
            combos = self.combos["combo"].tolist()
            for k, ((_, a), (_, b), (_, c)) in enumerate(
                zip(g.iterrows(), t.iterrows(), n.iterrows(), strict=True)
            ):
                params = [_num(a[key]) for key in swept]
                ruin = ruined.get((int(combos[k]), portfolio)) if k < len(combos) else None
                rows.append(
                    [
                        portfolio,
                        *params,
                        format_metric(metric["sharpe"], a["sharpe"]),
                        f"ruined on {ruin}" if ruin else _pct(b["total_return"]),
                        format_metric(metric["n_trades"], c["n_trades"]),
                    ]
                )
        header = ["portfolio", *(k.split(".")[-1] for k in swept), "Sharpe", "Return", "Trades"]
        names = ", ".join(k.split(".")[-1] for k in swept)
        return Table(
            header,
            rows,
            title=f"Sweep over {names} (pooled portfolios, each with its own capital):",
            numeric=tuple(range(1, len(header))),
        )

    def _stats_table(self) -> Table:
        """Trade statistics per combination: the mean trade return with its t and bootstrap
        interval, beyond the benchmark over the same sessions, and while invested."""
        labels = self.combos.set_index("combo")["label"]
        rows = []
        for r in self.trade_stats.to_dict("records"):
            rows.append(
                [
                    str(labels[int(r["combo"])]),
                    str(r["portfolio"]),
                    str(r["n_trades"]),
                    _pct(r["mean_trade_return"]),
                    f"[{_pct(r['trade_lo'])}, {_pct(r['trade_hi'])}]",
                    num(r["trade_t"]),
                    _pct(r["mean_excess_return"]),
                    f"[{_pct(r['excess_lo'])}, {_pct(r['excess_hi'])}]",
                    _pct(r["return_while_invested"]),
                    _pct(r["bench_while_invested"]),
                    _pct(r["exposure"]),
                    str(r["warning"]),
                ]
            )
        header = ["combination", "portfolio", "trades", "mean trade", "95% CI", "t",
                  "vs benchmark", "95% CI", "invested p.a.", "benchmark p.a.", "exposure",
                  "warning"]  # fmt: skip
        return Table(
            header,
            rows,
            title="Trades (mean trade return with its bootstrap 95% interval; vs benchmark: "
            "beyond the same position in the benchmark over the same sessions):",
            numeric=(2, 3, 5, 6, 8, 9, 10),
        )

    def grid_portfolio(self) -> str:
        """The portfolio :meth:`grid` reports by default: the pooled one with the most trades
        (ties: the first by name)."""
        strat = self.metrics[self.metrics["kind"] == "strategy"]
        pooled = strat[strat["portfolio"].astype(str).str.startswith("pooled")]
        rows = pooled if len(pooled) else strat
        trades = rows.groupby("portfolio", sort=True)["n_trades"].sum()
        return str(trades.idxmax())

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        """One line: the strategy, its combinations, trades (position legs filled, per ticker
        and pooled, over every combination), skipped event-ticker reasons and benchmarks."""
        n = len(self.combos)
        combos = f"{n} combination{'s' if n != 1 else ''}"
        per_ticker, pooled = _positions(self.trades), _positions(self.pooled_trades)
        trades = (
            f"{per_ticker} trades per ticker, {pooled} pooled"
            if per_ticker or pooled
            else "no trade"
        )
        bench = ", ".join(f"{m} {b}" for m, b in self.benchmarks.items()) or DASH
        return (
            f"<BacktestResult {self.strategy.name!r}: {combos}; {trades}; "
            f"{len(self.skipped_table())} skipped; benchmark {bench}>"
        )

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: strategy, data range, combinations, metrics, trades, skipped (numbers as
        :func:`backtest.jsonio.number` writes them: NaN ``None``, infinities ``"inf"``)."""

        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            if df.empty:
                return []
            out = df.copy()
            for c in out.columns:
                if pd.api.types.is_datetime64_any_dtype(out[c]):
                    out[c] = out[c].dt.strftime("%Y-%m-%d")
            return [{k: _clean(v) for k, v in r.items()} for r in out.to_dict("records")]

        return {
            "strategy": self.strategy.describe(),
            "data": dict(self.data),
            "benchmarks": dict(self.benchmarks),
            "combos": records(self.combos),
            "metrics": records(self.to_frame()),
            "trades": records(self.trades),
            "trade_stats": records(self.trade_stats),
            "skipped": records(self.skipped),
        }


def _positions(legs: pd.DataFrame) -> int:
    """The position legs of ``legs`` that were filled (one per trade; a hedge is not one)."""
    if not len(legs):
        return 0
    return int(((legs["leg"] == "position") & (legs["status"] != "not filled")).sum())


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return number(v)  # NaN None, an infinity "inf" or "-inf" (backtest.jsonio)
    if hasattr(v, "isoformat"):
        return v.isoformat()[:10]
    if hasattr(v, "item"):
        return v.item()
    return v


def _bps(values: tuple[float, ...]) -> str:
    return "/".join(f"{v * 1e4:g} bps" for v in values)


def _list(values: tuple[float, ...] | None) -> str:
    if not values:
        return ""
    return "/".join(_num(v) for v in values)


def _where_text(where: dict[str, dict[str, Any]]) -> str:
    """An event condition (``long_when``, ``short_when``) in words: ``surprise_pct above 5``."""
    words = {"above": "above", "below": "below", "equals": "=", "in": "in"}
    parts = []
    for name, ops in where.items():
        for op, value in ops.items():
            shown = "(" + ", ".join(map(_num, value)) + ")" if op == "in" else _num(value)
            parts.append(f"{name} {words.get(op, op)} {shown}")
    return " and ".join(parts)


def _num(v: Any) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return "—"
    # parameters (hold 20, size 10,000, threshold -0.03): exact, never rounded away
    return f"{x:,.0f}" if x.is_integer() else f"{x:g}"


def _pct(v: Any) -> str:
    return pct(v, missing="" if v is None or isinstance(v, str) else DASH)
