"""The durable spool of cycles that could not be written to the database.

One JSON file per cycle, ``<state_dir>/spool/<cycle UTC>-<seq>.json``, written atomically
(temporary file, fsync, rename, directory fsync): after a crash a file is either complete or
absent. A leftover temporary file is the cycle that was in flight; it is deleted on open.

A file may also carry the cycle's ``info`` (a JSON object of plain values: what its cycle
row records besides the readings, such as the PDUs that failed), so a replayed cycle is
recorded as it really was; files without it (written before it existed) stay readable.

Replay (:func:`drain`) is at-least-once: a cycle is removed only after its write succeeded,
so a crash in between replays it once more. The database makes that exactly-once with its
unique (outlet, cycle) constraint.

At the bound the OLDEST cycle is dropped, not the newest: after a long outage the recent
readings are the ones operators look at, and keeping them means the data resumes right up
to the moment the database came back, with the unavoidable gap further in the past.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import os
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from powermond.readings import OutletReading

log = logging.getLogger(__name__)

FORMAT = "powermon-spool"
VERSION = 1
COLUMNS = ("outlet", "watts", "amps", "energy_kwh")
WARN_FRACTION = 0.8

_NAME = re.compile(r"^(?P<cycle>\d{8}T\d{12}Z)-(?P<seq>\d{6,})\.json$")
_NAME_TIME = "%Y%m%dT%H%M%S%fZ"
_TMP_PREFIX = ".tmp-"


class RejectedCycle(Exception):
    """Raised by a :func:`drain` writer when the database refuses this cycle for good
    (e.g. it names a PDU that no longer exists): replaying it again cannot succeed, so it
    is moved aside instead of blocking every later cycle."""


@dataclass(frozen=True, order=True, slots=True)
class SpoolEntry:
    """A spooled cycle known by its file name only (cheap: no file is read)."""

    cycle: datetime
    seq: int
    path: Path


#: A cycle's ``info``: names to plain JSON values (the writer gives them their meaning).
CycleInfoJson = Mapping[str, str | int | float | bool | None]


@dataclass(frozen=True, slots=True)
class SpooledCycle:
    entry: SpoolEntry
    readings_by_pdu: Mapping[str, tuple[OutletReading, ...]]
    info: CycleInfoJson | None = None  # None: a file spooled without it

    @property
    def cycle(self) -> datetime:
        return self.entry.cycle

    @property
    def reading_count(self) -> int:
        return sum(len(readings) for readings in self.readings_by_pdu.values())


@dataclass(frozen=True, slots=True)
class DrainResult:
    written: int
    remaining: int
    error: Exception | None  # what stopped the drain, ``None`` if it emptied the spool


class Spool:
    """Cycles waiting for the database, oldest first, at most ``max_cycles`` of them.

    Thread-safe, so the blocking file work can run in ``asyncio.to_thread``.
    """

    def __init__(self, directory: Path, max_cycles: int) -> None:
        if max_cycles < 1:
            raise ValueError("max_cycles must be at least 1")
        self.directory = directory
        self.bad_directory = directory / "bad"
        self.max_cycles = max_cycles
        self.dropped = 0  # cycles lost to the bound since start
        self._lock = threading.Lock()
        self._near_bound_warned = False
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._entries = sorted(self._scan())
        self._next_seq = max((e.seq for e in self._entries), default=0) + 1
        if self._entries:
            log.warning(
                "spool %s holds %d cycle(s) not yet written to the database (oldest %s)",
                directory,
                len(self._entries),
                _iso(self._entries[0].cycle),
            )

    def __len__(self) -> int:
        return len(self._entries)

    def put(
        self,
        cycle: datetime,
        readings_by_pdu: Mapping[str, Sequence[OutletReading]],
        info: CycleInfoJson | None = None,
    ) -> SpoolEntry:
        """Store one cycle durably, with its ``info``; returns once it is on disk.

        Raises ``OSError`` when it cannot (disk full, permissions): that cycle is lost, and
        the caller says so.
        """
        cycle = _utc(cycle)
        document = _encode(cycle, readings_by_pdu, info)
        with self._lock:
            entry = SpoolEntry(
                cycle, self._next_seq, self.directory / _file_name(cycle, self._next_seq)
            )
            self._next_seq += 1
            _write_atomically(entry.path, document)
            self._insert(entry)
            dropped = self._enforce_bound()
            self._warn_near_bound()
        for old in dropped:
            log.error(
                "spool full (%d cycles): dropped the oldest cycle %s; %d cycle(s) lost since "
                "start. Is the database reachable?",
                self.max_cycles,
                _iso(old.cycle),
                self.dropped,
            )
        return entry

    def put_aside(
        self, cycle: datetime, readings_by_pdu: Mapping[str, Sequence[OutletReading]]
    ) -> Path:
        """Store readings the database refused in ``bad/``, for the operator (not replayed)."""
        cycle = _utc(cycle)
        self.bad_directory.mkdir(exist_ok=True, mode=0o700)
        with self._lock:
            seq, self._next_seq = self._next_seq, self._next_seq + 1
        path = self.bad_directory / _file_name(cycle, seq)
        _write_atomically(path, _encode(cycle, readings_by_pdu))
        log.error("readings of cycle %s refused by the database: kept in %s", _iso(cycle), path)
        return path

    def entries(self) -> list[SpoolEntry]:
        """Spooled cycles oldest first (by cycle time, then by order of arrival)."""
        with self._lock:
            return list(self._entries)

    def read(self, entry: SpoolEntry) -> SpooledCycle | None:
        """The cycle's readings, or ``None`` if its file was unreadable (then moved aside)."""
        try:
            document = json.loads(entry.path.read_bytes())
            readings = _decode(document, entry.cycle)
            info = _decode_info(document)
        except FileNotFoundError:
            with self._lock:
                self._discard(entry)
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.quarantine(entry, f"unreadable: {exc}")
            return None
        return SpooledCycle(entry, readings, info)

    def pending(self) -> list[SpooledCycle]:
        """All spooled cycles with their readings, oldest first (drain reads one at a time)."""
        cycles = (self.read(entry) for entry in self.entries())
        return [cycle for cycle in cycles if cycle is not None]

    def remove(self, item: SpoolEntry | SpooledCycle) -> None:
        entry = item.entry if isinstance(item, SpooledCycle) else item
        # No directory fsync: if the removal is lost in a crash the cycle is replayed, and the
        # database's unique (outlet, cycle) constraint absorbs the duplicate.
        entry.path.unlink(missing_ok=True)
        with self._lock:
            self._discard(entry)
            if len(self._entries) < self._warn_at:
                self._near_bound_warned = False

    def quarantine(self, entry: SpoolEntry, reason: str) -> None:
        """Move a file that cannot be replayed to ``bad/`` for a human to look at."""
        self._move_aside(entry.path, reason)
        with self._lock:
            self._discard(entry)

    # -- internals --------------------------------------------------------------------

    @property
    def _warn_at(self) -> int:
        return max(1, int(self.max_cycles * WARN_FRACTION))

    def _scan(self) -> Iterable[SpoolEntry]:
        for path in self.directory.iterdir():
            if path.name.startswith(_TMP_PREFIX):
                # A write interrupted by a crash: the cycle that was in flight.
                log.warning("discarding the incomplete spool file %s", path)
                path.unlink(missing_ok=True)
                continue
            if not path.is_file():
                continue
            match = _NAME.match(path.name)
            if match is None:
                self._move_aside(path, "not a spool file name")
                continue
            try:
                cycle = datetime.strptime(match["cycle"], _NAME_TIME).replace(tzinfo=UTC)
            except ValueError:  # shaped like a date, but none (month 13, …)
                self._move_aside(path, "names no valid date")
                continue
            yield SpoolEntry(cycle, int(match["seq"]), path)

    def _insert(self, entry: SpoolEntry) -> None:
        # Cycles normally arrive in time order, so this is usually an append.
        bisect.insort(self._entries, entry)

    def _discard(self, entry: SpoolEntry) -> None:
        if entry in self._entries:
            self._entries.remove(entry)

    def _enforce_bound(self) -> list[SpoolEntry]:
        dropped: list[SpoolEntry] = []
        while len(self._entries) > self.max_cycles:
            oldest = self._entries.pop(0)
            oldest.path.unlink(missing_ok=True)
            self.dropped += 1
            dropped.append(oldest)
        return dropped

    def _warn_near_bound(self) -> None:
        if len(self._entries) >= self._warn_at and not self._near_bound_warned:
            self._near_bound_warned = True
            log.warning(
                "spool %s is at %d of %d cycles; at the bound the oldest cycles are dropped",
                self.directory,
                len(self._entries),
                self.max_cycles,
            )

    def _move_aside(self, path: Path, reason: str) -> None:
        self.bad_directory.mkdir(exist_ok=True, mode=0o700)
        target = self.bad_directory / path.name
        try:
            os.replace(path, target)
        except OSError as exc:
            log.error("cannot move bad spool file %s aside (%s); deleting it", path, exc)
            path.unlink(missing_ok=True)
            return
        log.error("spool file %s %s; moved to %s", path.name, reason, target)


async def drain(spool: Spool, write: Callable[[SpooledCycle], Awaitable[None]]) -> DrainResult:
    """Write spooled cycles oldest first; stop at the first failure and leave the rest.

    ``write`` must commit the whole cycle in one transaction before returning. If it raises
    :class:`RejectedCycle` the cycle is moved to ``bad/`` and the drain goes on; any other
    exception (database unreachable) ends this drain and is returned, for the caller to
    decide how loudly to report it. Cancellation propagates: the cycle being written stays
    in the spool.
    """
    written = 0
    for entry in spool.entries():
        cycle = await asyncio.to_thread(spool.read, entry)
        if cycle is None:
            continue
        try:
            await write(cycle)
        except RejectedCycle as exc:
            spool.quarantine(entry, f"rejected by the database: {exc}")
            continue
        except Exception as exc:
            log.debug("spool drain stopped at cycle %s: %s", _iso(entry.cycle), exc)
            return DrainResult(written, len(spool), exc)
        spool.remove(entry)
        written += 1
    return DrainResult(written, len(spool), None)


# -- file format --------------------------------------------------------------------------


def _encode(
    cycle: datetime,
    readings_by_pdu: Mapping[str, Sequence[OutletReading]],
    info: CycleInfoJson | None = None,
) -> bytes:
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "cycle": _iso(cycle),
        "spooled_at": _iso(datetime.now(UTC)),
        "columns": list(COLUMNS),
        # Rows rather than objects: a cycle of 1,000 PDUs is ~half the size.
        "pdus": {
            pdu: [[r.outlet, r.watts, r.amps, r.energy_kwh] for r in readings]
            for pdu, readings in readings_by_pdu.items()
        },
    }
    if info is not None:
        document["info"] = dict(info)
    return json.dumps(document, separators=(",", ":")).encode()


def _decode(document: Any, cycle: datetime) -> dict[str, tuple[OutletReading, ...]]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError("not a PowerMon spool file")
    if document.get("version") != VERSION:
        raise ValueError(f"unsupported spool version {document.get('version')!r}")
    if document["cycle"] != _iso(cycle) or document["columns"] != list(COLUMNS):
        raise ValueError("header does not match the file name")
    return {
        str(pdu): tuple(_reading(row) for row in rows) for pdu, rows in document["pdus"].items()
    }


def _decode_info(document: dict[str, Any]) -> CycleInfoJson | None:
    info = document.get("info")
    if info is None:
        return None
    if not isinstance(info, dict):
        raise TypeError(f"cycle info {info!r} is not an object")
    for name, value in info.items():
        if value is not None and not isinstance(value, str | int | float):
            raise TypeError(f"cycle info {name!r}: {value!r} is not a plain value")
    return info


def _reading(row: Any) -> OutletReading:
    outlet, watts, amps, energy = row  # ValueError/TypeError on a malformed row
    if not isinstance(outlet, str):
        raise TypeError(f"outlet label {outlet!r} is not a string")
    return OutletReading(outlet, _number(watts), _number(amps), _number(energy))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a number")
    return float(value)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(_TMP_PREFIX + path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable: without it a power cut can forget the new name.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _utc(moment: datetime) -> datetime:
    # Naive times are taken as UTC (the project's convention), aware ones converted.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _file_name(cycle: datetime, seq: int) -> str:
    return f"{cycle.strftime(_NAME_TIME)}-{seq:06d}.json"


def waiting(directory: Path) -> list[SpoolEntry]:
    """The cycles waiting in the spool at ``directory``, oldest first, read-only (for
    ``powermon status``: nothing is moved, created or deleted)."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _NAME.match(path.name)
        if match is not None and path.is_file():
            cycle = datetime.strptime(match["cycle"], _NAME_TIME).replace(tzinfo=UTC)
            found.append(SpoolEntry(cycle, int(match["seq"]), path))
    return sorted(found)
