"""Several powermond processes on one database: the PDUs shared, kills and stops taken over.

Thirty simulated PDUs (recordings generated here, as the demo does) served by snmpsim; three
collectors on PostgreSQL and on MariaDB with a 3 s interval. One is SIGKILLed, later another
is SIGTERMed, then both come back. Every (PDU, cycle) of the run is then counted in the
database: a gap is a cycle without the PDU's readings, a duplicate a reading stored twice.
Bounds: no duplicate ever; gaps only for the killed collector's PDUs, in the cycle it died in
and the next one (taken over within two cycles); none at the stop or at the returns. The
shares each collector logs are the ones the assignment gives over the three names (a
departed collector is still ranked: the others split its PDUs and keep their own).

The run waits on log lines, never for a fixed time, and counts the cycles from the first one
all three polled their shares of ten to the last one all live collectors had stored, but not
the cycles a collector said it skipped (one before ran past its start, or it could not start
within its grace: a loaded machine). A cycle with PDUs nobody stored fails with those PDUs,
whose own they are, and what every collector logged around that cycle.
"""

from __future__ import annotations

import asyncio
import math
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import (
    HOST,
    POWERMOND,
    Config,
    DaemonProcess,
    db_upgrade,
    duplicate_readings,
    logged_cycle,
    readings_by_cycle,
    settings_for,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from conftest import DaemonFactory
from powermond.collect.assign import Member, assign
from powermond.db.tables import Cycle
from powermond.demo.pattern import MachineModel, Wave
from powermond.demo.snmprec import write_snmprec
from powermond.demo.world import PduModel, World
from simulator import Snmpsim

INTERVAL = 3.0
OUTLETS = 8
PROFILES = ("apc-rpdu2", "raritan-pdu2", "eaton-epdu")


class _Pdu(PduModel):
    @property
    def community(self) -> str:
        return f"{self.name}-ro"  # not the PDU's name: communities are masked in logs


WORLD = World(
    pdus=tuple(_Pdu(f"pdu{i:02d}", PROFILES[i % 3], OUTLETS) for i in range(30)),
    machines=tuple(
        # Every machine has A and B feeds on two PDUs: their sums cross collectors.
        MachineModel(
            f"node{i:02d}",
            "Workers",
            ((f"pdu{i:02d}", 1), (f"pdu{(i + 1) % 30:02d}", 2)),
            Wave(5, 3, 600, "sin", 1),
        )
        for i in range(30)
    ),
)
PDUS = [p.name for p in WORLD.pdus]
START_S = 60  # interpreter start and imports of three daemons on a busy machine
SERVERS = pytest.mark.parametrize(
    "db_url",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ],
    indirect=True,
)


@pytest.fixture(scope="module")
def world_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpsim]:
    root = tmp_path_factory.mktemp("cluster-agent")
    write_snmprec(WORLD, root / "data")
    with Snmpsim.start([root / "data"], root / "cache", root / "snmpsim.log") as sim:
        yield sim


def collector_config(tmp: Path, name: str, db_url: str, port: int) -> Config:
    # One snmpsim answers all 30 PDUs of three collectors, on a machine shared with others:
    # 1 s x 2 tries, so that a slow answer is not a gap (a cycle's bound, 2 s, fits the
    # interval with a second left to store it).
    settings = settings_for(
        db_url, tmp / name / "state", interval=INTERVAL, timeout=1.0, retries=1, grace=10
    )
    # ...and a few PDUs at a time: snmpsim is single-threaded, and thirty PDUs' requests
    # queued at once would wait there longer than the timeout.
    settings["collector"] |= {"name": name, "concurrency": 10}
    settings["rrd"]["interval"] = 600  # one import in the test, by one collector
    pdus: dict[str, dict[str, Any]] = {
        p.name: {
            "host": HOST,
            "port": port,
            "profile": p.profile,
            "version": "2c",
            "community": p.community,
        }
        for p in WORLD.pdus
    }
    machines = {m.name: {"outlets": [f"{p}:{n}" for p, n in m.feeds]} for m in WORLD.machines}
    config = Config(tmp / name / "etc", settings, pdus, machines)
    config.write()
    return config


async def at_phase(fraction: float) -> None:
    """Sleep until ``fraction`` of the way through a cycle interval (away from its start)."""
    phase = time.time() % INTERVAL
    await asyncio.sleep((fraction * INTERVAL - phase) % INTERVAL)


def cycles_between(first: float, last: float) -> list[datetime]:
    start = math.ceil(first / INTERVAL) * INTERVAL
    count = int((last - start) // INTERVAL) + 1
    return [datetime.fromtimestamp(start + i * INTERVAL, UTC) for i in range(max(0, count))]


def gaps_by_pdu(
    stored: dict[datetime, dict[str, int]], cycles: list[datetime]
) -> dict[str, list[datetime]]:
    gaps: dict[str, list[datetime]] = {}
    for cycle in cycles:
        for pdu in PDUS:
            count = stored.get(cycle, {}).get(pdu, 0)
            assert count in (0, OUTLETS), (cycle, pdu, count)  # a PDU is written whole
            if count == 0:
                gaps.setdefault(pdu, []).append(cycle)
    return gaps


def double_polls(daemons: list[DaemonProcess]) -> int:
    """Readings polled by two collectors in one cycle (stored once: the second is skipped)."""
    total = 0
    for daemon in daemons:
        for match in daemon.cycles():
            if match["stored"].endswith(" stored"):
                total += int(match["readings"]) - int(match["stored"].split()[0])
    return total


def failed_polls(daemons: list[DaemonProcess]) -> Counter[datetime]:
    """PDUs polled but not answering, per cycle (snmpsim starved on a loaded machine)."""
    failed: Counter[datetime] = Counter()
    for daemon in daemons:
        for match in daemon.cycles():
            failed[logged_cycle(match)] += int(match["total"]) - int(match["ok"])
    return failed


OVERRAN = re.compile(r"cycle (\S+Z) overran: .* (\d+) scheduled cycle\(s\) skipped")
MISSED = re.compile(r"SNMP cycle (\S+Z) skipped: it was due .* ago \(past its grace\)")


def skipped_cycles(daemons: list[DaemonProcess]) -> set[datetime]:
    """Cycles a collector said it skipped, because the one before overran the interval or
    it started past its grace (a loaded machine, not the sharing): no collector is expected
    to store its share of those."""
    skipped: set[datetime] = set()
    step = timedelta(seconds=INTERVAL)
    for daemon in daemons:
        for line in daemon.log_text().splitlines():
            if match := OVERRAN.search(line):
                start = _utc(match[1])
                skipped.update(start + k * step for k in range(1, int(match[2]) + 1))
            elif match := MISSED.search(line):
                skipped.add(_utc(match[1]))
    return skipped


def _utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def unpolled(cycle: datetime, missing: list[str], daemons: dict[str, DaemonProcess]) -> str:
    """What each collector said around ``cycle``, for a cycle whose PDUs nobody stored: the
    share it had last said, its status lines, overruns, skips, stops."""
    primary = assign(PDUS, [Member(n) for n in NAMES])  # each PDU's own collector
    mine = {n: [p for p in missing if primary[p] == n] for n in NAMES}
    own = "; ".join(f"{n}'s own: {', '.join(p)}" for n, p in mine.items() if p)
    out = [f"cycle {cycle:%H:%M:%S}Z: nobody stored {len(missing)} PDUs ({own})"]
    start = datetime.fromtimestamp(cycle.timestamp())  # the log lines' local time
    window = (start - timedelta(seconds=INTERVAL), start + timedelta(seconds=2 * INTERVAL))
    for name, daemon in daemons.items():
        share, said = "no share said yet", []
        for line in daemon.log_text().splitlines():
            try:
                at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            except ValueError:
                continue
            if "polling " in line and at <= start + timedelta(seconds=1):
                share = line[24:]
            if window[0] <= at <= window[1] and "config:" not in line:
                said.append(f"    {line}")
        out += [f"  {name} ({daemon.log_path.name}; {share}):", *said]
    return "\n".join(out)


def first_complete_after(
    stored: dict[datetime, dict[str, int]], pdus: set[str], after: float
) -> datetime:
    for cycle in sorted(c for c in stored if c.timestamp() > after):
        if all(stored[cycle].get(p, 0) == OUTLETS for p in pdus):
            return cycle
    raise AssertionError(f"{sorted(pdus)} never complete after {after}")


NAMES = ("c1", "c2", "c3")


def share_sizes(*live: str) -> Counter[str | None]:
    """PDUs per live collector, as the assignment over the three names gives them."""
    return Counter(assign(PDUS, [Member(n) for n in live], [Member(n) for n in NAMES]).values())


def share_line(mine: int, live: int) -> str:
    return rf"polling {mine} of 30 PDUs, shared by {live} collector"


def logged(daemon: DaemonProcess, pattern: str) -> int:
    """How many lines matching ``pattern`` ``daemon`` logged so far."""
    return len([line for line in daemon.log_text().splitlines() if re.search(pattern, line)])


async def logs_more(daemon: DaemonProcess, pattern: str, seen: int, within: float) -> None:
    """Wait for a line matching ``pattern`` beyond the ``seen`` ones logged before."""
    await daemon.wait_log(pattern, within, count=seen + 1)


def cycles_of(daemon: DaemonProcess, share: int) -> list[datetime]:
    """The cycles ``daemon`` logged as stored with ``share`` PDUs polled."""
    return [
        logged_cycle(m)
        for m in daemon.cycles()
        if int(m["total"]) == share and m["stored"].endswith(" stored")
    ]


async def stored_through(daemons: list[DaemonProcess], cycle: datetime, within: float) -> None:
    """Wait until each of ``daemons`` logged a cycle from ``cycle`` on as stored."""
    deadline = time.monotonic() + within
    while not all(any(c >= cycle for c in cycles_of_any(d)) for d in daemons):
        if time.monotonic() > deadline:
            raise AssertionError(f"cycle {cycle} not stored by all in {within} s")
        await asyncio.sleep(0.05)


async def first_stored_by_all(daemons: list[DaemonProcess], share: int, within: float) -> datetime:
    """Wait for the first cycle each of ``daemons`` logged as stored with ``share`` PDUs
    polled, and return it."""
    deadline = time.monotonic() + within
    while True:
        common = set.intersection(*(set(cycles_of(d, share)) for d in daemons))
        if common:
            return min(common)
        if time.monotonic() > deadline:
            raise AssertionError(f"no cycle stored by all with {share} PDUs in {within} s")
        await asyncio.sleep(0.05)


def cycles_of_any(daemon: DaemonProcess) -> list[datetime]:
    return [logged_cycle(m) for m in daemon.cycles() if m["stored"].endswith(" stored")]


@SERVERS
@pytest.mark.timeout(240)
async def test_three_collectors_share_and_take_over(
    tmp_path: Path,
    world_agent: Snmpsim,
    db_url: str,
    start_daemon: DaemonFactory,
    engine: AsyncEngine,
) -> None:
    configs = {n: collector_config(tmp_path, n, db_url, world_agent.port) for n in NAMES}
    db_upgrade(configs["c1"].directory)
    daemons = {n: start_daemon(c) for n, c in configs.items()}
    assert share_sizes(*NAMES) == dict.fromkeys(NAMES, 10)
    for daemon in daemons.values():  # one whole cycle of each at its share of ten
        await daemon.wait_log(share_line(10, 3), START_S)
        await daemon.wait_log(r"cycle \S+: \d+/10 PDUs ok", 4 * INTERVAL)
    # The first cycle every one of them stored as one of three: counted from there, and at
    # least one whole cycle like it before the kill. (The latest of each one's first such
    # cycle was not enough: on a loaded machine another one may have skipped it after an
    # overrun, and a skipped cycle is not counted.)
    steady = (await first_stored_by_all(list(daemons.values()), 10, 10 * INTERVAL)).timestamp()
    steady -= 0.5
    await asyncio.sleep(max(0.0, steady + INTERVAL - time.time()))

    # SIGKILL c1: c2 and c3 split its PDUs between them, on top of their own ten.
    after_kill = {n: share_line(share_sizes("c2", "c3")[n], 2) for n in ("c2", "c3")}
    seen = {n: logged(daemons[n], line) for n, line in after_kill.items()}
    await at_phase(0.5)
    killed_at = time.time()
    daemons["c1"].send(signal.SIGKILL)
    await daemons["c1"].wait_exit(10)
    for name, line in after_kill.items():
        await logs_more(daemons[name], line, seen[name], 4 * INTERVAL)

    # SIGTERM c2: c3 polls everything from the next cycle on.
    seen_alone = logged(daemons["c3"], share_line(30, 1))
    await at_phase(0.5)
    stopped_at = time.time()
    daemons["c2"].send(signal.SIGTERM)
    assert await daemons["c2"].wait_exit(15) == 0
    await logs_more(daemons["c3"], share_line(30, 1), seen_alone, 3 * INTERVAL)

    # Both come back: each takes back its own ten, c3 gives them up.
    seen_shared = logged(daemons["c3"], share_line(10, 3))
    back_at = time.time()
    returned = [start_daemon(configs["c1"]), start_daemon(configs["c2"])]
    for daemon in returned:
        await daemon.wait_log(share_line(10, 3), START_S)
    shared_back = time.time()
    await logs_more(daemons["c3"], share_line(10, 3), seen_shared, 3 * INTERVAL)
    live = [daemons["c3"], *returned]
    # Counted up to the cycle both returned in, once every live collector stored it.
    for daemon in returned:
        await daemon.wait_log(r"cycle \S+: \d+/10 PDUs ok", 4 * INTERVAL)
    returned_in = max(min(cycles_of(d, 10)) for d in returned)
    await stored_through(live, returned_in, 4 * INTERVAL)
    ended_at = returned_in.timestamp() + 0.5
    for daemon in live:
        daemon.send(signal.SIGTERM)
    for daemon in live:
        assert await daemon.wait_exit(15) == 0

    all_daemons = [*daemons.values(), *returned]
    stored = await readings_by_cycle(engine)
    assert await duplicate_readings(engine) == 0
    skipped, failed = skipped_cycles(all_daemons), failed_polls(all_daemons)
    cycles = [c for c in cycles_between(steady, ended_at) if c not in skipped]
    died_in = math.floor(killed_at / INTERVAL) * INTERVAL
    allowed = {datetime.fromtimestamp(died_in + k * INTERVAL, UTC) for k in (0, 1)}
    assert min(cycles) < min(allowed)  # counted from before the kill...
    assert returned_in in cycles_between(steady, ended_at)  # ...to the return
    # Every cycle: the PDUs missing beyond those polled without an answer were polled by
    # nobody; only the killed collector's share, only in the two cycles after its death.
    named = {**daemons, "c1 (back)": returned[0], "c2 (back)": returned[1]}
    for cycle in cycles:
        missing = [pdu for pdu in PDUS if stored.get(cycle, {}).get(pdu, 0) == 0]
        assert len(missing) - failed[cycle] <= (10 if cycle in allowed else 0), unpolled(
            cycle, missing, named
        )
    # Cycles where every PDU polled answered: gaps per PDU.
    clean = [c for c in cycles if failed[c] == 0]
    assert len(clean) >= 4, f"only {len(clean)} clean cycles: the machine is too loaded"
    gaps = gaps_by_pdu(stored, clean)
    assert len(gaps) <= 10, gaps  # the killed collector's share, no more
    for pdu, missed in gaps.items():
        assert set(missed) <= allowed, (pdu, missed, sorted(allowed))

    orphans = set(gaps) or set(PDUS)
    taken = first_complete_after(stored, orphans, killed_at).timestamp() - killed_at
    handed = first_complete_after(stored, set(PDUS), stopped_at).timestamp() - stopped_at
    print(
        f"\n{db_url.split('+')[0]}: {len(cycles)} cycles x {len(PDUS)} PDUs "
        f"({len(skipped)} skipped after an overrun, not counted; {len(cycles) - len(clean)} "
        f"with {sum(failed[c] for c in cycles)} PDU polls unanswered); gaps in clean cycles: "
        f"{sum(map(len, gaps.values()))} (PDU, cycle) pairs in {len(gaps)} PDUs, "
        f"max {max(map(len, gaps.values()), default=0)} per PDU; duplicates stored: 0; "
        f"double polls (skipped at write): {double_polls(all_daemons)} readings; "
        f"SIGKILL: its PDUs stored again in the cycle {taken:.1f} s after the kill; "
        f"SIGTERM: all PDUs stored in the cycle {handed:.1f} s after the signal; "
        f"return: both sharing {shared_back - back_at:.1f} s after their start"
    )
    async with engine.connect() as conn:  # each cycle recorded under its collector's name
        writers = set((await conn.scalars(select(Cycle.collector).distinct())).all())
    assert writers == set(NAMES)
    imports = [n for n, d in daemons.items() if "load import:" in d.log_text()]
    assert len(imports) == 1, imports  # the RRD import ran on one collector only
    applied = [n for n, d in daemons.items() if "config: PDU added: pdu00" in d.log_text()]
    assert len(applied) == 1, applied  # one applied the configuration, the others found it done


async def test_a_second_daemon_on_one_sqlite_file_refuses(
    tmp_path: Path, world_agent: Snmpsim, start_daemon: DaemonFactory
) -> None:
    database = tmp_path / "powermon.db"
    url = f"sqlite+aiosqlite:///{database}"
    first = collector_config(tmp_path, "first", url, world_agent.port)
    second = collector_config(tmp_path, "second", url, world_agent.port)
    db_upgrade(first.directory)
    running = start_daemon(first)
    await running.wait_log(r"started: 30 PDUs", START_S)  # the lock is taken before

    refused = await asyncio.to_thread(
        subprocess.run,
        [str(POWERMOND), "--config-dir", str(second.directory)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1, refused.stderr
    assert f"{database} is already collected by powermond (pid {running.pid} on " in refused.stderr
    assert "run several on PostgreSQL or MariaDB" in refused.stderr

    # The lock dies with its holder, even killed: the next daemon starts.
    running.send(signal.SIGKILL)
    await running.wait_exit(10)
    after = start_daemon(second)
    await after.wait_log(r"started: 30 PDUs", START_S)
    assert "already collected" not in after.log_text()


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_second_collector_of_the_same_name_refuses(
    tmp_path: Path, world_agent: Snmpsim, db_url: str, start_daemon: DaemonFactory
) -> None:
    first = collector_config(tmp_path / "a", "twin", db_url, world_agent.port)
    second = collector_config(tmp_path / "b", "twin", db_url, world_agent.port)
    db_upgrade(first.directory)
    running = start_daemon(first)
    await running.wait_log(r"polling 30 of 30 PDUs", START_S)
    refused = await asyncio.to_thread(
        subprocess.run,
        [str(POWERMOND), "--config-dir", str(second.directory)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1, refused.stderr
    assert f"collector 'twin' is already running (pid {running.pid} on " in refused.stderr
    assert "own [collector] name" in refused.stderr
