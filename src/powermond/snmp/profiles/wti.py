"""WTI WTI-POWER-MIB: plugTable, index plugIndex; the system totals are the inlet.

Plugs are labelled by plugIndex (1..N); the device's plugID (``LOCAL - B3``) names branch
and plug. The MIB gives the total power no unit: W by the data (plugs 163 + 93 = 256 W =
environmentSystemTotalPower). There is no energy counter, only a monthly log string.
"""

from __future__ import annotations

from powermond.snmp.profiles._common import ColumnProfile, Quantity, by_outlet_index
from powermond.snmp.profiles._inlet import Metered, inlet_scalar

_PLUG = "1.3.6.1.4.1.2634.3.100.200.1"  # plugEntry
_ENVIRONMENT = "1.3.6.1.4.1.2634.3.200"

WTI_PDU = Metered(
    "wti-pdu",
    (
        ColumnProfile(
            name="wti-pdu",
            watts=Quantity(f"{_PLUG}.8", 1),  # plugPower, W
            amps=Quantity(f"{_PLUG}.7", 10),  # plugCurrent, tenths of A
            energy=None,
            labels=by_outlet_index,
        ),
        ColumnProfile(
            name="wti-pdu system total",
            watts=Quantity(f"{_ENVIRONMENT}.70", 1),  # environmentSystemTotalPower
            amps=Quantity(f"{_ENVIRONMENT}.60", 10),  # environmentSystemTotalCurrent
            energy=None,
            labels=inlet_scalar,
        ),
    ),
)

PROFILES = (WTI_PDU,)
