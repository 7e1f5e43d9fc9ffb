"""The hourly rollups, maintained in SQL over the stored readings, in the writer's transaction.

One rule, in one place (:func:`_interval` and :func:`_tally_columns`): the energy rules of
:mod:`powermond.energy` (an interval belongs to its first reading's hour and machine; it is
bridged when at most twice the recorded interval of either of its cycles; counter delta where
the counter did not go down, else the trapezoid of the watts, else a reset counted from
zero), written as SQL over ``power_reading`` and the ``cycle`` table. Two ways apply it:

* :func:`add_cycle`, after every write of readings (``collect.store.store_cycle``: the daemon,
  ``powermon poll``, the demo's back-fill, spool replays): one ``INSERT … SELECT … ON
  CONFLICT DO UPDATE`` (MariaDB: ``ON DUPLICATE KEY UPDATE``) adds the deltas of the cycle's
  new readings. A new reading at ``t`` of an outlet whose stored neighbours are ``p`` (before)
  and ``q`` (after, only for a late or replayed cycle) adds itself to its hour, the interval
  ``t -> q`` to its hour, the interval ``p -> t`` to ``p``'s hour, and takes ``p -> q`` back
  out of ``p``'s hour: exactly what splitting ``p -> q`` at ``t`` changes.
* :func:`recompute`, for a range of hours: the same rule over every reading of the range.

The rollups hold integers (mW, Wh, half-millijoules; see ``tables.PowerHourly``), and integer
sums do not depend on the order of the additions, so both ways give the same rows to the last
unit (tests check it on every database, with gaps, partial and late cycles, counter resets and
pruned readings).

A peak is the highest per-cycle sum in the hour. A cycle stored whole in one write raises it to
its sums, which the writer holds (an upsert keeping the greater); a later part of a cycle
(another collector's PDUs, ``poll --pdu``) raises it to the cycle's sums summed in SQL, which
only grow, unless the part brought a negative reading (a broken meter): that owner's hour is
recomputed.

When a cycle's recorded interval changes after some of its readings were stored (a daemon row
after a poll's), the intervals to and from them are bridged differently: :func:`interval_changed`
recomputes their hours.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Double,
    Integer,
    and_,
    case,
    cast,
    column,
    delete,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from powermond.db.bulk import dialect_insert, upsert
from powermond.db.daily import LOAD, POWER, reopen
from powermond.db.rows import StoredCycle
from powermond.db.tables import (
    MARIADB,
    POWER_TALLY_SUMS,
    CpuLoad,
    Cycle,
    LoadHourly,
    MachinePeakHourly,
    Outlet,
    PduPeakHourly,
    PowerHourly,
)
from powermond.db.types import HOUR_S, epoch_seconds
from powermond.energy import DEFAULT_INTERVAL_S, hour_of
from powermond.readings import INLET

__all__ = [
    "HOUR",
    "LoadHourly",
    "MachinePeakHourly",
    "PduPeakHourly",
    "PowerHourly",
    "add_cycle",
    "chunked",
    "recompute",
    "update_load_rollups_for",
]

T = TypeVar("T")
HOUR = timedelta(hours=1)
IN_LIST_CHUNK = 5000  # ids per IN list: SQLite allows 32766 variables, PostgreSQL 32767
MW_PER_W = 1000  # the rollups' watts are mW, as the readings store them
MATERIALIZE_ALL = 2**62  # a LIMIT no cycle reaches
DAEMON = "daemon"  # db.cycles.DAEMON (not imported: cycles imports bulk, as this does)

# Tables whose declared types convert nothing serve as declared.
_outlet = Outlet.__table__
_cycle = Cycle.__table__
_load = CpuLoad.__table__
# The tables as SQL sees them: raw integers (epoch seconds and hours, mW, Wh), no conversions.
_reading = table(
    "power_reading",
    column("cycle", BigInteger),
    column("outlet_id", Integer),
    column("machine_id", Integer),
    column("watts", BigInteger),
    column("energy_kwh", BigInteger),  # Wh: thousandths of kWh
)
_hourly = table(
    "power_hourly",
    *(
        column(name, Integer)
        for name in ("hour", "outlet_id", "machine_id", "readings", "watts_count")
    ),
    column("watts_sum", BigInteger),
    column("watts_peak", Integer),
    column("counter_wh", BigInteger),
    column("counter_intervals", Integer),
    column("integrated_hmj", BigInteger),
    column("integrated_intervals", Integer),
)
HOURLY_KEY = ("hour", "outlet_id", "machine_id")
ADDED = POWER_TALLY_SUMS
_PEAKS = {
    "machine": table(
        "machine_peak_hourly", column("hour", Integer), column("machine_id", Integer),
        column("peak_mw", Integer),
    ),
    "pdu": table(
        "pdu_peak_hourly", column("hour", Integer), column("pdu_id", Integer),
        column("peak_mw", Integer),
    ),
}  # fmt: skip
_load_hourly = table(
    "load_hourly",
    column("hour", Integer),
    column("machine_id", Integer),
    column("samples", Integer),
    column("load1_sum", Double),
    column("load5_count", Integer),
    column("load5_sum", Double),
    column("load15_count", Integer),
    column("load15_sum", Double),
)


class hour_number(FunctionElement[int]):  # an SQL function, named like one
    """SQL: epoch seconds as hours since 1970 (integer division on every dialect)."""

    type = Integer()
    inherit_cache = True
    name = "hour_number"


@compiles(hour_number)
def _hour_number(element: hour_number, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} / {HOUR_S})"


@compiles(hour_number, "mysql")
@compiles(hour_number, "mariadb")
def _hour_number_mysql(element: hour_number, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} DIV {HOUR_S})"


def chunked(ids: Sequence[T], size: int = IN_LIST_CHUNK) -> list[Sequence[T]]:
    """``ids`` in slices short enough for one IN list on every dialect."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _epoch(time: datetime) -> int:
    return int(time.timestamp())


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# --- the rule -------------------------------------------------------------------------------


def _intervals(since: datetime, until: datetime) -> Any:
    """The recorded interval (s) of every cycle time in ``[since, until]``: its daemon rows'
    longest, else its poll rows' (as ``CycleRepository.spacing`` reads them)."""
    daemon = func.max(case((_cycle.c.origin == DAEMON, _cycle.c.interval_s)))
    return (
        select(
            epoch_seconds(_cycle.c.time).label("at"),
            func.coalesce(daemon, func.max(_cycle.c.interval_s)).label("s"),
        )
        .where(_cycle.c.time >= since, _cycle.c.time <= until)
        .group_by(_cycle.c.time)
        .subquery()
    )


def _larger(a: Any, b: Any) -> Any:
    return case((a > b, a), else_=b)


def _interval(a: Any, b: Any, a_s: Any, b_s: Any) -> dict[str, Any]:
    """The tally columns of the interval between readings ``a`` and ``b`` (``b`` later; either
    may be missing, all NULL, from an outer join) whose cycles were recorded at intervals
    ``a_s`` and ``b_s`` (NULL: the default). :func:`powermond.energy.interval_energy` in SQL."""
    # Signed 64 bits: MariaDB's cycle is unsigned (a product with negative watts would be
    # out of range), PostgreSQL's 4 bytes (span x mW passes 2^31 at 600 s and 3.6 kW).
    span = cast(b.cycle, BigInteger) - cast(a.cycle, BigInteger)
    default = literal(DEFAULT_INTERVAL_S, Double)
    bridged = span <= 2 * _larger(func.coalesce(a_s, default), func.coalesce(b_s, default))
    counters = and_(a.energy_kwh.is_not(None), b.energy_kwh.is_not(None))
    watts = and_(a.watts.is_not(None), b.watts.is_not(None))
    rose = and_(counters, b.energy_kwh >= a.energy_kwh)
    counter = case(
        (and_(bridged, rose), b.energy_kwh - a.energy_kwh),
        (and_(bridged, counters, ~watts), b.energy_kwh),  # a reset without watts: from zero
        else_=0,
    )
    counted = case((and_(bridged, or_(rose, and_(counters, ~watts))), 1), else_=0)
    trapezoid = and_(bridged, ~rose, watts)
    return {
        "counter_wh": counter,
        "counter_intervals": counted,
        "integrated_hmj": case((trapezoid, span * a.watts + span * b.watts), else_=0),
        "integrated_intervals": case((trapezoid, 1), else_=0),
    }


def _neighbour(r: Any, before: bool, reach: int) -> Any:
    """The cycle of the outlet's reading just before (or after) ``r``, within ``reach``
    seconds: no interval longer than that is bridged."""
    n = _reading.alias("n" + ("p" if before else "q"))
    at = r.c.cycle
    window = (
        and_(n.c.cycle < at, n.c.cycle >= at - reach)
        if before
        else and_(n.c.cycle > at, n.c.cycle <= at + reach)
    )
    # ORDER BY ... LIMIT 1 rather than max(): MariaDB then stops at the first index entry
    # instead of reading all the outlet's readings.
    order = n.c.cycle.desc() if before else n.c.cycle.asc()
    stmt = select(n.c.cycle).where(n.c.outlet_id == r.c.outlet_id, window)
    return stmt.order_by(order).limit(1).scalar_subquery()


async def _reach(session: AsyncSession) -> int:
    """Seconds past which no interval is bridged: twice the longest recorded interval (and
    the default, for readings without a cycle row)."""
    longest = await session.scalar(select(func.max(_cycle.c.interval_s)))
    return int(2 * max(float(longest or 0.0), DEFAULT_INTERVAL_S)) + 1


# --- per cycle ------------------------------------------------------------------------------


async def add_cycle(session: AsyncSession, stored: StoredCycle) -> None:
    """Add the rollups of ``stored``'s new readings, in the caller's transaction (after the
    readings and the cycle's row were written, under the cycle lock)."""
    if not stored.added:
        return
    t = _epoch(stored.cycle)
    reach = await _reach(session)
    await reopen(session, POWER, _dt(t - reach), stored.cycle)  # the hours changed below
    total = await session.scalar(select(func.count()).where(_reading.c.cycle == t))
    whole = total == stored.added  # no reading of this cycle was stored before
    later = await session.scalar(
        select(_reading.c.cycle).where(_reading.c.cycle > t, _reading.c.cycle <= t + reach).limit(1)
    )
    if whole:
        await _add_readings(session, t, reach, None, late=later is not None)
        await _raise_peaks_to(session, t, stored)
        return
    for chunk in chunked(sorted(stored.outlet_ids)):
        await _add_readings(session, t, reach, chunk, late=later is not None)
    machines, pdus = sorted(stored.machines), sorted(stored.pdus)
    # A negative part can lower a sum a peak was taken from: those owners' hour is recomputed.
    low_m, low_p = stored.low_machines, stored.low_pdus
    hour = hour_of(stored.cycle)
    if low_m or low_p:
        await recompute_peaks(session, hour, hour + HOUR, machines=low_m, pdus=low_p)
    await _raise_peaks(
        session, t, [m for m in machines if m not in low_m], [p for p in pdus if p not in low_p]
    )


async def interval_changed(session: AsyncSession, cycle: datetime) -> None:
    """The recorded interval of ``cycle`` changed after some of its readings were stored (a
    daemon row after a poll's, a longer interval): the intervals to and from its readings
    may be bridged differently now, so their hours are recomputed."""
    t = _epoch(cycle)
    reach = await _reach(session)
    outlets = select(_reading.c.outlet_id).where(_reading.c.cycle == t)
    ids = sorted((await session.scalars(outlets)).all())
    start = hour_of(cycle - timedelta(seconds=reach))
    await recompute(session, start, hour_of(cycle) + HOUR, outlet_ids=ids)


async def _add_readings(
    session: AsyncSession, t: int, reach: int, outlets: Sequence[int] | None, *, late: bool
) -> None:
    """One upsert: the deltas of the cycle's new readings (all the cycle's, or ``outlets``').

    One pass over the readings: each finds its neighbours once (by primary key) and yields
    one row for its own hour and machine, and a second only where the interval it closes
    belongs to another (the hour's first cycle, a remapped outlet). No two rows share a key,
    so the upsert needs no GROUP BY."""
    r = _reading.alias("r")
    new = select(
        r.c.outlet_id,
        r.c.machine_id,
        r.c.cycle,
        r.c.watts,
        r.c.energy_kwh,
        _neighbour(r, True, reach).label("pc"),
        (_neighbour(r, False, reach) if late else cast(null(), BigInteger)).label("qc"),
    ).where(r.c.cycle == t)
    if outlets is not None:
        new = new.where(r.c.outlet_id.in_(outlets))
    dialect = session.get_bind().dialect.name
    if dialect in MARIADB:
        # A derived table with a LIMIT is materialized, not merged into the outer query:
        # merged, MariaDB ran each neighbour's subquery three times per reading (once per
        # reference to it), 2.9 s instead of 1.6 s for an hour's first cycle of 47,500.
        new = new.limit(MATERIALIZE_ALL)
    n = new.subquery("n")
    p, q = _reading.alias("p"), _reading.alias("q")
    iv = _intervals(_dt(t - reach), _dt(t + reach))
    ivp, ivq = iv.alias("ivp"), iv.alias("ivq")
    t_s = literal(await _interval_at(session, t), Double)
    zero: dict[str, Any] = {name: literal_column("0") for name in ADDED[3:]}
    to_t = _interval(p.c, n.c, ivp.c.s, t_s)
    to_q = _interval(n.c, q.c, t_s, ivq.c.s) if late else zero
    p_to_q = _interval(p.c, q.c, ivp.c.s, ivq.c.s) if late else zero
    machine = func.coalesce(n.c.machine_id, 0)
    p_machine = func.coalesce(p.c.machine_id, 0)
    same = and_(p.c.cycle >= (t // HOUR_S) * HOUR_S, p_machine == machine)
    moved = {name: to_t[name] - p_to_q[name] for name in to_t}  # into p's hour and machine
    side = (
        select(literal_column("0").label("side"))
        .union_all(select(literal_column("1").label("side")))
        .subquery("side")
    )
    changes = [moved["counter_intervals"] != 0, moved["integrated_intervals"] != 0]
    if late:
        changes.append(q.c.cycle.is_not(None))
    joined = n.outerjoin(p, and_(p.c.outlet_id == n.c.outlet_id, p.c.cycle == n.c.pc)).outerjoin(
        ivp, ivp.c.at == p.c.cycle
    )
    if late:
        joined = joined.outerjoin(
            q, and_(q.c.outlet_id == n.c.outlet_id, q.c.cycle == n.c.qc)
        ).outerjoin(ivq, ivq.c.at == q.c.cycle)
    # Side 0: the reading's own row; side 1: the interval it closes, where that is elsewhere.
    elsewhere = and_(p.c.cycle.is_not(None), ~same, or_(*changes))
    joined = joined.outerjoin(side, side.c.side <= case((elsewhere, 1), else_=0))
    mine = side.c.side == 0
    own = case((same, literal_column("1")), else_=literal_column("0"))
    rows = select(
        case((mine, t // HOUR_S), else_=hour_number(p.c.cycle)),
        n.c.outlet_id,
        case((mine, machine), else_=p_machine),
        case((mine, 1), else_=0),
        case((and_(mine, n.c.watts.is_not(None)), 1), else_=0),
        case((mine, func.coalesce(n.c.watts, 0)), else_=0),
        case((mine, n.c.watts), else_=cast(null(), BigInteger)),
        *(case((mine, to_q[name] + own * moved[name]), else_=moved[name]) for name in ADDED[3:]),
    ).select_from(joined)
    names = [*HOURLY_KEY, *ADDED[:3], "watts_peak", *ADDED[3:]]
    await _upsert_from(session, _hourly, names, rows, HOURLY_KEY, add=ADDED, peak="watts_peak")


async def _interval_at(session: AsyncSession, t: int) -> float:
    """The recorded interval of the cycle at ``t`` (the default without a cycle row)."""
    iv = _intervals(_dt(t), _dt(t))
    found = await session.scalar(select(iv.c.s))
    return DEFAULT_INTERVAL_S if found is None else float(found)


async def _raise_peaks(
    session: AsyncSession, t: int, machines: Sequence[int] | None, pdus: Sequence[int] | None
) -> None:
    """Raise the hour's peaks to this cycle's sums (of every owner, or of these)."""
    for kind, owners in (("machine", machines), ("pdu", pdus)):
        if owners is not None and not owners:
            continue
        for chunk in [None] if owners is None else chunked(owners):
            sums = _sums(kind, t, t + 1, chunk)
            grouped = select(literal(t // HOUR_S, Integer), sums.c.owner, sums.c.total)
            table_ = _PEAKS[kind]
            key = ("hour", f"{kind}_id")
            await _upsert_from(
                session, table_, [*key, "peak_mw"], grouped, key, add=(), peak="peak_mw"
            )


async def _raise_peaks_to(session: AsyncSession, t: int, stored: StoredCycle) -> None:
    """Raise the hour's peaks to the sums of a cycle stored whole by this write: the sums of
    the rows just written, which the writer holds (in mW, as stored), so no second pass over
    them. The same figures as :func:`_raise_peaks` (tests store cycles both ways)."""
    machines, pdus = stored.machine_mw, stored.pdu_mw
    hour = t // HOUR_S
    for kind, sums in (("machine", machines), ("pdu", pdus)):
        key = ("hour", f"{kind}_id")
        rows = [(hour, owner, total) for owner, total in sums.items()]
        await upsert(
            session, _PEAKS[kind], rows, key, greatest=("peak_mw",), names=(*key, "peak_mw")
        )


def _sums(kind: str, start: int, end: int, owners: Sequence[int] | None) -> Any:
    """Per (cycle, owner) in ``[start, end)``: the sum of the owner's watts."""
    r = _reading.alias("r")
    owner = r.c.machine_id if kind == "machine" else _outlet.c.pdu_id
    stmt = select(r.c.cycle, owner.label("owner"), func.sum(r.c.watts).label("total"))
    if kind == "pdu":  # of its outlets: its inlet meters the same power
        stmt = stmt.join_from(r, _outlet, _outlet.c.id == r.c.outlet_id)
        stmt = stmt.where(_outlet.c.label != INLET, _outlet.c.label.not_like(f"{INLET}.%"))
    stmt = stmt.where(r.c.cycle >= start, r.c.cycle < end, r.c.watts.is_not(None))
    stmt = stmt.where(owner.is_not(None))
    if owners is not None:
        stmt = stmt.where(owner.in_(owners))
    return stmt.group_by(r.c.cycle, owner).subquery("s")


async def _upsert_from(
    session: AsyncSession,
    target: Any,
    names: Sequence[str],
    source: Any,
    key: Sequence[str],
    *,
    add: Sequence[str],
    peak: str,
) -> None:
    """INSERT ``source``'s rows; where a key is stored, add the ``add`` columns and keep the
    larger ``peak`` (NULL: none)."""
    dialect = session.get_bind().dialect.name
    mysql_like = dialect in ("mysql", "mariadb")
    # SQLite needs a WHERE in an upsert's SELECT (else ON CONFLICT could be a join's ON).
    rows = select(source.subquery("src")).where(true())
    stmt = dialect_insert(target, dialect).from_select(names, rows)
    new = stmt.inserted if mysql_like else stmt.excluded
    larger = func.max if dialect == "sqlite" else func.greatest
    old, value = target.c[peak], new[peak]
    changes: dict[str, Any] = {name: target.c[name] + new[name] for name in add}
    changes[peak] = larger(func.coalesce(old, value), func.coalesce(value, old))
    if mysql_like:
        stmt = stmt.on_duplicate_key_update(changes)
    else:
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=changes)
    await session.execute(stmt)


# --- over a range ---------------------------------------------------------------------------


async def recompute(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    outlet_ids: Collection[int] | None = None,
) -> None:
    """Rewrite the power rollups of the whole hours in ``[start, end)`` (of ``outlet_ids``
    only, when given) and the peaks of those hours from the raw readings. Hours before the
    retention horizon keep their rollups: their readings are gone."""
    from powermond.db.retention import pruned_before

    start, end = hour_of(start), _ceil_hour(end)
    horizon = await pruned_before(session)
    if horizon is not None:
        start = max(start, horizon)
    if start >= end:
        return
    await reopen(session, POWER, start, end - timedelta(seconds=1))
    ids = None if outlet_ids is None else sorted(set(outlet_ids))
    reach = await _reach(session)
    h0, h1 = _epoch(start) // HOUR_S, _epoch(end) // HOUR_S
    for chunk in [None] if ids is None else chunked(ids):
        gone = delete(_hourly).where(_hourly.c.hour >= h0, _hourly.c.hour < h1)
        if chunk is not None:
            gone = gone.where(_hourly.c.outlet_id.in_(chunk))
        await session.execute(gone)
        await _insert_range(session, _epoch(start), _epoch(end), reach, chunk)
    if ids is None:
        await recompute_peaks(session, start, end, machines=None, pdus=None)
        return
    machines, pdus = await _owners(session, _epoch(start), _epoch(end), ids)
    await recompute_peaks(session, start, end, machines=machines, pdus=pdus)


async def _insert_range(
    session: AsyncSession, s0: int, s1: int, reach: int, outlets: Sequence[int] | None
) -> None:
    r = _reading.alias("r")
    readings = select(r.c.outlet_id, r.c.machine_id, r.c.cycle, r.c.watts, r.c.energy_kwh)
    readings = readings.add_columns(_neighbour(r, False, reach).label("qc"))
    readings = readings.where(r.c.cycle >= s0, r.c.cycle < s1)
    if outlets is not None:
        readings = readings.where(r.c.outlet_id.in_(outlets))
    n = readings.subquery("n")
    q = _reading.alias("q")
    iv = _intervals(_dt(s0), _dt(s1 + reach))
    ivn, ivq = iv.alias("ivn"), iv.alias("ivq")
    joined = (
        n.outerjoin(q, and_(q.c.outlet_id == n.c.outlet_id, q.c.cycle == n.c.qc))
        .outerjoin(ivn, ivn.c.at == n.c.cycle)
        .outerjoin(ivq, ivq.c.at == n.c.qc)
    )
    to_q = _interval(n.c, q.c, ivn.c.s, ivq.c.s)
    per_reading = select(
        hour_number(n.c.cycle).label("hour"),
        n.c.outlet_id,
        func.coalesce(n.c.machine_id, 0).label("machine_id"),
        n.c.watts,
        *(value.label(name) for name, value in to_q.items()),
    ).select_from(joined)
    d = per_reading.subquery("d")
    grouped = select(
        d.c.hour,
        d.c.outlet_id,
        d.c.machine_id,
        func.count(),
        func.count(d.c.watts),
        func.coalesce(func.sum(d.c.watts), 0),
        func.max(d.c.watts),
        *(func.sum(d.c[name]) for name in to_q),
    ).group_by(d.c.hour, d.c.outlet_id, d.c.machine_id)
    names = [*HOURLY_KEY, "readings", "watts_count", "watts_sum", "watts_peak", *to_q]
    dialect = session.get_bind().dialect.name
    await session.execute(dialect_insert(_hourly, dialect).from_select(names, grouped))


async def _owners(
    session: AsyncSession, s0: int, s1: int, outlet_ids: Sequence[int]
) -> tuple[set[int], set[int]]:
    """The machines the outlets fed and their PDUs, in ``[s0, s1)``."""
    machines: set[int] = set()
    pdus: set[int] = set()
    for chunk in chunked(outlet_ids):
        fed = select(_reading.c.machine_id).distinct()
        fed = fed.where(_reading.c.cycle >= s0, _reading.c.cycle < s1)
        fed = fed.where(_reading.c.outlet_id.in_(chunk), _reading.c.machine_id.is_not(None))
        machines.update((await session.scalars(fed)).all())
        of = select(_outlet.c.pdu_id).distinct().where(_outlet.c.id.in_(chunk))
        pdus.update((await session.scalars(of)).all())
    return machines, pdus


async def recompute_peaks(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    machines: Collection[int] | None,
    pdus: Collection[int] | None,
) -> None:
    """Rewrite the peaks of the hours in ``[start, end)`` (of these owners; ``None``: all)."""
    h0, h1 = _epoch(start) // HOUR_S, _epoch(end) // HOUR_S
    dialect = session.get_bind().dialect.name
    for kind, owners in (("machine", machines), ("pdu", pdus)):
        if owners is not None and not owners:
            continue
        target = _PEAKS[kind]
        owner = target.c[f"{kind}_id"]
        for chunk in [None] if owners is None else chunked(sorted(owners)):
            gone = delete(target).where(target.c.hour >= h0, target.c.hour < h1)
            if chunk is not None:
                gone = gone.where(owner.in_(chunk))
            await session.execute(gone)
            sums = _sums(kind, h0 * HOUR_S, h1 * HOUR_S, chunk)
            hour = hour_number(sums.c.cycle).label("hour")
            per_hour = select(hour, sums.c.owner.label("owner"), sums.c.total).subquery("c")
            peaks = select(per_hour.c.hour, per_hour.c.owner, func.max(per_hour.c.total))
            peaks = peaks.group_by(per_hour.c.hour, per_hour.c.owner)
            insert = dialect_insert(target, dialect)
            await session.execute(insert.from_select(["hour", owner.name, "peak_mw"], peaks))


def _ceil_hour(time: datetime) -> datetime:
    return time if time == hour_of(time) else hour_of(time) + HOUR


# --- load -----------------------------------------------------------------------------------


async def update_load_rollups_for(
    session: AsyncSession, machine_ids: Sequence[int], first: datetime, last: datetime
) -> None:
    """Recompute the load rollups of ``machine_ids`` for the hours from ``first`` to ``last``
    from the stored samples (re-imports and overlapping runs stay exact): one delete and one
    ``INSERT … SELECT`` per chunk of machines, for any number of samples."""
    if not machine_ids:
        return
    start, end = hour_of(first), hour_of(last) + HOUR
    await reopen(session, LOAD, start, end - timedelta(seconds=1))  # first: it takes a lock
    h0, h1 = _epoch(start) // HOUR_S, _epoch(end) // HOUR_S
    dialect = session.get_bind().dialect.name
    for chunk in chunked(sorted(set(machine_ids))):
        await session.execute(
            delete(_load_hourly).where(
                _load_hourly.c.machine_id.in_(chunk),
                _load_hourly.c.hour >= h0,
                _load_hourly.c.hour < h1,
            )
        )
        samples = select(
            hour_number(epoch_seconds(_load.c.time)).label("hour"),
            _load.c.machine_id,
            _load.c.load1,
            _load.c.load5,
            _load.c.load15,
        ).where(_load.c.machine_id.in_(chunk), _load.c.time >= start, _load.c.time < end)
        s = samples.subquery("s")
        sums = select(
            s.c.hour,
            s.c.machine_id,
            func.count(s.c.load1),
            func.coalesce(func.sum(s.c.load1), 0.0),
            func.count(s.c.load5),
            func.coalesce(func.sum(s.c.load5), 0.0),
            func.count(s.c.load15),
            func.coalesce(func.sum(s.c.load15), 0.0),
        ).group_by(s.c.hour, s.c.machine_id)
        names = [c.name for c in _load_hourly.c]
        await session.execute(dialect_insert(_load_hourly, dialect).from_select(names, sums))
