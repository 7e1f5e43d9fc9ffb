"""Every recording through the CLI against snmpsim: ``probe`` names its profile (or none), and
``poll --format json`` reads it as expected_recordings.py says (values from MIB-FACTS.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from expected_recordings import CASES, DETECTED, SWITCHED_ONLY, Expected

from powermond.cli import main
from simulator import HOST, Snmpsim

pytestmark = pytest.mark.timeout(120)


def _probe(snmpsim: Snmpsim, community: str, capsys: pytest.CaptureFixture[str]) -> Any:
    argv = ["probe", HOST, "--port", str(snmpsim.port), "--community", community]
    code = main([*argv, "--format", "json", "--timeout", "1"])
    document = json.loads(capsys.readouterr().out)
    assert code == (0 if document["profile"] else 1)
    return document


@pytest.mark.parametrize(("file", "expected"), DETECTED.items())
def test_probe_names_the_profile_of_every_recording(
    snmpsim: Snmpsim, capsys: pytest.CaptureFixture[str], file: str, expected: tuple[str, Any]
) -> None:
    document = _probe(snmpsim, file, capsys)
    assert document["profile"] == expected[1]
    assert document["tried"][0]["profile"] == expected[0]


def test_probe_of_a_switched_only_pdu_says_so_and_shows_its_inlet(
    snmpsim: Snmpsim, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _probe(snmpsim, "apc_ap7902b-rpdu2-switched", capsys)
    assert document["notes"] == [SWITCHED_ONLY]
    assert document["outlets"] == [
        {"outlet": "inlet", "watts": 192, "amps": 1.6, "energy_kwh": None}
    ]
    argv = ["probe", HOST, "--port", str(snmpsim.port), "--community", "apc_ap8932-rpdu2-switched"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"note:        {SWITCHED_ONLY}" in out
    assert "inlet" in out


def test_probe_of_an_easy_pdu_names_no_profile(
    snmpsim: Snmpsim, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["probe", HOST, "--port", str(snmpsim.port), "--community", "apc_epdu1116s-easy-pdu"]
    assert main(argv) == 1
    assert "no profile yields outlets or inlet meters" in capsys.readouterr().err


def _config(tmp_path: Path, snmpsim: Snmpsim, cases: list[Expected]) -> Path:
    config = tmp_path / "etc"
    config.mkdir()
    (config / "powermon.toml").write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "pm.db"}"\n'
        "[collector]\ninterval = 300\ntimeout = 2.0\nretries = 1\n"
    )
    tables = [
        f'[pdu.p{n}]\nhost = "{HOST}"\nport = {snmpsim.port}\nprofile = "{case.profile}"\n'
        f'community = "{case.file}"\n'
        for n, case in enumerate(cases)
    ]
    (config / "pdus.toml").write_text("".join(tables))
    return config


def test_poll_json_reads_every_recording_as_documented(
    snmpsim: Snmpsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, snmpsim, CASES)
    assert main(["--config-dir", str(config), "poll", "--no-store", "--format", "json"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["errors"] == []
    rows: dict[str, dict[str, Any]] = {}
    for row in document["readings"]:
        rows.setdefault(row["pdu"], {})[row["outlet"]] = row
    for n, case in enumerate(CASES):
        got = rows.get(f"p{n}", {})
        assert [k for k in got if not k.startswith("inlet")] == case.labels, case.file
        expected = {**case.outlets, **case.inlets}
        for label, values in expected.items():
            for quantity, value in values.items():
                want = None if value is None else pytest.approx(value)
                assert got[label][quantity] == want, (case.file, label, quantity)
        for quantity, column in case.columns.items():
            values = [got[label][quantity] for label in case.labels]
            assert values == pytest.approx(column), (case.file, quantity)
        for quantity in case.absent:
            assert all(got[label][quantity] is None for label in case.labels), case.file
        notes = [x["note"] for x in document["notes"] if x["pdu"] == f"p{n}"]
        assert notes == list(case.notes), case.file
    assert f"PDU p2: {SWITCHED_ONLY}" in captured.err


def test_a_machine_on_an_inlet_only_pdu_gets_its_power(
    snmpsim: Snmpsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gude = next(case for case in CASES if case.profile == "gude-epc")
    config = _config(tmp_path, snmpsim, [gude])
    (config / "machines.toml").write_text('[machine."big"]\noutlets = ["p0:inlet"]\n')
    argv = ["--config-dir", str(config)]
    assert main([*argv, "db", "upgrade"]) == 0
    assert main([*argv, "config", "apply"]) == 0
    capsys.readouterr()
    assert main([*argv, "poll", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["readings"]
    assert (row["outlet"], row["machine"], row["watts"]) == ("inlet", "big", 18)
    assert main([*argv, "power", "big", "--format", "json"]) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    assert [p["watts"] for p in points] == [18]
    assert main([*argv, "outlets", "p0"]) == 0
    assert "inlet" in capsys.readouterr().out


def test_a_machine_on_a_wti_plug_is_mapped_as_the_device_prints_it(
    snmpsim: Snmpsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """WTI VMR-8HD20 plug 7 is `LOCAL - B3` (SOURCES.md): machines.toml names it `B3`."""
    wti = next(case for case in CASES if case.profile == "wti-pdu")
    config = _config(tmp_path, snmpsim, [wti])
    (config / "machines.toml").write_text('[machine."db1"]\noutlets = ["p0:b3"]\n')
    argv = ["--config-dir", str(config)]
    assert main([*argv, "config", "check"]) == 0
    assert main([*argv, "db", "upgrade"]) == 0
    assert main([*argv, "config", "apply"]) == 0
    capsys.readouterr()
    assert main([*argv, "poll", "--format", "json"]) == 0
    rows = {r["outlet"]: r for r in json.loads(capsys.readouterr().out)["readings"]}
    assert (rows["B3"]["machine"], rows["B3"]["watts"], rows["B3"]["amps"]) == ("db1", 163, 0.7)
    assert main([*argv, "poll", "--no-store", "--pdu", "p0", "--outlet", "B3"]) == 0
    assert "163" in capsys.readouterr().out
