"""Store benchmark with several collectors: each cycle of N 48-outlet PDUs written as K shares.

    .venv/bin/python bench/bench_cluster_store.py [--db postgres|mariadb] [--pdus N]
        [--collectors K ...] [--cycles C]

The inventory and readings of ``bench_store`` (A and B feeds on PDUs 2k and 2k+1, so most
machines' feeds fall in two collectors' shares). Per K: K ``Database`` handles (one per
collector, as K processes would have), the PDUs assigned with ``collect.assign`` over K
collectors, and every cycle's K shares stored at once with ``store_cycle``, as K daemons do
at the same aligned moment. The cycle-write lock makes them take turns; the writers after
the first read the cycle's earlier rows back for the machine and PDU peaks. Prints per K the
wall time per cycle (the last share committed) and readings/s, steady state from cycle 2.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import timedelta

from bench_store import INTERVAL, OUTLETS, SERVERS, T0, Readings, database_url, inventory
from powermond.collect.assign import Member, assign
from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.migrate import upgrade


async def bench(kind: str, pdus: int, collectors: int, cycles: int) -> None:
    async with database_url(kind) as url:
        await upgrade(url)
        handles = [Database.from_url(url) for _ in range(collectors)]
        try:
            inv = inventory(pdus)
            async with handles[0].transaction() as session:
                await apply_inventory(session, inv)
            owner = assign(inv.pdus, [Member(f"c{i}") for i in range(collectors)])
            source = Readings(pdus)
            walls = []
            for n in range(cycles):
                readings = source.cycle()
                count = sum(len(r) for r in readings.values())
                shares = [
                    {p: r for p, r in readings.items() if owner[p] == f"c{i}"}
                    for i in range(collectors)
                ]
                t = T0 + timedelta(seconds=n * INTERVAL)
                wall = time.perf_counter()
                pairs = zip(handles, shares, strict=True)
                added = await asyncio.gather(
                    *(store_cycle(db, t, s, interval=INTERVAL) for db, s in pairs)
                )
                wall = time.perf_counter() - wall
                assert sum(added) == count, (added, count)
                walls.append(wall)
                print(f"  {kind} K={collectors} cycle {n}: {wall:6.2f} s, "
                      f"{count / wall:6.0f} readings/s")  # fmt: skip
            steady = statistics.median(walls[2:] or walls)
            print(f"{kind}: {pdus} PDUs x {OUTLETS} outlets, {collectors} collector(s): median "
                  f"{steady:.2f} s per cycle, {count / steady:.0f} readings/s")  # fmt: skip
        finally:
            for db in handles:
                await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=list(SERVERS), default="postgres")
    parser.add_argument("--pdus", type=int, default=1000)
    parser.add_argument("--collectors", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    for k in args.collectors:
        asyncio.run(bench(args.db, args.pdus, k, args.cycles))


if __name__ == "__main__":
    main()
