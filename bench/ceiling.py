"""The raw driver's ceiling for a cycle's rows: what the store is measured against.

The same rows the store wrote (read back from the readings table: the same values, in the
driver's own types) go into an empty copy of that table (same columns, types, unique key,
indexes and foreign keys, made from the database's own: SQLite's CREATE statements,
MariaDB's SHOW CREATE TABLE, PostgreSQL's ``LIKE … INCLUDING ALL`` and foreign keys; the
declaration does not give the key order), in one transaction, by each driver's fastest
path with no SQLAlchemy in between:

- SQLite (aiosqlite): ``executemany`` of one prepared INSERT (sqlite3's C loop);
- PostgreSQL (asyncpg): ``copy_records_to_table`` (COPY ... FROM STDIN, binary);
- MariaDB (asyncmy): ``executemany``, which asyncmy sends as multi-row INSERTs.

The copy is dropped and made anew before each run, so every run starts from an empty
table as the store's cycle starts from a table without that cycle; the database's own
rows are not touched. No rollups: the ceiling is the raw insert alone, which the store
(rollups included) is measured against.
"""

from __future__ import annotations

import itertools
import resource
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from powermond.db.tables import NAMING_CONVENTION, Base

COPY_SUFFIX = "_ceiling"


def copy_of(table_name: str) -> Table:
    """An empty twin of ``table_name`` (``<name>_ceiling``), its foreign keys resolving to
    the real tables."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    for other in Base.metadata.sorted_tables:
        if other.name != table_name:
            other.to_metadata(metadata)
    copy = Base.metadata.tables[table_name].to_metadata(metadata, name=table_name + COPY_SUFFIX)
    # Index and constraint names are per schema on PostgreSQL (and foreign keys' on MariaDB).
    for item in [*copy.indexes, *copy.constraints]:
        name = getattr(item, "name", None)
        if isinstance(name, str):
            item.name = name.replace(table_name, copy.name, 1)  # type: ignore[attr-defined]
    return copy


async def cycle_rows(
    engine: AsyncEngine, table_name: str, columns: Sequence[str], where: str
) -> list[tuple[Any, ...]]:
    """The rows of ``table_name`` matching ``where``, as the raw driver returns them."""
    names = ", ".join(columns)
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(f"SELECT {names} FROM {table_name} WHERE {where}")
        return [tuple(row) for row in result]


def process_cpu() -> float:
    """CPU seconds of this process, all threads (aiosqlite runs SQLite in one of them)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def raw_insert_seconds(
    engine: AsyncEngine,
    table_name: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    per_statement: int = 1,
) -> tuple[float, float]:
    """(wall, CPU of this process) seconds of inserting ``rows`` into a fresh copy of
    ``table_name``, one transaction, by the driver's fastest path (table made and dropped
    outside the timing). On SQLite the CPU is the whole work; on a server it is the client's.
    ``per_statement`` (SQLite): rows per INSERT, as one multi-row VALUES list (the store's
    path since cyc17, ``db.bulk.SQLITE_ROWS_PER_INSERT``), the values grouped outside the
    timing; 1: one single-row statement run per row (sqlite3's executemany), the ceiling
    issue 15 defined."""
    copy = copy_of(table_name)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: copy.drop(sync, checkfirst=True))
        if engine.dialect.name == "sqlite":  # the key order the database has (0013's)
            for ddl in await _sqlite_ddl(conn, table_name, copy.name):
                await conn.exec_driver_sql(ddl)
        elif engine.dialect.name in ("mysql", "mariadb"):  # its key and indexes (0008, 0014)
            found = await conn.exec_driver_sql(f"SHOW CREATE TABLE {table_name}")
            ddl = found.one()[1]
            await conn.exec_driver_sql(ddl.replace(table_name, copy.name))
        elif engine.dialect.name == "postgresql":  # its key, indexes, foreign keys (0015)
            for ddl in await _postgresql_ddl(conn, table_name, copy.name):
                await conn.exec_driver_sql(ddl)
        else:
            await conn.run_sync(lambda sync: copy.create(sync))
    try:
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            given: Sequence[Sequence[Any]] = rows
            tail: Sequence[tuple[Any, ...]] = ()
            if per_statement > 1:
                whole = len(rows) - len(rows) % per_statement
                given = [
                    tuple(itertools.chain.from_iterable(rows[i : i + per_statement]))
                    for i in range(0, whole, per_statement)
                ]
                tail = rows[whole:]
            started, cpu = time.perf_counter(), process_cpu()
            await _insert(engine.dialect.name, raw, copy.name, columns, given, per_statement, tail)
            seconds, cpu = time.perf_counter() - started, process_cpu() - cpu
        async with engine.connect() as conn:
            stored = (await conn.execute(text(f"SELECT count(*) FROM {copy.name}"))).scalar_one()
        if stored != len(rows):
            raise RuntimeError(f"the ceiling run stored {stored} rows of {len(rows)}")
        return seconds, cpu
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: copy.drop(sync, checkfirst=True))


async def _postgresql_ddl(conn: Any, table_name: str, copy_name: str) -> list[str]:
    """PostgreSQL: the statements that make ``copy_name`` as the database has
    ``table_name``: columns, key and indexes (``LIKE … INCLUDING ALL``: the real key order,
    since migration 0015 (cycle, outlet_id), which the declaration does not give), then
    its foreign keys (before 0015 the one to outlet, checked for every row)."""
    found = await conn.exec_driver_sql(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        f" WHERE conrelid = '{table_name}'::regclass AND contype = 'f' ORDER BY conname"
    )
    keys = [f"ALTER TABLE {copy_name} ADD {definition}" for (definition,) in found]
    return [f"CREATE TABLE {copy_name} (LIKE {table_name} INCLUDING ALL)", *keys]


async def _sqlite_ddl(conn: Any, table_name: str, copy_name: str) -> list[str]:
    """SQLite: the table's own CREATE statements (table, then indexes) for its copy: its
    key order and indexes are not the declared ones (migration 0013: (cycle, outlet_id), no
    index), which Alembic does not compare."""
    found = await conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL"
        " ORDER BY type = 'index'",
        (table_name,),
    )
    return [ddl.replace(table_name, copy_name) for (ddl,) in found]


async def _insert(
    dialect: str,
    raw: Any,
    name: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    per_statement: int = 1,
    tail: Sequence[tuple[Any, ...]] = (),
) -> None:
    names = ", ".join(columns)
    if dialect == "postgresql":
        async with raw.transaction():
            await raw.copy_records_to_table(name, records=rows, columns=list(columns))
    elif dialect == "sqlite":
        marks = f"({', '.join('?' for _ in columns)})"
        await raw.execute("BEGIN")
        values = ", ".join([marks] * per_statement)
        await raw.executemany(f"INSERT INTO {name} ({names}) VALUES {values}", rows)
        if tail:
            await raw.executemany(f"INSERT INTO {name} ({names}) VALUES {marks}", tail)
        await raw.commit()
    elif dialect in ("mysql", "mariadb"):
        marks = ", ".join("%s" for _ in columns)
        await raw.begin()
        async with raw.cursor() as cursor:
            await cursor.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})", rows)
        await raw.commit()
    else:
        raise NotImplementedError(dialect)
