"""``powermon collectors`` and ``status`` with departed collectors still remembered (their
PDUs kept for them) and ``[collector] forget_after`` in ``powermon.toml``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from powermond.cli import main
from powermond.cluster import inventory_digest
from powermond.db.collectors import CollectorRepository, Heartbeat
from powermond.db.engine import Database
from powermond.db.migrate import upgrade
from powermond.errors import ConfigError
from powermond.inventory.load import load_settings
from powermond.output import iso_z

PDUS = [f"rack-{i}" for i in range(12)]
TTL = timedelta(seconds=450)


def _config_dir(tmp_path: Path, collector: str = "") -> tuple[Path, str]:
    directory = tmp_path / "etc"
    directory.mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path / 'powermon.db'}"
    (directory / "powermon.toml").write_text(f'[database]\nurl = "{url}"\n{collector}')
    (directory / "pdus.toml").write_text(
        "".join(
            f'[pdu.{p}]\nhost = "192.0.2.{i + 1}"\nprofile = "apc-rpdu2"\ncommunity = "x"\n'
            for i, p in enumerate(PDUS)
        )
    )
    (directory / "machines.toml").write_text("")
    return directory, url


def _heartbeat(name: str) -> Heartbeat:
    started = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    return Heartbeat(
        name, f"{name}.example.org", 4242, started, frozenset(), inventory_digest(PDUS), 0
    )


def test_departed_collectors_are_listed_until_forgotten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_dir, url = _config_dir(tmp_path, "[collector]\nforget_after = 7200\n")
    now = datetime.now(UTC).replace(microsecond=0)
    stopped_at = now - timedelta(hours=1)

    async def rows() -> None:
        await upgrade(url)
        db = Database.from_url(url)
        try:
            async with db.transaction() as session:
                repo = CollectorRepository(session)
                for name in ("alpha", "beta", "gamma", "ancient"):
                    await repo.beat(_heartbeat(name), now, TTL)
                await repo.beat(_heartbeat("gamma"), now - timedelta(minutes=30), TTL)  # died
                await repo.leave("beta", 4242, stopped_at)  # stopped an hour ago
                await repo.leave("ancient", 4242, now - timedelta(hours=3))  # forgotten
        finally:
            await db.dispose()

    asyncio.run(rows())
    assert main(["--config-dir", str(config_dir), "collectors", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in document["collectors"]] == ["alpha"]
    departed = {c["name"]: c for c in document["departed"]}
    assert set(departed) == {"beta", "gamma"}  # ancient: not heard of for over 2 h
    assert departed["beta"]["departed"] == "stopped"
    assert departed["beta"]["remembered_until"] == iso_z(stopped_at + timedelta(hours=2))
    assert departed["gamma"]["departed"] == "heartbeat expired"
    # alpha polls everything meanwhile, the departed nothing.
    assert document["collectors"][0]["pdus"] == sorted(PDUS)
    assert departed["beta"]["pdus"] == departed["gamma"]["pdus"] == []
    assert document["unpolled"] == []

    assert main(["--config-dir", str(config_dir), "collectors"]) == 0
    table = capsys.readouterr().out
    until = iso_z(stopped_at + timedelta(hours=2))
    assert any(
        line.startswith("beta") and f"departed (stopped), remembered until {until}" in line
        for line in table.splitlines()
    ), table
    assert "ancient" not in table

    assert main(["--config-dir", str(config_dir), "status"]) in (0, 1)  # no cycle yet
    status = capsys.readouterr().out
    assert "collectors: 1 live, 2 departed" in status
    assert f"beta (beta.example.org): departed (stopped), remembered until {until}" in status


def test_forget_after_must_outlast_two_intervals(tmp_path: Path) -> None:
    config_dir, _ = _config_dir(tmp_path, "[collector]\ninterval = 300\nforget_after = 500\n")
    with pytest.raises(ConfigError, match=r"forget_after \(500 s\) must be at least two"):
        load_settings(config_dir)
    (config_dir / "powermon.toml").write_text("[collector]\ninterval = 300\nforget_after = 600\n")
    assert load_settings(config_dir).collector.forget_after == 600
    (config_dir / "powermon.toml").write_text("")
    assert load_settings(config_dir).collector.forget_after == 86400
