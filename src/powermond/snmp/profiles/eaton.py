"""Eaton EATON-EPDU-MIB (ePDU G2/G3): index strappingIndex.outletIndex, strapping 0 = unit 1."""

from __future__ import annotations

from collections.abc import Callable

from powermond.snmp.profiles._common import ColumnProfile, Index, Quantity, by_unit_index
from powermond.snmp.profiles._inlet import Metered, inlet_label
from powermond.snmp.profiles.base import Table

_EPDU = "1.3.6.1.4.1.534.6.6.7.6"
_INPUT = "1.3.6.1.4.1.534.6.6.7.3"
INPUT_WATTS = f"{_INPUT}.4.1.4"  # inputWatts, W; index strapping.input.inputPower


def _input_labels(table: Table) -> Callable[[Index], str]:
    """Index ``S.I.P``: inlet I of unit S+1, read when it has a single power row (P = 1).

    An input with several inputPower rows (one per phase) has no single row that is the
    inlet's total, and summing rows the MIB does not call phases would be a guess.
    """
    rows = table.get(INPUT_WATTS) or {}
    several = {index[:2] for index in rows if len(index) == 3 and index[2] != 1}

    def label(index: Index) -> str:
        strapping, number, power = index
        if (strapping, number) in several or power != 1:
            raise ValueError("input with several power rows (phases); its total is not read")
        return inlet_label(strapping + 1, number)

    return label


EATON_EPDU = Metered(
    "eaton-epdu",
    (
        ColumnProfile(
            name="eaton-epdu",
            watts=Quantity(f"{_EPDU}.5.1.3", 1),  # outletWatts, W
            amps=Quantity(f"{_EPDU}.4.1.3", 1000),  # outletCurrent, mA
            energy=Quantity(f"{_EPDU}.5.1.4", 1000),  # outletWh, Wh
            # Daisy-chained units are strapped 0..23; the unit an operator calls 1 is strapping 0.
            labels=by_unit_index(unit_offset=1),
        ),
        ColumnProfile(
            name="eaton-epdu inlets",
            watts=Quantity(INPUT_WATTS, 1),
            amps=Quantity(f"{_INPUT}.3.1.4", 1000),  # inputCurrent, mA
            energy=Quantity(f"{_INPUT}.4.1.5", 1000),  # inputWh, Wh
            labels=_input_labels,
        ),
    ),
)

PROFILES = (EATON_EPDU,)
