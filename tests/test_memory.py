"""``powermond.memory``: the daemon's garbage-collector settings (in a child process: they
are process-wide)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(60)

SCRIPT = """
import gc
from powermond.memory import YOUNG_COLLECTION_THRESHOLD, tune_garbage_collector
kept = [[] for _ in range(1000)]  # start-up's objects
before = gc.get_freeze_count()
tune_garbage_collector()
print(gc.get_threshold()[0] == YOUNG_COLLECTION_THRESHOLD, gc.get_freeze_count() >= before + 1000)
"""


def test_the_daemon_collects_young_objects_less_often_and_freezes_its_start_up() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["True", "True"]
