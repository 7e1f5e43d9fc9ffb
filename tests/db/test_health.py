"""Stored PDU health (db.health): each cycle's states replace their PDUs' rows, on every
database, and read back as they were written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from powermond.collect.cycle import NO_TABLE, CycleResult, PduResult
from powermond.collect.health import HealthBook
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.health import HealthRecorder, HealthRepository
from powermond.db.schema import ERROR_LENGTH

from .conftest import MakeInventory

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
PDUS = {"pdu-a": "192.0.2.1", "pdu-b": "192.0.2.2", "pdu-c": "192.0.2.3"}


@pytest.mark.timeout(60)
async def test_each_cycle_replaces_the_polled_pdus_rows(
    db: Database, make_inventory: MakeInventory
) -> None:
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory(PDUS, {}))
    recorder = HealthRecorder(db)
    long_error = "timeout: " + "x" * (2 * ERROR_LENGTH)
    cycles = [
        (PduResult("pdu-a", seconds=0.25), PduResult("pdu-b", error="timeout", seconds=3.0)),
        (
            PduResult("pdu-a", error=long_error, seconds=3.0),
            PduResult("pdu-b", seconds=0.5),
            PduResult("pdu-c", error=NO_TABLE),
            PduResult("not-configured", seconds=0.1),  # no row: the database has no such PDU
        ),
        (PduResult("pdu-a", seconds=0.75),),  # pdu-b and pdu-c keep their rows
    ]
    for n, results in enumerate(cycles):
        await recorder.record(CycleResult(T0 + n * STEP, results))
        async with db.transaction() as session:
            stored = await HealthRepository(session).states()
        expected = recorder.book.states()
        expected.pop("not-configured", None)
        # What was stored is what the book holds, the error cut to the column's length.
        a = expected["pdu-a"]
        if a.last_error is not None:
            assert stored["pdu-a"].last_error == a.last_error[:ERROR_LENGTH]
            stored["pdu-a"] = expected["pdu-a"]
        assert stored == expected
    assert (stored["pdu-a"].state, stored["pdu-a"].failures) == ("up", 0)
    assert stored["pdu-a"].last_success == T0 + 2 * STEP
    assert (stored["pdu-b"].state, stored["pdu-b"].checked) == ("up", T0 + STEP)
    assert stored["pdu-c"].state == "no outlet table"

    # A daemon started afresh goes on from the stored states.
    again = HealthRecorder(db, HealthBook())
    (state,) = await again.record(CycleResult(T0 + 3 * STEP, (PduResult("pdu-b", error="x"),)))
    assert (state.state, state.since, state.failures) == ("down", T0 + 3 * STEP, 1)
    assert state.last_success == T0 + STEP
