"""A migrated database with a small rack, and helpers to write synthetic cycles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

import pytest

from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.migrate import upgrade
from powermond.db.repositories import LoadRepository, ReadingRepository
from powermond.db.rollups import update_load_rollups, update_rollups
from powermond.inventory.model import Inventory, MachineConfig, OutletRef, PduConfig
from powermond.readings import LoadSample, OutletReading

STEP = timedelta(minutes=5)
MAX_GAP = 2 * STEP


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
    await upgrade(sqlite_url)
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
    """What the poll cycle's store step does: readings, then rollups, in one transaction."""
    async with db.transaction() as session:
        await ReadingRepository(session).add_cycle(cycle, pdu, readings)
        await update_rollups(session, cycle, pdu, max_gap=MAX_GAP)


async def store_load(db: Database, machine: str, samples: Sequence[LoadSample]) -> None:
    async with db.transaction() as session:
        await LoadRepository(session).add(machine, samples)
        await update_load_rollups(session, machine, samples)
