"""What one hostile datagram costs the event loop (issue 13): the BER codec on the shapes a
hostile agent sends, and the OID cache's size after a flood of distinct large OIDs.

    .venv/bin/python bench/bench_hostile.py

Prints, per shape, the datagram's size, the time to decode (or refuse) it, and the outcome;
then the OID cache's estimated bytes after 20,000 distinct 126-arc OIDs. Before issue 13 the
64 KB single-sub-identifier datagram took 2.3 s (quadratic in the arc's length), and 8 KB
OIDs grew a process from 12 to 570 MB.
"""

from __future__ import annotations

import time

from powermond.snmp import ber


def tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + content


def message(oid: bytes, value: bytes = b"\x05\x00") -> bytes:
    varbind = tlv(0x30, tlv(0x06, oid) + value)
    pdu = tlv(0x02, b"\x05") + tlv(0x02, b"\x00") + tlv(0x02, b"\x00") + tlv(0x30, varbind)
    return tlv(0x30, tlv(0x02, b"\x01") + tlv(0x04, b"c") + tlv(0xA2, pdu))


SHAPES = {
    "one 65,000-octet sub-identifier": message(bytes([0x2B]) + b"\xff" * 65000 + b"\x7f"),
    "oid value with a 2,042-octet arc": message(
        bytes([0x2B, 6, 1]), tlv(0x06, bytes([0x2B]) + b"\xff" * 2041 + b"\x7f")
    ),
    "arc 10^40": message(bytes([0x2B]) + ber.encode_oid((1, 3, 10**40))[1:]),
    "127 five-octet arcs (accepted)": message(
        bytes([0x2B]) + ber.encode_oid((1, 3, 2**32 - 1))[1:] * 126
    ),
}


def main() -> None:
    for name, wire in SHAPES.items():
        started = time.perf_counter()
        try:
            ber.decode_response(wire)
            outcome = "decoded"
        except ber.BerError as exc:
            outcome = f"refused: {exc}"
        elapsed = time.perf_counter() - started
        print(f"{name:34s} {len(wire):6d} bytes  {elapsed * 1e3:8.3f} ms  {outcome}")
    for n in range(20_000):
        arcs = (1, 3, *[2**31 + n] * 126)
        ber.decode_response(message(ber.encode_oid(arcs)))
    print(
        f"OID cache after 20,000 distinct 126-arc OIDs: {ber.oid_cache_bytes() / 2**20:.1f} MiB "
        f"(bound {ber.OID_CACHE_MAX_BYTES / 2**20:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
