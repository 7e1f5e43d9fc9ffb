"""Closing the due hours a few steps per cycle, so that no cycle carries a large site's
whole close (10,000 PDUs: ~35 s of CPU on SQLite, ~86 s on PostgreSQL for one hour).

A close is :func:`powermond.db.rollups.recompute`'s statements cut where they already are
cut (:class:`~powermond.db.rollups.Step`: ``power_hourly`` by outlet id ranges, each peak
table by windows of whole cycles), then the ``outlet_last_hour`` raise and the removal of
the hours' ``open_hour`` marks. After each cycle's write (``collect.store``), a
:class:`Closer` runs steps, each in a transaction of its own under the cycle lock (other
collectors sharing the database write in between), until it has read about its budget of
readings: :data:`CLOSE_READINGS`, or a :data:`CLOSE_CYCLES`-th of the close when that is
more, and always at least one step. A close that fits its budget whole is run as before:
one transaction, after the cycle that made the hours due.

Where a close stands is kept in ``close_progress`` (migration 0016), written with each
step, so a restart or another collector continues it. Its hours stay *open* until the last
step: readers take them from the raw readings, whatever rows the steps have written so
far. A write that reopens any of them deletes the progress (``rollups._mark_open``), and
so does a close of them whole (``recompute``: retention, the daily close): the close then
starts again from its first step, with its rows read anew.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db import schema
from powermond.db.daily import POWER, reopen
from powermond.db.open_hours import runs
from powermond.db.rollups import (
    Plan,
    due_hours,
    plan_close,
    raise_last_hours,
    reach,
    recompute,
    run_steps,
)
from powermond.db.types import HOUR_S

#: Readings a cycle's close reads at least, if it has them to read: a 1,000-PDU hour's
#: close (~1.8 million: its 570,000 readings read once for ``power_hourly`` and once for
#: each peak table) fits, and is run whole after the cycle that makes it due, as before.
CLOSE_READINGS = 2_000_000
#: A larger close is spread over about this many cycles (half an hour at 300 s: done well
#: before the next hour is due, with room for a restart).
CLOSE_CYCLES = 6

_progress = schema.close_progress
_c = _progress.c


class Progress(NamedTuple):
    """``close_progress``' row: the hours ``[first_hour, end_hour)`` being closed, the
    attempt's ``token``, and where its steps stand (``part``, ``done``)."""

    first_hour: int
    end_hour: int
    token: int
    part: int
    done: int


async def progress(session: AsyncSession) -> Progress | None:
    """The close in steps under way, if any."""
    row = (await session.execute(select(_progress).order_by(_c.first_hour).limit(1))).first()
    return None if row is None else Progress(*(int(v) for v in row))


class Closer:
    """One caller's share of closing the due hours: :meth:`step` runs the next step (the
    caller holds the cycle lock, in a transaction of its own for each) while the budget
    lasts. ``budget``: readings (``None``: set by the first close it steps, as above)."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = budget
        self.spent = 0  # readings read so far
        self.steps = 0  # steps run (a whole close is one)
        self.closed = 0  # hours closed
        self._plan: Plan | None = None
        self._token: int | None = None

    async def step(self, session: AsyncSession) -> bool:
        """Run the next step; ``False`` when this caller is done: its budget is spent or
        nothing is due (and then nothing ran)."""
        found = await progress(session)
        if found is None:
            return await self._start(session)
        plan = self._plan
        if plan is None or found.token != self._token:  # another writer's attempt
            plan = await self._planned(session, found.first_hour, found.end_hour)
        self._plan, self._token = plan, found.token
        self._budget_for(plan)
        return await self._continue(session, plan, found)

    async def _start(self, session: AsyncSession) -> bool:
        due = await due_hours(session)
        if not due:
            return False
        a, b = runs(due)[0]
        plan = await self._planned(session, a, b)
        whole = plan.readings()
        self._budget_for(plan)
        assert self.budget is not None
        if self.spent + whole <= self.budget or await _pruned(session, a):
            await recompute(session, _dt(a), _dt(b))  # as before: the close in one go
            self.spent += whole
            self.steps += 1
            self.closed += b - a
            self._plan = None
            return self.spent < self.budget
        if self.steps and self.spent + plan.steps()[0].readings > self.budget:
            return False  # the next cycle starts it
        self._plan, self._token = plan, secrets.randbits(62)
        return await self._continue(session, plan, None)

    async def _continue(self, session: AsyncSession, plan: Plan, at: Progress | None) -> bool:
        """The step of ``plan`` after ``at`` (``None``: its first), or its last: the
        ``outlet_last_hour`` raise and closing its hours."""
        assert self.budget is not None
        assert self._token is not None
        left = plan.steps() if at is None else plan.steps(at.part, at.done)
        if not left:
            if self.steps and self.spent + plan.last_readings() > self.budget:
                return False
            self.spent += plan.last_readings()
            await raise_last_hours(session, plan.dialect, plan.h0, plan.h1)
            await session.execute(delete(_progress).where(_c.first_hour == plan.h0))
            await session.execute(
                delete(schema.open_hour).where(
                    schema.open_hour.c.hour >= plan.h0, schema.open_hour.c.hour < plan.h1
                )
            )
            self.steps += 1
            self.closed += plan.h1 - plan.h0
            self._plan = None
            return self.spent < self.budget
        step = left[0]
        if self.steps and self.spent + step.readings > self.budget:
            return False
        await reopen(session, POWER, _dt(plan.h0), _dt(plan.h1 - 1))
        await run_steps(session, [step])
        values = {"token": self._token, "part": step.part, "done": step.done}
        if at is None:
            row = {"first_hour": plan.h0, "end_hour": plan.h1, **values}
            await session.execute(insert(_progress).values(**row))
        else:
            moved = update(_progress).where(_c.first_hour == plan.h0).values(**values)
            await session.execute(moved)
        self.spent += step.readings
        self.steps += 1
        return True

    def _budget_for(self, plan: Plan) -> None:
        if self.budget is None:
            self.budget = max(CLOSE_READINGS, -(-plan.readings() // CLOSE_CYCLES))

    async def _planned(self, session: AsyncSession, h0: int, h1: int) -> Plan:
        dialect = session.get_bind().dialect.name
        return await plan_close(session, h0, h1, await reach(session), dialect)


async def _pruned(session: AsyncSession, h0: int) -> bool:
    """Whether retention pruned readings from hour ``h0`` (``recompute`` keeps such hours'
    rollups: closed whole, at no cost)."""
    from powermond.db.retention import pruned_before

    horizon = await pruned_before(session)
    return horizon is not None and int(horizon.timestamp()) > h0 * HOUR_S


def _dt(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * HOUR_S, UTC)
