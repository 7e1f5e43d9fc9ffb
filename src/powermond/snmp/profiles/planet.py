"""PLANET DIGIPDU-MIB (IPM-8220): outTable and inFeedTable, each indexed 1..N.

Current is in tenths of A ("In tenths of amps, divide by 10 for value in amps"). Power
(outPowerLoad, inFeedPowerLoad: "Actual value of power in the Outlet" / "in the Input
Feed") has no unit in the MIB; it is read as whole watts, settled so:

- the MIB states the scale wherever a column is scaled (every current and threshold says
  "In tenths of amps"), and its unscaled columns are whole units: the voltages read 231 on
  a 230 V feed (Rec IPM-8220 inFeedVoltage and every outVoltage);
- Rec IPM-8220's input feed draws 6 at 231 V with a current of 0 tenths of A (below
  0.05 A): active power is at most V x I < 231 x 0.05 = 11.6 VA, so a count is at most
  1.9 W. Whole watts fit (6 W, a networked PDU's own draw with 6 relays on); tens of watts
  or hundredths of kW (60 W would draw 0.26 A, read as 3 tenths) cannot.

The input feed's energy (inFeedPowerEnergy) has no unit and no row in Rec; it is not read.
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
