"""Which hours' power rollups are open (``open_hour``, migration 0012): written to since
they were rolled up, so readers take those hours from the raw readings. :mod:`powermond.db.
rollups` opens and closes them; this is apart from it so that the read-only commands, which
import no ORM, can ask too (``MachineReadings``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from powermond.db import schema

if TYPE_CHECKING:
    from powermond.db.repository_base import Session

#: Hours rolled up by one statement: its CASE lists the cycle times of its hours.
HOURS_PER_STATEMENT = 24

_open = schema.open_hour.c
_progress = schema.close_progress


async def open_hours(session: Session, h0: int, h1: int) -> list[int]:
    """The open hours in ``[h0, h1)`` (hours since 1970), in order."""
    stmt = select(_open.hour).where(_open.hour >= h0, _open.hour < h1)
    return sorted(int(h) for h in (await session.scalars(stmt)).all())


def runs(hours: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted ``hours`` as runs ``[a, b)`` of consecutive hours, each of at most
    :data:`HOURS_PER_STATEMENT`."""
    found: list[tuple[int, int]] = []
    for h in hours:
        if found and found[-1][1] == h and h - found[-1][0] < HOURS_PER_STATEMENT:
            found[-1] = (found[-1][0], h + 1)
        else:
            found.append((h, h + 1))
    return found


async def discard_progress(session: Session, h0: int, h1: int) -> None:
    """Void the close in steps (``close_progress``, :mod:`powermond.db.close_steps`) of any
    hours overlapping ``[h0, h1)``: their readings changed (the rows its steps wrote may be
    stale: it starts again from its first step), or they are being closed whole."""
    c = _progress.c
    await session.execute(delete(_progress).where(c.first_hour < h1, c.end_hour > h0))
