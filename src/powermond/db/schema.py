"""The schema, every table, in SQLAlchemy Core: PDUs, machines, outlets (the current outlet ->
machine mapping), readings, recorded cycles, load, the hourly rollups, the daily rollups of
closed days, PDU health, and the collectors' heartbeats and leases.

Core only, no ORM: the read-only commands (``pdus``, ``power``…) build their statements from
these tables and never import the ORM (a fifth of their start-up CPU). The ORM classes of
:mod:`powermond.db.tables` (and :mod:`powermond.db.collectors`) are mapped onto these same
``Table`` objects, so there is one declaration of each table and one ``METADATA``, which
the migrations are compared with (``tests/db/test_migrate.py``).

PDUs and machines are never deleted: one removed from the configuration is *retired*
(``retired_at`` set) so its readings stay queryable, and re-adding it restores it. Raw
readings and load past ``[storage]`` retention are pruned (:mod:`powermond.db.retention`);
the rollups are kept.

A column is ``NOT NULL`` unless declared ``nullable=True`` (:func:`required`, as the ORM's
``Mapped[int]`` against ``Mapped[int | None]`` said it).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from powermond.db.types import EpochHour, Milli, MilliWide, ReadingTime, UtcDateTime, utc_now

_Conditional = TypeVar("_Conditional", Index, ForeignKeyConstraint)

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
LEASE_LENGTH = 64
ERROR_LENGTH = 1024
STATE_LENGTH = 16

METADATA = MetaData(naming_convention=NAMING_CONVENTION)


def required(name: str, *args: Any, **kwargs: Any) -> Column[Any]:
    """A column, ``NOT NULL`` unless ``nullable=True`` is given."""
    kwargs.setdefault("nullable", False)
    return Column(name, *args, **kwargs)


pdu = Table(
    "pdu",
    METADATA,
    required("id", Integer, primary_key=True, autoincrement=True),
    required("name", String(NAME_LENGTH), unique=True),
    required("host", String(NAME_LENGTH)),
    required("port", Integer),
    required("profile", String(64)),
    required("snmp_version", String(8)),
    required("created_at", UtcDateTime(), default=utc_now),
    required("retired_at", UtcDateTime(), nullable=True),
)

machine = Table(
    "machine",
    METADATA,
    required("id", Integer, primary_key=True, autoincrement=True),
    required("name", String(NAME_LENGTH), unique=True),
    required("rrd", String(1024), nullable=True),
    required("created_at", UtcDateTime(), default=utc_now),
    required("retired_at", UtcDateTime(), nullable=True),
)

# An outlet of a PDU; ``machine_id`` is the machine it feeds *now* (NULL: none).
outlet = Table(
    "outlet",
    METADATA,
    required("id", Integer, primary_key=True, autoincrement=True),
    required("pdu_id", ForeignKey("pdu.id")),
    required("label", String(LABEL_LENGTH)),
    # Indexed explicitly: MariaDB would otherwise add an index of its own for the foreign key,
    # which the migration check would then report as drift.
    required("machine_id", ForeignKey("machine.id"), nullable=True, index=True),
    UniqueConstraint("pdu_id", "label"),
)

# One row (``id`` 1): a number raised by every change of the outlet -> machine mapping
# (``apply_inventory``: outlets added, mapped, unmapped), in the transaction that makes it.
#
# Writers keep the outlets they read for the next cycle (:mod:`powermond.db.outlet_map`)
# while it stays the same; collectors sharing the database each see the others' applies.
# Anything else that changes ``outlet.machine_id`` or an outlet's id must raise it too.
# Outlets the writer adds unmapped (unknown labels) need not: a kept map without them
# sends the writer to the database for them.
outlet_map_version = Table(
    "outlet_map_version",
    METADATA,
    required("id", Integer, primary_key=True, autoincrement=False),
    required("version", BigInteger),
)


def only_on(index: _Conditional, *dialects: str) -> _Conditional:
    """``index`` (or a constraint), created only on these dialects (``ddl_if``)."""
    # SQLAlchemy takes a tuple of dialect names here (DDLIf._should_execute), typed str.
    return index.ddl_if(dialect=dialects)  # type: ignore[arg-type]


def declared_on(schema_object: object, dialect: str) -> bool:
    """Whether the table, index or constraint exists on ``dialect``: ``False`` for those
    declared ``ddl_if(dialect=...)`` (a table: ``info={"only_on": dialects}``) for others
    (Alembic's comparison knows no ``ddl_if``: ``migrations/env.py`` and the migration
    check filter with this)."""
    only = getattr(getattr(schema_object, "_ddl_if", None), "dialect", None)
    if only is None and isinstance(schema_object, Table):  # a table: its info says
        only = schema_object.info.get("only_on")
    if only is None:
        return True
    return dialect in ((only,) if isinstance(only, str) else only)


# One outlet's values in one cycle; ``machine_id`` is the machine it fed when written.
#
# Nearly every stored byte is here, so the row is compact: the natural key (outlet, cycle)
# is the primary key (a replayed cycle cannot duplicate; SQLite WITHOUT ROWID), the time is
# whole seconds in 4 bytes on the servers (:class:`ReadingTime`), values are integer
# thousandths. Bytes per reading (``bench/bench_size.py``): SQLite ~43, MariaDB ~81,
# PostgreSQL ~92.
#
# Each database gets the key order and indexes its storage wants. A cycle writes one
# reading per outlet, so any structure ordered by outlet over the whole history takes one
# page write per outlet and cycle once each outlet's entries fill a page (~17 h of
# history): 199 MB of WAL per 1,000-PDU cycle on SQLite (bench/bench_sqlite_history.py).
# - SQLite: the primary key (cycle, outlet_id) and no index at all (migration 0013), and
#   since 0017 no foreign key to outlet (its check was about a quarter of the insert): each
#   cycle appends to the end of the table (1-4 MB of WAL). An outlet's readings are read
#   by listing the times of the period asked for (the key's own, one probe each) and
#   seeking (cycle, outlet_id) at each; its newest through ``outlet_last_hour``.
# - PostgreSQL: a heap in arrival order (so in cycle order), and since migration 0015 the
#   primary key (cycle, outlet_id) and no other index, nor a foreign key to outlet: keyed
#   (outlet_id, cycle) a cycle wrote one key leaf per outlet (189-249 MB of WAL per
#   1,000-PDU cycle past a day of history, 9.5 MB keyed by cycle), and the foreign key's
#   check locked every outlet's row each cycle (a WAL record each, most of the server's
#   CPU). Its readers take SQLite's paths too.
# - MariaDB: InnoDB stores rows in primary-key order, so migration 0008 makes the key
#   (cycle, outlet_id), as on SQLite; since 0014 with no other index (its secondary index
#   (outlet_id, cycle) took one leaf write per outlet and cycle: ~1.2 GB per 1,000-PDU
#   cycle at two days of history, bench/bench_server_history.py) and so no foreign key to
#   outlet (InnoDB keeps an index for each). Its readers take SQLite's paths.
# Alembic does not compare primary keys, so the declaration below stays migration 0005's
# order; tests/db/test_reading_key_migration.py checks each database's real key.
# No foreign keys: InnoDB would add an index for each, PostgreSQL's locked the outlet's row
# for every reading, and SQLite's check of each reading's outlet was about a quarter of its insert
# (dropped by migrations 0014, 0015 and 0017); outlets and machines are never deleted, and
# the writer resolves outlet ids itself.
power_reading = Table(
    "power_reading",
    METADATA,
    # In the order migration 0005 made them. With a 4-byte cycle PostgreSQL pads 4 bytes
    # before energy_kwh, which costs nothing: its rows are rounded to 8 bytes anyway.
    required("cycle", ReadingTime()),
    required("energy_kwh", MilliWide(), nullable=True),
    required("outlet_id", Integer),
    required("machine_id", Integer, nullable=True),
    required("watts", Milli(), nullable=True),
    required("amps", Milli(), nullable=True),
    PrimaryKeyConstraint("outlet_id", "cycle"),
    sqlite_with_rowid=False,
)

# Per outlet (migrations 0013 SQLite, 0014 MariaDB, 0015 PostgreSQL), an hour at or after
# the hour of every reading of it in a closed hour, holding one of its readings (unless
# pruned since): the hour of its newest reading as of the last close, raised by every
# close (``db.rollups``). Its newest reading is then in that hour or in an open one: a
# bounded search, where the readings have no index by outlet (``db.latest``).
# PostgreSQL: fillfactor 50 (migration 0018; SQLAlchemy has no table option for it, and
# the migrations make every database), so each close's raise is a HOT update.
outlet_last_hour = Table(
    "outlet_last_hour",
    METADATA,
    required("outlet_id", Integer, primary_key=True, autoincrement=False),
    required("hour", Integer),
    sqlite_with_rowid=False,
)

# One writer's poll cycle: when it was scheduled, at which interval, and what it stored.
#
# The interval is what energy and plots bridge gaps by (:class:`~powermond.energy.Spacing`),
# so history keeps its meaning when ``[collector].interval`` changes. Several collectors
# (and ``powermon poll``) may each record their row for one scheduled time.
cycle = Table(
    "cycle",
    METADATA,
    required("time", UtcDateTime(), primary_key=True),
    required("collector", String(NAME_LENGTH), primary_key=True),
    required("origin", String(8), primary_key=True),  # "daemon" or "poll"
    required("interval_s", Double()),
    required("pdus_polled", Integer),
    required("pdus_failed", Integer),
    required("readings", Integer),  # stored by this write
    required("seconds", Double(), nullable=True),  # the poll took
    Index(None, "interval_s"),  # max(): how far a gap search must look
)

# A machine's 1/5/15-minute load averages at one time.
cpu_load = Table(
    "cpu_load",
    METADATA,
    required("machine_id", ForeignKey("machine.id"), primary_key=True),
    required("time", UtcDateTime(), primary_key=True),
    required("load1", Double(), nullable=True),
    required("load5", Double(), nullable=True),
    required("load15", Double(), nullable=True),
)


# --- hourly rollups (maintained in SQL at write time: db/rollups.py) -------------------------
#
# Kept for ever, so compact like the readings: the hour as hours since 1970, the natural key
# as primary key with the hour first (a cycle's rows append at the end of the tree; a
# report's period is one key range; SQLite WITHOUT ROWID, InnoDB clustered), integer units,
# no foreign keys (InnoDB would add an index for each; ids are never deleted). A machine's
# rows are found by the one secondary index (machine_id, hour), for its plot.


def _power_tally(*key: Column[Any]) -> list[Column[Any]]:
    """The columns of a power tally (``power_hourly``, ``power_daily``) around its ``key``.
    The 8-byte columns first, so PostgreSQL pads nothing; then the key, then the rest."""
    return [
        required("watts_sum", BigInteger()),
        required("counter_wh", BigInteger()),
        required("integrated_hmj", BigInteger()),
        *key,
        required("readings", Integer),
        required("watts_count", Integer),
        required("watts_peak", Integer, nullable=True),
        required("counter_intervals", Integer),
        required("integrated_intervals", Integer),
    ]


def _load_sums(*key: Column[Any]) -> list[Column[Any]]:
    """The columns of the load rollups (``load_hourly``, ``load_daily``) around their
    ``key``, in the same order as :func:`_power_tally`'s."""
    return [
        required("load1_sum", Double()),
        required("load5_sum", Double()),
        required("load15_sum", Double()),
        *key,
        required("samples", Integer),
        required("load5_count", Integer),
        required("load15_count", Integer),
    ]


# The tally of one outlet's readings in one hour that fed one machine (``machine_id`` 0:
# none), in integer units (:class:`~powermond.energy.Tally`): watts in mW, counter energy
# in Wh (the readings' thousandths of kWh), integrated energy in half-millijoules, i.e. the
# sum of (mW1 + mW2) x seconds over the trapezoids. Integers add exactly in any order, so
# the rows built cycle by cycle equal a recompute to the last unit.
power_hourly = Table(
    "power_hourly",
    METADATA,
    *_power_tally(
        required("hour", EpochHour()),
        required("outlet_id", Integer),
        required("machine_id", Integer),
    ),
    PrimaryKeyConstraint("hour", "outlet_id", "machine_id"),
    Index(None, "machine_id", "hour"),
    sqlite_with_rowid=False,
)

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

# The highest per-cycle sum of a machine's feeds in one hour, in mW (not derivable per
# outlet).
machine_peak_hourly = Table(
    "machine_peak_hourly",
    METADATA,
    required("hour", EpochHour()),
    required("machine_id", Integer),
    required("peak_mw", Integer),
    PrimaryKeyConstraint("hour", "machine_id"),
    Index(None, "machine_id", "hour"),
    sqlite_with_rowid=False,
)

# The highest per-cycle sum of a PDU's outlets in one hour, in mW (its inlet rows excluded:
# an inlet meters the same power, and its peak is in its own hourly tally).
pdu_peak_hourly = Table(
    "pdu_peak_hourly",
    METADATA,
    required("hour", EpochHour()),
    required("pdu_id", Integer),
    required("peak_mw", Integer),
    PrimaryKeyConstraint("hour", "pdu_id"),
    sqlite_with_rowid=False,
)

# Sums of a machine's load samples in one hour (means for reports and long plots). Load
# averages are fractions from RRD files: their sums stay floating point.
load_hourly = Table(
    "load_hourly",
    METADATA,
    *_load_sums(required("hour", EpochHour()), required("machine_id", Integer)),
    PrimaryKeyConstraint("hour", "machine_id"),
    Index(None, "machine_id", "hour"),
    sqlite_with_rowid=False,
)


# --- daily rollups of closed days (db/daily.py) ------------------------------------------------
#
# The hourly rollups summed per UTC day, for the days listed in ``closed_day``: a report over
# a month then reads about 30 rows per owner instead of 720, over a year 365 instead of 8,760.
# Same integer units and key shapes as the hourly tables, the day as days since 1970 (the
# epoch hour // 24). A day's rows are valid only while its ``closed_day`` row exists: any
# write to the day's hourly rows deletes that row in the same transaction (reports then read
# the day's hours), and the daily job closes the day again, rewriting its rows.

# The sum of a day's ``power_hourly`` rows per (outlet, machine); ``watts_peak`` is their
# largest.
power_daily = Table(
    "power_daily",
    METADATA,
    *_power_tally(
        required("day", Integer), required("outlet_id", Integer), required("machine_id", Integer)
    ),
    PrimaryKeyConstraint("day", "outlet_id", "machine_id"),
    Index(None, "machine_id", "day"),
    sqlite_with_rowid=False,
)

# A machine's highest hourly peak of the day, in mW.
machine_peak_daily = Table(
    "machine_peak_daily",
    METADATA,
    required("day", Integer),
    required("machine_id", Integer),
    required("peak_mw", Integer),
    PrimaryKeyConstraint("day", "machine_id"),
    Index(None, "machine_id", "day"),
    sqlite_with_rowid=False,
)

# A PDU's highest hourly peak of the day, in mW.
pdu_peak_daily = Table(
    "pdu_peak_daily",
    METADATA,
    required("day", Integer),
    required("pdu_id", Integer),
    required("peak_mw", Integer),
    PrimaryKeyConstraint("day", "pdu_id"),
    sqlite_with_rowid=False,
)

# The sums of a day's ``load_hourly`` rows of a machine.
load_daily = Table(
    "load_daily",
    METADATA,
    *_load_sums(required("day", Integer), required("machine_id", Integer)),
    PrimaryKeyConstraint("day", "machine_id"),
    Index(None, "machine_id", "day"),
    sqlite_with_rowid=False,
)

# A day whose daily rows of one kind are complete and equal to its hourly rows: ``rollup``
# "power" (power_daily and both peak tables, written with the readings) or "load"
# (load_daily, written by the load import).
closed_day = Table(
    "closed_day",
    METADATA,
    required("rollup", String(8)),
    required("day", Integer),
    PrimaryKeyConstraint("rollup", "day"),
)


# An hour whose power rollups (``power_hourly`` and both peak tables) are not valid yet, or no
# longer: written to since they were rolled up. Readers read it from the raw readings until
# it is rolled up again (``db.rollups``). Hours since 1970, as the hourly tables.
open_hour = Table(
    "open_hour",
    METADATA,
    required("hour", Integer, autoincrement=False),
    PrimaryKeyConstraint("hour"),
)

# A close of due hours ``[first_hour, end_hour)`` done in steps over several cycles
# (``db.close_steps``, migration 0016): the hours stay open (readers take them from the raw
# readings) until its last step; ``part`` and ``done`` say where its steps stand
# (``db.rollups.Step``), ``token`` which attempt wrote them (a caller's plan of the close
# is its own only while the token is). A write that reopens any of its hours deletes it:
# the close starts again from its first step. At most one row.
close_progress = Table(
    "close_progress",
    METADATA,
    required("first_hour", Integer, autoincrement=False),
    required("end_hour", Integer),
    required("token", BigInteger),
    required("part", Integer),
    required("done", BigInteger),
    PrimaryKeyConstraint("first_hour"),
)


# --- PDU health (db/health.py, migration 0004) ---------------------------------------------

# One row per PDU, replaced by every cycle that polls it (daemon and ``powermon poll``).
pdu_health = Table(
    "pdu_health",
    METADATA,
    required("pdu_id", ForeignKey("pdu.id"), primary_key=True),
    required("state", String(STATE_LENGTH)),
    required("since", UtcDateTime()),
    required("checked", UtcDateTime()),
    required("last_success", UtcDateTime(), nullable=True),
    required("last_error", String(ERROR_LENGTH), nullable=True),
    required("failures", Integer),
    required("walk_seconds", Double(), nullable=True),
)


# --- collectors sharing one database (db/collectors.py) -------------------------------------

# A collector, live or remembered: who it is, when it must next be heard of, what it polls.
collector = Table(
    "collector",
    METADATA,
    required("name", String(NAME_LENGTH), primary_key=True),
    required("host", String(NAME_LENGTH)),
    required("pid", Integer),
    required("started_at", UtcDateTime()),
    required("heartbeat_at", UtcDateTime()),
    required("expires_at", UtcDateTime()),
    required("only", Text(), nullable=True),  # JSON list of PDU names
    required("inventory", String(32)),  # digest of the PDU names it knows
    required("pdus", Integer),  # its share at the last heartbeat
)

lease = Table(
    "lease",
    METADATA,
    required("name", String(LEASE_LENGTH), primary_key=True),
    required("holder", String(NAME_LENGTH), nullable=True),
    required("expires_at", UtcDateTime(), nullable=True),
)
