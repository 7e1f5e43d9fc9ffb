"""Writing a cycle's readings: one transaction per cycle, or the spool when the DB is away.

A cycle is written whole or not at all (one transaction), so a crash never leaves half a
cycle in the database. When the write fails, the cycle goes to the durable spool and is
replayed, oldest first, before the next cycle is written; ``add_cycle_many`` skips rows
already stored, so a replay after an ambiguous failure (commit sent, answer lost) adds nothing
twice. The cycle's transaction marks open the hours its readings change; the hours no reading
can change any more are rolled up right after it (:mod:`powermond.db.rollups`), a large
site's over the next few cycles (:mod:`powermond.db.close_steps`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from powermond.db.close_steps import Closer
from powermond.db.collectors import CYCLE_LOCK, lock
from powermond.db.cycles import (
    DAEMON,
    POLL,
    CycleRepository,
    Recorded,
    default_collector,
    interval_of,
)
from powermond.db.engine import Database
from powermond.db.errors import DatabaseUnavailable
from powermond.db.repositories import ReadingRepository
from powermond.db.rollups import add_cycle, due_hours, interval_changed
from powermond.db.rows import CycleRow, StoredCycle
from powermond.errors import PowermonError
from powermond.inventory.model import Inventory
from powermond.readings import OutletReading

log = logging.getLogger(__name__)

ReadingsByPdu = Mapping[str, Sequence[OutletReading]]


@dataclass(frozen=True, slots=True)
class CycleInfo:
    """What a cycle's row records besides its readings (see ``db.cycles``)."""

    origin: str = DAEMON  # or POLL
    collector: str | None = None  # None: the host name
    failed: int = 0  # PDUs polled that gave no readings
    seconds: float | None = None  # how long the poll took

    def to_json(self) -> dict[str, str | int | float | None]:
        """As the spool keeps it with the cycle's readings (see :meth:`from_json`)."""
        return {
            "origin": self.origin,
            "collector": self.collector,
            "failed": self.failed,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, found: Mapping[str, object]) -> CycleInfo:
        """The info :meth:`to_json` gave; ``ValueError`` if ``found`` is not such a thing.
        Names it does not know are ignored (a later version's additions)."""
        origin = found.get("origin", DAEMON)
        collector = found.get("collector")
        failed = found.get("failed", 0)
        seconds = found.get("seconds")
        if origin not in (DAEMON, POLL) or not isinstance(origin, str):
            raise ValueError(f"origin {origin!r} is neither {DAEMON!r} nor {POLL!r}")
        if collector is not None and not isinstance(collector, str):
            raise ValueError(f"collector {collector!r} is not a name")
        if isinstance(failed, bool) or not isinstance(failed, int) or failed < 0:
            raise ValueError(f"failed PDUs {failed!r} is not a count")
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float)
        ):
            raise ValueError(f"seconds {seconds!r} is not a number")
        return cls(origin, collector, failed, None if seconds is None else float(seconds))


async def store_cycle(
    db: Database,
    cycle: datetime,
    readings: ReadingsByPdu,
    *,
    interval: float,
    info: CycleInfo = CycleInfo(),
) -> int:
    """All PDUs' readings of one cycle in one transaction, with the cycle's row, marking open
    the hours they change; returns the rows added. Then the hours that are due are rolled up
    (:func:`_close_due_hours`). ``interval`` is the collector's: it is recorded with the
    cycle, and decides which gaps to and from it energy bridges."""
    async with db.transaction() as session:
        # Collectors sharing the database write one at a time: a cycle's rollups (a machine's
        # peak sums feeds that other collectors may write) must see what the others stored.
        await lock(session, CYCLE_LOCK)
        stored = await ReadingRepository(session).add_cycle_many(cycle, readings)
        cycles = CycleRepository(session)
        # The time's rows before this one: its interval then and now, and whether this
        # collector's row exists (one statement, not three).
        rows = await cycles.recorded_at(stored.cycle)
        recorded = interval_of(rows)
        rows += await _record(cycles, stored, rows, len(readings), interval, info)
        await add_cycle(session, stored)
        if recorded is not None and interval_of(rows) != recorded:
            await interval_changed(session, stored.cycle)
        due = bool(await due_hours(session))
    if due:
        await _close_due_hours(db)
    return stored.added


async def _close_due_hours(db: Database) -> Closer:
    """Roll up the hours no reading can change any more, in transactions of their own after
    the cycle's: about once an hour, and the cycle is stored (and counted) whether or not
    this succeeds. A large site's close is spread over the next cycles, a step per
    transaction (:mod:`powermond.db.close_steps`: the cycle lock is let go between steps, so
    the other collectors' cycles are not held up either); a small site's is run whole. An
    hour not closed yet stays open (reports read it from the raw readings) and is closed
    after a later cycle."""
    closer = Closer()
    try:
        more = True
        while more:
            async with db.transaction() as session:
                await lock(session, CYCLE_LOCK)
                more = await closer.step(session)
    except PowermonError as exc:  # DatabaseUnavailable included
        log.warning("could not roll up the closed hours (retried after the next cycle): %s", exc)
        return closer
    log.debug("rolled up %d hour(s) in %d step(s)", closer.closed, closer.steps)
    return closer


async def _record(
    cycles: CycleRepository,
    stored: StoredCycle,
    rows: Sequence[Recorded],
    answered: int,
    interval: float,
    info: CycleInfo,
) -> list[Recorded]:
    """Record the cycle's row (``rows``: those of its time before); returns the row when it
    is new (a second write of the same key adds its counts, its interval stays)."""
    collector = info.collector or default_collector()
    exists = any(r.collector == collector and r.origin == info.origin for r in rows)
    if not stored.added and exists:
        return []  # a replay of a cycle stored before: nothing new to count
    row = CycleRow(
        stored.cycle, collector, info.origin, interval, answered + info.failed, info.failed,
        stored.added, info.seconds,
    )  # fmt: skip
    await cycles.add(row)
    return [] if exists else [Recorded(collector, info.origin, interval)]


class InventorySync:
    """Applies the inventory in use to the database (PDUs, then machines, one transaction).

    When the database is unavailable the inventory is remembered and applied before the next
    cycle is written: readings may only name PDUs and outlets the database knows, and each
    takes the machine its outlet feeds at write time.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: Inventory | None = None
        self._problem: str | None = None
        self._lock = asyncio.Lock()

    async def apply(self, inventory: Inventory, *, refused_ok: bool = False) -> bool:
        """``False`` if the database is unavailable (then it is pending). A refusal raises,
        unless ``refused_ok`` (startup: the daemon runs on, and retries before each write)."""
        from powermond.db.apply import apply_inventory

        previous, self._pending = self._pending, inventory
        async with self._lock:
            try:
                async with self._db.transaction() as session:
                    result = await apply_inventory(session, inventory)
            except DatabaseUnavailable:
                return False
            except PowermonError as exc:
                if not refused_ok:
                    self._pending = previous  # the caller keeps its previous configuration
                    raise
                self._log_problem(exc)
                return False
        if self._pending is inventory:
            self._pending = None
            self._problem = None
        for line in result.lines():
            log.info("config: %s", line)
        return True

    async def apply_pending(self) -> None:
        """Apply the inventory an earlier :meth:`apply` could not; quiet while it cannot."""
        if self._pending is not None and await self.apply(self._pending, refused_ok=True):
            log.info("configuration applied to the database")

    def _log_problem(self, exc: PowermonError) -> None:
        if str(exc) != self._problem:  # once per distinct problem, not every cycle
            log.error("cannot apply the configuration to the database: %s", exc)
            self._problem = str(exc)
