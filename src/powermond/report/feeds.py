"""A machine's power per cycle from its feeds' readings: pure functions, no database (what
``powermon power`` needs of the reports, without their energy rules)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby


@dataclass(frozen=True, slots=True)
class FeedReading:
    """One feed's watts at one cycle; ``feed`` is ``"pdu:outlet"``."""

    time: datetime
    feed: str
    watts: float | None


@dataclass(frozen=True, slots=True)
class PowerPoint:
    """A machine's power at one cycle: the sum of the feeds that gave watts.

    ``partial`` is true when fewer feeds than the machine has gave watts at that cycle, so a
    missing B feed shows as a flagged point instead of silently halving the machine.
    """

    time: datetime
    watts: float | None
    partial: bool
    feeds: int


def machine_power(readings: Iterable[FeedReading], feeds: int) -> list[PowerPoint]:
    """Per-cycle sums of ``readings`` (sorted by time) of a machine with ``feeds`` outlets."""
    points: list[PowerPoint] = []
    for time, group in groupby(readings, key=lambda r: r.time):
        present = {r.feed: r.watts for r in group if r.watts is not None}
        watts = sum(present.values()) if present else None
        points.append(PowerPoint(time, watts, len(present) < feeds, len(present)))
    return points
