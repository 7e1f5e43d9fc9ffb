"""Applying a validated inventory to the database: PDUs first, then machines, then outlets.

Runs in the caller's one transaction, so a reload is applied whole or not at all. Nothing is
deleted: what left the files is retired (its readings stay queryable) and restored when it
comes back. Stored rows are read as plain Core rows and changed with one executemany per
kind of change (no ORM objects): a 10,000-PDU inventory that did not change costs three
SELECTs and no write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.collectors import CONFIG_LOCK, lock
from powermond.db.errors import translate
from powermond.db.outlet_map import outlet_map_changed
from powermond.db.rows import outlet_sort_key
from powermond.db.tables import Base, Machine, Outlet, Pdu
from powermond.db.types import utc_now
from powermond.inventory.model import Inventory, PduConfig


@dataclass(frozen=True, slots=True)
class OutletRemap:
    pdu: str
    label: str
    old: str | None  # machine fed before, None: none
    new: str | None

    def __str__(self) -> str:
        return f"outlet {self.pdu}:{self.label}: {self.old or '(none)'} -> {self.new or '(none)'}"


@dataclass(frozen=True, slots=True)
class Changes:
    """What happened to PDUs or to machines, by name."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()

    def lines(self, kind: str) -> list[str]:
        verbs = ("added", "changed", "retired", "restored")
        groups = (self.added, self.changed, self.retired, self.restored)
        return [
            f"{kind} {verb}: {name}"
            for verb, names in zip(verbs, groups, strict=True)
            for name in names
        ]

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.retired or self.restored)


@dataclass(frozen=True, slots=True)
class ApplyResult:
    pdus: Changes = field(default_factory=Changes)
    machines: Changes = field(default_factory=Changes)
    outlets: tuple[OutletRemap, ...] = ()

    def lines(self) -> list[str]:
        """One human line per change; empty when the database already matched."""
        return [
            *self.pdus.lines("PDU"),
            *self.machines.lines("machine"),
            *(str(o) for o in self.outlets),
        ]

    def __bool__(self) -> bool:
        return bool(self.pdus or self.machines or self.outlets)


async def apply_inventory(session: AsyncSession, inventory: Inventory) -> ApplyResult:
    """Make the stored PDUs, machines and outlet mapping match ``inventory``."""
    try:
        await lock(session, CONFIG_LOCK)  # one collector applies at a time; then the rest find
        pdus = await _apply_pdus(session, inventory)  # nothing left to change
        machines = await _apply_machines(session, inventory)
        outlets = await _apply_outlets(session, inventory)
        await session.flush()
    except SQLAlchemyError as exc:
        raise translate(exc) from exc
    return ApplyResult(pdus, machines, outlets)


def _pdu_fields(config: PduConfig) -> dict[str, Any]:
    return {
        "host": config.host,
        "port": config.port,
        "profile": config.profile_name,
        "snmp_version": config.version,
    }


async def _apply_pdus(session: AsyncSession, inventory: Inventory) -> Changes:
    wanted = {name: _pdu_fields(config) for name, config in inventory.pdus.items()}
    keys = ("host", "port", "profile", "snmp_version")
    return await _reconcile(session, Pdu, await _stored(session, Pdu, keys), wanted)


async def _apply_machines(session: AsyncSession, inventory: Inventory) -> Changes:
    wanted = {name: {"rrd": config.rrd} for name, config in inventory.machines.items()}
    return await _reconcile(session, Machine, await _stored(session, Machine, ("rrd",)), wanted)


async def _stored(
    session: AsyncSession, model: type[Pdu] | type[Machine], keys: tuple[str, ...]
) -> dict[str, Any]:
    """Stored rows by name: id, retired_at and the ``keys`` columns, as Core rows."""
    columns = [model.id, model.name, model.retired_at, *(getattr(model, k) for k in keys)]
    return {row.name: row for row in await session.execute(select(*columns))}


async def _reconcile(
    session: AsyncSession,
    model: type[Pdu] | type[Machine],
    stored: dict[str, Any],
    wanted: dict[str, dict[str, Any]],
) -> Changes:
    """Add, update, retire and restore rows of ``model`` so that ``stored`` matches ``wanted``."""
    added, changed, retired, restored = [], [], [], []
    now = utc_now()
    new: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []  # rows kept or restored: every wanted value, not retired
    for name, values in sorted(wanted.items()):
        row = stored.get(name)
        if row is None:
            new.append({"name": name, "created_at": now, **values})
            added.append(name)
            continue
        differs = any(getattr(row, key) != value for key, value in values.items())
        if row.retired_at is not None:
            restored.append(name)
        if differs:
            changed.append(name)
        if differs or row.retired_at is not None:
            updates.append({"id": row.id, "retired_at": None, **values})
    gone: list[dict[str, Any]] = []
    for name, row in sorted(stored.items()):
        if name not in wanted and row.retired_at is None:
            gone.append({"id": row.id, "retired_at": now})
            retired.append(name)
    for rows in (updates, gone):
        if rows:  # ORM bulk UPDATE by primary key: one executemany
            await session.execute(update(model), rows)
    await _insert(session, model, new)
    return Changes(tuple(added), tuple(changed), tuple(retired), tuple(restored))


async def _apply_outlets(session: AsyncSession, inventory: Inventory) -> tuple[OutletRemap, ...]:
    """Create the outlets machines.toml names; map each to its machine, unmap the rest."""
    await session.flush()  # the updates above, before reading the mapping back
    pdu_ids = {name: pid for pid, name in await session.execute(select(Pdu.id, Pdu.name))}
    machines = {name: mid for mid, name in await session.execute(select(Machine.id, Machine.name))}
    machine_names = {mid: name for name, mid in machines.items()}
    query = select(Outlet.id, Outlet.machine_id, Outlet.label, Pdu.name).join(Pdu)
    stored = {(pdu, label): (oid, mid) for oid, mid, label, pdu in await session.execute(query)}
    wanted = inventory.outlet_map()
    remaps: list[OutletRemap] = []
    new: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    for (pdu, label), machine in wanted.items():
        outlet = stored.get((pdu, label))
        if outlet is None:
            new.append({"pdu_id": pdu_ids[pdu], "label": label, "machine_id": machines[machine]})
            remaps.append(OutletRemap(pdu, label, None, machine))
        elif outlet[1] != machines[machine]:
            old = machine_names.get(outlet[1]) if outlet[1] else None
            moved.append({"id": outlet[0], "machine_id": machines[machine]})
            remaps.append(OutletRemap(pdu, label, old, machine))
    for key, (oid, mid) in stored.items():
        if key not in wanted and mid is not None:
            remaps.append(OutletRemap(*key, machine_names[mid], None))
            moved.append({"id": oid, "machine_id": None})
    if moved:
        await session.execute(update(Outlet), moved)
    await _insert(session, Outlet, new)
    if moved or new:
        await outlet_map_changed(session)  # writers that kept the outlets read them again
    return tuple(sorted(remaps, key=_remap_order))


async def _insert(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    # One Core executemany: ORM objects would be inserted one statement per row on SQLite
    # (the ORM fetches each new id), tens of seconds for a thousand-PDU inventory.
    if rows:
        await session.execute(insert(model), rows)


def _remap_order(remap: OutletRemap) -> tuple[str, tuple[int, str, int, int]]:
    return (remap.pdu, outlet_sort_key(remap.label))
