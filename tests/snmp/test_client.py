"""The SNMP client against snmpsim on 127.0.0.1: the project's recordings (tests/owned.py),
synthetic ones, and the real device recordings for the test that walks every one of them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import snmprec
from pydantic import SecretStr
from synthetic import BAD_VALUES_TABLE
from tiny_profile import APC_RPDU2, APC_TINY

import owned
from powermond.snmp.client import (
    SYS_DESCR,
    SYS_OBJECT_ID,
    ClientDefaults,
    SnmpAuthError,
    SnmpClient,
    SnmpError,
    SnmpTimeout,
)
from simulator import HOST, Snmpsim, free_udp_port

pytestmark = pytest.mark.timeout(60)

APC = owned.APC
REAL_APC = "apc_ap8641-rpdu2-metered-by-outlet"
# Answers from snmpsim get time and a retry: on a loaded machine (CI's four workers beside
# other jobs) a walk's answer was seen to take longer than half a second. The tests that
# expect no answer wait on FAST, which gives up after half a second.
STEADY = ClientDefaults(timeout=2.0, retries=1, max_repetitions=64)
FAST = ClientDefaults(timeout=0.5, retries=0, max_repetitions=64)
WALK_COLUMNS = 16


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    async with SnmpClient(STEADY) as c:
        yield c


@pytest.fixture
async def fast_client() -> AsyncIterator[SnmpClient]:
    async with SnmpClient(FAST) as c:
        yield c


def _variation_oids(path: Path) -> set[str]:
    """OIDs whose value snmpsim computes (variation modules): compare their presence only."""
    lines = path.read_text().splitlines()
    return {line.split("|")[0] for line in lines if ":" in line.split("|")[1]}


def _all_profile_columns() -> list[str]:
    profiles = pytest.importorskip("powermond.snmp.profiles")
    return sorted({c for p in profiles.PROFILES.values() for c in p.columns})


@pytest.mark.parametrize("stem", sorted(owned.RECORDINGS))
async def test_walk_returns_every_row_of_the_recording(
    snmpsim: Snmpsim, client: SnmpClient, stem: str, tmp_path: Path
) -> None:
    await _walk_matches_the_file(snmpsim, client, owned.write_owned(tmp_path) / f"{stem}.snmprec")


@pytest.fixture
def real_recordings(snmprec_dir: Path) -> list[Path]:
    paths = sorted(snmprec_dir.glob("*.snmprec"))
    assert paths, f"no .snmprec file in {snmprec_dir}"
    return paths


async def test_walk_returns_every_row_of_every_real_recording(
    snmpsim: Snmpsim, client: SnmpClient, real_recordings: list[Path]
) -> None:
    failed: dict[str, str] = {}
    for path in real_recordings:
        try:
            await _walk_matches_the_file(snmpsim, client, path)
        except (AssertionError, SnmpError) as exc:
            failed[path.name] = str(exc).splitlines()[0]
    assert not failed, f"{len(failed)} of {len(real_recordings)} recordings: {failed}"


async def _walk_matches_the_file(snmpsim: Snmpsim, client: SnmpClient, path: Path) -> None:
    # Every column of every profile, 16 columns a walk: far more than snmpsim's 64 varbinds
    # per answer, so answers come back cut short and columns must carry on across rounds.
    # (All 100+ columns in one request take snmpsim longer than the client's timeout.)
    stem = path.stem
    records = snmprec.parse(path)
    columns = _all_profile_columns()
    computed = _variation_oids(path)
    table: dict[str, Any] = {}
    for start in range(0, len(columns), WALK_COLUMNS):
        chunk = columns[start : start + WALK_COLUMNS]
        table |= await client.walk_columns(snmpsim.pdu(stem), chunk)
    assert sorted(table) == columns
    for column in columns:
        expected = snmprec.walk(records, column)
        assert sorted(table[column]) == sorted(expected), column
        for index, value in expected.items():
            oid = f"{column}.{'.'.join(map(str, index))}"
            if oid not in computed:
                assert table[column][index] == value, oid
    # The Easy PDU meters phases only: no profile reads any of its rows.
    assert sum(map(len, table.values())) > 0 or stem == "apc_epdu1116s-easy-pdu"


async def test_apc_values_spot_checked(snmpsim: Snmpsim, client: SnmpClient) -> None:
    table = await client.walk_columns(snmpsim.pdu(APC), APC_TINY.columns)
    watts, amps, energy = (table[c] for c in APC_TINY.columns)
    assert len(watts) == len(amps) == len(energy) == 24
    # W; tenths of A (163 W / 230 V); tenths of kWh (1000 h at 163 W)
    assert (watts[(1,)], amps[(1,)], energy[(1,)]) == (163, 7, 1630)
    assert (watts[(22,)], amps[(22,)], energy[(22,)]) == (78, 3, 780)


async def test_real_apc_values_spot_checked(
    snmpsim: Snmpsim, client: SnmpClient, snmprec_dir: Path
) -> None:
    table = await client.walk_columns(snmpsim.pdu(REAL_APC), APC_TINY.columns)
    watts, amps, energy = (table[c] for c in APC_TINY.columns)
    assert len(watts) == len(amps) == len(energy) == 24
    assert (watts[(1,)], amps[(1,)], energy[(1,)]) == (163, 9, 3046)
    assert (watts[(22,)], amps[(22,)], energy[(22,)]) == (78, 4, 1477)


SAME_READINGS = [
    pytest.param({"version": "1"}, id="v1-getnext"),
    pytest.param({"version": "2c"}, id="v2c-bulk"),
    pytest.param({"version": "2c", "bulk": False}, id="v2c-getnext"),
    pytest.param({"version": "2c", "max_repetitions": 5}, id="v2c-cap-5"),
    pytest.param({"version": "2c", "max_repetitions": 1}, id="v2c-cap-1"),
    pytest.param({"version": "3"}, id="v3-authpriv"),
    pytest.param({"version": "3", "level": "auth"}, id="v3-authnopriv"),
]


@pytest.mark.parametrize("options", SAME_READINGS)
async def test_every_version_and_mode_gives_the_same_readings(
    snmpsim: Snmpsim, client: SnmpClient, options: dict[str, object]
) -> None:
    reference = await client.walk_columns(snmpsim.pdu(APC), APC_TINY.columns)
    table = await client.walk_columns(snmpsim.pdu(APC, **options), APC_TINY.columns)
    assert table == reference
    decoded = APC_TINY.decode(table)
    assert len(decoded.readings) == 24
    assert decoded.readings[0].watts == 163


async def test_walk_stops_at_the_end_of_each_column(snmpsim: Snmpsim, client: SnmpClient) -> None:
    # The bad-values file has a row after the table; the APC table is followed by other
    # columns. Neither may leak into the result (lexicographicMode pitfall).
    table = await client.walk_columns(
        snmpsim.pdu("synthetic_bad_values"), [f"{BAD_VALUES_TABLE}.3"]
    )
    assert sorted(table[f"{BAD_VALUES_TABLE}.3"]) == [(1,), (2,), (3,), (4,), (5,)]
    table = await client.walk_columns(snmpsim.pdu(APC), [f"{APC_RPDU2}.11"])
    assert len(table[f"{APC_RPDU2}.11"]) == 24


@pytest.mark.parametrize("version", ["1", "2c", "3"])
async def test_get_reads_system_group(snmpsim: Snmpsim, client: SnmpClient, version: str) -> None:
    answer = await client.get(
        snmpsim.pdu(APC, version=version), [SYS_OBJECT_ID, SYS_DESCR, "1.3.6.1.2.1.1.99.0"]
    )
    assert answer[SYS_OBJECT_ID] == "1.3.6.1.4.1.318.1.3.4.6"
    assert isinstance(answer[SYS_DESCR], bytes)
    assert b"AP8641" in answer[SYS_DESCR]
    assert answer["1.3.6.1.2.1.1.99.0"] is None


async def test_missing_columns_come_back_empty(snmpsim: Snmpsim, client: SnmpClient) -> None:
    table = await client.walk_columns(snmpsim.pdu("synthetic_empty"), APC_TINY.columns)
    assert table == {c: {} for c in APC_TINY.columns}


async def test_wrong_community_times_out_without_naming_it(
    snmpsim: Snmpsim, fast_client: SnmpClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = fast_client
    caplog.set_level(logging.DEBUG)
    pdu = snmpsim.pdu(APC, community=SecretStr("s3cret-wrong"))
    with pytest.raises(SnmpTimeout) as caught:
        await client.walk_columns(pdu, APC_TINY.columns)
    assert "wrong community" in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in caplog.text


@pytest.mark.parametrize("wrong", ["auth_key", "priv_key"])
async def test_wrong_v3_key_is_an_auth_error(
    snmpsim: Snmpsim, client: SnmpClient, wrong: str
) -> None:
    pdu = snmpsim.pdu(APC, version="3", **{wrong: SecretStr("not-the-key-42")})
    with pytest.raises(SnmpAuthError) as caught:
        await client.walk_columns(pdu, APC_TINY.columns)
    assert "not-the-key" not in str(caught.value)


async def test_unreachable_pdu_times_out(fast_client: SnmpClient) -> None:
    client = fast_client
    from powermond.inventory.model import PduConfig

    pdu = PduConfig(name="gone", host=HOST, port=free_udp_port(), profile="test")
    with pytest.raises(SnmpTimeout, match="no answer"):
        await client.walk_columns(pdu, APC_TINY.columns)


async def test_max_repetitions_sized_from_the_last_walk(
    snmpsim: Snmpsim, client: SnmpClient
) -> None:
    pdu = snmpsim.pdu(APC)
    assert client._repetitions(pdu, APC_TINY.columns, None) == 64
    await client.walk_columns(pdu, APC_TINY.columns)
    assert client._repetitions(pdu, APC_TINY.columns, None) == 25  # 24 outlets + the end
    capped = snmpsim.pdu(APC, max_repetitions=5)
    assert client._repetitions(capped, APC_TINY.columns, None) == 5
