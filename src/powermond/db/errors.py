"""Database failures as the operator sees them, and the translation from SQLAlchemy's."""

from __future__ import annotations

import socket

from sqlalchemy import exc as sa_exc

from powermond.errors import NotFoundError, PowermonError


class DatabaseError(PowermonError):
    """The database refused a statement (a constraint, a missing schema, a bad value)."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached right now; the caller may retry later (daemon spool).

    ``url`` is the database's URL with the password masked, when known.
    """

    def __init__(self, message: str, url: str | None = None) -> None:
        self.url = url
        super().__init__(f"{url}: {message}" if url else message)
        self.reason = message


class UnknownPdu(NotFoundError):
    """A PDU name that is not stored (run ``powermon config apply`` first)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"PDU {name!r} is not in the database")


class UnknownMachine(NotFoundError):
    """A machine name that is not stored."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"machine {name!r} is not in the database")


# Connection-level failures that drivers raise unwrapped (asyncpg connects with the event loop's
# own sockets, so a refused connection arrives as a plain OSError subclass).
_UNREACHABLE = (ConnectionError, TimeoutError, socket.gaierror)

# SQLite says "no such table" through OperationalError, which otherwise means "busy" or "gone".
_SCHEMA_HINTS = ("no such table", "no such column")


def translate(error: BaseException) -> BaseException:
    """The PowerMon error for a driver/SQLAlchemy error; other errors are returned unchanged."""
    if isinstance(error, PowermonError):
        return error
    if isinstance(error, _UNREACHABLE):
        return DatabaseUnavailable(f"database unreachable: {error}")
    if type(error).__module__.startswith("asyncpg"):
        # asyncpg raises its own errors while connecting (bad role, database, password).
        return DatabaseUnavailable(f"database refused the connection: {error}")
    if not isinstance(error, sa_exc.SQLAlchemyError):
        return error
    cause = _short(error)
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return DatabaseUnavailable(f"database connection lost: {cause}")
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        if any(hint in cause for hint in _SCHEMA_HINTS):
            return DatabaseError(
                f"database schema missing or old ({cause}): run `powermon db upgrade`"
            )
        return DatabaseUnavailable(f"database unavailable: {cause}")
    if isinstance(error, sa_exc.ProgrammingError):
        return DatabaseError(
            f"database error ({cause}): is the schema current? `powermon db upgrade`"
        )
    return DatabaseError(f"database error: {cause}")


def unit_of_work_error(
    error: BaseException, url: str, timeout: float | None = None
) -> BaseException:
    """What a unit of work on the database at ``url`` (password masked) that failed with
    ``error`` raises: a PowerMon error naming the database, or ``error`` itself."""
    if isinstance(error, TimeoutError):
        # The unit of work's bound (``timeout``), or a driver's connect timeout: no answer.
        reason = f"gave no answer within {timeout:g} s" if timeout else "timed out"
        return DatabaseUnavailable(f"database {reason}", url)
    translated = translate(error)
    if isinstance(translated, DatabaseUnavailable) and translated.url is None:
        # Say which database: the daemon logs this when it starts spooling.
        return DatabaseUnavailable(translated.reason, url)
    return translated


def _short(error: sa_exc.SQLAlchemyError) -> str:
    """The driver's message without the SQL and parameters SQLAlchemy appends."""
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        return (
            str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else repr(error.orig)
        )
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
