"""Synthetic recordings for bad input, written per test session next to the real ones."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SNMPREC_DIR = Path(os.environ.get("POWERMON_SNMPREC_DIR", REPO.parent / "shared" / "snmprec"))

#: Synthetic recordings (an APC rPDU2-shaped table under a private enterprise number, so no
#: real profile matches it by accident), written per session.
BAD_VALUES_TABLE = "1.3.6.1.4.1.99999.1.1"
SYNTHETIC = {
    # Outlets 1-6: 3 has a text power, 4 an absurd power, 6 is missing from the amps column
    # (a truncated column), 5 has a negative amps.
    "synthetic_bad_values": [
        "1.3.6.1.2.1.1.1.0|4|Synthetic PDU with bad values",
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1",
        *(f"{BAD_VALUES_TABLE}.2.{n}|2|{w}" for n, w in [(1, 100), (2, 250), (5, 40), (6, 60)]),
        f"{BAD_VALUES_TABLE}.2.3|4|n/a",
        f"{BAD_VALUES_TABLE}.2.4|2|2000000000",
        *(f"{BAD_VALUES_TABLE}.3.{n}|2|{a}" for n, a in [(1, 5), (2, 11), (3, 7), (4, 40)]),
        f"{BAD_VALUES_TABLE}.3.5|2|-7",
        "1.3.6.1.4.1.99999.2.1.0|2|1",  # something after the table, never to be read
    ],
    # A sysDescr padded with NUL bytes, as some firmware sends it (hex-encoded OCTET STRING).
    "synthetic_nul_text": [
        f"1.3.6.1.2.1.1.1.0|4x|{(b'Synthetic PDU' + bytes(3)).hex()}",
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.3",
    ],
    # A device with a system group and nothing else: every column is noSuchObject.
    "synthetic_empty": [
        "1.3.6.1.2.1.1.1.0|4|Synthetic PDU without outlet table",
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.2",
    ],
}


def write_synthetic(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, lines in SYNTHETIC.items():
        # snmprec files must be sorted by OID, numerically.
        ordered = sorted(
            set(lines), key=lambda line: [int(p) for p in line.split("|")[0].split(".")]
        )
        (folder / f"{stem}.snmprec").write_text("\n".join(ordered) + "\n")
