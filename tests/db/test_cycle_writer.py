"""The daemon's CycleWriter on each real database (issue 13): a refused PDU does not sink
the others' readings, and what it keeps in ``spool/bad/`` is that PDU's alone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from powermond.collect.writer import CycleWriter
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.repositories import ReadingRepository
from powermond.db.rows import StoredCycle
from powermond.db.tables import PowerReading
from powermond.readings import OutletReading
from powermond.spool import Spool

from .conftest import MakeInventory

CYCLE = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def rows(count: int) -> list[OutletReading]:
    return [OutletReading(str(n), 100.0 + n, 0.5, None) for n in range(1, count + 1)]


async def test_a_refused_pdu_goes_to_bad_and_the_others_are_stored(
    db: Database, make_inventory: MakeInventory, tmp_path: Path
) -> None:
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory({"a": "192.0.2.1", "b": "192.0.2.2"}, {}))
    spool = Spool(tmp_path / "spool", max_cycles=10)
    writer = CycleWriter(db, spool, interval=300)
    # "ghost" is in no inventory the database knows: the database refuses its rows.
    readings = {"a": rows(3), "ghost": rows(2), "b": rows(4)}

    assert await writer.write(CYCLE, readings) == 7
    assert writer.fate == "7 stored, 1 PDU(s) refused (kept in spool/bad/)"
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(PowerReading)) == 7
    assert len(spool) == 0  # nothing waits: the refused PDU is not replayed
    (bad,) = (tmp_path / "spool" / "bad").iterdir()
    assert list(json.loads(bad.read_text())["pdus"]) == ["ghost"]


@pytest.mark.parametrize(("pause", "stored"), [(0.25, True), (3.0, False)])
async def test_a_long_cycle_is_stored_while_the_database_answers(
    db: Database,
    make_inventory: MakeInventory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pause: float,
    stored: bool,
) -> None:
    """``[database] timeout`` is how long the database may stay silent, not how long a cycle
    may take: a cycle of over 2 s whose statements are answered within 0.25 s is stored with
    a 1 s bound (a loaded server may take a few hundred ms per statement), while one
    statement left 3 s without answer spools the cycle."""
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory({"a": "192.0.2.1"}, {}))
    real = ReadingRepository.add_cycle_many

    async def slow(
        self: ReadingRepository, cycle: datetime, readings: Mapping[str, Sequence[OutletReading]]
    ) -> StoredCycle:
        for _ in range(8 if stored else 1):
            await asyncio.sleep(pause)  # the database working on a statement
            await self.session.execute(text("SELECT 1"))
        return await real(self, cycle, readings)

    monkeypatch.setattr(ReadingRepository, "add_cycle_many", slow)
    spool = Spool(tmp_path / "spool", max_cycles=10)
    writer = CycleWriter(db.with_timeout(1.0), spool, interval=300)

    added = await writer.write(CYCLE, {"a": rows(3)})

    assert (added, len(spool)) == ((3, 0) if stored else (None, 1))
    async with db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(PowerReading))
    assert count == (3 if stored else 0)


async def test_a_long_copy_is_stored_while_its_batches_are_answered(
    db: Database, make_inventory: MakeInventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL takes a cycle's readings by ``COPY``, past SQLAlchemy's cursor: each batch
    the server acknowledges is a sign of life too, so a COPY of 2 s in batches answered
    within 0.25 s is stored with a 1 s bound (10,000 PDUs' 480,000 readings take longer
    than the default 10 s on a loaded server)."""
    if db.dialect != "postgresql":
        pytest.skip("COPY is the PostgreSQL store's path")
    import asyncpg  # type: ignore[import-untyped]

    from powermond.db import bulk

    async with db.transaction() as session:
        await apply_inventory(session, make_inventory({"a": "192.0.2.1"}, {}))
    monkeypatch.setattr(bulk, "ROWS_PER_BATCH", 1)  # COPY batches of 4 rows
    real = asyncpg.Connection.copy_records_to_table
    batches: list[int] = []

    async def slow(self: object, *args: object, **kw: object) -> object:
        await asyncio.sleep(0.25)  # the server working on a batch
        batches.append(1)
        return await real(self, *args, **kw)

    monkeypatch.setattr(asyncpg.Connection, "copy_records_to_table", slow)
    spool = Spool(tmp_path / "spool", max_cycles=10)
    writer = CycleWriter(db.with_timeout(1.0), spool, interval=300)

    added = await writer.write(CYCLE, {"a": rows(32)})

    assert len(batches) >= 8
    assert (added, len(spool)) == (32, 0)
    async with db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(PowerReading))
    assert count == 32
