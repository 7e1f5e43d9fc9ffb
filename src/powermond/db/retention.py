"""Retention: raw readings (with their cycles' rows) and load older than ``[storage]
raw_days`` / ``load_days`` go; the hourly rollups stay for ever, so reports over pruned time
read them and give the same kWh, mean and peak.

The horizon is a whole hour (the rollups' unit): everything before it is covered by rollups
alone, the open hours before it rolled up first (``db.rollups``). Rows go in small
batches, each in its own short transaction, so a daemon cycle never waits behind the job
for long (on SQLite it waits for the writer lock at most one batch).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.collectors import CYCLE_LOCK, lock
from powermond.db.engine import Database
from powermond.db.tables import CpuLoad, Cycle, PowerHourly, PowerReading
from powermond.energy import hour_of

#: Readings deleted per transaction: a few cycles of a large site, tens of ms on SQLite.
ROWS_PER_BATCH = 20_000
PAUSE_S = 0.05  # between batches: the daemon's cycle gets the database in between


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What a retention run removed (a ``None`` horizon: that kind is kept)."""

    readings_before: datetime | None
    readings: int
    load_before: datetime | None
    load: int


def horizon(now: datetime, days: float) -> datetime | None:
    """The whole hour before which rows ``days`` old go; ``None`` keeps everything."""
    if days <= 0:
        return None
    return hour_of(now - timedelta(days=days))


async def prune(
    db: Database,
    readings_before: datetime | None,
    load_before: datetime | None,
    *,
    batch: int = ROWS_PER_BATCH,
    pause: float = PAUSE_S,
) -> PruneResult:
    """Delete raw readings before ``readings_before`` and load before ``load_before`` (each
    cut to its whole hour; ``None``: keep), oldest first, ``batch`` rows (about) per
    transaction."""
    readings = load = 0
    readings_before = None if readings_before is None else hour_of(readings_before)
    load_before = None if load_before is None else hour_of(load_before)
    if readings_before is not None:
        readings = await _prune_readings(db, readings_before, batch, pause)
    if load_before is not None:
        load = await _prune_load(db, load_before, batch, pause)
    return PruneResult(readings_before, readings, load_before, load)


async def _prune_readings(db: Database, before: datetime, batch: int, pause: float) -> int:
    from powermond.db.rollups import close_hours_before  # rollups imports this module

    # An open hour's rollups are read from its readings: roll it up before they go.
    async with db.transaction() as session:
        await lock(session, CYCLE_LOCK)
        await close_hours_before(session, before)
    removed = 0
    while True:
        async with db.transaction() as session:
            until = await _batch_end(session, PowerReading.cycle, before, batch)
            if until is None:
                return removed
            result = await session.execute(delete(PowerReading).where(PowerReading.cycle <= until))
            removed += int(result.rowcount or 0)  # type: ignore[attr-defined]
            # A cycle's row says how its readings are bridged: it goes with them.
            await session.execute(delete(Cycle).where(Cycle.time <= until))
        await asyncio.sleep(pause)


async def _prune_load(db: Database, before: datetime, batch: int, pause: float) -> int:
    removed = 0
    while True:
        async with db.transaction() as session:
            until = await _batch_end(session, CpuLoad.time, before, batch)
            if until is None:
                return removed
            result = await session.execute(delete(CpuLoad).where(CpuLoad.time <= until))
            removed += int(result.rowcount or 0)  # type: ignore[attr-defined]
        await asyncio.sleep(pause)


async def _batch_end(
    session: AsyncSession, column: Any, before: datetime, batch: int
) -> datetime | None:
    """The time up to which (inclusive) about ``batch`` of the oldest rows before
    ``before`` lie: whole times, so a cycle is never half pruned. ``None``: none left."""
    times = select(column).where(column < before).order_by(column).limit(batch).subquery()
    found: datetime | None = await session.scalar(select(func.max(times.c[0])))
    return found


async def pruned_before(session: AsyncSession) -> datetime | None:
    """The hour before which retention left only the rollups; ``None``: nothing pruned.

    Read from the cycle table (pruned with the readings), whose key starts with the time: an
    index lookup on every database.
    """
    kept = await session.scalar(select(func.min(Cycle.time)))
    if kept is None:
        return None
    stmt = select(PowerHourly.hour).where(PowerHourly.hour < hour_of(kept)).limit(1)
    return hour_of(kept) if await session.scalar(stmt) is not None else None


async def prune_by_settings(
    db: Database, raw_days: float, load_days: float, now: datetime
) -> PruneResult:
    """The retention job: ``[storage] raw_days`` of readings and ``load_days`` of load."""
    return await prune(db, horizon(now, raw_days), horizon(now, load_days))
