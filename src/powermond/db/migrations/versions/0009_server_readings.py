"""Server readings: 4-byte cycle times, and on MariaDB the key order InnoDB stores best.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01

``power_reading.cycle`` becomes the 4-byte :class:`~powermond.db.types.ReadingTime`:

- MariaDB: ``INT UNSIGNED`` seconds since 1970 (to 2106), and the primary key, InnoDB's
  clustered index, becomes (cycle, outlet_id), so each cycle appends to the table; the
  outlet's path is the secondary index (outlet_id, cycle), which replaces (cycle).
- PostgreSQL: ``INTEGER`` seconds since 2000-01-01 (to 2068; 1970-based it would end in
  2038); the primary key (outlet_id, cycle) and the BRIN index on (cycle) stay.
- SQLite: nothing changes (its integers already take only the bytes they need).

Each server converts in one table rebuild (``ALTER TABLE``), which keeps every reading and
its values; a time the new column cannot hold makes the database refuse the migration
(strict mode, integer range) rather than change it. The rows keep their physical order on
PostgreSQL (the BRIN index needs cycle order); InnoDB rebuilds in the new key's order.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_EPOCH_2000 = 946_684_800  # as powermond.db.types has it (migrations stay frozen)
BY_CYCLE = "ix_power_reading_cycle"
BY_OUTLET = "ix_power_reading_outlet_id_cycle"


def _dialect() -> str:
    return op.get_bind().dialect.name


def upgrade() -> None:
    dialect = _dialect()
    if dialect in ("mysql", "mariadb"):
        # One rebuild: the column, the clustered key, and the secondary index together.
        op.execute(
            "ALTER TABLE power_reading MODIFY cycle INT UNSIGNED NOT NULL,"
            " DROP PRIMARY KEY, ADD PRIMARY KEY (cycle, outlet_id),"
            f" DROP INDEX {BY_CYCLE}, ADD INDEX {BY_OUTLET} (outlet_id, cycle)"
        )
    elif dialect == "postgresql":
        op.execute(
            "ALTER TABLE power_reading ALTER COLUMN cycle TYPE INTEGER"
            f" USING cycle - {PG_EPOCH_2000}"
        )


def downgrade() -> None:
    dialect = _dialect()
    if dialect in ("mysql", "mariadb"):
        op.execute(
            "ALTER TABLE power_reading MODIFY cycle BIGINT NOT NULL,"
            " DROP PRIMARY KEY, ADD PRIMARY KEY (outlet_id, cycle),"
            f" DROP INDEX {BY_OUTLET}, ADD INDEX {BY_CYCLE} (cycle)"
        )
    elif dialect == "postgresql":
        op.execute(
            "ALTER TABLE power_reading ALTER COLUMN cycle TYPE BIGINT"
            f" USING CAST(cycle AS BIGINT) + {PG_EPOCH_2000}"
        )
