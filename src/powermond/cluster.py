"""Several collectors on one database: membership, the share of PDUs each polls, leases.

Each cycle a collector reads the live collectors from the database, refreshes its own row
(its heartbeat) and polls the PDUs :func:`powermond.collect.assign.assign` gives it. Nothing
else coordinates them: every collector computes the same assignment from the same rows.

Why the heartbeat expires 1.5 intervals after it was written: every collector beats at the
start of each cycle, and cycles start at the same wall-clock moments everywhere, so when a
collector reads the live set, the others' rows are those of the *previous* cycle, one
interval old, or being written right then. Expiring them after one interval would make live
collectors flicker out of the set (and their PDUs be polled twice) for any jitter in start
times or database latency; half an interval of margin absorbs that. A collector that dies
(SIGKILL, host lost) is still counted at the next cycle and gone at the one after, so its
PDUs miss at most the cycle it died in and the next one: taken over within two cycles. One
that stops (SIGTERM) expires its row as soon as it starts no more cycles, while the one in
flight still polls and stores its share, so the others take its PDUs at the very next cycle
(expiring it only once that cycle is stored could come after the next cycle start, on a busy
host, and leave its PDUs to nobody for that cycle); a returning one beats and polls its
share in its first cycle.

Departed collectors are remembered: their rows stay, expired, until they have not been heard
of for ``[collector] forget_after``, and the assignment ranks the PDUs over every remembered
collector (see :mod:`powermond.collect.assign`). So a departure moves only the departed
collector's PDUs and a return takes exactly those back. The first collector to see a row
older than that deletes it; forgetting a collector, like one never seen before joining,
changes the ranking and so rebalances the shares. Collectors read the rows at slightly
different moments, so for one cycle some may rank over the old set and some over the new:
in the cycle a collector sees the set change, it polls its shares under both, so that every
PDU is polled by someone (the few polled twice are stored once).

When the database cannot be read, a collector keeps the share it had (everyone else does
the same when the database is away for all), or polls every PDU if it never had one: a PDU
polled twice is stored once (readings are unique per outlet and cycle), a PDU polled by
nobody would be lost.

SQLite takes one collector: :class:`SqliteGuard` holds a lock on a file next to the
database for as long as the daemon runs (the kernel drops it if the daemon is killed).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import hashlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TypeVar

from sqlalchemy.engine import make_url

from powermond.collect.assign import Member, assign
from powermond.db.collectors import (
    IMPORT_LEASE,
    CollectorRepository,
    CollectorRow,
    Heartbeat,
    LeaseRepository,
    db_now,
)
from powermond.db.engine import Database
from powermond.db.errors import DatabaseError
from powermond.errors import PowermonError
from powermond.inventory.model import Inventory
from powermond.output import iso_z
from powermond.settings import CollectorSettings

log = logging.getLogger("powermond.cluster")

HEARTBEAT_INTERVALS = 1.5  # a heartbeat lives this many cycle intervals (see above)
DB_BOUND_S = 10.0  # longest a membership statement may hold up a cycle
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    host: str
    pid: int
    started_at: datetime
    only: frozenset[str]

    @classmethod
    def of_this_process(cls, settings: CollectorSettings) -> Identity:
        host = socket.gethostname()
        now = datetime.now(UTC).replace(microsecond=0)
        return cls(settings.name or host, host, os.getpid(), now, frozenset(settings.only))


def inventory_digest(pdus: Iterable[str]) -> str:
    """The same for two collectors exactly when they know the same PDU names."""
    return hashlib.sha256("\n".join(sorted(pdus)).encode()).hexdigest()[:32]


@functools.lru_cache(maxsize=8)
def _assignment(
    pdus: frozenset[str], members: tuple[Member, ...], known: tuple[Member, ...]
) -> dict[str, str | None]:
    return assign(pdus, members, known)


@dataclass(frozen=True, slots=True)
class View:
    """The collectors as one read of the rows shows them."""

    members: tuple[Member, ...]  # live, this one included
    known: tuple[Member, ...]  # live and remembered: what the PDUs are ranked over

    def mine(self, pdus: frozenset[str], me: str) -> set[str]:
        return {
            p for p, owner in _assignment(pdus, self.members, self.known).items() if owner == me
        }


class Cluster:
    """This collector among the others on the same database."""

    def __init__(
        self,
        db: Database,
        me: Identity,
        interval: float,
        import_interval: float,
        forget_after: float = 86400,
    ):
        self._db = db
        self.me = me
        self._ttl = timedelta(seconds=HEARTBEAT_INTERVALS * interval)
        self._import_ttl = timedelta(seconds=HEARTBEAT_INTERVALS * import_interval)
        self._forget_after = timedelta(seconds=forget_after)
        self._bound = min(DB_BOUND_S, max(2.0, interval / 4))
        self._view: View | None = None  # as last read from the database
        self._others: dict[str, str] | None = None  # live collector -> its inventory digest
        self._remembered: set[str] = set()  # departed collectors still ranked
        self._said: tuple[int, int, tuple[str, ...], tuple[str, ...]] | None = None
        self._unreadable = False
        self._left = False  # the row is expired: no more beats (see leave)
        self._rows = asyncio.Lock()  # a beat and the leave, one after the other
        self.share_size = 0

    @property
    def members(self) -> tuple[str, ...]:
        """The live collectors of the last cycle's share (for status, metrics)."""
        return tuple(m.name for m in self._view.members) if self._view else ()

    @property
    def known(self) -> tuple[str, ...]:
        """The collectors, live and remembered, the last cycle's share was ranked over."""
        return tuple(m.name for m in self._view.known) if self._view else ()

    # --- joining and leaving ----------------------------------------------------------

    async def join(self) -> None:
        """Refuse to start when a live collector of the same name is another process (a
        second daemon on the host, or a host copied with its configuration).

        The first heartbeat is the first cycle's, not one now: a collector counted by the
        others must poll its share in that very cycle, and a daemon starting a moment before
        a cycle start would only begin at the next one (a cycle of its PDUs lost). Beating
        in the cycle it polls, its first share may be polled twice instead (stored once).
        """
        try:
            async with self._db.transaction() as session:
                now = await db_now(session)
                row = await CollectorRepository(session).get(self.me.name)
        except DatabaseError as exc:
            log.warning("cannot read the collectors now (%s): polling every PDU until then", exc)
            return
        if row is not None and self._is_other(row, now):
            raise PowermonError(
                f"collector {self.me.name!r} is already running (pid {row.pid} on {row.host}): "
                "give this one its own [collector] name in powermon.toml"
            )
        log.info("collector %r (pid %d on %s)", self.me.name, self.me.pid, self.me.host)

    def _is_other(self, row: CollectorRow, now: datetime) -> bool:
        """Whether ``row`` is another live process's. On this host its process tells (a busy
        daemon's heartbeat may lapse, a killed one's may not have yet); elsewhere, the expiry."""
        if row.stopped:  # it left: its process is gone (its pid may be another's now)
            return False
        if row.host != self.me.host:
            return row.live(now)
        return row.pid != self.me.pid and _is_powermond(row.pid)

    async def leave(self) -> None:
        """Expire this collector's row and give up its lease: the others take over now. The
        row stays: the others keep this collector's share for it until it is forgotten.

        Called once the daemon starts no more cycles, before the cycle in flight ends (it
        polls its share and is stored meanwhile), and again at exit (then a no-op). From
        then on this collector no longer beats: a beat of the cycle in flight would make it
        live again for a cycle it will not poll. A beat under way is waited for, so that
        it cannot land after the expiry."""
        if self._left:
            return
        self._left = True
        async with self._rows:
            await self._leave()

    async def _leave(self) -> None:
        async def work() -> datetime | None:
            async with self._db.transaction() as session:
                now = await db_now(session)
                await LeaseRepository(session).release(IMPORT_LEASE, self.me.name)
                left = await CollectorRepository(session).leave(self.me.name, self.me.pid, now)
                return now if left else None

        left = await self._bounded(work(), "leave the collectors")
        if left is not None:
            log.info(
                "left the collectors: the others take over its PDUs now, and give them back "
                "if it returns before %s",
                iso_z(left + self._forget_after),
            )

    # --- the share of each cycle --------------------------------------------------------

    async def share(self, inventory: Inventory) -> Inventory:
        """Beat, read the live collectors, and return ``inventory`` cut to this one's PDUs."""
        pdus = frozenset(inventory.pdus)
        digest = inventory_digest(pdus)
        before = self._view
        view = None  # left (stopping): the cycle in flight polls the share it had, unannounced
        if not self._left:
            view = await self._bounded(self._beat_once(pdus, digest), "read the collectors")
        if view is None:
            if not self._left and not self._unreadable:
                log.warning("collectors unknown (database unavailable): keeping the last share")
                self._unreadable = True
            alone = (Member(self.me.name, self.me.only),)
            view = before or View(alone, alone)
        else:
            self._unreadable = False
            self._view = view
        names = view.mine(pdus, self.me.name)
        if before is not None and before.known != view.known:
            # The ranking changed: the others may rank over the old set this cycle.
            names |= before.mine(pdus, self.me.name)
        mine = {n: pdu for n, pdu in inventory.pdus.items() if n in names}
        self.share_size = len(mine)
        self._say(len(mine), len(pdus), view, _assignment(pdus, view.members, view.known))
        if len(mine) == len(inventory.pdus):
            return inventory  # all of them: no copy of the PDUs each cycle
        return inventory.with_pdus(mine)

    async def _beat_once(self, pdus: frozenset[str], digest: str) -> View | None:
        async with self._rows:
            if self._left:  # left while this beat waited
                return None
            return await self._beat(pdus, digest)

    async def _beat(self, pdus: frozenset[str], digest: str) -> View:
        me = Member(self.me.name, self.me.only)
        async with self._db.transaction() as session:
            repo = CollectorRepository(session)
            now = await db_now(session)
            heard_since = now - self._forget_after
            rows = [row for row in await repo.every() if row.name != self.me.name]
            known = [r for r in rows if r.live(now) or r.heartbeat_at >= heard_since]
            live = [r for r in known if r.live(now)]
            view = View(tuple(sorted([me, *_members(live)])), tuple(sorted([me, *_members(known)])))
            beat = Heartbeat(
                self.me.name,
                self.me.host,
                self.me.pid,
                self.me.started_at,
                self.me.only,
                digest,
                len(view.mine(pdus, self.me.name)),
            )
            await repo.beat(beat, now, self._ttl)
        forgotten = {r.name for r in rows} - {r.name for r in known}
        if forgotten:  # a transaction of its own: it locks those rows only, and not for long
            async with self._db.transaction() as session:
                await CollectorRepository(session).forget(forgotten, heard_since, now)
        self._notice(live, [r for r in known if not r.live(now)], forgotten, digest)
        return view

    async def beat_again(self) -> None:
        """Refresh the heartbeat after a cycle that ran past the next start (it overran the
        interval, or started late): the scheduler skips that start, and with it that beat, so
        the others would count this collector gone.
        (Only then: beating after every cycle would keep a dead collector's PDUs waiting for
        as long again as its cycles last.)"""

        async def work() -> None:
            async with self._rows, self._db.transaction() as session:
                if self._left:
                    return
                now = await db_now(session)
                await CollectorRepository(session).refresh(self.me.name, now, self._ttl)

        await self._bounded(work(), "refresh the heartbeat")

    # --- the RRD import lease -----------------------------------------------------------

    async def may_import(self) -> bool:
        """Whether this collector runs the RRD import now: it holds (or took) the lease."""

        async def work() -> bool:
            async with self._db.transaction() as session:
                now = await db_now(session)
                return await LeaseRepository(session).acquire(
                    IMPORT_LEASE, self.me.name, now, self._import_ttl
                )

        taken = await self._bounded(work(), "take the load import lease")
        return bool(taken)

    # --- helpers --------------------------------------------------------------------------

    async def _bounded(self, work: Awaitable[T], what: str) -> T | None:
        try:
            return await asyncio.wait_for(work, self._bound)
        except (DatabaseError, TimeoutError) as exc:
            log.debug("could not %s: %s", what, exc or "timed out")
            return None

    def _notice(
        self,
        live: list[CollectorRow],
        departed: list[CollectorRow],
        forgotten: set[str],
        digest: str,
    ) -> None:
        """Log collectors joining, leaving, being forgotten, or knowing other PDUs: state
        changes, once."""
        now = {row.name: row.inventory for row in live}
        gone = {row.name: row for row in departed}
        if self._others is None:  # the first look: they were there before this one
            if now:
                log.info("other live collectors: %s", ", ".join(sorted(now)))
            if gone:
                log.info("departed collectors remembered: %s", ", ".join(sorted(gone)))
            self._others = {}
        else:
            for name in sorted(now.keys() - self._others.keys()):
                if name in self._remembered:
                    log.info("collector %r is back: it polls its PDUs again", name)
                else:
                    log.info("collector %r joined: the PDUs are shared anew", name)
        for name in sorted(self._others.keys() - now.keys()):
            row = gone.get(name)
            how = "stopped" if row is not None and row.stopped else "its heartbeat expired"
            log.info("collector %r left (%s): the others poll its PDUs until it returns", name, how)
        for name in sorted(forgotten & self._remembered):
            log.info(
                "collector %r forgotten (not heard of for %s): the PDUs are shared anew",
                name,
                self._forget_after,
            )
        self._remembered = set(gone)
        for name, theirs in sorted(now.items()):
            if theirs != digest and self._others.get(name) != theirs:
                log.warning(
                    "collector %r has other PDUs in its pdus.toml than this one: "
                    "give every collector the same files",
                    name,
                )
        self._others = now

    def _say(self, mine: int, total: int, view: View, assigned: dict[str, str | None]) -> None:
        live = tuple(m.name for m in view.members)
        remembered = tuple(m.name for m in view.known if m.name not in live)
        said = (mine, total, live, remembered)
        if said == self._said:
            return
        self._said = said
        log.info(
            "polling %d of %d PDUs, shared by %d collector(s): %s%s",
            mine,
            total,
            len(live),
            ", ".join(live),
            f" (departed, their PDUs kept for them: {', '.join(remembered)})" if remembered else "",
        )
        orphans = sum(1 for owner in assigned.values() if owner is None)
        if orphans:
            log.warning(
                "%d PDUs have no collector: every live collector is pinned ([collector] only)",
                orphans,
            )


def _members(rows: Iterable[CollectorRow]) -> list[Member]:
    return [Member(row.name, row.only) for row in rows]


def _is_powermond(pid: int) -> bool:
    """Whether process ``pid`` runs PowerMon (not a process that got a dead daemon's pid)."""
    try:
        return b"powermon" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: whether the process exists at all
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


# --- SQLite: one collector ------------------------------------------------------------------


class SqliteGuard:
    """An exclusive lock on ``<database>.collector`` held while the daemon runs."""

    def __init__(self, database: Path, me: Identity) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".collector")
        self._me = me
        self._file: IO[str] | None = None

    @classmethod
    def for_url(cls, url: str, me: Identity) -> SqliteGuard | None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
            return None
        return cls(Path(parsed.database), me)

    def acquire(self) -> bool:
        """Take the lock; ``False`` when its folder is not there (nor, then, the database:
        the daemon spools until it is, and no other daemon can write it meanwhile)."""
        try:
            handle = self.path.open("a+")
        except (FileNotFoundError, NotADirectoryError) as exc:
            log.warning(
                "cannot take the single-collector lock %s (%s): the database is not "
                "reachable either, readings are spooled until it is",
                self.path, exc.strerror,
            )  # fmt: skip
            return False
        except OSError as exc:
            raise PowermonError(f"cannot lock {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise PowermonError(
                f"{self.database} is already collected by powermond ({holder}): "
                "SQLite takes one collector; run several on PostgreSQL or MariaDB"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {self._me.pid} on {self._me.host}, collector {self._me.name!r}\n")
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.truncate(0)
            self._file.close()
            self._file = None


def sqlite_guard(url: str, me: Identity) -> Callable[[], None] | None:
    """Take the SQLite lock (raising if another daemon holds it); its release, or None."""
    guard = SqliteGuard.for_url(url, me)
    if guard is None:
        return None
    return guard.release if guard.acquire() else None
