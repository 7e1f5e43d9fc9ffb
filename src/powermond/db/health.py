"""Stored PDU health (table ``pdu_health``, migration 0004): one row per PDU, replaced by
every cycle that polls it (daemon and ``powermon poll``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from powermond.collect.health import STATES, HealthBook, PduHealthState, State
from powermond.db import schema
from powermond.db.errors import translate
from powermond.db.repository_base import CoreRepository
from powermond.db.schema import ERROR_LENGTH
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
        """Replace the rows of ``states``' PDUs; PDUs the database does not know are skipped
        (their readings cannot be stored either). Returns the rows written."""
        if not states:
            return 0
        try:
            return await self._save(states)
        except Exception as exc:
            raise translate(exc) from exc

    async def _save(self, states: Sequence[PduHealthState]) -> int:
        names = [s.pdu for s in states]
        found = await self.session.execute(select(_pdu.name, _pdu.id).where(_pdu.name.in_(names)))
        ids = dict(found.tuples().all())
        rows = [_row(ids[s.pdu], s) for s in states if s.pdu in ids]
        if not rows:
            return 0
        table = schema.pdu_health
        await self.session.execute(delete(table).where(_health.pdu_id.in_(list(ids.values()))))
        await self.session.execute(insert(table), rows)
        return len(rows)


def _row(pdu_id: int, s: PduHealthState) -> dict[str, object]:
    return {
        "pdu_id": pdu_id,
        "state": s.state,
        "since": s.since,
        "checked": s.checked,
        "last_success": s.last_success,
        "last_error": s.last_error[:ERROR_LENGTH] if s.last_error else None,
        "failures": s.failures,
        "walk_seconds": s.walk_seconds,
    }


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
