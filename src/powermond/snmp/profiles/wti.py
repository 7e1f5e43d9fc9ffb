"""WTI WTI-POWER-MIB: plugTable, index plugIndex; the system totals are the inlet.

Plugs are labelled as the device prints them: its plugID column (``LOCAL - B3``, SYNTAX
DisplayString (SIZE(9..11))) names the site (``LOCAL``, the unit answering) and the plug
(``B3``: plug 3 of branch B), and the label is the plug part, ``B3``. The MIB's plugIndex
(1..N) is only the row: Rec VMR-8HD20 prints A1..A4, B1..B4 on rows 1..8. A device that
lacks the plugID column is labelled by plugIndex. The MIB gives the total power no unit:
W by the data (plugs 163 + 93 = 256 W = environmentSystemTotalPower). There is no energy
counter, only a monthly log string. The branch A/B totals are subtotals of the system
total and are not read (they would count the same power twice).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from powermond.devtext import device_text
from powermond.snmp.profiles._common import ColumnProfile, Index, Quantity, unit_label
from powermond.snmp.profiles._inlet import Metered, inlet_scalar
from powermond.snmp.profiles.base import Table

_PLUG = "1.3.6.1.4.1.2634.3.100.200.1"  # plugEntry
PLUG_ID = f"{_PLUG}.2"  # plugID, "LOCAL - A1"
_ENVIRONMENT = "1.3.6.1.4.1.2634.3.200"
_PLUG_ID = re.compile(r"^(?:\S+ - )?([A-Z]\d{1,2})$")


def plug_labels(table: Table) -> Callable[[Index], str]:
    """The plug part of plugID (``LOCAL - B3`` -> ``B3``); plugIndex without the column."""
    ids = table.get(PLUG_ID)

    def label(index: Index) -> str:
        (plug,) = index
        if not ids:
            return unit_label(1, plug)
        raw = ids.get(index)
        text = device_text(raw) if isinstance(raw, bytes) else None
        match = _PLUG_ID.match(text.strip()) if text is not None else None
        if match is None:
            raise ValueError(f"plugID {device_text(raw)!r} is not 'SITE - A1'")
        return match[1]

    return label


WTI_PDU = Metered(
    "wti-pdu",
    (
        ColumnProfile(
            name="wti-pdu",
            watts=Quantity(f"{_PLUG}.8", 1),  # plugPower, W
            amps=Quantity(f"{_PLUG}.7", 10),  # plugCurrent, tenths of A
            energy=None,
            labels=plug_labels,
            label_columns=(PLUG_ID,),
        ),
        ColumnProfile(
            name="wti-pdu system total",
            watts=Quantity(f"{_ENVIRONMENT}.70", 1),  # environmentSystemTotalPower
            amps=Quantity(f"{_ENVIRONMENT}.60", 10),  # environmentSystemTotalCurrent
            energy=None,
            labels=inlet_scalar,
        ),
    ),
)

PROFILES = (WTI_PDU,)
