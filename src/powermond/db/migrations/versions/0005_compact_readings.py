"""Compact readings: epoch-second times, the natural key (outlet, cycle) as primary key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

``power_reading`` loses its surrogate id and its unique (outlet_id, cycle) index, which
becomes the primary key (SQLite: WITHOUT ROWID; InnoDB: the clustered index), stores its time
as whole seconds since 1970 and its watts, amps (INTEGER) and kWh (BIGINT) as integer
thousandths. It keeps one index, (cycle), BRIN on PostgreSQL; a machine's readings are found
through its outlets by primary key, so (machine_id, cycle) and machine_id's foreign key go.
Every reading is copied once (in key order; on PostgreSQL in cycle order, the heap order its
BRIN index needs), converted by the database itself: values PDUs give (whole units, tenths,
hundredths) are kept exactly; a finer fraction would be rounded to the thousandth.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "outlet_id, cycle, machine_id, watts, amps, energy_kwh"
VALUES = ("watts", "amps", "energy_kwh")
OLD = "power_reading_0004"
INDEXES = ("ix_power_reading_machine_id_cycle", "ix_power_reading_cycle")
FOREIGN_KEYS = ("fk_power_reading_outlet_id_outlet", "fk_power_reading_machine_id_machine")


def _epoch(column: str) -> str:
    """SQL for a naive UTC DATETIME column as epoch seconds, on this dialect."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER)"
    if dialect == "postgresql":  # a timestamp without time zone counts from 1970 as UTC
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"
    return f"TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', {column})"  # no session time zone


def _datetime(column: str) -> str:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return f"strftime('%Y-%m-%d %H:%M:%S.000000', {column}, 'unixepoch')"
    if dialect == "postgresql":
        return f"CAST(to_timestamp({column}) AT TIME ZONE 'UTC' AS TIMESTAMP)"
    return f"TIMESTAMPADD(SECOND, {column}, '1970-01-01 00:00:00')"


def _set_aside() -> None:
    """Rename the old table out of the way, freeing the names the new one takes."""
    dialect = op.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):  # constraint names are per database in InnoDB
        for name in FOREIGN_KEYS:
            op.drop_constraint(name, "power_reading", type_="foreignkey")
    for name in INDEXES:
        op.drop_index(name, table_name="power_reading")
    op.rename_table("power_reading", OLD)
    if dialect == "postgresql":  # index names are per schema
        op.execute(f"ALTER INDEX pk_power_reading RENAME TO pk_{OLD}")
        op.execute(f"ALTER INDEX uq_power_reading_outlet_id_cycle RENAME TO uq_{OLD}")
        op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {FOREIGN_KEYS[0]} TO fk_{OLD}_outlet")
        op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {FOREIGN_KEYS[1]} TO fk_{OLD}_machine")


def upgrade() -> None:
    _set_aside()
    op.create_table(  # 8-byte columns first: PostgreSQL then pads nothing
        "power_reading",
        sa.Column("cycle", sa.BigInteger(), nullable=False),
        sa.Column("energy_kwh", sa.BigInteger(), nullable=True),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=True),
        sa.Column("watts", sa.Integer(), nullable=True),
        sa.Column("amps", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["outlet_id"], ["outlet.id"], name=op.f(FOREIGN_KEYS[0])),
        sa.PrimaryKeyConstraint("outlet_id", "cycle", name=op.f("pk_power_reading")),
        sqlite_with_rowid=False,
    )
    dialect = op.get_bind().dialect.name
    integer = "SIGNED" if dialect in ("mysql", "mariadb") else "BIGINT"
    milli = ", ".join(f"CAST(ROUND({name} * 1000) AS {integer})" for name in VALUES)
    order = "cycle, outlet_id" if dialect == "postgresql" else "outlet_id, cycle"
    op.execute(
        f"INSERT INTO power_reading ({COLUMNS}) SELECT outlet_id, {_epoch('cycle')}, machine_id,"
        f" {milli} FROM {OLD} ORDER BY {order}"
    )
    op.drop_table(OLD)
    # Built after the copy: one sort instead of a random insert per row. BRIN on PostgreSQL:
    # the rows were copied in cycle order, as the daemon appends them.
    op.create_index(op.f(INDEXES[1]), "power_reading", ["cycle"], postgresql_using="brin")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        op.drop_constraint(FOREIGN_KEYS[0], "power_reading", type_="foreignkey")
    op.drop_index(INDEXES[1], table_name="power_reading")
    op.rename_table("power_reading", OLD)
    if dialect == "postgresql":
        op.execute(f"ALTER INDEX pk_power_reading RENAME TO pk_{OLD}")
        op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {FOREIGN_KEYS[0]} TO fk_{OLD}_outlet")
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "power_reading",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("cycle", sa.DateTime(), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=True),
        sa.Column("watts", sa.Double(), nullable=True),
        sa.Column("amps", sa.Double(), nullable=True),
        sa.Column("energy_kwh", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["outlet_id"], ["outlet.id"], name=op.f(FOREIGN_KEYS[0])),
        sa.ForeignKeyConstraint(["machine_id"], ["machine.id"], name=op.f(FOREIGN_KEYS[1])),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_power_reading")),
        sa.UniqueConstraint("outlet_id", "cycle", name=op.f("uq_power_reading_outlet_id_cycle")),
    )
    op.execute(
        "INSERT INTO power_reading (cycle, outlet_id, machine_id, watts, amps, energy_kwh)"
        f" SELECT {_datetime('cycle')}, outlet_id, machine_id,"
        f" watts / 1000.0, amps / 1000.0, energy_kwh / 1000.0 FROM {OLD} ORDER BY cycle, outlet_id"
    )
    op.drop_table(OLD)
    op.create_index(op.f(INDEXES[0]), "power_reading", ["machine_id", "cycle"])
    op.create_index(op.f(INDEXES[1]), "power_reading", ["cycle"])
