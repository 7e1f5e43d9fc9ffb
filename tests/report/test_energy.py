"""The energy rules and machine power per cycle, table-tested against hand-computed answers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from powermond.energy import (
    Sample,
    Spacing,
    Tally,
    bridged_span_s,
    interval_energy,
    outlet_tally,
)
from powermond.report.feeds import FeedReading, PowerPoint, machine_power
from powermond.report.power import LoadTally, gaps_as_nan, peak_of_sums, report_row

T0 = datetime(2026, 10, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
GAP = 2 * STEP
SPACING = Spacing(default=STEP.total_seconds())
DAY = timedelta(days=1)


def at(i: int) -> datetime:
    return T0 + i * STEP


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # 600 W for 5 minutes = 0.05 kWh; trapezoid of 600 and 1200 W = 900 W x 5 min.
        (Sample(at(0), 600, None), Sample(at(1), 600, None), ("integrated", 0.05)),
        (Sample(at(0), 600, None), Sample(at(1), 1200, None), ("integrated", 0.075)),
        # The counter wins where both ends have it, whatever the watts say.
        (Sample(at(0), 600, 10.0), Sample(at(1), 600, 10.2), ("counter", 0.2)),
        # A reset: the counter went down; watts bridge the interval.
        (Sample(at(0), 600, 10.0), Sample(at(1), 600, 0.01), ("integrated", 0.05)),
        # A reset without watts: the counter restarted from zero.
        (Sample(at(0), None, 10.0), Sample(at(1), None, 0.01), ("counter", 0.01)),
        # One missed cycle is bridged (exactly two intervals) ...
        (Sample(at(0), 600, None), Sample(at(2), 600, None), ("integrated", 0.1)),
        (Sample(at(0), None, 1.0), Sample(at(2), None, 1.5), ("counter", 0.5)),
        # ... two missed cycles are not, by either method.
        (Sample(at(0), 600, None), Sample(at(3), 600, None), None),
        (Sample(at(0), 600, 1.0), Sample(at(3), 600, 1.5), None),
        # A missing value at either end leaves nothing to count.
        (Sample(at(0), None, None), Sample(at(1), 600, None), None),
        (Sample(at(0), 600, 1.0), Sample(at(1), None, None), None),
    ],
)
def test_interval_energy(first: Sample, second: Sample, expected: tuple[str, float] | None) -> None:
    found = interval_energy(first, second, GAP)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert found[0] == expected[0]
        assert found[1] == pytest.approx(expected[1], abs=1e-12)


def test_a_day_of_constant_watts_is_exact() -> None:
    samples = [Sample(at(i), 1500.0, None) for i in range(24 * 12 + 1)]
    tally = outlet_tally(samples, T0, T0 + DAY, SPACING)
    assert tally.energy_kwh == pytest.approx(36.0)  # 1.5 kW x 24 h
    assert (tally.readings, tally.method, tally.mean_watts) == (288, "integrated", 1500.0)


def test_counter_across_a_reset_counts_from_the_new_value() -> None:
    # 0.1 kWh per cycle; reset to 0 between cycles 5 and 6 (watts absent: counts the new 0.05).
    values = [100 + 0.1 * i for i in range(6)] + [0.05 + 0.1 * i for i in range(6)]
    samples = [Sample(at(i), None, v) for i, v in enumerate(values)]
    tally = outlet_tally(samples, T0, at(12), SPACING)
    assert tally.energy_kwh == pytest.approx(0.5 + 0.05 + 0.5)
    assert (tally.method, tally.counter_intervals) == ("counter", 11)


def test_reset_with_watts_is_mixed() -> None:
    samples = [Sample(at(0), 1200, 50.0), Sample(at(1), 1200, 50.1), Sample(at(2), 1200, 0.0)]
    tally = outlet_tally(samples, T0, at(3), SPACING)
    assert tally.energy_kwh == pytest.approx(0.1 + 0.1)
    assert tally.method == "mixed"


def test_a_long_gap_is_not_bridged() -> None:
    # 1 kW at cycles 0..3 and 10..13: two stretches of three intervals, the gap not counted.
    samples = [Sample(at(i), 1000, None) for i in (*range(4), *range(10, 14))]
    tally = outlet_tally(samples, T0, at(14), SPACING)
    assert tally.energy_kwh == pytest.approx(6 * 1.0 * 5 / 60)
    assert tally.readings == 8


def test_period_holds_the_intervals_that_start_in_it() -> None:
    samples = [Sample(at(i), 1200, None) for i in range(10)]
    # [at(2), at(5)): readings 2, 3, 4 and the intervals starting there (the last one to at(5)).
    tally = outlet_tally(samples, at(2), at(5), SPACING)
    assert (tally.readings, tally.integrated_intervals) == (3, 3)
    assert tally.energy_kwh == pytest.approx(0.3)


def test_nothing_to_count() -> None:
    tally = outlet_tally([Sample(at(0), None, None)], T0, at(1), SPACING)
    assert (tally.energy_kwh, tally.method, tally.mean_watts, tally.readings) == (
        None,
        None,
        None,
        1,
    )


def test_partial_cycles_are_flagged_not_summed_low() -> None:
    readings = [
        FeedReading(at(0), "a:1", 100.0),
        FeedReading(at(0), "b:1", 110.0),
        FeedReading(at(1), "a:1", 100.0),  # B missing
        FeedReading(at(2), "a:1", None),  # A without watts, B fine
        FeedReading(at(2), "b:1", 120.0),
        FeedReading(at(3), "a:1", None),
    ]
    assert machine_power(readings, feeds=2) == [
        PowerPoint(at(0), 210.0, False, 2),
        PowerPoint(at(1), 100.0, True, 1),
        PowerPoint(at(2), 120.0, True, 1),
        PowerPoint(at(3), None, True, 0),
    ]
    assert peak_of_sums(readings) == 210.0


def test_gaps_become_nan_breaks() -> None:
    times, values = gaps_as_nan([at(0), at(1), at(5)], [1.0, None, 3.0], GAP)
    assert times == [at(0), at(1), at(3), at(5)]
    assert values[0] == 1.0
    assert math.isnan(values[1])
    assert math.isnan(values[2])
    assert values[3] == 3.0


def test_gaps_break_at_every_long_step_with_a_fixed_or_a_per_pair_gap() -> None:
    times = [at(0), at(3), at(4), at(10), at(11)]
    values = [1.0, 2.0, None, 4.0, 5.0]
    broken, with_nan = gaps_as_nan(times, values, GAP)
    assert broken == [at(0), at(1) + STEP / 2, at(3), at(4), at(7), at(10), at(11)]
    assert [None if math.isnan(v) else v for v in with_nan] == [1.0, None, 2.0, None, None,
                                                                4.0, 5.0]  # fmt: skip
    # A per-pair gap: steps from at(4) on bridge up to 7 steps, so only the first gap breaks.
    wide = gaps_as_nan(times, values, lambda a, _b: GAP if a < at(4) else 7 * STEP)
    assert wide[0] == [at(0), at(1) + STEP / 2, at(3), at(4), at(10), at(11)]
    assert gaps_as_nan([], [], GAP) == ([], [])
    with pytest.raises(ValueError, match="2 times for 1 values"):
        gaps_as_nan([at(0), at(1)], [1.0], GAP)


def test_report_row_adds_feed_means() -> None:
    a = Tally(readings=2, watts_count=2, watts_sum=200.0, watts_peak=100.0)
    a.add_interval("counter", 1.0)
    b = Tally(readings=1, watts_count=1, watts_sum=50.0, watts_peak=50.0)
    b.add_interval("integrated", 0.5)
    row = report_row("wn001", [a, b], 150.0, LoadTally(4, 10.0))
    figures = (row.energy_kwh, row.mean_watts, row.peak_watts, row.mean_load)
    assert figures == (1.5, 150.0, 150.0, 2.5)
    assert (row.readings, row.load_samples, row.method) == (3, 4, "mixed")


@pytest.mark.parametrize("interval", [300.0, 120.0, 5.0, 2.5, 150.5, 150.6, 0.4, 3600.0])
def test_the_whole_second_bound_bridges_what_spacing_bridges(interval: float) -> None:
    """The rollups' SQL compares a span of whole seconds with ``bridged_span_s`` (an
    integer): it bridges exactly the spans :class:`Spacing` bridges, at any interval."""
    spacing = Spacing({T0: interval}, default=interval)
    bound = bridged_span_s(interval)
    for span in range(max(0, bound - 3), bound + 4):
        later = T0 + timedelta(seconds=span)
        bridged = interval_energy(Sample(T0, 600, None), Sample(later, 600, None),
                                  spacing.max_gap(T0, later)) is not None  # fmt: skip
        assert bridged == (0 < span <= bound), span
