"""Speed of ``plot`` over a year and ``report`` over a month of 1,000 machines, on SQLite.

Builds once (cached in /tmp/powermon-bench-report/, a few minutes): wn-year with two feeds and
a year of 5-minute readings and load; wn0000..wn0999 with one feed each and a month of readings.
Rollups are computed with the same functions the write path uses and bulk-inserted; the daily
job (``db.daily.close_days``) then closes every finished day, as the daemon does once a day.
Targets: plot <= 1 s, report <= 2 s.  Run: .venv/bin/python bench/bench_report.py
(``BENCH_MACHINES=80``, a multiple of 40, for a quicker build of a smaller month;
``BENCH_NO_FREEZE=1`` to measure without the commands' ``gc.freeze()``).
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from powermond.db.daily import close_days
from powermond.db.engine import Database
from powermond.db.migrate import head_revision, upgrade
from powermond.energy import Sample, Spacing, Tally, hour_of, tally_samples
from powermond.readings import LoadSample
from powermond.report.plot import build_figure, save
from powermond.report.plotdata import plot_data
from powermond.report.queries import report_rows

CACHE = Path("/tmp/powermon-bench-report")
MACHINES = int(os.environ.get("BENCH_MACHINES", "1000"))  # fewer: a quicker build
# A new schema revision (or size) builds a new cache.
DB = CACHE / f"report-{head_revision()}-{MACHINES}.db"
STEP = timedelta(minutes=5)
YEAR0 = datetime(2025, 11, 1, tzinfo=UTC)
MONTH0 = datetime(2026, 10, 1, tzinfo=UTC)
MONTH1 = datetime(2026, 11, 1, tzinfo=UTC)
OUTLETS_PER_PDU = 40


def naive(t: datetime) -> str:
    # The text SQLAlchemy writes for SQLite DATETIME (readings store epoch seconds instead).
    return t.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def watts_at(i: int, seed: int) -> float:
    return round(200.0 + 150.0 * math.sin(i / 288 * 2 * math.pi + seed) + (i * 7919 + seed) % 40)


def milli(value: float | None) -> int | None:
    """A reading's value as power_reading stores it: integer thousandths."""
    return None if value is None else round(value * 1000)


def epoch_hour(t: datetime) -> int:
    """A rollup's hour as stored: hours since 1970."""
    return int(t.timestamp()) // 3600


def hourly_row(t: Tally) -> tuple[int | None, ...]:
    """A tally in the rollups' integer units (mW, Wh, half-millijoules)."""
    return (t.readings, t.watts_count, milli(t.watts_sum), milli(t.watts_peak),
            milli(t.counter_kwh), t.counter_intervals, round(t.integrated_kwh * 7.2e9),
            t.integrated_intervals)  # fmt: skip


def load_sums(samples: list[LoadSample]) -> dict[datetime, list[float]]:
    """Per hour: samples with a load1 value and their sum, the same for load5 and load15."""
    out: dict[datetime, list[float]] = {}
    for s in samples:
        row = out.setdefault(hour_of(s.time), [0, 0.0, 0, 0.0, 0, 0.0])
        for i, value in enumerate((s.load1, s.load5, s.load15)):
            if value is not None:
                row[2 * i] += 1
                row[2 * i + 1] += value
    return out


def _insert_outlet(conn: sqlite3.Connection, outlet: int, machine: int, pdu: int,
                   cycles: list[datetime], seed: int, counter: bool) -> None:  # fmt: skip
    energy = 1000.0 if counter else None
    samples = []
    for i, t in enumerate(cycles):
        w = watts_at(i, seed)
        if energy is not None:
            energy = round(energy + w * 5 / 60 / 1000, 2)  # a counter in hundredths of a kWh
        samples.append(Sample(t, w, energy, outlet, machine, pdu))
    conn.executemany(
        "INSERT INTO power_reading (cycle, outlet_id, machine_id, watts, amps, energy_kwh)"
        " VALUES (?, ?, ?, ?, NULL, ?)",
        [
            (int(s.time.timestamp()), outlet, machine, milli(s.watts), milli(s.energy_kwh))
            for s in samples
        ],
    )
    tallies = tally_samples(
        samples, cycles[0], cycles[-1] + STEP, Spacing(), lambda s: hour_of(s.time)
    )
    conn.executemany(
        "INSERT INTO power_hourly (hour, outlet_id, machine_id, readings, watts_count,"
        " watts_sum, watts_peak, counter_wh, counter_intervals, integrated_hmj,"
        " integrated_intervals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(epoch_hour(h), outlet, machine or 0, *hourly_row(t)) for h, t in tallies.items()],
    )


def _peaks_and_load(conn: sqlite3.Connection, machine: int, cycles: list[datetime],
                    seeds: list[int], raw_load: bool) -> None:  # fmt: skip
    peaks: dict[datetime, float] = {}
    for i, t in enumerate(cycles):
        total = sum(watts_at(i, s) for s in seeds)
        peaks[hour_of(t)] = max(peaks.get(hour_of(t), total), total)
    conn.executemany(
        "INSERT INTO machine_peak_hourly (machine_id, hour, peak_mw) VALUES (?, ?, ?)",
        [(machine, epoch_hour(h), milli(p)) for h, p in peaks.items()],
    )
    samples = [LoadSample(t, 4 + 3 * math.sin(i / 288), 4.0, 4.0) for i, t in enumerate(cycles)]
    if raw_load:
        conn.executemany(
            "INSERT INTO cpu_load (machine_id, time, load1, load5, load15) VALUES (?, ?, ?, ?, ?)",
            [(machine, naive(s.time), s.load1, s.load5, s.load15) for s in samples],
        )
    conn.executemany(
        "INSERT INTO load_hourly (machine_id, hour, samples, load1_sum, load5_count, load5_sum,"
        " load15_count, load15_sum) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(machine, epoch_hour(h), *v) for h, v in load_sums(samples).items()],
    )


def build() -> None:
    now = naive(datetime.now(UTC))
    conn = sqlite3.connect(DB)
    pdus = MACHINES // OUTLETS_PER_PDU + 2
    conn.executemany(
        "INSERT INTO pdu (id, name, host, port, profile, snmp_version, created_at)"
        " VALUES (?, ?, '192.0.2.1', 161, 'apc-rpdu2', '2c', ?)",
        [(p, f"pdu-{p:03d}", now) for p in range(1, pdus + 1)],
    )
    year = [YEAR0 + i * STEP for i in range(int(timedelta(days=365) / STEP))]
    conn.execute("INSERT INTO machine (id, name, created_at) VALUES (1, 'wn-year', ?)", (now,))
    for outlet, pdu in ((1, pdus - 1), (2, pdus)):  # A and B feed on the last two PDUs
        conn.execute("INSERT INTO outlet VALUES (?, ?, '1', 1)", (outlet, pdu))
        _insert_outlet(conn, outlet, 1, pdu, year, outlet, counter=outlet == 1)
    _peaks_and_load(conn, 1, year, [1, 2], raw_load=True)
    month = [MONTH0 + i * STEP for i in range(int((MONTH1 - MONTH0) / STEP))]
    for m in range(MACHINES):
        machine, outlet, pdu = m + 2, m + 3, m // OUTLETS_PER_PDU + 1
        conn.execute("INSERT INTO machine (id, name, created_at) VALUES (?, ?, ?)",
                     (machine, f"wn{m:04d}", now))  # fmt: skip
        conn.execute("INSERT INTO outlet VALUES (?, ?, ?, ?)",
                     (outlet, pdu, str(m % OUTLETS_PER_PDU + 1), machine))  # fmt: skip
        _insert_outlet(conn, outlet, machine, pdu, month, m, counter=m % 2 == 0)
        _peaks_and_load(conn, machine, month, [m], raw_load=False)
        if m % 100 == 99:
            conn.commit()
            print(f"  {m + 1} machines", file=sys.stderr)
    conn.executemany(
        "INSERT INTO cycle (time, collector, origin, interval_s, pdus_polled, pdus_failed,"
        " readings) VALUES (?, 'bench', 'daemon', ?, 0, 0, 0)",
        [(naive(t), STEP.total_seconds()) for t in sorted(set(year) | set(month))],
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


async def close(now: datetime) -> None:
    """The daemon's daily job: every finished day closed into the daily rollups."""
    async with Database.from_url(f"sqlite+aiosqlite:///{DB}") as db:
        start = time.perf_counter()
        result = await close_days(db, now, pause=0)
        print(f"  closed {result.closed} days in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)  # fmt: skip


async def measure() -> None:
    url = f"sqlite+aiosqlite:///{DB}"
    if not os.environ.get("BENCH_NO_FREEZE"):
        gc.freeze()  # as `powermon plot` and `report` do before they read (cli/report_cmds.py)
    async with Database.from_url(url) as db:
        start = time.perf_counter()
        async with db.transaction() as session:
            data = await plot_data(session, "wn-year", YEAR0, YEAR0 + timedelta(days=365))
        queried = time.perf_counter()
        save(build_figure([data]), CACHE / "year.png")
        done = time.perf_counter()
        points = len(data.total.times)
        print(f"plot, 1 machine x 1 year ({points} hourly points per line): "
              f"{done - start:.2f} s (query {queried - start:.2f} s, draw {done - queried:.2f} s)"
              " target <= 1 s")  # fmt: skip
        start = time.perf_counter()
        async with db.transaction() as session:
            rows = await report_rows(session, MONTH0, MONTH1)
        elapsed = time.perf_counter() - start
        print(f"report, {len(rows)} machines x 1 month: {elapsed:.2f} s, target <= 2 s")
        start = time.perf_counter()
        async with db.transaction() as session:
            rows = await report_rows(session, MONTH0 + timedelta(minutes=7), MONTH1 - STEP)
        elapsed = time.perf_counter() - start
        print(f"report, same with partial-hour edges (raw rows): {elapsed:.2f} s")


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    if not DB.exists():
        print(f"building {DB} (once) ...", file=sys.stderr)
        asyncio.run(upgrade(f"sqlite+aiosqlite:///{DB}"))
        build()
        asyncio.run(close(MONTH1 + timedelta(days=3)))
    asyncio.run(measure())


if __name__ == "__main__":
    main()
