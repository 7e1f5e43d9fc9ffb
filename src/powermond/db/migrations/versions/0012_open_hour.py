"""Open power hours: the hours whose power and peak rollups are not yet (or no longer) valid.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

The rollups of an hour are written once, when the hour closes (``db.rollups``): a cycle's
writer marks open the hours its readings change, and they are rolled up from the raw
readings when no reading can change them any more; meanwhile readers read them from the
raw readings. Until now every hour's rows were kept valid cycle by cycle, the current one
included, so the upgrade creates the table empty: no hour is open, and it takes no time
whatever the history. The downgrade rolls the open hours up first (the older code reads
every hour's rows) with ``db.rollups``' statements, then drops the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open_hour",
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("hour", name=op.f("pk_open_hour")),
    )


def downgrade() -> None:
    # Revision 0011's writers kept every hour's rows valid: the open hours are rolled up
    # first, by the statements that close them (a few hours: the current one, late ones;
    # none before the retention horizon: pruning closes them before their readings go).
    from powermond.db.rollups import intervals_query, reach_of, roll_up, runs
    from powermond.db.types import HOUR_S

    bind = op.get_bind()
    hours = sorted(int(h) for (h,) in bind.execute(sa.text("SELECT hour FROM open_hour")))
    if hours:
        reach = reach_of(bind.execute(sa.text("SELECT max(interval_s) FROM cycle")).scalar())
        for a, b in runs(hours):
            query = intervals_query(a * HOUR_S, b * HOUR_S + reach)
            intervals = {int(at): float(s) for at, s in bind.execute(query)}
            for stmt in roll_up(a, b, reach, intervals, bind.dialect.name):
                bind.execute(stmt)
    op.drop_table("open_hour")
