"""SNMP collection benchmark: N simulated 48-outlet PDUs served by net-snmp's snmpd.

    .venv/bin/python bench/bench_snmp.py [--cycles K] [--no-store] [--columns one|three|rpdu2]
                                         [N ...]   (default: 100 1000; the issue-15 curve:
                                         --no-store 100 1000 3000 10000)

One snmpd (C, so the agent is not the bottleneck) on 127.0.0.1 answers an APC rPDU2 outlet
table of 48 outlets (power, current, energy) through ``override`` lines; every simulated
PDU has its own community (``rocommunity pduI``), so the client sees N distinct PDUs.
Per N it prints, per cycle: wall time, PDUs/s, readings/s, client CPU per PDU walk (our
process only: the agent shares the 2 cores, so its CPU is printed apart), errors; then peak
RSS, and the same walks done by net-snmp's ``snmpbulkwalk`` (a sample, run one after the
other, CPU of the child processes) for comparison. The first cycle sizes max-repetitions
from the cap (64); later cycles from the outlet count seen, as in the daemon.

``--columns``: which walk: ``one`` (the watts column alone), ``three`` (watts, current,
energy: the default), ``rpdu2`` (the real ``apc-rpdu2`` profile: those three plus module and
number, five columns). With several N, a last table prints the scaling curve: per N the
median cycle's wall time, PDUs/s, client CPU per walk and the process's peak RSS, so that
linearity (CPU per walk flat in N) is visible.

"Polled and stored": K cycles 300 s apart into a fresh SQLite database (migrated, inventory
applied), each polled and then written with ``collect.store.store_cycle`` as the daemon
does; poll and store are timed apart.
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from powermond.collect.cycle import CycleResult, poll_cycle
from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.migrate import upgrade
from powermond.inventory.model import Inventory, PduConfig
from powermond.readings import OutletReading
from powermond.snmp.client import ClientDefaults, SnmpClient
from powermond.snmp.profiles.base import Decoded, Profile, Table

OUTLETS = 48
TABLE = "1.3.6.1.4.1.318.1.1.26.9.4.3.1"  # rPDU2OutletMeteredStatusEntry
COLUMNS = {7: "power W", 6: "current 0.1 A", 11: "energy 0.1 kWh"}
SAMPLE_BULKWALKS = 50
PDUS_PER_AGENT = 100
AGENT_RECEIVE_BUFFER = 4 * 1024 * 1024


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def snmpd_conf(port: int, pdus: range) -> str:
    lines = [
        f"agentaddress udp:127.0.0.1:{port}",
        # Hundreds of requests arrive at once: the default receive buffer drops them.
        f"[snmp] serverRecvBuf {AGENT_RECEIVE_BUFFER}",
    ]
    lines += [f"rocommunity pdu{i} 127.0.0.1" for i in pdus]
    # The bench profile walks COLUMNS; module (.2) and number (.4) are there too, so the real
    # apc-rpdu2 profile (bench_daemon.py) decodes the same agents.
    for outlet in range(1, OUTLETS + 1):
        values = {2: 1, 4: outlet, 6: outlet % 16, 7: 100 + outlet, 11: 1000 * outlet}
        lines += [f"override {TABLE}.{col}.{outlet} integer {v}" for col, v in values.items()]
    return "\n".join(lines) + "\n"


class Snmpd:
    """snmpd in the foreground on a free port, answering communities pduI for I in
    ``pdus``; stopped by PID."""

    def __init__(self, workdir: Path, pdus: range) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.pdus = pdus
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

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [
                    "snmpget",
                    "-v2c",
                    f"-cpdu{self.pdus[0]}",
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

    def cpu_seconds(self) -> float:
        """CPU the agent has used so far (utime + stime from /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


class Agents:
    """N simulated PDUs spread over snmpd processes of PDUS_PER_AGENT communities each:
    snmpd checks every varbind against its community list, so one snmpd with thousands of
    communities costs more CPU than the client (measured: 5.7 ms per walk at 1,000)."""

    def __init__(self, workdir: Path, n: int) -> None:
        self.agents: list[Snmpd] = []
        try:
            for first in range(0, n, PDUS_PER_AGENT):
                slice_ = range(first, min(n, first + PDUS_PER_AGENT))
                self.agents.append(Snmpd(workdir / f"agent{first}", slice_))
            for agent in self.agents:
                agent.wait_ready()
        except BaseException:
            self.stop()
            raise

    def endpoints(self) -> list[tuple[str, int]]:
        """(community, port) of every simulated PDU."""
        return [(f"pdu{i}", agent.port) for agent in self.agents for i in agent.pdus]

    def pdus(self) -> list[PduConfig]:
        return [
            PduConfig(
                name=f"pdu{i}",
                host="127.0.0.1",
                port=agent.port,
                profile="bench",
                community=f"pdu{i}",  # type: ignore[arg-type]
            )
            for agent in self.agents
            for i in agent.pdus
        ]

    def cpu_seconds(self) -> float:
        return sum(agent.cpu_seconds() for agent in self.agents)

    def stop(self) -> None:
        for agent in self.agents:
            agent.stop()


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


class OneColumnBench(Rpdu2Bench):
    """The watts column alone: the classic PowerMon walk of one root OID."""

    name = "bench-one-column"
    columns = (f"{TABLE}.7",)

    def decode(self, table: Table) -> Decoded:
        watts = table[self.columns[0]]
        return Decoded(tuple(OutletReading(str(i[0]), float(w), None, None)  # type: ignore[arg-type]
                             for i, w in watts.items()))  # fmt: skip


def _rpdu2_profile() -> Profile:
    from powermond.snmp.profiles import get

    return get("apc-rpdu2")


PROFILES = {"one": OneColumnBench, "three": Rpdu2Bench, "rpdu2": _rpdu2_profile}
_chosen: list[Profile] = [Rpdu2Bench()]


def bench_profile(_pdu: PduConfig) -> Profile:
    return _chosen[0]


@dataclass(frozen=True)
class Run:
    """One cycle: wall and CPU seconds of the poll (and of the store, when stored)."""

    wall: float
    cpu: float
    agent_cpu: float
    readings: int
    errors: int
    store_wall: float = 0.0
    store_cpu: float = 0.0


async def timed_poll(
    client: SnmpClient, snmpd: Agents, pdus: list[PduConfig], cycle: datetime
) -> tuple[CycleResult, Run]:
    agent, cpu, wall = snmpd.cpu_seconds(), time.process_time(), time.perf_counter()
    result = await poll_cycle(client, pdus, cycle, concurrency=256, profile_for=bench_profile)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    readings = sum(len(r.readings) for r in result.results)
    return result, Run(wall, cpu, snmpd.cpu_seconds() - agent, readings, len(result.errors))


async def poll_cycles(snmpd: Agents, cycles: int) -> list[Run]:
    """Poll only, one shared client, as ``powermon poll --no-store``."""
    pdus = snmpd.pdus()
    runs = []
    async with SnmpClient(ClientDefaults(timeout=5.0, retries=1)) as client:
        for _ in range(cycles):
            _result, run = await timed_poll(client, snmpd, pdus, datetime.now(UTC))
            runs.append(run)
    return runs


async def poll_and_store_cycles(snmpd: Agents, cycles: int, workdir: Path) -> list[Run]:
    """Poll, then store into SQLite, ``cycles`` times 300 s apart (rollups see history)."""
    pdus = snmpd.pdus()
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    await upgrade(url)
    async with Database.from_url(url) as db:
        async with db.transaction() as session:
            await apply_inventory(session, Inventory(pdus={p.name: p for p in pdus}, machines={}))
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        runs = []
        async with SnmpClient(ClientDefaults(timeout=5.0, retries=1)) as client:
            for k in range(cycles):
                cycle = start + timedelta(seconds=300 * k)
                result, run = await timed_poll(client, snmpd, pdus, cycle)
                cpu, wall = time.process_time(), time.perf_counter()
                await store_cycle(db, cycle, result.readings_by_pdu(), interval=300)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                runs.append(
                    Run(run.wall, run.cpu, run.agent_cpu, run.readings, run.errors, wall, cpu)
                )
        return runs


def bulkwalk_sample(agent: Snmpd, n: int) -> tuple[float, float]:
    """net-snmp snmpbulkwalk over the same table, one PDU after the other: (wall, CPU) per PDU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    for i in range(n):
        subprocess.run(
            [
                "snmpbulkwalk",
                "-v2c",
                f"-cpdu{agent.pdus[i]}",
                "-Cr49",
                "-On",
                "-Oq",
                f"127.0.0.1:{agent.port}",
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


def print_run(label: str, n: int, run: Run) -> None:
    print(
        f"  {label}: wall {run.wall:6.2f} s  {n / run.wall:6.0f} PDUs/s  "
        f"{run.readings / run.wall:7.0f} readings/s  client CPU {run.cpu / n * 1000:5.2f} ms/walk  "
        f"(snmpd {run.agent_cpu / n * 1000:4.2f} ms)  readings {run.readings}  errors {run.errors}"
    )
    if run.store_wall:
        total = run.wall + run.store_wall
        print(
            f"      + store: wall {run.store_wall:6.2f} s, CPU {run.store_cpu:6.2f} s  "
            f"=> polled and stored in {total:6.2f} s"
        )


@dataclass(frozen=True)
class CurvePoint:
    n: int
    wall: float
    cpu_per_walk_ms: float
    rss_mb: float


def bench_one(n: int, cycles: int, store: bool) -> CurvePoint:
    with tempfile.TemporaryDirectory(prefix="bench-snmp-") as tmp:
        snmpd = Agents(Path(tmp), n)
        try:
            runs = asyncio.run(poll_cycles(snmpd, cycles))
            stored = asyncio.run(poll_and_store_cycles(snmpd, cycles, Path(tmp))) if store else []
            sample = min(n, SAMPLE_BULKWALKS)
            walk_wall, walk_cpu = bulkwalk_sample(snmpd.agents[0], sample)
        finally:
            snmpd.stop()
    print(f"\nN = {n} PDUs on {len(snmpd.agents)} snmpd processes")
    for k, run in enumerate(runs, start=1):
        print_run(f"poll cycle {k}", n, run)
    for k, run in enumerate(stored, start=1):
        print_run(f"poll+store cycle {k}", n, run)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of this process so far {rss_mb:.0f} MB")
    steady = runs[1:] or runs  # the first cycle sizes max-repetitions from the cap
    median = sorted(steady, key=lambda r: r.wall)[len(steady) // 2]
    point = CurvePoint(n, median.wall, median.cpu / n * 1000, rss_mb)
    print(
        f"  snmpbulkwalk (sample of {sample}, sequential): "
        f"{walk_wall * 1000:.1f} ms wall, {walk_cpu * 1000:.2f} ms CPU per PDU walk "
        f"(process start included); extrapolated to N sequentially: {walk_wall * n:.1f} s"
    )
    return point


def print_curve(points: list[CurvePoint]) -> None:
    load = os.getloadavg()
    print(f"\nscaling curve (median poll cycle after the first; load average {load[0]:.1f} "
          f"{load[1]:.1f} {load[2]:.1f}, agents on the same cores)")  # fmt: skip
    print(f"{'PDUs':>7} {'wall s':>8} {'PDUs/s':>8} {'CPU ms/walk':>12} {'peak RSS MB':>12}")
    for p in points:
        print(f"{p.n:7d} {p.wall:8.2f} {p.n / p.wall:8.0f} {p.cpu_per_walk_ms:12.3f} "
              f"{p.rss_mb:12.0f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100, 1000])
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--no-store", action="store_true", help="skip the SQLite part")
    parser.add_argument("--columns", choices=sorted(PROFILES), default="three")
    args = parser.parse_args()
    _chosen[0] = PROFILES[args.columns]()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {OUTLETS} outlets x "
        f"{len(_chosen[0].columns)} columns per PDU ({args.columns}), snmpd agents of "
        f"{PDUS_PER_AGENT} PDUs each, load average {os.getloadavg()[0]:.1f}"
    )
    points = [bench_one(n, args.cycles, store=not args.no_store) for n in args.sizes]
    if len(points) > 1:
        print_curve(points)


if __name__ == "__main__":
    main()
