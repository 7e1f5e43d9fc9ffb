"""Raritan PDU2-MIB (PX2/PX3/PX4) and the old PDU-MIB (Dominion PX1).

PDU2-MIB keeps every outlet sensor in one table indexed pduId.outletId.sensorType, as an
unsigned integer to divide by 10^digits, where the device reports the digits per sensor in
outletSensorDecimalDigits (walked every cycle: an operator may change them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from powermond.readings import OutletReading
from powermond.snmp.profiles._common import (
    MAX_AMPS,
    MAX_KWH,
    MAX_WATTS,
    ColumnProfile,
    Index,
    Quantity,
    assign_labels,
    by_outlet_index,
    no_rows,
    to_si,
    unit_label,
)
from powermond.snmp.profiles._inlet import Metered, inlet_by_number, inlet_label
from powermond.snmp.profiles.base import Decoded, Rows, Table

SENSOR_VALUE = "1.3.6.1.4.1.13742.6.5.4.3.1.4"  # measurementsOutletSensorValue
DECIMAL_DIGITS = "1.3.6.1.4.1.13742.6.3.5.4.1.7"  # outletSensorDecimalDigits

# SensorTypeEnumeration values, and what turns each one's real value into W, A or kWh.
RMS_CURRENT, ACTIVE_POWER, ACTIVE_ENERGY = 1, 5, 8
_WH_PER_KWH = 1000
_MAX_DIGITS = 9  # a digits value beyond this is a broken device, not a setting


@dataclass(frozen=True, slots=True)
class SensorTable:
    """Current, active power and active energy from one PDU2-MIB sensor table (outlets or
    inlets), each value scaled by the decimal digits the device reports for it."""

    name: str
    values_oid: str
    digits_oid: str
    labels: Callable[[Index], str]

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.values_oid, self.digits_oid)

    def decode(self, table: Table) -> Decoded:
        values = table.get(self.values_oid) or {}
        # Only three of the (up to 17) sensor types per outlet matter here.
        outlets = sorted({i[:2] for i in values if len(i) == 3 and i[2] in _WANTED})
        if not outlets:
            return no_rows(self.name, self.columns)
        digits = table.get(self.digits_oid) or {}
        warnings: list[str] = []
        labels = assign_labels(outlets, self.labels, warnings)
        column = self.values_oid

        def value(o: Index, sensor: int, divisor: int, limit: float, label: str) -> float | None:
            return _value(values, digits, (*o, sensor), divisor, limit, label, column, warnings)

        readings = tuple(
            OutletReading(
                label,
                value(o, ACTIVE_POWER, 1, MAX_WATTS, label),
                value(o, RMS_CURRENT, 1, MAX_AMPS, label),
                value(o, ACTIVE_ENERGY, _WH_PER_KWH, MAX_KWH, label),
            )
            for o, label in labels.items()
        )
        return Decoded(readings, tuple(warnings))


_WANTED = frozenset((RMS_CURRENT, ACTIVE_POWER, ACTIVE_ENERGY))
_POWERS_OF_TEN = tuple(10**d for d in range(_MAX_DIGITS + 1))
_SENSOR_NAMES = {
    RMS_CURRENT: "rmsCurrent",
    ACTIVE_POWER: "activePower",
    ACTIVE_ENERGY: "activeEnergy",
}


def _label(outlet: Index) -> str:
    pdu, number = outlet
    return unit_label(pdu, number)


def _inlet_label(inlet: Index) -> str:
    pdu, number = inlet
    return inlet_label(pdu, number)


def _value(
    values: Rows,
    digits: Rows,
    index: Index,
    unit_divisor: int,
    limit: float,
    label: str,
    values_oid: str,
    warnings: list[str],
) -> float | None:
    raw = values.get(index)
    if raw is None:
        return None
    column = f"{_SENSOR_NAMES[index[2]]} {values_oid}"
    places = digits.get(index)
    if not isinstance(places, int) or not 0 <= places <= _MAX_DIGITS:
        warnings.append(f"outlet {label}: {column} has decimal digits {places!r}; ignored")
        return None
    return to_si(raw, _POWERS_OF_TEN[places] * unit_divisor, limit, label, column, warnings)


# PDU total: the inlet sensors, same types, same digits scheme (MIB-FACTS "PDU total power").
INLET_VALUE = "1.3.6.1.4.1.13742.6.5.2.3.1.4"  # measurementsInletSensorValue
INLET_DIGITS = "1.3.6.1.4.1.13742.6.3.3.4.1.7"  # inletSensorDecimalDigits

RARITAN_PDU2 = Metered(
    "raritan-pdu2",
    (
        SensorTable("raritan-pdu2", SENSOR_VALUE, DECIMAL_DIGITS, _label),
        SensorTable("raritan-pdu2 inlets", INLET_VALUE, INLET_DIGITS, _inlet_label),
    ),
)

_PX1_OUTLET = "1.3.6.1.4.1.13742.4.1.2.2.1"

# Rec PX1 has no outletActivePower (.7) nor outletWattHours (.31): those stay None, and
# watts come only from a configured voltage (make_profile).
_PX1_INLET = "1.3.6.1.4.1.13742.4.1.20.2.1"

RARITAN_PX1 = Metered(
    "raritan-px1",
    (
        ColumnProfile(
            name="raritan-px1",
            watts=Quantity(f"{_PX1_OUTLET}.7", 1),  # W
            amps=Quantity(f"{_PX1_OUTLET}.4", 1000),  # mA
            energy=Quantity(f"{_PX1_OUTLET}.31", 1000),  # Wh
            labels=by_outlet_index,
        ),
        ColumnProfile(
            name="raritan-px1 inlets",
            watts=Quantity(f"{_PX1_INLET}.9", 1),  # inletActivePower, W
            amps=Quantity(f"{_PX1_INLET}.7", 1000),  # inletCurrent, mA
            energy=None,
            labels=inlet_by_number,
        ),
    ),
)

PROFILES = (RARITAN_PDU2, RARITAN_PX1)
