"""Column types shared by the tables."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
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


#: PostgreSQL's own epoch, 2000-01-01T00:00:00Z, in Unix seconds (whole days: hours and
#: days computed from either count fall on the same boundaries).
PG_EPOCH_2000 = 946_684_800


class ReadingTime(EpochSeconds):
    """A reading's cycle time, in the smallest integer that lasts on each database.

    Nearly every stored byte is a reading, and each of its indexes holds this value again,
    so servers get 4 bytes instead of 8: MariaDB an ``INT UNSIGNED`` of seconds since 1970
    (up to 2106-02-07); PostgreSQL, which has no unsigned integers, an ``INTEGER`` of seconds
    since 2000-01-01, its own epoch (1931 to 2068-01-19 03:14:07 UTC; 1970-based, it would
    end in January 2038). SQLite keeps seconds since 1970 (its integers take the bytes they
    need). Binds and results convert, so queries compare datetimes as everywhere else; raw
    SQL on PostgreSQL reads the time as ``TIMESTAMP '2000-01-01' + cycle * INTERVAL '1s'``.
    A time outside the range is refused by the database, never wrapped.
    """

    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.INTEGER(unsigned=True))
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Integer())
        return dialect.type_descriptor(BigInteger())

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        seconds = super().process_bind_param(value, dialect)
        return None if seconds is None else seconds - reading_epoch(dialect.name)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return super().process_result_value(int(value) + reading_epoch(dialect.name), dialect)


def reading_epoch(dialect: str) -> int:
    """Where :class:`ReadingTime` counts from on ``dialect``, in Unix seconds."""
    return PG_EPOCH_2000 if dialect == "postgresql" else 0


MILLI = 1000


def to_milli(value: float | None) -> float | None:
    """``value`` as :class:`Milli` stores it: to the thousandth (watts, amps, kWh)."""
    return None if value is None else round(value * MILLI) / MILLI


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
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return round(float(value) * MILLI)

    def process_result_value(self, value: Any, dialect: Dialect) -> float | None:
        return None if value is None else int(value) / MILLI


class MilliWide(Milli):
    """:class:`Milli` in a ``BIGINT``: an energy counter in Wh may pass 2.1 GWh."""

    impl = BigInteger
    cache_ok = True
