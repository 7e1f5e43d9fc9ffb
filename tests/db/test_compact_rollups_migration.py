"""Migration 0009 (compact rollups) converts the rollups made before it exactly, on SQLite,
MariaDB and PostgreSQL.

The database is made at revision 0007 as the code of that time made it: readings and cycle
rows through the repositories (tables 0009 does not touch), and rollup rows as 0007's code
stored them, floats by the energy rules (``powermond.energy``, which 0007's rollups matched to
1e-12). After the upgrade the rollups must be exactly what ``db.rollups.recompute`` builds from
the readings, to the last mW, Wh and half-millijoule; a downgrade gives the floats back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import DateTime, Double, Integer, column, insert, table, text

from powermond.db.apply import apply_inventory
from powermond.db.cycles import DAEMON, CycleRepository
from powermond.db.engine import Database
from powermond.db.migrate import current_revision, downgrade, head_revision, migrate
from powermond.db.reports import ReportRepository
from powermond.db.repositories import MachineRepository, ReadingRepository
from powermond.db.rollups import recompute
from powermond.db.rows import CycleRow
from powermond.energy import hour_of, tally_samples
from powermond.readings import OutletReading
from powermond.report.queries import report_rows

from .conftest import MakeInventory

T0 = datetime(2026, 10, 1, 10, 40, tzinfo=UTC)
STEP = timedelta(seconds=300)
PDUS = {"pdu-a": "192.0.2.1", "pdu-b": "192.0.2.2"}
MACHINES = {"wn001": ["pdu-a:1", "pdu-b:1"], "wn002": ["pdu-a:2"]}
TABLES = ("power_hourly", "machine_peak_hourly", "pdu_peak_hourly", "load_hourly")

OLD_HOURLY = table(
    "power_hourly",
    column("hour", DateTime()),
    *(column(n, Integer) for n in ("outlet_id", "machine_id", "machine_key", "readings")),
    column("watts_count", Integer),
    column("watts_sum", Double),
    column("watts_peak", Double),
    column("counter_kwh", Double),
    column("counter_intervals", Integer),
    column("integrated_kwh", Double),
    column("integrated_intervals", Integer),
)
OLD_LOAD = table(
    "load_hourly",
    column("machine_id", Integer),
    column("hour", DateTime()),
    column("samples", Integer),
    column("load1_sum", Double),
    column("load5_count", Integer),
    column("load5_sum", Double),
    column("load15_count", Integer),
    column("load15_sum", Double),
)


def _old_peaks(name: str, owner: str) -> object:
    return table(
        name, column(owner, Integer), column("hour", DateTime()), column("peak_watts", Double)
    )


def _naive(time: datetime) -> datetime:
    return time.astimezone(UTC).replace(tzinfo=None)


def _readings(n: int, counter: float) -> dict[str, list[OutletReading]]:
    """Counters (one reset), fractional watts, a missing watts value, unmapped pdu-b:2."""
    a = [
        OutletReading("1", 100.125 + n % 7, 0.5, counter),
        OutletReading("2", None if n % 9 == 4 else 50.3 + n % 5, None, None),
    ]
    b = [OutletReading("1", 200.0 - n, 0.9, None), OutletReading("2", 12.5, None, 3.0 + n / 100)]
    return {"pdu-a": a, "pdu-b": b}  # fmt: skip


async def _old_database(db: Database) -> list[dict[str, object]]:
    """Readings of six hours (a gap, a counter reset) and rollup rows as 0007 stored them."""
    counter = 100.0
    async with db.transaction() as session:
        for n in range(72):
            if n in (30, 31, 32):
                continue  # 15 minutes without readings: not bridged
            counter = 0.02 if n == 50 else counter + 0.03
            cycle = T0 + n * STEP
            stored = await ReadingRepository(session).add_cycle_many(cycle, _readings(n, counter))
            await CycleRepository(session).add(
                CycleRow(cycle, "c1", DAEMON, 300.0, 2, 0, stored.added)
            )
        since, until = hour_of(T0), hour_of(T0) + timedelta(hours=8)
        samples = await ReportRepository(session).samples(since, until)
        spacing = await CycleRepository(session).spacing(since, until)
        tallies = tally_samples(
            samples, since, until, spacing, lambda s: (s.outlet, s.machine, hour_of(s.time))
        )
        rows = [
            {"hour": _naive(h), "outlet_id": o, "machine_id": m, "machine_key": m or 0,
             **t.as_dict()}
            for (o, m, h), t in sorted(tallies.items(), key=str)
        ]  # fmt: skip
        await session.execute(insert(OLD_HOURLY), rows)
        sums: dict[tuple[str, int, datetime], float] = {}
        for s in samples:
            for kind, owner in (("machine", s.machine), ("pdu", s.pdu)):
                if owner is not None and s.watts is not None:
                    key = (kind, owner, s.time)
                    sums[key] = sums.get(key, 0.0) + s.watts
        peaks: dict[tuple[str, int, datetime], float] = {}
        for (kind, owner, time), total in sums.items():
            key = (kind, owner, hour_of(time))
            peaks[key] = max(peaks.get(key, total), total)
        for kind in ("machine", "pdu"):
            target = _old_peaks(f"{kind}_peak_hourly", f"{kind}_id")
            values = [
                {f"{kind}_id": owner, "hour": _naive(hour), "peak_watts": peak}
                for (k, owner, hour), peak in peaks.items()
                if k == kind
            ]
            await session.execute(insert(target), values)  # type: ignore[arg-type]
        wn001 = (await MachineRepository(session).ids()).get("wn001")
        load = [
            {"machine_id": wn001, "hour": _naive(hour_of(T0) + timedelta(hours=h)), "samples": 12,
             "load1_sum": 3.3 + h, "load5_count": 11, "load5_sum": 2.2, "load15_count": 0,
             "load15_sum": 0.0}
            for h in range(3)
        ]  # fmt: skip
        await session.execute(insert(OLD_LOAD), load)
    return rows


async def _rows(db: Database) -> dict[str, list[tuple[object, ...]]]:
    found: dict[str, list[tuple[object, ...]]] = {}
    async with db.transaction() as session:
        for name in TABLES:
            result = await session.execute(text(f"SELECT * FROM {name}"))
            found[name] = sorted(tuple(r) for r in result)
    return found


@pytest.mark.timeout(240)
async def test_upgrade_converts_old_rollups_exactly(
    db_url: str, make_inventory: MakeInventory
) -> None:
    await migrate(db_url, "0007")
    db = Database.from_url(db_url)
    try:
        async with db.transaction() as session:
            await apply_inventory(session, make_inventory(PDUS, MACHINES))
        old = await _old_database(db)
    finally:
        await db.dispose()

    await migrate(db_url)
    assert await current_revision(db_url) == head_revision()
    db = Database.from_url(db_url)
    try:
        converted = await _rows(db)
        assert len(converted["power_hourly"]) == len(old)
        assert len(converted["load_hourly"]) == 3
        async with db.transaction() as session:
            await recompute(session, hour_of(T0), hour_of(T0) + timedelta(hours=8))
        rebuilt = await _rows(db)
        # What the new rule builds from the readings is what the conversion made, exactly.
        assert rebuilt["power_hourly"] == converted["power_hourly"]
        assert rebuilt["machine_peak_hourly"] == converted["machine_peak_hourly"]
        assert rebuilt["pdu_peak_hourly"] == converted["pdu_peak_hourly"]
        async with db.transaction() as session:
            since, until = T0 + timedelta(minutes=7), T0 + timedelta(hours=5, minutes=3)
            fast = await report_rows(session, since, until)
            slow = await report_rows(session, since, until, use_rollups=False)
        assert [r.name for r in fast] == ["wn001", "wn002"]
        for f, s in zip(fast, slow, strict=True):
            assert (f.readings, f.method) == (s.readings, s.method)
            assert f.energy_kwh == pytest.approx(s.energy_kwh, rel=1e-9)
            assert f.peak_watts == pytest.approx(s.peak_watts, rel=1e-12)
    finally:
        await db.dispose()

    await downgrade(db_url, "0007")  # the floats come back ...
    db = Database.from_url(db_url)
    try:
        async with db.transaction() as session:
            back = await session.execute(
                text("SELECT outlet_id, machine_key, watts_sum, counter_kwh, integrated_kwh,"
                     " watts_peak FROM power_hourly")
            )  # fmt: skip
            found = sorted(tuple(r) for r in back)
    finally:
        await db.dispose()
    want = sorted(
        (r["outlet_id"], r["machine_key"], r["watts_sum"], r["counter_kwh"], r["integrated_kwh"],
         r["watts_peak"])
        for r in old
    )  # fmt: skip
    assert len(found) == len(want)
    for got, expected in zip(found, want, strict=True):
        assert got[:2] == expected[:2]
        for value, wanted in zip(got[2:], expected[2:], strict=True):
            assert value == (wanted if wanted is None else pytest.approx(wanted, rel=1e-12))
    await migrate(db_url)  # ... and forward again: the same integers
    db = Database.from_url(db_url)
    try:
        assert await _rows(db) == converted
    finally:
        await db.dispose()
