"""A migrated database with a small rack, and helpers to write synthetic cycles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

import pytest

from dbwrites import add_load, add_readings
from powermond.db.apply import apply_inventory
from powermond.db.cycles import DAEMON, CycleRepository
from powermond.db.engine import Database
from powermond.db.repositories import MachineRepository
from powermond.db.rollups import add_cycle, close_due_hours, update_load_rollups_for
from powermond.db.rows import CycleRow, StoredCycle
from powermond.inventory.model import Inventory, MachineConfig, OutletRef, PduConfig
from powermond.readings import LoadSample, OutletReading
from powermond.report.power import ReportRow
from powermond.report.queries import ReportBy, report_rows
from schema_clone import migrated

STEP = timedelta(minutes=5)


def inventory(machines: dict[str, list[str]]) -> Inventory:
    """``machines``: name -> ["pdu:label", ...]; the PDUs are made up from the outlets."""
    pdus = sorted({ref.split(":")[0] for outs in machines.values() for ref in outs})
    return Inventory(
        pdus={p: PduConfig(name=p, host="192.0.2.1", profile="apc-rpdu2") for p in pdus},
        machines={
            name: MachineConfig(
                name=name,
                outlets=tuple(OutletRef(pdu=o.split(":")[0], label=o.split(":")[1]) for o in outs),
            )
            for name, outs in machines.items()
        },
    )


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    await migrated(sqlite_url)  # at the newest revision (tests/schema_clone.py)
    database = Database.from_url(sqlite_url)
    try:
        async with database.transaction() as session:
            await apply_inventory(
                session,
                inventory(
                    {"wn001": ["pdu-a:1", "pdu-b:1"], "wn002": ["pdu-a:2"], "wn003": ["pdu-b:2"]}
                ),
            )
        yield database
    finally:
        await database.dispose()


async def store(
    db: Database,
    cycle: datetime,
    pdu: str,
    readings: Sequence[OutletReading],
) -> None:
    """What the poll cycle's store step does: readings, the cycle's row (recorded at
    ``STEP``), the hours they change marked open, then the hours that are due rolled up
    (here in the same transaction)."""
    async with db.transaction() as session:
        added = await add_readings(session, cycle, pdu, readings)
        row = CycleRow(cycle, "test", DAEMON, STEP.total_seconds(), 1, 0, added)
        await CycleRepository(session).add(row)
        await add_cycle(session, StoredCycle(cycle, added))
        await close_due_hours(session)


async def store_load(db: Database, machine: str, samples: Sequence[LoadSample]) -> None:
    async with db.transaction() as session:
        await add_load(session, machine, samples)
        machine_id = (await MachineRepository(session).ids()).get(machine)
        assert machine_id is not None
        times = [s.time for s in samples]
        await update_load_rollups_for(session, [machine_id], min(times), max(times))


async def assert_rollup_report_equals_raw(
    db: Database,
    since: datetime,
    until: datetime,
    by: ReportBy,
    *,
    compared: tuple[str, ...],
    figures: tuple[str, ...],
) -> list[ReportRow]:
    """The report from hourly rollups equals the one from raw readings; returns its rows.

    ``compared``: fields that must be equal; ``figures``: floats equal to 1e-9.
    """
    async with db.transaction() as session:
        fast = await report_rows(session, since, until, by=by)
        slow = await report_rows(session, since, until, by=by, use_rollups=False)
    assert [r.name for r in fast] == [r.name for r in slow]
    assert len(fast) >= 2
    for f, s in zip(fast, slow, strict=True):
        assert [getattr(f, c) for c in compared] == [getattr(s, c) for c in compared]
        for figure in figures:
            expected = getattr(s, figure)
            assert getattr(f, figure) == (expected and pytest.approx(expected, rel=1e-9)), figure
    return fast
