"""Every repository method against SQLite, MariaDB and PostgreSQL, with real values."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from dbwrites import add_load, add_readings
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.errors import UnknownPdu
from powermond.db.repositories import (
    LoadRepository,
    MachineRepository,
    OutletRepository,
    PduRepository,
    ReadingRepository,
)
from powermond.readings import LoadSample, OutletReading

from .conftest import MakeInventory

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)


@pytest.fixture
async def racked(db: Database, make_inventory: MakeInventory) -> Database:
    """Two PDUs; wn001 fed by both (A and B feed), wn002 by one outlet of a daisy chain."""
    inv = make_inventory(
        {"rack-a1": "192.0.2.10", "rack-b1": "192.0.2.11"},
        {"wn001": ["rack-a1:3", "rack-b1:3"], "wn002": ["rack-a1:2.5"]},
        rrd={"wn001": "Workers/wn001"},
    )
    async with db.transaction() as session:
        await apply_inventory(session, inv)
    return db


def _reading(label: str, watts: float | None, amps: float | None = None) -> OutletReading:
    return OutletReading(label, watts, amps, None if watts is None else watts / 1000)


async def test_pdus_listed_and_got(racked: Database) -> None:
    async with racked.transaction() as session:
        repo = PduRepository(session)
        pdus = await repo.list()
        got = await repo.get("rack-b1")
        missing = await repo.get("nope")
    assert [p.name for p in pdus] == ["rack-a1", "rack-b1"]
    assert got is not None
    assert (got.host, got.port, got.profile, got.snmp_version) == (
        "192.0.2.11",
        161,
        "apc-rpdu2",
        "2c",
    )
    assert got.created_at.tzinfo is UTC
    assert not got.retired
    assert missing is None


async def test_machines_with_their_feeds(racked: Database) -> None:
    async with racked.transaction() as session:
        repo = MachineRepository(session)
        machines = await repo.list()
        wn001 = await repo.get("wn001")
        ids = await repo.ids()
        unknown = await repo.get("nope")
    assert [(m.name, m.outlets, m.rrd) for m in machines] == [
        ("wn001", ("rack-a1:3", "rack-b1:3"), "Workers/wn001"),
        ("wn002", ("rack-a1:2.5",), None),
    ]
    assert wn001 is not None
    assert wn001.outlets == ("rack-a1:3", "rack-b1:3")
    assert sorted(ids) == ["wn001", "wn002"]
    assert len(set(ids.values())) == 2
    assert unknown is None


async def test_add_cycle_creates_outlets_and_reports_latest(racked: Database) -> None:
    async with racked.transaction() as session:
        first = [_reading("3", 120.5, 0.52), _reading("10", None), _reading("2.5", 80.0)]
        assert await add_readings(session, T0, "rack-a1", first) == 3
        second = [_reading("3", 130.0, 0.57), _reading("10", 5.0), _reading("2.5", 81.0)]
        assert await add_readings(session, T0 + STEP, "rack-a1", second[:2]) == 2
        outlets = await OutletRepository(session).list_for_pdu("rack-a1")
    assert [(o.label, o.machine, o.last_time, o.last_watts) for o in outlets] == [
        ("3", "wn001", T0 + STEP, 130.0),
        ("10", None, T0 + STEP, 5.0),  # reported by the PDU, configured for no machine
        ("2.5", "wn002", T0, 80.0),
    ]


async def test_add_cycle_replay_stores_nothing_twice(racked: Database) -> None:
    cycle = [_reading("3", 100.0), _reading("2.5", 50.0)]
    async with racked.transaction() as session:
        assert await add_readings(session, T0, "rack-a1", cycle) == 2
    async with racked.transaction() as session:
        # A replay, with one outlet more than before: only that one is new.
        assert await add_readings(session, T0, "rack-a1", [*cycle, _reading("7", 1.0)]) == 1
        assert await add_readings(session, T0, "rack-a1", cycle) == 0
        # The same outlet twice in one batch keeps the last value, not two rows.
        twice = [_reading("3", 1.0), _reading("3", 2.0)]
        assert await add_readings(session, T0 + STEP, "rack-a1", twice) == 1
        rows = await ReadingRepository(session).between("wn001", T0, T0 + 2 * STEP)
    assert [(r.time, r.watts) for r in rows] == [(T0, 100.0), (T0 + STEP, 2.0)]


async def test_add_cycle_of_unknown_pdu_is_refused(racked: Database) -> None:
    readings = {"rack-a1": [_reading("3", 1.0)], "ghost": [_reading("1", 1.0)]}
    with pytest.raises(UnknownPdu, match="'ghost'"):
        async with racked.transaction() as session:
            await ReadingRepository(session).add_cycle_many(T0, readings)
    async with racked.transaction() as session:  # nothing stored, not even rack-a1's
        outlets = await OutletRepository(session).list_for_pdu("rack-a1")
    assert [(o.label, o.last_time) for o in outlets] == [("3", None), ("2.5", None)]


async def test_between_sums_two_feeds_in_order(racked: Database) -> None:
    async with racked.transaction() as session:
        for i in range(3):
            t = T0 + i * STEP
            await add_readings(session, t, "rack-b1", [_reading("3", 100.0 + i, 0.4)])
            a1 = [_reading("3", 110.0 + i, 0.5), _reading("2.5", 9.0)]
            await add_readings(session, t, "rack-a1", a1)
    async with racked.transaction() as session:
        rows = await ReadingRepository(session).between("wn001", T0 + STEP, T0 + 3 * STEP)
        nothing = await ReadingRepository(session).between("nope", T0, T0 + STEP)
    assert [(r.time, r.pdu, r.outlet, r.watts, r.amps) for r in rows] == [
        (T0 + STEP, "rack-a1", "3", 111.0, 0.5),
        (T0 + STEP, "rack-b1", "3", 101.0, 0.4),
        (T0 + 2 * STEP, "rack-a1", "3", 112.0, 0.5),
        (T0 + 2 * STEP, "rack-b1", "3", 102.0, 0.4),
    ]
    assert rows[0].energy_kwh == pytest.approx(0.111)
    assert rows[0].time.tzinfo is UTC
    assert nothing == []


async def test_times_with_offsets_and_fractions_are_stored_as_utc_seconds(racked: Database) -> None:
    cest = timezone(timedelta(hours=2))
    local = datetime(2026, 10, 1, 14, 0, 0, 700_000, tzinfo=cest)  # 12:00:00.7 UTC
    async with racked.transaction() as session:
        await add_readings(session, local, "rack-a1", [_reading("3", 1.0)])
        assert await add_readings(session, T0, "rack-a1", [_reading("3", 2.0)]) == 0  # same s
        rows = await ReadingRepository(session).between("wn001", T0, T0 + STEP)
    assert [(r.time, r.watts) for r in rows] == [(T0, 1.0)]


async def test_load_add_skips_stored_times(racked: Database) -> None:
    samples = [LoadSample(T0 + i * STEP, 1.0 + i, 0.5, None) for i in range(4)]
    async with racked.transaction() as session:
        repo = LoadRepository(session)
        assert await repo.last_times() == {}
        assert await add_load(session, "wn001", samples[:3]) == 3
    async with racked.transaction() as session:
        repo = LoadRepository(session)
        assert await add_load(session, "wn001", samples[1:]) == 1  # only the new one is added
        assert await add_load(session, "wn001", []) == 0
        assert await repo.last_times() == {"wn001": T0 + 3 * STEP}
        got = await repo.between("wn001", T0 + STEP, T0 + 3 * STEP)
        other = await repo.between("wn002", T0, T0 + 9 * STEP)
    assert got == [LoadSample(T0 + STEP, 2.0, 0.5, None), LoadSample(T0 + 2 * STEP, 3.0, 0.5, None)]
    assert other == []


async def _import_load(db: Database, samples: list[LoadSample]) -> int:
    """One import run: read where the machine's load ends, then add samples (read, then write)."""
    async with db.transaction() as session:
        await LoadRepository(session).last_times()
        await asyncio.sleep(0.05)  # let the other run read too, before either writes
        return await add_load(session, "wn001", samples)


async def test_overlapping_load_imports_store_each_time_once(racked: Database) -> None:
    samples = [LoadSample(T0 + i * STEP, float(i), 0.0, 0.0) for i in range(6)]
    added = await asyncio.gather(
        _import_load(racked, samples[:4]), _import_load(racked, samples[2:])
    )
    async with racked.transaction() as session:
        stored = await LoadRepository(session).between("wn001", T0, T0 + 6 * STEP)
    assert [s.load1 for s in stored] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    # MariaDB's snapshot hides the other run's rows, so both count 4 (see bulk.py); the
    # others wait for the first run's commit and count only their 2 new rows.
    assert sorted(added) == ([4, 4] if racked.dialect == "mysql" else [2, 4])


async def test_ranges_with_fractions_of_a_second_stay_half_open(racked: Database) -> None:
    """Stored times are whole seconds; a bound like "now" has a fraction and must not drop
    the cycle stored at the same second (until) nor take the one before it (since)."""
    half = timedelta(milliseconds=400)
    async with racked.transaction() as session:
        for i in range(3):
            await add_readings(session, T0 + i * STEP, "rack-a1", [_reading("3", 100.0 + i)])
        repo = ReadingRepository(session)
        until_now = await repo.between("wn001", T0, T0 + 2 * STEP + half)
        from_after = await repo.between("wn001", T0 + half, T0 + 3 * STEP)
        load = LoadRepository(session)
        await add_load(session, "wn001", [LoadSample(T0, 1.0, 1.0, 1.0)])
        loads = await load.between("wn001", T0 - STEP, T0 + half)
    assert [r.watts for r in until_now] == [100.0, 101.0, 102.0]
    assert [r.watts for r in from_after] == [101.0, 102.0]
    assert [s.time for s in loads] == [T0]
