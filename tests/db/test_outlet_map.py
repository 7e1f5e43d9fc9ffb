"""The outlets a writer keeps between cycles (db.outlet_map), on SQLite, MariaDB and
PostgreSQL: a remap by another collector's apply, an outlet added by another writer, and a
write that rolled back after adding outlets are all seen by the next cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.migrate import current_revision, downgrade, head_revision, migrate
from powermond.db.outlet_map import KEEP_FOR, OutletMap
from powermond.db.repositories import ReadingRepository
from powermond.db.tables import Machine, Outlet, OutletMapVersion, Pdu, PowerReading
from powermond.readings import OutletReading, OutletReadings
from powermond.report.queries import report_rows

from .conftest import MakeInventory

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
STEP = timedelta(seconds=300)
PDUS = {"pdu0": "192.0.2.1", "pdu1": "192.0.2.2"}


def _readings(*labels: str) -> dict[str, OutletReadings]:
    return {
        pdu: OutletReadings([OutletReading(label, 100.0, 0.5, 1.0) for label in labels])
        for pdu in PDUS
    }


async def _machines_of(db: Database, cycle: datetime) -> dict[tuple[str, str], str | None]:
    """(pdu, label) -> the machine each reading of ``cycle`` was stored under."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(Pdu.name, Outlet.label, Machine.name)
            .select_from(PowerReading)
            .join(Outlet, Outlet.id == PowerReading.outlet_id)
            .join(Pdu, Pdu.id == Outlet.pdu_id)
            .outerjoin(Machine, Machine.id == PowerReading.machine_id)
            .where(PowerReading.cycle == cycle)
        )
        return {(pdu, label): machine for pdu, label, machine in rows}


async def _version(db: Database) -> int | None:
    async with db.transaction() as session:
        return await session.scalar(select(OutletMapVersion.version))


async def test_a_remap_by_another_collector_reaches_the_next_cycle(
    db: Database, make_inventory: MakeInventory
) -> None:
    other = Database.from_url(db.engine.url)  # a second collector on the same database
    try:
        async with db.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, {"a": ["pdu0:1"]}))
        assert await store_cycle(db, T0, _readings("1", "2"), interval=300) == 4
        before = await _version(db)
        async with other.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, {"b": ["pdu0:1", "pdu1:2"]}))
        assert await _version(db) == (before or 0) + 1
        assert await store_cycle(db, T0 + STEP, _readings("1", "2"), interval=300) == 4
        assert await _machines_of(db, T0) == {
            ("pdu0", "1"): "a", ("pdu0", "2"): None, ("pdu1", "1"): None, ("pdu1", "2"): None,
        }  # fmt: skip
        assert await _machines_of(db, T0 + STEP) == {
            ("pdu0", "1"): "b", ("pdu0", "2"): None, ("pdu1", "1"): None, ("pdu1", "2"): "b",
        }  # fmt: skip
        # An apply that changes no outlet leaves the version (and the kept outlets) alone.
        async with other.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, {"b": ["pdu0:1", "pdu1:2"]}))
        assert await _version(db) == (before or 0) + 1
    finally:
        await other.dispose()


async def test_outlets_added_elsewhere_or_rolled_back_are_read_again(
    db: Database, make_inventory: MakeInventory
) -> None:
    other = Database.from_url(db.engine.url)
    try:
        async with db.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, {"a": ["pdu0:1"]}))
        assert await store_cycle(db, T0, _readings("1"), interval=300) == 2
        # Another writer meets outlet 2 first and adds it (unmapped): this one finds it.
        assert await store_cycle(other, T0 + STEP, _readings("1", "2"), interval=300) == 4
        assert await store_cycle(db, T0 + 2 * STEP, _readings("1", "2"), interval=300) == 4
        # A write that adds outlet 3 and rolls back keeps nothing of it.
        with pytest.raises(RuntimeError):
            await _fail_after_readings(db, T0 + 3 * STEP, _readings("3"))
        assert await store_cycle(db, T0 + 3 * STEP, _readings("1", "2", "3"), interval=300) == 6
        found = await _machines_of(db, T0 + 3 * STEP)
        assert found == {(p, label): ("a" if (p, label) == ("pdu0", "1") else None)
                         for p in PDUS for label in ("1", "2", "3")}  # fmt: skip
    finally:
        await other.dispose()


async def _fail_after_readings(
    db: Database, cycle: datetime, readings: dict[str, OutletReadings]
) -> None:
    async with db.transaction() as session:
        await ReadingRepository(session).add_cycle_many(cycle, readings)
        raise RuntimeError("the cycle fails after its readings")


async def _report(db_url: str) -> list[object]:
    async with Database.from_url(db_url) as db, db.transaction() as session:
        return list(await report_rows(session, T0 - STEP, T0 + 10 * STEP))


async def test_migration_0011_keeps_every_report_and_starts_the_version(
    db_url: str, make_inventory: MakeInventory
) -> None:
    await migrate(db_url)  # this version writes the open hours of 0012: history made there
    async with Database.from_url(db_url) as db:
        async with db.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, {"a": ["pdu0:1", "pdu1:1"]}))
        for n in range(3):
            await store_cycle(db, T0 + n * STEP, _readings("1", "2"), interval=300)
    await downgrade(db_url, "0010")
    before = await _report(db_url)
    assert before  # machine a, with energy
    await migrate(db_url)
    assert await current_revision(db_url) == head_revision()
    assert await _report(db_url) == before
    async with Database.from_url(db_url) as db:
        assert await _version(db) == 0
        await store_cycle(db, T0 + 3 * STEP, _readings("1", "2"), interval=300)
        async with db.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, {"a": ["pdu0:1"]}))
        assert await _version(db) == 1
    after = await _report(db_url)
    await downgrade(db_url, "0010")
    assert await current_revision(db_url) == "0010"
    assert await _report(db_url) == after
    await migrate(db_url)
    assert await _report(db_url) == after


def test_kept_outlets_answer_only_at_their_version() -> None:
    kept = OutletMap()
    kept.at(7)
    labels = ("1", "2", "inlet")
    kept.put(7, 10, {"1": (101, 5), "2": (102, None), "inlet": (103, None)}, labels)
    assert kept.get(7, 10, labels) == [(101, 5), (102, None), (103, None)]
    assert kept.get(7, 10, ["2", "1"]) == [(102, None), (101, 5)]  # another order, a subset
    assert kept.get(7, 10, ("1", "4")) is None  # an outlet it does not know
    assert kept.get(7, 11, labels) is None  # a PDU it does not know
    assert kept.get(8, 10, labels) is None  # read at another version
    kept.put(6, 11, {"1": (111, None)})  # read at an older version: not kept
    kept.at(7)
    assert kept.get(7, 11, ("1",)) is None
    assert len(kept) == 1
    kept.at(8)  # the version moved: nothing is kept
    assert len(kept) == 0
    assert kept.get(8, 10, labels) is None
    kept.put(8, 10, {"1": (101, 5)})
    for _ in range(KEEP_FOR - 1):
        kept.at(8)
    assert len(kept) == 1
    kept.at(8)  # read again every KEEP_FOR cycles, whatever the version says
    assert len(kept) == 0
    kept.at(None)  # no version row: nothing is ever kept
    kept.put(None, 10, {"1": (101, 5)})
    assert len(kept) == 0
