"""APScheduler's warnings as the daemon logs them (no job reprs with their own timestamps)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from powermond.collect.cycle import cycle_time
from powermond.daemon import _SchedulerLogs
from powermond.output import iso_z


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("apscheduler", logging.WARNING, __file__, 1, message, args, None)


def test_overrun_skips_are_left_to_the_daemon() -> None:
    skipped = record(
        'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
        "Daemon.cycle_job (trigger: interval[0:00:05], next run at: 2026-11-28 13:30:05 UTC)",
        1,
    )
    assert not _SchedulerLogs().filter(skipped)


def test_a_missed_run_names_the_job_without_its_repr() -> None:
    job = SimpleNamespace(id="snmp-cycle")
    missed = record('Run time of job "%s" was missed by %s', job, "0:00:01.500000")
    assert _SchedulerLogs().filter(missed)
    assert (
        missed.getMessage() == "SNMP cycle skipped: it was due 0:00:01.500000 ago (past its grace)"
    )


def test_other_records_pass_unchanged() -> None:
    other = record("Scheduler started")
    assert _SchedulerLogs().filter(other)
    assert other.getMessage() == "Scheduler started"


def test_a_missed_cycle_is_named() -> None:
    # Which cycle has no readings: the one due at the last multiple of the interval.
    job = SimpleNamespace(id="snmp-cycle", trigger=SimpleNamespace(interval=timedelta(seconds=5)))
    missed = record('Run time of job "%s" was missed by %s', job, timedelta(seconds=1.5))
    due = cycle_time(datetime.now(UTC) - timedelta(seconds=1.5), 5)
    assert _SchedulerLogs().filter(missed)
    assert missed.getMessage() == (
        f"SNMP cycle {iso_z(due)} skipped: it was due 0:00:01.500000 ago (past its grace)"
    )
