"""A server's insert of one cycle against the history already stored, per readings layout.

    nice -n 10 .venv/bin/python bench/bench_server_history.py --db postgres|mariadb
        [--history N] [--outlets K] [--cycles C] [--wal-compression METHOD] [LAYOUT ...]

Creates its own database ``bench_history`` on 127.0.0.1 (dropped first if a run of this
bench left one, and at the end), migrates it with PowerMon's own migrations (so every
table, column type, key, index and foreign key is as ``powermon db upgrade`` leaves it),
adds K/48 PDUs of 48 outlets (40 of each mapped to a machine), then for each LAYOUT:

- reshapes the empty ``power_reading`` (``current`` keeps it as migrated);
- fills N cycles of synthetic history, one ``INSERT … SELECT`` per cycle in cycle order, as
  the daemon appends them (so pages split and fill as they do in service; foreign keys are
  not checked while filling), then VACUUM ANALYZE + CHECKPOINT (PostgreSQL) or ANALYZE +
  ``FLUSH TABLES … FOR EXPORT`` (MariaDB: the table's dirty pages written), so the timed
  part starts clean. Autovacuum is off for this one table (its runs would land in
  random cycles);
- stores one untimed warm-up cycle, then C more (default 6), each with PowerMon's own
  ``ReadingRepository.add_cycle_many`` in one transaction (PDU locks, the stored-keys
  lookup, batches of 100 PDUs in outlet order, asyncpg COPY / asyncmy multi-row INSERT:
  the store's path; the rollups are not run).

Per cycle it prints wall time, this process's CPU, the server's CPU (PostgreSQL: the
backend's; MariaDB: the whole mariadbd process's, so other clients count) and:

- PostgreSQL: even cycles right after a ``CHECKPOINT`` (``after CHECKPOINT``: every page's
  first change then writes a full-page image; with checkpoint_timeout = the 5-minute poll
  interval this is the steady state), odd ones not (the server's own timed checkpoints may
  still fall in them). WAL: the insert LSN's advance (whole cluster), then this
  transaction's own records read back with ``pg_walinspect`` (a temporary replication slot
  keeps them until read: made before the cycle, dropped after): bytes, full-page images
  (count and bytes: after a checkpoint, the count is the number of existing pages the cycle
  changed) and records per kind; the table's and its indexes' dirty buffers before and after
  (``pg_buffercache``) and the buffers written meanwhile (pg_stat_bgwriter, whole cluster).
- MariaDB: SHOW GLOBAL STATUS deltas over the cycle (Innodb_pages_written,
  Innodb_data_written, Innodb_os_log_written, Innodb_buffer_pool_reads), the table's
  dirty pages per index after it (information_schema.INNODB_BUFFER_PAGE), and the pages and
  bytes written by flushing the table afterwards (``FLUSH TABLES … FOR EXPORT``, doublewrite
  included), which the page cleaner would otherwise write before the next cycle.

Layouts: PostgreSQL ``current`` (as migrated: since 0015 ``cycle_pk_no_fk``),
``outlet_pk`` (up to revision 0014: PRIMARY KEY (outlet_id, cycle), BRIN (cycle), the
foreign key to outlet), ``cycle_pk`` (PRIMARY KEY (cycle, outlet_id), no other index, the
foreign key), ``brin_only`` (no primary key, BRIN (cycle), the foreign key),
``cycle_pk_no_fk`` (``cycle_pk`` without the foreign key to outlet, whose check locks every
outlet's row each cycle: a WAL record each); MariaDB ``current``
(as migrated: up to revision 0013 clustered PRIMARY KEY (cycle, outlet_id) and secondary
(outlet_id, cycle); since 0014 the same as ``cycle_pk``), ``cycle_pk`` (the clustered key
only; the foreign key on outlet_id goes too, since InnoDB keeps an index for it).
``--wal-compression`` sets PostgreSQL's wal_compression for each timed cycle's
transaction (``SET LOCAL``: a superuser's setting of its own session).

Nothing global is changed on either server: the extensions (pg_walinspect, pg_buffercache)
are created in the bench's database, the replication slot is temporary, and the fill's
``session_replication_role`` / ``foreign_key_checks`` are session settings. Needs a
superuser on PostgreSQL (CHECKPOINT, pg_walinspect) and PROCESS on MariaDB, and the
servers on this machine (their processes' CPU is read from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import resource
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from powermond.db.engine import Database
from powermond.db.migrate import upgrade
from powermond.db.repositories import ReadingRepository
from powermond.readings import OutletReading, OutletReadings
from servers import SERVERS

NAME = "bench_history"
OUTLETS, MAPPED = 48, 40
STEP = 300
T0 = datetime(2026, 1, 1, tzinfo=UTC)
# Each PostgreSQL layout made from either revision (before 0015 or since), on the empty table.
_PG_BY_CYCLE = (
    "ALTER TABLE power_reading DROP CONSTRAINT pk_power_reading,"
    " ADD CONSTRAINT pk_power_reading PRIMARY KEY (cycle, outlet_id)"
)
_PG_BRIN = "CREATE INDEX IF NOT EXISTS ix_power_reading_cycle ON power_reading USING brin (cycle)"
_PG_FK = (
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_constraint"
    " WHERE conname = 'fk_power_reading_outlet_id_outlet') THEN"
    " ALTER TABLE power_reading ADD CONSTRAINT fk_power_reading_outlet_id_outlet"
    " FOREIGN KEY (outlet_id) REFERENCES outlet (id); END IF; END $$"
)
PG_LAYOUTS = {
    "current": [],
    "outlet_pk": [  # revisions 0005 to 0014
        "ALTER TABLE power_reading DROP CONSTRAINT pk_power_reading,"
        " ADD CONSTRAINT pk_power_reading PRIMARY KEY (outlet_id, cycle)",
        _PG_BRIN,
        _PG_FK,
    ],
    "cycle_pk": [_PG_BY_CYCLE, "DROP INDEX IF EXISTS ix_power_reading_cycle", _PG_FK],
    "brin_only": ["ALTER TABLE power_reading DROP CONSTRAINT pk_power_reading", _PG_BRIN, _PG_FK],
    "cycle_pk_no_fk": [  # since 0015
        _PG_BY_CYCLE,
        "DROP INDEX IF EXISTS ix_power_reading_cycle",
        "ALTER TABLE power_reading DROP CONSTRAINT IF EXISTS fk_power_reading_outlet_id_outlet",
    ],
}
MARIA_LAYOUTS = {
    "current": [],
    "cycle_pk": [
        # IF EXISTS: since migration 0014 the database has neither (cycle_pk is current)
        "ALTER TABLE power_reading DROP FOREIGN KEY IF EXISTS fk_power_reading_outlet_id_outlet",
        "ALTER TABLE power_reading DROP INDEX IF EXISTS ix_power_reading_outlet_id_cycle",
    ],
}
LAYOUTS = {"postgres": PG_LAYOUTS, "mariadb": MARIA_LAYOUTS}
# One cycle's synthetic history, made by the server from the outlet table, in outlet order.
FILL = (
    "INSERT INTO power_reading (cycle, energy_kwh, outlet_id, machine_id, watts, amps)"
    " SELECT {t}, 1000000 + {c} * 25 + mod(id, 7), id, machine_id,"
    " 20000 + mod(mod(id, 100003) * 7919 + {c} * 104729, 380000), 1000 + mod(id, 900)"
    " FROM outlet ORDER BY id"
)
MARIA_STATUS = (
    "Innodb_pages_written",
    "Innodb_data_written",
    "Innodb_os_log_written",
    "Innodb_buffer_pool_reads",
    "Innodb_dblwr_pages_written",
)
MB = 2**20
TICK = os.sysconf("SC_CLK_TCK")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """utime + stime of a process on this machine (a server's backend), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@asynccontextmanager
async def bench_database(kind: str) -> AsyncIterator[str]:
    """The bench's own database, made empty, dropped after."""
    base, admin_db = SERVERS[kind]
    admin = create_async_engine(f"{base}/{admin_db}", isolation_level="AUTOCOMMIT")
    force = " WITH (FORCE)" if kind == "postgres" else ""
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {NAME}{force}")
            await conn.exec_driver_sql(f"CREATE DATABASE {NAME}")
        yield f"{base}/{NAME}"
    finally:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {NAME}{force}")
        await admin.dispose()


async def inventory(conn: AsyncConnection, kind: str, pdus: int) -> None:
    """PDUs 1..P, outlet ids (p-1)*48 + label, the first 40 of each mapped to a machine of
    the same id; made by the server."""
    if kind == "postgres":
        p = f"generate_series(1, {pdus}) p(n)"
        ls = f"generate_series(1, {OUTLETS}) l(n)"
        lpad, text_of = "'pdu' || lpad(p.n::text, 5, '0')", "l.n::text"
    else:
        p, ls = f"seq_1_to_{pdus} p", f"seq_1_to_{OUTLETS} l"
        lpad, text_of = "CONCAT('pdu', LPAD(p.seq, 5, '0'))", "CAST(l.seq AS CHAR)"
    n = "n" if kind == "postgres" else "seq"
    oid = f"(p.{n} - 1) * {OUTLETS} + l.{n}"
    await conn.exec_driver_sql(
        "INSERT INTO pdu (id, name, host, port, profile, snmp_version, created_at)"
        f" SELECT p.{n}, {lpad}, '192.0.2.1', 161, 'apc-rpdu2', '2c', CURRENT_TIMESTAMP FROM {p}"
    )
    await conn.exec_driver_sql(
        f"INSERT INTO machine (id, name, created_at) SELECT {oid}, CONCAT('m', {oid}),"
        f" CURRENT_TIMESTAMP FROM {p} CROSS JOIN {ls} WHERE l.{n} <= {MAPPED}"
    )
    await conn.exec_driver_sql(
        f"INSERT INTO outlet (id, pdu_id, label, machine_id) SELECT {oid}, p.{n}, {text_of},"
        f" CASE WHEN l.{n} <= {MAPPED} THEN {oid} END FROM {p} CROSS JOIN {ls}"
        f" ORDER BY p.{n}, l.{n}"
    )


async def fill(engine: AsyncEngine, kind: str, history: int) -> None:
    async with engine.connect() as conn:
        if kind == "postgres":
            await conn.exec_driver_sql("SET session_replication_role = replica")  # no RI
        else:
            await conn.exec_driver_sql("SET foreign_key_checks = 0")
        for c in range(history):
            t = int((T0 + timedelta(seconds=c * STEP)).timestamp())
            await conn.exec_driver_sql(FILL.format(t=t, c=c))
            if c % 8 == 7 or c == history - 1:
                await conn.commit()
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        if kind == "postgres":
            await conn.exec_driver_sql("VACUUM (ANALYZE) power_reading")
            await conn.exec_driver_sql("CHECKPOINT")
        else:
            await conn.exec_driver_sql("ANALYZE TABLE power_reading")
            await maria_flush(conn)


async def maria_flush(conn: AsyncConnection) -> None:
    """Write the table's dirty pages now (what the page cleaner does between cycles)."""
    await conn.exec_driver_sql("FLUSH TABLES power_reading FOR EXPORT")
    await conn.exec_driver_sql("UNLOCK TABLES")


def readings(pdus: int, rng: random.Random, c: int) -> dict[str, OutletReadings]:
    out = {}
    for p in range(1, pdus + 1):
        rows = []
        for o in range(1, OUTLETS + 1):
            watts = rng.uniform(20, 400)
            rows.append(OutletReading(str(o), watts, round(watts / 230, 2), 1000.0 + c / 10))
        out[f"pdu{p:05d}"] = OutletReadings(rows)
    return out


async def scalars(conn: AsyncConnection, sql: str) -> list[Any]:
    return list((await conn.exec_driver_sql(sql)).one())


PG_DIRTY = (
    "SELECT coalesce(sum(CASE WHEN b.isdirty THEN 1 ELSE 0 END), 0) FROM pg_buffercache b"
    " JOIN pg_class c ON b.relfilenode = pg_relation_filenode(c.oid)"
    " WHERE b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND (c.oid = 'power_reading'::regclass OR c.oid IN"
    " (SELECT indexrelid FROM pg_index WHERE indrelid = 'power_reading'::regclass))"
)
SLOT = "bench_history_wal"
PG_WRITTEN = "SELECT buffers_checkpoint, buffers_clean, buffers_backend FROM pg_stat_bgwriter"


async def pg_cycle(
    db: Database, meter: AsyncConnection, cycle: datetime, rows: Any, compression: str | None
) -> str:
    """One cycle stored, measured on PostgreSQL; its figures as a line."""
    # A temporary slot keeps the cycle's WAL until it is read (a checkpoint could recycle
    # it): dropped right after, and with the session at the latest.
    await meter.exec_driver_sql(f"SELECT pg_create_physical_replication_slot('{SLOT}', true, true)")
    before_lsn = (await scalars(meter, "SELECT pg_current_wal_insert_lsn()::text"))[0]
    written = await scalars(meter, PG_WRITTEN)
    dirty_before = (await scalars(meter, PG_DIRTY))[0]
    wall, used = time.perf_counter(), cpu()
    async with db.transaction() as session:
        pid, xid = (await session.execute(text("SELECT pg_backend_pid(), txid_current()"))).one()
        if compression:  # this transaction's WAL only
            await session.execute(text(f"SET LOCAL wal_compression = {compression}"))
        server = process_cpu(pid)
        await ReadingRepository(session).add_cycle_many(cycle, rows)
    wall, used = time.perf_counter() - wall, cpu() - used
    server = process_cpu(pid) - server
    after_lsn, flushed = await scalars(
        meter, "SELECT pg_current_wal_insert_lsn()::text, pg_current_wal_flush_lsn()::text"
    )
    delta = [b - a for a, b in zip(written, await scalars(meter, PG_WRITTEN), strict=True)]
    dirty = (await scalars(meter, PG_DIRTY))[0]
    lsn_diff = (await scalars(meter, f"SELECT pg_wal_lsn_diff('{after_lsn}', '{before_lsn}')"))[0]
    mine = (
        await meter.exec_driver_sql(
            "SELECT resource_manager || ' ' || record_type, count(*), sum(record_length),"
            " sum(fpi_length), sum((length(block_ref) - length(replace(block_ref, 'FPW', ''))) / 3)"
            f" FROM pg_get_wal_records_info('{before_lsn}', '{flushed}')"
            f" WHERE xid::text = '{xid % 2**32}' GROUP BY 1 ORDER BY 3 DESC"
        )
    ).all()
    await meter.exec_driver_sql(f"SELECT pg_drop_replication_slot('{SLOT}')")
    total = sum(int(r[2]) for r in mine)
    fpi = sum(int(r[3]) for r in mine)
    images = sum(int(r[4] or 0) for r in mine)
    parts = ", ".join(
        f"{r[0]} {int(r[1])}: {int(r[2]) / MB:.1f}" for r in mine if int(r[2]) >= MB / 20
    )
    return (
        f"{wall:6.2f} s wall {used:5.2f} s CPU server {server:5.2f} s | WAL {lsn_diff / MB:6.1f}"
        f" MB; this xact {total / MB:6.1f} MB, {images:6d} full-page images {fpi / MB:6.1f} MB"
        f" | table's dirty buffers {dirty_before} -> {dirty}, written meanwhile by"
        f" checkpointer {delta[0]}, bgwriter {delta[1]}, backends {delta[2]} | records: {parts}"
    )


async def maria_status(conn: AsyncConnection) -> dict[str, int]:
    names = ", ".join(f"'{n}'" for n in (*MARIA_STATUS, "Innodb_buffer_pool_pages_dirty"))
    found = await conn.exec_driver_sql(f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})")
    return {name: int(value) for name, value in found.all()}


MARIA_PAGES = (
    "SELECT INDEX_NAME, count(*), sum(OLDEST_MODIFICATION > 0)"
    " FROM information_schema.INNODB_BUFFER_PAGE"
    f" WHERE TABLE_NAME = '`{NAME}`.`power_reading`' GROUP BY INDEX_NAME"
)


async def maria_cycle(
    db: Database, meter: AsyncConnection, cycle: datetime, rows: Any, server_pid: int
) -> str:
    """One cycle stored, then the table flushed, measured on MariaDB; its figures."""
    before = await maria_status(meter)
    server = process_cpu(server_pid)
    wall, used = time.perf_counter(), cpu()
    async with db.transaction() as session:
        await ReadingRepository(session).add_cycle_many(cycle, rows)
    wall, used = time.perf_counter() - wall, cpu() - used
    server = process_cpu(server_pid) - server
    after = await maria_status(meter)
    pages = (await meter.exec_driver_sql(MARIA_PAGES)).all()
    await maria_flush(meter)
    flushed = await maria_status(meter)
    d = {n: after[n] - before[n] for n in MARIA_STATUS}
    f = {n: flushed[n] - after[n] for n in MARIA_STATUS}
    per_index = ", ".join(
        f"{'PK' if i == 'PRIMARY' else 'outlet ix'} {int(d_)}/{int(n)}" for i, n, d_ in pages
    )
    return (
        f"{wall:6.2f} s wall {used:5.2f} s CPU server {server:5.2f} s |"
        f" during: written {d['Innodb_pages_written']:6d} pages"
        f" {d['Innodb_data_written'] / MB:6.1f} MB, redo {d['Innodb_os_log_written'] / MB:5.1f}"
        f" MB, read {d['Innodb_buffer_pool_reads']:6d} pages | dirty after (of resident)"
        f" {per_index} | flush: {f['Innodb_pages_written']:6d} pages"
        f" {f['Innodb_data_written'] / MB:6.1f} MB (doublewrite {f['Innodb_dblwr_pages_written']})"
        f" | total written {(d['Innodb_data_written'] + f['Innodb_data_written']) / MB:6.1f} MB"
    )


async def run(args: argparse.Namespace, layout: str) -> None:
    kind = args.db
    pdus = args.outlets // OUTLETS
    async with bench_database(kind) as url:
        await upgrade(url)
        engine = create_async_engine(url)
        meter_engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.begin() as conn:
                await inventory(conn, kind, pdus)
                for ddl in LAYOUTS[kind][layout]:
                    await conn.exec_driver_sql(ddl)
                if kind == "postgres":
                    await conn.exec_driver_sql(
                        "ALTER TABLE power_reading SET (autovacuum_enabled = false)"
                    )
                    await conn.exec_driver_sql("CREATE EXTENSION pg_walinspect")
                    await conn.exec_driver_sql("CREATE EXTENSION pg_buffercache")
            started = time.perf_counter()
            await fill(engine, kind, args.history)
            built = time.perf_counter() - started
            async with meter_engine.connect() as meter:
                size = await table_size(meter, kind)
                print(f"{kind} {layout}: {args.history} cycles of {pdus * OUTLETS} outlets stored"
                      f" ({size}), filled in {built:.0f} s", flush=True)  # fmt: skip
                await timed_cycles(args, kind, url, meter, pdus)
        finally:
            await engine.dispose()
            await meter_engine.dispose()


async def table_size(meter: AsyncConnection, kind: str) -> str:
    if kind == "postgres":
        heap, index = await scalars(
            meter,
            "SELECT pg_relation_size('power_reading'), pg_indexes_size('power_reading')",
        )
        return f"heap {heap / MB:.0f} MB, indexes {index / MB:.0f} MB"
    data, index = await scalars(
        meter,
        "SELECT data_length, index_length FROM information_schema.tables"
        f" WHERE table_schema = '{NAME}' AND table_name = 'power_reading'",
    )
    return f"clustered {data / MB:.0f} MB, secondary {index / MB:.0f} MB"


async def timed_cycles(
    args: argparse.Namespace, kind: str, url: str, meter: AsyncConnection, pdus: int
) -> None:
    rng = random.Random(1)
    server_pid = 0
    if kind == "mariadb":
        pid_file = (await scalars(meter, "SELECT @@pid_file"))[0]
        server_pid = int(await asyncio.to_thread(Path(pid_file).read_text))
    db = Database.from_url(url)  # PowerMon's engine, as the daemon makes it
    try:
        for k in range(args.cycles + 1):
            c = args.history + k
            cycle = T0 + timedelta(seconds=c * STEP)
            rows = readings(pdus, rng, c)
            label = "warm-up" if k == 0 else f"cycle {k}"
            if kind == "postgres":
                ckpt = k % 2 == 0
                if ckpt:
                    await meter.exec_driver_sql("CHECKPOINT")
                line = await pg_cycle(db, meter, cycle, rows, args.wal_compression)
                mode = "after CHECKPOINT" if ckpt else "no checkpoint   "
                print(f"  {label:8} {mode} {line}", flush=True)
            else:
                line = await maria_cycle(db, meter, cycle, rows, server_pid)
                print(f"  {label:8} {line}", flush=True)
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=sorted(SERVERS), default="postgres")
    parser.add_argument("--history", type=int, default=32)
    parser.add_argument("--outlets", type=int, default=48_000)
    parser.add_argument("--cycles", type=int, default=6)
    parser.add_argument("--wal-compression", choices=["pglz", "lz4", "zstd"])
    parser.add_argument("layouts", nargs="*", metavar="LAYOUT")
    args = parser.parse_args()
    logging.getLogger("asyncmy").setLevel(logging.ERROR)  # "database doesn't exist" notes
    known = LAYOUTS[args.db]
    unknown = set(args.layouts) - known.keys()
    if unknown:
        parser.error(f"unknown layout(s) for {args.db}: {', '.join(sorted(unknown))}")
    for layout in args.layouts or known:
        asyncio.run(run(args, layout))


if __name__ == "__main__":
    main()
