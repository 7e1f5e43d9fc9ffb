"""A minimal, strict BER codec for SNMPv1/v2c requests and responses: PowerMon's hot path.

Why PowerMon has its own: issue 3's target is <= 3 ms of client CPU per 48-outlet walk and
1,000 PDUs polled and stored in <= 10 s on 2 cores. Measured here, pyasn1 (under pysnmp 7)
spends ~6 ms decoding *one* 147-varbind GETBULK answer, about 80% of the client's CPU; no
pysnmp/pyasn1 option comes near the target. This codec does only what a walk needs:

- encode GetRequest / GetNextRequest / GetBulkRequest with NULL-valued varbinds;
- decode a Response into :class:`Response`, with values as profiles see them (see
  ``profiles.base``): INTEGER, Counter32, Gauge32/Unsigned32, TimeTicks, Counter64 -> int;
  OCTET STRING, Opaque, IpAddress -> bytes (as pysnmp's ``asOctets()`` gave them);
  OBJECT IDENTIFIER -> dotted str; NULL, noSuchObject, noSuchInstance -> None; endOfMibView
  -> :data:`END_OF_MIB_VIEW`, which the walk needs to tell apart.

Anything else raises :class:`BerError` (the caller drops the datagram): unknown tags,
indefinite or oversized lengths, lengths running past their enclosure, trailing bytes,
non-minimal OID sub-identifiers, sub-identifiers over 5 octets or above 2^32-1 (RFC 2578's
bound; decoding longer ones costs time quadratic in their length, and a 39-digit arc makes
no outlet label), out-of-range counters. One leniency, as net-snmp's own
decoder: an unsigned type (Counter32...) whose top bit is set without the leading zero octet
BER wants is read as unsigned, since some PDU firmware encodes counters that way.

pysnmp stays the reference (tests round-trip against its encoder and decoder) and does v3.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Final

Oid = tuple[int, ...]
#: A value as profiles see it (see ``profiles.base.Rows``).
Value = int | bytes | str | None


class EndOfMibView(Enum):
    """The SNMPv2 endOfMibView exception value: the agent has nothing after this OID.
    An enum member, so ``value is END_OF_MIB_VIEW`` narrows the type."""

    END_OF_MIB_VIEW = "endOfMibView"


END_OF_MIB_VIEW: Final = EndOfMibView.END_OF_MIB_VIEW
WireValue = Value | EndOfMibView
Varbind = tuple[Oid, WireValue]

VERSION_1: Final = 0
VERSION_2C: Final = 1


class PduType(IntEnum):
    """Context tags of the SNMP PDUs this codec speaks (RFC 1157, RFC 3416)."""

    GET = 0xA0
    GET_NEXT = 0xA1
    RESPONSE = 0xA2
    GET_BULK = 0xA5


class BerError(ValueError):
    """A datagram that is not a well-formed SNMPv1/v2c Response."""


@dataclass(frozen=True, slots=True)
class Response:
    version: int
    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[Varbind]


_SEQUENCE = 0x30
_INTEGER = 0x02
_OCTET_STRING = 0x04
_NULL = 0x05
_OID = 0x06
_IP_ADDRESS = 0x40
_OPAQUE = 0x44
#: Unsigned application types -> their largest value (Gauge32 is also Unsigned32).
_UNSIGNED_MAX = {0x41: 2**32 - 1, 0x42: 2**32 - 1, 0x43: 2**32 - 1, 0x46: 2**64 - 1}
_NO_SUCH_OBJECT = 0x80
_NO_SUCH_INSTANCE = 0x81
_END_OF_MIB_VIEW = 0x82
#: INTEGER content longer than this is no SNMP integer (Counter64 needs 9 with its zero).
_MAX_INT_OCTETS = 9
_MAX_OID_ARCS = 128  # RFC 2578's limit
#: RFC 2578: a sub-identifier is at most 2^32-1, which takes 5 octets of 7 bits.
MAX_SUB_IDENTIFIER = 2**32 - 1
_MAX_SUB_IDENTIFIER_OCTETS = 5
#: OIDs repeat across PDUs (same table, same rows): decoding each once saves a third of
#: the CPU. Cleared when full, in entries or in (estimated) bytes, so a hostile agent
#: cannot grow it without bound: 128-arc OIDs would otherwise cost ~1.6 KB an entry.
_OID_CACHE: dict[bytes, Oid] = {}
_OID_CACHE_MAX = 65536
OID_CACHE_MAX_BYTES = 8 * 1024 * 1024
_oid_cache_bytes = 0


# ---------------------------------------------------------------------------------------------
# Encoding.


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _integer(n: int) -> bytes:
    return _tlv(_INTEGER, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


def encode_oid(oid: Oid) -> bytes:
    """The content octets of an OBJECT IDENTIFIER (X.690 8.19)."""
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] >= 40) or min(oid) < 0:
        raise ValueError(f"not an encodable OID: {oid}")
    out = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


_NULL_VALUE: Final = bytes((_NULL, 0))


@functools.lru_cache(maxsize=4096)
def _null_varbind(oid: Oid) -> bytes:
    """``SEQUENCE { oid, NULL }``. Cached: every PDU of a model asks for the same column
    roots and, outlet count alike, the same last rows, cycle after cycle."""
    return _tlv(_SEQUENCE, _tlv(_OID, encode_oid(oid)) + _NULL_VALUE)


def encode_request(
    version: int,
    community: bytes,
    pdu_type: PduType,
    request_id: int,
    oids: list[Oid],
    *,
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    """A GET, GETNEXT or GETBULK message with NULL values; for the others the last two
    fields are error-status and error-index, both 0."""
    if pdu_type is PduType.GET_BULK:
        if version == VERSION_1:
            raise ValueError("SNMPv1 has no GetBulkRequest")
        second, third = non_repeaters, max_repetitions
    else:
        second = third = 0
    varbinds = b"".join(map(_null_varbind, oids))
    pdu = _integer(request_id) + _integer(second) + _integer(third) + _tlv(_SEQUENCE, varbinds)
    body = _integer(version) + _tlv(_OCTET_STRING, community) + _tlv(pdu_type, pdu)
    return _tlv(_SEQUENCE, body)


# ---------------------------------------------------------------------------------------------
# Decoding. Each step reads one TLV at ``pos`` within ``data[:end]`` and returns positions.


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at ``pos``, checked against ``end``."""
    if pos + 2 > end:
        raise BerError("truncated header")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:  # 0: indefinite form, which SNMP forbids
            raise BerError("unsupported length form")
        if pos + count > end:
            raise BerError("truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    stop = pos + length
    if stop > end:
        raise BerError("length runs past its enclosure")
    return tag, pos, stop


def _expect(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    found, start, stop = _header(data, pos, end)
    if found != tag:
        raise BerError(f"expected tag 0x{tag:02x}, found 0x{found:02x}")
    return start, stop


def _read_integer(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, next position) of the INTEGER at ``pos``."""
    start, stop = _expect(data, pos, end, _INTEGER)
    if not 0 < stop - start <= _MAX_INT_OCTETS:
        raise BerError("bad INTEGER length")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


def decode_oid(content: bytes) -> Oid:
    """The arcs of OBJECT IDENTIFIER content octets."""
    cached = _OID_CACHE.get(content)
    if cached is not None:
        return cached
    if not content or content[-1] & 0x80:
        raise BerError("empty or truncated OID")
    if len(content) > _MAX_OID_ARCS * _MAX_SUB_IDENTIFIER_OCTETS:
        raise BerError("OID too long")
    arcs: list[int] = []
    arc = 0
    octets = 0
    for octet in content:
        if octets == 0 and octet == 0x80:
            raise BerError("non-minimal OID sub-identifier")
        arc = (arc << 7) | (octet & 0x7F)
        octets += 1
        if octets > _MAX_SUB_IDENTIFIER_OCTETS:
            raise BerError("OID sub-identifier over 5 octets")
        if not octet & 0x80:
            arcs.append(arc)
            arc = octets = 0
    if len(arcs) >= _MAX_OID_ARCS:
        raise BerError("OID too long")
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    oid = (*head, *arcs[1:])
    if max(oid) > MAX_SUB_IDENTIFIER:
        raise BerError("OID sub-identifier above 2^32-1")
    _remember(content, oid)
    return oid


def _remember(content: bytes, oid: Oid) -> None:
    global _oid_cache_bytes
    # Key, tuple and its int objects (small ones are shared): an estimate, on purpose cheap.
    cost = 2 * len(content) + 40 * len(oid) + 100
    if len(_OID_CACHE) >= _OID_CACHE_MAX or _oid_cache_bytes + cost > OID_CACHE_MAX_BYTES:
        _OID_CACHE.clear()
        _oid_cache_bytes = 0
    _OID_CACHE[content] = oid
    _oid_cache_bytes += cost


def oid_cache_bytes() -> int:
    """The OID cache's estimated size (bounded by :data:`OID_CACHE_MAX_BYTES`)."""
    return _oid_cache_bytes


def _value(tag: int, content: bytes) -> WireValue:
    if tag == _INTEGER:
        if not 0 < len(content) <= _MAX_INT_OCTETS:
            raise BerError("bad INTEGER length")
        return int.from_bytes(content, "big", signed=True)
    if tag in (_OCTET_STRING, _OPAQUE):
        return content
    highest = _UNSIGNED_MAX.get(tag)
    if highest is not None:
        number = int.from_bytes(content, "big")
        if not content or number > highest:
            raise BerError("unsigned value out of range")
        return number
    if tag == _OID:
        return ".".join(map(str, decode_oid(content)))
    if tag == _IP_ADDRESS:
        if len(content) != 4:
            raise BerError("IpAddress is not 4 octets")
        return content
    if tag in (_NULL, _NO_SUCH_OBJECT, _NO_SUCH_INSTANCE, _END_OF_MIB_VIEW):
        if content:
            raise BerError("NULL-like value with content")
        return END_OF_MIB_VIEW if tag == _END_OF_MIB_VIEW else None
    raise BerError(f"unknown value tag 0x{tag:02x}")


def _varbinds(data: bytes, pos: int, end: int) -> list[Varbind]:
    out: list[Varbind] = []
    append = out.append
    cache = _OID_CACHE
    from_bytes = int.from_bytes
    while pos < end:
        # The usual varbind, inline: under 128 octets (short-form lengths), an OID seen
        # before, an INTEGER value. Anything else, malformed input included, takes the
        # general path below, which checks every rule and says what is wrong.
        if pos + 4 <= end and data[pos] == 0x30 and data[pos + 2] == 0x06:  # SEQUENCE, OID
            stop = pos + 2 + data[pos + 1]
            oid_stop = pos + 4 + data[pos + 3]
            # Short-form lengths are < 0x80; stop <= end keeps the varbind in its list.
            if data[pos + 1] < 0x80 and data[pos + 3] < 0x80 and oid_stop + 2 <= stop <= end:
                oid = cache.get(data[pos + 4 : oid_stop])
                size = stop - oid_stop - 2  # the value's content: its length octet must agree
                if oid is not None and data[oid_stop] == 0x02 and data[oid_stop + 1] == size:
                    if size == 1:
                        value = data[oid_stop + 2]
                        append((oid, value - 256 if value > 0x7F else value))
                        pos = stop
                        continue
                    if size == 2:
                        value = data[oid_stop + 2] << 8 | data[oid_stop + 3]
                        append((oid, value - 65536 if value > 0x7FFF else value))
                        pos = stop
                        continue
                    if 2 < size <= _MAX_INT_OCTETS:
                        append((oid, from_bytes(data[oid_stop + 2 : stop], "big", signed=True)))
                        pos = stop
                        continue
        start, stop = _expect(data, pos, end, _SEQUENCE)
        oid_start, oid_stop = _expect(data, start, stop, _OID)
        tag, value_start, value_stop = _header(data, oid_stop, stop)
        if value_stop != stop:
            raise BerError("trailing bytes in a varbind")
        oid = decode_oid(data[oid_start:oid_stop])
        append((oid, _value(tag, data[value_start:value_stop])))
        pos = stop
    return out


def decode_response(data: bytes) -> Response:
    """Decode one datagram; raises :class:`BerError` unless it is exactly one v1/v2c
    Response message."""
    try:
        return _decode_response(data)
    except BerError:
        raise
    except (ValueError, IndexError, OverflowError) as exc:  # a codec bug: still our error
        raise BerError(f"undecodable datagram ({type(exc).__name__}: {exc})") from exc


def _decode_response(data: bytes) -> Response:
    end = len(data)
    start, stop = _expect(data, 0, end, _SEQUENCE)
    if stop != end:
        raise BerError("trailing bytes after the message")
    version, pos = _read_integer(data, start, stop)
    if version not in (VERSION_1, VERSION_2C):
        raise BerError(f"not SNMPv1/v2c (version field {version})")
    community_start, pos = _expect(data, pos, stop, _OCTET_STRING)
    community = data[community_start:pos]
    pdu_start, pdu_stop = _expect(data, pos, stop, PduType.RESPONSE)
    if pdu_stop != stop:
        raise BerError("trailing bytes after the PDU")
    request_id, pos = _read_integer(data, pdu_start, pdu_stop)
    error_status, pos = _read_integer(data, pos, pdu_stop)
    error_index, pos = _read_integer(data, pos, pdu_stop)
    list_start, list_stop = _expect(data, pos, pdu_stop, _SEQUENCE)
    if list_stop != pdu_stop:
        raise BerError("trailing bytes after the varbind list")
    varbinds = _varbinds(data, list_start, list_stop)
    return Response(version, community, request_id, error_status, error_index, varbinds)
