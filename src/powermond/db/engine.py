"""The database handle: one async engine, and ``transaction()`` as the unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from powermond.db.drivers import import_asyncmy
from powermond.db.errors import DatabaseUnavailable, unit_of_work_error
from powermond.db.sqlite_access import is_read_only, read_only_pragmas, sqlite_pragmas

__all__ = ["Database", "DatabaseUnavailable", "is_sqlite", "safe_url"]

SERVER_POOL_RECYCLE_S = 3600  # below MariaDB's default wait_timeout of 8 h
_WATCH = "powermond.watch"  # key in a connection's info: the unit of work it serves


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def safe_url(url: str | URL) -> str:
    """The URL as it may appear in logs and output: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(url: str | URL) -> AsyncEngine:
    """An async engine tuned for the dialect (shared by :class:`Database` and migrations)."""
    parsed = make_url(url)
    if is_sqlite(parsed):
        engine = create_async_engine(parsed)
        pragmas = read_only_pragmas if is_read_only(parsed) else sqlite_pragmas
        event.listen(engine.sync_engine, "connect", pragmas)
        return engine
    if parsed.get_driver_name() == "asyncmy":
        import_asyncmy()  # before the dialect imports it: without cryptography
    # Servers drop idle connections; pre-ping finds out before a statement fails.
    return create_async_engine(parsed, pool_pre_ping=True, pool_recycle=SERVER_POOL_RECYCLE_S)


class Database:
    """An engine and its session factory. Create once per process; ``await dispose()`` at exit,
    or use it as ``async with Database.from_url(url) as db:``.

    ``timeout`` (seconds) bounds how long a unit of work may wait for the database, from its
    start (connecting included) or from the last statement the database answered: a
    database that stops answering (a partition, a hung server: the connection stays open and
    nothing comes back) is then "unavailable" after that long instead of after TCP's own ~15
    minutes, while a large unit of work (a 10,000-PDU cycle: hundreds of statements) that
    keeps getting answers may take longer. The daemon sets it; one-off commands leave it
    unbounded (a long report is not a fault).
    """

    def __init__(self, engine: AsyncEngine, *, timeout: float | None = None) -> None:
        self.engine = engine
        self.timeout = timeout
        #: Event-loop time of this handle's latest sign of life: a unit of work starting, or
        #: the database answering one of its statements (see :meth:`silent_for`).
        self.answered_at = 0.0
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        if not event.contains(engine.sync_engine, "after_cursor_execute", _answered):
            event.listen(engine.sync_engine, "after_cursor_execute", _answered)

    @classmethod
    def from_url(cls, url: str, *, timeout: float | None = None) -> Database:
        return cls(create_engine(url), timeout=timeout)

    def with_timeout(self, timeout: float | None) -> Database:
        """A handle on the same engine (and pool) whose units of work have another bound."""
        return Database(self.engine, timeout=timeout)

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits once when the block ends, rolls back if it raises.

        Database failures leave as :class:`~powermond.db.errors.DatabaseUnavailable` (could
        not reach it: retry later) or :class:`~powermond.db.errors.DatabaseError` (it refused).
        """
        try:
            async with asyncio.timeout(self.timeout) as deadline:
                self.answered_at = asyncio.get_running_loop().time()
                async with self._sessions() as session, session.begin():
                    if self.timeout is None:
                        yield session
                    else:
                        async with self._watched(session, deadline, self.timeout):
                            yield session
        except Exception as exc:
            error = unit_of_work_error(exc, self.safe_url, self.timeout)
            if error is exc:
                raise
            raise error from exc

    @asynccontextmanager
    async def _watched(
        self, session: AsyncSession, deadline: asyncio.Timeout, silence: float
    ) -> AsyncIterator[None]:
        """Push ``deadline`` back to ``silence`` seconds from now whenever the session's
        connection answers a statement (connecting is bounded by the deadline as it stands)."""
        info = (await session.connection()).info  # the DBAPI connection's, while checked out
        info[_WATCH] = _Watch(self, deadline, silence)
        try:
            yield
        finally:
            info.pop(_WATCH, None)

    def silent_for(self, since: float) -> float:
        """Seconds since ``since`` (event-loop time) or this handle's latest sign of life,
        whichever is later: what a caller bounding a unit of work from outside compares with
        ``timeout``."""
        return asyncio.get_running_loop().time() - max(since, self.answered_at)

    async def ping(self) -> None:
        """Raise :class:`DatabaseUnavailable` unless the database answers."""
        from sqlalchemy import text

        async with self.transaction() as session:
            await session.execute(text("SELECT 1"))


class _Watch:
    """A unit of work's bound, pushed back each time the database answers it."""

    __slots__ = ("_database", "_deadline", "_loop", "_silence")

    def __init__(self, database: Database, deadline: asyncio.Timeout, silence: float) -> None:
        self._database = database
        self._deadline = deadline
        self._silence = silence
        self._loop = asyncio.get_running_loop()

    def answered(self) -> None:
        if self._deadline.expired():
            return  # too late: the unit of work is being cancelled
        now = self._loop.time()
        self._database.answered_at = now
        self._deadline.reschedule(now + self._silence)


def _answered(connection: Any, *_: Any) -> None:
    """SQLAlchemy's ``after_cursor_execute``: a statement came back (the event runs in the
    event loop's thread, between the awaits of the unit of work it serves)."""
    answered(connection.info)


def answered(info: dict[Any, Any]) -> None:
    """The database answered a request of the unit of work whose connection has ``info``
    (its ``.info``): for requests made past SQLAlchemy's cursor, such as asyncpg's ``COPY``."""
    watch = info.get(_WATCH)
    if watch is not None:
        watch.answered()
