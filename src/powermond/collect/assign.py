"""Which collector polls which PDU: a pure function of the PDU names and the collectors.

Every collector computes the same answer from the same inputs (its ``pdus.toml`` and the
collector rows it reads from the database), so they share the PDUs without talking to each
other. Two sets of collectors go in: the *live* ones (heartbeat not expired) and the
*known* ones, the universe: the live ones and those that left recently (their rows are kept
for ``[collector] forget_after``, see :mod:`powermond.cluster`).

Each PDU ranks the known collectors once: its *primary* collector, its *second* one, then
the others by rendezvous (highest random weight) hashing, a hash of (collector, PDU). It is
polled by the first live collector of that ranking. Because the ranking depends on the known
collectors only, never on which of them are live:

- a collector that leaves (stops, dies) hands over exactly its own PDUs, and no other PDU
  changes hands, whoever else leaves too;
- one that comes back takes back exactly the PDUs it had;
- only a collector never seen before, or one forgotten, changes the ranking: that rebalances
  everything, as when the set of collectors changed with plain bounded hashing.

Primary and second collectors are *bounded* rendezvous assignments. Plain rendezvous hashing
gives shares as uneven as random draws (85 to 116 PDUs each for 1,000 PDUs over 10
collectors), so PDUs are taken in a fixed (hashed) order and each goes to its highest-ranked
collector that still has room, the room being ``n // k`` PDUs, or one more for the first
``n % k`` collectors to get there. The primaries are that over all known collectors: when
every one is live, shares differ by at most one PDU. The second collectors of one
collector's PDUs are that over the other known collectors: when one collector is gone, its
PDUs are spread over the others to within a PDU, and the shares stay within two PDUs of
``n / (k - 1)``. (Ranking the rest by plain rendezvous hashing would spread them like random
draws: a share beyond ±10 % of the fair one, up to 13 % off, for 6 of 427 random sets of
3-10 collector names at 1,000 PDUs; ``bench/bench_assign.py``.) Only from the third choice
on, when the two collectors a PDU ranks first are both gone, does the plain hash decide.
Adding a PDU to ``pdus.toml`` moves about two others on average (at most 7 of 1,000).

Pinning: a collector started with ``[collector] only = [...]`` polls only those PDUs, and
nobody else polls them while it is live. Several live collectors pinning the same PDU share
it by rendezvous ranking. A PDU pinned only by collectors that are not live is shared like
any other (the others try it, and log it down once if they cannot reach it): it goes to the
first live unpinned collector by rendezvous ranking. PDUs pinned by a known collector are
left out of the bounded assignment, so that a pinning collector leaving or coming back moves
no other PDU either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Member:
    """A collector as the assignment sees it: its name and the PDUs pinned to it."""

    name: str
    only: frozenset[str] = frozenset()


def weight(collector: str, pdu: str) -> int:
    """The rendezvous weight of ``collector`` for ``pdu``: the same on every host."""
    digest = hashlib.blake2b(f"{collector}\0{pdu}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assign(
    pdus: Iterable[str], members: Iterable[Member], known: Iterable[Member] = ()
) -> dict[str, str | None]:
    """PDU -> the live collector that polls it (``None``: no live collector may poll it).

    ``members`` are the live collectors, ``known`` the universe the ranking is made over
    (the live collectors are part of it whether listed there or not)."""
    live_members = list(members)
    universe = {m.name: m for m in known}
    universe.update((m.name, m) for m in live_members)  # a live collector's row is its latest
    live = {m.name for m in live_members}
    pinned_by: dict[str, list[str]] = {}  # PDU -> its live pinning collectors
    pinned: set[str] = set()  # PDUs pinned by any known collector
    for member in universe.values():
        pinned.update(member.only)
        for pdu in member.only:
            if member.name in live:
                pinned_by.setdefault(pdu, []).append(member.name)
    general = sorted(name for name, m in universe.items() if not m.only)
    general_live = [name for name in general if name in live]
    names = sorted(set(pdus))
    primary = _bounded([p for p in names if p not in pinned], general)
    result: dict[str, str | None] = {}
    orphans: dict[str, list[str]] = {}  # departed primary -> its PDUs
    for pdu in names:
        if pdu in pinned_by:
            result[pdu] = _ranked(pdu, pinned_by[pdu])[0]
        elif primary.get(pdu) in live:
            result[pdu] = primary[pdu]
        else:
            orphans.setdefault(primary.get(pdu, ""), []).append(pdu)
    for gone, group in orphans.items():
        # The second choices of a primary's PDUs: its group, bounded over the others. Only
        # groups whose primary is not live are needed; each is computed whole, so the
        # answer does not depend on who else is live.
        second = _bounded(group, [c for c in general if c != gone]) if gone else {}
        for pdu in group:
            if second.get(pdu) in live:
                result[pdu] = second[pdu]
            else:
                # The rest of the ranking is rendezvous order, and collectors that are not
                # live are skipped anyway: ranking the live ones alone gives the same answer.
                result[pdu] = _ranked(pdu, general_live)[0] if general_live else None
    return result


def share(
    pdus: Iterable[str], members: Iterable[Member], me: str, known: Iterable[Member] = ()
) -> set[str]:
    """The PDUs ``me`` polls."""
    return {pdu for pdu, owner in assign(pdus, members, known).items() if owner == me}


def shares(assignment: Mapping[str, str | None]) -> dict[str | None, list[str]]:
    """Collector -> its PDUs, sorted (``None``: PDUs nobody may poll)."""
    out: dict[str | None, list[str]] = {}
    for pdu, owner in sorted(assignment.items()):
        out.setdefault(owner, []).append(pdu)
    return out


def _bounded(pdus: Sequence[str], collectors: Sequence[str]) -> dict[str, str]:
    """Each PDU -> its primary collector, at most one PDU apart in number."""
    if not collectors:
        return {}
    floor, extra = divmod(len(pdus), len(collectors))
    load = dict.fromkeys(collectors, 0)
    result: dict[str, str] = {}
    # A fixed order that does not depend on the collectors, so the bound displaces the
    # same PDUs on every host.
    for pdu in sorted(pdus, key=lambda p: (weight("", p), p)):
        # The rooms add up to the PDUs exactly, so some collector always has room.
        owner = next(
            c for c in _ranked(pdu, collectors) if load[c] < floor or (load[c] == floor and extra)
        )
        if load[owner] == floor:
            extra -= 1
        load[owner] += 1
        result[pdu] = owner
    return result


def _ranked(pdu: str, collectors: Iterable[str]) -> list[str]:
    return sorted(collectors, key=lambda c: (-weight(c, pdu), c))
