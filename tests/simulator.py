"""snmpsim serving recordings on 127.0.0.1 for tests: start, wait until listening, stop.

Usage from a conftest: ``with Snmpsim.start([dir1, dir2], cache_dir, log_path) as sim:``.
v1/v2c: the community is the recording's file stem. v3: users ``V3_PRIV`` (authPriv SHA/AES)
and ``V3_AUTH`` (authNoPriv SHA256); the context name selects the file. snmpsim registers
``md5(stem)`` as every file's context name (the stem itself only when it fits the 32-octet
limit of a context name), so :meth:`Snmpsim.context` returns the hash.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from powermond.inventory.model import PduConfig

HOST = "127.0.0.1"
V3_PRIV = ("pm-priv", "authkey-priv-1", "privkey-priv-1")  # user, auth key, priv key
V3_AUTH = ("pm-auth", "authkey-auth-1")
START_TIMEOUT = 90.0  # the first start indexes every file


def free_udp_port() -> int:
    """A UDP port nothing listens on right now (bind to 0, let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def responder_command() -> str:
    return str(Path(sys.executable).with_name("snmpsim-command-responder"))


@dataclass(frozen=True)
class Snmpsim:
    port: int
    process: subprocess.Popen[bytes]

    @staticmethod
    def context(stem: str) -> str:
        return hashlib.md5(stem.encode()).hexdigest()

    def pdu(self, stem: str, *, version: str = "2c", **overrides: Any) -> PduConfig:
        """A PduConfig reaching recording ``stem`` (v3: authPriv unless ``level="auth"``)."""
        fields: dict[str, Any] = {
            "name": stem,
            "host": HOST,
            "port": self.port,
            "profile": "test",
            "version": version,
        }
        level = overrides.pop("level", "priv")
        if version == "3":
            if level == "priv":
                user, auth_key, priv_key = V3_PRIV
                fields |= {
                    "user": user,
                    "auth_protocol": "SHA",
                    "auth_key": SecretStr(auth_key),
                    "priv_protocol": "AES128",
                    "priv_key": SecretStr(priv_key),
                }
            else:
                user, auth_key = V3_AUTH
                fields |= {"user": user, "auth_protocol": "SHA256", "auth_key": SecretStr(auth_key)}
            fields["context"] = self.context(stem)
        else:
            fields["community"] = SecretStr(stem)
        fields.update(overrides)
        return PduConfig(**fields)

    @classmethod
    @contextmanager
    def start(cls, data_dirs: Sequence[Path], cache_dir: Path, log_path: Path) -> Iterator[Snmpsim]:
        port = free_udp_port()
        priv_user, priv_auth, priv_key = V3_PRIV
        auth_user, auth_key = V3_AUTH
        # Per-engine options count only after --v3-engine-id (TESTING.md).
        command = [
            responder_command(),
            f"--cache-dir={cache_dir}",
            "--v3-engine-id=auto",
            *(f"--data-dir={d}" for d in data_dirs),
            f"--agent-udpv4-endpoint={HOST}:{port}",
            f"--v3-user={priv_user}",
            f"--v3-auth-key={priv_auth}",
            "--v3-auth-proto=SHA",
            f"--v3-priv-key={priv_key}",
            "--v3-priv-proto=AES",
            f"--v3-user={auth_user}",
            f"--v3-auth-key={auth_key}",
            "--v3-auth-proto=SHA256",
        ]
        env = os.environ | {"SNMPSIM_ALLOW_ROOT": "true"}
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            stem = next(p.stem for d in data_dirs for p in sorted(d.glob("*.snmprec")))
            _wait_listening(process, log_path, port, stem)
            yield cls(port, process)
        finally:
            _stop(process)


def _answers(port: int, community: str) -> bool:
    """snmpsim logs "Listening at" before its socket is bound (the endpoint is created when
    its event loop starts): a datagram sent right then is lost. Ready = it answers a GET."""
    probe = subprocess.run(
        [
            "snmpget",
            "-v2c",
            f"-c{community}",
            "-t0.3",
            "-r0",
            f"{HOST}:{port}",
            "1.3.6.1.2.1.1.2.0",
        ],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def _wait_listening(
    process: subprocess.Popen[bytes], log_path: Path, port: int, community: str
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if b"Listening at" in log_path.read_bytes() and _answers(port, community):
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    tail = log_path.read_bytes()[-2000:].decode(errors="replace")
    raise RuntimeError(f"snmpsim did not start listening:\n{tail}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
