"""Giving back to the system the memory a cycle freed.

A cycle at 10,000 PDUs allocates and frees some 100 MB of short-lived objects (readings,
rows, the driver's parameters). CPython frees them, but glibc keeps the freed pages of its
heap for the next allocation, so the process's RSS stays at the cycle's peak and creeps up
with fragmentation. ``malloc_trim(0)`` after each cycle returns the free pages (measured with
bench/bench_memory.py: 15 MB less at 3,000 PDUs after five cycles; a few ms of CPU). On a C
library without it (musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


def release_freed_memory() -> bool:
    """Hand freed heap pages back to the system; ``False`` where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


#: Allocations of container objects between two collections of the youngest generation.
#: CPython's 700 ran one every PDU walk or so, each scanning every walk in flight, and the
#: full collections they set off scanned the whole heap: a quarter of a 2,000-PDU cycle's
#: CPU (bench/bench_cycle_cpu.py). Garbage in reference cycles lives a little longer.
YOUNG_COLLECTION_THRESHOLD = 50_000
OLDER_COLLECTION_THRESHOLDS = (20, 10)


def tune_garbage_collector() -> None:
    """For the daemon, once assembled: what start-up made (modules, settings, the inventory,
    the engine) stays, so full collections no longer scan it (``gc.freeze``), and the young
    generation is collected after :data:`YOUNG_COLLECTION_THRESHOLD` allocations."""
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *OLDER_COLLECTION_THRESHOLDS)
