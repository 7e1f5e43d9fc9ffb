"""Where a close of due hours in steps stands: ``close_progress``.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

A large site's close of an hour (10,000 PDUs: ~35 s of CPU on SQLite, ~86 s on PostgreSQL)
is spread over the cycles after the one that makes it due, a step per transaction
(``db.close_steps``); the table says which hours are being closed and how far their steps
are, so that a restart or another collector continues the close. At most one row.

The upgrade creates it empty (no close is under way: every due hour is open and closed by
the next cycles as before). The downgrade drops it: the hours of a close under way are
still open, and revision 0015's code closes them from their readings in one go.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "close_progress",
        sa.Column("first_hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("end_hour", sa.Integer(), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("first_hour", name=op.f("pk_close_progress")),
    )


def downgrade() -> None:
    op.drop_table("close_progress")
