"""Alembic environment for PowerMon (async engines; configured from Python, no alembic.ini).

:func:`powermond.db.migrate.upgrade` hands over an open connection in
``config.attributes["connection"]``. Run by the ``alembic`` command instead (for developers
writing a migration), it connects to ``config.attributes["url"]``, the ``sqlalchemy.url``
option, or ``$POWERMON_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from powermond.db.engine import create_engine
from powermond.db.tables import Base, declared_on

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    dialect = connection.dialect.name
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Autogenerate knows no ddl_if: an index declared for other dialects is not missing.
        include_object=lambda obj, _name, _kind, _reflected, _to: declared_on(obj, dialect),
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    url = url or os.environ.get("POWERMON_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: set POWERMON_DATABASE_URL")
    return str(url)


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (shared := config.attributes.get("connection")) is not None:
    _run(shared)
else:
    asyncio.run(_run_with_url(_url()))
