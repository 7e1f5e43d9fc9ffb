"""``powermon collectors`` as an operator runs it: live collectors, their PDUs, exit codes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from powermond.cli import main
from powermond.cluster import inventory_digest
from powermond.db.collectors import CollectorRepository, Heartbeat
from powermond.db.cycles import DAEMON, CycleRepository
from powermond.db.engine import Database
from powermond.db.migrate import upgrade
from powermond.db.rows import CycleRow

PDUS = [f"rack-{i}" for i in range(7)]
LAST = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "etc"
    directory.mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path / 'powermon.db'}"
    (directory / "powermon.toml").write_text(f'[database]\nurl = "{url}"\n')
    (directory / "pdus.toml").write_text(
        "".join(
            f'[pdu.{p}]\nhost = "192.0.2.{i + 1}"\nprofile = "apc-rpdu2"\ncommunity = "x"\n'
            for i, p in enumerate(PDUS)
        )
    )
    (directory / "machines.toml").write_text("")
    asyncio.run(upgrade(url))
    return directory


def _beat(config_dir: Path, *beats: tuple[Heartbeat, datetime]) -> None:
    url = (config_dir / "powermon.toml").read_text().split('"')[1]

    async def run() -> None:
        db = Database.from_url(url)
        try:
            async with db.transaction() as session:
                for beat, at in beats:
                    await CollectorRepository(session).beat(beat, at, timedelta(seconds=450))
                # alpha's last cycle, as its daemon records it (issue 10's cycle table)
                row = CycleRow(LAST, "alpha", DAEMON, 300.0, 4, 1, 24, 1.5)
                await CycleRepository(session).add(row)
        finally:
            await db.dispose()

    asyncio.run(run())


def _heartbeat(name: str, only: frozenset[str] = frozenset(), pdus: list[str] = PDUS) -> Heartbeat:
    started = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    return Heartbeat(name, f"{name}.example.org", 4242, started, only, inventory_digest(pdus), 0)


def test_lists_live_collectors_and_their_shares(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    _beat(
        config_dir,
        (_heartbeat("alpha"), now),
        (_heartbeat("beta", pdus=PDUS[:3]), now),
        (_heartbeat("isolated", frozenset({"rack-6"})), now),
        (_heartbeat("gone"), now - timedelta(hours=1)),  # its heartbeat expired
    )
    assert main(["--config-dir", str(config_dir), "collectors", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    collectors = {c["name"]: c for c in document["collectors"]}
    assert set(collectors) == {"alpha", "beta", "isolated"}
    assert collectors["isolated"]["pdus"] == ["rack-6"]
    assert collectors["isolated"]["pinned"] == ["rack-6"]
    shared = collectors["alpha"]["pdus"] + collectors["beta"]["pdus"]
    assert sorted(shared) == PDUS[:6]
    assert {len(collectors["alpha"]["pdus"]), len(collectors["beta"]["pdus"])} == {3}
    assert (collectors["alpha"]["same_pdus"], collectors["beta"]["same_pdus"]) == (True, False)
    assert document["unpolled"] == []
    alpha = collectors["alpha"]
    assert (alpha["last_cycle"], alpha["last_pdus_polled"], alpha["last_pdus_failed"]) == (
        "2026-12-01T09:00:00Z",
        4,
        1,
    )
    assert collectors["beta"]["last_cycle"] is None

    assert main(["--config-dir", str(config_dir), "collectors"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["collector", "host", "pid", "pdus", "last_cycle", "failed",
                                "heartbeat", "note"]  # fmt: skip
    assert any(line.startswith("beta") and "other pdus.toml" in line for line in table)


def test_no_live_collector_is_a_failure(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config-dir", str(config_dir), "collectors"]) == 1
    assert "no live collector: is powermond running?" in capsys.readouterr().out


def test_pdus_nobody_polls_are_named(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _beat(config_dir, (_heartbeat("isolated", frozenset({"rack-0"})), datetime.now(UTC)))
    assert main(["--config-dir", str(config_dir), "collectors"]) == 1
    assert "6 PDUs have no collector: rack-1, rack-2" in capsys.readouterr().out
