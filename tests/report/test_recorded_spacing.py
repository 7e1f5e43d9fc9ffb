"""Energy and plots follow the interval each cycle was recorded at, never today's config."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from powermond.cli import main
from powermond.collect.store import CycleInfo, store_cycle
from powermond.db.cycles import POLL, CycleRepository
from powermond.db.engine import Database
from powermond.readings import OutletReading
from powermond.report.plotdata import plot_data
from powermond.report.queries import report_rows

from .conftest import assert_rollup_report_equals_raw

T0 = datetime(2026, 10, 1, tzinfo=UTC)
WATTS = {"1": 600.0, "2": 300.0}  # wn001's A feed and wn002, constant
COMPARED = ("readings", "method", "peak_watts")
FIGURES = ("energy_kwh", "mean_watts")


def _readings(counter_kwh: float | None = None) -> dict[str, list[OutletReading]]:
    return {"pdu-a": [OutletReading(label, w, None, counter_kwh) for label, w in WATTS.items()]}


async def _history_then_fast(db: Database) -> tuple[datetime, datetime]:
    """Two hours of 300 s cycles, then (after 170 s) ten minutes of 5 s cycles, as the demo
    does; returns the first 5 s cycle and the last cycle."""
    for i in range(24):
        await store_cycle(db, T0 + timedelta(seconds=300 * i), _readings(), interval=300)
    fast0 = T0 + timedelta(seconds=300 * 23 + 170)
    for i in range(120):
        await store_cycle(db, fast0 + timedelta(seconds=5 * i), _readings(), interval=5)
    return fast0, fast0 + timedelta(seconds=5 * 119)


def _kwh(watts: float, since: datetime, until: datetime) -> float:
    return watts * (until - since).total_seconds() / 3600 / 1000


async def test_history_at_300_s_then_5_s_cycles_gives_both_parts(db: Database) -> None:
    fast0, last = await _history_then_fast(db)
    async with db.transaction() as session:
        whole = await report_rows(session, T0, last + timedelta(seconds=1))
        history = await report_rows(session, T0, fast0)
        fast = await report_rows(session, fast0, last + timedelta(seconds=1))
    # Every interval is bridged, the one across the change of interval included.
    assert whole[0].energy_kwh == pytest.approx(_kwh(600, T0, last), rel=1e-12)
    assert whole[0].readings == 24 + 120
    assert history[0].energy_kwh == pytest.approx(_kwh(600, T0, fast0), rel=1e-12)
    assert fast[0].energy_kwh == pytest.approx(_kwh(600, fast0, last), rel=1e-12)
    await assert_rollup_report_equals_raw(
        db, T0, last + timedelta(hours=1), "machine", compared=COMPARED, figures=FIGURES
    )


async def test_plot_lines_follow_the_recorded_spacing(db: Database) -> None:
    _fast0, last = await _history_then_fast(db)
    async with db.transaction() as session:
        data = await plot_data(session, "wn002", T0, last + timedelta(seconds=1))
    assert data.resolution == "cycle"
    assert len(data.total.values) == 24 + 120
    assert not any(math.isnan(v) for v in data.total.values)  # one unbroken line


async def test_a_missed_5_s_cycle_is_still_a_gap(db: Database) -> None:
    """The 300 s history does not make 5 s cycles bridge a minute without readings."""
    fast0, last = await _history_then_fast(db)
    later = last + timedelta(seconds=60)
    await store_cycle(db, later, _readings(), interval=5)
    async with db.transaction() as session:
        rows = await report_rows(session, fast0, later + timedelta(seconds=1))
        data = await plot_data(session, "wn002", fast0, later + timedelta(seconds=1))
    assert rows[0].energy_kwh == pytest.approx(_kwh(600, fast0, last), rel=1e-12)
    assert sum(math.isnan(v) for v in data.total.values) == 1  # the line breaks once


async def _config(tmp_path: Path, url: str, interval: float) -> Path:
    folder = tmp_path / f"etc-{interval:g}"
    folder.mkdir()
    text = f'[database]\nurl = "{url}"\n[collector]\ninterval = {interval:g}\n'
    (folder / "powermon.toml").write_text(text)
    return folder


async def test_report_and_plot_do_not_depend_on_the_configured_interval(
    db: Database, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fast0, last = await _history_then_fast(db)
    until = (last + timedelta(seconds=1)).isoformat()
    documents = []
    for interval in (300, 10, 5):
        folder = await _config(tmp_path, sqlite_url, interval)
        argv = ["--config-dir", str(folder), "report", "--since", T0.isoformat(),
                "--until", until, "--format", "json"]  # fmt: skip
        assert await asyncio.to_thread(main, argv) == 0
        documents.append(json.loads(capsys.readouterr().out))
        png = tmp_path / f"plot-{interval}.png"
        argv = ["--config-dir", str(folder), "plot", "wn002", "--since", T0.isoformat(),
                "--until", until, "-o", str(png)]  # fmt: skip
        assert await asyncio.to_thread(main, argv) == 0
        capsys.readouterr()
    assert documents[0] == documents[1] == documents[2]
    energy = {r["machine"]: r["energy_kwh"] for r in documents[0]["rows"]}
    assert energy["wn002"] == pytest.approx(_kwh(300, T0, last), abs=1e-6)


async def test_a_manual_poll_between_daemon_cycles(db: Database) -> None:
    """A poll (aligned to a 10 s interval) between 300 s daemon cycles adds its readings and
    leaves the daemon's intervals bridged; counter energy stays exactly the same."""
    counter = 10.0
    for i in range(12):
        await store_cycle(db, T0 + timedelta(seconds=300 * i), _readings(counter + i), interval=300)
    async with db.transaction() as session:
        before = await report_rows(session, T0, T0 + timedelta(hours=1))
    poll_time = T0 + timedelta(seconds=300 * 5 + 150)
    info = CycleInfo(POLL)
    assert await store_cycle(db, poll_time, _readings(counter + 5.5), interval=10, info=info) == 2
    # The same poll aligned to the daemon's interval repeats a stored cycle: it adds nothing.
    again = await store_cycle(db, T0 + timedelta(seconds=300 * 5), _readings(99.0),
                              interval=10, info=info)  # fmt: skip
    assert again == 0
    async with db.transaction() as session:
        after = await report_rows(session, T0, T0 + timedelta(hours=1))
        cycles = CycleRepository(session)
        assert await cycles.interval_at(T0 + timedelta(seconds=1500)) == 300  # the daemon's
        assert await cycles.interval_at(poll_time) == 10
    assert [r.energy_kwh for r in after] == pytest.approx([r.energy_kwh for r in before])
    assert [r.energy_kwh for r in before] == pytest.approx([11.0, 11.0])
    assert [r.readings for r in after] == [r.readings + 1 for r in before]
    assert [r.method for r in after] == ["counter", "counter"]
    await assert_rollup_report_equals_raw(
        db, T0, T0 + timedelta(hours=2), "machine", compared=COMPARED, figures=FIGURES
    )
