"""Vendor profiles against every real recording, plus synthetic tables for what they lack.

Expected values (expected_recordings.py) are written from shared/snmprec/MIB-FACTS.md,
SOURCES.md and the raw recording lines (raw value and MIB scaling worked out by hand),
never from decode output.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import snmprec
from expected_recordings import CASES, DETECTED, FAMILIES, Expected

from powermond.inventory.model import PduConfig, normalize_outlet_label
from powermond.readings import OutletReading
from powermond.snmp.profiles import (
    PROFILES,
    Decoded,
    candidates,
    choose,
    get,
    make_profile,
    oid_profile,
    profile_names,
)

pytestmark = pytest.mark.timeout(60)

W, A, KWH = "watts", "amps", "energy_kwh"


def _is_inlet(label: str) -> bool:
    return label == "inlet" or label.startswith("inlet.")


def _records(snmprec_dir: Path, name: str) -> dict[str, snmprec.Value]:
    return snmprec.parse(snmprec_dir / f"{name}.snmprec")


def _decode(records: dict[str, snmprec.Value], profile_name: str) -> Decoded:
    profile = get(profile_name)
    return profile.decode(snmprec.table(records, profile.columns))


def test_every_recording_has_a_case(snmprec_dir: Path) -> None:
    files = {path.stem for path in snmprec_dir.glob("*.snmprec")}
    assert files == set(DETECTED)
    assert {case.file for case in CASES} == files - {"apc_epdu1116s-easy-pdu"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file}:{c.profile}")
def test_recording_decodes_to_documented_values(snmprec_dir: Path, case: Expected) -> None:
    decoded = _decode(_records(snmprec_dir, case.file), case.profile)
    outlets = [r for r in decoded.readings if not _is_inlet(r.outlet)]
    inlets = {r.outlet: r for r in decoded.readings if _is_inlet(r.outlet)}
    by_label = {r.outlet: r for r in outlets}

    assert [r.outlet for r in outlets] == case.labels
    for label, values in case.outlets.items():
        for quantity, value in values.items():
            assert getattr(by_label[label], quantity) == pytest.approx(value), (label, quantity)
    for quantity, column in case.columns.items():
        got = [getattr(r, quantity) for r in outlets]
        assert got == pytest.approx(column), quantity
    for quantity in case.absent:
        assert all(getattr(r, quantity) is None for r in outlets), quantity
    if case.watts_sum is not None:
        assert sum(r.watts or 0 for r in outlets) == pytest.approx(case.watts_sum)
    assert set(inlets) == set(case.inlets)
    for label, values in case.inlets.items():
        for quantity, value in values.items():
            got = getattr(inlets[label], quantity)
            assert got == (None if value is None else pytest.approx(value)), (label, quantity)
    assert decoded.notes == case.notes
    assert decoded.warnings == ()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file}:{c.profile}")
def test_labels_are_normalized_outlet_labels(snmprec_dir: Path, case: Expected) -> None:
    decoded = _decode(_records(snmprec_dir, case.file), case.profile)
    for reading in decoded.readings:
        assert normalize_outlet_label(reading.outlet) == reading.outlet


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file}:{c.profile}")
def test_other_vendors_profiles_give_no_readings(snmprec_dir: Path, case: Expected) -> None:
    records = _records(snmprec_dir, case.file)
    family = next(f for f in FAMILIES if case.profile in f)
    for name in set(PROFILES) - family:
        decoded = _decode(records, name)
        assert decoded.readings == (), name
        assert decoded.notes == (), name
        assert decoded.warnings, name


def test_every_profile_is_in_a_family() -> None:
    assert set().union(*FAMILIES) == set(PROFILES)


@pytest.mark.parametrize(("file", "expected"), DETECTED.items())
def test_candidates_rank_the_right_profile_first(
    snmprec_dir: Path, file: str, expected: tuple[str, str | None]
) -> None:
    records = _records(snmprec_dir, file)
    ranked = candidates(snmprec.sys_object_id(records), snmprec.sys_descr(records))
    first, answering = expected

    assert ranked[0][0] == first
    assert all(reason for _, reason in ranked)
    # The probe contract: walk candidates in order; outlets beat inlets beat nothing.
    found = choose((name, _decode(records, name)) for name, _ in ranked)
    assert (found[0] if found else None) == answering


def test_choose_prefers_outlets_then_inlets_then_a_note() -> None:
    outlet = Decoded((OutletReading("1", 1.0, None, None),))
    inlet = Decoded((OutletReading("inlet", 5.0, None, None),))
    note = Decoded((), (), ("switched, not metered per outlet",))
    nothing = Decoded((), ("no rows",))
    assert choose([("a", nothing), ("b", note), ("c", inlet), ("d", outlet)]) == ("d", outlet)
    assert choose([("a", nothing), ("b", note), ("c", inlet)]) == ("c", inlet)
    assert choose([("a", nothing), ("b", note)]) == ("b", note)
    assert choose([("a", nothing)]) is None
    amps_only = Decoded((OutletReading("inlet", None, 1.6, None),))
    assert choose([("a", amps_only), ("b", inlet)]) == ("b", inlet)
    assert choose([("a", amps_only), ("b", note)]) == ("a", amps_only)
    walked: list[str] = []

    def lazily() -> Iterator[tuple[str, Decoded]]:
        for name, decoded in [("a", inlet), ("b", outlet), ("c", outlet)]:
            walked.append(name)
            yield name, decoded

    assert choose(lazily()) == ("b", outlet)
    assert walked == ["a", "b"]  # stops at the first that yields outlets


def test_candidates_for_an_unknown_device_offer_every_profile() -> None:
    ranked = candidates("1.3.6.1.4.1.99999.1", "Some Other Box")
    assert [name for name, _ in ranked] == list(PROFILES)


def test_candidates_use_sys_descr_when_the_object_id_is_unknown() -> None:
    ranked = candidates("", "Raritan Dominion PX - Firmware Version 010507")
    assert ranked[0][0] == "raritan-px1"
    assert ".13742.4" not in ranked[0][1]


# ---- synthetic tables: what the recordings do not show -------------------------------

EATON_W = "1.3.6.1.4.1.534.6.6.7.6.5.1.3"
EATON_A = "1.3.6.1.4.1.534.6.6.7.6.4.1.3"
EATON_WH = "1.3.6.1.4.1.534.6.6.7.6.5.1.4"


def test_bad_values_become_none_with_a_warning_naming_outlet_and_column() -> None:
    table = {
        EATON_W: {(0, 1): -1, (0, 2): b"120", (0, 3): 250_000, (0, 4): 100, (0, 5): None},
        EATON_A: {(0, 1): -1, (0, 2): 500, (0, 3): -7, (0, 4): "1.5.6", (0, 5): 1000},
        EATON_WH: {(0, 1): 1000},
    }
    decoded = get("eaton-epdu").decode(table)

    assert decoded.readings == (
        OutletReading("1", None, None, 1.0),  # -1 is the MIB's "not supported": quiet
        OutletReading("2", None, 0.5, None),
        OutletReading("3", None, None, None),
        OutletReading("4", 100.0, None, None),
        OutletReading("5", None, 1.0, None),  # None is noSuchInstance: quiet
    )
    assert len(decoded.warnings) == 4
    expected = [("2", EATON_W, "'120'"), ("3", EATON_W, "250000"), ("3", EATON_A, "-7")]
    expected.append(("4", EATON_A, "'1.5.6'"))
    for (outlet, column, raw), warning in zip(expected, decoded.warnings, strict=True):
        assert f"outlet {outlet}:" in warning
        assert column in warning
        assert raw in warning
        assert "b'" not in warning  # device text is shown as text, not as Python bytes


def test_eaton_strapping_index_counts_units_from_zero() -> None:
    table = {EATON_W: {(0, 5): 10, (1, 5): 20, (2, 1): 30}}
    labels = [r.outlet for r in get("eaton-epdu").decode(table).readings]
    assert labels == ["5", "2.5", "3.1"]


RPDU2 = "1.3.6.1.4.1.318.1.1.26.9.4.3.1"


def test_rpdu2_daisy_chain_labels_come_from_module_and_number_columns() -> None:
    table = {
        f"{RPDU2}.2": {(1,): 1, (2,): 1, (3,): 2, (4,): 2},
        f"{RPDU2}.4": {(1,): 1, (2,): 2, (3,): 1, (4,): 2},
        f"{RPDU2}.7": {(1,): 10, (2,): 20, (3,): 30, (4,): 40},
        f"{RPDU2}.6": {(1,): 1, (2,): 2, (3,): 3, (4,): 4},
    }
    decoded = get("apc-rpdu2").decode(table)
    assert [(r.outlet, r.watts, r.amps) for r in decoded.readings] == [
        ("1", 10, 0.1),
        ("2", 20, 0.2),
        ("2.1", 30, 0.3),
        ("2.2", 40, 0.4),
    ]
    assert decoded.warnings == ()


def test_rpdu2_rows_with_a_bad_module_or_a_repeated_outlet_are_skipped() -> None:
    table = {
        f"{RPDU2}.2": {(1,): 1, (2,): b"x", (3,): 1},
        f"{RPDU2}.4": {(1,): 1, (2,): 2, (3,): 1},
        f"{RPDU2}.7": {(1,): 10, (2,): 20, (3,): 30},
    }
    decoded = get("apc-rpdu2").decode(table)
    assert [r.outlet for r in decoded.readings] == ["1"]
    assert len(decoded.warnings) == 2
    assert "row 2" in decoded.warnings[0]
    assert "module" in decoded.warnings[0]
    assert "row 3" in decoded.warnings[1]
    assert "twice" in decoded.warnings[1]


CPDU = "1.3.6.1.4.1.318.1.1.32.5.9.1"


def test_cpdu_second_unit_and_placeholders() -> None:
    table = {
        f"{CPDU}.2": {(1, 1): 1, (2, 3): 3, (2, 4): 0},
        f"{CPDU}.6": {(1, 1): 5, (2, 3): 7, (2, 4): 0},
    }
    assert [r.outlet for r in get("apc-cpdu").decode(table).readings] == ["1", "2.3"]


def test_enlogic_reads_the_cpdu_layout_under_its_own_branch() -> None:
    base = "1.3.6.1.4.1.38446.1.5.9.1"
    table = {f"{base}.2": {(1, 1): 1, (1, 2): 0}, f"{base}.6": {(1, 1): 57, (1, 2): 0}}
    table[f"{base}.5"] = {(1, 1): 28}
    decoded = get("enlogic-pdu").decode(table)
    assert decoded.readings == (OutletReading("1", 57.0, 0.28, None),)
    assert candidates("1.3.6.1.4.1.38446", "")[0][0] == "enlogic-pdu"


RARITAN_VALUE = "1.3.6.1.4.1.13742.6.5.4.3.1.4"
RARITAN_DIGITS = "1.3.6.1.4.1.13742.6.3.5.4.1.7"


def test_raritan_scales_by_the_digits_the_device_reports() -> None:
    table = {
        RARITAN_VALUE: {
            (1, 1, 1): 1234,
            (1, 1, 5): 1234,
            (2, 7, 1): 50,
            (2, 7, 5): 9,
            (2, 7, 4): 230,
        },
        RARITAN_DIGITS: {(1, 1, 1): 2, (1, 1, 5): 1, (2, 7, 1): 3},
    }
    decoded = get("raritan-pdu2").decode(table)
    assert decoded.readings == (
        OutletReading("1", 123.4, 12.34, None),
        OutletReading("2.7", None, 0.05, None),
    )
    assert len(decoded.warnings) == 1
    assert "outlet 2.7" in decoded.warnings[0]
    assert "decimal digits" in decoded.warnings[0]


def test_sentry4_linked_unit_gets_its_letter() -> None:
    current = "1.3.6.1.4.1.1718.4.1.8.3.1.3"
    decoded = get("sentry4").decode({current: {(1, 1, 1): 150, (2, 1, 5): 25}})
    assert [(r.outlet, r.amps) for r in decoded.readings] == [("AA1", 1.5), ("BA5", 0.25)]


def test_oid_profile_scales_one_column() -> None:
    column = "1.3.6.1.4.1.318.1.1.12.3.5.1.1.7"
    profile = oid_profile("." + column, "current", 0.1)
    assert profile.columns == (column,)
    decoded = profile.decode({column: {(1,): 9, (2,): 16}})
    assert decoded.readings == (
        OutletReading("1", None, 0.9, None),
        OutletReading("2", None, 1.6, None),
    )
    power = oid_profile(column, "power", 10)
    assert [r.watts for r in power.decode({column: {(1,): 12}}).readings] == [120.0]


def test_make_profile_derives_watts_from_current_and_voltage() -> None:
    column = "1.3.6.1.4.1.318.1.1.12.3.5.1.1.7"
    pdu = PduConfig(
        name="legacy", host="192.0.2.12", oid=column, quantity="current", scale=0.1, voltage=230
    )
    decoded = make_profile(pdu).decode({column: {(1,): 10, (2,): -1}})
    assert decoded.readings == (
        OutletReading("1", 230.0, 1.0, None),
        OutletReading("2", None, None, None),
    )


def test_make_profile_with_voltage_and_power_factor_on_a_vendor_profile(
    snmprec_dir: Path,
) -> None:
    records = _records(snmprec_dir, "raritan_dominion-px1")
    pdu = PduConfig(
        name="px1", host="192.0.2.13", profile="raritan-px1", voltage=230, power_factor=0.9
    )
    profile = make_profile(pdu)
    readings = profile.decode(snmprec.table(records, profile.columns)).readings
    assert profile.name == "raritan-px1"
    assert readings[2].watts == pytest.approx(2.192 * 230 * 0.9)
    assert readings[0].watts == 0.0


def test_measured_watts_are_never_replaced_by_derived_ones(snmprec_dir: Path) -> None:
    records = _records(snmprec_dir, "apc_ap8641-rpdu2-metered-by-outlet")
    profile = make_profile(
        PduConfig(name="a1", host="192.0.2.10", profile="apc-rpdu2", voltage=230)
    )
    readings = profile.decode(snmprec.table(records, profile.columns)).readings
    assert readings[0].watts == 163


def test_without_voltage_current_only_profiles_give_no_watts(snmprec_dir: Path) -> None:
    records = _records(snmprec_dir, "apc_ap8641-rpdu2-metered-by-outlet")
    profile = make_profile(PduConfig(name="old", host="192.0.2.14", profile="apc-rpdu"))
    readings = profile.decode(snmprec.table(records, profile.columns)).readings
    outlets = [r for r in readings if not _is_inlet(r.outlet)]
    assert len(outlets) == 24
    assert all(r.watts is None and r.amps is not None for r in outlets)


def test_registry_names_and_unknown_profile() -> None:
    required = {
        "apc-rpdu",
        "apc-rpdu2",
        "apc-cpdu",
        "raritan-pdu2",
        "raritan-px1",
        "eaton-epdu",
        "sentry3",
        "sentry4",
        "cyberpower",
        "hpe-pdu",
        "oid",
    }
    assert required <= set(profile_names())
    assert all(get(name).name == name for name in PROFILES)
    with pytest.raises(ValueError, match=r"unknown profile 'nope'.*apc-rpdu2.*hpe-pdu"):
        get("nope")
    with pytest.raises(ValueError, match="oid"):
        get("oid")


def test_phase_module_and_branch_subtotals_are_not_read_as_inlets(snmprec_dir: Path) -> None:
    """RNX phase rows (upduMeterType phaseTotalCalc, 3) and module rows (moduleTotalCalc, 5)
    split the PDU total (row 0.0: 868 W, 12718314 Wh) by line and by module; Chatsworth's
    branch table is volt-amperes of breaker branches. Read as inlets they would count the
    same power twice (or VA as W), so neither profile reads them."""
    meter = "1.3.6.1.4.1.55108.1.3.1.1"
    records = _records(snmprec_dir, "rnx_updu-rn3214")
    kinds = snmprec.walk(records, f"{meter}.3")
    watts, energy = snmprec.walk(records, f"{meter}.7"), snmprec.walk(records, f"{meter}.4")
    for kind in (3, 5):  # phases, modules: each set sums to the PDU total
        rows = [index for index, k in kinds.items() if k == kind]
        assert sum(int(watts[i]) for i in rows) == 868, kind
        assert kind == 5 or sum(int(energy[i]) for i in rows) == 12718314
    inlets = [r for r in _decode(records, "rnx-updu").readings if _is_inlet(r.outlet)]
    assert inlets == [OutletReading("inlet", 868.0, 5.163, 12718.314)]

    records = _records(snmprec_dir, "chatsworth_econnect-k50-3d136")
    branch = "1.3.6.1.4.1.30932.1.10.1.3.110.1"
    assert len(snmprec.walk(records, f"{branch}.6")) == 3  # cpiPduBranchPower, VA
    assert not any(_is_inlet(r.outlet) for r in _decode(records, "cpi-pdu").readings)


def test_planet_power_is_whole_watts_by_the_feeds_volts_and_amps(snmprec_dir: Path) -> None:
    """DIGIPDU-MIB gives power no unit (MIB-FACTS.md): the recording bounds it. The feed's
    power 6 at inFeedVoltage 231 V and inFeedCurrent 0 tenths of A (< 0.05 A) is at most
    231 x 0.05 VA, so W (6 W) fits and tens of watts per count (60 W) cannot."""
    feed = "1.3.6.1.4.1.10456.3.3.2.1"
    records = _records(snmprec_dir, "planet_ipm-8220")
    volts = int(records[f"{feed}.3.1"])
    tenths_of_amps = int(records[f"{feed}.5.1"])
    assert (volts, tenths_of_amps, records[f"{feed}.6.1"]) == (231, 0, 6)
    most_va = volts * (tenths_of_amps + 0.5) / 10
    (inlet,) = [r for r in _decode(records, "planet-pdu").readings if _is_inlet(r.outlet)]
    assert inlet == OutletReading("inlet", 6.0, 0.0, None)
    assert inlet.watts is not None
    assert inlet.watts <= most_va < 10 * inlet.watts
