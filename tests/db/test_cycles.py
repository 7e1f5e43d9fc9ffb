"""The cycle table: its repository on every database, and migration 0004's back-fill."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from powermond.db.cycles import DAEMON, POLL, CycleRepository
from powermond.db.engine import Database
from powermond.db.migrate import migrate
from powermond.db.rows import CycleRow

from .conftest import stored_readings

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
migration_0004 = importlib.import_module("powermond.db.migrations.versions.0004_cycle")


def _row(t: datetime, collector: str, origin: str = DAEMON, interval: float = 300) -> CycleRow:
    return CycleRow(t, collector, origin, interval, 10, 1, 480, 1.5)


async def test_several_collectors_record_one_time(db: Database) -> None:
    async with db.transaction() as session:
        cycles = CycleRepository(session)
        assert await cycles.last() is None
        for i in range(3):
            t = T0 + timedelta(minutes=5 * i)
            await cycles.add(_row(t, "c1"))
            await cycles.add(_row(t, "c2"))
        await cycles.add(_row(T0 + timedelta(minutes=5), "c2", POLL, interval=10))
        await cycles.add(_row(T0 + timedelta(minutes=20), "c1", POLL, interval=10))
    async with db.transaction() as session:
        cycles = CycleRepository(session)
        last = await cycles.last()
        assert last == _row(T0 + timedelta(minutes=20), "c1", POLL, interval=10)
        assert await cycles.last("c2") == _row(T0 + timedelta(minutes=10), "c2")
        per = await cycles.last_per_collector()
        assert {k: (v.time, v.origin) for k, v in per.items()} == {
            "c1": (T0 + timedelta(minutes=20), POLL),
            "c2": (T0 + timedelta(minutes=10), DAEMON),
        }
        # A poll's row at a daemon cycle's time leaves that cycle's interval alone.
        assert await cycles.interval_at(T0 + timedelta(minutes=5)) == 300
        assert await cycles.interval_at(T0 + timedelta(minutes=20)) == 10
        assert await cycles.interval_at(T0 + timedelta(minutes=1)) is None
        assert await cycles.longest_interval() == 300
        assert await cycles.times_between(T0, T0 + timedelta(minutes=10)) == 2
        spacing = await cycles.spacing(T0, T0 + timedelta(minutes=1))
    assert spacing.interval_at(T0 + timedelta(minutes=10)) == 300
    assert spacing.max_gap(T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)) == timedelta(
        minutes=10
    )


async def test_a_second_write_of_one_key_adds_its_counts(db: Database) -> None:
    async with db.transaction() as session:
        await CycleRepository(session).add(_row(T0, "c1", POLL))
        await CycleRepository(session).add(_row(T0, "c1", POLL))
    async with db.transaction() as session:
        last = await CycleRepository(session).last()
    assert last is not None
    assert (last.pdus_polled, last.pdus_failed, last.readings) == (20, 2, 960)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([], []),
        ([0], [300.0]),
        ([0, 300, 600, 7800, 8100], [300.0, 300.0, 300.0, 300.0, 300.0]),  # a 2 h outage
        ([0, 5, 10, 15, 300], [5.0, 5.0, 5.0, 5.0, 285.0]),
        ([0, 900, 1800, 2700, 9000], [900.0, 900.0, 900.0, 900.0, 900.0]),  # 15 min site
    ],
)
def test_backfilled_interval_estimates(steps: list[int], expected: list[float]) -> None:
    times = [T0 + timedelta(seconds=s) for s in steps]
    assert migration_0004.estimated_intervals(times) == expected


async def test_migration_backfills_cycles_from_readings(db_url: str) -> None:
    await migrate(db_url, "0003")
    naive = T0.replace(tzinfo=None)
    times = [naive + timedelta(seconds=s) for s in (0, 300, 600, 7800, 8100)]
    db = Database.from_url(db_url)
    try:
        async with db.transaction() as session:
            await session.execute(sa.text(
                "INSERT INTO pdu (id, name, host, port, profile, snmp_version, created_at)"
                " VALUES (1, 'p1', 'h', 161, 'apc-rpdu2', '2c', :t), (2, 'p2', 'h', 161,"
                " 'apc-rpdu2', '2c', :t)"
            ), {"t": naive})  # fmt: skip
            await session.execute(sa.text(
                "INSERT INTO outlet (id, pdu_id, label)"
                " VALUES (1, 1, '1'), (2, 1, '2'), (3, 2, '1')"
            ))  # fmt: skip
            reading = sa.table("power_reading", sa.column("cycle", sa.DateTime()),
                               sa.column("outlet_id"), sa.column("watts"))  # fmt: skip
            rows = [{"cycle": t, "outlet_id": o, "watts": 100.0}
                    for t in times for o in ((1, 2, 3) if t != times[2] else (1,))]  # fmt: skip
            await session.execute(sa.insert(reading), rows)
        before = await stored_readings(db)
        await db.dispose()  # no connection (nor statement cache) outlives the new schema
        await migrate(db_url)
        assert await stored_readings(db) == before  # every reading, as it was
        async with db.transaction() as session:
            spacing = await CycleRepository(session).spacing(T0, T0 + timedelta(hours=3))
            last = await CycleRepository(session).last()
        assert dict(spacing.intervals) == {naive.replace(tzinfo=UTC) + (t - naive): 300.0
                                           for t in times}  # fmt: skip
        assert last is not None
        assert (last.time, last.origin, last.pdus_polled, last.readings) == (
            times[-1].replace(tzinfo=UTC),
            DAEMON,
            2,
            3,
        )
    finally:
        await db.dispose()
