"""RNX RNX-UPDU-MIB (Riedo UPDU): one meter table for the PDU, its phases, its modules and
their outlets, indexed module.meter; upduMeterType says which a row is.

Outlet rows (type outlet) are ``U.N``: module U, outlet N. The PDU total row (pduTotal or
pduTotalCalc) is the inlet. The phase rows (phaseTotal/Calc) and module rows
(moduleTotal/Calc) are that same total split by line and by module (Rec RN3214: phases
272 + 196 + 400 W = the PDU's 868 W), not further inlets, so they are not read: as
``inlet.N`` they would count the PDU's power twice. Rows whose data quality is not ok are
stale and skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from powermond.snmp.profiles._common import ColumnProfile, Index, Labeler, Quantity, unit_label
from powermond.snmp.profiles._inlet import INLET, Metered
from powermond.snmp.profiles.base import Table

_METER = "1.3.6.1.4.1.55108.1.3.1.1"  # upduMeterEntry
TYPE = f"{_METER}.3"
QUALITY = f"{_METER}.15"
PDU_TOTALS = frozenset((0, 1))  # pduTotal, pduTotalCalc
OUTLET = 6
QUALITY_OK = 0


def _rows_of(types: frozenset[int], label_of: Callable[[Index], str]) -> Labeler:
    def labeler(table: Table) -> Callable[[Index], str | None]:
        kinds = table.get(TYPE) or {}
        quality = table.get(QUALITY) or {}

        def label(index: Index) -> str | None:
            if kinds.get(index) not in types:
                return None
            if quality.get(index, QUALITY_OK) != QUALITY_OK:
                raise ValueError(f"data quality {quality.get(index)!r} (not ok)")
            return label_of(index)

        return label

    return labeler


def _outlet(index: Index) -> str:
    module, outlet = index
    return unit_label(module, outlet)


def _meters(name: str, types: frozenset[int], label_of: Callable[[Index], str]) -> ColumnProfile:
    return ColumnProfile(
        name=name,
        watts=Quantity(f"{_METER}.7", 1),  # upduMeterPowerP, W
        amps=Quantity(f"{_METER}.11", 1000),  # upduMeterIrms, mA
        energy=Quantity(f"{_METER}.4", 1000),  # upduMeterEnergyP, Wh
        labels=_rows_of(types, label_of),
        label_columns=(TYPE, QUALITY),
    )


RNX_UPDU = Metered(
    "rnx-updu",
    (
        _meters("rnx-updu", frozenset((OUTLET,)), _outlet),
        _meters("rnx-updu total", PDU_TOTALS, lambda _index: INLET),
    ),
)

PROFILES = (RNX_UPDU,)
