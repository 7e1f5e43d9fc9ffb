"""The engine: the unit of work, SQLite settings, failures as DatabaseUnavailable, no passwords."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from powermond.db.engine import Database, safe_url
from powermond.db.errors import DatabaseError, DatabaseUnavailable
from powermond.db.migrate import upgrade
from powermond.db.repositories import PduRepository
from powermond.db.tables import Pdu
from powermond.errors import PowermonError


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pdu(name: str) -> Pdu:
    return Pdu(name=name, host="192.0.2.1", port=161, profile="apc-rpdu2", snmp_version="2c")


async def _add_then_fail(db: Database) -> None:
    async with db.transaction() as session:
        session.add(_pdu("lost"))
        await session.flush()  # sent to the database, not yet committed
        raise ValueError("later failure")


async def test_transaction_commits_once_or_not_at_all(db: Database) -> None:
    async with db.transaction() as session:
        session.add(_pdu("kept"))
    with pytest.raises(ValueError, match="later failure"):
        await _add_then_fail(db)
    async with db.transaction() as session:
        assert [p.name for p in await PduRepository(session).list()] == ["kept"]


async def test_constraint_violation_is_a_database_error(db: Database) -> None:
    async with db.transaction() as session:
        session.add(_pdu("twice"))
    with pytest.raises(DatabaseError) as caught:
        async with db.transaction() as session:
            session.add(_pdu("twice"))
    assert not isinstance(caught.value, DatabaseUnavailable)


async def test_sqlite_connections_enforce_foreign_keys_and_use_wal(sqlite_url: str) -> None:
    await upgrade(sqlite_url)
    db = Database.from_url(sqlite_url)
    try:
        async with db.transaction() as session:
            assert await session.scalar(text("PRAGMA foreign_keys")) == 1
            assert await session.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await session.scalar(text("PRAGMA busy_timeout")) == 10_000
        with pytest.raises(DatabaseError, match="FOREIGN KEY"):
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO outlet (pdu_id, label) VALUES (999, '1')"))
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "mysql+asyncmy://root:s3cret@127.0.0.1:{port}/powermon",
        "postgresql+asyncpg://powermon:s3cret@127.0.0.1:{port}/powermon",
    ],
)
async def test_unreachable_server_is_unavailable_without_password(url: str) -> None:
    db = Database.from_url(url.format(port=_closed_port()))
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            await db.ping()
    finally:
        await db.dispose()
    assert isinstance(caught.value, PowermonError)
    assert "s3cret" not in str(caught.value)
    assert "***" in str(caught.value)
    assert "s3cret" not in db.safe_url


async def test_unopenable_sqlite_file_is_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "powermon.db"
    db = Database.from_url(f"sqlite+aiosqlite:///{missing}")
    try:
        with pytest.raises(DatabaseUnavailable, match="unable to open"):
            await db.ping()
    finally:
        await db.dispose()
        await _aiosqlite_threads_ended()


async def _aiosqlite_threads_ended() -> None:
    """aiosqlite's worker of a failed connect ends a moment later, posting to the loop; if
    the test's loop is closed by then, the thread dies with "Event loop is closed" in
    whatever test runs next. (A daemon's loop outlives it.)"""
    for _ in range(200):
        if not any("_connection_worker_thread" in t.name for t in threading.enumerate()):
            return
        await asyncio.sleep(0.01)


async def test_missing_schema_says_to_upgrade(sqlite_url: str) -> None:
    db = Database.from_url(sqlite_url)
    try:
        with pytest.raises(DatabaseError, match="powermon db upgrade") as caught:
            async with db.transaction() as session:
                await PduRepository(session).list()
    finally:
        await db.dispose()
    assert not isinstance(caught.value, DatabaseUnavailable)


def test_safe_url_masks_the_password() -> None:
    masked = safe_url("postgresql+asyncpg://pm:p%40ss@db.example.org/powermon")
    assert masked == "postgresql+asyncpg://pm:***@db.example.org/powermon"


async def test_the_bound_is_on_silence_not_on_the_whole_unit_of_work(db: Database) -> None:
    """A unit of work the database keeps answering may outlast ``timeout`` (a 10,000-PDU
    cycle is hundreds of statements); each answer gives it ``timeout`` again."""
    await db.ping()  # connected (a server's first connection may take longer than the bound)
    bounded = db.with_timeout(1.0)  # a loaded server may take a few hundred ms per statement
    started = asyncio.get_running_loop().time()
    async with bounded.transaction() as session:
        for _ in range(8):  # 2 s in all, never 1 s without an answer
            await asyncio.sleep(0.25)
            assert await session.scalar(text("SELECT 1")) == 1
            assert bounded.silent_for(started) < 0.25  # just answered
    assert asyncio.get_running_loop().time() - started >= 2.0


async def test_a_unit_of_work_left_without_answer_for_the_bound_is_unavailable(
    db: Database,
) -> None:
    """After an answer the bound starts again, and still ends a wait that long."""
    await db.ping()
    bounded = db.with_timeout(0.3)

    async def answered_then_silent() -> None:
        async with bounded.transaction() as session:
            await session.scalar(text("SELECT 1"))
            await asyncio.sleep(5)  # stands for a statement the database never answers

    with pytest.raises(DatabaseUnavailable, match=r"gave no answer within 0\.3 s"):
        await answered_then_silent()
    async with bounded.transaction() as session:  # the connection went back to the pool clean
        assert await session.scalar(text("SELECT 1")) == 1
