"""``powermon db upgrade``, ``pdus``, ``machines``, ``outlets PDU`` as an operator runs them."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from powermond.cli import main
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.migrate import head_revision
from powermond.db.repositories import ReadingRepository
from powermond.readings import OutletReading

from .conftest import MakeInventory

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def config_dir(tmp_path: Path, sqlite_url: str) -> Path:
    """powermon.toml naming a SQLite file whose directory does not exist yet."""
    directory = tmp_path / "etc"
    directory.mkdir()
    db_file = tmp_path / "var" / "lib" / "powermon.db"
    (directory / "powermon.toml").write_text(f'[database]\nurl = "sqlite+aiosqlite:///{db_file}"\n')
    return directory


def _run(capsys: pytest.CaptureFixture[str], config_dir: Path, *argv: str) -> tuple[int, str]:
    code = main(["--config-dir", str(config_dir), *argv])
    out, err = capsys.readouterr()
    return code, out if code == 0 else err


def _url(config_dir: Path) -> str:
    text = (config_dir / "powermon.toml").read_text()
    return text.split('"')[1]


def _populate(url: str, make_inventory: MakeInventory) -> None:
    """wn001 on rack-a1:3 and rack-b1:3 with one reading; wn009 and rack-z retired."""

    async def run() -> None:
        db = Database.from_url(url)
        try:
            old = make_inventory(
                {"rack-a1": "192.0.2.10", "rack-b1": "192.0.2.11", "rack-z": "192.0.2.99"},
                {"wn009": ["rack-z:1"]},
            )
            new = make_inventory(
                {"rack-a1": "192.0.2.10", "rack-b1": "192.0.2.11"},
                {"wn001": ["rack-a1:3", "rack-b1:3"]},
            )
            async with db.transaction() as session:
                await apply_inventory(session, old)
            async with db.transaction() as session:
                await apply_inventory(session, new)
                readings = [
                    OutletReading("3", 231.5, 1.0, 12.5),
                    OutletReading("1", 7.0, None, None),
                ]
                await ReadingRepository(session).add_cycle_many(T0, {"rack-a1": readings})
        finally:
            await db.dispose()

    asyncio.run(run())


def test_db_upgrade_prints_the_revision(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    code, out = _run(capsys, config_dir, "db", "upgrade")
    assert code == 0
    assert out.strip().endswith(f"upgraded from empty to revision {head_revision()}")
    code, out = _run(capsys, config_dir, "db", "upgrade")
    assert (code, out.strip().split(": ", 1)[1]) == (0, f"already at revision {head_revision()}")


def test_environment_url_overrides_the_file(
    capsys: pytest.CaptureFixture[str],
    config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = tmp_path / "other.db"
    monkeypatch.setenv("POWERMON_DATABASE_URL", f"sqlite+aiosqlite:///{other}")
    code, out = _run(capsys, config_dir, "db", "upgrade")
    assert code == 0
    assert str(other) in out
    assert other.is_file()


def test_pdus_machines_outlets(
    capsys: pytest.CaptureFixture[str], config_dir: Path, make_inventory: MakeInventory
) -> None:
    assert _run(capsys, config_dir, "db", "upgrade")[0] == 0
    _populate(_url(config_dir), make_inventory)

    code, out = _run(capsys, config_dir, "pdus", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert [(r["name"], r["host"], r["status"][:7]) for r in rows] == [
        ("rack-a1", "192.0.2.10", "active"),
        ("rack-b1", "192.0.2.11", "active"),
        ("rack-z", "192.0.2.99", "retired"),
    ]

    code, out = _run(capsys, config_dir, "machines", "--format", "json")
    machines = json.loads(out)
    assert [(m["name"], m["outlets"], m["retired"]) for m in machines] == [
        ("wn001", ["rack-a1:3", "rack-b1:3"], False),
        ("wn009", [], True),
    ]
    assert machines[1]["retired_at"].endswith("Z")

    code, out = _run(capsys, config_dir, "machines")
    lines = out.splitlines()
    assert lines[0].split() == ["name", "outlets", "rrd", "status"]
    assert lines[1].split() == ["wn001", "rack-a1:3", "rack-b1:3", "active"]
    assert lines[2].split()[:3] == ["wn009", "retired", lines[2].split()[2]]

    code, out = _run(capsys, config_dir, "outlets", "rack-a1", "--format", "json")
    assert (code, json.loads(out)) == (
        0,
        [
            {
                "pdu": "rack-a1",
                "outlet": "1",
                "machine": None,
                "last_reading": "2026-10-01T12:00:00Z",
                "watts": 7.0,
            },
            {
                "pdu": "rack-a1",
                "outlet": "3",
                "machine": "wn001",
                "last_reading": "2026-10-01T12:00:00Z",
                "watts": 231.5,
            },
        ],
    )


def test_outlets_of_unknown_pdu_fails(capsys: pytest.CaptureFixture[str], config_dir: Path) -> None:
    assert _run(capsys, config_dir, "db", "upgrade")[0] == 0
    code, out = _run(capsys, config_dir, "outlets", "ghost")
    assert code == 1
    assert "PDU 'ghost' is not in the database" in out


def test_unreachable_database_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERMON_DATABASE_URL", "postgresql+asyncpg://pm:s3cret@127.0.0.1:1/pm")
    code, out = _run(capsys, config_dir, "pdus")
    assert code == 1
    assert out.startswith("powermon: postgresql+asyncpg://pm:***@127.0.0.1:1/pm: ")
    assert "s3cret" not in out


@pytest.fixture
def any_config_dir(tmp_path: Path, db_url: str) -> Path:
    """powermon.toml naming a fresh database of each kind (SQLite, MariaDB, PostgreSQL)."""
    directory = tmp_path / "etc-any"
    directory.mkdir()
    (directory / "powermon.toml").write_text(f'[database]\nurl = "{db_url}"\n')
    return directory


def test_read_commands_on_every_database(
    capsys: pytest.CaptureFixture[str], any_config_dir: Path, make_inventory: MakeInventory
) -> None:
    """pdus, machines, outlets and power read through SQLAlchemy Core alone
    (db/reader.py): the same rows on each database as the daemon's sessions wrote."""
    assert _run(capsys, any_config_dir, "db", "upgrade")[0] == 0
    _populate(_url(any_config_dir), make_inventory)

    code, out = _run(capsys, any_config_dir, "pdus", "--format", "json")
    pdus = json.loads(out)
    assert code == 0
    assert [(p["name"], p["host"], p["port"], p["retired"], p["state"]) for p in pdus] == [
        ("rack-a1", "192.0.2.10", 161, False, "not polled"),
        ("rack-b1", "192.0.2.11", 161, False, "not polled"),
        ("rack-z", "192.0.2.99", 161, True, "not polled"),
    ]
    assert pdus[2]["retired_at"].endswith("Z")

    code, out = _run(capsys, any_config_dir, "machines", "--format", "json")
    assert [(m["name"], m["outlets"], m["retired"]) for m in json.loads(out)] == [
        ("wn001", ["rack-a1:3", "rack-b1:3"], False),
        ("wn009", [], True),
    ]

    code, out = _run(capsys, any_config_dir, "outlets", "rack-a1", "--format", "csv")
    assert (code, out.splitlines()) == (
        0,
        [
            "outlet,machine,last_reading,watts",
            "1,,2026-10-01T12:00:00Z,7.0",
            "3,wn001,2026-10-01T12:00:00Z,231.5",
        ],
    )

    period = ["--since", "2026-10-01T11:00:00Z", "--until", "2026-10-01T13:00:00Z"]
    code, out = _run(capsys, any_config_dir, "power", "wn001", *period, "--format", "json")
    assert (code, json.loads(out)) == (
        0,
        {
            "machine": "wn001",
            "feeds": ["rack-a1:3", "rack-b1:3"],
            "points": [
                {"time": "2026-10-01T12:00:00Z", "watts": 231.5, "partial": True, "feeds": 1}
            ],
        },
    )
    code, out = _run(capsys, any_config_dir, "power", "wn404")
    assert (code, out) == (1, "powermon: machine 'wn404' is not in the database\n")


def test_read_commands_on_an_empty_database_say_upgrade(
    capsys: pytest.CaptureFixture[str], any_config_dir: Path
) -> None:
    """A database without the schema (SQLite: no file yet): one line that says what to run,
    on each database."""
    for argv in (["pdus"], ["power", "wn001"]):
        code, out = _run(capsys, any_config_dir, *argv)
        assert code == 1, argv
        assert out.startswith("powermon: "), out
        assert out.count("\n") == 1, out
        assert "run `powermon db upgrade`" in out or "`powermon db upgrade`" in out, out


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://pm:s3cret@127.0.0.1:1/pm",
        "mysql+asyncmy://pm:s3cret@127.0.0.1:1/pm",
    ],
)
@pytest.mark.parametrize("argv", [["pdus"], ["power", "wn001"]])
def test_read_commands_on_a_database_that_is_down(
    capsys: pytest.CaptureFixture[str],
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    argv: list[str],
) -> None:
    monkeypatch.setenv("POWERMON_DATABASE_URL", url)
    code, out = _run(capsys, config_dir, *argv)
    assert code == 1
    masked = url.replace("s3cret", "***")
    assert out.startswith(f"powermon: {masked}: database un"), out  # unreachable/unavailable
    assert "Connect call failed" in out
    assert out.count("\n") == 1
    assert "s3cret" not in out
