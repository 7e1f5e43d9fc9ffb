"""``powermon probe`` and ``powermon poll`` against snmpsim, in-process through the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pollconfig import poll_config

import owned
from powermond.cli import main
from powermond.collect.cycle import cycle_time
from simulator import HOST, V3_PRIV, Snmpsim, free_udp_port

pytestmark = pytest.mark.timeout(90)

APC = owned.APC


def test_probe_detects_apc_and_prints_every_outlet(
    snmpsim: Snmpsim, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("powermond.snmp.profiles")
    argv = ["probe", HOST, "--port", str(snmpsim.port), "--community", APC, "--format", "json"]
    assert main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["sys_object_id"] == "1.3.6.1.4.1.318.1.3.4.6"
    assert document["profile"] == "apc-rpdu2"
    assert document["reason"]
    assert len(document["outlets"]) == 24
    assert document["outlets"][0] == {"outlet": "1", "watts": 163, "amps": 0.7, "energy_kwh": 163}


def test_probe_v3_table_output(snmpsim: Snmpsim, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("powermond.snmp.profiles")
    user, auth_key, priv_key = V3_PRIV
    argv = [
        "probe",
        HOST,
        "--port",
        str(snmpsim.port),
        "--user",
        user,
        "--auth-protocol",
        "SHA",
        "--auth-key",
        auth_key,
        "--priv-protocol",
        "AES128",
        "--priv-key",
        priv_key,
        "--context",
        snmpsim.context(owned.RARITAN),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "profile:     raritan-pdu2" in out
    assert auth_key not in out
    assert priv_key not in out


def test_probe_of_a_device_without_outlets_fails(
    snmpsim: Snmpsim, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("powermond.snmp.profiles")
    argv = ["probe", HOST, "--port", str(snmpsim.port), "--community", "synthetic_empty"]
    assert main(argv) == 1
    assert "no profile yields outlets" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_probe_prints_device_text_as_text(
    snmpsim: Snmpsim, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    argv = ["probe", HOST, "--port", str(snmpsim.port), "--community", "synthetic_nul_text"]
    assert main([*argv, "--format", fmt]) == 1  # no profile matches: the text still shows
    out = capsys.readouterr().out
    assert "\x00" not in out
    assert "\\u0000" not in out
    assert "b'" not in out
    if fmt == "json":
        assert json.loads(out)["sys_descr"] == "Synthetic PDU"
    else:
        assert "sysDescr:    Synthetic PDU\n" in out


def test_probe_of_nothing_times_out(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["probe", HOST, "--port", str(free_udp_port()), "--timeout", "0.3", "--retries", "0"]
    assert main(argv) == 1
    assert "no answer" in capsys.readouterr().err


def _config(tmp_path: Path, snmpsim: Snmpsim) -> Path:
    return poll_config(tmp_path, snmpsim, timeout=0.5, retries=0)


def test_poll_no_store_json(
    snmpsim: Snmpsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("powermond.snmp.profiles")
    config = _config(tmp_path, snmpsim)
    assert main(["--config-dir", str(config), "poll", "--no-store", "--format", "json"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["cycle"].endswith(":00Z")
    assert int(document["cycle"][14:16]) % 5 == 0
    rows = {(r["pdu"], r["outlet"]): r for r in document["readings"]}
    assert len(rows) == 24  # no inlet meter in the owned recording (see test_recordings_cli)
    assert rows[("rack-a1", "3")]["machine"] == "wn001"
    assert rows[("rack-a1", "1")]["watts"] == 163
    assert [e["pdu"] for e in document["errors"]] == ["gone"]
    assert "secret-gone" not in captured.out + captured.err
    assert not (tmp_path / "pm.db").exists()


def test_poll_only_failing_pdu_exits_1(
    snmpsim: Snmpsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("powermond.snmp.profiles")
    config = _config(tmp_path, snmpsim)
    assert main(["--config-dir", str(config), "poll", "--pdu", "gone", "--no-store"]) == 1
    assert "PDU gone: no answer" in capsys.readouterr().err


def test_poll_stores_the_cycle(
    snmpsim: Snmpsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("powermond.snmp.profiles")
    pytest.importorskip("powermond.cli.db_cmds")
    config = _config(tmp_path, snmpsim)
    assert main(["--config-dir", str(config), "db", "upgrade"]) == 0
    assert main(["--config-dir", str(config), "config", "apply"]) == 0
    assert main(["--config-dir", str(config), "poll", "--pdu", "rack-a1"]) == 0
    capsys.readouterr()
    assert main(["--config-dir", str(config), "power", "wn001", "--format", "json"]) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    assert len(points) == 1
    assert points[0]["watts"] > 0


def test_cycle_time_is_the_last_multiple_of_the_interval() -> None:
    now = datetime(2026, 10, 1, 12, 7, 31, tzinfo=UTC)
    assert cycle_time(now, 300) == datetime(2026, 10, 1, 12, 5, tzinfo=UTC)
    assert cycle_time(now, 3600) == datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
