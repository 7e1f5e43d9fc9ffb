"""``report --machine/--pdu`` filters, and the ``check`` column that flags a counter the watts
readings contradict (frozen, reset or replaced)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from powermond.cli import main
from powermond.db.engine import Database
from powermond.energy import Tally
from powermond.readings import OutletReading
from powermond.report.power import energy_check, watts_energy
from powermond.report.queries import report_rows

from .conftest import STEP, store

T0 = datetime(2026, 10, 1, tzinfo=UTC)
CYCLES = 30  # 00:00 to 02:25: two whole hours from rollups, raw readings at the edge
KWH_PER_CYCLE_100W = 100 * 300 / 3.6e6


@pytest.fixture
async def config_dir(db: Database, sqlite_url: str, tmp_path: Path) -> Path:
    """wn001: A 100 W with a good counter, B 200 W without; wn002: 163 W, its counter frozen;
    wn003: 100 W, its counter jumps by 10 kWh at cycle 12 (a replaced PDU's counter)."""
    for i in range(CYCLES):
        cycle = T0 + i * STEP
        good = 1.0 + i * KWH_PER_CYCLE_100W
        jumped = good + (10.0 if i >= 12 else 0.0)
        await store(db, cycle, "pdu-a", [OutletReading("1", 100.0, None, good),
                                         OutletReading("2", 163.0, None, 50.0)])  # fmt: skip
        await store(db, cycle, "pdu-b", [OutletReading("1", 200.0, None, None),
                                         OutletReading("2", 100.0, None, jumped)])  # fmt: skip
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "powermon.toml").write_text(f'[database]\nurl = "{sqlite_url}"\n')
    return folder


@pytest.mark.parametrize("use_rollups", [True, False], ids=["rollups", "raw"])
async def test_check_flags_frozen_and_jumping_counters(
    db: Database, config_dir: Path, use_rollups: bool
) -> None:
    until = T0 + CYCLES * STEP
    async with db.transaction() as session:
        rows = await report_rows(session, T0, until, use_rollups=use_rollups)
    by_name = {r.name: r for r in rows}
    assert by_name["wn001"].check == "ok"
    assert by_name["wn001"].method == "mixed"
    frozen = by_name["wn002"]
    assert frozen.energy_kwh == 0.0
    assert frozen.watts_kwh == pytest.approx(163 * 29 * 300 / 3.6e6)
    assert frozen.check == "counter -100 %"
    jumped = by_name["wn003"]
    expected = 29 * KWH_PER_CYCLE_100W
    # Counters are stored to the watt-hour: the jump's row is to 0.001 kWh.
    assert jumped.energy_kwh == pytest.approx(expected + 10.0, abs=0.002)
    assert jumped.watts_kwh == pytest.approx(expected)
    assert jumped.check == "counter +4138 %"  # (10.242 - 0.2417) / 0.2417


async def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


PERIOD = ("--since", "2026-10-01", "--until", "2026-10-01T02:30")


async def test_check_column_and_warning(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await _run(capsys, "--config-dir", str(config_dir), "report", *PERIOD)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[-1] == "check"
    checks = {line.split()[0]: line.split()[-2:] for line in lines[1:4]}
    assert checks["wn001"][-1] == "ok"
    assert checks["wn002"] == ["-100", "%"]
    assert "powermon: warning: machine wn002: the energy counters give 0.000 kWh" in err
    assert "the watts readings 0.394 kWh (counter -100 %)" in err
    assert "machine wn003" in err
    assert "machine wn001" not in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--machine", "wn002"], ["wn002"]),
        (["--machine", "wn003", "wn001"], ["wn001", "wn003"]),
        (["--pdu", "pdu-b"], ["wn001", "wn003"]),  # whole machines: wn001 with its A feed
        (["--machine", "wn001", "--pdu", "pdu-a"], ["wn001"]),
        (["--by", "pdu", "--machine", "wn002"], ["pdu-a"]),
        (["--by", "pdu", "--pdu", "pdu-b"], ["pdu-b"]),
    ],
)
async def test_filters_choose_rows(
    config_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: list[str]
) -> None:
    code, out, _ = await _run(
        capsys, "--config-dir", str(config_dir), "report", *PERIOD, *argv, "--format", "json"
    )
    assert code == 0
    document = json.loads(out)
    key = document["by"]
    assert [r[key] for r in document["rows"]] == expected
    if argv == ["--pdu", "pdu-b"]:
        wn001 = document["rows"][0]
        assert wn001["mean_watts"] == pytest.approx(300.0)  # both feeds, not only pdu-b's


async def test_filter_naming_nothing_known(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await _run(
        capsys, "--config-dir", str(config_dir), "report", *PERIOD, "--machine", "wn001", "wn9"
    )
    assert (code, out) == (1, "")
    assert "no machine named wn9 in the database" in err
    code, _, err = await _run(
        capsys, "--config-dir", str(config_dir), "report", *PERIOD, "--pdu", "pdu-z"
    )
    assert code == 1
    assert "no PDU named pdu-z in the database" in err


def _tally(intervals: int, counter_kwh: float, watts: float) -> Tally:
    return Tally(
        readings=intervals,
        watts_count=intervals,
        watts_sum=watts * intervals,
        counter_kwh=counter_kwh,
        counter_intervals=intervals,
    )


def test_counter_steps_are_not_flagged_but_a_frozen_day_is() -> None:
    # An hour at 150 W read by a counter in steps of 0.1 kWh: 0.1 where the watts say 0.15.
    hour = [_tally(12, 0.1, 150.0)]
    assert energy_check(hour, watts_energy(hour, 300.0)) == "ok"
    day = [_tally(288, 0.0, 163.0)]
    assert watts_energy(day, 300.0) == pytest.approx(163 * 24 / 1000)
    assert energy_check(day, watts_energy(day, 300.0)) == "counter -100 %"
    assert energy_check(day, None) is None  # no spacing known: nothing to compare
    assert energy_check([Tally(readings=5)], 1.0) is None  # no counter


@pytest.mark.parametrize("use_rollups", [True, False], ids=["rollups", "raw"])
async def test_a_machine_filter_changes_no_figure(
    db: Database, config_dir: Path, use_rollups: bool
) -> None:
    until = T0 + CYCLES * STEP
    async with db.transaction() as session:
        every = await report_rows(session, T0, until, use_rollups=use_rollups)
        some = await report_rows(
            session, T0, until, use_rollups=use_rollups, machines=["wn001", "wn003"]
        )
    assert some == [r for r in every if r.name in ("wn001", "wn003")]
