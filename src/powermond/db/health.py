"""Stored PDU health (table ``pdu_health``, migration 0004): one row per PDU, replaced by
every cycle that polls it (daemon and ``powermon poll``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from powermond.collect.health import STATES, HealthBook, PduHealthState, State
from powermond.db import schema
from powermond.db.bulk import dialect_insert, executemany
from powermond.db.errors import translate
from powermond.db.repository_base import CoreRepository, chunked
from powermond.db.schema import ERROR_LENGTH, MARIADB
from powermond.errors import PowermonError

if TYPE_CHECKING:  # `powermon pdus` reads health without the daemon's engine (asyncio, ORM)
    from sqlalchemy.engine import Row

    from powermond.collect.cycle import CycleResult
    from powermond.db.engine import Database

log = logging.getLogger(__name__)
_pdu, _health = schema.pdu.c, schema.pdu_health.c


class HealthRecorder:
    """A :class:`HealthBook` kept in the database: seeded from it, written after each cycle.

    While the database is away the book goes on in memory, and the next cycle that reaches
    the database writes every PDU's current state.
    """

    def __init__(self, db: Database, book: HealthBook | None = None) -> None:
        self.db = db
        self.book = book or HealthBook()

    async def record(self, result: CycleResult, *, store: bool = True) -> list[PduHealthState]:
        """Apply ``result`` to the book and write it (``store=False``: the database is known
        to be away this cycle, so the book only goes on in memory)."""
        if not store:
            return self.book.observe(result)
        if not self.book.seeded:
            try:
                async with self.db.transaction() as session:
                    self.book.seed(await HealthRepository(session).states())
            except PowermonError as exc:
                log.debug("PDU health not read from the database: %s", exc)
        changed = self.book.observe(result)
        try:
            async with self.db.transaction() as session:
                await HealthRepository(session).save(changed)
        except PowermonError as exc:  # the readings path reports the outage itself
            log.debug("PDU health not stored: %s", exc)
        return changed


class HealthRepository(CoreRepository):
    """Reads and writes ``pdu_health`` in the caller's transaction."""

    async def states(self, include_retired: bool = False) -> dict[str, PduHealthState]:
        """Stored states by PDU name (retired PDUs only when asked)."""
        stmt = select(_pdu.name.label("pdu_name"), schema.pdu_health)
        stmt = stmt.join_from(schema.pdu_health, schema.pdu, _pdu.id == _health.pdu_id)
        if not include_retired:
            stmt = stmt.where(_pdu.retired_at.is_(None))
        try:
            rows = (await self.session.execute(stmt)).all()
        except Exception as exc:
            raise translate(exc) from exc
        return {row.pdu_name: _state(row.pdu_name, row) for row in rows}

    async def save(self, states: Sequence[PduHealthState]) -> int:
        """Write the rows of ``states``' PDUs (each replaces its PDU's row, if any); PDUs the
        database does not know are skipped (their readings cannot be stored either).
        Returns the rows written."""
        if not states:
            return 0
        try:
            return await self._save(states)
        except Exception as exc:
            raise translate(exc) from exc

    async def _save(self, states: Sequence[PduHealthState]) -> int:
        from sqlalchemy.ext.asyncio import AsyncSession  # writes: the daemon's units of work

        session = self.session
        assert isinstance(session, AsyncSession)
        ids: dict[str, int] = {}
        for names in chunked([s.pdu for s in states]):
            found = await session.execute(select(_pdu.name, _pdu.id).where(_pdu.name.in_(names)))
            ids.update(found.tuples().all())
        rows = [_row(ids[s.pdu], s) for s in states if s.pdu in ids]
        if rows:
            stmt = _replacing(session.get_bind().dialect.name)
            await executemany(session, stmt, rows, names=COLUMNS)
        return len(rows)


#: ``pdu_health``'s columns, in the order :func:`_row` gives them.
COLUMNS = (
    "pdu_id", "state", "since", "checked", "last_success", "last_error", "failures",
    "walk_seconds",
)  # fmt: skip


def _replacing(dialect: str) -> Any:
    """An INSERT of a row per PDU that replaces the PDU's stored row: one statement per row,
    each row's values converted once (:func:`~powermond.db.bulk.executemany`). Every cycle
    writes a row for each PDU it polled, each changed (``checked`` at least): a DELETE of
    them all and SQLAlchemy's INSERT of each anew cost 0.33-0.35 s of CPU a 10,000-PDU cycle
    on SQLite, this 0.14 s (``bench/bench_health.py``)."""
    stmt = dialect_insert(schema.pdu_health, dialect)
    if dialect in MARIADB:
        return stmt.on_duplicate_key_update({name: stmt.inserted[name] for name in COLUMNS[1:]})
    changes = {name: stmt.excluded[name] for name in COLUMNS[1:]}
    return stmt.on_conflict_do_update(index_elements=[COLUMNS[0]], set_=changes)


def _row(pdu_id: int, s: PduHealthState) -> tuple[object, ...]:
    error = s.last_error[:ERROR_LENGTH] if s.last_error else None
    return (pdu_id, s.state, s.since, s.checked, s.last_success, error, s.failures,
            s.walk_seconds)  # fmt: skip


def _state(name: str, r: Row[Any]) -> PduHealthState:
    state: State = next((s for s in STATES if s == r.state), "down")
    return PduHealthState(
        name,
        state,
        r.since,
        r.checked,
        r.last_success,
        r.last_error,
        r.failures,
        r.walk_seconds,
    )
