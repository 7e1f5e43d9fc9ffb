"""Which profiles may fit a device, from its sysObjectID and sysDescr (``powermon probe``).

Contract with the caller: :func:`candidates` only ranks. The caller walks each candidate's
``columns`` in the order given and keeps the first profile whose ``decode`` yields at least
one outlet reading; failing that, the first whose ``decode`` yields inlet readings (an
inlet-only or switched-only PDU), or a note. A rank can therefore list several profiles of
one vendor: an AP7902B answers neither the rPDU2 metered table nor the rPDU2 unit totals
(-1), so ``apc-rpdu2`` yields only its phase current and the old ``apc-rpdu`` branch, whose
total gives watts, is kept instead. A
device that neither value identifies gets every known profile.
"""

from __future__ import annotations

from collections.abc import Iterable

from powermond.snmp.profiles._inlet import is_inlet
from powermond.snmp.profiles.base import Decoded

_ENTERPRISES = "1.3.6.1.4.1."

# (sysObjectID prefix under enterprises, profiles in order of preference, what it is).
# Longer prefixes come first: the first matching prefix wins.
_BY_OBJECT_ID: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("318.1.1.32", ("apc-cpdu",), "APC NetShelter Advanced (cPDU)"),
    ("318.1.3.4", ("apc-rpdu2", "apc-rpdu"), "APC Rack PDU"),
    ("318", ("apc-rpdu2", "apc-rpdu", "apc-cpdu"), "an APC device"),
    ("13742.6", ("raritan-pdu2",), "Raritan PX2/PX3/PX4 (PDU2-MIB)"),
    ("13742.4", ("raritan-px1",), "Raritan Dominion PX (PDU-MIB)"),
    ("13742", ("raritan-pdu2", "raritan-px1"), "a Raritan device"),
    ("534.6.6.7", ("eaton-epdu",), "Eaton ePDU (EATON-EPDU-MIB)"),
    ("534", ("eaton-epdu",), "an Eaton device"),
    ("1718.3", ("sentry3",), "ServerTech Sentry3 CDU"),
    ("1718.4", ("sentry4",), "ServerTech Sentry4 PDU"),
    ("1718", ("sentry4", "sentry3"), "a ServerTech device"),
    ("3808.1.1.6", ("cyberpower", "cyberpower-epdu"), "CyberPower ePDU2"),
    ("3808.1.1.3", ("cyberpower-epdu", "cyberpower"), "CyberPower ePDU"),
    ("3808", ("cyberpower", "cyberpower-epdu"), "a CyberPower device"),
    ("232.165.7", ("hpe-pdu2", "hpe-pdu"), "HPE metered PDU (CPQPOWER-MIB pdu2)"),
    ("232.165", ("hpe-pdu", "hpe-pdu2"), "HPE PDU (CPQPOWER-MIB)"),
    ("38446", ("enlogic-pdu",), "an Enlogic PDU"),
    ("674.10903.200", ("dell-rpdu",), "Dell rack PDU (DellrPDU-MIB)"),
    ("21317", ("aten-pdu",), "an ATEN PE-series PDU"),
    ("30932", ("cpi-pdu",), "a Chatsworth (CPI) PDU"),
    ("31034", ("schleifenbauer",), "a Schleifenbauer PDU"),
    ("28402", ("conteg",), "a Conteg PDU"),
    ("2634", ("wti-pdu",), "a WTI power device"),
    ("2468", ("ipoman",), "an Ingrasys iPoMan"),
    ("55108", ("rnx-updu",), "an RNX UPDU"),
    ("10456", ("planet-pdu",), "a PLANET PDU"),
    ("28507", ("gude-epc",), "a Gude Expert Power Control"),
    ("21239", ("vertiv-pdu",), "a Vertiv/Geist PDU"),
)

# Whole sysObjectIDs outside the enterprises branch that devices are known to send.
_EXACT_OBJECT_ID: tuple[tuple[str, tuple[str, ...], str], ...] = (
    # Chatsworth eConnect sends this malformed value (LibreNMS matches it literally).
    ("0.10.43.6.1.4.1", ("cpi-pdu",), "what Chatsworth eConnect PDUs send"),
)

# (lower-case word in sysDescr, profiles, what it suggests), all tried in this order.
_BY_DESCRIPTION: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("rpdu2g", ("apc-rpdu2", "apc-rpdu"), "APC Rack PDU 2G firmware"),
    ("apcpdu", ("apc-cpdu",), "APC NetShelter Advanced"),
    ("apc", ("apc-rpdu2", "apc-rpdu", "apc-cpdu"), "APC"),
    ("dominion px", ("raritan-px1",), "Raritan Dominion PX"),
    ("raritan", ("raritan-pdu2", "raritan-px1"), "Raritan"),
    ("px2", ("raritan-pdu2",), "Raritan PX2"),
    ("px3", ("raritan-pdu2",), "Raritan PX3"),
    ("px4", ("raritan-pdu2",), "Raritan PX4"),
    ("epdu", ("eaton-epdu",), "Eaton ePDU"),
    ("sentry", ("sentry4", "sentry3"), "ServerTech Sentry"),
    ("cdu", ("sentry3",), "ServerTech CDU"),
    ("cps", ("cyberpower", "cyberpower-epdu"), "CyberPower"),
    ("cyberpower", ("cyberpower", "cyberpower-epdu"), "CyberPower"),
    ("hpe", ("hpe-pdu", "hpe-pdu2"), "HPE"),
    ("enlogic", ("enlogic-pdu",), "Enlogic"),
    ("dell web/snmp", ("dell-rpdu",), "Dell rack PDU"),
    ("epicenter", ("cpi-pdu",), "Chatsworth eConnect"),
    ("schleifenbauer", ("schleifenbauer",), "Schleifenbauer"),
    ("conteg", ("conteg",), "Conteg"),
    ("rnx updu", ("rnx-updu",), "RNX UPDU"),
    ("ipm-8", ("planet-pdu",), "PLANET IPM"),
    ("expert power control", ("gude-epc",), "Gude Expert Power Control"),
    ("geist", ("vertiv-pdu",), "Vertiv/Geist"),
    ("vertiv", ("vertiv-pdu",), "Vertiv"),
)


def candidates(
    sys_object_id: str, sys_descr: str, known: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(profile name, reason) pairs, best first, each profile once.

    ``sys_object_id`` may carry a leading dot. ``known`` lists every profile, returned when
    neither value identifies the device (the registry passes its own names).
    """
    ranked: dict[str, str] = {}
    oid = sys_object_id.strip().lstrip(".")
    for exact, names, what in _EXACT_OBJECT_ID:
        if oid == exact:
            _add(ranked, names, f"sysObjectID {oid} is {what}")
    if oid.startswith(_ENTERPRISES):
        branch = oid[len(_ENTERPRISES) :]
        for prefix, names, what in _BY_OBJECT_ID:
            if branch == prefix or branch.startswith(prefix + "."):
                _add(ranked, names, f"sysObjectID {oid} is {what}")
                break
    descr = sys_descr.lower()
    for word, names, what in _BY_DESCRIPTION:
        if word in descr:
            _add(ranked, names, f"sysDescr mentions {word!r} ({what})")
    if not ranked:
        _add(ranked, known, "unrecognized device: every profile in turn")
    return list(ranked.items())


def _add(ranked: dict[str, str], names: Iterable[str], reason: str) -> None:
    for name in names:
        ranked.setdefault(name, reason)


_OUTLETS, _INLET_WATTS, _INLETS, _NOTE, _NOTHING = 4, 3, 2, 1, 0


def _preference(decoded: Decoded) -> int:
    if any(not is_inlet(r.outlet) for r in decoded.readings):
        return _OUTLETS
    if any(r.watts is not None for r in decoded.readings):
        return _INLET_WATTS  # an inlet-only or switched-only PDU
    if decoded.readings:
        return _INLETS  # inlet current or energy only: a profile with its watts wins
    return _NOTE if decoded.notes else _NOTHING


def choose(tried: Iterable[tuple[str, Decoded]]) -> tuple[str, Decoded] | None:
    """The profile to keep among candidates decoded in rank order: the first that yields
    outlets (the rest are not consumed), else the first with inlets only (one whose inlet
    gives watts before one whose inlet gives only amps or energy), else the first with a
    note only; ``None`` when nothing yields anything."""
    best: tuple[str, Decoded] | None = None
    for name, decoded in tried:
        preference = _preference(decoded)
        if preference == _OUTLETS:
            return name, decoded
        if preference and (best is None or _preference(best[1]) < preference):
            best = name, decoded
    return best
