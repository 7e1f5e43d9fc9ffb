"""The daemon's task group and the progress-based watchdog (real AF_UNIX notify socket)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from powermond.supervise import Progress, TaskFailed, supervise, watchdog_loop
from powermond.systemd import Notifier

pytestmark = pytest.mark.timeout(30)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_progress_follows_cycles() -> None:
    clock = Clock()
    progress = Progress(interval=60, clock=clock)
    assert progress.stalled() is None
    clock.now += 121
    assert progress.stalled() is None  # two intervals and a second of slack
    clock.now += 1
    assert "no cycle finished for 122 s" in str(progress.stalled())
    progress.cycle_started(bound=300)
    clock.now += 299
    assert progress.stalled() is None  # running, within its bound
    clock.now += 2
    assert "past its bound of 300 s" in str(progress.stalled())
    progress.cycle_finished()
    assert progress.stalled() is None
    clock.now += 100
    assert progress.stalled() is None  # within two intervals


async def test_a_crashing_task_stops_the_others_and_raises() -> None:
    stop = asyncio.Event()
    cancelled = asyncio.Event()

    async def crash() -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("boom")

    async def other() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cancelled.set()

    with pytest.raises(TaskFailed, match=r"the crasher task crashed: RuntimeError: boom"):
        await supervise({"crasher": crash, "other": other}, stop)
    assert cancelled.is_set()
    assert stop.is_set()


async def test_a_task_that_returns_early_is_a_failure_and_stop_ends_all() -> None:
    stop = asyncio.Event()

    async def quits() -> None:
        return

    with pytest.raises(TaskFailed, match="the quitter task ended while the daemon was running"):
        await supervise({"quitter": quits}, stop)

    stop = asyncio.Event()

    async def waits() -> None:
        await stop.wait()

    asyncio.get_running_loop().call_later(0.05, stop.set)
    await supervise({"a": waits, "b": lambda: asyncio.sleep(3600)}, stop)


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    path = Path(f"/tmp/pm-wd-{os.getpid()}-{id(object())}.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.setblocking(False)
        yield sock, str(path)
    path.unlink(missing_ok=True)


def received(sock: socket.socket) -> list[bytes]:
    found = []
    while True:
        try:
            found.append(sock.recv(4096))
        except BlockingIOError:
            return found


async def test_watchdog_pings_only_while_cycles_progress(
    notify_socket: tuple[socket.socket, str], caplog: pytest.LogCaptureFixture
) -> None:
    sock, path = notify_socket
    notifier = Notifier(path, watchdog_usec="100000")
    clock = Clock()
    progress = Progress(interval=1, clock=clock)
    stop = asyncio.Event()
    loop = asyncio.create_task(watchdog_loop(notifier, progress, 0.01, stop))
    await asyncio.sleep(0.1)
    assert b"WATCHDOG=1" in received(sock)
    progress.cycle_started(bound=5)
    clock.now += 6  # the cycle is stuck past its bound
    await asyncio.sleep(0.05)
    received(sock)
    await asyncio.sleep(0.1)
    assert received(sock) == []
    assert "withholding the watchdog ping" in caplog.text
    progress.cycle_finished()
    await asyncio.sleep(0.1)
    assert b"WATCHDOG=1" in received(sock)
    stop.set()
    await loop
