"""The parts every vendor profile shares: value checks, outlet labels, the column decoder.

Most vendors keep power, current and energy in sibling columns of one outlet table that
share an index; :class:`ColumnProfile` decodes that shape, and each vendor module only says
which columns, which scaling and how an index becomes an outlet label.

Bad device data never raises out of ``decode``: the value becomes ``None`` and a warning
names the outlet and the column. Only ``-1``, the MIBs' "not supported", is dropped quietly.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from powermond.devtext import device_text
from powermond.readings import OutletReading
from powermond.snmp.ber import MAX_SUB_IDENTIFIER
from powermond.snmp.profiles.base import Decoded, Rows, Table

Index = tuple[int, ...]

#: Given the walked table, a function from a row index to its outlet label. The function
#: returns ``None`` for a row to skip quietly (a placeholder) and raises ``ValueError`` for
#: a row it cannot label (reported as a warning).
Labeler = Callable[[Table], Callable[[Index], str | None]]

# Beyond these a per-outlet value is garbage, not a reading: no outlet carries 100 kW, and
# a counter of 10^8 kWh is a millennium of a 10 kW load.
MAX_WATTS = 100_000.0
MAX_AMPS = 1_000.0
MAX_KWH = 1e8

NOT_SUPPORTED = -1
_EMPTY: Rows = {}


@dataclass(frozen=True, slots=True)
class Quantity:
    """A column holding one quantity: ``raw x factor / divisor`` is W, A or kWh.

    ``factor`` is for units coarser than the SI one (hundredths of kW: factor 10), kept an
    integer so that 121 x 10 is exactly 1210. ``missing`` is the vendor's own "not
    supported" value besides -1 (ATEN's -2000000), dropped as quietly as -1.
    """

    oid: str
    divisor: float
    factor: int = 1
    missing: int = NOT_SUPPORTED


def to_si(
    raw: object,
    divisor: float,
    limit: float,
    outlet: str,
    column: str,
    warnings: list[str],
    *,
    factor: int = 1,
    missing: int = NOT_SUPPORTED,
) -> float | None:
    """``raw x factor / divisor``, or ``None`` (with a warning unless the device said
    "unsupported": -1, or the column's own ``missing`` value)."""
    # Division, not multiplication by 0.1: 9 / 10 is exactly the float 0.9, 9 * 0.1 is not.
    if isinstance(raw, int):
        if raw >= 0:
            value = raw * factor / divisor
            if value <= limit:
                return value
            warnings.append(f"outlet {outlet}: {column} = {raw} is beyond {limit:g}; ignored")
        elif raw not in (NOT_SUPPORTED, missing):
            warnings.append(f"outlet {outlet}: {column} = {raw} is negative; ignored")
        return None
    if raw is not None:
        text = device_text(raw)
        warnings.append(f"outlet {outlet}: {column} = {text!r} is not a number; ignored")
    return None


def positive_int(value: object, what: str) -> int:
    """An index part or a number column's value that must be a whole number >= 1."""
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} {value!r} is not a number >= 1")
    return value


#: Labels made so far, by (unit, outlet): every PDU of a site has the same few hundred.
_UNIT_LABELS: dict[tuple[int, int], str] = {}
_MAX_UNIT_LABELS = 65536


def unit_label(unit: int, outlet: int) -> str:
    """``"N"`` for unit 1 (a standalone PDU), ``"U.N"`` for unit U of a daisy chain."""
    label = _UNIT_LABELS.get((unit, outlet))
    if label is not None:
        return label
    if unit < 1 or outlet < 1:
        raise ValueError(f"unit {unit} outlet {outlet} is out of range")
    label = sys.intern(str(outlet) if unit == 1 else f"{unit}.{outlet}")
    if len(_UNIT_LABELS) >= _MAX_UNIT_LABELS:  # absurd unit numbers by the thousand
        _UNIT_LABELS.clear()
    _UNIT_LABELS[(unit, outlet)] = label
    return label


def letters_label(first: int, second: int, outlet: int) -> str:
    """ServerTech IDs: tower/unit and infeed/cord as letters A.., then the number (``AB3``)."""
    if not (1 <= first <= 26 and 1 <= second <= 26 and outlet >= 1):
        raise ValueError(f"index {first}.{second}.{outlet} has no letter ID")
    return f"{chr(64 + first)}{chr(64 + second)}{outlet}"


def by_outlet_index(_table: Table) -> Callable[[Index], str]:
    """Index ``N``, the outlet number on a standalone PDU."""

    def label(index: Index) -> str:
        (outlet,) = index
        return unit_label(1, outlet)

    return label


def by_unit_index(unit_offset: int = 0) -> Labeler:
    """Index ``U.N``; ``unit_offset`` shifts vendors that count units from 0."""

    def labeler(_table: Table) -> Callable[[Index], str]:
        def label(index: Index) -> str:
            unit, outlet = index
            return unit_label(unit + unit_offset, outlet)

        return label

    return labeler


def by_letters(_table: Table) -> Callable[[Index], str]:
    """Index ``T.I.N`` (tower/unit, infeed/cord, outlet) -> ``AA1``-style vendor ID."""

    def label(index: Index) -> str:
        first, second, outlet = index
        return letters_label(first, second, outlet)

    return label


def by_module_number(module_oid: str, number_oid: str) -> Labeler:
    """Flat index; the Module and Number columns give unit and outlet (daisy chains).

    A device that lacks both columns is a single unit whose index is the outlet number.
    """

    def labeler(table: Table) -> Callable[[Index], str]:
        modules = table.get(module_oid)
        numbers = table.get(number_oid)

        def label(index: Index) -> str:
            (flat,) = index
            unit = modules.get(index) if modules else 1
            outlet = numbers.get(index) if numbers else flat
            # The usual row without the checks' calls; anything else is checked (and named).
            if type(unit) is not int or unit < 1:
                unit = positive_int(unit, "module")
            if type(outlet) is not int or outlet < 1:
                outlet = positive_int(outlet, "outlet number")
            return unit_label(unit, outlet)

        return label

    return labeler


def _index_text(index: Index) -> str:
    return ".".join(map(str, index))


def assign_labels(
    indices: Iterable[Index], label_of: Callable[[Index], str | None], warnings: list[str]
) -> dict[Index, str]:
    """Each row index's outlet label; unlabelable or duplicate rows are warned and skipped."""
    labels: dict[Index, str] = {}
    seen: set[str] = set()
    for index in indices:
        if index and max(index) > MAX_SUB_IDENTIFIER:  # pysnmp (v3) lets these through
            warnings.append(f"row {_index_text(index)[:40]}: index arc above 2^32-1; skipped")
            continue
        try:
            label = label_of(index)
        except ValueError as exc:  # also catches a wrong index length on unpacking
            warnings.append(f"row {_index_text(index)}: {exc}; skipped")
            continue
        if label is None:
            continue
        if label in seen:
            warnings.append(f"row {_index_text(index)}: outlet {label} appears twice; skipped")
            continue
        seen.add(label)
        labels[index] = sys.intern(label)  # 10,000 PDUs' "1".."48" as 48 strings, not 480,000
    return labels


def no_rows(name: str, columns: tuple[str, ...]) -> Decoded:
    return Decoded((), (f"{name}: no outlet rows in {', '.join(columns)}",))


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """Power, current and energy in sibling columns sharing one index (most vendors)."""

    name: str
    watts: Quantity | None
    amps: Quantity | None
    energy: Quantity | None
    labels: Labeler
    #: Columns the labeler reads (unit/outlet numbers, placeholder markers).
    label_columns: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        present = (q.oid for q in (self.watts, self.amps, self.energy) if q is not None)
        return (*present, *self.label_columns)

    def decode(self, table: Table) -> Decoded:
        watts = _rows(table, self.watts)
        amps = _rows(table, self.amps)
        energy = _rows(table, self.energy)
        indices = sorted(set(watts).union(amps, energy))
        if not indices:
            return no_rows(self.name, self.columns)
        warnings: list[str] = []
        labels = assign_labels(indices, self.labels(table), warnings)
        rows = labels.items()
        w = _scaling("watts", self.watts, MAX_WATTS).values(watts, rows, warnings)
        a = _scaling("amps", self.amps, MAX_AMPS).values(amps, rows, warnings)
        e = _scaling("energy", self.energy, MAX_KWH).values(energy, rows, warnings)
        readings = tuple(map(OutletReading, labels.values(), w, a, e))
        return Decoded(readings, tuple(warnings))


def _rows(table: Table, quantity: Quantity | None) -> Rows:
    if quantity is None:
        return _EMPTY
    return table.get(quantity.oid) or _EMPTY


@dataclass(frozen=True, slots=True)
class _Scaling:
    quantity: Quantity
    column: str  # the column's name in warnings (``watts 1.3.6.1...``)
    limit: float

    def value(self, raw: object, label: str, warnings: list[str]) -> float | None:
        q = self.quantity
        if type(raw) is int and raw >= 0:  # the usual reading, without the call below
            value = raw * q.factor / q.divisor
            if value <= self.limit:
                return value
        return to_si(
            raw, q.divisor, self.limit, label, self.column, warnings, factor=q.factor,
            missing=q.missing,
        )  # fmt: skip

    def values(
        self, column: Rows, rows: Iterable[tuple[Index, str]], warnings: list[str]
    ) -> list[float | None]:
        """:meth:`value` of each (index, label) row, the usual reading inline."""
        factor, divisor, limit = self.quantity.factor, self.quantity.divisor, self.limit
        get = column.get
        out: list[float | None] = []
        append = out.append
        for index, label in rows:
            raw = get(index)
            if type(raw) is int and raw >= 0 and (value := raw * factor / divisor) <= limit:
                append(value)
            else:
                append(self.value(raw, label, warnings))
        return out


_NO_QUANTITY = Quantity("", 1.0)


@functools.lru_cache(maxsize=1024)
def _scaling(kind: str, quantity: Quantity | None, limit: float) -> _Scaling:
    if quantity is None:
        return _Scaling(_NO_QUANTITY, "", limit)
    return _Scaling(quantity, f"{kind} {quantity.oid}", limit)
