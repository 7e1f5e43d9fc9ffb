"""Migration 0005 (compact readings) keeps every reading, on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from powermond.cli import main
from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.migrate import current_revision, downgrade, head_revision, migrate
from powermond.readings import OutletReading

from .conftest import MakeInventory, stored_readings

T0 = datetime(2026, 10, 1, 10, 40, tzinfo=UTC)
PDUS = {"pdu-a": "192.0.2.1", "pdu-b": "192.0.2.2"}
MACHINES = {"wn001": ["pdu-a:1", "pdu-b:1"], "wn002": ["pdu-a:2"]}


@pytest.mark.timeout(240)
async def test_downgrade_and_upgrade_keep_every_reading_and_the_report(
    db_url: str,
    make_inventory: MakeInventory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await migrate(db_url)
    db = Database.from_url(db_url)
    try:
        async with db.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, MACHINES))
        counter = 100.0
        for n in range(72):  # six hours; cycle 30 missing, pdu-b down for cycles 40..44
            if n == 30:
                continue
            counter += 0.03
            cycle = T0 + timedelta(seconds=300 * n)
            readings = {
                "pdu-a": [OutletReading("1", 100.0 + n, 0.5, counter),
                          OutletReading("2", 50.0 + n % 7, None, None)],
                "pdu-b": [OutletReading("1", 200.0 - n, 0.9, None)],
            }  # fmt: skip
            if 40 <= n < 45:
                del readings["pdu-b"]
            await store_cycle(db, cycle, readings, interval=300)
        before = await stored_readings(db)
    finally:
        await db.dispose()
    config = tmp_path / "etc"
    config.mkdir()
    (config / "powermon.toml").write_text(f'[database]\nurl = "{db_url}"\n')

    async def report() -> str:
        argv = ["--config-dir", str(config), "report", "--since", "2026-10-01T10:07Z",
                "--until", "2026-10-01T16:03Z", "--format", "json"]  # fmt: skip
        assert await asyncio.to_thread(main, argv) == 0
        return capsys.readouterr().out

    report_before = await report()
    assert len(json.loads(report_before)["rows"]) == 2
    assert len(before) == 71 * 3 - 5

    await downgrade(db_url, "0004")  # back to DATETIME times and a surrogate id ...
    assert await current_revision(db_url) == "0004"
    db = Database.from_url(db_url)
    try:
        assert await stored_readings(db) == before
    finally:
        await db.dispose()
    await migrate(db_url)  # ... and forward again: the readings and the report are the same
    assert await current_revision(db_url) == head_revision()
    db = Database.from_url(db_url)
    try:
        assert await stored_readings(db) == before
    finally:
        await db.dispose()
    assert await report() == report_before
