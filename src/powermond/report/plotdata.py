"""What a plot draws: per-feed and total power, load 1/5/15, mean and peak.

Up to ``max_points`` recorded cycles (default about ten weeks of 5-minute cycles) a plot draws
every cycle, and breaks a line where a gap is longer than the recorded spacing bridges.
Longer periods, and periods reaching back before the raw readings kept (``[storage]
raw_days``), draw hourly means from the rollups, plus the hourly peak of the machine, and the
period is widened to whole hours: a year is 8,760 points per line instead
of 105,120, far more than a page has pixels, and the peaks still show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median

from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.cycles import CycleRepository
from powermond.db.reports import LoadSums, ReportRepository
from powermond.db.retention import pruned_before
from powermond.db.rollups import HOUR
from powermond.energy import DEFAULT_INTERVAL_S, Spacing, hour_of
from powermond.report.feeds import FeedReading
from powermond.report.machine import machine, power_points
from powermond.report.power import gaps_as_nan, peak_of_sums
from powermond.report.queries import load_points, report_rows

DEFAULT_MAX_POINTS = 20_000
DEFAULT_LOAD_GAP = timedelta(hours=2)  # a single load sample: nothing to bridge anyway


@dataclass(frozen=True, slots=True)
class Series:
    """One line: NaN values break it where data is missing."""

    label: str
    times: list[datetime]
    values: list[float]


@dataclass(frozen=True, slots=True)
class MachinePlot:
    machine: str
    since: datetime
    until: datetime
    resolution: str  # "cycle" or "hour"
    feeds: list[Series]  # one per feed; empty when the machine has a single feed
    total: Series
    peak: Series | None  # hourly peaks (hour resolution only)
    load: list[Series]  # load1, load5, load15
    mean_watts: float | None
    peak_watts: float | None
    energy_kwh: float | None = None  # as `powermon report` gives it for the period

    @property
    def empty(self) -> bool:
        return not self.total.times and not any(s.times for s in self.load)


async def plot_data(
    session: AsyncSession,
    name: str,
    since: datetime,
    until: datetime,
    *,
    max_points: int = DEFAULT_MAX_POINTS,
) -> MachinePlot:
    """The lines of one machine's plot; raises ``UnknownMachine``."""
    cycles = CycleRepository(session)
    pruned = await pruned_before(session)  # before it, retention left the rollups only
    long = await cycles.times_between(since, until) > max_points
    if long or (pruned is not None and since < pruned):
        longest = await cycles.longest_interval() or DEFAULT_INTERVAL_S
        hour_gap = HOUR + timedelta(seconds=2 * longest)
        plot = await _hourly(session, name, hour_of(since), _ceil_hour(until), hour_gap)
    else:
        plot = await _per_cycle(session, name, since, until, await cycles.spacing(since, until))
    rows = await report_rows(session, plot.since, plot.until, machines=[name])
    return replace(plot, energy_kwh=rows[0].energy_kwh if rows else None)


def _ceil_hour(time: datetime) -> datetime:
    return time if time == hour_of(time) else hour_of(time) + HOUR


async def _per_cycle(
    session: AsyncSession, name: str, since: datetime, until: datetime, spacing: Spacing
) -> MachinePlot:
    power = await power_points(session, name, since, until)
    feeds: dict[str, list[tuple[datetime, float | None]]] = {}
    for r in power.readings:
        feeds.setdefault(f"{r.pdu}:{r.outlet}", []).append((r.time, r.watts))
    feed_lines = [_pairs(label, points, spacing.max_gap) for label, points in sorted(feeds.items())]
    # A partial cycle is not drawn in the total: it would look like a dip in the machine.
    total = [(p.time, None if p.partial else p.watts) for p in power.points]
    means = [_mean(v for _, v in points) for points in feeds.values()]
    peak = peak_of_sums(FeedReading(r.time, r.outlet, r.watts) for r in power.readings)
    samples = await load_points(session, name, since, until)
    steps = [(b.time - a.time).total_seconds() for a, b in pairwise(samples)]
    load_gap = timedelta(seconds=2 * median(steps)) if steps else DEFAULT_LOAD_GAP
    load = [
        _pairs(
            f"load {minutes} min",
            [(s.time, getattr(s, f"load{minutes}")) for s in samples],
            load_gap,
        )
        for minutes in (1, 5, 15)
    ]
    return MachinePlot(
        machine=name,
        since=since,
        until=until,
        resolution="cycle",
        feeds=feed_lines if len(feed_lines) > 1 else [],
        total=_pairs("total", total, spacing.max_gap),
        peak=None,
        load=load,
        mean_watts=_sum_or_none(means),
        peak_watts=peak,
    )


async def _hourly(
    session: AsyncSession, name: str, since: datetime, until: datetime, hour_gap: timedelta
) -> MachinePlot:
    """Hourly means; a line breaks where an hour is missing (one hour and the longest
    recorded gap bridged)."""
    row = await machine(session, name)
    repo = ReportRepository(session)
    machine_id = await repo.machine_id(name)
    assert machine_id is not None  # machine() above raised otherwise
    per_feed: dict[str, tuple[list[datetime], list[float | None]]] = {}
    sums: dict[str, list[float]] = {}
    by_hour: dict[datetime, list[float]] = {}  # the feeds' means, in the order rows come
    for f in await repo.feed_hours(machine_id, since, until):
        feed = f"{f.pdu}:{f.outlet}"
        mean = f.watts_sum / f.watts_count if f.watts_count else None
        times, values = per_feed.get(feed) or per_feed.setdefault(feed, ([], []))
        times.append(f.hour)
        values.append(mean)
        total_sum = sums.get(feed) or sums.setdefault(feed, [0.0, 0.0])
        total_sum[0] += f.watts_sum
        total_sum[1] += f.watts_count
        if mean is not None:
            by_hour.setdefault(f.hour, []).append(mean)
    feeds = max(len(row.outlets), len(per_feed))
    hours = sorted(by_hour)
    total = [sum(by_hour[t]) if len(by_hour[t]) >= feeds else None for t in hours]
    peaks = await repo.machine_peak_hours(machine_id, since, until)
    means = [s / c for s, c in sums.values() if c]
    loads = await repo.load_hours(machine_id, since, until)
    return MachinePlot(
        machine=name,
        since=since,
        until=until,
        resolution="hour",
        feeds=[_line(f, *p, hour_gap) for f, p in sorted(per_feed.items())] if feeds > 1 else [],
        total=_line("total (hourly mean)", hours, total, hour_gap),
        peak=_pairs("hourly peak", peaks, hour_gap),
        load=_hourly_load(loads, hour_gap),
        mean_watts=_sum_or_none(means),
        peak_watts=max((p for _, p in peaks), default=None),
    )


def _hourly_load(loads: list[tuple[datetime, LoadSums]], gap: timedelta) -> list[Series]:
    times = [h for h, _ in loads]
    return [
        _line("load 1 min", times, [_ratio(v.load1_sum, v.load1_count) for _, v in loads], gap),
        _line("load 5 min", times, [_ratio(v.load5_sum, v.load5_count) for _, v in loads], gap),
        _line("load 15 min", times, [_ratio(v.load15_sum, v.load15_count) for _, v in loads], gap),
    ]


def _ratio(total: float, count: int) -> float | None:
    return total / count if count else None


def _line(
    label: str,
    times: list[datetime],
    values: list[float | None],
    gap: timedelta | Callable[[datetime, datetime], timedelta],
) -> Series:
    return Series(label, *gaps_as_nan(times, values, gap))


def _pairs(
    label: str,
    points: Sequence[tuple[datetime, float | None]],
    gap: timedelta | Callable[[datetime, datetime], timedelta],
) -> Series:
    return _line(label, [t for t, _ in points], [v for _, v in points], gap)


def _mean(values: object) -> float | None:
    present = [v for v in values if v is not None]  # type: ignore[attr-defined]
    return sum(present) / len(present) if present else None


def _sum_or_none(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None
