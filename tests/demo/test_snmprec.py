"""The generated PDUs: what snmpsim serves decodes, with the real profiles, to the pattern."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from powermond.demo.agent import Agent, free_udp_port, start_agent
from powermond.demo.pattern import COUNTERS_START, DAY, VOLTS, MachineModel, Numeric, Wave
from powermond.demo.snmprec import pdu_records, table_at, write_snmprec
from powermond.demo.world import DEFAULT_WORLD, PduModel
from powermond.inventory.model import PduConfig
from powermond.readings import OutletReading
from powermond.snmp import profiles
from powermond.snmp.client import ClientDefaults, SnmpClient

pytestmark = pytest.mark.timeout(90)

WORLD = DEFAULT_WORLD
# 2026-10-01T09:17:30Z: an arbitrary time, away from any wave's zero crossing.
T = 1791105450.0


def expected(pdu: PduModel, t: float) -> dict[str, MachineModel | None]:
    on = WORLD.machines_on(pdu.name)
    return {str(n): on.get(n) for n in range(1, pdu.outlets + 1)}


def check_reading(
    reading: OutletReading, machine: MachineModel | None, t: float, until: float | None = None
) -> None:
    """Watts as the pattern says (the device truncates to whole units), amps and energy to fit.

    The agent answered at some moment of ``[t, until]``: the waves are monotonic over the few
    seconds a walk takes, so the reading lies between their values at both ends."""
    if machine is None:
        assert reading == OutletReading(reading.outlet, 0.0, 0.0, 0.0)
        return
    share = len(machine.feeds)
    ends = [machine.watts_at(t) / share, machine.watts_at(t if until is None else until) / share]
    low, high = min(ends), max(ends)
    assert reading.watts is not None
    assert reading.amps is not None
    assert low - 1.01 < reading.watts <= high + 0.01, reading
    # Amps: the same wave / 230 V, truncated to the vendor's resolution (0.1 A at worst).
    assert low / VOLTS - 0.11 < reading.amps <= high / VOLTS + 0.01, reading
    # The counter runs at the outlet's mean watts since COUNTERS_START (0.1 kWh resolution).
    kwh = machine.feed_watts.mean * (t - COUNTERS_START) / 3.6e6
    assert reading.energy_kwh == pytest.approx(kwh, abs=0.11), reading


@pytest.mark.parametrize("pdu", WORLD.pdus, ids=lambda p: p.profile)
def test_rows_decode_to_the_pattern(pdu: PduModel) -> None:
    profile = profiles.get(pdu.profile)
    decoded = profile.decode(table_at(pdu_records(WORLD, pdu), profile.columns, T))
    assert decoded.warnings == ()
    machines = expected(pdu, T)
    assert [r.outlet for r in decoded.readings] == list(machines)
    for reading in decoded.readings:
        check_reading(reading, machines[reading.outlet], T)


def test_watts_follow_the_load_and_energy_grows() -> None:
    gpu = WORLD.machine("gpu01")
    pdu = next(p for p in WORLD.pdus if p.name == "rack-a2")
    profile = profiles.get(pdu.profile)
    records = pdu_records(WORLD, pdu)
    quarter = gpu.load.period / 4
    readings = [profile.decode(table_at(records, profile.columns, T + k * quarter)).readings[0]
                for k in range(3)]  # fmt: skip
    # gpu01 idles at 250 W plus 35 W per unit of load (20 ± 16): 390 W to 1510 W.
    watts = [r.watts for r in readings]
    assert watts == [int(gpu.watts_at(T + k * quarter)) for k in range(3)]
    assert max(watts) - min(watts) > 500  # type: ignore[type-var,operator]
    energy = [r.energy_kwh for r in readings]
    assert energy[0] < energy[1] < energy[2]  # type: ignore[operator]
    # Over a quarter period the counter advances the mean power times the time.
    mean_kw = gpu.watts.mean / 1000
    assert energy[1] - energy[0] == pytest.approx(mean_kw * quarter / 3600, abs=0.002)  # type: ignore[operator]


def test_numeric_mirrors_snmpsim_arithmetic() -> None:
    wave = Numeric.wave(Wave(300.0, 100.0, DAY, "sin", -1), factor=10.0)
    assert wave.render().startswith("function=sin,rate=")
    assert "atime=1" in wave.render()
    # -sin peaks at 18:00 UTC: 10 * (300 + 100) raw units.
    assert wave.at(18 * 3600.0) == 4000
    counter = Numeric.counter(mean_watts=360.0, factor_per_kwh=1000.0)  # Wh at 0.1 Wh/s
    assert counter.at(COUNTERS_START + 3600) == 360
    assert counter.at(COUNTERS_START - 10) == 0  # snmpsim's min clamps


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    root: Path = tmp_path_factory.mktemp("agent")
    write_snmprec(WORLD, root / "data")
    with start_agent(root / "data", root / "cache", free_udp_port(), root / "log") as running:
        yield running
    assert running.process.poll() is not None


def pdu_config(pdu: PduModel, port: int) -> PduConfig:
    return PduConfig(
        name=pdu.name,
        host="127.0.0.1",
        port=port,
        profile=pdu.profile,
        community=SecretStr(pdu.community),
    )


@pytest.mark.parametrize("pdu", WORLD.pdus, ids=lambda p: p.profile)
async def test_snmpsim_serves_the_pattern_now(agent: Agent, pdu: PduModel) -> None:
    profile = profiles.get(pdu.profile)
    async with SnmpClient(ClientDefaults(timeout=2.0, retries=1)) as client:
        before = time.time()
        table = await client.walk_columns(pdu_config(pdu, agent.port), profile.columns)
        after = time.time()
        system = await client.get(pdu_config(pdu, agent.port), ["1.3.6.1.2.1.1.2.0"])
    decoded = profile.decode(table)
    assert decoded.warnings == ()
    machines = expected(pdu, before)
    assert [r.outlet for r in decoded.readings] == list(machines)
    for reading in decoded.readings:
        # The walk took a moment (gpu01's wave moves up to 0.65 W/s): bounded by both ends.
        assert after - before < 5
        check_reading(reading, machines[reading.outlet], before, after)
    # `powermon probe` would pick this PDU's profile first from what it says it is.
    (object_id,) = system.values()
    assert isinstance(object_id, str)
    names = [name for name, _ in profiles.candidates(object_id, "")]
    assert names[0] == pdu.profile
