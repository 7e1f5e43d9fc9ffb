"""The ``cycle`` table: each writer's cycles and the interval they were recorded at.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Existing readings get one cycle row per distinct reading time (collector: this host's name,
origin "daemon"), whose interval is the best estimate the data allows: the spacing to the
previous cycle (to the next one for the first), capped so that a stretch the collector was
down is not taken for its interval. The cap is the default interval (300 s), or the history's
typical (median) spacing where that is longer, so a site that polled every 15 minutes keeps
its gaps bridged as before.
"""

from __future__ import annotations

import itertools
import socket
import statistics
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_INTERVAL_S = 300.0
ROWS_PER_INSERT = 5000


def upgrade() -> None:
    cycle = op.create_table(
        "cycle",
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("collector", sa.String(length=255), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("interval_s", sa.Double(), nullable=False),
        sa.Column("pdus_polled", sa.Integer(), nullable=False),
        sa.Column("pdus_failed", sa.Integer(), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("time", "collector", "origin", name=op.f("pk_cycle")),
    )
    op.create_index(op.f("ix_cycle_interval_s"), "cycle", ["interval_s"])
    _backfill(cycle)


def _backfill(cycle: sa.Table) -> None:
    reading = sa.table("power_reading", sa.column("cycle", sa.DateTime()), sa.column("outlet_id"))
    outlet = sa.table("outlet", sa.column("id"), sa.column("pdu_id"))
    stmt = (
        sa.select(reading.c.cycle, sa.func.count(), sa.func.count(sa.distinct(outlet.c.pdu_id)))
        .join(outlet, outlet.c.id == reading.c.outlet_id)
        .group_by(reading.c.cycle)
        .order_by(reading.c.cycle)
    )
    found = op.get_bind().execute(stmt).all()
    times: list[datetime] = [t for t, _, _ in found]
    intervals = estimated_intervals(times)
    collector = socket.gethostname()
    rows = [
        {
            "time": t,
            "collector": collector,
            "origin": "daemon",
            "interval_s": interval,
            "pdus_polled": pdus,
            "pdus_failed": 0,
            "readings": readings,
            "seconds": None,
        }
        for (t, readings, pdus), interval in zip(found, intervals, strict=True)
    ]
    for start in range(0, len(rows), ROWS_PER_INSERT):
        op.bulk_insert(cycle, rows[start : start + ROWS_PER_INSERT])


def estimated_intervals(times: Sequence[datetime]) -> list[float]:
    """The interval of each cycle (sorted times): the spacing to the previous one (the next
    for the first), at most the cap described above."""
    if not times:
        return []
    steps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    if not steps:
        return [DEFAULT_INTERVAL_S]
    cap = max(DEFAULT_INTERVAL_S, statistics.median(steps))
    return [min(step, cap) for step in [steps[0], *steps]]


def downgrade() -> None:
    op.drop_index(op.f("ix_cycle_interval_s"), table_name="cycle")
    op.drop_table("cycle")
