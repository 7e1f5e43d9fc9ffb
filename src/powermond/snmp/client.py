"""The SNMP client: walks a PDU's outlet-table columns with pysnmp 7 (asyncio).

Why it is built the way it is (each point measured with pysnmp 7.1):

- v1/v2c go through pysnmp's *v1arch* dispatcher: the v3arch engine pays a first-contact cost
  roughly quadratic in the number of distinct communities. v3 needs the v3arch engine (USM);
  one is created on first use and shared by every v3 PDU.
- We send single requests and run the walk ourselves: pysnmp's walk helpers default to
  ``lexicographicMode=True`` (they walk past the table) and retry a timed-out walk forever.
  Here every column of a profile travels in one GETBULK, and a column stops as soon as it
  leaves its subtree; the walk ends when every column has.
- No MIB lookups (``lookupMib=True`` triples the CPU per response).
- One UDP socket for all v1/v2c PDUs, with a large receive buffer: with hundreds of requests
  in flight the default buffer drops replies.

Secrets (community, v3 keys) never reach log lines or exception texts.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import socket
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from powermond.errors import PowermonError
from powermond.inventory.model import PduConfig
from powermond.snmp.profiles.base import Table

log = logging.getLogger(__name__)

#: A value as profiles see it (see ``profiles.base.Rows``).
Value = int | bytes | str | None
Oid = tuple[int, ...]
Varbind = tuple[Oid, Any]

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"

#: A column longer than this is a broken agent, not a PDU.
MAX_ROWS_PER_COLUMN = 4096
RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024

#: SNMP error-status values that matter to a walk (RFC 3416).
_TOO_BIG = 1
_NO_SUCH_NAME = 2  # SNMPv1's way of saying "end of MIB" to a GETNEXT
_ERROR_NAMES = {1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr"}
_V3_AUTH_FAILURES = (
    "wrongdigest",
    "unknownusername",
    "decryptionerror",
    "unsupportedsecuritylevel",
    "authenticationfailure",
    "unknownsecurityname",
)


class SnmpError(PowermonError):
    """A PDU did not answer usefully. The message names no secret."""


class SnmpTimeout(SnmpError):
    """No answer within timeout x (retries + 1)."""


class SnmpAuthError(SnmpError):
    """SNMPv3 authentication or privacy failed (wrong user, key or protocol)."""


class PduTransport(Protocol):
    """What the poll cycle and ``probe`` need from an SNMP client."""

    def request_budget(self, pdu: PduConfig) -> float:
        """Seconds one request to ``pdu`` may take, retries included."""
        ...

    async def get(self, pdu: PduConfig, oids: Sequence[str]) -> dict[str, Value]: ...

    async def walk_columns(
        self, pdu: PduConfig, columns: Sequence[str], *, max_repetitions: int | None = None
    ) -> Table:
        """Every row of every column (dotted root OIDs), fetched together."""
        ...


def parse_oid(dotted: str) -> Oid:
    return tuple(int(part) for part in dotted.strip().lstrip(".").split("."))


def _convert(value: Any) -> Value:
    """pyasn1 value -> int, bytes, dotted str; None for Null and the SNMPv2 exceptions
    (noSuchObject, noSuchInstance, endOfMibView), which pyasn1 derives from Null."""
    from pyasn1.type import univ  # type: ignore[import-untyped]

    if isinstance(value, univ.Null):  # before OctetString: pyasn1's Null subclasses it
        return None
    if isinstance(value, univ.Integer):  # Integer32, Counter32/64, Gauge32, TimeTicks
        return int(value)
    if isinstance(value, univ.OctetString):  # also IpAddress, Opaque, Bits
        return value.asOctets()  # type: ignore[no-any-return]
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(str(n) for n in value.asTuple())
    return None


def _is_end_of_mib(value: Any) -> bool:
    from pysnmp.proto.rfc1905 import EndOfMibView

    return isinstance(value, EndOfMibView)


# ---------------------------------------------------------------------------------------------
# The walk: all columns together, each stopping at the end of its own subtree.

Request = Callable[[Sequence[Oid], int], "asyncio.Future[list[Varbind]]"]


@dataclass(slots=True)
class _Column:
    root: Oid
    last: Oid
    rows: dict[tuple[int, ...], Value]


def _absorb(column: _Column, oid: Oid, value: Any) -> bool:
    """Record one answer for ``column``; False once the column has ended."""
    root = column.root
    if _is_end_of_mib(value) or oid[: len(root)] != root or oid <= column.last:
        return False  # past the table, or an agent that does not advance (would loop forever)
    column.rows[oid[len(root) :]] = _convert(value)
    column.last = oid
    if len(column.rows) > MAX_ROWS_PER_COLUMN:
        raise SnmpError(f"column {'.'.join(map(str, root))} has over {MAX_ROWS_PER_COLUMN} rows")
    return True


async def walk(
    request: Callable[[Sequence[Oid], int], Any], columns: Sequence[str], repetitions: int
) -> tuple[Table, int]:
    """Walk ``columns`` with ``request(oids, repetitions) -> varbinds``; returns (table, rounds).

    ``repetitions`` 0 means GETNEXT. A GETBULK response holds up to ``repetitions`` rows, each
    row one varbind per requested column in request order.
    """
    active = [_Column(root, root, {}) for root in map(parse_oid, columns)]
    table = {".".join(map(str, c.root)): c.rows for c in active}
    rounds = 0
    while active:
        rounds += 1
        varbinds: list[Varbind] = await request([c.last for c in active], repetitions)
        if not varbinds:
            raise SnmpError("the PDU answered a walk step with no values")
        # An agent may cut a GETBULK answer short (size limits): a column missing from it
        # has not ended, it just continues from its last OID in the next round.
        width = len(active)
        still = [True] * width
        for i, (oid, value) in enumerate(varbinds):
            j = i % width
            if still[j]:
                still[j] = _absorb(active[j], oid, value)
        active = [c for c, going in zip(active, still, strict=True) if going]
    return table, rounds


# ---------------------------------------------------------------------------------------------
# The client.


@dataclass(frozen=True, slots=True)
class ClientDefaults:
    """``[collector]`` values used where a PDU sets none."""

    timeout: float = 2.0
    retries: int = 1
    max_repetitions: int = 64


class SnmpClient:
    """The pysnmp-backed :class:`PduTransport`. Use as ``async with SnmpClient(...) as c``."""

    def __init__(self, defaults: ClientDefaults = ClientDefaults()) -> None:
        self.defaults = defaults
        self._v1: Any = None  # pysnmp v1arch SnmpDispatcher, created in __aenter__
        self._v1_dispatcher: Any = None
        self._v3: Any = None  # lazily: most sites have no v3 PDU
        self._targets: dict[tuple[str, int, float, int, bool], Any] = {}
        #: Rows each (PDU, columns) had last time, to size max-repetitions to the outlet count.
        self._rows_seen: dict[tuple[str, int, tuple[str, ...]], int] = {}

    async def __aenter__(self) -> SnmpClient:
        _import_pysnmp()
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
        from pysnmp.hlapi.v1arch.asyncio import SnmpDispatcher

        loop = asyncio.get_running_loop()
        self._v1_dispatcher = AsyncioDispatcher(loop=loop)
        transport = udp.UdpAsyncioTransport(loop=loop).open_server_mode(sock=_client_socket())
        self._v1_dispatcher.register_transport(udp.DOMAIN_NAME, transport)
        self._v1 = SnmpDispatcher(self._v1_dispatcher)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._v1 is not None:
            self._v1.close()
            self._v1_dispatcher.close_dispatcher()
            self._v1 = None
        if self._v3 is not None:
            self._v3.close_dispatcher()
            self._v3 = None

    # -- settings per PDU ----------------------------------------------------------------

    def _timeout(self, pdu: PduConfig) -> float:
        return pdu.timeout if pdu.timeout is not None else self.defaults.timeout

    def _retries(self, pdu: PduConfig) -> int:
        return pdu.retries if pdu.retries is not None else self.defaults.retries

    def request_budget(self, pdu: PduConfig) -> float:
        return self._timeout(pdu) * (self._retries(pdu) + 1)

    def _repetitions(self, pdu: PduConfig, columns: Sequence[str], asked: int | None) -> int:
        """GETBULK max-repetitions: the outlet count seen last time + 1 (so the end of the
        table arrives in the same answer), capped by the PDU's or collector's limit."""
        cap = pdu.max_repetitions or self.defaults.max_repetitions
        if asked is not None:
            return max(1, min(asked, cap))
        seen = self._rows_seen.get((pdu.host, pdu.port, tuple(columns)))
        return cap if seen is None else max(1, min(seen + 1, cap))

    # -- public ---------------------------------------------------------------------------

    async def get(self, pdu: PduConfig, oids: Sequence[str]) -> dict[str, Value]:
        varbinds = await self._v1_tolerant(pdu, "get", [parse_oid(o) for o in oids], 0)
        return {".".join(map(str, oid)): _convert(value) for oid, value in varbinds}

    async def walk_columns(
        self, pdu: PduConfig, columns: Sequence[str], *, max_repetitions: int | None = None
    ) -> Table:
        bulk = pdu.version != "1" and pdu.bulk
        repetitions = self._repetitions(pdu, columns, max_repetitions) if bulk else 0
        kind = "bulk" if bulk else "next"

        async def request(oids: Sequence[Oid], reps: int) -> list[Varbind]:
            return await self._v1_tolerant(pdu, kind, oids, reps)

        table, _rounds = await walk(request, columns, repetitions)
        longest = max((len(rows) for rows in table.values()), default=0)
        self._rows_seen[(pdu.host, pdu.port, tuple(columns))] = longest
        return table

    # -- requests -------------------------------------------------------------------------

    async def _v1_tolerant(
        self, pdu: PduConfig, kind: str, oids: Sequence[Oid], reps: int
    ) -> list[Varbind]:
        """One request, with SNMPv1's noSuchName turned into the SNMPv2 exceptions.

        A v1 agent fails the whole request with noSuchName on the first varbind it cannot
        answer (a GETNEXT past the end of the MIB, a GET of a missing object); that varbind is
        answered with endOfMibView / noSuchObject and the rest are asked again."""
        from pysnmp.proto.rfc1905 import endOfMibView, noSuchObject

        missing = endOfMibView if kind == "next" else noSuchObject

        asked = list(oids)
        answers: dict[int, Varbind] = {}
        while True:
            live = [i for i in range(len(asked)) if i not in answers]
            try:
                varbinds = await self._send(pdu, kind, [asked[i] for i in live], reps)
            except _NoSuchName as exc:
                if exc.index >= len(live):
                    raise SnmpError("the PDU answered noSuchName for no asked object") from None
                answers[live[exc.index]] = (asked[live[exc.index]], missing)
                if len(answers) == len(asked):
                    return [answers[i] for i in range(len(asked))]
                continue
            if not answers:
                return varbinds
            # v1 has no GETBULK: one varbind per live OID.
            for i, vb in zip(live, varbinds, strict=False):
                answers[i] = vb
            return [answers[i] for i in range(len(asked)) if i in answers]

    async def _send(
        self, pdu: PduConfig, kind: str, oids: Sequence[Oid], reps: int
    ) -> list[Varbind]:
        while True:
            try:
                if pdu.version == "3":
                    return await self._send_v3(pdu, kind, oids, reps)
                return await self._send_v1(pdu, kind, oids, reps)
            except _TooBig:
                if kind != "bulk" or reps <= 1:
                    raise SnmpError("the PDU answers tooBig even to one row") from None
                reps //= 2  # firmware that cannot build large answers: ask for fewer rows

    async def _target(self, pdu: PduConfig, v3: bool) -> Any:
        key = (pdu.host, pdu.port, self._timeout(pdu), self._retries(pdu), v3)
        target = self._targets.get(key)
        if target is None:
            if v3:
                from pysnmp.hlapi.v3arch.asyncio import UdpTransportTarget as V3Target

                factory: Any = V3Target
            else:
                from pysnmp.hlapi.v1arch.asyncio import UdpTransportTarget as V1Target

                factory = V1Target
            try:
                target = await factory.create((pdu.host, pdu.port), timeout=key[2], retries=key[3])
            except Exception as exc:  # pysnmp wraps resolver errors in PySnmpError
                raise SnmpError(f"cannot resolve {pdu.host}: {type(exc).__name__}") from None
            self._targets[key] = target
        return target

    async def _send_v1(
        self, pdu: PduConfig, kind: str, oids: Sequence[Oid], reps: int
    ) -> list[Varbind]:
        from pysnmp.hlapi.v1arch.asyncio import CommunityData
        from pysnmp.proto import api

        if self._v1 is None:
            raise RuntimeError("SnmpClient used outside `async with`")
        model = 0 if pdu.version == "1" else 1
        module = api.PROTOCOL_MODULES[model]
        request = _build_request(module, kind, oids, reps)
        target = await self._target(pdu, v3=False)
        future: asyncio.Future[tuple[Any, Any]] = asyncio.get_running_loop().create_future()

        def answered(_d: Any, _rid: Any, error: Any, response: Any, _ctx: Any) -> None:
            if not future.done():
                future.set_result((error, response))

        auth = CommunityData(pdu.community.get_secret_value(), mpModel=model)
        self._v1.send_pdu(auth, target, request, cbFun=answered)
        error, response = await future
        if error is not None:
            raise self._indication_error(pdu, error)
        status = int(module.apiPDU.get_error_status(response))
        index = int(module.apiPDU.get_error_index(response, muteErrors=True))
        varbinds = module.apiPDU.get_varbinds(response)
        return _checked(status, index, [(oid.asTuple(), value) for oid, value in varbinds])

    async def _send_v3(
        self, pdu: PduConfig, kind: str, oids: Sequence[Oid], reps: int
    ) -> list[Varbind]:
        from pysnmp.entity.rfc3413 import cmdgen
        from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD
        from pysnmp.proto.rfc1902 import Null, ObjectName

        engine = self._v3_engine()
        target = await self._target(pdu, v3=True)
        user = _usm_user(pdu)
        context = pdu.context.encode()
        addr_name, _params = LCD.configure(engine, user, target, context)
        future: asyncio.Future[tuple[Any, int, int, Any]] = (
            asyncio.get_running_loop().create_future()
        )

        def answered(
            _e: Any, _h: Any, error: Any, status: Any, index: Any, varbinds: Any, _c: Any
        ) -> None:
            if not future.done():
                future.set_result((error, int(status), int(index), varbinds))

        varbinds = [(ObjectName(oid), Null("")) for oid in oids]
        if kind == "bulk":
            cmdgen.BulkCommandGeneratorSingleRun().send_varbinds(
                engine, addr_name, None, context, 0, reps, varbinds, answered
            )
        else:
            generator = (
                cmdgen.GetCommandGenerator()
                if kind == "get"
                else cmdgen.NextCommandGeneratorSingleRun()
            )
            generator.send_varbinds(engine, addr_name, None, context, varbinds, answered)
        error, status, index, answer = await future
        if error:
            raise self._indication_error(pdu, error)
        return _checked(status, index, [(oid.asTuple(), value) for oid, value in answer])

    def _v3_engine(self) -> Any:
        if self._v3 is None:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

            self._v3 = SnmpEngine()
        return self._v3

    def _indication_error(self, pdu: PduConfig, error: Any) -> SnmpError:
        from pysnmp.proto import errind

        if isinstance(error, errind.RequestTimedOut):
            hint = "wrong community or " if pdu.version != "3" else ""
            return SnmpTimeout(
                f"no answer from {pdu.host}:{pdu.port} within {self._timeout(pdu):g} s x "
                f"{self._retries(pdu) + 1} tries ({hint}unreachable)"
            )
        name = type(error).__name__
        text = str(error)
        if name.lower() in _V3_AUTH_FAILURES or any(w in text.lower() for w in ("digest", "user")):
            return SnmpAuthError(f"SNMPv3 authentication failed: {text}")
        return SnmpError(f"SNMP error: {text}")


class _TooBig(SnmpError):
    pass


class _NoSuchName(SnmpError):
    def __init__(self, index: int) -> None:
        super().__init__("noSuchName")
        self.index = index


def _checked(status: int, index: int, varbinds: list[Varbind]) -> list[Varbind]:
    if status == 0:
        return varbinds
    if status == _TOO_BIG:
        raise _TooBig("tooBig")
    if status == _NO_SUCH_NAME and index >= 1:
        raise _NoSuchName(index - 1)
    raise SnmpError(f"the PDU answered {_ERROR_NAMES.get(status, f'error-status {status}')}")


def _build_request(module: Any, kind: str, oids: Sequence[Oid], reps: int) -> Any:
    from pysnmp.proto.rfc1902 import Null, ObjectName

    if kind == "bulk":
        request = module.GetBulkRequestPDU()
        module.apiBulkPDU.set_defaults(request)
        module.apiBulkPDU.set_non_repeaters(request, 0)
        module.apiBulkPDU.set_max_repetitions(request, reps)
    else:
        request = module.GetRequestPDU() if kind == "get" else module.GetNextRequestPDU()
        module.apiPDU.set_defaults(request)
    module.apiPDU.set_varbinds(request, [(ObjectName(oid), Null("")) for oid in oids])
    return request


def _import_pysnmp() -> None:
    """Import pysnmp's high-level packages once, quietly: importing them makes pysnmp call
    pysmi names that newer pysmi releases deprecate, a warning about pysnmp, not us."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        importlib.import_module("pysnmp.hlapi.v1arch.asyncio")
        importlib.import_module("pysnmp.hlapi.v3arch.asyncio")


def _client_socket() -> socket.socket:
    """The one UDP socket all v1/v2c requests share, with as large a receive buffer as the
    kernel allows (net.core.rmem_max caps it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    except OSError as exc:
        log.debug("cannot raise SO_RCVBUF: %s", exc)
    sock.bind(("0.0.0.0", 0))
    sock.setblocking(False)
    return sock


_AUTH = {
    "MD5": "usmHMACMD5AuthProtocol",
    "SHA": "usmHMACSHAAuthProtocol",
    "SHA224": "usmHMAC128SHA224AuthProtocol",
    "SHA256": "usmHMAC192SHA256AuthProtocol",
    "SHA384": "usmHMAC256SHA384AuthProtocol",
    "SHA512": "usmHMAC384SHA512AuthProtocol",
}
#: AES192/256 as net-snmp (and so most PDU firmware) does them: Blumenthal key extension.
_PRIV = {
    "DES": "usmDESPrivProtocol",
    "AES128": "usmAesCfb128Protocol",
    "AES192": "usmAesBlumenthalCfb192Protocol",
    "AES256": "usmAesBlumenthalCfb256Protocol",
}


def _usm_user(pdu: PduConfig) -> Any:
    from pysnmp.hlapi.v3arch.asyncio import auth

    return auth.UsmUserData(
        str(pdu.user),
        authKey=pdu.auth_key.get_secret_value() if pdu.auth_key else None,
        privKey=pdu.priv_key.get_secret_value() if pdu.priv_key else None,
        authProtocol=getattr(auth, _AUTH[pdu.auth_protocol]) if pdu.auth_protocol else None,
        privProtocol=getattr(auth, _PRIV[pdu.priv_protocol]) if pdu.priv_protocol else None,
    )
