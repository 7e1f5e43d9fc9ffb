"""Rollups of cycles stored one by one (db.rollups through collect.store.store_cycle: hours
marked open, rolled up when due) equal the rollups computed from the raw readings, and equal
db.rollups.recompute to the last unit, on SQLite, MariaDB and PostgreSQL: the rows of the
hours rolled up as they came due, and the rows readers compute for the open ones.

The expected figures come straight from the report's rules (powermond.energy) over every stored
reading, not from the code under test.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text

from powermond.collect.store import CycleInfo, store_cycle
from powermond.db import rollup_peaks, rollup_plan, rollups
from powermond.db.apply import apply_inventory
from powermond.db.cycles import POLL, CycleRepository
from powermond.db.engine import Database
from powermond.db.reports import ReportRepository
from powermond.db.retention import prune
from powermond.db.rollups import recompute
from powermond.db.tables import ROLLUP_TABLES, Cycle, Outlet
from powermond.energy import Tally, hour_of, tally_samples
from powermond.readings import OutletReading

from .conftest import MakeInventory

T0 = datetime(2026, 10, 1, 10, 40, tzinfo=UTC)  # cycles cross the hours 11:00, 12:00, ...
INTERVAL = 300.0
STEP = timedelta(seconds=INTERVAL)
PDUS = {"pdu-a": "192.0.2.1", "pdu-b": "192.0.2.2"}
# wn001 has a feed on each PDU; a3 and b3 feed nobody (created when first read).
MACHINES = {"wn001": ["pdu-a:1", "pdu-b:1"], "wn002": ["pdu-a:2"], "wn003": ["pdu-b:2"]}
REMAPPED = {"wn001": ["pdu-a:1", "pdu-b:1"], "wn003": ["pdu-b:2", "pdu-a:2"]}

Figures = tuple[
    dict[tuple[int, int | None, datetime], Tally], dict[tuple[str, int, datetime], float]
]


@pytest.fixture
async def racked(db: Database, make_inventory: MakeInventory) -> Database:
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory(PDUS, MACHINES))
    return db


async def stored_figures(db: Database) -> Figures:
    """The rollup tables as stored: hourly tallies by (outlet, machine, hour), and peaks."""
    since, until = hour_of(T0) - timedelta(days=1), hour_of(T0) + timedelta(days=2)
    async with db.transaction() as session:
        repo = ReportRepository(session)
        return await repo.hourly_tallies(since, until), await repo.hourly_peaks(since, until)


async def stored_rows(
    db: Database, skip: Collection[int] = ()
) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every rollup table, as stored (integers), in key order; none of the
    hours ``skip`` (hours since 1970)."""
    found: dict[str, list[tuple[object, ...]]] = {}
    async with db.transaction() as session:
        for model in ROLLUP_TABLES:
            table = model.__table__
            rows = await session.execute(text(f"SELECT * FROM {table.name}"))  # type: ignore[attr-defined]
            at = list(rows.keys()).index("hour")
            kept = (tuple(r) for r in rows if r[at] not in skip)
            found[table.name] = sorted(kept)  # type: ignore[attr-defined]
    return found


async def open_hours(db: Database) -> list[int]:
    async with db.transaction() as session:
        return list((await session.scalars(text("SELECT hour FROM open_hour"))).all())


async def expected_figures(db: Database) -> Figures:
    """The same figures from every raw reading, by the report's rules: a machine's peak sums
    all its feeds, a PDU's sums its outlets (not its inlet meter, which meters them too)."""
    since, until = T0 - timedelta(days=1), T0 + timedelta(days=2)
    async with db.transaction() as session:
        samples = await ReportRepository(session).samples(since, until)
        spacing = await CycleRepository(session).spacing(since, until)
        labels = dict((await session.execute(select(Outlet.id, Outlet.label))).tuples().all())
    tallies = tally_samples(
        samples, since, until, spacing, lambda s: (s.outlet, s.machine, hour_of(s.time))
    )
    sums: dict[tuple[str, int, datetime], float] = {}
    for s in samples:
        if s.watts is None:
            continue
        pdu = None if labels[s.outlet].startswith("inlet") else s.pdu
        for kind, owner in (("machine", s.machine), ("pdu", pdu)):
            if owner is not None:
                sums[(kind, owner, s.time)] = sums.get((kind, owner, s.time), 0.0) + s.watts
    peaks: dict[tuple[str, int, datetime], float] = {}
    for (kind, owner, time), total in sums.items():
        key = (kind, owner, hour_of(time))
        peaks[key] = max(peaks.get(key, total), total)
    return tallies, peaks


def assert_same(stored: Figures, expected: Figures) -> None:
    tallies, peaks = stored
    want_tallies, want_peaks = expected
    assert sorted(tallies, key=str) == sorted(want_tallies, key=str)
    for key, tally in tallies.items():
        want = want_tallies[key]
        for name in ("readings", "watts_count", "counter_intervals", "integrated_intervals"):
            assert getattr(tally, name) == getattr(want, name), (key, name)
        for name in ("watts_sum", "watts_peak", "counter_kwh", "integrated_kwh"):
            value, wanted = getattr(tally, name), getattr(want, name)
            close = None if wanted is None else pytest.approx(wanted, rel=1e-12, abs=1e-12)
            assert value == close, (key, name)
    assert peaks.keys() == want_peaks.keys()
    for key, peak in peaks.items():
        assert peak == pytest.approx(want_peaks[key], rel=1e-12), key


class History:
    """Readings of three machines' feeds plus unmapped outlets: counters with a reset,
    missed readings, missing watts."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.counters = {"a1": 100.0, "b1": 5.0, "b2": 7.0, "a3": 50.0}

    def cycle(self, n: int) -> dict[str, list[OutletReading]]:
        if n == 9:
            self.counters["b1"] = 0.0  # an operator reset the B feed's counter
        return {
            "pdu-a": self._pdu(n, (("1", "a1"), ("2", None), ("3", "a3"))),
            "pdu-b": self._pdu(n, (("1", "b1"), ("2", "b2"), ("3", None))),
        }

    def _pdu(self, n: int, outlets: tuple[tuple[str, str | None], ...]) -> list[OutletReading]:
        readings = []
        for label, counter in outlets:
            if self.rng.random() < 0.1:
                continue  # a missed reading of one outlet
            watts = self.rng.uniform(50, 400)
            energy = None
            if counter is not None:
                self.counters[counter] += watts * INTERVAL / 3600 / 1000
                energy = round(self.counters[counter], 2)  # APC: hundredths of a kWh
            shown = watts if self.rng.random() > 0.05 else None
            readings.append(OutletReading(label, shown, None, energy))
        return readings


@pytest.mark.parametrize("seed", [1, 2])
async def test_in_order_history_equals_recompute(
    racked: Database, make_inventory: MakeInventory, seed: int
) -> None:
    history = History(seed)
    for n in range(40):
        if n == 20:  # remap mid-hour: pdu-a:2 moves from wn002 to wn003
            async with racked.transaction() as session:
                await apply_inventory(session, make_inventory(PDUS, REMAPPED))
        readings = history.cycle(n)
        if 25 <= n < 29:
            del readings["pdu-b"]  # pdu-b down for 20 minutes: gaps not bridged
        await store_cycle(racked, T0 + n * STEP, readings, interval=INTERVAL)
    stored = await stored_figures(racked)
    assert_same(stored, await expected_figures(racked))
    tallies, _ = stored
    methods = {(t.counter_intervals > 0, t.integrated_intervals > 0) for t in tallies.values()}
    assert methods >= {(True, False), (False, True), (True, True)}  # counters, watts, the reset
    assert len({h for _, _, h in tallies}) == 4  # 10:40 .. 14:00


async def test_short_intervals_pair_each_reading_with_its_next(racked: Database) -> None:
    """Cycles at 120 s after some at 300 s (reach 601 s): a reading's next one may be any of
    five later times, past readings missed in between, and still be bridged when one of its
    cycles is recorded at 300 s (SQLite's close probes each time in turn)."""
    history = History(4)
    t = T0
    for n in range(60):
        interval = INTERVAL if n < 6 or n == 33 else 120.0
        readings = history.cycle(n)
        if 30 <= n < 33:
            del readings["pdu-a"]  # 8 minutes without pdu-a: bridged by cycle 33's 300 s
        if 45 <= n < 47:
            del readings["pdu-b"]  # 6 minutes: not bridged (twice 120 s is less)
        await store_cycle(racked, t, readings, interval=interval)
        t += timedelta(seconds=interval)
    stored = await stored_figures(racked)
    assert_same(stored, await expected_figures(racked))
    tallies, _ = stored
    assert len({h for _, _, h in tallies}) == 3  # 10:40 .. 12:58


async def test_spans_at_the_whole_second_bound(racked: Database) -> None:
    """Cycles recorded at 150.5 s (bridged: spans up to 301 s, ``floor(2 * 150.5)``), some
    301 s and some 302 s apart: the rollups bridge the first and not the second, as the
    report's rules do, open hours and closed ones alike."""
    history = History(5)
    t = T0
    for n, gap in enumerate([150, 301, 150, 302, 151, 301, 302, 150] * 6):
        await store_cycle(racked, t, history.cycle(n), interval=150.5)
        t += timedelta(seconds=gap)
    stored = await stored_figures(racked)
    assert_same(stored, await expected_figures(racked))
    assert await open_hours(racked)  # the last ones are read from the raw readings
    async with racked.transaction() as session:
        await recompute(session, T0 - timedelta(hours=1), T0 + timedelta(hours=4))
    assert await stored_figures(racked) == stored


def test_bridged_times_keep_what_a_reading_of_the_hours_can_be_bridged_to() -> None:
    """A close reads the times past its end that a reading before it can be bridged to,
    with every time between them, and none after."""
    end = 39600
    hour = list(range(36000, end, 300))
    past = [end, end + 300, end + 600]  # reach 601 s at the default interval
    bridged = rollups.bridged_times
    # The next cycle, and the one after for an outlet that missed it (a 600 s span).
    assert bridged(hour + past, end, {}) == [*hour, end, end + 300]
    assert bridged(list(reversed(hour + past)), end, {}) == [*hour, end, end + 300]
    assert bridged(hour, end, {}) == hour  # no time past the end
    assert bridged(past, end, {}) == []  # no reading in the hours: nothing to bridge
    early = [t for t in hour if t <= end - 900]  # the hour's last two cycles missed
    assert bridged(early + past, end, {}) == early  # the gap is longer than 600 s
    assert bridged(early + past, end, {early[-1]: 450.0}) == [*early, end]  # 900 s
    # A later time's interval bridges it from the hour's last time, with those between.
    assert bridged(hour + past, end, {end + 600: 450.0}) == hour + past
    # At 120 s (bridged up to 240 s): two times past the end of five listed.
    short = list(range(36000, end, 120))
    later = list(range(end, end + 601, 120))
    intervals = dict.fromkeys(short + later, 120.0)
    assert bridged(short + later, end, intervals) == [*short, end, end + 120]
    intervals[end + 360] = 300.0  # 480 s after 39480: within twice its own interval
    assert bridged(short + later, end, intervals) == [*short, *later[:4]]
    # A fractional interval: 150.5 s bridges 301 s, not 302 s.
    times = [end - 1, end + 300, end + 301]
    assert bridged(times, end, dict.fromkeys(times, 150.5)) == times[:2]
    times = [end - 2, end + 300]
    assert bridged(times, end, dict.fromkeys(times, 150.5)) == times[:1]


async def test_a_close_reads_the_times_it_can_bridge(racked: Database) -> None:
    """plan_close lists an hour's times and the two after it (not the third, within
    ``reach``), and the rows are those of a close of every time (SQLite's paired path
    and LEAD alike), a missed cycle at the hour's end included."""
    history = History(6)
    for n in range(30):
        readings = history.cycle(n)
        if n == 16:  # 12:00: pdu-a missed, its 11:55 readings bridged to 12:05
            del readings["pdu-a"]
        await store_cycle(racked, T0 + n * STEP, readings, interval=INTERVAL)
    h = int(T0.timestamp()) // 3600 + 1  # 11:00
    async with racked.transaction() as session:
        dialect = session.get_bind().dialect.name
        plan = await rollups.plan_close(session, h, h + 1, await rollups.reach(session), dialect)
    assert plan.times == [h * 3600 + k * 300 for k in range(14)]
    assert_same(await stored_figures(racked), await expected_figures(racked))


def test_outlet_ranges_bound_the_readings_of_a_statement() -> None:
    assert rollups.outlet_ranges([], 13) == []
    assert rollups.outlet_ranges([1, 2, 5, 9, 10], 2 * rollups.READINGS_PER_STATEMENT) == [
        (1, 1),
        (2, 2),
        (5, 5),
        (9, 9),
        (10, 10),
    ]  # an outlet's readings are never split
    assert rollup_peaks._windows(10, {36000: 300.0, 36300: 300.0, 36600: 600.0, 39600: 0.0}, 1) == [
        (36000, 36300),
        (36300, 36600),
        (36600, 39600),
    ]  # a window a cycle (the one at the hour's start in the first): the next hour's left out
    assert rollup_peaks._windows(10, {36100: 300.0, 36400: 300.0, 36700: 300.0}, 2) == [
        (36000, 36400),
        (36400, 39600),
    ]
    size = rollups.READINGS_PER_STATEMENT // 13
    ids = list(range(1, 2 * size + 2))
    assert rollups.outlet_ranges(ids, 13) == [(1, size), (size + 1, 2 * size), (ids[-1], ids[-1])]


async def test_a_close_in_outlet_ranges_writes_the_rows_of_one_statement(
    racked: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site's close is cut into statements of a bounded number of readings (outlet id
    ranges, peaks per hour), so each stays well within the database's silence bound at any
    size: the rows are those of one statement over everything, to the last unit."""
    history = History(3)
    for n in range(30):
        await store_cycle(racked, T0 + n * STEP, history.cycle(n), interval=INTERVAL)
    async with racked.transaction() as session:
        await recompute(session, T0 - timedelta(hours=1), T0 + timedelta(hours=4))
    whole = await stored_rows(racked)
    assert len({row[3] for row in whole["power_hourly"]}) >= 3
    monkeypatch.setattr(rollup_plan, "READINGS_PER_STATEMENT", 1)  # one outlet a statement
    statements: list[int] = []
    real = rollups.run_steps

    async def counted(session: object, steps: list[rollups.Step]) -> None:
        statements.append(sum(len(step.statements()) for step in steps))
        await real(session, steps)  # type: ignore[arg-type]

    monkeypatch.setattr(rollups, "run_steps", counted)
    async with racked.transaction() as session:
        await recompute(session, T0 - timedelta(hours=1), T0 + timedelta(hours=4))
    assert statements
    assert statements[0] > 2 * 6  # a DELETE and an INSERT for each outlet, peaks by cycle
    assert await stored_rows(racked) == whole
    assert_same(await stored_figures(racked), await expected_figures(racked))


async def test_outlet_ranges_read_the_readings_without_a_cycle_row(
    racked: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outlet-range statements list the readings' times (rollups.reading_times), taken
    from the readings themselves: readings whose cycle row is gone are rolled up as in one
    statement over everything (and past LISTED_TIMES times the range is read instead)."""
    history = History(4)
    for n in range(30):
        await store_cycle(racked, T0 + n * STEP, history.cycle(n), interval=INTERVAL)
    gone = [T0 + n * STEP for n in (5, 6, 17)]  # 11:05, 11:10 and 12:05 (read for 11:00's)
    async with racked.transaction() as session:
        await session.execute(delete(Cycle).where(Cycle.time.in_(gone)))
        await recompute(session, T0 - timedelta(hours=1), T0 + timedelta(hours=4))
    whole = await stored_rows(racked)
    monkeypatch.setattr(rollup_plan, "READINGS_PER_STATEMENT", 1)
    async with racked.transaction() as session:
        dialect = session.get_bind().dialect.name
        s0, s1 = int((T0 + 4 * STEP).timestamp()), int((T0 + 18 * STEP).timestamp())
        times = await rollups.reading_times(session, dialect, s0, s1)
        assert times == [s0 + n * int(INTERVAL) for n in range(14)]
        listed = rollup_plan.LISTED_TIMES
        monkeypatch.setattr(rollup_plan, "LISTED_TIMES", 13)
        assert await rollups.reading_times(session, dialect, s0, s1) is None
        monkeypatch.setattr(rollup_plan, "LISTED_TIMES", listed)  # the close below lists
        await recompute(session, T0 - timedelta(hours=1), T0 + timedelta(hours=4))
    assert await stored_rows(racked) == whole
    assert_same(await stored_figures(racked), await expected_figures(racked))


async def test_replayed_and_late_cycles(racked: Database) -> None:
    history = History(3)
    cycles = {n: history.cycle(n) for n in range(30)}
    late = (7, 8, 19)  # 19: the cycle just before 12:20 -> its hour and the previous one
    for n, readings in cycles.items():
        if n not in late:
            await store_cycle(racked, T0 + n * STEP, readings, interval=INTERVAL)
    before = await stored_figures(racked)
    assert await store_cycle(racked, T0 + 5 * STEP, cycles[5], interval=INTERVAL) == 0
    assert await stored_figures(racked) == before  # a replay changes nothing
    for n in late:
        added = await store_cycle(racked, T0 + n * STEP, cycles[n], interval=INTERVAL)
        assert added == sum(len(r) for r in cycles[n].values())
    assert_same(await stored_figures(racked), await expected_figures(racked))


async def test_cycle_stored_in_parts(racked: Database) -> None:
    """`powermon poll --pdu` and the daemon can store one cycle's PDUs in separate writes;
    wn001's peak must still be the sum over both feeds."""
    for n in range(14):
        t = T0 + n * STEP
        a = [OutletReading("1", 100.0 + n, None, None), OutletReading("2", 10.0, None, None)]
        b = [OutletReading("1", 50.0 + 2 * n, None, None)]
        if n % 3 == 0:
            await store_cycle(racked, t, {"pdu-a": a, "pdu-b": b}, interval=INTERVAL)
        else:
            await store_cycle(racked, t, {"pdu-a": a}, interval=INTERVAL)
            await store_cycle(racked, t, {"pdu-b": b}, interval=INTERVAL)
    stored = await stored_figures(racked)
    assert_same(stored, await expected_figures(racked))
    wn001 = await _machine_id(racked, "wn001")
    assert (
        stored[1][("machine", wn001, datetime(2026, 10, 1, 11, tzinfo=UTC))] == 100 + 13 + 50 + 26
    )


async def test_negative_part_lowers_the_peak(racked: Database) -> None:
    """A broken meter's negative watts, stored after the other feed of the same cycle."""
    await store_cycle(
        racked, T0, {"pdu-a": [OutletReading("1", 100.0, None, None)]}, interval=INTERVAL
    )
    await store_cycle(
        racked, T0, {"pdu-b": [OutletReading("1", -30.0, None, None)]}, interval=INTERVAL
    )
    stored = await stored_figures(racked)
    assert_same(stored, await expected_figures(racked))
    wn001 = await _machine_id(racked, "wn001")
    assert stored[1][("machine", wn001, hour_of(T0))] == 70.0


async def test_pdu_peak_is_of_its_outlets_not_its_inlet(racked: Database) -> None:
    """pdu-a: outlets 100+n W and 10 W, its inlet 130+n W; cycles whole, in parts (the inlet
    apart, before or after the outlets), and one with a negative part, which recomputes the
    hour's peak from the raw rows. The PDU's peak is the outlets' 122 W (n = 12), never
    inlet + outlets (264 W)."""
    for n in range(14):
        t = T0 + n * STEP
        outlet_1 = OutletReading("1", 100.0 + n, None, None)
        outlet_2 = OutletReading("2", -5.0 if n == 13 else 10.0, None, None)
        inlet = OutletReading("inlet", 130.0 + n, 0.6, None)
        if n % 3 == 0:
            parts = [[outlet_1, outlet_2, inlet]]
        elif n % 3 == 1 or n == 13:
            parts = [[outlet_1, inlet], [outlet_2]]
        else:
            parts = [[inlet], [outlet_1, outlet_2]]
        for readings in parts:
            await store_cycle(racked, t, {"pdu-a": readings}, interval=INTERVAL)
    stored = await stored_figures(racked)
    assert_same(stored, await expected_figures(racked))
    async with racked.transaction() as session:
        pdu_a = await session.scalar(text("SELECT id FROM pdu WHERE name = 'pdu-a'"))
    eleven = datetime(2026, 10, 1, 11, tzinfo=UTC)
    assert stored[1][("pdu", pdu_a, eleven)] == 100 + 12 + 10
    assert stored[1][("pdu", pdu_a, hour_of(T0))] == 100 + 3 + 10  # 10:40 .. 10:55


async def test_two_writers_share_the_database(racked: Database) -> None:
    """Another process (a second engine) stores some cycles and some PDUs of others: what
    each writer remembers of the last cycles goes stale and must be noticed."""
    other = Database.from_url(racked.engine.url.render_as_string(hide_password=False))
    try:
        history = History(4)
        for n in range(26):
            t, readings = T0 + n * STEP, history.cycle(n)
            if n % 3 == 1:  # the next cycle's pdu-b readings follow ones `racked` did not store
                await store_cycle(racked, t, {"pdu-a": readings["pdu-a"]}, interval=INTERVAL)
                await store_cycle(other, t, {"pdu-b": readings["pdu-b"]}, interval=INTERVAL)
            else:
                writer = other if n % 7 == 0 else racked
                await store_cycle(writer, t, readings, interval=INTERVAL)
    finally:
        await other.dispose()
    assert_same(await stored_figures(racked), await expected_figures(racked))


async def _machine_id(db: Database, name: str) -> int:
    from powermond.db.repositories import MachineRepository

    async with db.transaction() as session:
        return (await MachineRepository(session).ids())[name]


async def test_small_batches_give_the_same_rows_and_rollups(
    racked: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real cycle spans many statement batches (5,000 rows, 100 PDUs); force several
    batches per statement here so the batch boundaries are exercised too."""
    from powermond.db import bulk, repositories

    monkeypatch.setattr(bulk, "ROWS_PER_BATCH", 2)
    monkeypatch.setattr(repositories, "PDUS_PER_BATCH", 1)
    history = History(5)
    expected_rows = 0
    for n in range(15):
        readings = history.cycle(n)
        expected_rows += sum(len(r) for r in readings.values())
        added = await store_cycle(racked, T0 + n * STEP, readings, interval=INTERVAL)
        assert added == sum(len(r) for r in readings.values())
        # A replay of the same cycle through the batched path adds nothing.
        assert await store_cycle(racked, T0 + n * STEP, readings, interval=INTERVAL) == 0
    async with racked.transaction() as session:
        count = await session.scalar(text("SELECT COUNT(*) FROM power_reading"))
    assert count == expected_rows
    assert_same(await stored_figures(racked), await expected_figures(racked))


async def test_cycle_by_cycle_equals_recompute(
    racked: Database, make_inventory: MakeInventory
) -> None:
    """The one rule, two ways: the rows added cycle by cycle are the rows a recompute of the
    whole range makes, to the last unit, over gaps, cycles stored in parts, late cycles and a
    poll between two cycles, a counter reset, a cycle whose recorded interval grows after
    part of it was stored, and readings pruned by retention."""
    history = History(6)
    cycles = {n: history.cycle(n) for n in range(44)}
    late = (12, 13, 25)
    for n, readings in cycles.items():
        t = T0 + n * STEP
        if n == 20:
            async with racked.transaction() as session:
                await apply_inventory(session, make_inventory(PDUS, REMAPPED))
        if 30 <= n < 33:
            del readings["pdu-b"]  # down for 15 minutes: not bridged
        if n in (34, 35):
            del readings["pdu-a"]  # 15 minutes without pdu-a before cycle 36 ...
        if n in late:
            continue
        if n == 36:  # ... bridged only once the daemon records this cycle at 600 s
            await store_cycle(
                racked, t, {"pdu-a": readings["pdu-a"]}, interval=INTERVAL,
                info=CycleInfo(origin=POLL),
            )  # fmt: skip
            await store_cycle(racked, t, {"pdu-b": readings["pdu-b"]}, interval=2 * INTERVAL)
        elif n % 5 == 2:  # stored PDU by PDU
            for pdu, rows in readings.items():
                await store_cycle(racked, t, {pdu: rows}, interval=INTERVAL)
        else:
            await store_cycle(racked, t, readings, interval=INTERVAL)
    for n in late:
        await store_cycle(racked, T0 + n * STEP, cycles[n], interval=INTERVAL)
    poll = T0 + 17 * STEP + timedelta(seconds=100)  # between two stored cycles
    await store_cycle(
        racked, poll, {"pdu-a": History(7).cycle(0)["pdu-a"]}, interval=INTERVAL,
        info=CycleInfo(origin=POLL),
    )  # fmt: skip
    assert_same(await stored_figures(racked), await expected_figures(racked))
    tallies, _ = await stored_figures(racked)
    assert any(t.counter_intervals and t.integrated_intervals for t in tallies.values())

    # The hours rolled up as they came due (late cycles reopened and closed some again)
    # hold what a recompute of the whole range writes; the open ones are read as above.
    still_open = await open_hours(racked)
    assert 1 <= len(still_open) < 3  # 14:00 (and 13:00 until 14:10:01)
    incremental = await stored_rows(racked, still_open)
    assert len({row[3] for row in incremental["power_hourly"]}) == 3  # 10:00 .. 12:00
    async with racked.transaction() as session:
        await recompute(session, T0 - timedelta(hours=2), T0 + timedelta(hours=6))
    assert await open_hours(racked) == []
    assert await stored_rows(racked, still_open) == incremental
    closed = await stored_rows(racked)

    # Retention drops the first two hours' readings; the rollups stay, and a recompute
    # (after more cycles) leaves the hours without readings as they were.
    await prune(racked, T0 + timedelta(hours=2), None, pause=0)
    assert await stored_rows(racked) == closed
    for n in range(44, 50):
        await store_cycle(racked, T0 + n * STEP, history.cycle(n), interval=INTERVAL)
    still_open = await open_hours(racked)
    incremental = await stored_rows(racked, still_open)
    assert incremental["power_hourly"][0][3] == hour_of(T0).timestamp() // 3600  # 10:00 kept
    async with racked.transaction() as session:
        await recompute(session, T0 - timedelta(hours=2), T0 + timedelta(hours=6))
    assert await stored_rows(racked, still_open) == incremental
