"""The ORM classes of the schema, for the code that loads and changes rows as objects (the
configuration apply, leases) and for statements written with attributes (``Pdu.name``).

Each class is mapped onto its Core table of :mod:`powermond.db.schema`, where the columns,
keys and indexes are declared (and documented) once; the ``Mapped`` annotations here only
type the attributes. Commands that only read the database use the Core tables and never
import this module, which imports the ORM.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import DeclarativeBase, Mapped

from powermond.db import schema
from powermond.db.schema import (
    LABEL_LENGTH,
    MARIADB,
    NAME_LENGTH,
    NAMING_CONVENTION,
    POWER_TALLY_SUMS,
    declared_on,
    only_on,
)

__all__ = [
    "DAILY_TABLES",
    "LABEL_LENGTH",
    "MARIADB",
    "NAME_LENGTH",
    "NAMING_CONVENTION",
    "POWER_TALLY_SUMS",
    "ROLLUP_TABLES",
    "Base",
    "declared_on",
    "only_on",
]


class Base(DeclarativeBase):
    metadata = schema.METADATA


class Pdu(Base):
    __table__ = schema.pdu

    id: Mapped[int]
    name: Mapped[str]
    host: Mapped[str]
    port: Mapped[int]
    profile: Mapped[str]
    snmp_version: Mapped[str]
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class Machine(Base):
    __table__ = schema.machine

    id: Mapped[int]
    name: Mapped[str]
    rrd: Mapped[str | None]
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class Outlet(Base):
    __table__ = schema.outlet

    id: Mapped[int]
    pdu_id: Mapped[int]
    label: Mapped[str]
    machine_id: Mapped[int | None]


class OutletMapVersion(Base):
    __table__ = schema.outlet_map_version

    id: Mapped[int]
    version: Mapped[int]


class PowerReading(Base):
    __table__ = schema.power_reading

    cycle: Mapped[datetime]
    energy_kwh: Mapped[float | None]
    outlet_id: Mapped[int]
    machine_id: Mapped[int | None]
    watts: Mapped[float | None]
    amps: Mapped[float | None]


class Cycle(Base):
    __table__ = schema.cycle

    time: Mapped[datetime]
    collector: Mapped[str]
    origin: Mapped[str]
    interval_s: Mapped[float]
    pdus_polled: Mapped[int]
    pdus_failed: Mapped[int]
    readings: Mapped[int]
    seconds: Mapped[float | None]


class CpuLoad(Base):
    __table__ = schema.cpu_load

    machine_id: Mapped[int]
    time: Mapped[datetime]
    load1: Mapped[float | None]
    load5: Mapped[float | None]
    load15: Mapped[float | None]


class _PowerTally:
    """The figures of a power tally (:class:`PowerHourly`, :class:`PowerDaily`)."""

    watts_sum: Mapped[int]
    counter_wh: Mapped[int]
    integrated_hmj: Mapped[int]
    readings: Mapped[int]
    watts_count: Mapped[int]
    watts_peak: Mapped[int | None]
    counter_intervals: Mapped[int]
    integrated_intervals: Mapped[int]


class _LoadSums:
    """The figures of the load rollups (:class:`LoadHourly`, :class:`LoadDaily`)."""

    load1_sum: Mapped[float]
    load5_sum: Mapped[float]
    load15_sum: Mapped[float]
    samples: Mapped[int]
    load5_count: Mapped[int]
    load15_count: Mapped[int]


class PowerHourly(_PowerTally, Base):
    __table__ = schema.power_hourly

    hour: Mapped[datetime]
    outlet_id: Mapped[int]
    machine_id: Mapped[int]


class MachinePeakHourly(Base):
    __table__ = schema.machine_peak_hourly

    hour: Mapped[datetime]
    machine_id: Mapped[int]
    peak_mw: Mapped[int]


class PduPeakHourly(Base):
    __table__ = schema.pdu_peak_hourly

    hour: Mapped[datetime]
    pdu_id: Mapped[int]
    peak_mw: Mapped[int]


class LoadHourly(_LoadSums, Base):
    __table__ = schema.load_hourly

    hour: Mapped[datetime]
    machine_id: Mapped[int]


ROLLUP_TABLES = (PowerHourly, MachinePeakHourly, PduPeakHourly, LoadHourly)


class PowerDaily(_PowerTally, Base):
    __table__ = schema.power_daily

    day: Mapped[int]
    outlet_id: Mapped[int]
    machine_id: Mapped[int]


class MachinePeakDaily(Base):
    __table__ = schema.machine_peak_daily

    day: Mapped[int]
    machine_id: Mapped[int]
    peak_mw: Mapped[int]


class PduPeakDaily(Base):
    __table__ = schema.pdu_peak_daily

    day: Mapped[int]
    pdu_id: Mapped[int]
    peak_mw: Mapped[int]


class LoadDaily(_LoadSums, Base):
    __table__ = schema.load_daily

    day: Mapped[int]
    machine_id: Mapped[int]


class ClosedDay(Base):
    __table__ = schema.closed_day

    rollup: Mapped[str]
    day: Mapped[int]


class OpenHour(Base):
    __table__ = schema.open_hour

    hour: Mapped[int]


DAILY_TABLES = (PowerDaily, MachinePeakDaily, PduPeakDaily, LoadDaily)


class PduHealthRecord(Base):
    __table__ = schema.pdu_health

    pdu_id: Mapped[int]
    state: Mapped[str]
    since: Mapped[datetime]
    checked: Mapped[datetime]
    last_success: Mapped[datetime | None]
    last_error: Mapped[str | None]
    failures: Mapped[int]
    walk_seconds: Mapped[float | None]
