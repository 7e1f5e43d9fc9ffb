"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC time stored as a naive ``DATETIME``/``TIMESTAMP`` and read back aware (UTC).

    Naive columns behave the same on SQLite, MariaDB and PostgreSQL, where time-zone aware
    types do not. Values are cut to whole seconds because MariaDB's ``DATETIME`` keeps none
    (and MySQL would round, not cut): a cycle time then compares equal on every dialect.
    Naive input is taken as UTC, as :func:`powermond.output.iso_z` does.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UtcDateTime needs a datetime, not {type(value).__name__}")
        utc: datetime = value if value.tzinfo is None else value.astimezone(UTC)
        return utc.replace(tzinfo=None, microsecond=0)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        aware: datetime = value.replace(tzinfo=UTC)
        return aware


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def range_bound(value: datetime) -> datetime:
    """A ``since``/``until`` bound fit for comparing with :class:`UtcDateTime` columns.

    Stored times are whole seconds, and binding cuts a fraction off, which would drop the
    cycle stored at 12:00:00 from a query "until now" run at 12:00:00.4. For whole-second
    values ``t >= s`` iff ``t >= ceil(s)`` and ``t < u`` iff ``t < ceil(u)``: rounding
    both bounds of a half-open ``[since, until)`` up keeps it exact.
    """
    whole = value.replace(microsecond=0)
    return whole + timedelta(seconds=1) if value.microsecond else whole
