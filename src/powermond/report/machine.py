"""One machine's power, cycle by cycle: the sum of its feeds' readings (``powermon power``,
plots). Composed from repositories that run on any session (Core statements: the
``power`` command reads without SQLAlchemy's ORM); no SQL here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from powermond.db.catalog import MachineReadings, MachineRepository
from powermond.db.errors import UnknownMachine
from powermond.report.feeds import FeedReading, PowerPoint, machine_power

if TYPE_CHECKING:
    from powermond.db.repository_base import Session
    from powermond.db.rows import MachineRow, ReadingRow


@dataclass(frozen=True, slots=True)
class MachinePower:
    """A machine's power per cycle, and the per-feed readings behind it."""

    machine: str
    feeds: tuple[str, ...]
    points: list[PowerPoint]
    readings: list[ReadingRow]


async def machine(session: Session, name: str) -> MachineRow:
    """The stored machine; :class:`UnknownMachine` (exit 1) when there is none."""
    found = await MachineRepository(session).get(name)
    if found is None:
        raise UnknownMachine(name)
    return found


async def power_points(
    session: Session, name: str, since: datetime, until: datetime
) -> MachinePower:
    """The machine's power summed over its feeds per cycle, partial cycles flagged."""
    row = await machine(session, name)
    readings = await MachineReadings(session).between(name, since, until)
    seen = {f"{r.pdu}:{r.outlet}" for r in readings}
    # The feed count is the machine's current mapping; an unmapped machine counts its history.
    feeds = row.outlets or tuple(sorted(seen))
    per_feed = (FeedReading(r.time, f"{r.pdu}:{r.outlet}", r.watts) for r in readings)
    return MachinePower(name, feeds, machine_power(per_feed, len(feeds)), readings)
