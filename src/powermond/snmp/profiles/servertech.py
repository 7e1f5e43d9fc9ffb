"""ServerTech Sentry3 (CDU) and Sentry4 (PRO1/PRO2) MIBs.

Both index outlets as unit.infeed.outlet; the label is the ID the device itself prints and
reports in its outletID column: tower letter, infeed letter, number (``AB3``).
"""

from __future__ import annotations

from powermond.snmp.profiles._common import ColumnProfile, Quantity, by_letters

_SENTRY3_OUTLET = "1.3.6.1.4.1.1718.3.2.3.1"
_SENTRY4_OUTLET = "1.3.6.1.4.1.1718.4.1.8.3.1"

SENTRY3 = ColumnProfile(
    name="sentry3",
    watts=Quantity(f"{_SENTRY3_OUTLET}.14", 1),  # outletPower, W
    amps=Quantity(f"{_SENTRY3_OUTLET}.7", 100),  # outletLoadValue, hundredths of A
    energy=Quantity(f"{_SENTRY3_OUTLET}.18", 1000),  # outletEnergy, Wh
    labels=by_letters,
)

SENTRY4 = ColumnProfile(
    name="sentry4",
    watts=Quantity(f"{_SENTRY4_OUTLET}.7", 1),  # st4OutletActivePower, W
    amps=Quantity(f"{_SENTRY4_OUTLET}.3", 100),  # st4OutletCurrent, hundredths of A
    energy=Quantity(f"{_SENTRY4_OUTLET}.14", 1000),  # st4OutletEnergy, Wh
    labels=by_letters,
)

PROFILES = (SENTRY3, SENTRY4)
