"""``powermon power``, ``report`` and ``plot`` end to end: config, SQLite, output, exit codes."""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from powermond.cli import main
from powermond.db.engine import Database
from powermond.readings import LoadSample, OutletReading
from powermond.report.plotdata import plot_data

from .conftest import STEP, store, store_load

T0 = datetime(2026, 10, 1, tzinfo=UTC)
CYCLES = 24


@pytest.fixture
async def config_dir(db: Database, sqlite_url: str, tmp_path: Path) -> Path:
    """wn001: A feed 100 W, B feed 200 W with a counter, B missing at cycle 5; load 1/5/15."""
    for i in range(CYCLES):
        cycle = T0 + i * STEP
        await store(db, cycle, "pdu-a", [OutletReading("1", 100.0, None, None)])
        if i != 5:
            await store(db, cycle, "pdu-b", [OutletReading("1", 200.0, None, 1 + i / 60)])
    samples = [LoadSample(T0 + i * STEP, 1.0 + i, 2.0, 3.0) for i in range(CYCLES)]
    await store_load(db, "wn001", samples)
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "powermon.toml").write_text(f'[database]\nurl = "{sqlite_url}"\n')
    return folder


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    # The command runs its own event loop (asyncio.run), so not in the test's.
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_power_json(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(
        capsys, "--config-dir", str(config_dir), "power", "wn001", "--since",
        "2026-10-01T02:00+02:00", "--until", "2026-10-01T00:30Z", "--format", "json",
    )  # fmt: skip
    assert code == 0
    document = json.loads(out)
    assert document["machine"] == "wn001"
    assert [(p["time"], p["watts"], p["partial"]) for p in document["points"]] == [
        (f"2026-10-01T00:{m:02d}:00Z", 100.0 if m == 25 else 300.0, m == 25)
        for m in range(0, 30, 5)
    ]


async def test_report_table_with_total(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await run(
        capsys, "report", "--config-dir", str(config_dir), "--since", "2026-10-01",
        "--until", "2026-10-01T01:00",
    )  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "machine", "energy_kwh", "mean_watts", "peak_watts", "mean_load", "readings",
        "load_samples", "method", "check",
    ]  # fmt: skip
    # A: 12 intervals of 100 W x 5 min integrated; B: the counter (1/60 kWh a cycle) over
    # 12 cycles, the missed cycle 5 bridged by the 4-to-6 delta.
    row = lines[1].split()
    # Fixed decimals per column: kWh 3, W 1, load 2.
    assert row == ["wn001", "0.300", "300.0", "300.0", "6.50", "23", "12", "mixed", "ok"]
    assert lines[-1].split()[:2] == ["Total", row[1]]


async def test_report_json_by_pdu(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(
        capsys, "--config-dir", str(config_dir), "report", "--by", "pdu",
        "--since=-3650d", "--format", "json",
    )  # fmt: skip
    assert code == 0
    document = json.loads(out)
    assert [(r["pdu"], r["method"], r["readings"]) for r in document["rows"]] == [
        ("pdu-a", "integrated", 24),
        ("pdu-b", "counter", 23),
    ]
    assert document["until"].endswith("Z")


async def test_empty_period(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = await run(
        capsys, "--config-dir", str(config_dir), "report", "--since", "2020-01-01",
        "--until", "2020-02-01",
    )  # fmt: skip
    assert (code, out) == (0, "")
    assert "no readings between 2020-01-01T00:00:00Z and 2020-02-01T00:00:00Z" in err
    code, out, err = await run(capsys, "--config-dir", str(config_dir), "power", "wn001")
    assert (code, out) == (0, "")
    assert "no power readings of wn001" in err


async def test_unknown_machine(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = await run(capsys, "--config-dir", str(config_dir), "power", "wn999")
    assert code == 1
    assert "machine 'wn999' is not in the database" in err


async def test_bad_plot_extension(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = await run(
        capsys, "--config-dir", str(config_dir), "plot", "wn001", "-o", "x.gif"
    )
    assert code == 2
    assert ".png, .svg or .pdf" in err


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_plot_png(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "wn.png"
    code, _, _ = await run(
        capsys, "--config-dir", str(config_dir), "plot", "wn001", "wn002", "--since",
        "2026-10-01", "--until", "2026-10-01T02:00", "-o", str(out),
    )  # fmt: skip
    assert code == 0
    assert _png_size(out) == (1200, 1200)  # two machines, each power above load


@pytest.mark.parametrize("load", ["2", "5,7", "", "five"])
async def test_plot_bad_load(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], load: str
) -> None:
    code, _, err = await run(
        capsys, "--config-dir", str(config_dir), "plot", "wn001", "--load", load,
        "-o", str(tmp_path / "x.png"),
    )  # fmt: skip
    assert code == 2
    assert "the load averages are 1, 5 and 15" in err
    assert not (tmp_path / "x.png").exists()


async def test_plot_draws_the_query(db: Database, config_dir: Path) -> None:
    from powermond.report.plot import build_figure

    since, until = T0, T0 + CYCLES * STEP
    async with db.transaction() as session:
        data = await plot_data(session, "wn001", since, until)
    figure = build_figure([data], loads=(1, 15))
    power_ax, load_ax = figure.axes
    lines = {line.get_gid(): line for line in power_ax.get_lines()}
    assert set(lines) == {"feed-pdu-a-1", "feed-pdu-b-1", "power-total"}
    assert lines["feed-pdu-b-1"].get_label() == "pdu-b outlet 1"
    total = lines["power-total"]
    expected = np.array([300.0] * 5 + [np.nan] + [300.0] * 18)
    np.testing.assert_array_equal(np.asarray(total.get_ydata(), dtype=float), expected)
    times = np.asarray(total.get_xdata())
    assert times[0] == np.datetime64("2026-10-01T00:00:00")
    assert times[-1] == np.datetime64("2026-10-01T01:55:00")
    assert total.get_markevery() is None  # every point has a neighbour: a line shows them
    # 23 intervals of 300 W x 5 min (the last reading opens none): what `report` says.
    assert "energy 0.57 kWh · mean 300 W · peak 300 W" in power_ax.get_title(loc="left")
    assert "mean load (1 min) 12.50" in power_ax.get_title(loc="left")
    loads = {line.get_gid(): line for line in load_ax.get_lines()}
    assert set(loads) == {"load-1", "load-15"}
    np.testing.assert_array_equal(
        np.asarray(loads["load-1"].get_ydata(), dtype=float), 1.0 + np.arange(24)
    )
    assert data.total.values[5] != data.total.values[5]  # the partial cycle is a NaN gap


async def test_long_plot_uses_hourly_rollups(db: Database) -> None:
    """More recorded cycles than ``max_points``: hourly means (a year of 5-minute cycles is
    over the default); the count is of cycles recorded, whatever the interval is now."""
    from powermond.report.plot import build_figure

    for i in range(30):
        for pdu in ("pdu-a", "pdu-b"):
            await store(db, T0 + i * STEP, pdu, [OutletReading("1", 150.0, None, None)])
    async with db.transaction() as session:
        data = await plot_data(session, "wn001", T0, T0.replace(year=2027), max_points=20)
        empty = await plot_data(session, "wn002", T0, T0.replace(year=2027), max_points=20)
    assert data.resolution == "hour"
    assert data.total.values == [300.0, 300.0, 300.0]  # 00:00, 01:00, 02:00 (6 readings)
    assert empty.resolution == "hour"
    assert empty.empty
    build_figure([data, empty])  # an empty panel still draws


def test_report_does_not_import_matplotlib(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from powermond.cli import main\n"
        f"rc = main(['--config-dir', {str(tmp_path)!r}, 'report', '--since', '2020-01-01'])\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
        "print('rc', rc)\n"
    )
    db = tmp_path / "pm.db"
    (tmp_path / "powermon.toml").write_text(f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n')
    upgrade = [sys.executable, "-m", "powermond", "--config-dir", str(tmp_path), "db", "upgrade"]
    subprocess.run(upgrade, check=True, capture_output=True, timeout=60)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "rc 0" in done.stdout
