"""Reads behind ``report``, ``plot`` and ``power``: raw readings of short stretches, hourly
rollups of whole hours (an open hour's rows computed from its raw readings by the SQL that
rolls it up, ``db.rollups``: the same figures to the unit), names. Plain values out
(:class:`~powermond.energy.Sample`, :class:`~powermond.energy.Tally`, tuples), in the
report's units (W, kWh): ``report/`` only composes them, and never builds SQL.

The rollups' integer units become floats here and nowhere else: mW / 1000, Wh / 1000,
half-millijoules / 7.2e9 (see ``tables.PowerHourly``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, func, or_, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from powermond.db.daily import LOAD, POWER, closed_days, epoch_hour, split, whole_days
from powermond.db.latest import (
    pairs_per_statement,
    reading_times,
    times_and_outlets,
)
from powermond.db.repository_base import Repository, table_of, translated
from powermond.db.rollups import (
    HOUR,
    cycle_intervals,
    hourly_rows,
    open_hours,
    peak_rows,
    reach,
    runs,
)
from powermond.db.tables import (
    Base,
    CpuLoad,
    Cycle,
    LoadDaily,
    LoadHourly,
    Machine,
    MachinePeakDaily,
    MachinePeakHourly,
    Outlet,
    Pdu,
    PduPeakDaily,
    PduPeakHourly,
    PowerDaily,
    PowerHourly,
    PowerReading,
)
from powermond.db.types import HOUR_S, range_bound
from powermond.energy import Sample, Tally, hour_of
from powermond.readings import INLET

MW_PER_W = 1000.0
WH_PER_KWH = 1000.0
HALF_MJ_PER_KWH = 7.2e9  # 3.6e9 mJ, twice: the rollups keep (mW1 + mW2) x s per trapezoid


@dataclass(frozen=True, slots=True)
class LoadSums:
    """Sums of a machine's load samples (1, 5 and 15 minutes), counted where present."""

    load1_count: int
    load1_sum: float
    load5_count: int = 0
    load5_sum: float = 0.0
    load15_count: int = 0
    load15_sum: float = 0.0


class FeedHour(NamedTuple):
    """One feed's watts in one hour of a machine's rollups (a tuple: a year's plot makes
    17,520 of them, a frozen dataclass takes three times as long to make)."""

    hour: datetime
    pdu: str
    outlet: str
    watts_sum: float
    watts_count: int


def hourly_tally(
    readings: int,
    watts_count: int,
    watts_sum: int,
    watts_peak: int | None,
    counter_wh: int,
    counter_intervals: int,
    integrated_hmj: int,
    integrated_intervals: int,
) -> Tally:
    """A rollup row's (or sum of rows') integers as the :class:`Tally` the rules use."""
    return Tally(
        int(readings),
        int(watts_count),
        int(watts_sum) / MW_PER_W,
        None if watts_peak is None else int(watts_peak) / MW_PER_W,
        int(counter_wh) / WH_PER_KWH,
        int(counter_intervals),
        int(integrated_hmj) / HALF_MJ_PER_KWH,
        int(integrated_intervals),
    )


PEAK_AT = 3  # the index of watts_peak among a tally's figures (:func:`_tally_columns`)


def _tally_columns(c: Any) -> list[Any]:
    """A tally's owner columns and aggregates, of ``power_hourly`` or ``power_daily``."""
    return [
        c.outlet_id,
        c.machine_id,
        func.sum(c.readings),
        func.sum(c.watts_count),
        func.sum(c.watts_sum),
        func.max(c.watts_peak),
        func.sum(c.counter_wh),
        func.sum(c.counter_intervals),
        func.sum(c.integrated_hmj),
        func.sum(c.integrated_intervals),
    ]


def _int(value: Any) -> int | None:
    """An aggregate as an int (PostgreSQL and MariaDB sum BIGINTs as decimals)."""
    return None if value is None else int(value)


def _add_figures(known: list[int | None], figures: Sequence[Any]) -> None:
    """Add a part's tally figures to ``known``: sums add, the peak is the larger."""
    for i, value in enumerate(figures):
        mine = known[i]
        if value is None:
            continue
        if mine is None:
            known[i] = int(value)
        else:
            known[i] = max(mine, int(value)) if i == PEAK_AT else mine + int(value)


def _machine(key: int) -> int | None:
    return key or None  # 0: the rollup row of readings that fed no machine


class ReportRepository(Repository):
    def _every(self, owner: ColumnElement[int]) -> ColumnElement[int]:
        """The GROUP BY key of a query over every owner of an hour range.

        SQLite, without statistics, groups by walking the (owner, hour) index of every owner
        and looking each row up in the table: 4.5 times slower than reading the hour range of
        the primary key and grouping in a temporary b-tree (0.95 s against 0.21 s for a
        month of 1,000 machines, bench/bench_report.py). ``owner + 0`` is not indexed, so
        SQLite takes the primary key; the servers choose by their statistics.
        """
        if self.session.get_bind().dialect.name == "sqlite":
            return owner + 0
        return owner

    # --- names ----------------------------------------------------------------------------

    @translated
    async def machine_names(self) -> dict[int, str]:
        return dict((await self.session.execute(select(Machine.id, Machine.name))).tuples().all())

    @translated
    async def pdu_names(self) -> dict[int, str]:
        return dict((await self.session.execute(select(Pdu.id, Pdu.name))).tuples().all())

    @translated
    async def outlets(self) -> list[tuple[int, int, str]]:
        """Every outlet as (outlet id, PDU id, label)."""
        stmt = select(Outlet.id, Outlet.pdu_id, Outlet.label)
        return list((await self.session.execute(stmt)).tuples().all())

    @translated
    async def inlet_ids(self) -> set[int]:
        """The outlet ids of PDUs' inlet meters (``inlet``, ``inlet.N``)."""
        label = Outlet.label
        stmt = select(Outlet.id).where(or_(label == INLET, label.like(f"{INLET}.%")))
        return set((await self.session.scalars(stmt)).all())

    @translated
    async def machine_id(self, name: str) -> int | None:
        found: int | None = await self.session.scalar(
            select(Machine.id).where(Machine.name == name)
        )
        return found

    @translated
    async def mean_interval(self, since: datetime, until: datetime) -> float | None:
        """The mean interval the cycles of ``[since, until)`` were recorded at."""
        stmt = select(func.sum(Cycle.interval_s), func.count()).where(
            Cycle.time >= range_bound(since), Cycle.time < range_bound(until)
        )
        total, count = (await self.session.execute(stmt)).one()
        return float(total) / count if count else None

    # --- raw ------------------------------------------------------------------------------

    @translated
    async def samples(
        self,
        since: datetime,
        until: datetime,
        *,
        pdu_id: int | None = None,
        outlet_ids: Sequence[int] | None = None,
    ) -> list[Sample]:
        """Raw readings with ``since <= cycle < until``, sorted by (outlet, time); only those
        of one PDU or of some outlets when given."""
        stmt = select(
            PowerReading.cycle,
            PowerReading.watts,
            PowerReading.energy_kwh,
            PowerReading.outlet_id,
            PowerReading.machine_id,
            Outlet.pdu_id,
        ).join(Outlet, Outlet.id == PowerReading.outlet_id)
        in_period = (
            PowerReading.cycle >= range_bound(since),
            PowerReading.cycle < range_bound(until),
        )
        found: list[Sample] = []
        if pdu_id is None and outlet_ids is None:  # the period's readings: a range by cycle
            found.extend(Sample(*row) for row in await self.session.execute(stmt.where(*in_period)))
        else:
            # Keyed (cycle, outlet_id), no index by outlet (migrations 0013-0015): the
            # period's times, then a key seek per (time, outlet).
            if outlet_ids is None:
                of_pdu = select(Outlet.id).where(Outlet.pdu_id == pdu_id)
                outlet_ids = list((await self.session.scalars(of_pdu)).all())
            s0, s1 = (int(range_bound(t).timestamp()) for t in (since, until))
            cycle = type_coerce(PowerReading.cycle, Integer)
            times = await reading_times(self.session, s0, s1)
            pairs = pairs_per_statement(self.session)
            for t, o in times_and_outlets(times, outlet_ids, pairs=pairs):
                part = stmt.where(cycle.in_(t), PowerReading.outlet_id.in_(o))
                if pdu_id is not None:
                    part = part.where(Outlet.pdu_id == pdu_id)
                found.extend(Sample(*row) for row in await self.session.execute(part))
        return sorted(found, key=lambda s: (s.outlet, s.time))

    @translated
    async def load1_sums(self, since: datetime, until: datetime) -> dict[int, LoadSums]:
        """Per machine id: the raw 1-minute load samples of ``[since, until)``."""
        stmt = (
            select(CpuLoad.machine_id, func.count(CpuLoad.load1), func.sum(CpuLoad.load1))
            .where(CpuLoad.time >= range_bound(since), CpuLoad.time < range_bound(until))
            .where(CpuLoad.load1.is_not(None))
            .group_by(CpuLoad.machine_id)
        )
        return {
            m: LoadSums(int(n), float(total)) for m, n, total in await self.session.execute(stmt)
        }

    # --- rollups (whole hours: ``first`` and ``last`` are hours) ----------------------------

    @translated
    async def tallies(
        self, first: datetime, last: datetime, machine_ids: Collection[int] | None = None
    ) -> dict[tuple[int, int | None], Tally]:
        """Per (outlet id, machine id or ``None``): the tally of the hours ``[first, last)``,
        of their closed days from the daily rollups (:mod:`powermond.db.daily`)."""
        found: dict[tuple[int, int], list[int | None]] = {}
        async for row in self._rollup_rows(POWER, first, last, PowerDaily, PowerHourly,
                                           _tally_columns, machine_ids):  # fmt: skip
            outlet_id, machine_id, *figures = row
            known = found.get((outlet_id, machine_id))
            if known is None:
                found[(outlet_id, machine_id)] = [_int(v) for v in figures]
            else:  # integers: the parts add up to the sum of the hours, exactly
                _add_figures(known, figures)
        return {
            (outlet_id, _machine(machine_id)): hourly_tally(*figures)  # type: ignore[arg-type]
            for (outlet_id, machine_id), figures in found.items()
        }

    async def _rollup_rows(
        self,
        rollup: str,
        first: datetime,
        last: datetime,
        daily: type[Base],
        hourly: type[Base],
        columns: Callable[[Any], list[Any]],
        machine_ids: Collection[int] | None,
        every: bool = False,
    ) -> AsyncIterator[Any]:
        """The grouped rows of the hours ``[first, last)``: one statement per run of closed
        days (from ``daily``) and one per stretch of other hours (from ``hourly``), each
        grouped by ``columns``' first ones (``columns(table)``: the owner columns, then the
        aggregates); of ``machine_ids``' rows only, when given. ``every``: over every owner
        grouped by an unindexed key on SQLite (see :meth:`_every`)."""
        h0, h1 = epoch_hour(first), epoch_hour(last)
        d0, d1 = whole_days(h0, h1)
        closed = await closed_days(self.session, rollup, d0, d1) if d0 < d1 else []
        parts = split(h0, h1, closed)
        # Closed days hold no open hour (marking one open reopens its day).
        open_ = await open_hours(self.session, h0, h1) if rollup == POWER else []
        for model, key, ranges in ((daily, "day", parts.days), (hourly, "hour", parts.hours)):
            table = table_of(model)
            at = type_coerce(table.c[key], Integer)
            for a, b in ranges:
                skipped = [h for h in open_ if a <= h < b] if key == "hour" else []
                where = [at >= a, at < b, *([at.not_in(skipped)] if skipped else [])]
                for row in await self._grouped(table, columns, where, machine_ids, every):
                    yield row
        for a, b in runs(open_):
            rows = await self._open_rows(hourly, a, b, machine_ids)
            for row in await self._grouped(rows, columns, [], machine_ids, every):
                yield row

    async def _grouped(
        self,
        source: Any,
        columns: Callable[[Any], list[Any]],
        where: Sequence[Any],
        machine_ids: Collection[int] | None,
        every: bool,
    ) -> Any:
        selected = columns(source.c)
        keys = [c for c in selected if not isinstance(c, FunctionElement)]
        stmt = select(*selected).where(*where)
        if machine_ids is not None:
            stmt = stmt.where(source.c.machine_id.in_(machine_ids)).group_by(*keys)
        elif every:
            stmt = stmt.group_by(*(self._every(k) for k in keys))
        else:
            stmt = stmt.group_by(*keys)
        return await self.session.execute(stmt)

    async def _open_rows(
        self, hourly: type[Base], a: int, b: int, machine_ids: Collection[int] | None = None
    ) -> Any:
        """The rows the open hours ``[a, b)`` will have in ``hourly`` once rolled up, from
        their raw readings (a subquery with the table's column names); with ``machine_ids``,
        only these machines' rows are complete (a machine's report or plot reads only its
        outlets' readings)."""
        dialect = self.session.get_bind().dialect.name
        if hourly is PowerHourly:
            reach_s = await reach(self.session)
            s0, s1 = a * HOUR_S, b * HOUR_S
            intervals = await cycle_intervals(self.session, s0, s1 + reach_s)
            rows = hourly_rows(s0, s1, reach_s, intervals, dialect, machine_ids)
        elif hourly is MachinePeakHourly:
            rows = peak_rows("machine", a, b, dialect, machine_ids)
        else:
            rows = peak_rows("pdu", a, b, dialect)
        return rows.subquery("open_rows")

    async def _open_hours(self, first: datetime, last: datetime) -> list[int]:
        return await open_hours(self.session, epoch_hour(first), epoch_hour(last))

    @translated
    async def hourly_tallies(
        self, first: datetime, last: datetime
    ) -> dict[tuple[int, int | None, datetime], Tally]:
        """Every rollup row of the hours ``[first, last)``, by (outlet, machine, hour): of the
        open hours as they will be rolled up."""
        open_ = await self._open_hours(first, last)
        found: dict[tuple[int, int | None, datetime], Tally] = {}
        for source, where in await self._hour_sources(PowerHourly, open_, first, last):
            h = source.c
            stmt = select(
                _raw(h.hour), h.outlet_id, h.machine_id, h.readings, h.watts_count, h.watts_sum,
                h.watts_peak, h.counter_wh, h.counter_intervals, h.integrated_hmj,
                h.integrated_intervals,
            ).where(*where)  # fmt: skip
            rows = (await self.session.execute(stmt)).all()
            hour = self._times(rows)
            for at, outlet_id, machine_id, *figures in rows:
                found[(outlet_id, _machine(machine_id), hour[at])] = hourly_tally(*figures)
        return found

    @translated
    async def peaks(
        self,
        first: datetime,
        last: datetime,
        *,
        machine_ids: Collection[int] | None = None,
        pdus: bool = True,
    ) -> tuple[dict[int, float], dict[int, float]]:
        """The highest per-cycle sums (W) in the hours ``[first, last)``: per machine id (of
        these machines when given) and, when ``pdus``, per PDU id."""
        machines: dict[int, int] = {}
        async for owner, peak in self._rollup_rows(
            POWER, first, last, MachinePeakDaily, MachinePeakHourly,
            lambda c: [c.machine_id, func.max(c.peak_mw)], machine_ids, every=True,
        ):  # fmt: skip
            machines[owner] = max(machines.get(owner, int(peak)), int(peak))
        by_pdu: dict[int, int] = {}
        if pdus:
            async for owner, peak in self._rollup_rows(
                POWER, first, last, PduPeakDaily, PduPeakHourly,
                lambda c: [c.pdu_id, func.max(c.peak_mw)], None, every=True,
            ):  # fmt: skip
                by_pdu[owner] = max(by_pdu.get(owner, int(peak)), int(peak))
        return (
            {k: v / MW_PER_W for k, v in machines.items()},
            {k: v / MW_PER_W for k, v in by_pdu.items()},
        )

    @translated
    async def hourly_peaks(
        self, first: datetime, last: datetime
    ) -> dict[tuple[str, int, datetime], float]:
        """Every peak row of the hours ``[first, last)``: ("machine" or "pdu", id, hour) -> W."""
        found: dict[tuple[str, int, datetime], float] = {}
        open_ = await self._open_hours(first, last)
        for kind, model in (("machine", MachinePeakHourly), ("pdu", PduPeakHourly)):
            for source, where in await self._hour_sources(model, open_, first, last):
                stmt = select(_raw(source.c.hour), source.c[f"{kind}_id"], source.c.peak_mw)
                rows = (await self.session.execute(stmt.where(*where))).all()
                hour = self._times(rows)
                for at, owner_id, peak in rows:
                    found[(kind, owner_id, hour[at])] = int(peak) / MW_PER_W
        return found

    async def _hour_sources(
        self,
        model: type[Base],
        open_: Sequence[int],
        first: datetime,
        last: datetime,
        machine_ids: Collection[int] | None = None,
    ) -> list[tuple[Any, list[Any]]]:
        """Where the rows of the hours ``[first, last)`` of ``model`` are read, each source
        with its WHERE: the table for the closed hours, the raw readings for each run of
        ``open_`` hours."""
        table = table_of(model)
        hour = _raw(table.c.hour)
        where = [hour >= epoch_hour(first), hour < epoch_hour(last)]
        if open_:
            where.append(hour.not_in(open_))
        sources: list[tuple[Any, list[Any]]] = [(table, where)]
        for a, b in runs(open_):
            sources.append((await self._open_rows(model, a, b, machine_ids), []))
        return sources

    @translated
    async def load_sums(
        self, first: datetime, last: datetime, machine_ids: Collection[int] | None = None
    ) -> dict[int, LoadSums]:
        """Per machine id: the load rollups of the hours ``[first, last)`` (floating-point
        sums: of closed days' sums, equal to rounding)."""
        found: dict[int, tuple[int, float]] = {}
        async for machine_id, n, total in self._rollup_rows(
            LOAD, first, last, LoadDaily, LoadHourly,
            lambda c: [c.machine_id, func.sum(c.samples), func.sum(c.load1_sum)], machine_ids,
            every=True,
        ):  # fmt: skip
            count, known = found.get(machine_id, (0, 0.0))
            found[machine_id] = (count + int(n), known + float(total))
        return {m: LoadSums(n, total) for m, (n, total) in found.items()}

    # --- one machine's hours (long plots) ---------------------------------------------------
    #
    # A year's plot reads 35,000 rows: through Core (no ORM row loading) with the hours as
    # stored integers, each distinct hour made a datetime once (:meth:`_times`), which
    # halves the plot's query time (bench/bench_report.py).

    def _times(self, rows: Sequence[Any]) -> dict[int, datetime]:
        """The aware UTC hour of each epoch hour in the rows' first column, each made once
        and the same object across this repository's reads."""
        seen: dict[int, datetime] = self.__dict__.setdefault("_hours", {})
        for at in {row[0] for row in rows} - seen.keys():
            seen[at] = datetime.fromtimestamp(at * HOUR_S, UTC)
        return seen

    @translated
    async def feed_hours(self, machine_id: int, first: datetime, last: datetime) -> list[FeedHour]:
        """The machine's rollup rows of the hours ``[first, last)``, in hour, PDU and outlet
        order."""
        outlet, pdu = table_of(Outlet).c, table_of(Pdu).c
        rows: list[Any] = []
        open_ = await self._open_hours(first, last)
        sources = await self._hour_sources(PowerHourly, open_, first, last, {machine_id})
        for source, where in sources:
            h = source.c
            stmt = (
                select(_raw(h.hour), pdu.name, outlet.label, h.watts_sum, h.watts_count)
                .join_from(source, table_of(Outlet), outlet.id == h.outlet_id)
                .join(table_of(Pdu), pdu.id == outlet.pdu_id)
                .where(h.machine_id == machine_id, *where)
            )
            rows.extend((await self.session.execute(stmt)).all())
        # In hour, PDU and outlet order whichever source a row came from (a plot adds an
        # hour's feeds in the order they come).
        rows.sort(key=lambda row: (row[0], row[1], row[2]))
        hour = self._times(rows)
        return [
            FeedHour(hour[at], pdu_name, label, int(watts_sum) / MW_PER_W, int(count))
            for at, pdu_name, label, watts_sum, count in rows
        ]

    @translated
    async def machine_peak_hours(
        self, machine_id: int, first: datetime, last: datetime
    ) -> list[tuple[datetime, float]]:
        rows: list[Any] = []
        open_ = await self._open_hours(first, last)
        sources = await self._hour_sources(MachinePeakHourly, open_, first, last, {machine_id})
        for source, where in sources:
            m = source.c
            stmt = select(_raw(m.hour), m.peak_mw).where(m.machine_id == machine_id, *where)
            rows.extend((await self.session.execute(stmt.order_by(m.hour))).all())
        if open_:
            rows.sort(key=lambda row: row[0])
        hour = self._times(rows)
        return [(hour[at], int(peak) / MW_PER_W) for at, peak in rows]

    @translated
    async def load_hours(
        self, machine_id: int, first: datetime, last: datetime
    ) -> list[tuple[datetime, LoadSums]]:
        h = table_of(LoadHourly).c
        stmt = (
            select(_raw(h.hour), h.samples, h.load1_sum, h.load5_count, h.load5_sum)
            .add_columns(h.load15_count, h.load15_sum)
            .where(h.machine_id == machine_id, *_hours_in(h.hour, first, last))
            .order_by(h.hour)
        )
        rows = (await self.session.execute(stmt)).all()
        hour = self._times(rows)
        return [
            (hour[at], LoadSums(int(a), float(b), int(c), float(d), int(e), float(f)))
            for at, a, b, c, d, e, f in rows
        ]


def _raw(hour: ColumnElement[datetime]) -> ColumnElement[int]:
    """An :class:`~powermond.db.types.EpochHour` column read as its stored integer."""
    return type_coerce(hour, Integer)


def _hours_in(hour: ColumnElement[datetime], first: datetime, last: datetime) -> tuple[Any, ...]:
    return hour >= first, hour < last


def whole_hours(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The first whole hour at or after ``since`` and the last hour start at or before
    ``until``: the rollups cover ``[first, last)``."""
    first = hour_of(since) if since == hour_of(since) else hour_of(since) + HOUR
    return first, hour_of(until)
