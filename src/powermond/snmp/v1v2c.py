"""SNMPv1/v2c requests over one UDP socket shared by every PDU, with PowerMon's BER codec.

Each request gets a random 31-bit request-id; an answer is taken only when its request-id,
source address, version and community all match a request in flight, so a late, stray or
forged datagram cannot complete someone else's request. A datagram from an address with no
request in flight is dropped before it is decoded: decoding is the only work a stranger
could make us do. Anything that does not decode is
dropped with a debug line: the request it might have answered then times out as usual.
A request is tried ``retries + 1`` times, ``seconds_per_try`` each, under the same
request-id (a late answer to an earlier try still counts), as pysnmp does.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import socket
from dataclasses import dataclass
from typing import Any

from powermond.snmp.ber import BerError, PduType, Response, decode_response, encode_request

log = logging.getLogger(__name__)

Address = tuple[str, int]

RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024
#: Tries at finding a request-id not in flight before giving up (cannot happen in practice:
#: 2**31 ids against at most thousands in flight).
_ID_TRIES = 32
#: Random request-ids drawn from the OS at once (one getrandom call for 1,024 requests).
_ID_BATCH = 1024


class RequestTimedOut(Exception):
    """No matching answer within timeout x (retries + 1); ``malformed`` says why the last
    datagram from that address was dropped, if one was (a hostile or broken agent)."""

    def __init__(self, malformed: str | None = None) -> None:
        super().__init__(malformed or "no answer")
        self.malformed = malformed


@dataclass(slots=True)
class _InFlight:
    address: Address
    version: int
    community: bytes
    answer: asyncio.Future[Response]
    message: bytes
    seconds_per_try: float
    retries: int
    tries: int = 1  # sent so far
    timer: asyncio.TimerHandle | None = None


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: CommunityTransport) -> None:
        self._owner = owner

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._owner._received(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        # ICMP errors on an unconnected socket name no request: the request times out.
        log.debug("SNMP socket error: %s", exc)


class CommunityTransport:
    """Sends v1/v2c requests and matches the answers. Open with :meth:`open`."""

    def __init__(self) -> None:
        self._transport: asyncio.DatagramTransport | None = None
        self._in_flight: dict[int, _InFlight] = {}
        self._sources: dict[Address, int] = {}  # address -> requests in flight to it
        self._malformed: dict[Address, str] = {}  # address -> why its last datagram was dropped
        #: The local address the socket is bound to: the narrowest the targets allow.
        self.bound_host: str | None = None
        self._targets: set[str] = set()  # local addresses the targets are reached from
        self._rebinding = asyncio.Lock()
        self._random_ids: list[int] = []  # unpredictable request-ids, drawn in batches

    @classmethod
    async def open(cls) -> CommunityTransport:
        self = cls()
        await self._bind(LOOPBACK)  # until a target needs more
        return self

    async def _bind(self, host: str) -> None:
        loop = asyncio.get_running_loop()
        transport, _protocol = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), sock=client_socket(host)
        )
        old, self._transport, self.bound_host = self._transport, transport, host
        if old is not None:
            # Answers in flight to the old socket are lost; their retries use the new one.
            old.close()

    async def _reach(self, address: Address) -> None:
        """Bind as narrowly as the targets allow: the one local address every target is
        reached from, or all addresses once they differ (the OS's own routing decides)."""
        source = _source_for(address)
        if source in self._targets:
            return
        async with self._rebinding:
            self._targets.add(source)
            wanted = next(iter(self._targets)) if len(self._targets) == 1 else ANY
            if wanted != self.bound_host and self._transport is not None:
                log.info("SNMP socket bound to %s (reaching %s:%d)", wanted, *address)
                await self._bind(wanted)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for entry in self._in_flight.values():
            if not entry.answer.done():
                entry.answer.cancel()
        self._in_flight.clear()
        self._sources.clear()
        self._malformed.clear()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def request(
        self,
        address: Address,
        version: int,
        community: bytes,
        pdu_type: PduType,
        oids: list[tuple[int, ...]],
        *,
        max_repetitions: int = 0,
        seconds_per_try: float,
        retries: int,
    ) -> Response:
        """One request to ``address`` (an IPv4 address, not a name) and its answer.

        The request awaits one future, its answer; a timer per try resends the message or,
        after the last try, fails the future (:meth:`_try_expired`): a retry wakes no task.
        """
        if self._transport is None:
            raise RuntimeError("CommunityTransport used before open() or after close()")
        if _source_for(address) not in self._targets:
            await self._reach(address)
        request_id = self._new_request_id()
        message = encode_request(
            version, community, pdu_type, request_id, oids, max_repetitions=max_repetitions
        )
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Response] = loop.create_future()
        entry = _InFlight(address, version, community, answer, message, seconds_per_try, retries)
        self._in_flight[request_id] = entry
        self._sources[address] = self._sources.get(address, 0) + 1
        try:
            self._transport.sendto(message, address)
            entry.timer = loop.call_later(seconds_per_try, self._try_expired, request_id)
            return await answer
        finally:
            if entry.timer is not None:
                entry.timer.cancel()
            self._in_flight.pop(request_id, None)  # close() may have cleared it
            self._forget_source(address)

    def _try_expired(self, request_id: int) -> None:
        """A try got no answer in time: send the next one, or fail the request."""
        entry = self._in_flight.get(request_id)
        if entry is None or entry.answer.done():
            return
        address = entry.address
        if entry.tries > entry.retries or self._transport is None:
            entry.timer = None
            entry.answer.set_exception(RequestTimedOut(self._malformed.get(address)))
            return
        log.debug(
            "%s:%d: no answer within %g s, retry %d of %d",
            *address, entry.seconds_per_try, entry.tries, entry.retries,
        )  # fmt: skip
        entry.tries += 1
        # Under the same request-id: a late answer to an earlier try still counts. The
        # socket of now: answers to a socket replaced meanwhile (rebinding) are lost.
        self._transport.sendto(entry.message, address)
        loop = asyncio.get_running_loop()
        entry.timer = loop.call_later(entry.seconds_per_try, self._try_expired, request_id)

    def _forget_source(self, address: Address) -> None:
        left = self._sources.get(address, 0) - 1
        if left > 0:
            self._sources[address] = left
        else:
            self._sources.pop(address, None)
            self._malformed.pop(address, None)

    def _new_request_id(self) -> int:
        for _ in range(_ID_TRIES):
            if not self._random_ids:
                self._random_ids = memoryview(secrets.token_bytes(4 * _ID_BATCH)).cast("I").tolist()
            request_id = self._random_ids.pop() & 0x7FFFFFFF  # 31 random bits
            if request_id not in self._in_flight:
                return request_id
        raise RuntimeError("no free SNMP request-id")

    def _received(self, data: bytes, source: Address) -> None:
        if source not in self._sources:
            log.debug("dropped a datagram from %s:%d, which we asked nothing", *source)
            return
        try:
            response = decode_response(data)
        except BerError as exc:
            log.debug("dropped a malformed datagram from %s:%d: %s", *source, exc)
            self._malformed[source] = str(exc)
            return
        entry = self._in_flight.get(response.request_id)
        if entry is None or entry.answer.done():
            log.debug("dropped an answer from %s:%d to no request in flight", *source)
            return
        if (
            entry.address != source
            or entry.version != response.version
            or entry.community != response.community
        ):
            log.debug("dropped an answer from %s:%d not matching its request", *source)
            return
        entry.answer.set_result(response)


LOOPBACK = "127.0.0.1"
ANY = "0.0.0.0"


@functools.lru_cache(maxsize=65536)
def _source_for(address: Address) -> str:
    """The local address the kernel would send to ``address`` from (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(address)
        except OSError:  # no route now: bind widely rather than fail every request
            return ANY
        return str(probe.getsockname()[0])


def client_socket(host: str = ANY) -> socket.socket:
    """The one UDP socket all v1/v2c requests share, bound to ``host``, with as large a
    receive buffer as the kernel allows (net.core.rmem_max caps it): with hundreds of
    requests in flight the default buffer drops answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    except OSError as exc:
        log.debug("cannot raise SO_RCVBUF: %s", exc)
    sock.bind((host, 0))
    sock.setblocking(False)
    return sock
