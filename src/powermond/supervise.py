"""The daemon's long-running tasks under one ``asyncio.TaskGroup``, and a watchdog that pings
systemd only while cycles make progress.

A task that raises, or returns while the daemon is meant to run, ends the daemon: the task
group cancels the others, :func:`supervise` raises :class:`TaskFailed` (a logged reason) and
the daemon exits 1, so systemd restarts it. Before this, such a task died silently and the
daemon half-worked until it was stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from powermond import systemd
from powermond.errors import PowermonError

log = logging.getLogger("powermond")

TaskFactory = Callable[[], Awaitable[None]]


class TaskFailed(PowermonError):
    """One of the daemon's tasks crashed or ended on its own."""


async def supervise(tasks: Mapping[str, TaskFactory], stop: asyncio.Event) -> None:
    """Run ``tasks`` until ``stop`` is set, then cancel them; the first failure raises."""
    try:
        async with asyncio.TaskGroup() as group:
            running = [
                group.create_task(_watched(name, factory, stop), name=name)
                for name, factory in tasks.items()
            ]
            await stop.wait()
            for task in running:
                task.cancel()
    except* TaskFailed as failures:
        stop.set()
        first = failures.exceptions[0]
        assert isinstance(first, TaskFailed)
        raise first from first.__cause__


async def _watched(name: str, factory: TaskFactory, stop: asyncio.Event) -> None:
    try:
        await factory()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("the %s task crashed: stopping the daemon", name, exc_info=True)
        raise TaskFailed(f"the {name} task crashed: {type(exc).__name__}: {exc}") from exc
    if not stop.is_set():
        raise TaskFailed(f"the {name} task ended while the daemon was running")


class Progress:
    """Whether cycles make progress: one finished within about two intervals, or the one
    running is still within its bound (``bound`` seconds, measured from its start)."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last_end = clock()  # startup counts as progress until the first cycle is due
        self._running_since: float | None = None
        self._bound = 0.0

    def cycle_started(self, bound: float) -> None:
        self._running_since = self._clock()
        self._bound = bound

    def cycle_finished(self) -> None:
        self._running_since = None
        self._last_end = self._clock()

    def stalled(self) -> str | None:
        """``None`` while progressing, else why not (for the log)."""
        now = self._clock()
        if self._running_since is not None:
            running = now - self._running_since
            if running <= self._bound:
                return None
            return f"a cycle has run {running:.0f} s, past its bound of {self._bound:.0f} s"
        idle = now - self._last_end
        allowed = 2 * self.interval + 1
        if idle <= allowed:
            return None
        return f"no cycle finished for {idle:.0f} s (more than two intervals)"


async def watchdog_loop(
    notifier: systemd.Notifier, progress: Progress, period: float, stop: asyncio.Event
) -> None:
    """``WATCHDOG=1`` every ``period`` seconds while ``progress`` says so; withheld otherwise,
    so systemd restarts a daemon whose cycles are stuck (not only one whose loop is)."""
    withheld = False
    while not stop.is_set():
        why = progress.stalled()
        if why is None:
            notifier.watchdog()
            if withheld:
                log.warning("cycles progress again: watchdog pings resumed")
        elif not withheld:
            log.error("%s: withholding the watchdog ping (systemd will restart us)", why)
        withheld = why is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period)
