"""Collectors sharing one database: their heartbeat rows, leases, and database-wide locks.

- ``collector``: one row per collector, refreshed every cycle (``expires_at`` is a
  heartbeat deadline), expired at once when it stops, and deleted (forgotten) when it has
  not been heard of for ``[collector] forget_after``: until then the assignment still ranks
  it (see :mod:`powermond.collect.assign`). Times are the *database's* clock, so collector
  hosts whose clocks disagree still agree on who is live.
- ``lease``: named rows. A lease with a holder and an expiry (the RRD import) belongs to one
  collector at a time; a row locked with ``SELECT … FOR UPDATE`` (:func:`lock`) serialises a
  job across collectors until the transaction ends (configuration applies, cycle writes).

Repositories take a session and never commit (see :mod:`powermond.db.repositories`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped

from powermond.db import schema
from powermond.db.bulk import insert_ignore
from powermond.db.tables import Base

# Locks and leases by name; every one has its row (made by the migration, and again by
# ensure_leases for a schema made otherwise).
CONFIG_LOCK = "config-apply"
CYCLE_LOCK = "cycle-write"
IMPORT_LEASE = "load-import"
LOAD_LOCK = "load-write"  # load rollup writes against the closing of days (db/daily.py)
LEASES = (CONFIG_LOCK, CYCLE_LOCK, IMPORT_LEASE, LOAD_LOCK)


class Collector(Base):
    """A collector, live or remembered (``schema.collector``)."""

    __table__ = schema.collector

    name: Mapped[str]
    host: Mapped[str]
    pid: Mapped[int]
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    only: Mapped[str | None]  # JSON list of PDU names
    inventory: Mapped[str]
    pdus: Mapped[int]


class Lease(Base):
    __table__ = schema.lease

    name: Mapped[str]
    holder: Mapped[str | None]
    expires_at: Mapped[datetime | None]


@dataclass(frozen=True, slots=True)
class CollectorRow:
    name: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
    only: frozenset[str]
    inventory: str
    pdus: int

    def live(self, now: datetime) -> bool:
        return self.expires_at > now

    @property
    def stopped(self) -> bool:
        """Whether it left cleanly (:meth:`CollectorRepository.leave`), not just went silent."""
        return self.expires_at <= self.heartbeat_at


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What a collector says of itself each cycle."""

    name: str
    host: str
    pid: int
    started_at: datetime
    only: frozenset[str]
    inventory: str
    pdus: int


async def db_now(session: AsyncSession) -> datetime:
    """The database server's clock (UTC, aware); SQLite's is this host's."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        value = await session.scalar(text("SELECT clock_timestamp()"))
    elif dialect in ("mysql", "mariadb"):
        value = await session.scalar(text("SELECT UTC_TIMESTAMP(6)"))
    else:
        return datetime.now(UTC)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def whole_second_after(t: datetime) -> datetime:
    """``t`` rounded up to a whole second (stored times have none; never round a deadline down)."""
    return datetime.fromtimestamp(math.ceil(t.timestamp()), UTC)


async def ensure_leases(session: AsyncSession) -> None:
    await insert_ignore(session, _table(Lease), [{"name": n} for n in LEASES], ("name",))


async def lock(session: AsyncSession, name: str) -> None:
    """Hold the lock ``name`` until the transaction ends; other collectors wait for it.

    Call it first in the transaction: MariaDB's snapshot then starts after the lock, so the
    transaction sees what the previous holder committed. SQLite has one writer anyway.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    stmt = select(Lease.name).where(Lease.name == name).with_for_update()
    if await session.scalar(stmt) is None:
        await ensure_leases(session)
        await session.scalar(stmt)


class CollectorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, name: str) -> CollectorRow | None:
        row = await self.session.get(Collector, name)
        return None if row is None else _row(row)

    async def beat(self, me: Heartbeat, now: datetime, ttl: timedelta) -> None:
        """Insert or refresh ``me``'s row: live until ``now + ttl``."""
        values = {
            "host": me.host,
            "pid": me.pid,
            "started_at": me.started_at,
            "heartbeat_at": now,
            "expires_at": whole_second_after(now + ttl),
            "only": json.dumps(sorted(me.only)) if me.only else None,
            "inventory": me.inventory,
            "pdus": me.pdus,
        }
        stmt = update(Collector).where(Collector.name == me.name).values(**values)
        if (await self.session.execute(stmt)).rowcount == 0:  # type: ignore[attr-defined]
            row = {"name": me.name, **values}
            await insert_ignore(self.session, _table(Collector), [row], ("name",))

    async def refresh(self, name: str, now: datetime, ttl: timedelta) -> None:
        """Move ``name``'s heartbeat to ``now`` (live until ``now + ttl``)."""
        deadline = whole_second_after(now + ttl)
        stmt = update(Collector).where(Collector.name == name)
        await self.session.execute(stmt.values(heartbeat_at=now, expires_at=deadline))

    async def live(self, now: datetime) -> list[CollectorRow]:
        """The collectors whose heartbeat has not expired at ``now``, by name."""
        stmt = select(Collector).where(Collector.expires_at > now).order_by(Collector.name)
        return [_row(c) for c in await self.session.scalars(stmt)]

    async def every(self) -> list[CollectorRow]:
        """Every collector row, live or not, by name."""
        stmt = select(Collector).order_by(Collector.name)
        return [_row(c) for c in await self.session.scalars(stmt)]

    async def leave(self, name: str, pid: int, now: datetime) -> bool:
        """Expire ``name``'s row now if this process (``pid``) still owns it: it is no longer
        live, and remembered (heard of last ``now``) until it is forgotten."""
        stmt = update(Collector).where(Collector.name == name, Collector.pid == pid)
        result = await self.session.execute(stmt.values(heartbeat_at=now, expires_at=now))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def forget(self, names: Iterable[str], heard_before: datetime, now: datetime) -> int:
        """Delete the rows of ``names`` not live at ``now`` and not heard of since
        ``heard_before`` (a row that beat again meanwhile stays). By primary key: only those
        rows are locked. Stored times are whole seconds, so is ``heard_before`` here: a row
        heard of in that very second goes too."""
        names = sorted(names)
        if not names:
            return 0
        stmt = delete(Collector).where(
            Collector.name.in_(names),
            Collector.heartbeat_at <= heard_before,
            Collector.expires_at <= now,
        )
        return int((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]


class LeaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew lease ``name`` for ``holder`` until ``now + ttl``; ``False`` while
        another holder's lease runs."""
        await lock(self.session, name)
        lease = await self.session.get(Lease, name, populate_existing=True)
        if lease is None:  # SQLite: lock() made no row
            await ensure_leases(self.session)
            lease = await self.session.get(Lease, name)
            assert lease is not None
        taken = lease.holder not in (None, holder)
        if taken and lease.expires_at is not None and lease.expires_at > now:
            return False
        lease.holder = holder
        lease.expires_at = whole_second_after(now + ttl)
        await self.session.flush()
        return True

    async def release(self, name: str, holder: str) -> None:
        stmt = update(Lease).where(Lease.name == name, Lease.holder == holder)
        await self.session.execute(stmt.values(holder=None, expires_at=None))

    async def holder(self, name: str, now: datetime) -> str | None:
        lease = await self.session.get(Lease, name)
        if lease is None or lease.expires_at is None or lease.expires_at <= now:
            return None
        return lease.holder


def _table(model: type[Collector] | type[Lease]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _row(c: Collector) -> CollectorRow:
    return CollectorRow(
        name=c.name,
        host=c.host,
        pid=c.pid,
        started_at=c.started_at,
        heartbeat_at=c.heartbeat_at,
        expires_at=c.expires_at,
        only=frozenset(json.loads(c.only)) if c.only else frozenset(),
        inventory=c.inventory,
        pdus=c.pdus,
    )
