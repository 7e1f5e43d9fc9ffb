"""A hostile PDU next to healthy ones (issue 13): rows whose labels cannot be stored.

Scripted agents on 127.0.0.1 serve the APC rPDU2 metered-outlet table; one answers with
unit = number = 2^60 in a row (a 39-character label), one with an index arc of 10^40. The
cycle is polled with the real client and stored in each real database: the bad rows are
dropped at the decoding edge with one warning, and every other reading is stored.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from pysnmp.proto import rfc1902
from scripted_agent import TableAgent
from sqlalchemy import func, select

from powermond.collect.cycle import PduHealth, poll_cycle
from powermond.collect.store import store_cycle
from powermond.db.apply import apply_inventory
from powermond.db.engine import Database
from powermond.db.migrate import upgrade
from powermond.db.tables import PowerReading
from powermond.inventory.model import Inventory, PduConfig
from powermond.snmp.client import ClientDefaults, SnmpClient

pytestmark = pytest.mark.timeout(60)

METERED = (1, 3, 6, 1, 4, 1, 318, 1, 1, 26, 9, 4, 3, 1)
MODULE, NUMBER, WATTS, AMPS, ENERGY = 2, 4, 7, 6, 11
CYCLE = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def apc_rows(outlets: int, *, index_offset: int = 0) -> dict[tuple[int, ...], Any]:
    rows: dict[tuple[int, ...], Any] = {}
    for n in range(1, outlets + 1):
        index = n + index_offset
        rows |= {
            (*METERED, MODULE, index): 1,
            (*METERED, NUMBER, index): n,
            (*METERED, WATTS, index): 100 + n,
            (*METERED, AMPS, index): 5,
            (*METERED, ENERGY, index): 1000 + n,
        }
    return rows


@pytest.fixture
async def agents() -> AsyncIterator[dict[str, TableAgent]]:
    huge_label = apc_rows(3)
    # Row 4: unit and outlet number 2^60, a 39-character "U.N" label.
    huge_label |= apc_rows(1, index_offset=3)
    huge_label[(*METERED, MODULE, 4)] = rfc1902.Counter64(2**60)
    huge_label[(*METERED, NUMBER, 4)] = rfc1902.Counter64(2**60)
    huge_arc = apc_rows(2)
    huge_arc[(*METERED, WATTS, 10**40)] = 7  # an index arc beyond RFC 2578's 2^32-1
    started = {
        "healthy": await TableAgent(apc_rows(3)).start(),
        "huge-label": await TableAgent(huge_label).start(),
        "huge-arc": await TableAgent(huge_arc).start(),
    }
    yield started
    for agent in started.values():
        agent.close()


def pdu(name: str, agent: TableAgent) -> PduConfig:
    return PduConfig(
        name=name,
        host="127.0.0.1",
        port=agent.port,
        profile="apc-rpdu2",
        community=SecretStr(agent.community),
        timeout=1.0,
        retries=1,
    )


async def test_a_hostile_pdus_rows_never_sink_the_others(
    db_url: str, agents: dict[str, TableAgent], caplog: pytest.LogCaptureFixture
) -> None:
    pdus = [pdu(name, agent) for name, agent in agents.items()]
    async with SnmpClient(ClientDefaults(timeout=1.0, retries=1)) as client:
        result = await poll_cycle(client, pdus, CYCLE, concurrency=4)
    by_pdu = {r.pdu: r for r in result.results}

    assert [r.outlet for r in by_pdu["healthy"].readings] == ["1", "2", "3"]
    # The 2^60 row is dropped at the decoding edge, with a reason; its siblings are kept.
    assert [r.outlet for r in by_pdu["huge-label"].readings] == ["1", "2", "3"]
    assert len(by_pdu["huge-label"].rejected) == 1
    assert "39 characters" in by_pdu["huge-label"].rejected[0]
    # The 10^40 arc makes the datagram malformed SNMP: that PDU fails, saying so.
    assert by_pdu["huge-arc"].error is not None
    assert "above 2^32-1" in by_pdu["huge-arc"].error or "over 5 octets" in by_pdu["huge-arc"].error

    with caplog.at_level(logging.WARNING, logger="powermond.test"):
        health = PduHealth(logging.getLogger("powermond.test"))
        health.observe(result)
        health.observe(result)  # the next cycle, the same rows: not warned again
    dropped = [m for m in caplog.messages if "row(s) dropped" in m]
    assert len(dropped) == 1
    assert "PDU huge-label: 1 row(s) dropped" in dropped[0]

    await upgrade(db_url)
    db = Database.from_url(db_url)
    try:
        async with db.transaction() as session:
            await apply_inventory(session, Inventory(pdus={p.name: p for p in pdus}, machines={}))
        added = await store_cycle(db, CYCLE, result.readings_by_pdu(), interval=300)
        async with db.transaction() as session:
            stored = await session.scalar(select(func.count()).select_from(PowerReading))
    finally:
        await db.dispose()
    assert added == stored == 6


async def test_probe_strips_a_devices_control_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from powermond.cli.snmp_cmds import _print_probe, probe

    rows = apc_rows(2)
    # An escape sequence that would set the terminal's title, then its colour.
    rows[(1, 3, 6, 1, 2, 1, 1, 1, 0)] = rfc1902.OctetString(b"PDU \x1b]0;pwned\x07\x1b[31mX\x00")
    rows[(1, 3, 6, 1, 2, 1, 1, 2, 0)] = rfc1902.ObjectIdentifier("1.3.6.1.4.1.318.1.3.4.6")
    agent = await TableAgent(rows, answers_get=True).start()
    try:
        async with SnmpClient(ClientDefaults(timeout=1.0, retries=1)) as client:
            result = await probe(client, pdu("hostile", agent), None)
    finally:
        agent.close()
    _print_probe(result)
    out, err = capsys.readouterr()
    assert result.profile == "apc-rpdu2"
    assert "sysDescr:    PDU ]0;pwned[31mX\n" in out
    control = [ch for ch in out + err if not ch.isprintable() and ch != "\n"]
    assert control == []


async def test_a_pdu_renumbering_its_outlets_grows_the_table_by_a_bounded_amount(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from powermond.collect.outlets import NEW_OUTLETS_PER_CYCLE
    from powermond.collect.poll import Poller
    from powermond.settings import CollectorSettings

    agent = await TableAgent(apc_rows(24)).start()
    inventory = Inventory(pdus={"renumbering": pdu("renumbering", agent)}, machines={})
    labels: list[set[str]] = []
    try:
        async with Poller(CollectorSettings(timeout=1.0, retries=1)) as poller:
            for n in range(3):
                # Each walk, unit = n + 1: 24 labels never seen before ("2.1" … "2.24" …).
                rows = apc_rows(24)
                rows |= {(*METERED, MODULE, i): n + 1 for i in range(1, 25)}
                agent.serve(rows)
                with caplog.at_level(logging.WARNING, logger="powermond.collect.outlets"):
                    outcome = await poller.poll(inventory, CYCLE)
                labels.append({r.outlet for r in outcome.readings["renumbering"]})
    finally:
        agent.close()
    assert len(labels[0]) == 24  # first sight: the table as it is
    assert [len(s) for s in labels[1:]] == [NEW_OUTLETS_PER_CYCLE] * 2
    assert labels[1] <= {f"2.{i}" for i in range(1, 25)}
    warned = [m for m in caplog.messages if "never reported before" in m]
    assert len(warned) == 1  # once while it goes on, not every cycle
    assert "24 outlet labels" in warned[0]
