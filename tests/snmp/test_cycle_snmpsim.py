"""A whole poll cycle against snmpsim: good, bad and unreachable PDUs side by side."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from tiny_profile import APC_TINY, BAD_TINY

import owned
from powermond.collect.cycle import NO_TABLE, poll_cycle
from powermond.inventory.model import PduConfig
from powermond.readings import OutletReading
from powermond.snmp.client import ClientDefaults, SnmpClient
from powermond.snmp.profiles.base import Profile
from simulator import HOST, Snmpsim, free_udp_port

pytestmark = pytest.mark.timeout(60)

APC = owned.APC
OUTLET_1 = OutletReading("1", 163.0, 0.7, 163.0)  # tests/owned.py
CYCLE = datetime(2026, 10, 1, 12, 5, tzinfo=UTC)
TIMEOUT, RETRIES = 0.5, 1


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    async with SnmpClient(ClientDefaults(timeout=TIMEOUT, retries=RETRIES)) as c:
        yield c


def tiny_profiles(pdu: PduConfig) -> Profile:
    return BAD_TINY if pdu.name.startswith("synthetic_bad") else APC_TINY


async def test_one_cycle_isolates_every_kind_of_failure(
    snmpsim: Snmpsim, client: SnmpClient
) -> None:
    pdus = [
        snmpsim.pdu(APC, name="v2c"),
        snmpsim.pdu(APC, name="v1", version="1"),
        snmpsim.pdu(APC, name="v3", version="3"),
        snmpsim.pdu(APC, name="capped", max_repetitions=5),
        snmpsim.pdu(APC, name="getnext", bulk=False),
        snmpsim.pdu(APC, name="bad-community", community=SecretStr("nope")),
        snmpsim.pdu(APC, name="bad-key", version="3", auth_key=SecretStr("wrong-key-123")),
        snmpsim.pdu(owned.RARITAN, name="wrong-profile"),
        snmpsim.pdu("synthetic_empty", name="no-table"),
        PduConfig(name="unreachable", host=HOST, port=free_udp_port(), profile="test"),
    ]
    started = time.monotonic()
    result = await poll_cycle(client, pdus, CYCLE, concurrency=4, profile_for=tiny_profiles)
    elapsed = time.monotonic() - started
    by_pdu = {r.pdu: r for r in result.results}
    for name in ("v2c", "v1", "v3", "capped", "getnext"):
        assert by_pdu[name].ok, by_pdu[name].error
        assert len(by_pdu[name].readings) == 24, name
        assert by_pdu[name].readings[0] == OUTLET_1
    assert "no answer" in str(by_pdu["bad-community"].error)
    assert "wrong community" in str(by_pdu["bad-community"].error)
    assert "nope" not in str(by_pdu["bad-community"].error)
    assert "authentication failed" in str(by_pdu["bad-key"].error)
    assert by_pdu["wrong-profile"].error == NO_TABLE
    assert by_pdu["no-table"].error == NO_TABLE
    assert "no answer" in str(by_pdu["unreachable"].error)
    # Correctness bound, loose on purpose: the unreachable PDUs' budget plus slack, x3.
    assert elapsed < 3 * (TIMEOUT * (RETRIES + 1) + 1.0)


async def test_bad_values_and_truncated_column_become_warnings(
    snmpsim: Snmpsim, client: SnmpClient
) -> None:
    pdu = snmpsim.pdu("synthetic_bad_values")
    result = await poll_cycle(client, [pdu], CYCLE, concurrency=1, profile_for=tiny_profiles)
    (only,) = result.results
    assert only.ok
    assert only.readings == (
        OutletReading("1", 100.0, 0.5, None),
        OutletReading("2", 250.0, 1.1, None),
        OutletReading("3", None, 0.7, None),  # power "n/a"
        OutletReading("4", None, 4.0, None),  # power 2e9 W
        OutletReading("5", 40.0, None, None),  # amps -7
        OutletReading("6", 60.0, None, None),  # no amps row: the column is shorter
    )
    assert len(only.warnings) == 3
    assert any("b'n/a'" in w for w in only.warnings)


async def test_real_apc_profile_through_the_cycle(snmpsim: Snmpsim, client: SnmpClient) -> None:
    profiles = pytest.importorskip("powermond.snmp.profiles")
    pdu = snmpsim.pdu(APC, profile="apc-rpdu2")
    result = await poll_cycle(
        client, [pdu], CYCLE, concurrency=1, profile_for=profiles.make_profile
    )
    (only,) = result.results
    assert only.ok, only.error
    assert len(only.readings) == 24
    assert only.readings[0] == OUTLET_1
