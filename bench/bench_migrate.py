"""Time of the readings' migrations (0005 compact readings, 0008 server readings) per
million readings.

    .venv/bin/python bench/bench_migrate.py [--db sqlite|mariadb|postgres|all] [--pdus N]
        [--cycles K] [--start 0004|0007]

A fresh database (as bench_store.py makes them) migrated to ``--start``, filled with K cycles
of N 48-outlet PDUs in that revision's layout (default 1,000 x 21 = 1,008,000 readings;
0004: DATETIME times, surrogate id, REAL values; 0007: BIGINT seconds since 1970, integer
thousandths), then upgraded to head: prints the upgrade's wall time and the time per million
readings, and checks the reading count.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import INTERVAL, OUTLETS, T0, database_url
from powermond.db.bulk import executemany
from powermond.db.engine import Database
from powermond.db.migrate import head_revision, migrate

OLD = sa.Table(  # power_reading as revision 0004 has it
    "power_reading",
    sa.MetaData(),
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("cycle", sa.DateTime()),
    sa.Column("outlet_id", sa.Integer),
    sa.Column("machine_id", sa.Integer),
    sa.Column("watts", sa.Double),
    sa.Column("amps", sa.Double),
    sa.Column("energy_kwh", sa.Double),
)


COMPACT = sa.Table(  # power_reading as revisions 0005 to 0007 have it
    "power_reading",
    sa.MetaData(),
    sa.Column("cycle", sa.BigInteger, primary_key=True),
    sa.Column("energy_kwh", sa.BigInteger),
    sa.Column("outlet_id", sa.Integer, primary_key=True),
    sa.Column("machine_id", sa.Integer),
    sa.Column("watts", sa.Integer),
    sa.Column("amps", sa.Integer),
)


async def fill(db: Database, pdus: int, cycles: int, start: str = "0004") -> int:
    async with db.transaction() as session:
        await session.execute(
            sa.text(
                "INSERT INTO pdu (id, name, host, port, profile, snmp_version, created_at)"
                " VALUES (:id, :name, '192.0.2.1', 161, 'apc-rpdu2', '2c', :t)"
            ),
            [{"id": p + 1, "name": f"pdu{p:05d}", "t": T0.replace(tzinfo=None)}
             for p in range(pdus)],
        )  # fmt: skip
        await session.execute(
            sa.text("INSERT INTO outlet (id, pdu_id, label) VALUES (:id, :pdu, :label)"),
            [{"id": p * OUTLETS + o + 1, "pdu": p + 1, "label": str(o + 1)}
             for p in range(pdus) for o in range(OUTLETS)],
        )  # fmt: skip
    names = ("cycle", "outlet_id", "watts", "amps", "energy_kwh")
    for n in range(cycles):
        cycle = (T0 + timedelta(seconds=n * INTERVAL)).replace(tzinfo=None)
        rows = (
            (cycle, outlet, 100.0 + outlet % 300, 0.5, 1000.0 + n * 0.1)
            for outlet in range(1, pdus * OUTLETS + 1)
        )
        table = OLD
        if start != "0004":  # epoch seconds and thousandths
            epoch = int((T0 + timedelta(seconds=n * INTERVAL)).timestamp())
            rows = ((epoch, o, round(w * 1000), 500, round(e * 1000)) for _, o, w, _a, e in rows)
            table = COMPACT
        async with db.transaction() as session:
            await executemany(session, sa.insert(table), rows, names=names)
    return pdus * OUTLETS * cycles


async def count(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(sa.text("SELECT COUNT(*) FROM power_reading")) or 0)


async def bench(kind: str, pdus: int, cycles: int, start: str) -> None:
    async with database_url(kind) as url:
        await migrate(url, start)
        async with Database.from_url(url) as db:
            readings = await fill(db, pdus, cycles, start)
        started = time.perf_counter()
        await migrate(url)
        took = time.perf_counter() - started
        async with Database.from_url(url) as db:
            assert await count(db) == readings
    print(
        f"{kind}: upgrade {start} -> {head_revision()} of {readings:,} readings: {took:.1f} s"
        f" = {took / readings * 1e6:.1f} s per million readings",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "mariadb", "postgres", "all"), default="all")
    parser.add_argument("--pdus", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=21)
    parser.add_argument("--start", choices=("0004", "0007"), default="0004")
    args = parser.parse_args()
    kinds = ("sqlite", "mariadb", "postgres") if args.db == "all" else (args.db,)
    for kind in kinds:
        asyncio.run(bench(kind, args.pdus, args.cycles, args.start))


if __name__ == "__main__":
    main()
