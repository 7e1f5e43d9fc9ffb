"""The outlets a cycle's writer keeps from one cycle to the next: each polled PDU's outlet
ids and the machines they feed, valid while the database's outlet map version
(``schema.outlet_map_version``) is the one they were read at.

Read back every cycle, they were 48,000 rows at 1,000 PDUs: after the insert itself the
largest part of the writer's client CPU (0.13 s of 0.60). Kept per PDU as its labels (the
readings' own tuple, shared by every PDU with the same labels) and two arrays of integers,
outlet ids and machine ids: ~0.6 kB a PDU of 48 outlets (6 MB at 10,000 PDUs, tracemalloc).
Every collector reads the version in the cycle's transaction, so an apply by any of them
(which raises it) sends every writer back to the database; outlets this process read in a
transaction that added outlets are not kept (that transaction may yet roll back).
"""

from __future__ import annotations

import weakref
from array import array
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import insert, inspect, select, update
from sqlalchemy.engine import Engine

from powermond.db.rows import outlet_sort_key
from powermond.db.schema import outlet_map_version

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

OutletIds = tuple[int, int | None]  # outlet id, machine id (None: feeds none)
NO_MACHINE = -1  # a machine id in the arrays (and in columns()): the outlet feeds none
_NONE = NO_MACHINE
_VERSION = outlet_map_version
_MAX_LABEL_SETS = 1024  # label index dicts kept (one per distinct label tuple)
KEEP_FOR = 12  # cycles (an hour at 300 s) after which the outlets are read again regardless


class OutletMap:
    """The kept outlets of one database (one engine), by PDU id."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.has_version: bool | None = None  # whether the schema has the version row's table
        self._pdus: dict[int, tuple[tuple[str, ...], array[int], array[int]]] = {}
        self._index: dict[tuple[str, ...], dict[str, int]] = {}
        self._labels: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._uses = 0

    def __len__(self) -> int:
        return len(self._pdus)

    def at(self, version: int | None) -> None:
        """The database's version now: forget every kept outlet unless it is theirs, and
        every :data:`KEEP_FOR` cycles anyway (a collector of a version before this one,
        still running after ``db upgrade``, applies without raising the version)."""
        self._uses += 1
        if version is None or version != self.version or self._uses > KEEP_FOR:
            self._pdus.clear()
            self._index.clear()
            self._labels.clear()
            self._uses = 1
        self.version = version

    def get(
        self, version: int | None, pdu_id: int, labels: Sequence[str]
    ) -> list[OutletIds] | None:
        """The outlet of each label, in order; ``None`` unless all are kept at ``version``."""
        found = self.columns(version, pdu_id, labels)
        if found is None:
            return None
        return [(o, None if m == _NONE else m) for o, m in zip(*found, strict=True)]

    def columns(
        self, version: int | None, pdu_id: int, labels: Sequence[str]
    ) -> tuple[Sequence[int], Sequence[int]] | None:
        """:meth:`get` as two columns, outlet ids and machine ids (:data:`NO_MACHINE`: none),
        for a writer that builds its rows column-wise. Not to be changed: may be the kept
        arrays themselves."""
        if version is None or version != self.version:
            return None
        found = self._pdus.get(pdu_id)
        if found is None:
            return None
        kept, outlet_ids, machine_ids = found
        if kept is labels or kept == labels:
            return outlet_ids, machine_ids
        index = self._index_of(kept)
        try:
            positions = [index[label] for label in labels]
        except KeyError:
            return None
        return [outlet_ids[i] for i in positions], [machine_ids[i] for i in positions]

    def put(
        self,
        version: int | None,
        pdu_id: int,
        outlets: Mapping[str, OutletIds],
        labels: Sequence[str] = (),
    ) -> None:
        """Keep every outlet the database has of the PDU, read at ``version`` (``labels``: the
        readings' labels, whose tuple is shared when it names the same outlets)."""
        if version is None or version != self.version:
            return
        if (
            isinstance(labels, tuple)
            and len(labels) == len(outlets)
            and set(labels) == outlets.keys()
        ):
            order = labels
        else:  # shared by every PDU with the same outlets
            order = tuple(sorted(outlets, key=outlet_sort_key))
            if len(self._labels) >= _MAX_LABEL_SETS and order not in self._labels:
                self._labels.clear()
            order = self._labels.setdefault(order, order)
        ids = [outlets[label] for label in order]
        outlet_ids = array("i", [outlet_id for outlet_id, _ in ids])
        machine_ids = array("i", [_NONE if m is None else m for _, m in ids])
        self._pdus[pdu_id] = (order, outlet_ids, machine_ids)

    def _index_of(self, labels: tuple[str, ...]) -> dict[str, int]:
        index = self._index.get(labels)
        if index is None:
            if len(self._index) >= _MAX_LABEL_SETS:
                self._index.clear()
            index = self._index[labels] = {label: i for i, label in enumerate(labels)}
        return index


_MAPS: weakref.WeakKeyDictionary[Engine, OutletMap] = weakref.WeakKeyDictionary()


async def outlet_map_of(session: AsyncSession) -> OutletMap:
    """This process's kept outlets of the session's database (one per engine)."""
    bind = session.get_bind()
    assert isinstance(bind, Engine)
    kept = _MAPS.setdefault(bind, OutletMap())
    if kept.has_version is None:  # once per engine: a schema before revision 0011 has none
        connection = await session.connection()
        kept.has_version = await connection.run_sync(
            lambda sync: inspect(sync).has_table(_VERSION.name)
        )
    return kept


async def kept_outlets(session: AsyncSession) -> tuple[OutletMap, int | None]:
    """This process's kept outlets of the session's database, made valid for the version the
    session reads now (``None``: the database has no version; nothing is kept)."""
    kept = await outlet_map_of(session)
    version = None
    if kept.has_version:
        found = await session.scalar(select(_VERSION.c.version).where(_VERSION.c.id == 1))
        version = None if found is None else int(found)
    kept.at(version)
    return kept, version


async def outlet_map_changed(session: AsyncSession) -> None:
    """Raise the outlet map's version (in the transaction that changed the mapping): every
    writer that kept outlets reads them again."""
    if not (await outlet_map_of(session)).has_version:
        return
    stmt = update(_VERSION).where(_VERSION.c.id == 1).values(version=_VERSION.c.version + 1)
    if not (await session.execute(stmt)).rowcount:  # type: ignore[attr-defined]
        # A schema made without the migrations: the row starts here (under the config lock).
        await session.execute(insert(_VERSION).values(id=1, version=1))
