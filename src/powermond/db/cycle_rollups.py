"""The hourly rollups of one stored cycle, added as deltas: work in proportion to the
cycle's readings, not to the hours' readings, and the same figures as recomputing.

Why deltas are exact here. Intervals belong to their first reading, so a reading at ``t`` of
an outlet whose latest stored reading is ``p`` (and which has no reading after ``t``) changes
exactly two things: the interval ``p -> t`` joins the tally of ``p``'s hour and machine (when
it is bridged at all), and the reading joins the tally of ``t``'s hour and machine. The
database adds those deltas in the order the readings came, which is the order a recompute
adds them in, so even the floating-point sums agree. A reading stored *before* a later one of
its outlet (a late or replayed cycle, ``powermon poll`` racing the daemon) would split an
interval instead: those outlets' hours are recomputed from the raw readings.

A peak is the highest per-cycle sum in the hour, so a cycle can only raise it: to its own
sum, known in memory when every reading of the cycle is new in this transaction (all feeds of
a machine are stored together), summed from the stored rows otherwise.

The readings just before ``t`` come from :class:`RecentReadings`, a per-process memory of the
last cycles that is checked against the database's row count per cycle (rows are never
deleted nor changed, so an equal count means the same rows) and read again where another
writer added rows. Call this after ``ReadingRepository.add_cycle_many``, which locks the PDUs
so that writers of the same outlets take turns.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from operator import attrgetter, itemgetter

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.bulk import upsert
from powermond.db.cycles import CycleRepository
from powermond.db.rollups import (
    HOUR,
    MachinePeakHourly,
    PduPeakHourly,
    PowerHourly,
    recompute_outlets,
    recompute_peaks,
)
from powermond.db.tables import Outlet, PowerReading
from powermond.energy import Sample, Spacing, Tally, hour_of, interval_energy
from powermond.readings import is_inlet

ADDED = (
    "readings",
    "watts_count",
    "watts_sum",
    "counter_kwh",
    "counter_intervals",
    "integrated_kwh",
    "integrated_intervals",
)
HOURLY_KEY = ("outlet_id", "hour", "machine_key")
TALLY_FIELDS = tuple(f.name for f in fields(Tally))  # Tally.as_dict without its cost
HOURLY_NAMES = ("outlet_id", "machine_id", "machine_key", "hour", *TALLY_FIELDS)
_tally_values = attrgetter(*TALLY_FIELDS)

# A stored reading as the energy rules need it: watts, energy counter, machine it fed.
Known = tuple[float | None, float | None, int | None]
_NO_MACHINE = -1


class CycleRows:
    """One cycle's stored readings by outlet id, kept in columns.

    A dict of tuples took ~0.6 kB a reading (with its ints and floats): 27 MB for the three
    cycles a 1,000-PDU daemon remembers; these arrays take 32 bytes. Outlet ids are sorted
    and found by bisection. A missing value is kept as NaN, which no reading can be (SNMP
    values are integers, and SQLite stores NaN as NULL anyway).
    """

    __slots__ = ("_energy", "_ids", "_machines", "_watts")

    def __init__(self, rows: Iterable[tuple[int, float | None, float | None, int | None]]) -> None:
        ordered = sorted(rows, key=itemgetter(0))
        self._ids = array("q", [r[0] for r in ordered])
        self._watts = array("d", [math.nan if r[1] is None else r[1] for r in ordered])
        self._energy = array("d", [math.nan if r[2] is None else r[2] for r in ordered])
        self._machines = array("q", [_NO_MACHINE if r[3] is None else r[3] for r in ordered])

    def __len__(self) -> int:
        return len(self._ids)

    def get(self, outlet_id: int) -> Known | None:
        """The outlet's reading in this cycle, if it has one."""
        i = bisect_left(self._ids, outlet_id)
        if i == len(self._ids) or self._ids[i] != outlet_id:
            return None
        watts, energy, machine = self._watts[i], self._energy[i], self._machines[i]
        return (
            None if math.isnan(watts) else watts,
            None if math.isnan(energy) else energy,
            None if machine == _NO_MACHINE else machine,
        )


def stored_time(time: datetime) -> datetime:
    """``time`` as the database stores and returns it: UTC, whole seconds (naive is UTC)."""
    utc = time.replace(tzinfo=UTC) if time.tzinfo is None else time.astimezone(UTC)
    return utc.replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A reading a cycle's write added (ids as stored); ``inlet``: of the PDU's inlet meter."""

    outlet_id: int
    pdu_id: int
    machine_id: int | None
    watts: float | None
    energy_kwh: float | None
    inlet: bool = False


@dataclass(slots=True)
class StoredCycle:
    """What one cycle's write added: only these readings change the rollups."""

    cycle: datetime  # as stored
    new: list[StoredReading] = field(default_factory=list)

    @property
    def added(self) -> int:
        return len(self.new)


class RecentReadings:
    """The readings of the last few cycles, remembered between one process's cycles."""

    def __init__(self) -> None:
        self._cycles: dict[datetime, CycleRows] = {}

    def get(self, cycle: datetime, stored_count: int) -> CycleRows | None:
        """The cycle's readings if remembered whole (``stored_count`` rows in the database)."""
        rows = self._cycles.get(cycle)
        return rows if rows is not None and len(rows) == stored_count else None

    def update(self, learned: Mapping[datetime, CycleRows | None], *, keep: timedelta) -> None:
        """Remember (``None``: forget) cycles; keep those within ``keep`` of the newest."""
        for cycle, rows in learned.items():
            if rows is None:
                self._cycles.pop(cycle, None)
            else:
                self._cycles[cycle] = rows
        if self._cycles:
            oldest = max(self._cycles) - keep
            for cycle in [c for c in self._cycles if c < oldest]:
                del self._cycles[cycle]


async def add_cycle_rollups(
    session: AsyncSession,
    stored: StoredCycle,
    *,
    spacing: Spacing,
    recent: RecentReadings | None = None,
) -> dict[datetime, CycleRows | None]:
    """Add the rollup deltas of ``stored``'s new readings, in the caller's transaction.

    ``spacing`` holds the recorded intervals around the cycle, its own included
    (``CycleRepository.spacing(t, t)``). Returns what ``recent`` should learn once the
    transaction has committed (before that, the readings of this cycle may still vanish in
    a rollback).
    """
    if not stored.new:
        return {}
    t = stored.cycle
    counts = await _counts_near(session, t, spacing)
    earlier = sorted((c for c in counts if c < t), reverse=True)
    known, learned = await _known_before(session, earlier, counts, recent or RecentReadings())
    later = [c for c in counts if c > t]
    late = await _outlets_at(session, later) & {r.outlet_id for r in stored.new}
    in_order = (r for r in stored.new if r.outlet_id not in late)
    await upsert(
        session,
        _table(PowerHourly),
        _hourly_rows(t, in_order, known, earlier, spacing),
        HOURLY_KEY,
        add=ADDED,
        greatest=("watts_peak",),
        names=HOURLY_NAMES,
    )
    if late:
        start, end = hour_of(t - spacing.reach), hour_of(t) + HOUR
        around = await CycleRepository(session).spacing(start, end)
        await recompute_outlets(session, sorted(late), start, end, around)
    whole = counts.get(t) == len(stored.new)  # no reading of this cycle was stored before
    await _raise_peaks(session, stored, whole=whole)
    learned[t] = (
        CycleRows((r.outlet_id, r.watts, r.energy_kwh, r.machine_id) for r in stored.new)
        if whole
        else None
    )
    return learned


async def _counts_near(session: AsyncSession, t: datetime, spacing: Spacing) -> dict[datetime, int]:
    """Readings stored per cycle within the spacing's reach of ``t`` (an index-only count):
    every reading an interval with ``t`` may be bridged to, and the nearer ones that may end
    an outlet's interval first."""
    reach = spacing.reach
    stmt = (
        select(PowerReading.cycle, func.count())
        .where(PowerReading.cycle >= t - reach, PowerReading.cycle <= t + reach)
        .group_by(PowerReading.cycle)
    )
    return dict((await session.execute(stmt)).tuples().all())


async def _known_before(
    session: AsyncSession,
    cycles: Sequence[datetime],
    counts: Mapping[datetime, int],
    recent: RecentReadings,
) -> tuple[dict[datetime, CycleRows], dict[datetime, CycleRows | None]]:
    """Every reading of ``cycles``: remembered, or read (and then worth remembering)."""
    known = {c: rows for c in cycles if (rows := recent.get(c, counts[c])) is not None}
    missing = [c for c in cycles if c not in known]
    found: dict[datetime, list[tuple[int, float | None, float | None, int | None]]]
    found = {c: [] for c in missing}
    if missing:
        stmt = select(
            PowerReading.cycle,
            PowerReading.outlet_id,
            PowerReading.watts,
            PowerReading.energy_kwh,
            PowerReading.machine_id,
        ).where(PowerReading.cycle.in_(missing))
        for cycle, outlet_id, watts, energy, machine_id in await session.execute(stmt):
            found[cycle].append((outlet_id, watts, energy, machine_id))
    read = {c: CycleRows(rows) for c, rows in found.items()}
    known.update(read)
    return known, dict(read)


async def _outlets_at(session: AsyncSession, cycles: Sequence[datetime]) -> set[int]:
    if not cycles:
        return set()
    stmt = select(PowerReading.outlet_id).where(PowerReading.cycle.in_(cycles)).distinct()
    return set((await session.scalars(stmt)).all())


def _hourly_rows(
    t: datetime,
    readings: Iterable[StoredReading],
    known: Mapping[datetime, CycleRows],
    earlier: Sequence[datetime],
    spacing: Spacing,
) -> Iterator[tuple[object, ...]]:
    """Per (outlet, machine, hour): the interval each reading closes, and the reading, as
    value tuples in :data:`HOURLY_NAMES` order. Produced one reading at a time (a cycle's
    rows at once were 20 MB at 48,000 outlets): every key holds one outlet, and a cycle has
    one reading per outlet, so no two readings add to the same row."""
    hour = hour_of(t)
    # hour_of once per cycle: hashing a new aware datetime per reading costs more than the rest
    newest_first = [(c, hour_of(c), known[c], spacing.max_gap(c, t)) for c in earlier]
    for r in readings:
        reading = Tally()
        reading.add_reading(r.watts)
        for since, since_hour, stored, max_gap in newest_first:
            previous = stored.get(r.outlet_id)
            if previous is not None:
                watts, energy, machine = previous
                closed = interval_energy(
                    Sample(since, watts, energy), Sample(t, r.watts, r.energy_kwh), max_gap
                )
                if closed is None:
                    pass
                elif machine == r.machine_id and since_hour == hour:
                    reading.add_interval(*closed)
                else:
                    interval = Tally()
                    interval.add_interval(*closed)
                    yield (r.outlet_id, machine, machine or 0, since_hour, *_tally_values(interval))
                break
        yield (r.outlet_id, r.machine_id, r.machine_id or 0, hour, *_tally_values(reading))


async def _raise_peaks(session: AsyncSession, stored: StoredCycle, *, whole: bool) -> None:
    """Raise the hour's machine and PDU peaks to this cycle's sums."""
    hour = hour_of(stored.cycle)
    # Summed in outlet order, as a report from raw readings sums them.
    added = sorted((r for r in stored.new if r.watts is not None), key=lambda r: r.outlet_id)
    machines, pdus = _sums(added)
    if not whole:
        # Earlier writes stored part of this cycle: its sums are in the database. A negative
        # reading (a broken meter) could lower a sum a peak was taken from: recompute those.
        lowered_m = [m for m, s in machines.items() if s < 0]
        lowered_p = [p for p, s in pdus.items() if s < 0]
        await recompute_peaks(session, hour, machine_ids=lowered_m, pdu_ids=lowered_p)
        all_machines, all_pdus = await _sums_at(session, stored.cycle)
        machines = {m: all_machines[m] for m in machines if m not in lowered_m}
        pdus = {p: all_pdus[p] for p in pdus if p not in lowered_p}
    for table, key, sums in (
        (MachinePeakHourly, "machine_id", machines),
        (PduPeakHourly, "pdu_id", pdus),
    ):
        rows = [{key: owner, "hour": hour, "peak_watts": s} for owner, s in sums.items()]
        await upsert(session, _table(table), rows, (key, "hour"), greatest=("peak_watts",))


def _sums(readings: Sequence[StoredReading]) -> tuple[dict[int, float], dict[int, float]]:
    """Per-cycle sums by machine (every feed, an inlet included) and by PDU (its outlets:
    an inlet meters the same power, so inlet + outlets would count it twice)."""
    machines: dict[int, float] = {}
    pdus: dict[int, float] = {}
    for r in readings:
        assert r.watts is not None
        if r.machine_id is not None:
            machines[r.machine_id] = machines.get(r.machine_id, 0.0) + r.watts
        if not r.inlet:
            pdus[r.pdu_id] = pdus.get(r.pdu_id, 0.0) + r.watts
    return machines, pdus


async def _sums_at(
    session: AsyncSession, cycle: datetime
) -> tuple[dict[int, float], dict[int, float]]:
    stmt = (
        select(
            PowerReading.outlet_id,
            Outlet.pdu_id,
            PowerReading.machine_id,
            PowerReading.watts,
            Outlet.label,
        )
        .join(Outlet, Outlet.id == PowerReading.outlet_id)
        .where(PowerReading.cycle == cycle, PowerReading.watts.is_not(None))
    )
    rows = sorted((await session.execute(stmt)).tuples())
    return _sums([StoredReading(o, p, m, w, None, is_inlet(label)) for o, p, m, w, label in rows])


def _table(model: type[PowerHourly] | type[MachinePeakHourly] | type[PduPeakHourly]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table
