"""The hourly peaks in SQL: an owner's (machine's or PDU's) peak in an hour is the highest
per-cycle sum of its watts (a PDU's over its metered outlets, not its inlet). The rows of whole
hours from the raw readings (:func:`peak_rows`), and a close's statements for them: all hours at
once (:func:`_all_peaks`), or by windows of whole cycles (:func:`_windows`,
:func:`_window_statements`), each raising the peaks the hour's earlier windows wrote."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Integer, Select, column, delete, func, literal, select, table, true

from powermond.db.bulk import dialect_insert, on_conflict_update
from powermond.db.rollup_rule import _outlet, _reading, _scan, hour_number
from powermond.db.tables import MARIADB
from powermond.db.types import HOUR_S
from powermond.readings import INLET

_PEAKS = {
    "machine": table(
        "machine_peak_hourly", column("hour", Integer), column("machine_id", Integer),
        column("peak_mw", Integer),
    ),
    "pdu": table(
        "pdu_peak_hourly", column("hour", Integer), column("pdu_id", Integer),
        column("peak_mw", Integer),
    ),
}  # fmt: skip


def _sums(
    kind: str,
    start: int,
    end: int,
    dialect: str,
    owners: Collection[int] | None = None,
    *,
    every_outlet: bool = False,
) -> Any:
    """Per (cycle, owner) in ``[start, end)``: the sum of the owner's watts (of these
    owners only, when given). ``every_outlet``: the sums of all owners (a close's windows),
    which MariaDB reads fastest by the readings of the range (its clustered key) and sorts
    by filesort (``SQL_BIG_RESULT``: no temporary table per group); a PDU's joined to a
    derived table of the outlets (:func:`_mariadb_outlets`). On its own it walked every
    outlet into the readings' secondary index, three times as slow (6.8 s instead of 2.1 s
    for a cycle of 10,000 PDUs, longer than ``[database] timeout`` at times)."""
    if every_outlet and dialect in MARIADB:
        return _mariadb_sums(kind, start, end)
    scan = _scan(dialect, outlets=kind == "pdu")
    r, o = scan.r, scan.o
    owner = r.machine_id if kind == "machine" else o.pdu_id
    stmt = select(r.cycle.label("cycle"), owner.label("owner"), func.sum(r.watts).label("total"))
    stmt = stmt.select_from(scan.source).where(*scan.where)
    if kind == "pdu":
        stmt = stmt.where(*_metered(o))
    stmt = stmt.where(r.cycle >= start, r.cycle < end, r.watts.is_not(None))
    stmt = stmt.where(owner.is_not(None))
    if owners is not None:
        stmt = stmt.where(owner.in_(sorted(owners)))
    return stmt.group_by(r.cycle, owner).subquery("s")


def _metered(o: Any) -> list[Any]:
    """The outlets of a PDU's sums: not its inlet, which meters the same power."""
    return [o.label != INLET, o.label.not_like(f"{INLET}.%")]


def _mariadb_sums(kind: str, start: int, end: int) -> Any:
    """MariaDB: :func:`_sums` of every owner, the groups sorted by filesort
    (``SQL_BIG_RESULT``), a PDU's joined to :func:`_mariadb_outlets` from the readings
    of the range in key order (``STRAIGHT_JOIN``)."""
    r = _reading.alias("r")
    source: Any = r
    owner, prefixes = r.c.machine_id, ["SQL_BIG_RESULT"]
    if kind == "pdu":
        o = _mariadb_outlets()
        source, owner = r.join(o, o.c.id == r.c.outlet_id), o.c.pdu_id
        prefixes.insert(0, "STRAIGHT_JOIN")
    total = func.sum(r.c.watts).label("total")
    stmt = select(r.c.cycle.label("cycle"), owner.label("owner"), total)
    stmt = stmt.prefix_with(*prefixes).select_from(source)
    stmt = stmt.where(r.c.cycle >= start, r.c.cycle < end, r.c.watts.is_not(None))
    return stmt.where(owner.is_not(None)).group_by(r.c.cycle, owner).subquery("s")


# MariaDB materializes a derived table with a LIMIT (the largest it takes) instead of
# merging it into the join.
_EVERY_ROW = 2**63 - 1


def _mariadb_outlets() -> Any:
    """MariaDB: the metered outlets' (id, pdu_id) as a derived table, which it materializes
    once (a LIMIT keeps it from merging it) with a key on id to join each reading to: the
    join of the readings to ``outlet`` itself (``eq_ref`` on its primary key per reading)
    took the sums of a 1,000-PDU close window of 10 cycles 0.87-1.17 s (median of each of
    two series, alternated, load ~5.5), this 0.65-0.87 s (2026-12-03; docs/scaling.md)."""
    o = _outlet
    rows = select(o.c.id, o.c.pdu_id).where(*_metered(o.c)).limit(_EVERY_ROW)
    return rows.subquery("o")


def peak_rows(
    kind: str, h0: int, h1: int, dialect: str, owners: Collection[int] | None = None
) -> Select[Any]:
    """The ``machine_peak_hourly`` (``kind`` "machine") or ``pdu_peak_hourly`` ("pdu") rows
    of the hours ``[h0, h1)`` from the raw readings: ``hour``, ``<kind>_id``, ``peak_mw``
    (of these owners only, when given)."""
    sums = _sums(kind, h0 * HOUR_S, h1 * HOUR_S, dialect, owners)
    hour = hour_number(sums.c.cycle).label("hour")
    per_cycle = select(hour, sums.c.owner, sums.c.total).subquery("c")
    return select(
        per_cycle.c.hour,
        per_cycle.c.owner.label(f"{kind}_id"),
        func.max(per_cycle.c.total).label("peak_mw"),
    ).group_by(per_cycle.c.hour, per_cycle.c.owner)


def _all_peaks(kind: str, target: Any, h0: int, h1: int, dialect: str) -> list[Any]:
    """``kind``'s peak rows of the hours ``[h0, h1)`` by one statement."""
    peaks = peak_rows(kind, h0, h1, dialect)
    names = [c.name for c in peaks.selected_columns]
    gone = delete(target).where(target.c.hour >= h0, target.c.hour < h1)
    return [gone, dialect_insert(target, dialect).from_select(names, peaks)]


def _window_statements(kind: str, target: Any, h: int, s0: int, s1: int, dialect: str) -> list[Any]:
    """``kind``'s peaks of hour ``h``'s cycles in ``[s0, s1)``: the hour's first window
    deletes its rows and inserts, a later one raises."""
    first = s0 == h * HOUR_S
    window = _peaks_of_window(kind, target, h, s0, s1, dialect, raise_=not first)
    return [delete(target).where(target.c.hour == h), window] if first else [window]


def _windows(h: int, intervals: Mapping[int, float], cycles: int) -> list[tuple[int, int]]:
    """Hour ``h`` cut at every ``cycles``-th recorded cycle time into windows of epoch
    seconds ``[s0, s1)`` that cover it whole (readings without a cycle row included)."""
    start, end = h * HOUR_S, (h + 1) * HOUR_S
    times = sorted(at for at in intervals if start < at < end)
    return list(itertools.pairwise([start, *times[cycles - 1 :: cycles], end]))


def _peaks_of_window(
    kind: str, target: Any, h: int, s0: int, s1: int, dialect: str, *, raise_: bool
) -> Any:
    """The peaks of hour ``h``'s cycles in ``[s0, s1)``: inserted (the hour's first window),
    or raising the peaks the earlier windows wrote (a peak is the greatest cycle sum)."""
    sums = _sums(kind, s0, s1, dialect, every_outlet=True)
    rows = select(
        literal(h, Integer).label("hour"),
        sums.c.owner.label(f"{kind}_id"),
        func.max(sums.c.total).label("peak_mw"),
    ).group_by(sums.c.owner)
    # A derived table: SQLite's upsert needs a WHERE in its SELECT (else ON could be a
    # join's), MariaDB's ON DUPLICATE KEY UPDATE a SELECT without its own GROUP BY.
    w = rows.subquery("w")
    rows = select(w).where(true())
    if dialect != "sqlite":
        rows = rows.order_by(w.c[f"{kind}_id"])
    key = ["hour", f"{kind}_id"]
    stmt = dialect_insert(target, dialect).from_select([*key, "peak_mw"], rows)
    if not raise_:
        return stmt
    return on_conflict_update(stmt, target, key, (), ("peak_mw",), dialect)
