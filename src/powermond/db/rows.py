"""What the repositories return: plain frozen values, detached from any session."""

from __future__ import annotations

import re
from array import array
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
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
    """What one cycle's write added: only these readings change the rollups.

    Not the readings themselves (one object each was ~150 B x 480,000 at 10,000 PDUs): what the
    rollups need of them, tallied by the writer as it streams the rows to the insert
    (:meth:`add`): their outlets (an ``array``), the machines and PDUs they belong to, the
    owners with a negative reading, and the per-owner sums of their watts (mW, as stored)."""

    cycle: datetime  # as stored
    outlet_ids: array[int] = field(default_factory=lambda: array("q"))
    machines: set[int] = field(default_factory=set)  # of every new reading (mapped outlets)
    pdus: set[int] = field(default_factory=set)
    machine_mw: dict[int, int] = field(default_factory=dict)  # sums of the readings with watts
    pdu_mw: dict[int, int] = field(default_factory=dict)  # of the outlets (inlets excluded)
    low_machines: set[int] = field(default_factory=set)  # owners of a reading below 0 W
    low_pdus: set[int] = field(default_factory=set)  # (inlets excluded)

    @property
    def added(self) -> int:
        return len(self.outlet_ids)

    def add(
        self, outlet_id: int, pdu_id: int, machine_id: int | None, mw: int | None, inlet: bool
    ) -> None:
        """Tally one new reading; ``mw`` its watts as stored (integer mW, ``types.milli``)."""
        self.add_pdu(pdu_id, [(outlet_id, machine_id, mw)], (outlet_id,) if inlet else ())

    def add_pdu(
        self,
        pdu_id: int,
        readings: Iterable[tuple[int, int | None, int | None]],
        inlets: Collection[int] = (),
    ) -> None:
        """Tally new readings of one PDU, each (outlet id, machine id, mW as stored);
        ``inlets``: the outlet ids among them that are the PDU's inlets. One call per PDU:
        a cycle has 50,000 readings, and a call per reading cost more than its insert."""
        outlet_ids, machines, machine_mw = self.outlet_ids, self.machines, self.machine_mw
        added = len(outlet_ids)
        pdu_total: int | None = None
        for outlet_id, machine_id, mw in readings:
            outlet_ids.append(outlet_id)
            if machine_id is not None:
                machines.add(machine_id)
            if mw is None:
                continue
            if machine_id is not None:
                machine_mw[machine_id] = machine_mw.get(machine_id, 0) + mw
                if mw < 0:
                    self.low_machines.add(machine_id)
            if outlet_id not in inlets:  # a PDU's peak is of its outlets: its inlet meters them
                pdu_total = (pdu_total or 0) + mw
                if mw < 0:
                    self.low_pdus.add(pdu_id)
        if len(outlet_ids) > added:
            self.pdus.add(pdu_id)
        if pdu_total is not None:
            self.pdu_mw[pdu_id] = self.pdu_mw.get(pdu_id, 0) + pdu_total


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
