"""SQLite's paired path of a close's ``power_hourly`` rows (:func:`_paired_hour`): an outlet
range's hour by key seeks, each reading paired with its outlet's next one by one more seek,
instead of :func:`~powermond.db.rollup_rule.hourly_rows`' ``LEAD`` and sorts; the same rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    case,
    delete,
    func,
    literal,
    literal_column,
    select,
    text,
)

from powermond.db.bulk import dialect_insert
from powermond.db.rollup_rule import (
    _bound,
    _hourly,
    _interval,
    _named_columns,
    _tally_sums,
    hourly_rows,
)
from powermond.db.types import HOUR_S

# power_hourly's machine_id while a paired statement (_paired_hour) rolls up an outlet
# whose readings of the hour name more than one machine (their rows are then recomputed).
_MIXED = -1


def _paired_hour(
    h: int,
    reach: int,
    intervals: Mapping[int, float],
    times: Sequence[int],
    outlets: tuple[int, int],
) -> list[Any]:
    """SQLite: the statements that insert hour ``h``'s ``power_hourly`` rows of the outlet
    id range ``outlets`` (its rows deleted before), ``times`` every time a reading of the
    hour or of ``reach`` past it has (:func:`reading_times`), or those of them
    :func:`bridged_times` keeps (a later time's reading is never bridged to).

    The same rows as :func:`hourly_rows`, found without its window and its sorts: each
    outlet (in id order) joined to its readings of the hour by key seeks (in time order),
    each reading to the next one of its outlet by one more seek, at the next listed time
    (else, when the outlet has none there, at the first later time it has one, probed in
    turn only then: :func:`_paired_source`), and grouped by outlet in the order the rows
    come: SQLite's ``LEAD`` copied the readings into a temporary table and its ``GROUP
    BY`` sorted them, 40 % of the statement (bench/bench_store.py; docs/scaling.md).
    A next reading later than ``reach`` is never bridged (:func:`reach`), so only the
    listed times count. An outlet whose readings of the hour name more than one machine
    (remapped within it) gets a row with machine :data:`_MIXED` first, replaced by its
    rows from :func:`hourly_rows` (per machine, as there) by the two statements after."""
    s0, s1 = h * HOUR_S, (h + 1) * HOUR_S
    listed = sorted(int(t) for t in times if s0 <= t < s1 + reach)
    mine = [t for t in listed if t < s1]
    if not mine:
        return []
    source = text(_paired_source(mine, listed, reach))
    a = _named_columns("a")
    b = SimpleNamespace(
        **{
            n: func.coalesce(literal_column(f"b1.{n}", t), literal_column(f"bx.{n}", t))
            for n, t in (
                ("cycle", BigInteger()),
                ("watts", BigInteger()),
                ("energy_kwh", BigInteger()),
            )
        }
    )
    outlet = literal_column("o.id", Integer)
    tally = _interval(a, b, _bound(a.cycle, b.cycle, intervals))
    machine = func.coalesce(a.machine_id, 0)
    rows = (
        select(
            literal(h, Integer).label("hour"),
            outlet.label("outlet_id"),
            case((func.min(machine) == func.max(machine), func.min(machine)), else_=_MIXED).label(
                "machine_id"
            ),
            *_tally_sums(a.watts, tally),
        )
        .select_from(source)
        .where(a.outlet_id == outlet, a.cycle.in_(mine), outlet.between(*outlets))
        .group_by(outlet)
    )
    names = [c.name for c in rows.selected_columns]
    mixed = select(_hourly.c.outlet_id).where(_hourly.c.hour == h, _hourly.c.machine_id == _MIXED)
    exact = hourly_rows(s0, s1, reach, intervals, "sqlite", times=listed, outlet_ids=mixed)
    return [
        dialect_insert(_hourly, "sqlite").from_select(names, rows),
        dialect_insert(_hourly, "sqlite").from_select(names, exact),
        delete(_hourly).where(_hourly.c.hour == h, _hourly.c.machine_id == _MIXED),
    ]


def _paired_source(mine: Sequence[int], listed: Sequence[int], reach: int) -> str:
    """The FROM of :func:`_paired_hour`: each outlet ``o`` in id order, its readings ``a``
    at the times ``mine``, each with ``b1``, its outlet's reading at the next listed time,
    or else ``bx``, at the first later listed time it has one (the candidates probed in
    time order, only where ``b1`` is missing) of the times less than ``reach`` later (a
    later one is never bridged): at 300 s, one candidate more, probed by ``bx`` itself.
    (On MariaDB the same seeks took twice as long as its ``LEAD``: 7.4 s instead of 3.8 s
    for 38,461 outlets' hour.)"""
    later = {t: [u for u in listed if t < u < t + reach] for t in mine}

    def nth(k: int) -> str:  # the time of a's k-th candidate (k from 0), else NULL
        whens = " ".join(f"WHEN {t} THEN {c[k]}" for t, c in later.items() if len(c) > k)
        return f"CASE a.cycle {whens} END" if whens else "NULL"

    most = max(len(c) for c in later.values())
    probes = [
        f"WHEN EXISTS (SELECT 1 FROM power_reading AS c WHERE c.cycle = {nth(k)}"
        f" AND c.outlet_id = o.id) THEN {nth(k)}"
        for k in range(1, most - 1)
    ]
    fallback = nth(most - 1) if most > 1 else "NULL"
    if probes:
        fallback = f"CASE {' '.join(probes)} ELSE {fallback} END"
    return (
        "outlet AS o NOT INDEXED CROSS JOIN power_reading AS a"
        f" LEFT JOIN power_reading AS b1 ON b1.cycle = {nth(0)} AND b1.outlet_id = o.id"
        f" LEFT JOIN power_reading AS bx ON bx.cycle = CASE WHEN b1.cycle IS NULL THEN"
        f" {fallback} END AND bx.outlet_id = o.id"
    )
