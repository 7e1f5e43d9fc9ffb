"""Collectors writing their shares of one cycle at the same moment, on the server databases.

A machine's A and B feeds may be on PDUs that two collectors poll: its hourly peak is the
highest sum of both feeds in a cycle, which only the writer that comes second can see. The
cycle-write lock makes the second wait for the first, and then read its rows.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.reports import ReportRepository
from powermond.db.repositories import MachineRepository
from powermond.db.rollups import MachinePeakHourly, close_hours_before
from powermond.readings import OutletReading

from .conftest import MakeInventory

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
PDUS = {f"pdu-{i}": f"192.0.2.{i + 1}" for i in range(6)}
# Each machine is fed by two PDUs that different collectors write.
MACHINES = {f"wn{i}": [f"pdu-{i}:1", f"pdu-{(i + 3) % 6}:1"] for i in range(3)}
SERVERS = pytest.mark.parametrize(
    "db_url",
    [
        pytest.param("mariadb", marks=pytest.mark.mariadb),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
    indirect=True,
)


def watts(pdu: int, cycle: int) -> float:
    return 100.0 + 10 * pdu + ((cycle * 7 + pdu * 3) % 11)


@SERVERS
async def test_peaks_sum_feeds_written_by_two_collectors_at_once(
    db: Database, make_inventory: MakeInventory
) -> None:
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory(PDUS, MACHINES))
    other = Database.from_url(db.engine.url.render_as_string(hide_password=False))
    cycles = 12  # one hour
    try:
        for n in range(cycles):
            readings = {f"pdu-{i}": [OutletReading("1", watts(i, n), None, None)] for i in range(6)}
            first = {p: r for p, r in readings.items() if int(p[-1]) < 3}
            second = {p: r for p, r in readings.items() if int(p[-1]) >= 3}
            t = T0 + n * STEP
            await asyncio.wait_for(
                asyncio.gather(
                    store_cycle(db, t, first, interval=300),
                    store_cycle(other, t, second, interval=300),
                ),
                30,
            )
    finally:
        await other.dispose()
    hour = T0.replace(minute=0)
    async with db.transaction() as session:
        ids = await MachineRepository(session).ids()
        # The hour is still open (not due): read from the raw readings, as reports do ...
        read = await ReportRepository(session).hourly_peaks(hour, hour + timedelta(hours=1))
        await close_hours_before(session, hour + timedelta(hours=1))  # ... and rolled up
        stored = {
            row.machine_id: row.peak_mw / 1000
            for row in await session.scalars(select(MachinePeakHourly))
        }
    for i in range(3):
        want = max(watts(i, n) + watts((i + 3) % 6, n) for n in range(cycles))
        assert stored[ids[f"wn{i}"]] == pytest.approx(want), f"wn{i}"
        assert read[("machine", ids[f"wn{i}"], hour)] == pytest.approx(want), f"wn{i}"
