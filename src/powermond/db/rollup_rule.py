"""The energy rule in SQL, and the ``power_hourly`` rows it gives (:mod:`powermond.db.rollups`
explains where they are used): each cycle's recorded interval (:func:`cycle_intervals`), the
longest span bridged between two readings (:func:`_bound`, :func:`reach`), an interval's tally
(:func:`_interval`: :func:`powermond.energy.interval_energy` as SQL), and the rows of whole
hours from the raw readings (:func:`hourly_rows`), with the tables as SQL sees them and the
hour arithmetic the other rollup modules share."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    and_,
    case,
    cast,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from powermond.db.tables import Cycle, Outlet
from powermond.db.types import HOUR_S, epoch_seconds
from powermond.energy import DEFAULT_INTERVAL_S, bridged_span_s

HOUR = timedelta(hours=1)
DAEMON = "daemon"  # db.cycles.DAEMON (not imported: cycles imports bulk, as this does)
# Tables whose declared types convert nothing serve as declared.
_outlet = Outlet.__table__
_cycle = Cycle.__table__
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
# SQLite's close of an outlet range: hour by hour, each outlet's listed times by key seeks,
# each reading paired with the next by one more (_paired_hour), rather than the range's
# readings of each time in cycle order sorted for LEAD, when it lists at most this many
# times. An hour's close (14 times at 300 s, 1,000 PDUs): 2.1 s instead of 3.3 s for its
# power_hourly statements (by LEAD over the same seeks, as until 2026-12-02; 3.3 s by
# cycle too); a catch-up of 16 hours (194 times): 47 s by seeks and LEAD, 28 s by cycle
# (bench/bench_store.py --sqlite-close; docs/scaling.md).
SQLITE_BY_OUTLET_TIMES = 48


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


def intervals_query(s0: int, s1: int) -> Select[Any]:
    """(epoch seconds, recorded interval) of every cycle time in ``[s0, s1]``."""
    iv = _intervals(_dt(s0), _dt(s1))
    return select(iv.c.at, iv.c.s)


async def cycle_intervals(session: AsyncSession, s0: int, s1: int) -> dict[int, float]:
    """The recorded interval of every cycle time in ``[s0, s1]`` (epoch seconds)."""
    return {int(at): float(s) for at, s in await session.execute(intervals_query(s0, s1))}


def _bound(a: Any, b: Any, intervals: Mapping[int, float]) -> Any:
    """SQL: the longest span (whole seconds) bridged between the readings at ``a`` and ``b``:
    :func:`~powermond.energy.bridged_span_s` of the longer recorded interval of their
    cycles (a time without a cycle row, or no time: the default), computed here for each
    distinct interval of the range given every cycle's (``intervals``), an integer literal:
    a CASE over the few cycle times instead of a join per reading (which cost MariaDB a
    third of a close), and a constant when every cycle ran at the default interval. (Until
    2026-12-03 the interval itself, a Double the span was compared with twice of.)"""
    default = bridged_span_s(DEFAULT_INTERVAL_S)
    by_bound: dict[int, list[int]] = {}
    for at, s in intervals.items():
        if (bound := bridged_span_s(s)) != default:
            by_bound.setdefault(bound, []).append(at)
    if not by_bound:
        return _seconds(default)

    def of(at: Any) -> Any:
        cases = [(at.in_(sorted(ats)), _seconds(n)) for n, ats in sorted(by_bound.items())]
        return case(*cases, else_=_seconds(default))

    return _larger(of(a), of(b))


def _seconds(n: int) -> Any:
    """SQL: the integer literal ``n`` (not a parameter: every dialect compares it as an
    integer with the integer span)."""
    return literal_column(str(int(n)), BigInteger)


def _interval(a: Any, b: Any, bound: Any) -> dict[str, Any]:
    """The tally columns of the interval between readings ``a`` and ``b`` (``b`` later; ``b``
    may be missing, all NULL), bridged when its span is at most ``bound`` (:func:`_bound`).
    :func:`powermond.energy.interval_energy` in SQL."""
    # Signed 64 bits: MariaDB's cycle is unsigned (a product with negative watts would be
    # out of range), PostgreSQL's 4 bytes (span x mW passes 2^31 at 600 s and 3.6 kW).
    span = cast(b.cycle, BigInteger) - cast(a.cycle, BigInteger)
    bridged = span <= bound
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


async def reach(session: AsyncSession) -> int:
    """Seconds past which no interval is bridged: twice the longest recorded interval (and
    the default, for readings without a cycle row)."""
    return reach_of(await session.scalar(select(func.max(_cycle.c.interval_s))))


def reach_of(longest: float | None) -> int:
    """:func:`reach` given the longest recorded interval (``None``: no cycle row)."""
    return bridged_span_s(max(float(longest or 0.0), DEFAULT_INTERVAL_S)) + 1


# --- the rows of hours, from the raw readings ------------------------------------------------


class _Scan(NamedTuple):
    """Where a statement reads the readings (``r``: their columns) and, when asked, their
    outlets' rows (``o``: id, pdu_id, label)."""

    r: Any
    o: Any
    source: Any  # the FROM
    where: list[Any]
    outlet: Any  # the outlet id to partition and group by


def _scan(dialect: str, outlets: bool, suffix: str = "", *, by_outlet: bool = False) -> _Scan:
    """The readings (and their outlets). SQLite's are keyed (cycle, outlet_id) with no other
    index (migration 0013): a range of cycles is one range of the key, in cycle order;
    ``by_outlet`` (the caller lists the readings' times, :func:`reading_times`): each
    outlet's readings of those times by one key seek per time, the outlets in id order (not
    by their index: SQLite would then read outlet by outlet anyway), so the rows come in
    the order ``LEAD`` and the GROUP BY want and nothing is sorted. The servers' planners
    choose well by themselves (both read their key (cycle, outlet_id): MariaDB's rows are
    clustered by it, PostgreSQL's heap is in cycle order)."""
    r_as, o_as = "r" + suffix, "o" + suffix
    if dialect == "sqlite" and by_outlet:
        r = _named_columns(r_as)
        o = SimpleNamespace(
            **{n: literal_column(f"{o_as}.{n}", _outlet.c[n].type) for n in _OUTLET_COLS}
        )
        scan = text(f"outlet AS {o_as} NOT INDEXED CROSS JOIN power_reading AS {r_as}")
        return _Scan(r, o, scan, [r.outlet_id == o.id], o.id)
    reading = _reading.alias(r_as)
    if not outlets:
        return _Scan(reading.c, None, reading, [], reading.c.outlet_id)
    outlet = _outlet.alias(o_as)
    joined = reading.join(outlet, outlet.c.id == reading.c.outlet_id)
    return _Scan(reading.c, outlet.c, joined, [], reading.c.outlet_id)


_OUTLET_COLS = ("id", "pdu_id", "label")


def _named_columns(alias: str) -> SimpleNamespace:
    """The readings' columns under ``alias``, named in a textual FROM (SQLite's scans)."""
    return SimpleNamespace(
        **{c.name: literal_column(f"{alias}.{c.name}", c.type) for c in _reading.c}
    )


def _next(n: Any) -> Any:
    """The next reading of ``n``'s outlet, as the columns ``LEAD`` gave it."""
    return SimpleNamespace(cycle=n.c.q_cycle, watts=n.c.q_watts, energy_kwh=n.c.q_energy)


def _fed(s0: int, s1: int, machine_ids: Collection[int], dialect: str) -> Select[Any]:
    """The outlets with a reading of ``machine_ids`` in ``[s0, s1)``."""
    scan = _scan(dialect, outlets=False, suffix="_fed")
    r = scan.r
    stmt = select(r.outlet_id).select_from(scan.source).where(*scan.where)
    stmt = stmt.where(r.cycle >= s0, r.cycle < s1, r.machine_id.in_(sorted(machine_ids)))
    return stmt.distinct()


def _by_outlet(times: Sequence[int] | None) -> bool:
    """Whether SQLite reads each outlet's readings of the listed ``times`` by key seeks
    (:data:`SQLITE_BY_OUTLET_TIMES`): :func:`hourly_rows`' scan, and the paired path of a
    close's outlet range (:func:`powermond.db.rollup_sqlite._paired_hour`)."""
    return times is not None and len(times) <= SQLITE_BY_OUTLET_TIMES


def hourly_rows(
    s0: int,
    s1: int,
    reach: int,
    intervals: Mapping[int, float],
    dialect: str,
    machine_ids: Collection[int] | None = None,
    outlets: tuple[int, int] | None = None,
    times: Sequence[int] | None = None,
    outlet_ids: Any = None,
) -> Select[Any]:
    """The ``power_hourly`` rows of the whole hours ``[s0, s1)`` (epoch seconds), from the raw
    readings: one ``SELECT`` (the ``hour`` column as hours since 1970, ``machine_id`` 0 for
    readings that fed none); ``intervals``: :func:`cycle_intervals` of ``[s0, s1 + reach]``;
    ``machine_ids``: the rows of the outlets that fed these (and only those are exact for
    these machines: the caller keeps their rows), all readings of such an outlet still read;
    ``outlets``: only the outlets of this inclusive id range; ``times``: every time a
    reading of ``[s0, s1 + reach)`` has (:func:`reading_times`; or those of them
    :func:`bridged_times` keeps: the others are never bridged), listed in the WHERE so that
    MariaDB reads its key (cycle, outlet_id) as one range of the outlets per time.
    Each reading's next one (the interval it opens) is found by ``LEAD`` over its outlet's
    readings up to ``reach`` past the end: one ordered pass, where
    a correlated subquery per reading probed the key once for each."""
    by_outlet = _by_outlet(times)
    scan = _scan(dialect, outlets=False, by_outlet=by_outlet)
    r = scan.r
    over: dict[str, Any] = {"partition_by": scan.outlet, "order_by": r.cycle}
    readings = (
        select(
            r.outlet_id.label("outlet_id"), r.machine_id.label("machine_id"),
            r.cycle.label("cycle"), r.watts.label("watts"), r.energy_kwh.label("energy_kwh"),
            func.lead(r.cycle).over(**over).label("q_cycle"),
            func.lead(r.watts).over(**over).label("q_watts"),
            func.lead(r.energy_kwh).over(**over).label("q_energy"),
        )
        .select_from(scan.source)
        .where(*scan.where, r.cycle >= s0, r.cycle < s1 + reach)
    )  # fmt: skip
    if machine_ids is not None:  # a machine's report or plot: its outlets, not the site's
        readings = readings.where(scan.outlet.in_(_fed(s0, s1, machine_ids, dialect)))
    if outlets is not None:
        readings = readings.where(scan.outlet.between(*outlets))
    if outlet_ids is not None:  # a SELECT of them
        readings = readings.where(scan.outlet.in_(outlet_ids))
    if times is not None:
        readings = readings.where(r.cycle.in_(times))
    n = readings.subquery("n")
    to_q = _interval(n.c, _next(n), _bound(n.c.cycle, n.c.q_cycle, intervals))
    per_reading = select(
        hour_number(n.c.cycle).label("hour"),
        n.c.outlet_id,
        func.coalesce(n.c.machine_id, 0).label("machine_id"),
        n.c.watts,
        *(value.label(name) for name, value in to_q.items()),
    ).where(n.c.cycle < s1)
    d = per_reading.subquery("d")
    return select(
        d.c.hour,
        d.c.outlet_id,
        d.c.machine_id,
        *_tally_sums(d.c.watts, {name: d.c[name] for name in to_q}),
    ).group_by(d.c.hour, d.c.outlet_id, d.c.machine_id)


def _tally_sums(watts: Any, per_reading: Mapping[str, Any]) -> list[Any]:
    """A group's ``power_hourly`` tally (after its key columns): its readings, their watts
    (count, sum, peak), and the sums of :func:`_interval`'s columns ``per_reading``."""
    return [
        func.count().label("readings"),
        func.count(watts).label("watts_count"),
        func.coalesce(func.sum(watts), 0).label("watts_sum"),
        func.max(watts).label("watts_peak"),
        *(func.sum(value).label(name) for name, value in per_reading.items()),
    ]
