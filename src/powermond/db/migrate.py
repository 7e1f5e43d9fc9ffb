"""``powermon db upgrade``: Alembic migrations, configured from Python (no alembic.ini).

A new revision, after changing schema.py (check the result by hand; keep plain types)::

    from alembic import command
    from powermond.db.migrate import alembic_config
    command.revision(alembic_config(URL_AT_HEAD), "what changed", autogenerate=True, rev_id="0003")
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url

from powermond.db.engine import create_engine, is_sqlite, safe_url
from powermond.db.errors import DatabaseUnavailable, translate

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """The Alembic configuration; ``url`` is passed as an attribute (a ``%`` in a password
    would break the ini-style ``sqlalchemy.url`` option)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.attributes["url"] = url
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations packaged"
    return head


async def upgrade(url: str) -> None:
    """Create or migrate the schema to the newest revision (``alembic upgrade head``)."""
    await migrate(url)


async def migrate(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """:func:`upgrade` (to ``revision``), returning the revisions before and after
    (``None``: empty database)."""
    _make_sqlite_dir(url)
    config = alembic_config(url)
    revisions: list[str | None] = []

    def run(connection: Connection) -> None:
        revisions.append(MigrationContext.configure(connection).get_current_revision())
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        revisions.append(MigrationContext.configure(connection).get_current_revision())

    with _quiet_driver():
        await _with_connection(url, run, commit=True)
    before, after = revisions
    if before != after:
        log.info("database %s upgraded from %s to %s", safe_url(url), before or "empty", after)
    return before, after


async def downgrade(url: str, revision: str) -> None:
    """Back to ``revision`` (``alembic downgrade``): for developers and tests."""
    config = alembic_config(url)

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    with _quiet_driver():
        await _with_connection(url, run, commit=True)


async def current_revision(url: str) -> str | None:
    """The schema revision the database is at; ``None`` for an empty database."""
    found: list[str | None] = []

    def read(connection: Connection) -> None:
        found.append(MigrationContext.configure(connection).get_current_revision())

    await _with_connection(url, read, commit=False)
    return found[0]


async def _with_connection(url: str, work: object, *, commit: bool) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(work)  # type: ignore[arg-type]
            if commit:
                await connection.commit()
    except Exception as exc:
        translated = translate(exc)
        if isinstance(translated, DatabaseUnavailable):
            raise DatabaseUnavailable(translated.reason, safe_url(url)) from exc
        if translated is exc:
            raise
        raise translated from exc
    finally:
        await engine.dispose()


@contextmanager
def _quiet_driver() -> Iterator[None]:
    """MariaDB warns "Name 'pk_…' ignored for PRIMARY key" for every table (its primary keys
    are always called PRIMARY) and asyncmy logs each warning; they mean nothing here."""
    driver_log = logging.getLogger("asyncmy")
    level = driver_log.level
    driver_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        driver_log.setLevel(level)


#: A new SQLite file: readable by the group (the CLI's readers), never by others: readings
#: are not secret, but they are nobody else's business either.
SQLITE_FILE_MODE = 0o640


def _make_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    database = parsed.database
    if (
        is_sqlite(parsed)
        and database
        and database != ":memory:"
        and not database.startswith("file:")
    ):
        path = Path(database)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created here, with its mode, rather than by SQLite with the umask's (0644).
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE))
