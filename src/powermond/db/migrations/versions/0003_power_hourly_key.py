"""A unique key for power_hourly rows, so a cycle can add to them with one upsert.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

``machine_key`` is ``machine_id`` with 0 for "no machine": unique keys treat NULLs as
distinct on every dialect, so (outlet_id, hour, machine_id) could not key the upsert of an
unmapped outlet's row. The unique index starts with (outlet_id, hour), so it replaces the old
index on those two columns (created first: MariaDB's foreign key on outlet_id needs one).
The write path always kept one row per key, so existing rows satisfy the new index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_INDEX = "ix_power_hourly_outlet_id_hour_machine_key"
OLD_INDEX = "ix_power_hourly_outlet_id_hour"


def upgrade() -> None:
    op.add_column(
        "power_hourly",
        sa.Column("machine_key", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.execute("UPDATE power_hourly SET machine_key = machine_id WHERE machine_id IS NOT NULL")
    op.create_index(
        op.f(KEY_INDEX), "power_hourly", ["outlet_id", "hour", "machine_key"], unique=True
    )
    op.drop_index(op.f(OLD_INDEX), table_name="power_hourly")


def downgrade() -> None:
    op.create_index(op.f(OLD_INDEX), "power_hourly", ["outlet_id", "hour"])
    op.drop_index(op.f(KEY_INDEX), table_name="power_hourly")
    with op.batch_alter_table("power_hourly") as batch:
        batch.drop_column("machine_key")
