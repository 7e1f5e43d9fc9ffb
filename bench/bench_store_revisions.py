"""A cycle's store at two schema revisions: the same code, the same cycles, alternated.

    cd bench && ../.venv/bin/python bench_store_revisions.py [--pdus N] [--cycles K]
        [--revisions OLD NEW]

Two SQLite databases in a temporary folder, one migrated to OLD (default 0016: the readings'
foreign key to outlet), one to NEW (default head; 0017 dropped that key), each with
bench_store's inventory (N PDUs of 48 outlets, default 1,000). K cycles (default 26) of the
same readings are stored with ``store_cycle`` into both, one after the other, in an order
that alternates from cycle to cycle, so that the machine's load falls on both alike; the
closes of due hours are left out (``store._close_due_hours`` does nothing), which makes it
the per-cycle write alone. Prints each revision's median, mean and least CPU of this process
(SQLite runs in it) per cycle, from the third cycle on. The code must be able to write at
both revisions (it writes the same statements whatever the readings' constraints).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from datetime import timedelta

import powermond.collect.store as store
from bench_store import INTERVAL, T0, Readings, cpu, inventory
from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.close_steps import Closer
from powermond.db.engine import Database
from powermond.db.migrate import migrate
from powermond.memory import tune_garbage_collector


async def _no_close(db: Database) -> Closer:
    return Closer()


async def bench(pdus: int, cycles: int, revisions: tuple[str, str]) -> None:
    store._close_due_hours = _no_close  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as folder:
        dbs: dict[str, Database] = {}
        for n, revision in enumerate(revisions):
            url = f"sqlite+aiosqlite:///{folder}/bench{n}.db"
            _, reached = await migrate(url, revision)
            dbs[f"{revision} ({reached})"] = db = Database.from_url(url)
            async with db.transaction() as session:
                await apply_inventory(session, inventory(pdus))
        tune_garbage_collector()  # as powermond does once assembled
        source = Readings(pdus)
        used: dict[str, list[float]] = {name: [] for name in dbs}
        try:
            for n in range(cycles):
                readings = source.cycle()
                t = T0 + timedelta(seconds=n * INTERVAL)
                for name in list(dbs) if n % 2 else reversed(list(dbs)):
                    started = cpu()
                    await store_cycle(dbs[name], t, readings, interval=INTERVAL)
                    used[name].append(cpu() - started)
        finally:
            for db in dbs.values():
                await db.dispose()
    print(f"sqlite: {pdus} PDUs x 48 outlets, {cycles} cycles each, closes left out")
    for name, seconds in used.items():
        steady = seconds[2:]
        print(f"  revision {name}: a cycle's store median {statistics.median(steady):.4f} s "
              f"CPU, mean {statistics.mean(steady):.4f}, least {min(steady):.4f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdus", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=26)
    parser.add_argument("--revisions", nargs=2, default=("0016", "head"))
    args = parser.parse_args()
    asyncio.run(bench(args.pdus, args.cycles, tuple(args.revisions)))


if __name__ == "__main__":
    main()
