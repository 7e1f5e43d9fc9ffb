"""PowerMon's BER codec against pysnmp/pyasn1's own encoder and decoder (the reference)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902, rfc1905

from powermond.snmp import ber
from powermond.snmp.usm import convert

pytestmark = pytest.mark.timeout(60)

V1, V2C = api.PROTOCOL_MODULES[0], api.PROTOCOL_MODULES[1]
TABLE = (1, 3, 6, 1, 4, 1, 318, 1, 1, 26, 9, 4, 3, 1)

# (pysnmp value, what PowerMon's decoder must give), per edge case.
V2C_VALUES: list[tuple[Any, object]] = [
    (rfc1902.Integer32(0), 0),
    (rfc1902.Integer32(-1), -1),
    (rfc1902.Integer32(-(2**31)), -(2**31)),
    (rfc1902.Integer32(2**31 - 1), 2**31 - 1),
    (rfc1902.Integer32(128), 128),  # needs a leading zero octet
    (rfc1902.Counter32(0), 0),
    (rfc1902.Counter32(2**32 - 1), 2**32 - 1),
    (rfc1902.Gauge32(4_000_000_000), 4_000_000_000),
    (rfc1902.Unsigned32(7), 7),
    (rfc1902.TimeTicks(123456), 123456),
    (rfc1902.Counter64(2**64 - 1), 2**64 - 1),
    (rfc1902.Counter64(2**63), 2**63),
    (rfc1902.OctetString(b""), b""),
    (rfc1902.OctetString(b"\x00\xff\x80"), b"\x00\xff\x80"),
    (rfc1902.OctetString(b"x" * 300), b"x" * 300),  # long-form length
    (rfc1902.OctetString("AP8641 rPDU2"), b"AP8641 rPDU2"),
    (rfc1902.IpAddress("10.0.0.1"), b"\n\x00\x00\x01"),
    (rfc1902.Opaque(b"\x9f\x78\x04"), b"\x9f\x78\x04"),
    (rfc1902.ObjectIdentifier("1.3.6.1.4.1.318.1.3.4.6"), "1.3.6.1.4.1.318.1.3.4.6"),
    (rfc1902.ObjectIdentifier("2.999.4294967295"), "2.999.4294967295"),
    (rfc1902.Bits(b"\xa0"), b"\xa0"),
    (rfc1905.noSuchObject, None),
    (rfc1905.noSuchInstance, None),
    (rfc1905.endOfMibView, ber.END_OF_MIB_VIEW),
    (rfc1902.Null(""), None),
]


def _response(module: Any, varbinds: list[tuple[Any, Any]], **fields: int) -> bytes:
    """A Response message encoded by pysnmp."""
    pdu = module.GetResponsePDU()
    module.apiPDU.set_defaults(pdu)
    module.apiPDU.set_request_id(pdu, fields.get("request_id", 1))
    module.apiPDU.set_error_status(pdu, fields.get("status", 0))
    module.apiPDU.set_error_index(pdu, fields.get("index", 0))
    module.apiPDU.set_varbinds(pdu, varbinds)
    message = module.Message()
    module.apiMessage.set_defaults(message)
    module.apiMessage.set_community(message, "pdu-7")
    module.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def _oid(*tail: int) -> rfc1902.ObjectName:
    return rfc1902.ObjectName((*TABLE, *tail))


@pytest.mark.parametrize(("value", "expected"), V2C_VALUES, ids=lambda v: repr(v)[:40])
def test_decodes_every_value_type_like_pysnmp(value: Any, expected: object) -> None:
    wire = _response(V2C, [(_oid(7, 1), value)], request_id=2**31 - 1)
    response = ber.decode_response(wire)
    assert response.varbinds == [((*TABLE, 7, 1), expected)]
    assert response.request_id == 2**31 - 1
    assert (response.version, response.community) == (ber.VERSION_2C, b"pdu-7")
    # The reference: pyasn1's decoding of the same bytes, converted as for v3 answers.
    reference, rest = decoder.decode(wire, asn1Spec=V2C.Message())
    assert rest == b""
    (_name, pyasn1_value), *_ = V2C.apiPDU.get_varbinds(V2C.apiMessage.get_pdu(reference))
    assert convert(pyasn1_value) == expected


def test_decodes_a_full_walk_answer_with_long_lengths() -> None:
    # 48 outlets x 3 columns plus the end of the table (2-octet lengths), and a 65 kB string
    # that makes the message need 3 length octets.
    varbinds = [
        (_oid(column, outlet), rfc1902.Integer32(outlet * column - 200))
        for outlet in range(1, 50)
        for column in (7, 6, 11)
    ]
    varbinds.append((_oid(99), rfc1902.OctetString(b"y" * 65_000)))
    response = ber.decode_response(_response(V2C, varbinds, request_id=42))
    assert len(response.varbinds) == 148
    assert response.varbinds[0] == ((*TABLE, 7, 1), -193)
    assert response.varbinds[146] == ((*TABLE, 11, 49), 49 * 11 - 200)
    assert response.varbinds[147] == ((*TABLE, 99), b"y" * 65_000)


def test_decodes_v1_error_status_and_index() -> None:
    wire = _response(V1, [(_oid(7, 1), rfc1902.Null(""))], request_id=9, status=2, index=1)
    response = ber.decode_response(wire)
    assert (response.version, response.error_status, response.error_index) == (0, 2, 1)
    assert response.varbinds == [((*TABLE, 7, 1), None)]


REQUESTS = [
    pytest.param(ber.VERSION_2C, ber.PduType.GET_BULK, 0, 49, id="v2c-bulk"),
    pytest.param(ber.VERSION_2C, ber.PduType.GET_BULK, 0, 1000, id="v2c-bulk-long-reps"),
    pytest.param(ber.VERSION_2C, ber.PduType.GET_NEXT, 0, 0, id="v2c-next"),
    pytest.param(ber.VERSION_1, ber.PduType.GET_NEXT, 0, 0, id="v1-next"),
    pytest.param(ber.VERSION_1, ber.PduType.GET, 0, 0, id="v1-get"),
    pytest.param(ber.VERSION_2C, ber.PduType.GET, 0, 0, id="v2c-get"),
]
REQUEST_OIDS = [(*TABLE, 7), (*TABLE, 6, 4294967295), (1, 3, 6, 1, 2, 1, 1, 1, 0), (2, 999, 3)]


@pytest.mark.parametrize(("version", "pdu_type", "non_repeaters", "reps"), REQUESTS)
@pytest.mark.parametrize("request_id", [0, 1, 127, 128, 2**31 - 1])
def test_requests_are_byte_identical_to_pysnmps(
    version: int, pdu_type: ber.PduType, non_repeaters: int, reps: int, request_id: int
) -> None:
    module = api.PROTOCOL_MODULES[version]
    if pdu_type is ber.PduType.GET_BULK:
        pdu = module.GetBulkRequestPDU()
        module.apiBulkPDU.set_defaults(pdu)
        module.apiBulkPDU.set_non_repeaters(pdu, non_repeaters)
        module.apiBulkPDU.set_max_repetitions(pdu, reps)
    else:
        pdu = module.GetRequestPDU() if pdu_type is ber.PduType.GET else module.GetNextRequestPDU()
        module.apiPDU.set_defaults(pdu)
    module.apiPDU.set_request_id(pdu, request_id)
    module.apiPDU.set_varbinds(
        pdu, [(rfc1902.ObjectName(o), rfc1902.Null("")) for o in REQUEST_OIDS]
    )
    message = module.Message()
    module.apiMessage.set_defaults(message)
    module.apiMessage.set_community(message, "pdu-7")
    module.apiMessage.set_pdu(message, pdu)
    ours = ber.encode_request(
        version, b"pdu-7", pdu_type, request_id, REQUEST_OIDS, max_repetitions=reps
    )
    assert ours == bytes(encoder.encode(message))
    decoded, rest = decoder.decode(ours, asn1Spec=module.Message())
    assert rest == b""
    names = [tuple(n) for n, _ in module.apiPDU.get_varbinds(module.apiMessage.get_pdu(decoded))]
    assert names == REQUEST_OIDS


def test_v1_has_no_getbulk() -> None:
    with pytest.raises(ValueError, match="no GetBulkRequest"):
        ber.encode_request(ber.VERSION_1, b"c", ber.PduType.GET_BULK, 1, [(1, 3)])


GOOD = _response(
    V2C,
    [(_oid(7, 1), rfc1902.Integer32(163)), (_oid(6, 1), rfc1902.Counter64(9))],
    request_id=77,
)


def _patched(offset: int, octets: bytes) -> bytes:
    return GOOD[:offset] + octets + GOOD[offset + len(octets) :]


def _vb_message(value_tlv: bytes, oid_content: bytes = bytes([0x2B, 6, 1])) -> bytes:
    """A hand-built v2c Response with one varbind (for values pysnmp will not encode)."""

    def tlv(tag: int, content: bytes) -> bytes:
        return bytes([tag, len(content)]) + content

    varbind = tlv(0x30, tlv(0x06, oid_content) + value_tlv)
    pdu = tlv(0x02, b"\x05") + tlv(0x02, b"\x00") + tlv(0x02, b"\x00") + tlv(0x30, varbind)
    return tlv(0x30, tlv(0x02, b"\x01") + tlv(0x04, b"c") + tlv(0xA2, pdu))


def test_hand_built_message_decodes() -> None:  # so the malformed variants below are fair
    response = ber.decode_response(_vb_message(bytes([0x41, 5, 0, 0xFF, 0xFF, 0xFF, 0xFF])))
    assert response.varbinds == [((1, 3, 6, 1), 2**32 - 1)]


def test_unsigned_without_its_leading_zero_reads_as_unsigned() -> None:
    # Firmware that forgets BER's zero octet before a top-bit-set counter (net-snmp reads
    # it as unsigned too).
    response = ber.decode_response(_vb_message(bytes([0x41, 4, 0xFF, 0xFF, 0xFF, 0xFE])))
    assert response.varbinds[0][1] == 2**32 - 2


MALFORMED = {
    "empty": b"",
    "one octet": b"\x30",
    "not a sequence": _patched(0, b"\x31"),
    "indefinite length": _patched(1, b"\x80"),
    "five length octets": b"\x30\x85\x00\x00\x00\x00\x10" + GOOD[2:],
    "huge length": b"\x30\x84\xff\xff\xff\xff" + GOOD[2:],
    "trailing garbage": GOOD + b"\x00",
    "version 3": _patched(4, b"\x03"),
    "a GetRequest, not a Response": GOOD.replace(b"\xa2", b"\xa0", 1),
    "a v1 trap": GOOD.replace(b"\xa2", b"\xa4", 1),
    "counter32 too big": _vb_message(bytes([0x41, 5, 1, 0, 0, 0, 0])),
    "counter64 too big": _vb_message(bytes([0x46, 9, 1] + [0] * 8)),
    "integer of 10 octets": _vb_message(bytes([0x02, 10] + [1] * 10)),
    "empty integer": _vb_message(b"\x02\x00"),
    "empty counter": _vb_message(b"\x41\x00"),
    "ip address of 5 octets": _vb_message(b"\x40\x05\x01\x02\x03\x04\x05"),
    "unknown value tag": _vb_message(b"\x47\x01\x00"),
    "null with content": _vb_message(b"\x05\x01\x00"),
    "endOfMibView with content": _vb_message(b"\x82\x01\x00"),
    "oid non-minimal arc": _vb_message(b"\x05\x00", bytes([0x2B, 0x80, 0x01])),
    "oid truncated arc": _vb_message(b"\x05\x00", bytes([0x2B, 0x86])),
    "empty oid": _vb_message(b"\x05\x00", b""),
    "oid of 200 arcs": _vb_message(b"\x05\x00", bytes([0x2B] + [1] * 199)),
    "value runs past varbind": _vb_message(b"\x04\x7f" + b"a"),
}


@pytest.mark.parametrize("wire", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_datagrams_are_rejected(wire: bytes) -> None:
    with pytest.raises(ber.BerError):
        ber.decode_response(wire)


def test_every_truncation_is_rejected() -> None:
    for cut in range(len(GOOD)):
        with pytest.raises(ber.BerError):
            ber.decode_response(GOOD[:cut])


def test_random_corruption_never_raises_anything_but_ber_error() -> None:
    rng = random.Random(20240601)  # fixed: a failure is reproducible
    decoded = rejected = 0
    for _ in range(20_000):
        wire = bytearray(GOOD)
        for _flip in range(rng.randint(1, 4)):
            wire[rng.randrange(len(wire))] = rng.randrange(256)
        try:
            ber.decode_response(bytes(wire))
            decoded += 1
        except ber.BerError:
            rejected += 1
    assert rejected > 10_000  # most corruptions break the structure
    assert decoded > 0  # and some only change a value


def test_the_inline_path_for_known_oids_decodes_and_rejects_like_the_general_one() -> None:
    # The first decoding fills the OID cache through the general path; the second takes the
    # inline one for the same varbinds: same result, and the same refusals afterwards.
    varbinds = [(_oid(c, o), rfc1902.Integer32(o * c - 300)) for o in range(1, 21) for c in (7, 6)]
    wire = _response(V2C, varbinds, request_id=7)
    ber._OID_CACHE.clear()
    first = ber.decode_response(wire)
    assert ber.decode_response(wire) == first
    assert first.varbinds[-1] == ((*TABLE, 6, 20), -180)
    known = bytes([0x2B, 6, 1])
    ber.decode_response(_vb_message(bytes([0x02, 1, 5]), known))  # now cached
    for value in (b"\x02\x00", bytes([0x02, 10] + [1] * 10), b"\x02\x02\x01"):
        with pytest.raises(ber.BerError):
            ber.decode_response(_vb_message(value, known))


# --- hostile shapes (issue 13): sub-identifier length and value, the OID cache's size ------


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + content


def _message(oid_content: bytes, value_tlv: bytes = b"\x05\x00") -> bytes:
    """A v2c Response with one varbind, long lengths allowed."""
    varbind = _tlv(0x30, _tlv(0x06, oid_content) + value_tlv)
    pdu = _tlv(0x02, b"\x05") + _tlv(0x02, b"\x00") + _tlv(0x02, b"\x00") + _tlv(0x30, varbind)
    return _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, b"c") + _tlv(0xA2, pdu))


def _arc(n: int) -> bytes:
    return ber.encode_oid((1, 3, n))[1:]


def test_sub_identifiers_up_to_2_to_the_32_minus_1_decode() -> None:
    wire = _message(bytes([0x2B]) + _arc(2**32 - 1))
    assert ber.decode_response(wire).varbinds == [((1, 3, 2**32 - 1), None)]


HOSTILE = {
    # 2^32 fits 5 octets but is beyond RFC 2578's bound (it made a 10-digit label).
    "arc 2^32": _message(bytes([0x2B]) + _arc(2**32)),
    # 10^40: the index arc that made a 41-character outlet label.
    "arc 10^40": _message(bytes([0x2B]) + _arc(10**40)),
    "arc of 6 octets": _message(bytes([0x2B, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00])),
    # A 64 KB OID of one sub-identifier: quadratic to decode without the 5-octet bound.
    "one arc of 60,000 octets": _message(bytes([0x2B]) + b"\xff" * 60_000 + b"\x7f"),
    # An OID *value* whose arc has more digits than int -> str allows (Python raised
    # ValueError, which escaped the protocol callback).
    "oid value with a 2,042-octet arc": _message(
        bytes([0x2B, 6, 1]), _tlv(0x06, bytes([0x2B]) + b"\xff" * 2041 + b"\x7f")
    ),
}


@pytest.mark.parametrize("wire", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_sub_identifiers_are_the_codecs_own_error(wire: bytes) -> None:
    with pytest.raises(ber.BerError, match=r"sub-identifier|OID too long"):
        ber.decode_response(wire)


def test_oid_cache_is_bounded_in_bytes() -> None:
    # 127 five-octet arcs each: distinct OIDs of the largest shape the codec accepts.
    # Before the bound, 6,000 of them held ~40 MB (8 KB OIDs took a process to 570 MB).
    peak = 0
    for n in range(6000):
        content = bytes([0x2B]) + _arc(2**31 + n) * 126
        ber.decode_response(_message(content))
        peak = max(peak, ber.oid_cache_bytes())
        assert ber.oid_cache_bytes() <= ber.OID_CACHE_MAX_BYTES
    assert peak > ber.OID_CACHE_MAX_BYTES * 0.9  # it does cache them, up to its bound
