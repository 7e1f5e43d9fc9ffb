"""A batch of a cycle's readings as the rows its insert binds: the integers stored (epoch
seconds, outlet id, machine id, thousandths as :func:`powermond.db.types.milli` makes them).

Built column by column in numpy, not value by value: at 1,000 PDUs a cycle has 47,500
readings, and a Python loop over them (``round`` three times a reading, a tuple, a sort key)
cost more CPU than SQLite's insert of the rows (bench/bench_store.py --profile). numpy's
``rint`` rounds half to even, as ``round`` does, on the same double ``value * 1000``: the
same integers. A batch with a value numpy cannot take exactly (an infinity, a magnitude past
2**53 thousandths) is built value by value, as before, with ``milli``'s own errors.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from operator import itemgetter
from typing import cast

import numpy as np

from powermond.db.outlet_map import NO_MACHINE
from powermond.db.types import MILLI, milli

_EXACT = float(2**53)  # thousandths up to here are exact in a double (and in int64)

Value = float | None
ReadingRow = tuple[int | None, ...]  # cycle, outlet id, machine id, mW, mA, Wh


def reading_rows(
    cycle: int,
    outlet_ids: Sequence[int],
    machine_ids: Sequence[int],
    watts: Sequence[Value],
    amps: Sequence[Value],
    energy: Sequence[Value],
    present: Collection[int] = (),
) -> list[ReadingRow]:
    """The rows of readings whose columns are given (``machine_ids``: :data:`NO_MACHINE` for
    none; values None or NaN: none), in outlet id order (InnoDB's clustered key is (cycle,
    outlet_id): a cycle's rows then append to its pages; SQLite's (outlet_id, cycle) is then
    walked in order), without the outlets in ``present`` (stored before: a replay)."""
    n = len(outlet_ids)
    if any(len(column) != n for column in (machine_ids, watts, amps, energy)):
        raise ValueError("reading columns of different lengths")
    rows = np.empty((n, 6), dtype=np.int64)
    rows[:, 0] = cycle
    rows[:, 1] = outlet_ids
    rows[:, 2] = machine_ids
    none = np.zeros((n, 6), dtype=np.bool_)
    none[:, 2] = rows[:, 2] == NO_MACHINE
    for j, column in ((3, watts), (4, amps), (5, energy)):
        thousandths = np.array(column, dtype=np.float64) * MILLI  # None: NaN
        missing = np.isnan(thousandths)
        if np.any(np.abs(thousandths[~missing]) >= _EXACT):  # an infinity, or no int64
            return _rows_by_value(cycle, outlet_ids, machine_ids, watts, amps, energy, present)
        thousandths[missing] = 0.0
        rows[:, j] = np.rint(thousandths)
        none[:, j] = missing
    if present:
        kept = ~np.isin(rows[:, 1], np.fromiter(present, dtype=np.int64, count=len(present)))
        rows, none = rows[kept], none[kept]
    order = np.argsort(rows[:, 1], kind="stable")
    rows, none = rows[order], none[order]
    # Flat columns of ints (objects the garbage collector does not track), Nones put in,
    # zipped into the rows: one container a row, as the insert takes them.
    columns = [cast("list[int | None]", rows[:, j].tolist()) for j in range(1, 6)]
    for j, column in enumerate(columns, 1):
        for i in np.flatnonzero(none[:, j]).tolist():
            column[i] = None
    return list(zip(itertools.repeat(cycle, len(rows)), *columns, strict=True))


def _rows_by_value(
    cycle: int,
    outlet_ids: Sequence[int],
    machine_ids: Sequence[int],
    watts: Sequence[Value],
    amps: Sequence[Value],
    energy: Sequence[Value],
    present: Collection[int],
) -> list[ReadingRow]:
    columns = zip(
        itertools.repeat(cycle), outlet_ids, machine_ids, watts, amps, energy, strict=False
    )
    found: list[ReadingRow] = [
        (t, o, None if m == NO_MACHINE else m, milli(w), milli(a), milli(e))
        for t, o, m, w, a, e in columns
        if o not in present
    ]
    found.sort(key=itemgetter(1))
    return found
