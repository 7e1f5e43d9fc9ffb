"""Bulk writes for each dialect: "insert, skipping rows whose key is already stored", and
"insert or add to the stored row" (upsert)."""

from __future__ import annotations

import functools
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, TableClause, func, or_, select, tuple_

from powermond.db.errors import DatabaseError
from powermond.db.types import EpochSeconds, UtcDateTime

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

Row = Mapping[str, Any]
_TIME = UtcDateTime()
KEYS_PER_LOOKUP = 1000  # key tuples per IN list (MariaDB turns long lists into a subquery)
# Rows converted and sent per driver call: a cycle's 48,000 rows at once held ~3 copies of
# every row (dicts, value tuples, converted tuples), and CPython keeps a peak as RSS.
ROWS_PER_BATCH = 5000
# Rows per INSERT of SQLite's new rows (600 parameters: within the 999 of SQLite before 3.32).
# One multi-row VALUES statement runs its program once for all of them: a cycle's 47,500
# readings cost SQLite 2-3 times less CPU than one single-row statement run per row
# (sqlite3's executemany, what bench/ceiling.py measures), flattening included.
SQLITE_ROWS_PER_INSERT = 100


async def insert_ignore(
    session: AsyncSession, table: Table, rows: Sequence[Row], key: Sequence[str]
) -> int:
    """Insert ``rows`` in one executemany, skipping rows whose unique ``key`` is already
    stored; return how many were new. Replays and overlapping runs are then harmless,
    without a SELECT per row. ``rows`` must not repeat a key.
    """
    return len(await insert_new(session, table, rows, key))


async def insert_new(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Row],
    key: Sequence[str],
    *,
    scope: Row | None = None,
) -> list[Row]:
    """Like :func:`insert_ignore`, but return the rows that were inserted.

    ``scope``: column values every row shares (a cycle's time). The stored keys are then
    looked up with one index range and the rest inserted with a plain executemany, which is
    several times faster; but only a caller that keeps other writers of the scope out (a
    lock) knows which rows are new, since a concurrent insert of the same key is skipped.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if scope is not None or dialect in ("mysql", "mariadb"):
        present = await _stored_keys(session, table, rows, key, scope)
        rest = [name for name in key if scope is None or name not in scope]
        missing = [row for row in rows if _comparable([row[k] for k in rest]) not in present]
        await executemany(session, _insert_skipping(table, key, dialect), missing)
        return missing
    # RETURNING lists only the rows inserted (asyncpg reports no executemany rowcount), and
    # lets SQLAlchemy batch the rows into multi-row VALUES statements ("insertmanyvalues").
    columns = [table.c[name] for name in key]
    stmt = _insert_skipping(table, key, dialect).returning(*columns)
    result = await session.execute(stmt, list(rows))
    by_key = {_comparable([row[name] for name in key]): row for row in rows}
    return [by_key[_comparable(found)] for found in result.tuples()]


def _insert_skipping(table: TableClause, key: Sequence[str], dialect: str) -> Any:
    """INSERT that skips rows whose ``key`` is stored.

    MariaDB/MySQL: INSERT IGNORE would make the server raise one warning per skipped row
    (which asyncmy fetches and logs: 48 lines per PDU on a replay) and also downgrade real
    errors to warnings; a no-op ON DUPLICATE KEY UPDATE does not. Its affected-row count
    cannot tell new rows from found ones (the driver sets CLIENT_FOUND_ROWS), so MariaDB
    always looks the stored keys up first: when two transactions write the same keys at
    once, both count them (nothing is stored twice); writers that must know exactly lock.
    """
    stmt = dialect_insert(table, dialect)
    if dialect in ("mysql", "mariadb"):
        return stmt.on_duplicate_key_update({key[0]: stmt.inserted[key[0]]})
    return stmt.on_conflict_do_nothing(index_elements=key)


def dialect_insert(table: TableClause, dialect: str) -> Any:
    """The dialect's own INSERT construct (with its upsert clauses). The dialect modules are
    imported here, for the database in use only: all three cost a command line ~0.1 s."""
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects import mysql

        return mysql.insert(table)
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    raise NotImplementedError(f"no bulk insert for dialect {dialect!r}")


async def stored_keys(
    session: AsyncSession, table: Table, key: Sequence[str], scope: Row
) -> set[Any]:
    """The ``key`` columns other than ``scope``'s of the rows stored in ``scope`` (one
    index range); a single remaining column gives plain values, several give tuples."""
    found = await _stored_keys(session, table, (), key, scope)
    if len([name for name in key if name not in scope]) == 1:
        return {k[0] for k in found}
    return found


async def insert_rows(
    session: AsyncSession,
    table: TableClause,
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    key: Sequence[str],
    *,
    new: bool = False,
) -> None:
    """Insert value tuples (in ``names`` order), skipping rows whose ``key`` is stored; for
    callers that filtered out stored keys themselves (:func:`stored_keys`) under a lock.
    ``new``: none is stored (the caller looked them up under a lock that keeps other writers
    of these keys out), and the values need no conversion: PostgreSQL then gets them by
    ``COPY``, asyncpg's fastest path (what ``bench/ceiling.py`` measures the store against),
    SQLite by a plain INSERT (a key stored after all is then an error, not skipped)."""
    dialect = session.get_bind().dialect.name
    if new and dialect == "postgresql":
        await _copy(session, table, names, rows)
        return
    if new and dialect == "sqlite":  # no conflict to look for: ~15 % of the insert's CPU
        stmt = dialect_insert(table, dialect)
        await executemany(session, stmt, rows, names=names, per_statement=SQLITE_ROWS_PER_INSERT)
        return
    if new and dialect in ("mysql", "mariadb"):
        await _insert_integers(session, table, names, rows, key)
        return
    await executemany(session, _insert_skipping(table, key, dialect), rows, names=names)


# What a VALUES list of integers and NULLs is made of (a row's repr, "None" made "NULL").
_INTEGER_VALUES = re.compile(r"[0-9NUL(), -]*")


async def _insert_integers(
    session: AsyncSession,
    table: TableClause,
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    key: Sequence[str],
) -> None:
    """MariaDB: rows of integers and ``None`` only (a cycle's readings as
    ``reading_rows`` makes them) in multi-row INSERTs written as literals: each batch's
    VALUES list is the rows' ``repr`` joined (C), ~7 times cheaper for the client than
    asyncmy's escaping value by value (its executemany, what bench/ceiling.py measures).
    Anything else in a row (a float, a string, a bool) is refused (``ValueError``) before it
    is sent: the text is checked to hold digits, signs, commas and NULLs only. The
    statement skips a stored key as :func:`_insert_skipping` does."""
    connection = await session.connection()
    head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
    tail = f" ON DUPLICATE KEY UPDATE {key[0]} = VALUES({key[0]})"
    for batch in _batches(rows, ROWS_PER_BATCH):
        if any(len(row) != len(names) for row in batch):
            raise ValueError(f"rows do not carry {list(names)}")
        values = ", ".join(map(repr, map(tuple, batch))).replace("None", "NULL")
        if len(names) == 1:  # a 1-tuple's repr: "(1,)"
            values = values.replace(",)", ")")
        if not _INTEGER_VALUES.fullmatch(values):
            raise ValueError("rows of integers and None only go in as literals")
        await connection.exec_driver_sql(head + values + tail)
        del values


async def _copy(
    session: AsyncSession,
    table: TableClause,
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """``COPY … FROM STDIN`` (binary) on the session's connection, in its transaction, in
    batches, each answered batch pushing back ``[database] timeout`` as a statement does. The
    server's refusals are :class:`DatabaseError` (a refused cycle is stored PDU by PDU), as
    through SQLAlchemy; asyncpg's own errors elsewhere mean an unusable connection."""
    import asyncpg  # type: ignore[import-untyped]

    from powermond.db.engine import answered

    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    try:
        for batch in _batches(rows, ROWS_PER_BATCH * 4):
            await raw.copy_records_to_table(
                table.name, records=batch, columns=list(names), schema_name=table.schema
            )
            answered(connection.info)  # a sign of life, as a statement's answer is
    except (asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError):
        raise
    except (asyncpg.PostgresError, asyncpg.exceptions.DataError, OverflowError) as exc:
        raise DatabaseError(f"database error: {exc}") from exc  # a value it cannot take


async def _stored_keys(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Row],
    key: Sequence[str],
    scope: Row | None,
) -> set[tuple[Any, ...]]:
    """The keys of ``rows`` already stored (without the ``scope`` columns, if given)."""
    if scope is not None:
        rest = [table.c[name] for name in key if name not in scope]
        stmt = select(*rest).where(*(table.c[name] == value for name, value in scope.items()))
        return {_comparable(k) for k in await session.execute(stmt)}
    columns = [table.c[name] for name in key]
    wanted = [tuple(row[name] for name in key) for row in rows]
    present: set[tuple[Any, ...]] = set()
    for i in range(0, len(wanted), KEYS_PER_LOOKUP):
        chunk = wanted[i : i + KEYS_PER_LOOKUP]
        stored = await session.execute(select(*columns).where(tuple_(*columns).in_(chunk)))
        present.update(_comparable(k) for k in stored)
    return present


async def upsert(
    session: AsyncSession,
    table: TableClause,
    rows: Sequence[Row] | Iterable[tuple[Any, ...]],
    key: Sequence[str],
    *,
    add: Sequence[str] = (),
    greatest: Sequence[str] = (),
    names: Sequence[str] | None = None,
) -> None:
    """Insert ``rows``; where a row's unique ``key`` is stored, add the ``add`` columns to the
    stored values and keep the larger of the ``greatest`` ones (NULL: no value). One
    executemany (per batch); the database does the arithmetic, so concurrent writers cannot lose an
    addition. ``rows`` must not repeat a key. With ``names``, ``rows`` are value tuples in
    that order, and may be any iterable (consumed in batches).
    """
    if isinstance(rows, Sequence) and not rows:
        return
    dialect = session.get_bind().dialect.name
    stmt = on_conflict_update(dialect_insert(table, dialect), table, key, add, greatest, dialect)
    await executemany(session, stmt, rows, names=names)


def on_conflict_update(
    stmt: Any,
    table: TableClause,
    key: Sequence[str],
    add: Sequence[str],
    greatest: Sequence[str],
    dialect: str,
) -> Any:
    """The dialect's INSERT ``stmt`` (:func:`dialect_insert`, with its rows or SELECT) made
    an upsert: where a row's unique ``key`` is stored, add the ``add`` columns to the stored
    values and keep the larger of the ``greatest`` ones (NULL: no value)."""
    mysql_like = dialect in ("mysql", "mariadb")
    new = stmt.inserted if mysql_like else stmt.excluded  # inserted renders VALUES(column)
    # SQLite spells GREATEST as two-argument max(); SQLite and MariaDB return NULL when an
    # argument is NULL (PostgreSQL does not, but the same expression suits it).
    larger = func.max if dialect == "sqlite" else func.greatest
    changes: dict[str, Any] = {name: table.c[name] + new[name] for name in add}
    for name in greatest:
        old, value = table.c[name], new[name]
        changes[name] = larger(func.coalesce(old, value), func.coalesce(value, old))
    if mysql_like:
        return stmt.on_duplicate_key_update(changes)  # rows set to what they hold: not written
    if add or not greatest:
        return stmt.on_conflict_do_update(index_elements=key, set_=changes)
    # Only larger values change anything: other rows are left unwritten (a peak is raised by
    # few of an hour's cycles; PostgreSQL would write every row anew).
    raised = or_(*(or_(table.c[n].is_(None), new[n] > table.c[n]) for n in greatest))
    return stmt.on_conflict_do_update(index_elements=key, set_=changes, where=raised)


async def executemany(
    session: AsyncSession,
    stmt: Any,
    rows: Iterable[Row] | Iterable[Sequence[Any]],
    *,
    names: Sequence[str] | None = None,
    per_statement: int = 1,
) -> None:
    """Run an INSERT for every row, converting values with the columns' types but without
    SQLAlchemy's per-row work (several µs a row: a cycle has 50,000 readings). Times are
    converted once per distinct value (a cycle has a few). PostgreSQL gets one statement
    over arrays (asyncpg's executemany would run one statement per row); SQLite's and
    asyncmy's executemany are already fast (a C loop; multi-row INSERTs).

    ``rows`` are mappings, or value tuples in ``names`` order; either way they are sent in
    batches of :data:`ROWS_PER_BATCH`, so only one batch is ever held converted.
    ``per_statement`` (SQLite, a plain ``INSERT … VALUES``): rows per statement, one
    multi-row VALUES list each (the batch's last ones, fewer, one row per statement)."""
    batches = _batches(rows, ROWS_PER_BATCH)
    first = next(batches, None)
    if not first:
        return
    connection = await session.connection()
    dialect = connection.dialect
    given = list(names) if names is not None else list(first[0])
    compiled = stmt.compile(dialect=dialect, column_keys=given, for_executemany=True)
    order = compiled.positiontup
    if order is None or sorted(order) != sorted(given):
        raise ValueError(f"statement binds {order}, rows carry {given}")
    columns = [stmt.table.c[name] for name in order]
    picks = order if names is None else [given.index(name) for name in order]
    reorder = None if picks == list(range(len(given))) else _picker(picks)
    converters = [(i, f) for i, c in enumerate(columns) if (f := _converter(c.type, dialect))]
    sql = compiled.string
    if dialect.name == "postgresql":
        sql = _from_arrays(sql, columns, dialect)
    many = _values_times(sql, per_statement) if per_statement > 1 else None
    for batch in itertools.chain([first], batches):
        params: list[Any] = batch if reorder is None else [reorder(row) for row in batch]
        if converters:
            params = [_converted(row, converters) for row in params]
        if dialect.name == "postgresql":
            arrays = tuple(list(column) for column in zip(*params, strict=True))
            await connection.exec_driver_sql(sql, arrays)
        elif many is not None:
            whole = len(params) - len(params) % per_statement
            flat = _flattened(params, per_statement * len(order))
            if flat:
                await connection.exec_driver_sql(many, flat)
            del flat
            if whole < len(params):
                await connection.exec_driver_sql(sql, params[whole:])
        else:
            await connection.exec_driver_sql(sql, params)
        del params  # before the next batch is built


def _values_times(sql: str, rows: int) -> str:
    """``INSERT … VALUES (?, …)`` as one statement of ``rows`` rows: ``VALUES (?, …), …``."""
    start = sql.index(" VALUES (") + len(" VALUES ")
    end = sql.index(")", start) + 1  # SQLite's markers: "?", no nested parentheses
    if sql[end:].strip():
        raise ValueError(f"not a plain INSERT … VALUES: {sql!r}")
    return sql[:end] + (", " + sql[start:end]) * (rows - 1)


def _flattened(rows: Iterable[Sequence[Any]], values: int) -> list[tuple[Any, ...]]:
    """The rows' values in order, ``values`` at a time (a multi-row statement's parameters:
    whole rows when ``values`` is a multiple of the rows' length); the incomplete group at
    the end is left out. Grouped in C (``zip`` over one iterator), no list per group."""
    flat = iter(itertools.chain.from_iterable(rows))
    return list(zip(*[flat] * values, strict=False))


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _picker(keys: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """Values at ``keys`` (names of a mapping or positions of a tuple), as a tuple."""
    if len(keys) == 1:
        return lambda row: (row[keys[0]],)
    return operator.itemgetter(*keys)


def _converted(
    values: tuple[Any, ...], converters: Sequence[tuple[int, Callable[[Any], Any]]]
) -> tuple[Any, ...]:
    row = list(values)
    for i, convert in converters:
        row[i] = convert(row[i])
    return tuple(row)


def _from_arrays(sql: str, columns: Sequence[Any], dialect: Any) -> str:
    """``INSERT ... VALUES ($1, ...) ...`` as ``INSERT ... SELECT * FROM unnest($1::T[], ...)
    ...``: the rows come as one array per column."""
    start = sql.index(" VALUES (")
    depth, end = 0, start + len(" VALUES ")
    while True:  # to the parenthesis that closes VALUES (casts such as VARCHAR(32) nest)
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        if depth == 0:
            break
        end += 1
    arrays = ", ".join(
        f"${i}::{column.type.compile(dialect=dialect)}[]" for i, column in enumerate(columns, 1)
    )
    return f"{sql[:start]} SELECT * FROM unnest({arrays}){sql[end + 1 :]}"


def _converter(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is not None and isinstance(column_type, UtcDateTime | EpochSeconds):
        return functools.lru_cache(maxsize=64)(process)
    return process  # type: ignore[no-any-return]


def _comparable(values: Sequence[Any]) -> tuple[Any, ...]:
    """A key as the database compares it: times in UTC whole seconds, as stored."""
    return tuple(
        _TIME.process_bind_param(v, None) if isinstance(v, datetime) else v  # type: ignore[arg-type]
        for v in values
    )
