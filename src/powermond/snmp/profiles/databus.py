"""SCHLEIFENBAUER-DATABUS-MIB, and Conteg's CONTEG-DATABUS-MIB (the same MIB text under
enterprise 28402): outlets sdbDevOutMtTable and inputs sdbDevInTable, each indexed by the
databus device (a daisy-chained unit, from 1) and then the outlet or input number.

Watts come from the real-power column (``.11`` outlets, ``.10`` inputs), never from the
volt-ampere one beside it; Rec DPM27/E lacks both real-power columns, so it gives amps and
energy only.
"""

from __future__ import annotations

from powermond.snmp.profiles._common import ColumnProfile, Quantity, by_unit_index
from powermond.snmp.profiles._inlet import Metered, inlet_by_unit_number


def databus_profile(name: str, enterprise: int) -> Metered:
    base = f"1.3.6.1.4.1.{enterprise}.12.1.1.2"
    outlet, inlet = f"{base}.7.2.1", f"{base}.6.1.1"  # sdbDevOutMtEntry, sdbDevInEntry
    return Metered(
        name,
        (
            ColumnProfile(
                name=name,
                watts=Quantity(f"{outlet}.11", 1),  # sdbDevOutMtPowerWatt, W
                amps=Quantity(f"{outlet}.5", 100),  # sdbDevOutMtActualCurrent, CentiAmpere
                energy=Quantity(f"{outlet}.2", 1),  # sdbDevOutMtKWhTotal, kWh (not resettable)
                labels=by_unit_index(),
            ),
            ColumnProfile(
                name=f"{name} inputs",
                watts=Quantity(f"{inlet}.10", 1),  # sdbDevInPowerWatt, W
                amps=Quantity(f"{inlet}.5", 100),  # sdbDevInActualCurrent, CentiAmpere
                energy=Quantity(f"{inlet}.2", 1),  # sdbDevInKWhTotal, kWh
                labels=inlet_by_unit_number(),
            ),
        ),
    )


SCHLEIFENBAUER = databus_profile("schleifenbauer", 31034)
CONTEG = databus_profile("conteg", 28402)

PROFILES = (SCHLEIFENBAUER, CONTEG)
