"""Recordings the project owns: what the daemon, client and command tests poll.

They come from the demo's vendor builders (``powermond.demo.snmprec``: the OIDs and scalings
of MIB-FACTS.md, values of our own), with every outlet at a constant power and the values
frozen at one instant, so that snmpsim serves plain numbers a test can name. The real device
recordings in ``../shared/snmprec`` are only for the tests that compare with real devices.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from powermond.demo.pattern import COUNTERS_START, Numeric, Wave
from powermond.demo.snmprec import BUILDERS, Outlet, Record
from powermond.demo.world import PduModel

#: The instant the recordings are frozen at: 1000 hours after the counters started.
FROZEN_AT = COUNTERS_START + 1000 * 3600.0
OUTLETS = 24

APC = "owned_apc-rpdu2"
RARITAN = "owned_raritan-pdu2"
EATON = "owned_eaton-epdu"

#: stem (community) -> (profile, watts of the outlets that differ from the default).
RECORDINGS: Mapping[str, tuple[str, Mapping[int, int]]] = {
    APC: ("apc-rpdu2", {1: 163, 3: 81, 22: 78}),
    RARITAN: ("raritan-pdu2", {}),
    EATON: ("eaton-epdu", {23: 143}),
}


def watts_of(stem: str, outlet: int) -> int:
    """The constant power of an outlet: as listed, else 40 W + 5 W per outlet number."""
    return RECORDINGS[stem][1].get(outlet, 40 + 5 * outlet)


def _frozen(record: Record) -> Record:
    if isinstance(record.value, Numeric):
        return Record(record.oid, record.tag, record.value.at(FROZEN_AT))
    return record


def records(stem: str) -> list[Record]:
    """The recording's records, sorted by OID as snmpsim needs them."""
    profile, _ = RECORDINGS[stem]
    outlets = [
        Outlet(n, f"{stem}-{n}", Wave(float(watts_of(stem, n)), 0.0)) for n in range(1, OUTLETS + 1)
    ]
    built = BUILDERS[profile](PduModel(stem, profile, OUTLETS), outlets)
    return sorted((_frozen(r) for r in built), key=lambda r: r.oid)


def write_owned(folder: Path) -> Path:
    """One ``<stem>.snmprec`` per owned recording in ``folder``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in RECORDINGS:
        text = "\n".join(r.line() for r in records(stem)) + "\n"
        (folder / f"{stem}.snmprec").write_text(text, encoding="ascii")
    return folder
