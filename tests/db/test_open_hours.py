"""Open hours (db.rollups, migration 0012): an hour's rollups are written once, when it is
due; until then, and after a late write reopens it, readers compute its rows from the raw
readings. Reports, peaks and a plot's hourly rows must be the same either way, on SQLite,
MariaDB and PostgreSQL; a daily close and pruning roll up the open hours they need first.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from powermond.cli import main
from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.daily import POWER, close_days, closed_days, day_of
from powermond.db.engine import Database
from powermond.db.migrate import current_revision, downgrade, head_revision, migrate
from powermond.db.reports import ReportRepository
from powermond.db.repositories import MachineRepository, ReadingRepository
from powermond.db.retention import prune
from powermond.db.rollups import add_cycle, close_due_hours, recompute
from powermond.energy import hour_of
from powermond.report.queries import report_rows

from .conftest import MakeInventory
from .test_cycle_rollups import (
    INTERVAL,
    MACHINES,
    PDUS,
    REMAPPED,
    STEP,
    T0,
    History,
    assert_same,
    expected_figures,
    open_hours,
    stored_figures,
    stored_rows,
)

HOUR = timedelta(hours=1)
ELEVEN = hour_of(T0) + HOUR  # T0 is 10:40
H11 = int(ELEVEN.timestamp()) // 3600


@pytest.fixture
async def racked(db: Database, make_inventory: MakeInventory) -> Database:
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory(PDUS, MACHINES))
    return db


async def store(db: Database, history: History, cycles: range, skip: tuple[int, ...] = ()) -> None:
    for n in cycles:
        readings = history.cycle(n)
        if n not in skip:
            await store_cycle(db, T0 + n * STEP, readings, interval=INTERVAL)


async def store_open(db: Database, n: int, history: History) -> None:
    """Cycle ``n`` written as the writer's transaction writes it, without the close after."""
    async with db.transaction() as session:
        stored = await ReadingRepository(session).add_cycle_many(T0 + n * STEP, history.cycle(n))
        await add_cycle(session, stored)


async def reports(db: Database, since: datetime, until: datetime) -> tuple[object, object]:
    """The report from the rollups (open hours from the raw readings) and from the raw
    readings alone, by machine and by PDU."""
    async with db.transaction() as session:
        found = []
        for use_rollups in (True, False):
            rows = [
                await report_rows(session, since, until, by=by, use_rollups=use_rollups)
                for by in ("machine", "pdu")
            ]
            found.append(rows)
    return found[0], found[1]


def assert_near(got: object, want: object) -> None:
    """Reports from the rollups against reports from the raw readings: the same rows and
    figures, floating-point sums equal to rounding (the raw path adds floats in Python)."""
    assert isinstance(got, list)
    assert isinstance(want, list)
    assert len(got) == len(want)
    for mine, theirs in zip(got, want, strict=True):
        if isinstance(mine, list):
            assert_near(mine, theirs)
            continue
        for name in mine.__dataclass_fields__:  # type: ignore[attr-defined]
            value, wanted = getattr(mine, name), getattr(theirs, name)
            if isinstance(wanted, float):
                assert value == pytest.approx(wanted, rel=1e-9), (mine.name, name)
            else:
                assert value == wanted, (mine.name, name)


async def plot_rows(db: Database, since: datetime, until: datetime) -> list[object]:
    async with db.transaction() as session:
        repo = ReportRepository(session)
        wn001 = (await MachineRepository(session).ids())["wn001"]
        return [
            await repo.feed_hours(wn001, since, until),
            await repo.machine_peak_hours(wn001, since, until),
        ]


async def test_an_open_hour_is_read_from_its_raw_readings(racked: Database) -> None:
    await store(racked, History(11), range(18))  # 10:40 .. 12:05: 11:00 is not due yet
    assert await open_hours(racked) == [H11, H11 + 1]
    assert not [r for r in (await stored_rows(racked))["power_hourly"] if r[3] == H11]
    # Rows an hour had before a write reopened it are stale: never read while it is open.
    async with racked.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO power_hourly (hour, outlet_id, machine_id, readings, watts_count,"
                " watts_sum, watts_peak, counter_wh, counter_intervals, integrated_hmj,"
                " integrated_intervals) SELECT :h, id, 0, 1, 1, 9999999, 9999999, 5, 1, 5, 1"
                " FROM outlet"
            ),
            {"h": H11},
        )
        await session.execute(
            text(
                "INSERT INTO machine_peak_hourly (hour, machine_id, peak_mw) SELECT :h, id,"
                " 9999999 FROM machine"
            ),
            {"h": H11},
        )
    assert_same(await stored_figures(racked), await expected_figures(racked))
    from_rollups, from_raw = await reports(racked, hour_of(T0), ELEVEN + 2 * HOUR)
    assert_near(from_rollups, from_raw)
    plotted = await plot_rows(racked, hour_of(T0), ELEVEN + 2 * HOUR)
    assert len(plotted[1]) == 3  # 10:00 (closed), 11:00 and 12:00 (open)
    async with racked.transaction() as session:
        await recompute(session, ELEVEN, ELEVEN + 2 * HOUR)  # rolled up: the same figures
    assert await open_hours(racked) == []
    assert await plot_rows(racked, hour_of(T0), ELEVEN + 2 * HOUR) == plotted
    assert await reports(racked, hour_of(T0), ELEVEN + 2 * HOUR) == (from_rollups, from_raw)


async def test_an_hour_closes_when_no_reading_can_change_it(racked: Database) -> None:
    """At 300 s, intervals up to 600 s are bridged: 11:00's rollups can change until a
    cycle after 12:10 is stored (12:10's interval from 11:55, or a reading at 12:05 after
    one at 11:55 and none at 12:00)."""
    history = History(12)
    await store(racked, history, range(19))  # to 12:10
    assert H11 in await open_hours(racked)
    await store(racked, history, range(19, 20))  # 12:15
    assert await open_hours(racked) == [H11 + 1]
    closed = await stored_rows(racked, [H11 + 1])
    assert [r for r in closed["power_hourly"] if r[3] == H11]
    async with racked.transaction() as session:
        await recompute(session, ELEVEN, ELEVEN + HOUR)
    assert await stored_rows(racked, [H11 + 1]) == closed


async def test_a_late_cycle_reopens_a_closed_hour(racked: Database) -> None:
    history = History(13)
    cycles = {n: history.cycle(n) for n in range(24)}
    late = 8  # 11:20
    for n, readings in cycles.items():
        if n != late:
            await store_cycle(racked, T0 + n * STEP, readings, interval=INTERVAL)
    assert H11 not in await open_hours(racked)
    before = await stored_rows(racked, await open_hours(racked))
    async with racked.transaction() as session:  # the late cycle, its close not yet run
        stored = await ReadingRepository(session).add_cycle_many(T0 + late * STEP, cycles[late])
        await add_cycle(session, stored)
    assert H11 in await open_hours(racked)
    assert await stored_rows(racked, await open_hours(racked)) != before  # 11:00 left out
    assert_same(await stored_figures(racked), await expected_figures(racked))
    from_rollups, from_raw = await reports(racked, T0, T0 + 2 * HOUR)
    assert_near(from_rollups, from_raw)
    async with racked.transaction() as session:
        assert await close_due_hours(session) == 1
    assert H11 not in await open_hours(racked)
    assert_same(await stored_figures(racked), await expected_figures(racked))
    assert await reports(racked, T0, T0 + 2 * HOUR) == (from_rollups, from_raw)
    still_open = await open_hours(racked)  # 12:00
    rows = await stored_rows(racked, still_open)
    async with racked.transaction() as session:
        await recompute(session, T0, T0 + 3 * HOUR)
    assert await stored_rows(racked, still_open) == rows


async def test_a_day_with_an_open_hour_is_closed_with_the_hour_rolled_up(
    racked: Database,
) -> None:
    history = History(14)
    await store(racked, history, range(19))
    await store_open(racked, 19, history)  # 12:15, stored without its close: 11:00 stays open
    assert H11 in await open_hours(racked)
    before = await reports(racked, hour_of(T0), hour_of(T0) + 3 * HOUR)
    await store_open(racked, 19 + 2 * 288, history)  # two days later: the day can close
    result = await close_days(racked, T0 + timedelta(days=10), grace=timedelta(0), pause=0)
    assert result.closed[POWER] == 1
    async with racked.transaction() as session:
        assert await closed_days(session, POWER, 0, 100_000) == [day_of(T0)]
    assert H11 not in await open_hours(racked)  # the day's hours were rolled up first
    assert await reports(racked, hour_of(T0), hour_of(T0) + 3 * HOUR) == before
    day = hour_of(T0).replace(hour=0)
    from_rollups, from_raw = await reports(racked, day, day + timedelta(days=1))
    assert_near(from_rollups, from_raw)


async def test_prune_rolls_up_the_open_hours_before_their_readings_go(
    racked: Database,
) -> None:
    history = History(15)
    await store(racked, history, range(30))  # to 13:05
    await store_open(racked, 30, history)
    async with racked.transaction() as session:  # 11:00 reopened, as by a late write
        await session.execute(text("INSERT INTO open_hour (hour) VALUES (:h)"), {"h": H11})
    assert H11 in await open_hours(racked)
    since, until = hour_of(T0), ELEVEN + 2 * HOUR
    before = await reports(racked, since, until)
    assert_near(before[0], before[1])
    result = await prune(racked, ELEVEN + 2 * HOUR, None, pause=0)
    assert result.readings > 0
    assert [h for h in await open_hours(racked) if h < H11 + 2] == []
    after, _ = await reports(racked, since, until)  # the raw readings are gone

    def figures(rows: object) -> list[tuple[object, ...]]:  # not the checks: cycles pruned
        return [(r.name, r.energy_kwh, r.mean_watts, r.peak_watts, r.readings, r.method)
                for part in rows for r in part]  # type: ignore[attr-defined]  # fmt: skip

    assert figures(after) == figures(before[0])


async def test_migration_0012_keeps_the_report(
    db_url: str, make_inventory: MakeInventory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await migrate(db_url)
    db = Database.from_url(db_url)
    try:
        async with db.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, MACHINES))
        history = History(16)
        await store(db, history, range(22))  # 10:00, 11:00 rolled up; 12:00 open
        (tmp_path / "powermon.toml").write_text(f'[database]\nurl = "{db_url}"\n')

        def report() -> object:
            argv = ["--config-dir", str(tmp_path), "report", "--format", "json",
                    "--since", T0.isoformat(), "--until", (T0 + 3 * HOUR).isoformat()]  # fmt: skip
            assert main(argv) == 0
            return json.loads(capsys.readouterr().out)

        reported = await asyncio.to_thread(report)
        assert await open_hours(db) != []
        await downgrade(db_url, "0011")  # rolls the open hours up: 0011 reads every hour
        assert await current_revision(db_url) == "0011"
        async with db.transaction() as session:
            hours = await session.scalars(text("SELECT DISTINCT hour FROM power_hourly"))
            assert len(hours.all()) == 3  # 10:00, 11:00 and 12:00 (to 12:25)
        await migrate(db_url)  # 0011 -> 0012: every hour's rows valid, none open
        assert await current_revision(db_url) == head_revision()
        assert await open_hours(db) == []
        assert await asyncio.to_thread(report) == reported
        await store(db, history, range(22, 26))  # and on: 12:00 open again, read from raw
        from_rollups, from_raw = await reports(db, T0, T0 + 3 * HOUR)
        assert_near(from_rollups, from_raw)
    finally:
        await db.dispose()


async def test_a_machines_open_hours_follow_its_outlets_across_a_remap(
    racked: Database, make_inventory: MakeInventory
) -> None:
    """A machine's report and plot read only the outlets that fed it in an open hour: one
    remapped to it mid-hour counts from then on, its earlier readings stay the other
    machine's, and an interval across the remap belongs to its first reading's machine."""
    history = History(17)
    await store(racked, history, range(10))  # to 11:25
    async with racked.transaction() as session:  # pdu-a:2 moves from wn002 to wn003
        await apply_inventory(session, make_inventory(PDUS, REMAPPED))
    await store(racked, history, range(10, 18))  # to 12:05: 11:00 and 12:00 open
    assert H11 in await open_hours(racked)
    since, until = ELEVEN, ELEVEN + HOUR
    async with racked.transaction() as session:
        ids = await MachineRepository(session).ids()
        repo = ReportRepository(session)
        plotted = {m: await repo.feed_hours(ids[m], since, until) for m in ("wn002", "wn003")}
        found = {}
        for machine in ("wn002", "wn003"):
            for use_rollups in (True, False):
                found[(machine, use_rollups)] = await report_rows(
                    session, since, until, machines=[machine], use_rollups=use_rollups
                )
    for machine in ("wn002", "wn003"):
        assert_near(found[(machine, True)], found[(machine, False)])
    assert len({f.outlet for f in plotted["wn003"]} & {"2"}) == 1  # pdu-a:2, from 11:30 on
    assert_same(await stored_figures(racked), await expected_figures(racked))
    async with racked.transaction() as session:
        await recompute(session, since, until)
        repo = ReportRepository(session)
        assert {m: await repo.feed_hours(ids[m], since, until) for m in plotted} == plotted
