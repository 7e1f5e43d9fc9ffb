"""Nothing lost: the database away for several cycles, and SIGKILL at any moment."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import signal
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from daemon_harness import (
    Config,
    NotifyListener,
    TcpProxy,
    duplicate_readings,
    logged_cycle,
    readings_by_cycle,
    settings_for,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from conftest import PDU_OUTLETS, DaemonFactory, pdu_tables
from schema_clone import migrated_sync
from simulator import Snmpsim

MARIADB = pytest.mark.parametrize(
    "db_url", [pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True
)
SERVER_DBS = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True
)
START_S = 60
INTERVAL = timedelta(seconds=2)


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    tcp = TcpProxy(("127.0.0.1", 3306))
    await tcp.start()
    yield tcp
    await tcp.close()


def proxied_config(tmp_path: Path, sim: Snmpsim, db_url: str, proxy: TcpProxy) -> Config:
    """The schema made directly, then the daemon pointed at the proxy."""
    config = Config(tmp_path / "etc", settings_for(db_url, tmp_path / "state"), pdu_tables(sim))
    config.write()
    migrated_sync(db_url)  # in a thread: must not go through this loop's proxy
    config.settings["database"]["url"] = db_url.replace(":3306/", f":{proxy.port}/")
    config.write()
    return config


async def assert_every_logged_cycle_stored_once(
    engine: AsyncEngine, cycles: list[re.Match[str]]
) -> None:
    """Every logged cycle stored, with as many readings as its line says, each PDU whole,
    none twice. (A PDU slow to answer on a loaded machine is a PDU down for that cycle, not a
    loss: its line counts the readings that were there to store, as in test_daemon_faults.)"""
    stored = await readings_by_cycle(engine)
    logged = {logged_cycle(c): int(c["readings"]) for c in cycles if int(c["readings"])}
    assert sorted(stored) == sorted(logged)
    assert {cycle: sum(per_pdu.values()) for cycle, per_pdu in stored.items()} == logged
    assert all(per_pdu == {p: PDU_OUTLETS[p] for p in per_pdu} for per_pdu in stored.values())
    assert await duplicate_readings(engine) == 0


@MARIADB
async def test_database_outage_loses_nothing(
    tmp_path: Path,
    snmpsim: Snmpsim,
    db_url: str,
    proxy: TcpProxy,
    start_daemon: DaemonFactory,
    engine: AsyncEngine,
) -> None:
    daemon = start_daemon(proxied_config(tmp_path, snmpsim, db_url, proxy))
    before = len(await daemon.wait_cycles(2, START_S))
    await proxy.cut()
    await daemon.wait_log("database unavailable, spooling readings", 10)
    await daemon.wait_log(r"spooled \(3 waiting\)", 20)
    await proxy.restore()
    replayed = await daemon.wait_log(r"wrote \d+ spooled cycles to the database", 20)
    await daemon.wait_log("database is back", 1)
    after = len(await daemon.wait_cycles(len(daemon.cycles()) + 1, 20))
    daemon.send(signal.SIGTERM)
    assert await daemon.wait_exit(15) == 0

    cycles = daemon.cycles()
    spooled = [c for c in cycles if c["stored"].startswith("spooled")]
    assert len(spooled) >= 3
    assert after > before + 3
    # The spooled cycles are replayed, then the new one is written directly.
    assert int(replayed[0].split("wrote ")[1].split()[0]) == len(spooled)
    await assert_every_logged_cycle_stored_once(engine, cycles)
    logged = [logged_cycle(c) for c in cycles]
    # No cycle missing between the first and the last: the outage left no hole.
    assert [b - a for a, b in itertools.pairwise(logged)] == [INTERVAL] * (len(logged) - 1)


@MARIADB
async def test_database_away_at_startup_applies_config_then_replays(
    tmp_path: Path,
    snmpsim: Snmpsim,
    db_url: str,
    proxy: TcpProxy,
    start_daemon: DaemonFactory,
    engine: AsyncEngine,
) -> None:
    config = proxied_config(tmp_path, snmpsim, db_url, proxy)
    await proxy.cut()
    daemon = start_daemon(config)  # the schema is there, but no PDU is applied yet
    await daemon.wait_log(r"spooled \(2 waiting\)", START_S)
    await proxy.restore()
    await daemon.wait_log("configuration applied to the database", 20)
    await daemon.wait_log(r"wrote [23] spooled cycles to the database", 20)
    await daemon.wait_cycles(len(daemon.cycles()) + 1, 20)
    daemon.send(signal.SIGTERM)
    assert await daemon.wait_exit(15) == 0
    await assert_every_logged_cycle_stored_once(engine, daemon.cycles())
    assert not (tmp_path / "state" / "spool" / "bad").exists()  # nothing refused


@MARIADB
async def test_sigkill_with_spooled_cycles_then_restart_replays_them(
    tmp_path: Path,
    snmpsim: Snmpsim,
    db_url: str,
    proxy: TcpProxy,
    start_daemon: DaemonFactory,
    notify: NotifyListener,
    engine: AsyncEngine,
) -> None:
    config = proxied_config(tmp_path, snmpsim, db_url, proxy)
    first = start_daemon(config)
    await first.wait_cycles(1, START_S)
    await proxy.cut()
    await first.wait_log(r"spooled \(2 waiting\)", 20)
    first.send(signal.SIGKILL)
    assert await first.wait_exit(5) == -signal.SIGKILL
    await proxy.restore()

    second = start_daemon(config)
    await second.wait_log(r"holds [23] cycle\(s\) not yet written", START_S)
    await second.wait_log(r"wrote [23] spooled cycles to the database", START_S)
    await second.wait_cycles(2, 20)
    second.send(signal.SIGTERM)
    assert await second.wait_exit(15) == 0
    await assert_every_logged_cycle_stored_once(engine, first.cycles() + second.cycles())


@SERVER_DBS
async def test_sigkill_at_any_moment_never_leaves_a_partial_cycle(
    config: Config, start_daemon: DaemonFactory, engine: AsyncEngine
) -> None:
    rng = random.Random(5)
    logged: dict[datetime, int] = {}  # cycle -> readings its line says were stored
    for _ in range(3):
        daemon = start_daemon(config)
        await daemon.wait_cycles(1, START_S)
        # Cycles start at even seconds and write ~0.1-0.5 s later: kill somewhere in there.
        now = time.time()
        await asyncio.sleep(now - now % 2 + 2 + rng.uniform(0.05, 0.6) - now)
        daemon.send(signal.SIGKILL)
        assert await daemon.wait_exit(5) == -signal.SIGKILL
        # A cycle whose PDUs all answered too late on a loaded machine stores nothing.
        logged |= {
            logged_cycle(c): int(c["readings"])
            for c in daemon.cycles()
            if int(c["readings"]) and c["stored"].endswith(" stored")
        }
    stored = await readings_by_cycle(engine)
    # A killed cycle is there whole or not at all: every PDU of a stored cycle whole.
    assert all(per_pdu == {p: PDU_OUTLETS[p] for p in per_pdu} for per_pdu in stored.values())
    # Whatever was logged as stored is there, with the readings its line counts.
    assert {c: sum(stored.get(c, {}).values()) for c in logged} == logged
    assert await duplicate_readings(engine) == 0
