"""Shared fixtures: real databases (each test gets its own), the recordings folder."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

REPO = Path(__file__).resolve().parent.parent
SNMPREC_DIR = Path(os.environ.get("POWERMON_SNMPREC_DIR", REPO.parent / "shared" / "snmprec"))
IN_CI = os.environ.get("CI", "").lower() == "true"

MARIADB = ("127.0.0.1", 3306)
POSTGRES = ("127.0.0.1", 5432)


def _reachable(addr: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(addr, timeout=1.0):
            return True
    except OSError:
        return False


def require_server(name: str, addr: tuple[str, int]) -> None:
    """Skip when the server is absent, but fail under CI=true, where it must run."""
    if _reachable(addr):
        return
    message = f"{name} is not listening on {addr[0]}:{addr[1]}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: server-backed tests must run)")
    pytest.skip(message)


def require_real_recordings() -> Path:
    """The real device recordings (``../shared/snmprec``), for tests that compare with them.

    Skip when the folder is absent, but fail under CI=true, where those tests must run. Every
    other test polls the recordings the project owns (``tests/owned.py``).
    """
    if SNMPREC_DIR.is_dir():
        return SNMPREC_DIR
    message = f"real device recordings folder {SNMPREC_DIR} is absent"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: the tests comparing with real devices must run)")
    pytest.skip(message)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The schema templates this process made (tests/schema_clone.py) go."""
    import schema_clone

    schema_clone.drop_templates()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``./dev test`` runs the suite in parallel): the tests of a module
    that share a module-scoped fixture (an snmpsim agent, the demo run) go to one worker, so
    the fixture is made once, not once per worker. Other tests are spread one by one."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        scopes = {d.scope for defs in info.name2fixturedefs.values() for d in defs}
        if "module" in scopes:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.fixture
def snmprec_dir() -> Path:
    return require_real_recordings()


async def _sqlite_url(tmp_path: Path) -> AsyncIterator[str]:
    yield f"sqlite+aiosqlite:///{tmp_path / 'powermon.db'}"


async def _mariadb_url() -> AsyncIterator[str]:
    require_server("MariaDB", MARIADB)
    name = f"pm_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine("mysql+asyncmy://root@127.0.0.1:3306/test")
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f"CREATE DATABASE {name}"))
        yield f"mysql+asyncmy://root@127.0.0.1:3306/{name}"
        async with admin.begin() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    finally:
        await admin.dispose()


async def _postgres_url() -> AsyncIterator[str]:
    require_server("PostgreSQL", POSTGRES)
    name = f"pm_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f"CREATE DATABASE {name}"))
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        await admin.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("mariadb", marks=pytest.mark.mariadb),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL to a fresh, empty database of each kind; dropped after the test."""
    makers = {
        "sqlite": lambda: _sqlite_url(tmp_path),
        "mariadb": _mariadb_url,
        "postgres": _postgres_url,
    }
    async for url in makers[request.param]():
        yield url


@pytest.fixture
async def mariadb_url() -> AsyncIterator[str]:
    """A fresh MariaDB database only (skipped without the server, but under CI=true)."""
    async for url in _mariadb_url():
        yield url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> AsyncIterator[str]:
    """A fresh SQLite database only, for tests where the dialect does not matter."""
    async for url in _sqlite_url(tmp_path):
        yield url
