"""SQLite's reads of some outlets' readings, on its key (cycle, outlet_id) with no index by
outlet (migration 0013): each costs the rows it returns and the period it asks for, never
the length of the history.

* :func:`reading_times`: the times readings have in a period, from the key itself (one
  probe per time, in SQLite's own loop: a recursive CTE), so that the readings of some
  outlets are then read as one key seek per (time, outlet): ``cycle IN (times) AND
  outlet_id IN (outlets)``. A reading whose ``cycle`` row is gone still has its time listed.
* :func:`newest`: each outlet's newest reading time. Its newest reading is in an open hour
  (``open_hour``), or after the newest hour any close recorded, or in the hour
  ``outlet_last_hour`` holds for it (raised by every close, ``db.rollups``): the newest
  times are probed first, each for the outlets not found yet (a cycle stores nearly all
  outlets, so a live site is done after one), then the hour of each outlet still missing.

The servers keep their outlet-major paths (PostgreSQL's primary key, MariaDB's secondary
index); these functions are for SQLite only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, text

from powermond.db.repository_base import chunked
from powermond.db.types import HOUR_S

if TYPE_CHECKING:
    from powermond.db.repository_base import Session

__all__ = ["newest", "reading_times", "times_and_outlets"]

_END = 2**62  # past any stored time

_ASCENDING = text(
    "WITH RECURSIVE t(at) AS ("
    " SELECT min(cycle) FROM power_reading WHERE cycle >= :s0 AND cycle < :s1"
    " UNION ALL SELECT (SELECT min(cycle) FROM power_reading WHERE cycle > t.at AND cycle < :s1)"
    " FROM t WHERE t.at IS NOT NULL"
    ") SELECT at FROM t WHERE at IS NOT NULL LIMIT :n"
)
_DESCENDING = text(
    "WITH RECURSIVE t(at) AS ("
    " SELECT max(cycle) FROM power_reading WHERE cycle >= :s0 AND cycle < :s1"
    " UNION ALL SELECT (SELECT max(cycle) FROM power_reading WHERE cycle < t.at AND cycle >= :s0)"
    " FROM t WHERE t.at IS NOT NULL"
    ") SELECT at FROM t WHERE at IS NOT NULL LIMIT :n"
)
_AT = text(
    "SELECT outlet_id FROM power_reading WHERE cycle = :at AND outlet_id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_NEWEST_IN = text(
    "SELECT outlet_id, max(cycle) FROM power_reading"
    " WHERE cycle IN :times AND outlet_id IN :ids GROUP BY outlet_id"
).bindparams(bindparam("times", expanding=True), bindparam("ids", expanding=True))
_LAST_HOURS = text(
    "SELECT outlet_id, hour FROM outlet_last_hour WHERE outlet_id IN :ids"
).bindparams(bindparam("ids", expanding=True))


async def reading_times(
    session: Session, s0: int, s1: int, *, descending: bool = False, limit: int = -1
) -> list[int]:
    """Every time of a reading in ``[s0, s1)`` (epoch seconds), in order (newest first when
    ``descending``); the first ``limit`` only, when given."""
    stmt = _DESCENDING if descending else _ASCENDING
    params = {"s0": s0, "s1": min(s1, _END), "n": limit}
    found = await session.execute(stmt, params)
    return [int(at) for (at,) in found]


def times_and_outlets(
    times: Sequence[int], outlet_ids: Iterable[int], size: int = 2500
) -> list[tuple[Sequence[int], Sequence[int]]]:
    """The (times, outlets) IN lists covering every pair, each short enough for one
    statement (SQLite allows 32,766 variables)."""
    outlets = sorted(set(outlet_ids))
    return [(t, o) for t in chunked(times, size) for o in chunked(outlets, size)]


async def newest(session: Session, outlet_ids: Collection[int]) -> dict[int, int]:
    """Each outlet's newest reading time (epoch seconds), of those with a reading."""
    remaining = set(outlet_ids)
    found: dict[int, int] = {}
    if not remaining:
        return found
    open_ = sorted(int(h) for (h,) in await session.execute(text("SELECT hour FROM open_hour")))
    last = await session.scalar(text("SELECT max(hour) FROM outlet_last_hour"))
    after = 0 if last is None else (int(last) + 1) * HOUR_S
    recent = _recent_windows(open_, after)
    times: set[int] = set()
    for s0, s1 in recent:
        times.update(await reading_times(session, s0, s1, descending=True))
    for at in sorted(times, reverse=True):  # newest first: most outlets are found at once
        if not remaining:
            return found
        for ids in chunked(sorted(remaining)):
            for (outlet_id,) in await session.execute(_AT, {"at": at, "ids": list(ids)}):
                found[outlet_id] = at
                remaining.discard(outlet_id)
    if remaining:
        probed = set(open_)
        await _in_last_hours(session, remaining, found, probed, after)
    return found


def _recent_windows(open_: Sequence[int], after: int) -> list[tuple[int, int]]:
    """The periods holding every reading newer than any close recorded: the open hours,
    and all after the newest hour in ``outlet_last_hour``."""
    windows = [(h * HOUR_S, (h + 1) * HOUR_S) for h in open_ if (h + 1) * HOUR_S <= after]
    return [*windows, (after, _END)]


async def _in_last_hours(
    session: Session, remaining: set[int], found: dict[int, int], probed: set[int], after: int
) -> None:
    """The newest reading of each of ``remaining`` in the hour ``outlet_last_hour`` holds
    for it (none: no reading, or only in hours already probed)."""
    by_hour: dict[int, list[int]] = {}
    for ids in chunked(sorted(remaining)):
        for outlet_id, hour in await session.execute(_LAST_HOURS, {"ids": list(ids)}):
            hour = int(hour)
            if hour not in probed and hour * HOUR_S < after:
                by_hour.setdefault(hour, []).append(int(outlet_id))
    for hour, outlets in sorted(by_hour.items()):
        times = await reading_times(session, hour * HOUR_S, (hour + 1) * HOUR_S)
        for t, o in times_and_outlets(times, outlets):
            params: dict[str, Any] = {"times": list(t), "ids": list(o)}
            for outlet_id, at in await session.execute(_NEWEST_IN, params):
                found[outlet_id] = max(found.get(outlet_id, 0), int(at))
