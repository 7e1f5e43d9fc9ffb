"""Vendor profiles against every real recording, plus synthetic tables for what they lack.

Expected values are written from shared/snmprec/MIB-FACTS.md, SOURCES.md and the raw
recording lines (raw value and MIB scaling worked out by hand), never from decode output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import snmprec

from powermond.inventory.model import PduConfig, normalize_outlet_label
from powermond.readings import OutletReading
from powermond.snmp.profiles import (
    PROFILES,
    Decoded,
    candidates,
    get,
    make_profile,
    oid_profile,
    profile_names,
)

pytestmark = pytest.mark.timeout(60)

W, A, KWH = "watts", "amps", "energy_kwh"


@dataclass(frozen=True)
class Expected:
    """What one recording must decode to under its profile."""

    file: str
    profile: str
    labels: list[str]
    #: outlet -> {quantity: value}; a quantity set to None must decode to None.
    outlets: dict[str, dict[str, float | None]]
    watts_sum: float | None = None
    #: Quantities that are None for every outlet (the device has no such column).
    absent: tuple[str, ...] = ()
    #: Full per-outlet columns, in label order.
    columns: dict[str, list[float]] = field(default_factory=dict)


def _numbers(count: int) -> list[str]:
    return [str(n) for n in range(1, count + 1)]


def _letters(towers: str, infeeds: str, outlets: int) -> list[str]:
    return [f"{t}{i}{n}" for t in towers for i in infeeds for n in range(1, outlets + 1)]


CASES = [
    Expected(
        "apc_ap8641-rpdu2-metered-by-outlet",
        "apc-rpdu2",
        _numbers(24),
        {"1": {W: 163, A: 0.9, KWH: 304.6}, "2": {W: 4, A: 0.5, KWH: 122.5}},
        watts_sum=1117,
        columns={
            W: [
                163,
                4,
                81,
                125,
                71,
                96,
                66,
                0,
                66,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                83,
                101,
                97,
                0,
                78,
                86,
                0,
            ],
            A: [
                0.9,
                0.5,
                0.4,
                0.7,
                0.4,
                0.6,
                0.4,
                0,
                0.4,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0.5,
                0.5,
                0.5,
                0,
                0.4,
                0.5,
                0,
            ],
        },
    ),
    # The same unit through the old rPDU branch: tenths of A only, sampled a moment apart.
    Expected(
        "apc_ap8641-rpdu2-metered-by-outlet",
        "apc-rpdu",
        _numbers(24),
        {"1": {A: 0.8}, "2": {A: 0.7}, "3": {A: 0.4}, "4": {A: 0.7}},
        absent=(W, KWH),
    ),
    Expected(
        "apc_ap8932-rpdu2-switched",
        "apc-rpdu",
        _numbers(24),
        {},
        absent=(W, KWH),
        columns={A: [0.0] * 24},
    ),
    Expected(
        "apc_ap7902b-rpdu2-switched",
        "apc-rpdu",
        _numbers(16),
        {},
        absent=(W, KWH),
        columns={A: [0.0] * 16},
    ),
    Expected(
        "apc_cpdu-netshelter-advanced",
        "apc-cpdu",
        _numbers(40),  # rows 1.41-1.64 are Number=0 placeholders
        {
            "1": {W: 0, A: 0, KWH: 57.3},
            "2": {W: 57, A: 0.28, KWH: 109.9},
            "5": {W: 53, A: 0.27, KWH: 156.6},
        },
    ),
    Expected(
        "raritan_px2",
        "raritan-pdu2",
        _numbers(12),
        {"3": {W: 68, A: 0.311}, "10": {W: 35, A: 0.184}, "11": {W: 35, A: 0.185}},
        watts_sum=138,  # equals the inlet's active power
        absent=(KWH,),
    ),
    Expected(
        "raritan_px3-5493u-k2",
        "raritan-pdu2",
        _numbers(24),
        {"1": {W: 143, A: 0.633, KWH: 5812.658}, "2": {W: 207, A: 0.927, KWH: 6564.342}},
        watts_sum=1671,
    ),
    Expected(
        "raritan_dominion-px1",
        "raritan-px1",
        _numbers(12),
        {"3": {A: 2.192}, "6": {A: 0.174}},
        absent=(W, KWH),
        columns={A: [0, 0, 2.192, 0, 0, 0.174, 0, 0, 0.202, 0.183, 0.192, 0]},
    ),
    Expected(
        "eaton_epdu-ma-24outlet",
        "eaton-epdu",
        _numbers(24),  # strapping 0 is unit 1: index 0.N is outlet "N"
        {"1": {W: 80, A: 0.79, KWH: 785.621}, "2": {W: 142, A: 2.202, KWH: 385.352}},
        watts_sum=1568,
        columns={
            W: [
                80,
                142,
                140,
                55,
                0,
                0,
                0,
                7,
                22,
                121,
                151,
                211,
                0,
                0,
                3,
                143,
                143,
                172,
                0,
                11,
                4,
                20,
                143,
                0,
            ]
        },
    ),
    Expected(
        "servertech_sentry3-switched-cdu",
        "sentry3",
        _letters("A", "ABC", 10),
        {"AA8": {A: 0.64}, "AA10": {A: 0.65}, "AB1": {A: 0.81}, "AB3": {A: 0.82}, "AC1": {A: 0.73}},
        absent=(W, KWH),
    ),
    Expected("servertech_sentry4-smart-pdu", "sentry4", [], {}),
    Expected(
        "cyberpower_pdu81005",
        "cyberpower",
        _numbers(8),
        {},
        watts_sum=220,
        columns={
            W: [0, 0, 0, 0, 82, 37, 73, 28],
            A: [0, 0, 0, 0, 0.4, 0.2, 0.4, 0.3],
            KWH: [0, 0, 0, 0, 3.1, 1.3, 2.9, 1.1],
        },
    ),
    Expected(
        "hpe_mapdu-pdu3-p9s18a",
        "hpe-pdu",
        _numbers(48),
        {
            "20": {W: 0, A: 0},
            "21": {W: 65, A: 0.26},
            "22": {W: 14, A: 0.09},
            "23": {W: 74, A: 0.32},
        },
        watts_sum=65 + 14 + 74,
        absent=(KWH,),
    ),
]


def _records(snmprec_dir: Path, name: str) -> dict[str, snmprec.Value]:
    return snmprec.parse(snmprec_dir / f"{name}.snmprec")


def _decode(records: dict[str, snmprec.Value], profile_name: str) -> Decoded:
    profile = get(profile_name)
    return profile.decode(snmprec.table(records, profile.columns))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file}:{c.profile}")
def test_recording_decodes_to_documented_values(snmprec_dir: Path, case: Expected) -> None:
    decoded = _decode(_records(snmprec_dir, case.file), case.profile)
    by_label = {r.outlet: r for r in decoded.readings}

    assert [r.outlet for r in decoded.readings] == case.labels
    for label, values in case.outlets.items():
        for quantity, value in values.items():
            assert getattr(by_label[label], quantity) == pytest.approx(value), (label, quantity)
    for quantity, column in case.columns.items():
        got = [getattr(r, quantity) for r in decoded.readings]
        assert got == pytest.approx(column), quantity
    for quantity in case.absent:
        assert all(getattr(r, quantity) is None for r in decoded.readings), quantity
    if case.watts_sum is not None:
        assert sum(r.watts or 0 for r in decoded.readings) == pytest.approx(case.watts_sum)
    if case.labels:
        assert decoded.warnings == ()
    else:
        assert decoded.warnings  # "no outlet rows" says why the result is empty


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file}:{c.profile}")
def test_labels_are_normalized_outlet_labels(snmprec_dir: Path, case: Expected) -> None:
    decoded = _decode(_records(snmprec_dir, case.file), case.profile)
    for reading in decoded.readings:
        assert normalize_outlet_label(reading.outlet) == reading.outlet


# Profiles that read the same vendor MIB may legitimately decode each other's devices.
FAMILIES = [
    {"apc-rpdu", "apc-rpdu2", "apc-cpdu"},
    {"enlogic-pdu"},
    {"raritan-pdu2", "raritan-px1"},
    {"eaton-epdu"},
    {"sentry3", "sentry4"},
    {"cyberpower", "cyberpower-epdu"},
    {"hpe-pdu"},
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.file)
def test_other_vendors_profiles_give_no_readings(snmprec_dir: Path, case: Expected) -> None:
    records = _records(snmprec_dir, case.file)
    family = next(f for f in FAMILIES if case.profile in f)
    for name in set(PROFILES) - family:
        decoded = _decode(records, name)
        assert decoded.readings == (), name
        assert decoded.warnings, name


DETECTED = {
    "apc_ap8641-rpdu2-metered-by-outlet": ("apc-rpdu2", "apc-rpdu2"),
    # Switched-only: no rPDU2 metered table, so the old branch is the first that answers.
    "apc_ap8932-rpdu2-switched": ("apc-rpdu2", "apc-rpdu"),
    "apc_ap7902b-rpdu2-switched": ("apc-rpdu2", "apc-rpdu"),
    "apc_cpdu-netshelter-advanced": ("apc-cpdu", "apc-cpdu"),
    "raritan_px2": ("raritan-pdu2", "raritan-pdu2"),
    "raritan_px3-5493u-k2": ("raritan-pdu2", "raritan-pdu2"),
    "raritan_dominion-px1": ("raritan-px1", "raritan-px1"),
    "eaton_epdu-ma-24outlet": ("eaton-epdu", "eaton-epdu"),
    "servertech_sentry3-switched-cdu": ("sentry3", "sentry3"),
    "servertech_sentry4-smart-pdu": ("sentry4", None),  # no outlet table at all
    "cyberpower_pdu81005": ("cyberpower", "cyberpower"),
    "hpe_mapdu-pdu3-p9s18a": ("hpe-pdu", "hpe-pdu"),  # sysObjectID has a leading dot
}


@pytest.mark.parametrize(("file", "expected"), DETECTED.items())
def test_candidates_rank_the_right_profile_first(
    snmprec_dir: Path, file: str, expected: tuple[str, str | None]
) -> None:
    records = _records(snmprec_dir, file)
    ranked = candidates(snmprec.sys_object_id(records), snmprec.sys_descr(records))
    first, answering = expected

    assert ranked[0][0] == first
    assert all(reason for _, reason in ranked)
    # The probe contract: walk candidates in order, keep the first that yields outlets.
    found = next((name for name, _ in ranked if _decode(records, name).readings), None)
    assert found == answering


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
    records = _records(snmprec_dir, "apc_ap8932-rpdu2-switched")
    profile = make_profile(PduConfig(name="sw", host="192.0.2.14", profile="apc-rpdu"))
    readings = profile.decode(snmprec.table(records, profile.columns)).readings
    assert len(readings) == 24
    assert all(r.watts is None and r.amps == 0 for r in readings)


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
