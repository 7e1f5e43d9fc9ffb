"""The read-only commands' way into the database: SQLAlchemy Core on the same async drivers
(aiosqlite, asyncmy, asyncpg), without SQLAlchemy's asyncio extension.

The extension's ``AsyncSession`` imports the ORM, which with the extension is a fifth of the
CPU a command like ``pdus`` takes to start. Its engine is only a Core engine made with the
async dialect, each call run by ``greenlet_spawn``, in whose greenlet the dialect awaits the
driver; :func:`read` does the same for the few calls a read makes (connect, execute, close).
Statements are Core (:mod:`powermond.db.schema`), and the repositories that only read take
any :class:`~powermond.db.repository_base.Session`, so the daemon and the commands run the
same queries. Failures leave as :class:`Database` units of work do, with the same messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Result, ScalarResult, make_url
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn

from powermond.db.errors import unit_of_work_error
from powermond.db.sqlite_access import is_read_only, read_only_pragmas, sqlite_pragmas

T = TypeVar("T")


class Reads:
    """A :class:`~powermond.db.repository_base.Session` on one connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def execute(self, statement: Executable, params: Any = None, /) -> Result[Any]:
        # Rows come back fetched: the async dialects' cursors read them in execute.
        return await greenlet_spawn(self._connection.execute, statement, params)

    async def scalar(self, statement: Executable, /) -> Any:
        return await greenlet_spawn(self._connection.scalar, statement)

    async def scalars(self, statement: Executable, /) -> ScalarResult[Any]:
        return await greenlet_spawn(self._connection.scalars, statement)

    def get_bind(self) -> Connection:
        return self._connection


async def read(url: str, work: Callable[[Reads], Awaitable[T]]) -> T:
    """``work``'s result, run on one connection to the database at ``url`` (of
    :func:`~powermond.db.sqlite_access.open_url`), whose transaction is rolled back: it
    only reads. Database failures leave as :mod:`powermond.db.errors` types."""
    parsed = make_url(url)
    # One connection, closed at the end: no pool to keep (nor pre-ping: it is new).
    engine = create_engine(parsed, poolclass=NullPool)
    if parsed.get_backend_name() == "sqlite":
        pragmas = read_only_pragmas if is_read_only(parsed) else sqlite_pragmas
        event.listen(engine, "connect", pragmas)
    try:
        connection = await greenlet_spawn(engine.connect)
        try:
            return await work(Reads(connection))
        finally:
            await greenlet_spawn(connection.close)
    except Exception as exc:
        error = unit_of_work_error(exc, parsed.render_as_string(hide_password=True))
        if error is exc:
            raise
        raise error from exc
    finally:
        await greenlet_spawn(engine.dispose)
