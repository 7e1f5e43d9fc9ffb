"""Decode cost per PDU for each vendor profile: `python bench/bench_profiles.py`.

Real recordings where they have 24-48 outlets, and synthetic 48-outlet tables shaped like
the real ones (rPDU2 with Module/Number columns, Raritan with 8 sensor types per outlet).
"""

from __future__ import annotations

import os
import sys
import timeit
from pathlib import Path

from powermond.snmp.profiles import Profile, Table, get

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "snmp"))
import snmprec  # noqa: E402

RECORDINGS = Path(os.environ.get("POWERMON_SNMPREC_DIR", HERE.parent.parent / "shared" / "snmprec"))
OUTLETS = 48
RPDU2 = "1.3.6.1.4.1.318.1.1.26.9.4.3.1"
RARITAN_VALUE = "1.3.6.1.4.1.13742.6.5.4.3.1.4"
RARITAN_DIGITS = "1.3.6.1.4.1.13742.6.3.5.4.1.7"
RARITAN_SENSORS = {1: 3, 4: 0, 5: 0, 6: 0, 7: 2, 8: 0, 14: 0, 23: 1}  # type -> digits


def synthetic_rpdu2() -> Table:
    flat = range(1, OUTLETS + 1)
    return {
        f"{RPDU2}.2": {(i,): 1 + (i - 1) // 24 for i in flat},
        f"{RPDU2}.4": {(i,): 1 + (i - 1) % 24 for i in flat},
        f"{RPDU2}.6": {(i,): i % 17 for i in flat},
        f"{RPDU2}.7": {(i,): 40 * (i % 7) for i in flat},
        f"{RPDU2}.11": {(i,): 1000 + i for i in flat},
    }


def synthetic_raritan() -> Table:
    keys = [(1, o, s) for o in range(1, OUTLETS + 1) for s in RARITAN_SENSORS]
    return {
        RARITAN_VALUE: {k: 100 + k[1] for k in keys},
        RARITAN_DIGITS: {k: RARITAN_SENSORS[k[2]] for k in keys},
    }


def cases() -> list[tuple[str, Profile, Table]]:
    found = [
        ("apc-rpdu2 synthetic", get("apc-rpdu2"), synthetic_rpdu2()),
        ("raritan-pdu2 synthetic", get("raritan-pdu2"), synthetic_raritan()),
    ]
    for file, name in [
        ("hpe_mapdu-pdu3-p9s18a", "hpe-pdu"),
        ("apc_ap8641-rpdu2-metered-by-outlet", "apc-rpdu2"),
        ("raritan_px3-5493u-k2", "raritan-pdu2"),
        ("eaton_epdu-ma-24outlet", "eaton-epdu"),
        ("servertech_sentry3-switched-cdu", "sentry3"),
    ]:
        path = RECORDINGS / f"{file}.snmprec"
        if path.is_file():
            profile = get(name)
            table = snmprec.table(snmprec.parse(path), profile.columns)
            found.append((f"{name} {file}", profile, table))
    return found


def main() -> None:
    print(f"{'profile / table':58} {'outlets':>7} {'us/PDU':>8} {'us/48 outlets':>14}")
    worst = 0.0
    for label, profile, table in cases():
        outlets = len(profile.decode(table).readings)
        timer = timeit.Timer(lambda p=profile, t=table: p.decode(t))
        runs, _ = timer.autorange()
        per_pdu = min(timer.repeat(repeat=5, number=runs)) / runs * 1e6
        per_48 = per_pdu * OUTLETS / outlets
        worst = max(worst, per_48)
        print(f"{label:58} {outlets:7} {per_pdu:8.1f} {per_48:14.1f}")
    print(f"worst case: {worst:.1f} us per 48-outlet PDU")
    print(f"1,000 such PDUs: {worst:.0f} ms of CPU per cycle")


if __name__ == "__main__":
    main()
