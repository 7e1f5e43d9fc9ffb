"""Generated ``.snmprec`` files for the simulated PDUs, one per vendor MIB.

The OIDs and scalings follow shared/snmprec/MIB-FACTS.md; every value is the demo's own
(no recording is copied). Outlets that feed a machine serve :class:`Numeric` values that
change with time; the others serve 0 W. The same records give :func:`table_at`, the rows a
profile would decode at a given time, which the back-fill stores and the tests compare with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from powermond.demo.pattern import VOLTS, Numeric, Wave
from powermond.demo.world import PduModel, World
from powermond.snmp.profiles.base import Table

Oid = tuple[int, ...]

# snmprec type tags (the sum of the BER tag bytes).
INTEGER, OCTETS, OBJECT_ID, GAUGE, TIMETICKS = "2", "4", "6", "66", "67"


@dataclass(frozen=True, slots=True)
class Record:
    oid: Oid
    tag: str
    value: str | int | Numeric

    def line(self) -> str:
        dotted = ".".join(map(str, self.oid))
        if isinstance(self.value, Numeric):
            return f"{dotted}|{self.tag}:numeric|{self.value.render()}"
        return f"{dotted}|{self.tag}|{self.value}"

    def value_at(self, t: float) -> int | bytes | str:
        if isinstance(self.value, Numeric):
            return self.value.at(t)
        if self.tag == OCTETS:
            return str(self.value).encode()
        return self.value if self.tag == OBJECT_ID else int(self.value)


def oid(dotted: str, *suffix: int) -> Oid:
    return (*map(int, dotted.split(".")), *suffix)


@dataclass(frozen=True, slots=True)
class Outlet:
    """One outlet as the PDU sees it: its number, label and power (``None``: nothing plugged)."""

    number: int
    name: str
    watts: Wave | None


def _outlets(world: World, pdu: PduModel) -> list[Outlet]:
    on = world.machines_on(pdu.name)
    return [
        Outlet(n, on[n].name if n in on else "", on[n].feed_watts if n in on else None)
        for n in range(1, pdu.outlets + 1)
    ]


def _value(watts: Wave | None, per_watt: float) -> Numeric | int:
    """A quantity that follows the outlet's watts (``per_watt`` raw units per W)."""
    return 0 if watts is None else Numeric.wave(watts, per_watt)


def _energy(watts: Wave | None, per_kwh: float) -> Numeric | int:
    return 0 if watts is None else Numeric.counter(watts.mean, per_kwh)


def _system(descr: str, object_id: str, name: str) -> list[Record]:
    return [
        Record(oid("1.3.6.1.2.1.1.1.0"), OCTETS, descr),
        Record(oid("1.3.6.1.2.1.1.2.0"), OBJECT_ID, object_id),
        # sysUpTime in hundredths of a second since the agent started.
        Record(oid("1.3.6.1.2.1.1.3.0"), TIMETICKS, Numeric(rate=100.0)),
        Record(oid("1.3.6.1.2.1.1.4.0"), OCTETS, "PowerMon demo"),
        Record(oid("1.3.6.1.2.1.1.5.0"), OCTETS, name),
        Record(oid("1.3.6.1.2.1.1.6.0"), OCTETS, "Simulated machine room"),
    ]


APC_RPDU2 = "1.3.6.1.4.1.318.1.1.26"
APC_METERED = f"{APC_RPDU2}.9.4.3.1"


def apc_rpdu2(pdu: PduModel, outlets: Sequence[Outlet]) -> list[Record]:
    """Rack PDU 2G (AP86xx): W, tenths of A, tenths of kWh; module 1, index = number."""
    records = _system(
        "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.9.6 PN:apc_hw05_aos_696.bin "
        "AF1:v6.9.6 AN1:apc_hw05_rpdu2g_696.bin MN:AP8641 HR:02 SN: DEMO0001 MD:01/01/2024)",
        "1.3.6.1.4.1.318.1.3.4.6",
        pdu.name,
    )
    count = len(outlets)
    records += [
        Record(oid(f"{APC_RPDU2}.2.1.8", 1), OCTETS, "AP8641"),
        Record(oid(f"{APC_RPDU2}.4.2.1.4", 1), INTEGER, count),  # outlets
        Record(oid(f"{APC_RPDU2}.4.2.1.5", 1), INTEGER, 0),  # switched outlets
        Record(oid(f"{APC_RPDU2}.4.2.1.6", 1), INTEGER, count),  # metered outlets
    ]
    for o in outlets:
        records += [
            Record(oid(f"{APC_METERED}.1", o.number), INTEGER, o.number),
            Record(oid(f"{APC_METERED}.2", o.number), INTEGER, 1),  # module (unit) 1
            Record(oid(f"{APC_METERED}.3", o.number), OCTETS, o.name or f"Outlet {o.number}"),
            Record(oid(f"{APC_METERED}.4", o.number), INTEGER, o.number),
            Record(oid(f"{APC_METERED}.6", o.number), INTEGER, _value(o.watts, 10 / VOLTS)),
            Record(oid(f"{APC_METERED}.7", o.number), INTEGER, _value(o.watts, 1)),
            Record(oid(f"{APC_METERED}.11", o.number), INTEGER, _energy(o.watts, 10)),
        ]
    return records


RARITAN = "1.3.6.1.4.1.13742.6"
# sensor type -> (outletSensorUnits, decimal digits, raw units per W or per kWh)
_RARITAN_SENSORS = {
    1: (2, 3, 1000 / VOLTS),  # rmsCurrent in mA (3 digits)
    4: (1, 0, 0.0),  # rmsVoltage, constant
    5: (3, 0, 1.0),  # activePower in W
    8: (5, 0, 1000.0),  # activeEnergy in Wh
}


def raritan_pdu2(pdu: PduModel, outlets: Sequence[Outlet]) -> list[Record]:
    """PX2: the sensor table pduId.outletId.sensorType, scaled by each sensor's digits."""
    records = _system("PX2 030410", RARITAN, pdu.name)
    records += [
        Record(oid(f"{RARITAN}.3.2.2.1.2", 1), INTEGER, 1),  # inletCount
        Record(oid(f"{RARITAN}.3.2.2.1.4", 1), INTEGER, len(outlets)),  # outletCount
    ]
    for o in outlets:
        index = (1, o.number)
        records += [
            Record(oid(f"{RARITAN}.3.5.3.1.2", *index), OCTETS, str(o.number)),
            Record(oid(f"{RARITAN}.3.5.3.1.3", *index), OCTETS, o.name),
        ]
        for sensor, (units, digits, factor) in _RARITAN_SENSORS.items():
            sensor_index = (*index, sensor)
            value: Numeric | int
            if sensor == 4:
                value = int(VOLTS)
            elif sensor == 8:
                value = _energy(o.watts, factor)
            else:
                value = _value(o.watts, factor)
            records += [
                Record(oid(f"{RARITAN}.3.5.4.1.6", *sensor_index), INTEGER, units),
                Record(oid(f"{RARITAN}.3.5.4.1.7", *sensor_index), GAUGE, digits),
                Record(oid(f"{RARITAN}.5.4.3.1.3", *sensor_index), INTEGER, 4),  # normal
                Record(oid(f"{RARITAN}.5.4.3.1.4", *sensor_index), GAUGE, value),
            ]
    return records


EATON = "1.3.6.1.4.1.534.6.6.7"


def eaton_epdu(pdu: PduModel, outlets: Sequence[Outlet]) -> list[Record]:
    """ePDU G3: index strapping.outlet with strapping 0 for a standalone unit; mA, W, Wh."""
    records = _system(f"ePDU MI 00U-C IN: C20 16A 1P OUT: {len(outlets)}xC13", EATON, pdu.name)
    records.append(Record(oid(f"{EATON}.1.2.1.22", 0), INTEGER, len(outlets)))
    for o in outlets:
        index = (0, o.number)
        records += [
            Record(oid(f"{EATON}.6.1.1.2", *index), OCTETS, str(o.number)),
            Record(oid(f"{EATON}.6.1.1.3", *index), OCTETS, o.name or f"Outlet {o.number}"),
            Record(oid(f"{EATON}.6.4.1.3", *index), INTEGER, _value(o.watts, 1000 / VOLTS)),
            Record(oid(f"{EATON}.6.5.1.3", *index), INTEGER, _value(o.watts, 1)),
            Record(oid(f"{EATON}.6.5.1.4", *index), GAUGE, _energy(o.watts, 1000)),
        ]
    return records


BUILDERS: dict[str, Callable[[PduModel, Sequence[Outlet]], list[Record]]] = {
    "apc-rpdu2": apc_rpdu2,
    "raritan-pdu2": raritan_pdu2,
    "eaton-epdu": eaton_epdu,
}


def pdu_records(world: World, pdu: PduModel) -> list[Record]:
    """The PDU's records sorted by OID, as snmpsim needs them."""
    return sorted(BUILDERS[pdu.profile](pdu, _outlets(world, pdu)), key=lambda r: r.oid)


def write_snmprec(world: World, data_dir: Path) -> list[Path]:
    """One ``<community>.snmprec`` per PDU in ``data_dir``; returns the paths."""
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for pdu in world.pdus:
        path = data_dir / f"{pdu.community}.snmprec"
        text = "\n".join(r.line() for r in pdu_records(world, pdu)) + "\n"
        path.write_text(text, encoding="ascii")
        paths.append(path)
    return paths


def table_at(records: Iterable[Record], columns: Iterable[str], t: float) -> Table:
    """What walking ``columns`` would return at time ``t``: column -> index -> value."""
    roots = {c: oid(c) for c in columns}
    table: dict[str, dict[Oid, int | bytes | str | None]] = {c: {} for c in roots}
    for record in records:
        for column, root in roots.items():
            if record.oid[: len(root)] == root and len(record.oid) > len(root):
                table[column][record.oid[len(root) :]] = record.value_at(t)
    return {c: rows for c, rows in table.items() if rows}
