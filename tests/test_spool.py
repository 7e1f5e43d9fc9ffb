"""The durable spool: real files in a temporary state directory."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from powermond.readings import OutletReading
from powermond.spool import RejectedCycle, Spool, SpooledCycle, drain

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)


def _readings(cycle_no: int) -> dict[str, list[OutletReading]]:
    return {
        "rack-a1": [
            OutletReading("1", 100.0 + cycle_no, 0.45, 1234.5),
            OutletReading("2", None, None, None),
        ],
        "rack-b1": [OutletReading("2.14", 230.5, 1.0, None)],
    }


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.json"))


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "state" / "spool"


def test_put_then_pending_returns_the_readings(spool_dir: Path) -> None:
    spool = Spool(spool_dir, max_cycles=10)
    spool.put(T0, _readings(0))
    [cycle] = spool.pending()
    assert cycle.cycle == T0
    assert cycle.readings_by_pdu == {
        "rack-a1": (
            OutletReading("1", 100.0, 0.45, 1234.5),
            OutletReading("2", None, None, None),
        ),
        "rack-b1": (OutletReading("2.14", 230.5, 1.0, None),),
    }
    assert cycle.reading_count == 3
    assert len(spool) == 1


def test_pending_is_oldest_first_and_survives_reopening(spool_dir: Path) -> None:
    spool = Spool(spool_dir, max_cycles=10)
    # A late cycle put after newer ones still sorts by its time; equal times by arrival.
    spool.put(T0 + STEP, _readings(1))
    spool.put(T0 + 2 * STEP, _readings(2))
    spool.put(T0, _readings(0))
    spool.put(T0 + STEP, _readings(11))
    expected = [
        (T0, 100.0),
        (T0 + STEP, 101.0),
        (T0 + STEP, 111.0),
        (T0 + 2 * STEP, 102.0),
    ]
    got = [(c.cycle, c.readings_by_pdu["rack-a1"][0].watts) for c in spool.pending()]
    assert got == expected
    reopened = Spool(spool_dir, max_cycles=10)
    got = [(c.cycle, c.readings_by_pdu["rack-a1"][0].watts) for c in reopened.pending()]
    assert got == expected
    # New files after a restart continue the sequence instead of reusing numbers.
    entry = reopened.put(T0 + STEP, _readings(21))
    assert entry.seq == 5


def test_cycle_times_are_stored_in_utc(spool_dir: Path) -> None:
    spool = Spool(spool_dir, max_cycles=10)
    spool.put(datetime(2026, 10, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))), {})
    spool.put(datetime(2026, 10, 1, 12, 5), {})  # naive: taken as UTC
    assert [c.cycle for c in spool.pending()] == [T0, T0 + STEP]
    document = json.loads(spool.entries()[0].path.read_text())
    assert document["cycle"] == "2026-10-01T12:00:00.000000Z"
    assert document["version"] == 1


def test_remove(spool_dir: Path) -> None:
    spool = Spool(spool_dir, max_cycles=10)
    first = spool.put(T0, _readings(0))
    spool.put(T0 + STEP, _readings(1))
    spool.remove(first)
    assert not first.path.exists()
    assert [c.cycle for c in spool.pending()] == [T0 + STEP]
    assert len(Spool(spool_dir, max_cycles=10)) == 1


def test_files_are_private(spool_dir: Path) -> None:
    entry = Spool(spool_dir, max_cycles=10).put(T0, _readings(0))
    assert entry.path.stat().st_mode & 0o777 == 0o600


def test_leftover_temporary_file_is_ignored_and_cleaned(
    spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(spool_dir, max_cycles=10)
    spool.put(T0, _readings(0))
    # What a crash in the middle of put() leaves behind.
    leftover = spool_dir / ".tmp-20261001T120500000000Z-000002.json"
    leftover.write_text('{"format": "powermon-spool", "vers')
    with caplog.at_level(logging.WARNING, logger="powermond.spool"):
        reopened = Spool(spool_dir, max_cycles=10)
    assert [c.cycle for c in reopened.pending()] == [T0]
    assert not leftover.exists()
    assert "incomplete spool file" in caplog.text
    assert not (spool_dir / "bad").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b'{"format": "powermon-spool", "version": 1, "cyc',
        b"\xff\xfe not json",
        b'{"format": "powermon-spool", "version": 99, "cycle": "x"}',
        b'["a list"]',
        b'{"format": "powermon-spool", "version": 1, "cycle": "2026-10-01T12:05:00.000000Z",'
        b' "columns": ["outlet", "watts", "amps", "energy_kwh"], "pdus": []}',
    ],
)
def test_corrupt_file_is_moved_aside(
    spool_dir: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(spool_dir, max_cycles=10)
    good = spool.put(T0, _readings(0))
    bad = spool.put(T0 + STEP, _readings(1))
    bad.path.write_bytes(content)
    with caplog.at_level(logging.ERROR, logger="powermond.spool"):
        pending = spool.pending()
    assert [c.entry for c in pending] == [good]
    assert len(spool) == 1
    assert (spool_dir / "bad" / bad.path.name).read_bytes() == content
    assert f"spool file {bad.path.name}" in caplog.text
    # The bad/ folder is not mistaken for spooled cycles after a restart.
    assert [c.entry.path for c in Spool(spool_dir, max_cycles=10).pending()] == [good.path]


def test_malformed_reading_row_is_moved_aside(spool_dir: Path) -> None:
    spool = Spool(spool_dir, max_cycles=10)
    entry = spool.put(T0, _readings(0))
    document = json.loads(entry.path.read_text())
    document["pdus"]["rack-a1"][0] = ["1", "a hundred", None, None]
    entry.path.write_text(json.dumps(document))
    assert spool.pending() == []
    assert (spool_dir / "bad" / entry.path.name).exists()


def test_foreign_file_name_is_moved_aside(spool_dir: Path) -> None:
    spool_dir.mkdir(parents=True)
    (spool_dir / "notes.txt").write_text("hello")
    assert len(Spool(spool_dir, max_cycles=10)) == 0
    assert (spool_dir / "bad" / "notes.txt").read_text() == "hello"


def test_near_bound_warns_once_per_crossing(
    spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(spool_dir, max_cycles=10)
    with caplog.at_level(logging.WARNING, logger="powermond.spool"):
        for n in range(7):
            spool.put(T0 + n * STEP, _readings(n))
        assert caplog.records == []
        spool.put(T0 + 7 * STEP, _readings(7))  # 8 of 10: 80 %
        spool.put(T0 + 8 * STEP, _readings(8))
        warnings = [r for r in caplog.records if "at 8 of 10 cycles" in r.getMessage()]
        assert len(warnings) == 1
        assert len(caplog.records) == 1
        # Drained below 80 %, then filled again: a new crossing, a new warning.
        for entry in spool.entries()[:3]:
            spool.remove(entry)
        spool.put(T0 + 9 * STEP, _readings(9))
        spool.put(T0 + 10 * STEP, _readings(10))
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING]


def test_bound_drops_the_oldest_and_says_how_many(
    spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(spool_dir, max_cycles=3)
    for n in range(3):
        spool.put(T0 + n * STEP, _readings(n))
    with caplog.at_level(logging.ERROR, logger="powermond.spool"):
        spool.put(T0 + 3 * STEP, _readings(3))
        spool.put(T0 + 4 * STEP, _readings(4))
    assert [c.cycle for c in spool.pending()] == [T0 + 2 * STEP, T0 + 3 * STEP, T0 + 4 * STEP]
    assert len(list(spool_dir.glob("*.json"))) == 3
    assert spool.dropped == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert "dropped the oldest cycle 2026-10-01T12:00:00.000000Z" in errors[0]
    assert "2 cycle(s) lost since start" in errors[1]


def test_reopening_warns_about_a_non_empty_spool(
    spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Spool(spool_dir, max_cycles=10).put(T0, _readings(0))
    with caplog.at_level(logging.WARNING, logger="powermond.spool"):
        Spool(spool_dir, max_cycles=10)
    assert "holds 1 cycle(s) not yet written" in caplog.text


def test_put_is_durable_across_sigkill(spool_dir: Path) -> None:
    """A process killed right after put() returned: the cycle is there, complete."""
    code = (
        "import os, signal, sys\n"
        "from datetime import datetime, UTC\n"
        "from pathlib import Path\n"
        "from powermond.readings import OutletReading\n"
        "from powermond.spool import Spool\n"
        "s = Spool(Path(sys.argv[1]), 10)\n"
        "reading = OutletReading('1', 5.0, None, None)\n"
        "s.put(datetime(2026, 10, 1, 12, 0, tzinfo=UTC), {'p': [reading]})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(spool_dir)], timeout=60, check=False)
    assert result.returncode == -9
    [cycle] = Spool(spool_dir, max_cycles=10).pending()
    assert cycle.readings_by_pdu == {"p": (OutletReading("1", 5.0, None, None),)}


# --- drain ---------------------------------------------------------------------------------


class FlakyDatabase:
    """Records written cycles; refuses while ``down`` and keyed like the unique constraint."""

    def __init__(self) -> None:
        self.down = False
        self.rows: dict[tuple[str, str, datetime], float | None] = {}
        self.order: list[datetime] = []
        self.fail_on: datetime | None = None

    async def write(self, cycle: SpooledCycle) -> None:
        if self.down or cycle.cycle == self.fail_on:
            raise ConnectionRefusedError("database unreachable")
        for pdu, readings in cycle.readings_by_pdu.items():
            for reading in readings:
                self.rows[(pdu, reading.outlet, cycle.cycle)] = reading.watts
        self.order.append(cycle.cycle)


async def test_drain_writes_in_order_and_empties(spool_dir: Path) -> None:
    spool = Spool(spool_dir, max_cycles=10)
    for n in (2, 0, 1):
        spool.put(T0 + n * STEP, _readings(n))
    db = FlakyDatabase()
    result = await drain(spool, db.write)
    assert (result.written, result.remaining, result.error) == (3, 0, None)
    assert db.order == [T0, T0 + STEP, T0 + 2 * STEP]
    assert db.rows[("rack-a1", "1", T0 + STEP)] == 101.0
    assert len(db.rows) == 9
    assert _files(spool_dir) == []


async def test_drain_stops_at_first_failure_and_resumes(spool_dir: Path) -> None:
    spool = Spool(spool_dir, max_cycles=10)
    for n in range(4):
        spool.put(T0 + n * STEP, _readings(n))
    db = FlakyDatabase()
    db.fail_on = T0 + 2 * STEP
    result = await drain(spool, db.write)
    assert (result.written, result.remaining) == (2, 2)
    assert isinstance(result.error, ConnectionRefusedError)
    assert db.order == [T0, T0 + STEP]
    assert [c.cycle for c in spool.pending()] == [T0 + 2 * STEP, T0 + 3 * STEP]

    db.fail_on = None
    result = await drain(spool, db.write)
    assert (result.written, result.remaining, result.error) == (2, 0, None)
    assert db.order == [T0 + n * STEP for n in range(4)]


async def test_drain_with_database_down_writes_nothing(spool_dir: Path) -> None:
    spool = Spool(spool_dir, max_cycles=10)
    spool.put(T0, _readings(0))
    db = FlakyDatabase()
    db.down = True
    result = await drain(spool, db.write)
    assert (result.written, result.remaining) == (0, 1)
    assert db.rows == {}


async def test_rejected_cycle_is_set_aside_and_drain_continues(spool_dir: Path) -> None:
    spool = Spool(spool_dir, max_cycles=10)
    for n in range(3):
        spool.put(T0 + n * STEP, _readings(n))
    db = FlakyDatabase()

    async def write(cycle: SpooledCycle) -> None:
        if cycle.cycle == T0 + STEP:
            raise RejectedCycle("PDU rack-b1 no longer exists")
        await db.write(cycle)

    result = await drain(spool, write)
    assert (result.written, result.remaining, result.error) == (2, 0, None)
    assert db.order == [T0, T0 + 2 * STEP]
    assert len(_files(spool_dir / "bad")) == 1


async def test_crash_between_write_and_remove_replays_without_duplicates(
    spool_dir: Path,
) -> None:
    """At-least-once replay + a unique (pdu, outlet, cycle) key = each reading once."""
    spool = Spool(spool_dir, max_cycles=10)
    spool.put(T0, _readings(0))
    db = FlakyDatabase()
    [cycle] = spool.pending()
    await db.write(cycle)  # committed, then the process "dies" before remove()
    result = await drain(Spool(spool_dir, max_cycles=10), db.write)
    assert result.written == 1
    assert len(db.rows) == 3


def test_max_cycles_must_be_positive(spool_dir: Path) -> None:
    with pytest.raises(ValueError, match="max_cycles"):
        Spool(spool_dir, max_cycles=0)


def test_directory_is_created_private(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "spool"
    Spool(directory, max_cycles=1)
    assert directory.is_dir()
    assert os.stat(directory).st_mode & 0o077 == 0


def test_file_named_like_a_date_that_is_none_is_moved_aside(spool_dir: Path) -> None:
    # Month 13: the name has the spool's shape; it once stopped the daemon from starting.
    spool_dir.mkdir(parents=True)
    (spool_dir / "20261301T000000000000Z-000001.json").write_text("{}")
    assert len(Spool(spool_dir, max_cycles=10)) == 0
    assert (spool_dir / "bad" / "20261301T000000000000Z-000001.json").exists()
