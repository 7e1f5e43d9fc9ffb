"""Column types shared by the tables."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine


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


class EpochSeconds(TypeDecorator[datetime]):
    """A UTC time stored as whole seconds since 1970 (an ``INTEGER``), read back aware (UTC).

    For the readings table, which holds nearly every byte PowerMon stores: 4 to 8 bytes a
    time instead of SQLite's 26-character text or a server's 8-byte ``DATETIME`` with its
    conversions. Fractions are cut, as :class:`UtcDateTime` cuts them; naive input is UTC.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"EpochSeconds needs a datetime, not {type(value).__name__}")
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return math.floor(aware.timestamp())

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.fromtimestamp(int(value), UTC)


class ReadingTime(EpochSeconds):
    """A reading's cycle time as seconds since 1970, in the smallest integer each database has.

    Nearly every stored byte is a reading, and each of its indexes holds this value again,
    so the servers get 4 bytes instead of 8: MariaDB an ``INT UNSIGNED`` (to 2106-02-07),
    PostgreSQL an ``INTEGER`` (it has no unsigned integers: to 2038-01-19 03:14:07 UTC).
    SQLite keeps its ``INTEGER``, which takes only the bytes a value needs. The value is
    the plain Unix time everywhere, so SQL may compute with it (``cycle / 3600`` is the
    hour) the same way on every database.

    Past its range the reading is refused (PostgreSQL: "value out of int32 range"), never
    wrapped: the daemon then keeps the cycle in ``spool/bad/``. On PostgreSQL the column
    must be widened before 2038 (``ALTER TABLE power_reading ALTER COLUMN cycle TYPE
    BIGINT``, what migration 0008's downgrade does); this type works on either.
    """

    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects import mysql  # only there: SQLite's CLI never loads it

            return dialect.type_descriptor(mysql.INTEGER(unsigned=True))
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Integer())
        return dialect.type_descriptor(BigInteger())


MILLI = 1000


def to_milli(value: float | None) -> float | None:
    """``value`` as :class:`Milli` stores it: to the thousandth (watts, amps, kWh)."""
    return None if value is None else round(value * MILLI) / MILLI


def milli(value: float | None) -> int | None:
    """``value`` as the integer :class:`Milli` stores (``to_milli(value)`` thousandths), for
    writers that bind raw integers (no per-value type conversion on the hot path)."""
    if value is None or value != value:  # NaN: no value, as Milli binds it
        return None
    return round(value * MILLI)


class Milli(TypeDecorator[float]):
    """A reading's value stored as an integer count of thousandths (mW, mA, Wh), in an
    ``INTEGER`` (up to 2.1 MW or MA; :class:`MilliWide` for energy counters).

    PDUs report whole or decimal units (W, tenths of A, hundredths of kWh): those are kept
    exactly, in 1 to 4 bytes on SQLite instead of an 8-byte REAL. Finer fractions are rounded
    to the thousandth, far below any meter's accuracy; writers store :func:`to_milli` values
    so that what they computed from equals what is read back.
    """

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else milli(float(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> float | None:
        return None if value is None else int(value) / MILLI


class MilliWide(Milli):
    """:class:`Milli` in a ``BIGINT``: an energy counter in Wh may pass 2.1 GWh."""

    impl = BigInteger
    cache_ok = True


HOUR_S = 3600


class EpochHour(TypeDecorator[datetime]):
    """A whole UTC hour stored as hours since 1970 (an ``INTEGER``), read back aware (UTC).

    The key of the hourly rollups: 3 bytes on SQLite where epoch seconds take 4 and a text
    time 26, and what ``power_reading.cycle / 3600`` gives in SQL. Only whole hours bind: a
    time inside an hour would silently compare as its hour, so bounds are rounded by the
    caller (:func:`powermond.energy.hour_of` and the next hour for an open end).
    """

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"EpochHour needs a datetime, not {type(value).__name__}")
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        seconds = aware.timestamp()
        if seconds % HOUR_S:
            raise ValueError(f"EpochHour needs a whole hour, not {value.isoformat()}")
        return int(seconds) // HOUR_S

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.fromtimestamp(int(value) * HOUR_S, UTC)


class epoch_seconds(FunctionElement[int]):  # an SQL function, named like one
    """SQL: a naive UTC ``DATETIME`` column (:class:`UtcDateTime`) as epoch seconds, on every
    dialect (no session time zone involved)."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # a timestamp without time zone counts from 1970 as UTC
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


@compiles(epoch_seconds)
def _epoch_mysql(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return (
        f"TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', {compiler.process(element.clauses, **kw)})"
    )
