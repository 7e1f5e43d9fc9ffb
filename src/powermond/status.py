"""``powermon status``: is everything up? A check command (Nagios/Icinga style).

The report is a list of :class:`Section` values, one per check, each with its JSON value,
its table lines, its CSV rows and its *problems* (sentences; any problem makes the exit
status 1). Checks that need the database run in one read transaction; when the database
cannot be reached, that is the problem reported and they are skipped.

Adding a check (e.g. the collectors of a shared database): write an ``async def
check(ctx) -> Section`` and append it to :data:`DATABASE_CHECKS`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.engine import Database, safe_url
from powermond.db.health import HealthRepository
from powermond.db.sqlite_access import open_url
from powermond.errors import PowermonError
from powermond.inventory.model import Inventory
from powermond.output import iso_z
from powermond.settings import Settings
from powermond.spool import waiting
from powermond.status_queries import StatusQueries

CSV_COLUMNS = ("check", "item", "state", "since", "detail")
STALE_INTERVALS = 2  # a machine with no reading for longer than this many intervals is stale


@dataclass
class Section:
    name: str  # the JSON key
    data: Any
    lines: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Context:
    session: AsyncSession
    settings: Settings
    now: datetime
    recorded_interval: float | None = None  # the last cycle's, once known
    inventory: Inventory | None = None  # pdus.toml/machines.toml, for the collectors' shares

    @property
    def interval(self) -> timedelta:
        """The recorded interval of the last cycle, else ``[collector] interval``."""
        seconds = self.recorded_interval or self.settings.collector.interval
        return timedelta(seconds=seconds)


Check = Callable[[Context], Awaitable[Section]]


@dataclass
class StatusReport:
    sections: list[Section]

    @property
    def problems(self) -> list[str]:
        return [p for s in self.sections for p in s.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"ok": self.ok, "problems": self.problems}
        document.update((s.name, s.data) for s in self.sections)
        return document


async def gather(
    settings: Settings, now: datetime, inventory: Inventory | None = None
) -> StatusReport:
    sections = [_spool(settings)]
    url = settings.database.url.get_secret_value()
    try:  # a SQLite file is read, never created
        url = open_url(url, "read")
    except PowermonError as exc:
        return StatusReport([_database(safe_url(url), str(exc)), *sections])
    async with Database.from_url(url) as db:
        try:
            async with db.transaction() as session:
                ctx = Context(session, settings, now, inventory=inventory)
                found = [await check(ctx) for check in DATABASE_CHECKS]
            sections[:0] = [_database(db.safe_url, None), *found]
        except PowermonError as exc:
            sections[:0] = [_database(db.safe_url, str(exc))]
            await asyncio.to_thread(_join_sqlite_workers)
    return StatusReport(sections)


def _join_sqlite_workers(timeout: float = 2.0) -> None:
    """Let aiosqlite's worker threads of a failed connect end while the loop still runs.

    A connect that fails stops its thread, which then posts to the event loop; if the loop
    has already closed (this command returns at once), that thread dies with "Event loop is
    closed". Joining here, from a worker thread, keeps the loop running meanwhile.
    """
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


def _database(url: str, error: str | None) -> Section:
    data = {"reachable": error is None, "url": url, "error": error}
    state = "reachable" if error is None else "unreachable"
    section = Section("database", data, [f"database:   {state} ({url})"])
    section.rows.append({"check": "database", "item": url, "state": state, "detail": error})
    if error is not None:
        section.lines.append(f"  {error}")
        section.problems.append(f"database: {error}")
    return section


def _spool(settings: Settings) -> Section:
    directory = settings.daemon.state_dir / "spool"
    entries = waiting(directory)
    oldest = entries[0].cycle if entries else None
    data = {"cycles": len(entries), "oldest": oldest, "directory": str(directory)}
    line = f"spool:      {len(entries)} cycles waiting"
    if oldest is not None:
        line += f" (oldest {iso_z(oldest)})"
    row = {"check": "spool", "item": str(directory), "state": str(len(entries)), "since": oldest}
    return Section("spool", data, [line], [row])


async def _last_cycle(ctx: Context) -> Section:
    cycle = await StatusQueries(ctx.session).last_cycle()
    if cycle is None:
        section = Section("last_cycle", None, ["last cycle: none stored"])
        section.problems.append("no cycle stored yet")
        return section
    ctx.recorded_interval = cycle.interval
    data = cycle.to_json()
    section = Section("last_cycle", data, [f"last cycle: {cycle.summary()}"])
    section.rows.append(
        {"check": "last cycle", "item": iso_z(cycle.time), "state": "", "detail": cycle.summary()}
    )
    late = ctx.now - cycle.time
    if late > ctx.interval * STALE_INTERVALS + cycle.duration_or_zero:
        problem = (
            f"no cycle for {_ago(late)} (the last at {iso_z(cycle.time)}): is powermond running?"
        )
        section.lines.append(f"  {problem}")
        section.problems.append(problem)
    return section


async def _pdus(ctx: Context) -> Section:
    health = await HealthRepository(ctx.session).states()
    not_up = [h for _, h in sorted(health.items()) if not h.up]
    listed = [
        {
            "pdu": h.pdu,
            "state": h.state,
            "since": h.since,
            "last_success": h.last_success,
            "failures": h.failures,
            "error": h.last_error,
        }
        for h in not_up
    ]
    data = {"polled": len(health), "up": len(health) - len(not_up), "not_up": listed}
    section = Section("pdus", data, [f"PDUs:       {data['up']} of {len(health)} up"])
    for h in not_up:
        section.lines.append(f"  {h.pdu}: {h.state} since {iso_z(h.since)}: {h.last_error}")
        section.rows.append(
            {"check": "pdu", "item": h.pdu, "state": h.state, "since": h.since,
             "detail": h.last_error}
        )  # fmt: skip
        section.problems.append(f"PDU {h.pdu} {h.state} since {iso_z(h.since)}")
    return section


async def _stale(ctx: Context) -> Section:
    limit = ctx.interval * STALE_INTERVALS
    latest = await StatusQueries(ctx.session).machine_latest()
    stale = [m for m in latest if ctx.now - (m.last_reading or m.created_at) > limit]
    listed = [{"machine": m.machine, "last_reading": m.last_reading} for m in stale]
    section = Section("stale_machines", listed, [f"stale:      {len(stale)} machines"])
    for m in stale:
        when = iso_z(m.last_reading) if m.last_reading else "never"
        section.lines.append(f"  {m.machine}: last reading {when}")
        section.rows.append(
            {"check": "stale", "item": m.machine, "state": "stale", "since": m.last_reading}
        )
        section.problems.append(f"machine {m.machine}: no reading since {when}")
    return section


async def _partial(ctx: Context) -> Section:
    partial = await StatusQueries(ctx.session).partial_machines()
    listed = [{"machine": p.machine, "cycle": p.cycle, "missing": list(p.missing)} for p in partial]
    section = Section("partial_machines", listed, [f"partial:    {len(partial)} machines"])
    for p in partial:
        missing = " ".join(p.missing)
        section.lines.append(f"  {p.machine}: {missing} missing at {iso_z(p.cycle)}")
        section.rows.append(
            {"check": "partial", "item": p.machine, "state": "partial", "since": p.cycle,
             "detail": f"missing {missing}"}
        )  # fmt: skip
        section.problems.append(f"machine {p.machine}: feed {missing} missing")
    return section


async def _collectors(ctx: Context) -> Section:
    from powermond.report.collectors import collectors_view

    if ctx.inventory is None:
        return Section("collectors", None)
    view = await collectors_view(ctx.session, ctx.inventory, ctx.settings.collector.forget_after)
    departed = f", {len(view.departed)} departed" if view.departed else ""
    section = Section(
        "collectors", view.as_json(), [f"collectors: {len(view.collectors)} live{departed}"]
    )
    for c in view.collectors:
        last = iso_z(c.last_cycle) if c.last_cycle else "none yet"
        section.lines.append(f"  {c.name} ({c.host}): {len(c.pdus)} PDUs, last cycle {last}")
        section.rows.append(
            {"check": "collector", "item": c.name, "state": "live", "since": c.started_at,
             "detail": f"{len(c.pdus)} PDUs, last cycle {last}"}
        )  # fmt: skip
    for c in view.departed:
        section.lines.append(f"  {c.name} ({c.host}): {c.departure}")
        section.rows.append(
            {"check": "collector", "item": c.name, "state": "departed", "since": c.heartbeat_at,
             "detail": c.departure}
        )  # fmt: skip
    if view.collectors and view.unpolled:
        unpolled = " ".join(view.unpolled)
        section.lines.append(f"  polled by no live collector: {unpolled}")
        section.problems.append(f"PDUs polled by no live collector: {unpolled}")
    return section


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


#: Checks run against the database, in report order.
DATABASE_CHECKS: list[Check] = [_last_cycle, _collectors, _pdus, _stale, _partial]
