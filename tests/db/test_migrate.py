"""Migrations: from empty to head on every database, and the models match the migrations."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import powermond.db
from powermond.db import tables
from powermond.db.engine import create_engine
from powermond.db.migrate import current_revision, head_revision, upgrade
from powermond.db.tables import declared_on

CORE_TABLES = {"pdu", "machine", "outlet", "power_reading", "cpu_load"}


async def _diff(url: str, include: Any = None) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        def included(obj: Any, *args: Any) -> bool:  # indexes of other dialects: not missing
            here = declared_on(obj, connection.dialect.name)
            return here and (include is None or bool(include(obj, *args)))

        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": included}
        )
        return list(compare_metadata(context, tables.Base.metadata))

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_from_empty_reaches_head(db_url: str) -> None:
    assert await current_revision(db_url) is None
    await upgrade(db_url)
    head = head_revision()
    assert await current_revision(db_url) == head
    assert await _table_names(db_url) >= CORE_TABLES | {"alembic_version"}
    await upgrade(db_url)  # a second run is a no-op
    assert await current_revision(db_url) == head


async def test_core_tables_match_migrations(db_url: str) -> None:
    """`alembic check` for tables.py: the migrated schema is what the models declare."""
    await upgrade(db_url)

    def core(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        table = obj if kind == "table" else getattr(obj, "table", None)
        return table is None or table.name in CORE_TABLES | {"alembic_version"}

    assert await _diff(db_url, core) == []


async def test_every_mapped_table_is_migrated(sqlite_url: str) -> None:
    """A table added to db/ without a migration shows up here (imports every db module)."""
    for module in pkgutil.iter_modules(powermond.db.__path__):
        importlib.import_module(f"powermond.db.{module.name}")
    await upgrade(sqlite_url)
    assert await _diff(sqlite_url) == []


async def test_upgrade_creates_the_sqlite_directory(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "powermon.db"
    await upgrade(f"sqlite+aiosqlite:///{path}")
    assert path.is_file()
    assert await current_revision(f"sqlite+aiosqlite:///{path}") == head_revision()


async def test_named_constraints_survive_reflection(sqlite_url: str) -> None:
    await upgrade(sqlite_url)
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            uniques = await connection.run_sync(lambda c: inspect(c).get_unique_constraints("pdu"))
            key = await connection.run_sync(lambda c: inspect(c).get_pk_constraint("power_reading"))
    finally:
        await engine.dispose()
    assert [u["name"] for u in uniques] == ["uq_pdu_name"]
    # The readings' natural key is their primary key: no surrogate id, no unique index; on
    # SQLite in cycle order (migration 0013).
    assert key["constrained_columns"] == ["cycle", "outlet_id"]
