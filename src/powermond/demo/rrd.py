"""Ganglia host RRD files for the simulated machines, as gmetad 3.3+ writes them.

Layout and format: shared/snmprec/GANGLIA-RRD-FACTS.md — ``<root>/<cluster>/<host>/
load_{one,five,fifteen}.rrd``, step 15 s, one GAUGE DS ``sum`` with heartbeat 120, AVERAGE
RRAs 1:5856, 4:20160, 40:52704. ``load_one`` is the machine's load function itself; the 5- and
15-minute averages are its trailing means, as the kernel's damped averages roughly are.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rrdtool

from powermond.demo.pattern import DAY, MachineModel, Wave
from powermond.demo.world import World

STEP = 15
HEARTBEAT = 8 * STEP
RRAS = ("RRA:AVERAGE:0.5:1:5856", "RRA:AVERAGE:0.5:4:20160", "RRA:AVERAGE:0.5:40:52704")
#: File stem -> the trailing window (seconds) its value averages over.
METRICS = {"load_one": 60, "load_five": 300, "load_fifteen": 900}
_UPDATES_PER_CALL = 1000  # rrdtool takes many updates per call; keep argv modest

FloatArray = npt.NDArray[np.float64]


def trailing_mean(t: FloatArray, wave: Wave, window: float) -> FloatArray:
    """The wave's exact mean over ``(t - window, t]`` (the integral over the window / window)."""
    if wave.shape == "sin":
        integral = -(np.cos(t * wave.rate) - np.cos((t - window) * wave.rate))
    else:
        integral = np.sin(t * wave.rate) - np.sin((t - window) * wave.rate)
    values: FloatArray = wave.mean + wave.amplitude * wave.sign * integral / (wave.rate * window)
    return values


def host_dir(root: Path, machine: MachineModel) -> Path:
    return root / machine.cluster / machine.name


def write_machine(root: Path, machine: MachineModel, now: float, span: float = DAY) -> list[Path]:
    """The machine's three load RRDs with 15 s rows from ``now - span`` up to ``now``."""
    directory = host_dir(root, machine)
    directory.mkdir(parents=True, exist_ok=True)
    first = math.floor((now - span) / STEP) * STEP
    times = np.arange(first + STEP, math.floor(now / STEP) * STEP + 1, STEP, dtype=np.float64)
    paths = []
    for metric, window in METRICS.items():
        path = directory / f"{metric}.rrd"
        path.unlink(missing_ok=True)
        rrdtool.create(
            str(path),
            "--step",
            str(STEP),
            "--start",
            str(int(first)),
            f"DS:sum:GAUGE:{HEARTBEAT}:U:U",
            *RRAS,
        )
        values = trailing_mean(times, machine.load, window)
        for chunk in _chunks(times, values):
            rrdtool.update(str(path), *chunk)
        paths.append(path)
    return paths


def _chunks(times: FloatArray, values: FloatArray) -> Iterator[list[str]]:
    # gmond reports load with "%.2f".
    updates = [f"{int(t)}:{v:.2f}" for t, v in zip(times, values, strict=True)]
    for start in range(0, len(updates), _UPDATES_PER_CALL):
        yield updates[start : start + _UPDATES_PER_CALL]


def write_rrds(world: World, root: Path, now: float, span: float = DAY) -> list[Path]:
    """Every machine's load RRDs under ``root`` in gmetad's layout."""
    return [p for m in world.machines for p in write_machine(root, m, now, span)]
