"""MariaDB readings without the index by outlet: drop (outlet_id, cycle) and the foreign
key to outlet that uses it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

InnoDB clusters ``power_reading`` by its primary key (cycle, outlet_id) (0008), so a cycle
appends to the end of it; but it also wrote the secondary index (outlet_id, cycle), in
which a cycle's rows land one per outlet leaf: once the history is a day or two old a
1,000-PDU cycle wrote 0.3-1.2 GB (and read back ~550 MB past a 128 MB buffer pool)
instead of 2.5 MB without it (``bench/bench_server_history.py``, notes srv16). InnoDB
keeps an index for each foreign key, so the foreign key power_reading.outlet_id ->
outlet(id) goes too: outlets are never deleted, and the writer resolves outlet ids itself
under its PDU locks (``db.repositories``). The readers then find an outlet's readings as
on SQLite (0013): by the times of the period they ask for, its newest one through
``outlet_last_hour``, created here (SQLite's shape), filled with each outlet's newest
reading hour by one seek per outlet into the index before it is dropped.

MariaDB only; a no-op on SQLite (0013 did it) and PostgreSQL. Dropping an index and a
foreign key are in-place changes in InnoDB: no copy of the readings. The downgrade
rebuilds the index (one pass over the readings, sorted) and adds the foreign key back,
which InnoDB checks against every reading (a copy of the table).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BY_OUTLET = "ix_power_reading_outlet_id_cycle"
TO_OUTLET = "fk_power_reading_outlet_id_outlet"


def _mariadb() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if not _mariadb():
        return
    op.execute(
        "CREATE TABLE outlet_last_hour ("
        " outlet_id INTEGER NOT NULL, hour INTEGER NOT NULL,"
        " CONSTRAINT pk_outlet_last_hour PRIMARY KEY (outlet_id))"
    )
    # Each outlet's newest reading, one seek per outlet into (outlet_id, cycle).
    op.execute(
        "INSERT INTO outlet_last_hour (outlet_id, hour)"
        " SELECT id, newest DIV 3600 FROM (SELECT o.id, (SELECT max(r.cycle)"
        f" FROM power_reading AS r FORCE INDEX ({BY_OUTLET}) WHERE r.outlet_id = o.id)"
        " AS newest FROM outlet AS o) AS n WHERE newest IS NOT NULL"
    )
    op.execute(f"ALTER TABLE power_reading DROP FOREIGN KEY {TO_OUTLET}")
    op.execute(f"ALTER TABLE power_reading DROP INDEX {BY_OUTLET}")


def downgrade() -> None:
    if not _mariadb():
        return
    op.execute(f"ALTER TABLE power_reading ADD INDEX {BY_OUTLET} (outlet_id, cycle)")
    op.execute(
        f"ALTER TABLE power_reading ADD CONSTRAINT {TO_OUTLET}"
        " FOREIGN KEY (outlet_id) REFERENCES outlet (id)"
    )
    op.execute("DROP TABLE outlet_last_hour")
