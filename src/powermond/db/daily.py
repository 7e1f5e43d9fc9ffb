"""Daily rollups of closed days: the hourly rollups summed per UTC day, so a report over a
month reads about 30 rows per owner instead of 720, and one over years stays as fast.

A day is *closed* for one kind of rollup (:data:`POWER`: ``power_daily`` and both peak tables;
:data:`LOAD`: ``load_daily``) when its ``closed_day`` row exists, and only then are its daily
rows read: they are exactly the sums of its hourly rows (integers, so exact; the load sums
are floating point, equal to rounding). Two rules keep that true:

* Every write to a day's hours reopens the day in the same transaction (:func:`reopen`, one
  ``DELETE`` of ``closed_day`` rows, a no-op index probe for the cycles of today): for
  power, marking an hour open (``db.rollups.add_cycle``: cycles, late cycles, replays,
  ``poll``, interval changes) and rolling hours up (``recompute``); for load,
  ``update_load_rollups_for``. A day is closed only with all its power hours closed
  (:func:`close_day` rolls up its open hours first). The reopened
  day's daily rows stay until the day is closed again, and are never read meanwhile: a report
  reads the days it found closed, so a day reopened while a report runs (PostgreSQL reads
  each statement at its own snapshot) is still counted once, from its rows before the change.
* :func:`close_days`, in the daemon's daily job and ``powermon db prune``, closes every day
  that ended at least :data:`GRACE` ago and a day before the newest hourly row: one day per
  transaction (a few tens of ms for 1,000 outlets on SQLite), under the lock of the writers
  of that kind (cycles: ``CYCLE_LOCK``; load imports: ``LOAD_LOCK``), so no write lands in a
  day while it is being summed.

Reports (``db.reports.ReportRepository``) read closed days from the daily tables, the other
whole hours from the hourly ones (:func:`split`), and the partial hours at a period's edges
from the raw readings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, delete, func, insert, literal, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.collectors import CYCLE_LOCK, LOAD_LOCK, lock
from powermond.db.engine import Database
from powermond.db.repository_base import table_of
from powermond.db.tables import (
    POWER_TALLY_SUMS,
    ClosedDay,
    LoadDaily,
    LoadHourly,
    MachinePeakDaily,
    MachinePeakHourly,
    OpenHour,
    PduPeakDaily,
    PduPeakHourly,
    PowerDaily,
    PowerHourly,
)
from powermond.db.types import HOUR_S

POWER = "power"
LOAD = "load"
HOURS_PER_DAY = 24
DAY_S = HOURS_PER_DAY * HOUR_S
#: A day is closed this long after it ended: late cycles, replays of a spool kept through
#: an outage, and load imports catching up land in open days (and would only reopen).
GRACE = timedelta(days=2)
PAUSE_S = 0.05  # between two days' transactions: writers get the database in between

_closed = table_of(ClosedDay)
_open = table_of(OpenHour)
# Each kind: (daily table, hourly table, owner key columns, summed columns, largest columns).
_LOAD_SUMS = ("samples", "load1_sum", "load5_count", "load5_sum", "load15_count", "load15_sum")
_KINDS: dict[str, list[tuple[Any, Any, tuple[str, ...], tuple[str, ...], tuple[str, ...]]]] = {
    POWER: [
        (PowerDaily, PowerHourly, ("outlet_id", "machine_id"), POWER_TALLY_SUMS, ("watts_peak",)),
        (MachinePeakDaily, MachinePeakHourly, ("machine_id",), (), ("peak_mw",)),
        (PduPeakDaily, PduPeakHourly, ("pdu_id",), (), ("peak_mw",)),
    ],
    LOAD: [(LoadDaily, LoadHourly, ("machine_id",), _LOAD_SUMS, ())],
}
_LOCKS = {POWER: CYCLE_LOCK, LOAD: LOAD_LOCK}


def day_of(time: datetime) -> int:
    """The UTC day of ``time``, as days since 1970."""
    return int(time.timestamp()) // DAY_S


# --- writers: reopening ---------------------------------------------------------------------


async def reopen(session: AsyncSession, rollup: str, first: datetime, last: datetime) -> None:
    """The hourly rollups of kind ``rollup`` between ``first`` and ``last`` (inclusive) are
    being changed in this transaction: their days are no longer closed. One statement; for
    load, first the lock :func:`close_days` takes (cycles hold theirs already), so call it
    before writing the hourly rows (MariaDB would otherwise deadlock with a closing day)."""
    if rollup == LOAD:
        await lock(session, LOAD_LOCK)
    stmt = delete(_closed).where(
        _closed.c.rollup == rollup,
        _closed.c.day >= day_of(first),
        _closed.c.day <= day_of(last),
    )
    await session.execute(stmt)


# --- the daily job: closing -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CloseResult:
    """Days closed by one run, per kind (``power``, ``load``)."""

    closed: dict[str, int] = field(default_factory=dict)


async def close_days(
    db: Database, now: datetime, *, grace: timedelta = GRACE, pause: float = PAUSE_S
) -> CloseResult:
    """Close every day of each kind that ended ``grace`` before ``now`` and a day before its
    newest hourly row, and is not closed yet; one day per transaction, oldest first."""
    closed: dict[str, int] = {}
    for rollup in (POWER, LOAD):
        async with db.transaction() as session:
            days = await _closable(session, rollup, now, grace)
        for day in days:
            async with db.transaction() as session:
                await lock(session, _LOCKS[rollup])
                await close_day(session, rollup, day)
            if pause:
                await asyncio.sleep(pause)
        closed[rollup] = len(days)
    return CloseResult(closed)


async def _closable(
    session: AsyncSession, rollup: str, now: datetime, grace: timedelta
) -> list[int]:
    hourly = table_of(_KINDS[rollup][0][1])
    hour = type_coerce(hourly.c.hour, Integer)
    # Two statements: SQLite reads one min() or max() from the index, not both at once.
    oldest = await session.scalar(select(func.min(hour)))
    newest = await session.scalar(select(func.max(hour)))
    if rollup == POWER:  # hours not rolled up yet have no rows
        opened = await session.scalar(select(func.max(type_coerce(_open.c.hour, Integer))))
        oldest, newest = _least(oldest, opened), _greatest(newest, opened)
    if oldest is None or newest is None:
        return []
    # Days that ended by both bounds: ``now - grace``, and a day before the newest hour.
    end = min(int((now - grace).timestamp()) // HOUR_S, int(newest) + 1 - HOURS_PER_DAY)
    first, last = int(oldest) // HOURS_PER_DAY, end // HOURS_PER_DAY  # [first, last)
    if first >= last:
        return []
    done = set(await closed_days(session, rollup, first, last))
    return [day for day in range(first, last) if day not in done]


def _least(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _greatest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


async def close_day(session: AsyncSession, rollup: str, day: int) -> None:
    """Write ``day``'s daily rows of kind ``rollup`` from its hourly rows and mark it closed
    (the caller holds the writers' lock). Its open power hours are rolled up first."""
    h0 = day * HOURS_PER_DAY
    if rollup == POWER:
        from powermond.db.rollups import close_hours, open_hours  # rollups imports this

        await close_hours(session, await open_hours(session, h0, h0 + HOURS_PER_DAY))
    for daily_model, hourly_model, owners, sums, largest in _KINDS[rollup]:
        daily, hourly = table_of(daily_model), table_of(hourly_model)
        await session.execute(delete(daily).where(daily.c.day == day))  # of an earlier close
        hour = type_coerce(hourly.c.hour, Integer)
        rows = (
            select(
                literal(day, Integer),
                *(hourly.c[name] for name in owners),
                *(func.sum(hourly.c[name]) for name in sums),
                *(func.max(hourly.c[name]) for name in largest),
            )
            .where(hour >= h0, hour < h0 + HOURS_PER_DAY)
            .group_by(*(hourly.c[name] for name in owners))
        )
        names = ["day", *owners, *sums, *largest]
        await session.execute(insert(daily).from_select(names, rows))
    await session.execute(insert(_closed).values(rollup=rollup, day=day))


# --- readers --------------------------------------------------------------------------------


async def closed_days(session: AsyncSession, rollup: str, first: int, last: int) -> list[int]:
    """The closed days of kind ``rollup`` in ``[first, last)``, in order."""
    stmt = select(_closed.c.day).where(
        _closed.c.rollup == rollup, _closed.c.day >= first, _closed.c.day < last
    )
    return sorted(int(d) for d in (await session.scalars(stmt)).all())


@dataclass(frozen=True, slots=True)
class Split:
    """Where the whole hours of a period are read: runs of closed days ``[a, b)`` (days since
    1970) from the daily tables, and ranges of hours ``[a, b)`` (hours since 1970) from the
    hourly ones. Together they cover each hour of the period once."""

    days: list[tuple[int, int]]
    hours: list[tuple[int, int]]


def split(first_hour: int, last_hour: int, closed: Collection[int]) -> Split:
    """:class:`Split` of the hours ``[first_hour, last_hour)`` given its ``closed`` days
    (those inside the period)."""
    days: list[tuple[int, int]] = []
    for day in sorted(closed):
        if day * HOURS_PER_DAY < first_hour or (day + 1) * HOURS_PER_DAY > last_hour:
            continue  # not whole inside the period
        if days and days[-1][1] == day:
            days[-1] = (days[-1][0], day + 1)
        else:
            days.append((day, day + 1))
    hours: list[tuple[int, int]] = []
    start = first_hour
    for a, b in days:
        if start < a * HOURS_PER_DAY:
            hours.append((start, a * HOURS_PER_DAY))
        start = b * HOURS_PER_DAY
    if start < last_hour:
        hours.append((start, last_hour))
    return Split(days, hours)


def whole_days(first_hour: int, last_hour: int) -> tuple[int, int]:
    """The days ``[a, b)`` that lie whole inside the hours ``[first_hour, last_hour)``."""
    return -(-first_hour // HOURS_PER_DAY), last_hour // HOURS_PER_DAY


def epoch_hour(time: datetime) -> int:
    """A whole hour as hours since 1970."""
    return int(time.astimezone(UTC).timestamp()) // HOUR_S
