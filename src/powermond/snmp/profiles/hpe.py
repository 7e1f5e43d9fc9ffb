"""HPE CPQPOWER-MIB pdu3 branch (metered and switched PDUs): index pdu3IdentIndex.outlet."""

from __future__ import annotations

from powermond.snmp.profiles._common import ColumnProfile, Quantity, by_unit_index

_PDU3_OUTLET = "1.3.6.1.4.1.232.165.11.5.1.1"

HPE_PDU = ColumnProfile(
    name="hpe-pdu",
    watts=Quantity(f"{_PDU3_OUTLET}.13", 1),  # pdu3OutletWatts, W
    amps=Quantity(f"{_PDU3_OUTLET}.5", 100),  # pdu3OutletCurrent, hundredths of A
    # pdu3OutletWh: the MIB text says "Units are kWh"; no recording confirms it yet.
    energy=Quantity(f"{_PDU3_OUTLET}.14", 1),
    labels=by_unit_index(),
)

PROFILES = (HPE_PDU,)
