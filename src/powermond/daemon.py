"""``powermond``: the long-running process.

Lifecycle (STYLE.md): resources are entered into one AsyncExitStack and released in
reverse order; signal handlers and the file watcher only set events; the scheduler starts
cycles, the daemon tracks the one in flight itself (APScheduler 3 would cancel it at
shutdown), and every cycle is stored in one transaction or spooled, never half.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from powermond import __version__, systemd
from powermond.cluster import Cluster
from powermond.collect.cycle import cycle_time
from powermond.collect.poll import CycleOutcome, Poller
from powermond.collect.store import CycleInfo, InventorySync
from powermond.collect.writer import CycleWriter, open_spool
from powermond.db.engine import Database
from powermond.errors import EXIT_CONFIG, EXIT_OK, ConfigError, PowermonError
from powermond.inventory.load import load_all
from powermond.inventory.model import Inventory
from powermond.memory import release_freed_memory, tune_garbage_collector
from powermond.monitor import Monitor
from powermond.output import iso_z
from powermond.settings import Settings
from powermond.snmp.client import PduTransport

log = logging.getLogger("powermond")

#: Each retention batch's (and closed day's) database bound: far above a cycle's, far below
#: the job's day.
PRUNE_BOUND_S = 600.0


@dataclass
class DaemonResult:
    exit_code: int
    last_status: str = ""


@dataclass
class _State:
    """What the running daemon holds; replaced piecewise on reload."""

    settings: Settings
    inventory: Inventory
    cycles_done: int = 0
    last_status: str = "starting"
    inflight: asyncio.Task[None] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    reload: asyncio.Event = field(default_factory=asyncio.Event)
    hurry: asyncio.Event = field(default_factory=asyncio.Event)  # a second SIGTERM: no grace


class Daemon:
    """The collector: scheduled SNMP cycles and RRD imports over a swappable inventory."""

    def __init__(
        self,
        config_dir: Path,
        state: _State,
        db: Database,
        writer: CycleWriter,
        poll: Callable[[Inventory, datetime], Awaitable[CycleOutcome]],
        notifier: systemd.Notifier,
        max_cycles: int | None,
        *,
        monitor: Monitor,
    ) -> None:
        self.config_dir = config_dir
        self.state = state
        self.db = db
        self.writer = writer
        self._poll = poll
        self.notifier = notifier
        self.max_cycles = max_cycles
        self.monitor = monitor
        self._load_problems: dict[str, str] = {}  # machine -> last RRD problem, to log once
        self.inventory_sync = InventorySync(db)
        writer.prepare = self.inventory_sync.apply_pending
        self.cluster: Cluster | None = None  # set by _assemble: the other collectors

    # --- SNMP cycles -------------------------------------------------------------------

    async def cycle_job(self) -> None:
        """The scheduler's job: run one cycle as a task of our own and wait for it."""
        if self.state.stop.is_set():
            return
        scheduled = cycle_time(datetime.now(UTC), self.state.settings.collector.interval)
        task = asyncio.create_task(self._cycle(scheduled), name=f"cycle {iso_z(scheduled)}")
        self.state.inflight = task
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            # APScheduler cancels running jobs at shutdown; the cycle task is ours to
            # finish or abandon (finish_inflight), so the job just ends.
            return
        finally:
            if task.done():
                self.state.inflight = None

    async def _cycle(self, scheduled: datetime) -> None:
        inventory = self.state.inventory  # one inventory per cycle: a reload never tears it
        started = time.monotonic()
        late = max(0.0, time.time() - scheduled.timestamp())  # after its scheduled start
        collectors = 1
        if self.cluster is not None:  # this collector's share of the PDUs
            inventory = await self.cluster.share(inventory)
            collectors = max(1, len(self.cluster.members))
        self.monitor.cycle_started(inventory, collectors=collectors)
        outcome = await self._poll(inventory, scheduled)
        polled = time.monotonic() - started
        # PDUs and outlets must be in the database before readings naming them are written.
        await self.inventory_sync.apply_pending()
        info = CycleInfo(failed=outcome.pdus_total - outcome.pdus_ok, seconds=polled)
        if self.cluster is not None:
            info = replace(info, collector=self.cluster.me.name)
        added = await self.writer.write(scheduled, outcome.readings, info)
        duration = time.monotonic() - started
        await self.monitor.cycle_finished(
            inventory, outcome.result, duration=duration, store_seconds=duration - polled,
            added=added,
        )  # fmt: skip
        self.state.cycles_done += 1
        status = outcome.status_line(scheduled, duration, self.writer.fate)
        self.state.last_status = status
        self.notifier.status(status)
        log.info("%s", status, extra={"cycle": iso_z(scheduled), "duration": round(duration, 3)})
        del outcome  # the cycle's readings, before their memory is handed back
        release_freed_memory()
        # Last, with no wait after it: a start that comes before the job ends is skipped.
        await self._overran(scheduled, late, duration, polled)
        if self.max_cycles is not None and self.state.cycles_done >= self.max_cycles:
            self.state.stop.set()

    async def _overran(
        self, scheduled: datetime, late: float, duration: float, polled: float
    ) -> None:
        """Say how many scheduled starts this cycle ran past (the scheduler skips them), and
        beat again for the skipped one.

        Counted from the cycle's scheduled time, not from its own start: a cycle that
        started ``late`` (a busy host) can end past the next start while taking less than
        the interval, and that start is skipped all the same, its share of the PDUs polled
        by nobody (the others count this collector live)."""
        interval = self.state.settings.collector.interval
        skipped = int((time.time() - scheduled.timestamp()) // interval)
        if skipped < 1 or self.state.stop.is_set():  # stopping: no start is due any more
            return
        if self.cluster is not None:
            await self.cluster.beat_again()  # the skipped start's beat
            skipped = int((time.time() - scheduled.timestamp()) // interval)  # and its wait
        took = f"{duration:.1f} s (poll {polled:.1f} s, store {duration - polled:.1f} s)"
        if duration > interval:
            late_by = f" (it started {late:.1f} s late)" if late >= 0.05 else ""
            log.warning(
                "cycle %s overran: %s > interval %g s; %d scheduled cycle(s) skipped%s",
                iso_z(scheduled), took, interval, skipped, late_by,
            )  # fmt: skip
        else:
            log.warning(
                "cycle %s overran: it started %.1f s late and took %s, past the next start "
                "(interval %g s); %d scheduled cycle(s) skipped",
                iso_z(scheduled), late, took, interval, skipped,
            )  # fmt: skip

    # --- reload ------------------------------------------------------------------------

    async def reload_loop(self) -> None:
        while not self.state.stop.is_set():
            await _wait_any(self.state.reload, self.state.stop)
            if self.state.stop.is_set():
                return
            self.state.reload.clear()
            ok = await self.reload()
            self.monitor.reloaded(ok, self.state.inventory)

    async def reload(self) -> bool:
        """Parse, validate and apply all three files; keep the old config on any failure."""
        self.notifier.reloading()
        try:
            settings, inventory = load_all(self.config_dir)
            applied = await self.inventory_sync.apply(inventory)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("reload rejected: %s", problem)
            log.error("keeping the previous configuration")
            return False
        except PowermonError as exc:  # the database refused it: not a configuration to run
            log.error("reload failed, keeping the previous configuration: %s", exc)
            return False
        except Exception as exc:  # a bug must not end live reload: later SIGHUPs still count
            log.error(
                "reload failed (%s: %s), keeping the previous configuration",
                type(exc).__name__,
                exc,
            )
            log.debug("reload failure", exc_info=True)
            return False
        finally:
            self.notifier.ready(self.state.last_status)
        self._warn_restart_needed(settings)
        if not applied:
            log.warning(
                "the database is unavailable: the new configuration is used for "
                "polling now and applied to the database when it answers"
            )
        self.state.inventory = inventory
        self.state.settings = self.state.settings.model_copy(
            update={"rrd": settings.rrd}  # [collector]/[database]/[daemon] need a restart
        )
        log.info(
            "configuration reloaded: %d PDUs, %d machines",
            len(inventory.pdus),
            len(inventory.machines),
        )
        return True

    def _warn_restart_needed(self, new: Settings) -> None:
        old = self.state.settings
        for section in ("database", "collector", "daemon"):
            if getattr(old, section) != getattr(new, section):
                log.warning(
                    "[%s] changed in powermon.toml: it takes effect after a restart", section
                )

    # --- RRD import ----------------------------------------------------------------------

    async def import_job(self) -> None:
        from powermond.collect.loadimport import import_load

        if self.cluster is not None and not await self.cluster.may_import():
            return  # another collector holds the import lease
        machines = [(m.name, m.rrd) for m in self.state.inventory.machines.values()]
        rrd = self.state.settings.rrd
        # A back-fill writes large batches: bounded by the import's own interval, not by the
        # cycle's database bound (one run must end before the next is due).
        db = self.db.with_timeout(rrd.interval)
        try:
            summary = await import_load(db, rrd, machines, remembered=self._load_problems)
        except PowermonError as exc:  # logged once per hour at most: the job is hourly
            log.error("load import failed: %s", exc)
            self.monitor.imported(None)
        else:
            self.monitor.imported(summary)

    # --- retention -----------------------------------------------------------------------

    async def prune_job(self) -> None:
        """Daily: closed days get their daily rollups, then raw rows past ``[storage]``
        retention go, each in small batches (rollups stay)."""
        from powermond.db.daily import close_days
        from powermond.db.retention import prune_by_settings

        storage = self.state.settings.storage
        db = self.db.with_timeout(PRUNE_BOUND_S)  # a batch may take longer than a cycle's step
        try:
            closed = await close_days(db, datetime.now(UTC))
        except PowermonError as exc:  # tried again tomorrow; reports read the hours meanwhile
            log.error("daily rollups failed: %s", exc)
        else:
            if any(closed.closed.values()):
                log.info("daily rollups: %d days of power, %d of load closed",
                         closed.closed.get("power", 0), closed.closed.get("load", 0))  # fmt: skip
        try:
            result = await prune_by_settings(
                db, storage.raw_days, storage.load_days, datetime.now(UTC)
            )
        except PowermonError as exc:  # tried again tomorrow; nothing is lost meanwhile
            log.error("retention job failed: %s", exc)
            return
        if result.readings or result.load:
            log.info("retention: %d readings, %d load samples removed", result.readings,
                     result.load)  # fmt: skip

    # --- shutdown ------------------------------------------------------------------------

    async def finish_inflight(self, grace: float) -> None:
        task = self.state.inflight
        if task is None or task.done():
            return
        log.info("waiting up to %.0f s for %s to finish", grace, task.get_name())
        hurry = asyncio.create_task(self.state.hurry.wait())
        try:
            await asyncio.wait({task, hurry}, timeout=grace, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hurry.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            if not self.writer.kept_abandoned:  # else the writer said it kept the cycle
                log.warning("abandoned %s: nothing of it was stored", task.get_name())


async def _wait_any(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


# --- assembly ----------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def run_daemon(
    config_dir: Path,
    *,
    max_cycles: int | None = None,
    stop: asyncio.Event | None = None,
    install_signals: bool = False,
    transport: PduTransport | None = None,
) -> DaemonResult:
    """Run until ``stop`` is set, a signal arrives, or ``max_cycles`` cycles are done.

    ``transport`` replaces SNMP (tests: :class:`powermond.snmp.fake.FakeTransport`).
    """
    notifier = systemd.Notifier.from_env()
    try:
        settings, inventory = load_all(config_dir)
    except ConfigError as exc:
        for problem in exc.problems:
            log.error("%s", problem)
        log.error("invalid configuration: not starting")
        return DaemonResult(EXIT_CONFIG, "invalid configuration")
    if install_signals:  # the real process: its own log format
        from powermond.logsetup import setup_logging

        json = settings.daemon.log_format == "json"
        setup_logging(debug=log.isEnabledFor(logging.DEBUG), json=json)
    state = _State(settings=settings, inventory=inventory)
    if stop is not None:
        state.stop = stop
    try:
        async with contextlib.AsyncExitStack() as stack:
            daemon = await _assemble(stack, config_dir, state, notifier, max_cycles, transport)
            if install_signals:
                _install_signals(state, stack)
                tune_garbage_collector()  # the process's own: not a test's
            await _serve(daemon, stack)
    except PowermonError as exc:
        log.error("%s", exc)
        notifier.stopping()
        return DaemonResult(exc.exit_code, state.last_status)
    log.info("stopped")
    return DaemonResult(EXIT_OK, state.last_status)


async def _assemble(
    stack: contextlib.AsyncExitStack,
    config_dir: Path,
    state: _State,
    notifier: systemd.Notifier,
    max_cycles: int | None,
    transport: PduTransport | None = None,
) -> Daemon:
    settings = state.settings
    url = settings.database.url.get_secret_value()
    await _check_schema(url, settings.database_bound)
    db = Database.from_url(url, timeout=settings.database_bound)
    stack.push_async_callback(db.dispose)
    log.info("database %s", db.safe_url)
    cluster = await join_cluster(stack, db, settings)
    spool = open_spool(config_dir / "powermon.toml", settings.daemon)
    poller = await stack.enter_async_context(Poller(settings.collector, transport))
    interval = settings.collector.interval
    monitor = Monitor(
        db, spool, interval, lambda inventory: poller.bound(inventory) + interval,
        exposed=settings.metrics.listen is not None,
    )  # fmt: skip
    writer = CycleWriter(db, spool, interval=settings.collector.interval)
    stack.callback(writer.close)
    daemon = Daemon(
        config_dir,
        state,
        db,
        writer,
        poller.poll,
        notifier,
        max_cycles,
        monitor=monitor,
    )
    daemon.cluster = cluster
    # The database may come later: cycles are spooled meanwhile, and the configuration is
    # applied before the first of them is written.
    if not await daemon.inventory_sync.apply(state.inventory, refused_ok=True):
        log.error("configuration not applied to %s: readings are spooled until it is", db.safe_url)
    return daemon


async def join_cluster(
    stack: contextlib.AsyncExitStack, db: Database, settings: Settings
) -> Cluster:
    """Join the collectors on this database; leave them (row expired, kept) at exit."""
    from powermond.cluster import Identity, sqlite_guard

    me = Identity.of_this_process(settings.collector)
    release = sqlite_guard(settings.database.url.get_secret_value(), me)
    if release is not None:
        stack.callback(release)
    collector = settings.collector
    cluster = Cluster(db, me, collector.interval, settings.rrd.interval, collector.forget_after)
    await cluster.join()
    stack.push_async_callback(cluster.leave)
    return cluster


async def _check_schema(url: str, bound: float) -> None:
    """Refuse to start on a schema that is missing or behind: cycles would all be refused.

    An unreachable database is no reason to refuse: readings are spooled until it answers.
    """
    from powermond.db.errors import DatabaseUnavailable
    from powermond.db.migrate import current_revision, head_revision
    from powermond.db.sqlite_access import NoSqliteFile, open_url

    try:
        url = open_url(url, "write")
        async with asyncio.timeout(bound):
            current = await current_revision(url)
    except (TimeoutError, DatabaseUnavailable) as exc:
        log.warning("cannot check the database schema now: %s", exc or f"no answer in {bound:g} s")
        return
    except NoSqliteFile as exc:  # missing (no schema) or not ours to write: restarting won't help
        raise SchemaNotCurrent(str(exc)) from None
    if current != head_revision():
        found = "no schema" if current is None else f"schema revision {current}"
        raise SchemaNotCurrent(
            f"the database has {found}, this PowerMon needs {head_revision()}: "
            "run `powermon db upgrade`"
        )


class SchemaNotCurrent(PowermonError):
    """Restarting cannot help (EX_CONFIG: the unit's RestartPreventExitStatus=78)."""

    exit_code = EXIT_CONFIG


def _install_signals(state: _State, stack: contextlib.AsyncExitStack) -> None:
    loop = asyncio.get_running_loop()

    def terminate(signame: str) -> None:
        if state.stop.is_set():
            if not state.hurry.is_set():
                log.warning("second %s: no more grace, abandoning the cycle in flight", signame)
            state.hurry.set()
            return
        log.info("%s: shutting down", signame)
        state.stop.set()

    def hangup() -> None:
        log.info("SIGHUP: reloading the configuration")
        state.reload.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, terminate, sig.name)
        stack.callback(loop.remove_signal_handler, sig)
    loop.add_signal_handler(signal.SIGHUP, hangup)
    stack.callback(loop.remove_signal_handler, signal.SIGHUP)


_JOB_NAMES = {"snmp-cycle": "SNMP cycle", "load-import": "load import", "db-prune": "retention"}
PRUNE_DELAY = timedelta(minutes=10)  # the first run: well after start-up's own work


class _SchedulerLogs(logging.Filter):
    """APScheduler's warnings in the daemon's words.

    It warns at every fire time an overrunning cycle makes it skip: the daemon reports the
    overrun itself, once per cycle and with its duration. A missed run names the job by
    what it is, not by its repr (which carries a timestamp of its own).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if "maximum number of running instances reached" in message:
            return False
        if "was missed by" in message and isinstance(record.args, tuple) and record.args:
            job, late = record.args[0], record.args[-1]
            name = _JOB_NAMES.get(getattr(job, "id", ""), str(job))
            due = _missed_cycle(job, late)
            if due is not None:  # which cycle is missing, in the cycle's own words
                name = f"{name} {iso_z(due)}"
            record.msg, record.args = "%s skipped: it was due %s ago (past its grace)", (name, late)
        return True


def _missed_cycle(job: object, late: object) -> datetime | None:
    """The cycle a missed run of the SNMP job was for (the last multiple of its interval)."""
    interval = getattr(getattr(job, "trigger", None), "interval", None)
    if getattr(job, "id", "") != "snmp-cycle" or not isinstance(interval, timedelta):
        return None
    if not isinstance(late, timedelta):
        return None
    return cycle_time(datetime.now(UTC) - late, interval.total_seconds())


def _scheduler(daemon: Daemon) -> AsyncIOScheduler:
    settings = daemon.state.settings
    for logger in ("apscheduler.scheduler", "apscheduler.executors.default"):
        logging.getLogger(logger).addFilter(_SchedulerLogs())
    scheduler = AsyncIOScheduler(timezone=UTC)
    interval = settings.collector.interval
    # Starting at the epoch aligns fire times to wall-clock multiples (…:00, :05, :10).
    scheduler.add_job(
        daemon.cycle_job,
        IntervalTrigger(seconds=interval, start_date=_EPOCH, timezone=UTC),
        id="snmp-cycle",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(interval / 2)),
    )
    scheduler.add_job(
        daemon.import_job,
        IntervalTrigger(seconds=settings.rrd.interval, timezone=UTC),
        id="load-import",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC) + timedelta(seconds=1),
    )
    scheduler.add_job(
        daemon.prune_job,
        IntervalTrigger(days=1, timezone=UTC),
        id="db-prune",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC) + PRUNE_DELAY,
    )
    return scheduler


async def _serve(daemon: Daemon, stack: contextlib.AsyncExitStack) -> None:
    from powermond.supervise import supervise

    state = daemon.state
    scheduler = _scheduler(daemon)
    scheduler.start()
    daemon.notifier.ready(f"collecting from {len(state.inventory.pdus)} PDUs")
    log.info(
        "started: %d PDUs, %d machines, cycle every %.0f s",
        len(state.inventory.pdus),
        len(state.inventory.machines),
        state.settings.collector.interval,
    )
    try:
        await supervise(_tasks(daemon), state.stop)
    finally:
        daemon.notifier.stopping()
        scheduler.shutdown(wait=False)  # no new cycles; the one in flight is ours to finish
        # The others take over from their next cycle: the row is expired while the cycle in
        # flight ends, not after it (see Cluster.leave), and the grace runs from the stop.
        cluster = daemon.cluster
        leaving = None if cluster is None else asyncio.create_task(cluster.leave())
        try:
            await daemon.finish_inflight(state.settings.daemon.shutdown_grace)
        finally:
            if leaving is not None:
                await leaving


def _tasks(daemon: Daemon) -> dict[str, Callable[[], Awaitable[None]]]:
    """The daemon's long-running tasks, by name, for :func:`powermond.supervise.supervise`."""
    from powermond.inventory.watch import watch_config
    from powermond.supervise import watchdog_loop

    state = daemon.state

    async def on_change() -> None:
        log.info("configuration files changed: reloading")
        state.reload.set()

    tasks: dict[str, Callable[[], Awaitable[None]]] = {
        "reload": daemon.reload_loop,
        "file watcher": lambda: watch_config(daemon.config_dir, on_change, stop_event=state.stop),
    }
    listen = state.settings.metrics.listen
    if listen is not None:
        from powermond.metrics_server import serve_metrics

        tasks["metrics server"] = lambda: serve_metrics(daemon.monitor.metrics, listen, state.stop)
    period = daemon.notifier.watchdog_interval()
    if period is not None:
        progress = daemon.monitor.progress
        tasks["watchdog"] = lambda: watchdog_loop(daemon.notifier, progress, period / 2, state.stop)
    return tasks


def main(config_dir: Path) -> int:
    """Run the daemon in this process with signal handling; the exit code."""
    log.info("powermond %s starting, configuration %s", __version__, config_dir)
    result = asyncio.run(run_daemon(config_dir, install_signals=True))
    return result.exit_code
