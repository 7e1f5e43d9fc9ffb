"""Closing due hours in steps over the next cycles (db.close_steps, migration 0016): the rows
are those of a close in one go to the last unit, whether the steps run after consecutive
cycles, are restarted by a late write, continued by a new process, or overtaken by a whole
close; the hours stay open (reports read them from the raw readings) until the last step;
a small site's close still runs whole after the cycle that makes its hours due. SQLite,
MariaDB and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, text

from powermond.collect.store import store_cycle
from powermond.db import close_steps, rollup_plan, rollups
from powermond.db.apply import apply_inventory
from powermond.db.close_steps import Closer, progress
from powermond.db.collectors import CYCLE_LOCK, lock
from powermond.db.engine import Database
from powermond.db.migrate import current_revision, downgrade, head_revision, migrate
from powermond.db.rollups import recompute
from powermond.energy import hour_of

from .conftest import MakeInventory
from .test_cycle_rollups import (
    INTERVAL,
    MACHINES,
    PDUS,
    STEP,
    T0,
    History,
    assert_same,
    expected_figures,
    open_hours,
    stored_figures,
    stored_rows,
)
from .test_open_hours import H11, assert_near, reports

HOUR = timedelta(hours=1)
# Cycle 19 (12:15) is the first after which 11:00 is due.
DUE = 19


@pytest.fixture
async def racked(db: Database, make_inventory: MakeInventory) -> Database:
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory(PDUS, MACHINES))
    return db


@pytest.fixture
def one_step_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Closes of a few statements (three outlets a range, six cycles a peak window: seven
    steps an hour, the last one closing it), one step after each cycle."""
    monkeypatch.setattr(rollup_plan, "READINGS_PER_STATEMENT", 40)
    monkeypatch.setattr(close_steps, "CLOSE_READINGS", 1)
    monkeypatch.setattr(close_steps, "CLOSE_CYCLES", 10**9)


async def store(db: Database, history: History, cycles: range) -> None:
    for n in cycles:
        await store_cycle(db, T0 + n * STEP, history.cycle(n), interval=INTERVAL)


async def progress_of(db: Database) -> tuple[int, int, int, int] | None:
    async with db.transaction() as session:
        found = await progress(session)
    return None if found is None else (found.first_hour, found.end_hour, found.part, found.done)


async def assert_exact(db: Database) -> None:
    """The closed hours' rows are a close in one go's, and the figures the raw readings'."""
    still_open = await open_hours(db)
    closed = await stored_rows(db, still_open)
    assert_same(await stored_figures(db), await expected_figures(db))
    async with db.transaction() as session:
        await recompute(session, T0 - 2 * HOUR, T0 + 6 * HOUR)
    assert await stored_rows(db, still_open) == closed


async def test_an_hour_closed_over_several_cycles_equals_one_close(
    racked: Database, one_step_a_cycle: None
) -> None:
    history = History(21)
    await store(racked, history, range(DUE))
    positions = []
    for n in range(DUE, DUE + 7):
        await store(racked, history, range(n, n + 1))
        if n < DUE + 6:
            assert H11 in await open_hours(racked), (n, positions)
            positions.append(await progress_of(racked))
            # Reports read the hour from the raw readings, whatever its steps wrote so far.
            from_rollups, from_raw = await reports(racked, hour_of(T0), hour_of(T0) + 3 * HOUR)
            assert_near(from_rollups, from_raw)
    assert H11 not in await open_hours(racked)
    assert await progress_of(racked) is None
    assert [p[2] for p in positions if p] == [0, 0, 1, 1, 2, 2]  # two steps in each part
    assert {p[:2] for p in positions if p} == {(H11, H11 + 1)}
    await assert_exact(racked)


async def test_a_late_write_between_steps_restarts_the_close(
    racked: Database, one_step_a_cycle: None
) -> None:
    history = History(22)
    cycles = {n: history.cycle(n) for n in range(DUE + 12)}
    late = 10  # 11:30
    for n in range(DUE + 3):
        if n != late:
            await store_cycle(racked, T0 + n * STEP, cycles[n], interval=INTERVAL)
    found = await progress_of(racked)
    assert found is not None
    assert found[2] == 1  # 11:00's power_hourly written, its machine peaks begun
    await store_cycle(racked, T0 + late * STEP, cycles[late], interval=INTERVAL)
    again = await progress_of(racked)  # voided, then the first step again after the write
    assert again is not None
    assert again[:3] == (H11, H11 + 1, 0)
    for n in range(DUE + 3, DUE + 12):
        await store_cycle(racked, T0 + n * STEP, cycles[n], interval=INTERVAL)
    assert H11 not in await open_hours(racked)
    await assert_exact(racked)


async def test_a_new_process_continues_the_close(racked: Database, one_step_a_cycle: None) -> None:
    history = History(23)
    await store(racked, history, range(DUE + 3))
    before = await progress_of(racked)
    assert before is not None
    url = racked.engine.url.render_as_string(hide_password=False)
    other = Database.from_url(url)
    try:
        async with other.transaction() as session:
            await lock(session, CYCLE_LOCK)
            assert await Closer().step(session) is True  # one step, not the first again
        after = await progress_of(other)
        assert after is not None
        assert after[:2] == before[:2]
        assert (after[2], after[3]) > (before[2], before[3])
        await store(other, history, range(DUE + 3, DUE + 8))
    finally:
        await other.dispose()
    assert H11 not in await open_hours(racked)
    await assert_exact(racked)


async def test_a_whole_close_overtakes_the_steps(racked: Database, one_step_a_cycle: None) -> None:
    """Retention and the daily close close hours whole (``recompute``): the progress of a
    close in steps of them is void."""
    history = History(24)
    await store(racked, history, range(DUE + 2))
    assert await progress_of(racked) is not None
    async with racked.transaction() as session:
        await recompute(session, T0, T0 + 2 * HOUR)
    assert await progress_of(racked) is None
    assert H11 not in await open_hours(racked)
    await assert_exact(racked)


async def test_a_small_site_closes_after_the_cycle_that_makes_the_hour_due(
    racked: Database,
) -> None:
    history = History(25)
    await store(racked, history, range(DUE))
    assert H11 in await open_hours(racked)
    await store(racked, history, range(DUE, DUE + 1))
    assert H11 not in await open_hours(racked)
    async with racked.transaction() as session:
        rows = await session.execute(text("SELECT count(*) FROM close_progress"))
        assert rows.scalar() == 0
    await assert_exact(racked)


def test_the_budget_bounds_a_cycles_steps() -> None:
    """A 10,000-PDU hour (5.8 million readings, each read three times) is spread over
    ``CLOSE_CYCLES`` cycles; a 1,000-PDU hour's fits ``CLOSE_READINGS``."""
    intervals = {39600 + k * 300: 300.0 for k in range(13)}
    for pdus, cycles in ((1000, 1), (10_000, close_steps.CLOSE_CYCLES)):
        ids = list(range(1, pdus * 48 + 1))
        ranges = [(lo, hi, hi - lo + 1) for lo, hi in rollups.outlet_ranges(ids, 13)]
        plan = rollups.Plan(11, 12, 601, intervals, "postgresql", ranges, sorted(intervals))
        total = plan.readings()
        closer = Closer()
        closer._budget_for(plan)
        assert closer.budget is not None
        assert -(-total // closer.budget) == cycles, (pdus, total, closer.budget)
        steps = plan.steps()
        assert sum(s.readings for s in steps) + plan.last_readings() == total
        assert max(s.readings for s in steps) <= rollups.READINGS_PER_STATEMENT
        # Every step after another starts where it left its part: the same steps after it.
        for k, step in enumerate(steps[:-1]):
            assert [s.done for s in plan.steps(step.part, step.done)] == [
                s.done for s in steps[k + 1 :]
            ]


async def test_migration_0016_leaves_a_close_under_way_open(
    racked: Database, one_step_a_cycle: None
) -> None:
    """The downgrade drops the progress: the hours stay open (revision 0015 closes them in
    one go); after the upgrade their close starts again from its first step."""
    history = History(26)
    await store(racked, history, range(DUE + 3))
    before = await progress_of(racked)
    assert before is not None
    assert before[2] == 1
    url = racked.engine.url.render_as_string(hide_password=False)
    await racked.engine.dispose()  # SQLite: the migration's connection alone on the file
    await downgrade(url, "0015")
    assert await current_revision(url) == "0015"
    assert H11 in await open_hours(racked)
    async with racked.transaction() as session:
        tables = await session.run_sync(lambda s: inspect(s.get_bind()).get_table_names())
    assert "close_progress" not in tables
    await migrate(url)
    assert await current_revision(url) == head_revision()
    await store(racked, history, range(DUE + 3, DUE + 4))
    found = await progress_of(racked)
    assert found is not None
    assert found[2] == 0  # power_hourly's first outlet range again (it was at the peaks)
    await store(racked, history, range(DUE + 4, DUE + 11))
    assert H11 not in await open_hours(racked)
    await assert_exact(racked)


async def test_the_database_cuts_the_outlets_as_outlet_ranges(racked: Database) -> None:
    async with racked.transaction() as session:
        ids = sorted((await session.scalars(text("SELECT id FROM outlet"))).all())
        for cycles in (1, 13, rollups.READINGS_PER_STATEMENT // 2, 10**9):
            found = await rollups.stored_outlet_ranges(session, cycles)
            assert [(lo, hi) for lo, hi, _ in found] == rollups.outlet_ranges(ids, cycles)
            assert sum(n for *_, n in found) == len(ids)
