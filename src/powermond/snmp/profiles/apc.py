"""APC (Schneider) PowerNet-MIB: the old rPDU branch, Rack PDU 2G (rPDU2) and cPDU
(whose table Enlogic shares).

OIDs and scalings: shared/snmprec/MIB-FACTS.md, checked against Rec AP8641, AP8932,
AP7902B and the NetShelter Advanced (cPDU) recording.
"""

from __future__ import annotations

from collections.abc import Callable

from powermond.snmp.profiles._common import (
    ColumnProfile,
    Index,
    Labeler,
    Quantity,
    by_module_number,
    by_outlet_index,
    unit_label,
)
from powermond.snmp.profiles.base import Table

_RPDU_OUTLET = "1.3.6.1.4.1.318.1.1.12.3.5.1.1"
_RPDU2_METERED = "1.3.6.1.4.1.318.1.1.26.9.4.3.1"
_CPDU_METERED = "1.3.6.1.4.1.318.1.1.32.5.9.1"

# Gen 1 (and switched-only gen 2) units: rPDUOutletStatusLoad in tenths of A, nothing else.
# A switched-only unit answers 0 for every outlet; that is decoded as given, and no watts
# are derived here (a PDU with `voltage` configured gets them from make_profile).
APC_RPDU = ColumnProfile(
    name="apc-rpdu",
    watts=None,
    amps=Quantity(f"{_RPDU_OUTLET}.7", 10),
    energy=None,
    labels=by_outlet_index,
)

# Rack PDU 2G: the index is flat over a daisy chain; Module (.2) and Number (.4) say
# which unit and which outlet on it.
APC_RPDU2 = ColumnProfile(
    name="apc-rpdu2",
    watts=Quantity(f"{_RPDU2_METERED}.7", 1),
    amps=Quantity(f"{_RPDU2_METERED}.6", 10),
    energy=Quantity(f"{_RPDU2_METERED}.11", 10),
    labels=by_module_number(f"{_RPDU2_METERED}.2", f"{_RPDU2_METERED}.4"),
    label_columns=(f"{_RPDU2_METERED}.2", f"{_RPDU2_METERED}.4"),
)


def cpdu_labels(number_oid: str) -> Labeler:
    """Index ``U.O``; rows whose Number column is 0 are the table's unused placeholders."""

    def labeler(table: Table) -> Callable[[Index], str | None]:
        numbers = table.get(number_oid)

        def label(index: Index) -> str | None:
            unit, outlet = index
            if numbers is not None and numbers.get(index) == 0:
                return None
            return unit_label(unit, outlet)

        return label

    return labeler


def _cpdu_profile(name: str, table_oid: str) -> ColumnProfile:
    return ColumnProfile(
        name=name,
        watts=Quantity(f"{table_oid}.6", 1),  # W
        amps=Quantity(f"{table_oid}.5", 100),  # hundredths of A
        energy=Quantity(f"{table_oid}.11", 10),  # resettable energy, tenths of kWh
        labels=cpdu_labels(f"{table_oid}.2"),
        label_columns=(f"{table_oid}.2",),
    )


# NetShelter Advanced / APDU10xxx (cPDU branch).
APC_CPDU = _cpdu_profile("apc-cpdu", _CPDU_METERED)
# Enlogic's ENLOGIC-PDU2-MIB is the same table under its own enterprise number (no
# recording: checked against MIB-FACTS only).
ENLOGIC_PDU = _cpdu_profile("enlogic-pdu", "1.3.6.1.4.1.38446.1.5.9.1")

PROFILES = (APC_RPDU, APC_RPDU2, APC_CPDU, ENLOGIC_PDU)
