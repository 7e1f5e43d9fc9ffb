"""SQLite readings without the foreign key to outlet.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

With ``foreign_keys=ON`` SQLite checks every reading it inserts against ``outlet`` (a seek
into outlet's key per row): a quarter of the insert of a cycle's readings in the writer's
multi-row INSERTs, 6-16 % of a 1,000-PDU cycle's store (``bench/bench_store_revisions.py``:
0.096-0.194 s of CPU at 0016, 0.089-0.174 s at 0017). Outlets are never deleted, and the
writer resolves outlet ids itself under its PDU locks (``db.repositories``): MariaDB (0014)
and PostgreSQL (0015) dropped the same key.

SQLite cannot drop a constraint with ALTER TABLE, and rebuilding the table copies every
reading (minutes for a large site's history). A foreign key is not part of the file
format, so this takes SQLite's documented procedure for removing one ("Making Other Kinds
Of Table Schema Changes", sqlite.org/lang_altertable.html): in one transaction, the table's
CREATE statement in ``sqlite_master`` rewritten under ``PRAGMA writable_schema``, the
schema version raised (every connection then reads the schema again), and
``PRAGMA integrity_check`` of ``sqlite_master``, the only table written: no reading is
read or written. (A whole ``integrity_check`` reads every page of the file: 0.64 s for 4.8
million readings, 136 MB, here; about two hours for a year of 10,000 PDUs' readings.) The
new statement is parsed first on an empty in-memory database, the foreign keys SQLite then
reads are checked, and the migration refuses (changing nothing) a table that is not the
one 0013 wrote.

The downgrade puts the constraint back the same way, then ``PRAGMA foreign_key_check``
seeks every reading's outlet and refuses (rolls back) if one is missing. Measured here
(``bench/bench_migrate_0017.py``, 4.8 and 14.4 million readings): the upgrade 0.02-0.05 s
either way, the downgrade 0.30 and 0.94 s.

SQLite only; a no-op on the servers (0014, 0015).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "power_reading"
# The constraint as 0013 wrote it, with the separator before it.
TO_OUTLET = (
    ", CONSTRAINT fk_power_reading_outlet_id_outlet FOREIGN KEY(outlet_id) REFERENCES outlet (id)"
)
KEY = " CONSTRAINT pk_power_reading PRIMARY KEY (cycle, outlet_id)"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if not _sqlite():
        return
    created = _created()
    if created.count(TO_OUTLET) != 1:
        raise RuntimeError(f"{TABLE}: not the table migration 0013 made: {created}")
    _rewrite(created.replace(TO_OUTLET, ""))


def downgrade() -> None:
    if not _sqlite():
        return
    created = _created()
    if TO_OUTLET in created or created.count(KEY) != 1:
        raise RuntimeError(f"{TABLE}: not the table migration 0017 left: {created}")
    _rewrite(created.replace(KEY, KEY + TO_OUTLET))
    # Raising rolls the transaction back, the statement with it.
    check = op.get_bind().exec_driver_sql(f"PRAGMA foreign_key_check({TABLE})")
    if orphans := check.fetchmany(5):
        raise RuntimeError(f"{TABLE}: readings of outlets that do not exist: {orphans}")


def _created() -> str:
    found = op.get_bind().exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
    )
    return str(found.scalar_one())


def _rewrite(statement: str) -> None:
    """``power_reading``'s CREATE statement made ``statement``, which must differ from it
    in constraints only (the file's format stays), by the documented steps."""
    blank = sqlite3.connect(":memory:")  # a statement that does not parse raises here
    try:
        blank.execute(statement)
    finally:
        blank.close()
    bind = op.get_bind()
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar_one())
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
            (statement, TABLE),
        )  # sqlite3 begins the transaction here, if none is open yet
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    # The schema as SQLite reads it again (an error here rolls the transaction back), and
    # the table holding it: the only pages written. A whole integrity_check reads every page
    # of the file (0.13 s a million readings here: hours for a large site's history).
    problems = [row[0] for row in bind.exec_driver_sql("PRAGMA integrity_check(sqlite_master)")]
    if problems != ["ok"]:
        raise RuntimeError(f"integrity_check after rewriting {TABLE}: {problems[:5]}")
    keys = bind.exec_driver_sql(f"PRAGMA foreign_key_list({TABLE})").fetchall()
    if bool(keys) != (TO_OUTLET in statement):
        raise RuntimeError(f"{TABLE}: SQLite reads foreign keys {keys} from {statement}")
