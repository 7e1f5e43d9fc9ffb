"""Where a daemon cycle's CPU goes: poll, store and the rest, over real SNMP agents.

    .venv/bin/python bench/bench_cycle_cpu.py [--pdus 2000] [--cycles 4] [--interval 60]
                                              [--db-url URL] [--profile FILE]

The daemon is assembled in this process as ``powermond`` assembles it (``daemon._assemble``,
the configuration of bench_daemon.py: N apc-rpdu2 PDUs of 48 outlets, one machine each) and
each cycle runs ``Daemon._cycle`` against bench_snmp's net-snmp agents (other processes,
whose CPU is not counted), with the real SNMP client. Cycles run back to back, scheduled
``--interval`` apart. Per cycle it prints this process's CPU seconds (user + system) split:

- poll: ``Poller.poll`` (SNMP walks, profile decode, PDU health log, outlet growth);
- store: ``CycleWriter.write`` (readings, cycle row, rollups: one transaction);
- rest: everything else in ``_cycle`` (inventory sync, stored PDU health, metrics, memory
  release), i.e. the cycle's CPU less poll and store.

The first cycle sizes max-repetitions from the cap and creates every outlet: the summary
line is the median of the later cycles. ``--profile FILE`` writes a cProfile of the last
cycle (``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import os
import resource
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_daemon import agents_and_config
from powermond import systemd
from powermond.daemon import _assemble, _State
from powermond.inventory.load import load_all
from powermond.memory import tune_garbage_collector


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Meter:
    """CPU seconds spent inside the wrapped coroutine functions, by stage, and in the
    garbage collector (wherever it ran)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._collecting = 0.0
        gc.callbacks.append(self._collector)

    def _collector(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._collecting = cpu_seconds()
        else:
            self.spent["gc"] = self.spent.get("gc", 0.0) + cpu_seconds() - self._collecting

    def wrap(self, stage: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*a: Any, **kw: Any) -> Any:
            started = cpu_seconds()
            try:
                return await fn(*a, **kw)
            finally:
                self.spent[stage] = self.spent.get(stage, 0.0) + cpu_seconds() - started

        return timed


async def run(args: argparse.Namespace, etc: Path) -> list[tuple[float, ...]]:
    settings, inventory = load_all(etc)
    state = _State(settings=settings, inventory=inventory)
    rows = []
    async with contextlib.AsyncExitStack() as stack:
        daemon = await _assemble(stack, etc, state, systemd.Notifier.from_env(), None)
        tune_garbage_collector()  # as powermond does once assembled
        meter = Meter()
        daemon._poll = meter.wrap("poll", daemon._poll)  # type: ignore[method-assign]
        daemon.writer.write = meter.wrap("store", daemon.writer.write)  # type: ignore[method-assign]
        # Scheduled from the next whole hour on, run back to back: the daemon's overrun report
        # (counted from the scheduled time) stays quiet; this bench times the cycles, not the
        # schedule (from a past time, every cycle was reported as having overrun).
        first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        for k in range(args.cycles):
            meter.spent.clear()
            last = k == args.cycles - 1
            # CPU time, not wall: the agents share the cores.
            profile = cProfile.Profile(time.process_time) if args.profile and last else None
            started, wall = cpu_seconds(), time.perf_counter()
            if profile:
                profile.enable()
            await daemon._cycle(first + timedelta(seconds=args.interval * k))
            if profile:
                profile.disable()
                profile.dump_stats(args.profile)
            total, wall = cpu_seconds() - started, time.perf_counter() - wall
            poll, store = meter.spent.get("poll", 0.0), meter.spent.get("store", 0.0)
            collecting = meter.spent.get("gc", 0.0)
            rows.append((total, poll, store, total - poll - store, collecting))
            print(f"  cycle {k + 1}: wall {wall:6.2f} s, CPU {total:6.2f} s = poll {poll:6.2f} "
                  f"+ store {store:6.2f} + rest {total - poll - store:5.2f} (garbage collector "
                  f"{collecting:.2f} of it)  ({state.last_status})", flush=True)  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdus", type=int, default=2000)
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--interval", type=float, default=60)
    parser.add_argument("--db-url", default=None)
    parser.add_argument("--profile", default=None, help="cProfile of the last cycle to FILE")
    args = parser.parse_args()
    with agents_and_config(args, "pm-bench-cycle-") as (_, etc, db_url):
        print(f"{args.pdus} PDUs x 48 outlets, in-process daemon cycles over snmpd agents, "
              f"{db_url.split(':')[0]}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        rows = asyncio.run(run(args, etc))
    later = rows[1:] or rows
    total, poll, store, rest, collecting = (statistics.median(c) for c in zip(*later, strict=True))
    per = 10_000 / args.pdus
    print(f"median of cycles 2..{len(rows)}: CPU {total:.2f} s = poll {poll:.2f} + store "
          f"{store:.2f} + rest {rest:.2f} (garbage collector {collecting:.2f}); per 10,000 "
          f"PDUs: {total * per:.1f} s = poll {poll * per:.1f} + store {store * per:.1f} + rest "
          f"{rest * per:.1f} (load average {os.getloadavg()[0]:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
