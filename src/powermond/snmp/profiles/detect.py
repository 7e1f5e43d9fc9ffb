"""Which profiles may fit a device, from its sysObjectID and sysDescr (``powermon probe``).

Contract with the caller: :func:`candidates` only ranks. The caller walks each candidate's
``columns`` in the order given and keeps the first profile whose ``decode`` yields at least
one outlet reading. A rank can therefore list several profiles of one vendor: a switched
APC Rack PDU 2G has no rPDU2 metered table, so ``apc-rpdu2`` yields nothing and the old
``apc-rpdu`` branch answers instead. A device that neither value identifies gets every
known profile.
"""

from __future__ import annotations

from collections.abc import Iterable

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
    ("232.165", ("hpe-pdu",), "HPE PDU (CPQPOWER-MIB)"),
    ("38446", ("enlogic-pdu",), "an Enlogic PDU"),
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
    ("hpe", ("hpe-pdu",), "HPE"),
    ("enlogic", ("enlogic-pdu",), "Enlogic"),
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
