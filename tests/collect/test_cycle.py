"""The poll cycle's logic with the fake transport: bounds, isolation, JSON, health log."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from powermond.collect.cycle import NO_TABLE, CycleResult, PduHealth, PduResult, poll_cycle
from powermond.inventory.model import PduConfig
from powermond.readings import OutletReading
from powermond.snmp.client import SnmpAuthError, SnmpTimeout
from powermond.snmp.fake import FakePdu, FakeTransport
from powermond.snmp.profiles.base import Decoded, Profile, Table

pytestmark = pytest.mark.timeout(30)

CYCLE = datetime(2026, 10, 1, 12, 5, tzinfo=UTC)
WATTS = "1.3.6.1.4.1.99999.1.1.2"


class WattsProfile:
    """Index N -> outlet N with the raw value as watts."""

    name = "watts"
    columns = (WATTS,)

    def decode(self, table: Table) -> Decoded:
        rows = table.get(WATTS, {})
        readings = tuple(
            OutletReading(str(i[0]), float(v), None, None)
            for i, v in sorted(rows.items())
            if isinstance(v, int)
        )
        skipped = tuple(f"outlet {i[0]} skipped" for i, v in rows.items() if not isinstance(v, int))
        return Decoded(readings, skipped)


def profile_for(_pdu: PduConfig) -> Profile:
    return WattsProfile()


def pdu(name: str) -> PduConfig:
    return PduConfig(name=name, host="192.0.2.1", profile="watts")


def answering(*watts: int | bytes) -> FakePdu:
    return FakePdu(table={WATTS: {(n,): w for n, w in enumerate(watts, start=1)}})


async def test_readings_errors_and_json_shape() -> None:
    fake = FakeTransport(
        {
            "a": answering(100, 200),
            "b": FakePdu(error=SnmpTimeout("no answer from b")),
            "c": FakePdu(error=SnmpAuthError("SNMPv3 authentication failed: wrongDigest")),
            "d": FakePdu(table={}),
            "e": answering(b"n/a"),
        }
    )
    result = await poll_cycle(
        fake, [pdu(n) for n in "abcde"], CYCLE, concurrency=4, profile_for=profile_for
    )
    by_pdu = {r.pdu: r for r in result.results}
    assert by_pdu["a"].readings == (
        OutletReading("1", 100.0, None, None),
        OutletReading("2", 200.0, None, None),
    )
    assert by_pdu["b"].error == "no answer from b"
    assert by_pdu["c"].error is not None
    assert "authentication" in by_pdu["c"].error
    assert by_pdu["d"].error == NO_TABLE
    assert by_pdu["e"].error is not None
    assert "outlet 1 skipped" in by_pdu["e"].error
    assert result.readings_by_pdu() == {"a": by_pdu["a"].readings}
    document = result.to_json({("a", "2"): "wn002"})
    assert document["cycle"] == "2026-10-01T12:05:00Z"
    assert document["readings"] == [
        {
            "pdu": "a",
            "outlet": "1",
            "machine": None,
            "watts": 100.0,
            "amps": None,
            "energy_kwh": None,
        },
        {
            "pdu": "a",
            "outlet": "2",
            "machine": "wn002",
            "watts": 200.0,
            "amps": None,
            "energy_kwh": None,
        },
    ]
    assert [e["pdu"] for e in document["errors"]] == ["b", "c", "d", "e"]


async def test_concurrency_is_bounded() -> None:
    names = [f"p{i}" for i in range(20)]
    fake = FakeTransport({n: FakePdu(table={WATTS: {(1,): 5}}, delay=0.02) for n in names})
    result = await poll_cycle(
        fake, [pdu(n) for n in names], CYCLE, concurrency=3, profile_for=profile_for
    )
    assert fake.max_in_flight == 3
    assert sorted(fake.walks) == sorted(names)
    assert all(r.ok for r in result.results)


async def test_a_hanging_pdu_is_cut_off_and_others_finish() -> None:
    fake = FakeTransport({"hang": FakePdu(delay=3600), "ok": answering(7)}, budget=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await poll_cycle(
        fake, [pdu("hang"), pdu("ok")], CYCLE, concurrency=2, profile_for=profile_for
    )
    elapsed = loop.time() - started
    by_pdu = {r.pdu: r for r in result.results}
    assert by_pdu["ok"].readings[0].watts == 7.0
    assert by_pdu["hang"].error is not None
    assert by_pdu["hang"].error.startswith("timeout")
    assert elapsed < 10  # a correctness bound (pdu bound is 0.65 s), not a speed test


async def test_cycle_deadline_reports_unfinished_pdus() -> None:
    fake = FakeTransport({"slow": FakePdu(delay=3600), "ok": answering(1)}, budget=100)
    result = await poll_cycle(
        fake, [pdu("slow"), pdu("ok")], CYCLE, concurrency=2, profile_for=profile_for, deadline=0.2
    )
    by_pdu = {r.pdu: r for r in result.results}
    assert by_pdu["slow"].error == "cycle deadline (0.2 s) hit"
    assert by_pdu["ok"].ok


async def test_results_keep_pdu_order_and_tasks_stay_at_concurrency() -> None:
    # PDUs finishing out of order (later ones faster) still come back in inventory order,
    # and the cycle runs ``concurrency`` tasks, not one per PDU waiting its turn.
    names = [f"p{i}" for i in range(12)]
    fake = FakeTransport(
        {n: FakePdu(table={WATTS: {(1,): i}}, delay=0.01 * (12 - i)) for i, n in enumerate(names)}
    )
    before = len(asyncio.all_tasks())
    seen: list[int] = []

    async def count_tasks() -> None:
        while True:
            seen.append(len(asyncio.all_tasks()) - before - 1)  # less this counter
            await asyncio.sleep(0.005)

    counter = asyncio.create_task(count_tasks())
    result = await poll_cycle(
        fake, [pdu(n) for n in names], CYCLE, concurrency=3, profile_for=profile_for
    )
    counter.cancel()
    assert [r.pdu for r in result.results] == names
    assert [r.readings[0].watts for r in result.results] == [float(i) for i in range(12)]
    assert max(seen) == 3
    assert fake.max_in_flight == 3


async def test_a_cancelled_cycle_leaves_no_walk_running() -> None:
    # The daemon abandons a cycle at shutdown by cancelling it: its walks end with it.
    fake = FakeTransport({n: FakePdu(delay=3600) for n in "abc"}, budget=100)
    cycle = asyncio.create_task(
        poll_cycle(fake, [pdu(n) for n in "abc"], CYCLE, concurrency=2, profile_for=profile_for)
    )
    await asyncio.sleep(0.05)
    assert fake.in_flight == 2
    cycle.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cycle
    assert fake.in_flight == 0
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_a_transport_bug_is_raised_not_reported_as_a_pdu_error() -> None:
    class Broken(FakeTransport):
        async def walk_columns(self, pdu: PduConfig, columns: object, **kw: object) -> Table:
            if pdu.name == "b":
                raise RuntimeError("transport used outside `async with`")
            return await super().walk_columns(pdu, columns, **kw)  # type: ignore[arg-type]

    fake = Broken({n: answering(1) for n in "abc"})
    with pytest.raises(RuntimeError, match="outside"):
        await poll_cycle(
            fake, [pdu(n) for n in "abc"], CYCLE, concurrency=2, profile_for=profile_for
        )
    assert sorted(fake.walks) == ["a", "c"]  # the other PDUs were still polled


async def test_unknown_profile_is_that_pdus_error() -> None:
    def no_such_profile(_pdu: PduConfig) -> Profile:
        raise ValueError("unknown profile 'nope'")

    result = await poll_cycle(
        FakeTransport({"a": answering(1)}),
        [pdu("a")],
        CYCLE,
        concurrency=1,
        profile_for=no_such_profile,
    )
    assert result.results[0].error == "unknown profile 'nope'"


def cycle_of(**errors: str | None) -> CycleResult:
    return CycleResult(
        CYCLE,
        tuple(
            PduResult(
                name, readings=() if err else (OutletReading("1", 1.0, None, None),), error=err
            )
            for name, err in errors.items()
        ),
    )


def test_health_logs_down_once_and_back_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="powermond.collect.cycle")
    health = PduHealth()
    assert health.observe(cycle_of(a=None, b="timeout")) == ["PDU b down: timeout"]
    assert health.observe(cycle_of(a=None, b="timeout")) == []
    assert health.observe(cycle_of(a=None, b="timeout")) == []
    assert health.observe(cycle_of(a=None, b="auth failed")) == [
        "PDU b still failing, now: auth failed"
    ]
    assert health.observe(cycle_of(a=None, b=None)) == ["PDU b is back (1 outlets)"]
    assert health.observe(cycle_of(a=None, b=None)) == []
    assert health.down == {}
    assert [r.getMessage() for r in caplog.records] == [
        "PDU b down: timeout",
        "PDU b still failing, now: auth failed",
        "PDU b is back (1 outlets)",
    ]
