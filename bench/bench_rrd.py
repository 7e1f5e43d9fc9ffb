"""Benchmark: one hourly CPU-load import of 5,000 hosts x 3 metrics into a fresh SQLite DB.

    .venv/bin/python bench/bench_rrd.py [--hosts 5000] [--cache DIR]

The RRD files (gmetad 3.3+ layout, ~630 KB each: ~9.5 GB for 5,000 hosts) are made once
into the cache directory and re-used. The database is primed with the first hour, so the
timed run is the steady-state hourly import: 12 five-minute buckets per machine.
Target: <= 5 s wall time on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "collect"))

from rrdfiles import GANGLIA_33, METRICS, create_metric, update

from powermond.collect.loadimport import import_load
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.migrate import upgrade
from powermond.inventory.model import Inventory, MachineConfig, OutletRef, PduConfig
from powermond.settings import RrdSettings

START = 1767571200  # 2026-01-05 00:00 UTC: fixed, so the cached files stay valid
END = START + 2 * 3600
CLUSTERS = 10
OUTLETS_PER_PDU = 48
DEFAULT_CACHE = Path(os.environ.get("POWERMON_BENCH_CACHE", tempfile.gettempdir())) / (
    "powermon-bench-rrd"
)


def host_name(i: int) -> str:
    return f"wn{i:05d}.example.org"


def make_one_host(root: Path, i: int) -> None:
    """Realistic load: a per-host base (idle to busy batch node) with minute-scale noise."""
    directory = root / f"cluster{i % CLUSTERS}" / host_name(i)
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(i)
    base = rng.choice([0.02, 0.5, 8.0, 16.0, 31.5])
    one = [max(0.0, base + rng.gauss(0, 0.3 + base / 10)) for _ in range(START, END, 15)]
    times = range(START + 15, END + 1, 15)
    smoothing = {"load_one": 1, "load_five": 20, "load_fifteen": 60}
    for metric in METRICS:
        path = directory / f"{metric}.rrd"
        create_metric(path, START, GANGLIA_33)
        width = smoothing[metric]
        values = [round(sum(one[max(0, k - width + 1) : k + 1]) / min(width, k + 1), 2)
                  for k in range(len(one))]  # fmt: skip
        update(path, zip(times, values, strict=True))


def make_hosts(root: Path, count: int) -> None:
    done_marker = root / f".complete-{count}"
    if done_marker.exists():
        print(f"re-using {count} hosts in {root}")
        return
    print(f"creating {count} hosts x 3 metrics in {root} (once)...", flush=True)
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(make_one_host, [root] * count, range(count), chunksize=50))
    done_marker.touch()
    print(f"created in {time.perf_counter() - began:.1f} s")


def inventory(count: int) -> Inventory:
    pdus = {
        f"pdu{p}": PduConfig(name=f"pdu{p}", host="127.0.0.1", profile="apc-rpdu2")
        for p in range((count + OUTLETS_PER_PDU - 1) // OUTLETS_PER_PDU)
    }
    machines = {
        host_name(i): MachineConfig(
            name=host_name(i),
            outlets=(OutletRef(pdu=f"pdu{i // OUTLETS_PER_PDU}", label=str(i % 48 + 1)),),
        )
        for i in range(count)
    }
    return Inventory(pdus=pdus, machines=machines)


async def run(root: Path, count: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}"
        await upgrade(url)
        async with Database.from_url(url) as db:
            async with db.transaction() as session:
                await apply_inventory(session, inventory(count))
            machines = [(host_name(i), None) for i in range(count)]
            settings = RrdSettings(root=root, backfill_days=1 / 24)
            # Prime: the first hour, as an earlier hourly run would have stored it.
            primed = await import_load(db, settings, machines, now=_utc(START + 3600 + 60))
            print(f"primed: {primed}")
            wall, cpu = time.perf_counter(), time.process_time()
            summary = await import_load(db, settings, machines, now=_utc(END + 60))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"hourly import: {summary}")
    print(
        f"hosts {count}  files {3 * count}  rows {summary.rows}  wall {wall:.2f} s  "
        f"cpu {cpu:.2f} s  rows/s {summary.rows / wall:,.0f}  target <= 5 s: "
        f"{'met' if wall <= 5 else 'MISSED'}"
    )


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    root = args.cache / f"hosts-{args.hosts}"
    root.mkdir(parents=True, exist_ok=True)
    make_hosts(root, args.hosts)
    asyncio.run(run(root, args.hosts))


if __name__ == "__main__":
    main()
