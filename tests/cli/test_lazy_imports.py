"""The command line imports heavy libraries only for the commands that need them.

Each check runs a fresh interpreter (this test process has imported everything already) and
lists which of the heavy packages it loaded: ``--version`` and ``--help`` need none of them,
``pdus`` and ``power`` need SQLAlchemy Core and the dialect of the database in use, but neither
SQLAlchemy's ORM nor its asyncio extension (which imports the ORM: they read through
``db/reader.py``), no pydantic (they take only the database URL from ``powermon.toml``),
SNMP, numpy, matplotlib, nor MariaDB's dialect on SQLite. Start-up CPU itself is measured
by ``bench/bench_startup.py``, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sqlalchemy", "pydantic", "pysnmp", "pyasn1", "numpy", "matplotlib", "alembic")

PROBE = """
import json, sys
from powermond.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
dialects = sorted(
    m for m in sys.modules if m.startswith("sqlalchemy.dialects.") and m.count(".") == 2
)
snmp = sorted(m for m in sys.modules if m.startswith("powermond.snmp."))
orm = sorted({".".join(m.split(".")[:3]) for m in sys.modules
              if m.startswith(("sqlalchemy.orm", "sqlalchemy.ext.asyncio"))})
print(json.dumps({"code": code, "heavy": loaded, "dialects": dialects, "snmp": snmp,
                  "orm": orm}), file=sys.stderr)
"""


def imported_by(*argv: str) -> dict[str, object]:
    """Exit code, heavy packages and SQLAlchemy dialects a ``powermon`` run loaded."""
    code = f"HEAVY = {HEAVY!r}\n{PROBE}"
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60, check=False
    )
    report: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["report", "--help"]])
def test_version_and_help_import_no_heavy_library(argv: list[str]) -> None:
    assert imported_by(*argv) == {"code": 0, "heavy": [], "dialects": [], "snmp": [], "orm": []}


def test_pdus_on_sqlite_imports_sqlalchemy_and_sqlite_only(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "powermon.toml").write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "pm.db"}"\n'
    )
    assert imported_by("--config-dir", str(etc), "db", "upgrade")["code"] == 0
    report = imported_by("--config-dir", str(etc), "pdus")
    assert report["code"] == 0
    assert report["heavy"] == ["sqlalchemy"]
    # SQLite's dialect only (the schema declares no dialect's options: they would make
    # SQLAlchemy load that dialect); MariaDB's is imported by bulk.py for MariaDB only.
    # Nothing of SNMP, nor of the poll (the stored health states are read without
    # collect.cycle).
    assert report["dialects"] == ["sqlalchemy.dialects._typing", "sqlalchemy.dialects.sqlite"]
    assert report["snmp"] == []
    assert report["orm"] == []  # Core only: no ORM, no asyncio extension


@pytest.fixture
def applied(tmp_path: Path) -> Path:
    """A configuration directory over a SQLite database, upgraded, with one PDU and one
    machine applied."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "powermon.toml").write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "pm.db"}"\n'
    )
    (etc / "machines.toml").write_text('[machine.wn1]\noutlets = ["a:1"]\n')
    (etc / "pdus.toml").write_text('[pdu.a]\nhost = "192.0.2.1"\nprofile = "apc-rpdu2"\n')
    assert imported_by("--config-dir", str(etc), "db", "upgrade")["code"] == 0
    assert imported_by("--config-dir", str(etc), "config", "apply")["code"] == 0
    return etc


def test_machines_and_outlets_read_without_the_orm(applied: Path) -> None:
    etc = applied
    for argv in (["machines"], ["outlets", "a"]):
        report = imported_by("--config-dir", str(etc), *argv)
        assert (report["code"], report["orm"]) == (0, []), argv


def test_power_imports_no_snmp_and_one_dialect(applied: Path) -> None:
    etc = applied
    report = imported_by("--config-dir", str(etc), "power", "wn1", "--format", "json")
    assert report["code"] == 0
    assert report["heavy"] == ["sqlalchemy"]
    assert report["orm"] == []  # Core only: no ORM, no asyncio extension
    assert report["dialects"] == ["sqlalchemy.dialects._typing", "sqlalchemy.dialects.sqlite"]
    assert report["snmp"] == []
