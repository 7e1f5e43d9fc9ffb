"""Retention: raw rows go, rollups stay, and reports over pruned time do not change."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dbwrites import add_load
from powermond.cli import main
from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.repositories import MachineRepository
from powermond.db.retention import horizon, prune, pruned_before
from powermond.db.rollups import update_load_rollups_for
from powermond.readings import LoadSample, OutletReading
from powermond.report.plotdata import plot_data
from powermond.report.queries import report_rows

from .conftest import MakeInventory, stored_readings

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
HOURS = 4
PDUS = {"pdu-a": "192.0.2.1", "pdu-b": "192.0.2.2"}
MACHINES = {"wn001": ["pdu-a:1", "pdu-b:1"], "wn002": ["pdu-a:2"]}


async def _history(db: Database, make_inventory: MakeInventory) -> None:
    async with db.transaction() as session:
        await apply_inventory(session, make_inventory(PDUS, MACHINES))
    counter = 50.0
    for n in range(HOURS * 12):
        cycle = T0 + timedelta(seconds=300 * n)
        counter += 0.02 + n % 3 / 100
        readings = {
            "pdu-a": [OutletReading("1", 100.0 + n % 5, 0.4, counter),
                      OutletReading("2", 40.0 + n % 11, None, None)],
            "pdu-b": [OutletReading("1", 90.0 + n % 7, 0.4, None)],
        }  # fmt: skip
        await store_cycle(db, cycle, readings, interval=300)
    samples = [LoadSample(T0 + timedelta(seconds=300 * n), n % 4, 1.0, 2.0) for n in range(48)]
    async with db.transaction() as session:
        await add_load(session, "wn001", samples)
        machine_id = (await MachineRepository(session).ids()).get("wn001")
        assert machine_id is not None
        await update_load_rollups_for(session, [machine_id], samples[0].time, samples[-1].time)


def _figures(rows: list) -> list[tuple[object, ...]]:  # type: ignore[type-arg]
    return [
        (r.name, round(r.energy_kwh, 9), round(r.mean_watts, 9), r.peak_watts, r.readings,
         r.mean_load, r.load_samples, r.method)
        for r in rows
    ]  # fmt: skip


def test_horizon_is_a_whole_hour_and_zero_keeps() -> None:
    now = datetime(2026, 12, 1, 9, 41, 7, tzinfo=UTC)
    assert horizon(now, 400) == datetime(2025, 10, 27, 9, tzinfo=UTC)
    assert horizon(now, 0) is None


async def test_reports_over_pruned_hours_read_the_rollups(
    db: Database, make_inventory: MakeInventory
) -> None:
    await _history(db, make_inventory)
    hour = timedelta(hours=1)
    periods = [(T0, T0 + HOURS * hour), (T0 + hour, T0 + 3 * hour)]
    before = {}
    async with db.transaction() as session:
        assert await pruned_before(session) is None
        for since, until in periods:
            for by in ("machine", "pdu"):
                before[(since, by)] = _figures(await report_rows(session, since, until, by=by))
        plot_before = await plot_data(session, "wn001", T0, T0 + timedelta(hours=HOURS))
    kept = await stored_readings(db)

    cut = T0 + timedelta(hours=2, minutes=17)  # pruned up to its whole hour, 12:00
    result = await prune(db, cut, cut, batch=7)  # many small batches
    assert (result.readings, result.load) == (24 * 3, 24)
    horizon_s = (T0 + 2 * hour).timestamp()
    assert await stored_readings(db) == [r for r in kept if r[1] >= horizon_s]
    async with db.transaction() as session:
        assert await pruned_before(session) == T0 + 2 * hour
        for since, until in periods:
            for by in ("machine", "pdu"):
                after = _figures(await report_rows(session, since, until, by=by))
                assert after == before[(since, by)], (since, by)
        plot_after = await plot_data(session, "wn001", T0, T0 + timedelta(hours=HOURS))
    # Over pruned time a plot draws the hourly means; they match the raw readings' means.
    assert plot_after.resolution == "hour"
    assert plot_after.mean_watts == pytest.approx(plot_before.mean_watts)
    assert plot_after.peak_watts == plot_before.peak_watts
    assert not any(math.isnan(v) for v in plot_after.total.values)
    again = await prune(db, cut, cut)
    assert (again.readings, again.load) == (0, 0)


async def test_db_prune_command_prints_what_it_removed(
    db: Database,
    db_url: str,
    make_inventory: MakeInventory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _history(db, make_inventory)
    (tmp_path / "powermon.toml").write_text(f'[database]\nurl = "{db_url}"\n')
    before = (T0 + timedelta(hours=1)).isoformat()
    argv = ["--config-dir", str(tmp_path), "db", "prune", "--before", before]
    assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out
    assert "power readings: 36 removed from before 2025-03-01T11:00:00Z" in out
    assert "load samples: 12 removed from before 2025-03-01T11:00:00Z" in out
    argv = ["--config-dir", str(tmp_path), "db", "prune", "--before", "-1d"]  # relative, spaced
    assert await asyncio.to_thread(main, argv) == 0
    assert "power readings: 108 removed from before " in capsys.readouterr().out
