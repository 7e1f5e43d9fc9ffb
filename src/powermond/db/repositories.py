"""Repositories: queries in the operator's words. Each takes a session and never commits.

The unit of work (``Database.transaction()``) belongs to the job that calls them. Errors leave
as :mod:`powermond.db.errors` types. Here the writers (a cycle's readings, load samples);
those that only read PDUs, machines, outlets and a machine's readings are in
:mod:`powermond.db.catalog`, and exported here too.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import attrgetter

from sqlalchemy import BigInteger, Integer, column, func, select, table, update

from powermond.db import schema
from powermond.db.bulk import insert_ignore, insert_rows, stored_keys
from powermond.db.catalog import (
    MachineReadings,
    MachineRepository,
    OutletRepository,
    PduRepository,
    in_range,
)
from powermond.db.errors import UnknownMachine, UnknownPdu
from powermond.db.outlet_map import NO_MACHINE, OutletIds, OutletMap, kept_outlets
from powermond.db.reading_rows import batch_rows
from powermond.db.repository_base import Repository, chunked, translated
from powermond.db.rows import (
    LoadRow,
    MachineRow,
    OutletRow,
    PduRow,
    ReadingRow,
    StoredCycle,
    outlet_sort_key,
    stored_time,
)
from powermond.readings import LoadSample, OutletReading, OutletReadings

__all__ = [
    "LoadRepository",
    "MachineReadings",
    "MachineRepository",
    "MachineRow",
    "OutletRepository",
    "OutletRow",
    "PduRepository",
    "PduRow",
    "ReadingRepository",
    "ReadingRow",
    "UnknownMachine",
    "UnknownPdu",
    "outlet_sort_key",
]

READING_NAMES = ("cycle", "outlet_id", "machine_id", "watts", "amps", "energy_kwh")
READING_KEY = ("outlet_id", "cycle")
# The readings as a writer binds them: raw integers (epoch seconds, thousandths), which the
# declared types (ReadingTime, Milli) would otherwise convert value by value. The cycle binds
# as an INTEGER, as ReadingTime does on PostgreSQL: a time past 2038 is refused there.
_RAW_READING = table(
    "power_reading",
    *(column(name, Integer) for name in ("cycle", "outlet_id", "machine_id", "watts", "amps")),
    column("energy_kwh", BigInteger),
)
PDUS_PER_BATCH = 100  # PDUs whose readings one batch of a cycle's write holds
# Short names: the tables' columns (schema.py).
_pdu, _machine, _outlet = schema.pdu.c, schema.machine.c, schema.outlet.c

_translated = translated
_Repository = Repository


class ReadingRepository(_Repository):
    @_translated
    async def add_cycle_many(
        self, cycle: datetime, readings_by_pdu: Mapping[str, Sequence[OutletReading]]
    ) -> StoredCycle:
        """Store every PDU's readings of one cycle, in a constant number of statements;
        return the rows that were new (the rollups add only those).

        Outlets a PDU reports but nobody configured are created unmapped. Each reading gets
        the machine its outlet feeds *now*, so a later remap leaves history where it was.
        A replayed cycle stores nothing twice.

        Locks the PDUs' rows first (PDU id order, so writers cannot deadlock): two writers of
        the same PDUs then run one after the other, and each sees which readings the other
        stored, which the rollups rely on. Raises :class:`UnknownPdu` (nothing stored).
        """
        wanted = {pdu: rows for pdu, rows in readings_by_pdu.items() if rows}
        stored = StoredCycle(stored_time(cycle))
        if not wanted:
            return stored
        pdu_ids = await self._lock_pdus(sorted(wanted))
        unknown = sorted(wanted.keys() - pdu_ids.keys())
        if unknown:
            raise UnknownPdu(unknown[0])
        # Under the PDUs' locks nobody else adds these outlets' readings of the cycle.
        present = await stored_keys(
            self.session, schema.power_reading, READING_KEY, {"cycle": stored.cycle}
        )
        kept = await kept_outlets(self.session)
        # A batch of PDUs at a time: their outlets, rows and insert, then the next, so a
        # 1,000-PDU cycle never holds all its rows (and outlets) at once.
        for batch in chunked(builtins.list(wanted), PDUS_PER_BATCH):
            by_id = {pdu_ids[p]: _columns(wanted[p]) for p in batch}
            await self._add_batch(stored, by_id, present, kept)
        return stored

    async def _add_batch(
        self,
        stored: StoredCycle,
        columns: Mapping[int, Columns],
        present: set[int],
        kept: tuple[OutletMap, int | None],
    ) -> None:
        outlets = await self._resolve(columns, *kept)
        # The batch's columns, PDU after PDU, made rows of the integers stored (no type
        # conversion per value) by batch_rows, column-wise.
        pdus = [(*outlets[pdu_id], w, a, e) for pdu_id, (_, w, a, e) in columns.items()]
        del outlets
        rows = batch_rows(int(stored.cycle.timestamp()), pdus, present)
        del pdus
        stored.added += len(rows)
        await insert_rows(self.session, _RAW_READING, READING_NAMES, rows, READING_KEY, new=True)

    async def _resolve(
        self, columns: Mapping[int, Columns], kept: OutletMap, version: int | None
    ) -> dict[int, OutletColumns]:
        """Each PDU's outlet ids and machine ids now, per reading in the readings' order: kept
        from an earlier cycle, else read (and kept); outlets nobody configured are created
        unmapped."""
        found: dict[int, OutletColumns] = {}
        unknown: builtins.list[int] = []
        for pdu_id, (labels, *_) in columns.items():
            outlets = kept.columns(version, pdu_id, labels)
            if outlets is None:
                unknown.append(pdu_id)
            else:
                found[pdu_id] = outlets
        if not unknown:
            return found
        stored = await self._outlets_of(unknown)
        missing = [
            (pdu_id, label)
            for pdu_id in unknown
            for label in sorted(set(columns[pdu_id][0]) - stored.get(pdu_id, {}).keys())
        ]
        if missing:
            new_outlets = [{"pdu_id": pdu_id, "label": label} for pdu_id, label in missing]
            await insert_ignore(self.session, schema.outlet, new_outlets, ("pdu_id", "label"))
            await self._outlets_of(sorted({pdu_id for pdu_id, _ in missing}), stored)
        added = {pdu_id for pdu_id, _ in missing}  # not kept: this transaction may roll back
        for pdu_id in unknown:
            labels, mine = columns[pdu_id][0], stored[pdu_id]
            ids = [mine[label] for label in labels]
            found[pdu_id] = [i for i, _ in ids], [NO_MACHINE if m is None else m for _, m in ids]
            if pdu_id not in added:
                kept.put(version, pdu_id, mine, labels)
        return found

    async def _lock_pdus(self, names: Sequence[str]) -> dict[str, int]:
        # FOR NO KEY UPDATE on PostgreSQL (outlets may still be added meanwhile). SQLite has
        # no row locks: an UPDATE that matches nothing takes its one writer lock right away.
        if self.session.get_bind().dialect.name == "sqlite":
            nothing = update(schema.pdu).where(_pdu.id.is_(None)).values(id=_pdu.id)
            await self.session.execute(nothing)
        ids: dict[str, int] = {}
        for chunk in chunked(names):
            stmt = select(_pdu.name, _pdu.id).where(_pdu.name.in_(chunk)).order_by(_pdu.id)
            found = await self.session.execute(stmt.with_for_update(key_share=True))
            ids.update(found.tuples().all())
        return ids

    async def _outlets_of(
        self, pdu_ids: Sequence[int], known: dict[int, dict[str, OutletIds]] | None = None
    ) -> dict[int, dict[str, OutletIds]]:
        """pdu id -> label -> (outlet id, machine id now) of every outlet of the PDUs, added
        to ``known`` (which is returned)."""
        outlets = {} if known is None else known
        o = _outlet
        stmt = select(o.pdu_id, o.label, o.id, o.machine_id)
        for chunk in chunked(pdu_ids):
            # Core rows of the table's columns: no ORM result loading (~5 µs a row)
            found = await self.session.execute(stmt.where(o.pdu_id.in_(chunk)))
            for pdu_id, label, oid, mid in found.tuples().all():  # fetchall: not row by row
                mine = outlets.get(pdu_id)
                if mine is None:
                    mine = outlets[pdu_id] = {}
                mine[label] = (oid, mid)
        return outlets

    async def between(
        self, machine: str, since: datetime, until: datetime
    ) -> builtins.list[ReadingRow]:
        """:meth:`MachineReadings.between`, in this session."""
        return await MachineReadings(self.session).between(machine, since, until)


# A reading as inserted: cycle (epoch s), outlet id, machine id, mW, mA, Wh.
Row = tuple[int, int, int | None, int | None, int | None, int | None]
OutletColumns = tuple[Sequence[int], Sequence[int]]  # outlet ids, machine ids (or NO_MACHINE)
Columns = tuple[
    Sequence[str], Sequence[float | None], Sequence[float | None], Sequence[float | None]
]


def _columns(readings: Sequence[OutletReading]) -> Columns:
    """A PDU's readings as columns (labels, watts, amps, kWh; None or NaN: no value), the
    last of an outlet read twice only: one executemany must not carry the same key twice
    (PostgreSQL's ON CONFLICT refuses it)."""
    if isinstance(readings, OutletReadings):
        found: Columns = readings.columns()
    else:
        found = (
            tuple(map(_LABEL, readings)),
            builtins.list(map(_WATTS, readings)),
            builtins.list(map(_AMPS, readings)),
            builtins.list(map(_ENERGY, readings)),
        )
    labels = found[0]
    if len(set(labels)) == len(labels):
        return found
    last = sorted({label: i for i, label in enumerate(labels)}.values())
    labels, watts, amps, energy = found
    return (
        [labels[i] for i in last],
        [watts[i] for i in last],
        [amps[i] for i in last],
        [energy[i] for i in last],
    )


_LABEL, _WATTS = attrgetter("outlet"), attrgetter("watts")
_AMPS, _ENERGY = attrgetter("amps"), attrgetter("energy_kwh")


class LoadRepository(_Repository):
    @_translated
    async def add_many(self, rows: Sequence[LoadRow]) -> int:
        """Store samples of many machines (by id, from ``MachineRepository.ids``) at once,
        skipping (machine, time) pairs already stored; count new rows."""
        return await insert_ignore(
            self.session, schema.cpu_load, [r._asdict() for r in rows], ("machine_id", "time")
        )

    @_translated
    async def last_times(self) -> dict[str, datetime]:
        """Each machine's latest load time (machines without samples are absent).

        One index seek per machine in one round trip; a GROUP BY would scan the whole table,
        which grows by ~1.4 M rows a day at 5,000 machines.
        """
        load = schema.cpu_load.c
        latest = select(func.max(load.time)).where(load.machine_id == _machine.id)
        found = await self.session.execute(select(_machine.name, latest.scalar_subquery()))
        return {name: time for name, time in found if time is not None}

    @_translated
    async def between(
        self, name: str, since: datetime, until: datetime
    ) -> builtins.list[LoadSample]:
        """The machine's samples with ``since <= time < until``, in time order."""
        load = schema.cpu_load.c
        stmt = (
            select(load.time, load.load1, load.load5, load.load15)
            .join_from(schema.cpu_load, schema.machine)
            .where(_machine.name == name, in_range(load.time, since, until))
            .order_by(load.time)
        )
        return [LoadSample(*row) for row in await self.session.execute(stmt)]
