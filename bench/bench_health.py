"""The stored PDU health's write per cycle: ``HealthRecorder.record`` at N PDUs.

    cd bench && ../.venv/bin/python bench_health.py [--db sqlite|mariadb|postgres]
        [--pdus N] [--cycles K]

A fresh database (bench_store's: SQLite in a temporary folder, a server's database made and
dropped) with N PDUs (default 10,000) and no machines; K cycles (default 12) in which every
PDU is polled, 2 % of them failing at random, each recorded as the daemon does (the book's
new states, then their rows written in one transaction). Prints the median wall time and
CPU of this process per cycle from the third on, and checks that the stored states read
back as the book holds them. Old code is timed with ``PYTHONPATH`` to its ``src``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import timedelta

from bench_store import SERVERS, T0, cpu, database_url
from powermond.collect.cycle import CycleResult, PduResult
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.health import HealthRecorder, HealthRepository
from powermond.db.migrate import upgrade
from powermond.inventory.model import Inventory, PduConfig


async def bench(kind: str, pdus: int, cycles: int) -> None:
    names = [f"pdu{i:05d}" for i in range(pdus)]
    configs = {n: PduConfig(name=n, host="192.0.2.1", profile="apc-rpdu2") for n in names}
    async with database_url(kind) as url:
        await upgrade(url)
        async with Database.from_url(url) as db:
            async with db.transaction() as session:
                await apply_inventory(session, Inventory(pdus=configs, machines={}))
            recorder = HealthRecorder(db)
            rng = random.Random(3)
            walls, used = [], []
            for n in range(cycles):
                results = tuple(
                    PduResult(name, error="timeout" if rng.random() < 0.02 else None,
                              seconds=rng.uniform(0.1, 2.0))
                    for name in names
                )  # fmt: skip
                result = CycleResult(T0 + timedelta(seconds=300 * n), results)
                wall, started = time.perf_counter(), cpu()
                await recorder.record(result)
                walls.append(time.perf_counter() - wall)
                used.append(cpu() - started)
            async with db.transaction() as session:
                stored = await HealthRepository(session).states()
    assert stored == recorder.book.states(), "the stored states differ from the book's"
    print(f"{kind}: {pdus} PDUs, {cycles} cycles: a cycle's health write median "
          f"{statistics.median(walls[2:]):.4f} s wall, {statistics.median(used[2:]):.4f} s CPU "
          f"(least {min(used[2:]):.4f}); {len(stored)} rows")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", *SERVERS], default="sqlite")
    parser.add_argument("--pdus", type=int, default=10000)
    parser.add_argument("--cycles", type=int, default=12)
    args = parser.parse_args()
    asyncio.run(bench(args.db, args.pdus, args.cycles))


if __name__ == "__main__":
    main()
