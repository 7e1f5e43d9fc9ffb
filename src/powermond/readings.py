"""The domain values that flow from collectors to the database."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import overload


@dataclass(frozen=True, slots=True)
class OutletReading:
    """One outlet's values in one cycle; ``None`` where the PDU gives no such value.

    ``outlet`` is the outlet label as printed on the PDU: ``"N"`` for unit 1 (or a
    standalone PDU), ``"U.N"`` for unit U of a daisy chain, or a vendor ID such as
    ServerTech's ``"AB3"``.
    """

    outlet: str
    watts: float | None
    amps: float | None
    energy_kwh: float | None


_NAN = math.nan
#: Label tuples in use, shared by every PDU that reports the same labels (bounded).
_LABELS: dict[tuple[str, ...], tuple[str, ...]] = {}
_MAX_LABEL_TUPLES = 1024


def _shared_labels(labels: tuple[str, ...]) -> tuple[str, ...]:
    if len(_LABELS) >= _MAX_LABEL_TUPLES and labels not in _LABELS:
        _LABELS.clear()  # a site of many PDU models, or renumbering devices: start over
    return _LABELS.setdefault(labels, labels)


class OutletReadings(Sequence[OutletReading]):
    """One PDU's readings of a cycle, kept in columns: a sequence of :class:`OutletReading`
    made on demand.

    A cycle holds every PDU's readings from the poll to the store; as objects (a reading and
    its three floats, ~140 bytes) that was 65 MB at 10,000 PDUs of 48 outlets. Here a PDU's
    values are one array of doubles (NaN for a value the PDU does not give: no reading is
    NaN, SNMP values are integers) and its labels one tuple, shared by every PDU with the
    same labels: ~1.2 kB a PDU.
    """

    __slots__ = ("_labels", "_values")

    def __init__(self, readings: Iterable[OutletReading] = ()) -> None:
        rows = readings if isinstance(readings, list | tuple) else list(readings)
        self._labels = _shared_labels(tuple(r.outlet for r in rows))
        values = array("d", [_NAN if r.watts is None else r.watts for r in rows])
        values.extend([_NAN if r.amps is None else r.amps for r in rows])
        values.extend([_NAN if r.energy_kwh is None else r.energy_kwh for r in rows])
        self._values = values

    @property
    def labels(self) -> tuple[str, ...]:
        """The outlet labels, in order (without making the readings)."""
        return self._labels

    def __len__(self) -> int:
        return len(self._labels)

    @overload
    def __getitem__(self, index: int) -> OutletReading: ...
    @overload
    def __getitem__(self, index: slice) -> OutletReadings: ...
    def __getitem__(self, index: int | slice) -> OutletReading | OutletReadings:
        if isinstance(index, slice):
            return OutletReadings(list(self)[index])
        n = len(self._labels)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("reading index out of range")
        v = self._values
        return OutletReading(
            self._labels[index], _value(v[index]), _value(v[n + index]), _value(v[2 * n + index])
        )

    def __iter__(self) -> Iterator[OutletReading]:
        n = len(self._labels)
        v = self._values
        for label, w, a, e in zip(self._labels, v[:n], v[n : 2 * n], v[2 * n :], strict=True):
            yield OutletReading(label, _value(w), _value(a), _value(e))

    def columns(self) -> tuple[tuple[str, ...], array[float], array[float], array[float]]:
        """Labels, watts, amps and energy (kWh) as columns, NaN where the PDU gave no value:
        for writers that go through every reading (no object made per reading)."""
        n = len(self._labels)
        v = self._values
        return self._labels, v[:n], v[n : 2 * n], v[2 * n :]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"OutletReadings({list(self)!r})"


def label_tuple(readings: Sequence[OutletReading]) -> tuple[str, ...]:
    """The outlet labels of ``readings``, in order."""
    if isinstance(readings, OutletReadings):
        return readings.labels
    return tuple(r.outlet for r in readings)


def _value(x: float) -> float | None:
    return None if x != x else x  # NaN: no value


#: The label of a PDU's own inlet meter (unit 1, inlet 1); ``inlet.N`` and ``inlet.U.N``
#: are inlet or input cord N (of unit U). Stored and mapped like outlets.
INLET = "inlet"


def is_inlet(label: str) -> bool:
    """Whether an outlet label names the PDU's inlet meter rather than an outlet."""
    return label == INLET or label.startswith(INLET + ".")


@dataclass(frozen=True, slots=True)
class LoadSample:
    """CPU load averages of one machine at one time (UTC)."""

    time: datetime
    load1: float | None
    load5: float | None
    load15: float | None
