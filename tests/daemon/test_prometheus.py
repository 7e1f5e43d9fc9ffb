"""A real Prometheus server (Debian's package) scraping a running powermond: what it stores
matches what ``powermon pdus`` and ``powermon power`` say."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import HOST, POWERMON, Config, free_tcp_port, power_json

from conftest import DaemonFactory

pytestmark = pytest.mark.timeout(120)
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
START_S = 60


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        message = "prometheus (Debian package prometheus) is not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: it must run)")
        pytest.skip(message)
    return found


class Prometheus:
    def __init__(self, root: Path, target_port: int) -> None:
        self.port = free_tcp_port()
        config = root / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: powermon\n"
            f"    static_configs:\n      - targets: ['{HOST}:{target_port}']\n"
        )
        self.log = (root / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={config}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address={HOST}:{self.port}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
        )

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"http://{HOST}:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as answer:
            document = json.load(answer)
        assert document["status"] == "success", document
        result: list[dict[str, Any]] = document["data"]["result"]
        return result

    async def wait_query(self, expr: str, within: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while True:
            try:
                found = self.query(expr)
            except OSError:
                found = []
            if found:
                return found
            assert self.process.poll() is None, "prometheus exited"
            assert time.monotonic() < deadline, f"no result for {expr} within {within} s"
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Any]:
    started: list[Prometheus] = []

    def start(target_port: int) -> Prometheus:
        server = Prometheus(tmp_path, target_port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def pdu_states(config: Config) -> dict[str, str]:
    done = subprocess.run(
        [str(POWERMON), "--config-dir", str(config.directory), "pdus", "--format", "json"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return {row["name"]: row["state"] for row in json.loads(done.stdout)}


@SQLITE
async def test_prometheus_scrapes_what_powermon_reports(
    config: Config, start_daemon: DaemonFactory, prometheus_for: Any
) -> None:
    port = free_tcp_port()
    config.settings["metrics"] = {"listen": f"{HOST}:{port}"}
    config.write()
    daemon = start_daemon(config)
    await daemon.wait_cycles(2, START_S)
    prometheus = prometheus_for(port)
    # Two scrapes that each saw a finished cycle.
    await prometheus.wait_query("count_over_time(powermon_cycles_total[1m]) >= 2", START_S)

    up = {r["metric"]["pdu"]: float(r["value"][1]) for r in prometheus.query("powermon_pdu_up")}
    states = pdu_states(config)
    assert up == {name: 1.0 if state == "up" else 0.0 for name, state in states.items()}
    assert set(up) == {"apc", "raritan", "eaton"}

    (scheduled,) = prometheus.query("powermon_cycle_last_scheduled_timestamp_seconds")
    (watts,) = prometheus.query('powermon_machine_watts{machine="wn001"}')
    (partial,) = prometheus.query('powermon_machine_partial{machine="wn001"}')
    cycle = float(scheduled["value"][1])
    points = {
        datetime.fromisoformat(p["time"].replace("Z", "+00:00")).timestamp(): p["watts"]
        for p in power_json(config.directory, "wn001")["points"]
    }
    assert float(watts["value"][1]) == points[cycle] == 163 + 143
    assert partial["value"][1] == "0"
