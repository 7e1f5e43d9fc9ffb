"""``powermon status`` and ``powermon pdus`` as an operator runs them, on each database: PDU
health, stale and partial machines, the spool, and the check command's exit status."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from powermond.cli import main
from powermond.collect.cycle import CycleResult, PduResult
from powermond.collect.store import CycleInfo, InventorySync, store_cycle
from powermond.db.engine import Database
from powermond.db.health import HealthRecorder
from powermond.db.migrate import upgrade
from powermond.inventory.load import load_all
from powermond.readings import OutletReading
from powermond.spool import Spool

PDUS = """
[pdu.rack-a1]
host = "192.0.2.10"
profile = "apc-rpdu2"

[pdu.rack-b1]
host = "192.0.2.11"
profile = "eaton-epdu"
"""

MACHINES = """
[machine."wn001"]
outlets = ["rack-a1:1", "rack-b1:1"]

[machine."wn002"]
outlets = ["rack-a1:2"]
"""
INTERVAL = 300
DOWN = "no answer from 192.0.2.11:161 within 2 s x 2 tries (wrong community or unreachable)"


@pytest.fixture
def config_dir(tmp_path: Path, db_url: str) -> Path:
    directory = tmp_path / "etc"
    directory.mkdir()
    (directory / "powermon.toml").write_text(
        f'[database]\nurl = "{db_url}"\n[collector]\ninterval = {INTERVAL}\n'
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n'
    )
    (directory / "pdus.toml").write_text(PDUS)
    (directory / "machines.toml").write_text(MACHINES)
    return directory


def reading(outlet: str, watts: float) -> OutletReading:
    return OutletReading(outlet, watts, None, None)


def cycles(config_dir: Path, *results: CycleResult) -> None:
    """What the daemon stores per cycle: readings, then every polled PDU's health."""
    settings, inventory = load_all(config_dir)
    url = settings.database.url.get_secret_value()

    async def run() -> None:
        await upgrade(url)
        db = Database.from_url(url)
        try:
            assert await InventorySync(db).apply(inventory)
            recorder = HealthRecorder(db)
            for result in results:
                info = CycleInfo(failed=len(result.errors), seconds=result.seconds)
                readings = result.readings_by_pdu()
                await store_cycle(db, result.cycle, readings, interval=INTERVAL, info=info)
                await recorder.record(result)
        finally:
            await db.dispose()

    asyncio.run(run())


def cycle_at(when: datetime, *, b_down: bool) -> CycleResult:
    a = PduResult("rack-a1", readings=(reading("1", 100), reading("2", 50)), seconds=0.1)
    b = (
        PduResult("rack-b1", error=DOWN, seconds=4.0)
        if b_down
        else PduResult("rack-b1", readings=(reading("1", 70),), seconds=0.2)
    )
    return CycleResult(when.replace(microsecond=0), (a, b), seconds=4.2)


def status(config_dir: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> tuple[int, str]:
    code = main(["--config-dir", str(config_dir), "status", "--format", fmt])
    return code, capsys.readouterr().out


def test_everything_up_exits_0(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC)
    cycles(config_dir, cycle_at(now - timedelta(seconds=INTERVAL), b_down=False),
           cycle_at(now, b_down=False))  # fmt: skip
    code, out = status(config_dir, capsys, "json")
    document = json.loads(out)
    assert code == 0, document["problems"]
    assert document["ok"] is True
    assert document["database"]["reachable"] is True
    last = document["last_cycle"]
    assert (last["pdus_ok"], last["pdus_failed"], last["readings"]) == (2, 0, 3)
    assert (last["duration_s"], last["interval_s"], last["origin"]) == (4.2, INTERVAL, "daemon")
    assert last["time"] == _z(now)
    assert document["pdus"] == {"polled": 2, "up": 2, "not_up": []}
    assert document["stale_machines"] == []
    assert document["partial_machines"] == []
    assert document["spool"]["cycles"] == 0
    code, out = status(config_dir, capsys, "table")
    assert code == 0
    assert out.splitlines()[-1] == "status:     OK"


def test_a_pdu_down_and_a_partial_machine_exit_1(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    earlier = now - timedelta(seconds=INTERVAL)
    cycles(config_dir, cycle_at(earlier, b_down=False), cycle_at(now, b_down=True))
    code, out = status(config_dir, capsys, "json")
    document = json.loads(out)
    assert code == 1
    last = document["last_cycle"]
    assert (last["pdus_ok"], last["pdus_failed"], last["readings"]) == (1, 1, 2)
    (down,) = document["pdus"]["not_up"]
    assert down["pdu"] == "rack-b1"
    assert down["state"] == "down"
    assert down["error"] == DOWN
    assert down["since"] == _z(now)
    assert down["last_success"] == _z(earlier)
    assert document["partial_machines"] == [
        {"machine": "wn001", "cycle": _z(now), "missing": ["rack-b1:1"]}
    ]
    assert document["stale_machines"] == []
    code, out = status(config_dir, capsys, "table")
    assert code == 1
    assert f"rack-b1: down since {_z(now)}: {DOWN}" in out
    assert "wn001: rack-b1:1 missing" in out
    code, out = status(config_dir, capsys, "csv")
    assert code == 1
    assert f"pdu,rack-b1,down,{_z(now)},{DOWN}" in out.splitlines()


def test_stale_machines_and_a_daemon_not_cycling(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = datetime.now(UTC) - timedelta(seconds=3 * INTERVAL)
    cycles(config_dir, cycle_at(old, b_down=False))
    code, out = status(config_dir, capsys, "json")
    document = json.loads(out)
    assert code == 1
    assert [m["machine"] for m in document["stale_machines"]] == ["wn001", "wn002"]
    assert any("is powermond running?" in p for p in document["problems"])


def test_spool_depth_and_an_unreachable_database(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = Spool(tmp_path / "state" / "spool", 10)
    spool.put(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), {"rack-a1": [reading("1", 5)]})
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")  # SQLite cannot open a database below a plain file
    (config_dir / "powermon.toml").write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{blocked}/powermon.db"\n'
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n'
    )
    code, out = status(config_dir, capsys, "json")
    document: dict[str, Any] = json.loads(out)
    assert code == 1
    assert document["database"]["reachable"] is False
    assert document["spool"]["cycles"] == 1
    assert document["spool"]["oldest"] == "2026-12-01T09:00:00Z"


def test_pdus_shows_state_and_last_success(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    cycles(config_dir, cycle_at(now, b_down=True))
    assert main(["--config-dir", str(config_dir), "pdus", "--format", "json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["rack-a1"]["state"] == "up"
    assert rows["rack-a1"]["last_success"] == _z(now)
    assert rows["rack-b1"]["state"] == "never answered"
    assert rows["rack-b1"]["last_success"] is None
    assert rows["rack-b1"]["last_error"] == DOWN
    assert main(["--config-dir", str(config_dir), "pdus"]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.split()[-2:] == ["state", "last_success"]
    assert any("never answered" in line for line in lines)


def _z(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def test_status_lists_the_live_collectors_and_their_pdus(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from powermond.cluster import Cluster, Identity
    from powermond.settings import CollectorSettings

    now = datetime.now(UTC)
    cycles(config_dir, cycle_at(now, b_down=False))
    settings, inventory = load_all(config_dir)

    async def join_two() -> None:
        db = Database.from_url(settings.database.url.get_secret_value())
        try:
            for name, only in (("north", ["rack-a1"]), ("south", [])):
                me = Identity.of_this_process(CollectorSettings(name=name, only=only))
                await Cluster(db, me, INTERVAL, 3600).share(inventory)
        finally:
            await db.dispose()

    asyncio.run(join_two())
    code, out = status(config_dir, capsys, "json")
    collectors = {c["name"]: c["pdus"] for c in json.loads(out)["collectors"]["collectors"]}
    assert collectors == {"north": ["rack-a1"], "south": ["rack-b1"]}
    assert code == 0
    code, out = status(config_dir, capsys, "table")
    assert "collectors: 2 live" in out
    assert "  north (" in out
