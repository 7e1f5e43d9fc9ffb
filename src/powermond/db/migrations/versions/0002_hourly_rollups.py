"""Hourly rollups for reports and long plots (see powermond.db.rollups).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

No backfill: 0001 and 0002 ship in the same release, so no database holds readings without
rollups. Plain column types, as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _peak_table(table: str, owner: str) -> None:
    op.create_table(
        table,
        sa.Column(f"{owner}_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("peak_watts", sa.Double(), nullable=False),
        _fk(table, f"{owner}_id", owner),
        sa.PrimaryKeyConstraint(f"{owner}_id", "hour", name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_hour"), table, ["hour"])


def upgrade() -> None:
    op.create_table(
        "power_hourly",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=True),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column("watts_count", sa.Integer(), nullable=False),
        sa.Column("watts_sum", sa.Double(), nullable=False),
        sa.Column("watts_peak", sa.Double(), nullable=True),
        sa.Column("counter_kwh", sa.Double(), nullable=False),
        sa.Column("counter_intervals", sa.Integer(), nullable=False),
        sa.Column("integrated_kwh", sa.Double(), nullable=False),
        sa.Column("integrated_intervals", sa.Integer(), nullable=False),
        _fk("power_hourly", "outlet_id", "outlet"),
        _fk("power_hourly", "machine_id", "machine"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_power_hourly")),
    )
    op.create_index(op.f("ix_power_hourly_hour"), "power_hourly", ["hour"])
    op.create_index(op.f("ix_power_hourly_outlet_id_hour"), "power_hourly", ["outlet_id", "hour"])
    op.create_index(op.f("ix_power_hourly_machine_id_hour"), "power_hourly", ["machine_id", "hour"])
    _peak_table("machine_peak_hourly", "machine")
    _peak_table("pdu_peak_hourly", "pdu")
    op.create_table(
        "load_hourly",
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("load1_sum", sa.Double(), nullable=False),
        sa.Column("load5_count", sa.Integer(), nullable=False),
        sa.Column("load5_sum", sa.Double(), nullable=False),
        sa.Column("load15_count", sa.Integer(), nullable=False),
        sa.Column("load15_sum", sa.Double(), nullable=False),
        _fk("load_hourly", "machine_id", "machine"),
        sa.PrimaryKeyConstraint("machine_id", "hour", name=op.f("pk_load_hourly")),
    )
    op.create_index(op.f("ix_load_hourly_hour"), "load_hourly", ["hour"])


def downgrade() -> None:
    for table in ("load_hourly", "pdu_peak_hourly", "machine_peak_hourly", "power_hourly"):
        op.drop_table(table)
