"""`powermon demo` end to end: the database, the report, the image, and no process left."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from powermond.cli import main
from powermond.db.engine import Database
from powermond.db.repositories import LoadRepository, OutletRepository, ReadingRepository
from powermond.db.rows import ReadingRow
from powermond.demo.agent import AgentError
from powermond.demo.backfill import BACKFILL_INTERVAL, cycle_times
from powermond.demo.run import (
    DemoOptions,
    DemoResult,
    more_commands,
    prepare_directory,
    run_demo,
)
from powermond.demo.world import DEFAULT_WORLD, Layout
from powermond.errors import PowermonError
from powermond.output import iso_z
from powermond.report.plotdata import plot_data
from powermond.timeparse import parse_time

pytestmark = pytest.mark.timeout(120)

CYCLES, INTERVAL = 2, 2.0


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


PRINTED: dict[str, str] = {}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, Layout, float]:
    root = tmp_path_factory.mktemp("demo") / "powermon-demo"
    started = time.time()
    out = io.StringIO()
    result = run_demo(DemoOptions(root, cycles=CYCLES, interval=INTERVAL), out=out)
    PRINTED["out"] = out.getvalue()
    return result, Layout(root.resolve()), started


def test_progress_does_not_repeat_the_daemon_log(demo: tuple[DemoResult, Layout, float]) -> None:
    result, _layout, _started = demo
    printed = PRINTED["out"]
    # The daemon logs its cycles itself (stderr): the progress does not say them again.
    assert result.last_status not in printed
    assert "PDUs ok" not in printed
    assert printed.splitlines()[-1] == str(result.png)


def test_more_commands_can_be_pasted(demo: tuple[DemoResult, Layout, float]) -> None:
    _result, layout, _started = demo
    printed = PRINTED["out"]
    lines = printed[printed.index("More, to paste") :].splitlines()[1:-1]
    assert lines == [f"  {c}" for c in more_commands(layout, DEFAULT_WORLD)]
    for line in lines:
        argv = shlex.split(line)
        assert Path(argv[0]).exists() or argv[:2] == [sys.executable, "-m"], line
    for line in (lines[0], lines[-1]):  # machines, report --by pdu: quick, and print data
        done = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (line, done.stderr)
        assert done.stdout


def test_a_missing_snmpsim_is_said_before_anything_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import powermond.demo.agent

    monkeypatch.setattr(powermond.demo.agent, "RESPONDER", "snmpsim-not-installed-here")
    root = tmp_path / "powermon-demo"
    with pytest.raises(AgentError, match="snmpsim-not-installed-here not found"):
        run_demo(DemoOptions(root, cycles=1, interval=2.0), out=io.StringIO())
    assert not root.exists()


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
    # A whole second past now, so past the demo's last reading: a period ending at or before
    # a reading pro-rates the interval it cuts (the report), which _counter_rise, adding only
    # the intervals between the period's own readings, does not. Truncating now made `until`
    # the last cycle's second when the test started within it: 0.001 kWh apart.
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    period = ["--since", iso_z(until - timedelta(hours=24)), "--until", iso_z(until)]
    argv = ["--config-dir", str(layout.config_dir), "report", *period, "--format=json"]
    assert main(argv) == 0
    rows = {r["machine"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert sorted(rows) == sorted(m.name for m in DEFAULT_WORLD.machines)
    argv = ["--config-dir", str(layout.config_dir), "power", "db01", *period, "--format=json"]
    assert main(argv) == 0
    times = [parse_time(p["time"]) for p in json.loads(capsys.readouterr().out)["points"]]
    hours = _covered_hours(times)
    assert hours > 23  # the history is a day up to the demo's start
    for machine in DEFAULT_WORLD.machines:
        row = rows[machine.name]
        # The hours covered at the mean power, 5-minute history and 2-second cycles alike
        # (the wave's mean over the edge steps differs: gpu01 swings to 1.6 x its mean), to
        # the resolution of the PDU's energy counter (tenths of a kWh on some: a step at
        # each end of the period, 2 x 0.1).
        expected = row["mean_watts"] * hours / 1000
        assert row["energy_kwh"] == pytest.approx(expected, rel=0.006, abs=0.2), row
        assert row["mean_watts"] == pytest.approx(machine.watts.mean, rel=0.05), row
        assert row["mean_load"] == pytest.approx(machine.load.mean, rel=0.1), row
    # The headline (the demo plots db01): exactly its counters' rise over every bridged
    # interval (none lost at the change from 300 s to 2 s), and the mean watts x hours within
    # 0.5 % plus the counters' resolution (its APC feeds count tenths of a kWh: 2 x 0.1).
    headline = rows["db01"]
    since, until = parse_time(period[1]), parse_time(period[3])
    rise = _counter_rise(layout, "db01", since, until)
    assert headline["energy_kwh"] == pytest.approx(rise, abs=1e-6)
    day = headline["mean_watts"] * hours / 1000
    assert headline["energy_kwh"] == pytest.approx(day, rel=0.005, abs=0.2)


def _counter_rise(layout: Layout, machine: str, since: datetime, until: datetime) -> float:
    """The rise of the machine's energy counters over the intervals energy bridges."""

    async def read() -> list[ReadingRow]:
        db = Database.from_url(layout.database_url)
        try:
            async with db.transaction() as session:
                return await ReadingRepository(session).between(machine, since, until)
        finally:
            await db.dispose()

    feeds: dict[tuple[str, str], list[ReadingRow]] = {}
    for r in asyncio.run(read()):
        feeds.setdefault((r.pdu, r.outlet), []).append(r)
    rise = 0.0
    for rows in feeds.values():
        for a, b in itertools.pairwise(rows):
            e1, e2 = a.energy_kwh, b.energy_kwh
            if _bridged(a.time, b.time) and e1 is not None and e2 is not None and e2 >= e1:
                rise += e2 - e1
    return rise


def _covered_hours(times: list[datetime]) -> float:
    """Hours between consecutive cycles that energy bridges."""
    steps = [(b - a).total_seconds() for a, b in itertools.pairwise(times) if _bridged(a, b)]
    return sum(steps) / 3600


def _bridged(a: datetime, b: datetime) -> bool:
    """Up to twice the interval of either cycle: the back-fill's 300 s (its times are
    multiples of it) or the live one's. A slow demo start leaves a real gap between them."""
    history = a.timestamp() % BACKFILL_INTERVAL == 0 or b.timestamp() % BACKFILL_INTERVAL == 0
    return (b - a).total_seconds() <= 2 * (BACKFILL_INTERVAL if history else INTERVAL)


async def test_plot_draws_an_unbroken_power_line(demo: tuple[DemoResult, Layout, float]) -> None:
    """5-minute history, then 2-second cycles: each part bridged by its own spacing."""
    _result, layout, _started = demo
    db = Database.from_url(layout.database_url)
    try:
        async with db.transaction() as session:
            now = datetime.now(UTC)
            data = await plot_data(session, "db01", now - timedelta(hours=24), now)
    finally:
        await db.dispose()
    values = data.total.values
    assert len(values) > 280
    # Unbroken, but where the demo took more than twice 300 s to start its daemon: one break.
    points = list(zip(data.total.times, values, strict=True))
    breaks = [t for t, v in points if math.isnan(v)]
    live = [t for t, v in points if not math.isnan(v) and t.timestamp() % BACKFILL_INTERVAL]
    assert breaks == [] or (len(breaks) == 1 and breaks[0] < min(live)), breaks


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


async def test_plot_of_the_history_draws_every_cycle(
    demo: tuple[DemoResult, Layout, float],
) -> None:
    """The total power line of the showcase has one point per cycle, drawn as a line (no lone
    points), though the history was recorded every 5 minutes and the daemon polls every 2 s."""
    from powermond.report.plot import build_figure
    from powermond.report.scatter import fit, pairs

    result, layout, _started = demo
    backfilled = cycle_times(result.backfilled_until)
    since = datetime.fromtimestamp(backfilled[-36], UTC)  # the last three hours, and the daemon's
    day = datetime.fromtimestamp(backfilled[0], UTC)
    until = datetime.now(UTC)
    async with Database.from_url(layout.database_url) as db, db.transaction() as session:
        data = await plot_data(session, "db01", since, until)
        whole = await plot_data(session, "db01", day, until)
    figure = build_figure([data])
    (total,) = [line for line in figure.axes[0].get_lines() if line.get_gid() == "power-total"]
    watts = np.asarray(total.get_ydata(), dtype=float)
    assert np.isfinite(watts).sum() == 36 + CYCLES
    # No break, except one between the history and the live cycles on a demo slow to start.
    assert len(watts) == 36 + CYCLES or (len(watts) == 37 + CYCLES and np.isnan(watts[36]))
    assert total.get_markevery() is None
    # Watts against load recover the simulated machine: idle 180 W, 30 W per unit of load.
    # Fitted over the whole day of history, where the daily load wave spans its full range: over
    # three hours near its peak or trough the load barely moves and the fit is ill-conditioned.
    showcase = DEFAULT_WORLD.machine("db01")
    found = fit(*pairs(whole.total, whole.load[1]))
    assert found is not None
    assert found.idle_watts == pytest.approx(showcase.idle_watts, rel=0.05)
    assert found.watts_per_load == pytest.approx(showcase.watts_per_load, rel=0.05)
