"""A migrated database of each kind, and inventories built from the pydantic models."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from powermond.db.engine import Database
from powermond.inventory.model import Inventory, MachineConfig, OutletRef, PduConfig
from schema_clone import migrated


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A fresh database of each kind, at the newest revision (tests/schema_clone.py)."""
    await migrated(db_url)
    database = Database.from_url(db_url)
    try:
        yield database
    finally:
        await database.dispose()


MakeInventory = Callable[..., Inventory]


async def stored_readings(db: Database) -> list[tuple[object, ...]]:
    """Every reading as stored, times as epoch seconds and values as floats whatever the
    schema's column types."""
    async with db.transaction() as session:
        rows = await session.execute(
            text("SELECT outlet_id, cycle, machine_id, watts, amps, energy_kwh FROM power_reading")
        )
        found = []
        for outlet, cycle, *rest in rows:
            if isinstance(cycle, str):  # SQLite's DATETIME text before revision 0005
                cycle = datetime.fromisoformat(cycle)
            if isinstance(cycle, datetime):
                cycle = int(cycle.replace(tzinfo=UTC).timestamp())
            machine, *values = rest  # integer thousandths from revision 0005 on
            values = [v / 1000 if isinstance(v, int) else v for v in values]
            found.append((outlet, int(cycle), machine, *values))
    return sorted(found)


@pytest.fixture
def make_inventory() -> MakeInventory:
    return _inventory


def _inventory(
    pdus: dict[str, str], machines: dict[str, list[str]], rrd: dict[str, str] | None = None
) -> Inventory:
    """``pdus``: name -> host; ``machines``: name -> ["pdu:label", ...]."""
    return Inventory(
        pdus={
            name: PduConfig(name=name, host=host, profile="apc-rpdu2")
            for name, host in pdus.items()
        },
        machines={
            name: MachineConfig(
                name=name,
                outlets=tuple(OutletRef(pdu=o.split(":")[0], label=o.split(":")[1]) for o in outs),
                rrd=(rrd or {}).get(name),
            )
            for name, outs in machines.items()
        },
    )
