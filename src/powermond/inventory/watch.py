"""Watch the configuration directory and ask for a reload when a config file changes.

The directory is watched, not the files: editors and configuration management save by
writing a temporary file and renaming it over the original, which replaces the inode a
file watch would follow. Only the three config names count; swap files, backups and the
temporary files themselves are ignored.

Debouncing is by quiet time: a reload is requested once no relevant change has been seen
for ``debounce_ms``, so one save (often several events) gives one reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchfiles import Change, awatch

log = logging.getLogger(__name__)

CONFIG_FILES = frozenset({"powermon.toml", "pdus.toml", "machines.toml"})
# Even under a steady stream of writes, reload at least this often (in debounce periods).
_MAX_GROUPING_FACTOR = 10
# After the watcher itself fails (directory removed, inotify limits), wait before retrying.
RETRY_SECONDS = 5.0


def is_config_file(change: Change, path: str) -> bool:
    return Path(path).name in CONFIG_FILES


async def watch_config(
    config_dir: Path,
    on_change: Callable[[], Awaitable[None]],
    *,
    debounce_ms: int = 500,
    stop_event: asyncio.Event,
    force_polling: bool | None = None,
) -> None:
    """Call ``on_change`` after each (debounced) change of a config file until ``stop_event``.

    ``on_change`` runs inside this task; changes made while it runs lead to one more call.
    Its exceptions are logged and watching goes on. ``force_polling`` is for directories
    where inotify sees nothing (NFS and similar); ``None`` honours WATCHFILES_FORCE_POLLING.
    """
    while not stop_event.is_set():
        try:
            await _watch_once(config_dir, on_change, debounce_ms, stop_event, force_polling)
        except OSError as exc:
            log.error(
                "cannot watch %s for changes (%s); retrying in %.0f s",
                config_dir,
                exc,
                RETRY_SECONDS,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), RETRY_SECONDS)


async def _watch_once(
    config_dir: Path,
    on_change: Callable[[], Awaitable[None]],
    debounce_ms: int,
    stop_event: asyncio.Event,
    force_polling: bool | None,
) -> None:
    changes = awatch(
        config_dir,
        watch_filter=is_config_file,
        # watchfiles yields after `step` ms without new events, or after `debounce` ms at most.
        step=debounce_ms,
        debounce=debounce_ms * _MAX_GROUPING_FACTOR,
        stop_event=stop_event,
        recursive=False,
        force_polling=force_polling,
    )
    async for batch in changes:
        if stop_event.is_set():
            return
        names = sorted({Path(path).name for _, path in batch})
        log.info("configuration changed: %s", ", ".join(names))
        await _call(on_change)


async def _call(on_change: Callable[[], Awaitable[None]]) -> None:
    try:
        await on_change()
    except Exception:
        # The reload reports its own config errors; this is the net under it, so that a bug
        # there never silently ends live reloading.
        log.exception("reload after a configuration change failed")
