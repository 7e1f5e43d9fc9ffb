"""A bound on how fast a PDU can grow the outlet table (issue 13).

Every outlet label a PDU reports becomes an outlet row the first time it is stored, and
stays (history is kept). A device that renumbers its outlets on every walk would add its
whole table each cycle, for ever. After a PDU's first cycle in this process, at most
:data:`NEW_OUTLETS_PER_CYCLE` labels it never reported before are kept per cycle; the
others' readings are dropped, with one warning per PDU while it goes on.
"""

from __future__ import annotations

import dataclasses
import logging

from powermond.collect.cycle import CycleResult, PduResult
from powermond.readings import OutletReadings, label_tuple

log = logging.getLogger(__name__)

#: New labels a known PDU may bring in one cycle: a daisy-chained unit added (up to 48
#: outlets) arrives over a few cycles; a renumbering device is held to this many.
NEW_OUTLETS_PER_CYCLE = 16


class OutletGrowth:
    """Remembers each PDU's labels; caps the new ones per cycle."""

    def __init__(self, per_cycle: int = NEW_OUTLETS_PER_CYCLE) -> None:
        self._per_cycle = per_cycle
        # Frozen and shared: 10,000 PDUs of one model know the same 48 labels, one set of
        # them (a set per PDU was ~2 kB each, 22 MB).
        self._known: dict[str, frozenset[str]] = {}
        self._shared: dict[frozenset[str], frozenset[str]] = {}
        self._capping: set[str] = set()  # PDUs warned about, until they calm down

    def cap(self, result: CycleResult) -> CycleResult:
        """``result`` with each PDU's new labels beyond the cap dropped."""
        capped = tuple(self._cap_pdu(r) for r in result.results)
        return dataclasses.replace(result, results=capped)

    def forget(self, names: list[str]) -> None:
        for name in names:
            self._known.pop(name, None)
            self._capping.discard(name)
        if names:  # sets no PDU knows any more
            self._shared = {s: s for s in self._known.values()}

    def _share(self, labels: frozenset[str]) -> frozenset[str]:
        shared = self._shared.setdefault(labels, labels)
        if len(self._shared) > 2 * len(self._known) + 64:  # a renumbering PDU's old sets
            self._shared = {s: s for s in self._known.values()}
            self._shared.setdefault(labels, labels)
        return shared

    def _cap_pdu(self, r: PduResult) -> PduResult:
        if not r.ok:
            return r
        known = self._known.get(r.pdu)
        labels = label_tuple(r.readings)
        if known is None:  # first sight: the table as it is
            self._known[r.pdu] = self._share(frozenset(labels))
            return r
        if known.issuperset(labels):  # every cycle of a PDU that does not change
            if r.pdu in self._capping:
                self._capping.discard(r.pdu)
                log.info("PDU %s: no new outlet labels any more", r.pdu)
            return r
        new = [reading for reading in r.readings if reading.outlet not in known]
        kept = new[: self._per_cycle]
        if kept:
            self._known[r.pdu] = self._share(known.union(reading.outlet for reading in kept))
        if len(new) <= self._per_cycle:
            if r.pdu in self._capping and not new:
                self._capping.discard(r.pdu)
                log.info("PDU %s: no new outlet labels any more", r.pdu)
            return r
        dropped = {reading.outlet for reading in new[self._per_cycle :]}
        if r.pdu not in self._capping:
            self._capping.add(r.pdu)
            log.warning(
                "PDU %s reports %d outlet labels it never reported before (renumbering its "
                "outlets?): %d kept this cycle, the readings of %d dropped; at most %d new "
                "outlets per cycle",
                r.pdu,
                len(new),
                len(kept),
                len(dropped),
                self._per_cycle,
            )
        readings = OutletReadings(r for r in r.readings if r.outlet not in dropped)
        return dataclasses.replace(r, readings=readings)
