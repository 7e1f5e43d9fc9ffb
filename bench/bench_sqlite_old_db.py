"""SQLite with a long history: one cycle's store (CPU, WAL bytes), the hour's close, and the
readers of some outlets' readings, on whichever readings layout the code under test
migrates to.

    cd bench && ../.venv/bin/python bench_sqlite_old_db.py [--pdus N] [--history K]
    cd bench && PYTHONPATH=/work/main/src ../.venv/bin/python bench_sqlite_old_db.py  # old

A fresh database, migrated to the code's head (revision 0012: readings keyed (outlet_id,
cycle) with an index on cycle; 0013: keyed (cycle, outlet_id), no index), with
``bench_store``'s inventory (N PDUs x 48 outlets, 40 mapped, A and B feeds), K cycles of
history written by plain SQL in one statement (300 s apart, every outlet), their hours
rolled up by the code's own close. Then, WAL checkpointed: 14 more cycles stored by
``store_cycle`` (the daemon's write), each printed with its CPU (this process, SQLite's
thread included) and the WAL's growth, the close of the hour that falls due among them
with its own CPU; then the read-only commands, in this process, each's CPU: ``status``,
``outlets PDU`` (a live one, and one whose readings stopped ten hours ago), ``power
MACHINE`` over a day, and ``report`` over a day. No timed asserts: figures to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

import powermond.collect.store as store
from bench_store import INTERVAL, Readings, cpu, inventory
from powermond.cli import main as cli
from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.migrate import head_revision, upgrade
from powermond.memory import tune_garbage_collector

STEP = int(INTERVAL)
DUMP = os.environ.get("BENCH_DUMP")  # a folder: each command's output kept there


async def fill_history(db: Database, cycles: int, end: int, dead_pdu: str) -> None:
    """``cycles`` cycles of every outlet up to ``end`` (exclusive), by one INSERT … SELECT in
    the key's order, with their cycle rows; ``dead_pdu``'s readings stop 10 h before."""
    async with db.transaction() as session:
        key = await session.scalar(
            text("SELECT sql FROM sqlite_master WHERE name = 'power_reading'")
        )
        order = "t.c, o.id" if "PRIMARY KEY (cycle, outlet_id)" in str(key) else "o.id, t.c"
        start = end - cycles * STEP
        await session.execute(
            text(
                "WITH RECURSIVE t(c) AS (SELECT :s UNION ALL SELECT c + :step FROM t"
                " WHERE c + :step < :e)"
                " INSERT INTO power_reading (cycle, energy_kwh, outlet_id, machine_id, watts, amps)"
                " SELECT t.c, 1000000 + (t.c - :s) / 30, o.id, o.machine_id,"
                " 20000 + (o.id * 7919 + t.c) % 380000, 500 FROM outlet AS o CROSS JOIN t"
                " WHERE o.pdu_id != (SELECT id FROM pdu WHERE name = :dead) OR t.c < :e - 36000"
                f" ORDER BY {order}"
            ),
            {"s": start, "e": end, "step": STEP, "dead": dead_pdu},
        )
        await session.execute(
            text(
                "WITH RECURSIVE t(c) AS (SELECT :s UNION ALL SELECT c + :step FROM t"
                " WHERE c + :step < :e)"
                " INSERT INTO cycle (time, collector, origin, interval_s, pdus_polled,"
                " pdus_failed, readings, seconds)"
                " SELECT strftime('%Y-%m-%d %H:%M:%S.000000', c, 'unixepoch'), 'bench',"
                " 'daemon', 300, 0, 0, 0, NULL FROM t"
            ),
            {"s": start, "e": end, "step": STEP},
        )
        await session.execute(
            text(
                "WITH RECURSIVE h(x) AS (SELECT :h0 UNION ALL SELECT x + 1 FROM h"
                " WHERE x + 1 < :h1)"
                " INSERT INTO open_hour (hour) SELECT x FROM h"
            ),
            {"h0": start // 3600, "h1": (end - 1) // 3600 + 1},
        )


def wal_mb(path: Path) -> float:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size / 2**20 if wal.exists() else 0.0


def command(config: Path, *argv: str) -> str:
    out = io.StringIO()
    used = cpu()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli(["--config-dir", str(config), *argv])
    took = cpu() - used
    digest = hashlib.sha1(out.getvalue().encode()).hexdigest()[:10]
    if DUMP:
        (Path(DUMP) / f"{argv[0]}-{digest}.out").write_text(out.getvalue())
    return f"{' '.join(argv)}: exit {code}, {took:.3f} s CPU, output sha1 {digest}"


async def bench(pdus: int, history: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade(url)
        end = int(datetime(2026, 10, 8, 10, 40, tzinfo=UTC).timestamp())
        async with Database.from_url(url) as db:
            async with db.transaction() as session:
                await apply_inventory(session, inventory(pdus))
            dead = f"pdu{pdus - 1:05d}"
            wall = time.perf_counter()
            await fill_history(db, history, end, dead)
            async with db.transaction() as session:
                await session.execute(text("SELECT 1"))
            filled = time.perf_counter() - wall
            wall = time.perf_counter()
            await store._close_due_hours(db)
            print(f"revision {head_revision()}: {pdus} PDUs, {history} cycles of history "
                  f"written in {filled:.0f} s, rolled up in {time.perf_counter() - wall:.0f} s, "
                  f"{path.stat().st_size / 2**20:.0f} MB")  # fmt: skip
            async with db.engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            tune_garbage_collector()
            source = Readings(pdus)
            close = store._close_due_hours
            closes: list[float] = []

            async def timed(db: Database) -> None:
                used = cpu()
                await close(db)
                closes.append(cpu() - used)

            store._close_due_hours = timed  # type: ignore[assignment]
            async with db.transaction() as session:
                opened = await session.scalar(text("SELECT count(*) FROM open_hour"))
            for n in range(14):
                readings = source.cycle()
                readings.pop(dead)
                t = datetime.fromtimestamp(end + n * STEP, UTC)
                before_wal, used, closes[:] = wal_mb(path), cpu(), []
                await store_cycle(db, t, readings, interval=INTERVAL)
                used = cpu() - used
                async with db.transaction() as session:
                    still = await session.scalar(text("SELECT count(*) FROM open_hour"))
                closing = f"; close {sum(closes):.3f} s CPU" if still < opened else ""
                opened = still
                print(f"  cycle {t:%H:%M}: {used - sum(closes):.3f} s CPU without the close, "
                      f"WAL +{wal_mb(path) - before_wal:.1f} MB{closing}", flush=True)  # fmt: skip
                async with db.engine.connect() as conn:
                    await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            store._close_due_hours = close  # type: ignore[assignment]
        config = Path(tmp) / "etc"
        config.mkdir()
        (config / "powermon.toml").write_text(f'[database]\nurl = "{url}"\n')
        last = datetime.fromtimestamp(end + 14 * STEP, UTC)
        day = (f"{last - timedelta(days=1):%Y-%m-%dT%H:%MZ}", f"{last:%Y-%m-%dT%H:%MZ}")
        await asyncio.to_thread(command, config, "pdus")  # the imports, once
        for argv in (
            ("status", "--format", "json"),
            ("pdus",),
            ("outlets", "pdu00000"),
            ("outlets", dead),
            ("power", "wn00000-01", "--since", day[0], "--until", day[1], "--format", "json"),
            ("report", "--since", day[0], "--until", day[1], "--format", "json"),
        ):
            print("  " + await asyncio.to_thread(command, config, *argv), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdus", type=int, default=1000)
    parser.add_argument("--history", type=int, default=192)
    args = parser.parse_args()
    os.environ.setdefault("TZ", "UTC")
    asyncio.run(bench(args.pdus, args.history))


if __name__ == "__main__":
    main()
