"""The hourly load rollups (``load_hourly``): each machine's samples of an hour counted and
summed in SQL, recomputed from the stored samples whenever samples are written
(:func:`update_load_rollups_for`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Double, Integer, column, delete, func, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.bulk import dialect_insert
from powermond.db.daily import LOAD, reopen
from powermond.db.repository_base import chunked
from powermond.db.rollup_rule import HOUR, _epoch, hour_number
from powermond.db.tables import CpuLoad
from powermond.db.types import HOUR_S, epoch_seconds
from powermond.energy import hour_of

_load_hourly = table(
    "load_hourly",
    column("hour", Integer),
    column("machine_id", Integer),
    column("samples", Integer),
    column("load1_sum", Double),
    column("load5_count", Integer),
    column("load5_sum", Double),
    column("load15_count", Integer),
    column("load15_sum", Double),
)
_load = CpuLoad.__table__


async def update_load_rollups_for(
    session: AsyncSession, machine_ids: Sequence[int], first: datetime, last: datetime
) -> None:
    """Recompute the load rollups of ``machine_ids`` for the hours from ``first`` to ``last``
    from the stored samples (re-imports and overlapping runs stay exact): one delete and one
    ``INSERT … SELECT`` per chunk of machines, for any number of samples."""
    if not machine_ids:
        return
    start, end = hour_of(first), hour_of(last) + HOUR
    await reopen(session, LOAD, start, end - timedelta(seconds=1))  # first: it takes a lock
    h0, h1 = _epoch(start) // HOUR_S, _epoch(end) // HOUR_S
    dialect = session.get_bind().dialect.name
    for chunk in chunked(sorted(set(machine_ids))):
        await session.execute(
            delete(_load_hourly).where(
                _load_hourly.c.machine_id.in_(chunk),
                _load_hourly.c.hour >= h0,
                _load_hourly.c.hour < h1,
            )
        )
        samples = select(
            hour_number(epoch_seconds(_load.c.time)).label("hour"),
            _load.c.machine_id,
            _load.c.load1,
            _load.c.load5,
            _load.c.load15,
        ).where(_load.c.machine_id.in_(chunk), _load.c.time >= start, _load.c.time < end)
        s = samples.subquery("s")
        sums = select(
            s.c.hour,
            s.c.machine_id,
            func.count(s.c.load1),
            func.coalesce(func.sum(s.c.load1), 0.0),
            func.count(s.c.load5),
            func.coalesce(func.sum(s.c.load5), 0.0),
            func.count(s.c.load15),
            func.coalesce(func.sum(s.c.load15), 0.0),
        ).group_by(s.c.hour, s.c.machine_id)
        names = [c.name for c in _load_hourly.c]
        await session.execute(dialect_insert(_load_hourly, dialect).from_select(names, sums))
