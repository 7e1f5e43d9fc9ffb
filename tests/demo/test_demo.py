"""`powermon demo` end to end: the database, the report, the image, and no process left."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from powermond.cli import main
from powermond.db.engine import Database
from powermond.db.repositories import LoadRepository, OutletRepository, ReadingRepository
from powermond.demo.backfill import cycle_times
from powermond.demo.run import DemoOptions, DemoResult, prepare_directory, run_demo
from powermond.demo.world import DEFAULT_WORLD, Layout
from powermond.errors import PowermonError

pytestmark = pytest.mark.timeout(120)

CYCLES, INTERVAL = 2, 2.0


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, Layout, float]:
    root = tmp_path_factory.mktemp("demo") / "powermon-demo"
    started = time.time()
    result = run_demo(DemoOptions(root, cycles=CYCLES, interval=INTERVAL))
    return result, Layout(root.resolve()), started


def test_demo_ends_well_and_stops_snmpsim(demo: tuple[DemoResult, Layout, float]) -> None:
    result, _layout, _started = demo
    assert result.exit_code == 0
    assert re.match(r"cycle \S+Z: 3/3 PDUs ok, 24 readings, \d+ stored", result.last_status)
    assert gone(result.agent_pid)


async def test_database_has_history_and_the_live_cycles(
    demo: tuple[DemoResult, Layout, float],
) -> None:
    result, layout, _started = demo
    backfilled = cycle_times(result.backfilled_until)
    db = Database.from_url(layout.database_url)
    try:
        async with db.transaction() as session:
            for pdu in DEFAULT_WORLD.pdus:
                outlets = await OutletRepository(session).list_for_pdu(pdu.name)
                assert [o.label for o in outlets] == [str(n) for n in range(1, 9)]
                # Every outlet's latest reading comes from the daemon, not the back-fill.
                for outlet in outlets:
                    assert outlet.last_time is not None
                    assert outlet.last_time.timestamp() > backfilled[-1], outlet
            since = datetime.fromtimestamp(backfilled[0], UTC)
            until = datetime.now(UTC)
            for machine in DEFAULT_WORLD.machines:
                readings = await ReadingRepository(session).between(machine.name, since, until)
                per_feed = len(backfilled) + CYCLES
                assert len(readings) == per_feed * len(machine.feeds), machine.name
                load = await LoadRepository(session).between(
                    machine.name, since - timedelta(minutes=5), until
                )
                assert len(load) > 200, machine.name  # 5-minute buckets over a day
    finally:
        await db.dispose()


def test_report_has_energy_for_every_machine(
    demo: tuple[DemoResult, Layout, float], capsys: pytest.CaptureFixture[str]
) -> None:
    _result, layout, _started = demo
    capsys.readouterr()
    argv = ["--config-dir", str(layout.config_dir), "report", "--since=-24h", "--format=json"]
    assert main(argv) == 0
    rows = {r["machine"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert sorted(rows) == sorted(m.name for m in DEFAULT_WORLD.machines)
    for machine in DEFAULT_WORLD.machines:
        row = rows[machine.name]
        # Most of a day at the machine's mean power: the daily mean of its wave.
        day_kwh = machine.watts.mean * 24 / 1000
        assert 0.8 * day_kwh < row["energy_kwh"] <= 1.01 * day_kwh, row
        assert row["mean_watts"] == pytest.approx(machine.watts.mean, rel=0.05), row
        assert row["mean_load"] == pytest.approx(machine.load.mean, rel=0.1), row


def test_png_is_a_plot(demo: tuple[DemoResult, Layout, float]) -> None:
    result, layout, _started = demo
    assert result.png == layout.png("db01")
    with Image.open(result.png) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert width > 400
        assert height > 200
        image.verify()


def test_rerun_needs_a_demo_directory(tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(PowermonError, match="not made by `powermon demo`"):
        prepare_directory(Layout(foreign))
    assert (foreign / "thesis.tex").read_text() == "precious"

    layout = Layout(tmp_path / "demo")
    prepare_directory(layout)
    (layout.config_dir).mkdir()
    (layout.config_dir / "pdus.toml").write_text("old")
    layout.database.write_text("old")
    layout.snmp_cache.mkdir()
    prepare_directory(layout)
    assert not layout.config_dir.exists()
    assert not layout.database.exists()
    assert layout.snmp_cache.exists()  # kept: snmpsim re-indexes changed files itself


def test_sigterm_stops_the_demo_and_snmpsim(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "powermond", "demo", "--dir", str(tmp_path / "d"),
            "--cycles", "50", "--interval", "2"]  # fmt: skip
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as demo:
        try:
            agent_pid = _wait_for_agent(demo)
            time.sleep(1)  # let the daemon start its cycles
            demo.send_signal(signal.SIGTERM)
            demo.wait(30)
        finally:
            if demo.poll() is None:
                demo.kill()
                demo.wait()
    assert demo.returncode != 0
    assert gone(agent_pid)


def _wait_for_agent(demo: subprocess.Popen[str]) -> int:
    assert demo.stdout is not None
    for _ in range(200):  # bounded: the demo prints a handful of lines before snmpsim
        line = demo.stdout.readline()
        if not line:
            break
        if match := re.search(r"snmpsim\s+pid (\d+) serving", line):
            return int(match[1])
    raise AssertionError("the demo never said it started snmpsim")
