"""SNMP collection benchmark: N simulated 48-outlet PDUs served by net-snmp's snmpd.

    .venv/bin/python bench/bench_snmp.py [N ...]        (default: 100 1000)

One snmpd (C, so the agent is not the bottleneck) on 127.0.0.1 answers an APC rPDU2 outlet
table of 48 outlets (power, current, energy) through ``override`` lines; every simulated
PDU has its own community (``rocommunity pduI``), so the client sees N distinct PDUs.
Per N it prints: wall time of a cycle, PDUs/s, readings/s, client CPU per PDU walk, peak
RSS, and the same walks done by net-snmp's ``snmpbulkwalk`` (a sample, run one after the
other, CPU of the child processes) for comparison. The first cycle sizes max-repetitions
from the cap (64); later cycles from the outlet count seen, as in the daemon.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from powermond.collect.cycle import poll_cycle
from powermond.inventory.model import PduConfig
from powermond.readings import OutletReading
from powermond.snmp.client import ClientDefaults, SnmpClient
from powermond.snmp.profiles.base import Decoded, Profile, Table

OUTLETS = 48
TABLE = "1.3.6.1.4.1.318.1.1.26.9.4.3.1"  # rPDU2OutletMeteredStatusEntry
COLUMNS = {7: "power W", 6: "current 0.1 A", 11: "energy 0.1 kWh"}
SAMPLE_BULKWALKS = 50


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def snmpd_conf(port: int, pdus: int) -> str:
    lines = [f"agentaddress udp:127.0.0.1:{port}"]
    lines += [f"rocommunity pdu{i} 127.0.0.1" for i in range(pdus)]
    for column in COLUMNS:
        for outlet in range(1, OUTLETS + 1):
            value = {7: 100 + outlet, 6: outlet % 16, 11: 1000 * outlet}[column]
            lines.append(f"override {TABLE}.{column}.{outlet} integer {value}")
    return "\n".join(lines) + "\n"


class Snmpd:
    """snmpd in the foreground on a free port; stopped by PID."""

    def __init__(self, workdir: Path, pdus: int) -> None:
        self.port = free_udp_port()
        conf = workdir / "snmpd.conf"
        conf.write_text(snmpd_conf(self.port, pdus))
        binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
        env = os.environ | {"SNMP_PERSISTENT_DIR": str(workdir / "persist"), "MIBS": ""}
        self.process = subprocess.Popen(
            [binary, "-f", "-Lo", "-C", "-c", str(conf), "-p", str(workdir / "snmpd.pid")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [
                    "snmpget",
                    "-v2c",
                    "-cpdu0",
                    "-t0.2",
                    "-r0",
                    f"127.0.0.1:{self.port}",
                    f"{TABLE}.7.1",
                ],
                capture_output=True,
                check=False,
            )
            if probe.returncode == 0:
                return
            if self.process.poll() is not None:
                raise RuntimeError("snmpd exited at start")
        raise RuntimeError("snmpd did not answer within 30 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


class Rpdu2Bench:
    """The three metered columns decoded like apc-rpdu2 (index = outlet number)."""

    name = "bench-rpdu2"
    columns = tuple(f"{TABLE}.{c}" for c in COLUMNS)

    def decode(self, table: Table) -> Decoded:
        watts, amps, energy = (table[c] for c in self.columns)
        readings = []
        for index, w in watts.items():
            a, e = amps.get(index), energy.get(index)
            readings.append(
                OutletReading(
                    str(index[0]),
                    float(w) if isinstance(w, int) else None,
                    a / 10 if isinstance(a, int) else None,
                    e / 10 if isinstance(e, int) else None,
                )
            )
        return Decoded(tuple(readings))


def bench_profile(_pdu: PduConfig) -> Profile:
    return Rpdu2Bench()


async def pysnmp_cycles(port: int, n: int, cycles: int) -> list[tuple[float, float, int, int]]:
    """(wall s, client CPU s, readings, errors) per cycle, one shared client."""
    pdus = [
        PduConfig(name=f"pdu{i}", host="127.0.0.1", port=port, profile="bench", community=f"pdu{i}")  # type: ignore[arg-type]
        for i in range(n)
    ]
    out = []
    async with SnmpClient(ClientDefaults(timeout=5.0, retries=1)) as client:
        for _ in range(cycles):
            cpu, wall = time.process_time(), time.perf_counter()
            result = await poll_cycle(
                client, pdus, datetime.now(UTC), concurrency=256, profile_for=bench_profile
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            readings = sum(len(r.readings) for r in result.results)
            out.append((wall, cpu, readings, len(result.errors)))
    return out


def bulkwalk_sample(port: int, n: int) -> tuple[float, float]:
    """net-snmp snmpbulkwalk over the same table, one PDU after the other: (wall, CPU) per PDU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    for i in range(n):
        subprocess.run(
            [
                "snmpbulkwalk",
                "-v2c",
                f"-cpdu{i}",
                "-Cr49",
                "-On",
                "-Oq",
                f"127.0.0.1:{port}",
                TABLE,
            ],
            capture_output=True,
            check=True,
            env=os.environ | {"MIBS": ""},
        )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall / n, cpu / n


def main(sizes: list[int]) -> None:
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {OUTLETS} outlets x "
        f"{len(COLUMNS)} columns per PDU, one shared snmpd"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-snmp-") as tmp:
            snmpd = Snmpd(Path(tmp), n)
            try:
                runs = asyncio.run(pysnmp_cycles(snmpd.port, n, cycles=3))
                walk_wall, walk_cpu = bulkwalk_sample(snmpd.port, min(n, SAMPLE_BULKWALKS))
            finally:
                snmpd.stop()
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\nN = {n} PDUs")
        for k, (wall, cpu, readings, errors) in enumerate(runs, start=1):
            print(
                f"  cycle {k}: wall {wall:6.2f} s  {n / wall:7.0f} PDUs/s  "
                f"{readings / wall:8.0f} readings/s  client CPU {cpu / n * 1000:5.2f} ms/PDU  "
                f"readings {readings}  errors {errors}"
            )
        print(f"  peak RSS {rss_mb:.0f} MB")
        print(
            f"  snmpbulkwalk (sample of {min(n, SAMPLE_BULKWALKS)}, sequential): "
            f"{walk_wall * 1000:.1f} ms wall, {walk_cpu * 1000:.2f} ms CPU per PDU walk "
            f"(process start included); extrapolated to N sequentially: {walk_wall * n:.1f} s"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000])
