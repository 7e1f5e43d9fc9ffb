"""A cycle spooled while the database was away is recorded, when replayed, as it really was:
the PDUs it polled and those that failed, how long it took (issue 10). Files spooled before
the cycle's info was kept stay readable and are replayed too."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from powermond.collect.store import CycleInfo
from powermond.collect.writer import CycleWriter
from powermond.db.apply import apply_inventory
from powermond.db.cycles import DAEMON, default_collector
from powermond.db.engine import Database
from powermond.db.rows import CycleRow
from powermond.db.tables import Cycle, PowerReading
from powermond.readings import OutletReading
from powermond.spool import Spool

from .conftest import MakeInventory

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
PDUS = {"a": "192.0.2.1", "b": "192.0.2.2", "c": "192.0.2.3", "d": "192.0.2.4"}


def rows(count: int) -> list[OutletReading]:
    return [OutletReading(str(n), 100.0 + n, 0.5, None) for n in range(1, count + 1)]


def refused_url() -> str:
    """A database URL on 127.0.0.1 where nothing listens (a port just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/powermon"


async def cycle_rows(db: Database) -> list[CycleRow]:
    async with db.transaction() as session:
        found = await session.scalars(select(Cycle).order_by(Cycle.time))
        return [
            CycleRow(c.time, c.collector, c.origin, c.interval_s, c.pdus_polled, c.pdus_failed,
                     c.readings, c.seconds)
            for c in found
        ]  # fmt: skip


async def test_a_replayed_cycle_records_its_failed_pdus(
    db: Database, make_inventory: MakeInventory, tmp_path: Path
) -> None:
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory(PDUS, {}))
    spool_dir = tmp_path / "spool"
    # The database is away: the daemon's cycle (two PDUs answered, two did not) is spooled.
    async with Database.from_url(refused_url(), timeout=5) as away:
        writer = CycleWriter(away, Spool(spool_dir, max_cycles=10), interval=300)
        info = CycleInfo(failed=2, seconds=1.5)
        assert await writer.write(T0, {"a": rows(3), "b": rows(2)}, info) is None
        assert writer.fate == "spooled (1 waiting)"
    # A file as versions before the cycle's info wrote them: the same, without "info".
    Spool(spool_dir, max_cycles=10).put(T0 + STEP, {"c": rows(4)})
    # The daemon restarts with the database back: the next cycle drains the spool first.
    writer = CycleWriter(db, Spool(spool_dir, max_cycles=10), interval=300)
    assert await writer.write(T0 + 2 * STEP, {"d": rows(1)}, CycleInfo(failed=3)) == 1
    assert writer.spooled == 0

    me = default_collector()
    assert await cycle_rows(db) == [
        CycleRow(T0, me, DAEMON, 300.0, 4, 2, 5, 1.5),
        CycleRow(T0 + STEP, me, DAEMON, 300.0, 1, 0, 4, None),  # nothing more was known
        CycleRow(T0 + 2 * STEP, me, DAEMON, 300.0, 4, 3, 1, None),
    ]
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(PowerReading)) == 10
