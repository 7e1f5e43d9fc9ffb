"""The collectors a cluster ranks the PDUs over: live ones and departed ones remembered for
``forget_after``, read from a real database by :class:`powermond.cluster.Cluster`."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from powermond.cluster import Cluster, Identity
from powermond.collect.assign import Member, share
from powermond.db.collectors import CollectorRepository, CollectorRow, db_now
from powermond.db.engine import Database
from powermond.errors import PowermonError
from powermond.inventory.model import Inventory

from .conftest import MakeInventory

PDUS = [f"pdu{i:02d}" for i in range(30)]
INTERVAL = 1.0  # heartbeats live 1.5 s
FORGET_AFTER = 5.0  # seconds: well after the heartbeat expired (rounded up to a second)
STARTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def inventory(make_inventory: MakeInventory) -> Inventory:
    return make_inventory(dict.fromkeys(PDUS, "192.0.2.1"), {})


def collector(db: Database, name: str, *, host: str | None = None, pid: int = 4242) -> Cluster:
    me = Identity(name, host or f"{name}.example.org", pid, STARTED, frozenset())
    return Cluster(db, me, INTERVAL, 600, FORGET_AFTER)


async def row(db: Database, name: str) -> CollectorRow | None:
    async with db.transaction() as session:
        return await CollectorRepository(session).get(name)


async def until_database_time(db: Database, moment: datetime) -> None:
    """Wait until the database's clock has passed ``moment`` (a bounded loop)."""
    for _ in range(400):
        async with db.transaction() as session:
            if await db_now(session) > moment:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the database clock never reached {moment}")


async def polled(cluster: Cluster, inventory: Inventory) -> set[str]:
    return set((await cluster.share(inventory)).pdus)


async def test_a_departed_collector_is_remembered_until_forget_after(
    db: Database, inventory: Inventory
) -> None:
    a, b = collector(db, "a"), collector(db, "b")
    await b.share(inventory)  # b beats first: a counts it
    both = await polled(a, inventory)
    assert both == share(PDUS, [Member("a"), Member("b")], "a")
    assert (a.members, a.known) == (("a", "b"), ("a", "b"))

    # b dies: once its heartbeat expired, a polls everything, and still ranks over b.
    beaten = await row(db, "b")
    assert beaten is not None
    await until_database_time(db, beaten.expires_at)
    assert await polled(a, inventory) == set(PDUS)
    assert (a.members, a.known) == (("a",), ("a", "b"))

    # b returns: a's share is the one it had before, exactly.
    await b.share(inventory)
    assert await polled(a, inventory) == both

    # b stops: its row stays, expired, and a takes its PDUs at once.
    await b.leave()
    left = await row(db, "b")
    assert left is not None
    assert left.stopped
    assert await polled(a, inventory) == set(PDUS)
    assert (a.members, a.known) == (("a",), ("a", "b"))

    # Not heard of for forget_after: forgotten, its row deleted.
    await until_database_time(db, left.heartbeat_at + timedelta(seconds=FORGET_AFTER))
    assert await polled(a, inventory) == set(PDUS)
    assert (a.members, a.known) == (("a",), ("a",))
    assert await row(db, "b") is None


async def test_a_new_collector_polls_both_shares_in_the_cycle_it_is_seen(
    db: Database, inventory: Inventory
) -> None:
    # A name never seen changes the ranking. The others read the rows at slightly different
    # moments, so some may rank over the old set in that cycle: each one that sees the new
    # set polls its old share too, so that no PDU is polled by nobody.
    a, b, c = collector(db, "a"), collector(db, "b"), collector(db, "c")
    await b.share(inventory)
    await a.share(inventory)
    old = share(PDUS, [Member("a"), Member("b")], "a")
    new = share(PDUS, [Member("a"), Member("b"), Member("c")], "a")
    assert new - old == set()  # a only gives PDUs away: to c and (the bound) to b
    assert old - new - share(PDUS, [Member("a"), Member("b"), Member("c")], "c")  # to b
    assert await polled(a, inventory) == old
    await c.share(inventory)
    assert await polled(a, inventory) == old | new  # the cycle the set changed
    assert await polled(a, inventory) == new


@pytest.fixture
def powermon_process() -> Iterator[int]:
    """A live process whose command line says powermon (not this test's process)."""
    with subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "powermond"]
    ) as process:
        try:
            yield process.pid
        finally:
            process.kill()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_stopped_collector_of_the_same_name_does_not_block_a_start(
    db: Database, inventory: Inventory, powermon_process: int
) -> None:
    # Its row is kept now: a restart must not take the pid in it (another PowerMon process
    # on this host may have it by now) for a daemon still running.
    host = socket.gethostname()
    old = collector(db, "twin", host=host, pid=powermon_process)
    await old.share(inventory)
    with pytest.raises(PowermonError, match="already running"):
        await collector(db, "twin", host=host, pid=os.getpid()).join()
    await old.leave()
    await collector(db, "twin", host=host, pid=os.getpid()).join()


async def test_a_stopping_collector_beats_no_more_once_it_left(
    db: Database, inventory: Inventory
) -> None:
    # The daemon leaves as soon as it starts no more cycles, while the one in flight still
    # polls: that cycle's share (and an overrun's second beat) must not make it live again,
    # or the others would leave its PDUs to it for a cycle it does not poll.
    a, b = collector(db, "a"), collector(db, "b")
    await b.share(inventory)
    mine = await polled(a, inventory)
    await a.leave()
    assert await polled(a, inventory) == mine  # the cycle in flight: the share it had
    await a.beat_again()
    left = await row(db, "a")
    assert left is not None
    assert left.stopped
    assert await polled(b, inventory) == set(PDUS)  # b takes a's PDUs at its next cycle
    await a.leave()  # at exit again: nothing more
    assert await row(db, "a") == left


async def test_a_leave_waits_for_a_beat_under_way(db: Database, inventory: Inventory) -> None:
    # A stop that comes while the cycle starting then beats: the expiry lands after it.
    a = collector(db, "a")
    beat = asyncio.create_task(a.share(inventory))
    for _ in range(1000):  # until the beat has begun (holds the rows' turn)
        if a._rows.locked():
            break
        await asyncio.sleep(0)
    assert a._rows.locked()
    await a.leave()
    await beat
    left = await row(db, "a")
    assert left is not None
    assert left.stopped
