"""Collector rows, leases and locks against SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from powermond.db.collectors import (
    CONFIG_LOCK,
    IMPORT_LEASE,
    CollectorRepository,
    Heartbeat,
    LeaseRepository,
    db_now,
    lock,
)
from powermond.db.engine import Database

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=4.5)


def beat(name: str, *, pid: int = 100, only: frozenset[str] = frozenset()) -> Heartbeat:
    return Heartbeat(name, "host-" + name, pid, T0, only, "digest", 10)


async def test_heartbeats_expire_leaving_expires_and_forgetting_deletes(db: Database) -> None:
    async with db.transaction() as session:
        repo = CollectorRepository(session)
        await repo.beat(beat("a"), T0, TTL)
        await repo.beat(beat("b", only=frozenset({"rack-2", "rack-1"})), T0, TTL)
    async with db.transaction() as session:
        repo = CollectorRepository(session)
        live = await repo.live(T0 + timedelta(seconds=3))
        assert [r.name for r in live] == ["a", "b"]
        assert live[1].only == {"rack-1", "rack-2"}
        # The deadline is rounded up to a whole second, never down.
        assert live[0].expires_at == T0 + timedelta(seconds=5)
        assert await repo.live(T0 + timedelta(seconds=5)) == []
        await repo.beat(beat("a"), T0 + timedelta(seconds=3), TTL)  # a refresh, not a new row
        assert [r.name for r in await repo.live(T0 + timedelta(seconds=5))] == ["a"]
        await repo.refresh("a", T0 + timedelta(seconds=4), TTL)  # after an overrun
    async with db.transaction() as session:
        repo = CollectorRepository(session)
        row = await repo.get("a")
        assert row is not None
        assert row.expires_at == T0 + timedelta(seconds=9)
        assert row.heartbeat_at == T0 + timedelta(seconds=4)
        assert [r.name for r in await repo.live(T0 + timedelta(seconds=5))] == ["a"]
        left = T0 + timedelta(seconds=6)
        assert not await repo.leave("a", pid=999, now=left)  # another process's row stays
        assert [r.name for r in await repo.live(left)] == ["a"]
        assert await repo.leave("a", pid=100, now=left)  # expired now, remembered
        assert await repo.live(left) == []
        row = await repo.get("a")
        assert row is not None
        assert row.stopped
        assert (row.heartbeat_at, row.expires_at) == (left, left)
        assert [r.name for r in await repo.every()] == ["a", "b"]
        assert not (await repo.every())[1].stopped  # b's heartbeat merely expired
        # Forgotten: only rows not heard of since then.
        assert await repo.forget(["a", "b"], left - timedelta(seconds=1), left) == 1
        assert [r.name for r in await repo.every()] == ["a"]
        assert await repo.forget(["a"], left, left) == 1
        assert await repo.every() == []


async def test_the_import_lease_has_one_holder_until_it_expires(db: Database) -> None:
    ttl = timedelta(seconds=60)

    async def acquire(holder: str, at: datetime) -> bool:
        async with db.transaction() as session:
            return await LeaseRepository(session).acquire(IMPORT_LEASE, holder, at, ttl)

    assert await acquire("a", T0)
    assert not await acquire("b", T0 + timedelta(seconds=30))
    assert await acquire("a", T0 + timedelta(seconds=30))  # renewed: now until +90 s
    assert not await acquire("b", T0 + timedelta(seconds=80))
    assert await acquire("b", T0 + timedelta(seconds=91))  # a's lease ran out
    async with db.transaction() as session:
        leases = LeaseRepository(session)
        assert await leases.holder(IMPORT_LEASE, T0 + timedelta(seconds=100)) == "b"
        await leases.release(IMPORT_LEASE, "a")  # not a's to release
        assert await leases.holder(IMPORT_LEASE, T0 + timedelta(seconds=100)) == "b"
        await leases.release(IMPORT_LEASE, "b")
    assert await acquire("a", T0 + timedelta(seconds=101))


async def test_db_now_is_the_database_clock_in_utc(db: Database) -> None:
    async with db.transaction() as session:
        now = await db_now(session)
    assert now.tzinfo is not None
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    "db_url",
    [
        pytest.param("mariadb", marks=pytest.mark.mariadb),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
    indirect=True,
)
async def test_a_lock_makes_the_second_holder_wait_for_the_first(db: Database) -> None:
    events: list[str] = []
    first_has_it = asyncio.Event()

    async def first() -> None:
        async with db.transaction() as session:
            await lock(session, CONFIG_LOCK)
            first_has_it.set()
            await asyncio.sleep(0.5)
            events.append("first done")

    async def second() -> None:
        await first_has_it.wait()
        async with db.transaction() as session:
            await lock(session, CONFIG_LOCK)
            events.append("second has it")

    await asyncio.wait_for(asyncio.gather(first(), second()), 20)
    assert events == ["first done", "second has it"]
