"""Bulk writes (db.bulk) and the batched cycle write, on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Table, func, select

from powermond.db import bulk
from powermond.db.apply import apply_inventory
from powermond.db.bulk import insert_new, upsert
from powermond.db.engine import Database
from powermond.db.errors import DatabaseError, DatabaseUnavailable, UnknownPdu
from powermond.db.repositories import ReadingRepository
from powermond.db.rollups import MachinePeakHourly, PowerHourly
from powermond.db.tables import Outlet, PowerReading
from powermond.readings import OutletReading

from .conftest import MakeInventory

T0 = datetime(2026, 10, 1, 12, 0, 30, 500_000, tzinfo=UTC)  # a fraction: stored cut to seconds
HOUR = datetime(2026, 10, 1, 12, tzinfo=UTC)


def _table(model: type[PowerHourly] | type[MachinePeakHourly]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


@pytest.fixture
async def racked(db: Database, make_inventory: MakeInventory) -> Database:
    pdus = {f"pdu{i}": "192.0.2.1" for i in range(3)}
    machines = {"wn001": ["pdu0:1", "pdu1:1"], "wn002": ["pdu2:1"]}
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory(pdus, machines))
    return db


async def _outlet_ids(db: Database) -> list[int]:
    async with db.transaction() as session:
        return list((await session.scalars(select(Outlet.id).order_by(Outlet.id))).all())


def _hourly(
    outlet_id: int, machine_id: int | None, **values: float | int | None
) -> dict[str, object]:
    row: dict[str, object] = {
        "outlet_id": outlet_id,
        "machine_id": machine_id or 0,
        "hour": HOUR,
        "readings": 1,
        "watts_count": 0,
        "watts_sum": 0,
        "watts_peak": None,
        "counter_wh": 0,
        "counter_intervals": 0,
        "integrated_hmj": 0,
        "integrated_intervals": 0,
    }
    row.update(values)
    return row


async def test_upsert_adds_and_keeps_the_larger(racked: Database) -> None:
    first, second, third = (await _outlet_ids(racked))[:3]
    ph = _table(PowerHourly)
    rows = [
        _hourly(first, None, watts_count=1, watts_sum=10500, watts_peak=10500),
        _hourly(second, None, watts_peak=None),  # unmapped: machine_id 0 keys the row
        _hourly(third, None, watts_peak=7000),
    ]
    more = [
        _hourly(
            first,
            None,
            watts_count=1,
            watts_sum=20250,
            watts_peak=20250,
            counter_wh=500,
            counter_intervals=1,
        ),
        _hourly(second, None, watts_peak=3000),  # NULL peak then 3 W -> 3 W
        _hourly(third, None, watts_peak=None),  # 7 W then no watts -> 7 W
    ]
    async with racked.transaction() as session:
        for batch in (rows, more):
            await upsert(
                session,
                ph,
                batch,
                ("hour", "outlet_id", "machine_id"),
                add=("readings", "watts_count", "watts_sum", "counter_wh", "counter_intervals"),
                greatest=("watts_peak",),
            )
        await upsert(
            session,
            _table(MachinePeakHourly),
            [{"machine_id": 1, "hour": HOUR, "peak_mw": 300_000}],
            ("hour", "machine_id"),
            greatest=("peak_mw",),
        )
        await upsert(
            session,
            _table(MachinePeakHourly),
            [{"machine_id": 1, "hour": HOUR, "peak_mw": 200_000}],
            ("hour", "machine_id"),
            greatest=("peak_mw",),
        )
    async with racked.transaction() as session:
        found = {r.outlet_id: r for r in (await session.scalars(select(PowerHourly))).all()}
        peak = await session.scalar(select(MachinePeakHourly.peak_mw))
    assert len(found) == 3
    assert (found[first].readings, found[first].watts_count, found[first].watts_sum) == (
        2,
        2,
        30750,
    )
    assert (found[first].watts_peak, found[first].counter_wh, found[first].counter_intervals) == (
        20250,
        500,
        1,
    )
    assert (found[second].readings, found[second].watts_peak) == (2, 3000)
    assert found[third].watts_peak == 7000
    assert found[first].hour == HOUR
    assert peak == 300_000


async def test_insert_new_returns_only_new_rows(racked: Database) -> None:
    ids = await _outlet_ids(racked)
    table = PowerReading.__table__
    assert isinstance(table, Table)
    rows = [
        {
            "cycle": T0,
            "outlet_id": o,
            "machine_id": None,
            "watts": 1.0,
            "amps": None,
            "energy_kwh": None,
        }
        for o in ids
    ]
    async with racked.transaction() as session:
        first = await insert_new(
            session, table, rows[:2], ("outlet_id", "cycle"), scope={"cycle": T0}
        )
        again = await insert_new(session, table, rows, ("outlet_id", "cycle"), scope={"cycle": T0})
        plain = await insert_new(
            session,
            table,
            [{**rows[0], "cycle": T0 + timedelta(minutes=5)}, rows[1]],
            ("outlet_id", "cycle"),
        )
    assert [r["outlet_id"] for r in first] == ids[:2]
    assert [r["outlet_id"] for r in again] == ids[2:]
    assert [r["outlet_id"] for r in plain] == ids[:1]


async def test_add_cycle_many_stores_every_pdu_once(racked: Database) -> None:
    readings = {
        "pdu0": [OutletReading("1", 100.0, 0.5, 1.25), OutletReading("9", 5.0, None, None)],
        "pdu1": [OutletReading("1", 80.0, None, None), OutletReading("1", 90.0, None, None)],
        "pdu2": [],
    }
    async with racked.transaction() as session:
        stored = await ReadingRepository(session).add_cycle_many(T0, readings)
    assert stored.cycle == T0.replace(microsecond=0)
    assert stored.added == 3  # pdu1:1 read twice: the last reading counts
    async with racked.transaction() as session:
        found = await session.execute(
            select(PowerReading.watts, PowerReading.outlet_id, PowerReading.machine_id)
        )
        by_watts = {w: (o, m) for w, o, m in found}
        pdu_of = dict((await session.execute(select(Outlet.id, Outlet.pdu_id))).tuples().all())
    assert sorted(by_watts) == [5.0, 90.0, 100.0]
    assert by_watts[5.0][1] is None  # outlet 9: created unmapped
    assert by_watts[100.0][1] == by_watts[90.0][1] is not None  # wn001's feeds
    assert pdu_of[by_watts[100.0][0]] != pdu_of[by_watts[90.0][0]]
    async with racked.transaction() as session:
        again = await ReadingRepository(session).add_cycle_many(T0, readings)
        count = await session.scalar(select(func.count()).select_from(PowerReading))
    assert (again.added, count) == (0, 3)


async def test_a_cycle_in_multi_row_statements_stores_each_reading_once(
    racked: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's new readings go in INSERTs of several rows each (bulk.SQLITE_ROWS_PER_INSERT),
    the batch's last ones one per statement: every reading stored once, as given, on every
    database (the others take their own paths)."""
    monkeypatch.setattr(bulk, "SQLITE_ROWS_PER_INSERT", 3)
    monkeypatch.setattr(bulk, "ROWS_PER_BATCH", 7)  # 2 statements of 3 rows, 1 of 1, ...
    readings = {
        f"pdu{p}": [OutletReading(str(o), 10.0 * p + o, o / 8, None) for o in range(1, 7)]
        for p in range(3)
    }  # 18 readings, 15 of outlets nobody configured
    async with racked.transaction() as session:
        stored = await ReadingRepository(session).add_cycle_many(T0, readings)
    assert stored.added == 18
    async with racked.transaction() as session:
        found = (await session.execute(select(PowerReading.watts, PowerReading.amps))).all()
        again = await ReadingRepository(session).add_cycle_many(T0, readings)
    assert sorted(found) == sorted((10.0 * p + o, o / 8) for p in range(3) for o in range(1, 7))
    assert again.added == 0


@pytest.mark.parametrize(
    "db_url", [pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True
)
async def test_mariadb_takes_new_rows_as_integer_literals_and_nothing_else(
    racked: Database,
) -> None:
    """MariaDB's new readings go in as literal VALUES lists (bulk._insert_integers): a row
    holding anything but integers and None is refused before anything is sent."""
    ids = await _outlet_ids(racked)
    names = ("cycle", "outlet_id", "machine_id", "watts", "amps", "energy_kwh")
    t, table, key = int(T0.timestamp()), PowerReading.__table__, ("outlet_id", "cycle")
    async with racked.transaction() as session:
        rows = [(t, ids[0], None, 5000, -1, None), (t, ids[1], None, 7, None, 2**40)]
        await bulk.insert_rows(session, table, names, rows, key, new=True)
        found = await session.execute(select(PowerReading.amps, PowerReading.energy_kwh))
        assert sorted(found.tuples().all(), key=str) == sorted(
            [(-0.001, None), (None, 2**40 / 1000)], key=str
        )
        for bad in [(t, ids[2], None, 1.5, None, None), (t, ids[2], None, "1); --", None, None)]:
            with pytest.raises(ValueError, match="integers"):
                await bulk.insert_rows(session, table, names, [bad], key, new=True)


async def test_add_cycle_many_refuses_an_unknown_pdu_whole(racked: Database) -> None:
    readings = {
        "pdu0": [OutletReading("1", 1.0, None, None)],
        "ghost": [OutletReading("1", 1.0, None, None)],
    }
    with pytest.raises(UnknownPdu, match="ghost"):
        async with racked.transaction() as session:
            await ReadingRepository(session).add_cycle_many(T0, readings)
    async with racked.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(PowerReading)) == 0


@pytest.mark.parametrize(
    "db_url",
    [
        pytest.param("mariadb", marks=pytest.mark.mariadb),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
    indirect=True,
)
async def test_a_reading_the_database_refuses_is_a_refusal_not_an_outage(
    racked: Database,
) -> None:
    """PostgreSQL gets a cycle's readings by COPY: a value out of its column's range is
    refused as through SQLAlchemy (the writer then stores the cycle PDU by PDU), not taken
    for a lost connection (which would spool the cycle for ever)."""
    huge = OutletReading("1", 100.0, None, 1e17)  # kWh: 1e20 Wh, beyond a BIGINT
    with pytest.raises(DatabaseError) as refused:
        async with racked.transaction() as session:
            await ReadingRepository(session).add_cycle_many(T0, {"pdu0": [huge]})
    assert not isinstance(refused.value, DatabaseUnavailable)
    async with racked.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(PowerReading)) == 0
