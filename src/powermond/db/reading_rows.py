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
from array import array
from collections.abc import Collection, Sequence
from operator import itemgetter
from typing import Any, cast

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
    return batch_rows(cycle, [(outlet_ids, machine_ids, watts, amps, energy)], present)


Columns = tuple[Sequence[int], Sequence[int], Sequence[Value], Sequence[Value], Sequence[Value]]


def batch_rows(
    cycle: int, pdus: Sequence[Columns], present: Collection[int] = ()
) -> list[ReadingRow]:
    """:func:`reading_rows` of several PDUs' columns (outlet ids, machine ids, watts, amps,
    energy each), concatenated in numpy (arrays, as the outlet map and ``OutletReadings``
    keep them, are taken without a Python object per value)."""
    if any(len(c) != len(p[0]) for p in pdus for c in p):
        raise ValueError("reading columns of different lengths")
    if not pdus:
        return []
    ints = [_joined([p[k] for p in pdus], "i", np.int64) for k in (0, 1)]
    floats = [_joined([p[k] for p in pdus], "d", np.float64) for k in (2, 3, 4)]
    n = len(ints[0])
    rows = np.empty((n, 6), dtype=np.int64)
    rows[:, 0] = cycle
    rows[:, 1] = ints[0]
    rows[:, 2] = ints[1]
    none = np.zeros((n, 6), dtype=np.bool_)
    none[:, 2] = rows[:, 2] == NO_MACHINE
    for j, column in zip((3, 4, 5), floats, strict=True):
        thousandths = column * MILLI  # None: NaN
        missing = np.isnan(thousandths)
        if np.any(np.abs(thousandths[~missing]) >= _EXACT):  # an infinity, or no int64
            return _rows_by_value(cycle, pdus, present)
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
    flat = [cast("list[int | None]", rows[:, j].tolist()) for j in range(1, 6)]
    for j, values in enumerate(flat, 1):
        for i in np.flatnonzero(none[:, j]).tolist():
            values[i] = None
    return list(zip(itertools.repeat(cycle, len(rows)), *flat, strict=True))


def _joined(pieces: Sequence[Sequence[Any]], typecode: str, dtype: Any) -> Any:
    """The pieces of a column as one numpy array (None: NaN): arrays of ``typecode`` (the
    outlet map's ids, ``OutletReadings``' values) joined by memory copies, 20 times faster
    than numpy's conversion of each piece."""
    if all(isinstance(piece, array) and piece.typecode == typecode for piece in pieces):
        joined = array(typecode)
        for piece in pieces:
            joined.extend(piece)
        return np.asarray(joined, dtype=dtype)
    return np.concatenate([np.asarray(piece, dtype=dtype) for piece in pieces])


def _rows_by_value(
    cycle: int, pdus: Sequence[Columns], present: Collection[int]
) -> list[ReadingRow]:
    found: list[ReadingRow] = [
        (cycle, o, None if m == NO_MACHINE else m, milli(w), milli(a), milli(e))
        for pdu in pdus
        for o, m, w, a, e in zip(*pdu, strict=True)
        if o not in present
    ]
    found.sort(key=itemgetter(1))
    return found
