"""A close's plan and its steps: what the close of a run of hours reads once
(:func:`plan_close`: the cycles' intervals, the readings' times trimmed to those it needs
(:func:`bridged_times`), the outlet id ranges of its statements), the statements that rewrite
the hours' rows from the raw readings, cut into :class:`Step` s of a bounded number of readings
(:func:`roll_up_steps`, :class:`Plan`; :func:`roll_up` all at once), and how they are run
(:func:`run_steps`, :func:`raise_last_hours`). :mod:`powermond.db.rollups` runs a plan whole;
:mod:`powermond.db.close_steps` spreads one over cycles."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.bulk import dialect_insert
from powermond.db.latest import reading_times as listed_times
from powermond.db.rollup_peaks import _PEAKS, _all_peaks, _window_statements, _windows
from powermond.db.rollup_rule import _by_outlet, _hourly, _outlet, cycle_intervals, hourly_rows
from powermond.db.rollup_sqlite import _paired_hour
from powermond.db.tables import MARIADB
from powermond.db.types import HOUR_S
from powermond.energy import DEFAULT_INTERVAL_S, bridged_span_s

# SQLite (migration 0013), MariaDB (0014) and PostgreSQL (0015): each outlet's hour of its
# newest reading, raised to the newest of the closed hours' rows (db.latest reads it). Not
# in roll_up: migration 0012's downgrade runs that, on a schema without the table.
_RAISE_LAST_HOURS = text(  # SQLite and PostgreSQL
    "INSERT INTO outlet_last_hour (outlet_id, hour)"
    " SELECT outlet_id, max(hour) FROM power_hourly WHERE hour >= :h0 AND hour < :h1"
    " GROUP BY outlet_id"
    " ON CONFLICT (outlet_id) DO UPDATE SET hour = excluded.hour"
    " WHERE outlet_last_hour.hour < excluded.hour"
)
_RAISE_LAST_HOURS_MARIADB = text(
    "INSERT INTO outlet_last_hour (outlet_id, hour)"
    " SELECT s.outlet_id, s.top FROM (SELECT outlet_id, max(hour) AS top FROM power_hourly"
    " WHERE hour >= :h0 AND hour < :h1 GROUP BY outlet_id) AS s"
    " ON DUPLICATE KEY UPDATE hour = GREATEST(hour, VALUES(hour))"
)
SORT_MEMORY_MB = 256
# Readings one statement of a close reads at most (an outlet's all, whatever its count):
# an hour of 1,000 PDUs (570,000 readings) took 1.9 s on SQLite, 2.5 s on PostgreSQL and
# 3.9 s on MariaDB here, peaks included.
READINGS_PER_STATEMENT = 500_000
# Reading times a close's statement lists at most (reading_times): a run of 24 hours
# (HOURS_PER_STATEMENT) at 300 s lists 290; MariaDB gives up a range plan past 16,000 parts.
LISTED_TIMES = 1_000


async def stored_outlet_ranges(session: AsyncSession, cycles: int) -> list[tuple[int, int, int]]:
    """:func:`outlet_ranges` of every outlet's id, cut by walking the outlets' key (two
    probes a range: its first id, and the one ``size`` ids on): (first id, last id,
    outlets) of each range, in order. Reading 480,000 ids into Python took 0.5 s of CPU,
    a row-numbering window over them in SQLite 0.3 s; a close in steps plans once per
    cycle it runs in."""
    size = max(1, READINGS_PER_STATEMENT // max(1, cycles))
    key = _outlet.c.id
    found: list[tuple[int, int, int]] = []
    while True:
        ids = select(key).order_by(key)
        if found:
            ids = ids.where(key > found[-1][1])
        first = await session.scalar(ids.limit(1))
        if first is None:
            return found
        last = await session.scalar(ids.offset(size - 1).limit(1))
        if last is not None:
            found.append((int(first), int(last), size))
            continue
        rest = select(func.max(key), func.count()).where(key >= first)
        top, count = (await session.execute(rest)).one()
        found.append((int(first), int(top), int(count)))
        return found


async def run_steps(session: AsyncSession, steps: Sequence[Step]) -> None:
    """Run the statements of ``steps``, their sorts and aggregates given memory."""
    dialect = session.get_bind().dialect.name
    await _sorting_memory(session, dialect, True)
    try:
        for step in steps:
            for stmt in step.statements():
                await session.execute(stmt)
    finally:
        await _sorting_memory(session, dialect, False)


async def raise_last_hours(session: AsyncSession, dialect: str, h0: int, h1: int) -> None:
    """Raise ``outlet_last_hour`` to the newest of the hours ``[h0, h1)``' rows (their close
    is complete: the last statements of it)."""
    raising = _RAISE_LAST_HOURS_MARIADB if dialect in MARIADB else _RAISE_LAST_HOURS
    await session.execute(raising, {"h0": h0, "h1": h1})


async def plan_close(session: AsyncSession, h0: int, h1: int, reach_s: int, dialect: str) -> Plan:
    """What the close of the hours ``[h0, h1)`` (at most :data:`HOURS_PER_STATEMENT`) reads
    once: the cycles' intervals and the readings' times, up to ``reach_s`` past the end,
    and the outlet id ranges of its statements."""
    intervals = await cycle_intervals(session, h0 * HOUR_S, h1 * HOUR_S + reach_s)
    times = await reading_times(session, dialect, h0 * HOUR_S, h1 * HOUR_S + reach_s)
    if times is not None:
        times = bridged_times(times, h1 * HOUR_S, intervals)
    ranges = await stored_outlet_ranges(session, _cycles(intervals, h1))
    return Plan(h0, h1, reach_s, intervals, dialect, ranges, times)


def bridged_times(times: Sequence[int], end: int, intervals: Mapping[int, float]) -> list[int]:
    """Of ``times`` (a close's reading times, up to ``reach`` past ``end``), those a close
    ending at ``end`` needs: every one before it, and those after it up to the last that
    some reading before it can be bridged to (its span from an earlier time at most
    :func:`~powermond.energy.bridged_span_s` of either time's recorded interval, as
    :func:`_bound` says), with every time between (a reading's next one is then its next
    among these, or one that is never bridged: as if it had none). ``reach`` is twice the
    longest interval ever recorded, so at the default interval the close read three
    cycles past the hour where two can be bridged (the reading at ``end``, and the one
    after it, from the hour's last time for an outlet that missed the cycle at ``end``)."""

    def bound(t: int) -> int:
        return bridged_span_s(intervals.get(t, DEFAULT_INTERVAL_S))

    listed = sorted(times)
    mine = [t for t in listed if t < end]
    if not mine:
        return []
    farthest = max(t + bound(t) for t in mine)  # bridged from an earlier time's interval
    last = mine[-1]  # the nearest to each later time, for that later time's interval
    past = [u for u in listed if u >= end]
    needed = [i for i, u in enumerate(past) if u <= farthest or u - last <= bound(u)]
    return mine + past[: needed[-1] + 1] if needed else mine


def _cycles(intervals: Mapping[int, float], h1: int) -> int:
    """The cycles an outlet has readings of in a close ending at hour ``h1`` (at most), one
    past the end included."""
    return sum(1 for at in intervals if at < h1 * HOUR_S) + 1


async def _sorting_memory(session: AsyncSession, dialect: str, more: bool) -> None:
    """Give the close's sorts and aggregates memory (an hour of 1,000 PDUs sorts ~40 MB):
    with the servers' defaults they spill to disk, twice as slow. PostgreSQL: for this
    transaction; MariaDB: this session's, until put back."""
    if dialect == "postgresql" and more:
        await session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY_MB}MB'"))
    elif dialect in MARIADB:
        size = f"{SORT_MEMORY_MB * 2**20}" if more else "DEFAULT"
        names = ("sort_buffer_size", "tmp_table_size", "max_heap_table_size")
        await session.execute(text("SET SESSION " + ", ".join(f"{n} = {size}" for n in names)))


async def reading_times(session: AsyncSession, dialect: str, s0: int, s1: int) -> list[int] | None:
    """Every time of a reading in ``[s0, s1)`` (epoch seconds), for :func:`hourly_rows` to
    list (SQLite: each outlet's readings by key seeks, see :func:`_scan`). The readings are
    keyed (cycle, outlet_id): an outlet range bounded by cycle alone is read by cycle only,
    the whole range's readings, so each of a 10,000-PDU hour's statements read all 5.8
    million of them (MariaDB: from disk, past the buffer pool; PostgreSQL: every key entry
    of the range, the outlets a filter); with the times listed, each reads its own
    outlets' (one range of the key per time: EXPLAIN says range on PRIMARY, both key parts;
    PostgreSQL's index scan has ``cycle = ANY (…)`` and the outlet range as its index
    conditions, one descent per time). The times come from the key
    itself (:func:`powermond.db.latest.reading_times`: the next after the last, one probe
    each; a reading's time without a cycle row is listed too; a DISTINCT read every reading:
    7.6 s at 10,000 PDUs). ``None`` past :data:`LISTED_TIMES` (a long outage's catch-up at
    a short interval): then the range by cycle, as before."""
    found = await listed_times(session, s0, s1, limit=LISTED_TIMES + 1)
    return found if len(found) <= LISTED_TIMES else None


def outlet_ranges(outlet_ids: Sequence[int], cycles: int) -> list[tuple[int, int]]:
    """``outlet_ids`` (sorted) cut into inclusive id ranges of at most
    :data:`READINGS_PER_STATEMENT` readings over ``cycles`` cycles: a close's statements then
    each take about as long at 10,000 PDUs as at 1,000, well within ``[database] timeout``
    (the bound on the database's silence, which an answered statement renews)."""
    size = max(1, READINGS_PER_STATEMENT // max(1, cycles))
    return [
        (outlet_ids[i], outlet_ids[min(i + size, len(outlet_ids)) - 1])
        for i in range(0, len(outlet_ids), size)
    ]


# The parts of a close, in order (:class:`Step`).
POWER_PART, MACHINE_PEAKS, PDU_PEAKS = 0, 1, 2


_PEAK_PARTS = {"machine": MACHINE_PEAKS, "pdu": PDU_PEAKS}


class Step(NamedTuple):
    """A slice of a close (:func:`roll_up_steps`): statements whose rows are whole together
    (one transaction), with where their part stands after them (``done``: ``POWER_PART``,
    ``power_hourly`` by outlet id ranges: the range's last id; ``MACHINE_PEAKS`` and
    ``PDU_PEAKS``, by windows of whole cycles: the window's end, epoch seconds), and about
    how many readings they read (an outlet range's ids, or all outlets', times the cycles)."""

    part: int
    done: int
    readings: int
    statements: Callable[[], list[Any]]


class Plan(NamedTuple):
    """The close of the hours ``[h0, h1)`` as :func:`plan_close` read what it needs; its
    :meth:`steps` are those :func:`recompute` runs, from the start or after any of them."""

    h0: int
    h1: int
    reach: int
    intervals: Mapping[int, float]
    dialect: str
    ranges: Sequence[tuple[int, int, int]]  # stored_outlet_ranges
    times: Sequence[int] | None

    def steps(self, part: int = POWER_PART, done: int | None = None) -> list[Step]:
        """The steps left after one that left ``part`` at ``done`` (``None``: all). The
        outlet ranges left start after ``done`` (whatever outlets were added since: none
        has a reading in these hours, a write would have reopened them and voided it)."""
        ranges = [(lo, hi) for lo, hi, _ in self.ranges] if part == POWER_PART else []
        if done is not None and part == POWER_PART:
            ranges = [(max(lo, done + 1), hi) for lo, hi in ranges if hi > done]
        every = sum(hi - lo + 1 for lo, hi, _ in self.ranges)
        return roll_up_steps(
            self.h0, self.h1, self.reach, self.intervals, self.dialect, ranges, self.times,
            outlet_count=every, part=part, done=None if part == POWER_PART else done,
            cycles=_cycles(self.intervals, self.h1),
        )  # fmt: skip

    def readings(self) -> int:
        """About how many readings the whole close reads: its steps', and the rows its end
        reads (:meth:`last_readings`)."""
        return sum(step.readings for step in self.steps()) + self.last_readings()

    def last_readings(self) -> int:
        """The ``power_hourly`` rows the ``outlet_last_hour`` raise at its end reads (about:
        one per outlet and hour)."""
        return sum(n for *_, n in self.ranges) * (self.h1 - self.h0)


def roll_up(
    h0: int,
    h1: int,
    reach: int,
    intervals: Mapping[int, float],
    dialect: str,
    outlets: Sequence[tuple[int, int]] | None = None,
    times: Sequence[int] | None = None,
) -> list[Any]:
    """The statements that rewrite the rows of the hours ``[h0, h1)`` from the raw readings:
    DELETEs and INSERT … SELECTs per table (also run by migration 0012's downgrade), those
    of :func:`roll_up_steps` one after another."""
    steps = roll_up_steps(h0, h1, reach, intervals, dialect, outlets, times)
    return [stmt for step in steps for stmt in step.statements()]


def roll_up_steps(
    h0: int,
    h1: int,
    reach: int,
    intervals: Mapping[int, float],
    dialect: str,
    outlets: Sequence[tuple[int, int]] | None = None,
    times: Sequence[int] | None = None,
    *,
    outlet_count: int | None = None,
    part: int = POWER_PART,
    done: int | None = None,
    cycles: int = 1,
) -> list[Step]:
    """The steps that rewrite the rows of the hours ``[h0, h1)`` from the raw readings;
    ``intervals``: :func:`cycle_intervals` of ``[h0, h1)`` and ``reach`` past it;
    ``outlets``: the outlet id ranges of one ``power_hourly`` step each (``None``: one
    statement for all, and one per peak table), ``times``: the readings' times those
    statements list (:func:`reading_times`, trimmed by :func:`bridged_times`);
    ``outlet_count``: the outlets the peaks' windows are cut for (else the ranges'),
    ``cycles``: those of an outlet's statement.
    From ``part`` on, and in a peak part after its window ending at ``done``. An outlet's
    rows depend on its readings alone; the peaks, sums over outlets, are per window of whole
    cycles: an hour's first one inserts (its rows deleted with it), the others raise. Each
    step's statements are made when asked for (a close runs one step of dozens at a time)."""
    found: list[Step] = []
    for lo_hi in ([None] if outlets is None else outlets) if part == POWER_PART else []:
        last = 0 if lo_hi is None else lo_hi[1]
        readings = 0 if lo_hi is None else (lo_hi[1] - lo_hi[0] + 1) * cycles
        make = partial(_power_statements, h0, h1, reach, intervals, dialect, lo_hi, times)
        found.append(Step(POWER_PART, last, readings, make))
    for kind, target in _PEAKS.items():
        if _PEAK_PARTS[kind] < part:
            continue
        since = done if _PEAK_PARTS[kind] == part else None
        found += _peak_steps(kind, target, h0, h1, intervals, dialect, outlets, outlet_count, since)
    return found


def _power_statements(
    h0: int,
    h1: int,
    reach: int,
    intervals: Mapping[int, float],
    dialect: str,
    lo_hi: tuple[int, int] | None,
    times: Sequence[int] | None,
) -> list[Any]:
    """The ``power_hourly`` statements of the outlet id range ``lo_hi`` (``None``: all)."""
    gone = delete(_hourly).where(_hourly.c.hour >= h0, _hourly.c.hour < h1)
    if lo_hi is None:
        times = None
    else:
        gone = gone.where(_hourly.c.outlet_id.between(*lo_hi))
    if dialect == "sqlite" and times is not None and _by_outlet(times):
        assert lo_hi is not None
        stmts: list[Any] = [gone]
        for h in range(h0, h1):
            stmts += _paired_hour(h, reach, intervals, times, lo_hi)
        return stmts
    rows = hourly_rows(
        h0 * HOUR_S, h1 * HOUR_S, reach, intervals, dialect, outlets=lo_hi, times=times
    )
    if dialect != "sqlite":  # (SQLite's GROUP BY already gives them in this order)
        rows = rows.order_by(*list(rows.selected_columns)[:3])
    names = [c.name for c in rows.selected_columns]
    return [gone, dialect_insert(_hourly, dialect).from_select(names, rows)]


def _peak_steps(
    kind: str,
    target: Any,
    h0: int,
    h1: int,
    intervals: Mapping[int, float],
    dialect: str,
    outlets: Sequence[tuple[int, int]] | None,
    outlet_count: int | None,
    since: int | None,
) -> list[Step]:
    """The steps of ``kind``'s peaks of the hours ``[h0, h1)`` (after ``since``, epoch
    seconds, when given: a window cut there is the rest of the one it was in)."""
    part = _PEAK_PARTS[kind]
    if outlets is None:
        return [Step(part, h1 * HOUR_S, 0, partial(_all_peaks, kind, target, h0, h1, dialect))]
    if outlet_count is None:
        outlet_count = sum(hi - lo + 1 for lo, hi in outlets)  # at most: ids may have gaps
    cycles = max(1, READINGS_PER_STATEMENT // max(1, outlet_count))
    found: list[Step] = []
    for h in range(h0, h1):
        for s0, s1 in _windows(h, intervals, cycles):
            if since is not None:
                if s1 <= since:
                    continue
                s0 = max(s0, since)
            make = partial(_window_statements, kind, target, h, s0, s1, dialect)
            times = max(1, sum(1 for at in intervals if s0 <= at < s1))
            found.append(Step(part, s1, outlet_count * times, make))
    return found
