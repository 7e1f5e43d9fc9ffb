"""Bytes per stored reading: table + index bytes of ``power_reading`` / readings.

    .venv/bin/python bench/bench_size.py [--db sqlite|mariadb|postgres|all] [--pdus N]
        [--cycles K]

Fills a fresh database (as bench_store.py makes them) with K cycles of N 48-outlet PDUs
(default 1,000 x 21 = 1,007,000 readings, a few missed) through ``ReadingRepository``, the
daemon's write path without the rollups, then prints the bytes the readings table and its
indexes take: SQLite ``dbstat`` pages, PostgreSQL ``pg_total_relation_size``, MariaDB
``data_length + index_length`` (after ANALYZE TABLE). Also the size a year at 300 s takes
for 1,000 outlets (105,120 readings each). Targets: SQLite <= 48 B, servers <= 100 B.
``--rollups``: the bytes the hourly rollups (kept for ever) take per outlet-hour instead, and
the daily rollups of a closed day (also kept for ever) per outlet-day.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import INTERVAL, OUTLETS, T0, Readings, database_url, inventory
from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.daily import POWER, close_day, day_of
from powermond.db.engine import Database
from powermond.db.migrate import head_revision, upgrade
from powermond.db.repositories import ReadingRepository
from powermond.db.rollups import close_hours_before

YEAR_READINGS_PER_OUTLET = 365 * 24 * 3600 // 300
ROLLUPS = ("power_hourly", "machine_peak_hourly", "pdu_peak_hourly", "cycle")
DAILY = ("power_daily", "machine_peak_daily", "pdu_peak_daily")


async def table_bytes(db: Database, kind: str, table: str = "power_reading") -> int:
    async with db.transaction() as session:
        if kind == "sqlite":
            names = await session.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE tbl_name = :t"
                    " AND type IN ('table', 'index')"
                ),
                {"t": table},
            )
            wanted = [n for (n,) in names]
            marks = ", ".join(f"'{n}'" for n in wanted)
            stmt = f"SELECT SUM(pgsize) FROM dbstat WHERE name IN ({marks})"
            return int(await session.scalar(text(stmt)) or 0)
        if kind == "postgres":
            stmt = f"SELECT pg_total_relation_size('{table}')"
            return int(await session.scalar(text(stmt)) or 0)
        await session.execute(text(f"ANALYZE TABLE {table}"))
        stmt = (
            "SELECT data_length + index_length FROM information_schema.tables"
            " WHERE table_schema = DATABASE() AND table_name = :t"
        )
        return int(await session.scalar(text(stmt), {"t": table}) or 0)


async def rollups(kind: str, pdus: int) -> None:
    """Bytes per outlet-hour of the hourly rollups (kept for ever): 13 cycles through
    ``store_cycle``, across one hour boundary, so every outlet has two hourly rows."""
    async with database_url(kind) as url:
        await upgrade(url)
        async with Database.from_url(url) as db:
            async with db.transaction() as session:
                await apply_inventory(session, inventory(pdus))
            source = Readings(pdus)
            for n in range(13):
                cycle = T0 + timedelta(seconds=n * INTERVAL)
                await store_cycle(db, cycle, source.cycle(), interval=INTERVAL)
            async with db.transaction() as session:  # the hours not due yet, as they will be
                await close_hours_before(session, T0 + timedelta(days=1))
            size = sum([await table_bytes(db, kind, t) for t in ROLLUPS])
            async with db.transaction() as session:
                rows = int(await session.scalar(text("SELECT COUNT(*) FROM power_hourly")) or 0)
            # An hour's rows are written once, when it is rolled up (a reopened hour's again:
            # on PostgreSQL dead row versions until autovacuum). Rebuilt: the live rows only.
            async with db.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                for t in ROLLUPS:
                    rebuild = {"sqlite": "VACUUM", "postgres": f"VACUUM FULL {t}"}
                    await conn.execute(text(rebuild.get(kind, f"OPTIMIZE TABLE {t}")))
            rebuilt = sum([await table_bytes(db, kind, t) for t in ROLLUPS])
            async with db.transaction() as session:  # as the daily job closes a day
                await close_day(session, POWER, day_of(T0))
                days = int(await session.scalar(text("SELECT COUNT(*) FROM power_daily")) or 0)
            daily = sum([await table_bytes(db, kind, t) for t in DAILY])
    year_gb = size / rows * 8760 * 1000 / 1e9
    print(
        f"{kind}: rollups {size:,} B for {rows:,} outlet-hours = {size / rows:.0f} B per"
        f" outlet-hour; 1,000 outlets x 1 year = {year_gb:.2f} GB (kept for ever); rebuilt"
        f" (VACUUM / OPTIMIZE TABLE): {rebuilt / rows:.0f} B per outlet-hour",
        flush=True,
    )
    print(
        f"{kind}: daily rollups {daily:,} B for {days:,} outlet-days = {daily / days:.0f} B per"
        f" outlet-day; 1,000 outlets x 1 year = {daily / days * 365 * 1000 / 1e9:.3f} GB",
        flush=True,
    )


async def bench(kind: str, pdus: int, cycles: int) -> None:
    async with database_url(kind) as url:
        await upgrade(url)
        async with Database.from_url(url) as db:
            async with db.transaction() as session:
                await apply_inventory(session, inventory(pdus))
            source = Readings(pdus)
            stored = 0
            started = time.perf_counter()
            for n in range(cycles):
                cycle = T0 + timedelta(seconds=n * INTERVAL)
                async with db.transaction() as session:
                    added = await ReadingRepository(session).add_cycle_many(cycle, source.cycle())
                stored += added.added
            filled = time.perf_counter() - started
            size = await table_bytes(db, kind)
    per = size / stored
    year_gb = per * YEAR_READINGS_PER_OUTLET * 1000 / 1e9
    print(
        f"{kind} (schema {head_revision()}): {stored:,} readings ({pdus} PDUs x {OUTLETS} x "
        f"{cycles} cycles, filled in {filled:.0f} s): {size:,} B table + indexes = "
        f"{per:.1f} B/reading; 1,000 outlets x 1 year at 300 s = {year_gb:.2f} GB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "mariadb", "postgres", "all"), default="all")
    parser.add_argument("--pdus", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=21)
    parser.add_argument("--rollups", action="store_true", help="size the hourly rollups instead")
    args = parser.parse_args()
    kinds = ("sqlite", "mariadb", "postgres") if args.db == "all" else (args.db,)
    for kind in kinds:
        if args.rollups:
            asyncio.run(rollups(kind, args.pdus))
        else:
            asyncio.run(bench(kind, args.pdus, args.cycles))


if __name__ == "__main__":
    main()
