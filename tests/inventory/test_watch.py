"""The config directory watcher against real files and real inotify events."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from powermond.inventory import watch
from powermond.inventory.watch import watch_config

pytestmark = pytest.mark.timeout(60)

# Generous bound for "the reload arrives": inotify plus debounce take well under a second,
# the rest is headroom for a loaded machine.
ARRIVAL_S = 10.0
# Saves tried by the debounce tests before they conclude that a save gives several reloads.
ATTEMPTS = 3


class Reloads:
    """An ``on_change`` that counts its calls and lets a test wait for the n-th."""

    def __init__(self, action: Callable[[int], None] | None = None) -> None:
        self.count = 0
        self._action = action
        self._changed = asyncio.Condition()

    async def __call__(self) -> None:
        async with self._changed:
            self.count += 1
            self._changed.notify_all()
        if self._action:
            self._action(self.count)

    async def wait_for(self, count: int, within: float = ARRIVAL_S) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.count >= count), within)

    async def stays_at(self, count: int, seconds: float) -> bool:
        """True if no further call arrives within ``seconds`` (a bounded negative check)."""
        try:
            await self.wait_for(count + 1, within=seconds)
        except TimeoutError:
            return self.count == count
        return False


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _replace_via_temp(path: Path, text: str, temp_name: str) -> None:
    """How vim (backupcopy=no), sed -i, Ansible and friends save: temp file + rename."""
    temp = path.with_name(temp_name)
    temp.write_text(text)
    os.replace(temp, path)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "etc-powermon"
    directory.mkdir()
    for name in ("powermon.toml", "pdus.toml", "machines.toml"):
        (directory / name).write_text("# initial\n")
    return directory


@asynccontextmanager
async def watching(
    config_dir: Path, reloads: Reloads, debounce_ms: int = 100
) -> AsyncIterator[asyncio.Task[None]]:
    """Run the watcher; once it demonstrably sees events, reset the count and yield."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        watch_config(config_dir, reloads, debounce_ms=debounce_ms, stop_event=stop)
    )
    try:
        await _until_watching(config_dir, reloads, debounce_ms)
        # A probe written while an earlier one was being reported comes as a later batch: let
        # it land before the count is reset, or it passes for a reload of the test's writes.
        quiet = max(0.5, 3 * debounce_ms / 1000)
        for _ in range(20):  # bounded: each probe gives one batch at most
            if await reloads.stays_at(reloads.count, seconds=quiet):
                break
        reloads.count = 0
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, ARRIVAL_S)


async def _until_watching(config_dir: Path, reloads: Reloads, debounce_ms: int) -> None:
    # The inotify watch is set up inside the task, so early probes may go unseen; back off
    # so that, once it is up, one wait lasts longer than the debounce and the call arrives.
    wait = 0.25
    for attempt in range(12):
        _write(config_dir / "powermon.toml", f"# probe {attempt}\n")
        try:
            await reloads.wait_for(1, within=wait)
            return
        except TimeoutError:
            wait = min(wait * 2, 2.0 + 2 * debounce_ms / 1000)
    raise AssertionError("the watcher never reported a change")


async def test_writing_a_config_file_triggers_one_reload(config_dir: Path) -> None:
    reloads = Reloads()
    async with watching(config_dir, reloads):
        _write(config_dir / "machines.toml", '[machine."wn001"]\noutlets = ["rack-a1:1"]\n')
        await reloads.wait_for(1)
        assert await reloads.stays_at(1, seconds=1.0)


async def test_rename_over_the_file_triggers_a_reload(config_dir: Path) -> None:
    reloads = Reloads()
    async with watching(config_dir, reloads):
        _replace_via_temp(config_dir / "pdus.toml", "[pdu.a]\n", ".pdus.toml.XXXXXX")
        await reloads.wait_for(1)
        # The replaced inode did not end the watch: a second save is seen too.
        _replace_via_temp(config_dir / "pdus.toml", "[pdu.b]\n", "pdus.toml.tmp")
        await reloads.wait_for(2)


async def test_editor_and_unrelated_files_are_ignored(config_dir: Path) -> None:
    reloads = Reloads()
    async with watching(config_dir, reloads):
        for name in (".machines.toml.swp", "machines.toml~", "4913", "#pdus.toml#", "notes.txt"):
            _write(config_dir / name, "scratch\n")
        (config_dir / "machines.toml.bak").write_text("old\n")
        assert await reloads.stays_at(0, seconds=1.5)
        # Still watching: the real file right after is seen, and only once.
        _write(config_dir / "machines.toml", "# edited\n")
        await reloads.wait_for(1)
        assert await reloads.stays_at(1, seconds=1.0)


async def _reloads_per_save(
    reloads: Reloads, save: Callable[[int], Awaitable[None]], quiet: float
) -> list[int]:
    """Reloads given by each of up to ``ATTEMPTS`` saves, stopping at the first that gives one.

    A debounce is a promise about quiet time, and a test's writes are only as quick as the
    scheduler lets them be: on a loaded machine (several test workers on two cores) the
    writer can stall past the debounce between two writes, which is a second save. So the
    property is checked over a few saves: a debounce that never groups gives more than one
    reload for every save, one that works gives one as soon as the writes are not stalled."""
    counts: list[int] = []
    for attempt in range(ATTEMPTS):
        reloads.count = 0
        await save(attempt)
        await reloads.wait_for(1)
        await reloads.stays_at(reloads.count, seconds=quiet)
        counts.append(reloads.count)
        if reloads.count == 1:
            break
    return counts


async def test_quick_writes_are_debounced_into_one_reload(config_dir: Path) -> None:
    reloads = Reloads()

    async def save(attempt: int) -> None:
        for n in range(3):
            _write(config_dir / "pdus.toml", f"# save {attempt}.{n}\n")
        _write(config_dir / "machines.toml", f"# same editing session {attempt}\n")

    async with watching(config_dir, reloads, debounce_ms=300):
        counts = await _reloads_per_save(reloads, save, quiet=1.5)
    assert counts[-1] == 1, counts


async def test_writes_spaced_within_the_debounce_give_one_reload(config_dir: Path) -> None:
    """Quiet time, not a fixed window: a save spread over several events is one reload."""
    reloads = Reloads()

    async def save(attempt: int) -> None:
        for n in range(4):
            _write(config_dir / "pdus.toml", f"# step {attempt}.{n}\n")
            await asyncio.sleep(0.1)

    async with watching(config_dir, reloads, debounce_ms=800):
        counts = await _reloads_per_save(reloads, save, quiet=2.0)
    assert counts[-1] == 1, counts


async def test_failing_reload_is_logged_and_watching_goes_on(
    config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fail_next = False

    def explode(count: int) -> None:
        nonlocal fail_next
        if fail_next:
            fail_next = False
            raise RuntimeError("reload bug")

    reloads = Reloads(explode)
    async with watching(config_dir, reloads):
        fail_next = True
        with caplog.at_level(logging.ERROR, logger="powermond.inventory.watch"):
            _write(config_dir / "pdus.toml", "# one\n")
            await reloads.wait_for(1)
            _write(config_dir / "pdus.toml", "# two\n")
            await reloads.wait_for(2)
    assert "reload after a configuration change failed" in caplog.text
    assert "RuntimeError: reload bug" in caplog.text


async def test_stop_event_ends_the_watcher(config_dir: Path) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(
        watch_config(config_dir, Reloads(), debounce_ms=100, stop_event=stop)
    )
    await asyncio.sleep(0.2)
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, ARRIVAL_S)
    assert task.result() is None


async def test_missing_directory_is_retried_until_it_exists(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch, "RETRY_SECONDS", 0.1)
    config_dir = tmp_path / "not-yet"
    reloads = Reloads()
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="powermond.inventory.watch"):
        task = asyncio.create_task(
            watch_config(config_dir, reloads, debounce_ms=100, stop_event=stop)
        )
        try:
            await asyncio.sleep(0.3)
            assert f"cannot watch {config_dir}" in caplog.text
            config_dir.mkdir()
            await _until_watching(config_dir, reloads, 100)
            assert reloads.count >= 1
        finally:
            stop.set()
            await asyncio.wait_for(task, ARRIVAL_S)
