"""The SNMP client: walks a PDU's outlet-table columns (asyncio).

Why it is built the way it is (each point measured, see bench/bench_snmp.py):

- v1/v2c, the hot path, use PowerMon's own BER codec (:mod:`powermond.snmp.ber`) over one
  UDP socket shared by every PDU (:mod:`powermond.snmp.v1v2c`): pyasn1 under pysnmp 7 spent
  ~6 ms decoding one 48-outlet answer, twice issue 3's whole budget of 3 ms per walk.
- v3 goes through pysnmp's v3arch engine (:mod:`powermond.snmp.usm`), created on first use.
- We run the walk ourselves: every column of a profile travels in one GETBULK, a column stops
  as soon as it leaves its subtree (pysnmp's walk helpers walk past the table and retry a
  timed-out walk forever), and the walk ends when every column has.

Secrets (community, v3 keys) never reach log lines or exception texts.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from powermond.inventory.model import PduConfig
from powermond.snmp.ber import (
    END_OF_MIB_VIEW,
    VERSION_1,
    VERSION_2C,
    Oid,
    PduType,
    Value,
    Varbind,
    WireValue,
)
from powermond.snmp.errors import (
    NoSuchName,
    SnmpAuthError,
    SnmpError,
    SnmpTimeout,
    TooBig,
    check_status,
)
from powermond.snmp.profiles.base import Table
from powermond.snmp.usm import UsmRequester
from powermond.snmp.v1v2c import Address, CommunityTransport, RequestTimedOut

__all__ = [
    "SYS_DESCR",
    "SYS_OBJECT_ID",
    "ClientDefaults",
    "PduTransport",
    "SnmpAuthError",
    "SnmpClient",
    "SnmpError",
    "SnmpTimeout",
    "Value",
    "parse_oid",
    "walk",
]

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"

#: A column longer than this is a broken agent, not a PDU.
MAX_ROWS_PER_COLUMN = 4096

_PDU_TYPES = {"get": PduType.GET, "next": PduType.GET_NEXT, "bulk": PduType.GET_BULK}
_REQUEST_NAMES = {"get": "GET", "next": "GETNEXT", "bulk": "GETBULK"}

log = logging.getLogger(__name__)


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


@functools.lru_cache(maxsize=1024)
def parse_oid(dotted: str) -> Oid:
    """``"1.3.6.1..."`` as a tuple. Cached: a walk parses its profile's column roots, the
    same few for every PDU of a model."""
    return tuple(int(part) for part in dotted.strip().lstrip(".").split("."))


def _plain(value: WireValue) -> Value:
    return None if value is END_OF_MIB_VIEW else value


# ---------------------------------------------------------------------------------------------
# The walk: all columns together, each stopping at the end of its own subtree.


@functools.lru_cache(maxsize=1024)
def _column_root(dotted: str) -> tuple[Oid, Oid, str]:
    """A column's root OID, the first OID past its subtree, and its name in the table.

    ``oid`` is in the subtree exactly when ``root < oid < upper`` (``upper``: the root with
    its last arc + 1), two tuple comparisons that make no slice per varbind."""
    root = parse_oid(dotted)
    return root, (*root[:-1], root[-1] + 1), ".".join(map(str, root))


@dataclass(slots=True)
class _Column:
    root: Oid
    upper: Oid
    last: Oid
    rows: dict[tuple[int, ...], Value]


def _absorb(column: _Column, answers: list[Varbind]) -> bool:
    """Record ``column``'s answers of one round, in order; False once the column has ended
    (past its subtree, the end of the MIB view, or an agent that does not advance, which
    would loop forever)."""
    upper, last, rows = column.upper, column.last, column.rows
    size = len(column.root)
    going = True
    for oid, value in answers:
        # last < oid: the agent advances (last starts at the root); oid < upper: within
        # the subtree (see _column_root).
        if value is END_OF_MIB_VIEW or not last < oid < upper:
            going = False
            break
        rows[oid[size:]] = value
        last = oid
    column.last = last
    if len(rows) > MAX_ROWS_PER_COLUMN:
        raise SnmpError(
            f"column {'.'.join(map(str, column.root))} has over {MAX_ROWS_PER_COLUMN} rows"
        )
    return going


async def walk(
    request: Callable[[Sequence[Oid], int], Any],
    columns: Sequence[str],
    repetitions: int,
    *,
    expected: int | None = None,
) -> tuple[Table, int]:
    """Walk ``columns`` with ``request(oids, repetitions) -> varbinds``; returns (table, rounds).

    ``repetitions`` 0 means GETNEXT. A GETBULK response holds up to ``repetitions`` rows, each
    row one varbind per requested column in request order. ``expected``: the rows a column
    had last time; a round after an answer cut short (agents cap the varbinds of one answer:
    net-snmp at 100) asks for the rows still expected + 1, not for ``repetitions`` rows, most
    of them past the end of the table.
    """
    roots = [_column_root(c) for c in columns]
    active = [_Column(root, upper, root, {}) for root, upper, _name in roots]
    table = {name: c.rows for (_r, _u, name), c in zip(roots, active, strict=True)}
    rounds = 0
    while active:
        rounds += 1
        reps = repetitions
        if expected is not None and reps > 1:
            left = expected - min(len(c.rows) for c in active)
            if left > 0:  # else the table grew: ask for as many as at first
                reps = min(reps, left + 1)
        varbinds: list[Varbind] = await request([c.last for c in active], reps)
        if not varbinds:
            raise SnmpError("the PDU answered a walk step with no values")
        # Column j's answers are varbinds j, j + width, ... An agent may cut a GETBULK
        # answer short (size limits): a column missing from it has not ended, it just
        # continues from its last OID in the next round.
        width = len(active)
        if width == 1:
            active = active if _absorb(active[0], varbinds) else []
        else:
            active = [c for j, c in enumerate(active) if _absorb(c, varbinds[j::width])]
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
    """The :class:`PduTransport` for real PDUs. Use as ``async with SnmpClient(...) as c``."""

    def __init__(self, defaults: ClientDefaults = ClientDefaults()) -> None:
        self.defaults = defaults
        self._v1v2c: CommunityTransport | None = None  # opened in __aenter__
        self._v3: UsmRequester | None = None  # lazily: most sites have no v3 PDU
        self._addresses: dict[tuple[str, int], Address] = {}
        #: Rows each (PDU, columns) had last time, to size max-repetitions to the outlet count.
        self._rows_seen: dict[tuple[str, int, tuple[str, ...]], int] = {}
        #: max-repetitions a PDU last accepted after answering tooBig: its firmware's limit.
        self._bulk_limits: dict[tuple[str, int], int] = {}

    async def __aenter__(self) -> SnmpClient:
        self._v1v2c = await CommunityTransport.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._v1v2c is not None:
            self._v1v2c.close()
            self._v1v2c = None
        if self._v3 is not None:
            self._v3.close()
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
        cap = min(cap, self._bulk_limits.get((pdu.host, pdu.port), cap))
        if asked is not None:
            return max(1, min(asked, cap))
        seen = self._rows_seen.get((pdu.host, pdu.port, tuple(columns)))
        return cap if seen is None else max(1, min(seen + 1, cap))

    # -- public ---------------------------------------------------------------------------

    async def get(self, pdu: PduConfig, oids: Sequence[str]) -> dict[str, Value]:
        varbinds = await self._v1_tolerant(pdu, "get", [parse_oid(o) for o in oids], 0)
        return {".".join(map(str, oid)): _plain(value) for oid, value in varbinds}

    async def walk_columns(
        self, pdu: PduConfig, columns: Sequence[str], *, max_repetitions: int | None = None
    ) -> Table:
        bulk = pdu.version != "1" and pdu.bulk
        repetitions = self._repetitions(pdu, columns, max_repetitions) if bulk else 0
        kind = "bulk" if bulk else "next"

        async def request(oids: Sequence[Oid], reps: int) -> list[Varbind]:
            reps = min(reps, self._bulk_limits.get((pdu.host, pdu.port), reps))
            return await self._v1_tolerant(pdu, kind, oids, reps)

        seen = self._rows_seen.get((pdu.host, pdu.port, tuple(columns)))
        expected = seen if bulk and max_repetitions is None else None
        table, rounds = await walk(request, columns, repetitions, expected=expected)
        longest = max((len(rows) for rows in table.values()), default=0)
        log.debug(
            "PDU %s: walked %d columns in %d requests, %d rows", pdu.name, len(columns), rounds,
            longest,
        )  # fmt: skip
        self._rows_seen[(pdu.host, pdu.port, tuple(columns))] = longest
        return table

    # -- requests -------------------------------------------------------------------------

    async def _v1_tolerant(
        self, pdu: PduConfig, kind: str, oids: Sequence[Oid], reps: int
    ) -> list[Varbind]:
        """One request, with SNMPv1's noSuchName turned into the SNMPv2 exceptions.

        A v1 agent fails the whole request with noSuchName on the first varbind it cannot
        answer (a GETNEXT past the end of the MIB, a GET of a missing object); that varbind is
        answered with endOfMibView / noSuchObject (None) and the rest are asked again."""
        missing: WireValue = END_OF_MIB_VIEW if kind == "next" else None
        asked = list(oids)
        answers: dict[int, Varbind] = {}
        while True:
            live = [i for i in range(len(asked)) if i not in answers]
            try:
                varbinds = await self._send(pdu, kind, [asked[i] for i in live], reps)
            except NoSuchName as exc:
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
        if not log.isEnabledFor(logging.DEBUG):
            return await self._send_sized(pdu, kind, oids, reps)
        # -v: the exchange, one line per request (what `poll -v` and `probe -v` show).
        started = time.monotonic()
        what = f"PDU {pdu.name}: {_REQUEST_NAMES[kind]} of {len(oids)} OIDs" + (
            f", max-repetitions {reps}" if kind == "bulk" else ""
        )
        try:
            varbinds = await self._send_sized(pdu, kind, oids, reps)
        except SnmpError as exc:
            log.debug("%s failed after %.1f ms: %s", what, _ms(started), exc)
            raise
        log.debug("%s: %d varbinds in %.1f ms", what, len(varbinds), _ms(started))
        return varbinds

    async def _send_sized(
        self, pdu: PduConfig, kind: str, oids: Sequence[Oid], reps: int
    ) -> list[Varbind]:
        while True:
            try:
                if pdu.version == "3":
                    if self._v3 is None:
                        self._v3 = UsmRequester()
                    return await self._v3.request(
                        pdu,
                        kind,
                        oids,
                        reps,
                        seconds_per_try=self._timeout(pdu),
                        retries=self._retries(pdu),
                    )
                return await self._send_community(pdu, kind, oids, reps)
            except TooBig:
                if kind != "bulk" or reps <= 1:
                    raise SnmpError("the PDU answers tooBig even to one row") from None
                # Firmware that cannot build large answers: ask for fewer rows, and keep
                # asking for no more than that (later rounds and cycles).
                reps //= 2
                self._bulk_limits[(pdu.host, pdu.port)] = reps
                log.debug("PDU %s: tooBig, asking for %d rows from now on", pdu.name, reps)

    async def _send_community(
        self, pdu: PduConfig, kind: str, oids: Sequence[Oid], reps: int
    ) -> list[Varbind]:
        if self._v1v2c is None:
            raise RuntimeError("SnmpClient used outside `async with`")
        address = self._addresses.get((pdu.host, pdu.port)) or await self._address(pdu)
        try:
            response = await self._v1v2c.request(
                address,
                VERSION_1 if pdu.version == "1" else VERSION_2C,
                pdu.community.get_secret_value().encode(),
                _PDU_TYPES[kind],
                list(oids),
                max_repetitions=reps,
                seconds_per_try=self._timeout(pdu),
                retries=self._retries(pdu),
            )
        except RequestTimedOut as exc:
            if exc.malformed:
                raise SnmpError(
                    f"{pdu.host}:{pdu.port} answered, but not in well-formed SNMP "
                    f"({exc.malformed}); nothing of it was used"
                ) from None
            raise SnmpTimeout(
                f"no answer from {pdu.host}:{pdu.port} within {self._timeout(pdu):g} s x "
                f"{self._retries(pdu) + 1} tries (wrong community or unreachable)"
            ) from None
        check_status(response.error_status, response.error_index)
        return response.varbinds

    async def _address(self, pdu: PduConfig) -> Address:
        """The PDU's IPv4 address, resolved once (answers are matched on it)."""
        key = (pdu.host, pdu.port)
        address = self._addresses.get(key)
        if address is None:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(
                    pdu.host, pdu.port, family=socket.AF_INET, type=socket.SOCK_DGRAM
                )
            except OSError as exc:
                raise SnmpError(f"cannot resolve {pdu.host}: {type(exc).__name__}") from None
            host, port = infos[0][4][:2]
            address = self._addresses[key] = (str(host), int(port))
        return address


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
