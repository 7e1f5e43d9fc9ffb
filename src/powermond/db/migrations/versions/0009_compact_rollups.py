"""Compact rollups: epoch-hour keys, integer units, the natural key as primary key.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

The hourly rollups are kept for ever, so they get the readings' treatment (0005). Each table
loses its surrogate id or its (owner, hour) key, its foreign keys and its hour index; its
primary key becomes the natural key with the hour first, ``(hour, outlet_id, machine_id)``
and ``(hour, owner)`` (SQLite: WITHOUT ROWID; InnoDB: the clustered index), the hour a count
of hours since 1970, and one secondary index ``(machine_id, hour)`` stays where a machine's
plot reads its rows. ``power_hourly.machine_id`` is 0 for no machine (a key column cannot be
NULL), replacing ``machine_key``. Values become integers: watts and peaks in mW, counter
energy in Wh, integrated energy in half-millijoules ((mW1 + mW2) x seconds per trapezoid).
Every stored figure was made from readings in thousandths (0005), so each converts exactly
(rounded from its floating-point sum, whose error is far below one unit). Load sums stay
floating point. Every row is copied once, in key order, converted by the database itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HALF_MJ_PER_KWH = 7_200_000_000  # 1 kWh = 3.6e9 mJ; the rollups keep twice the trapezoid
OWNERS = {
    "power_hourly": ("outlet", "machine"),
    "machine_peak_hourly": ("machine",),
    "pdu_peak_hourly": ("pdu",),
    "load_hourly": ("machine",),
}
OLD_INDEXES = {
    "power_hourly": (
        "ix_power_hourly_hour",
        "ix_power_hourly_outlet_id_hour_machine_key",
        "ix_power_hourly_machine_id_hour",
    ),
    "machine_peak_hourly": ("ix_machine_peak_hourly_hour",),
    "pdu_peak_hourly": ("ix_pdu_peak_hourly_hour",),
    "load_hourly": ("ix_load_hourly_hour",),
}
MACHINE_INDEXED = ("power_hourly", "machine_peak_hourly", "load_hourly")


def _dialect() -> str:
    return op.get_bind().dialect.name


def _epoch_hour(column: str) -> str:
    """SQL for a naive UTC DATETIME column (a whole hour) as hours since 1970."""
    dialect = _dialect()
    if dialect == "sqlite":
        return f"(CAST(strftime('%s', {column}) AS INTEGER) / 3600)"
    if dialect == "postgresql":  # a timestamp without time zone counts from 1970 as UTC
        return f"(CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT) / 3600)"
    return f"TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', {column})"  # no session time zone


def _datetime(hours: str) -> str:
    dialect = _dialect()
    if dialect == "sqlite":
        return f"strftime('%Y-%m-%d %H:%M:%S.000000', {hours} * 3600, 'unixepoch')"
    if dialect == "postgresql":
        return f"CAST(to_timestamp({hours} * 3600) AT TIME ZONE 'UTC' AS TIMESTAMP)"
    return f"TIMESTAMPADD(HOUR, {hours}, '1970-01-01 00:00:00')"


def _units(column: str, per_unit: int) -> str:
    integer = "SIGNED" if _dialect() in ("mysql", "mariadb") else "BIGINT"
    return f"CAST(ROUND({column} * {per_unit}) AS {integer})"


def _foreign_keys(table: str) -> list[str]:
    return [f"fk_{table}_{owner}_id_{owner}" for owner in OWNERS[table]]


def _set_aside(table: str, old: str) -> None:
    """Rename ``table`` to ``old``, freeing every name the new table takes."""
    dialect = _dialect()
    if dialect != "sqlite":  # InnoDB: constraint names are per database; PostgreSQL: schema
        for name in _foreign_keys(table):
            op.drop_constraint(name, table, type_="foreignkey")
    for name in OLD_INDEXES[table]:
        op.drop_index(name, table_name=table)
    op.rename_table(table, old)
    if dialect == "postgresql":  # index names are per schema
        op.execute(f"ALTER INDEX pk_{table} RENAME TO pk_{old}")


def _create_new(table: str) -> None:
    if table == "power_hourly":
        op.create_table(  # 8-byte columns first: PostgreSQL then pads nothing
            table,
            sa.Column("watts_sum", sa.BigInteger(), nullable=False),
            sa.Column("counter_wh", sa.BigInteger(), nullable=False),
            sa.Column("integrated_hmj", sa.BigInteger(), nullable=False),
            sa.Column("hour", sa.Integer(), nullable=False),
            sa.Column("outlet_id", sa.Integer(), nullable=False),
            sa.Column("machine_id", sa.Integer(), nullable=False),
            sa.Column("readings", sa.Integer(), nullable=False),
            sa.Column("watts_count", sa.Integer(), nullable=False),
            sa.Column("watts_peak", sa.Integer(), nullable=True),
            sa.Column("counter_intervals", sa.Integer(), nullable=False),
            sa.Column("integrated_intervals", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint(
                "hour", "outlet_id", "machine_id", name=op.f("pk_power_hourly")
            ),
            sqlite_with_rowid=False,
        )
    elif table == "load_hourly":
        op.create_table(
            table,
            sa.Column("load1_sum", sa.Double(), nullable=False),
            sa.Column("load5_sum", sa.Double(), nullable=False),
            sa.Column("load15_sum", sa.Double(), nullable=False),
            sa.Column("hour", sa.Integer(), nullable=False),
            sa.Column("machine_id", sa.Integer(), nullable=False),
            sa.Column("samples", sa.Integer(), nullable=False),
            sa.Column("load5_count", sa.Integer(), nullable=False),
            sa.Column("load15_count", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("hour", "machine_id", name=op.f("pk_load_hourly")),
            sqlite_with_rowid=False,
        )
    else:
        owner = f"{OWNERS[table][0]}_id"
        op.create_table(
            table,
            sa.Column("hour", sa.Integer(), nullable=False),
            sa.Column(owner, sa.Integer(), nullable=False),
            sa.Column("peak_mw", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("hour", owner, name=op.f(f"pk_{table}")),
            sqlite_with_rowid=False,
        )


def _copy_up(table: str, old: str) -> None:
    hour = _epoch_hour("hour")
    if table == "power_hourly":
        op.execute(
            "INSERT INTO power_hourly (hour, outlet_id, machine_id, readings, watts_count,"
            " watts_sum, watts_peak, counter_wh, counter_intervals, integrated_hmj,"
            f" integrated_intervals) SELECT {hour}, outlet_id, COALESCE(machine_id, 0),"
            f" readings, watts_count, {_units('watts_sum', 1000)},"
            f" {_units('watts_peak', 1000)}, {_units('counter_kwh', 1000)}, counter_intervals,"
            f" {_units('integrated_kwh', HALF_MJ_PER_KWH)}, integrated_intervals FROM {old}"
            " ORDER BY hour, outlet_id, COALESCE(machine_id, 0)"
        )
    elif table == "load_hourly":
        names = "samples, load1_sum, load5_count, load5_sum, load15_count, load15_sum"
        op.execute(
            f"INSERT INTO load_hourly (hour, machine_id, {names}) SELECT {hour}, machine_id,"
            f" {names} FROM {old} ORDER BY hour, machine_id"
        )
    else:
        owner = f"{OWNERS[table][0]}_id"
        op.execute(
            f"INSERT INTO {table} (hour, {owner}, peak_mw) SELECT {hour}, {owner},"
            f" {_units('peak_watts', 1000)} FROM {old} ORDER BY hour, {owner}"
        )


def upgrade() -> None:
    for table in OWNERS:
        old = f"{table}_0007"
        _set_aside(table, old)
        _create_new(table)
        _copy_up(table, old)
        op.drop_table(old)
        if table in MACHINE_INDEXED:  # built after the copy: one sort
            op.create_index(op.f(f"ix_{table}_machine_id_hour"), table, ["machine_id", "hour"])


# --- downgrade: the tables as 0002/0003 made them -------------------------------------------
# (divisions by a 1e3 / 7.2e9 literal: a double on MariaDB, where 1000.0 would make a
# DECIMAL of five places)


def _fk(table: str, owner: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [f"{owner}_id"], [f"{owner}.id"], name=op.f(f"fk_{table}_{owner}_id_{owner}")
    )


def _create_old(table: str) -> None:
    if table == "power_hourly":
        op.create_table(
            table,
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
            sa.Column("machine_key", sa.Integer(), server_default=sa.text("0"), nullable=False),
            _fk(table, "outlet"),
            _fk(table, "machine"),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_power_hourly")),
        )
        op.create_index(op.f("ix_power_hourly_hour"), table, ["hour"])
        op.create_index(
            op.f("ix_power_hourly_outlet_id_hour_machine_key"),
            table,
            ["outlet_id", "hour", "machine_key"],
            unique=True,
        )
        op.create_index(op.f("ix_power_hourly_machine_id_hour"), table, ["machine_id", "hour"])
        return
    owner = OWNERS[table][0]
    if table == "load_hourly":
        values = [
            sa.Column("samples", sa.Integer(), nullable=False),
            sa.Column("load1_sum", sa.Double(), nullable=False),
            sa.Column("load5_count", sa.Integer(), nullable=False),
            sa.Column("load5_sum", sa.Double(), nullable=False),
            sa.Column("load15_count", sa.Integer(), nullable=False),
            sa.Column("load15_sum", sa.Double(), nullable=False),
        ]
    else:
        values = [sa.Column("peak_watts", sa.Double(), nullable=False)]
    op.create_table(
        table,
        sa.Column(f"{owner}_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        *values,
        _fk(table, owner),
        sa.PrimaryKeyConstraint(f"{owner}_id", "hour", name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_hour"), table, ["hour"])


def _copy_down(table: str, new: str) -> None:
    hour = _datetime("hour")
    if table == "power_hourly":
        op.execute(
            "INSERT INTO power_hourly (hour, outlet_id, machine_id, machine_key, readings,"
            " watts_count, watts_sum, watts_peak, counter_kwh, counter_intervals,"
            f" integrated_kwh, integrated_intervals) SELECT {hour}, outlet_id,"
            " NULLIF(machine_id, 0), machine_id, readings, watts_count, watts_sum / 1e3,"
            " watts_peak / 1e3, counter_wh / 1e3, counter_intervals,"
            f" integrated_hmj / 7.2e9, integrated_intervals FROM {new}"
            " ORDER BY hour, outlet_id, machine_id"
        )
    elif table == "load_hourly":
        names = "samples, load1_sum, load5_count, load5_sum, load15_count, load15_sum"
        op.execute(
            f"INSERT INTO load_hourly (machine_id, hour, {names}) SELECT machine_id, {hour},"
            f" {names} FROM {new}"
        )
    else:
        owner = f"{OWNERS[table][0]}_id"
        op.execute(
            f"INSERT INTO {table} ({owner}, hour, peak_watts) SELECT {owner}, {hour},"
            f" peak_mw / 1e3 FROM {new}"
        )


def downgrade() -> None:
    for table in OWNERS:
        new = f"{table}_0009"
        if table in MACHINE_INDEXED:
            op.drop_index(f"ix_{table}_machine_id_hour", table_name=table)
        op.rename_table(table, new)
        if _dialect() == "postgresql":
            op.execute(f"ALTER INDEX pk_{table} RENAME TO pk_{new}")
        _create_old(table)
        _copy_down(table, new)
        op.drop_table(new)
