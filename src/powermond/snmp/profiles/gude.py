"""Gude GUDEADS-EPC8031-MIB (Expert Power Control 8031): the power channel table is the
PDU's inlet meter (one channel on the 8031); its ports are switched, not metered.

Each Gude model has its own MIB branch (28507.<model>); this profile reads the 8031's.
A channel whose status says "data not active" is skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from powermond.snmp.profiles._common import ColumnProfile, Index, Quantity
from powermond.snmp.profiles._inlet import Metered, inlet_label
from powermond.snmp.profiles.base import Table

_CHANNEL = "1.3.6.1.4.1.28507.81.1.5.1.2.1"  # epc8031PowerEntry
STATUS = f"{_CHANNEL}.2"  # epc8031ChanStatus: 0 = data not active, 1 = data valid
DATA_VALID = 1


def _labels(table: Table) -> Callable[[Index], str]:
    status = table.get(STATUS) or {}

    def label(index: Index) -> str:
        (channel,) = index
        if status.get(index, DATA_VALID) != DATA_VALID:
            raise ValueError(f"channel status {status.get(index)!r} (data not active)")
        return inlet_label(1, channel)

    return label


GUDE_EPC = Metered(
    "gude-epc",
    (
        ColumnProfile(
            name="gude-epc channels",
            watts=Quantity(f"{_CHANNEL}.4", 1),  # epc8031PowerActive, W
            amps=Quantity(f"{_CHANNEL}.5", 1000),  # epc8031Current, mA
            energy=Quantity(f"{_CHANNEL}.3", 1000),  # epc8031AbsEnergyActive, Wh
            labels=_labels,
            label_columns=(STATUS,),
        ),
    ),
)

PROFILES = (GUDE_EPC,)
