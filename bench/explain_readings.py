"""The plan of every query on ``power_reading`` that report, plot, power, outlets, status and
prune run: each must reach the readings through an index, never a full scan.

    .venv/bin/python bench/explain_readings.py [--db sqlite|mariadb|postgres|all] [--pdus N]
        [--cycles K]

A fresh database (as bench_store.py makes them) gets K cycles of N 48-outlet PDUs through
``store_cycle`` (default 40 x 300 = 576,000 readings, 25 hours at 300 s), statistics
(ANALYZE), then the commands run as an operator types them. Every statement that names
``power_reading`` is explained just before it runs, with its real parameters, and printed
with its plan (SQLite EXPLAIN QUERY PLAN, MariaDB EXPLAIN, PostgreSQL EXPLAIN). A plan line
that scans the whole table (SQLite ``SCAN power_reading`` without an index, MariaDB
``type ALL``, PostgreSQL ``Seq Scan on power_reading``) is marked FULL SCAN.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import INTERVAL, T0, Readings, database_url, inventory
from powermond.cli import main as powermon
from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.migrate import upgrade
from powermond.output import iso_z

PLANS: list[tuple[str, list[str]]] = []


def _explain(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
    words = statement.lstrip().split(None, 1)
    if "power_reading" not in statement or not words:
        return
    if words[0].upper() not in ("SELECT", "DELETE", "WITH"):
        return
    dialect = conn.dialect.name
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    cursor.execute(prefix + statement, parameters)
    rows = cursor.fetchall()
    if dialect == "sqlite":
        lines = [str(row[-1]) for row in rows]
    elif dialect == "postgresql":
        lines = [str(row[0]) for row in rows]
    else:
        names = [d[0] for d in cursor.description]
        lines = [
            " ".join(f"{n}={v}" for n, v in zip(names, row, strict=True) if v is not None)
            for row in rows
        ]
    PLANS.append((" ".join(statement.split()), lines))


def full_scan(dialect: str, line: str) -> bool:
    if dialect == "sqlite":
        return line.startswith("SCAN power_reading") and "INDEX" not in line
    if dialect == "postgresql":
        return "Seq Scan on power_reading" in line
    return "table=power_reading" in line and "type=ALL" in line


async def fill(url: str, pdus: int, cycles: int) -> None:
    await upgrade(url)
    async with Database.from_url(url) as db:
        async with db.transaction() as session:
            await apply_inventory(session, inventory(pdus))
        source = Readings(pdus)
        for n in range(cycles):
            cycle = T0 + timedelta(seconds=n * INTERVAL)
            await store_cycle(db, cycle, source.cycle(), interval=INTERVAL)
        async with db.transaction() as session:
            mariadb = db.dialect == "mysql"
            await session.execute(text("ANALYZE TABLE power_reading" if mariadb else "ANALYZE"))


def commands(hours: float) -> list[list[str]]:
    def at(h: float) -> str:
        return iso_z(T0 + timedelta(hours=h))

    machine = "wn00000-01"
    return [
        ["report", "--since", at(1), "--until", at(hours - 1)],
        ["report", "--since", at(1), "--until", at(hours - 1), "--by", "pdu"],
        ["power", machine, "--since", at(2), "--until", at(3)],
        ["plot", machine, "--since", at(2), "--until", at(4), "-o", "{tmp}/short.svg"],
        ["plot", machine, "--since", at(0), "--until", at(hours), "-o", "{tmp}/long.svg"],
        ["outlets", "pdu00000"],
        ["status"],
        ["db", "prune", "--before", at(1)],
    ]


def run(kind: str, pdus: int, cycles: int) -> int:
    scans = 0
    with tempfile.TemporaryDirectory() as tmp:

        async def session() -> None:
            nonlocal scans
            async with database_url(kind) as url:
                await fill(url, pdus, cycles)
                (Path(tmp) / "powermon.toml").write_text(f'[database]\nurl = "{url}"\n')
                dialect = {"mariadb": "mysql", "postgres": "postgresql"}.get(kind, kind)
                for argv in commands(cycles * INTERVAL / 3600):
                    argv = [a.replace("{tmp}", tmp) for a in argv]
                    PLANS.clear()
                    event.listen(Engine, "before_cursor_execute", _explain)
                    try:
                        with contextlib.redirect_stdout(io.StringIO()):
                            code = await asyncio.to_thread(powermon, ["--config-dir", tmp, *argv])
                    finally:
                        event.remove(Engine, "before_cursor_execute", _explain)
                    print(f"== {kind}: powermon {' '.join(argv[:2])} ... (exit {code})")
                    for statement, lines in PLANS:
                        print(f"  {statement[:160]}{' ...' if len(statement) > 160 else ''}")
                        for line in lines:
                            mark = "  <-- FULL SCAN" if full_scan(dialect, line) else ""
                            scans += bool(mark)
                            print(f"      {line}{mark}")

        asyncio.run(session())
    print(f"{kind}: {scans} full scan(s) of power_reading", flush=True)
    return scans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "mariadb", "postgres", "all"), default="all")
    parser.add_argument("--pdus", type=int, default=40)
    parser.add_argument("--cycles", type=int, default=300)
    args = parser.parse_args()
    kinds = ("sqlite", "mariadb", "postgres") if args.db == "all" else (args.db,)
    scans = sum(run(kind, args.pdus, args.cycles) for kind in kinds)
    sys.exit(1 if scans else 0)


if __name__ == "__main__":
    main()
