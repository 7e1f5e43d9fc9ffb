"""Reports composed from the repositories (:class:`~powermond.db.reports.ReportRepository`):
raw readings for short periods and the edges of long ones, hourly rollups
(:mod:`powermond.db.rollups`) for their whole hours. No SQL here.

Every period is ``[since, until)``. A report reads rollups for the whole hours inside the
period and raw readings for the partial hours at its edges, so its figures are the same as
from raw readings alone (``use_rollups=False``, kept for tests and checks).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from powermond.db.cycles import CycleRepository
from powermond.db.reports import ReportRepository, whole_hours
from powermond.db.repositories import LoadRepository
from powermond.energy import Sample, Tally, tally_samples
from powermond.errors import NotFoundError
from powermond.readings import LoadSample, is_inlet
from powermond.report.inlets import pdu_row
from powermond.report.machine import machine
from powermond.report.power import LoadTally, ReportRow, checked, report_row

ReportBy = Literal["machine", "pdu"]


async def load_points(
    session: AsyncSession, name: str, since: datetime, until: datetime
) -> list[LoadSample]:
    await machine(session, name)
    return await LoadRepository(session).between(name, since, until)


# --- report ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Parts:
    """Report figures of a stretch of time, merged from raw and rollup stretches."""

    tallies: dict[tuple[int, int | None], Tally] = field(default_factory=dict)  # (outlet, machine)
    machine_peaks: dict[int, float] = field(default_factory=dict)
    pdu_peaks: dict[int, float] = field(default_factory=dict)
    loads: dict[int, LoadTally] = field(default_factory=dict)

    def merge(self, other: _Parts) -> None:
        for key, tally in other.tallies.items():
            self.tallies.setdefault(key, Tally()).merge(tally)
        for mine, theirs in ((self.machine_peaks, other.machine_peaks),
                             (self.pdu_peaks, other.pdu_peaks)):  # fmt: skip
            for owner, peak in theirs.items():
                mine[owner] = max(mine.get(owner, peak), peak)
        for owner, load in other.loads.items():
            self.loads.setdefault(owner, LoadTally()).merge(load)


async def report_rows(
    session: AsyncSession,
    since: datetime,
    until: datetime,
    *,
    by: ReportBy = "machine",
    use_rollups: bool = True,
    machines: Collection[str] | None = None,
    pdus: Collection[str] | None = None,
) -> list[ReportRow]:
    """One row per machine (or PDU) with readings or load in ``[since, until)``, by name.

    ``machines`` / ``pdus`` choose rows, each still a whole machine or PDU: by machine, these
    machines, and those that one of these PDUs fed in the period; by PDU, these PDUs, and
    those that fed one of these machines. Both given: rows that satisfy both. Gaps are bridged
    by the interval each cycle was recorded at, whatever is configured now.
    """
    repo = ReportRepository(session)
    parts = _Parts()
    first_hour, last_hour = whole_hours(since, until)
    if use_rollups and first_hour < last_hour:
        parts.merge(await _raw_parts(session, since, first_hour))
        # A report of some machines (a plot's title) reads only their rollup rows.
        only = await _ids(repo, "machine", machines) if by == "machine" and not pdus else None
        parts.merge(await _rollup_parts(repo, first_hour, last_hour, only))
        parts.merge(await _raw_parts(session, last_hour, until))
    else:
        parts.merge(await _raw_parts(session, since, until))
    if machines is not None or pdus is not None:
        await _keep_only(repo, parts, by, machines, pdus)
    # The mean recorded interval, for the check column: an interval counted in a tally then
    # stands for this many seconds on average (outages do not matter: a cycle records the
    # interval it ran at, not the time since the last one).
    interval = await repo.mean_interval(since, until)
    if by == "pdu":
        return await _rows_by_pdu(repo, parts, interval)
    return await _rows_by_machine(repo, parts, interval)


async def _keep_only(
    repo: ReportRepository,
    parts: _Parts,
    by: ReportBy,
    machines: Collection[str] | None,
    pdus: Collection[str] | None,
) -> None:
    """Drop from ``parts`` what the rows chosen by ``machines`` / ``pdus`` do not need."""
    machine_ids = await _ids(repo, "machine", machines)
    pdu_ids = await _ids(repo, "pdu", pdus)
    pdu_of = {outlet_id: pdu_id for outlet_id, pdu_id, _ in await repo.outlets()}
    fed = {(m, pdu_of[o]) for o, m in parts.tallies if m is not None}  # (machine, pdu) pairs
    if by == "machine":
        keep = {m for m, _ in fed} | parts.loads.keys()
        keep = {m for m in keep if machine_ids is None or m in machine_ids}
        if pdu_ids is not None:
            keep &= {m for m, p in fed if p in pdu_ids}
        parts.tallies = {k: t for k, t in parts.tallies.items() if k[1] in keep}
        parts.loads = {m: load for m, load in parts.loads.items() if m in keep}
        return
    keep = {pdu_of[o] for o, _ in parts.tallies}
    keep = {p for p in keep if pdu_ids is None or p in pdu_ids}
    if machine_ids is not None:
        keep &= {p for m, p in fed if m in machine_ids}
    parts.tallies = {k: t for k, t in parts.tallies.items() if pdu_of[k[0]] in keep}


async def _ids(
    repo: ReportRepository, kind: Literal["machine", "pdu"], names: Collection[str] | None
) -> set[int] | None:
    """The ids of ``names``; :class:`NotFoundError` names those not in the database."""
    if names is None:
        return None
    known = await (repo.machine_names() if kind == "machine" else repo.pdu_names())
    found = {n: i for i, n in known.items() if n in names}
    missing = sorted(set(names) - found.keys())
    if missing:
        what = "machine" if kind == "machine" else "PDU"
        raise NotFoundError(f"no {what} named {', '.join(missing)} in the database")
    return set(found.values())


async def _raw_parts(session: AsyncSession, since: datetime, until: datetime) -> _Parts:
    parts = _Parts()
    if since >= until:
        return parts
    repo = ReportRepository(session)
    spacing = await CycleRepository(session).spacing(since, until)
    samples = await repo.samples(since, until + spacing.reach)
    parts.tallies = tally_samples(samples, since, until, spacing, lambda s: (s.outlet, s.machine))
    inside = [s for s in samples if since <= s.time < until and s.watts is not None]
    parts.machine_peaks = _peaks_of_sums(inside, lambda s: s.machine)
    # A PDU's peak is of its outlets, as stored in pdu_peak_hourly (an inlet's is its own).
    inlet_ids = await repo.inlet_ids()
    outlets = [s for s in inside if s.outlet not in inlet_ids]
    parts.pdu_peaks = _peaks_of_sums(outlets, lambda s: s.pdu)
    for machine_id, sums in (await repo.load1_sums(since, until)).items():
        parts.loads[machine_id] = LoadTally(sums.load1_count, sums.load1_sum)
    return parts


def _peaks_of_sums(samples: Sequence[Sample], owner: object) -> dict[int, float]:
    sums: dict[tuple[int, datetime], float] = {}
    for s in samples:
        key = owner(s)  # type: ignore[operator]
        if key is not None:
            sums[(key, s.time)] = sums.get((key, s.time), 0.0) + (s.watts or 0.0)
    peaks: dict[int, float] = {}
    for (key, _), value in sums.items():
        peaks[key] = max(peaks.get(key, value), value)
    return peaks


async def _rollup_parts(
    repo: ReportRepository, first: datetime, last: datetime, machine_ids: set[int] | None = None
) -> _Parts:
    """Figures of the whole hours ``[first, last)``; of these machines' rows only when given
    (and then no PDU peaks: no PDU rows in a report of machines)."""
    parts = _Parts()
    parts.tallies = await repo.tallies(first, last, machine_ids)
    parts.machine_peaks, parts.pdu_peaks = await repo.peaks(
        first, last, machine_ids=machine_ids, pdus=machine_ids is None
    )
    for machine_id, sums in (await repo.load_sums(first, last, machine_ids)).items():
        parts.loads[machine_id] = LoadTally(sums.load1_count, sums.load1_sum)
    return parts


async def _rows_by_machine(
    repo: ReportRepository, parts: _Parts, spacing: float | None
) -> list[ReportRow]:
    names = await repo.machine_names()
    outlets: dict[int, list[Tally]] = {}
    for (_, machine_id), tally in parts.tallies.items():
        if machine_id is not None:
            outlets.setdefault(machine_id, []).append(tally)
    rows = [
        report_row(
            names[m], outlets.get(m, []), parts.machine_peaks.get(m), parts.loads.get(m), spacing
        )
        for m in outlets.keys() | parts.loads.keys()
    ]
    return sorted(rows, key=lambda r: r.name)


async def _rows_by_pdu(
    repo: ReportRepository, parts: _Parts, spacing: float | None
) -> list[ReportRow]:
    names = await repo.pdu_names()
    outlet_rows = await repo.outlets()
    pdu_of = {outlet_id: pdu_id for outlet_id, pdu_id, _ in outlet_rows}
    inlet_ids = {outlet_id for outlet_id, _, label in outlet_rows if is_inlet(label)}
    per_outlet: dict[int, Tally] = {}
    machines: dict[int, set[int]] = {}
    for (outlet_id, machine_id), tally in parts.tallies.items():
        per_outlet.setdefault(outlet_id, Tally()).merge(tally)
        if machine_id is not None:
            machines.setdefault(pdu_of[outlet_id], set()).add(machine_id)
    outlets: dict[int, list[Tally]] = {}
    inlets: dict[int, list[Tally]] = {}
    for outlet_id, tally in per_outlet.items():
        meters = inlets if outlet_id in inlet_ids else outlets
        meters.setdefault(pdu_of[outlet_id], []).append(tally)
    rows = []
    for pdu_id in outlets.keys() | inlets.keys():
        # A PDU's load: the load of the machines it fed in the period, sample-weighted.
        load = LoadTally()
        for machine_id in machines.get(pdu_id, ()):
            load.merge(parts.loads.get(machine_id, LoadTally()))
        own, metered = outlets.get(pdu_id, []), inlets.get(pdu_id, [])
        row = pdu_row(names[pdu_id], own, metered, parts.pdu_peaks.get(pdu_id), load)
        rows.append(checked(row, metered or own, spacing))
    return sorted(rows, key=lambda r: r.name)
