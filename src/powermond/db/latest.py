"""Reads of some outlets' readings, which are keyed (cycle, outlet_id) with no index by
outlet: SQLite (migration 0013), MariaDB (0014), PostgreSQL (0015). Each costs the rows it
returns and the period it asks for, never the length of the history.

* :func:`reading_times`: the times readings have in a period, from the key itself (one
  probe per time; SQLite and PostgreSQL in the database's own loop, a recursive CTE,
  MariaDB a statement each), so
  that the readings of some outlets are then read as one key seek per (time, outlet):
  ``cycle IN (times) AND outlet_id IN (outlets)``. A reading whose ``cycle`` row is gone
  still has its time listed.
* :func:`newest`: each outlet's newest reading time. Its newest reading is in an open hour
  (``open_hour``), or after the newest hour any close recorded, or in the hour
  ``outlet_last_hour`` holds for it (raised by every close, ``db.rollups``): the newest
  times are probed first, each for the outlets not found yet (a cycle stores nearly all
  outlets, so a live site is done after one), then the hour of each outlet still missing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, text

from powermond.db.repository_base import chunked
from powermond.db.schema import MARIADB
from powermond.db.types import HOUR_S

if TYPE_CHECKING:
    from powermond.db.repository_base import Session

__all__ = [
    "newest",
    "pairs_per_statement",
    "reading_times",
    "times_and_outlets",
]

# (time, outlet) pairs one MariaDB statement lists at most: its range optimizer makes one
# range per pair and gives up past ~16,000 of them (then reads the whole table).
MARIADB_PAIRS = 8_000

_END = 2**62  # past any stored time
# PostgreSQL's: the readings' time is an INTEGER there (ReadingTime), so is a bound on it.
_PG_END = 2**31 - 1

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
_NEXT = text("SELECT min(cycle) FROM power_reading WHERE cycle > :at AND cycle < :s1")
_PREVIOUS = text("SELECT max(cycle) FROM power_reading WHERE cycle < :at AND cycle >= :s0")
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
    dialect = session.get_bind().dialect.name
    s1 = min(s1, _PG_END if dialect == "postgresql" else _END)
    if dialect in MARIADB:
        return await _probed_times(session, s0, s1, descending, limit)
    stmt = _DESCENDING if descending else _ASCENDING
    found = await session.execute(stmt, {"s0": s0, "s1": s1, "n": _END if limit < 0 else limit})
    return [int(at) for (at,) in found]


async def _probed_times(
    session: Session, s0: int, s1: int, descending: bool, limit: int
) -> list[int]:
    """MariaDB: the probes one statement each. In its recursive CTE the bound from the
    previous time is not a range bound: each probe read the key from the start of the
    range (a 400,000-reading table: 200 times listed by 80 million rows read, 14.6 s),
    where ``min(cycle)`` between constants is one dive into the key."""
    times: list[int] = []
    at: Any = s1 if descending else s0 - 1
    stmt = _PREVIOUS if descending else _NEXT
    while limit < 0 or len(times) < limit:
        at = (await session.execute(stmt, {"at": at, "s0": s0, "s1": s1})).scalar()
        if at is None:
            break
        times.append(at := int(at))
    return times


def times_and_outlets(
    times: Sequence[int], outlet_ids: Iterable[int], size: int = 2500, pairs: int | None = None
) -> list[tuple[Sequence[int], Sequence[int]]]:
    """The (times, outlets) IN lists covering every pair, each short enough for one
    statement (SQLite allows 32,766 variables); with ``pairs`` (MariaDB:
    :data:`MARIADB_PAIRS`), at most that many pairs each."""
    outlets = sorted(set(outlet_ids))
    per_outlets = size if pairs is None else min(size, pairs)
    found = []
    for o in chunked(outlets, per_outlets):
        per_times = size if pairs is None else max(1, min(size, pairs // len(o)))
        found += [(t, o) for t in chunked(times, per_times)]
    return found


def pairs_per_statement(session: Session) -> int | None:
    """The ``pairs`` of :func:`times_and_outlets` for this database."""
    return MARIADB_PAIRS if session.get_bind().dialect.name in MARIADB else None


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
        for t, o in times_and_outlets(times, outlets, pairs=pairs_per_statement(session)):
            params: dict[str, Any] = {"times": list(t), "ids": list(o)}
            for outlet_id, at in await session.execute(_NEWEST_IN, params):
                found[outlet_id] = max(found.get(outlet_id, 0), int(at))
