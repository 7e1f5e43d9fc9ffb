"""What every repository shares: a session, error translation, tables by model."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, overload

from sqlalchemy import Table
from sqlalchemy.exc import SQLAlchemyError

from powermond.db.errors import translate

if TYPE_CHECKING:  # the asyncio extension and the ORM: not for the read-only commands
    from sqlalchemy.engine import Connection, Engine, Result, ScalarResult
    from sqlalchemy.engine.interfaces import _CoreAnyExecuteParams as Params
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.sql import Executable
    from sqlalchemy.sql.selectable import TypedReturnsRows

    from powermond.db.tables import Base

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")
Row = TypeVar("Row", bound=tuple[Any, ...])


class Session(Protocol):
    """What a :class:`CoreRepository` needs of a session: the daemon's ``AsyncSession`` is
    one, and so is the read-only commands' :class:`powermond.db.reader.Reads` (which needs
    neither SQLAlchemy's asyncio extension nor its ORM)."""

    @overload
    async def execute(
        self, statement: TypedReturnsRows[Row], params: Params | None = None, /
    ) -> Result[Row]: ...
    @overload
    async def execute(
        self, statement: Executable, params: Params | None = None, /
    ) -> Result[Any]: ...

    @overload
    async def scalar(self, statement: TypedReturnsRows[tuple[R]], /) -> R | None: ...
    @overload
    async def scalar(self, statement: Executable, /) -> Any: ...

    @overload
    async def scalars(self, statement: TypedReturnsRows[tuple[R]], /) -> ScalarResult[R]: ...
    @overload
    async def scalars(self, statement: Executable, /) -> ScalarResult[Any]: ...

    def get_bind(self) -> Engine | Connection: ...


def translated(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Database errors leave the method as :mod:`powermond.db.errors` types."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (SQLAlchemyError, ConnectionError, TimeoutError) as exc:
            raise translate(exc) from exc

    return wrapper


def table_of(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session


class CoreRepository:
    """A repository whose statements are Core (:mod:`powermond.db.schema`) and need no more
    of the session than :class:`Session`: it runs in the daemon's units of work and in the
    read-only commands' (:func:`powermond.db.reader.read`) alike."""

    def __init__(self, session: Session) -> None:
        self.session = session


IN_LIST_CHUNK = 5000  # ids per IN list: SQLite allows 32766 variables, PostgreSQL 32767


def chunked(ids: Sequence[T], size: int = IN_LIST_CHUNK) -> list[Sequence[T]]:
    """``ids`` in slices short enough for one IN list on every dialect."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]
