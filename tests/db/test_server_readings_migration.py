"""Migration 0008 (4-byte reading times on the servers, InnoDB's key order) keeps every
reading and every report, on SQLite (a no-op), MariaDB and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection

from powermond.cli import main
from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database, create_engine
from powermond.db.errors import DatabaseError
from powermond.db.migrate import current_revision, downgrade, head_revision, migrate
from powermond.db.tables import Outlet, PowerReading
from powermond.readings import OutletReading

from .conftest import MakeInventory, stored_readings

T0 = datetime(2026, 10, 1, 10, 40, tzinfo=UTC)
PDUS = {"pdu-a": "192.0.2.1", "pdu-b": "192.0.2.2"}
MACHINES = {"wn001": ["pdu-a:1", "pdu-b:1"], "wn002": ["pdu-a:2"]}
# Times far from today's, written in the old shape as plain epoch seconds: the last second
# a signed 32-bit count holds (PostgreSQL's INTEGER), then two past it (MariaDB's INT
# UNSIGNED holds them, to 2106).
LAST_INT4 = datetime(2038, 1, 19, 3, 14, 7, tzinfo=UTC)
FAR = (LAST_INT4, datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC), datetime(2100, 6, 30, tzinfo=UTC))


async def _schema(url: str) -> tuple[list[str], str, list[tuple[str, list[str]]]]:
    """power_reading's primary key, cycle column type, and indexes, as the database has them."""

    def read(connection: Connection) -> tuple[list[str], str, list[tuple[str, list[str]]]]:
        found = inspect(connection)
        key = found.get_pk_constraint("power_reading")["constrained_columns"]
        (cycle,) = [c for c in found.get_columns("power_reading") if c["name"] == "cycle"]
        indexes = found.get_indexes("power_reading")
        unsigned = " UNSIGNED" if getattr(cycle["type"], "unsigned", False) else ""
        return (
            key,
            f"{cycle['type']}{unsigned}",
            sorted((i["name"], i["column_names"]) for i in indexes),
        )

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


@pytest.mark.timeout(240)
async def test_downgrade_and_upgrade_keep_every_reading_and_the_report(
    db_url: str, make_inventory: MakeInventory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await migrate(db_url)
    async with Database.from_url(db_url) as db:
        async with db.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, MACHINES))
        counter = 100.0
        for n in range(36):  # three hours; cycle 10 missing, pdu-b down for cycles 20..24
            if n == 10:
                continue
            counter += 0.03
            readings = {
                "pdu-a": [OutletReading("1", 100.0 + n, 0.5, counter),
                          OutletReading("2", 50.0 + n % 7, None, None)],
                "pdu-b": [OutletReading("1", 200.0 - n, 0.9, None)],
            }  # fmt: skip
            if 20 <= n < 25:
                del readings["pdu-b"]
            await store_cycle(db, T0 + timedelta(seconds=300 * n), readings, interval=300)
        before = await stored_readings(db)
    assert len(before) == 35 * 3 - 5
    config = tmp_path / "etc"
    config.mkdir()
    (config / "powermon.toml").write_text(f'[database]\nurl = "{db_url}"\n')

    async def report() -> str:
        argv = ["--config-dir", str(config), "report", "--since", "2026-10-01T10:07Z",
                "--until", "2026-10-01T13:43Z", "--by", "pdu", "--format", "json"]  # fmt: skip
        assert await asyncio.to_thread(main, argv) == 0
        return capsys.readouterr().out

    report_before = await report()
    assert len(json.loads(report_before)["rows"]) == 2

    await downgrade(db_url, "0007")  # the shape 0005 made: BIGINT seconds since 1970
    old_schema = await _schema(db_url)
    assert old_schema[1] == "BIGINT"
    async with Database.from_url(db_url) as db:
        assert await stored_readings(db) == before
        async with db.transaction() as session:  # readings the old shape wrote, by hand
            outlet = await session.scalar(select(Outlet.id).where(Outlet.label == "2"))
            await session.execute(
                text("INSERT INTO power_reading (outlet_id, cycle, watts) VALUES (:o, :t, :w)"),
                [
                    {"o": outlet, "t": int(t.timestamp()), "w": 1000 * (1 + i)}
                    for i, t in enumerate(FAR)
                ],
            )
        old_rows = await stored_readings(db)

    if old_schema[1] == "BIGINT" and "postgresql" in db_url:
        # Past 2038 PostgreSQL's INTEGER cannot hold the time: the upgrade is refused, and
        # changes nothing; without those readings it goes through.
        with pytest.raises(DatabaseError, match="out of range"):
            await migrate(db_url)
        assert await current_revision(db_url) == "0007"
        async with Database.from_url(db_url) as db:
            assert await stored_readings(db) == old_rows
            async with db.transaction() as session:
                await session.execute(
                    text("DELETE FROM power_reading WHERE cycle > :t"),
                    {"t": int(LAST_INT4.timestamp())},
                )
            old_rows = await stored_readings(db)
        kept = FAR[:1]
    else:
        kept = FAR
    await migrate(db_url)
    assert await current_revision(db_url) == head_revision()
    key, cycle_type, indexes = await _schema(db_url)
    async with Database.from_url(db_url) as db:
        assert await stored_readings(db) == old_rows  # every reading, every value
        async with db.transaction() as session:
            far = await session.execute(
                select(PowerReading.cycle, PowerReading.watts)
                .where(PowerReading.cycle >= FAR[0])
                .order_by(PowerReading.cycle)
            )
            assert far.all() == [(t, 1.0 + i) for i, t in enumerate(kept)]
            raw = await session.scalar(text("SELECT MAX(cycle) FROM power_reading"))
        dialect = db.dialect
    assert await report() == report_before
    if dialect == "postgresql":  # 0015: keyed by cycle, no other index
        assert (key, cycle_type) == (["cycle", "outlet_id"], "INTEGER")
        assert raw == int(LAST_INT4.timestamp())  # seconds since 1970, as everywhere
        assert indexes == []
    elif dialect == "mysql":
        assert (key, cycle_type) == (["cycle", "outlet_id"], "INTEGER UNSIGNED")
        assert raw == int(FAR[2].timestamp())
        assert indexes == []  # 0014: no index by outlet
    else:  # SQLite: 0008 changes nothing; 0013 keys the readings by cycle, no index
        assert old_schema == (
            ["outlet_id", "cycle"],
            "BIGINT",
            [("ix_power_reading_cycle", ["cycle"])],
        )
        assert (key, cycle_type, indexes) == (["cycle", "outlet_id"], "BIGINT", [])
        assert raw == int(FAR[2].timestamp())
