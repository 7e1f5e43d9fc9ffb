"""``powermon db upgrade`` by hand creates the SQLite file private (issue 13)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from powermond.cli import main


def test_db_upgrade_creates_the_sqlite_file_without_access_for_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "etc"
    directory.mkdir()
    db_file = tmp_path / "var" / "powermon.db"
    (directory / "powermon.toml").write_text(f'[database]\nurl = "sqlite+aiosqlite:///{db_file}"\n')
    old = os.umask(0o022)  # the usual umask, under which SQLite made it 0644
    try:
        assert main(["--config-dir", str(directory), "db", "upgrade"]) == 0, capsys.readouterr()
    finally:
        os.umask(old)
    mode = stat.S_IMODE(db_file.stat().st_mode)
    assert mode & 0o007 == 0, oct(mode)
    assert mode in (0o640, 0o600), oct(mode)
    # The database works: a second upgrade finds it current.
    assert main(["--config-dir", str(directory), "db", "upgrade"]) == 0
