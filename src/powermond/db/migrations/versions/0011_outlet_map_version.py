"""The outlet map's version: one number every change of the outlet -> machine mapping raises.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

A cycle's writer reads every polled outlet's id and machine (50,000 rows a cycle at 1,000
PDUs, the largest part of its client CPU after the insert itself). With this row it keeps
them from one cycle to the next and reads them again only when the version moved
(``db.outlet_map``). Nothing else changes; the downgrade drops the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "outlet_map_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlet_map_version")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("outlet_map_version")
