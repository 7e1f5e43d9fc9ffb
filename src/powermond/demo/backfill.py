"""A day of history before the daemon starts, so the plot and the report have a story.

Power: what the simulated PDUs would have answered every 5 minutes over the last day,
decoded by the real vendor profiles and stored as the daemon stores a cycle, at the 5-minute
interval this history is "recorded" at.
Load: the real RRD importer reads the demo's Ganglia files, as ``powermon import-load`` does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from powermond.collect.loadimport import import_load
from powermond.collect.store import store_cycle
from powermond.db.engine import Database
from powermond.demo.pattern import DAY
from powermond.demo.snmprec import pdu_records, table_at
from powermond.demo.world import World
from powermond.inventory.model import MachineConfig
from powermond.settings import RrdSettings
from powermond.snmp import profiles

BACKFILL_INTERVAL = 300.0


def cycle_times(now: float, span: float = DAY, interval: float = BACKFILL_INTERVAL) -> list[float]:
    """Wall-clock multiples of ``interval`` in ``[now - span, now)``."""
    first = math.ceil((now - span) / interval) * interval
    return [first + i * interval for i in range(math.ceil((now - first) / interval))]


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


async def backfill_power(db: Database, world: World, now: float, span: float = DAY) -> int:
    """Store the last ``span`` seconds of 5-minute cycles; returns the readings added.

    Each cycle is stored as the daemon stores one (``store_cycle``: readings, the cycle's
    row at 300 s, and the rollups it changes), one transaction per cycle.
    """
    # Records once per PDU; evaluating them per cycle is cheap arithmetic.
    records = {p.name: pdu_records(world, p) for p in world.pdus}
    decoders = {p.name: profiles.get(p.profile) for p in world.pdus}
    added = 0
    for t in cycle_times(now, span):
        readings = {
            pdu: profile.decode(table_at(records[pdu], profile.columns, t)).readings
            for pdu, profile in decoders.items()
        }
        added += await store_cycle(db, _utc(t), readings, interval=BACKFILL_INTERVAL)
    return added


async def backfill_load(
    db: Database, settings: RrdSettings, machines: Iterable[MachineConfig], now: float
) -> int:
    """Import the last day of load from the demo's RRD files; returns the rows stored."""
    machines = list(machines)
    since, until = _utc(now) - timedelta(days=1), _utc(now)
    summary = await import_load(db, settings, machines, since=since, now=until)
    return summary.rows
