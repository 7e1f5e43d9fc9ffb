"""Eaton EATON-EPDU-MIB (ePDU G2/G3): index strappingIndex.outletIndex, strapping 0 = unit 1.

The inlets are the unit's inputs (index strappingIndex.inputIndex), ``inlet`` / ``inlet.N``
/ ``inlet.U.N``. An input's power comes as one inputPowerTable row per measurement
(index S.I.inputPowerIndex; inputPowerMeasType phase1(1), phase2(2), phase3(3), total(4)):
a single-phase input has one row, which is the input (Rec ePDU MA: 0.1.1, phase1, 1589 W,
8185553 Wh). A multi-phase input has several, so its total comes from inputTotalPowerTable
(index S.I: inputTotalWatts "Units are Watts", inputTotalWh "Units are Watt-hours";
``mibs/eaton/EATON-EPDU-MIB`` LAST-UPDATED 202303311500Z, the version MIB-FACTS.md used).
Its phase currents (inputCurrentTable, one row per phase) add up to no input current, so
only an input with a single current row gets amps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from powermond.snmp.profiles._common import ColumnProfile, Index, Quantity, by_unit_index
from powermond.snmp.profiles._inlet import Metered, inlet_label
from powermond.snmp.profiles.base import Table

_EPDU = "1.3.6.1.4.1.534.6.6.7.6"
_INPUT = "1.3.6.1.4.1.534.6.6.7.3"
INPUT_CURRENT = f"{_INPUT}.3.1.4"  # inputCurrent, mA; index strapping.input.inputCurrent
INPUT_WATTS = f"{_INPUT}.4.1.4"  # inputWatts, W; index strapping.input.inputPower
INPUT_WH = f"{_INPUT}.4.1.5"  # inputWh, Wh
TOTAL_WATTS = f"{_INPUT}.5.1.4"  # inputTotalWatts, W; index strapping.input
TOTAL_WH = f"{_INPUT}.5.1.5"  # inputTotalWh, Wh


def _rows_per_input(table: Table, columns: Iterable[str]) -> dict[Index, int]:
    rows: set[Index] = set()
    for column in columns:
        rows.update(index for index in table.get(column) or {} if len(index) == 3)
    per_input: dict[Index, int] = {}
    for index in rows:
        per_input[index[:2]] = per_input.get(index[:2], 0) + 1
    return per_input


def _input(index: Index) -> str:
    strapping, number = index
    return inlet_label(strapping + 1, number)


def _single_power_row(table: Table) -> Callable[[Index], str | None]:
    """Index ``S.I.P``: the input's one power row is the input; the phase rows of a
    multi-phase input are skipped (its inputTotalPowerTable row is read instead)."""
    rows = _rows_per_input(table, (INPUT_WATTS, INPUT_WH))
    totals = {i for column in (TOTAL_WATTS, TOTAL_WH) for i in table.get(column) or {}}

    def label(index: Index) -> str | None:
        strapping, number, _power = index
        if rows[(strapping, number)] == 1:
            return _input((strapping, number))
        if (strapping, number) in totals:
            return None
        raise ValueError("input with several power rows (phases) and no total row; not read")

    return label


def _input_totals(table: Table) -> Callable[[Index], str | None]:
    """Index ``S.I``: the total of an input that has no single power row of its own."""
    rows = _rows_per_input(table, (INPUT_WATTS, INPUT_WH))

    def label(index: Index) -> str | None:
        strapping, number = index
        return None if rows.get((strapping, number)) == 1 else _input(index)

    return label


def _single_current_row(table: Table) -> Callable[[Index], str | None]:
    """Index ``S.I.C``: an input's current when it has one current row (one phase)."""
    rows = _rows_per_input(table, (INPUT_CURRENT,))

    def label(index: Index) -> str | None:
        strapping, number, _current = index
        return _input((strapping, number)) if rows[(strapping, number)] == 1 else None

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
            name="eaton-epdu inputs",
            watts=Quantity(INPUT_WATTS, 1),
            amps=None,
            energy=Quantity(INPUT_WH, 1000),
            labels=_single_power_row,
            label_columns=(TOTAL_WATTS, TOTAL_WH),
        ),
        ColumnProfile(
            name="eaton-epdu input totals",
            watts=Quantity(TOTAL_WATTS, 1),
            amps=None,
            energy=Quantity(TOTAL_WH, 1000),
            labels=_input_totals,
            label_columns=(INPUT_WATTS, INPUT_WH),
        ),
        ColumnProfile(
            name="eaton-epdu input currents",
            watts=None,
            amps=Quantity(INPUT_CURRENT, 1000),
            energy=None,
            labels=_single_current_row,
        ),
    ),
)

PROFILES = (EATON_EPDU,)
