"""Chatsworth CPI-UNITY-MIB (eConnect PDUs): cpiPduOutletTable, index outletId.MAC.

The MAC is the PDU's (linked PDUs share the table) and comes as a 12-character string with
its length: ``<id>.12.<12 ASCII codes>``. The table's power column is in volt-amperes and
it has no watts column, so watts stay None (a PDU with `voltage` configured derives them).

No inlet is read: CPI-UNITY-MIB has no PDU-level total, and its branch table
(cpiPduBranchTable) meters breaker branches, subtotals of the outlets, in volt-amperes
("the power in volt-amps for the branch", energy in decaVA-seconds): neither an inlet meter
nor watts. Rec K50-3D136 has 3 branch rows (for the linked PDU 000ED3013C4D).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from powermond.snmp.profiles._common import ColumnProfile, Index, Quantity, unit_label
from powermond.snmp.profiles.base import Table

_OUTLET = "1.3.6.1.4.1.30932.1.10.1.4.10.1"  # cpiPduOutletEntry
CURRENT = f"{_OUTLET}.6"  # 1/100 A
ENERGY = f"{_OUTLET}.10"  # decawatt-seconds: / 360 is Wh, / 360000 kWh
_MAC_LENGTH = 12


def _mac(index: Index) -> tuple[int, ...]:
    outlet, length, *mac = index
    if outlet < 1 or length != _MAC_LENGTH or len(mac) != _MAC_LENGTH:
        raise ValueError("is not outlet.12.<MAC as 12 characters>")
    return tuple(mac)


def _labels(table: Table) -> Callable[[Index], str]:
    """One PDU: ``N``. Linked PDUs: unit U is the U-th MAC in address order (the MIB gives
    no chain position), its outlets ``U.N``."""
    macs: set[tuple[int, ...]] = set()
    for column in (CURRENT, ENERGY):
        for index in table.get(column) or {}:
            with suppress(ValueError):  # such a row is warned about when labelled
                macs.add(_mac(index))
    unit_of = {mac: unit for unit, mac in enumerate(sorted(macs), start=1)}

    def label(index: Index) -> str:
        return unit_label(unit_of[_mac(index)], index[0])

    return label


CPI_PDU = ColumnProfile(
    name="cpi-pdu",
    watts=None,
    amps=Quantity(CURRENT, 100),
    energy=Quantity(ENERGY, 360_000),
    labels=_labels,
)

PROFILES = (CPI_PDU,)
