"""The simulated PDUs' SNMP agent: snmpsim on 127.0.0.1, started and stopped by PID."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from powermond.errors import PowermonError

RESPONDER = "snmpsim-command-responder"
READY_LINE = "Listening at"
START_TIMEOUT = 60.0  # the first start indexes every file; a kept cache makes it fast
STOP_TIMEOUT = 5.0


class AgentError(PowermonError):
    """snmpsim is missing, or did not start."""


def free_udp_port() -> int:
    """A UDP port on loopback that nothing uses right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def responder_path() -> Path:
    """snmpsim's responder next to this Python (the venv), else on PATH."""
    beside = Path(sys.executable).parent / RESPONDER
    if beside.exists():
        return beside
    found = shutil.which(RESPONDER)
    if found is None:
        raise AgentError(
            f"{RESPONDER} not found: the demo simulates PDUs with snmpsim; "
            "install it with `pip install snmpsim pysmi` (./dev setup does)"
        )
    return Path(found)


@dataclass
class Agent:
    """A running snmpsim serving every ``<community>.snmprec`` in ``data_dir``."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT`; idempotent."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)

    def __enter__(self) -> Agent:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_agent(
    data_dir: Path, cache_dir: Path, port: int, log: Path, timeout: float = START_TIMEOUT
) -> Agent:
    """Start snmpsim and return once it listens; raise :class:`AgentError` if it does not."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        str(responder_path()),
        f"--data-dir={data_dir.resolve()}",
        f"--cache-dir={cache_dir.resolve()}",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
    ]
    # As root snmpsim drops to `nobody` and then fails to read its cache; let it stay.
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    with log.open("wb") as out:
        # Its own session: a terminal's Ctrl-C reaches only the demo, which stops it by PID.
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    agent = Agent(process, port, log)
    try:
        _wait_ready(agent, timeout)
    except BaseException:
        agent.stop()
        raise
    return agent


def _wait_ready(agent: Agent, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if READY_LINE in agent.log.read_text(errors="replace"):
            return
        if agent.process.poll() is not None:
            raise AgentError(f"snmpsim exited with {agent.process.returncode}: {_tail(agent.log)}")
        time.sleep(0.1)
    raise AgentError(f"snmpsim did not listen within {timeout:g} s: {_tail(agent.log)}")


def _tail(log: Path, lines: int = 5) -> str:
    return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
