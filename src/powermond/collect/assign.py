"""Which collector polls which PDU: a pure function of the PDU names and the live collectors.

Every collector computes the same answer from the same inputs (its ``pdus.toml`` and the
collector rows it reads from the database), so they share the PDUs without talking to each
other. Rendezvous (highest random weight) hashing ranks the collectors for each PDU by a hash
of (collector, PDU). Plain rendezvous hashing moves only a departed collector's PDUs, but its
shares are as uneven as random draws: over 1,000 PDUs and 10 collectors they range from about
85 to 116. So shares are bounded: PDUs are taken in a fixed (hashed) order, and each goes to
its highest-ranked collector that has fewer than ``ceil(n / k)`` PDUs. Shares then differ by
at most one PDU. The price is that when a collector leaves, a few PDUs of the others move
too (about 3 % of all PDUs at 1,000 PDUs, measured by the tests), as the bound grows.

Pinning: a collector started with ``[collector] only = [...]`` polls only those PDUs, and
nobody else polls them while it is live. Several live collectors pinning the same PDU share
it by rendezvous ranking. A PDU pinned only by collectors that are gone is shared like any
other: the others try it (and log it down once if they cannot reach it).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Member:
    """A live collector as the assignment sees it: its name and the PDUs pinned to it."""

    name: str
    only: frozenset[str] = frozenset()


def weight(collector: str, pdu: str) -> int:
    """The rendezvous weight of ``collector`` for ``pdu``: the same on every host."""
    digest = hashlib.blake2b(f"{collector}\0{pdu}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assign(pdus: Iterable[str], members: Iterable[Member]) -> dict[str, str | None]:
    """PDU -> the collector that polls it (``None``: no live collector may poll it)."""
    live = sorted(set(members))
    names = sorted(set(pdus))
    pinned_by: dict[str, list[str]] = {}
    for member in live:
        for pdu in member.only:
            pinned_by.setdefault(pdu, []).append(member.name)
    result: dict[str, str | None] = {}
    free: list[str] = []
    for pdu in names:
        candidates = pinned_by.get(pdu)
        if candidates:
            result[pdu] = _ranked(pdu, candidates)[0]
        else:
            free.append(pdu)
    general = [m.name for m in live if not m.only]
    result.update(_bounded(free, general))
    return result


def share(pdus: Iterable[str], members: Iterable[Member], me: str) -> set[str]:
    """The PDUs ``me`` polls."""
    return {pdu for pdu, owner in assign(pdus, members).items() if owner == me}


def shares(assignment: Mapping[str, str | None]) -> dict[str | None, list[str]]:
    """Collector -> its PDUs, sorted (``None``: PDUs nobody may poll)."""
    out: dict[str | None, list[str]] = {}
    for pdu, owner in sorted(assignment.items()):
        out.setdefault(owner, []).append(pdu)
    return out


def _bounded(pdus: Sequence[str], collectors: Sequence[str]) -> dict[str, str | None]:
    if not collectors:
        return dict.fromkeys(pdus)
    bound = math.ceil(len(pdus) / len(collectors))
    load = dict.fromkeys(collectors, 0)
    result: dict[str, str | None] = {}
    # A fixed order that does not depend on the collectors, so the bound displaces the
    # same PDUs on every host.
    for pdu in sorted(pdus, key=lambda p: (weight("", p), p)):
        owner = next(c for c in _ranked(pdu, collectors) if load[c] < bound)
        load[owner] += 1
        result[pdu] = owner
    return result


def _ranked(pdu: str, collectors: Iterable[str]) -> list[str]:
    return sorted(collectors, key=lambda c: (-weight(c, pdu), c))
