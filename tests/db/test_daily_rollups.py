"""Daily rollups of closed days (db.daily): reports that read them equal the reports from the
hourly rollups alone, to the unit, on SQLite, MariaDB and PostgreSQL; every write into a closed
day reopens it; pruning raw readings changes no report; migration 0010 keeps every report.

The reference is always the same database with no day closed (``closed_day`` emptied), read
through the hourly rollups, which tests/db/test_cycle_rollups.py checks against the raw
readings.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from dbwrites import add_load
from powermond.cli import main
from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.daily import LOAD, POWER, close_days, closed_days, day_of, split
from powermond.db.engine import Database
from powermond.db.migrate import current_revision, downgrade, head_revision, migrate
from powermond.db.reports import ReportRepository
from powermond.db.repositories import MachineRepository
from powermond.db.retention import prune
from powermond.db.rollups import close_hours_before, update_load_rollups_for
from powermond.readings import LoadSample, OutletReading
from powermond.report.power import ReportRow
from powermond.report.queries import ReportBy, report_rows

from .conftest import MakeInventory

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
D0 = datetime(2026, 10, 1, tzinfo=UTC)
T0 = D0 + timedelta(hours=13, minutes=10)  # the first day is partial
INTERVAL = 1800.0
STEP = timedelta(seconds=INTERVAL)
CYCLES = 4 * 48  # to 2026-10-05 13:10: Oct 1..3 can close, Oct 4 and 5 stay open
LATE = 80  # 2026-10-03 05:10, stored after the days were closed
MIDNIGHT = 70  # 2026-10-03 00:10: its interval from Oct 2 23:40 is Oct 2's
NOW = T0 + CYCLES * STEP + 3 * DAY
PDUS = {"pdu-a": "192.0.2.1", "pdu-b": "192.0.2.2"}
MACHINES = {"wn001": ["pdu-a:1", "pdu-b:1"], "wn002": ["pdu-a:2"], "wn003": ["pdu-b:2"]}
PERIODS = [
    (D0, D0 + 10 * DAY),  # every day, closed and open
    (D0 + timedelta(hours=7, minutes=13), D0 + 3 * DAY + timedelta(hours=15, minutes=47)),
    (D0 + DAY, D0 + 3 * DAY),  # exactly two days
    (D0 + 2 * DAY + 5 * HOUR, D0 + 2 * DAY + 9 * HOUR),  # hours inside a closed day
    (D0 + 2 * DAY, D0 + 5 * DAY + 2 * HOUR),
]


def readings(n: int) -> dict[str, list[OutletReading]]:
    """Counters (pdu-a:1 resets once), a missing watts value now and then, an outlet of
    nobody's (pdu-b:3), integer-unfriendly watts."""
    counter = 100.0 + n * 0.137 if n < 120 else (n - 120) * 0.151
    a = [
        OutletReading("1", 180.25 + n % 13, 0.8, round(counter, 2)),
        OutletReading("2", None if n % 17 == 5 else 55.5 + n % 7 / 3, None, None),
    ]
    b = [
        OutletReading("1", 170.0 + n % 5, 0.8, None),
        OutletReading("2", 300.125 - n % 11, None, round(20 + n * 0.15, 2)),
        OutletReading("3", 12.0, None, None),
    ]
    return {"pdu-a": a, "pdu-b": b}


async def history(db: Database, make_inventory: MakeInventory, *, skip: Sequence[int] = ()) -> None:
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory(PDUS, MACHINES))
    for n in range(CYCLES):
        if n not in skip and not 100 <= n < 104:  # 2026-10-03 15:10-16:40: the PDUs were away
            await store_cycle(db, T0 + n * STEP, readings(n), interval=INTERVAL)
    samples = [LoadSample(T0 + n * STEP, n % 5 / 3, 1.1, None) for n in range(CYCLES)]
    await store_load(db, "wn001", samples)
    await store_load(db, "wn003", samples[::3])


async def store_load(db: Database, machine: str, samples: Sequence[LoadSample]) -> None:
    """As a load import stores them: the samples and their hours' rollups."""
    async with db.transaction() as session:
        await add_load(session, machine, samples)
        machine_id = (await MachineRepository(session).ids())[machine]
        times = [s.time for s in samples]
        await update_load_rollups_for(session, [machine_id], min(times), max(times))


async def closed(db: Database, rollup: str) -> list[int]:
    async with db.transaction() as session:
        return await closed_days(session, rollup, 0, 100_000)


def days(*offsets: int) -> list[int]:
    return [day_of(D0) + i for i in offsets]


Reports = dict[tuple[datetime, ReportBy], list[ReportRow]]


async def reports(db: Database) -> Reports:
    found: Reports = {}
    async with db.transaction() as session:
        for since, until in PERIODS:
            for by in ("machine", "pdu"):
                found[(since, by)] = await report_rows(session, since, until, by=by)
        found[(D0, "machine")] += await report_rows(session, D0, D0 + 10 * DAY, machines=["wn001"])
    return found


async def hourly_only(db: Database) -> Reports:
    """The reports with no day closed, from the hourly rollups; the closed days are put
    back as they were (the rollback of a failed block)."""

    class Undo(Exception):
        pass

    found: Reports = {}
    try:
        async with db.transaction() as session:
            await session.execute(text("DELETE FROM closed_day"))
            for since, until in PERIODS:
                for by in ("machine", "pdu"):
                    found[(since, by)] = await report_rows(session, since, until, by=by)
            found[(D0, "machine")] += await report_rows(
                session, D0, D0 + 10 * DAY, machines=["wn001"]
            )
            raise Undo
    except Undo:
        pass
    return found


def assert_same_reports(got: Reports, want: Reports, *, checks: bool = True) -> None:
    """Equal to the unit: every figure but the mean load (a floating-point sum of sums);
    ``checks``: also the check columns (which read the pruned cycle rows)."""
    assert got.keys() == want.keys()
    for key, rows in got.items():
        assert [r.name for r in rows] == [r.name for r in want[key]], key
        for row, wanted in zip(rows, want[key], strict=True):
            load = None if wanted.mean_load is None else pytest.approx(wanted.mean_load, rel=1e-12)
            assert row.mean_load == load, (key, row.name)
            same = (row.energy_kwh, row.mean_watts, row.peak_watts, row.readings, row.method)
            assert same == (
                wanted.energy_kwh, wanted.mean_watts, wanted.peak_watts, wanted.readings,
                wanted.method,
            ), (key, row.name)  # fmt: skip
            assert (row.load_samples, row.outlets_kwh) == (
                wanted.load_samples, wanted.outlets_kwh), (key, row.name)  # fmt: skip
            if checks:
                assert (row.watts_kwh, row.check) == (wanted.watts_kwh, wanted.check), key


async def assert_daily_rows_sum_the_hours(db: Database) -> None:
    """Each closed day's daily rows are its hourly rows summed (read straight from SQL)."""
    power = await closed(db, POWER)
    async with db.transaction() as session:
        for day in power:
            h0, h1 = day * 24, day * 24 + 24
            daily = await session.execute(
                text(
                    "SELECT outlet_id, machine_id, readings, watts_count, watts_sum, watts_peak,"
                    " counter_wh, counter_intervals, integrated_hmj, integrated_intervals"
                    " FROM power_daily WHERE day = :d"
                ),
                {"d": day},
            )
            hourly = await session.execute(
                text(
                    "SELECT outlet_id, machine_id, sum(readings), sum(watts_count),"
                    " sum(watts_sum), max(watts_peak), sum(counter_wh), sum(counter_intervals),"
                    " sum(integrated_hmj), sum(integrated_intervals) FROM power_hourly"
                    " WHERE hour >= :a AND hour < :b GROUP BY outlet_id, machine_id"
                ),
                {"a": h0, "b": h1},
            )
            as_ints = [sorted(tuple(None if v is None else int(v) for v in r) for r in rows)
                       for rows in (daily, hourly)]  # fmt: skip
            assert as_ints[0] == as_ints[1], day
            assert as_ints[0], day  # the closed days of the history all have readings


def test_split_covers_each_hour_once() -> None:
    d = 20_000  # a day number; its hours are 24 d ...
    parts = split(24 * d + 5, 24 * (d + 6) + 3, [d, d + 1, d + 2, d + 4, d + 6, d + 9])
    # d is not whole inside the period (it starts at its hour 5), nor d + 6 (ends at hour 3)
    assert parts.days == [(d + 1, d + 3), (d + 4, d + 5)]
    assert parts.hours == [
        (24 * d + 5, 24 * (d + 1)),
        (24 * (d + 3), 24 * (d + 4)),
        (24 * (d + 5), 24 * (d + 6) + 3),
    ]
    assert split(24 * d, 24 * (d + 2), [d, d + 1]).hours == []
    assert split(24 * d, 24 * d + 7, []).hours == [(24 * d, 24 * d + 7)]


async def test_reports_over_closed_and_open_days_equal_the_hours(
    db: Database, make_inventory: MakeInventory
) -> None:
    await history(db, make_inventory)
    want = await hourly_only(db)
    assert (await close_days(db, NOW, pause=0)).closed == {POWER: 3, LOAD: 3}
    assert await closed(db, POWER) == await closed(db, LOAD) == days(0, 1, 2)
    await assert_daily_rows_sum_the_hours(db)
    got = await reports(db)
    assert_same_reports(got, want)
    assert got == await reports(db)  # a closed day reads the same every time
    wn001 = got[(D0, "machine")][0]
    assert (wn001.name, wn001.method) == ("wn001", "mixed")
    # Per figure of the repository, closed days or not: the same integers, so the same floats.
    async with db.transaction() as session:
        repo = ReportRepository(session)
        first, last = D0 + DAY, D0 + 4 * DAY
        with_days = (await repo.tallies(first, last), await repo.peaks(first, last))
        await session.execute(text("DELETE FROM closed_day"))
        assert with_days == (await repo.tallies(first, last), await repo.peaks(first, last))


async def test_a_late_cycle_reopens_its_day_and_the_reports_stay_right(
    db: Database, make_inventory: MakeInventory
) -> None:
    await history(db, make_inventory, skip=(LATE, MIDNIGHT))
    await close_days(db, NOW, pause=0)
    assert await closed(db, POWER) == days(0, 1, 2)
    late = T0 + LATE * STEP
    await store_cycle(db, late, readings(LATE), interval=INTERVAL)
    assert await closed(db, POWER) == days(0, 1)  # reopened: Oct 3 reads its hours again
    assert await closed(db, LOAD) == days(0, 1, 2)  # a cycle changes no load rollup
    assert_same_reports(await reports(db), await hourly_only(db))
    assert (await close_days(db, NOW, pause=0)).closed == {POWER: 1, LOAD: 0}
    await assert_daily_rows_sum_the_hours(db)
    assert_same_reports(await reports(db), await hourly_only(db))
    # A replay (a spool's, after an answer lost at commit) stores nothing: the day stays closed.
    assert await store_cycle(db, late, readings(LATE), interval=INTERVAL) == 0
    assert await closed(db, POWER) == days(0, 1, 2)
    # A cycle just after midnight changes the day before too: the interval that ends at it
    # belongs to the hour of the reading before, Oct 2 23:40.
    await store_cycle(db, T0 + MIDNIGHT * STEP, readings(MIDNIGHT), interval=INTERVAL)
    assert await closed(db, POWER) == days(0)
    assert_same_reports(await reports(db), await hourly_only(db))


async def test_a_load_import_into_a_closed_day_reopens_its_load_only(
    db: Database, make_inventory: MakeInventory
) -> None:
    await history(db, make_inventory)
    await close_days(db, NOW, pause=0)
    backfill = [LoadSample(D0 + DAY + n * STEP, 7.0, None, 2.0) for n in range(48)]
    await store_load(db, "wn002", backfill)  # a machine added later, its RRD history imported
    assert await closed(db, LOAD) == days(0, 2)
    assert await closed(db, POWER) == days(0, 1, 2)
    assert_same_reports(await reports(db), await hourly_only(db))
    await close_days(db, NOW, pause=0)
    assert await closed(db, LOAD) == days(0, 1, 2)
    assert_same_reports(await reports(db), await hourly_only(db))


async def test_days_close_once_and_only_when_finished(
    db: Database, make_inventory: MakeInventory
) -> None:
    await history(db, make_inventory)
    newest = T0 + (CYCLES - 1) * STEP  # 2026-10-05 12:40
    # Two days' grace from a "now" just after the newest cycle: Oct 1 and 2 ended by Oct 3
    # 12:40 (Oct 3 did not).
    assert (await close_days(db, newest, pause=0)).closed == {POWER: 2, LOAD: 2}
    # A day before the newest hour, whatever the clock says: Oct 3 ended by Oct 4 12:00.
    assert (await close_days(db, NOW + 30 * DAY, pause=0)).closed == {POWER: 1, LOAD: 1}
    assert (await close_days(db, NOW + 30 * DAY, pause=0)).closed == {POWER: 0, LOAD: 0}
    assert await closed(db, POWER) == days(0, 1, 2)


async def test_pruned_readings_change_no_report(
    db: Database, make_inventory: MakeInventory
) -> None:
    await history(db, make_inventory)
    await close_days(db, NOW, pause=0)
    whole_hours = [(since, until) for since, until in PERIODS if since.minute == 0]
    before = await reports(db)
    result = await prune(db, D0 + 3 * DAY + 7 * HOUR, D0 + 3 * DAY + 7 * HOUR, pause=0)
    assert result.readings > 0
    after = await reports(db)
    kept = {key: rows for key, rows in after.items() if key[0] in dict(whole_hours)}
    assert_same_reports(kept, {key: before[key] for key in kept}, checks=False)
    assert await closed(db, POWER) == days(0, 1, 2)  # pruning writes no rollup


async def test_migration_0010_keeps_every_report(
    db_url: str, make_inventory: MakeInventory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await migrate(db_url)
    db = Database.from_url(db_url)
    try:
        await history(db, make_inventory)
        (tmp_path / "powermon.toml").write_text(f'[database]\nurl = "{db_url}"\n')

        def report() -> list[object]:
            found = []
            for since, until in PERIODS:
                argv = ["--config-dir", str(tmp_path), "report", "--format", "json",
                        "--since", since.isoformat(), "--until", until.isoformat()]  # fmt: skip
                assert main(argv) == 0
                found.append(json.loads(capsys.readouterr().out))
            return found

        hours = await asyncio.to_thread(report)  # no day closed: as revision 0009 reads
        counts = "SELECT count(*) FROM power_hourly UNION ALL SELECT count(*) FROM load_hourly"
        async with db.transaction() as session:  # as 0012's downgrade does: every hour closed
            await close_hours_before(session, NOW)
            rollups = (await session.execute(text(counts))).scalars().all()
        await downgrade(db_url, "0009")
        assert await current_revision(db_url) == "0009"
        async with db.transaction() as session:
            tables = await session.run_sync(
                lambda s: s.connection().dialect.get_table_names(s.connection())
            )
            leases = (await session.execute(text("SELECT name FROM lease"))).scalars().all()
            assert (await session.execute(text(counts))).scalars().all() == rollups
        assert not {"power_daily", "load_daily", "closed_day"} & set(tables)
        assert "load-write" not in leases
        await migrate(db_url)  # 0009 -> 0010 (and on, to the head) with hourly rollups
        assert await current_revision(db_url) == head_revision()
        assert await closed(db, POWER) == []  # the upgrade closes no day: the job does
        assert await asyncio.to_thread(report) == hours
        argv = ["--config-dir", str(tmp_path), "db", "prune", "--before", "2026-01-01"]
        assert await asyncio.to_thread(main, argv) == 0
        out = capsys.readouterr().out
        assert "daily power rollups: 3 days closed" in out
        assert "daily load rollups: 3 days closed" in out
        assert await asyncio.to_thread(report) == hours
    finally:
        await db.dispose()
