"""``powermon import-load`` and ``powermon load`` as an operator runs them."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path

import pytest
from rrdfiles import make_host

from powermond.cli import main
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.migrate import upgrade
from powermond.inventory.model import Inventory, MachineConfig, OutletRef, PduConfig


def setup_config(tmp_path: Path, machines: list[str]) -> Path:
    """A config dir whose SQLite database already holds ``machines``."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'powermon.db'}"
    config = tmp_path / "etc"
    config.mkdir()
    (config / "powermon.toml").write_text(
        f'[database]\nurl = "{url}"\n[rrd]\nroot = "{tmp_path / "rrds"}"\nbackfill_days = 1\n'
    )
    inventory = Inventory(
        pdus={"p1": PduConfig(name="p1", host="127.0.0.1", profile="apc-rpdu2")},
        machines={
            name: MachineConfig(name=name, outlets=(OutletRef(pdu="p1", label=str(i)),))
            for i, name in enumerate(machines, start=1)
        },
    )

    async def prepare() -> None:
        await upgrade(url)
        db = Database.from_url(url)
        try:
            async with db.transaction() as session:
                await apply_inventory(session, inventory)
        finally:
            await db.dispose()

    asyncio.run(prepare())
    return config


def recent_host(tmp_path: Path, host: str) -> Path:
    """Two hours of steady load up to now (the import reads relative to the wall clock)."""
    now = int(time.time()) // 15 * 15
    return make_host(tmp_path / "rrds", "Workers", host, now - 7200, now, lambda t: (0.5, 1.5, 2.5))


def test_import_then_show_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = setup_config(tmp_path, ["wn001", "wn002"])
    recent_host(tmp_path, "WN001")
    assert main(["--config-dir", str(config), "import-load"]) == 0
    summary = capsys.readouterr().out.strip()
    assert summary.startswith("load import: 1 machines, ")
    assert summary.endswith(" rows, 1 skipped, 0 errors")
    rows = int(summary.split(", ")[1].split()[0])
    assert 22 <= rows <= 24  # two hours of 5-min buckets, less the ones not yet settled

    assert (
        main(["load", "wn001", "--since", "-3h", "--format", "json", "--config-dir", str(config)])
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert document["machine"] == "wn001"
    assert len(document["points"]) == rows
    first = document["points"][0]
    assert set(first) == {"time", "load1", "load5", "load15"}
    assert first["time"].endswith(":00Z")
    assert (first["load1"], first["load5"], first["load15"]) == (0.5, 1.5, 2.5)

    assert main(["--config-dir", str(config), "import-load", "--machine", "wn001"]) == 0
    assert capsys.readouterr().out.strip() == "load import: 1 machines, 0 rows, 0 skipped, 0 errors"


def test_load_of_an_unknown_machine_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = setup_config(tmp_path, ["wn001"])
    assert main(["--config-dir", str(config), "load", "nope", "--format", "json"]) == 1
    assert "nope" in capsys.readouterr().err
    assert main(["--config-dir", str(config), "import-load", "--machine", "nope"]) == 1


def test_import_fails_when_every_machine_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = setup_config(tmp_path, ["wn001"])
    host = recent_host(tmp_path, "wn001")
    (host / "load_one.rrd").write_bytes(b"\0" * 4096)
    assert main(["--config-dir", str(config), "import-load"]) == 1
    assert capsys.readouterr().out.strip() == "load import: 0 machines, 0 rows, 0 skipped, 1 errors"


def test_the_progress_line_rewrites_itself() -> None:
    from powermond.cli.load_cmds import _ProgressLine

    out = io.StringIO()
    line = _ProgressLine(out)
    line.update(1, 2)
    line.update(2, 2)
    line.close()
    assert out.getvalue() == "\rimporting load: 1/2 machines\rimporting load: 2/2 machines\n"
