"""Outlet labels are interned: a 10,000-PDU cycle holds 48 label strings, not 480,000."""

from __future__ import annotations

from powermond.snmp.profiles import get

TABLE = "1.3.6.1.4.1.318.1.1.26.9.4.3.1"  # rPDU2OutletMeteredStatusEntry


def _answer(pdu: int) -> dict[str, dict[tuple[int, ...], object]]:
    values = {2: lambda o: 1, 4: lambda o: o, 6: lambda o: o, 7: lambda o: 100 + pdu, 11: int}
    return {f"{TABLE}.{c}": {(o,): f(o) for o in range(1, 49)} for c, f in values.items()}


def test_two_pdus_share_their_outlet_label_strings() -> None:
    profile = get("apc-rpdu2")
    first, second = (profile.decode(_answer(p)).readings for p in (1, 2))
    assert [r.outlet for r in first] == [str(o) for o in range(1, 49)]
    assert all(a.outlet is b.outlet for a, b in zip(first, second, strict=True))
