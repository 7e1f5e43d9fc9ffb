"""Bulk "insert, skipping rows whose key is already stored", for each dialect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, tuple_
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.types import UtcDateTime

Row = Mapping[str, Any]
_TIME = UtcDateTime()


async def insert_ignore(
    session: AsyncSession, table: Table, rows: Sequence[Row], key: Sequence[str]
) -> int:
    """Insert ``rows`` in one executemany, skipping rows whose unique ``key`` is already
    stored; return how many were new. Replays and overlapping runs are then harmless,
    without a SELECT per row. ``rows`` must not repeat a key.
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        return await _insert_missing_mysql(session, table, rows, key)
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=key)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=key)
    else:
        raise NotImplementedError(f"no bulk insert for dialect {dialect!r}")
    # RETURNING lists only the rows inserted (asyncpg reports no executemany rowcount), and
    # lets SQLAlchemy batch the rows into multi-row VALUES statements ("insertmanyvalues").
    result = await session.execute(stmt.returning(table.c[key[0]]), list(rows))
    return len(result.all())


async def _insert_missing_mysql(
    session: AsyncSession, table: Table, rows: Sequence[Row], key: Sequence[str]
) -> int:
    """MariaDB/MySQL: leave out the stored keys first, then insert with a no-op upsert.

    INSERT IGNORE would do it in one statement, but it makes the server raise one warning
    per skipped row (which asyncmy fetches and logs: 48 lines per PDU on a replay) and it
    also downgrades real errors to warnings. The no-op ON DUPLICATE KEY UPDATE only guards
    against a concurrent writer; its affected-row count cannot tell new rows from found
    ones (the driver sets CLIENT_FOUND_ROWS), hence the SELECT. So when two transactions
    write the same keys at once, both count them (nothing is stored twice).
    """
    columns = [table.c[name] for name in key]
    wanted = [tuple(row[name] for name in key) for row in rows]
    stored = await session.execute(select(*columns).where(tuple_(*columns).in_(wanted)))
    present = {_comparable(k) for k in stored}
    missing = [row for row, k in zip(rows, wanted, strict=True) if _comparable(k) not in present]
    if not missing:
        return 0
    stmt = mysql.insert(table)
    stmt = stmt.on_duplicate_key_update({key[0]: stmt.inserted[key[0]]})
    await session.execute(stmt, missing)
    return len(missing)


def _comparable(values: Sequence[Any]) -> tuple[Any, ...]:
    """A key as the database compares it: times in UTC whole seconds, as stored."""
    return tuple(
        _TIME.process_bind_param(v, None) if isinstance(v, datetime) else v  # type: ignore[arg-type]
        for v in values
    )
