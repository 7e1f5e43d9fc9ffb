"""The daemon's own logic in this process: ``run_daemon(stop=…, max_cycles=…)`` over the fake
SNMP transport and SQLite — readings, stored health, metrics, the spool through an outage,
the RRD import job and its ``[rrd]`` reload, and a crashing task ending the daemon."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import HOST, Config, NotifyListener, settings_for
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from collect.rrdfiles import make_host
from powermond.daemon import DaemonResult, run_daemon
from powermond.db.migrate import upgrade
from powermond.db.tables import CpuLoad, Pdu, PduHealthRecord, PowerReading
from powermond.errors import EXIT_FAILURE, EXIT_OK
from powermond.snmp.client import SnmpTimeout
from powermond.snmp.fake import FakePdu, FakeTransport
from powermond.spool import waiting

pytestmark = pytest.mark.timeout(90)

OID = "1.3.6.1.4.1.99999.1.1.2"
WATTS = {"a": (100, 200, 300), "b": (40, 50, 60)}


def fake_pdu(name: str) -> FakePdu:
    return FakePdu(table={OID: {(n,): w for n, w in enumerate(WATTS[name], start=1)}})


def pdu_table(name: str) -> dict[str, Any]:
    return {"host": HOST, "oid": OID, "community": f"secret-{name}"}


@pytest.fixture(autouse=True)
def _no_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    db = tmp_path / "db" / "powermon.db"
    settings = settings_for(f"sqlite+aiosqlite:///{db}", tmp_path / "state", interval=1)
    settings["rrd"]["interval"] = 1
    cfg = Config(
        tmp_path / "etc",
        settings,
        {name: pdu_table(name) for name in WATTS},
        {"wn001": {"outlets": ["a:1", "b:2"]}, "wn002": {"outlets": ["a:3"]}},
    )
    cfg.write()
    return cfg


def url_of(config: Config) -> str:
    return str(config.settings["database"]["url"])


@pytest.fixture
async def engine(config: Config) -> AsyncIterator[AsyncEngine]:
    await upgrade(url_of(config))
    eng = create_async_engine(url_of(config))
    yield eng
    await eng.dispose()


async def run(
    config: Config, fake: FakeTransport, *, max_cycles: int, stop: asyncio.Event | None = None
) -> DaemonResult:
    return await asyncio.wait_for(
        run_daemon(config.directory, max_cycles=max_cycles, stop=stop, transport=fake), 60
    )


async def count(engine: AsyncEngine, stmt: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(stmt) or 0)


async def until(predicate: Callable[[], Any], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, f"{what} not within {within} s"
        await asyncio.sleep(0.05)


async def test_cycles_store_readings_and_health(config: Config, engine: AsyncEngine) -> None:
    fake = FakeTransport({"a": fake_pdu("a"), "b": FakePdu(error=SnmpTimeout("no answer"))})
    result = await run(config, fake, max_cycles=2)
    assert result.exit_code == EXIT_OK
    assert "1/2 PDUs ok, 3 readings, 3 stored" in result.last_status
    assert await count(engine, select(func.count()).select_from(PowerReading)) == 6
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(Pdu.name, PduHealthRecord.state, PduHealthRecord.failures,
                   PduHealthRecord.last_success, PduHealthRecord.last_error)
            .join(Pdu, Pdu.id == PduHealthRecord.pdu_id)
        )  # fmt: skip
        health = {name: rest for name, *rest in rows}
    assert health["a"][:2] == ["up", 0]
    assert health["a"][2] is not None
    assert health["b"] == ["never answered", 2, None, "no answer"]


class DatabaseReturns(FakeTransport):
    """Puts the migrated database in place while the third cycle polls: before the daemon
    applies its configuration and writes, as when a database comes back between cycles."""

    def __init__(self, ready: Path, blocker: Path) -> None:
        super().__init__({"a": fake_pdu("a"), "b": fake_pdu("b")})
        self.ready, self.blocker = ready, blocker

    async def walk_columns(
        self, pdu: Any, columns: Any, *, max_repetitions: int | None = None
    ) -> Any:
        if len(self.walks) == 4 and self.blocker.is_file():  # cycles 1 and 2 walked a and b
            self.blocker.unlink()
            self.blocker.mkdir()
            shutil.move(self.ready, self.blocker / "powermon.db")
        return await super().walk_columns(pdu, columns, max_repetitions=max_repetitions)


async def test_an_unreachable_database_spools_and_loses_nothing(
    config: Config, tmp_path: Path
) -> None:
    """SQLite cannot open the file (its directory is a plain file) for two cycles, then a
    migrated database is in place; every cycle reaches it, the first two from the spool."""
    ready = tmp_path / "ready.db"
    await upgrade(f"sqlite+aiosqlite:///{ready}")
    blocker = tmp_path / "db"
    blocker.write_text("not a directory")
    spool = tmp_path / "state" / "spool"
    fake = DatabaseReturns(ready, blocker)
    daemon = asyncio.create_task(run(config, fake, max_cycles=5))
    result = await daemon
    assert result.exit_code == EXIT_OK
    assert waiting(spool) == []
    eng = create_async_engine(url_of(config))
    try:
        per_cycle = select(PowerReading.cycle, func.count()).group_by(PowerReading.cycle)
        async with eng.connect() as conn:
            stored = dict((await conn.execute(per_cycle)).tuples().all())
            health = (await conn.execute(select(PduHealthRecord.state))).scalars().all()
    finally:
        await eng.dispose()
    assert len(stored) == 5, stored
    assert set(stored.values()) == {6}
    assert health == ["up", "up"]  # written once the database answered


def rrd_host(root: Path, host: str) -> None:
    now = int(time.time())
    make_host(root, "cluster", host, now - 2 * 3600, now - 30, lambda t: (1.5, 1.0, 0.5))


async def test_the_import_job_and_an_rrd_reload_import_load(
    config: Config, engine: AsyncEngine, tmp_path: Path
) -> None:
    """``[rrd] root`` changes while running: the next import reads the new root."""
    empty, filled = tmp_path / "rrd-empty", tmp_path / "rrd-filled"
    empty.mkdir()
    rrd_host(filled, "wn001")
    config.settings["rrd"]["root"] = str(empty)
    config.write()
    fake = FakeTransport({"a": fake_pdu("a"), "b": fake_pdu("b")})
    stop = asyncio.Event()
    daemon = asyncio.create_task(run(config, fake, max_cycles=10_000, stop=stop))
    loads = select(func.count()).select_from(CpuLoad)

    async def cycled() -> bool:
        return await count(engine, select(func.count()).select_from(PowerReading)) > 0

    await until(cycled, 30, "a stored cycle")
    await asyncio.sleep(1.5)  # the import job has run over the empty root
    assert await count(engine, loads) == 0
    config.settings["rrd"]["root"] = str(filled)
    config.write()  # the file watcher reloads

    async def imported() -> bool:
        return await count(engine, loads) > 0

    try:
        await until(imported, 30, "load rows from the new [rrd] root")
    finally:
        stop.set()
    assert (await daemon).exit_code == EXIT_OK
    assert await count(engine, loads) >= 12  # two hours of 300 s buckets, the last unsettled


async def test_a_crashing_task_ends_the_daemon_with_its_reason(
    config: Config, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """The metrics server cannot bind (the port is taken): the daemon exits 1 saying why."""
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        config.settings["metrics"] = {"listen": f"{HOST}:{taken.getsockname()[1]}"}
        config.write()
        fake = FakeTransport({"a": fake_pdu("a"), "b": fake_pdu("b")})
        with caplog.at_level(logging.ERROR, logger="powermond"):
            result = await run(config, fake, max_cycles=10_000)
    assert result.exit_code == EXIT_FAILURE
    assert "the metrics server task crashed: OSError" in caplog.text


async def scrape(port: int) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def test_metrics_follow_the_inventory(config: Config, engine: AsyncEngine) -> None:
    port = free_port()
    config.settings["metrics"] = {"listen": f"{HOST}:{port}"}
    config.write()
    fake = FakeTransport({"a": fake_pdu("a"), "b": FakePdu(error=SnmpTimeout("no answer"))})
    stop = asyncio.Event()
    daemon = asyncio.create_task(run(config, fake, max_cycles=10_000, stop=stop))
    try:
        await until(lambda: _has(port, "powermon_pdu_up"), 30, "a scrape with PDUs")
        found = await scrape(port)
        assert found["powermon_pdu_up"] == {(("pdu", "a"),): 1.0, (("pdu", "b"),): 0.0}
        assert found["powermon_machine_watts"][(("machine", "wn001"),)] == 100.0
        assert found["powermon_machine_partial"][(("machine", "wn001"),)] == 1.0
        assert found["powermon_machine_partial"][(("machine", "wn002"),)] == 0.0
        assert found["powermon_snmp_errors_total"][(("kind", "timeout"),)] >= 1
        assert "secret" not in str(found)
        # PDU b and machine wn001 leave the configuration: they leave the exposition.
        config.pdus.pop("b")
        config.machines.pop("wn001")
        config.write()
        await until(lambda: _reloaded(port), 30, "a reload")
        found = await scrape(port)
        assert set(found["powermon_pdu_up"]) == {(("pdu", "a"),)}
        assert set(found["powermon_machine_partial"]) == {(("machine", "wn002"),)}
        assert {dict(k)["pdu"] for k in found["powermon_outlet_watts"]} == {"a"}
    finally:
        stop.set()
    assert (await daemon).exit_code == EXIT_OK


async def _has(port: int, name: str) -> bool:
    try:
        return name in await scrape(port) and bool((await scrape(port))[name])
    except OSError:
        return False


async def _reloaded(port: int) -> bool:
    return (await scrape(port))["powermon_config_reloads_total"][(("result", "ok"),)] >= 1


class StuckTransport(FakeTransport):
    """A walk that ignores the PDU's and the cycle's cancellations (as a wedged driver would)
    and only gives in to the third one (the shutdown's)."""

    async def walk_columns(
        self, pdu: Any, columns: Any, *, max_repetitions: int | None = None
    ) -> Any:
        for _ in range(2):
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


async def test_the_watchdog_is_withheld_while_a_cycle_is_stuck(
    config: Config,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener = NotifyListener()
    monkeypatch.setenv("NOTIFY_SOCKET", listener.path)
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # pings every 0.2 s
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    config.settings["daemon"]["shutdown_grace"] = 0.5
    config.write()
    stop = asyncio.Event()
    fake = StuckTransport({}, budget=0.1)  # a cycle's bound: 1.3 s polling + 1 s interval
    try:
        with caplog.at_level(logging.ERROR, logger="powermond"):
            daemon = asyncio.create_task(run(config, fake, max_cycles=10_000, stop=stop))
            await listener.wait_for(lambda m: m.get("WATCHDOG") == "1", 10)
            await until(
                lambda: _async(lambda: "withholding the watchdog ping" in caplog.text), 15,
                "the watchdog withheld",
            )  # fmt: skip
            seen = len(listener.collect())
            await asyncio.sleep(1.0)
            later = listener.collect()[seen:]
            assert not any(m.get("WATCHDOG") == "1" for m in later), later
            stop.set()
            assert (await daemon).exit_code == EXIT_OK
        assert "past its bound" in caplog.text
    finally:
        listener.close()


async def _async(check: Callable[[], bool]) -> bool:
    return check()
