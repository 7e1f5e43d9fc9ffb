"""The hourly power rollups, rolled up once per hour in SQL from the stored readings, when the
hour closes.

One rule, in one place (:mod:`powermond.db.rollup_rule`: ``_interval`` and
:func:`hourly_rows`): the energy rules of :mod:`powermond.energy` (an interval belongs to its
first reading's hour and machine; it is bridged when at most twice the recorded interval of
either of its cycles; counter delta where the counter did not go down, else the trapezoid of
the watts, else a reset counted from zero), written as SQL over ``power_reading`` and the
``cycle`` table; and a peak is the highest per-cycle sum of an owner's watts in the hour
(:func:`peak_rows`, :mod:`powermond.db.rollup_peaks`).

An hour's rows in ``power_hourly``, ``machine_peak_hourly`` and ``pdu_peak_hourly`` are valid
exactly when the hour is not *open* (an ``open_hour`` row, migration 0012):

* A write of readings at ``t`` (:func:`add_cycle`: the daemon, ``powermon poll``, spool
  replays, late cycles, a part of a cycle, another collector's part) and a change of a
  cycle's recorded interval (:func:`interval_changed`) mark open every hour the new readings
  can change, ``hour_of(t - reach)`` to ``hour_of(t)`` (``reach``: no interval longer is
  bridged), and reopen their days (``db.daily``), in the writer's transaction. That is two
  small statements: no per-cycle rollup work.
* An hour closes once it is *due*: its end plus ``reach`` is at or before the newest stored
  cycle, so no reading written in time order can change it any more (after each cycle's
  write, in transactions of their own under the cycle lock: :mod:`powermond.db.close_steps`;
  :func:`close_due_hours` in one go). Closing is :func:`recompute`: one ``INSERT … SELECT``
  after another over the hour's readings (each one's next reading found with ``LEAD``, or
  paired by key seeks on SQLite) by outlet id ranges, the peaks by windows of whole
  cycles, each a :class:`Step`; a large site's steps are spread over the next cycles
  (``close_progress`` says how far they are; the hour stays open until the last). A late
  cycle only reopens the hours it changes (voiding the progress of their close); they
  close again after the next cycles.
* Readers (``db.reports``) read the open hours' rows through the same SELECTs over the raw
  readings, so a report's figures are the same to the unit whether an hour is open or
  closed (tests check it on every database).

Rolling an hour up once replaces an upsert per cycle that cost as much as inserting the
readings again (bench/bench_store.py; docs/scaling.md).

This module holds the open hours and their close (:func:`recompute`), and is the API the
other modules import (it re-exports the names they use of the modules below). A close's plan
and steps are in :mod:`powermond.db.rollup_plan`, SQLite's paired path in
:mod:`powermond.db.rollup_sqlite`, the load rollups in :mod:`powermond.db.rollup_load`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Integer, column, delete, func, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.bulk import insert_rows
from powermond.db.daily import POWER, reopen
from powermond.db.open_hours import HOURS_PER_STATEMENT, discard_progress, open_hours, runs
from powermond.db.repository_base import chunked
from powermond.db.rollup_load import update_load_rollups_for
from powermond.db.rollup_peaks import peak_rows
from powermond.db.rollup_plan import (
    LISTED_TIMES,
    READINGS_PER_STATEMENT,
    Plan,
    Step,
    bridged_times,
    outlet_ranges,
    plan_close,
    raise_last_hours,
    reading_times,
    roll_up,
    run_steps,
    stored_outlet_ranges,
)
from powermond.db.rollup_rule import (
    HOUR,
    SQLITE_BY_OUTLET_TIMES,
    _cycle,
    _dt,
    _epoch,
    cycle_intervals,
    hourly_rows,
    intervals_query,
    reach,
    reach_of,
)
from powermond.db.rows import StoredCycle
from powermond.db.tables import LoadHourly, MachinePeakHourly, PduPeakHourly, PowerHourly
from powermond.db.types import HOUR_S
from powermond.energy import hour_of

# Besides its own, the names callers import from here of the modules it was split into. A
# constant is read where it is defined: monkeypatch it there (rollup_plan, rollup_rule).
__all__ = [
    "HOUR",
    "LISTED_TIMES",
    "READINGS_PER_STATEMENT",
    "SQLITE_BY_OUTLET_TIMES",
    "LoadHourly",
    "MachinePeakHourly",
    "PduPeakHourly",
    "Plan",
    "PowerHourly",
    "Step",
    "add_cycle",
    "bridged_times",
    "chunked",
    "close_due_hours",
    "cycle_intervals",
    "hourly_rows",
    "interval_changed",
    "intervals_query",
    "open_hours",
    "outlet_ranges",
    "peak_rows",
    "plan_close",
    "raise_last_hours",
    "reach",
    "reach_of",
    "reading_times",
    "recompute",
    "roll_up",
    "run_steps",
    "runs",
    "stored_outlet_ranges",
    "update_load_rollups_for",
]

_open = table("open_hour", column("hour", Integer))


# --- open hours -------------------------------------------------------------------------------


async def _mark_open(session: AsyncSession, first: int, last: int) -> None:
    """Mark open the hours ``first`` to ``last`` (epoch seconds, inclusive), reopening their
    days and voiding a close of them in steps under way (:mod:`powermond.db.close_steps`:
    the rows of its steps so far may be stale): their rows are about to go stale."""
    await reopen(session, POWER, _dt(first), _dt(last))
    h0, h1 = first // HOUR_S, last // HOUR_S + 1
    await discard_progress(session, h0, h1)
    await insert_rows(session, _open, ("hour",), [(h,) for h in range(h0, h1)], ("hour",))


async def add_cycle(session: AsyncSession, stored: StoredCycle) -> None:
    """``stored``'s new readings were written (with the cycle's row, under the cycle lock):
    mark open the hours they change."""
    if not stored.added:
        return
    t = _epoch(stored.cycle)
    await _mark_open(session, t - await reach(session), t)


async def interval_changed(session: AsyncSession, cycle: datetime) -> None:
    """The recorded interval of ``cycle`` changed after some of its readings were stored (a
    daemon row after a poll's, a longer interval): the intervals to and from its readings
    may be bridged differently now, so their hours are open again."""
    t = _epoch(cycle)
    await _mark_open(session, t - await reach(session), t)


async def due_hours(session: AsyncSession) -> list[int]:
    """The open hours no reading can change any more: their end plus ``reach`` is at or
    before the newest stored cycle (a later cycle, written in time order, reaches no
    further back). A late or replayed cycle marks its hours open again."""
    newest = await session.scalar(select(func.max(_cycle.c.time)))
    if newest is None:
        return []
    limit = (_epoch(newest) - await reach(session)) // HOUR_S  # h + 1 <= limit
    stmt = select(_open.c.hour).where(_open.c.hour < limit)
    return sorted(int(h) for h in (await session.scalars(stmt)).all())


async def close_hours(session: AsyncSession, hours: Collection[int]) -> None:
    """Roll up the open ``hours`` (hours since 1970) from the raw readings and close them
    (the caller holds the cycle lock)."""
    for a, b in runs(sorted(set(hours))):
        await recompute(session, _dt(a * HOUR_S), _dt(b * HOUR_S))


async def close_due_hours(session: AsyncSession) -> int:
    """Close the :func:`due_hours`; returns how many (the caller holds the cycle lock)."""
    due = await due_hours(session)
    await close_hours(session, due)
    return len(due)


async def close_hours_before(session: AsyncSession, end: datetime) -> None:
    """Close every open hour before ``end`` (before its readings are pruned, or its day is
    closed; the caller holds the cycle lock)."""
    await close_hours(session, await open_hours(session, 0, _epoch(end) // HOUR_S))


# --- over a range -----------------------------------------------------------------------------


async def recompute(session: AsyncSession, start: datetime, end: datetime) -> None:
    """Rewrite the power rollups and peaks of the whole hours in ``[start, end)`` from the
    raw readings; they are closed (valid) after it. Hours before the retention horizon keep
    their rollups: their readings are gone. A close of them in steps under way
    (:mod:`powermond.db.close_steps`) is void: these hours are whole now."""
    from powermond.db.retention import pruned_before

    start, end = hour_of(start), _ceil_hour(end)
    h0, h1 = _epoch(start) // HOUR_S, _epoch(end) // HOUR_S
    await discard_progress(session, h0, h1)
    closing = delete(_open).where(_open.c.hour >= h0, _open.c.hour < h1)
    horizon = await pruned_before(session)
    if horizon is not None:
        start = max(start, horizon)
    if start >= end:
        await session.execute(closing)
        return
    await reopen(session, POWER, start, end - timedelta(seconds=1))
    h0 = _epoch(start) // HOUR_S
    dialect = session.get_bind().dialect.name
    reach_s = await reach(session)
    for a in range(h0, h1, HOURS_PER_STATEMENT):
        b = min(a + HOURS_PER_STATEMENT, h1)
        plan = await plan_close(session, a, b, reach_s, dialect)
        await run_steps(session, plan.steps())
        await raise_last_hours(session, dialect, a, b)
    await session.execute(closing)


def _ceil_hour(time: datetime) -> datetime:
    return time if time == hour_of(time) else hour_of(time) + HOUR
