"""The v1/v2c transport against a scripted agent on 127.0.0.1: which datagrams count as the
answer to a request, and what happens to everything else."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902

from powermond.snmp import ber
from powermond.snmp.v1v2c import CommunityTransport, RequestTimedOut

pytestmark = pytest.mark.timeout(30)

V2C = api.PROTOCOL_MODULES[1]
OID = (1, 3, 6, 1, 4, 1, 318, 1, 1, 26, 9, 4, 3, 1, 7)
# Reply = what the agent sends back for one request: [(datagram, from_other_socket)].
Script = Callable[[int, int, bytes], list[tuple[bytes, bool]]]


def answer(request_id: int, value: int, community: str = "pdu-7", version: int = 1) -> bytes:
    module = api.PROTOCOL_MODULES[version]
    pdu = module.GetResponsePDU()
    module.apiPDU.set_defaults(pdu)
    module.apiPDU.set_request_id(pdu, request_id)
    module.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName((*OID, 1)), rfc1902.Integer32(value))])
    message = module.Message()
    module.apiMessage.set_defaults(message)
    module.apiMessage.set_community(message, community)
    module.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


class Agent(asyncio.DatagramProtocol):
    """Answers each request as ``script(n, request_id, raw)`` says (n counts datagrams)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[int] = []
        self.transport: Any = None
        self.other: socket.socket | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        message, _rest = decoder.decode(data, asn1Spec=V2C.Message())
        request_id = int(V2C.apiPDU.get_request_id(V2C.apiMessage.get_pdu(message)))
        self.received.append(request_id)
        for reply, from_other in self.script(len(self.received), request_id, data):
            if from_other:  # same host, another port: not the agent we asked
                assert self.other is not None
                self.other.sendto(reply, addr)
            else:
                self.transport.sendto(reply, addr)


@pytest.fixture
async def transport() -> AsyncIterator[CommunityTransport]:
    opened = await CommunityTransport.open()
    yield opened
    opened.close()


@pytest.fixture
async def start_agent() -> AsyncIterator[Callable[[Script], Any]]:
    """Starts scripted agents on 127.0.0.1; closes them after the test."""
    opened: list[tuple[Any, socket.socket]] = []

    async def start(script: Script) -> tuple[Agent, tuple[str, int]]:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # 300 requests at once
        sock.bind(("127.0.0.1", 0))
        endpoint, agent = await loop.create_datagram_endpoint(lambda: Agent(script), sock=sock)
        agent.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        agent.other.bind(("127.0.0.1", 0))
        opened.append((endpoint, agent.other))
        return agent, endpoint.get_extra_info("sockname")[:2]

    yield start
    for endpoint, other in opened:
        endpoint.close()
        other.close()


async def ask(
    transport: CommunityTransport, address: tuple[str, int], *, tries: int = 1, wait: float = 0.3
) -> ber.Response:
    return await transport.request(
        address,
        ber.VERSION_2C,
        b"pdu-7",
        ber.PduType.GET_BULK,
        [OID],
        max_repetitions=5,
        seconds_per_try=wait,
        retries=tries - 1,
    )


async def test_a_matching_answer_completes_the_request(
    transport: CommunityTransport, start_agent: Any
) -> None:
    agent, address = await start_agent(lambda _n, rid, _raw: [(answer(rid, 163), False)])
    response = await ask(transport, address)
    assert response.varbinds == [((*OID, 1), 163)]
    assert response.request_id == agent.received[0]
    assert 0 <= response.request_id < 2**31
    assert transport.in_flight == 0


async def test_request_ids_differ_between_requests(
    transport: CommunityTransport, start_agent: Any
) -> None:
    agent, address = await start_agent(lambda _n, rid, _raw: [(answer(rid, 1), False)])
    for _ in range(20):
        await ask(transport, address)
    assert len(set(agent.received)) == 20


@pytest.mark.parametrize(
    "noise",
    [
        pytest.param(lambda rid: (answer(rid ^ 1, 999), False), id="other-request-id"),
        pytest.param(lambda rid: (answer(rid, 999), True), id="other-source-port"),
        pytest.param(lambda rid: (answer(rid, 999, community="x"), False), id="other-community"),
        pytest.param(lambda rid: (answer(rid, 999, version=0), False), id="other-version"),
        pytest.param(lambda rid: (b"\x30\x03\x02\x01", False), id="truncated"),
        pytest.param(lambda rid: (answer(rid, 999)[:-3], False), id="cut-answer"),
        pytest.param(lambda rid: (b"\xff" * 40, False), id="garbage"),
    ],
)
async def test_noise_before_the_answer_is_dropped(
    transport: CommunityTransport,
    start_agent: Any,
    noise: Callable[[int], tuple[bytes, bool]],
    caplog: Any,
) -> None:
    caplog.set_level(logging.DEBUG, logger="powermond.snmp.v1v2c")
    _agent, address = await start_agent(
        lambda _n, rid, _raw: [noise(rid), (answer(rid, 163), False)]
    )
    response = await ask(transport, address)
    assert response.varbinds == [((*OID, 1), 163)]  # not 999
    assert "dropped" in caplog.text


async def test_only_noise_times_out(transport: CommunityTransport, start_agent: Any) -> None:
    agent, address = await start_agent(
        lambda _n, rid, _raw: [(answer(rid, 9, community="x"), False), (b"\x00", False)]
    )
    with pytest.raises(RequestTimedOut):
        await ask(transport, address, tries=2, wait=0.2)
    assert len(agent.received) == 2  # retried once, under the same request-id
    assert agent.received[0] == agent.received[1]
    assert transport.in_flight == 0


async def test_a_lost_first_try_is_answered_by_the_retry(
    transport: CommunityTransport, start_agent: Any
) -> None:
    agent, address = await start_agent(
        lambda n, rid, _raw: [] if n == 1 else [(answer(rid, 42), False)]
    )
    response = await ask(transport, address, tries=2, wait=0.2)
    assert response.varbinds[0][1] == 42
    assert len(agent.received) == 2


async def test_no_retry_means_one_try(transport: CommunityTransport, start_agent: Any) -> None:
    agent, address = await start_agent(lambda n, rid, _raw: [])
    with pytest.raises(RequestTimedOut):
        await ask(transport, address, tries=1, wait=0.2)
    assert len(agent.received) == 1


async def test_many_concurrent_requests_each_get_their_own_answer(
    transport: CommunityTransport,
    start_agent: Any,
) -> None:
    # The agent answers with a value derived from the request-id, so a mix-up shows.
    _agent, address = await start_agent(lambda _n, rid, _raw: [(answer(rid, rid % 100_000), False)])
    responses = await asyncio.gather(*(ask(transport, address, wait=5) for _ in range(300)))
    assert all(r.varbinds[0][1] == r.request_id % 100_000 for r in responses)
    assert len({r.request_id for r in responses}) == 300


async def test_the_request_on_the_wire_is_what_pysnmp_reads(
    transport: CommunityTransport,
    start_agent: Any,
) -> None:
    seen: list[bytes] = []

    def script(_n: int, rid: int, raw: bytes) -> list[tuple[bytes, bool]]:
        seen.append(raw)
        return [(answer(rid, 1), False)]

    _agent, address = await start_agent(script)
    await ask(transport, address)
    message, _rest = decoder.decode(seen[0], asn1Spec=V2C.Message())
    pdu = V2C.apiMessage.get_pdu(message)
    assert str(V2C.apiMessage.get_community(message)) == "pdu-7"
    assert int(V2C.apiBulkPDU.get_max_repetitions(pdu)) == 5
    assert [tuple(n) for n, _v in V2C.apiPDU.get_varbinds(pdu)] == [OID]


async def test_closed_transport_refuses_requests() -> None:
    closed = await CommunityTransport.open()
    closed.close()
    with pytest.raises(RuntimeError):
        await ask(closed, ("127.0.0.1", 9))


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag, 0x82]) + len(content).to_bytes(2, "big") + content  # long form


def long_arc_answer(request_id: int, community: bytes = b"pdu-7") -> bytes:
    """A v2c answer whose OID value has a 2,042-octet sub-identifier (Python's int -> str
    limit once made that a ValueError escaping the protocol callback, once per datagram)."""
    value = _tlv(0x06, bytes([0x2B]) + b"\xff" * 2041 + b"\x7f")
    varbind = _tlv(0x30, bytes([0x06, 16]) + ber.encode_oid((*OID, 1)) + value)
    rid = ber._integer(request_id)
    pdu = rid + b"\x02\x01\x00\x02\x01\x00" + _tlv(0x30, varbind)
    return _tlv(0x30, b"\x02\x01\x01" + bytes([0x04, len(community)]) + community + _tlv(0xA2, pdu))


async def test_a_hostile_oid_value_is_dropped_inside_the_codec(
    transport: CommunityTransport, start_agent: Any, caplog: Any
) -> None:
    escaped: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: escaped.append(ctx))
    caplog.set_level(logging.DEBUG, logger="powermond.snmp.v1v2c")
    _agent, address = await start_agent(lambda _n, rid, _raw: [(long_arc_answer(rid), False)])
    with pytest.raises(RequestTimedOut):
        await ask(transport, address, tries=2, wait=0.2)
    assert escaped == []  # nothing reached the event loop's handler
    assert caplog.text.count("dropped a malformed datagram") == 2
    assert "OID too long" in caplog.text


async def test_datagrams_from_strangers_are_not_decoded(
    transport: CommunityTransport, start_agent: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG, logger="powermond.snmp.v1v2c")
    _agent, address = await start_agent(lambda _n, rid, _raw: [(answer(rid, 163), False)])
    port = transport._transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.sendto(long_arc_answer(1), ("127.0.0.1", port))  # no request in flight to it
        response = await ask(transport, address)
    assert response.varbinds == [((*OID, 1), 163)]
    assert "which we asked nothing" in caplog.text
    assert "malformed" not in caplog.text  # dropped before decoding


async def test_socket_is_bound_as_narrowly_as_the_targets_allow(
    transport: CommunityTransport, start_agent: Any
) -> None:
    _agent, address = await start_agent(lambda _n, rid, _raw: [(answer(rid, 163), False)])
    await ask(transport, address)
    # Every target is on loopback: nothing off this host can reach the socket.
    assert transport.bound_host == "127.0.0.1"
    sockname = transport._transport.get_extra_info("sockname")  # type: ignore[union-attr]
    assert sockname[0] == "127.0.0.1"
