"""Several collectors on one database: their heartbeat rows, and named leases and locks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

``collector`` holds one row per live collector (see :mod:`powermond.db.collectors`);
``lease`` holds the rows that collectors lock (configuration applies, cycle writes) or lease
(the RRD import), made here so that locking them never finds them missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEASES = ("config-apply", "cycle-write", "load-import")


def upgrade() -> None:
    op.create_table(
        "collector",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("only", sa.Text(), nullable=True),
        sa.Column("inventory", sa.String(32), nullable=False),
        sa.Column("pdus", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_collector")),
    )
    lease = op.create_table(
        "lease",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(255), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lease")),
    )
    op.bulk_insert(lease, [{"name": name} for name in LEASES])


def downgrade() -> None:
    op.drop_table("lease")
    op.drop_table("collector")
