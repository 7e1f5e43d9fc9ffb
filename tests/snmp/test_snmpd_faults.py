"""Faults against net-snmp's own agent (issue 13): a wrong SNMPv3 privacy key, which
snmpd answers with silence, and an agent's authorizationError."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from scripted_agent import TableAgent

from powermond.inventory.model import PduConfig
from powermond.snmp.client import ClientDefaults, SnmpClient, SnmpError, SnmpTimeout

pytestmark = pytest.mark.timeout(60)

IN_CI = os.environ.get("CI", "").lower() == "true"
TABLE = "1.3.6.1.4.1.318.1.1.26.9.4.3.1"
COLUMNS = [f"{TABLE}.7"]
USER, AUTH_KEY, PRIV_KEY = "pm-v3", "auth-key-1234", "priv-key-1234"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """snmpd on 127.0.0.1:<free port> with one authPriv user (SHA/AES); its port."""
    binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
    if not Path(binary).exists():
        if IN_CI:
            pytest.fail("snmpd is not installed (CI=true: ./dev installs it)")
        pytest.skip("snmpd is not installed (Debian package snmpd)")
    workdir = tmp_path_factory.mktemp("snmpd-v3")
    port = free_udp_port()
    conf = workdir / "snmpd.conf"
    conf.write_text(
        f"agentaddress udp:127.0.0.1:{port}\n"
        f"createUser {USER} SHA {AUTH_KEY} AES {PRIV_KEY}\n"
        f"rouser {USER} priv\n"
        f"override {TABLE}.7.1 integer 163\n"
    )
    env = os.environ | {"SNMP_PERSISTENT_DIR": str(workdir / "persist"), "MIBS": ""}
    process = subprocess.Popen(
        [binary, "-f", "-Lo", "-C", "-c", str(conf), "-p", str(workdir / "snmpd.pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        _wait_ready(port, process)
        yield port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = subprocess.run(
            ["snmpget", "-v3", "-l", "authPriv", "-u", USER, "-a", "SHA", "-A", AUTH_KEY,
             "-x", "AES", "-X", PRIV_KEY, "-t0.3", "-r0", f"127.0.0.1:{port}", f"{TABLE}.7.1"],
            capture_output=True,
            check=False,
            timeout=10,
        )  # fmt: skip
        if probe.returncode == 0:
            return
        assert process.poll() is None, "snmpd exited at start"
    raise AssertionError("snmpd did not answer within 30 s")


def v3_pdu(port: int, priv_key: str) -> PduConfig:
    return PduConfig(
        name="v3",
        host="127.0.0.1",
        port=port,
        profile="apc-rpdu2",
        version="3",
        user=USER,
        auth_protocol="SHA",
        auth_key=SecretStr(AUTH_KEY),
        priv_protocol="AES128",
        priv_key=SecretStr(priv_key),
    )


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    async with SnmpClient(ClientDefaults(timeout=0.5, retries=0)) as c:
        yield c


async def test_right_keys_read_the_table(snmpd: int, client: SnmpClient) -> None:
    table = await client.walk_columns(v3_pdu(snmpd, PRIV_KEY), COLUMNS)
    assert table == {COLUMNS[0]: {(1,): 163}}


async def test_wrong_privacy_key_says_it_may_be_the_key(snmpd: int, client: SnmpClient) -> None:
    with pytest.raises(SnmpTimeout) as caught:
        await client.walk_columns(v3_pdu(snmpd, "not-the-priv-key"), COLUMNS)
    assert "wrong privacy key/protocol" in str(caught.value)
    assert "not-the-priv-key" not in str(caught.value)


async def test_authorization_error_is_named_with_what_to_check(client: SnmpClient) -> None:
    agent = await TableAgent({(1, 3, 6, 1, 4, 1, 318, 1, 1, 26, 9, 4, 3, 1, 7, 1): 5}).start()
    agent.error_status = 16  # authorizationError (RFC 3416)
    try:
        pdu = PduConfig(
            name="p",
            host="127.0.0.1",
            port=agent.port,
            profile="apc-rpdu2",
            community=SecretStr(agent.community),
        )
        with pytest.raises(SnmpError) as caught:
            await client.walk_columns(pdu, COLUMNS)
    finally:
        agent.close()
    assert "authorizationError" in str(caught.value)
    assert "error-status 16" not in str(caught.value)
    assert "may not read these objects" in str(caught.value)
