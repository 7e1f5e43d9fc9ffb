"""Hourly rollups of readings and load, maintained at write time, so reports and long plots
read one row per outlet-hour instead of twelve.

Each rollup row holds the additive :class:`~powermond.energy.Tally` of one outlet's
readings in one hour (keyed by the machine the readings fed), so the report from rollups is
the report from raw readings (tests check this). Intervals belong to their first reading's
hour, so a reading closes the previous reading's interval, which may lie in the hour before.

Every writer of readings (the daemon, ``powermon poll``, the demo's back-fill) goes through
``collect.store.store_cycle``, which *adds* each new reading's deltas
(:mod:`powermond.db.cycle_rollups`): an upsert keyed by (outlet, hour, machine_key), in work
proportional to the cycle. The functions here *recompute* affected hours from the raw rows
instead: the exact path for readings stored out of order (a late cycle, a remapped outlet),
which cannot make the rollups drift; the load rollups, recomputed per import batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.tables import CpuLoad, Machine, Outlet, PowerReading
from powermond.db.tables import LoadHourly as LoadHourly  # the rollup tables, named here too
from powermond.db.tables import MachinePeakHourly as MachinePeakHourly
from powermond.db.tables import PduPeakHourly as PduPeakHourly
from powermond.db.tables import PowerHourly as PowerHourly
from powermond.db.types import range_bound
from powermond.energy import Sample, Spacing, hour_of, tally_samples
from powermond.readings import INLET, LoadSample

T = TypeVar("T")
HOUR = timedelta(hours=1)
IN_LIST_CHUNK = 5000  # ids per IN list: SQLite allows 32766 variables, PostgreSQL 32767


async def samples_between(
    session: AsyncSession,
    since: datetime,
    until: datetime,
    *,
    pdu_id: int | None = None,
    outlet_ids: Sequence[int] | None = None,
) -> list[Sample]:
    """Raw readings with ``since <= cycle < until``, sorted by (outlet, time); only those of
    one PDU or of some outlets when given."""
    stmt = (
        select(
            PowerReading.cycle,
            PowerReading.watts,
            PowerReading.energy_kwh,
            PowerReading.outlet_id,
            PowerReading.machine_id,
            Outlet.pdu_id,
        )
        .join(Outlet, Outlet.id == PowerReading.outlet_id)
        .where(PowerReading.cycle >= range_bound(since), PowerReading.cycle < range_bound(until))
    )
    if pdu_id is not None:
        stmt = stmt.where(Outlet.pdu_id == pdu_id)
    found: list[Sample] = []
    if outlet_ids is None:
        found.extend(Sample(*row) for row in await session.execute(stmt))
    for chunk in chunked(outlet_ids or ()):
        in_chunk = stmt.where(PowerReading.outlet_id.in_(chunk))
        found.extend(Sample(*row) for row in await session.execute(in_chunk))
    return sorted(found, key=lambda s: (s.outlet, s.time))


def is_outlet_label() -> ColumnElement[bool]:
    """SQL: the outlet is an outlet, not the PDU's inlet meter (``inlet``, ``inlet.N``).

    A PDU's peak is the peak of its outlets' per-cycle sum: its inlet meters the same power
    (and the report takes an inlet's peak from the inlet's own tally).
    """
    return and_(Outlet.label != INLET, Outlet.label.not_like(f"{INLET}.%"))


def chunked(ids: Sequence[T], size: int = IN_LIST_CHUNK) -> list[Sequence[T]]:
    """``ids`` in slices short enough for one IN list on every dialect."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]


async def recompute_outlets(
    session: AsyncSession,
    outlet_ids: Sequence[int],
    start: datetime,
    end: datetime,
    spacing: Spacing,
) -> None:
    """Rewrite the rollup rows of ``outlet_ids`` for the hours in ``[start, end)`` from the
    raw readings: the exact path for readings stored out of order. ``spacing`` must cover
    ``[start, end)`` and its reach beyond."""
    ids = sorted(set(outlet_ids))
    samples = await samples_between(session, start, end + spacing.reach, outlet_ids=ids)
    for chunk in chunked(ids):
        await session.execute(
            delete(PowerHourly).where(
                PowerHourly.outlet_id.in_(chunk), PowerHourly.hour >= start, PowerHourly.hour < end
            )
        )
    await _insert_tallies(session, samples, start, end, spacing)


async def _insert_tallies(
    session: AsyncSession,
    samples: Sequence[Sample],
    start: datetime,
    end: datetime,
    spacing: Spacing,
) -> None:
    tallies = tally_samples(
        samples, start, end, spacing, lambda s: (s.outlet, s.machine, hour_of(s.time))
    )
    rows = [
        {"outlet_id": o, "machine_id": m, "machine_key": m or 0, "hour": h, **t.as_dict()}
        for (o, m, h), t in tallies.items()
    ]
    if rows:
        await session.execute(insert(PowerHourly), rows)


async def recompute_peaks(
    session: AsyncSession, hour: datetime, *, machine_ids: Sequence[int], pdu_ids: Sequence[int]
) -> None:
    """Rewrite the peaks of ``hour`` for these machines and PDUs from the raw readings."""
    if machine_ids:
        sums = await _cycle_sums(session, hour, PowerReading.machine_id, machine_ids)
        await _replace_peaks(session, MachinePeakHourly, "machine_id", hour, machine_ids, sums)
    if pdu_ids:
        sums = await _cycle_sums(session, hour, Outlet.pdu_id, pdu_ids, outlets_only=True)
        await _replace_peaks(session, PduPeakHourly, "pdu_id", hour, pdu_ids, sums)


async def _cycle_sums(
    session: AsyncSession,
    hour: datetime,
    key: object,
    ids: Sequence[int],
    *,
    outlets_only: bool = False,
) -> list[tuple[int, float]]:
    stmt = (
        select(key, PowerReading.cycle, PowerReading.watts)  # type: ignore[call-overload]
        .join(Outlet, Outlet.id == PowerReading.outlet_id)
        .where(key.in_(ids))  # type: ignore[attr-defined]
        .where(PowerReading.cycle >= hour, PowerReading.cycle < hour + HOUR)
        .where(PowerReading.watts.is_not(None))
    )
    if outlets_only:
        stmt = stmt.where(is_outlet_label())
    sums: dict[tuple[int, datetime], float] = {}
    for owner, cycle, watts in await session.execute(stmt):
        sums[(owner, cycle)] = sums.get((owner, cycle), 0.0) + watts
    return [(owner, value) for (owner, _), value in sums.items()]


async def _replace_peaks(
    session: AsyncSession,
    table: type[MachinePeakHourly] | type[PduPeakHourly],
    key: str,
    hour: datetime,
    ids: Sequence[int],
    sums: Sequence[tuple[int, float]],
) -> None:
    peaks: dict[int, float] = {}
    for owner, value in sums:
        peaks[owner] = max(peaks.get(owner, value), value)
    column = getattr(table, key)
    await session.execute(delete(table).where(column.in_(ids), table.hour == hour))
    if peaks:
        rows = [{key: owner, "hour": hour, "peak_watts": p} for owner, p in peaks.items()]
        await session.execute(insert(table), rows)


async def update_load_rollups(
    session: AsyncSession, machine: str, samples: Sequence[LoadSample]
) -> None:
    """Recompute the load rollups of the hours ``samples`` fall in, after ``LoadRepository.add``.

    Recomputed from the stored samples, so re-imports and overlapping runs stay exact.
    """
    machine_id = await session.scalar(select(Machine.id).where(Machine.name == machine))
    if machine_id is None or not samples:
        return
    times = [s.time for s in samples]
    await update_load_rollups_for(session, [machine_id], min(times), max(times))


async def update_load_rollups_for(
    session: AsyncSession, machine_ids: Sequence[int], first: datetime, last: datetime
) -> None:
    """Recompute the load rollups of ``machine_ids`` for the hours from ``first`` to ``last``.

    One read, one delete and one insert for any number of machines: the hourly import of
    thousands of machines calls this once per batch.
    """
    if not machine_ids:
        return
    start, end = hour_of(first), hour_of(last) + HOUR
    stmt = select(
        CpuLoad.machine_id, CpuLoad.time, CpuLoad.load1, CpuLoad.load5, CpuLoad.load15
    ).where(CpuLoad.machine_id.in_(machine_ids), CpuLoad.time >= start, CpuLoad.time < end)
    by_machine: dict[int, list[LoadSample]] = {}
    for machine_id, *values in await session.execute(stmt):
        by_machine.setdefault(machine_id, []).append(LoadSample(*values))
    rows = [
        {"machine_id": machine_id, "hour": hour, **sums}
        for machine_id, stored in by_machine.items()
        for hour, sums in load_sums(stored).items()
    ]
    await session.execute(
        delete(LoadHourly).where(
            LoadHourly.machine_id.in_(machine_ids), LoadHourly.hour >= start, LoadHourly.hour < end
        )
    )
    if rows:
        await session.execute(insert(LoadHourly), rows)


def load_sums(samples: Sequence[LoadSample]) -> dict[datetime, dict[str, float | int]]:
    """Per hour: samples with a load1 value and their sum, the same for load5 and load15."""
    out: dict[datetime, dict[str, float | int]] = {}
    for s in samples:
        row = out.setdefault(
            hour_of(s.time),
            dict.fromkeys(
                ("samples", "load1_sum", "load5_count", "load5_sum", "load15_count", "load15_sum"),
                0,
            ),
        )
        for value, count, total in (
            (s.load1, "samples", "load1_sum"),
            (s.load5, "load5_count", "load5_sum"),
            (s.load15, "load15_count", "load15_sum"),
        ):
            if value is not None:
                row[count] += 1
                row[total] += value
    return out
