"""Server readings: 4-byte cycle times, and on MariaDB the key order InnoDB stores best.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

``power_reading.cycle`` (seconds since 1970) moves to the 4-byte
:class:`~powermond.db.types.ReadingTime`:

- MariaDB: ``INT UNSIGNED`` (to 2106), and the primary key, InnoDB's clustered index,
  becomes (cycle, outlet_id), so each cycle appends to the table; the outlet's path is the
  secondary index (outlet_id, cycle), which replaces (cycle).
- PostgreSQL: ``INTEGER`` (to 2038-01-19 03:14:07 UTC, see ReadingTime); the primary key
  (outlet_id, cycle) and the BRIN index on (cycle) stay.
- SQLite: nothing changes (its integers already take only the bytes they need).

Each server converts in one table rebuild (``ALTER TABLE``) that keeps every reading and
value as it is; a time the new column cannot hold makes the database refuse the migration
(integer range; MariaDB in strict mode, its default), which then changes nothing. The rows
keep their physical order on PostgreSQL (the BRIN index needs cycle order); InnoDB rebuilds
in the new key's order, its pages full.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BY_CYCLE = "ix_power_reading_cycle"
BY_OUTLET = "ix_power_reading_outlet_id_cycle"


def _dialect() -> str:
    return op.get_bind().dialect.name


def upgrade() -> None:
    dialect = _dialect()
    if dialect in ("mysql", "mariadb"):
        # One rebuild: the column, the clustered key, and the secondary index together.
        # Strict, whatever the server's sql_mode: a value out of range fails, never clamps.
        op.execute("SET @powermon_sql_mode = @@SESSION.sql_mode")
        op.execute("SET SESSION sql_mode = CONCAT_WS(',', @@SESSION.sql_mode, 'STRICT_ALL_TABLES')")
        op.execute(
            "ALTER TABLE power_reading MODIFY cycle INT UNSIGNED NOT NULL,"
            " DROP PRIMARY KEY, ADD PRIMARY KEY (cycle, outlet_id),"
            f" DROP INDEX {BY_CYCLE}, ADD INDEX {BY_OUTLET} (outlet_id, cycle)"
        )
        op.execute("SET SESSION sql_mode = @powermon_sql_mode")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE power_reading ALTER COLUMN cycle TYPE INTEGER")


def downgrade() -> None:
    dialect = _dialect()
    if dialect in ("mysql", "mariadb"):
        op.execute(
            "ALTER TABLE power_reading MODIFY cycle BIGINT NOT NULL,"
            " DROP PRIMARY KEY, ADD PRIMARY KEY (outlet_id, cycle),"
            f" DROP INDEX {BY_OUTLET}, ADD INDEX {BY_CYCLE} (cycle)"
        )
    elif dialect == "postgresql":
        op.execute("ALTER TABLE power_reading ALTER COLUMN cycle TYPE BIGINT")
