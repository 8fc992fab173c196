"""Events' attributes as groupings: bins of a number (``surprise_pct:quintile``) as labels.

An event's extra fields (``surprise_pct``, ``eps_estimate``, ``sector``, a user's own) are
columns of the event table, carried into the study's per-event table. ``group_by`` takes a
column as it is (one group per value) or, for a number, a binning written ``column:how``:

``column:tertile``, ``:quartile``, ``:quintile``, ``:decile``
    Equal-count bins of the sample's rows with a value (quantile breakpoints, ties kept in one
    bin, so a bin may be missing). Named by their rank and the range of the values in them:
    ``surprise_pct Q1 [-40.1, -2.3]``. The breakpoints are quantiles *of this sample*: they
    describe it, they are not a rule known before the events (the groups' notes say so).
``column:sign``
    ``surprise_pct < 0``, ``surprise_pct = 0``, ``surprise_pct > 0``.
``column:-5,0,5`` (explicit edges, increasing)
    Bins closed on the left: ``surprise_pct B1 [-inf, -5)``, ``B2 [-5, 0)``, ``B3 [0, 5)``,
    ``B4 [5, +inf]``.

Rows without a value are in the group ``<column> missing``. A binning that cannot be read
(``surprise_pct:quintiles``) is refused when the study starts, before anything is computed; a
column whose own name holds a ``:`` is grouped by as it is. ``evbt study`` and ``evbt run``
check the binnings with the other settings, before the events are read (so without their
columns: there a column named like an unreadable binning is refused). The binned labels are added to
the event table as a column named after the grouping (``surprise_pct:quintile``), so the
per-event table shows each row's bin. This module imports pandas only when it bins.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: Quantile binnings and their number of bins.
QUANTILES = {"tertile": 3, "quartile": 4, "quintile": 5, "decile": 10}
BINNINGS = (*QUANTILES, "sign")


class BinningError(ValueError):
    """A ``column:how`` grouping that cannot be read (the message says why)."""


@dataclass(frozen=True)
class Binning:
    """A parsed ``column:how`` grouping."""

    entry: str
    column: str
    how: str  # a key of QUANTILES, "sign" or "edges"
    edges: tuple[float, ...] = ()

    @property
    def is_quantile(self) -> bool:
        return self.how in QUANTILES


def parse(entry: str) -> Binning | None:
    """The binning of a ``group_by`` entry, or None for a plain column.

    >>> parse("surprise_pct:quintile").how, parse("surprise_pct:-5,0,5").edges, parse("sector")
    ('quintile', (-5.0, 0.0, 5.0), None)
    """
    if ":" not in entry:
        return None
    column, _, how = entry.partition(":")
    column, how = column.strip(), how.strip()
    if not column:
        raise BinningError(f"group_by {entry!r}: no column before ':' (e.g. surprise_pct:{how})")
    if how in BINNINGS:
        return Binning(entry, column, how)
    try:
        edges = tuple(float(x) for x in how.split(","))
    except ValueError:
        raise BinningError(
            f"group_by {entry!r}: {how!r} is not a binning; use {', '.join(BINNINGS)} or "
            f"increasing edges such as {column}:-5,0,5"
        ) from None
    if not all(math.isfinite(e) for e in edges):
        raise BinningError(f"group_by {entry!r}: edges must be finite numbers")
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise BinningError(f"group_by {entry!r}: edges must increase ({how})")
    return Binning(entry, column, "edges", edges)


def binning_problems(group_by: Iterable[str], columns: Iterable[Any] = ()) -> list[str]:
    """The message of each binned ``group_by`` entry that cannot be read (:func:`parse`); an
    entry that is one of ``columns`` (a column whose own name holds a ``:``) is grouped by as
    it is. Needs no event table: a run's settings are checked with it before any price is
    loaded.

    >>> binning_problems(["all", "surprise_pct:quintile", "surprise_pct:5,0"])
    ["group_by 'surprise_pct:5,0': edges must increase (5,0)"]
    """
    known = set(columns)
    out = []
    for g in group_by:
        if g in known:
            continue
        try:
            parse(g)
        except BinningError as exc:
            out.append(str(exc))
    return out


def _num(x: float) -> str:
    """A bound as a reader writes it: 4 significant digits, whole numbers from 10,000 on
    (``-42930``, not ``-4.293e+04``)."""
    return f"{x:.0f}" if abs(x) >= 1e4 else f"{x:.4g}"


def labels(table: pd.DataFrame, b: Binning) -> pd.Series:
    """Each row's bin of ``b`` as a label (``<column> missing`` without a value)."""
    import numpy as np
    import pandas as pd

    if b.column not in table.columns:
        raise BinningError(
            f"group_by {b.entry!r}: {b.column!r} is not a column of the event table (columns: "
            f"{', '.join(map(str, table.columns))})"
        )
    raw = table[b.column]
    values = pd.to_numeric(raw, errors="coerce").astype(np.float64)
    given = raw.notna() & (raw.astype(str).str.strip() != "")
    if (given & values.isna()).any():
        bad = raw[given & values.isna()].iloc[0]
        raise BinningError(
            f"group_by {b.entry!r}: {b.column} has values that are not numbers (e.g. {bad!r}); "
            f"group by {b.column} itself instead"
        )
    v = values.to_numpy()
    ok = np.isfinite(v)
    out = np.full(len(v), f"{b.column} missing", dtype=object)
    if not ok.any():
        return pd.Series(out, index=table.index, dtype=object)
    if b.is_quantile:
        with np.errstate(invalid="ignore"):
            codes = pd.qcut(v[ok], QUANTILES[b.how], labels=False, duplicates="drop")
        # every value equal: its breakpoints collapse to one and qcut gives no bin (NaN): one
        codes = np.nan_to_num(np.asarray(codes, dtype=np.float64), nan=0.0).astype(np.int64)
        width = 2 if QUANTILES[b.how] >= 10 else 1
        names = {}
        for k in np.unique(codes):
            inside = v[ok][codes == k]
            names[k] = f"{b.column} Q{k + 1:0{width}d} [{_num(inside.min())}, {_num(inside.max())}]"
        out[ok] = [names[k] for k in codes]
    elif b.how == "sign":
        s = np.sign(v[ok])
        out[ok] = np.where(
            s < 0, f"{b.column} < 0", np.where(s > 0, f"{b.column} > 0", f"{b.column} = 0")
        )
    else:
        edges = np.asarray(b.edges)
        bounds = ["-inf", *(_num(e) for e in edges), "+inf"]
        width = 2 if len(edges) + 1 >= 10 else 1
        names_e = [
            f"{b.column} B{k + 1:0{width}d} [{bounds[k]}, {bounds[k + 1]}"
            + ("]" if k == len(edges) else ")")
            for k in range(len(edges) + 1)
        ]
        codes = np.searchsorted(edges, v[ok], side="right")
        out[ok] = [names_e[k] for k in codes]
    return pd.Series(out, index=table.index, dtype=object)


def note(table: pd.DataFrame, b: Binning) -> str:
    """What a grouping's groups should say about their bins."""
    if not b.is_quantile:
        return ""
    import pandas as pd

    n = int(pd.to_numeric(table[b.column], errors="coerce").notna().sum())
    return (
        f"{b.how} breakpoints are quantiles of this sample's {b.column} ({n} rows with a "
        "value): they describe the sample, not a rule known before the events"
    )


def with_labels(
    table: pd.DataFrame, group_by: tuple[str, ...]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """``table`` with a label column per binned grouping, and each binned grouping's note."""
    # a column whose name has a ':' is grouped by as it is
    binned = [b for b in (parse(g) for g in group_by if g not in table.columns) if b is not None]
    if not binned:
        return table, {}
    columns = {b.entry: labels(table, b) for b in binned}
    return table.assign(**columns), {b.entry: note(table, b) for b in binned}


def attribute_columns(columns: Any, known: Any) -> list[str]:
    """The columns of an event table that are attributes: not ``known`` and not a binned
    grouping's labels."""
    return [str(c) for c in columns if c not in known and ":" not in str(c)]
