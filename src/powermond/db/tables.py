"""The schema: PDUs, machines, outlets (the current outlet -> machine mapping), readings, load.

Nothing is ever deleted: a PDU or machine removed from the configuration is *retired*
(``retired_at`` set) so its readings stay queryable, and re-adding it restores it.
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
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from powermond.db.types import UtcDateTime, utc_now

# Explicit constraint names: migrations then name the same objects on every dialect, and
# later migrations can drop or alter them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NAME_LENGTH = 255  # VARCHAR(255) in utf8mb4 still fits MariaDB's index key limit
LABEL_LENGTH = 32

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias), not a BIGINT one.
BigId = BigInteger().with_variant(Integer(), "sqlite")


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


class PowerReading(Base):
    """One outlet's values in one cycle; ``machine_id`` is the machine it fed when written."""

    __tablename__ = "power_reading"
    __table_args__ = (
        UniqueConstraint("outlet_id", "cycle"),  # a replayed cycle cannot duplicate
        Index(None, "machine_id", "cycle"),
        Index(None, "cycle"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    cycle: Mapped[datetime] = mapped_column(UtcDateTime())
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlet.id"))
    machine_id: Mapped[int | None] = mapped_column(ForeignKey("machine.id"), nullable=True)
    watts: Mapped[float | None] = mapped_column(Double(), nullable=True)
    amps: Mapped[float | None] = mapped_column(Double(), nullable=True)
    energy_kwh: Mapped[float | None] = mapped_column(Double(), nullable=True)


class Cycle(Base):
    """One writer's poll cycle: when it was scheduled, at which interval, and what it stored.

    The interval is what energy and plots bridge gaps by (:class:`~powermond.report.energy.
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
