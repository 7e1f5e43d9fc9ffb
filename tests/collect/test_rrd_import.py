"""The import run against real rrdtool files and real databases."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rrdfiles import LAYOUTS, PRE_33, create_host, feed_host, make_host

from powermond.collect.loadimport import ImportSummary, import_load
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.repositories import LoadRepository
from powermond.inventory.model import Inventory, MachineConfig, OutletRef, PduConfig
from powermond.readings import LoadSample
from powermond.settings import RrdSettings
from schema_clone import migrated

T0 = 1767571200  # 2026-01-05 00:00:00 UTC, a multiple of 300, 360 and 1800
HOUR = 3600
SETTLE = 60  # the importer leaves the last minute alone


def utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def inventory(machines: Iterable[tuple[str, str | None]]) -> Inventory:
    pdu = PduConfig(name="p1", host="127.0.0.1", profile="apc-rpdu2")
    configs = {
        name: MachineConfig(name=name, outlets=(OutletRef(pdu="p1", label=str(i)),), rrd=rrd)
        for i, (name, rrd) in enumerate(machines, start=1)
    }
    return Inventory(pdus={"p1": pdu}, machines=configs)


async def open_db(url: str, machines: Iterable[tuple[str, str | None]]) -> Database:
    await migrated(url)  # a fresh database at the newest revision (tests/schema_clone.py)
    db = Database.from_url(url)
    async with db.transaction() as session:
        await apply_inventory(session, inventory(machines))
    return db


async def stored(db: Database, machine: str) -> list[LoadSample]:
    async with db.transaction() as session:
        return await LoadRepository(session).between(machine, utc(0), utc(T0 + 100 * HOUR))


@pytest.fixture
async def sqlite_db(sqlite_url: str) -> AsyncIterator[Database]:
    db = await open_db(sqlite_url, [("wn001", None), ("wn002", None), ("wn003", None)])
    yield db
    await db.dispose()


def blocks(t: int) -> tuple[float | None, float | None, float | None]:
    """Constant per 30-min block b: load1 = b/2 (mod 5), load5 1.25, load15 unknown in b = 2;
    nothing at all is written in b = 3 (the host is down)."""
    block = (t - 1 - T0) // 1800
    if block == 3:
        return (None, None, None)
    return ((block % 5) / 2, 1.25, None if block == 2 else 0.75)


def expected_blocks(until: int) -> list[tuple[int, float, float, float | None]]:
    rows = []
    for label in range(T0 + 300, until + 1, 300):
        block = (label - 1 - T0) // 1800
        if block != 3:
            rows.append((label, (block % 5) / 2, 1.25, None if block == 2 else 0.75))
    return rows


def as_tuples(samples: list[LoadSample]) -> list[tuple[int, float | None, ...]]:
    return [(int(s.time.timestamp()), s.load1, s.load5, s.load15) for s in samples]


async def test_both_layouts_import_exact_block_averages_on_each_dialect(
    db_url: str, tmp_path: Path
) -> None:
    if db_url.startswith("postgresql"):
        pytest.skip("the import is dialect-neutral; SQLite and MariaDB cover it")
    end = T0 + 4 * HOUR
    make_host(tmp_path, "old", "wn001", T0, end, blocks, LAYOUTS["pre-3.3"])
    make_host(tmp_path, "new", "WN002", T0, end, blocks, LAYOUTS["3.3+"])
    db = await open_db(db_url, [("wn001", None), ("wn002", None)])
    try:
        settings = RrdSettings(root=tmp_path, backfill_days=1)
        first = await import_load(
            db, settings, [("wn001", None), ("wn002", None)], now=utc(end + SETTLE)
        )
        # 48 buckets in 4 h, 6 of them in the block where the host was down.
        assert first == ImportSummary(machines=2, rows=2 * 42, skipped=0, errors=0)
        for machine in ("wn001", "wn002"):
            assert as_tuples(await stored(db, machine)) == expected_blocks(end)
        again = await import_load(
            db, settings, [("wn001", None), ("wn002", None)], now=utc(end + SETTLE)
        )
        assert again == ImportSummary(machines=2, rows=0, skipped=0, errors=0)
    finally:
        await db.dispose()


def steady(t: int) -> tuple[float, float, float]:
    return (0.5, 0.75, 1.0)


async def test_first_run_backfills_and_later_runs_continue(
    sqlite_db: Database, tmp_path: Path
) -> None:
    host = make_host(tmp_path, "c", "wn001", T0, T0 + 2 * HOUR, steady)
    settings = RrdSettings(root=tmp_path, backfill_days=1)
    machines = [("wn001", None)]
    first = await import_load(sqlite_db, settings, machines, now=utc(T0 + 2 * HOUR + SETTLE))
    # The day before T0 has no data: nothing stored for it, not even zeros.
    assert first.rows == 24
    feed_host(host, T0 + 2 * HOUR + 15, T0 + 3 * HOUR, steady)
    second = await import_load(sqlite_db, settings, machines, now=utc(T0 + 3 * HOUR + SETTLE))
    assert second.rows == 12
    samples = await stored(sqlite_db, "wn001")
    assert [int(s.time.timestamp()) for s in samples] == list(
        range(T0 + 300, T0 + 3 * HOUR + 1, 300)
    )
    assert {(s.load1, s.load5, s.load15) for s in samples} == {(0.5, 0.75, 1.0)}


async def test_a_bucket_is_imported_after_it_has_settled(
    sqlite_db: Database, tmp_path: Path
) -> None:
    make_host(tmp_path, "c", "wn001", T0, T0 + HOUR, steady)
    settings = RrdSettings(root=tmp_path, backfill_days=1)
    early = await import_load(sqlite_db, settings, [("wn001", None)], now=utc(T0 + HOUR + 30))
    assert early.rows == 11  # the bucket ending at T0 + 1 h is still being written
    late = await import_load(sqlite_db, settings, [("wn001", None)], now=utc(T0 + HOUR + SETTLE))
    assert late.rows == 1


async def test_a_host_that_appears_later_is_picked_up(sqlite_db: Database, tmp_path: Path) -> None:
    make_host(tmp_path, "c", "wn001", T0, T0 + HOUR, steady)
    settings = RrdSettings(root=tmp_path, backfill_days=1)
    machines = [("wn001", None), ("wn002", None)]
    first = await import_load(sqlite_db, settings, machines, now=utc(T0 + HOUR + SETTLE))
    assert first == ImportSummary(machines=1, rows=12, skipped=1, errors=0)
    make_host(tmp_path, "c", "wn002", T0, T0 + HOUR, steady)
    second = await import_load(sqlite_db, settings, machines, now=utc(T0 + HOUR + SETTLE))
    assert second == ImportSummary(machines=2, rows=12, skipped=0, errors=0)
    assert len(await stored(sqlite_db, "wn002")) == 12


def holes(t: int) -> tuple[float | None, float | None, float | None]:
    """load_one unknown for the first 120 s of bucket 2 (60 % still known) and the first
    180 s of bucket 3 (40 % known); all three unknown for bucket 5; no updates in bucket 7."""
    offset = t - 1 - T0
    bucket, within = offset // 300 + 1, offset % 300
    if bucket == 7:
        return (None, None, None)
    if bucket == 5:
        return (float("nan"), float("nan"), float("nan"))
    load1 = None if (bucket == 2 and within < 120) or (bucket == 3 and within < 180) else 2.0
    return (load1, 3.0, 4.0)


async def test_unknown_values_are_null_or_absent_never_zero(
    sqlite_db: Database, tmp_path: Path
) -> None:
    make_host(tmp_path, "c", "wn001", T0, T0 + HOUR, holes)
    settings = RrdSettings(root=tmp_path, backfill_days=1)
    summary = await import_load(sqlite_db, settings, [("wn001", None)], now=utc(T0 + HOUR + SETTLE))
    rows = {
        int(s.time.timestamp()) - T0: (s.load1, s.load5, s.load15)
        for s in await stored(sqlite_db, "wn001")
    }
    assert summary.rows == 10
    assert rows[600] == (2.0, 3.0, 4.0)  # 180 of 300 s known: the mean of the known part
    assert rows[900] == (None, 3.0, 4.0)  # 120 of 300 s known: too little
    assert 1500 not in rows  # all three unknown
    assert 2100 not in rows  # the host wrote nothing
    assert rows[2400] == (2.0, 3.0, 4.0)  # back after the gap
    assert all(0.0 not in values for values in rows.values())


async def test_a_corrupt_file_is_a_warning_and_the_others_import(
    sqlite_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_host(tmp_path, "c", "wn001", T0, T0 + HOUR, steady)
    bad = make_host(tmp_path, "c", "wn002", T0, T0 + HOUR, steady)
    (bad / "load_one.rrd").write_bytes(bytes(range(256)) * 64)
    make_host(tmp_path, "c", "wn003", T0, T0 + HOUR, steady)
    settings = RrdSettings(root=tmp_path, backfill_days=1)
    machines = [("wn001", None), ("wn002", None), ("wn003", None)]
    with caplog.at_level(logging.WARNING):
        summary = await import_load(sqlite_db, settings, machines, now=utc(T0 + HOUR + SETTLE))
    assert summary == ImportSummary(machines=2, rows=24, skipped=0, errors=1)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "wn002" in warning.getMessage()
    assert str(bad / "load_one.rrd") in warning.getMessage()
    assert await stored(sqlite_db, "wn002") == []


async def test_an_ambiguous_host_is_an_error_naming_both_paths(
    sqlite_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_host(tmp_path, "a", "wn001", T0, T0 + HOUR, steady)
    make_host(tmp_path, "b", "WN001", T0, T0 + HOUR, steady)
    settings = RrdSettings(root=tmp_path, backfill_days=1)
    with caplog.at_level(logging.WARNING):
        summary = await import_load(
            sqlite_db, settings, [("wn001", None)], now=utc(T0 + HOUR + SETTLE)
        )
    assert summary.errors == 1
    assert str(tmp_path / "a" / "wn001") in caplog.text
    assert str(tmp_path / "b" / "WN001") in caplog.text
    fixed = await import_load(
        sqlite_db, settings, [("wn001", "b/WN001")], now=utc(T0 + HOUR + SETTLE)
    )
    assert fixed == ImportSummary(machines=1, rows=12, skipped=0, errors=0)


async def test_since_refills_a_gap_and_keeps_stored_rows(
    sqlite_db: Database, tmp_path: Path
) -> None:
    host = create_host(tmp_path, "c", "wn001", T0, PRE_33)
    feed_host(host, T0 + 15, T0 + HOUR, steady)
    settings = RrdSettings(root=tmp_path, backfill_days=1)
    now = utc(T0 + HOUR + SETTLE)
    assert (await import_load(sqlite_db, settings, [("wn001", None)], now=now)).rows == 12
    again = await import_load(sqlite_db, settings, [("wn001", None)], since=utc(T0), now=now)
    assert again == ImportSummary(machines=1, rows=0, skipped=0, errors=0)


async def test_progress_counts_every_machine(sqlite_db: Database, tmp_path: Path) -> None:
    make_host(tmp_path, "c", "wn001", T0, T0 + HOUR, steady)
    seen: list[tuple[int, int]] = []
    await import_load(
        sqlite_db, RrdSettings(root=tmp_path, backfill_days=1), [("wn001", None), ("wn002", None)],
        now=utc(T0 + HOUR + SETTLE), progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert seen[0] == (1, 2)  # wn002 has no directory: done before any file is read
    assert seen[-1] == (2, 2)


# --- rrdcached ----------------------------------------------------------------------------


async def test_an_absent_rrdcached_fails_every_machine_without_reading_stale_files(
    sqlite_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_host(tmp_path, "c", "wn001", T0, T0 + HOUR, steady)
    address = f"unix:{tmp_path / 'rrdcached.sock'}"
    settings = RrdSettings(root=tmp_path, backfill_days=1, rrdcached=address)
    with caplog.at_level(logging.ERROR):
        summary = await import_load(
            sqlite_db, settings, [("wn001", None)], now=utc(T0 + HOUR + SETTLE)
        )
    assert summary == ImportSummary(machines=0, rows=0, skipped=0, errors=1)
    assert address in caplog.text
    assert await stored(sqlite_db, "wn001") == []


@pytest.fixture
def rrdcached(tmp_path: Path) -> Iterable[tuple[str, Path]]:
    """A real rrdcached that keeps updates in memory for an hour (so files on disk lag)."""
    root = tmp_path / "rrds"
    root.mkdir()
    socket_path = tmp_path / "rrdcached.sock"
    process = subprocess.Popen(
        ["rrdcached", "-g", "-F", "-l", f"unix:{socket_path}", "-b", str(root),
         "-p", str(tmp_path / "rrdcached.pid"), "-w", "3600", "-f", "7200"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(100):
            if socket_path.exists() or process.poll() is not None:
                break
            time.sleep(0.05)
        if not socket_path.exists():
            pytest.skip(
                f"rrdcached did not start: {process.stderr.read() if process.stderr else ''}"
            )
        yield f"unix:{socket_path}", root
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


async def test_rrdcached_updates_are_flushed_before_reading(
    sqlite_db: Database, rrdcached: tuple[str, Path]
) -> None:
    address, root = rrdcached
    host = create_host(root, "c", "wn001", T0)
    feed_host(host, T0 + 15, T0 + HOUR, steady, daemon=address)
    plain = RrdSettings(root=root, backfill_days=1)
    now = utc(T0 + HOUR + SETTLE)
    # Without the daemon the files still hold nothing: the updates wait in its cache.
    assert (await import_load(sqlite_db, plain, [("wn001", None)], now=now)).rows == 0
    cached = RrdSettings(root=root, backfill_days=1, rrdcached=address)
    summary = await import_load(sqlite_db, cached, [("wn001", None)], now=now)
    assert summary == ImportSummary(machines=1, rows=12, skipped=0, errors=0)
    assert {(s.load1, s.load5, s.load15) for s in await stored(sqlite_db, "wn001")} == {
        (0.5, 0.75, 1.0)
    }


async def test_overlapping_runs_store_each_bucket_once(sqlite_db: Database, tmp_path: Path) -> None:
    make_host(tmp_path, "c", "wn001", T0, T0 + HOUR, steady)
    settings = RrdSettings(root=tmp_path, backfill_days=1)
    now = utc(T0 + HOUR + SETTLE)
    runs = await asyncio.gather(
        *(import_load(sqlite_db, settings, [("wn001", None)], now=now) for _ in range(3))
    )
    assert sum(run.rows for run in runs) == 12
    assert len(await stored(sqlite_db, "wn001")) == 12


async def test_a_lasting_problem_is_warned_about_once(
    sqlite_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    host = make_host(tmp_path, "c", "wn001", T0, T0 + HOUR, steady)
    (host / "load_five.rrd").rename(tmp_path / "moved.rrd")
    settings = RrdSettings(root=tmp_path, backfill_days=1)
    remembered: dict[str, str] = {}
    now = utc(T0 + HOUR + SETTLE)
    with caplog.at_level(logging.INFO, logger="powermond.collect.loadimport"):
        for _ in range(3):
            await import_load(
                sqlite_db, settings, [("wn001", None)], now=now, remembered=remembered
            )
        (tmp_path / "moved.rrd").rename(host / "load_five.rrd")
        back = await import_load(
            sqlite_db, settings, [("wn001", None)], now=now, remembered=remembered
        )
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(host / "load_five.rrd") in warnings[0].getMessage()
    assert back.rows == 12
    assert "readable again" in caplog.text
    assert remembered == {}


async def test_the_import_keeps_the_hourly_load_rollups_that_reports_read(
    sqlite_db: Database, tmp_path: Path
) -> None:
    from powermond.report.queries import report_rows

    end = T0 + 4 * HOUR
    make_host(tmp_path, "c", "wn001", T0, end, blocks, LAYOUTS["3.3+"])
    settings = RrdSettings(root=tmp_path, backfill_days=1)
    await import_load(sqlite_db, settings, [("wn001", None)], now=utc(end + SETTLE))
    # Over whole hours the report reads only the rollups; raw samples give the truth.
    # Buckets are labelled by their end, so the last one (at `end`) falls in the next hour.
    expected = expected_blocks(end)
    mean_load1 = sum(row[1] for row in expected) / len(expected)
    async with sqlite_db.transaction() as session:
        from_rollups = await report_rows(session, utc(T0), utc(end + HOUR))
        from_raw = await report_rows(session, utc(T0), utc(end + HOUR), use_rollups=False)
    assert [r.name for r in from_rollups] == ["wn001"]
    assert from_rollups[0].load_samples == len(expected) == 42
    assert from_rollups[0].mean_load == pytest.approx(mean_load1)
    assert from_rollups == from_raw
