"""Fresh databases at the newest schema revision, fast: migrate once per process, then clone.

Running the migrations costs a test about 0.3 s on SQLite, 0.5 s on PostgreSQL and 1-2.5 s
on MariaDB (DDL there is slow). :func:`migrated` runs the real migrations
(:func:`powermond.db.migrate.upgrade`) once per process and kind of database (each
pytest-xdist worker is a process) into a template, and gives every later test a copy of it:

- SQLite: the template file copied into a file made with the mode ``upgrade`` gives it;
- PostgreSQL: ``CREATE DATABASE … TEMPLATE`` (the server copies the template);
- MariaDB: the template's own ``SHOW CREATE TABLE`` statements run in the new database, and
  the rows of its tables (the ``alembic_version`` row) copied.

The tests of the migrations themselves (``tests/db/test_migrate.py``,
``test_compact_migration.py``, ``powermon db upgrade``) still run them on every database.
Templates are dropped at the end of the session (``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from powermond.db.migrate import SQLITE_FILE_MODE, upgrade

POSTGRES_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
MARIADB_ADMIN = "mysql+asyncmy://root@127.0.0.1:3306/test"


@dataclass
class _Templates:
    sqlite: Path | None = None
    postgres: str | None = None  # database name
    mariadb: str | None = None  # database name
    mariadb_ddl: list[str] = field(default_factory=list)
    mariadb_filled: list[str] = field(default_factory=list)  # tables with rows to copy
    tmp: Path | None = None


_made = _Templates()  # per process; tests of one process run one at a time


async def migrated(url: str) -> None:
    """Bring the fresh, empty database at ``url`` (as ``db_url`` gives it) to the newest
    revision: what ``await upgrade(url)`` does, from a template."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        await _sqlite(url)
    elif backend == "postgresql":
        await _postgres(url)
    elif backend == "mysql":
        await _mariadb(url)
    else:
        await upgrade(url)


def migrated_sync(url: str) -> None:
    """:func:`migrated` from synchronous code (a fixture of a daemon test), in a thread of
    its own so that it never runs on (or next to) the test's event loop."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(migrated(url))
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), f"cloning the schema into {url} took over 120 s"
    if failure:
        raise failure[0]


async def _sqlite(url: str) -> None:
    database = make_url(url).database
    assert database, url
    target = Path(database)
    if _made.sqlite is None:
        _made.tmp = Path(tempfile.mkdtemp(prefix="pm-schema-"))
        template = _made.tmp / "template.db"
        await upgrade(f"sqlite+aiosqlite:///{template}")
        assert not template.with_name("template.db-wal").exists()
        _made.sqlite = template
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE)
    os.close(fd)
    shutil.copyfile(_made.sqlite, target)  # into the file made above: its mode stays


async def _postgres(url: str) -> None:
    name = make_url(url).database
    admin = create_async_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        if _made.postgres is None:
            template = f"pm_tpl_{uuid.uuid4().hex[:12]}"
            async with admin.connect() as conn:
                await conn.execute(text(f"CREATE DATABASE {template}"))
            await upgrade(str(make_url(url).set(database=template)))
            _made.postgres = template
        async with admin.connect() as conn:  # the fresh database is empty: made again
            await conn.execute(text(f"DROP DATABASE {name}"))
            await conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {_made.postgres}"))
    finally:
        await admin.dispose()


async def _mariadb(url: str) -> None:
    if _made.mariadb is None:
        await _mariadb_template(url)
    name = make_url(url).database
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
            for ddl in _made.mariadb_ddl:
                await conn.exec_driver_sql(ddl)
            for table in _made.mariadb_filled:
                await conn.exec_driver_sql(
                    f"INSERT INTO {name}.`{table}` SELECT * FROM {_made.mariadb}.`{table}`"
                )
            await conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
    finally:
        await engine.dispose()


async def _mariadb_template(url: str) -> None:
    template = f"pm_tpl_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(MARIADB_ADMIN)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f"CREATE DATABASE {template}"))
        _made.mariadb = template
        await upgrade(str(make_url(url).set(database=template)))
        async with admin.connect() as conn:
            kinds = await conn.exec_driver_sql(f"SHOW FULL TABLES FROM {template}")
            tables = dict(kinds.tuples().all())
            assert set(tables.values()) == {"BASE TABLE"}, tables  # no views to clone
            for table in sorted(tables):
                created = await conn.exec_driver_sql(f"SHOW CREATE TABLE {template}.`{table}`")
                _made.mariadb_ddl.append(created.one()[1])
                rows = await conn.exec_driver_sql(f"SELECT COUNT(*) FROM {template}.`{table}`")
                if rows.scalar_one():
                    _made.mariadb_filled.append(table)
    finally:
        await admin.dispose()


def drop_templates() -> None:
    """At the end of the session: the templates this process made."""
    if _made.tmp is not None:
        shutil.rmtree(_made.tmp, ignore_errors=True)
    if _made.postgres is None and _made.mariadb is None:
        return

    async def drop() -> None:
        if _made.postgres is not None:
            pg = create_async_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
            try:
                async with pg.connect() as conn:
                    await conn.execute(text(f"DROP DATABASE IF EXISTS {_made.postgres}"))
            finally:
                await pg.dispose()
        if _made.mariadb is not None:
            my = create_async_engine(MARIADB_ADMIN)
            try:
                async with my.begin() as conn:
                    await conn.execute(text(f"DROP DATABASE IF EXISTS {_made.mariadb}"))
            finally:
                await my.dispose()

    asyncio.run(drop())
