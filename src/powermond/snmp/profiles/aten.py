"""ATEN ATEN-PE-CFG (PE-series PDUs): outletIntegerValueTable, every value x1000.

The MIB gives current and power no unit (A and W by the data: 0.59 A at 238.4 V, PF 0.80
is 112 W against 118.332) and calls -2000000 "not supported"; rows whose current and power
both say so are placeholders (Rec PE8216: rows 17-42 of a 16-outlet PDU). The "power
dissipation" column accumulates, but the MIB states no unit for it, so it is not read as
energy.

The inlet: deviceIntegerValueTable (index deviceIntegerValueIndex, 1..1: the PDU itself),
current and power in the same x1000 form. Its bank table (bankIntegerPower) holds subtotals
of the same outlets the device total meters, so it is not read: as an inlet it would count
that power twice. Rec PE8216 holds only the outlet subtree, so it has no inlet row.
"""

from __future__ import annotations

from collections.abc import Callable

from powermond.snmp.profiles._common import ColumnProfile, Index, Quantity, unit_label
from powermond.snmp.profiles._inlet import Metered, inlet_by_number
from powermond.snmp.profiles.base import Table

_DEVICE = "1.3.6.1.4.1.21317.1.3.2.2.2.1.99.1"  # deviceIntegerValueEntry
_VALUES = "1.3.6.1.4.1.21317.1.3.2.2.2.2.99.1"  # outletIntegerValueEntry
CURRENT = f"{_VALUES}.2"
POWER = f"{_VALUES}.4"
NOT_SUPPORTED = -2_000_000


def _labels(table: Table) -> Callable[[Index], str | None]:
    currents = table.get(CURRENT) or {}
    powers = table.get(POWER) or {}

    def label(index: Index) -> str | None:
        (outlet,) = index
        if currents.get(index) == NOT_SUPPORTED and powers.get(index) == NOT_SUPPORTED:
            return None
        return unit_label(1, outlet)

    return label


ATEN_PDU = Metered(
    "aten-pdu",
    (
        ColumnProfile(
            name="aten-pdu",
            watts=Quantity(POWER, 1000, missing=NOT_SUPPORTED),
            amps=Quantity(CURRENT, 1000, missing=NOT_SUPPORTED),
            energy=None,
            labels=_labels,
        ),
        ColumnProfile(
            name="aten-pdu device",
            watts=Quantity(f"{_DEVICE}.4", 1000, missing=NOT_SUPPORTED),  # deviceIntegerPower
            amps=Quantity(f"{_DEVICE}.2", 1000, missing=NOT_SUPPORTED),  # deviceIntegerCurrent
            energy=None,
            labels=inlet_by_number,
        ),
    ),
)

PROFILES = (ATEN_PDU,)
