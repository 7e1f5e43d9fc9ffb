"""ServerTech Sentry3 (CDU) and Sentry4 (PRO1/PRO2) MIBs.

Both index outlets as unit.infeed.outlet; the label is the ID the device itself prints and
reports in its outletID column: tower letter, infeed letter, number (``AB3``). Their inlets
are the infeeds (Sentry3) and input cords (Sentry4), indexed unit.infeed: ``inlet``
(unit 1 infeed 1), ``inlet.N``, ``inlet.U.N``.
"""

from __future__ import annotations

from collections.abc import Callable

from powermond.snmp.profiles._common import ColumnProfile, Index, Quantity, by_letters
from powermond.snmp.profiles._inlet import Metered, inlet_by_unit_number, inlet_label
from powermond.snmp.profiles.base import Table

_SENTRY3_OUTLET = "1.3.6.1.4.1.1718.3.2.3.1"
_SENTRY3_INFEED = "1.3.6.1.4.1.1718.3.2.2.1"
_SENTRY4_OUTLET = "1.3.6.1.4.1.1718.4.1.8.3.1"
_SENTRY4_CORD = "1.3.6.1.4.1.1718.4.1.3.3.1"

SENTRY3 = Metered(
    "sentry3",
    (
        ColumnProfile(
            name="sentry3",
            watts=Quantity(f"{_SENTRY3_OUTLET}.14", 1),  # outletPower, W
            amps=Quantity(f"{_SENTRY3_OUTLET}.7", 100),  # outletLoadValue, hundredths of A
            energy=Quantity(f"{_SENTRY3_OUTLET}.18", 1000),  # outletEnergy, Wh
            labels=by_letters,
        ),
        ColumnProfile(
            name="sentry3 infeeds",
            watts=Quantity(f"{_SENTRY3_INFEED}.12", 1),  # infeedPower, W
            amps=Quantity(f"{_SENTRY3_INFEED}.7", 100),  # infeedLoadValue, hundredths of A
            energy=Quantity(f"{_SENTRY3_INFEED}.16", 10),  # infeedEnergy, tenths of kWh
            labels=inlet_by_unit_number(),
        ),
    ),
)

_SENTRY4_LINE_CURRENT = "1.3.6.1.4.1.1718.4.1.4.3.1.3"  # st4LineCurrent, hundredths of A


def _single_line_cords(table: Table) -> Callable[[Index], str | None]:
    """Index ``U.C.L``: a cord's current is its line's when it has exactly one line; the
    lines of a three-phase cord do not add up to a cord current, so those are skipped."""
    lines: dict[Index, int] = {}
    for index in table.get(_SENTRY4_LINE_CURRENT) or {}:
        lines[index[:2]] = lines.get(index[:2], 0) + 1

    def label(index: Index) -> str | None:
        unit, cord, _line = index
        return inlet_label(unit, cord) if lines[(unit, cord)] == 1 else None

    return label


# The cord table has no current column: a single-phase cord's comes from its line.
SENTRY4 = Metered(
    "sentry4",
    (
        ColumnProfile(
            name="sentry4",
            watts=Quantity(f"{_SENTRY4_OUTLET}.7", 1),  # st4OutletActivePower, W
            amps=Quantity(f"{_SENTRY4_OUTLET}.3", 100),  # st4OutletCurrent, hundredths of A
            energy=Quantity(f"{_SENTRY4_OUTLET}.14", 1000),  # st4OutletEnergy, Wh
            labels=by_letters,
        ),
        ColumnProfile(
            name="sentry4 input cords",
            watts=Quantity(f"{_SENTRY4_CORD}.3", 1),  # st4InputCordActivePower, W
            amps=None,
            energy=Quantity(f"{_SENTRY4_CORD}.10", 10),  # st4InputCordEnergy, tenths of kWh
            labels=inlet_by_unit_number(),
        ),
        ColumnProfile(
            name="sentry4 input cord lines",
            watts=None,
            amps=Quantity(_SENTRY4_LINE_CURRENT, 100),
            energy=None,
            labels=_single_line_cords,
        ),
    ),
)

PROFILES = (SENTRY3, SENTRY4)
