"""HPE CPQPOWER-MIB: the pdu3 branch (metered and switched PDUs, index pdu3IdentIndex.outlet)
and the older pdu2 branch (metered PDUs, index pdu2IdentIndex.outlet, unit counted from 0)."""

from __future__ import annotations

from collections.abc import Callable

from powermond.snmp.profiles._common import (
    ColumnProfile,
    Index,
    Labeler,
    Quantity,
    by_unit_index,
    unit_label,
)
from powermond.snmp.profiles._inlet import Metered, inlet_by_unit, single_phase_current
from powermond.snmp.profiles.base import Table

_PDU3_OUTLET = "1.3.6.1.4.1.232.165.11.5.1.1"
PDU3_NAME = f"{_PDU3_OUTLET}.2"  # pdu3OutletName
PDU3_POWER_FACTOR = f"{_PDU3_OUTLET}.16"


def pdu3_labels(name_oid: str, power_factor_oid: str) -> Labeler:
    """Index ``U.N``; a row named with NUL bytes only and of power factor 0 is one of the
    table's unused placeholders (Rec P9S18A: rows 25-48 of a 24-outlet PDU), skipped so that
    a machine mapped to it cannot silently read 0 W."""

    def labeler(table: Table) -> Callable[[Index], str | None]:
        names = table.get(name_oid) or {}
        factors = table.get(power_factor_oid) or {}

        def label(index: Index) -> str | None:
            unit, outlet = index
            name = names.get(index)
            blank = isinstance(name, bytes) and name != b"" and not name.strip(b"\0")
            if blank and factors.get(index, 0) == 0:
                return None
            return unit_label(unit, outlet)

        return label

    return labeler


HPE_PDU = ColumnProfile(
    name="hpe-pdu",
    watts=Quantity(f"{_PDU3_OUTLET}.13", 1),  # pdu3OutletWatts, W
    amps=Quantity(f"{_PDU3_OUTLET}.5", 100),  # pdu3OutletCurrent, hundredths of A
    # pdu3OutletWh: the MIB text says "Units are kWh"; no recording confirms it yet.
    energy=Quantity(f"{_PDU3_OUTLET}.14", 1),
    labels=pdu3_labels(PDU3_NAME, PDU3_POWER_FACTOR),
    label_columns=(PDU3_NAME, PDU3_POWER_FACTOR),
)

_PDU2_OUTLET = "1.3.6.1.4.1.232.165.7.5.1.1"

# pdu2IdentIndex is 0 on a standalone PDU (Rec 16A maPDU: rows 0.1..0.8): unit = index + 1.
# The inlet: pdu2InputPowerWatts, "total input Watts of all phases", per unit, and the
# current of a unit with a single phase row (pdu2InputPhaseCurrent, index unit.phase, mA;
# Rec: 0.1 = 535 mA); the phases of a multi-phase unit add up to no inlet current.
PDU2_PHASE_CURRENT = "1.3.6.1.4.1.232.165.7.2.2.1.11"


def _pdu2_unit(index: Index) -> int:
    unit, _phase = index
    return unit + 1


HPE_PDU2 = Metered(
    "hpe-pdu2",
    (
        ColumnProfile(
            name="hpe-pdu2",
            watts=Quantity(f"{_PDU2_OUTLET}.14", 1),  # pdu2OutletWatts, W
            amps=Quantity(f"{_PDU2_OUTLET}.5", 1000),  # pdu2OutletCurrent, mA
            energy=Quantity(f"{_PDU2_OUTLET}.15", 1000),  # pdu2OutletWh, Wh
            labels=by_unit_index(unit_offset=1),
        ),
        ColumnProfile(
            name="hpe-pdu2 inlets",
            watts=Quantity("1.3.6.1.4.1.232.165.7.2.1.1.5", 1),
            amps=None,
            energy=None,
            labels=inlet_by_unit(unit_offset=1),
        ),
        ColumnProfile(
            name="hpe-pdu2 input phases",
            watts=None,
            amps=Quantity(PDU2_PHASE_CURRENT, 1000),  # milliamps
            energy=None,
            labels=single_phase_current(PDU2_PHASE_CURRENT, _pdu2_unit),
        ),
    ),
)

PROFILES = (HPE_PDU, HPE_PDU2)
