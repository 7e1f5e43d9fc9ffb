"""The stored PDUs, machines and outlets, and a machine's readings: the repositories that
only read (:class:`~powermond.db.repository_base.CoreRepository`: Core statements over
:mod:`powermond.db.schema`), for the daemon and the read-only commands (``pdus``,
``machines``, ``outlets``, ``power``) alike. :mod:`powermond.db.repositories` has the writers
and exports these too; the commands import this module, which needs none of the writers'
modules (bulk writes, the outlet map, readings).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, select, type_coerce
from sqlalchemy.engine import Row as Stored

from powermond.db import schema
from powermond.db.latest import (
    newest,
    pairs_per_statement,
    reading_times,
    times_and_outlets,
)
from powermond.db.open_hours import open_hours, runs
from powermond.db.repository_base import CoreRepository, chunked, translated
from powermond.db.rows import MachineRow, OutletRow, PduRow, ReadingRow, outlet_sort_key
from powermond.db.types import HOUR_S, range_bound

__all__ = [
    "MachineReadings",
    "MachineRepository",
    "OutletRepository",
    "PduRepository",
    "in_range",
]

_HOUR = timedelta(hours=1)
# Short names: the tables' columns.
_pdu, _machine, _outlet = schema.pdu.c, schema.machine.c, schema.outlet.c
_reading = schema.power_reading.c
_translated = translated


def _retired_filter(column: Any, include_retired: bool) -> Any:
    return True if include_retired else column.is_(None)


class PduRepository(CoreRepository):
    @_translated
    async def list(self, include_retired: bool = False) -> builtins.list[PduRow]:
        stmt = select(schema.pdu).where(_retired_filter(_pdu.retired_at, include_retired))
        rows = (await self.session.execute(stmt.order_by(_pdu.name))).all()
        return [_pdu_row(p) for p in rows]

    @_translated
    async def get(self, name: str) -> PduRow | None:
        found = (await self.session.execute(select(schema.pdu).where(_pdu.name == name))).first()
        return None if found is None else _pdu_row(found)


def _pdu_row(p: Stored[Any]) -> PduRow:
    return PduRow(p.name, p.host, p.port, p.profile, p.snmp_version, p.created_at, p.retired_at)


class MachineRepository(CoreRepository):
    @_translated
    async def list(self, include_retired: bool = False) -> builtins.list[MachineRow]:
        stmt = select(schema.machine).where(_retired_filter(_machine.retired_at, include_retired))
        machines = (await self.session.execute(stmt.order_by(_machine.name))).all()
        feeds = await self._feeds()
        return [_machine_row(m, feeds.get(m.id, ())) for m in machines]

    @_translated
    async def get(self, name: str) -> MachineRow | None:
        stmt = select(schema.machine).where(_machine.name == name)
        found = (await self.session.execute(stmt)).first()
        if found is None:
            return None
        feeds = await self._feeds(found.id)
        return _machine_row(found, feeds.get(found.id, ()))

    @_translated
    async def ids(self) -> dict[str, int]:
        """Every machine's id by name, retired ones included (bulk writers key rows by id)."""
        found = await self.session.execute(select(_machine.name, _machine.id))
        return dict(found.tuples().all())

    async def _feeds(self, machine_id: int | None = None) -> dict[int, builtins.list[str]]:
        """machine id -> its currently mapped outlets as ``pdu:label``, in PDU order."""
        stmt = (
            select(_outlet.machine_id, _pdu.name, _outlet.label)
            .join_from(schema.outlet, schema.pdu, _pdu.id == _outlet.pdu_id)
            .where(_outlet.machine_id.is_not(None))
        )
        if machine_id is not None:
            stmt = stmt.where(_outlet.machine_id == machine_id)
        rows = sorted(
            (await self.session.execute(stmt)).all(), key=lambda r: _by_outlet(r[1], r[2])
        )
        feeds: dict[int, builtins.list[str]] = {}
        for owner, pdu, label in rows:
            feeds.setdefault(owner, []).append(f"{pdu}:{label}")
        return feeds


def _by_outlet(pdu: str, label: str) -> tuple[str, tuple[int, str, int, int]]:
    return (pdu, outlet_sort_key(label))


def _machine_row(m: Stored[Any], outlets: Sequence[str]) -> MachineRow:
    return MachineRow(m.name, m.rrd, tuple(outlets), m.created_at, m.retired_at)


class OutletRepository(CoreRepository):
    @_translated
    async def list_for_pdu(self, pdu_name: str) -> builtins.list[OutletRow]:
        """Every stored outlet of the PDU with its machine and latest reading."""
        # The readings have no index by outlet (migrations 0013-0015): each outlet's newest
        # reading time comes from powermond.db.latest.newest, its watts by key (cycle,
        # outlet_id).
        stmt = (
            select(_outlet.id, _outlet.label, _machine.name)
            .join_from(schema.outlet, schema.pdu, _pdu.id == _outlet.pdu_id)
            .outerjoin(schema.machine, _machine.id == _outlet.machine_id)
            .where(_pdu.name == pdu_name)
        )
        outlets = (await self.session.execute(stmt)).all()
        times = await newest(self.session, [outlet_id for outlet_id, *_ in outlets])
        watts: dict[int, Any] = {}
        for at in set(times.values()):
            ids = [o for o, t in times.items() if t == at]
            for chunk in chunked(ids):
                found = select(_reading.outlet_id, _reading.watts).where(
                    type_coerce(_reading.cycle, Integer) == at, _reading.outlet_id.in_(chunk)
                )
                watts.update((await self.session.execute(found)).tuples().all())
        rows = [
            OutletRow(pdu_name, label, m, _time(times.get(o)), watts.get(o))
            for o, label, m in outlets
        ]
        return sorted(rows, key=lambda o: outlet_sort_key(o.label))


class MachineReadings(CoreRepository):
    """A machine's stored readings (``powermon power``, plots, reports' checks)."""

    @_translated
    async def between(
        self, name: str, since: datetime, until: datetime
    ) -> builtins.list[ReadingRow]:
        """The machine's readings with ``since <= time < until``, every feed, in time order.

        Readings belong to the machine their outlet fed when they were written. They are
        looked up by primary key through the outlets that fed the machine: those its hourly
        rollups name (every stored reading is tallied there under its machine once its hour
        is rolled up), those of its readings in open hours, and those mapped to it now.
        """
        stmt = select(_machine.id).where(_machine.name == name)
        machine_id = await self.session.scalar(stmt)
        if machine_id is None:
            return []
        outlet_ids = await self._outlets_that_fed(machine_id, since, until)
        found: builtins.list[ReadingRow] = []
        stmt = (
            select(
                _reading.cycle,
                _pdu.name,
                _outlet.label,
                _reading.watts,
                _reading.amps,
                _reading.energy_kwh,
            )
            .join_from(schema.power_reading, schema.outlet, _outlet.id == _reading.outlet_id)
            .join(schema.pdu, _pdu.id == _outlet.pdu_id)
            .where(_reading.machine_id == machine_id)
        )
        # Keyed (cycle, outlet_id) with no index by outlet (migrations 0013-0015): the
        # period's times, then a key seek per (time, outlet).
        cycle = type_coerce(_reading.cycle, Integer)
        s0, s1 = (int(range_bound(t).timestamp()) for t in (since, until))
        times = await reading_times(self.session, s0, s1)
        pairs = pairs_per_statement(self.session)
        for t, o in times_and_outlets(times, outlet_ids, pairs=pairs):
            part = stmt.where(cycle.in_(t), _reading.outlet_id.in_(o))
            found.extend(ReadingRow(*row) for row in await self.session.execute(part))
        return sorted(found, key=lambda r: (r.time, r.pdu, outlet_sort_key(r.outlet)))

    async def _outlets_that_fed(
        self, machine_id: int, since: datetime, until: datetime
    ) -> set[int]:
        h = schema.power_hourly.c
        hourly = (
            select(h.outlet_id)
            .distinct()
            .where(
                h.machine_id == machine_id,
                h.hour >= _hour_of(since),
                h.hour < _hour_of(until) + _HOUR,
            )
        )
        mapped = select(_outlet.id).where(_outlet.machine_id == machine_id)
        found = set((await self.session.scalars(hourly)).all())
        h0, h1 = int(_hour_of(since).timestamp()) // HOUR_S, int(until.timestamp()) // HOUR_S + 1
        cycle = type_coerce(_reading.cycle, Integer)  # as stored: epoch seconds
        for a, b in runs(await open_hours(self.session, h0, h1)):  # not rolled up yet
            fed = select(_reading.outlet_id).distinct().where(_reading.machine_id == machine_id)
            fed = fed.where(cycle >= a * HOUR_S, cycle < b * HOUR_S)
            found.update((await self.session.scalars(fed)).all())
        return found | set((await self.session.scalars(mapped)).all())


def _time(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _hour_of(time: datetime) -> datetime:
    # energy.hour_of, not imported: these reads need nothing else of energy's rules
    return time.replace(minute=0, second=0, microsecond=0)


def in_range(column: Any, since: datetime, until: datetime) -> Any:
    """``since <= column < until``, for a time column (the bounds bind as its type)."""
    return and_(column >= range_bound(since), column < range_bound(until))
