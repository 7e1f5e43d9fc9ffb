"""Ingrasys iPoMan IPOMANII-MIB: outlet and inlet status tables, each indexed 1..N.

Outlets give current (0.001 A) and energy (0.001 kWh; Rec values exceed the MIB's stated
range 0..65500, read as given) but no power; inlets give current and, where the device has
it, energy in 0.1 kWh (absent in Rec). With `voltage` configured watts are derived.
"""

from __future__ import annotations

from powermond.snmp.profiles._common import ColumnProfile, Quantity, by_outlet_index
from powermond.snmp.profiles._inlet import Metered, inlet_by_number

_DEVICE = "1.3.6.1.4.1.2468.1.4.2.1.3"
_OUTLET = f"{_DEVICE}.2.3.1"  # ipmDeviceOutletStatusEntry
_INLET = f"{_DEVICE}.1.3.1"  # ipmDeviceInletStatusEntry

IPOMAN = Metered(
    "ipoman",
    (
        ColumnProfile(
            name="ipoman",
            watts=None,
            amps=Quantity(f"{_OUTLET}.3", 1000),  # outletStatusCurrent, 0.001 A
            energy=Quantity(f"{_OUTLET}.4", 1000),  # outletStatusKwatt, 0.001 kWh
            labels=by_outlet_index,
        ),
        ColumnProfile(
            name="ipoman inlets",
            watts=None,
            amps=Quantity(f"{_INLET}.3", 1000),  # inletStatusCurrent, 0.001 A
            energy=Quantity(f"{_INLET}.5", 10),  # inletStatusKwatt, 0.1 kWh
            labels=inlet_by_number,
        ),
    ),
)

PROFILES = (IPOMAN,)
