"""Daily rollups of closed days: power_daily, machine_peak_daily, pdu_peak_daily, load_daily,
closed_day, and the lock load imports take against the closing of days.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

The tables have the hourly tables' shapes with a day (days since 1970, UTC) for the hour
(see :mod:`powermond.db.daily`). The upgrade creates them empty and closes no day: reports
read the hours until the daemon's daily job (first run ten minutes after it starts) or
``powermon db prune`` closes the days, one short transaction per day, so the upgrade itself
takes no time whatever the history.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOAD_LOCK = "load-write"
MACHINE_INDEXED = ("power_daily", "machine_peak_daily", "load_daily")


def upgrade() -> None:
    op.create_table(  # 8-byte columns first: PostgreSQL then pads nothing
        "power_daily",
        sa.Column("watts_sum", sa.BigInteger(), nullable=False),
        sa.Column("counter_wh", sa.BigInteger(), nullable=False),
        sa.Column("integrated_hmj", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column("watts_count", sa.Integer(), nullable=False),
        sa.Column("watts_peak", sa.Integer(), nullable=True),
        sa.Column("counter_intervals", sa.Integer(), nullable=False),
        sa.Column("integrated_intervals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "outlet_id", "machine_id", name=op.f("pk_power_daily")),
        sqlite_with_rowid=False,
    )
    for table, owner in (("machine_peak_daily", "machine_id"), ("pdu_peak_daily", "pdu_id")):
        op.create_table(
            table,
            sa.Column("day", sa.Integer(), nullable=False),
            sa.Column(owner, sa.Integer(), nullable=False),
            sa.Column("peak_mw", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("day", owner, name=op.f(f"pk_{table}")),
            sqlite_with_rowid=False,
        )
    op.create_table(
        "load_daily",
        sa.Column("load1_sum", sa.Double(), nullable=False),
        sa.Column("load5_sum", sa.Double(), nullable=False),
        sa.Column("load15_sum", sa.Double(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("load5_count", sa.Integer(), nullable=False),
        sa.Column("load15_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "machine_id", name=op.f("pk_load_daily")),
        sqlite_with_rowid=False,
    )
    for table in MACHINE_INDEXED:
        op.create_index(op.f(f"ix_{table}_machine_id_day"), table, ["machine_id", "day"])
    op.create_table(
        "closed_day",
        sa.Column("rollup", sa.String(8), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("rollup", "day", name=op.f("pk_closed_day")),
    )
    lease = sa.table("lease", sa.column("name", sa.String(64)))
    op.bulk_insert(lease, [{"name": LOAD_LOCK}])


def downgrade() -> None:
    op.execute(f"DELETE FROM lease WHERE name = '{LOAD_LOCK}'")
    op.drop_table("closed_day")
    for table in MACHINE_INDEXED:
        op.drop_index(op.f(f"ix_{table}_machine_id_day"), table_name=table)
    for table in ("load_daily", "pdu_peak_daily", "machine_peak_daily", "power_daily"):
        op.drop_table(table)
