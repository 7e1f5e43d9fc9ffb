"""How a command opens a SQLite file: only ``db upgrade`` creates one, readers never write.

SQLite creates a missing file on connect, and a WAL database needs write access for its
``-shm`` file. So: every command but ``db upgrade`` opens an existing file (``mode=rw``) or
reads it (``mode=ro``); a file the user may read but not write, and that no writer has open
(no ``-wal`` file), is read as ``immutable``; a missing or unreadable file is named, with
what to do. Server URLs pass through unchanged.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url

from powermond.db.errors import DatabaseError, DatabaseUnavailable

Access = Literal["read", "write"]

__all__ = [
    "Access",
    "NoSqliteFile",
    "is_read_only",
    "open_url",
    "read_only_pragmas",
    "sqlite_file",
    "sqlite_pragmas",
]

SQLITE_BUSY_TIMEOUT_MS = 10_000  # the daemon writes while the CLI reads; wait, don't fail


class NoSqliteFile(DatabaseError):
    """The SQLite file is missing or the user may not use it: retrying cannot help."""


def sqlite_file(url: str | URL) -> Path | None:
    """The file behind a SQLite URL; ``None`` for other dialects, memory and URI databases."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or parsed.query.get("uri"):
        return None  # already a URI: the operator chose the mode
    return Path(database)


def is_read_only(url: str | URL) -> bool:
    """True for a URL made by :func:`open_url` for reading (no pragma may write)."""
    return make_url(url).query.get("mode") == "ro"


def sqlite_pragmas(dbapi_connection: Any, _record: Any, *, writes: bool = True) -> None:
    """SQLAlchemy's ``connect`` event of a SQLite engine: the pragmas PowerMon runs with."""
    # Per connection: SQLite forgets foreign_keys and busy_timeout on every new connection.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if writes:  # a read-only connection may not change the journal mode
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the daemon's writes
            cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, much cheaper commits
    finally:
        cursor.close()


def read_only_pragmas(dbapi_connection: Any, record: Any) -> None:
    """:func:`sqlite_pragmas` for a connection opened ``mode=ro`` (:func:`open_url`)."""
    sqlite_pragmas(dbapi_connection, record, writes=False)


def open_url(url: str, access: Access) -> str:
    """``url`` rewritten so that connecting never creates the file (and, to read, never writes).

    Raises :class:`DatabaseError` naming the path when the file is missing or not accessible.
    """
    path = sqlite_file(url)
    if path is None:
        return url
    _check(path, access)
    mode = "rw" if access == "write" else "ro"
    query = {"mode": mode, "uri": "true"}
    if access == "read" and not _writable(path) and not Path(f"{path}-wal").exists():
        # A WAL database read without write access needs an existing -shm file; with no -wal
        # file no writer has it open, so reading it as unchanging is safe.
        query["immutable"] = "1"
    reopened = make_url(url).set(database=f"file:{quote(str(path))}", query=query)
    return reopened.render_as_string(hide_password=False)


def _check(path: Path, access: Access) -> None:
    try:
        os.stat(path)
    except FileNotFoundError:
        raise NoSqliteFile(
            f"{path}: the database file does not exist, so the database has no schema: "
            "run `powermon db upgrade` (or check [database] url and --config-dir)"
        ) from None
    except PermissionError:
        raise _denied(path, "reach", access) from None
    except OSError as exc:  # e.g. a folder on the path is a file: perhaps not for long
        raise DatabaseUnavailable(f"{path}: {os.strerror(exc.errno or errno.EIO)}") from None
    if not os.access(path, os.R_OK):
        raise _denied(path, "read", access)
    for companion in (Path(f"{path}-wal"), Path(f"{path}-shm")):  # a writer has it open
        if companion.exists() and not os.access(companion, os.R_OK):
            raise _denied(companion, "read", access)
    if access == "write" and not _writable(path):
        raise _denied(path, "write", access)


def _writable(path: Path) -> bool:
    # SQLite writes its journal next to the file, so the directory must be writable too.
    return os.access(path, os.W_OK) and os.access(path.parent or Path("."), os.W_OK)


def _denied(path: Path, what: str, access: Access) -> NoSqliteFile:
    user = _user_name()
    hint = "read" if access == "read" else "read and write"
    return NoSqliteFile(
        f"{path}: permission denied: user {user} may not {what} the database file "
        f"(this command needs to {hint} it; check the file's and its directory's owner and mode)"
    )


def _user_name() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return str(os.geteuid())
