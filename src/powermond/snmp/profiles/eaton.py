"""Eaton EATON-EPDU-MIB (ePDU G2/G3): index strappingIndex.outletIndex, strapping 0 = unit 1."""

from __future__ import annotations

from powermond.snmp.profiles._common import ColumnProfile, Quantity, by_unit_index

_EPDU = "1.3.6.1.4.1.534.6.6.7.6"

EATON_EPDU = ColumnProfile(
    name="eaton-epdu",
    watts=Quantity(f"{_EPDU}.5.1.3", 1),  # outletWatts, W
    amps=Quantity(f"{_EPDU}.4.1.3", 1000),  # outletCurrent, mA
    energy=Quantity(f"{_EPDU}.5.1.4", 1000),  # outletWh, Wh
    # Daisy-chained units are strapped 0..23; the unit an operator calls 1 is strapping 0.
    labels=by_unit_index(unit_offset=1),
)

PROFILES = (EATON_EPDU,)
