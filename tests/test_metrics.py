"""The exposition: names and types as Prometheus expects, values from the latest cycle, and
the /metrics responder on the event loop."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from powermond.collect.cycle import CycleResult, PduResult
from powermond.collect.health import HealthBook
from powermond.inventory.model import Inventory, MachineConfig, OutletRef, PduConfig
from powermond.metrics import JOULES_PER_KWH, Metrics, snapshot_of
from powermond.metrics_server import serve_metrics
from powermond.readings import OutletReading

pytestmark = pytest.mark.timeout(30)

CYCLE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def inventory(*pdus: str) -> Inventory:
    return Inventory(
        pdus={n: PduConfig(name=n, host="192.0.2.1", profile="apc-rpdu2") for n in pdus},
        machines={
            "m1": MachineConfig(
                name="m1", outlets=(OutletRef(pdu="a", label="1"), OutletRef(pdu="b", label="1"))
            )
        },
    )


def result() -> CycleResult:
    return CycleResult(
        CYCLE,
        (
            PduResult("a", readings=(OutletReading("1", 120.0, 0.5, 2.0),), seconds=0.25),
            PduResult("b", error="timeout: walk not finished within 3 s", seconds=3.0),
        ),
    )


def parsed(metrics: Metrics) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    text = metrics.exposition().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def published(inv: Inventory) -> Metrics:
    metrics = Metrics()
    book = HealthBook()
    book.observe(result())
    metrics.cycle_done(result(), 3.2, 1)
    metrics.publish(snapshot_of(result(), inv, book.states()))
    return metrics


def test_the_latest_cycle_as_prometheus_samples() -> None:
    found = parsed(published(inventory("a", "b")))
    outlet = (("machine", "m1"), ("outlet", "1"), ("pdu", "a"))
    assert found["powermon_outlet_watts"] == {outlet: 120.0}
    assert found["powermon_outlet_amps"] == {outlet: 0.5}
    assert found["powermon_outlet_energy_joules_total"] == {outlet: 2.0 * JOULES_PER_KWH}
    assert found["powermon_machine_watts"] == {(("machine", "m1"),): 120.0}
    assert found["powermon_machine_partial"] == {(("machine", "m1"),): 1.0}
    assert found["powermon_pdu_up"] == {(("pdu", "a"),): 1.0, (("pdu", "b"),): 0.0}
    assert found["powermon_pdus"][(("state", "never answered"),)] == 1.0
    assert found["powermon_pdu_walk_duration_seconds"][(("pdu", "b"),)] == 3.0
    assert found["powermon_snmp_errors_total"][(("kind", "timeout"),)] == 1.0
    assert found["powermon_cycle_duration_seconds_count"] == {(): 1.0}
    assert found["powermon_cycle_last_scheduled_timestamp_seconds"] == {(): CYCLE.timestamp()}
    assert found["powermon_readings_stored_total"] == {(): 1.0}
    assert found["powermon_build_info"]
    assert not any(name.endswith("_created") for name in found)


def test_a_pdu_that_left_the_inventory_leaves_the_exposition() -> None:
    found = parsed(published(inventory("a")))
    assert set(found["powermon_pdu_up"]) == {(("pdu", "a"),)}
    assert found["powermon_pdus"][(("state", "never answered"),)] == 0.0


def test_the_snapshot_holds_the_cycles_readings_not_copies() -> None:
    cycle = result()
    snapshot = snapshot_of(cycle, inventory("a", "b"), {})
    assert snapshot.readings["a"] is cycle.results[0].readings
    assert [(o.pdu, o.outlet, o.machine, o.watts) for o in snapshot.outlets] == [
        ("a", "1", "m1", 120.0)
    ]


async def test_a_daemon_without_metrics_keeps_no_readings_between_cycles(
    sqlite_url: str, tmp_path: Path
) -> None:
    from powermond.db.engine import Database
    from powermond.db.migrate import upgrade
    from powermond.monitor import Monitor
    from powermond.spool import Spool

    await upgrade(sqlite_url)
    db = Database.from_url(sqlite_url)
    try:
        monitors = {
            exposed: Monitor(db, Spool(tmp_path / f"spool-{exposed}", 10), 300, lambda _: 60.0,
                             exposed=exposed)
            for exposed in (True, False)
        }  # fmt: skip
        for monitor in monitors.values():
            await monitor.cycle_finished(
                inventory("a", "b"), result(), duration=1.0, store_seconds=0.5, added=1
            )
            assert monitor.last_cycle == CYCLE
        served = parsed(monitors[True].metrics)
        assert served["powermon_outlet_watts"] == {
            (("machine", "m1"), ("outlet", "1"), ("pdu", "a")): 120.0
        }
        assert "powermon_outlet_watts" not in parsed(monitors[False].metrics)
    finally:
        await db.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def request(port: int, line: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(line + b"\r\nHost: x\r\nAccept: */*\r\n\r\n")
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    return data


async def test_the_responder_serves_metrics_and_nothing_else() -> None:
    metrics = published(inventory("a", "b"))
    stop = asyncio.Event()
    port = free_port()
    server = asyncio.create_task(serve_metrics(metrics, f"127.0.0.1:{port}", stop))
    for _ in range(100):
        try:
            ok = await request(port, b"GET /metrics HTTP/1.1")
            break
        except OSError:
            await asyncio.sleep(0.02)
    head, _, body = ok.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Content-Type: text/plain; version=0.0.4" in head
    assert b'powermon_pdu_up{pdu="a"} 1.0' in body
    assert (await request(port, b"GET / HTTP/1.1")).startswith(b"HTTP/1.1 404")
    assert (await request(port, b"POST /metrics HTTP/1.1")).startswith(b"HTTP/1.1 405")
    head_only = await request(port, b"HEAD /metrics HTTP/1.1")
    assert head_only.startswith(b"HTTP/1.1 200")
    assert head_only.endswith(b"\r\n\r\n")
    stop.set()
    await server
