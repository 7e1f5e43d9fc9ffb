"""PDU health states from cycle results: up, down, never answered, no outlet table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from powermond.collect.cycle import NO_TABLE, CycleResult, PduResult
from powermond.collect.health import HealthBook, error_kind
from powermond.readings import OutletReading

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
OK = PduResult("p", readings=(OutletReading("1", 5.0, None, None),), seconds=0.2)
TIMEOUT = PduResult("p", error="timeout: walk not finished within 3 s", seconds=3.0)


def cycles(book: HealthBook, *results: PduResult) -> list[str]:
    states = []
    for n, result in enumerate(results):
        (state,) = book.observe(CycleResult(T0 + n * STEP, (result,)))
        states.append(state.state)
    return states


def test_a_pdu_that_never_answered_is_not_down_until_it_has() -> None:
    book = HealthBook()
    assert cycles(book, TIMEOUT, TIMEOUT, OK, TIMEOUT, OK) == [
        "never answered", "never answered", "up", "down", "up",
    ]  # fmt: skip


def test_since_last_success_failures_and_the_error_kept_after_recovery() -> None:
    book = HealthBook()
    cycles(book, OK, TIMEOUT, TIMEOUT)
    state = book.states()["p"]
    assert (state.state, state.since, state.last_success) == ("down", T0 + STEP, T0)
    assert state.failures == 2
    assert state.walk_seconds == 3.0
    assert state.checked == T0 + 2 * STEP
    (back,) = book.observe(CycleResult(T0 + 3 * STEP, (OK,)))
    assert (back.state, back.since, back.failures) == ("up", T0 + 3 * STEP, 0)
    assert back.last_error == TIMEOUT.error


def test_no_outlet_table_is_its_own_state() -> None:
    book = HealthBook()
    assert cycles(book, OK, PduResult("p", error=NO_TABLE)) == ["up", "no outlet table"]


def test_seeded_states_continue_and_retired_pdus_are_forgotten() -> None:
    first = HealthBook()
    cycles(first, OK, TIMEOUT)
    book = HealthBook()
    book.seed(first.states())
    (state,) = book.observe(CycleResult(T0 + 5 * STEP, (TIMEOUT,)))
    assert (state.state, state.failures, state.since) == ("down", 2, T0 + STEP)
    book.retain([])
    assert book.states() == {}


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("timeout: walk not finished within 3 s", "timeout"),
        ("no answer from 10.0.0.1:161 within 2 s x 2 tries", "timeout"),
        ("cycle deadline (30 s) hit", "timeout"),
        ("SNMPv3 authentication failed: wrongDigest", "auth"),
        (NO_TABLE, "decode"),
        ("profile apc could not decode the answer: x", "decode"),
        ("the PDU answered genErr", "other"),
    ],
)
def test_error_kinds(error: str, kind: str) -> None:
    assert error_kind(error) == kind
