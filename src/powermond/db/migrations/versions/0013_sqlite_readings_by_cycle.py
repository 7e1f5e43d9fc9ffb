"""SQLite readings by cycle: the primary key (cycle, outlet_id), no index.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

A cycle writes one reading per outlet. With the key (outlet_id, cycle), once an outlet's
readings fill a page (~200 of them, ~17 h at 300 s) every cycle writes one page per outlet:
199 MB of WAL and 0.7-0.85 s of CPU per 1,000-PDU cycle, whatever the history past a day
(``bench/bench_sqlite_history.py``). Keyed (cycle, outlet_id) with no other index, a cycle
appends to the end of the table: 1-4 MB and 0.06 s. The readers find an outlet's readings
by the times of the period they ask for (``db.latest``, ``db.catalog``), its newest one
through the new ``outlet_last_hour`` (the hour of each outlet's newest reading, raised by
every close of hours, ``db.rollups``).

SQLite only; a no-op on the servers (MariaDB's key is already (cycle, outlet_id), 0008;
PostgreSQL's heap is in cycle order with a BRIN index).

Every reading is copied once, by SQLite itself (never through Python), sorted into the new
key's order by SQLite's external sorter (bounded memory, temporary files past it; reading
through the old index on cycle instead would seek every row into an outlet-major table),
so the new table is written page after page. The downgrade copies back in (outlet_id,
cycle) order and rebuilds the index.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "cycle, energy_kwh, outlet_id, machine_id, watts, amps"
OLD = "power_reading_old"
BY_CYCLE = "ix_power_reading_cycle"


def _table(key: str) -> str:
    """power_reading as 0005 made it (columns, foreign key), keyed by ``key``."""
    return (
        "CREATE TABLE power_reading ("
        " cycle BIGINT NOT NULL, energy_kwh BIGINT, outlet_id INTEGER NOT NULL,"
        " machine_id INTEGER, watts INTEGER, amps INTEGER,"
        f" CONSTRAINT pk_power_reading PRIMARY KEY ({key}),"
        " CONSTRAINT fk_power_reading_outlet_id_outlet FOREIGN KEY(outlet_id)"
        " REFERENCES outlet (id)"
        ") WITHOUT ROWID"
    )


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if not _sqlite():
        return
    op.execute(f"DROP INDEX {BY_CYCLE}")  # its name is the new table's to have (none)
    op.execute(f"ALTER TABLE power_reading RENAME TO {OLD}")
    op.execute(_table("cycle, outlet_id"))
    # The old table has no index on cycle any more: read it in its own key order and let
    # SQLite sort, which it does in bounded memory (temporary files past cache_size).
    op.execute(
        f"INSERT INTO power_reading ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}"
        " ORDER BY cycle, outlet_id"
    )
    op.execute(
        "CREATE TABLE outlet_last_hour ("
        " outlet_id INTEGER NOT NULL, hour INTEGER NOT NULL,"
        " CONSTRAINT pk_outlet_last_hour PRIMARY KEY (outlet_id)"
        ") WITHOUT ROWID"
    )
    # Each outlet's newest reading, one seek per outlet into the old key (outlet_id, cycle).
    op.execute(
        "INSERT INTO outlet_last_hour (outlet_id, hour)"
        f" SELECT id, newest / 3600 FROM (SELECT o.id, (SELECT max(r.cycle) FROM {OLD} AS r"
        " WHERE r.outlet_id = o.id) AS newest FROM outlet AS o) WHERE newest IS NOT NULL"
    )
    op.execute(f"DROP TABLE {OLD}")


def downgrade() -> None:
    if not _sqlite():
        return
    op.execute("DROP TABLE outlet_last_hour")
    op.execute(f"ALTER TABLE power_reading RENAME TO {OLD}")
    op.execute(_table("outlet_id, cycle"))
    op.execute(
        f"INSERT INTO power_reading ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}"
        " ORDER BY outlet_id, cycle"
    )
    op.execute(f"DROP TABLE {OLD}")
    op.execute(f"CREATE INDEX {BY_CYCLE} ON power_reading (cycle)")
