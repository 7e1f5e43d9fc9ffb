"""The daemon's cycle writer: the database when it answers, the spool when it does not.

Faults it survives, each without losing what can be kept:

- a database that is away or silent: every write is bounded (``Database.timeout``), and a
  write that fails or expires puts the cycle in the spool, replayed oldest first;
- a cycle the database refuses: the PDUs are written one by one, so only the PDU whose rows
  are refused goes to ``spool/bad/`` and the others' readings are stored;
- a spool that cannot be written (disk full): the cycle is written directly whenever the
  database answers, the spool drains as soon as it can, and what was lost is said once per
  episode, naming the cycles and the readings;
- a stop that abandons a cycle still waiting on the database: it is spooled, not dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from powermond.collect.store import CycleInfo, ReadingsByPdu, store_cycle
from powermond.db.engine import Database
from powermond.db.errors import DatabaseUnavailable
from powermond.errors import ConfigError, PowermonError
from powermond.output import iso_z
from powermond.readings import OutletReading
from powermond.settings import DaemonSettings
from powermond.spool import RejectedCycle, Spool, SpooledCycle, drain

log = logging.getLogger("powermond.collect.store")  # the name operators have seen in logs

#: A daemon cycle's row with nothing more to say (the replay of a file spooled without info).
DAEMON_CYCLE = CycleInfo()
#: What a cancelled write may take beyond ``Database.timeout`` before the cycle moves on.
CLEANUP_SLACK_S = 0.25
#: Lost cycles named one by one in the episode's line; beyond that, first and last.
NAMED_LOSSES = 5


def open_spool(settings_file: Path, settings: DaemonSettings) -> Spool:
    """The daemon's spool; a state directory it cannot use is a configuration error."""
    directory = settings.state_dir / "spool"
    try:
        return Spool(directory, settings.spool_max_cycles)
    except OSError as exc:  # not a directory, not writable, a full disk: not startable
        raise ConfigError(
            [
                f"{settings_file}: [daemon] state_dir: cannot keep the spool in "
                f"{directory}: {exc.strerror or exc}"
            ]
        ) from None


class CycleWriter:
    """Writes cycles to the database, spooling them while it is unavailable.

    While anything waits in the spool, it is drained oldest first before a new cycle is
    written, so cycles reach the database in order. :attr:`fate` says what became of the
    last cycle, in the words of the daemon's status line.
    """

    def __init__(self, db: Database, spool: Spool, *, interval: float) -> None:
        self._db = db
        self._interval = interval
        self._spool = spool
        self._db_down = False
        self._losses = _Losses()
        self._keeping: datetime | None = None  # the cycle a spool write is in progress for
        self.fate = ""
        self.kept_abandoned = False  # a cycle cancelled at stop was spooled
        # Run before every write: the daemon applies a configuration still pending there,
        # so readings never name PDUs the database does not know yet.
        self.prepare: Callable[[], Awaitable[None]] | None = None

    @property
    def spooled(self) -> int:
        return len(self._spool)

    async def write(
        self, cycle: datetime, readings: ReadingsByPdu, info: CycleInfo = DAEMON_CYCLE
    ) -> int | None:
        """Rows added now, or ``None`` when the cycle is not (yet) in the database (the
        spool keeps ``info`` with the readings: a replayed cycle's row is recorded as the
        cycle really was, its failed PDUs included)."""
        try:
            return await self._write(cycle, readings, info)
        except asyncio.CancelledError:
            self._keep_abandoned(cycle, readings, info)
            raise

    async def _write(self, cycle: datetime, readings: ReadingsByPdu, info: CycleInfo) -> int | None:
        if len(self._spool) and not await self._drain():
            await self._keep(cycle, readings, info)
            return None
        try:
            added = await self._store(cycle, readings, info)
        except DatabaseUnavailable as exc:
            self._went_down(exc)
            await self._keep(cycle, readings, info)
            return None
        except PowermonError as exc:
            return await self._store_each_pdu(cycle, readings, info, exc)
        self._came_back()
        self._losses.end()  # nothing is lost while the database takes every cycle
        self.fate = f"{added} stored"
        return added

    async def _store(
        self, cycle: datetime, readings: ReadingsByPdu, info: CycleInfo = DAEMON_CYCLE
    ) -> int:
        """``store_cycle`` within the database's bound, its clean-up included.

        ``Database.timeout`` cancels the transaction once the database has been silent that
        long, but closing a connection to a silent server takes its own while (SQLAlchemy
        gives asyncpg 2 s): the cycle does not wait for that, the clean-up finishes in the
        background. A large cycle the database keeps answering takes as long as it needs.
        """
        if self.prepare is not None:
            await self.prepare()
        work = asyncio.ensure_future(
            store_cycle(self._db, cycle, readings, interval=self._interval, info=info)
        )
        try:
            done = await self._until_done_or_silent(work)
        except asyncio.CancelledError:
            work.cancel()
            raise
        if not done:
            work.cancel()
            work.add_done_callback(_forget)
            raise DatabaseUnavailable(
                f"database gave no answer within {self._db.timeout:g} s", self._db.safe_url
            )
        return work.result()

    async def _until_done_or_silent(self, work: asyncio.Future[int]) -> bool:
        """Wait for ``work``; ``False`` once the database has been silent for its timeout
        (plus the clean-up slack) without ``work`` ending."""
        if self._db.timeout is None:
            await asyncio.wait({work})
            return True
        bound = self._db.timeout + CLEANUP_SLACK_S
        started = asyncio.get_running_loop().time()
        while (left := bound - self._db.silent_for(started)) > 0:
            done, _ = await asyncio.wait({work}, timeout=left)
            if done:
                return True
        return work.done()

    async def _store_each_pdu(
        self, cycle: datetime, readings: ReadingsByPdu, info: CycleInfo, refusal: PowermonError
    ) -> int | None:
        """The database refused the cycle: store PDU by PDU, so one PDU's bad row does not
        sink the others; the refused PDUs' readings go to ``spool/bad/``."""
        log.error(
            "database refused cycle %s: %s; storing its PDUs one by one", iso_z(cycle), refusal
        )
        added = 0
        refused: dict[str, Sequence[OutletReading]] = {}
        pdus = list(readings)
        for done, pdu in enumerate(pdus):
            try:
                # The cycle's row adds up the writes (as `poll --pdu` one PDU at a time):
                # the failed PDUs are counted once.
                once = info if done == 0 else replace(info, failed=0)
                added += await self._store(cycle, {pdu: readings[pdu]}, once)
            except DatabaseUnavailable as exc:  # gone meanwhile: the rest waits in the spool
                self._went_down(exc)
                await self._put_aside(cycle, refused)
                await self._keep(cycle, {p: readings[p] for p in pdus[done:]}, once)
                return None
            except PowermonError as exc:
                log.error("database refused PDU %s of cycle %s: %s", pdu, iso_z(cycle), exc)
                refused[pdu] = readings[pdu]
        await self._put_aside(cycle, refused)
        self.fate = f"{added} stored, {len(refused)} PDU(s) refused (kept in spool/bad/)"
        return added

    async def _put_aside(self, cycle: datetime, refused: ReadingsByPdu) -> None:
        if not refused:
            return
        try:
            await asyncio.to_thread(self._spool.put_aside, cycle, refused)
        except OSError as exc:
            self._losses.lose(cycle, refused, exc)

    async def _drain(self) -> bool:
        """Write spooled cycles oldest first; ``True`` once the spool is empty."""

        async def write_one(entry: SpooledCycle) -> None:
            try:
                await self._store(entry.cycle, entry.readings_by_pdu, _replayed_info(entry))
            except DatabaseUnavailable:
                raise
            except PowermonError as exc:
                raise RejectedCycle(str(exc)) from exc

        result = await drain(self._spool, write_one)
        if result.written:
            self._came_back()
            log.info("wrote %d spooled cycles to the database", result.written)
        if isinstance(result.error, DatabaseUnavailable):
            self._went_down(result.error)
        return result.error is None and len(self._spool) == 0

    async def _keep(self, cycle: datetime, readings: ReadingsByPdu, info: CycleInfo) -> None:
        """Spool the cycle; when the spool cannot be written, the cycle is lost, and said."""
        self._keeping = cycle
        try:
            await asyncio.to_thread(self._spool.put, cycle, readings, info.to_json())
        except OSError as exc:
            self._losses.lose(cycle, readings, exc)
            self.fate = "lost (the spool cannot be written)"
            return
        finally:
            self._keeping = None
        self._losses.end()
        log.debug("cycle %s kept in the spool (%d cycles waiting)", iso_z(cycle), len(self._spool))
        self.fate = f"spooled ({len(self._spool)} waiting)"

    def _keep_abandoned(self, cycle: datetime, readings: ReadingsByPdu, info: CycleInfo) -> None:
        # Cancelled at stop while waiting on the database: keep the cycle, unless the spool
        # write already under way (in its thread, which finishes regardless) keeps it.
        if self._keeping == cycle:
            self.kept_abandoned = True
            return
        try:
            self._spool.put(cycle, readings, info.to_json())
        except OSError as exc:
            self._losses.lose(cycle, readings, exc)
            return
        self.kept_abandoned = True
        log.warning(
            "cycle %s abandoned at stop: kept in the spool (%d readings)",
            iso_z(cycle),
            _count(readings),
        )

    def close(self) -> None:
        """At stop: say what an episode of losses still open has lost."""
        self._losses.end()

    def _went_down(self, exc: Exception) -> None:
        if not self._db_down:
            log.error("database unavailable, spooling readings: %s", exc)
            self._db_down = True

    def _came_back(self) -> None:
        if self._db_down:
            log.warning("database is back")
            self._db_down = False


class _Losses:
    """Cycles lost because the spool could not be written: one line when it starts, one
    when it ends (naming the cycles and counting the readings)."""

    def __init__(self) -> None:
        self._cycles: list[datetime] = []
        self._readings = 0

    def lose(self, cycle: datetime, readings: ReadingsByPdu, exc: OSError) -> None:
        if not self._cycles:
            log.error(
                "cannot spool cycle %s (%s): cycles are lost while the database is "
                "unavailable and the spool cannot be written",
                iso_z(cycle),
                exc.strerror or exc,
            )
        self._cycles.append(cycle)
        self._readings += _count(readings)

    def end(self) -> None:
        if not self._cycles:
            return
        cycles = self._cycles
        if len(cycles) <= NAMED_LOSSES:
            named = ", ".join(map(iso_z, cycles))
        else:
            named = f"{iso_z(cycles[0])} … {iso_z(cycles[-1])}"
        log.error(
            "lost %d cycle(s) to an unwritable spool: %s (%d readings)",
            len(cycles),
            named,
            self._readings,
        )
        self._cycles, self._readings = [], 0


def _replayed_info(entry: SpooledCycle) -> CycleInfo:
    """The info spooled with the cycle; a file from before it was spooled, or with info this
    version cannot read, still has its readings stored (as a daemon cycle)."""
    if entry.info is None:
        return DAEMON_CYCLE
    try:
        return CycleInfo.from_json(entry.info)
    except ValueError as exc:
        log.warning("spooled cycle %s: its info is unusable (%s)", iso_z(entry.cycle), exc)
        return DAEMON_CYCLE


def _forget(task: asyncio.Future[int]) -> None:
    # The clean-up of a write the cycle stopped waiting for: its failure was reported.
    if not task.cancelled():
        task.exception()


def _count(readings: Mapping[str, Sequence[OutletReading]]) -> int:
    return sum(len(rows) for rows in readings.values())
