"""Dell DellrPDU-MIB: the APC rPDU layout under Dell's enterprise number (674).

Rec DELL6606: flat index 1..24 without the Number column, outlet current in whole amps.
The inlet: rPDUDeviceStatusPower / Energy, and the current of the unit's phase when the
phase table (rPDUPhaseStatusCurrent, "in tenths of Amps") has a single row (a single-phase
unit; Rec: 193, 19.3 A). Several phase rows add up to no inlet current and are not read.
"""

from __future__ import annotations

from collections.abc import Callable

from powermond.snmp.profiles._common import ColumnProfile, Index, Labeler, Quantity, positive_int
from powermond.snmp.profiles._inlet import Metered, inlet_by_unit, single_phase_current
from powermond.snmp.profiles.base import Table

_METERED = "1.3.6.1.4.1.674.10903.200.2.200.130.2.2.1"  # rPDUOutletMeteredStatusEntry
_DEVICE = "1.3.6.1.4.1.674.10903.200.2.200.110.2.1"  # rPDUDeviceStatusEntry
PHASE_CURRENT = "1.3.6.1.4.1.674.10903.200.2.200.120.2.1.4"  # rPDUPhaseStatusCurrent


def by_number_column(number_oid: str) -> Labeler:
    """Flat index; the Number column, where the device has it, is the outlet number."""

    def labeler(table: Table) -> Callable[[Index], str]:
        numbers = table.get(number_oid)

        def label(index: Index) -> str:
            (flat,) = index
            number = positive_int(numbers.get(index), "outlet number") if numbers else flat
            return str(positive_int(number, "outlet"))

        return label

    return labeler


DELL_RPDU = Metered(
    "dell-rpdu",
    (
        ColumnProfile(
            name="dell-rpdu",
            # The MIB gives the power no unit; W by the data (Σ outlets ≈ device power).
            watts=Quantity(f"{_METERED}.8", 1),
            amps=Quantity(f"{_METERED}.6", 1),  # "in Amps": whole amps
            energy=Quantity(f"{_METERED}.7", 1),  # "in kilowatt-hours"
            labels=by_number_column(f"{_METERED}.2"),
            label_columns=(f"{_METERED}.2",),
        ),
        ColumnProfile(
            name="dell-rpdu inlets",
            watts=Quantity(f"{_DEVICE}.3", 1, factor=10),  # "in 1/100 of KWatts"
            amps=None,
            energy=Quantity(f"{_DEVICE}.4", 10),  # "in tenths of kilowatt-hours"
            labels=inlet_by_unit(),
        ),
        ColumnProfile(
            name="dell-rpdu phase",
            watts=None,
            amps=Quantity(PHASE_CURRENT, 10),  # "in tenths of Amps"
            energy=None,
            labels=single_phase_current(PHASE_CURRENT, lambda _index: 1),
        ),
    ),
)

PROFILES = (DELL_RPDU,)
