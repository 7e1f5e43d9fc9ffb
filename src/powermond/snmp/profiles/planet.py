"""PLANET DIGIPDU-MIB (IPM-8220): outTable and inFeedTable, each indexed 1..N.

Current is in tenths of A. The MIB gives power no unit ("Actual value of power"); it is
read as W (Rec IPM-8220 has 0 on every outlet, so the data cannot confirm it). The input
feed's energy has no unit either and is not read.
"""

from __future__ import annotations

from powermond.snmp.profiles._common import ColumnProfile, Quantity, by_outlet_index
from powermond.snmp.profiles._inlet import Metered, inlet_by_number

_OUT = "1.3.6.1.4.1.10456.3.3.3.1"  # outEntry
_IN_FEED = "1.3.6.1.4.1.10456.3.3.2.1"  # inFeedEntry

PLANET_PDU = Metered(
    "planet-pdu",
    (
        ColumnProfile(
            name="planet-pdu",
            watts=Quantity(f"{_OUT}.9", 1),  # outPowerLoad
            amps=Quantity(f"{_OUT}.7", 10),  # outCurrent, tenths of A
            energy=None,
            labels=by_outlet_index,
        ),
        ColumnProfile(
            name="planet-pdu input feeds",
            watts=Quantity(f"{_IN_FEED}.6", 1),  # inFeedPowerLoad
            amps=Quantity(f"{_IN_FEED}.5", 10),  # inFeedCurrent, tenths of A
            energy=None,
            labels=inlet_by_number,
        ),
    ),
)

PROFILES = (PLANET_PDU,)
