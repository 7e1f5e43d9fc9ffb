"""Energy, mean and peak of outlet readings: pure functions, no database, at the bottom of the
package (``db`` and ``report`` both import them).

The rules (also in the report's documentation):

* Energy is computed per *interval* between two consecutive readings of one outlet and
  belongs to the period (and the machine) of the interval's *first* reading, so that
  ``[00:00, 24:00)`` holds exactly the intervals that start that day and hourly rollups add
  up to any whole-hour period.
* An interval longer than two collector intervals is not bridged by either method: the
  counter delta across a long gap may hide a reset or a replaced PDU, and watts say nothing
  about the missing time. The undercount shows in ``readings``. The collector interval is the
  one each cycle was *recorded* at (:class:`Spacing`, from the ``cycle`` table), never the
  one configured now: an interval is bridged when it is at most twice the interval of either
  of its cycles, so a change of interval (5-minute history, then 5-second cycles) keeps the
  interval across the change, and a manual poll between two cycles splits their interval
  without unbridging it.
* Where both ends carry the PDU's energy counter and it did not go down, the interval's energy
  is the counter delta ("counter"). Otherwise it is the trapezoid of the two watts readings
  ("integrated"): this also covers a counter reset (the counter went down), since the energy
  drawn before the reset is unknown. A reset interval without watts counts the new counter
  value (the counter restarted from zero). Later intervals count from the new value.
* A report row's ``method`` says which rule made its energy: "counter", "integrated",
  "mixed" (both), or ``None`` (no interval could be counted).

The hourly rollups apply these rules in SQL over the stored readings (``db/rollup_rule.py``, in
the readings' integer units); tests check that both give the same tallies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Literal, TypeVar

Method = Literal["counter", "integrated", "mixed"]
IntervalKind = Literal["counter", "integrated"]
K = TypeVar("K")
DEFAULT_INTERVAL_S = 300.0  # the collector's default: the interval of a time with no cycle row


@dataclass(frozen=True, slots=True)
class Spacing:
    """The interval (seconds) each cycle was recorded at, by cycle time; a time with no
    recorded cycle takes ``default``. It decides which intervals energy and plots bridge."""

    intervals: Mapping[datetime, float] = field(default_factory=dict)
    default: float = DEFAULT_INTERVAL_S
    _gaps: dict[datetime, timedelta] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        gaps = {t: timedelta(seconds=2 * i) for t, i in self.intervals.items()}
        object.__setattr__(self, "_gaps", gaps)

    def interval_at(self, time: datetime) -> float:
        return self.intervals.get(time, self.default)

    def max_gap(self, first: datetime, second: datetime) -> timedelta:
        """The longest ``first -> second`` interval bridged: twice either cycle's interval
        (for the stored readings' whole-second times, :func:`bridged_span_s` of either)."""
        default = timedelta(seconds=2 * self.default)
        return max(self._gaps.get(first, default), self._gaps.get(second, default))

    @property
    def reach(self) -> timedelta:
        """The longest interval bridged anywhere here: how far past a period to read."""
        longest = max(self.intervals.values(), default=self.default)
        return timedelta(seconds=2 * longest)


def bridged_span_s(interval_s: float) -> int:
    """The longest span in whole seconds bridged next to a cycle recorded at ``interval_s``:
    ``floor(2 * interval_s)``. Stored readings' times are whole seconds, so their span is
    at most twice the interval exactly when it is at most this (:meth:`Spacing.max_gap`'s
    rule); the rollups' SQL compares the integer span with it (``db.rollup_rule._interval``)."""
    return math.floor(2 * interval_s)


@dataclass(frozen=True, slots=True)
class Sample:
    """One outlet reading as the energy rules see it (ids as stored; 0 when irrelevant)."""

    time: datetime
    watts: float | None
    energy_kwh: float | None
    outlet: int = 0
    machine: int | None = None
    pdu: int = 0


@dataclass(slots=True)
class Tally:
    """Additive figures of some readings; one hourly rollup row holds exactly these.

    Every field adds up (``watts_peak`` by max), so tallies of hours merge into the tally of a
    period with the same result as computing the period from the raw readings.
    """

    readings: int = 0
    watts_count: int = 0
    watts_sum: float = 0.0
    watts_peak: float | None = None
    counter_kwh: float = 0.0
    counter_intervals: int = 0
    integrated_kwh: float = 0.0
    integrated_intervals: int = 0

    def merge(self, other: Tally) -> None:
        self.readings += other.readings
        self.watts_count += other.watts_count
        self.watts_sum += other.watts_sum
        self.watts_peak = max_or_none(self.watts_peak, other.watts_peak)
        self.counter_kwh += other.counter_kwh
        self.counter_intervals += other.counter_intervals
        self.integrated_kwh += other.integrated_kwh
        self.integrated_intervals += other.integrated_intervals

    def add_reading(self, watts: float | None) -> None:
        self.readings += 1
        if watts is not None:
            self.watts_count += 1
            self.watts_sum += watts
            self.watts_peak = max_or_none(self.watts_peak, watts)

    def add_interval(self, kind: IntervalKind, kwh: float, sign: int = 1) -> None:
        """``sign=-1`` takes an interval back out (a late reading split it in two)."""
        if kind == "counter":
            self.counter_kwh += sign * kwh
            self.counter_intervals += sign
        else:
            self.integrated_kwh += sign * kwh
            self.integrated_intervals += sign

    @property
    def energy_kwh(self) -> float | None:
        if not self.counter_intervals and not self.integrated_intervals:
            return None
        return self.counter_kwh + self.integrated_kwh

    @property
    def method(self) -> Method | None:
        if self.counter_intervals and self.integrated_intervals:
            return "mixed"
        if self.counter_intervals:
            return "counter"
        if self.integrated_intervals:
            return "integrated"
        return None

    @property
    def mean_watts(self) -> float | None:
        return self.watts_sum / self.watts_count if self.watts_count else None

    def as_dict(self) -> dict[str, float | int | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def max_or_none(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def interval_energy(
    first: Sample, second: Sample, max_gap: timedelta
) -> tuple[IntervalKind, float] | None:
    """The energy (kWh) drawn between two consecutive readings of one outlet, and how."""
    span = second.time - first.time
    if span <= timedelta(0) or span > max_gap:
        return None
    e1, e2 = first.energy_kwh, second.energy_kwh
    if e1 is not None and e2 is not None and e2 >= e1:
        return "counter", e2 - e1
    if first.watts is not None and second.watts is not None:
        hours = span.total_seconds() / 3600.0
        return "integrated", (first.watts + second.watts) / 2.0 * hours / 1000.0
    if e1 is not None and e2 is not None:  # a reset without watts: counted from zero
        return "counter", e2
    return None


def tally_samples(
    samples: Sequence[Sample],
    since: datetime,
    until: datetime,
    spacing: Spacing,
    key: Callable[[Sample], K],
) -> dict[K, Tally]:
    """Tallies of the readings in ``[since, until)``, grouped by ``key``.

    ``samples`` are sorted by (outlet, time) and should reach ``spacing.reach`` past
    ``until`` so the period's last intervals can be closed. Each interval goes to its first
    reading's key.
    """
    tallies: dict[K, Tally] = {}
    for i, sample in enumerate(samples):
        if not since <= sample.time < until:
            continue
        tally = tallies.setdefault(key(sample), Tally())
        tally.add_reading(sample.watts)
        following = samples[i + 1] if i + 1 < len(samples) else None
        if following is not None and following.outlet == sample.outlet:
            gap = spacing.max_gap(sample.time, following.time)
            energy = interval_energy(sample, following, gap)
            if energy is not None:
                tally.add_interval(*energy)
    return tallies


def outlet_tally(
    samples: Sequence[Sample], since: datetime, until: datetime, spacing: Spacing
) -> Tally:
    """The tally of one outlet's readings (sorted by time) over ``[since, until)``."""
    return tally_samples(samples, since, until, spacing, lambda s: 0).get(0, Tally())


def hour_of(time: datetime) -> datetime:
    return time.replace(minute=0, second=0, microsecond=0)


def merge_all(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total
