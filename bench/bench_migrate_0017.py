"""Time of migration 0017 (SQLite's readings lose their foreign key to outlet) and of its
downgrade, on a database of N million readings.

    cd bench && ../.venv/bin/python bench_migrate_0017.py [--cycles K]

A SQLite database in a temporary folder migrated to 0016, with one PDU of 48,000 outlets and
K cycles (default 100: 4.8 million readings) of their readings written by SQLite itself;
then upgraded to 0017, downgraded to 0016 and upgraded again, each timed (wall, and CPU of
this process, which runs SQLite). The upgrade rewrites the table's statement only, so its
time does not grow with the readings; the downgrade's foreign_key_check reads them all.
Last, a whole ``PRAGMA integrity_check`` of the file is timed, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench_store import cpu
from powermond.db.engine import Database
from powermond.db.migrate import downgrade, migrate

OUTLETS = 48000


async def bench(cycles: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        await migrate(url, "0016")
        async with Database.from_url(url) as db, db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO pdu (name, host, port, profile, snmp_version, created_at)"
                    " VALUES ('big', '192.0.2.1', 161, 'apc-rpdu2', '2c', '2026-10-01 00:00:00')"
                )
            )
            await session.execute(
                text(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :k)"
                    " INSERT INTO outlet (pdu_id, label) SELECT 1, i FROM n"
                ),
                {"k": OUTLETS},
            )
            await session.execute(
                text(
                    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :k)"
                    " INSERT INTO power_reading (cycle, outlet_id, watts, amps, energy_kwh)"
                    " SELECT 1790000000 + (i / :o) * 300, 1 + i % :o, 123456, 500, 1000 + i FROM n"
                ),
                {"k": cycles * OUTLETS - 1, "o": OUTLETS},
            )
        size = path.stat().st_size / 1e6
        print(f"sqlite: {cycles * OUTLETS / 1e6:.1f} million readings, {size:.0f} MB")
        steps = [
            ("upgrade 0016 -> 0017", lambda: migrate(url, "0017")),
            ("downgrade 0017 -> 0016", lambda: downgrade(url, "0016")),
            ("upgrade 0016 -> 0017 again", lambda: migrate(url, "0017")),
        ]
        for what, step in steps:
            wall, started = time.perf_counter(), cpu()
            await step()
            print(f"  {what}: {time.perf_counter() - wall:.2f} s wall, {cpu() - started:.2f} s CPU")
        async with Database.from_url(url) as db, db.engine.connect() as connection:
            wall, started = time.perf_counter(), cpu()
            found = (await connection.exec_driver_sql("PRAGMA integrity_check")).scalars().all()
            wall, started = time.perf_counter() - wall, cpu() - started
            print(f"  (a whole integrity_check, which 0017 does not run: {found}, "
                  f"{wall:.2f} s wall, {started:.2f} s CPU)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100)
    asyncio.run(bench(parser.parse_args().cycles))


if __name__ == "__main__":
    main()
