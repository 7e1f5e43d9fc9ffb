"""PostgreSQL's ``outlet_last_hour`` with half its heap pages free (fillfactor 50).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

Every close raises each live outlet's row of ``outlet_last_hour`` (``rollups.raise_last_hours``:
48,000 rows at 1,000 PDUs). With the default fillfactor of 100 the pages are full, so each
new row version goes to another page and its key entry is written again: a non-HOT update
per outlet. Pages kept half free take the new version beside the old one (a HOT update: the
column raised, ``hour``, is in no index), and PostgreSQL prunes the dead versions of a page
when it next fills, without VACUUM.

``ALTER TABLE … SET (fillfactor = 50)`` applies only to pages written after it, so the
upgrade also rewrites the table, with ``CLUSTER … USING`` its primary key: it runs in the
migration's transaction (``VACUUM FULL`` cannot) and takes 0.6-0.7 s at 480,000 outlets
(10,000 PDUs) here, under an exclusive lock of this small table only (readers of the
newest readings wait for it). The table is then marked unclustered again, so that a
database-wide ``CLUSTER`` does not redo it. Left to turn over, the old full pages would
have been rewritten by the next close anyway, leaving the table twice its size until a
VACUUM. New databases get the fillfactor from this revision too (they are made by the
migrations; ``db.schema`` creates no table itself).

The downgrade resets the fillfactor and rewrites the table the same way. A no-op on SQLite
(its ``outlet_last_hour`` is a WITHOUT ROWID B-tree) and on MariaDB (InnoDB updates the
row in its clustered index in place).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "outlet_last_hour"
KEY = "pk_outlet_last_hour"
FILLFACTOR = 50


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _rewrite() -> None:
    op.execute(f"CLUSTER {TABLE} USING {KEY}")
    op.execute(f"ALTER TABLE {TABLE} SET WITHOUT CLUSTER")


def upgrade() -> None:
    if not _postgresql():
        return
    op.execute(f"ALTER TABLE {TABLE} SET (fillfactor = {FILLFACTOR})")
    _rewrite()


def downgrade() -> None:
    if not _postgresql():
        return
    op.execute(f"ALTER TABLE {TABLE} RESET (fillfactor)")
    _rewrite()
