"""Vertiv/Geist VERTIV-V5-MIB: the PDU totals (pduMainTable, index pduMainIndex) are the
inlet; outlets come from pduOutletMeterTable where the unit meters them (Rec MG02E4W1 does
not). The totals have no current column, only per phase (pduPhaseCurrent, centiamps): the
inlet gets the current of a PDU with a single phase row; the three phases of Rec MG02E4W1
add up to no inlet current, so its inlet gives W and kWh.
"""

from __future__ import annotations

from powermond.snmp.profiles._common import ColumnProfile, Quantity, by_outlet_index
from powermond.snmp.profiles._inlet import Metered, inlet_by_unit, single_phase_current

_MAIN = "1.3.6.1.4.1.21239.5.2.3.1.1"  # pduMainEntry
_OUTLET_METER = "1.3.6.1.4.1.21239.5.2.3.6.1"  # pduOutletMeterEntry
PHASE_CURRENT = "1.3.6.1.4.1.21239.5.2.3.2.1.8"  # pduPhaseCurrent, centiamps

VERTIV_PDU = Metered(
    "vertiv-pdu",
    (
        ColumnProfile(
            name="vertiv-pdu",
            watts=Quantity(f"{_OUTLET_METER}.12", 1),  # pduOutletMeterRealPower, W
            amps=Quantity(f"{_OUTLET_METER}.8", 100),  # pduOutletMeterCurrent, centiamps
            energy=Quantity(f"{_OUTLET_METER}.15", 1000),  # pduOutletMeterEnergy, Wh
            labels=by_outlet_index,
        ),
        ColumnProfile(
            name="vertiv-pdu totals",
            watts=Quantity(f"{_MAIN}.9", 1),  # pduTotalRealPower, W
            amps=None,
            energy=Quantity(f"{_MAIN}.12", 1000),  # pduTotalEnergy, Wh
            labels=inlet_by_unit(),
        ),
        ColumnProfile(
            name="vertiv-pdu phases",
            watts=None,
            amps=Quantity(PHASE_CURRENT, 100),
            energy=None,
            labels=single_phase_current(PHASE_CURRENT, lambda _index: 1),
        ),
    ),
)

PROFILES = (VERTIV_PDU,)
