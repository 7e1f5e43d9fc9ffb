"""Fixtures for daemon tests: snmpsim serving the project's recordings, a config dir, the daemon."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import (
    HOST,
    Config,
    DaemonProcess,
    NotifyListener,
    closed_udp_port,
    settings_for,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import owned
from schema_clone import migrated_sync
from simulator import Snmpsim

# Recordings used (community = file stem) and what their outlets give (tests/owned.py).
APC = owned.APC
RARITAN = owned.RARITAN
EATON = owned.EATON
LIVE_PDUS = {
    "apc": ("apc-rpdu2", APC),
    "raritan": ("raritan-pdu2", RARITAN),
    "eaton": ("eaton-epdu", EATON),
}
READINGS_PER_CYCLE = 72  # 24 outlets on each of the three recordings
PDU_OUTLETS = {"apc": 24, "raritan": 24, "eaton": 24}
assert owned.watts_of(APC, 1) + owned.watts_of(EATON, 23) == 306  # wn001, as tests expect

DaemonFactory = Callable[..., DaemonProcess]


@pytest.fixture(scope="session")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpsim]:
    root = tmp_path_factory.mktemp("snmpsim-daemon")
    data = owned.write_owned(root / "owned")
    with Snmpsim.start([data], root / "cache", root / "snmpsim.log") as sim:
        yield sim


def pdu_tables(sim: Snmpsim, *, dead: bool = False) -> dict[str, dict[str, Any]]:
    pdus: dict[str, dict[str, Any]] = {
        name: {
            "host": HOST,
            "port": sim.port,
            "profile": profile,
            "version": "2c",
            "community": stem,
        }
        for name, (profile, stem) in LIVE_PDUS.items()
    }
    if dead:
        pdus["dead"] = {
            "host": HOST,
            "port": closed_udp_port(),
            "profile": "apc-rpdu2",
            "version": "2c",
            "community": "public",
        }
    return pdus


@pytest.fixture
def config(tmp_path: Path, snmpsim: Snmpsim, db_url: str) -> Config:
    """A valid config, schema made: three live PDUs, wn001 on apc:1 + eaton:23 (163 + 143 W)."""
    cfg = Config(
        tmp_path / "etc",
        settings_for(db_url, tmp_path / "state"),
        pdu_tables(snmpsim),
        {"wn001": {"outlets": ["apc:1", "eaton:23"]}},
    )
    cfg.write()
    migrated_sync(db_url)  # the schema at the newest revision (tests/schema_clone.py)
    return cfg


@pytest.fixture
def notify() -> Iterator[NotifyListener]:
    listener = NotifyListener()
    yield listener
    listener.close()


@pytest.fixture
def start_daemon(tmp_path: Path, notify: NotifyListener) -> Iterator[DaemonFactory]:
    """Start ``powermond`` (as often as a test needs); every one is stopped afterwards."""
    started: list[DaemonProcess] = []

    def start(config: Config, **kw: Any) -> DaemonProcess:
        log = tmp_path / f"powermond-{len(started)}.log"
        daemon = DaemonProcess(config.directory, log, notify=kw.pop("notify", notify), **kw)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """The test's own connection to the daemon's database (not through any proxy)."""
    eng = create_async_engine(db_url)
    yield eng
    await eng.dispose()
