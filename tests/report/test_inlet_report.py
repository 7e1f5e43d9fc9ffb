"""``report --by pdu`` with an inlet meter: the inlet's figures, the outlets' sum and the
difference beside them; a PDU without inlet keeps its outlets' figures."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from powermond.cli import main
from powermond.db.engine import Database
from powermond.readings import OutletReading
from powermond.report.queries import report_rows

from .conftest import STEP, store

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2026, 10, 1, tzinfo=UTC)
CYCLES = 25  # 00:00 .. 02:00 inclusive, so [00:00, 02:00) is fully covered


async def _fill(db: Database) -> None:
    """pdu-a: outlets 100 W + 50 W, inlet 170 W (200 W at cycle 7); pdu-b: outlet 1 at 80 W."""
    for i in range(CYCLES):
        cycle = T0 + i * STEP
        inlet = 200.0 if i == 7 else 170.0
        readings = [
            OutletReading("1", 100.0, None, None),
            OutletReading("2", 50.0, None, None),
            OutletReading("inlet", inlet, 0.8, None),
        ]
        await store(db, cycle, "pdu-a", readings)
        await store(db, cycle, "pdu-b", [OutletReading("1", 80.0, None, None)])


@pytest.mark.parametrize("rollups", [True, False])
async def test_pdu_rows_use_the_inlet_meter(db: Database, rollups: bool) -> None:
    await _fill(db)
    async with db.transaction() as session:
        rows = await report_rows(
            session, T0, T0 + timedelta(hours=2), by="pdu", use_rollups=rollups
        )
    a, b = rows
    hours = 2.0
    # Inlet: 24 intervals of 5 min, 23 at 170 W and the one starting at cycle 7 at 200 W.
    inlet_kwh = (23 * 170 + 200) * (5 / 60) / 1000
    assert (a.name, a.meter) == ("pdu-a", "inlet")
    assert a.energy_kwh == pytest.approx(inlet_kwh)
    assert a.outlets_kwh == pytest.approx(150 * hours / 1000)
    assert a.difference_kwh == pytest.approx(inlet_kwh - 0.3)
    assert a.peak_watts == 200  # the inlet's own peak, not inlet + outlets
    assert (b.name, b.meter, b.difference_kwh) == ("pdu-b", "outlets", None)
    assert b.energy_kwh == b.outlets_kwh == pytest.approx(80 * hours / 1000)
    assert b.peak_watts == 80


async def test_report_by_pdu_cli_shows_outlets_and_difference(
    db: Database, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _fill(db)
    (tmp_path / "powermon.toml").write_text(f'[database]\nurl = "{sqlite_url}"\n')
    base = ["--config-dir", str(tmp_path), "report", "--since", "2026-10-01T00:00Z"]
    base += ["--until", "2026-10-01T02:00Z"]
    code = await asyncio.to_thread(main, [*base, "--by", "pdu", "--format", "json"])
    assert code == 0
    rows = {r["pdu"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["pdu-a"]["meter"] == "inlet"
    assert rows["pdu-a"]["outlets_kwh"] == pytest.approx(0.3)
    assert rows["pdu-a"]["difference_kwh"] == pytest.approx(rows["pdu-a"]["energy_kwh"] - 0.3)
    assert await asyncio.to_thread(main, [*base, "--by", "pdu"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header[-3:] == ["meter", "outlets_kwh", "difference_kwh"]
    assert await asyncio.to_thread(main, [*base, "--format", "json"]) == 0
    machine_row = json.loads(capsys.readouterr().out)["rows"][0]
    assert "difference_kwh" not in machine_row
