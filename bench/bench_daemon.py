"""Daemon benchmark: ``powermond`` (a subprocess) over N simulated 48-outlet PDUs.

    .venv/bin/python bench/bench_daemon.py [--pdus 1000] [--cycles 100] [--interval 5]
                                           [--db-url URL]   (default: SQLite in a temp dir)

net-snmp ``snmpd`` agents on 127.0.0.1 (``bench_snmp.Agents``: 100 communities each, as one
agent with thousands of communities is slower than the client) answer the APC rPDU2 metered
outlet table (module, number, watts, amps, energy) for 48 outlets through ``override``
lines; each simulated PDU has its own community, so the daemon polls N distinct PDUs with
the real ``apc-rpdu2`` profile. One machine per PDU (on outlet 1) makes the writes attribute.

Per cycle it samples the daemon's RSS (/proc/PID/status) and CPU time (/proc/PID/stat,
user + system) when the cycle's status line appears, and prints: RSS at the first and the
last cycle, cycle durations (min/median/p95/max), CPU seconds per cycle, readings stored.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench_snmp import Agents  # the SNMP benchmark's snmpd agents

BIN = Path(sys.executable).parent
OUTLETS = 48
CYCLE = re.compile(r"cycle \S+: (\d+)/(\d+) PDUs ok, (\d+) readings, ([^,]+), ([\d.]+) s")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def write_config(
    root: Path, db_url: str, endpoints: list[tuple[str, int]], interval: float
) -> Path:
    etc = root / "etc"
    etc.mkdir()
    (etc / "powermon.toml").write_text(
        f'[database]\nurl = "{db_url}"\n'
        f"[collector]\ninterval = {interval}\ntimeout = 2.0\nretries = 1\n"
        f'[rrd]\nroot = "{root / "rrds"}"\n'
        f'[daemon]\nstate_dir = "{root / "state"}"\nshutdown_grace = 30\n'
    )
    (etc / "pdus.toml").write_text(
        "".join(
            f'[pdu.{name}]\nhost = "127.0.0.1"\nport = {port}\nprofile = "apc-rpdu2"\n'
            f'version = "2c"\ncommunity = "{name}"\n'
            for name, port in endpoints
        )
    )
    (etc / "machines.toml").write_text(
        "".join(f'[machine."node-{name}"]\noutlets = ["{name}:1"]\n' for name, _ in endpoints)
    )
    return etc


@dataclass
class Sample:
    pdus_ok: int
    readings: int
    stored: str
    seconds: float
    rss_mb: float
    cpu_s: float  # cumulative user + system


def proc_sample(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds used so far) of ``pid``."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return rss_pages * PAGE_KB / 1024, cpu


@contextlib.contextmanager
def agents_and_config(args: argparse.Namespace, prefix: str) -> Iterator[tuple[Path, Path, str]]:
    """A temporary folder with ``args.pdus`` PDUs served by snmpd agents and a configuration
    directory polling them every ``args.interval`` s into ``args.db_url`` (else a SQLite
    database of its own), migrated: (folder, configuration directory, database URL)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        db_url = args.db_url or f"sqlite+aiosqlite:///{root / 'powermon.db'}"
        agents = Agents(root / "agents", args.pdus)
        try:
            etc = write_config(root, db_url, agents.endpoints(), args.interval)
            subprocess.run(
                [str(BIN / "powermon"), "--config-dir", str(etc), "db", "upgrade"],
                check=True, timeout=600, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            yield root, etc, db_url
        finally:
            agents.stop()


def run(args: argparse.Namespace) -> list[Sample]:
    with agents_and_config(args, "pm-bench-daemon-") as (root, etc, _):
        return watch_daemon(root, etc, args)


def watch_daemon(root: Path, etc: Path, args: argparse.Namespace) -> list[Sample]:
    log_path = root / "powermond.log"
    samples: list[Sample] = []
    with log_path.open("wb") as log:
        daemon = subprocess.Popen(
            [str(BIN / "powermond"), "--config-dir", str(etc)], stdout=log, stderr=log
        )
        try:
            started_rss, _ = _wait_started(daemon.pid, log_path)
            print(f"daemon started, RSS {started_rss:.1f} MB; {args.cycles} cycles follow")
            limit = time.monotonic() + args.cycles * args.interval * 3 + 120
            seen = 0
            while len(samples) < args.cycles and time.monotonic() < limit:
                if daemon.poll() is not None:
                    raise RuntimeError(f"daemon exited {daemon.returncode}")
                lines = CYCLE.findall(log_path.read_text(errors="replace"))
                for ok, _total, readings, stored, seconds in lines[seen:]:
                    rss, cpu = proc_sample(daemon.pid)
                    samples.append(Sample(int(ok), int(readings), stored, float(seconds), rss, cpu))
                    _progress(len(samples), samples[-1])
                seen = len(lines)
                time.sleep(0.2)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
    text = log_path.read_text()
    split = re.findall(r"\(poll ([\d.]+) s, store ([\d.]+) s\)", text)
    if split:
        polls, stores = zip(*((float(p), float(s)) for p, s in split), strict=True)
        print(f"overrunning cycles: {len(split)}; median poll {statistics.median(polls):.1f} s, "
              f"median store {statistics.median(stores):.1f} s")  # fmt: skip
    down = re.findall(r"PDU \S+ down: (.{0,40})", text)
    print(f"PDU down events: {len(down)} (e.g. {down[:1]}); back: {text.count(' is back (')}")
    problems = [line for line in text.splitlines() if "ERROR" in line]
    print(f"daemon exit code {daemon.returncode}; {len(problems)} ERROR lines in its log")
    for line in problems[:5]:
        print("  ", line)
    return samples


def _wait_started(pid: int, log_path: Path) -> tuple[float, float]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if "started:" in log_path.read_text(errors="replace"):
            return proc_sample(pid)
        time.sleep(0.1)
    raise RuntimeError("daemon did not start within 300 s:\n" + log_path.read_text()[-2000:])


def _progress(n: int, sample: Sample) -> None:
    if n == 1 or n % 10 == 0:
        print(
            f"  cycle {n:3d}: {sample.pdus_ok} PDUs ok, {sample.readings} readings, "
            f"{sample.stored}, {sample.seconds:.1f} s, RSS {sample.rss_mb:.1f} MB",
            flush=True,
        )


def report(samples: list[Sample], args: argparse.Namespace) -> None:
    if len(samples) < 2:
        print("fewer than 2 cycles: nothing to report")
        return
    durations = sorted(s.seconds for s in samples)
    cpu = [b.cpu_s - a.cpu_s for a, b in itertools.pairwise(samples)]
    p95 = durations[min(len(durations) - 1, int(len(durations) * 0.95))]
    print(f"\n{args.pdus} PDUs x {OUTLETS} outlets, interval {args.interval:g} s, "
          f"{len(samples)} cycles")  # fmt: skip
    print(f"RSS: first cycle {samples[0].rss_mb:.1f} MB, last {samples[-1].rss_mb:.1f} MB, "
          f"max {max(s.rss_mb for s in samples):.1f} MB")  # fmt: skip
    print(f"cycle duration s: min {durations[0]:.2f}, median {statistics.median(durations):.2f}, "
          f"p95 {p95:.2f}, max {durations[-1]:.2f}")  # fmt: skip
    print(f"CPU s per cycle: mean {statistics.mean(cpu):.2f}, median {statistics.median(cpu):.2f}, "
          f"max {max(cpu):.2f}")  # fmt: skip
    print(f"readings per cycle: {samples[-1].readings} (PDUs ok: min "
          f"{min(s.pdus_ok for s in samples)}); not stored at once: "
          f"{sum(1 for s in samples if 'stored' not in s.stored)} cycles")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdus", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--interval", type=float, default=5)
    parser.add_argument("--db-url", default=None)
    args = parser.parse_args()
    report(run(args), args)


if __name__ == "__main__":
    main()
