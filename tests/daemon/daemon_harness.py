"""The daemon as a real subprocess, and the peers it talks to, for tests and the benchmark.

- :class:`NotifyListener`: a real ``AF_UNIX`` datagram socket passed as ``NOTIFY_SOCKET``.
- :class:`DaemonProcess`: ``powermond --config-dir D`` with stderr in a file; waits on log
  lines, notifications and exit, all bounded; only ever signals its own PID.
- :class:`TcpProxy`: a loopback TCP proxy (asyncio) that a test cuts and restores to make the
  database unreachable, closing the connections already open as well, or freezes and thaws
  to make it silent (a partition or a hung server: connections stay open, nothing comes back).
- :func:`write_config`: the three config files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from powermond.db.tables import Outlet, Pdu, PowerReading

HOST = "127.0.0.1"
BIN = Path(sys.executable).parent
POWERMOND = BIN / "powermond"
POWERMON = BIN / "powermon"
POLL_S = 0.05

# "cycle 2025-01-01T00:00:02Z: 3/4 PDUs ok, 72 readings, 72 stored, 0.3 s"
CYCLE_LINE = re.compile(
    r"cycle (?P<cycle>\S+Z): (?P<ok>\d+)/(?P<total>\d+) PDUs ok, (?P<readings>\d+) readings, "
    r"(?P<stored>\d+ stored(?:, \d+ PDU\(s\) refused \(kept in spool/bad/\))?"
    r"|spooled \(\d+ waiting\)|lost \(the spool cannot be written\)), (?P<seconds>[\d.]+) s"
)


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def closed_udp_port() -> int:
    """A UDP port with nothing behind it (a PDU that never answers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def toml_tables(prefix: str, tables: Mapping[str, Mapping[str, Any]]) -> str:
    out: list[str] = []
    for name, keys in tables.items():
        out.append(f'[{prefix}."{name}"]' if prefix else f"[{name}]")
        out += [f"{key} = {toml_value(value)}" for key, value in keys.items()]
        out.append("")
    return "\n".join(out)


@dataclass
class Config:
    """The three config files of one daemon, rewritten with :meth:`write`."""

    directory: Path
    settings: dict[str, dict[str, Any]]
    pdus: dict[str, dict[str, Any]]
    machines: dict[str, dict[str, Any]] = field(default_factory=dict)

    def write(self, *, via_rename: bool = False) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.write_file("powermon.toml", toml_tables("", self.settings))
        self.write_file("pdus.toml", toml_tables("pdu", self.pdus), via_rename=via_rename)
        self.write_file(
            "machines.toml", toml_tables("machine", self.machines), via_rename=via_rename
        )

    def write_file(self, name: str, text: str, *, via_rename: bool = False) -> None:
        target = self.directory / name
        if not via_rename:
            target.write_text(text)
            return
        # What editors do: a temporary file beside the original, renamed over it.
        tmp = self.directory / f".{name}.swp-{os.getpid()}"
        tmp.write_text(text)
        os.replace(tmp, target)


def settings_for(
    db_url: str,
    state_dir: Path,
    *,
    interval: float = 2,
    timeout: float = 1.0,
    retries: int = 0,
    grace: float = 10,
    rrd_root: Path | None = None,
) -> dict[str, dict[str, Any]]:
    return {
        "database": {"url": db_url},
        "collector": {"interval": interval, "timeout": timeout, "retries": retries},
        "rrd": {"root": str(rrd_root or state_dir / "rrds")},
        "daemon": {"state_dir": str(state_dir), "shutdown_grace": grace},
    }


def db_upgrade(config_dir: Path) -> None:
    subprocess.run(
        [str(POWERMON), "--config-dir", str(config_dir), "db", "upgrade"],
        check=True,
        capture_output=True,
        timeout=120,
    )


class NotifyListener:
    """What systemd would be: a datagram socket collecting ``KEY=VALUE`` notifications."""

    def __init__(self) -> None:
        # AF_UNIX paths are limited to 108 bytes; pytest's tmp_path can be longer.
        self._dir = Path(tempfile.mkdtemp(prefix="pm-notify-", dir="/tmp"))
        self.path = str(self._dir / "notify.sock")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._sock.setblocking(False)
        self.messages: list[dict[str, str]] = []

    def close(self) -> None:
        self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def collect(self) -> list[dict[str, str]]:
        while True:
            try:
                data = self._sock.recv(65536).decode()
            except BlockingIOError:
                return self.messages
            self.messages.append(dict(line.split("=", 1) for line in data.split("\n") if line))

    async def wait_for(
        self, predicate: Callable[[dict[str, str]], bool], within: float, *, start: int = 0
    ) -> tuple[int, dict[str, str]]:
        """The first message from index ``start`` on that matches, and its index."""
        deadline = time.monotonic() + within
        while True:
            for index, message in enumerate(self.collect()[start:], start):
                if predicate(message):
                    return index, message
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching notification in {within} s: {self.messages}")
            await asyncio.sleep(POLL_S)


class DaemonProcess:
    """``powermond --config-dir D`` as a child process; ``stop()`` always ends it."""

    def __init__(
        self,
        config_dir: Path,
        log_path: Path,
        *,
        notify: NotifyListener | None = None,
        env: Mapping[str, str] | None = None,
        journald: bool = False,
    ) -> None:
        environ = {k: v for k, v in os.environ.items() if k not in _SYSTEMD_VARS}
        if notify is not None:
            environ["NOTIFY_SOCKET"] = notify.path
        environ.update(env or {})
        self.log_path = log_path
        self._log = log_path.open("ab")
        if journald:
            # journald's stream is stderr's own device:inode (logsetup.under_journald).
            info = os.fstat(self._log.fileno())
            environ["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino}"
        self.process = subprocess.Popen(
            [str(POWERMOND), "--config-dir", str(config_dir)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            env=environ,
        )
        self.pid = self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def send(self, sig: signal.Signals) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, sig)

    async def wait_log(self, pattern: str, within: float, *, count: int = 1) -> list[str]:
        """Log lines matching ``pattern``, once there are at least ``count``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + within
        while True:
            lines = [line for line in self.log_text().splitlines() if regex.search(line)]
            if len(lines) >= count:
                return lines
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"{count} x {pattern!r} not logged (exit {self.process.poll()}):\n"
                    + self.log_text()[-4000:]
                )
            await asyncio.sleep(POLL_S)

    async def wait_cycles(self, count: int, within: float) -> list[re.Match[str]]:
        await self.wait_log(CYCLE_LINE.pattern, within, count=count)
        return self.cycles()

    def cycles(self) -> list[re.Match[str]]:
        return [m for m in map(CYCLE_LINE.search, self.log_text().splitlines()) if m]

    async def wait_exit(self, within: float) -> int:
        deadline = time.monotonic() + within
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"daemon still running after {within} s")
            await asyncio.sleep(POLL_S)
        return self.process.returncode

    def stop(self) -> None:
        """End the daemon (SIGKILL if it does not stop on SIGTERM) and close the log."""
        if self.process.poll() is None:
            self.send(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.send(signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


_SYSTEMD_VARS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM")


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target``; :meth:`cut` makes the target unreachable."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_tcp_port()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.connections = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, HOST, self.port, reuse_address=True)

    async def cut(self) -> None:
        """Stop listening (new connections are refused) and drop every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def restore(self) -> None:
        await self.start()

    def freeze(self) -> None:
        """Stop forwarding in both directions, keeping every connection open and accepting
        new ones that never get an answer: what a partition or a hung server looks like."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Forward again, held bytes first."""
        self._flowing.set()

    async def close(self) -> None:
        await self.cut()
        self.thaw()  # releases handlers held by a freeze

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await self._flowing.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer, up_writer}
        self._open |= pair
        try:
            await asyncio.gather(
                _pipe(reader, up_writer, self._flowing), _pipe(up_reader, writer, self._flowing)
            )
        finally:
            for w in pair:
                w.transport.abort()
            self._open -= pair


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flowing: asyncio.Event
) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            await flowing.wait()  # frozen: the bytes are held, the connection stays open
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


def group_counts(rows: Sequence[tuple[Any, int]]) -> dict[Any, int]:
    return dict(rows)


async def readings_by_cycle(engine: AsyncEngine) -> dict[datetime, dict[str, int]]:
    """Stored readings per cycle and PDU (counting rows, so a duplicate would show)."""
    stmt = (
        select(PowerReading.cycle, Pdu.name, func.count())
        .join(Outlet, Outlet.id == PowerReading.outlet_id)
        .join(Pdu, Pdu.id == Outlet.pdu_id)
        .group_by(PowerReading.cycle, Pdu.name)
    )
    found: dict[datetime, dict[str, int]] = {}
    async with engine.connect() as conn:
        for cycle, pdu, count in await conn.execute(stmt):
            found.setdefault(cycle, {})[pdu] = count
    return found


async def duplicate_readings(engine: AsyncEngine) -> int:
    """(outlet, cycle) pairs stored more than once."""
    pairs = (
        select(PowerReading.outlet_id, PowerReading.cycle)
        .group_by(PowerReading.outlet_id, PowerReading.cycle)
        .having(func.count() > 1)
        .subquery()
    )
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(pairs)) or 0)


def logged_cycle(match: re.Match[str]) -> datetime:
    return datetime.fromisoformat(match["cycle"].replace("Z", "+00:00"))


def power_json(config_dir: Path, machine: str, since: str = "-10m") -> dict[str, Any]:
    """``powermon power MACHINE --format json``, as an operator would run it."""
    done = subprocess.run(
        [
            str(POWERMON),
            "--config-dir",
            str(config_dir),
            "power",
            machine,
            "--since",
            since,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    document: dict[str, Any] = json.loads(done.stdout)
    return document
