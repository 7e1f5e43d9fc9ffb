"""A collector's row around the cycle in flight, in this process (fake SNMP, SQLite): what the
others would read when a cycle ends past the next start, and when the daemon stops.

Either way a share polled by nobody for a whole cycle must not go unsaid: the others leave a
live collector's PDUs to it, so it must poll them, or say it skipped the cycle and beat for
it, or no longer be live when the next cycle starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import HOST, Config, settings_for

from powermond import systemd
from powermond.collect.cycle import cycle_time
from powermond.daemon import _assemble, _State, run_daemon
from powermond.db.collectors import CollectorRepository, CollectorRow
from powermond.db.engine import Database
from powermond.db.migrate import upgrade
from powermond.errors import EXIT_OK
from powermond.inventory.load import load_all
from powermond.snmp.fake import FakePdu, FakeTransport

pytestmark = pytest.mark.timeout(60)

OID = "1.3.6.1.4.1.99999.1.1.2"
NAME = "solo"


@pytest.fixture(autouse=True)
def _no_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)


def make_config(tmp_path: Path, interval: float) -> Config:
    db = tmp_path / "db" / "powermon.db"
    settings = settings_for(f"sqlite+aiosqlite:///{db}", tmp_path / "state", interval=interval)
    settings["collector"]["name"] = NAME
    settings["rrd"]["interval"] = 600
    pdus = {n: {"host": HOST, "oid": OID, "community": f"secret-{n}"} for n in ("a", "b")}
    config = Config(tmp_path / "etc", settings, pdus, {"wn001": {"outlets": ["a:1"]}})
    config.write()
    return config


def slow_pdus(delay: float) -> FakeTransport:
    pdu = FakePdu(table={OID: {(1,): 100, (2,): 200}}, delay=delay)
    return FakeTransport({"a": pdu, "b": pdu})


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[Path, Database]]:
    (tmp_path / "db").mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'powermon.db'}"
    await upgrade(url)
    db = Database.from_url(url)
    yield tmp_path, db
    await db.dispose()


async def collector_row(db: Database) -> CollectorRow | None:
    async with db.transaction() as session:
        return await CollectorRepository(session).get(NAME)


async def test_a_late_cycle_ending_past_the_next_start_says_so_and_beats_again(
    database: tuple[Path, Database], caplog: pytest.LogCaptureFixture
) -> None:
    # A busy host starts the cycle 0.6 s late; it takes 0.5 s, less than the 1 s interval,
    # and still ends past the next start, which the scheduler then skips.
    tmp_path, db = database
    config = make_config(tmp_path, interval=1)
    settings, inventory = load_all(config.directory)
    state = _State(settings=settings, inventory=inventory)
    async with contextlib.AsyncExitStack() as stack:
        daemon = await _assemble(
            stack, config.directory, state, systemd.Notifier.from_env(), None, slow_pdus(0.5)
        )
        await asyncio.sleep((0.6 - time.time() % 1) % 1)
        scheduled = cycle_time(datetime.now(UTC), 1)
        with caplog.at_level(logging.INFO, logger="powermond"):
            await daemon._cycle(scheduled)
        ended = time.time()
        row = await collector_row(db)
    skipped = int((ended - scheduled.timestamp()) // 1)
    assert skipped >= 1
    said = re.search(r"cycle \S+ overran: .* (\d+) scheduled cycle\(s\) skipped", caplog.text)
    assert said, caplog.text
    assert int(said[1]) == skipped
    # The skipped start's beat: the others count it live until its next cycle.
    assert row is not None
    assert row.heartbeat_at >= scheduled + timedelta(seconds=1)


async def test_a_stop_expires_the_row_while_the_cycle_in_flight_polls(
    database: tuple[Path, Database], caplog: pytest.LogCaptureFixture
) -> None:
    # The others read the rows at the next start: waiting for the cycle in flight (and for
    # the shutdown after it) before expiring the row could leave this one's PDUs to nobody.
    tmp_path, db = database
    config = make_config(tmp_path, interval=2)
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO, logger="powermond"):
        run = asyncio.create_task(run_daemon(config.directory, stop=stop, transport=slow_pdus(1.5)))
        try:
            await until(lambda: "polling 2 of 2 PDUs" in caplog.text, 20, "a cycle in flight")
            stop.set()
            row = await until_row(db, lambda r: r is not None and r.stopped, 5)
            in_flight = "PDUs ok" not in caplog.text
            result = await asyncio.wait_for(run, 20)
        finally:
            stop.set()
            if not run.done():
                run.cancel()
    assert in_flight, "the row was expired only once the cycle in flight had ended"
    assert result.exit_code == EXIT_OK
    assert "2/2 PDUs ok, 4 readings, 4 stored" in result.last_status  # and still stored
    after = await collector_row(db)
    assert after is not None
    assert after.stopped  # the cycle in flight did not beat again
    assert after.heartbeat_at == row.heartbeat_at


async def until(check: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {within} s"
        await asyncio.sleep(0.01)


async def until_row(db: Database, check: Any, within: float) -> CollectorRow:
    deadline = time.monotonic() + within
    while True:
        row = await collector_row(db)
        if check(row):
            assert row is not None
            return row
        assert time.monotonic() < deadline, f"row not as expected within {within} s: {row}"
        await asyncio.sleep(0.01)
