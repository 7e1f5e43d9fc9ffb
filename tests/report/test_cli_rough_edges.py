"""What a newcomer runs into: a mistyped --config-dir, a closed pipe, a read-only database.

Each command runs as the operator runs it (``main``, or the installed scripts in a
subprocess), on a real SQLite file.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from powermond import __version__
from powermond.cli import main
from powermond.db.engine import Database
from powermond.readings import LoadSample, OutletReading

from .conftest import STEP, store, store_load

T0 = datetime(2026, 10, 1, tzinfo=UTC)
BIN = Path(sys.executable).parent
PERIOD = ("--since", "2026-10-01", "--until", "2026-10-02")
NOBODY = 65534

# Every command that reads the database, with the arguments it needs.
READ_COMMANDS = [
    ("report",),
    ("power", "wn001"),
    ("load", "wn001"),
    ("plot", "wn001", "-o", "x.png"),
    ("pdus",),
    ("machines",),
    ("outlets", "pdu-a"),
    ("collectors",),
    ("status",),
]
# Every command that would write to the database (or poll PDUs and then write).
WRITE_COMMANDS = [("config", "apply"), ("import-load",), ("db", "prune"), ("poll",)]


@pytest.fixture
async def populated(db: Database, sqlite_url: str) -> str:
    """wn001 on pdu-a:1 (A: 100.25 W) and pdu-b:1 (B: 200 W, a counter), load 2.5: 2 hours."""
    for i in range(24):
        cycle = T0 + i * STEP
        await store(db, cycle, "pdu-a", [OutletReading("1", 100.25, None, None)])
        await store(db, cycle, "pdu-b", [OutletReading("1", 200.0, 0.9, 1 + i / 60)])
    await store_load(db, "wn001", [LoadSample(T0 + i * STEP, 2.5, 2.0, 3.0) for i in range(12)])
    await db.dispose()  # the last connection closing checkpoints the WAL into the file
    return sqlite_url


def _config(folder: Path, url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "powermon.toml").write_text(f'[database]\nurl = "{url}"\n')
    (folder / "pdus.toml").write_text("")
    (folder / "machines.toml").write_text("")
    return folder


@pytest.fixture
def config_dir(populated: str, tmp_path: Path) -> Path:
    return _config(tmp_path / "etc", populated)


def _powermon(*argv: str, stdout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "powermon"), *argv], stdout=stdout, stderr=subprocess.PIPE, text=True,
        timeout=60, check=False,
    )  # fmt: skip


# --- the configuration directory, and who may create a database ------------------------


@pytest.mark.parametrize("argv", READ_COMMANDS + WRITE_COMMANDS, ids=" ".join)
def test_a_missing_config_dir_is_named_and_nothing_is_created(
    argv: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POWERMON_DATABASE_URL", raising=False)
    missing = tmp_path / "etc-powermon-typo"
    assert main([*argv, "--config-dir", str(missing)]) == 78
    assert f"{missing}: configuration directory does not exist" in capsys.readouterr().err
    monkeypatch.setenv("POWERMON_CONFIG_DIR", str(missing))
    assert main(list(argv)) == 78
    assert "configuration directory does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", READ_COMMANDS + WRITE_COMMANDS[:3], ids=" ".join)
def test_only_db_upgrade_creates_the_sqlite_file(
    argv: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POWERMON_DATABASE_URL", raising=False)
    db_file = tmp_path / "var" / "powermon.db"
    (tmp_path / "var").mkdir()
    config = _config(tmp_path / "etc", f"sqlite+aiosqlite:///{db_file}")
    assert main(["--config-dir", str(config), *argv]) == 1
    printed = capsys.readouterr()
    said = printed.err + printed.out  # status reports its database section on stdout
    assert f"{db_file}: the database file does not exist" in said
    assert "run `powermon db upgrade`" in said
    assert list((tmp_path / "var").iterdir()) == []
    assert main(["--config-dir", str(config), "db", "upgrade"]) == 0
    assert db_file.is_file()


# --- powermond, its own name -----------------------------------------------------------------


def test_powermond_has_its_own_version_and_usage(tmp_path: Path) -> None:
    version = subprocess.run(
        [str(BIN / "powermond"), "--version"], capture_output=True, text=True, timeout=60
    )
    assert (version.returncode, version.stdout.strip()) == (0, f"powermond {__version__}")
    usage = subprocess.run(
        [str(BIN / "powermond"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert usage.returncode == 0
    assert usage.stdout.startswith("usage: powermond ")
    assert "powermon run" not in usage.stdout
    bad = subprocess.run(
        [str(BIN / "powermond"), "--bogus"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("usage: powermond ")


def test_the_daemon_logs_its_version_at_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "powermond"), "--config-dir", str(tmp_path / "nope")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 78
    assert f"powermond {__version__} starting" in done.stderr
    assert "Traceback" not in done.stderr


# --- no tracebacks: a closed pipe, a file that cannot be written -----------------------------


@pytest.mark.parametrize(
    "argv",
    [("report", *PERIOD), ("power", "wn001", *PERIOD, "--format", "csv"), ("pdus",)],
    ids=" ".join,
)
def test_a_closed_pipe_ends_quietly(argv: tuple[str, ...], config_dir: Path) -> None:
    # `powermon report | head -1`, with the reader gone before the first write.
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = _powermon("--config-dir", str(config_dir), *argv, stdout=writer)
    finally:
        os.close(writer)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert "Exception ignored" not in done.stderr


def test_head_reads_the_first_line(config_dir: Path) -> None:
    with subprocess.Popen(
        [str(BIN / "powermon"), "--config-dir", str(config_dir), "power", "wn001", *PERIOD],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        assert proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # like `head -1`
        err = proc.stderr.read()
        proc.wait(timeout=60)
    assert first.split() == ["time", "watts", "partial", "feeds"]
    assert "Traceback" not in err


def test_plot_into_a_missing_folder_says_so(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.png"
    code = main(["--config-dir", str(config_dir), "plot", "wn001", *PERIOD, "-o", str(target)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"powermon: {target}: No such file or directory" in err.splitlines()


# --- read-only and unreadable SQLite files --------------------------------------------------


@pytest.fixture
def shared_copy(populated: str) -> Iterator[Path]:
    """The populated database in a folder of its own that other users may enter (not write)."""
    folder = Path(tempfile.mkdtemp(prefix="powermon-ro-"))
    try:
        source = Path(populated.split("///", 1)[1])
        shutil.copy(source, folder / "powermon.db")
        _config(folder / "etc", f"sqlite+aiosqlite:///{folder / 'powermon.db'}")
        for path in (folder, folder / "etc"):
            path.chmod(0o755)
        (folder / "etc" / "powermon.toml").chmod(0o644)
        yield folder
    finally:
        shutil.rmtree(folder)


def _as_other_user(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``powermon ARGV`` as a user who does not own the files (root bypasses permissions)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root bypasses file permissions and setpriv (util-linux) is absent")
        prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        probe = subprocess.run([*prefix, sys.executable, "-c", "import powermond"],
                               capture_output=True, timeout=60, check=False)  # fmt: skip
        if probe.returncode != 0:
            pytest.skip(f"user {NOBODY} cannot run this venv's Python (a folder on its path is "
                        "closed to other users)")  # fmt: skip
    env = {**os.environ, "HOME": str(folder), "MPLCONFIGDIR": str(folder)}
    return subprocess.run(
        [*prefix, str(BIN / "powermon"), "--config-dir", str(folder / "etc"), *argv],
        capture_output=True, text=True, timeout=60, check=False, env=env, cwd=folder,
    )  # fmt: skip


def test_a_read_only_database_can_be_reported_on(shared_copy: Path) -> None:
    (shared_copy / "powermon.db").chmod(0o444)
    done = _as_other_user(shared_copy, "report", *PERIOD, "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["machine"] for r in rows] == ["wn001"]
    assert sorted(p.name for p in shared_copy.iterdir()) == ["etc", "powermon.db"]
    pdus = _as_other_user(shared_copy, "pdus")
    assert pdus.returncode == 0, pdus.stderr
    assert "pdu-a" in pdus.stdout


def test_an_unreadable_database_is_named_as_a_permission_problem(shared_copy: Path) -> None:
    db_file = shared_copy / "powermon.db"
    db_file.chmod(0o600)
    done = _as_other_user(shared_copy, "report", *PERIOD)
    assert done.returncode == 1
    assert f"{db_file}: permission denied" in done.stderr
    assert "Traceback" not in done.stderr
    written = _as_other_user(shared_copy, "config", "apply")
    assert written.returncode == 1
    assert f"{db_file}: permission denied" in written.stderr
    assert stat.S_IMODE(db_file.stat().st_mode) == 0o600


# --- numbers, booleans, periods -------------------------------------------------------------


async def test_table_columns_have_fixed_decimals(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await asyncio.to_thread(
        main, ["--config-dir", str(config_dir), "report", "--since", "2026-10-01",
               "--until", "2026-10-01T01:00"],
    )  # fmt: skip
    assert code == 0
    header, row = capsys.readouterr().out.splitlines()[:2]
    cells = dict(zip(header.split(), row.split(), strict=True))
    # A: 100.25 W x 1 h integrated; B: the counter, 1/60 kWh a cycle for 12 cycles.
    assert cells["energy_kwh"] == "0.300"
    assert (cells["mean_watts"], cells["peak_watts"]) == ("300.2", "300.2")
    assert cells["mean_load"] == "2.50"


async def test_csv_booleans_are_true_and_false(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await asyncio.to_thread(
        main, ["--config-dir", str(config_dir), "power", "wn001", "--since", "2026-10-01",
               "--until", "2026-10-01T00:10", "--format", "csv"],
    )  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["watts"], r["partial"]) for r in rows] == [("300.2", "false")] * 2


@pytest.mark.parametrize(
    "argv", [("report",), ("power", "wn001"), ("load", "wn001"), ("plot", "wn001", "-o", "x.png")],
    ids=" ".join,
)  # fmt: skip
def test_since_after_until_is_one_usage_error(
    argv: tuple[str, ...], config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config-dir", str(config_dir), *argv, "--since", "2026-10-02",
                 "--until", "2026-10-01"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err == (
        "powermon: --since 2026-10-02T00:00:00Z is not before --until 2026-10-01T00:00:00Z\n"
    )
