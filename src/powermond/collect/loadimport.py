"""One CPU-load import run: machines -> RRD windows -> batches read in threads -> bulk writes.

The daemon calls :func:`import_load` every ``[rrd].interval``; ``powermon import-load`` calls
it once. Each machine gets every complete bucket after its last stored load time (first run:
``backfill_days``). Rows are unique per machine and time, so re-runs and overlapping runs
store nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from powermond.collect.rrd import (
    HostIndex,
    MachineLoad,
    RrdError,
    Window,
    make_window,
    read_machines,
    rrdcached_problem,
)
from powermond.db.repositories import LoadRepository, MachineRepository
from powermond.db.rollups import update_load_rollups_for
from powermond.db.rows import LoadRow

if TYPE_CHECKING:
    from powermond.db.engine import Database
    from powermond.settings import RrdSettings

log = logging.getLogger(__name__)

#: Machines per thread job and per database transaction.
BATCH_SIZE = 250
#: Batches read ahead while the previous one is written; bounds memory on long back-fills.
READ_AHEAD = 2
#: A bucket is imported this long after it ends: gmetad writes each 15 s poll a few seconds
#: late, so a bucket read the instant it ends would miss its last rows for good.
SETTLE = timedelta(seconds=60)

Progress = Callable[[int, int], None]
_RRDCACHED = "(rrdcached)"  # the key of a daemon problem among remembered machine problems


class MachineLike(Protocol):
    """A stored machine (``MachineRow``) or anything with its name and ``rrd`` key."""

    @property
    def name(self) -> str: ...
    @property
    def rrd(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """``machines`` read fine (with or without new rows), ``rows`` stored, ``skipped``
    machines Ganglia does not know (no host directory), ``errors`` machines that failed."""

    machines: int
    rows: int
    skipped: int
    errors: int


@dataclass(slots=True)
class _Run:
    remembered: MutableMapping[str, str]
    machines: int = 0
    rows: int = 0
    skipped: int = 0
    errors: int = 0

    def problem(self, machine: str, message: str) -> None:
        """Count a failed machine; warn only when its problem is new (hourly runs repeat)."""
        self.errors += 1
        level = logging.DEBUG if self.remembered.get(machine) == message else logging.WARNING
        log.log(level, "load import %s: %s", machine, message)
        self.remembered[machine] = message

    def fine(self, machine: str) -> None:
        self.machines += 1
        if self.remembered.pop(machine, None) is not None:
            log.info("load import %s: files readable again", machine)

    def summary(self) -> ImportSummary:
        return ImportSummary(self.machines, self.rows, self.skipped, self.errors)


def _names_and_keys(
    machines: Sequence[MachineLike | tuple[str, str | None]],
) -> list[tuple[str, str | None]]:
    return [m if isinstance(m, tuple) else (m.name, m.rrd) for m in machines]


async def import_load(
    db: Database,
    settings: RrdSettings,
    machines: Sequence[MachineLike | tuple[str, str | None]],
    *,
    since: datetime | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    remembered: MutableMapping[str, str] | None = None,
) -> ImportSummary:
    """Import every complete load bucket of ``machines`` not yet stored.

    ``since`` re-reads from that time instead of each machine's last stored time (rows
    already stored are kept, gaps are filled). ``remembered`` carries per-machine problems
    between runs so that a file missing for days is warned about once, not every hour.
    """
    run = _Run(remembered if remembered is not None else {})
    targets = _names_and_keys(machines)
    if settings.rrdcached:
        problem = await asyncio.to_thread(rrdcached_problem, settings.rrdcached)
        if problem is not None:
            # No fallback to the files: they lag behind the daemon's cache, and a bucket
            # imported half-written would never be corrected.
            repeated = run.remembered.get(_RRDCACHED) == problem
            log.log(logging.DEBUG if repeated else logging.ERROR, "load import: %s", problem)
            run.remembered[_RRDCACHED] = problem
            return ImportSummary(0, 0, 0, len(targets))
        if run.remembered.pop(_RRDCACHED, None) is not None:
            log.info("load import: rrdcached at %s answers again", settings.rrdcached)
    now = now or datetime.now(UTC)
    index = await asyncio.to_thread(HostIndex.scan, settings.root)
    located = _locate(index, targets, run)
    jobs, ids = await _plan(db, located, settings, since, now, run)
    total = len(targets)
    done = total - len(jobs)
    if progress is not None:
        progress(done, total)
    with ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="rrd") as pool:
        async for results in _read_batches(pool, jobs, settings.rrdcached):
            await _store(db, results, ids, run)
            done += len(results)
            if progress is not None:
                progress(done, total)
    summary = run.summary()
    log.info(
        "load import: %d machines, %d rows, %d skipped, %d errors",
        summary.machines,
        summary.rows,
        summary.skipped,
        summary.errors,
    )
    return summary


def _locate(
    index: HostIndex, targets: Sequence[tuple[str, str | None]], run: _Run
) -> list[tuple[str, Path]]:
    located: list[tuple[str, Path]] = []
    for name, rrd in targets:
        try:
            directory = index.locate(name, rrd)
        except RrdError as exc:
            run.problem(name, str(exc))
            continue
        if directory is None:
            log.debug("load import %s: no host directory under %s", name, index.root)
            run.skipped += 1
            continue
        located.append((name, directory))
    return located


async def _plan(
    db: Database,
    located: Sequence[tuple[str, Path]],
    settings: RrdSettings,
    since: datetime | None,
    now: datetime,
    run: _Run,
) -> tuple[list[tuple[str, Path, Window]], dict[str, int]]:
    """Each located machine's window, and machine ids; nothing complete yet counts as fine."""
    until = now - SETTLE
    backfill = now - timedelta(days=settings.backfill_days)
    async with db.transaction() as session:
        ids = await MachineRepository(session).ids()
        last = await LoadRepository(session).last_times() if since is None else {}
    jobs: list[tuple[str, Path, Window]] = []
    for name, directory in located:
        if name not in ids:
            run.problem(name, "not in the database (run `powermon config apply`)")
            continue
        window = make_window(since or last.get(name) or backfill, until, settings.resolution)
        if window.count == 0:
            run.fine(name)
            continue
        jobs.append((name, directory, window))
    return jobs, ids


async def _read_batches(
    pool: ThreadPoolExecutor, jobs: Sequence[tuple[str, Path, Window]], daemon: str | None
) -> AsyncIterator[list[MachineLoad]]:
    """Batches of read results in order, at most :data:`READ_AHEAD` being read at a time."""
    loop = asyncio.get_running_loop()
    batches = [jobs[i : i + BATCH_SIZE] for i in range(0, len(jobs), BATCH_SIZE)]
    pending: deque[asyncio.Future[list[MachineLoad]]] = deque()
    next_batch = 0
    while pending or next_batch < len(batches):
        while len(pending) < READ_AHEAD and next_batch < len(batches):
            pending.append(loop.run_in_executor(pool, read_machines, batches[next_batch], daemon))
            next_batch += 1
        yield await pending.popleft()


async def _store(
    db: Database, results: Sequence[MachineLoad], ids: Mapping[str, int], run: _Run
) -> None:
    """One bulk insert, and the hourly rollups it changes, in one transaction per batch."""
    rows: list[LoadRow] = []
    times: dict[int, datetime] = {}  # machines of one run mostly share their bucket times
    for result in results:
        if result.error is not None:
            run.problem(result.machine, result.error)
            continue
        machine_id = ids[result.machine]
        for epoch, load1, load5, load15 in result.cells():
            when = times.get(epoch) or times.setdefault(epoch, datetime.fromtimestamp(epoch, UTC))
            rows.append(LoadRow(machine_id, when, load1, load5, load15))
        run.fine(result.machine)
    if not rows:
        return
    async with db.transaction() as session:
        run.rows += await LoadRepository(session).add_many(rows)
        await update_load_rollups_for(
            session, sorted({r.machine_id for r in rows}), min(times.values()), max(times.values())
        )
