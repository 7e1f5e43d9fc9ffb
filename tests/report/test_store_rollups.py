"""Reports over cycles written as the daemon writes them (collect.store.store_cycle: all
PDUs in one transaction, rollups added per cycle): from rollups == from raw readings."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.readings import OutletReading
from powermond.report.queries import ReportBy

from .conftest import STEP, assert_rollup_report_equals_raw, inventory

T0 = datetime(2026, 10, 1, tzinfo=UTC)
INTERVAL = STEP.total_seconds()


async def _history(db: Database, hours: int, seed: int) -> None:
    """Counters with a reset, missed readings, a PDU down, a remap, a late cycle, a replay,
    and one cycle stored PDU by PDU (as `powermon poll --pdu` would)."""
    rng = random.Random(seed)
    counters = {"a1": 100.0, "b1": 5.0, "b2": 7.0}
    cycles = [T0 + i * STEP for i in range(hours * 12)]
    late: dict[datetime, dict[str, list[OutletReading]]] = {}
    previous: dict[str, list[OutletReading]] = {}
    for n, cycle in enumerate(cycles):
        if n == len(cycles) // 2:  # remap: pdu-a:2 moves from wn002 to wn003
            inv = inventory({"wn001": ["pdu-a:1", "pdu-b:1"], "wn003": ["pdu-b:2", "pdu-a:2"]})
            async with db.transaction() as session:
                await apply_inventory(session, inv)
        if n == 60:
            counters["b1"] = 0.0  # an operator reset the B feed's counter
        readings: dict[str, list[OutletReading]] = {"pdu-a": [], "pdu-b": []}
        for pdu, label, key in (("pdu-a", "1", "a1"), ("pdu-a", "2", None),
                                ("pdu-b", "1", "b1"), ("pdu-b", "2", "b2")):  # fmt: skip
            if rng.random() < 0.08:
                continue
            watts = rng.uniform(50, 400)
            energy = None
            if key is not None:
                counters[key] += watts * INTERVAL / 3600 / 1000
                energy = round(counters[key], 2)
            shown = watts if rng.random() > 0.05 else None
            readings[pdu].append(OutletReading(label, shown, None, energy))
        if 100 <= n < 110:
            del readings["pdu-b"]  # PDU down
        if n in (40, 41):
            late[cycle] = readings
        elif n == 70:
            for pdu, rows in readings.items():
                await store_cycle(db, cycle, {pdu: rows}, interval=INTERVAL)
        else:
            await store_cycle(db, cycle, readings, interval=INTERVAL)
        if n == 80:  # a replay of the previous cycle (spool after an ambiguous commit)
            assert await store_cycle(db, cycles[79], previous, interval=INTERVAL) == 0
        previous = readings
    for cycle, readings in late.items():
        await store_cycle(db, cycle, readings, interval=INTERVAL)


@pytest.mark.parametrize("by", ["machine", "pdu"])
@pytest.mark.parametrize(
    ("start", "length"),
    [
        (timedelta(0), timedelta(hours=12)),
        (timedelta(minutes=17), timedelta(hours=7, minutes=31)),
        (timedelta(hours=3), timedelta(hours=2)),
    ],
)
async def test_report_from_cycle_rollups_equals_report_from_readings(
    db: Database, by: ReportBy, start: timedelta, length: timedelta
) -> None:
    await _history(db, hours=12, seed=11)
    fast = await assert_rollup_report_equals_raw(
        db,
        T0 + start,
        T0 + start + length,
        by,
        compared=("readings", "method"),
        figures=("energy_kwh", "mean_watts", "peak_watts"),
    )
    if by == "machine" and length == timedelta(hours=12):
        assert [(r.name, r.method) for r in fast] == [
            ("wn001", "mixed"),
            ("wn002", "integrated"),
            ("wn003", "mixed"),
        ]
