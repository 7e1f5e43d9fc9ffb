"""Recorded cycles: what each writer polled and stored, and the interval it recorded at.

The interval decides every gap (energy, rollups, plots), so it comes from here and never
from today's ``[collector].interval``. Several rows may share one scheduled time: one per
collector and origin (the daemon, or a manual ``powermon poll``). A time's interval is then
its daemon rows' (the longest of them), else its poll rows': a poll that stores a cycle the
daemon already stored does not change how that cycle is bridged.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select

from powermond.db.bulk import upsert
from powermond.db.repository_base import Repository, table_of, translated
from powermond.db.rows import CycleRow
from powermond.db.tables import Cycle
from powermond.db.types import range_bound
from powermond.energy import DEFAULT_INTERVAL_S, Spacing

DAEMON = "daemon"
POLL = "poll"
CYCLE_KEY = ("time", "collector", "origin")
_COUNTS = ("pdus_polled", "pdus_failed", "readings")


def default_collector() -> str:
    """This collector's name unless configured: the host name."""
    return socket.gethostname()


class CycleRepository(Repository):
    @translated
    async def add(self, row: CycleRow) -> None:
        """Record a cycle's write. A second write of the same key (``poll --pdu`` one PDU at
        a time, a spool replay) adds its counts: callers skip writes that stored nothing
        into a row that exists, so a replay after an ambiguous commit counts nothing twice.
        """
        values = asdict(row)
        await upsert(
            self.session, table_of(Cycle), [values], CYCLE_KEY, add=_COUNTS, greatest=("seconds",)
        )

    @translated
    async def recorded_at(self, time: datetime) -> list[Recorded]:
        """The rows recorded at ``time`` (one per collector and origin; a key range), for a
        writer that then knows the time's interval (:func:`interval_of`) before and after
        its own row, and whether its row exists, without asking again."""
        stmt = select(Cycle.collector, Cycle.origin, Cycle.interval_s).where(
            Cycle.time >= range_bound(time), Cycle.time < range_bound(time + timedelta(seconds=1))
        )
        return [Recorded(c, o, float(i)) for c, o, i in await self.session.execute(stmt)]

    @translated
    async def last(self, collector: str | None = None) -> CycleRow | None:
        """The newest recorded cycle (of one collector when given)."""
        stmt = select(Cycle).order_by(Cycle.time.desc()).limit(1)
        if collector is not None:
            stmt = stmt.where(Cycle.collector == collector)
        found = await self.session.scalar(stmt)
        return None if found is None else _row(found)

    @translated
    async def last_per_collector(self) -> dict[str, CycleRow]:
        """Each collector's newest cycle, by collector name."""
        newest = (
            select(Cycle.collector, func.max(Cycle.time).label("time"))
            .group_by(Cycle.collector)
            .subquery()
        )
        stmt = (
            select(Cycle)
            .join(newest, (newest.c.collector == Cycle.collector) & (newest.c.time == Cycle.time))
            .order_by(Cycle.collector, Cycle.origin)
        )
        found: dict[str, CycleRow] = {}
        for cycle in await self.session.scalars(stmt):
            found.setdefault(cycle.collector, _row(cycle))  # "daemon" sorts before "poll"
        return found

    @translated
    async def interval_at(self, time: datetime) -> float | None:
        """The interval the cycle at ``time`` was recorded at (``None``: no such cycle)."""
        return interval_of(await self.recorded_at(time))

    @translated
    async def longest_interval(self) -> float | None:
        """The longest interval any cycle was recorded at (an index lookup)."""
        found: float | None = await self.session.scalar(select(func.max(Cycle.interval_s)))
        return found

    @translated
    async def spacing(self, since: datetime, until: datetime) -> Spacing:
        """The recorded intervals around ``[since, until)``: every cycle whose interval can
        bridge into or out of the period (twice the longest interval on either side)."""
        longest = await self.longest_interval()
        margin = timedelta(seconds=2 * (longest or DEFAULT_INTERVAL_S))
        return Spacing(await self._intervals(since - margin, until + margin))

    @translated
    async def times_between(self, since: datetime, until: datetime) -> int:
        """How many distinct cycle times lie in ``[since, until)``."""
        stmt = select(func.count(func.distinct(Cycle.time))).where(
            Cycle.time >= range_bound(since), Cycle.time < range_bound(until)
        )
        return int(await self.session.scalar(stmt) or 0)

    async def _intervals(self, since: datetime, until: datetime) -> dict[datetime, float]:
        stmt = (
            select(Cycle.time, Cycle.origin, func.max(Cycle.interval_s))
            .where(Cycle.time >= range_bound(since), Cycle.time < range_bound(until))
            .group_by(Cycle.time, Cycle.origin)
        )
        intervals: dict[datetime, float] = {}
        for time, origin, interval in await self.session.execute(stmt):
            if origin == DAEMON or time not in intervals:
                intervals[time] = float(interval)
        return intervals


class Recorded(NamedTuple):
    """A cycle row's key at a known time, and its interval."""

    collector: str
    origin: str
    interval: float


def interval_of(rows: Iterable[Recorded]) -> float | None:
    """The interval of a time recorded by ``rows`` (``None``: none): its daemon rows'
    longest, else its poll rows' (as :meth:`CycleRepository.spacing` reads a range)."""
    daemon = [r.interval for r in rows if r.origin == DAEMON]
    other = [r.interval for r in rows if r.origin != DAEMON]
    return max(daemon or other, default=None)


def _row(c: Cycle) -> CycleRow:
    return CycleRow(
        c.time,
        c.collector,
        c.origin,
        c.interval_s,
        c.pdus_polled,
        c.pdus_failed,
        c.readings,
        c.seconds,
    )
