"""The schema, every table: PDUs, machines, outlets (the current outlet -> machine mapping),
readings, recorded cycles, load, the hourly rollups, and the daily rollups of closed days.

PDUs and machines are never deleted: one removed from the configuration is *retired*
(``retired_at`` set) so its readings stay queryable, and re-adding it restores it. Raw
readings and load past ``[storage]`` retention are pruned (:mod:`powermond.db.retention`);
the rollups are kept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from powermond.db.types import EpochHour, Milli, MilliWide, ReadingTime, UtcDateTime, utc_now

# Explicit constraint names: migrations then name the same objects on every dialect, and
# later migrations can drop or alter them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MARIADB = ("mysql", "mariadb")  # SQLAlchemy's dialect names for MariaDB
NAME_LENGTH = 255  # VARCHAR(255) in utf8mb4 still fits MariaDB's index key limit
LABEL_LENGTH = 32


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Pdu(Base):
    __tablename__ = "pdu"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    host: Mapped[str] = mapped_column(String(NAME_LENGTH))
    port: Mapped[int] = mapped_column(Integer)
    profile: Mapped[str] = mapped_column(String(64))
    snmp_version: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Machine(Base):
    __tablename__ = "machine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    rrd: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Outlet(Base):
    """An outlet of a PDU; ``machine_id`` is the machine it feeds *now* (NULL: none)."""

    __tablename__ = "outlet"
    __table_args__ = (UniqueConstraint("pdu_id", "label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pdu_id: Mapped[int] = mapped_column(ForeignKey("pdu.id"))
    label: Mapped[str] = mapped_column(String(LABEL_LENGTH))
    # Indexed explicitly: MariaDB would otherwise add an index of its own for the foreign key,
    # which the migration check would then report as drift.
    machine_id: Mapped[int | None] = mapped_column(
        ForeignKey("machine.id"), nullable=True, index=True
    )


class OutletMapVersion(Base):
    """One row (``id`` 1): a number raised by every change of the outlet -> machine mapping
    (``apply_inventory``: outlets added, mapped, unmapped), in the transaction that makes it.

    Writers keep the outlets they read for the next cycle (:mod:`powermond.db.outlet_map`)
    while it stays the same; collectors sharing the database each see the others' applies.
    Anything else that changes ``outlet.machine_id`` or an outlet's id must raise it too.
    Outlets the writer adds unmapped (unknown labels) need not: a kept map without them
    sends the writer to the database for them."""

    __tablename__ = "outlet_map_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


def only_on(index: Index, *dialects: str) -> Index:
    """``index``, created only on these dialects (``Index.ddl_if``)."""
    # SQLAlchemy takes a tuple of dialect names here (DDLIf._should_execute), typed str.
    return index.ddl_if(dialect=dialects)  # type: ignore[arg-type]


# USING brin on PostgreSQL: set by postgresql_options() (at the end of this module).
_READINGS_BY_CYCLE = Index(None, "cycle")


class PowerReading(Base):
    """One outlet's values in one cycle; ``machine_id`` is the machine it fed when written.

    Nearly every stored byte is here, so the row is compact: the natural key (outlet, cycle)
    is the primary key (a replayed cycle cannot duplicate; SQLite WITHOUT ROWID), the time is
    whole seconds in 4 bytes on the servers (:class:`ReadingTime`), values are integer
    thousandths. Bytes per reading (``bench/bench_size.py``): SQLite ~43, MariaDB ~81,
    PostgreSQL ~92.
    """

    __tablename__ = "power_reading"
    # Each database gets the key order and indexes its storage wants, all serving the same
    # two access paths: a period's readings (report edges, a cycle's rollups, pruning) by
    # cycle, and an outlet's readings (a machine's, through the outlets that fed it) by outlet.
    # - SQLite: the primary key (outlet_id, cycle), and an index on (cycle).
    # - PostgreSQL: the same primary key; on (cycle) a BRIN index, since rows arrive in cycle
    #   order (a few bytes per thousand rows instead of ~20 per row).
    # - MariaDB: InnoDB stores rows in primary-key order, so migration 0008 makes the key
    #   (cycle, outlet_id): each cycle appends to the end of the table, whose pages stay full,
    #   instead of inserting into every outlet's page. (outlet_id, cycle) is then a secondary
    #   index (which in InnoDB holds exactly those two columns). Alembic does not compare
    #   primary keys, so the declaration below stays the portable order.
    # only_on: the dialects an index exists on (see :func:`declared_on`). machine_id has
    # no foreign key: InnoDB would add an index for it, and machines are never deleted.
    __table_args__ = (
        PrimaryKeyConstraint("outlet_id", "cycle"),
        only_on(_READINGS_BY_CYCLE, "sqlite", "postgresql"),
        only_on(Index(None, "outlet_id", "cycle"), *MARIADB),
        {"sqlite_with_rowid": False},
    )

    # In the order migration 0005 made them. With a 4-byte cycle PostgreSQL pads 4 bytes
    # before energy_kwh, which costs nothing: its rows are rounded to 8 bytes anyway.
    cycle: Mapped[datetime] = mapped_column(ReadingTime())
    energy_kwh: Mapped[float | None] = mapped_column(MilliWide(), nullable=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlet.id"))
    machine_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    watts: Mapped[float | None] = mapped_column(Milli(), nullable=True)
    amps: Mapped[float | None] = mapped_column(Milli(), nullable=True)


def declared_on(schema_object: object, dialect: str) -> bool:
    """Whether the table, index or constraint exists on ``dialect``: ``False`` for those
    declared ``ddl_if(dialect=...)`` for others (Alembic's comparison knows no ``ddl_if``:
    ``migrations/env.py`` and the migration check filter with this)."""
    only = getattr(getattr(schema_object, "_ddl_if", None), "dialect", None)
    if only is None:
        return True
    return dialect in ((only,) if isinstance(only, str) else only)


class Cycle(Base):
    """One writer's poll cycle: when it was scheduled, at which interval, and what it stored.

    The interval is what energy and plots bridge gaps by (:class:`~powermond.energy.
    Spacing`), so history keeps its meaning when ``[collector].interval`` changes. Several
    collectors (and ``powermon poll``) may each record their row for one scheduled time.
    """

    __tablename__ = "cycle"
    __table_args__ = (Index(None, "interval_s"),)  # max(): how far a gap search must look

    time: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    collector: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    origin: Mapped[str] = mapped_column(String(8), primary_key=True)  # "daemon" or "poll"
    interval_s: Mapped[float] = mapped_column(Double())
    pdus_polled: Mapped[int] = mapped_column(Integer)
    pdus_failed: Mapped[int] = mapped_column(Integer)
    readings: Mapped[int] = mapped_column(Integer)  # stored by this write
    seconds: Mapped[float | None] = mapped_column(Double(), nullable=True)  # the poll took


class CpuLoad(Base):
    """A machine's 1/5/15-minute load averages at one time."""

    __tablename__ = "cpu_load"

    machine_id: Mapped[int] = mapped_column(ForeignKey("machine.id"), primary_key=True)
    time: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    load1: Mapped[float | None] = mapped_column(Double(), nullable=True)
    load5: Mapped[float | None] = mapped_column(Double(), nullable=True)
    load15: Mapped[float | None] = mapped_column(Double(), nullable=True)


# --- hourly rollups (maintained in SQL at write time: db/rollups.py) -------------------------
#
# Kept for ever, so compact like the readings: the hour as hours since 1970, the natural key
# as primary key with the hour first (a cycle's rows append at the end of the tree; a
# report's period is one key range; SQLite WITHOUT ROWID, InnoDB clustered), integer units,
# no foreign keys (InnoDB would add an index for each; ids are never deleted). A machine's
# rows are found by the one secondary index (machine_id, hour), for its plot.


class _PowerTally:
    """The columns of a power tally (:class:`PowerHourly`, :class:`PowerDaily`) besides its
    key. The 8-byte columns sort first, so PostgreSQL pads nothing; then the key, then the
    rest (a mixin's columns follow the class's own unless sorted)."""

    watts_sum: Mapped[int] = mapped_column(BigInteger(), sort_order=-1)
    counter_wh: Mapped[int] = mapped_column(BigInteger(), sort_order=-1)
    integrated_hmj: Mapped[int] = mapped_column(BigInteger(), sort_order=-1)
    readings: Mapped[int] = mapped_column(Integer)
    watts_count: Mapped[int] = mapped_column(Integer)
    watts_peak: Mapped[int | None] = mapped_column(Integer, nullable=True)
    counter_intervals: Mapped[int] = mapped_column(Integer)
    integrated_intervals: Mapped[int] = mapped_column(Integer)


class _LoadSums:
    """The columns of the load rollups (:class:`LoadHourly`, :class:`LoadDaily`) besides
    their key, in the same order as :class:`_PowerTally`'s."""

    load1_sum: Mapped[float] = mapped_column(Double(), sort_order=-1)
    load5_sum: Mapped[float] = mapped_column(Double(), sort_order=-1)
    load15_sum: Mapped[float] = mapped_column(Double(), sort_order=-1)
    samples: Mapped[int] = mapped_column(Integer)
    load5_count: Mapped[int] = mapped_column(Integer)
    load15_count: Mapped[int] = mapped_column(Integer)


class PowerHourly(_PowerTally, Base):
    """The :class:`~powermond.energy.Tally` of one outlet's readings in one hour that fed one
    machine (``machine_id`` 0: none), in integer units: watts in mW, counter energy in Wh
    (the readings' thousandths of kWh), integrated energy in half-millijoules, i.e. the sum
    of (mW1 + mW2) x seconds over the trapezoids. Integers add exactly in any order, so the
    rows built cycle by cycle equal a recompute to the last unit."""

    __tablename__ = "power_hourly"
    __table_args__ = (
        PrimaryKeyConstraint("hour", "outlet_id", "machine_id"),
        Index(None, "machine_id", "hour"),
        {"sqlite_with_rowid": False},
    )

    hour: Mapped[datetime] = mapped_column(EpochHour())
    outlet_id: Mapped[int] = mapped_column(Integer)
    machine_id: Mapped[int] = mapped_column(Integer)


#: The columns of a power tally that add (hourly rows into a day, deltas into an hour), in
#: the order the rollup statements list them; ``watts_peak`` takes the largest instead.
POWER_TALLY_SUMS = (
    "readings",
    "watts_count",
    "watts_sum",
    "counter_wh",
    "counter_intervals",
    "integrated_hmj",
    "integrated_intervals",
)


class MachinePeakHourly(Base):
    """The highest per-cycle sum of a machine's feeds in one hour, in mW (not derivable per
    outlet)."""

    __tablename__ = "machine_peak_hourly"
    __table_args__ = (
        PrimaryKeyConstraint("hour", "machine_id"),
        Index(None, "machine_id", "hour"),
        {"sqlite_with_rowid": False},
    )

    hour: Mapped[datetime] = mapped_column(EpochHour())
    machine_id: Mapped[int] = mapped_column(Integer)
    peak_mw: Mapped[int] = mapped_column(Integer)


class PduPeakHourly(Base):
    """The highest per-cycle sum of a PDU's outlets in one hour, in mW (its inlet rows
    excluded: an inlet meters the same power, and its peak is in its own hourly tally)."""

    __tablename__ = "pdu_peak_hourly"
    __table_args__ = (PrimaryKeyConstraint("hour", "pdu_id"), {"sqlite_with_rowid": False})

    hour: Mapped[datetime] = mapped_column(EpochHour())
    pdu_id: Mapped[int] = mapped_column(Integer)
    peak_mw: Mapped[int] = mapped_column(Integer)


class LoadHourly(_LoadSums, Base):
    """Sums of a machine's load samples in one hour (means for reports and long plots).
    Load averages are fractions from RRD files: their sums stay floating point."""

    __tablename__ = "load_hourly"
    __table_args__ = (
        PrimaryKeyConstraint("hour", "machine_id"),
        Index(None, "machine_id", "hour"),
        {"sqlite_with_rowid": False},
    )

    hour: Mapped[datetime] = mapped_column(EpochHour())
    machine_id: Mapped[int] = mapped_column(Integer)


ROLLUP_TABLES = (PowerHourly, MachinePeakHourly, PduPeakHourly, LoadHourly)


# --- daily rollups of closed days (db/daily.py) ------------------------------------------------
#
# The hourly rollups summed per UTC day, for the days listed in ``closed_day``: a report over
# a month then reads about 30 rows per owner instead of 720, over a year 365 instead of 8,760.
# Same integer units and key shapes as the hourly tables, the day as days since 1970 (the
# epoch hour // 24). A day's rows are valid only while its ``closed_day`` row exists: any
# write to the day's hourly rows deletes that row in the same transaction (reports then read
# the day's hours), and the daily job closes the day again, rewriting its rows.


class PowerDaily(_PowerTally, Base):
    """The sum of a day's :class:`PowerHourly` rows per (outlet, machine); ``watts_peak`` is
    their largest."""

    __tablename__ = "power_daily"
    __table_args__ = (
        PrimaryKeyConstraint("day", "outlet_id", "machine_id"),
        Index(None, "machine_id", "day"),
        {"sqlite_with_rowid": False},
    )

    day: Mapped[int] = mapped_column(Integer)
    outlet_id: Mapped[int] = mapped_column(Integer)
    machine_id: Mapped[int] = mapped_column(Integer)


class MachinePeakDaily(Base):
    """A machine's highest hourly peak of the day, in mW."""

    __tablename__ = "machine_peak_daily"
    __table_args__ = (
        PrimaryKeyConstraint("day", "machine_id"),
        Index(None, "machine_id", "day"),
        {"sqlite_with_rowid": False},
    )

    day: Mapped[int] = mapped_column(Integer)
    machine_id: Mapped[int] = mapped_column(Integer)
    peak_mw: Mapped[int] = mapped_column(Integer)


class PduPeakDaily(Base):
    """A PDU's highest hourly peak of the day, in mW."""

    __tablename__ = "pdu_peak_daily"
    __table_args__ = (PrimaryKeyConstraint("day", "pdu_id"), {"sqlite_with_rowid": False})

    day: Mapped[int] = mapped_column(Integer)
    pdu_id: Mapped[int] = mapped_column(Integer)
    peak_mw: Mapped[int] = mapped_column(Integer)


class LoadDaily(_LoadSums, Base):
    """The sums of a day's :class:`LoadHourly` rows of a machine."""

    __tablename__ = "load_daily"
    __table_args__ = (
        PrimaryKeyConstraint("day", "machine_id"),
        Index(None, "machine_id", "day"),
        {"sqlite_with_rowid": False},
    )

    day: Mapped[int] = mapped_column(Integer)
    machine_id: Mapped[int] = mapped_column(Integer)


class ClosedDay(Base):
    """A day whose daily rows of one kind are complete and equal to its hourly rows:
    ``rollup`` "power" (power_daily and both peak tables, written with the readings) or
    "load" (load_daily, written by the load import)."""

    __tablename__ = "closed_day"
    __table_args__ = (PrimaryKeyConstraint("rollup", "day"),)

    rollup: Mapped[str] = mapped_column(String(8))
    day: Mapped[int] = mapped_column(Integer)


class OpenHour(Base):
    """An hour whose power rollups (``power_hourly`` and both peak tables) are not valid yet,
    or no longer: written to since they were rolled up. Readers read it from the raw readings
    until it is rolled up again (``db.rollups``). Hours since 1970, as the hourly tables."""

    __tablename__ = "open_hour"
    __table_args__ = (PrimaryKeyConstraint("hour"),)

    hour: Mapped[int] = mapped_column(Integer, autoincrement=False)


DAILY_TABLES = (PowerDaily, MachinePeakDaily, PduPeakDaily, LoadDaily)


def postgresql_options() -> None:
    """Give the schema its PostgreSQL-only options (the readings' BRIN index, as migration
    0005 creates it). Called when an engine for PostgreSQL is made: declared in the table,
    the option makes SQLAlchemy import its PostgreSQL dialects (~0.05 s of CPU) in every
    command, on every database."""
    _READINGS_BY_CYCLE.dialect_options["postgresql"]["using"] = "brin"
