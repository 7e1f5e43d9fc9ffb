"""Migration 0015 (PostgreSQL readings keyed (cycle, outlet_id)) on a long history: how long
the upgrade and the downgrade take.

    nice -n 10 .venv/bin/python bench/bench_migrate_pg.py [--history N] [--outlets K] [--rounds R]

Creates its own database ``bench_history`` (as ``bench_server_history.py`` does, whose
inventory and fill it uses: N cycles of K outlets, default 192 x 48,000, 9.2 million
readings), migrated to 0014, then R times (default 2): upgrade to 0015, downgrade to 0014,
each timed (wall; the server backend does the work), with the table's sizes after each
and every statement of the migration that took 0.1 s or more.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import create_async_engine

from bench_server_history import OUTLETS, bench_database, fill, inventory, table_size
from powermond.db.migrate import downgrade, migrate


def timed_statements() -> list[tuple[float, str]]:
    """(seconds, statement) of every statement any engine runs from now on (the migration
    makes an engine of its own)."""
    found: list[tuple[float, str]] = []
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        found.append((time.perf_counter() - started.pop(), statement))

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    return found


async def run(args: argparse.Namespace) -> None:
    async with bench_database("postgres") as url:
        await migrate(url, "0014")
        engine = create_async_engine(url)
        meter = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.begin() as conn:
                await inventory(conn, "postgres", args.outlets // OUTLETS)
            started = time.perf_counter()
            await fill(engine, "postgres", args.history)
            async with meter.connect() as m:
                size = await table_size(m, "postgres")
            print(f"{args.history} cycles of {args.outlets} outlets ({size}),"
                  f" filled in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
            statements = timed_statements()
            for n in range(args.rounds):
                for name, step in (("upgrade", migrate(url, "0015")),
                                   ("downgrade", downgrade(url, "0014"))):  # fmt: skip
                    async with meter.connect() as m:
                        await m.exec_driver_sql("CHECKPOINT")
                    statements.clear()
                    started = time.perf_counter()
                    await step
                    took = time.perf_counter() - started
                    async with meter.connect() as m:
                        size = await table_size(m, "postgres")
                    print(f"  round {n + 1} {name:9} {took:6.1f} s  ({size})", flush=True)
                    for seconds, statement in statements:
                        if seconds >= 0.1:
                            print(f"    {seconds:6.1f} s  {statement[:90]}", flush=True)
        finally:
            await engine.dispose()
            await meter.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--history", type=int, default=192)
    parser.add_argument("--outlets", type=int, default=48_000)
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
