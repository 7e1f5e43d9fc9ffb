"""A PDU's own inlet meters, and profiles made of an outlet part and an inlet part.

Inlet readings travel as :class:`OutletReading` rows labelled ``inlet`` (unit 1's only or
first inlet), ``inlet.N`` (inlet or input cord N of unit 1) or ``inlet.U.N`` (unit U of a
daisy chain), just as outlets are ``N`` and ``U.N``: the store, the spool, ``poll`` and
``power`` handle them unchanged, and a machine can be mapped to ``PDU:inlet``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from powermond.readings import INLET, OutletReading, is_inlet
from powermond.snmp.profiles._common import Index, Labeler, unit_label
from powermond.snmp.profiles.base import Decoded, Profile, Table, walks

__all__ = ["INLET", "Metered", "inlet_label", "is_inlet", "single_phase_current"]


def inlet_label(unit: int, number: int) -> str:
    """``inlet`` for unit 1 inlet 1, ``inlet.N`` for unit 1 inlet N, else ``inlet.U.N``."""
    if (unit, number) == (1, 1):
        return INLET
    return f"{INLET}.{unit_label(unit, number)}"


def inlet_scalar(_table: Table) -> Callable[[Index], str]:
    """A scalar (index ``0``): the PDU's one total."""

    def label(index: Index) -> str:
        if index != (0,):
            raise ValueError("not a scalar")
        return INLET

    return label


def inlet_by_number(_table: Table) -> Callable[[Index], str]:
    """Index ``N``: inlet (or input feed) N of a standalone PDU."""

    def label(index: Index) -> str:
        (number,) = index
        return inlet_label(1, number)

    return label


def inlet_by_unit(unit_offset: int = 0) -> Labeler:
    """Index ``U``: one inlet per unit (device totals of a daisy chain)."""

    def labeler(_table: Table) -> Callable[[Index], str]:
        def label(index: Index) -> str:
            (unit,) = index
            return inlet_label(unit + unit_offset, 1)

        return label

    return labeler


def inlet_by_unit_number(unit_offset: int = 0) -> Labeler:
    """Index ``U.N``: inlet or input cord N of unit U."""

    def labeler(_table: Table) -> Callable[[Index], str]:
        def label(index: Index) -> str:
            unit, number = index
            return inlet_label(unit + unit_offset, number)

        return label

    return labeler


def single_phase_current(column: str, unit_of: Callable[[Index], int]) -> Labeler:
    """Rows of a phase table (``column`` holds their current): a unit's only phase row is
    its inlet's current, labelled as the unit's inlet. The phases of a multi-phase unit add
    up to no inlet current, so those rows are skipped quietly; ``unit_of`` gives a row's
    unit (``ValueError`` for a row it cannot place, warned about when labelled)."""

    def labeler(table: Table) -> Callable[[Index], str | None]:
        phases: dict[int, int] = {}
        for index in table.get(column) or {}:
            with suppress(ValueError):
                unit = unit_of(index)
                phases[unit] = phases.get(unit, 0) + 1

        def label(index: Index) -> str | None:
            unit = unit_of(index)
            return inlet_label(unit, 1) if phases.get(unit) == 1 else None

        return label

    return labeler


def _blank_inlet(reading: OutletReading) -> bool:
    # An inlet row that gives nothing (every column -1, "not supported") is no meter at all.
    return is_inlet(reading.outlet) and (
        reading.watts is None and reading.amps is None and reading.energy_kwh is None
    )


def _merged(readings: Iterable[OutletReading]) -> tuple[OutletReading, ...]:
    """One reading per label: a later part fills what an earlier one left None (an inlet's
    current from a line table beside its power from the cord table)."""
    by_label: dict[str, OutletReading] = {}
    for r in readings:
        seen = by_label.get(r.outlet)
        if seen is None:
            by_label[r.outlet] = r
        else:
            by_label[r.outlet] = OutletReading(
                r.outlet,
                _first(seen.watts, r.watts),
                _first(seen.amps, r.amps),
                _first(seen.energy_kwh, r.energy_kwh),
            )
    return tuple(by_label.values())


def _first(a: float | None, b: float | None) -> float | None:
    return a if a is not None else b


@dataclass(frozen=True, slots=True)
class Metered:
    """A profile made of parts (outlets, inlets) walked together; readings concatenated.

    A part that finds no rows only warns when no part finds any: an inlet-only PDU is not
    told every cycle that it has no outlet table. Rows of one label from several parts are
    merged (see :func:`_merged`).
    """

    name: str
    parts: tuple[Profile, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for part in self.parts for c in part.columns))

    @property
    def walks(self) -> tuple[tuple[str, ...], ...]:
        """The first part's main (outlet) walk, then every other column in one more walk,
        sized by its own row count (an inlet's few rows)."""
        main, *rest = (group for part in self.parts for group in walks(part))
        others = tuple(dict.fromkeys(c for group in rest for c in group if c not in main))
        return (main, others) if others else (main,)

    def decode(self, table: Table) -> Decoded:
        decoded = [part.decode(table) for part in self.parts]
        readings = _merged(r for d in decoded for r in d.readings if not _blank_inlet(r))
        answering: Sequence[Decoded] = [d for d in decoded if d.readings or d.notes]
        warnings = (w for d in (answering if readings else decoded) for w in d.warnings)
        notes = tuple(n for d in decoded for n in d.notes)
        return Decoded(readings, tuple(warnings), notes)
