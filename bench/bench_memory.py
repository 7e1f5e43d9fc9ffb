"""Memory benchmark: the daemon's own cycle path over N in-process simulated PDUs.

    .venv/bin/python bench/bench_memory.py [--pdus 10000] [--cycles 100] [--minutes 6]
                                           [--db sqlite|mariadb|postgres | --db-url URL]
                                           [--each] [--stages] [--tracemalloc] [--heap]
                                           [--metrics]

The daemon is assembled as ``powermond`` assembles it (``daemon._assemble``: database,
collector row, spool, poller, monitor, writer; the configuration of bench_daemon.py, N
apc-rpdu2 PDUs of 48 outlets and one machine each, applied to the database), and each cycle
runs ``Daemon._cycle``: poll (profile decode, health, outlet growth), inventory sync, the
cycle writer and store (readings, cycle row, rollups), monitor (health rows, metrics); the
load import runs once before the first cycle, as the daemon's runs 1 s after its start (no
RRD files here, but numpy and rrdtool are loaded). Only the SNMP transport is simulated:
:class:`SyntheticPdus` answers every walk with fresh rows (new value objects every cycle,
energy counters rising) instead of UDP datagrams, so the process measured holds no agent,
and the figures are the daemon's own.

Cycles run back to back with scheduled times ``--interval`` apart. Prints RSS (VmRSS, and
VmHWM: the peak) and CPU seconds (user + system) of this process after the start and after
cycles 1, 2, 5, 10, 20, 50, 100 (as many as ``--cycles`` and ``--minutes`` allow; it says
how many ran); ``--each``: after every cycle, with that cycle's own peak (VmHWM is reset
through /proc/self/clear_refs after each line; the peak over the run is printed at the end).
``--stages``: also, within each cycle, RSS at the end of the poll and of the store and the
peak (VmHWM) of each stage: before the poll (inventory sync, monitor), the poll, from the
poll to the store, the store.
With 300 s cycles from a whole hour, the hours' closes start after cycle 16, 28, 40, …
(an hour is due at :10:01 of the next), each spread over the next few cycles.
``--db mariadb|postgres`` makes a fresh database on the local server (MariaDB
127.0.0.1:3306 as root, PostgreSQL 127.0.0.1:5432 as postgres; ``--db-name``, default
``pm_memory_<random>``) and drops it afterwards.
``--tracemalloc`` (several times slower) also prints, after cycle 1 and the
last, what Python allocations are alive between cycles, by source line, and the sizes of the
inventory and the objects the daemon keeps. ``--heap`` adds to each line where the anonymous
memory is: pymalloc's arenas (Python's small objects; an arena is returned only when every
object in it is freed) and the bytes in use in them, and glibc malloc's bytes in use (large
Python objects, SQLite's heap, the drivers'; freed pages are returned by ``malloc_trim``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_daemon import BIN, write_config
from powermond import systemd
from powermond.daemon import Daemon, _assemble, _State
from powermond.inventory.load import load_all
from powermond.inventory.model import PduConfig
from powermond.memory import tune_garbage_collector
from servers import SERVERS

OUTLETS = 48
METERED = "1.3.6.1.4.1.318.1.1.26.9.4.3.1"  # rPDU2OutletMeteredStatusEntry
REPORTED = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class SyntheticPdus:
    """A ``PduTransport`` whose PDUs answer at once: apc-rpdu2's metered outlet table (the
    same rows bench_snmp's snmpd agents serve, energy rising every cycle); no inlet rows."""

    def __init__(self) -> None:
        self.cycle = 0

    def request_budget(self, pdu: PduConfig) -> float:
        return 2.0

    async def get(self, pdu: PduConfig, oids: Sequence[str]) -> dict[str, Any]:
        return dict.fromkeys(oids)

    async def walk_columns(
        self, pdu: PduConfig, columns: Sequence[str], *, max_repetitions: int | None = None
    ) -> dict[str, dict[tuple[int, ...], Any]]:
        await asyncio.sleep(0)  # one turn of the loop, as a datagram's answer would take
        table: dict[str, dict[tuple[int, ...], Any]] = {}
        c = self.cycle
        for column in columns:
            rows: dict[tuple[int, ...], Any] = {}
            if column.startswith(METERED + "."):
                which = int(column.rsplit(".", 1)[1])
                for n in range(1, OUTLETS + 1):
                    rows[(n,)] = {
                        2: 1,
                        4: n,
                        6: (n + c) % 16,
                        7: 100 + n + c % 7,
                        11: 1000 * n + c,
                    }.get(which, 0)
            table[column] = rows
        return table


def vm(field: str) -> float:
    """A /proc/self/status field in MB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def sqlite_heap() -> str:
    """SQLite's own heap (sqlite3_memory_used), if this process loaded libsqlite3."""
    import ctypes

    if "_sqlite3" not in sys.modules:
        return ""
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")
    except OSError:
        return ""
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    lib.sqlite3_memory_highwater.restype = ctypes.c_int64
    used, high = lib.sqlite3_memory_used(), lib.sqlite3_memory_highwater(0)
    return f", SQLite heap {used / 2**20:.1f} MB (peak {high / 2**20:.1f})"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def heaps() -> str:
    """pymalloc arenas and bytes in use (sys._debugmallocstats), glibc malloc in use."""
    import ctypes
    import os
    import threading

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost",
        )]  # fmt: skip

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    read, write = os.pipe()  # the stats go to the C stderr: read them through a pipe
    text: list[str] = []
    reader = threading.Thread(target=lambda: text.append(os.fdopen(read).read()))
    reader.start()
    saved = os.dup(2)
    os.dup2(write, 2)
    os.close(write)
    try:
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    reader.join()
    stats = {}
    for found in text[0].splitlines():
        key, sep, value = found.partition("=")
        if sep and key.startswith("#"):
            stats[key.strip("# ")] = int(value.strip().replace(",", ""))
    arenas = stats.get("arenas allocated current", 0)  # 1 MiB each
    used = stats.get("bytes in allocated blocks", 0) / 2**20
    malloc = (info.uordblks + info.hblkhd) / 2**20
    return f" | pymalloc {arenas} MB ({used:.1f} in use), malloc {malloc:.1f} MB in use"


_PEAK = [0.0]  # VmHWM over the run, kept across the resets of --each
_STAGE_PEAK = [0.0]  # VmHWM over the cycle's stages so far, kept across the resets of --stages


def line(what: str, started_cpu: float, heap: bool = False, reset_peak: bool = False) -> None:
    peak = max(vm("VmHWM"), _STAGE_PEAK[0])
    _STAGE_PEAK[0] = 0.0
    _PEAK[0] = max(_PEAK[0], peak)
    print(
        f"  {what:<16} RSS {vm('VmRSS'):6.1f} MB (anon {vm('RssAnon'):5.1f}, files "
        f"{vm('RssFile') + vm('RssShmem'):5.1f}), peak {peak:6.1f} MB, "
        f"CPU {cpu_seconds() - started_cpu:7.1f} s{sqlite_heap()}{heaps() if heap else ''}",
        flush=True,
    )
    if reset_peak:  # VmHWM from now on is the next cycle's own peak (Linux 4.0 and later)
        Path("/proc/self/clear_refs").write_text("5")


def top_allocations(snapshot: tracemalloc.Snapshot, n: int = 12) -> None:
    stats = snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    total = sum(s.size for s in stats.statistics("filename"))
    print(f"    tracemalloc: {total / 2**20:.1f} MB of Python allocations alive; largest:")
    for stat in stats.statistics("lineno")[:n]:
        frame = stat.traceback[0]
        where = "/".join(Path(frame.filename).parts[-3:])
        print(f"      {stat.size / 2**20:7.2f} MB {stat.count:9d} blocks  {where}:{frame.lineno}")


def deep_size(root: object, limit: int = 5_000_000) -> int:
    """Bytes of ``root`` and everything it reaches (each object once; modules, classes and
    functions excluded), at most ``limit`` objects."""
    seen: set[int] = set()
    stack = [root]
    size = 0
    skip = (type, type(sys), type(deep_size))
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        size += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return size


def _trace_stages(daemon: Daemon) -> None:
    """Print Python allocations (now and peak) after the poll and after the store."""
    poll, write = daemon._poll, daemon.writer.write

    def mb(v: int) -> str:
        return f"{v / 2**20:.1f}"

    async def traced_poll(*a: Any) -> Any:
        tracemalloc.reset_peak()
        outcome = await poll(*a)
        now, peak = tracemalloc.get_traced_memory()
        print(f"    traced after poll: {mb(now)} MB (peak {mb(peak)} MB)")
        tracemalloc.reset_peak()
        return outcome

    async def traced_write(*a: Any) -> Any:
        added = await write(*a)
        now, peak = tracemalloc.get_traced_memory()
        print(f"    traced after store: {mb(now)} MB (peak during store {mb(peak)} MB)")
        return added

    import powermond.collect.store as store

    rollups = store.add_cycle

    async def traced_rollups(*a: Any, **kw: Any) -> Any:
        print(f"    traced when the rollups start: {mb(tracemalloc.get_traced_memory()[0])} MB")
        top_allocations(tracemalloc.take_snapshot(), 8)
        return await rollups(*a, **kw)

    store.add_cycle = traced_rollups  # type: ignore[assignment]
    daemon._poll = traced_poll  # type: ignore[method-assign]
    daemon.writer.write = traced_write  # type: ignore[method-assign]


def _rss_stages(daemon: Daemon) -> None:
    """Print RSS and each stage's own peak at the poll's and the store's ends (--stages)."""
    poll, write = daemon._poll, daemon.writer.write

    def mark(stage: str) -> None:
        peak = vm("VmHWM")
        _STAGE_PEAK[0] = max(_STAGE_PEAK[0], peak)
        print(f"    {stage:<20} RSS {vm('VmRSS'):6.1f} MB, peak in it {peak:6.1f} MB")
        Path("/proc/self/clear_refs").write_text("5")

    async def marked_poll(*a: Any) -> Any:
        mark("before the poll")
        outcome = await poll(*a)
        mark("poll")
        return outcome

    async def marked_write(*a: Any) -> Any:
        mark("poll to store")
        added = await write(*a)
        mark("store")
        return added

    daemon._poll = marked_poll  # type: ignore[method-assign]
    daemon.writer.write = marked_write  # type: ignore[method-assign]


def sizes(daemon: Daemon) -> None:
    state = daemon.state
    inventory = state.inventory
    print(f"    inventory ({len(inventory.pdus)} PDUs, {len(inventory.machines)} machines): "
          f"{deep_size(inventory) / 2**20:.1f} MB")  # fmt: skip
    for name, obj in (
        ("monitor", daemon.monitor),
        ("writer", daemon.writer),
        ("inventory sync", daemon.inventory_sync),
    ):
        print(f"    {name}: {deep_size(obj) / 2**20:.1f} MB (shares the inventory's strings)")
    print(f"    asyncio tasks alive: {len(asyncio.all_tasks())}")


async def run(args: argparse.Namespace, etc: Path) -> None:
    started_cpu = cpu_seconds()
    settings, inventory = load_all(etc)
    state = _State(settings=settings, inventory=inventory)
    transport = SyntheticPdus()
    deadline = time.monotonic() + args.minutes * 60
    async with contextlib.AsyncExitStack() as stack:
        notifier = systemd.Notifier.from_env()
        daemon = await _assemble(stack, etc, state, notifier, None, transport)
        tune_garbage_collector()  # as powermond does once assembled
        # As powermond 1 s after its start: the load import (no RRD files here), which
        # loads numpy and rrdtool for good.
        await daemon.import_job()
        if args.tracemalloc:
            _trace_stages(daemon)
        if args.stages:
            _rss_stages(daemon)
        gc.collect()
        line("started", started_cpu, args.heap, args.each)
        # Scheduled from the next whole hour on, run back to back: the daemon's overrun report
        # (counted from the scheduled time) stays quiet; this bench times the cycles, not the
        # schedule (from a past time, every cycle was reported as having overrun).
        first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        done = 0
        for k in range(args.cycles):
            transport.cycle = k
            await daemon._cycle(first + timedelta(seconds=args.interval * k))
            done = k + 1
            last = done == args.cycles or time.monotonic() > deadline
            if done in REPORTED or last or args.each:
                line(f"after cycle {done}", started_cpu, args.heap, args.each)
                if args.tracemalloc and (done == 1 or last):
                    top_allocations(tracemalloc.take_snapshot())
                    sizes(daemon)
            if last:
                break
        print(f"{done} cycles ran ({state.last_status}); peak RSS (VmHWM) {_PEAK[0]:.1f} MB")


@contextlib.contextmanager
def database(args: argparse.Namespace) -> Iterator[str | None]:
    """``--db-url``, or a fresh database on ``--db``'s server (dropped afterwards), or None
    (SQLite in the temporary directory)."""
    if args.db_url or args.db == "sqlite":
        yield args.db_url
        return
    base, admin_db = SERVERS[args.db]
    name = args.db_name or f"pm_memory_{uuid.uuid4().hex[:8]}"
    force = " WITH (FORCE)" if args.db == "postgres" else ""
    _admin(f"{base}/{admin_db}", f"CREATE DATABASE {name}")
    try:
        yield f"{base}/{name}"
    finally:
        _admin(f"{base}/{admin_db}", f"DROP DATABASE IF EXISTS {name}{force}")


# In a process of its own: the process measured imports the driver as the daemon does.
_ADMIN = """
import asyncio, sys
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

async def run(url, sql):
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(sql))
    await engine.dispose()

asyncio.run(run(*sys.argv[1:]))
"""


def _admin(url: str, sql: str) -> None:
    subprocess.run([sys.executable, "-c", _ADMIN, url, sql], check=True, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdus", type=int, default=10000)
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--interval", type=float, default=300)
    parser.add_argument("--minutes", type=float, default=6.0, help="stop after this long")
    parser.add_argument("--db", choices=["sqlite", *SERVERS], default="sqlite")
    parser.add_argument("--db-name", default=None, help="the database --db makes and drops")
    parser.add_argument("--db-url", default=None, help="an existing database instead")
    parser.add_argument("--each", action="store_true", help="a line after every cycle")
    parser.add_argument("--stages", action="store_true", help="RSS at the poll's, store's end")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--heap", action="store_true", help="pymalloc and malloc in use")
    parser.add_argument("--metrics", action="store_true", help="[metrics] listen set")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pm-bench-memory-") as tmp, database(args) as url:
        root = Path(tmp)
        db_url = url or f"sqlite+aiosqlite:///{root / 'powermon.db'}"
        endpoints = [(f"pdu{i}", 20000 + i // 100) for i in range(args.pdus)]
        etc = write_config(root, db_url, endpoints, args.interval)
        toml = etc / "powermon.toml"  # a 10,000-PDU store takes longer than the 10 s default
        text = toml.read_text().replace("\n[collector]", "\ntimeout = 120\n[collector]", 1)
        toml.write_text(text)
        if args.metrics:
            toml.write_text(toml.read_text() + '[metrics]\nlisten = "127.0.0.1:0"\n')
        subprocess.run(
            [str(BIN / "powermon"), "--config-dir", str(etc), "db", "upgrade"],
            check=True,
            timeout=600,
            stdout=subprocess.DEVNULL,
        )
        print(f"{args.pdus} PDUs x {OUTLETS} outlets, in-process daemon cycle path, "
              f"{db_url.split(':')[0]}")  # fmt: skip
        if args.tracemalloc:
            tracemalloc.start()
        asyncio.run(run(args, etc))


if __name__ == "__main__":
    main()
