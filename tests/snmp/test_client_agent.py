"""SnmpClient walks against a scripted agent: tooBig, v1's noSuchName, request budgets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from pydantic import SecretStr
from scripted_agent import TableAgent

from powermond.inventory.model import PduConfig
from powermond.snmp.client import ClientDefaults, SnmpClient, SnmpError, SnmpTimeout

pytestmark = pytest.mark.timeout(30)

TABLE = (1, 3, 6, 1, 4, 1, 318, 1, 1, 26, 9, 4, 3, 1)
COLUMNS = [".".join(map(str, (*TABLE, c))) for c in (7, 6)]
OUTLETS = 24
# Two columns of 24 outlets, then one more object (the walk must stop before it).
ROWS = {(*TABLE, c, o): c * 1000 + o for c in (6, 7) for o in range(1, OUTLETS + 1)}
ROWS[(*TABLE, 8, 1)] = -5
EXPECTED = {c: {(o,): int(c.rsplit(".", 1)[1]) * 1000 + o for o in range(1, 25)} for c in COLUMNS}


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    async with SnmpClient(ClientDefaults(timeout=0.5, retries=0, max_repetitions=64)) as c:
        yield c


@pytest.fixture
async def agent() -> AsyncIterator[TableAgent]:
    started = await TableAgent(dict(ROWS)).start()
    yield started
    started.close()


def pdu_of(agent: TableAgent, **fields: object) -> PduConfig:
    return PduConfig(
        name="p",
        host="127.0.0.1",
        port=agent.port,
        profile="test",
        community=SecretStr("pdu-7"),
        **fields,  # type: ignore[arg-type]
    )


async def test_bulk_walk_reads_both_columns_in_one_request(
    agent: TableAgent, client: SnmpClient
) -> None:
    table = await client.walk_columns(pdu_of(agent), COLUMNS)
    assert table == EXPECTED
    assert agent.requests == [("bulk", 64)]


async def test_too_big_halves_max_repetitions_until_it_fits(
    agent: TableAgent, client: SnmpClient
) -> None:
    agent.bulk_limit = 10
    table = await client.walk_columns(pdu_of(agent), COLUMNS)
    assert table == EXPECTED
    asked = [reps for _kind, reps in agent.requests]
    # Then rounds of 8 until the columns end (24 outlets: 3 more rounds, the last one
    # seeing the end), and the next walk starts at the limit learnt.
    assert asked == [64, 32, 16, 8, 8, 8, 8]
    agent.requests.clear()
    assert await client.walk_columns(pdu_of(agent), COLUMNS) == EXPECTED
    assert agent.requests == [("bulk", 8)] * 4


async def test_too_big_even_for_one_row_is_an_error(agent: TableAgent, client: SnmpClient) -> None:
    agent.bulk_limit = 0
    with pytest.raises(SnmpError, match="tooBig even to one row"):
        await client.walk_columns(pdu_of(agent), COLUMNS)


@pytest.mark.parametrize("version", ["1", "2c"])
async def test_getnext_walk_ends_at_the_end_of_the_mib(
    agent: TableAgent, client: SnmpClient, version: str
) -> None:
    # The last column is the last thing the agent has: v1 answers noSuchName there,
    # v2c endOfMibView; both must end the walk with every row read.
    last = ".".join(map(str, (*TABLE, 8)))
    table = await client.walk_columns(pdu_of(agent, version=version, bulk=False), [*COLUMNS, last])
    assert table == {**EXPECTED, last: {(1,): -5}}
    assert {kind for kind, _ in agent.requests} == {"next"}


async def test_get_of_a_missing_object_is_none_in_v1(agent: TableAgent, client: SnmpClient) -> None:
    last = ".".join(map(str, (*TABLE, 8, 1)))
    answer = await client.get(pdu_of(agent, version="1"), [last])
    # The scripted agent answers GETs as GETNEXTs: past the end of its MIB, noSuchName.
    assert answer == {last: None}


async def test_wrong_community_times_out_within_the_budget(
    agent: TableAgent, client: SnmpClient
) -> None:
    pdu = pdu_of(agent, timeout=0.2, retries=2)
    assert client.request_budget(pdu) == pytest.approx(0.6)
    with pytest.raises(SnmpTimeout, match=r"0.2 s x 3 tries"):
        await client.walk_columns(replace(pdu, community=SecretStr("no")), COLUMNS)
    assert agent.requests == []  # the agent stayed silent to all three tries
