"""ServerTech Sentry3 (CDU) and Sentry4 (PRO1/PRO2) MIBs.

Both index outlets as unit.infeed.outlet; the label is the ID the device itself prints and
reports in its outletID column: tower letter, infeed letter, number (``AB3``). Their inlets
are the infeeds (Sentry3) and input cords (Sentry4), indexed unit.infeed: ``inlet``
(unit 1 infeed 1), ``inlet.N``, ``inlet.U.N``.
"""

from __future__ import annotations

from powermond.snmp.profiles._common import ColumnProfile, Quantity, by_letters
from powermond.snmp.profiles._inlet import Metered, inlet_by_unit_number

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

# The cord table has no current column (only per line), so cords give watts and energy.
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
    ),
)

PROFILES = (SENTRY3, SENTRY4)
