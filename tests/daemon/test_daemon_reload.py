"""Live reload of the running daemon: SIGHUP and the file watcher, good and broken files."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time

import pytest
from daemon_harness import Config, NotifyListener, logged_cycle, power_json
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

import owned
from conftest import READINGS_PER_CYCLE, DaemonFactory
from powermond.db.tables import Machine

SERVER_DBS = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True
)
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
START_S = 60
APC_OUTLET_3_WATTS = float(owned.watts_of(owned.APC, 3))  # tests/owned.py: 81 W


async def machines_in_db(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(Machine.name).where(Machine.retired_at.is_(None)))
        return {name for (name,) in rows}


async def wait_machine(engine: AsyncEngine, name: str, within: float) -> None:
    deadline = time.monotonic() + within
    while name not in await machines_in_db(engine):
        assert time.monotonic() < deadline, f"machine {name} not applied within {within} s"
        await asyncio.sleep(0.1)


async def wait_attributed(config: Config, daemon_cycles: int, machine: str) -> float:
    """Watts of ``machine`` in a cycle stored after the change (polls the CLI, bounded)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        points = power_json(config.directory, machine)["points"]
        if points:
            return float(points[-1]["watts"])
        await asyncio.sleep(1)
    raise AssertionError(f"no readings of {machine} after {daemon_cycles} cycles")


@SERVER_DBS
async def test_sighup_applies_a_valid_change(
    config: Config, start_daemon: DaemonFactory, notify: NotifyListener, engine: AsyncEngine
) -> None:
    daemon = start_daemon(config)
    ready_at, _ = await notify.wait_for(lambda m: m.get("READY") == "1", START_S)
    await daemon.wait_cycles(1, START_S)
    config.machines["wn002"] = {"outlets": ["apc:3"]}
    config.write()
    daemon.send(signal.SIGHUP)

    reloading_at, reloading = await notify.wait_for(
        lambda m: m.get("RELOADING") == "1", 10, start=ready_at + 1
    )
    assert int(reloading["MONOTONIC_USEC"]) > 0
    await notify.wait_for(lambda m: m.get("READY") == "1", 10, start=reloading_at + 1)
    await daemon.wait_log("SIGHUP: reloading", 1)
    await daemon.wait_log(r"configuration reloaded: 3 PDUs, 2 machines", 10)
    await wait_machine(engine, "wn002", 10)
    assert await wait_attributed(config, 1, "wn002") == pytest.approx(APC_OUTLET_3_WATTS)
    assert daemon.process.poll() is None


@SQLITE
async def test_sighup_with_broken_file_keeps_old_config(
    config: Config, start_daemon: DaemonFactory, notify: NotifyListener, engine: AsyncEngine
) -> None:
    daemon = start_daemon(config)
    await daemon.wait_cycles(1, START_S)
    config.machines["wn003"] = {"outlets": ["apc:5"], "colour": "red"}
    config.write()
    daemon.send(signal.SIGHUP)
    rejected = await daemon.wait_log("reload rejected", 10)
    assert any("machines.toml" in line and "colour" in line for line in rejected), rejected
    await daemon.wait_log("keeping the previous configuration", 5)
    before = len(daemon.cycles())
    cycles = await daemon.wait_cycles(before + 2, 20)
    assert all(c["stored"] == f"{READINGS_PER_CYCLE} stored" for c in cycles[before:])
    assert await machines_in_db(engine) == {"wn001"}
    assert "configuration reloaded" not in daemon.log_text()


@SQLITE
@pytest.mark.parametrize("via_rename", [False, True], ids=["in-place", "temp-then-rename"])
async def test_edit_without_signal_is_picked_up(
    config: Config, start_daemon: DaemonFactory, engine: AsyncEngine, via_rename: bool
) -> None:
    daemon = start_daemon(config)
    await daemon.wait_cycles(1, START_S)
    config.machines["wn002"] = {"outlets": ["apc:3"]}
    config.write_file("machines.toml", _machines_toml(config), via_rename=via_rename)
    await daemon.wait_log("configuration changed: machines.toml", 10)
    await wait_machine(engine, "wn002", 10)
    assert "SIGHUP" not in daemon.log_text()
    assert await wait_attributed(config, 1, "wn002") == pytest.approx(APC_OUTLET_3_WATTS)


@SQLITE
async def test_database_and_collector_changes_need_a_restart(
    config: Config, start_daemon: DaemonFactory
) -> None:
    daemon = start_daemon(config)
    first = (await daemon.wait_cycles(1, START_S))[-1]
    config.settings["collector"]["interval"] = 3
    config.settings["database"]["url"] += "?timeout=5"
    config.write()
    daemon.send(signal.SIGHUP)
    await daemon.wait_log(r"\[collector\] changed in powermon.toml: .* restart", 10)
    await daemon.wait_log(r"\[database\] changed in powermon.toml: .* restart", 1)
    cycles = await daemon.wait_cycles(len(daemon.cycles()) + 2, 20)
    spacing = {
        (logged_cycle(b) - logged_cycle(a)).total_seconds() for a, b in itertools.pairwise(cycles)
    }
    assert logged_cycle(first).timestamp() % 2 == 0
    # Still the old 2 s interval (not half-applied): 3 s cycles would give odd spacings.
    assert all(gap % 2 == 0 for gap in spacing), spacing
    assert all(c["stored"] == f"{READINGS_PER_CYCLE} stored" for c in cycles)


def _machines_toml(config: Config) -> str:
    from daemon_harness import toml_tables

    return toml_tables("machine", config.machines)
