"""The collectors sharing the database as an operator sees them: who is live, which PDUs
each polls, their last cycle, and the departed ones still remembered (whose PDUs go back to
them if they return before they are forgotten). For ``powermon collectors`` (and
``powermon status``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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
    live: bool = True
    stopped: bool = False  # departed by a clean stop (else its heartbeat expired)
    forget_at: datetime | None = None  # departed: forgotten then, unless it returns

    @property
    def departure(self) -> str:
        """How a departed collector left, in an operator's words."""
        how = "stopped" if self.stopped else "heartbeat expired"
        until = iso_z(self.forget_at) if self.forget_at else "?"
        return f"departed ({how}), remembered until {until}"

    def as_json(self) -> dict[str, Any]:
        departed = {} if self.live else {
            "departed": "stopped" if self.stopped else "heartbeat expired",
            "remembered_until": iso_z(self.forget_at) if self.forget_at else None,
        }  # fmt: skip
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
        } | departed


@dataclass(frozen=True, slots=True)
class CollectorsView:
    time: datetime  # the database's clock
    collectors: tuple[CollectorView, ...]  # the live ones
    unpolled: tuple[str, ...]  # configured PDUs no live collector polls
    departed: tuple[CollectorView, ...] = ()  # remembered: their PDUs are kept for them

    @property
    def healthy(self) -> bool:
        return bool(self.collectors) and not self.unpolled

    def as_json(self) -> dict[str, Any]:
        return {
            "time": iso_z(self.time),
            "collectors": [c.as_json() for c in self.collectors],
            "unpolled": list(self.unpolled),
            "departed": [c.as_json() for c in self.departed],
        }


async def collectors_view(
    session: AsyncSession, inventory: Inventory, forget_after: float = 86400
) -> CollectorsView:
    """The live collectors, their shares of ``inventory``'s PDUs (as they compute them),
    their last cycles (the ``cycle`` table's rows under their names), and the departed
    collectors not heard of for less than ``forget_after`` seconds."""
    now = await db_now(session)
    remember = timedelta(seconds=forget_after)
    rows = [
        r
        for r in await CollectorRepository(session).every()
        if r.live(now) or r.heartbeat_at >= now - remember
    ]
    live = [r for r in rows if r.live(now)]
    cycles = await CycleRepository(session).last_per_collector()
    known = [Member(r.name, r.only) for r in rows]
    by_owner = shares(assign(inventory.pdus, [Member(r.name, r.only) for r in live], known))
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
            live=r.live(now),
            stopped=r.stopped,
            forget_at=None if r.live(now) else r.heartbeat_at + remember,
        )
        for r in rows
    )
    return CollectorsView(
        now,
        tuple(v for v in views if v.live),
        tuple(by_owner.get(None, ())),
        tuple(v for v in views if not v.live),
    )
