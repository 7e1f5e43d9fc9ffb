"""A day of history before the daemon starts, so the plot and the report have a story.

Power: what the simulated PDUs would have answered every 5 minutes over the last day,
decoded by the real vendor profiles and stored through the repositories, each cycle recorded
at the 5-minute interval this history is "recorded" at, and the hourly rollups computed.
Load: the real RRD importer reads the demo's Ganglia files, as ``powermon import-load`` does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from powermond.collect.loadimport import import_load
from powermond.db.cycles import DAEMON, CycleRepository, default_collector
from powermond.db.engine import Database
from powermond.db.repositories import ReadingRepository
from powermond.db.rollups import update_rollups
from powermond.db.rows import CycleRow
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
    """Store the last ``span`` seconds of 5-minute cycles; returns the readings added."""
    times = cycle_times(now, span)
    # Records once per PDU; evaluating them per cycle is cheap arithmetic.
    records = {p.name: pdu_records(world, p) for p in world.pdus}
    decoders = {p.name: profiles.get(p.profile) for p in world.pdus}
    added = 0
    async with db.transaction() as session:
        repository = ReadingRepository(session)
        cycles = CycleRepository(session)
        collector = default_collector()
        for t in times:
            stored = 0
            for pdu, profile in decoders.items():
                table = table_at(records[pdu], profile.columns, t)
                stored += await repository.add_cycle(_utc(t), pdu, profile.decode(table).readings)
            row = CycleRow(_utc(t), collector, DAEMON, BACKFILL_INTERVAL, len(decoders), 0, stored)
            await cycles.add(row)
            added += stored
        # One recomputation per hour and PDU covers that hour and the one before it.
        for t in _first_of_each_hour(times):
            for pdu in decoders:
                await update_rollups(session, _utc(t), pdu)
    return added


def _first_of_each_hour(times: Iterable[float]) -> list[float]:
    seen: dict[int, float] = {}
    for t in times:
        seen.setdefault(int(t // 3600), t)
    return sorted(seen.values())


async def backfill_load(
    db: Database, settings: RrdSettings, machines: Iterable[MachineConfig], now: float
) -> int:
    """Import the last day of load from the demo's RRD files; returns the rows stored."""
    machines = list(machines)
    since, until = _utc(now) - timedelta(days=1), _utc(now)
    summary = await import_load(db, settings, machines, since=since, now=until)
    return summary.rows
