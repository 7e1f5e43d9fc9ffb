"""Writes that only tests make, through the repositories' real API: one PDU's readings of a
cycle, one machine's load samples by name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.repositories import LoadRepository, MachineRepository, ReadingRepository
from powermond.db.rows import LoadRow
from powermond.readings import LoadSample, OutletReading


async def add_readings(
    session: AsyncSession, cycle: datetime, pdu: str, readings: Sequence[OutletReading]
) -> int:
    """Store one PDU's readings of one cycle (no rollups); how many were new."""
    return (await ReadingRepository(session).add_cycle_many(cycle, {pdu: readings})).added


async def add_load(session: AsyncSession, machine: str, samples: Sequence[LoadSample]) -> int:
    """Store a stored machine's load samples (no rollups); how many were new."""
    machine_id = (await MachineRepository(session).ids())[machine]
    rows = [LoadRow(machine_id, s.time, s.load1, s.load5, s.load15) for s in samples]
    return await LoadRepository(session).add_many(rows)
