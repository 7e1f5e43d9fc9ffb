"""Applying inventories: idempotence, retire and restore, remaps that keep history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from powermond.collect.store import store_cycle
from powermond.db.apply import ApplyResult, apply_inventory
from powermond.db.engine import Database
from powermond.db.repositories import (
    MachineRepository,
    OutletRepository,
    PduRepository,
    ReadingRepository,
)
from powermond.inventory.model import Inventory
from powermond.readings import OutletReading

from .conftest import MakeInventory

T0 = datetime(2026, 10, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
PDUS = {"rack-a1": "192.0.2.10", "rack-b1": "192.0.2.11"}


async def _apply(db: Database, inv: Inventory) -> ApplyResult:
    async with db.transaction() as session:
        return await apply_inventory(session, inv)


async def _write(db: Database, cycle: datetime, pdu: str, watts: dict[str, float]) -> None:
    """As the daemon writes: readings with their rollups (which name the machine each
    outlet fed, and so find a machine's readings after a remap)."""
    readings = [OutletReading(label, w, None, None) for label, w in watts.items()]
    await store_cycle(db, cycle, {pdu: readings}, interval=STEP.total_seconds())


async def _watts(db: Database, machine: str) -> list[tuple[datetime, str, float | None]]:
    async with db.transaction() as session:
        rows = await ReadingRepository(session).between(machine, T0, T0 + 100 * STEP)
    return [(r.time, f"{r.pdu}:{r.outlet}", r.watts) for r in rows]


async def test_first_apply_adds_everything_second_changes_nothing(
    db: Database, make_inventory: MakeInventory
) -> None:
    inv = make_inventory(PDUS, {"wn001": ["rack-a1:3", "rack-b1:3"], "wn002": ["rack-a1:4"]})
    first = await _apply(db, inv)
    assert first.lines() == [
        "PDU added: rack-a1",
        "PDU added: rack-b1",
        "machine added: wn001",
        "machine added: wn002",
        "outlet rack-a1:3: (none) -> wn001",
        "outlet rack-a1:4: (none) -> wn002",
        "outlet rack-b1:3: (none) -> wn001",
    ]
    second = await _apply(db, inv)
    assert second.lines() == []
    assert not second


async def test_changed_pdu_and_moved_outlet(db: Database, make_inventory: MakeInventory) -> None:
    await _apply(db, make_inventory(PDUS, {"wn001": ["rack-a1:3"], "wn002": ["rack-a1:4"]}))
    moved = make_inventory(
        {**PDUS, "rack-b1": "192.0.2.99"},
        {"wn001": ["rack-a1:4"], "wn002": ["rack-a1:5"]},
        rrd={"wn002": "Workers/wn002"},
    )
    result = await _apply(db, moved)
    assert result.lines() == [
        "PDU changed: rack-b1",
        "machine changed: wn002",
        "outlet rack-a1:3: wn001 -> (none)",
        "outlet rack-a1:4: wn002 -> wn001",
        "outlet rack-a1:5: (none) -> wn002",
    ]
    async with db.transaction() as session:
        pdu = await PduRepository(session).get("rack-b1")
        outlets = await OutletRepository(session).list_for_pdu("rack-a1")
    assert pdu is not None
    assert pdu.host == "192.0.2.99"
    assert [(o.label, o.machine) for o in outlets] == [("3", None), ("4", "wn001"), ("5", "wn002")]


async def test_machine_resolved_at_write_time(db: Database, make_inventory: MakeInventory) -> None:
    await _apply(db, make_inventory(PDUS, {"wn001": ["rack-a1:3"], "wn002": ["rack-a1:4"]}))
    await _write(db, T0, "rack-a1", {"3": 100.0, "4": 40.0})
    # The rack is recabled: outlet 3 now feeds wn002.
    await _apply(db, make_inventory(PDUS, {"wn001": ["rack-b1:1"], "wn002": ["rack-a1:3"]}))
    await _write(db, T0 + STEP, "rack-a1", {"3": 200.0, "4": 41.0})
    await _write(db, T0 + STEP, "rack-b1", {"1": 150.0})
    assert await _watts(db, "wn001") == [
        (T0, "rack-a1:3", 100.0),
        (T0 + STEP, "rack-b1:1", 150.0),
    ]
    assert await _watts(db, "wn002") == [
        (T0, "rack-a1:4", 40.0),
        (T0 + STEP, "rack-a1:3", 200.0),
    ]


async def test_retired_machine_keeps_history_and_is_restored(
    db: Database, make_inventory: MakeInventory
) -> None:
    both = make_inventory(PDUS, {"wn001": ["rack-a1:3", "rack-b1:3"], "wn002": ["rack-a1:4"]})
    await _apply(db, both)
    await _write(db, T0, "rack-a1", {"3": 100.0, "4": 40.0})
    await _write(db, T0, "rack-b1", {"3": 90.0})

    retired = await _apply(
        db, make_inventory({"rack-a1": PDUS["rack-a1"]}, {"wn002": ["rack-a1:4"]})
    )
    assert retired.lines() == [
        "PDU retired: rack-b1",
        "machine retired: wn001",
        "outlet rack-a1:3: wn001 -> (none)",
        "outlet rack-b1:3: wn001 -> (none)",
    ]
    async with db.transaction() as session:
        machines = MachineRepository(session)
        assert [m.name for m in await machines.list()] == ["wn002"]
        all_machines = await machines.list(include_retired=True)
        assert [m.name for m in all_machines] == ["wn001", "wn002"]
        gone = await machines.get("wn001")
        pdus = PduRepository(session)
        assert [p.name for p in await pdus.list()] == ["rack-a1"]
        assert [(p.name, p.retired) for p in await pdus.list(include_retired=True)] == [
            ("rack-a1", False),
            ("rack-b1", True),
        ]
    assert gone is not None
    assert gone.retired_at is not None
    assert gone.outlets == ()
    # Unmapped now, so new readings of its old outlet belong to nobody ...
    await _write(db, T0 + STEP, "rack-a1", {"3": 5.0})
    # ... and its history is still there.
    assert await _watts(db, "wn001") == [(T0, "rack-a1:3", 100.0), (T0, "rack-b1:3", 90.0)]

    restored = await _apply(db, both)
    assert restored.lines() == [
        "PDU restored: rack-b1",
        "machine restored: wn001",
        "outlet rack-a1:3: (none) -> wn001",
        "outlet rack-b1:3: (none) -> wn001",
    ]
    async with db.transaction() as session:
        back = await MachineRepository(session).get("wn001")
    assert back is not None
    assert back.retired_at is None
    assert back.created_at == gone.created_at  # the same machine, not a new one
    assert back.outlets == ("rack-a1:3", "rack-b1:3")
    assert await _apply(db, both) == ApplyResult()


async def _apply_then_fail(db: Database, inv: Inventory) -> None:
    async with db.transaction() as session:
        assert await apply_inventory(session, inv)
        raise RuntimeError("the reload failed later in the same unit of work")


async def test_failed_apply_changes_nothing(db: Database, make_inventory: MakeInventory) -> None:
    await _apply(db, make_inventory(PDUS, {"wn001": ["rack-a1:3"]}))
    with pytest.raises(RuntimeError, match="later"):
        await _apply_then_fail(db, make_inventory({}, {}))
    async with db.transaction() as session:
        assert [m.name for m in await MachineRepository(session).list()] == ["wn001"]
        outlets = await OutletRepository(session).list_for_pdu("rack-a1")
        assert [(o.label, o.machine) for o in outlets] == [("3", "wn001")]
