"""APC (Schneider) PowerNet-MIB: the old rPDU branch, Rack PDU 2G (rPDU2) and cPDU
(whose table Enlogic shares).

OIDs and scalings: shared/snmprec/MIB-FACTS.md, checked against Rec AP8641, AP8932,
AP7902B and the NetShelter Advanced (cPDU) recording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from powermond.snmp.profiles._common import (
    ColumnProfile,
    Index,
    Labeler,
    Quantity,
    by_module_number,
    by_outlet_index,
    positive_int,
    unit_label,
)
from powermond.snmp.profiles._inlet import (
    INLET,
    Metered,
    inlet_by_unit,
    inlet_label,
    inlet_scalar,
    single_phase_current,
)
from powermond.snmp.profiles.base import Decoded, Rows, Table

_RPDU_OUTLET = "1.3.6.1.4.1.318.1.1.12.3.5.1.1"
_RPDU2_METERED = "1.3.6.1.4.1.318.1.1.26.9.4.3.1"
_CPDU_METERED = "1.3.6.1.4.1.318.1.1.32.5.9.1"

# rPDU2DevicePropertiesNumMeteredOutlets, per unit: 0 on a switched-only Rack PDU 2G.
NUM_METERED = "1.3.6.1.4.1.318.1.1.26.4.2.1.6"
SWITCHED_ONLY = "switched, not metered per outlet"


@dataclass(frozen=True, slots=True)
class SwitchedOnly:
    """Outlets of a unit that may be switched only: when the device says it meters no outlet
    (every NumMeteredOutlets is 0) and every outlet reads 0, those zeros are no readings.

    A machine mapped to such an outlet then reads nothing rather than a silent 0 W; the PDU
    still gives its inlet total. Gen 1 units, which lack the count, decode as given.
    """

    inner: ColumnProfile

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.inner.columns, NUM_METERED)

    @property
    def walks(self) -> tuple[tuple[str, ...], ...]:
        return (self.inner.columns, (NUM_METERED,))  # the count: one row per unit

    def decode(self, table: Table) -> Decoded:
        decoded = self.inner.decode(table)
        counts = table.get(NUM_METERED)
        if not counts or any(count != 0 for count in counts.values()):
            return decoded
        values = (v for r in decoded.readings for v in (r.watts, r.amps, r.energy_kwh))
        if any(v for v in values):
            return decoded  # the device meters after all: believe the values
        return Decoded((), (), (SWITCHED_ONLY,))


# rPDULoadStatusTable: one row per phase (BankNumber 0) and one per bank (BankNumber >= 1).
_RPDU_LOAD = "1.3.6.1.4.1.318.1.1.12.2.3.1.1"
RPDU_LOAD = f"{_RPDU_LOAD}.2"  # rPDULoadStatusLoad, tenths of A
RPDU_BANK_NUMBER = f"{_RPDU_LOAD}.5"  # rPDULoadStatusBankNumber: 0 = a phase row


def _rpdu_phase_total(table: Table) -> Callable[[Index], str | None]:
    """The one phase row of a single-phase unit is its inlet's current; bank rows are
    subtotals of the same current (counting them too would count it twice), and the phases
    of a three-phase unit add up to no inlet current: both are skipped quietly."""
    banks = table.get(RPDU_BANK_NUMBER) or {}
    phases = [index for index, bank in banks.items() if bank == 0]
    only = phases[0] if len(phases) == 1 else None

    def label(index: Index) -> str | None:
        return INLET if index == only else None

    return label


# Gen 1 (and switched-only gen 2) units: rPDUOutletStatusLoad in tenths of A, nothing else;
# no watts are derived here (a PDU with `voltage` configured gets them from make_profile).
# The inlet: rPDUIdentDevicePowerWatts (W), the unit's total, and the current of its phase.
APC_RPDU = Metered(
    "apc-rpdu",
    (
        SwitchedOnly(
            ColumnProfile(
                name="apc-rpdu",
                watts=None,
                amps=Quantity(f"{_RPDU_OUTLET}.7", 10),
                energy=None,
                labels=by_outlet_index,
            )
        ),
        ColumnProfile(
            name="apc-rpdu inlet",
            watts=Quantity("1.3.6.1.4.1.318.1.1.12.1.16", 1),
            amps=None,
            energy=None,
            labels=inlet_scalar,
        ),
        ColumnProfile(
            name="apc-rpdu phase",
            watts=None,
            amps=Quantity(RPDU_LOAD, 10),
            energy=None,
            labels=_rpdu_phase_total,
            label_columns=(RPDU_BANK_NUMBER,),
        ),
    ),
)

# Rack PDU 2G: the index is flat over a daisy chain; Module (.2) and Number (.4) say
# which unit and which outlet on it. The inlet: rPDU2DeviceStatusPower (hundredths of kW)
# and rPDU2DeviceStatusEnergy (tenths of kWh), per unit; -1 there means unsupported. Its
# current: rPDU2PhaseStatusCurrent (tenths of A) of a unit with a single phase. The device
# and phase tables are flat too, with the unit in their Module column (.2), as the outlets.
_RPDU2_DEVICE = "1.3.6.1.4.1.318.1.1.26.4.3.1"
RPDU2_DEVICE_MODULE = f"{_RPDU2_DEVICE}.2"  # rPDU2DeviceStatusModule
_RPDU2_PHASE = "1.3.6.1.4.1.318.1.1.26.6.3.1"
RPDU2_PHASE_MODULE = f"{_RPDU2_PHASE}.2"  # rPDU2PhaseStatusModule
RPDU2_PHASE_CURRENT = f"{_RPDU2_PHASE}.5"  # rPDU2PhaseStatusCurrent, tenths of A


def _unit_of(modules: Rows | None, index: Index) -> int:
    """The unit of a flat row: its Module column, or the row itself without the column."""
    if modules:
        return positive_int(modules.get(index), "module")
    (flat,) = index
    return positive_int(flat, "unit")


def rpdu2_units(module_oid: str) -> Labeler:
    """Flat index, one row per unit: ``inlet`` / ``inlet.U.1`` by the Module column."""

    def labeler(table: Table) -> Callable[[Index], str]:
        modules = table.get(module_oid)

        def label(index: Index) -> str:
            return inlet_label(_unit_of(modules, index), 1)

        return label

    return labeler


def _rpdu2_single_phase(table: Table) -> Callable[[Index], str | None]:
    """A unit's only phase row is its inlet's current (the unit in the Module column)."""
    modules = table.get(RPDU2_PHASE_MODULE)
    per_unit = single_phase_current(RPDU2_PHASE_CURRENT, lambda index: _unit_of(modules, index))
    return per_unit(table)


APC_RPDU2 = Metered(
    "apc-rpdu2",
    (
        SwitchedOnly(
            ColumnProfile(
                name="apc-rpdu2",
                watts=Quantity(f"{_RPDU2_METERED}.7", 1),
                amps=Quantity(f"{_RPDU2_METERED}.6", 10),
                energy=Quantity(f"{_RPDU2_METERED}.11", 10),
                labels=by_module_number(f"{_RPDU2_METERED}.2", f"{_RPDU2_METERED}.4"),
                label_columns=(f"{_RPDU2_METERED}.2", f"{_RPDU2_METERED}.4"),
            )
        ),
        ColumnProfile(
            name="apc-rpdu2 inlets",
            watts=Quantity(f"{_RPDU2_DEVICE}.5", 1, factor=10),
            amps=None,
            energy=Quantity(f"{_RPDU2_DEVICE}.9", 10),
            labels=rpdu2_units(RPDU2_DEVICE_MODULE),
            label_columns=(RPDU2_DEVICE_MODULE,),
        ),
        ColumnProfile(
            name="apc-rpdu2 phases",
            watts=None,
            amps=Quantity(RPDU2_PHASE_CURRENT, 10),
            energy=None,
            labels=_rpdu2_single_phase,
            label_columns=(RPDU2_PHASE_MODULE,),
        ),
    ),
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


def _cpdu_profile(name: str, table_oid: str, unit: ColumnProfile) -> Metered:
    outlets = ColumnProfile(
        name=name,
        watts=Quantity(f"{table_oid}.6", 1),  # W
        amps=Quantity(f"{table_oid}.5", 100),  # hundredths of A
        energy=Quantity(f"{table_oid}.11", 10),  # resettable energy, tenths of kWh
        labels=cpdu_labels(f"{table_oid}.2"),
        label_columns=(f"{table_oid}.2",),
    )
    return Metered(name, (outlets, unit))


# NetShelter Advanced / APDU10xxx (cPDU branch). The inlet: pduUnitStatusActivePower (W)
# and pduUnitStatusEnergy (tenths of kWh, lifetime), per unit.
_CPDU_UNIT = "1.3.6.1.4.1.318.1.1.32.2.4.1"
APC_CPDU = _cpdu_profile(
    "apc-cpdu",
    _CPDU_METERED,
    ColumnProfile(
        name="apc-cpdu inlets",
        watts=Quantity(f"{_CPDU_UNIT}.4", 1),
        amps=None,
        energy=Quantity(f"{_CPDU_UNIT}.9", 10),
        labels=inlet_by_unit(),
    ),
)
# Enlogic's ENLOGIC-PDU2-MIB is the same table under its own enterprise number (no
# recording: checked against MIB-FACTS only, which gives the unit's active power, W).
ENLOGIC_PDU = _cpdu_profile(
    "enlogic-pdu",
    "1.3.6.1.4.1.38446.1.5.9.1",
    ColumnProfile(
        name="enlogic-pdu inlets",
        watts=Quantity("1.3.6.1.4.1.38446.1.2.4.1.4", 1),
        amps=None,
        energy=None,
        labels=inlet_by_unit(),
    ),
)

PROFILES = (APC_RPDU, APC_RPDU2, APC_CPDU, ENLOGIC_PDU)
