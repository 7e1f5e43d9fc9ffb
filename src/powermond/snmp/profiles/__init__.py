"""Vendor profiles: which columns of a PDU to walk, and how rows become outlet readings.

``make_profile(pdu)`` is what the poll cycle uses; ``candidates(...)`` is what
``powermon probe`` uses to pick a profile for an unknown device.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from powermond.inventory.model import PduConfig
from powermond.snmp.profiles import (
    apc,
    aten,
    chatsworth,
    cyberpower,
    databus,
    dell,
    detect,
    eaton,
    gude,
    hpe,
    ingrasys,
    planet,
    raritan,
    rnx,
    servertech,
    vertiv,
    wti,
)
from powermond.snmp.profiles.base import Decoded, Profile, Rows, Table
from powermond.snmp.profiles.custom import OID_PROFILE, WithVoltage, oid_profile
from powermond.snmp.profiles.detect import choose

__all__ = [
    "OID_PROFILE",
    "PROFILES",
    "Decoded",
    "Profile",
    "Rows",
    "Table",
    "candidates",
    "choose",
    "get",
    "make_profile",
    "oid_profile",
    "profile_names",
]

_BUILT_IN: tuple[Profile, ...] = (
    *apc.PROFILES,
    *raritan.PROFILES,
    *eaton.PROFILES,
    *servertech.PROFILES,
    *cyberpower.PROFILES,
    *hpe.PROFILES,
    *dell.PROFILES,
    *aten.PROFILES,
    *chatsworth.PROFILES,
    *databus.PROFILES,
    *wti.PROFILES,
    *ingrasys.PROFILES,
    *rnx.PROFILES,
    *planet.PROFILES,
    *gude.PROFILES,
    *vertiv.PROFILES,
)

#: The vendor profiles by name. ``oid`` is not here: it exists only per PDU (make_profile).
PROFILES: Mapping[str, Profile] = MappingProxyType({p.name: p for p in _BUILT_IN})


def profile_names() -> list[str]:
    """Every name valid as ``profile`` in pdus.toml, ``oid`` included."""
    return [*PROFILES, OID_PROFILE]


def get(name: str) -> Profile:
    """The built-in profile called ``name``."""
    try:
        return PROFILES[name]
    except KeyError:
        if name == OID_PROFILE:
            raise ValueError('profile "oid" needs a PDU\'s `oid`; use make_profile') from None
        known = ", ".join(profile_names())
        raise ValueError(f"unknown profile {name!r}; known profiles: {known}") from None


def make_profile(pdu: PduConfig) -> Profile:
    """The profile that decodes ``pdu``: its vendor profile or its custom column, with
    watts derived from amps when ``voltage`` is configured and the PDU gives no watts."""
    if pdu.oid is not None:
        profile: Profile = oid_profile(pdu.oid, pdu.quantity, pdu.scale)
    else:
        profile = get(pdu.profile_name)
    if pdu.voltage is not None:
        profile = WithVoltage(profile, pdu.voltage, pdu.power_factor)
    return profile


def candidates(sys_object_id: str, sys_descr: str) -> list[tuple[str, str]]:
    """Profiles that may fit a device, best first, as (name, reason).

    The caller walks each candidate's ``columns`` in turn and keeps the first profile whose
    ``decode`` yields outlet readings, else the first that yields inlet readings (see
    :mod:`powermond.snmp.profiles.detect`).
    """
    return detect.candidates(sys_object_id, sys_descr, known=PROFILES)
