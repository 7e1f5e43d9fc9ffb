"""A configuration still pending when the database comes back: it is applied before the
write, so readings naming its PDUs are stored, never set aside in ``spool/bad/``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from powermond.collect.store import InventorySync
from powermond.collect.writer import CycleWriter
from powermond.db.engine import Database
from powermond.db.migrate import upgrade
from powermond.inventory.load import load_inventory
from powermond.readings import OutletReading
from powermond.spool import Spool

pytestmark = pytest.mark.timeout(60)

CYCLE = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
READINGS = {"rack-a1": [OutletReading("1", 120.0, 0.5, 10.0), OutletReading("2", 80.0, 0.4, 5.0)]}


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "etc"
    directory.mkdir()
    pdus = '[pdu.rack-a1]\nhost = "192.0.2.10"\nprofile = "apc-rpdu2"\n'
    (directory / "pdus.toml").write_text(pdus)
    (directory / "machines.toml").write_text('[machine."wn001"]\noutlets = ["rack-a1:1"]\n')
    return directory


async def _stored(db: Database) -> int:
    async with db.transaction() as session:
        return int((await session.execute(text("SELECT count(*) FROM power_reading"))).scalar_one())


async def test_a_pending_configuration_is_applied_before_the_write(
    config_dir: Path, tmp_path: Path, sqlite_url: str
) -> None:
    await upgrade(sqlite_url)
    db = Database.from_url(sqlite_url)
    try:
        sync = InventorySync(db)
        sync._pending = load_inventory(config_dir)  # an apply the database missed
        spool = Spool(tmp_path / "spool", 10)
        writer = CycleWriter(db, spool, interval=300)
        writer.prepare = sync.apply_pending
        assert await writer.write(CYCLE, READINGS) == 2
        assert await _stored(db) == 2
        assert len(spool) == 0
    finally:
        await db.dispose()


async def test_spooled_cycles_of_a_pending_configuration_are_not_set_aside(
    config_dir: Path, tmp_path: Path, sqlite_url: str
) -> None:
    # The database came back after the cycle's apply failed: the spooled cycle and the new
    # one name PDUs it does not know yet. Applied first, both are stored; nothing in bad/.
    await upgrade(sqlite_url)
    db = Database.from_url(sqlite_url)
    try:
        sync = InventorySync(db)
        sync._pending = load_inventory(config_dir)
        spool = Spool(tmp_path / "spool", 10)
        spool.put(CYCLE, READINGS)  # spooled while the database was away
        writer = CycleWriter(db, spool, interval=300)
        writer.prepare = sync.apply_pending
        assert await writer.write(CYCLE.replace(minute=5), READINGS) == 2
        assert await _stored(db) == 4
        assert len(spool) == 0
        assert not spool.bad_directory.exists() or not any(spool.bad_directory.iterdir())
    finally:
        await db.dispose()
