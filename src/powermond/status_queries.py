"""The queries behind ``powermon status``, in one place.

The last cycle comes from the ``cycle`` table (:class:`~powermond.db.cycles.CycleRepository`);
stale and partial machines from the readings. When the readings schema changes, only this
module follows: the readings are keyed (cycle, outlet_id) with no index by outlet
(migrations 0013 SQLite, 0014 MariaDB, 0015 PostgreSQL), and each outlet's newest reading
comes from :func:`powermond.db.latest.newest`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.cycles import CycleRepository
from powermond.db.errors import translate
from powermond.db.latest import newest as newest_readings
from powermond.db.tables import Machine, Outlet, Pdu, PowerReading
from powermond.output import iso_z


@dataclass(frozen=True, slots=True)
class LastCycle:
    time: datetime
    pdus_ok: int
    pdus_failed: int
    readings: int
    duration: float | None
    interval: float  # the interval the cycle was recorded at
    origin: str  # "daemon" or "poll"
    collector: str

    @property
    def duration_or_zero(self) -> timedelta:
        return timedelta(seconds=self.duration or 0)

    def summary(self) -> str:
        took = f", {self.duration:.1f} s" if self.duration is not None else ""
        return (
            f"{iso_z(self.time)}{took}: {self.pdus_ok}/{self.pdus_ok + self.pdus_failed} "
            f"PDUs ok, {self.readings} readings stored ({self.origin} on {self.collector})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "duration_s": self.duration,
            "pdus_ok": self.pdus_ok,
            "pdus_failed": self.pdus_failed,
            "readings": self.readings,
            "interval_s": self.interval,
            "origin": self.origin,
            "collector": self.collector,
        }


@dataclass(frozen=True, slots=True)
class MachineLatest:
    machine: str
    created_at: datetime
    last_reading: datetime | None


@dataclass(frozen=True, slots=True)
class PartialMachine:
    machine: str
    cycle: datetime
    missing: tuple[str, ...]  # "pdu:label" of the feeds without a reading


class StatusQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, stmt: Any) -> list[Any]:
        try:
            return list((await self.session.execute(stmt)).all())
        except Exception as exc:
            raise translate(exc) from exc

    async def last_cycle(self) -> LastCycle | None:
        """The newest recorded cycle (any collector, daemon or ``poll``)."""
        row = await CycleRepository(self.session).last()
        if row is None:
            return None
        ok = row.pdus_polled - row.pdus_failed
        return LastCycle(
            row.time, ok, row.pdus_failed, row.readings, row.seconds, row.interval_s,
            row.origin, row.collector,
        )  # fmt: skip

    async def machine_latest(self) -> list[MachineLatest]:
        """Active machines with a feed, and the newest reading of any feed (each outlet's
        newest reading: a bounded probe of the newest times, the readings being keyed by
        cycle, :func:`powermond.db.latest.newest`)."""
        stmt = (
            select(Machine.name, Machine.created_at, Outlet.id)
            .join(Outlet, Outlet.machine_id == Machine.id)
            .where(Machine.retired_at.is_(None))
        )
        feeds = await self._rows(stmt)
        try:
            times = await newest_readings(self.session, {outlet_id for *_, outlet_id in feeds})
        except Exception as exc:
            raise translate(exc) from exc
        return _latest_by_machine(
            [(name, created, _time(times.get(outlet_id))) for name, created, outlet_id in feeds]
        )

    async def partial_machines(self) -> list[PartialMachine]:
        """Machines with some feeds but not all in the newest cycle stored."""
        newest = await self._rows(select(func.max(PowerReading.cycle)))  # the key's end
        cycle = newest[0][0]
        if cycle is None:
            return []
        # A key lookup (cycle, outlet_id) per feed.
        reading = (
            select(PowerReading.cycle)
            .where(PowerReading.outlet_id == Outlet.id, PowerReading.cycle == cycle)
            .exists()
        )
        stmt = (
            select(Machine.name, Pdu.name, Outlet.label, reading)
            .join(Outlet, Outlet.machine_id == Machine.id)
            .join(Pdu, Pdu.id == Outlet.pdu_id)
            .where(Machine.retired_at.is_(None))
        )
        feeds: dict[str, list[tuple[str, bool]]] = {}
        for machine, pdu, label, present in await self._rows(stmt):
            feeds.setdefault(machine, []).append((f"{pdu}:{label}", bool(present)))
        found = []
        for machine, outlets in sorted(feeds.items()):
            missing = tuple(sorted(name for name, present in outlets if not present))
            if missing and len(missing) < len(outlets):
                found.append(PartialMachine(machine, _aware(cycle), missing))
        return found


def _latest_by_machine(rows: list[Any]) -> list[MachineLatest]:
    """(machine, created, a feed's newest reading) rows as each machine's newest."""
    found: dict[str, MachineLatest] = {}
    for name, created, last in rows:
        seen = found.get(name)
        if seen is None or (last is not None and (seen.last_reading or last) <= last):
            found[name] = MachineLatest(name, created, last)
    return [found[name] for name in sorted(found)]


def _time(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
