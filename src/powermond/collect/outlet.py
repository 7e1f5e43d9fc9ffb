"""One outlet now: ``powermon poll --pdu P --outlet N``, the original system's getData(outlet).

The outlet's table row follows from its label (``N``, ``U.N``, ``AB3`` as machines.toml
writes it), so one SNMP GET asks for that row in every column of the PDU's profile, and the
profile's own decoder turns the answer into the reading: exactly what a cycle would store.
The rows a label may be (``8`` is row 8, or row 1.8 of a unit-indexed table, or 0.8 where
units count from 0) travel in that same GET; the decoder names each row that exists.

Two cases need more than the one GET, and say so in a warning: a daisy chain whose rows are
numbered flat (APC rPDU2, CyberPower: unit 2's outlet 3 is not row 2.3), where the profile's
label columns are walked first to find the row; and a label the row cannot be derived from
(inlets, or a profile this module does not know), where the whole table is walked.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from powermond.collect.cycle import PduResult, pdu_bound
from powermond.inventory.model import PduConfig
from powermond.readings import OutletReading
from powermond.snmp.client import PduTransport, SnmpError
from powermond.snmp.profiles.base import Profile, Table

Index = tuple[int, ...]

_NUMBER = re.compile(r"^(\d+)$")
_UNIT_NUMBER = re.compile(r"^(\d+)\.(\d+)$")
_LETTERS = re.compile(r"^([A-Z])([A-Z])(\d+)$")
LABEL = re.compile(r"^(?:\d+|\d+\.\d+|[A-Z]{1,2}\d+|inlet(?:\.\d+)?)$")


@dataclass(frozen=True, slots=True)
class Request:
    """The (column, row) pairs one GET asks for."""

    cells: tuple[tuple[str, Index], ...]

    @property
    def oids(self) -> list[str]:
        return [".".join((column, *map(str, row))) for column, row in self.cells]


def rows_for(label: str) -> list[Index]:
    """The table rows an outlet label may be, over the index shapes vendors use."""
    if match := _NUMBER.match(label):
        n = int(match[1])
        return [(n,), (1, n), (0, n)]  # flat; unit 1 of U.N; unit 0 where units count from 0
    if match := _UNIT_NUMBER.match(label):
        unit, n = int(match[1]), int(match[2])
        return [(unit, n), (unit - 1, n)]
    if match := _LETTERS.match(label):
        return [(ord(match[1]) - 64, ord(match[2]) - 64, int(match[3]))]
    return []


def request_for(profile: Profile, rows: Sequence[Index]) -> Request | None:
    """Every column of ``profile`` at each of ``rows``; None for a profile of unknown shape."""
    from powermond.snmp.profiles._common import ColumnProfile
    from powermond.snmp.profiles.custom import WithVoltage
    from powermond.snmp.profiles.raritan import (
        ACTIVE_ENERGY,
        ACTIVE_POWER,
        RMS_CURRENT,
        SensorTable,
    )

    inner = profile.inner if isinstance(profile, WithVoltage) else profile
    if isinstance(inner, ColumnProfile):
        suffixes: tuple[Index, ...] = ((),)
    elif isinstance(inner, SensorTable):  # one row per outlet and sensor type
        suffixes = ((RMS_CURRENT,), (ACTIVE_POWER,), (ACTIVE_ENERGY,))
    else:
        return None
    cells = tuple(
        (column, (*row, *suffix))
        for row in rows
        if all(part >= 0 for part in row)
        for column in inner.columns
        for suffix in suffixes
    )
    return Request(cells)


def table_of(request: Request, answers: dict[str, object]) -> Table:
    """The GET's answers as the walked table the decoder expects (absent cells left out)."""
    table: dict[str, dict[Index, object]] = {}
    for (column, row), oid in zip(request.cells, request.oids, strict=True):
        value = answers.get(oid)
        if value is not None:
            table.setdefault(column, {})[row] = value
    return table  # type: ignore[return-value]


async def read_outlet(
    client: PduTransport, pdu: PduConfig, profile: Profile, label: str
) -> PduResult:
    """The outlet ``label`` of ``pdu`` now, as a one-reading :class:`PduResult`."""
    started = time.monotonic()
    bound = pdu_bound(client, pdu)
    try:
        async with asyncio.timeout(bound * 2):  # at most a label walk, then the GET
            reading, warnings = await _read(client, pdu, profile, label)
    except TimeoutError:
        return PduResult(pdu.name, error=f"timeout: no answer within {bound * 2:g} s")
    except SnmpError as exc:
        return PduResult(pdu.name, error=str(exc))
    seconds = time.monotonic() - started
    if reading is None:
        what = label if label.startswith("inlet") else f"outlet {label}"
        error = f"no {what} on this PDU (profile {profile.name})"
        return PduResult(pdu.name, warnings=warnings, error=error, seconds=seconds)
    return PduResult(pdu.name, (reading,), warnings, seconds=seconds)


def outlet_part(profile: Profile) -> Profile:
    """The part of a profile that reads outlets (a profile may also read inlets)."""
    from powermond.snmp.profiles._inlet import Metered
    from powermond.snmp.profiles.custom import WithVoltage

    if isinstance(profile, WithVoltage):
        return replace(profile, inner=outlet_part(profile.inner))
    from powermond.snmp.profiles.apc import SwitchedOnly

    if isinstance(profile, Metered):
        return outlet_part(profile.parts[0])
    if isinstance(profile, SwitchedOnly):  # its per-unit count is no part of one outlet's row
        return profile.inner
    return profile


async def _read(
    client: PduTransport, pdu: PduConfig, whole: Profile, label: str
) -> tuple[OutletReading | None, tuple[str, ...]]:
    profile = outlet_part(whole)
    request = request_for(profile, rows_for(label))
    if request is not None and request.cells:
        found = await _get(client, pdu, profile, request, label)
        if found[0] is not None:
            return found
        row = await _flat_row(client, pdu, profile, label)
        again = request_for(profile, [row]) if row is not None else None
        if row is None or again is None:
            return found
        reading, warnings = await _get(client, pdu, profile, again, label)
        note = f"outlet {label}: row {'.'.join(map(str, row))}, found by walking the labels"
        return reading, (note, *warnings)
    decoded = whole.decode(await client.walk_columns(pdu, whole.columns))
    note = f"outlet {label}: read by walking the table (profile {whole.name})"
    return _pick(decoded.readings, label), (note, *_about(decoded.warnings, label))


async def _get(
    client: PduTransport, pdu: PduConfig, profile: Profile, request: Request, label: str
) -> tuple[OutletReading | None, tuple[str, ...]]:
    answers = await client.get(pdu, request.oids)
    decoded = profile.decode(table_of(request, dict(answers)))
    return _pick(decoded.readings, label), _about(decoded.warnings, label)


async def _flat_row(
    client: PduTransport, pdu: PduConfig, profile: Profile, label: str
) -> Index | None:
    """The row of ``label`` in a table whose label columns name unit and outlet."""
    from powermond.snmp.profiles._common import ColumnProfile
    from powermond.snmp.profiles.custom import WithVoltage

    inner = profile.inner if isinstance(profile, WithVoltage) else profile
    if not isinstance(inner, ColumnProfile) or not inner.label_columns:
        return None
    table = await client.walk_columns(pdu, inner.label_columns)
    label_of = inner.labels(table)
    rows: set[Index] = set()
    for column in table.values():
        rows.update(column)
    for row in sorted(rows):
        try:
            if label_of(row) == label:
                return row
        except ValueError:
            continue
    return None


def _pick(readings: Sequence[OutletReading], label: str) -> OutletReading | None:
    return next((r for r in readings if r.outlet == label), None)


def _about(warnings: Sequence[str], label: str) -> tuple[str, ...]:
    """The decoder's warnings about this outlet (rows the GET guessed wrong are not news)."""
    return tuple(w for w in warnings if w.startswith(f"outlet {label}:"))
