"""What the repositories return: plain frozen values, detached from any session."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class PduRow:
    name: str
    host: str
    port: int
    profile: str
    snmp_version: str
    created_at: datetime
    retired_at: datetime | None

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


@dataclass(frozen=True, slots=True)
class MachineRow:
    name: str
    rrd: str | None
    outlets: tuple[str, ...]  # "pdu:label", every feed currently mapped to the machine
    created_at: datetime
    retired_at: datetime | None

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


@dataclass(frozen=True, slots=True)
class OutletRow:
    pdu: str
    label: str
    machine: str | None  # the machine the outlet feeds now
    last_time: datetime | None  # the outlet's latest reading, if any
    last_watts: float | None


@dataclass(frozen=True, slots=True)
class ReadingRow:
    time: datetime  # the cycle's scheduled time (UTC)
    pdu: str
    outlet: str
    watts: float | None
    amps: float | None
    energy_kwh: float | None


@dataclass(frozen=True, slots=True)
class CycleRow:
    """A recorded cycle (``cycle`` table)."""

    time: datetime  # scheduled (UTC)
    collector: str
    origin: str  # "daemon" or "poll"
    interval_s: float
    pdus_polled: int
    pdus_failed: int
    readings: int
    seconds: float | None = None


def stored_time(time: datetime) -> datetime:
    """``time`` as the database stores and returns it: UTC, whole seconds (naive is UTC)."""
    utc = time.replace(tzinfo=UTC) if time.tzinfo is None else time.astimezone(UTC)
    return utc.replace(microsecond=0)


@dataclass(slots=True)
class StoredCycle:
    """What one cycle's write added: its time as stored and how many readings were new (the
    rollups need no more: a write marks the hours of its cycle open, ``db.rollups``)."""

    cycle: datetime  # as stored
    added: int = 0


_UNIT_OUTLET = re.compile(r"(\d+)\.(\d+)")
_PREFIXED = re.compile(r"([A-Z]*)(\d+)")


def outlet_sort_key(label: str) -> tuple[int, str, int, int]:
    """Outlets in the order printed on the PDU: 1, 2, …, 10, then unit 2 (2.1 …), then AB3 …"""
    if label.isdigit():
        return (0, "", 1, int(label))
    if match := _UNIT_OUTLET.fullmatch(label):
        return (0, "", int(match[1]), int(match[2]))
    if match := _PREFIXED.fullmatch(label):
        return (1, match[1], 0, int(match[2]))
    return (2, label, 0, 0)


class LoadRow(NamedTuple):
    """One machine's load sample keyed by machine id, for bulk writes of many machines."""

    machine_id: int
    time: datetime
    load1: float | None
    load5: float | None
    load15: float | None
