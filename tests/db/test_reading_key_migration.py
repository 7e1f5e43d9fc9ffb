"""Migrations 0013 (SQLite readings keyed (cycle, outlet_id), no index), 0014 (MariaDB's,
already keyed so, lose their index by outlet and the foreign key to outlet) and 0015
(PostgreSQL's keyed (cycle, outlet_id), without the BRIN index and the foreign key) keep
every reading, and the readers of some outlets' readings find the same rows on the new
layout without scanning the readings (their query plans); each a no-op elsewhere."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, make_url

from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.catalog import MachineReadings, OutletRepository
from powermond.db.engine import Database
from powermond.db.errors import DatabaseError
from powermond.db.migrate import current_revision, downgrade, head_revision, migrate
from powermond.db.reports import ReportRepository
from powermond.db.rollups import close_due_hours
from powermond.readings import OutletReading
from powermond.status_queries import StatusQueries

from .conftest import MakeInventory, stored_readings

T0 = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
STEP = 300
PDUS = {"pdu-a": "192.0.2.1", "pdu-b": "192.0.2.2", "pdu-c": "192.0.2.3"}
MACHINES = {"wn001": ["pdu-a:1", "pdu-b:1"], "wn002": ["pdu-a:2"], "wn003": ["pdu-c:1"]}


Layout = tuple[list[str], list[tuple[str, list[str]]], bool, list[tuple[list[str], str]]]


async def _layout(db: Database) -> Layout:
    """power_reading's primary key, indexes, whether outlet_last_hour exists, and
    power_reading's foreign keys (columns, referred table)."""

    def read(connection: Connection) -> Layout:
        found = inspect(connection)
        key = found.get_pk_constraint("power_reading")["constrained_columns"]
        indexes = sorted((i["name"], i["column_names"]) for i in found.get_indexes("power_reading"))
        keys = sorted(
            (k["constrained_columns"], k["referred_table"])
            for k in found.get_foreign_keys("power_reading")
        )
        return key, indexes, found.has_table("outlet_last_hour"), keys

    async with db.engine.connect() as connection:
        return await connection.run_sync(read)


async def _write_old_readings(db: Database) -> None:
    """Readings as revision 0012 stores them, by plain SQL: pdu-c only in the first hour
    (then down), pdu-b missing at cycle 20, the last cycle at 13:55."""
    async with db.transaction() as session:
        pdus = dict((await session.execute(text("SELECT name, id FROM pdu"))).all())
        machines = dict((await session.execute(text("SELECT name, id FROM machine"))).all())
        feeds = {
            ("pdu-a", "1"): "wn001", ("pdu-a", "2"): "wn002", ("pdu-b", "1"): "wn001",
            ("pdu-c", "1"): "wn003",
        }  # fmt: skip
        known = set((await session.execute(text("SELECT pdu_id, label FROM outlet"))).all())
        for (pdu, label), machine in feeds.items():  # as a first cycle would
            if (pdus[pdu], label) not in known:
                await session.execute(
                    text("INSERT INTO outlet (pdu_id, label, machine_id) VALUES (:p, :l, :m)"),
                    {"p": pdus[pdu], "l": label, "m": machines[machine]},
                )
        pairs = await session.execute(text("SELECT label, pdu_id, id FROM outlet"))
        ids = {f"{label}@{pdu_id}": outlet for label, pdu_id, outlet in pairs}
        rows = []
        for n in range(48):
            t = int(T0.timestamp()) + n * STEP
            for (pdu, label), machine in feeds.items():
                if (pdu == "pdu-c" and n >= 12) or (pdu == "pdu-b" and n == 20):
                    continue
                outlet = ids[f"{label}@{pdus[pdu]}"]
                rows.append(
                    {"c": t, "o": outlet, "m": machines[machine], "w": 1000 * (100 + n + outlet),
                     "a": 500, "e": 10_000 + 30 * n}
                )  # fmt: skip
        await session.execute(
            text(
                "INSERT INTO power_reading (cycle, outlet_id, machine_id, watts, amps, energy_kwh)"
                " VALUES (:c, :o, :m, :w, :a, :e)"
            ),
            rows,
        )
        when = [{"t": datetime.fromtimestamp(r, UTC).replace(tzinfo=None)} for r in
                sorted({row["c"] for row in rows})]  # fmt: skip
        await session.execute(
            text(
                "INSERT INTO cycle (time, collector, origin, interval_s, pdus_polled,"
                " pdus_failed, readings) VALUES (:t, 'c', 'daemon', 300, 3, 0, 4)"
            ),
            when,
        )


async def _read_all(db: Database) -> dict[str, Any]:
    """What the per-outlet readers give."""
    async with db.transaction() as session:
        status = StatusQueries(session)
        latest = [(m.machine, m.last_reading) for m in await status.machine_latest()]
        partial = [(p.machine, p.cycle, p.missing) for p in await status.partial_machines()]
        outlets = {
            pdu: [(o.label, o.machine, o.last_time, o.last_watts) for o in
                  await OutletRepository(session).list_for_pdu(pdu)]
            for pdu in PDUS
        }  # fmt: skip
        readings = {
            m: await MachineReadings(session).between(
                m, T0 + timedelta(minutes=50), T0 + timedelta(hours=3, minutes=2)
            )
            for m in MACHINES
        }
        repo = ReportRepository(session)
        pdu_b = await session.scalar(text("SELECT id FROM pdu WHERE name = 'pdu-b'"))
        samples = await repo.samples(
            T0 + timedelta(minutes=30), T0 + timedelta(hours=2), pdu_id=pdu_b
        )
    return {"latest": latest, "partial": partial, "outlets": outlets, "readings": readings,
            "samples": samples}  # fmt: skip


async def _reference(db: Database) -> dict[str, Any]:
    """What the readers must find, by plain SQL on any layout (a scan is fine here)."""
    async with db.transaction() as session:
        latest = (
            await session.execute(
                text(
                    "SELECT m.name, max(r.cycle) FROM machine AS m JOIN outlet AS o"
                    " ON o.machine_id = m.id LEFT JOIN power_reading AS r ON r.outlet_id = o.id"
                    " GROUP BY m.name ORDER BY m.name"
                )
            )
        ).all()
        outlets = (
            await session.execute(
                text(
                    "SELECT p.name, o.label, (SELECT max(cycle) FROM power_reading"
                    " WHERE outlet_id = o.id) AS t FROM outlet AS o JOIN pdu AS p"
                    " ON p.id = o.pdu_id ORDER BY p.name, o.label"
                )
            )
        ).all()
        s0 = int((T0 + timedelta(minutes=50)).timestamp())
        s1 = int((T0 + timedelta(hours=3, minutes=2)).timestamp())
        readings = (
            await session.execute(
                text(
                    "SELECT m.name, r.cycle, r.watts FROM power_reading AS r JOIN machine AS m"
                    " ON m.id = r.machine_id WHERE r.cycle >= :s0 AND r.cycle < :s1"
                ),
                {"s0": s0, "s1": s1},
            )
        ).all()
    return {
        "latest": [(m, None if t is None else datetime.fromtimestamp(t, UTC)) for m, t in latest],
        "outlets": sorted((p, label, datetime.fromtimestamp(t, UTC)) for p, label, t in outlets),
        "readings": sorted((m, datetime.fromtimestamp(t, UTC), w / 1000) for m, t, w in readings),
    }


def _as_reference(found: dict[str, Any]) -> dict[str, Any]:
    return {
        "latest": found["latest"],
        "outlets": sorted(
            (pdu, label, t) for pdu, rows in found["outlets"].items() for label, _, t, _ in rows
        ),
        "readings": sorted(
            (m, r.time, r.watts) for m, rows in found["readings"].items() for r in rows
        ),
    }


@pytest.mark.timeout(240)
async def test_upgrade_keeps_every_reading_and_what_readers_find(
    db_url: str, make_inventory: MakeInventory
) -> None:
    await migrate(db_url, "0012")
    async with Database.from_url(db_url) as db:
        async with db.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, MACHINES))
        await _write_old_readings(db)
        before = await stored_readings(db)
        expected = await _reference(db)
        old_layout = await _layout(db)
    assert len(before) == 48 * 4 - 36 - 1
    assert expected["latest"][2] == ("wn003", T0 + 11 * timedelta(seconds=STEP))

    await migrate(db_url)
    assert await current_revision(db_url) == head_revision()
    async with Database.from_url(db_url) as db:
        assert await stored_readings(db) == before  # every reading, every value
        found = await _read_all(db)
        assert _as_reference(found) == expected == await _reference(db)
        assert found["partial"] == []
        assert len(found["samples"]) == 18 - 1  # pdu-b's, 10:30 to 12:00, 11:40 missing
        layout = await _layout(db)
        to_outlet = [(["outlet_id"], "outlet")]
        if db.dialect == "sqlite":  # 0013
            assert old_layout == (
                ["outlet_id", "cycle"],
                [("ix_power_reading_cycle", ["cycle"])],
                False,
                to_outlet,
            )
            assert layout == (["cycle", "outlet_id"], [], True, [])  # 0017: no foreign key
        elif db.dialect == "postgresql":  # 0015: the key by cycle, nothing else
            assert old_layout == (
                ["outlet_id", "cycle"],
                [("ix_power_reading_cycle", ["cycle"])],
                False,
                to_outlet,
            )
            assert layout == (["cycle", "outlet_id"], [], True, [])
        else:  # 0014: the same key, no index by outlet, no foreign key
            assert old_layout == (
                ["cycle", "outlet_id"],
                [("ix_power_reading_outlet_id_cycle", ["outlet_id", "cycle"])],
                False,
                to_outlet,
            )
            assert layout == (["cycle", "outlet_id"], [], True, [])
        async with db.transaction() as session:
            hours = dict((await session.execute(text("SELECT * FROM outlet_last_hour"))).all())
        assert (
            sorted(hours.values())
            == [int(T0.timestamp()) // 3600] + [int(T0.timestamp()) // 3600 + 3] * 3
        )

    # And back: the old layout, every reading (the servers: the index and foreign key back).
    back = {"sqlite": "0012", "mysql": "0013", "postgresql": "0014"}
    await downgrade(db_url, back[make_url(db_url).get_backend_name()])
    async with Database.from_url(db_url) as db:
        assert await stored_readings(db) == before
        assert await _layout(db) == old_layout


# A plan line that reads the readings' table from end to end (rather than a SEARCH of its
# key); the close reads readings as "r", "r_fed", and pairs them as "a", "b1", "bx", "c".
_SCAN = re.compile(r"\bSCAN (power_reading|r|r_fed|a|b1|bx|c)\b")


@contextmanager
def _plans(db: Database) -> Iterator[list[tuple[str, list[str]]]]:
    """The query plan of every statement on the readings run inside (SQLite)."""
    found: list[tuple[str, list[str]]] = []

    def explain(connection: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "power_reading" not in statement or not statement.lstrip().upper().startswith(
            ("SELECT", "WITH", "INSERT")
        ):
            return
        if statement.lstrip().upper().startswith("INSERT") and "SELECT" not in statement:
            return
        plan = connection.connection.driver_connection  # aiosqlite: its sqlite3 connection
        rows = plan._conn.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
        found.append((statement, [row[-1] for row in rows]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", explain)
    try:
        yield found
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", explain)


@contextmanager
def _statements(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """Every statement on the readings run inside, as sent to the driver, with its
    parameters (MariaDB: explained afterwards, the driver being asynchronous)."""
    found: list[tuple[str, Any]] = []

    def keep(connection: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        head = statement.lstrip().upper()
        if "power_reading" not in statement or not head.startswith(("SELECT", "WITH", "INSERT")):
            return
        if head.startswith("INSERT") and "SELECT" not in head:
            return
        found.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", keep)
    try:
        yield found
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", keep)


async def _mariadb_plans(db: Database, statements: list[tuple[str, Any]]) -> list[Any]:
    """MariaDB's EXPLAIN of each statement: (statement, [(table, select_type, type, key)])."""
    plans = []
    async with db.engine.connect() as connection:
        for statement, parameters in statements:
            rows = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            found = [(r.table, r.select_type, r.type, r.key) for r in rows]
            plans.append((statement, found))
    return plans


async def _fill_other_pdu(db: Database, outlets: int = 1000) -> None:
    """A PDU of ``outlets`` unmapped outlets with a reading at each of the 30 cycles, by
    plain SQL: tables of a size a server's planner plans as in service (of a few dozen
    rows it reads them whole, as it should)."""
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO pdu (name, host, port, profile, snmp_version, created_at)"
                " VALUES ('big', '192.0.2.9', 161, 'x', '2c', :t)"
            ),
            {"t": T0.replace(tzinfo=None)},
        )
        big = await session.scalar(text("SELECT id FROM pdu WHERE name = 'big'"))
        await session.execute(
            text("INSERT INTO outlet (pdu_id, label) VALUES (:p, :l)"),
            [{"p": big, "l": str(n)} for n in range(1, outlets + 1)],
        )
        ids = (
            await session.scalars(text("SELECT id FROM outlet WHERE pdu_id = :p"), {"p": big})
        ).all()
        await session.execute(
            text("INSERT INTO power_reading (cycle, outlet_id, watts) VALUES (:c, :o, 1000)"),
            [{"c": int(T0.timestamp()) + n * STEP, "o": o} for n in range(30) for o in ids],
        )


async def _store_and_close(db: Database) -> None:
    """30 cycles (pdu-c only in the first 6), their hours closed."""
    for n in range(30):
        readings = {
            "pdu-a": [
                OutletReading("1", 100.0 + n, 0.5, 10.0 + n),
                OutletReading("2", 50.0, None, None),
            ],
            "pdu-b": [OutletReading("1", 200.0, 0.9, None)],
        }
        if n < 6:
            readings["pdu-c"] = [OutletReading("1", 70.0, None, None)]
        await store_cycle(db, T0 + timedelta(seconds=STEP * n), readings, interval=STEP)


async def _close_and_read(db: Database) -> None:
    """Close the first hour again, run every reader of some outlets' readings and a
    machine's hours (one of them open), and check what they found."""
    async with db.transaction() as session:
        await session.execute(text("INSERT INTO open_hour VALUES (:h)"),
                              {"h": int(T0.timestamp()) // 3600})  # fmt: skip
        await close_due_hours(session)
    found = await _read_all(db)
    async with db.transaction() as session:  # a machine's hours, one of them open
        await session.execute(text("INSERT INTO open_hour VALUES (:h)"),
                              {"h": int(T0.timestamp()) // 3600 + 1})  # fmt: skip
        repo = ReportRepository(session)
        wn001 = await repo.machine_id("wn001")
        assert wn001 is not None
        hours = await repo.feed_hours(wn001, T0, T0 + timedelta(hours=3))
        peaks = await repo.machine_peak_hours(wn001, T0, T0 + timedelta(hours=3))
    assert len(hours) == 2 * 3
    assert len(peaks) == 3
    assert found["latest"][2] == ("wn003", T0 + timedelta(seconds=5 * STEP))
    assert [o[2] for o in found["outlets"]["pdu-c"]] == [T0 + timedelta(seconds=5 * STEP)]
    assert len(found["readings"]["wn001"]) == 2 * 20  # 10:50 to 12:25


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "db_url", [pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True
)
async def test_mariadb_readers_use_the_key(db: Database, make_inventory: MakeInventory) -> None:
    """MariaDB (0014): no reader of some outlets' readings nor the hourly close reads all of
    power_reading (EXPLAIN type ALL or index), an index other than its primary key, or a
    range in a dependent subquery (there MariaDB bounds the range by constants alone: a
    recursive CTE listing times read the key from the start once per time)."""
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory(PDUS, MACHINES))
    await _fill_other_pdu(db)
    await _store_and_close(db)
    async with db.engine.connect() as connection:  # statistics, as a live server has them
        await connection.exec_driver_sql("ANALYZE TABLE power_reading, outlet")
    with _statements(db) as statements:
        await _close_and_read(db)
    plans = await _mariadb_plans(db, statements)
    assert plans
    readings = ("power_reading", "r", "r_fed")
    bad = [
        (statement, plan)
        for statement, plan in plans
        for table, select_type, kind, key in plan
        if table in readings
        and (
            kind in ("ALL", "index")
            or key not in (None, "PRIMARY")
            or ("DEPENDENT" in select_type and kind == "range")
        )
    ]
    assert bad == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_sqlite_readers_seek_the_key(db: Database, make_inventory: MakeInventory) -> None:
    """No reader of some outlets' readings (status, ``pdus``/outlets, a machine's readings,
    a PDU's samples) nor the hourly close scans power_reading: each seeks (cycle, outlet_id)
    or reads one range of cycles."""
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory(PDUS, MACHINES))
    await _store_and_close(db)
    with _plans(db) as plans:
        async with db.transaction() as session:
            assert await close_due_hours(session) == 0  # store_cycle closed them
            await session.execute(text("INSERT INTO open_hour VALUES (:h)"),
                                  {"h": int(T0.timestamp()) // 3600})  # fmt: skip
            await close_due_hours(session)
        found = await _read_all(db)
    assert found["latest"][2] == ("wn003", T0 + timedelta(seconds=5 * STEP))
    assert [o[2] for o in found["outlets"]["pdu-c"]] == [T0 + timedelta(seconds=5 * STEP)]
    assert len(found["readings"]["wn001"]) == 2 * 20  # 10:50 to 12:25
    assert plans
    scans = [(statement, plan) for statement, plan in plans if any(map(_SCAN.search, plan))]
    assert scans == []
    # The hour's rows, each reading paired with its next by seeks, come in the order their
    # GROUP BY wants: no temporary B-tree, no window's co-routine (rollup_sqlite._paired_hour).
    paired = [plan for statement, plan in plans if "AS b1" in statement]
    assert paired
    assert [
        line for plan in paired for line in plan if "TEMP B-TREE" in line or "CO-ROUTINE" in line
    ] == []


def _pg_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a PostgreSQL plan (EXPLAIN (FORMAT JSON)), subplans and CTEs too."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from _pg_nodes(child)


async def _postgresql_plans(db: Database, statements: list[tuple[str, Any]]) -> list[Any]:
    """PostgreSQL's EXPLAIN of each statement: (statement, [node of power_reading]). A
    query is run (ANALYZE, in a transaction rolled back): without it PostgreSQL 15 leaves
    out the subplan of a recursive CTE's step, the probe of the next time."""
    plans = []
    async with db.engine.connect() as connection:
        for statement, parameters in statements:
            run = "" if statement.lstrip().upper().startswith("INSERT") else "ANALYZE, "
            rows = await connection.exec_driver_sql(
                f"EXPLAIN ({run}FORMAT JSON) {statement}", parameters
            )
            found = rows.scalar()
            plan = (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]
            nodes = [n for n in _pg_nodes(plan) if n.get("Relation Name") == "power_reading"]
            plans.append((statement, nodes))
        await connection.rollback()
    return plans


async def _fill_history(db: Database, cycles: int = 576, outlets: int = 400) -> None:
    """Two days of readings of the 'big' PDU's first ``outlets`` outlets before T0, by the
    server: a history long enough that a period of hours is a small part of it, as in
    service (PostgreSQL then reads a range of its key, as it should not on a table of a
    few cycles)."""
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO power_reading (cycle, outlet_id, watts)"
                " SELECT :t0 - c * :step, o.id, 1000 FROM generate_series(1, :n) AS c"
                " CROSS JOIN (SELECT id FROM outlet WHERE pdu_id ="
                " (SELECT id FROM pdu WHERE name = 'big') ORDER BY id LIMIT :k) AS o"
                " ORDER BY 1, 2"
            ),
            {"t0": int(T0.timestamp()), "step": STEP, "n": cycles, "k": outlets},
        )


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_postgresql_readers_read_the_key(db: Database, make_inventory: MakeInventory) -> None:
    """PostgreSQL (0015): no reader of some outlets' readings nor the hourly close reads
    power_reading other than by its key (cycle, outlet_id), with a condition on cycle: no
    Seq Scan, and every index scan of it has cycle in its index condition (a range, a
    value, or a list of them)."""
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory(PDUS, MACHINES))
    await _fill_other_pdu(db)
    await _fill_history(db)
    await _store_and_close(db)
    async with db.engine.connect() as connection:  # statistics, as a live server has them
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql("VACUUM ANALYZE power_reading, outlet")
    with _statements(db) as statements:
        await _close_and_read(db)
    plans = await _postgresql_plans(db, statements)
    assert plans
    assert all(nodes for _, nodes in plans)  # each statement's reads of the readings
    bad = [
        (statement, node["Node Type"], node.get("Index Cond") or node.get("Recheck Cond"))
        for statement, nodes in plans
        for node in nodes
        if node["Node Type"] not in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan")
        or "cycle" not in (node.get("Index Cond") or node.get("Recheck Cond") or "")
    ]
    assert bad == []


async def _sqlite_table_and_check(db: Database) -> tuple[str, list[str]]:
    """power_reading's CREATE statement as SQLite keeps it, and a whole integrity_check."""
    async with db.engine.connect() as connection:
        created = await connection.scalar(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'power_reading'")
        )
        checked = (await connection.execute(text("PRAGMA integrity_check"))).scalars().all()
    return str(created), list(checked)


@pytest.mark.timeout(120)
async def test_0017_drops_sqlite_readings_foreign_key_and_keeps_every_reading(
    db_url: str, make_inventory: MakeInventory
) -> None:
    """0017 removes SQLite's foreign key of the readings to outlet in place (the table's
    CREATE statement rewritten, no reading copied), its downgrade puts it back as it was,
    and neither loses a reading nor leaves the file failing integrity_check; a downgrade
    with a reading of an unknown outlet refuses. A no-op on the servers (0014, 0015)."""
    await migrate(db_url, "0016")
    async with Database.from_url(db_url) as db:
        async with db.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, MACHINES))
        await _store_and_close(db)
        before, old_layout = await stored_readings(db), await _layout(db)
        sqlite = db.dialect == "sqlite"
        old_table = await _sqlite_table_and_check(db) if sqlite else None
    assert len(before) == 30 * 3 + 6

    await migrate(db_url, "0017")
    assert await current_revision(db_url) == "0017"
    async with Database.from_url(db_url) as db:
        assert await stored_readings(db) == before
        layout = await _layout(db)
        assert layout == ((*old_layout[:3], []) if sqlite else old_layout)
        if sqlite:
            assert old_layout[3] == [(["outlet_id"], "outlet")]
            created, checked = await _sqlite_table_and_check(db)
            assert checked == ["ok"]
            assert old_table is not None
            assert created != old_table[0]
            assert "FOREIGN KEY" not in created
        async with db.transaction() as session:  # no key refuses a reading of no outlet
            await session.execute(
                text("INSERT INTO power_reading (cycle, outlet_id, watts) VALUES (1, 99999, 1)")
            )

    if not sqlite:
        await downgrade(db_url, "0016")
        async with Database.from_url(db_url) as db:
            assert await _layout(db) == old_layout
        return
    with pytest.raises(RuntimeError, match="outlets that do not exist"):
        await downgrade(db_url, "0016")
    assert await current_revision(db_url) == "0017"
    async with Database.from_url(db_url) as db, db.transaction() as session:
        await session.execute(text("DELETE FROM power_reading WHERE outlet_id = 99999"))
    await downgrade(db_url, "0016")
    async with Database.from_url(db_url) as db:
        assert await stored_readings(db) == before
        assert await _layout(db) == old_layout
        assert await _sqlite_table_and_check(db) == old_table
        with pytest.raises(DatabaseError, match="FOREIGN KEY"):
            async with db.transaction() as session:
                await session.execute(
                    text("INSERT INTO power_reading (cycle, outlet_id) VALUES (1, 99999)")
                )


async def _fillfactor(db: Database) -> list[str] | None:
    async with db.transaction() as session:
        found = await session.scalar(
            text("SELECT reloptions FROM pg_class WHERE relname = 'outlet_last_hour'")
        )
    return None if found is None else list(found)


@pytest.mark.timeout(120)
async def test_0018_gives_postgresql_outlet_last_hour_free_pages(
    db_url: str, make_inventory: MakeInventory
) -> None:
    """0018 sets PostgreSQL's outlet_last_hour's fillfactor to 50 and rewrites the table
    (its rows kept), so each close's raise of it is a HOT update; the downgrade resets it.
    A no-op on SQLite and MariaDB."""
    await migrate(db_url, "0017")
    async with Database.from_url(db_url) as db:
        async with db.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, MACHINES))
        await _store_and_close(db)
        before = await _last_hours(db)
        postgresql = db.dialect == "postgresql"
        if postgresql:
            assert await _fillfactor(db) is None
    assert before
    await migrate(db_url)
    assert await current_revision(db_url) == "0018" == head_revision()
    async with Database.from_url(db_url) as db:
        assert await _last_hours(db) == before
        if postgresql:
            assert await _fillfactor(db) == ["fillfactor=50"]
            async with db.transaction() as session:
                clustered = await session.scalar(
                    text("SELECT count(*) FROM pg_index WHERE indisclustered")
                )
            assert clustered == 0
    await downgrade(db_url, "0017")
    async with Database.from_url(db_url) as db:
        assert await _last_hours(db) == before
        if postgresql:
            assert await _fillfactor(db) is None


async def _last_hours(db: Database) -> list[tuple[int, int]]:
    async with db.transaction() as session:
        rows = await session.execute(text("SELECT outlet_id, hour FROM outlet_last_hour"))
        return sorted((int(o), int(h)) for o, h in rows)
