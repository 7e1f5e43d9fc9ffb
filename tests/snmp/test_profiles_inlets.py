"""Synthetic tables for what the recordings of the newer profiles and the inlet meters do not
show: Conteg (no recording), linked units, placeholders, stale rows, multi-phase inputs."""

from __future__ import annotations

import pytest

from powermond.readings import OutletReading
from powermond.snmp.profiles import PROFILES, candidates, get
from powermond.snmp.profiles.base import walks

pytestmark = pytest.mark.timeout(30)


def test_conteg_reads_the_databus_layout_under_28402_with_real_power() -> None:
    base = "1.3.6.1.4.1.28402.12.1.1.2"
    table = {
        f"{base}.7.2.1.11": {(1, 1): 230, (2, 4): 115},  # sdbDevOutMtPowerWatt
        f"{base}.7.2.1.10": {(1, 1): 250, (2, 4): 120},  # VA: never watts
        f"{base}.7.2.1.5": {(1, 1): 105, (2, 4): 50},  # CentiAmpere
        f"{base}.7.2.1.2": {(1, 1): 12, (2, 4): 3},  # kWh
        f"{base}.6.1.1.10": {(1, 1): 345, (2, 1): 115},  # sdbDevInPowerWatt
    }
    decoded = get("conteg").decode(table)
    assert decoded.readings == (
        OutletReading("1", 230.0, 1.05, 12.0),
        OutletReading("2.4", 115.0, 0.5, 3.0),
        OutletReading("inlet", 345.0, None, None),
        OutletReading("inlet.2.1", 115.0, None, None),
    )
    assert candidates("1.3.6.1.4.1.28402.11.1", "")[0][0] == "conteg"
    # The Schleifenbauer profile does not read Conteg's branch.
    assert get("schleifenbauer").decode(table).readings == ()


def test_sentry4_reads_outlets_and_input_cords_together() -> None:
    table = {
        "1.3.6.1.4.1.1718.4.1.8.3.1.7": {(1, 1, 1): 100, (2, 1, 3): 50},
        "1.3.6.1.4.1.1718.4.1.3.3.1.3": {(1, 1): 160, (1, 2): 10, (2, 1): 55},
        "1.3.6.1.4.1.1718.4.1.3.3.1.10": {(1, 1): 123},
    }
    decoded = get("sentry4").decode(table)
    assert [(r.outlet, r.watts, r.energy_kwh) for r in decoded.readings] == [
        ("AA1", 100.0, None),
        ("BA3", 50.0, None),
        ("inlet", 160.0, 12.3),
        ("inlet.2", 10.0, None),  # unit 1, cord B
        ("inlet.2.1", 55.0, None),  # unit 2, cord A
    ]
    assert decoded.warnings == ()


def test_an_inlet_that_reports_nothing_but_minus_one_is_no_reading() -> None:
    device = "1.3.6.1.4.1.318.1.1.26.4.3.1"
    table = {f"{device}.5": {(1,): -1, (2,): 20}, f"{device}.9": {(1,): -1, (2,): -1}}
    decoded = get("apc-rpdu2").decode(table)
    assert decoded.readings == (OutletReading("inlet.2.1", 200.0, None, None),)


def test_switched_only_needs_both_the_zero_count_and_zero_outlets() -> None:
    load = "1.3.6.1.4.1.318.1.1.12.3.5.1.1.7"
    count = "1.3.6.1.4.1.318.1.1.26.4.2.1.6"
    zeros = {(1,): 0, (2,): 0}
    assert get("apc-rpdu").decode({load: zeros, count: {(1,): 0}}).notes
    metered = get("apc-rpdu").decode({load: zeros, count: {(1,): 2}})
    assert [r.outlet for r in metered.readings] == ["1", "2"]
    loaded = get("apc-rpdu").decode({load: {(1,): 0, (2,): 7}, count: {(1,): 0}})
    assert [r.amps for r in loaded.readings] == [0.0, 0.7]
    assert loaded.notes == ()
    # A gen 1 unit has no count: its zeros are readings.
    assert len(get("apc-rpdu").decode({load: zeros}).readings) == 2


def test_hpe_pdu3_keeps_a_named_idle_outlet_and_skips_nul_rows() -> None:
    base = "1.3.6.1.4.1.232.165.11.5.1.1"
    table = {
        f"{base}.2": {(1, 1): b"OUTLET 1", (1, 2): b"", (1, 3): b"\0\0\0\0"},
        f"{base}.16": {(1, 1): 0, (1, 2): 0, (1, 3): 0},
        f"{base}.13": {(1, 1): 0, (1, 2): 0, (1, 3): 0},
    }
    assert [r.outlet for r in get("hpe-pdu").decode(table).readings] == ["1", "2"]


def test_eaton_input_with_several_phase_rows_is_not_read_as_the_total() -> None:
    watts = "1.3.6.1.4.1.534.6.6.7.3.4.1.4"
    table = {watts: {(0, 1, 1): 100, (0, 1, 2): 110, (1, 1, 1): 300}}
    decoded = get("eaton-epdu").decode(table)
    assert decoded.readings == (OutletReading("inlet.2.1", 300.0, None, None),)
    assert len(decoded.warnings) == 2
    assert all("several power rows" in w for w in decoded.warnings)


def test_eaton_multi_phase_input_reads_its_input_total() -> None:
    """A three-phase input 0.1 (phase rows 1..3) and a single-phase input 0.2: the first
    from inputTotalPowerTable, the second from its one inputPowerTable row."""
    base = "1.3.6.1.4.1.534.6.6.7.3"
    table = {
        f"{base}.4.1.4": {(0, 1, 1): 300, (0, 1, 2): 310, (0, 1, 3): 290, (0, 2, 1): 120},
        f"{base}.4.1.5": {(0, 1, 1): 1000, (0, 1, 2): 1100, (0, 1, 3): 900, (0, 2, 1): 500},
        f"{base}.3.1.4": {(0, 1, 1): 1300, (0, 1, 2): 1350, (0, 1, 3): 1250, (0, 2, 1): 520},
        f"{base}.5.1.4": {(0, 1): 900, (0, 2): 119},  # inputTotalWatts
        f"{base}.5.1.5": {(0, 1): 3000, (0, 2): 499},  # inputTotalWh
    }
    decoded = get("eaton-epdu").decode(table)
    assert decoded.readings == (
        OutletReading("inlet.2", 120.0, 0.52, 0.5),  # single phase: its own row
        OutletReading("inlet", 900.0, None, 3.0),  # phase currents add up to no input current
    )
    assert decoded.warnings == ()


def test_chatsworth_linked_pdus_are_units_in_mac_order() -> None:
    current = "1.3.6.1.4.1.30932.1.10.1.4.10.1.6"
    first, second = b"000ED300AD21", b"000ED3013C4D"
    table = {current: {(2, 12, *second): 150, (1, 12, *first): 25, (3, 11, *first[:11]): 1}}
    decoded = get("cpi-pdu").decode(table)
    assert [(r.outlet, r.amps) for r in decoded.readings] == [("1", 0.25), ("2.2", 1.5)]
    assert len(decoded.warnings) == 1
    assert "row 3.11" in decoded.warnings[0]


def test_aten_reads_a_real_outlet_missing_one_value() -> None:
    base = "1.3.6.1.4.1.21317.1.3.2.2.2.2.99.1"
    table = {
        f"{base}.2": {(1,): 500, (2,): -2_000_000},
        f"{base}.4": {(1,): -2_000_000, (2,): -2_000_000},
    }
    decoded = get("aten-pdu").decode(table)
    assert decoded.readings == (OutletReading("1", None, 0.5, None),)
    assert decoded.warnings == ()  # -2000000 is the MIB's "not supported"


def test_gude_channel_without_valid_data_is_skipped_with_a_warning() -> None:
    base = "1.3.6.1.4.1.28507.81.1.5.1.2.1"
    table = {f"{base}.2": {(1,): 0, (2,): 1}, f"{base}.4": {(1,): 18, (2,): 40}}
    decoded = get("gude-epc").decode(table)
    assert decoded.readings == (OutletReading("inlet.2", 40.0, None, None),)
    assert "data not active" in decoded.warnings[0]


def test_rnx_stale_meter_rows_are_skipped() -> None:
    base = "1.3.6.1.4.1.55108.1.3.1.1"
    table = {
        f"{base}.3": {(0, 0): 0, (0, 1): 2, (1, 0): 4, (1, 1): 6, (1, 2): 6},
        f"{base}.15": {(1, 2): 1},
        f"{base}.7": {(0, 0): 90, (0, 1): 90, (1, 0): 90, (1, 1): 60, (1, 2): 30},
    }
    decoded = get("rnx-updu").decode(table)
    assert [(r.outlet, r.watts) for r in decoded.readings] == [("1", 60.0), ("inlet", 90.0)]
    assert "data quality 1" in decoded.warnings[0]


def test_vertiv_outlet_meters_when_the_unit_has_them() -> None:
    table = {
        "1.3.6.1.4.1.21239.5.2.3.6.1.12": {(1,): 120, (2,): 80},
        "1.3.6.1.4.1.21239.5.2.3.6.1.8": {(1,): 52},
        "1.3.6.1.4.1.21239.5.2.3.1.1.9": {(1,): 210},
    }
    decoded = get("vertiv-pdu").decode(table)
    assert decoded.readings == (
        OutletReading("1", 120.0, 0.52, None),
        OutletReading("2", 80.0, None, None),
        OutletReading("inlet", 210.0, None, None),
    )


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_walk_groups_cover_the_columns_and_keep_the_outlet_table_first(name: str) -> None:
    profile = get(name)
    groups = walks(profile)
    flat = [c for group in groups for c in group]
    assert sorted(flat) == sorted(profile.columns)
    assert len(flat) == len(set(flat))


def test_an_inlet_total_is_not_walked_with_the_outlet_table() -> None:
    outlets, inlets = walks(get("apc-rpdu2"))
    assert "1.3.6.1.4.1.318.1.1.26.9.4.3.1.7" in outlets
    assert set(inlets) == {
        "1.3.6.1.4.1.318.1.1.26.4.2.1.6",  # NumMeteredOutlets
        "1.3.6.1.4.1.318.1.1.26.4.3.1.5",  # rPDU2DeviceStatusPower
        "1.3.6.1.4.1.318.1.1.26.4.3.1.9",  # rPDU2DeviceStatusEnergy
        "1.3.6.1.4.1.318.1.1.26.4.3.1.2",  # rPDU2DeviceStatusModule
        "1.3.6.1.4.1.318.1.1.26.6.3.1.5",  # rPDU2PhaseStatusCurrent
        "1.3.6.1.4.1.318.1.1.26.6.3.1.2",  # rPDU2PhaseStatusModule
    }


def test_wti_plugs_are_labelled_by_the_plug_id_the_device_prints() -> None:
    plug = "1.3.6.1.4.1.2634.3.100.200.1"
    power = {(1,): 10, (2,): 20, (3,): 30}
    ids = {(1,): b"LOCAL - A1", (2,): b"LOCAL - B12\0", (3,): b"A1 and more"}
    decoded = get("wti-pdu").decode({f"{plug}.8": power, f"{plug}.2": ids})
    assert [(r.outlet, r.watts) for r in decoded.readings] == [("A1", 10.0), ("B12", 20.0)]
    assert decoded.warnings == ("row 3: plugID 'A1 and more' is not 'SITE - A1'; skipped",)
    # Without the plugID column the row number is all there is.
    bare = get("wti-pdu").decode({f"{plug}.8": power})
    assert [r.outlet for r in bare.readings] == ["1", "2", "3"]


def test_aten_device_total_is_the_inlet_and_banks_are_not_read() -> None:
    device = "1.3.6.1.4.1.21317.1.3.2.2.2.1.99.1"
    bank = "1.3.6.1.4.1.21317.1.3.2.2.2.3.99.1"
    outlet = "1.3.6.1.4.1.21317.1.3.2.2.2.2.99.1"
    table = {
        f"{outlet}.4": {(1,): 118_332},
        f"{device}.2": {(1,): 2460},  # deviceIntegerCurrent x1000
        f"{device}.4": {(1,): 516_810},  # deviceIntegerPower x1000
        f"{bank}.4": {(1,): 300_000, (2,): 216_810},  # bankIntegerPower: subtotals
    }
    profile = get("aten-pdu")
    assert f"{bank}.4" not in profile.columns
    decoded = profile.decode(table)
    assert decoded.readings == (
        OutletReading("1", 118.332, None, None),
        OutletReading("inlet", 516.81, 2.46, None),
    )
    unsupported = {f"{device}.2": {(1,): -2_000_000}, f"{device}.4": {(1,): -2_000_000}}
    assert profile.decode({**table, **unsupported}).readings[1:] == ()


def test_apc_inlet_current_is_the_single_phase_row_never_a_bank_or_three_phases() -> None:
    load, bank = "1.3.6.1.4.1.318.1.1.12.2.3.1.1.2", "1.3.6.1.4.1.318.1.1.12.2.3.1.1.5"
    total = {"1.3.6.1.4.1.318.1.1.12.1.16": {(0,): 900}}
    single = {load: {(1,): 40, (2,): 25, (3,): 15}, bank: {(1,): 0, (2,): 1, (3,): 2}}
    decoded = get("apc-rpdu").decode({**total, **single})
    assert decoded.readings == (OutletReading("inlet", 900.0, 4.0, None),)
    three = {load: {(1,): 40, (2,): 25, (3,): 15}, bank: {(1,): 0, (2,): 0, (3,): 0}}
    assert get("apc-rpdu").decode({**total, **three}).readings == (
        OutletReading("inlet", 900.0, None, None),
    )


def test_apc_rpdu2_inlets_follow_the_module_column_with_one_phase_each() -> None:
    device, phase = "1.3.6.1.4.1.318.1.1.26.4.3.1", "1.3.6.1.4.1.318.1.1.26.6.3.1"
    table = {
        f"{device}.2": {(1,): 1, (2,): 3},  # rPDU2DeviceStatusModule: units 1 and 3
        f"{device}.5": {(1,): 12, (2,): 7},  # hundredths of kW
        f"{phase}.2": {(1,): 1, (2,): 3, (3,): 3, (4,): 3},  # unit 3 is three-phase
        f"{phase}.5": {(1,): 52, (2,): 10, (3,): 11, (4,): 12},  # tenths of A
    }
    decoded = get("apc-rpdu2").decode(table)
    assert decoded.readings == (
        OutletReading("inlet", 120.0, 5.2, None),
        OutletReading("inlet.3.1", 70.0, None, None),
    )
    assert decoded.warnings == ()


def test_phase_current_is_the_inlet_current_only_for_a_single_phase_unit() -> None:
    vertiv_total, vertiv_phase = "1.3.6.1.4.1.21239.5.2.3.1.1.9", "1.3.6.1.4.1.21239.5.2.3.2.1.8"
    one = get("vertiv-pdu").decode({vertiv_total: {(1,): 230}, vertiv_phase: {(1,): 104}})
    assert one.readings == (OutletReading("inlet", 230.0, 1.04, None),)
    three = {vertiv_phase: {(1,): 95, (2,): 187, (3,): 170}}
    assert get("vertiv-pdu").decode({vertiv_total: {(1,): 1017}, **three}).readings == (
        OutletReading("inlet", 1017.0, None, None),
    )
    # HPE pdu2, units 0 and 1 (inlet, inlet.2.1): unit 0 single-phase, unit 1 two phases.
    watts, phase = "1.3.6.1.4.1.232.165.7.2.1.1.5", "1.3.6.1.4.1.232.165.7.2.2.1.11"
    table = {watts: {(0,): 97, (1,): 400}, phase: {(0, 1): 535, (1, 1): 900, (1, 2): 950}}
    assert get("hpe-pdu2").decode(table).readings == (
        OutletReading("inlet", 97.0, 0.535, None),
        OutletReading("inlet.2.1", 400.0, None, None),
    )
