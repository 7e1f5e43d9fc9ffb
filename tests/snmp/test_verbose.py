"""``-v`` on ``poll`` and ``probe`` shows the SNMP exchange (snmpsim); ``poll`` records health."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pollconfig import poll_config

import owned
from powermond.cli import main
from powermond.logsetup import forget_secrets
from simulator import HOST, Snmpsim

pytestmark = pytest.mark.timeout(90)

APC = owned.APC  # tests/owned.py


@pytest.fixture(autouse=True)
def _no_earlier_secrets() -> None:
    # Secrets registered by earlier tests (e.g. the demo's community "rack-a1", a PDU name
    # here) would be masked in the lines this test reads.
    forget_secrets()


def _config(tmp_path: Path, snmpsim: Snmpsim) -> Path:
    return poll_config(tmp_path, snmpsim, timeout=1.0, retries=1)


def test_poll_v_shows_each_request_and_poll_records_health(
    snmpsim: Snmpsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, snmpsim)
    assert main(["--config-dir", str(config), "db", "upgrade"]) == 0
    assert main(["--config-dir", str(config), "config", "apply"]) == 0
    capsys.readouterr()
    assert main(["--config-dir", str(config), "poll", "-v", "--format", "csv"]) == 0
    err = capsys.readouterr().err
    # snmpsim answers at most 64 varbinds: 12 rows of the 5 columns per GETBULK.
    exchanges = re.findall(
        r"PDU rack-a1: GETBULK of (\d) OIDs, max-repetitions (\d+): (\d+) varbinds in [\d.]+ ms",
        err,
    )
    assert exchanges, err
    assert all(int(varbinds) <= 64 for *_, varbinds in exchanges)
    assert re.search(r"PDU rack-a1: walked \d columns in \d+ requests, 24 rows", err), err
    assert re.search(r"127\.0\.0\.1:\d+: no answer within 1 s, retry 1 of 1", err), err
    assert "PDU gone: GETBULK of 5 OIDs, max-repetitions 64 failed after" in err
    assert "secret-gone" not in err

    assert main(["--config-dir", str(config), "pdus", "--format", "json"]) == 0
    states = {r["name"]: r["state"] for r in json.loads(capsys.readouterr().out)}
    assert states == {"gone": "never answered", "rack-a1": "up"}


def test_without_v_the_exchange_is_not_shown(
    snmpsim: Snmpsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, snmpsim)
    assert main(["--config-dir", str(config), "poll", "--no-store", "--pdu", "rack-a1"]) == 0
    assert "GETBULK" not in capsys.readouterr().err


def test_probe_v_shows_the_get_and_the_walks(
    snmpsim: Snmpsim, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["probe", HOST, "--port", str(snmpsim.port), "--community", APC, "-v"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert re.search(rf"PDU {re.escape(HOST)}: GET of 2 OIDs: 2 varbinds in", err), err
    assert f"PDU {HOST}: walked" in err
