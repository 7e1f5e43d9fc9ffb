"""Store benchmark: poll cycles of N 48-outlet PDUs written with ``store_cycle``, against the
raw driver's ceiling, amortized over whole hours.

    .venv/bin/python bench/bench_store.py [--db sqlite|mariadb|postgres] [--pdus N]
        [--cycles K] [--check] [--profile] [--gc daemon|cpython] [--input columns|objects]
        [--sqlite-close by-outlet|by-cycle]

A fresh database of its own (SQLite in a temporary folder; on MariaDB/PostgreSQL a database
created on 127.0.0.1 and dropped afterwards), migrated, with N PDUs and N/2 x 40 machines:
outlet i (1..40) of PDUs 2k and 2k+1 feed the same machine (A and B feed), outlets 41..48
feed nobody. K consecutive cycles 300 s apart (default 44: 10:40 to 14:15), each stored in
one ``store_cycle`` call as the daemon does (readings with watts and an energy counter, a
few outlets missing each cycle). Prints per cycle: wall time, CPU of this process,
readings/s, and the close after it (an hour is due at :15, once no reading can change it:
``db.rollups``; a large site's close is spread over the next cycles, a few steps after each:
``db.close_steps``): its steps, the hours it finished, its own wall and CPU.

The raw driver's ceiling (:mod:`ceiling`) is measured in the same run, interleaved: after
each steady cycle (the third on), the rows it stored are inserted again into an empty copy
of the readings table, made from the database's own (SQLite's CREATE statements,
MariaDB's SHOW CREATE TABLE, PostgreSQL's LIKE … INCLUDING ALL and foreign keys: since
migrations 0013-0015 keyed (cycle, outlet_id) with no other index, as the store's) by the
driver alone (aiosqlite executemany, asyncpg COPY, asyncmy multi-row INSERT), one
transaction, no rollups. On SQLite the rows are inserted a second time in INSERTs of 100
rows each (one multi-row VALUES list each: the store's own path since cyc17, 2-3 times
cheaper for SQLite than a statement run per row), and the store's speed is printed against
that too.

The store's cost is amortized over whole hours: the mean over the cycles from the one
after which the second hour's close begins (12:15, the 11:00 hour, the first whole one) to
the one before the last close begins (with K = 44: 12:15 to 14:10, 24 cycles, the closes of
two 12-cycle hours whole, however many cycles each is spread over; K = 32: one hour),
closes included. The last lines print that mean, the ceiling's mean over the same cycles,
and the store's speed as a percentage of the ceiling's (issue 15's target: 50 %), by wall
time and by this process's CPU, with the load average; and the largest cycle (by wall, and
by CPU) from the third on: what a close run whole after one cycle costs that cycle, or a
spread one's share. (Until 2026-12-02 the mean was over the cycles after the first close
to the last, with K = 32 by default: the same whole hours when each close is one cycle's.)
Code before ``close_steps`` (``PYTHONPATH`` to an older ``src``) is timed the same way.
``--check`` compares the
rollups with a recompute from the raw readings at the end (slow); ``--profile`` prints
where the store's Python time goes (cProfile over the amortized cycles). The garbage
collector is tuned as ``powermond`` tunes it once assembled (``memory.tune_garbage_collector``,
as bench_cycle_cpu and bench_memory do); ``--gc cpython`` keeps CPython's defaults (as this
bench ran until 2026-12-01's lite15: its young collections, one per 700 rows built, made
the row building of a cycle's write cost 1.3 to 3 times its own CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import powermond.collect.store as store
from ceiling import cycle_rows, raw_insert_seconds
from powermond.collect.store import store_cycle
from powermond.db import bulk
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.migrate import upgrade
from powermond.inventory.model import Inventory, MachineConfig, OutletRef, PduConfig
from powermond.memory import tune_garbage_collector
from powermond.readings import OutletReading, OutletReadings
from servers import SERVERS

REPO = str(Path(__file__).resolve().parent.parent)
# Rows per INSERT of the store's SQLite path (also for code before it, run for comparison).
SQLITE_ROWS_PER_INSERT = getattr(bulk, "SQLITE_ROWS_PER_INSERT", 100)
READINGS = "power_reading"  # the table store_cycle writes readings to, and its columns:
READING_COLUMNS = ("cycle", "outlet_id", "machine_id", "watts", "amps", "energy_kwh")
OUTLETS = 48
MAPPED = 40
INTERVAL = 300.0
T0 = datetime(2026, 10, 1, 10, 40, tzinfo=UTC)


@asynccontextmanager
async def database_url(kind: str) -> AsyncIterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite+aiosqlite:///{tmp}/bench.db"
        return
    base, admin_db = SERVERS[kind]
    name = f"pm_bench_{uuid.uuid4().hex[:8]}"
    options = {"isolation_level": "AUTOCOMMIT"}
    admin = create_async_engine(f"{base}/{admin_db}", **options)  # type: ignore[arg-type]
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f"CREATE DATABASE {name}"))
        yield f"{base}/{name}"
    finally:
        async with admin.connect() as conn:
            force = " WITH (FORCE)" if kind == "postgres" else ""
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
        await admin.dispose()


def inventory(pdus: int) -> Inventory:
    names = [f"pdu{i:05d}" for i in range(pdus)]
    machines = {}
    for k in range(0, pdus - 1, 2):
        for outlet in range(1, MAPPED + 1):
            name = f"wn{k // 2:05d}-{outlet:02d}"
            feeds = (OutletRef(pdu=names[k], label=str(outlet)),
                     OutletRef(pdu=names[k + 1], label=str(outlet)))  # fmt: skip
            machines[name] = MachineConfig(name=name, outlets=feeds)
    return Inventory(
        pdus={n: PduConfig(name=n, host="192.0.2.1", profile="apc-rpdu2") for n in names},
        machines=machines,
    )


class Readings:
    """Each cycle's readings, per PDU as the poll hands them to the store (``OutletReadings``,
    collect/cycle.py ``storable``), or as lists of ``OutletReading`` objects (``--input
    objects``: as this bench passed them until 2026-12-01's lite15)."""

    def __init__(self, pdus: int, columns: bool = True) -> None:
        self.rng = random.Random(7)
        self.counters = [[1000.0] * OUTLETS for _ in range(pdus)]
        self.columns = columns

    def cycle(self) -> dict[str, Sequence[OutletReading]]:
        out = {}
        for p, counters in enumerate(self.counters):
            rows = []
            for o in range(OUTLETS):
                watts = self.rng.uniform(20, 400)
                counters[o] += watts * INTERVAL / 3600 / 1000
                if self.rng.random() < 0.01:
                    continue  # a missed reading now and then
                rows.append(OutletReading(str(o + 1), watts, watts / 230, round(counters[o], 1)))
            out[f"pdu{p:05d}"] = OutletReadings(rows) if self.columns else rows
        return out


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Timed:
    """One cycle's store: wall and CPU, and of them the close of due hours."""

    wall: float = 0.0
    cpu: float = 0.0
    close_wall: float = 0.0
    close_cpu: float = 0.0
    closing: bool = False  # a close ran after the cycle (whole, or some of its steps)
    steps: int = 0  # its steps (code before close_steps: 1, the whole close)
    closed: int = 0  # hours rolled up after the cycle


def timing_closes(current: list[Timed]) -> None:
    """Time ``store_cycle``'s close of due hours into ``current[-1]``."""
    close = store._close_due_hours

    async def timed(db: Database) -> object:
        async with db.transaction() as session:
            before = int(await session.scalar(text("SELECT count(*) FROM open_hour")) or 0)
        wall, used = time.perf_counter(), cpu()
        closer = await close(db)
        current[-1].close_wall += time.perf_counter() - wall
        current[-1].close_cpu += cpu() - used
        async with db.transaction() as session:
            after = int(await session.scalar(text("SELECT count(*) FROM open_hour")) or 0)
        current[-1].closing = True
        current[-1].steps += int(getattr(closer, "steps", 1))
        current[-1].closed += before - after
        return closer

    store._close_due_hours = timed  # type: ignore[assignment]


async def bench(
    kind: str,
    pdus: int,
    cycles: int,
    check: bool,
    profile: bool,
    daemon_gc: bool = True,
    columns: bool = True,
) -> None:
    async with database_url(kind) as url:
        await upgrade(url)
        async with Database.from_url(url) as db:
            started = time.perf_counter()
            async with db.transaction() as session:
                await apply_inventory(session, inventory(pdus))
            print(f"{kind}: {pdus} PDUs x {OUTLETS} outlets, inventory applied in "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip
            source = Readings(pdus, columns)
            if daemon_gc:
                tune_garbage_collector()  # as powermond does once assembled
            tuned = "as powermond tunes it" if daemon_gc else "CPython defaults"
            given = "OutletReadings" if columns else "lists of OutletReading"
            print(f"  garbage collector: {tuned}; readings given as {given}")
            timed: list[Timed] = []
            timing_closes(timed)
            ceilings: list[tuple[float, ...]] = []
            profiler = cProfile.Profile() if profile else None
            replay = None
            for n in range(cycles):
                readings = source.cycle()
                replay = replay or readings
                count = sum(len(r) for r in readings.values())
                t = T0 + timedelta(seconds=n * INTERVAL)
                timed.append(Timed())
                if profiler is not None and n >= 8:
                    profiler.enable()
                wall, used = time.perf_counter(), cpu()
                added = await store_cycle(db, t, readings, interval=INTERVAL)
                wall, used = time.perf_counter() - wall, cpu() - used
                if profiler is not None:
                    profiler.disable()
                assert added == count, (added, count)
                this = timed[-1]
                this.wall, this.cpu = wall, used
                closes = (f"; close: {this.steps} step(s), {this.closed} hour(s) rolled up, "
                          f"{this.close_wall:.3f} s wall, {this.close_cpu:.3f} s CPU"
                          if this.closing else "")  # fmt: skip
                print(f"  cycle {n:2d} {t:%H:%M}: {wall:6.3f} s wall, {used:6.3f} s CPU, "
                      f"{count / wall:8.0f} readings/s{closes}")  # fmt: skip
                # Steady state from the third (the first starts from an empty history): the
                # driver alone, same rows, same table shape.
                ceilings.append(await _ceiling(db, count) if n >= 2 else (0.0,) * 4)
            _print_ratio(count, timed, ceilings)
            assert replay is not None
            wall = time.perf_counter()
            assert await store_cycle(db, T0, replay, interval=INTERVAL) == 0
            print(f"  replay of cycle 0: {time.perf_counter() - wall:.3f} s (0 rows added)")
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  peak RSS {rss:.0f} MB")
            if profiler is not None:
                pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
            if check:
                await check_rollups(db)


async def _ceiling(db: Database, count: int) -> tuple[float, ...]:
    """The driver alone on the rows of the cycle just stored (the newest): (wall, CPU), and
    on SQLite the same in INSERTs of the store's multi-row VALUES lists (else zeros)."""
    newest = f"cycle = (SELECT max(cycle) FROM {READINGS})"
    rows = await cycle_rows(db.engine, READINGS, READING_COLUMNS, newest)
    assert len(rows) == count, (len(rows), count)
    wall, used = await raw_insert_seconds(db.engine, READINGS, READING_COLUMNS, rows)
    print(f"           raw driver ceiling, same {count} rows: {wall:6.3f} s wall, "
          f"{used:6.3f} s CPU, {count / wall:8.0f} readings/s")  # fmt: skip
    if db.engine.dialect.name != "sqlite":
        return wall, used, 0.0, 0.0
    k = SQLITE_ROWS_PER_INSERT
    multi = await raw_insert_seconds(db.engine, READINGS, READING_COLUMNS, rows, per_statement=k)
    print(f"           the same in INSERTs of {k} rows each: {multi[0]:6.3f} s wall, "
          f"{multi[1]:6.3f} s CPU")  # fmt: skip
    return wall, used, *multi


def _print_ratio(count: int, timed: list[Timed], ceilings: list[tuple[float, ...]]) -> None:
    steady = range(2, len(timed))
    if steady:
        wall_top = max(steady, key=lambda i: timed[i].wall)
        cpu_top = max(steady, key=lambda i: timed[i].cpu)
        print(f"  largest cycle (from cycle 2): cycle {wall_top} {timed[wall_top].wall:.3f} s "
              f"wall ({timed[wall_top].cpu:.3f} s CPU, close {timed[wall_top].close_wall:.3f} s "
              f"wall); by CPU cycle {cpu_top} {timed[cpu_top].cpu:.3f} s CPU "
              f"({timed[cpu_top].wall:.3f} s wall)")  # fmt: skip
    begins = [i for i, t in enumerate(timed) if t.closing and not (i and timed[i - 1].closing)]
    if len(begins) < 3 or begins[0] < 2:
        print("  (fewer than three closes begun after the second cycle: run more cycles, e.g."
              " 44 for two whole hours, 32 for one)")  # fmt: skip
        return
    window = range(begins[1], begins[-1])  # whole hours: each close's 12 cycles
    hours = sum(timed[i].closed for i in window)
    wall = statistics.mean(timed[i].wall for i in window)
    used = statistics.mean(timed[i].cpu for i in window)
    raw_wall = statistics.mean(ceilings[i][0] for i in window)
    raw_cpu = statistics.mean(ceilings[i][1] for i in window)
    others = [timed[i] for i in window if not timed[i].closing]
    closes = [timed[i] for i in window if timed[i].closing]
    load = os.getloadavg()
    print(f"  cycles {window.start}..{window.stop - 1} ({len(window)} cycles, {hours} hours "
          f"rolled up): a cycle without a close median "
          f"{statistics.median(t.wall for t in others):.3f} s wall, "
          f"{statistics.median(t.cpu for t in others):.3f} s CPU; an hour's close (its "
          f"{len(closes) / max(hours, 1):.1f} cycles' share, {len(window) // max(hours, 1)} "
          f"cycles an hour) "
          f"{sum(t.close_wall for t in closes) / max(hours, 1):.3f} s wall, "
          f"{sum(t.close_cpu for t in closes) / max(hours, 1):.3f} s CPU in "
          f"{sum(t.steps for t in closes) / max(hours, 1):.0f} step(s)")  # fmt: skip
    print(f"  store (rollups included) amortized over whole hours: mean {wall:.3f} s wall, "
          f"{used:.3f} s CPU per cycle; raw driver mean {raw_wall:.3f} s wall, {raw_cpu:.3f} s "
          f"CPU, same {count} rows")  # fmt: skip
    print(f"  => the store runs at {100 * raw_wall / wall:.0f} % of the driver's speed by wall "
          f"time, {100 * raw_cpu / used:.0f} % by this process's CPU (target >= 50 %); load "
          f"average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")  # fmt: skip
    if any(c[2] for c in ceilings):  # SQLite: the driver in the store's multi-row INSERTs
        multi_wall = statistics.mean(ceilings[i][2] for i in window)
        multi_cpu = statistics.mean(ceilings[i][3] for i in window)
        print(f"  against the driver in multi-row INSERTs ({SQLITE_ROWS_PER_INSERT} rows each, "
              f"the store's own path: mean {multi_wall:.3f} s wall, {multi_cpu:.3f} s CPU): "
              f"{100 * multi_wall / wall:.0f} % by wall, {100 * multi_cpu / used:.0f} % by "
              "CPU")  # fmt: skip


async def check_rollups(db: Database) -> None:
    """The stored rollups against a recompute from raw readings (as tests/db does)."""
    sys.path[:0] = [REPO, str(Path(REPO) / "tests")]  # tests/db's conftest imports tests/*
    from tests.db import test_cycle_rollups as t

    t.T0 = T0
    t.assert_same(await t.stored_figures(db), await t.expected_figures(db))
    print("  rollups == recompute from raw readings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", *SERVERS], default="sqlite")
    parser.add_argument("--pdus", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=44)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--gc", choices=["daemon", "cpython"], default="daemon")
    parser.add_argument("--input", choices=["columns", "objects"], default="columns")
    parser.add_argument(
        "--sqlite-close",
        choices=["by-outlet", "by-cycle"],
        default="by-outlet",
        help="SQLite's close of an outlet range: each outlet's listed reading times by key"
        " seeks (what the code does up to rollup_rule.SQLITE_BY_OUTLET_TIMES times), or each"
        " time's readings of the range in cycle order, sorted for LEAD (the alternative)",
    )
    args = parser.parse_args()
    if args.sqlite_close == "by-cycle":
        import powermond.db.rollup_rule as rule

        rule.SQLITE_BY_OUTLET_TIMES = 0
    daemon_gc, columns = args.gc == "daemon", args.input == "columns"
    options = (args.check, args.profile, daemon_gc, columns)
    asyncio.run(bench(args.db, args.pdus, args.cycles, *options))


if __name__ == "__main__":
    main()
