"""CyberPower CPS-MIB: ePDU2 (current generation) and the older ePDU (an rPDU clone)."""

from __future__ import annotations

from powermond.snmp.profiles._common import (
    ColumnProfile,
    Quantity,
    by_module_number,
    by_outlet_index,
)
from powermond.snmp.profiles._inlet import Metered, inlet_by_unit

_EPDU2_METERED = "1.3.6.1.4.1.3808.1.1.6.6.2.4.1"
_EPDU_OUTLET = "1.3.6.1.4.1.3808.1.1.3.3.5.1.1"

# Like APC rPDU2, the index is flat (1..96) over a daisy chain: Module (.2) and Number (.3)
# name the unit and outlet. Rec PDU81005 lacks both columns: index = outlet number.
# The inlet: ePDU2DeviceStatusPowerLoad (W) and ePDU2DeviceStatusEnergy (tenths of kWh),
# per unit (absent in Rec PDU81005).
_EPDU2_DEVICE = "1.3.6.1.4.1.3808.1.1.6.3.4.1"
CYBERPOWER = Metered(
    "cyberpower",
    (
        ColumnProfile(
            name="cyberpower",
            watts=Quantity(f"{_EPDU2_METERED}.7", 1),
            amps=Quantity(f"{_EPDU2_METERED}.6", 10),
            energy=Quantity(f"{_EPDU2_METERED}.11", 10),
            labels=by_module_number(f"{_EPDU2_METERED}.2", f"{_EPDU2_METERED}.3"),
            label_columns=(f"{_EPDU2_METERED}.2", f"{_EPDU2_METERED}.3"),
        ),
        ColumnProfile(
            name="cyberpower inlets",
            watts=Quantity(f"{_EPDU2_DEVICE}.18", 1),
            amps=None,
            energy=Quantity(f"{_EPDU2_DEVICE}.9", 10),
            labels=inlet_by_unit(),
        ),
    ),
)

CYBERPOWER_EPDU = ColumnProfile(
    name="cyberpower-epdu",
    watts=Quantity(f"{_EPDU_OUTLET}.8", 1),
    amps=Quantity(f"{_EPDU_OUTLET}.7", 10),
    energy=None,
    labels=by_outlet_index,
)

PROFILES = (CYBERPOWER, CYBERPOWER_EPDU)
