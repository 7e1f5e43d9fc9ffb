"""A PDU's readings kept in columns (OutletReadings) read back as the readings they were."""

from __future__ import annotations

import pytest

from powermond.collect.cycle import storable
from powermond.readings import OutletReading, OutletReadings

pytestmark = pytest.mark.timeout(30)

ROWS = (
    OutletReading("1", 120.5, 0.6, 1234.567),
    OutletReading("2", None, 0.0, None),  # a PDU that gives no watts nor energy here
    OutletReading("2.1", 0.0, None, 0.001),
    OutletReading("inlet", 3210.0, 14.2, 98765.4),
)


def test_columns_give_back_every_reading_exactly() -> None:
    kept = OutletReadings(ROWS)
    assert len(kept) == 4
    assert list(kept) == list(ROWS)
    assert kept == ROWS  # a tuple of the same readings is equal
    assert kept[1] == OutletReading("2", None, 0.0, None)  # None stays None, 0.0 stays 0.0
    assert kept[-1] == ROWS[-1]
    assert kept[1:3] == ROWS[1:3]
    assert [r.outlet for r in reversed(kept)] == ["inlet", "2.1", "2", "1"]
    assert ROWS[2] in kept
    with pytest.raises(IndexError):
        kept[4]
    assert kept != ROWS[:3]
    assert OutletReadings() == ()


def test_pdus_with_the_same_outlets_share_their_labels() -> None:
    a = OutletReadings(OutletReading(str(n), float(n), None, None) for n in range(1, 49))
    b = OutletReadings(OutletReading(str(n), 2.0 * n, 0.5, 7.0) for n in range(1, 49))
    assert a._labels is b._labels  # one tuple of 48 labels for every such PDU
    assert [r.watts for r in b][:3] == [2.0, 4.0, 6.0]


def test_a_decoded_pdu_is_stored_in_columns() -> None:
    readings, rejected = storable([*ROWS, OutletReading("x" * 40, 1.0, None, None)])
    assert isinstance(readings, OutletReadings)
    assert readings == ROWS
    assert len(rejected) == 1
