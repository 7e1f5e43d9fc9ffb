"""PostgreSQL readings by cycle: the primary key (cycle, outlet_id), no BRIN index on cycle,
no foreign key to outlet.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

PostgreSQL's heap takes rows in arrival order, so the readings' table itself is in cycle
order; but its primary key (outlet_id, cycle) is a B-tree in outlet order, in which a
cycle's rows land one per outlet leaf: once the history is a day old a 1,000-PDU cycle
wrote 189-249 MB of WAL (full-page images of ~48,000 leaves after each checkpoint) instead
of 9.5 MB keyed (cycle, outlet_id), which appends to the end of the key
(``bench/bench_server_history.py``, notes srv16). The foreign key to outlet checked every
reading by locking its outlet's row (a WAL record each, 49,000 a cycle, and most of the
server's CPU: 0.34-0.50 s instead of 0.07-0.15 s): it goes, as on MariaDB (0014): outlets
are never deleted, and the writer resolves outlet ids itself under its PDU locks
(``db.repositories``). The BRIN index on cycle goes too: the key now starts with cycle.
The readers then find an outlet's readings as on SQLite (0013) and MariaDB: by the times
of the period they ask for, its newest one through ``outlet_last_hour``, created here,
filled with each outlet's newest reading hour by one seek per outlet into the old key
before it is dropped.

PostgreSQL only; a no-op on SQLite (0013) and MariaDB (0014).

No copy of the readings: the heap is already in cycle order (rows arrive so), so only the
key is rebuilt, by ``CREATE UNIQUE INDEX`` (one pass over the heap and a sort, with
``maintenance_work_mem`` raised for this transaction) and ``ADD PRIMARY KEY USING INDEX``,
which makes it the key without another pass; the old key's index is then dropped.
Measured here (PostgreSQL 15, 2 cores shared with other work, ``bench/bench_migrate_pg.py``,
2 rounds each) on 192 cycles of 48,000 outlets (9.2 million readings; heap 529 MB, indexes
244 MB, 197 MB after either way): the upgrade takes 5.2-8.7 s (the new key's build
4.4-6.6 s of it, outlet_last_hour 0.6-0.8 s; dropping the foreign key, the BRIN index and
the old key next to nothing), the downgrade 7.8-12.8 s (the old key 4.8-7.3 s, the BRIN
index 1.3-1.8 s, the foreign key's check of every reading, one join, 1.6-1.7 s): about
1 s per million readings. Both hold the table's ACCESS EXCLUSIVE lock throughout: stop the
collectors while they run.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "pk_power_reading"
NEW_KEY = "pk_power_reading_new"
BY_CYCLE = "ix_power_reading_cycle"
TO_OUTLET = "fk_power_reading_outlet_id_outlet"
# For this transaction's index builds (the sort of 9 million keys fits in about 300 MB).
BUILD_MEMORY = "SET LOCAL maintenance_work_mem = '256MB'"


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _rekey(columns: str) -> None:
    """Make ``columns`` the primary key: its index built beside the old key's, which the
    constraint then leaves (and which is dropped with it)."""
    op.execute(f"CREATE UNIQUE INDEX {NEW_KEY} ON power_reading ({columns})")
    op.execute(f"ALTER TABLE power_reading DROP CONSTRAINT {KEY}")
    op.execute(f"ALTER TABLE power_reading ADD CONSTRAINT {KEY} PRIMARY KEY USING INDEX {NEW_KEY}")


def upgrade() -> None:
    if not _postgresql():
        return
    op.execute(BUILD_MEMORY)
    op.execute(
        "CREATE TABLE outlet_last_hour ("
        " outlet_id INTEGER NOT NULL, hour INTEGER NOT NULL,"
        " CONSTRAINT pk_outlet_last_hour PRIMARY KEY (outlet_id))"
    )
    # Each outlet's newest reading, one seek per outlet into the old key (outlet_id, cycle).
    op.execute(
        "INSERT INTO outlet_last_hour (outlet_id, hour)"
        " SELECT o.id, n.newest / 3600 FROM outlet AS o CROSS JOIN LATERAL"
        " (SELECT max(r.cycle) AS newest FROM power_reading AS r WHERE r.outlet_id = o.id)"
        " AS n WHERE n.newest IS NOT NULL"
    )
    op.execute(f"ALTER TABLE power_reading DROP CONSTRAINT {TO_OUTLET}")
    op.execute(f"DROP INDEX {BY_CYCLE}")
    _rekey("cycle, outlet_id")


def downgrade() -> None:
    if not _postgresql():
        return
    op.execute(BUILD_MEMORY)
    _rekey("outlet_id, cycle")
    op.execute(f"CREATE INDEX {BY_CYCLE} ON power_reading USING brin (cycle)")
    op.execute(
        f"ALTER TABLE power_reading ADD CONSTRAINT {TO_OUTLET}"
        " FOREIGN KEY (outlet_id) REFERENCES outlet (id)"
    )
    op.execute("DROP TABLE outlet_last_hour")
