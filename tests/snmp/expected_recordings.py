"""What every real recording must decode to, written from shared/snmprec/MIB-FACTS.md,
SOURCES.md and the raw recording lines (raw value and MIB scaling worked out by hand),
never from decode output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

W, A, KWH = "watts", "amps", "energy_kwh"
SWITCHED_ONLY = "switched, not metered per outlet"


@dataclass(frozen=True)
class Expected:
    """What one recording must decode to under its profile."""

    file: str
    profile: str
    #: Outlet labels, in order (inlet rows excluded).
    labels: list[str]
    #: outlet -> {quantity: value}; a quantity set to None must decode to None.
    outlets: dict[str, dict[str, float | None]]
    watts_sum: float | None = None
    #: Quantities that are None for every outlet (the device has no such column).
    absent: tuple[str, ...] = ()
    #: Full per-outlet columns, in label order.
    columns: dict[str, list[float]] = field(default_factory=dict)
    #: Every inlet row: label -> all three quantities (None: must be None).
    inlets: dict[str, dict[str, float | None]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _numbers(count: int) -> list[str]:
    return [str(n) for n in range(1, count + 1)]


def _letters(towers: str, infeeds: str, outlets: int) -> list[str]:
    return [f"{t}{i}{n}" for t in towers for i in infeeds for n in range(1, outlets + 1)]


def _inlet(watts: float | None, amps: float | None, kwh: float | None) -> dict[str, float | None]:
    return {W: watts, A: amps, KWH: kwh}


_AP8641_WATTS = [163, 4, 81, 125, 71, 96, 66, 0, 66, 0, 0, 0, 0, 0, 0, 0, 0, 83, 101, 97]
_AP8641_WATTS += [0, 78, 86, 0]
_AP8641_AMPS = [0.9, 0.5, 0.4, 0.7, 0.4, 0.6, 0.4, 0, 0.4, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.5]
_AP8641_AMPS += [0.5, 0, 0.4, 0.5, 0]
_EATON_WATTS = [80, 142, 140, 55, 0, 0, 0, 7, 22, 121, 151, 211, 0, 0, 3, 143, 143, 172, 0]
_EATON_WATTS += [11, 4, 20, 143, 0]
_DELL_WATTS = [250, 250, 352, 239, 271, 235, 99, 0, 57, 276, 113, 90, 95, 273, 267, 0, 172]
_DELL_WATTS += [146, 173, 181, 0, 163, 52, 0]
_DELL_AMPS = [1, 1, 2, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 0, 0]
# cpiPduOutletEnergy, decawatt-seconds: kWh = raw / 360000.
_CPI_ENERGY = [64449, 32021, 16230, 10359, 46865, 84680, 55638, 10283, 10272, 34349, 58013]
_CPI_ENERGY += [18736, 9457, 13069, 14234216, 25325, 9536, 56921, 57548, 12446, 11100, 11083]
_CPI_ENERGY += [28543, 9474]
_RNX_LABELS = [f"{m}.{n}" if m > 1 else str(n) for m in range(1, 7) for n in range(1, 9)]

CASES = [
    Expected(
        "apc_ap8641-rpdu2-metered-by-outlet",
        "apc-rpdu2",
        _numbers(24),
        {"1": {W: 163, A: 0.9, KWH: 304.6}, "2": {W: 4, A: 0.5, KWH: 122.5}},
        watts_sum=1117,
        columns={W: _AP8641_WATTS, A: _AP8641_AMPS},
        # rPDU2DeviceStatusPower 121 hundredths of kW; Energy 19516 tenths of kWh; the one
        # phase: rPDU2PhaseStatusCurrent 65 tenths of A.
        inlets={"inlet": _inlet(1210, 6.5, 1951.6)},
    ),
    # The same unit through the old rPDU branch: tenths of A only, sampled a moment apart.
    Expected(
        "apc_ap8641-rpdu2-metered-by-outlet",
        "apc-rpdu",
        _numbers(24),
        {"1": {A: 0.8}, "2": {A: 0.7}, "3": {A: 0.4}, "4": {A: 0.7}},
        absent=(W, KWH),
        # rPDUIdentDevicePowerWatts; rPDULoadStatusLoad of the phase row (BankNumber 0) 66
        # tenths of A (the bank rows, 40 + 25, are its subtotals and not read).
        inlets={"inlet": _inlet(1230, 6.6, None)},
    ),
    # Switched-only: NumMeteredOutlets 0 and every outlet 0 A -- no outlet readings at all.
    Expected(
        "apc_ap8932-rpdu2-switched",
        "apc-rpdu",
        [],
        {},
        inlets={"inlet": _inlet(160, 1.4, None)},  # phase row: rPDULoadStatusLoad 14
        notes=(SWITCHED_ONLY,),
    ),
    Expected(
        "apc_ap8932-rpdu2-switched",
        "apc-rpdu2",
        [],
        {},
        # 16 hundredths of kW, 6426 tenths of kWh, rPDU2PhaseStatusCurrent 14 tenths of A.
        inlets={"inlet": _inlet(160, 1.4, 642.6)},
        notes=(SWITCHED_ONLY,),
    ),
    Expected(
        "apc_ap7902b-rpdu2-switched",
        "apc-rpdu",
        [],
        {},
        inlets={"inlet": _inlet(192, 1.6, None)},  # phase row 16 (banks 0 and 11)
        notes=(SWITCHED_ONLY,),
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
        inlets={"inlet": _inlet(258, None, 791.8)},
    ),
    Expected(
        "raritan_px2",
        "raritan-pdu2",
        _numbers(12),
        {"3": {W: 68, A: 0.311}, "10": {W: 35, A: 0.184}, "11": {W: 35, A: 0.185}},
        watts_sum=138,  # equals the inlet's active power
        absent=(KWH,),
        inlets={"inlet": _inlet(138, 0.680, None)},
    ),
    Expected(
        "raritan_px3-5493u-k2",
        "raritan-pdu2",
        _numbers(24),
        {"1": {W: 143, A: 0.633, KWH: 5812.658}, "2": {W: 207, A: 0.927, KWH: 6564.342}},
        watts_sum=1671,
        inlets={"inlet": _inlet(1665, 7.467, 74057.676)},
    ),
    Expected(
        "raritan_dominion-px1",
        "raritan-px1",
        _numbers(12),
        {"3": {A: 2.192}, "6": {A: 0.174}},
        absent=(W, KWH),
        columns={A: [0, 0, 2.192, 0, 0, 0.174, 0, 0, 0.202, 0.183, 0.192, 0]},
        inlets={"inlet": _inlet(580, 2.971, None)},
    ),
    Expected(
        "eaton_epdu-ma-24outlet",
        "eaton-epdu",
        _numbers(24),  # strapping 0 is unit 1: index 0.N is outlet "N"
        {"1": {W: 80, A: 0.79, KWH: 785.621}, "2": {W: 142, A: 2.202, KWH: 385.352}},
        watts_sum=1568,
        columns={W: _EATON_WATTS},
        # Input 0.1's one power row 0.1.1 (single phase): inputWatts, inputCurrent, inputWh;
        # its inputTotalPowerTable row (1584 W, a separately reset counter) is for inputs
        # with several phase rows.
        inlets={"inlet": _inlet(1589, 14.108, 8185.553)},
    ),
    Expected(
        "servertech_sentry3-switched-cdu",
        "sentry3",
        _letters("A", "ABC", 10),
        {"AA8": {A: 0.64}, "AA10": {A: 0.65}, "AB1": {A: 0.81}, "AB3": {A: 0.82}, "AC1": {A: 0.73}},
        absent=(W, KWH),
        # infeedLoadValue 309 / 392 / 434 hundredths of A; infeeds 1.1, 1.2, 1.3.
        inlets={
            "inlet": _inlet(None, 3.09, None),
            "inlet.2": _inlet(None, 3.92, None),
            "inlet.3": _inlet(None, 4.34, None),
        },
    ),
    Expected(
        "servertech_sentry4-smart-pdu",
        "sentry4",
        [],
        {},
        # Cords 1.1 and 2.1 (two linked units): W, and tenths of kWh; three lines per cord,
        # whose currents are not a cord current.
        inlets={"inlet": _inlet(1701, None, 893.7), "inlet.2.1": _inlet(1265, None, 2565.9)},
    ),
    Expected(
        "servertech_sentry4-switched-2units",
        "sentry4",
        [],
        {},
        # One line per cord: st4LineCurrent 403 / 427 hundredths of A is the cord's current.
        inlets={"inlet": _inlet(806, 4.03, 3472.0), "inlet.2.1": _inlet(856, 4.27, 3700.8)},
    ),
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
        _numbers(24),  # rows 25-48: NUL names, power factor 0 -- placeholders
        {
            "20": {W: 0, A: 0},
            "21": {W: 65, A: 0.26},
            "22": {W: 14, A: 0.09},
            "23": {W: 74, A: 0.32},
        },
        watts_sum=65 + 14 + 74,
        absent=(KWH,),
    ),
    Expected(
        "dell_rpdu-dell6606-metered",
        "dell-rpdu",
        _numbers(24),
        {"3": {W: 352, A: 2}},
        watts_sum=3754,
        absent=(KWH,),
        columns={W: _DELL_WATTS, A: _DELL_AMPS},
        # rPDUDeviceStatusPower 379 (1/100 kW); Energy 630139 (tenths of kWh); the one phase
        # row's rPDUPhaseStatusCurrent 193 (tenths of A).
        inlets={"inlet": _inlet(3790, 19.3, 63013.9)},
    ),
    Expected(
        "aten_pe8216",
        "aten-pdu",
        _numbers(16),  # rows 17-42: -2000000 everywhere
        {"2": {W: 118.332, A: 0.59}},
        watts_sum=759.55,
        absent=(KWH,),
        columns={A: [0, 0.59, 0, 0, 0, 0, 0, 0, 0.56, 0, 0, 0, 0.95, 0.8, 0.79, 0]},
    ),
    Expected(
        "chatsworth_econnect-k50-3d136",
        "cpi-pdu",
        _numbers(24),  # one MAC (000ED300AD21) carries the metering rows
        {"15": {KWH: 14234216 / 360000}},
        absent=(W,),  # the power column is volt-amperes
        columns={A: [0.0] * 24, KWH: [raw / 360000 for raw in _CPI_ENERGY]},
    ),
    Expected(
        "schleifenbauer_dpm27e-12outlet",
        "schleifenbauer",
        _numbers(12),
        {"10": {A: 0}, "11": {A: 1.94}},
        absent=(W,),  # .11 PowerWatt is absent; .10 (VA) is not watts
        columns={KWH: [0, 0, 0, 532, 402, 0, 0, 1, 0, 0, 0, 0]},
        inlets={
            "inlet": _inlet(None, 0, 0),
            "inlet.2": _inlet(None, 0, 0),
            "inlet.3": _inlet(None, 0, 0),
        },
    ),
    Expected(
        "wti_vmr-8hd20",
        "wti-pdu",
        # As the device prints them: plugID `LOCAL - A1` .. `LOCAL - B4` on plugIndex 1..8.
        [f"{branch}{n}" for branch in "AB" for n in range(1, 5)],
        # plugIndex 7 is B3 (7 tenths of A, 163 W), 8 is B4 (4 tenths of A, 93 W).
        {"B3": {W: 163, A: 0.7}, "B4": {W: 93, A: 0.4}, "A1": {W: 0, A: 0}},
        watts_sum=256,
        absent=(KWH,),
        inlets={"inlet": _inlet(256, 1.1, None)},  # environmentSystemTotal*
    ),
    Expected(
        "ingrasys_ipoman-12outlet",
        "ipoman",
        _numbers(12),
        {},
        absent=(W,),
        columns={
            A: [0.4, 0.51, 0.26, 0.9, 0.9, 0.87, 0.08, 0, 0, 0, 0, 0],
            KWH: [272.099, 134.075, 169.909, 246.595, 275.576, 261.459, 27.757, 0, 0, 0, 0, 0],
        },
        inlets={"inlet": _inlet(None, 3.83, None), "inlet.2": _inlet(None, 0.08, None)},
    ),
    Expected(
        "rnx_updu-rn3214",
        "rnx-updu",
        _RNX_LABELS,  # 6 modules x 8 outlets; module 1 is the unprefixed one
        {
            "1": {W: 66, A: 0.329, KWH: 799.693},
            "2": {W: 3, A: 0.04, KWH: 1076.899},
            "6.1": {W: 49, A: 0.253, KWH: 575.729},
        },
        watts_sum=869,
        inlets={"inlet": _inlet(868, 5.163, 12718.314)},  # row 0.0, pduTotalCalc
    ),
    Expected(
        "planet_ipm-8220",
        "planet-pdu",
        _numbers(8),
        {},
        absent=(KWH,),
        columns={W: [0.0] * 8, A: [0.0] * 8},
        inlets={"inlet": _inlet(6, 0, None)},
    ),
    Expected(
        "hpe_mapdu-pdu2-16a",
        "hpe-pdu2",
        _numbers(8),  # pdu2IdentIndex 0 is unit 1
        {"6": {W: 77, A: 0.45}, "7": {W: 14, A: 0.104}},
        watts_sum=91,
        absent=(KWH,),
        # pdu2InputPowerWatts.0; its one phase 0.1: pdu2InputPhaseCurrent 535 mA.
        inlets={"inlet": _inlet(97, 0.535, None)},
    ),
    Expected(
        "gude_epc-8031",
        "gude-epc",
        [],
        {},
        inlets={"inlet": _inlet(18, 0.186, 1109.596)},
    ),
    Expected(
        "vertiv_geist-mg02e4w1",
        "vertiv-pdu",
        [],
        {},
        inlets={"inlet": _inlet(1017, None, 8483.906)},  # 3 phase currents: no inlet current
    ),
]

# Profiles that read the same vendor MIB may legitimately decode each other's devices.
FAMILIES = [
    {"apc-rpdu", "apc-rpdu2", "apc-cpdu"},
    {"enlogic-pdu"},
    {"raritan-pdu2", "raritan-px1"},
    {"eaton-epdu"},
    {"sentry3", "sentry4"},
    {"cyberpower", "cyberpower-epdu"},
    {"hpe-pdu", "hpe-pdu2"},
    {"dell-rpdu"},
    {"aten-pdu"},
    {"cpi-pdu"},
    {"schleifenbauer"},
    {"conteg"},
    {"wti-pdu"},
    {"ipoman"},
    {"rnx-updu"},
    {"planet-pdu"},
    {"gude-epc"},
    {"vertiv-pdu"},
]

# file -> (profile ranked first, profile probe keeps); every recording in the folder.
DETECTED = {
    "apc_ap8641-rpdu2-metered-by-outlet": ("apc-rpdu2", "apc-rpdu2"),
    # Switched-only: rPDU2 unit totals but no metered table -- inlet readings and the note.
    "apc_ap8932-rpdu2-switched": ("apc-rpdu2", "apc-rpdu2"),
    # rPDU2 unit totals are -1 here: rPDU2 gives only the phase current, the old branch's
    # total gives watts.
    "apc_ap7902b-rpdu2-switched": ("apc-rpdu2", "apc-rpdu"),
    "apc_cpdu-netshelter-advanced": ("apc-cpdu", "apc-cpdu"),
    "apc_epdu1116s-easy-pdu": ("apc-rpdu2", None),  # phase level only: no profile
    "raritan_px2": ("raritan-pdu2", "raritan-pdu2"),
    "raritan_px3-5493u-k2": ("raritan-pdu2", "raritan-pdu2"),
    "raritan_dominion-px1": ("raritan-px1", "raritan-px1"),
    "eaton_epdu-ma-24outlet": ("eaton-epdu", "eaton-epdu"),
    "servertech_sentry3-switched-cdu": ("sentry3", "sentry3"),
    "servertech_sentry4-smart-pdu": ("sentry4", "sentry4"),  # input cords only
    "servertech_sentry4-switched-2units": ("sentry4", "sentry4"),
    "cyberpower_pdu81005": ("cyberpower", "cyberpower"),
    "hpe_mapdu-pdu3-p9s18a": ("hpe-pdu", "hpe-pdu"),  # sysObjectID has a leading dot
    "hpe_mapdu-pdu2-16a": ("hpe-pdu2", "hpe-pdu2"),
    "dell_rpdu-dell6606-metered": ("dell-rpdu", "dell-rpdu"),
    "aten_pe8216": ("aten-pdu", "aten-pdu"),
    "chatsworth_econnect-k50-3d136": ("cpi-pdu", "cpi-pdu"),  # sysObjectID .0.10.43.6.1.4.1
    "schleifenbauer_dpm27e-12outlet": ("schleifenbauer", "schleifenbauer"),
    "wti_vmr-8hd20": ("wti-pdu", "wti-pdu"),
    "ingrasys_ipoman-12outlet": ("ipoman", "ipoman"),  # empty sysDescr
    "rnx_updu-rn3214": ("rnx-updu", "rnx-updu"),
    "planet_ipm-8220": ("planet-pdu", "planet-pdu"),
    "gude_epc-8031": ("gude-epc", "gude-epc"),
    "vertiv_geist-mg02e4w1": ("vertiv-pdu", "vertiv-pdu"),
}
