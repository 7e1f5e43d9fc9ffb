"""SQLite's insert of one cycle against the history already stored, for three key layouts.

    .venv/bin/python bench/bench_sqlite_history.py [--history N] [--outlets K] [LAYOUT ...]

Builds a synthetic ``power_reading`` with plain sqlite3 (WAL, synchronous=NORMAL, as
PowerMon runs it; no foreign keys), holding N cycles of K outlets, then inserts 4 more
cycles of K readings (one transaction each, in outlet order, executemany batches of 4,800
as the store sends them) and prints each one's wall and CPU time and the WAL's size after
it. Layouts: ``outlet_pk`` (revisions 0005-0012: WITHOUT ROWID, key (outlet_id, cycle),
index on cycle), ``cycle_pk`` (key (cycle, outlet_id), index on outlet_id) and
``cycle_pk_only`` (migration 0013's: key (cycle, outlet_id), no index). docs/scaling.md has
the figures: once an outlet's history fills a page, each cycle dirties a page per outlet in
any structure ordered by outlet; with none, a cycle appends to the end of the table.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import tempfile
import time

COLUMNS = "cycle BIGINT NOT NULL, energy_kwh BIGINT, outlet_id INTEGER NOT NULL, "
COLUMNS += "machine_id INTEGER, watts INTEGER, amps INTEGER"
LAYOUTS = {
    "outlet_pk": [
        f"CREATE TABLE power_reading ({COLUMNS}, PRIMARY KEY (outlet_id, cycle)) WITHOUT ROWID",
        "CREATE INDEX ix_cycle ON power_reading (cycle)",
    ],
    "cycle_pk": [
        f"CREATE TABLE power_reading ({COLUMNS}, PRIMARY KEY (cycle, outlet_id)) WITHOUT ROWID",
        "CREATE INDEX ix_outlet ON power_reading (outlet_id)",
    ],
    "cycle_pk_only": [
        f"CREATE TABLE power_reading ({COLUMNS}, PRIMARY KEY (cycle, outlet_id)) WITHOUT ROWID",
    ],
}
INSERT = "INSERT INTO power_reading (cycle, energy_kwh, outlet_id, machine_id, watts, amps) "
INSERT += "VALUES (?, ?, ?, ?, ?, ?)"
STEP = 300


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build(con: sqlite3.Connection, layout: str, history: int, outlets: int) -> None:
    for ddl in LAYOUTS[layout]:
        con.execute(ddl)
    con.execute("BEGIN")
    if layout == "outlet_pk":  # in key order either way: a fast build
        for o in range(1, outlets + 1):
            rows = [(c * STEP, 10**6 + c, o, o // 2, 100_000, 1000) for c in range(history)]
            con.executemany(INSERT, rows)
    else:
        for c in range(history):
            rows = [(c * STEP, 10**6 + c, o, o // 2, 100_000, 1000) for o in range(1, outlets + 1)]
            con.executemany(INSERT, rows)
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def run(layout: str, history: int, outlets: int, folder: str) -> None:
    path = os.path.join(folder, f"{layout}.db")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    build(con, layout, history, outlets)
    built = time.perf_counter() - started
    rng = random.Random(1)
    found = []
    for k in range(4):
        t = (history + k) * STEP
        rows = [(t, 10**6 + t, o, o // 2, rng.randrange(20_000, 400_000), 1000)
                for o in range(1, outlets + 1)]  # fmt: skip
        wall, used = time.perf_counter(), cpu()
        con.execute("BEGIN")
        for i in range(0, len(rows), 4800):
            con.executemany(INSERT, rows[i : i + 4800])
        con.execute("COMMIT")
        wal = os.path.getsize(path + "-wal") / 2**20
        found.append(f"{time.perf_counter() - wall:.3f} s wall {cpu() - used:.3f} s CPU "
                     f"WAL {wal:.0f} MB")  # fmt: skip
    size = os.path.getsize(path) / 2**20
    print(f"{layout}, {history} cycles of {outlets} outlets stored ({size:.0f} MB, built in "
          f"{built:.0f} s); one more cycle: " + "; ".join(found), flush=True)  # fmt: skip
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=32)
    parser.add_argument("--outlets", type=int, default=48_000)
    parser.add_argument("layouts", nargs="*", metavar="LAYOUT", help=" or ".join(LAYOUTS))
    args = parser.parse_args()
    unknown = set(args.layouts) - LAYOUTS.keys()
    if unknown:
        parser.error(f"unknown layout(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory() as folder:
        for layout in args.layouts or LAYOUTS:
            run(layout, args.history, args.outlets, folder)


if __name__ == "__main__":
    main()
