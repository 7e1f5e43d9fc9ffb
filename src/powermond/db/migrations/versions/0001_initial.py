"""Initial schema: pdu, machine, outlet, power_reading, cpu_load.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Plain column types on purpose (a migration must not change when application types do):
``UtcDateTime`` is stored as a naive ``DATETIME``/``TIMESTAMP``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = sa.String(length=255)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "machine",
        _id(),
        sa.Column("name", NAME, nullable=False),
        sa.Column("rrd", sa.String(length=1024), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machine")),
        sa.UniqueConstraint("name", name=op.f("uq_machine_name")),
    )
    op.create_table(
        "pdu",
        _id(),
        sa.Column("name", NAME, nullable=False),
        sa.Column("host", NAME, nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("profile", sa.String(length=64), nullable=False),
        sa.Column("snmp_version", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pdu")),
        sa.UniqueConstraint("name", name=op.f("uq_pdu_name")),
    )
    op.create_table(
        "cpu_load",
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("load1", sa.Double(), nullable=True),
        sa.Column("load5", sa.Double(), nullable=True),
        sa.Column("load15", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machine.id"], name=op.f("fk_cpu_load_machine_id_machine")
        ),
        sa.PrimaryKeyConstraint("machine_id", "time", name=op.f("pk_cpu_load")),
    )
    op.create_table(
        "outlet",
        _id(),
        sa.Column("pdu_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machine.id"], name=op.f("fk_outlet_machine_id_machine")
        ),
        sa.ForeignKeyConstraint(["pdu_id"], ["pdu.id"], name=op.f("fk_outlet_pdu_id_pdu")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlet")),
        sa.UniqueConstraint("pdu_id", "label", name=op.f("uq_outlet_pdu_id_label")),
    )
    op.create_index(op.f("ix_outlet_machine_id"), "outlet", ["machine_id"])
    op.create_table(
        "power_reading",
        # SQLite auto-increments only an INTEGER PRIMARY KEY.
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("cycle", sa.DateTime(), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=True),
        sa.Column("watts", sa.Double(), nullable=True),
        sa.Column("amps", sa.Double(), nullable=True),
        sa.Column("energy_kwh", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machine.id"], name=op.f("fk_power_reading_machine_id_machine")
        ),
        sa.ForeignKeyConstraint(
            ["outlet_id"], ["outlet.id"], name=op.f("fk_power_reading_outlet_id_outlet")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_power_reading")),
        sa.UniqueConstraint("outlet_id", "cycle", name=op.f("uq_power_reading_outlet_id_cycle")),
    )
    op.create_index(op.f("ix_power_reading_cycle"), "power_reading", ["cycle"])
    op.create_index(
        op.f("ix_power_reading_machine_id_cycle"), "power_reading", ["machine_id", "cycle"]
    )


def downgrade() -> None:
    op.drop_table("power_reading")
    op.drop_table("outlet")
    op.drop_table("cpu_load")
    op.drop_table("pdu")
    op.drop_table("machine")
