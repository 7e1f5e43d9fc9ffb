"""A configuration still pending when the database comes back: readings naming its PDUs are
kept (written after the apply, or spooled), never set aside in ``spool/bad/``."""

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


async def test_readings_of_a_pdu_not_applied_yet_wait_in_the_spool(
    config_dir: Path, tmp_path: Path, sqlite_url: str
) -> None:
    await upgrade(sqlite_url)
    db = Database.from_url(sqlite_url)
    try:
        spool = Spool(tmp_path / "spool", 10)
        writer = CycleWriter(db, spool, interval=300)  # nothing applies the configuration
        assert await writer.write(CYCLE, READINGS) is None
        assert len(spool) == 1
        assert not any(spool.bad_directory.glob("*")) if spool.bad_directory.exists() else True
        assert await InventorySync(db).apply(load_inventory(config_dir))
        later = CYCLE.replace(minute=5)
        assert await writer.write(later, READINGS) == 2  # the new cycle's rows
        assert await _stored(db) == 4  # and the spooled cycle's
        assert len(spool) == 0
    finally:
        await db.dispose()
