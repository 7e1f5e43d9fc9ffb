"""A cycle's rows built column-wise (db.reading_rows) equal the value-by-value rule
(types.milli per value, machines as None, outlet order, replayed outlets left out)."""

from __future__ import annotations

import math
import random
from array import array

import pytest

from powermond.db.outlet_map import NO_MACHINE
from powermond.db.reading_rows import batch_rows
from powermond.db.types import milli


def _expected(t, outlets, machines, watts, amps, energy, present=()):  # type: ignore[no-untyped-def]
    rows = [
        (t, o, None if m == NO_MACHINE else m, milli(w), milli(a), milli(e))
        for o, m, w, a, e in zip(outlets, machines, watts, amps, energy, strict=True)
        if o not in present
    ]
    return sorted(rows, key=lambda row: row[1])


def test_rows_are_the_values_milli_stores() -> None:
    rng = random.Random(3)
    n = 500
    outlets = rng.sample(range(1, 100_000), n)
    machines = [rng.choice([NO_MACHINE, rng.randrange(1, 5000)]) for _ in range(n)]
    # Halves of a thousandth (ties to even), tenths, negatives, None and NaN, big counters.
    pool = [0.0005, 0.0015, 0.0025, -0.0005, 2.5e-3, 123.4, 0.1, 1e9 + 0.0005, None, math.nan]
    watts = [rng.choice(pool) if i % 3 == 0 else rng.uniform(-50, 4000) for i in range(n)]
    amps = [None] * n
    energy = array("d", [rng.uniform(0, 1e7) for _ in range(n)])
    found = batch_rows(1_790_851_200, [(outlets, machines, watts, amps, energy)])
    assert found == _expected(1_790_851_200, outlets, machines, watts, amps, energy)
    present = set(outlets[::7])
    found = batch_rows(60, [(array("i", outlets), machines, watts, amps, energy)], present)
    assert found == _expected(60, outlets, machines, watts, amps, energy, present)
    assert all(type(v) is int for row in found for v in row if v is not None)


def test_values_past_a_double_s_integers_and_infinities_are_as_milli_makes_them() -> None:
    huge = [1e17, 2.0]
    assert batch_rows(0, [([2, 1], [1, 2], huge, [None, None], [None, 1.0])]) == [
        (0, 1, 2, 2000, None, 1000),
        (0, 2, 1, milli(1e17), None, None),
    ]
    with pytest.raises(OverflowError):
        batch_rows(0, [([1], [1], [math.inf], [None], [None])])


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="shorter"):
        batch_rows(0, [([1, 2], [1, 2], [1.0], [1.0, 2.0], [1.0, 2.0])])


def test_a_batch_of_pdus_is_their_rows_in_outlet_order() -> None:
    first = (array("i", [5, 3]), array("i", [NO_MACHINE, 7]), array("d", [1.0, math.nan]),
             array("d", [0.5, 0.25]), array("d", [10.0, 11.0]))  # fmt: skip
    second = ([4], [8], [None], [1.5], [None])
    assert batch_rows(9, [first, second]) == [
        (9, 3, 7, None, 250, 11000),
        (9, 4, 8, None, 1500, None),
        (9, 5, None, 1000, 500, 10000),
    ]
    assert batch_rows(9, [first, second], {4}) == [
        (9, 3, 7, None, 250, 11000),
        (9, 5, None, 1000, 500, 10000),
    ]
    assert batch_rows(9, []) == []


def test_values_given_as_integers_are_as_milli_makes_them() -> None:
    """The C path rounds floats only (float.__round__); integers (a reading built by hand)
    go value by value, to the same integers."""
    rows = batch_rows(0, [([1, 2], [NO_MACHINE, 5], [3, 2.5], [1, None], [7, math.nan])])
    assert rows == [(0, 1, None, 3000, 1000, 7000), (0, 2, 5, 2500, None, None)]
    assert all(type(v) is int for row in rows for v in row if v is not None)
