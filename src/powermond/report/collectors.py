"""The collectors sharing the database as an operator sees them: who is live, which PDUs
each polls, their last cycle. For ``powermon collectors`` (and ``powermon status``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from powermond.cluster import inventory_digest
from powermond.collect.assign import Member, assign, shares
from powermond.db.collectors import CollectorRepository, db_now
from powermond.db.cycles import CycleRepository
from powermond.inventory.model import Inventory
from powermond.output import iso_z


@dataclass(frozen=True, slots=True)
class CollectorView:
    name: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
    pdus: tuple[str, ...]  # its share, computed from the configuration read here
    pinned: tuple[str, ...]  # its [collector] only
    last_cycle: datetime | None  # its newest row in the cycle table
    last_polled: int | None  # PDUs it polled then
    last_failed: int | None  # of which gave no readings
    same_pdus: bool  # it knows the same PDU names as the configuration read here

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "host": self.host,
            "pid": self.pid,
            "started_at": iso_z(self.started_at),
            "heartbeat_at": iso_z(self.heartbeat_at),
            "expires_at": iso_z(self.expires_at),
            "pdus": list(self.pdus),
            "pinned": list(self.pinned),
            "last_cycle": iso_z(self.last_cycle) if self.last_cycle else None,
            "last_pdus_polled": self.last_polled,
            "last_pdus_failed": self.last_failed,
            "same_pdus": self.same_pdus,
        }


@dataclass(frozen=True, slots=True)
class CollectorsView:
    time: datetime  # the database's clock
    collectors: tuple[CollectorView, ...]
    unpolled: tuple[str, ...]  # configured PDUs no live collector polls

    @property
    def healthy(self) -> bool:
        return bool(self.collectors) and not self.unpolled

    def as_json(self) -> dict[str, Any]:
        return {
            "time": iso_z(self.time),
            "collectors": [c.as_json() for c in self.collectors],
            "unpolled": list(self.unpolled),
        }


async def collectors_view(session: AsyncSession, inventory: Inventory) -> CollectorsView:
    """The live collectors, their shares of ``inventory``'s PDUs (as they compute them),
    and their last cycles (the ``cycle`` table's rows under their names)."""
    now = await db_now(session)
    rows = await CollectorRepository(session).live(now)
    cycles = await CycleRepository(session).last_per_collector()
    by_owner = shares(assign(inventory.pdus, [Member(r.name, r.only) for r in rows]))
    digest = inventory_digest(inventory.pdus)
    views = tuple(
        CollectorView(
            name=r.name,
            host=r.host,
            pid=r.pid,
            started_at=r.started_at,
            heartbeat_at=r.heartbeat_at,
            expires_at=r.expires_at,
            pdus=tuple(by_owner.get(r.name, ())),
            pinned=tuple(sorted(r.only)),
            last_cycle=cycles[r.name].time if r.name in cycles else None,
            last_polled=cycles[r.name].pdus_polled if r.name in cycles else None,
            last_failed=cycles[r.name].pdus_failed if r.name in cycles else None,
            same_pdus=r.inventory == digest,
        )
        for r in rows
    )
    return CollectorsView(now, views, tuple(by_owner.get(None, ())))
