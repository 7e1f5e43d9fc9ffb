"""What every repository shares: a session, error translation, tables by model."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from sqlalchemy import Table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.errors import translate
from powermond.db.tables import Base

P = ParamSpec("P")
T = TypeVar("T")


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
