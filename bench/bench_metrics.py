"""Exposition benchmark: the CPU cost of the Prometheus metrics per cycle at N PDUs.

    .venv/bin/python bench/bench_metrics.py [--pdus 1000] [--outlets 48] [--cycles 5]
                                            [--scrapes-per-cycle 5]

N PDUs of ``--outlets`` outlets each (watts, amps and energy per outlet), one machine per two
outlets, a PDU in 50 down. Per cycle the daemon's monitor does: the health book's update, the
snapshot of the readings, the self metrics; each scrape renders the whole registry as text.
The per-outlet text is rendered once per cycle (at the first scrape) and cached. Prints the
CPU seconds (process time, median of ``--cycles``) of the per-cycle update, of the first and of
a later scrape, the exposition's size and samples, and the total per cycle with
``--scrapes-per-cycle`` scrapes (5: a 1-minute scrape interval against 5-minute cycles).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from powermond.collect.cycle import CycleResult, PduResult
from powermond.collect.health import HealthBook
from powermond.inventory.model import Inventory, MachineConfig, OutletRef, PduConfig
from powermond.metrics import Metrics, snapshot_of
from powermond.readings import OutletReading


def world(pdus: int, outlets: int) -> tuple[Inventory, list[PduResult]]:
    names = [f"pdu{n:04d}" for n in range(pdus)]
    inventory = Inventory(
        pdus={n: PduConfig(name=n, host="192.0.2.1", profile="apc-rpdu2") for n in names},
        machines={
            f"{n}-m{k}": MachineConfig(
                name=f"{n}-m{k}",
                outlets=(OutletRef(pdu=n, label=str(k)), OutletRef(pdu=n, label=str(k + 1))),
            )
            for n in names
            for k in range(1, outlets + 1, 2)
        },
    )
    results = [
        PduResult(n, error="timeout: walk not finished within 3.5 s", seconds=3.5)
        if i % 50 == 0
        else PduResult(
            n,
            readings=tuple(
                OutletReading(str(k), 100.0 + k, 0.5 + k / 100, 1000.0 + k)
                for k in range(1, outlets + 1)
            ),
            seconds=0.02,
        )
        for i, n in enumerate(names)
    ]
    return inventory, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdus", type=int, default=1000)
    parser.add_argument("--outlets", type=int, default=48)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--scrapes-per-cycle", type=int, default=5)
    args = parser.parse_args()
    inventory, results = world(args.pdus, args.outlets)
    metrics, book = Metrics(), HealthBook()
    start = datetime(2026, 12, 1, tzinfo=UTC)
    updates: list[float] = []
    scrapes: list[float] = []
    later: list[float] = []
    size = 0
    for n in range(args.cycles):
        result = CycleResult(start + n * timedelta(minutes=5), tuple(results))
        t0 = time.process_time()
        book.observe(result)
        metrics.cycle_done(result, 10.0, 24_000)
        metrics.publish(snapshot_of(result, inventory, book.states()))
        t1 = time.process_time()
        text = metrics.exposition()
        t2 = time.process_time()
        metrics.exposition()  # a later scrape of the same cycle: served from the cache
        t3 = time.process_time()
        updates.append(t1 - t0)
        scrapes.append(t2 - t1)
        later.append(t3 - t2)
        size = len(text)
    samples = sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))
    update, first, cached = (statistics.median(x) for x in (updates, scrapes, later))
    print(f"{args.pdus} PDUs x {args.outlets} outlets, {len(inventory.machines)} machines")
    print(f"exposition: {samples} samples, {size / 1e6:.1f} MB of text")
    print(f"per-cycle update (health, snapshot, self metrics): {update * 1000:.0f} ms CPU")
    print(f"first scrape after a cycle (renders the readings):  {first * 1000:.0f} ms CPU")
    print(f"later scrapes of the same cycle (cached readings):  {cached * 1000:.1f} ms CPU")
    total = update + first + (args.scrapes_per_cycle - 1) * cached
    print(f"per cycle with {args.scrapes_per_cycle} scrapes: {total:.2f} s CPU")


if __name__ == "__main__":
    main()
