"""Power points and reports through the repositories and rollups on a real SQLite database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.errors import UnknownMachine
from powermond.readings import LoadSample, OutletReading
from powermond.report.machine import power_points
from powermond.report.queries import ReportBy, report_rows
from powermond.timeparse import parse_time

from .conftest import STEP, assert_rollup_report_equals_raw, inventory, store, store_load

T0 = datetime(2026, 10, 1, tzinfo=UTC)


async def test_power_points_flag_partial_cycles(db: Database) -> None:
    await store(db, T0, "pdu-a", [OutletReading("1", 100.0, None, None)])
    await store(db, T0, "pdu-b", [OutletReading("1", 150.0, None, None)])
    await store(db, T0 + STEP, "pdu-a", [OutletReading("1", 120.0, None, None)])
    async with db.transaction() as session:
        power = await power_points(session, "wn001", T0, T0 + 2 * STEP)
    assert power.feeds == ("pdu-a:1", "pdu-b:1")
    assert [(p.time, p.watts, p.partial) for p in power.points] == [
        (T0, 250.0, False),
        (T0 + STEP, 120.0, True),
    ]


async def test_unknown_machine(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(UnknownMachine, match="wn999"):
            await power_points(session, "wn999", T0, T0 + STEP)


async def test_dst_day_has_25_hours(db: Database) -> None:
    # 2026-10-25 in Europe/Berlin: 00:00+02:00 to 24:00 (= next 00:00+01:00) is 25 hours.
    since = parse_time("2026-10-25T00:00:00+02:00")
    until = parse_time("2026-10-26T00:00:00+01:00")
    assert since == datetime(2026, 10, 24, 22, tzinfo=UTC)
    start = since - timedelta(hours=1)
    for i in range(int((until - start) / STEP) + 3):
        await store(db, start + i * STEP, "pdu-b", [OutletReading("2", 2000.0, None, None)])
    async with db.transaction() as session:
        rows = await report_rows(session, since, until)
    assert [(r.name, r.method, r.readings) for r in rows] == [("wn003", "integrated", 300)]
    assert rows[0].energy_kwh == pytest.approx(50.0)  # 2 kW x 25 h


async def test_offset_in_since_moves_the_period(db: Database) -> None:
    for i in range(48):
        watts = 1000.0 if i < 24 else 3000.0
        await store(db, T0 + i * STEP, "pdu-b", [OutletReading("2", watts, None, None)])
    since = parse_time("2026-10-01T03:00:00+01:00")  # 02:00Z: the 3000 W hour ...
    async with db.transaction() as session:
        rows = await report_rows(session, since, since + timedelta(hours=1))
    assert rows[0].mean_watts == pytest.approx(3000.0)  # ... not the 1000 W one at 03:00Z
    # Twelve readings and the twelve intervals that start in the hour, at 3 kW.
    assert rows[0].readings == 12
    assert rows[0].energy_kwh == pytest.approx(3.0)


async def test_empty_period(db: Database) -> None:
    async with db.transaction() as session:
        assert await report_rows(session, T0, T0 + timedelta(days=1)) == []


async def _random_history(db: Database, hours: int, seed: int) -> None:
    """Three machines, counters with a reset, missed cycles, gaps, a late cycle and a remap."""
    rng = random.Random(seed)
    counters = {"a1": 100.0, "b1": 5.0, "b2": 7.0}
    cycles = [T0 + i * STEP for i in range(hours * 12)]
    late = cycles[40]
    for n, cycle in enumerate(cycles):
        if n == len(cycles) // 2:  # remap: pdu-a:2 moves from wn002 to wn003
            inv = inventory({"wn001": ["pdu-a:1", "pdu-b:1"], "wn003": ["pdu-b:2", "pdu-a:2"]})
            async with db.transaction() as session:
                await apply_inventory(session, inv)
        if 100 <= n < 110 or cycle == late:  # a PDU down for a while; one cycle arrives late
            continue
        a = []
        for label, key in (("1", "a1"), ("2", None)):
            if rng.random() < 0.1:
                continue  # a missed reading of one feed
            watts = rng.uniform(50, 400)
            energy = None
            if key is not None:
                counters[key] += watts * 5 / 60 / 1000
                energy = round(counters[key], 2)  # APC counts in hundredths of a kWh
            a.append(OutletReading(label, watts if rng.random() > 0.05 else None, None, energy))
        await store(db, cycle, "pdu-a", a)
        if n == 60:
            counters["b1"] = 0.0  # an operator reset the B feed's counter
        b = []
        for label, key in (("1", "b1"), ("2", "b2")):
            watts = rng.uniform(50, 400)
            counters[key] += watts * 5 / 60 / 1000
            b.append(OutletReading(label, watts, None, counters[key]))
        await store(db, cycle, "pdu-b", b)
    await store(db, late, "pdu-a", [OutletReading("1", 200.0, None, None)])
    for machine in ("wn001", "wn003"):
        samples = [LoadSample(c, rng.uniform(0, 8), rng.uniform(0, 8), None) for c in cycles]
        await store_load(db, machine, samples[: len(samples) // 2])
        await store_load(db, machine, samples[len(samples) // 3 :])  # overlapping re-import


@pytest.mark.parametrize("by", ["machine", "pdu"])
@pytest.mark.parametrize(
    ("start", "length"),
    [
        (timedelta(0), timedelta(hours=12)),
        (timedelta(minutes=17), timedelta(hours=7, minutes=31)),
        (timedelta(hours=3), timedelta(hours=2)),
        (timedelta(hours=5, minutes=55), timedelta(minutes=20)),
    ],
)
async def test_report_from_rollups_equals_report_from_readings(
    db: Database, by: ReportBy, start: timedelta, length: timedelta
) -> None:
    await _random_history(db, hours=12, seed=6)
    fast = await assert_rollup_report_equals_raw(
        db,
        T0 + start,
        T0 + start + length,
        by,
        compared=("readings", "load_samples", "method"),
        figures=("energy_kwh", "mean_watts", "peak_watts", "mean_load"),
    )
    if by == "machine" and length == timedelta(hours=12):
        # wn001: counters with a reset and gaps; wn002: no counters; wn003: counter + remap.
        assert [(r.name, r.method) for r in fast] == [
            ("wn001", "mixed"),
            ("wn002", "integrated"),
            ("wn003", "mixed"),
        ]
