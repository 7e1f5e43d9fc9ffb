"""A small SNMPv1/v2c agent on 127.0.0.1 for behaviour snmpsim cannot show (tooBig, v1's
noSuchName at the end of the MIB, hostile devices: absurd index arcs and column values).
It speaks through pysnmp/pyasn1, the reference codec, so PowerMon's own codec is checked
against it, not against itself."""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass, field
from typing import Any

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902, rfc1905
from pysnmp.proto.api import verdec

Oid = tuple[int, ...]


@dataclass
class TableAgent:
    """Serves ``rows`` (OID -> int, or any pysnmp value such as ``Counter64(2**60)``) to
    community ``community``. A GETBULK asking for more than ``bulk_limit`` repetitions is
    answered tooBig, as firmware with small buffers does."""

    rows: dict[Oid, Any]
    community: str = "pdu-7"
    bulk_limit: int = 1000
    #: Non-zero: every request is answered with this error-status (e.g. 16,
    #: authorizationError), error-index 1.
    error_status: int = 0
    #: Answer GETs as GETs (sysDescr for probe); by default they are answered as GETNEXTs,
    #: which is how a v1 GET meets noSuchName here.
    answers_get: bool = False
    requests: list[tuple[str, int]] = field(default_factory=list)  # (PDU kind, max-reps)
    port: int = 0
    _transport: Any = None

    async def start(self) -> TableAgent:
        loop = asyncio.get_running_loop()
        self._oids = sorted(self.rows)
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=("127.0.0.1", 0)
        )
        self.port = self._transport.get_extra_info("sockname")[1]
        return self

    def close(self) -> None:
        self._transport.close()

    def serve(self, rows: dict[Oid, Any]) -> None:
        """Answer from ``rows`` from now on (a device that renumbers its table)."""
        self.rows = rows
        self._oids = sorted(rows)

    def next_after(self, oid: Oid) -> Oid | None:
        i = bisect.bisect_right(self._oids, oid)
        return self._oids[i] if i < len(self._oids) else None

    def value(self, oid: Oid) -> Any:
        value = self.rows[oid]
        return rfc1902.Integer32(value) if isinstance(value, int) else value

    def answer(self, data: bytes) -> bytes | None:
        version = int(verdec.decode_message_version(data))
        module = api.PROTOCOL_MODULES[version]
        message, _rest = decoder.decode(data, asn1Spec=module.Message())
        if str(module.apiMessage.get_community(message)) != self.community:
            return None  # as real agents do: silence
        request = module.apiMessage.get_pdu(message)
        names = [tuple(n) for n, _v in module.apiPDU.get_varbinds(request)]
        response = module.apiPDU.get_response(request)
        if self.answers_get and request.isSameTypeWith(rfc1905.GetRequestPDU()):
            self.requests.append(("get", 0))
            found = [(n, self.value(n) if n in self.rows else rfc1905.noSuchObject) for n in names]
            module.apiPDU.set_varbinds(response, found)
        elif request.isSameTypeWith(rfc1905.GetBulkRequestPDU()):
            reps = int(module.apiBulkPDU.get_max_repetitions(request))
            self.requests.append(("bulk", reps))
            if reps > self.bulk_limit:
                module.apiPDU.set_error_status(response, 1)  # tooBig
                module.apiPDU.set_varbinds(response, [(n, rfc1902.Null("")) for n in names])
            else:
                module.apiPDU.set_varbinds(response, self._bulk(names, reps))
        else:
            self.requests.append(("next", 0))
            self._next(module, response, names, v1=version == 0)
        if self.error_status:
            module.apiPDU.set_error_status(response, self.error_status)
            module.apiPDU.set_error_index(response, 1)
        module.apiMessage.set_pdu(message, response)
        return bytes(encoder.encode(message))

    def _bulk(self, names: list[Oid], reps: int) -> list[tuple[Oid, Any]]:
        out: list[tuple[Oid, Any]] = []
        current = list(names)
        for _row in range(reps):
            for j, oid in enumerate(current):
                following = self.next_after(oid)
                if following is None:
                    out.append((oid, rfc1905.endOfMibView))
                else:
                    out.append((following, self.value(following)))
                    current[j] = following
        return out

    def _next(self, module: Any, response: Any, names: list[Oid], *, v1: bool) -> None:
        out: list[tuple[Oid, Any]] = []
        for i, oid in enumerate(names):
            following = self.next_after(oid)
            if following is not None:
                out.append((following, self.value(following)))
            elif v1:  # v1: the whole request fails, naming the first varbind at the end
                module.apiPDU.set_error_status(response, 2)
                module.apiPDU.set_error_index(response, i + 1)
                out = [(n, rfc1902.Null("")) for n in names]
                break
            else:
                out.append((oid, rfc1905.endOfMibView))
        module.apiPDU.set_varbinds(response, out)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, agent: TableAgent) -> None:
        self.agent = agent
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        reply = self.agent.answer(data)
        if reply is not None:
            self.transport.sendto(reply, addr)
