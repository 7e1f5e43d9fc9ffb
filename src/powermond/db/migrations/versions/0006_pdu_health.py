"""Stored PDU health: one row per PDU, replaced by every cycle that polls it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

No backfill: a PDU gets its row at the first cycle after the upgrade. Plain column types, as
in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pdu_health",
        sa.Column("pdu_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("checked", sa.DateTime(), nullable=False),
        sa.Column("last_success", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=1024), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("walk_seconds", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["pdu_id"], ["pdu.id"], name=op.f("fk_pdu_health_pdu_id_pdu")),
        sa.PrimaryKeyConstraint("pdu_id", name=op.f("pk_pdu_health")),
    )


def downgrade() -> None:
    op.drop_table("pdu_health")
