"""``[daemon] log_format = "json"`` in the running daemon (a subprocess)."""

from __future__ import annotations

import json
import signal

import pytest
from daemon_harness import Config

from conftest import DaemonFactory

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@SQLITE
async def test_the_daemon_logs_json_lines_with_cycle_fields(
    config: Config, start_daemon: DaemonFactory
) -> None:
    config.settings["daemon"]["log_format"] = "json"
    config.write()
    daemon = start_daemon(config)
    await daemon.wait_log(r'"message": "cycle \S+Z: 3/3 PDUs ok', 60)
    daemon.send(signal.SIGTERM)
    assert await daemon.wait_exit(15) == 0
    lines = daemon.log_text().splitlines()
    # Lines before the configuration is read are text; from then on every line is JSON.
    documents = [json.loads(line) for line in lines if line.startswith("{")]
    assert documents
    assert len(documents) >= len(lines) - 2, lines
    cycle = next(d for d in documents if d["message"].startswith("cycle "))
    assert cycle["level"] == "INFO"
    assert cycle["logger"] == "powermond"
    assert cycle["cycle"].endswith("Z")
    assert isinstance(cycle["duration"], float)
    assert documents[-1]["message"] == "stopped"
