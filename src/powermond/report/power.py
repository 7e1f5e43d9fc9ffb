"""Peaks, plot series and report rows: pure functions, no database (a machine's power per
cycle is :mod:`powermond.report.feeds`')."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import groupby, pairwise

from powermond.energy import Method, Tally, max_or_none, merge_all
from powermond.report.feeds import FeedReading


def peak_of_sums(readings: Iterable[FeedReading]) -> float | None:
    """The highest per-cycle sum (partial cycles included: they can only be lower)."""
    peak: float | None = None
    for _, group in groupby(readings, key=lambda r: r.time):
        values = [r.watts for r in group if r.watts is not None]
        if values:
            peak = max_or_none(peak, sum(values))
    return peak


def gaps_as_nan(
    times: Sequence[datetime],
    values: Sequence[float | None],
    max_gap: timedelta | Callable[[datetime, datetime], timedelta],
) -> tuple[list[datetime], list[float]]:
    """Series with a NaN point inside every gap longer than ``max_gap`` (a fixed one, or one
    per pair of times, e.g. :meth:`Spacing.max_gap`): plots break there."""
    if len(times) != len(values):
        raise ValueError(f"{len(times)} times for {len(values)} values")
    nan = float("nan")
    out_v = [nan if value is None else value for value in values]
    if callable(max_gap):
        breaks = [i for i, (a, b) in enumerate(pairwise(times), 1) if b - a > max_gap(a, b)]
    else:  # a year's hourly plot: 8,760 points per line, compared without a call each
        breaks = [i for i, (a, b) in enumerate(pairwise(times), 1) if b - a > max_gap]
    if not breaks:
        return list(times), out_v
    out_t: list[datetime] = []
    with_nan: list[float] = []
    start = 0
    for i in breaks:
        before = times[i - 1]
        out_t.extend(times[start:i])
        out_t.append(before + (times[i] - before) / 2)
        with_nan.extend(out_v[start:i])
        with_nan.append(nan)
        start = i
    out_t.extend(times[start:])
    with_nan.extend(out_v[start:])
    return out_t, with_nan


@dataclass(slots=True)
class LoadTally:
    """Additive figures of load samples (the load rollup row holds these)."""

    samples: int = 0
    load1_sum: float = 0.0

    def merge(self, other: LoadTally) -> None:
        self.samples += other.samples
        self.load1_sum += other.load1_sum

    @property
    def mean(self) -> float | None:
        return self.load1_sum / self.samples if self.samples else None


#: Counter energy and the watts readings may differ this much (a fraction) before a row's
#: ``check`` flags them, and by more than this many kWh per metered outlet: counters count in
#: steps (APC: 0.1 kWh), so each end of a period may be off by a step.
CHECK_TOLERANCE = 0.10
CHECK_STEP_KWH = 0.1


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One line of ``powermon report``: a machine or a PDU over the period.

    ``watts_kwh`` is the energy the watts readings give over the intervals counted (mean watts
    x intervals x the readings' spacing); ``check`` compares it with ``energy_kwh`` where that
    came from energy counters: ``"ok"``, or the difference (``"counter -100 %"``, a frozen
    counter; ``"counter +250 %"``, a jump) when it is over :data:`CHECK_TOLERANCE` and over
    two counter steps per metered outlet. ``None``: nothing to check (no counter intervals,
    or no known spacing). Over an hour or two a frozen counter may pass as counter steps.
    """

    name: str
    energy_kwh: float | None
    mean_watts: float | None
    peak_watts: float | None
    mean_load: float | None
    readings: int
    load_samples: int
    method: Method | None
    watts_kwh: float | None = None
    check: str | None = None
    #: ``report --by pdu`` only: what the figures come from ("inlet" or "outlets"), the
    #: energy the outlets add up to, and the inlet's energy less that (None without inlet).
    meter: str | None = None
    outlets_kwh: float | None = None
    difference_kwh: float | None = None


def report_row(
    name: str,
    outlets: Sequence[Tally],
    peak_watts: float | None,
    load: LoadTally | None = None,
    spacing_s: float | None = None,
) -> ReportRow:
    """Combine the tallies of the outlets that fed ``name`` in the period.

    ``mean_watts`` is the sum of each outlet's mean: a missed reading of one feed then does not
    drag the machine's mean down as a per-cycle sum would. ``spacing_s``: the seconds between
    two readings, for the ``check`` column.
    """
    total = merge_all(outlets)
    means = [t.mean_watts for t in outlets if t.mean_watts is not None]
    load = load or LoadTally()
    watts_kwh = watts_energy(outlets, spacing_s)
    return ReportRow(
        name=name,
        energy_kwh=total.energy_kwh,
        mean_watts=sum(means) if means else None,
        peak_watts=peak_watts,
        mean_load=load.mean,
        readings=total.readings,
        load_samples=load.samples,
        method=total.method,
        watts_kwh=watts_kwh,
        check=energy_check(outlets, watts_kwh),
    )


def checked(row: ReportRow, tallies: Sequence[Tally], spacing_s: float | None) -> ReportRow:
    """``row`` with its ``watts_kwh`` and ``check`` from ``tallies`` (a PDU's inlets or outlets)."""
    watts_kwh = watts_energy(tallies, spacing_s)
    return replace(row, watts_kwh=watts_kwh, check=energy_check(tallies, watts_kwh))


def watts_energy(outlets: Sequence[Tally], spacing_s: float | None) -> float | None:
    """kWh of each outlet's mean watts over the intervals it counted, summed."""
    if not spacing_s:
        return None
    kwh = [
        t.mean_watts * (t.counter_intervals + t.integrated_intervals) * spacing_s / 3.6e6
        for t in outlets
        if t.mean_watts is not None
    ]
    return sum(kwh) if kwh else None


def energy_check(outlets: Sequence[Tally], watts_kwh: float | None) -> str | None:
    """``"ok"`` or ``"counter ±N %"`` for energy from counters; None when there is none."""
    energy = merge_all(outlets).energy_kwh
    metered = sum(1 for t in outlets if t.counter_intervals)
    if not metered or energy is None or watts_kwh is None:
        return None
    off = abs(energy - watts_kwh)
    if off <= CHECK_TOLERANCE * max(energy, watts_kwh) or off <= 2 * CHECK_STEP_KWH * metered:
        return "ok"
    if watts_kwh == 0:
        return "counter, watts 0"
    return f"counter {(energy - watts_kwh) / watts_kwh:+.0%}".replace("%", " %")


def total_row(rows: Sequence[ReportRow]) -> dict[str, object]:
    """The table's Total line: energy and mean watts add up; the peak of the sum is unknown."""
    energies = [r.energy_kwh for r in rows if r.energy_kwh is not None]
    means = [r.mean_watts for r in rows if r.mean_watts is not None]
    return {
        "name": "Total",
        "energy_kwh": sum(energies) if energies else None,
        "mean_watts": sum(means) if means else None,
        "readings": sum(r.readings for r in rows),
        "load_samples": sum(r.load_samples for r in rows),
    }
