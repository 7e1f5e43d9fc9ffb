"""powermond as a real subprocess: readiness, cycles, systemd notifications, stopping, logs."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from daemon_harness import (
    CYCLE_LINE,
    POWERMOND,
    Config,
    NotifyListener,
    logged_cycle,
    power_json,
    readings_by_cycle,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from conftest import PDU_OUTLETS, READINGS_PER_CYCLE, DaemonFactory, pdu_tables
from simulator import Snmpsim

SERVER_DBS = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True
)
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
START_S = 60  # interpreter start, imports, first aligned cycle: generous on a busy machine


def is_ready(message: dict[str, str]) -> bool:
    return message.get("READY") == "1"


def slow_cycles(config: Config, snmpsim: Snmpsim, *, grace: float) -> None:
    """Every cycle waits ~5 s on a PDU that never answers (timeout 2.5 s, 1 retry)."""
    config.pdus = pdu_tables(snmpsim, dead=True)
    config.settings["collector"] |= {"timeout": 2.5, "retries": 1}
    config.settings["daemon"]["shutdown_grace"] = grace
    config.write()


@SERVER_DBS
async def test_ready_status_watchdog_and_stored_cycle(
    config: Config, start_daemon: DaemonFactory, notify: NotifyListener, engine: AsyncEngine
) -> None:
    daemon = start_daemon(config, env={"WATCHDOG_USEC": "2000000"})
    await notify.wait_for(is_ready, START_S)
    _, status = await notify.wait_for(lambda m: "PDUs ok" in m.get("STATUS", ""), START_S)
    summary = CYCLE_LINE.fullmatch(status["STATUS"])
    assert summary is not None, status
    readings = str(READINGS_PER_CYCLE)
    assert (summary["ok"], summary["total"], summary["readings"]) == ("3", "3", readings)
    assert summary["stored"] == f"{READINGS_PER_CYCLE} stored"
    await notify.wait_for(lambda m: m.get("WATCHDOG") == "1", 5)

    stored = await readings_by_cycle(engine)
    assert stored[logged_cycle(summary)] == PDU_OUTLETS
    cycle = logged_cycle(summary)
    assert cycle.timestamp() % 2 == 0  # aligned to wall-clock multiples of the interval
    # MariaDB compares `cycle < until` at the column's whole seconds: ask a second later.
    await asyncio.sleep(max(0.0, cycle.timestamp() + 1.1 - time.time()))
    points = power_json(config.directory, "wn001")["points"]
    by_time = {p["time"]: p["watts"] for p in points}
    assert by_time[cycle.strftime("%Y-%m-%dT%H:%M:%SZ")] == pytest.approx(306.0)  # 163 + 143
    assert daemon.process.poll() is None


@SQLITE
async def test_sigterm_mid_cycle_finishes_it_and_exits_0(
    config: Config,
    snmpsim: Snmpsim,
    start_daemon: DaemonFactory,
    notify: NotifyListener,
    engine: AsyncEngine,
) -> None:
    slow_cycles(config, snmpsim, grace=15)
    daemon = start_daemon(config)
    await notify.wait_for(is_ready, START_S)
    first = (await daemon.wait_cycles(1, START_S))[0]
    overran = await daemon.wait_log("overran", 5)  # >= 5 s cycles, 2 s interval
    said = re.search(
        r"overran: ([\d.]+) s \(poll ([\d.]+) s, store ([\d.]+) s\) > interval 2 s; "
        r"(\d+) scheduled cycle\(s\) skipped",
        overran[0],
    )
    assert said, overran[0]
    took, poll, store, skipped = map(float, said.groups())
    assert took >= 5.0  # the dead PDU's two tries of 2.5 s
    assert took == pytest.approx(poll + store, abs=0.15)
    # The 2 s marks the cycle ran past (it starts just after one): 2 for ~5 s, 3 on a
    # loaded machine where it takes 6 s and more.
    assert took // 2 <= skipped <= (took + 1) // 2
    # The next cycle starts at the next multiple of 2 s after the first ended, and lasts
    # ~5 s: 2.5 s after the status line it is in flight.
    await _sleep_into_next_cycle()
    daemon.send(signal.SIGTERM)
    assert await daemon.wait_exit(15) == 0
    text = daemon.log_text()
    assert re.search(r"waiting up to 15 s for cycle \S+ to finish", text), text
    _, _ = await notify.wait_for(lambda m: m.get("STOPPING") == "1", 1)
    finished = daemon.cycles()[-1]
    assert logged_cycle(finished) > logged_cycle(first)  # the cycle in flight was completed
    assert (await readings_by_cycle(engine))[logged_cycle(finished)] == PDU_OUTLETS
    assert "abandoned" not in text
    assert "maximum number of running instances" not in text  # said once, by the daemon


@SQLITE
async def test_grace_exceeded_abandons_cycle_and_stores_nothing_of_it(
    config: Config,
    snmpsim: Snmpsim,
    start_daemon: DaemonFactory,
    notify: NotifyListener,
    engine: AsyncEngine,
) -> None:
    slow_cycles(config, snmpsim, grace=1)
    daemon = start_daemon(config)
    await daemon.wait_cycles(1, START_S)
    await _sleep_into_next_cycle()
    daemon.send(signal.SIGTERM)
    assert await daemon.wait_exit(10) == 0, daemon.log_text()
    abandoned = await daemon.wait_log(r"abandoned cycle (\S+): nothing of it was stored", 1)
    name = re.search(r"abandoned cycle (\S+):", abandoned[0])
    assert name is not None
    stored = await readings_by_cycle(engine)
    assert [c for c in stored if c.isoformat().startswith(name[1][:19])] == []
    assert all(per_pdu == PDU_OUTLETS for per_pdu in stored.values())


@SQLITE
async def test_second_sigterm_ends_the_grace_and_exits_cleanly(
    config: Config,
    snmpsim: Snmpsim,
    start_daemon: DaemonFactory,
    notify: NotifyListener,
    engine: AsyncEngine,
) -> None:
    slow_cycles(config, snmpsim, grace=30)
    daemon = start_daemon(config)
    await daemon.wait_cycles(1, START_S)
    await _sleep_into_next_cycle()
    daemon.send(signal.SIGTERM)
    await daemon.wait_log("waiting up to 30 s", 5)
    daemon.send(signal.SIGTERM)
    # Not os._exit in the handler: the shutdown path runs (abandon, close, "stopped").
    assert await daemon.wait_exit(3) == 0, daemon.log_text()
    await daemon.wait_log("second SIGTERM: no more grace, abandoning the cycle in flight", 0)
    await daemon.wait_log(r"abandoned cycle \S+: nothing of it was stored", 0)
    await daemon.wait_log(r"\bstopped$", 0)
    assert all(per_pdu == PDU_OUTLETS for per_pdu in (await readings_by_cycle(engine)).values())


@SQLITE
async def test_pdu_down_logged_once_and_back_once(
    config: Config, snmpsim: Snmpsim, start_daemon: DaemonFactory
) -> None:
    config.pdus = pdu_tables(snmpsim, dead=True)
    config.write()
    daemon = start_daemon(config)
    cycles = await daemon.wait_cycles(4, START_S)
    assert all(c["ok"] == "3" and c["total"] == "4" for c in cycles)
    down = [line for line in daemon.log_text().splitlines() if "PDU dead" in line]
    assert len(down) == 1, down
    assert "PDU dead down: no answer from 127.0.0.1" in down[0]

    # The PDU comes back (here: its address fixed in pdus.toml, picked up by the watcher).
    config.pdus["dead"] = config.pdus["apc"] | {}
    config.write()
    await daemon.wait_log("PDU dead is back \\(24 outlets\\)", 20)  # tests/owned.py: no inlet
    seen = len(daemon.cycles())
    cycles = await daemon.wait_cycles(seen + 3, 20)
    assert all(c["ok"] == "4" for c in cycles[seen:])
    lines = [line for line in daemon.log_text().splitlines() if "PDU dead" in line]
    assert len(lines) == 2, lines


def run_until_exit(config: Config, notify: NotifyListener) -> subprocess.CompletedProcess[str]:
    """powermond that should refuse to start: run it to its end (bounded)."""
    return subprocess.run(
        [str(POWERMOND), "--config-dir", str(config.directory)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": notify.path},
    )


def test_invalid_config_at_startup_exits_78_naming_file_and_key(
    config: Config, notify: NotifyListener
) -> None:
    config.pdus["apc"]["colour"] = "red"
    config.write()
    done = run_until_exit(config, notify)
    assert done.returncode == 78, done.stderr
    assert re.search(r"pdus\.toml.*\[pdu\.apc\] colour", done.stderr), done.stderr
    assert not any(is_ready(m) for m in notify.collect())


@SQLITE
async def test_under_journald_lines_carry_priorities_not_timestamps(
    config: Config, start_daemon: DaemonFactory, notify: NotifyListener
) -> None:
    daemon = start_daemon(config, journald=True)
    await daemon.wait_cycles(1, START_S)
    daemon.send(signal.SIGTERM)
    assert await daemon.wait_exit(15) == 0
    lines = daemon.log_text().splitlines()
    assert lines
    assert all(re.match(r"<[0-7]>", line) for line in lines), lines
    assert not any(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line) for line in lines), lines
    assert any(line.startswith("<6>cycle ") for line in lines), lines


async def _sleep_into_next_cycle() -> None:
    """Sleep until ~2.5 s into the next cycle; call just after a (~5 s) cycle ended.

    The next one starts at the next multiple of the 2 s interval and lasts ~5 s, so this
    leaves about 2.5 s of margin on both sides.
    """
    now = time.time()
    await asyncio.sleep(now - now % 2 + 2 + 2.5 - now)


@SQLITE
def test_a_database_without_the_schema_stops_startup_with_what_to_do(
    config: Config, notify: NotifyListener, tmp_path: Path
) -> None:
    config.settings["database"]["url"] = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    config.write()
    done = run_until_exit(config, notify)
    assert done.returncode == 78, done.stderr  # EX_CONFIG: RestartPreventExitStatus=78
    assert "has no schema" in done.stderr
    assert "run `powermon db upgrade`" in done.stderr
    assert not any(is_ready(m) for m in notify.collect())
