"""What the daemon tells the operator after each cycle: stored PDU health, the Prometheus
metrics and the watchdog's progress. The daemon calls into :class:`Monitor`; nothing here
decides what is polled or stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from powermond.collect.cycle import CycleResult
from powermond.db.engine import Database
from powermond.db.health import HealthRecorder
from powermond.inventory.model import Inventory
from powermond.metrics import Metrics, snapshot_of
from powermond.spool import Spool
from powermond.supervise import Progress

if TYPE_CHECKING:  # the load import (numpy, rrdtool) loads when its job first runs
    from powermond.collect.loadimport import ImportSummary


class Monitor:
    def __init__(
        self,
        db: Database,
        spool: Spool,
        interval: float,
        bound: Callable[[Inventory], float],
        *,
        exposed: bool = True,
    ) -> None:
        """``exposed``: the metrics are served (``[metrics] listen``). Only then is the last
        cycle's result kept for scrapes: at 10,000 PDUs it holds 480,000 readings."""
        self.health = HealthRecorder(db)
        self.metrics = Metrics()
        self.metrics.interval.set(interval)
        self.progress = Progress(interval)
        self.spool = spool
        self._bound = bound  # the longest a cycle over an inventory may take, store included
        self._exposed = exposed
        self._last: CycleResult | None = None
        self._last_cycle: datetime | None = None

    def cycle_started(self, inventory: Inventory, *, collectors: int = 1) -> None:
        """``inventory``: this collector's share of the PDUs, among ``collectors`` live."""
        self.progress.cycle_started(self._bound(inventory))
        self.metrics.share.set(len(inventory.pdus))
        self.metrics.collectors_live.set(collectors)

    async def cycle_finished(
        self,
        inventory: Inventory,
        result: CycleResult,
        *,
        duration: float,
        store_seconds: float,
        added: int | None,
    ) -> None:
        self.progress.cycle_finished()
        await self.health.record(result, store=added is not None)  # None: the DB is away
        self._last_cycle = result.cycle
        if self._exposed:
            self._last = result
        m = self.metrics
        m.cycle_done(result, duration, added)
        m.db_seconds.observe(store_seconds)
        m.db_up.set(0 if added is None else 1)
        m.spool_cycles.set(len(self.spool))
        m.spool_bytes.set(await asyncio.to_thread(_spool_bytes, self.spool))
        self.inventory_changed(inventory)

    def inventory_changed(self, inventory: Inventory) -> None:
        """Publish the latest cycle for ``inventory``: PDUs and machines it lost disappear."""
        self.health.book.retain(inventory.pdus)
        if not self._exposed:
            return
        self.metrics.publish(snapshot_of(self._last, inventory, self.health.book.states()))

    def reloaded(self, ok: bool, inventory: Inventory) -> None:
        self.metrics.reloaded(ok)
        if ok:
            self.inventory_changed(inventory)

    def imported(self, summary: ImportSummary | None) -> None:
        """An RRD import run: its summary, or ``None`` when the run failed as a whole."""
        if summary is None:
            self.metrics.rrd_errors.inc()
            return
        self.metrics.rrd_rows.inc(summary.rows)
        self.metrics.rrd_errors.inc(summary.errors)

    @property
    def last_cycle(self) -> datetime | None:
        return self._last_cycle


def _spool_bytes(spool: Spool) -> int:
    total = 0
    for entry in spool.entries():
        try:
            total += entry.path.stat().st_size
        except OSError:
            continue  # drained meanwhile
    return total
