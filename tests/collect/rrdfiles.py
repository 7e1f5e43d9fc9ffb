"""gmetad-layout RRD files made by rrdtool, for tests and the benchmark.

``<root>/<cluster>/<host>/load_{one,five,fifteen}.rrd``, step 15 s, one GAUGE DS ``sum`` with
heartbeat 8 x step, AVERAGE RRAs with xff 0.5 (GANGLIA-RRD-FACTS.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import rrdtool

STEP = 15
METRICS = ("load_one", "load_five", "load_fifteen")

#: gmetad before 3.3.0: 15 s for 1 h, 6 min for a day, 42 min, 2.8 h, 1 day.
PRE_33 = (
    "RRA:AVERAGE:0.5:1:244",
    "RRA:AVERAGE:0.5:24:244",
    "RRA:AVERAGE:0.5:168:244",
    "RRA:AVERAGE:0.5:672:244",
    "RRA:AVERAGE:0.5:5760:374",
)
#: gmetad 3.3.0 and later: 15 s for a day, 1 min for 14 days, 10 min for a year.
GANGLIA_33 = ("RRA:AVERAGE:0.5:1:5856", "RRA:AVERAGE:0.5:4:20160", "RRA:AVERAGE:0.5:40:52704")
LAYOUTS = {"pre-3.3": PRE_33, "3.3+": GANGLIA_33}

#: A value per metric at time t (the value gmetad writes at t covers (t - 15, t]); None = unknown.
Values = Callable[[int], Sequence[float | None]]
UPDATES_PER_CALL = 500


def create_metric(
    path: Path, start: int, layout: Sequence[str] = GANGLIA_33, step: int = STEP
) -> None:
    """One metric file as gmetad creates it (``--start`` one second before the first update)."""
    rrdtool.create(
        str(path), "--step", str(step), "--start", str(start - 1),
        f"DS:sum:GAUGE:{8 * step}:U:U", *layout,
    )  # fmt: skip


def create_host(
    root: Path, cluster: str, host: str, start: int, layout: Sequence[str] = GANGLIA_33
) -> Path:
    """The host directory with its three empty load files, first update allowed at ``start``."""
    directory = root / cluster / host
    directory.mkdir(parents=True, exist_ok=True)
    for metric in METRICS:
        create_metric(directory / f"{metric}.rrd", start, layout)
    return directory


def update(
    path: Path, points: Iterable[tuple[int, float | None]], daemon: str | None = None
) -> None:
    """``rrdtool update`` in chunks; None or NaN is written as unknown (``U``)."""
    extra = ["--daemon", daemon] if daemon else []
    chunk: list[str] = []
    for t, value in points:
        unknown = value is None or math.isnan(value)
        chunk.append(f"{t}:{'U' if unknown else repr(value)}")
        if len(chunk) == UPDATES_PER_CALL:
            rrdtool.update(str(path), *extra, *chunk)
            chunk = []
    if chunk:
        rrdtool.update(str(path), *extra, *chunk)


def feed_host(
    directory: Path, start: int, end: int, values: Values, daemon: str | None = None
) -> None:
    """Write every 15 s in ``[start, end]``; a time whose values are all None is not written
    at all, so a run of them longer than the heartbeat is a real gap (host down)."""
    times = [t for t in range(start, end + 1, STEP) if any(v is not None for v in values(t))]
    for index, metric in enumerate(METRICS):
        update(directory / f"{metric}.rrd", ((t, values(t)[index]) for t in times), daemon)


def make_host(
    root: Path,
    cluster: str,
    host: str,
    start: int,
    end: int,
    values: Values,
    layout: Sequence[str] = GANGLIA_33,
) -> Path:
    """Create and fill a host: updates every 15 s from ``start`` to ``end`` inclusive."""
    directory = create_host(root, cluster, host, start, layout)
    feed_host(directory, start, end, values)
    return directory
