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

log = logging.getLogger(__name__)

#: New labels a known PDU may bring in one cycle: a daisy-chained unit added (up to 48
#: outlets) arrives over a few cycles; a renumbering device is held to this many.
NEW_OUTLETS_PER_CYCLE = 16


class OutletGrowth:
    """Remembers each PDU's labels; caps the new ones per cycle."""

    def __init__(self, per_cycle: int = NEW_OUTLETS_PER_CYCLE) -> None:
        self._per_cycle = per_cycle
        self._known: dict[str, set[str]] = {}
        self._capping: set[str] = set()  # PDUs warned about, until they calm down

    def cap(self, result: CycleResult) -> CycleResult:
        """``result`` with each PDU's new labels beyond the cap dropped."""
        capped = tuple(self._cap_pdu(r) for r in result.results)
        return dataclasses.replace(result, results=capped)

    def forget(self, names: list[str]) -> None:
        for name in names:
            self._known.pop(name, None)
            self._capping.discard(name)

    def _cap_pdu(self, r: PduResult) -> PduResult:
        if not r.ok:
            return r
        known = self._known.get(r.pdu)
        if known is None:  # first sight: the table as it is
            self._known[r.pdu] = {reading.outlet for reading in r.readings}
            return r
        new = [reading for reading in r.readings if reading.outlet not in known]
        kept = new[: self._per_cycle]
        known.update(reading.outlet for reading in kept)
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
        readings = tuple(reading for reading in r.readings if reading.outlet not in dropped)
        return dataclasses.replace(r, readings=readings)
